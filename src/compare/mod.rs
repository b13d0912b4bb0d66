//! Compare stage: head samples against base samples (a second runtime of the same run, or a
//! stored baseline) -> a verdict per test, per category and overall, and the gate's answer.
//!
//! `alike` checks the two sides measured the same thing, `verdict` judges each test, `gate`
//! groups the tests into categories and applies the gate's rule.

pub mod baseline;
pub mod evidence;
pub mod judge;

mod alike;
mod gate;
mod verdict;

pub use alike::*;
pub use gate::percent_change;
pub use verdict::*;

use crate::config::CompareConfig;
use crate::model::{
    CompareSettings, Comparison, GroupComparison, NotCompared, SCHEMA_VERSION, TestComparison,
    Verdict,
};
use crate::stats::{self, RatioEstimate};
use gate::{gate_rule, group};
use std::collections::BTreeMap;
use verdict::{compare_test, note_busy_runner};

/// The comparison's settings for values in `measure`: each measure has its own minimum effect.
pub fn settings(config: &CompareConfig, measure: crate::model::Measure) -> CompareSettings {
    CompareSettings {
        confidence: config.confidence,
        alpha: config.alpha,
        min_effect: config.min_effect_of(measure),
        fail_on: config.fail_on.clone(),
        paired_test: config.paired_test,
    }
}

/// Compares every test both sides measured, pair by pair when the sides come from one run
/// (`Pairing::ByRound`: samples of the same test and round were measured back to back).
pub fn compare(
    base: &Side,
    head: &Side,
    settings: &CompareSettings,
    pairing: Pairing,
    foreign: Option<String>,
) -> Comparison {
    let (tests, not_compared) = tests_both_measured(base, head);
    let mut rows = Vec::new();
    let mut estimates: Vec<Option<RatioEstimate>> = Vec::new();
    for test in &tests {
        let (row, estimate) =
            compare_test(base, head, &test.name, &test.category, settings, pairing);
        rows.push(row);
        estimates.push(estimate);
    }
    // The false discovery rate is controlled over the tests that have a p-value.
    let p_values: Vec<f64> = estimates.iter().flatten().map(|e| e.p_value).collect();
    let mut q_values = stats::benjamini_hochberg(&p_values).into_iter();
    for (row, estimate) in rows.iter_mut().zip(&estimates) {
        if let Some(estimate) = estimate {
            let q = q_values.next().expect("one q per p");
            row.q_value = Some(q);
            if row.verdict != Verdict::Failed {
                row.verdict = test_verdict(estimate, q, settings);
                if row.verdict == Verdict::Inconclusive && row.note.is_none() {
                    row.note = Some("too noisy for the samples taken: run longer (--budget) or on a quieter runner".into());
                }
            }
        }
    }
    let disturbance = note_busy_runner(&mut rows, base, head);
    // A trimmed-t interval is wider than a normal one of the same standard error (few degrees
    // of freedom): the groups take the standard error itself.
    let standard_errors: BTreeMap<String, stats::StandardError> = (rows.iter().zip(&estimates))
        .filter_map(|(row, e)| Some((row.test.clone(), e.as_ref()?.standard_error?)))
        .collect();

    let mut by_category: BTreeMap<&str, Vec<&TestComparison>> = BTreeMap::new();
    for row in &rows {
        by_category
            .entry(row.category.as_str())
            .or_default()
            .push(row);
    }
    // Categories and the overall mean are tested together: Bonferroni over them keeps the
    // chance of a false category alarm within alpha.
    let groups = by_category.len() + 1;
    let group_confidence = 1.0 - settings.alpha / groups as f64;
    let categories: Vec<GroupComparison> = by_category
        .iter()
        .map(|(name, rows)| group(name, rows, &standard_errors, group_confidence, settings))
        .collect();
    let overall = group(
        "overall",
        &rows.iter().collect::<Vec<_>>(),
        &standard_errors,
        group_confidence,
        settings,
    );
    let (gate_failed, gate_reasons) =
        gate_rule(&rows, &categories, &overall, settings, head.info.measure);
    Comparison {
        schema_version: SCHEMA_VERSION,
        base: base.info.clone(),
        head: head.info.clone(),
        foreign,
        paired: pairing == Pairing::ByRound,
        settings: settings.clone(),
        tests: rows,
        categories,
        overall,
        gate_failed,
        gate_reasons,
        disturbance,
        not_compared,
        measure: head.info.measure,
    }
}

/// The tests both sides measured, and those only one side did (not compared).
fn tests_both_measured<'s>(
    base: &Side,
    head: &'s Side,
) -> (Vec<&'s crate::model::TestModule>, NotCompared) {
    let measured = |side: &Side, test: &str| side.samples.iter().any(|s| s.test == test);
    let mut not_compared = NotCompared::default();
    let mut tests = Vec::new();
    for test in &head.suite.tests {
        match (measured(base, &test.name), measured(head, &test.name)) {
            (true, true) => tests.push(test),
            (true, false) => not_compared.base_only.push(test.name.clone()),
            (false, true) => not_compared.head_only.push(test.name.clone()),
            (false, false) => {}
        }
    }
    (tests, not_compared)
}

#[cfg(test)]
mod tests;
