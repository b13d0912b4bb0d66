//! Tests grouped into categories and the whole suite, and the gate's rule (`fail_on`) over them.

use super::verdict::classify;
use crate::model::{CompareSettings, GroupComparison, TestComparison, Verdict};
use crate::stats;
use std::collections::BTreeMap;

pub(super) fn group(
    name: &str,
    rows: &[&TestComparison],
    standard_errors: &BTreeMap<String, stats::StandardError>,
    confidence: f64,
    settings: &CompareSettings,
) -> GroupComparison {
    // A rank-based interval's width stands for a normal one at the comparison's confidence.
    let z = stats::z_for(settings.confidence);
    let estimates: Vec<(f64, stats::StandardError)> = rows
        .iter()
        .filter(|r| r.verdict != Verdict::Failed)
        .filter_map(|r| {
            let (low, high) = (r.ci_low?, r.ci_high?);
            let from_interval = stats::StandardError {
                value: (high.ln() - low.ln()) / (2.0 * z),
                degrees_of_freedom: f64::INFINITY,
            };
            Some((
                r.ratio?,
                *standard_errors.get(&r.test).unwrap_or(&from_interval),
            ))
        })
        .collect();
    let Some((ratio, low, high)) = stats::geometric_mean_of(&estimates, confidence) else {
        return GroupComparison {
            name: name.to_string(),
            tests: 0,
            ratio: None,
            ci_low: None,
            ci_high: None,
            verdict: if rows.iter().any(|r| r.verdict == Verdict::Failed) {
                Verdict::Failed
            } else {
                Verdict::Inconclusive
            },
        };
    };
    GroupComparison {
        name: name.to_string(),
        tests: estimates.len(),
        ratio: Some(ratio),
        ci_low: Some(low),
        ci_high: Some(high),
        // The group's interval is already at the Bonferroni-corrected confidence.
        verdict: classify(
            ratio,
            low,
            high,
            low > 1.0 || high < 1.0,
            settings.min_effect,
        ),
    }
}

/// Applies `fail_on`: which regressions fail the gate.
pub(super) fn gate_rule(
    tests: &[TestComparison],
    categories: &[GroupComparison],
    overall: &GroupComparison,
    settings: &CompareSettings,
    measure: crate::model::Measure,
) -> (bool, Vec<String>) {
    // A runner too busy to measure on is said in the headline and on every inconclusive test,
    // but it fails nothing: a red check (or a nightly issue) that names no slower test would be
    // the false alarm that costs a gate its users' trust.
    let slower = measure.slower();
    let mut reasons = Vec::new();
    let on = |what: &str| settings.fail_on.iter().any(|f| f == what);
    if on("test") {
        for row in tests.iter().filter(|r| r.verdict == Verdict::Regression) {
            reasons.push(format!(
                "test {} is {} {slower}",
                row.test,
                percent_change(row.ratio, row.ci_low, row.ci_high)
            ));
        }
    }
    if on("failure") {
        for row in tests.iter().filter(|r| r.verdict == Verdict::Failed) {
            reasons.push(format!(
                "test {} failed: {}",
                row.test,
                row.note.clone().unwrap_or_default()
            ));
        }
    }
    if on("category") {
        for group in categories
            .iter()
            .filter(|g| g.verdict == Verdict::Regression)
        {
            reasons.push(format!(
                "category {} is {} {slower}",
                group.name,
                percent_change(group.ratio, group.ci_low, group.ci_high)
            ));
        }
    }
    if on("overall") && overall.verdict == Verdict::Regression {
        reasons.push(format!(
            "the suite is {} {slower} overall",
            percent_change(overall.ratio, overall.ci_low, overall.ci_high)
        ));
    }
    (!reasons.is_empty(), reasons)
}

/// "7.1 % ± 0.8 %": the change and the half-width of its interval, in percent.
pub fn percent_change(ratio: Option<f64>, low: Option<f64>, high: Option<f64>) -> String {
    match (ratio, low, high) {
        (Some(r), Some(l), Some(h)) => format!(
            "{:+.1} % ± {:.1} %",
            (r - 1.0) * 100.0,
            (h - l) / 2.0 * 100.0
        ),
        (Some(r), _, _) => format!("{:+.1} %", (r - 1.0) * 100.0),
        _ => "–".to_string(),
    }
}
