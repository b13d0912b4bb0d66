//! Compare stage: head samples against base samples (a second runtime of the same run, or a
//! stored baseline) -> a verdict per test, per category and overall, and the gate's answer.

pub mod baseline;
pub mod judge;

use crate::config::CompareConfig;
use crate::model::{
    CompareSettings, ComparedSide, Comparison, Disturbance, GroupComparison, Manifest, NotCompared,
    SCHEMA_VERSION, Sample, TestComparison, Verdict,
};
use crate::stats::{self, NoEstimate, RatioEstimate};
use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// The samples of one side, with what they were measured on.
#[derive(Debug, Clone)]
pub struct Side {
    pub info: ComparedSide,
    pub suite: Manifest,
    pub samples: Vec<Sample>,
}

/// What one side measured of a test.
#[derive(Debug, Default)]
struct Taken {
    /// The successful values.
    values: Vec<f64>,
    /// Samples that failed the test (crash, wrong output, timeout).
    failed: usize,
    /// The first failure's message.
    message: Option<String>,
    /// Samples another process on the core disturbed: measured again, neither a value nor a
    /// failure.
    disturbed: usize,
}

impl Side {
    fn values(&self, test: &str) -> Taken {
        let mut taken = Taken::default();
        for sample in self.samples.iter().filter(|s| s.test == test) {
            if let Some(value) = sample.ok_value() {
                taken.values.push(value);
            } else if sample.disturbed() {
                taken.disturbed += 1;
            } else {
                taken.failed += 1;
                taken.message = taken.message.or_else(|| sample.message.clone());
            }
        }
        taken
    }

    /// Whether some test counted more than once on this side spread beyond `min_effect`: a
    /// runtime whose count wanders (JIT tiers, collectors), whose single counts that happen to
    /// agree with the other side's prove nothing.
    fn counts_wander(&self, min_effect: f64) -> bool {
        let mut by_test: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for sample in &self.samples {
            if let Some(value) = sample.ok_value() {
                by_test.entry(&sample.test).or_default().push(value);
            }
        }
        by_test
            .values()
            .filter(|values| values.len() > 1)
            .any(|values| {
                let (low, high) = stats::low_high(values);
                stats::median(values).is_none_or(|median| (high - low) / median > min_effect)
            })
    }

    /// `(self, other)` values of a test measured in the same round, both successful.
    pub(crate) fn pairs_with(&self, other: &Side, test: &str) -> Vec<(f64, f64)> {
        let by_round = |side: &Side| -> BTreeMap<u32, f64> {
            side.samples
                .iter()
                .filter(|s| s.test == test)
                .filter_map(|s| Some((s.round, s.ok_value()?)))
                .collect()
        };
        stats::pair_by_round(&by_round(self), &by_round(other))
    }
}

/// Refuses sides that were not measured alike, unless `allow_foreign`; returns the note the
/// report must lead with when they differ and the user allowed it, or when the runner was set
/// up differently (governor, turbo, ...): that is stated, never refused, since a tuned runner
/// is still the same machine.
pub fn check_alike(base: &Side, head: &Side, allow_foreign: bool) -> Result<Option<String>> {
    // Picoseconds over instructions is no ratio of anything: never allowed.
    if base.info.measure != head.info.measure {
        bail!(
            "{} measured {}, {} measured {}: compare sides of the same measure (--measure)",
            base.info.origin,
            base.info.measure.name(),
            head.info.origin,
            head.info.measure.name()
        );
    }
    let foreign = check_same_machine_and_build(
        &base.info,
        (&head.info.suite_id, &head.info.machine),
        allow_foreign,
    )?;
    let settings = match (
        &base.info.machine.environment,
        &head.info.machine.environment,
    ) {
        (Some(b), Some(h)) => crate::run::doctor::setting_differences(b, h),
        _ => Vec::new(),
    };
    let settings = (!settings.is_empty()).then(|| {
        format!(
            "{} was measured under other runner settings ({})",
            base.info.origin,
            settings.join("; ")
        )
    });
    Ok(match (foreign, settings) {
        (Some(foreign), Some(settings)) => Some(format!("{foreign}; {settings}")),
        (foreign, settings) => foreign.or(settings),
    })
}

/// Refuses a base measured on another build of the suite or another machine than the head's
/// (`head`: its suite id and machine), unless allowed; then returns the note that says so.
pub fn check_same_machine_and_build(
    base: &ComparedSide,
    (head_suite_id, head_machine): (&str, &crate::model::Machine),
    allow_foreign: bool,
) -> Result<Option<String>> {
    let mut differences = Vec::new();
    if base.suite_id != head_suite_id {
        differences.push(format!(
            "another wasm build (suite {} vs {head_suite_id})",
            base.suite_id
        ));
    }
    if base.machine.fingerprint != head_machine.fingerprint {
        differences.push(format!(
            "another machine ({})",
            machine_differences(&base.machine, head_machine)
        ));
    }
    if differences.is_empty() {
        return Ok(None);
    }
    let note = format!(
        "{} was measured on {}",
        base.origin,
        differences.join(" and ")
    );
    if !allow_foreign {
        bail!(
            "{note}; timings are not comparable: measure a baseline on this runner with this suite, or pass --allow-foreign"
        );
    }
    Ok(Some(note))
}

/// What sets two machines apart, field by field: two identical descriptions would say nothing.
fn machine_differences(base: &crate::model::Machine, head: &crate::model::Machine) -> String {
    let fields = [
        ("CPU", &base.cpu_model, &head.cpu_model),
        ("arch", &base.arch, &head.arch),
        ("OS", &base.os, &head.os),
    ];
    let mut differences: Vec<String> = fields
        .iter()
        .filter(|(_, b, h)| b != h)
        .map(|(what, b, h)| format!("{what} {b} vs {h}"))
        .collect();
    if base.logical_cores != head.logical_cores {
        differences.push(format!(
            "{} vs {} cores",
            base.logical_cores, head.logical_cores
        ));
    }
    if differences.is_empty() {
        differences.push(format!(
            "fingerprint {} vs {}, with the same CPU, cores and OS: recorded by another wasmgate version?",
            base.fingerprint, head.fingerprint
        ));
    }
    differences.join(", ")
}

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

/// Compares every test both sides measured. `paired`: the sides come from one run, so samples
/// of the same test and round were measured back to back and are compared pair by pair.
pub fn compare(
    base: &Side,
    head: &Side,
    settings: &CompareSettings,
    paired: bool,
    foreign: Option<String>,
) -> Comparison {
    let (tests, not_compared) = tests_both_measured(base, head);
    let mut rows = Vec::new();
    let mut estimates: Vec<Option<RatioEstimate>> = Vec::new();
    for test in &tests {
        let (row, estimate) =
            compare_test(base, head, &test.name, &test.category, settings, paired);
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
        gate_rule(&rows, &categories, &overall, settings, disturbance);
    Comparison {
        schema_version: SCHEMA_VERSION,
        base: base.info.clone(),
        head: head.info.clone(),
        foreign,
        paired,
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

/// Counts the disturbed samples of the compared tests; when most of the run's, or of a test's,
/// were disturbed, its inconclusive tests say the runner was too busy, not too noisy.
fn note_busy_runner(rows: &mut [TestComparison], base: &Side, head: &Side) -> Disturbance {
    let disturbance = Disturbance::of(
        [base, head]
            .iter()
            .flat_map(|side| &side.samples)
            .filter(|s| rows.iter().any(|row| row.test == s.test)),
    );
    for row in rows {
        let busy = disturbance.runner_too_busy() || 2 * disturbed(row) > samples_of(row);
        if row.verdict == Verdict::Inconclusive && busy {
            row.note = Some(busy_note(row));
        }
    }
    disturbance
}

/// Disturbed samples of a test, both sides.
fn disturbed(row: &TestComparison) -> usize {
    row.base_disturbed + row.head_disturbed
}

/// Every sample of a test, both sides: values, failures and disturbed ones.
fn samples_of(row: &TestComparison) -> usize {
    row.base_samples + row.head_samples + disturbed(row)
}

/// How the note of a test made inconclusive by other processes begins.
pub const RUNNER_TOO_BUSY: &str = "runner too busy";

/// Why a test is inconclusive when other processes held its core.
fn busy_note(row: &TestComparison) -> String {
    format!(
        "{RUNNER_TOO_BUSY}: {} of its {} samples were disturbed by another process on their core; run on a quieter runner",
        disturbed(row),
        samples_of(row)
    )
}

fn compare_test(
    base: &Side,
    head: &Side,
    test: &str,
    category: &str,
    settings: &CompareSettings,
    paired: bool,
) -> (TestComparison, Option<RatioEstimate>) {
    let base_taken = base.values(test);
    let head_taken = head.values(test);
    let (base_values, head_values) = (base_taken.values.clone(), head_taken.values.clone());
    let (base_values, head_values) = (&base_values, &head_values);
    let mut row = TestComparison {
        test: test.to_string(),
        category: category.to_string(),
        base_samples: base_values.len(),
        head_samples: head_values.len(),
        base_median_ps: stats::median(base_values),
        head_median_ps: stats::median(head_values),
        ratio: None,
        ci_low: None,
        ci_high: None,
        p_value: None,
        q_value: None,
        verdict: Verdict::Inconclusive,
        note: None,
        base_disturbed: base_taken.disturbed,
        head_disturbed: head_taken.disturbed,
    };
    fail_if_either_failed(&mut row, (base, base_taken), (head, head_taken));
    let counted = head.info.measure == crate::model::Measure::Instructions;
    if counted && row.verdict != Verdict::Failed {
        match exact_counts(
            (base, base_values),
            (head, head_values),
            settings.min_effect,
        ) {
            Ok(Some(exact)) => return (exact_row(row, &exact, settings), None),
            Ok(None) => {}
            Err(why) => row.note = Some(why),
        }
    }
    let result = if paired {
        paired_estimate(base, head, test, settings)
    } else {
        stats::compare_samples(base_values, head_values, settings.confidence)
    };
    let estimate = match result {
        Ok(estimate) => estimate,
        // Every sample of a side was disturbed (and the cap closed the test): the runner was
        // too busy to tell, which is no failure of the test.
        Err(NoEstimate::Empty) if row.verdict != Verdict::Failed && disturbed(&row) > 0 => {
            row.note = Some(busy_note(&row));
            return (row, None);
        }
        Err(why) => {
            row.verdict = Verdict::Failed;
            row.note = row.note.or(Some(match why {
                NoEstimate::Empty => "no successful sample on one side".to_string(),
                NoEstimate::NotPositive => "a sample of 0: the test measured nothing".to_string(),
            }));
            return (row, None);
        }
    };
    row.ratio = Some(estimate.ratio);
    row.ci_low = estimate.interval.map(|i| i.0);
    row.ci_high = estimate.interval.map(|i| i.1);
    row.p_value = Some(estimate.p_value);
    if estimate.interval.is_none() && row.verdict != Verdict::Failed && row.note.is_none() {
        row.note = Some(format!(
            "too few samples ({} and {}) for a {:.0} % interval",
            base_values.len(),
            head_values.len(),
            settings.confidence * 100.0
        ));
    }
    (row, Some(estimate))
}

/// The exact comparison of two sides' counts of a test, if they leave nothing random to test;
/// an error says why single counts that agreed are still no verdict: a single count is trusted
/// only from a runtime whose counts repeat wherever this run counted a test more than once.
fn exact_counts(
    (base, base_values): (&Side, &[f64]),
    (head, head_values): (&Side, &[f64]),
    min_effect: f64,
) -> Result<Option<stats::ExactRatio>, String> {
    let Some(exact) = stats::compare_exact(base_values, head_values) else {
        return Ok(None);
    };
    // Only a single count needs the side's record: repeated counts showed it themselves.
    if !exact.once {
        return Ok(Some(exact));
    }
    match [base, head]
        .iter()
        .find(|side| side.counts_wander(min_effect))
    {
        Some(wandering) => Err(format!(
            "{}'s counts of other tests wander beyond the minimum effect: one count a side is no verdict",
            wandering.info.label
        )),
        None => Ok(Some(exact)),
    }
}

/// Correctness before speed: a side that failed the test fails the comparison.
fn fail_if_either_failed(
    row: &mut TestComparison,
    (base, base_taken): (&Side, Taken),
    (head, head_taken): (&Side, Taken),
) {
    if head_taken.failed == 0 && base_taken.failed == 0 {
        return;
    }
    let (side, message) = if head_taken.failed > 0 {
        (&head.info.label, head_taken.message)
    } else {
        (&base.info.label, base_taken.message)
    };
    row.verdict = Verdict::Failed;
    row.note = Some(format!(
        "{side}: {}",
        message.unwrap_or_else(|| "failed".into())
    ));
}

/// The verdict of counts that leave nothing random to test (`stats::compare_exact`): the
/// change is the ratio, known to within the spreads; it needs no significance test and takes
/// no part in the false discovery rate's correction.
fn exact_row(
    mut row: TestComparison,
    exact: &stats::ExactRatio,
    settings: &CompareSettings,
) -> TestComparison {
    row.ratio = Some(exact.ratio);
    row.ci_low = Some(exact.low);
    row.ci_high = Some(exact.high);
    let beyond_spread = exact.low > 1.0 || exact.high < 1.0;
    row.verdict = classify(
        exact.ratio,
        exact.low,
        exact.high,
        beyond_spread,
        settings.min_effect,
    );
    row.note = Some(if exact.once {
        format!(
            "exact: one count a side, the two within {:.3} % of each other",
            exact.spread * 100.0
        )
    } else {
        format!(
            "exact: each side's counts repeated to within {:.3} %",
            exact.spread * 100.0
        )
    });
    row
}

/// Head against base on the pairs of one test, by the configured paired test.
fn paired_estimate(
    base: &Side,
    head: &Side,
    test: &str,
    settings: &CompareSettings,
) -> Result<RatioEstimate, NoEstimate> {
    let pairs = base.pairs_with(head, test);
    stats::compare_paired_by(&pairs, settings.confidence, settings.paired_test)
}

/// The verdict on one test: a change must be significant after the correction for testing
/// every test at once, and at least the minimum effect; no change must have an interval
/// inside the minimum effect; anything else is inconclusive.
fn test_verdict(estimate: &RatioEstimate, q: f64, settings: &CompareSettings) -> Verdict {
    let Some((low, high)) = estimate.interval else {
        return Verdict::Inconclusive;
    };
    classify(
        estimate.ratio,
        low,
        high,
        q < settings.alpha,
        settings.min_effect,
    )
}

fn classify(ratio: f64, low: f64, high: f64, significant: bool, min_effect: f64) -> Verdict {
    let slower = 1.0 + min_effect;
    let faster = 1.0 / slower;
    if significant && low > 1.0 && ratio >= slower {
        Verdict::Regression
    } else if significant && high < 1.0 && ratio <= faster {
        Verdict::Improvement
    } else if significant || (low >= faster && high <= slower) {
        // A significant change smaller than the minimum effect is no change worth a verdict.
        Verdict::Unchanged
    } else {
        Verdict::Inconclusive
    }
}

fn group(
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
fn gate_rule(
    tests: &[TestComparison],
    categories: &[GroupComparison],
    overall: &GroupComparison,
    settings: &CompareSettings,
    disturbance: Disturbance,
) -> (bool, Vec<String>) {
    // A runner too busy to measure on is said in the headline and on every inconclusive test,
    // but it fails nothing: a red check (or a nightly issue) that names no slower test would be
    // the false alarm that costs a gate its users' trust.
    let _ = disturbance;
    let mut reasons = Vec::new();
    let on = |what: &str| settings.fail_on.iter().any(|f| f == what);
    if on("test") {
        for row in tests.iter().filter(|r| r.verdict == Verdict::Regression) {
            reasons.push(format!(
                "test {} is {} slower",
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
                "category {} is {} slower",
                group.name,
                percent_change(group.ratio, group.ci_low, group.ci_high)
            ));
        }
    }
    if on("overall") && overall.verdict == Verdict::Regression {
        reasons.push(format!(
            "the suite is {} slower overall",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CompareSettings {
        CompareSettings {
            confidence: 0.99,
            alpha: 0.01,
            min_effect: 0.02,
            fail_on: vec!["test".into(), "category".into()],
            paired_test: crate::model::PairedTest::SignedRank,
        }
    }

    #[test]
    fn verdicts_follow_the_rules() {
        assert_eq!(classify(1.07, 1.06, 1.08, true, 0.02), Verdict::Regression);
        assert_eq!(classify(0.90, 0.88, 0.92, true, 0.02), Verdict::Improvement);
        // Significant but below the minimum effect: not a regression.
        assert_eq!(classify(1.01, 1.005, 1.015, true, 0.02), Verdict::Unchanged);
        // Not significant, interval inside the band: shown to be unchanged.
        assert_eq!(classify(1.00, 0.99, 1.01, false, 0.02), Verdict::Unchanged);
        // Not significant, interval too wide to rule out a 2 % change: inconclusive.
        assert_eq!(
            classify(1.03, 0.97, 1.09, false, 0.02),
            Verdict::Inconclusive
        );
    }

    /// A side measured on the fixtures' machine with the governor the doctor found.
    fn side_with_governor(origin: &str, status: crate::model::CheckStatus, found: &str) -> Side {
        use crate::model::{Environment, EnvironmentCheck, fixtures};
        let check = EnvironmentCheck {
            name: "governor".into(),
            core: Some(1),
            status,
            found: found.into(),
            fix: None,
        };
        let machine = crate::model::Machine {
            environment: Some(Environment {
                checks: vec![check],
            }),
            ..fixtures::machine()
        };
        let suite = fixtures::manifest();
        Side {
            info: ComparedSide {
                label: "wasmtime".into(),
                runtime: fixtures::runtime("wasmtime"),
                suite_id: suite.suite_id.clone(),
                machine,
                origin: origin.into(),
                commit: None,
                measure: crate::model::Measure::Time,
            },
            suite,
            samples: Vec::new(),
        }
    }

    /// A side of 12 rounds of sign at 1000 ps; the rounds in `disturbed` were disturbed (their
    /// value slowed to 5000 ps).
    fn side_of_sign(label: &str, disturbed: std::ops::Range<u32>) -> Side {
        use crate::model::fixtures;
        let mut side = side_with_governor("results.json", crate::model::CheckStatus::Ok, "ok");
        side.info.label = label.into();
        side.samples = (0..12)
            .map(|round| {
                let sample = if disturbed.contains(&round) {
                    fixtures::disturbed_sample("sign", label, round.into(), 5000)
                } else {
                    fixtures::sample("sign", label, round.into(), Some(1000))
                };
                Sample { round, ..sample }
            })
            .collect();
        side
    }

    #[test]
    fn disturbed_samples_are_neither_values_nor_failures() {
        let (base, head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..2));
        let comparison = compare(&base, &head, &settings(), true, None);
        let sign = &comparison.tests[0];
        assert_eq!(sign.verdict, Verdict::Unchanged, "{sign:?}");
        assert_eq!((sign.base_samples, sign.head_samples), (12, 10));
        assert_eq!((sign.base_disturbed, sign.head_disturbed), (0, 2));
        assert_eq!(
            sign.head_median_ps,
            Some(1000.0),
            "the slowed values left out"
        );
        assert_eq!(
            comparison.disturbance,
            Disturbance {
                samples: 24,
                disturbed: 2
            }
        );
        assert!(!comparison.gate_failed, "{:?}", comparison.gate_reasons);
    }

    #[test]
    fn counts_that_repeat_exactly_are_compared_without_a_test_statistic() {
        use crate::model::{Measure, fixtures};
        let verdict = |ratio: f64, measure: Measure| {
            let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
            let at = |runtime, round: u32, value: f64| Sample {
                round,
                instructions: Some(value),
                value_ps: None,
                ..fixtures::sample("sign", runtime, u64::from(round), Some(1))
            };
            base.samples = vec![at("a", 0, 1e6), at("a", 1, 1e6 + 20.0)];
            head.samples = vec![at("b", 0, 1e6 * ratio), at("b", 1, 1e6 * ratio - 30.0)];
            (base.info.measure, head.info.measure) = (measure, measure);
            let config = crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap();
            let settings = super::settings(&config.compare, measure);
            let comparison = compare(&base, &head, &settings, true, None);
            assert_eq!(comparison.measure, measure);
            comparison.tests[0].clone()
        };
        let slower = verdict(1.03, Measure::Instructions);
        assert_eq!(slower.verdict, Verdict::Regression, "{slower:?}");
        assert!(slower.note.unwrap().starts_with("exact"));
        assert_eq!(slower.q_value, None);
        // Within the minimum effect (0.5 %): a real change, too small to call.
        assert_eq!(
            verdict(1.003, Measure::Instructions).verdict,
            Verdict::Unchanged
        );
        assert_eq!(
            verdict(0.97, Measure::Instructions).verdict,
            Verdict::Improvement
        );
        // Two timings that happen to agree are no count: the paired statistics decide.
        let timed = verdict(1.03, Measure::Time);
        assert!(timed.q_value.is_some(), "{timed:?}");
        assert!(!timed.note.unwrap_or_default().starts_with("exact"));
    }

    #[test]
    fn one_agreeing_count_a_side_is_unchanged_and_one_disagreeing_count_is_no_verdict() {
        use crate::model::{Measure, fixtures};
        let compared = |head_count: f64| {
            let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
            let at = |runtime, value: f64| Sample {
                instructions: Some(value),
                value_ps: None,
                ..fixtures::sample("sign", runtime, 0, Some(1))
            };
            base.samples = vec![at("a", 1e6)];
            head.samples = vec![at("b", head_count)];
            (base.info.measure, head.info.measure) = (Measure::Instructions, Measure::Instructions);
            let config = crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap();
            let settings = super::settings(&config.compare, Measure::Instructions);
            compare(&base, &head, &settings, true, None).tests[0].clone()
        };
        let agreeing = compared(1e6 + 300.0);
        assert_eq!(agreeing.verdict, Verdict::Unchanged, "{agreeing:?}");
        assert_eq!(
            agreeing.note.as_deref(),
            Some("exact: one count a side, the two within 0.030 % of each other")
        );
        // One count a side 3 % apart is not called: a wandering runtime can do that.
        let apart = compared(1.03e6);
        assert_eq!(apart.verdict, Verdict::Inconclusive, "{apart:?}");
        assert!(!apart.note.unwrap_or_default().starts_with("exact"));
    }

    #[test]
    fn a_single_count_is_exact_beside_repeating_counts_but_not_from_a_wandering_runtime() {
        use crate::model::{Measure, fixtures};
        let count = |test, runtime, round: u32, value: f64| Sample {
            round,
            instructions: Some(value),
            value_ps: None,
            ..fixtures::sample(test, runtime, u64::from(round), Some(1))
        };
        let config = crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap();
        let settings = super::settings(&config.compare, Measure::Instructions);
        let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
        (base.info.measure, head.info.measure) = (Measure::Instructions, Measure::Instructions);
        // A baseline of one count against a head that counted twice: agreeing, exact.
        base.samples = vec![count("sign", "a", 0, 1e6)];
        head.samples = vec![
            count("sign", "b", 0, 1e6 + 50.0),
            count("sign", "b", 1, 1e6),
        ];
        let row = &compare(&base, &head, &settings, false, None).tests[0];
        assert_eq!(row.verdict, Verdict::Unchanged, "{row:?}");
        // The same single counts, from a head whose counts of another test wandered by 3 %.
        head.samples = vec![
            count("sign", "b", 0, 1e6 + 50.0),
            count("hash", "b", 0, 1e5),
            count("hash", "b", 1, 1.03e5),
        ];
        let comparison = compare(&base, &head, &settings, false, None);
        let row = comparison.tests.iter().find(|r| r.test == "sign").unwrap();
        assert_eq!(row.verdict, Verdict::Inconclusive, "{row:?}");
        assert_eq!(
            row.note.as_deref(),
            Some(
                "b's counts of other tests wander beyond the minimum effect: one count a side is no verdict"
            )
        );
    }

    #[test]
    fn the_configured_paired_test_decides() {
        use crate::model::{PairedTest, fixtures};
        // Six rounds, head 5 % slower within ±0.5 % in each.
        let ratios = [1.050, 1.046, 1.053, 1.049, 1.055, 1.047];
        let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
        let at = |runtime, round: usize, value: f64| Sample {
            round: round as u32,
            ..fixtures::sample("sign", runtime, round as u64, Some(value as u64))
        };
        base.samples = (0..6).map(|r| at("a", r, 1e6)).collect();
        head.samples = (ratios.iter().enumerate())
            .map(|(r, ratio)| at("b", r, 1e6 * ratio))
            .collect();
        let verdict = |paired_test| {
            let settings = CompareSettings {
                paired_test,
                ..settings()
            };
            compare(&base, &head, &settings, true, None).tests[0].verdict
        };
        assert_eq!(verdict(PairedTest::TrimmedT), Verdict::Regression);
        // 2/2⁶ at best, and no 99 % interval on 6 pairs.
        assert_eq!(verdict(PairedTest::SignedRank), Verdict::Inconclusive);
    }

    #[test]
    fn tests_only_one_side_measured_are_named_not_failed() {
        use crate::model::fixtures;
        // A baseline of sign and hash; a run of sign and hash2 (say, a test added since).
        let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
        base.samples
            .extend((0..12).map(|r| fixtures::sample("hash", "a", r, Some(500))));
        head.samples
            .extend((0..12).map(|r| fixtures::sample("hash2", "b", r, Some(500))));
        let comparison = compare(&base, &head, &settings(), false, None);
        let compared: Vec<&str> = comparison.tests.iter().map(|t| t.test.as_str()).collect();
        assert_eq!(compared, ["sign"]);
        assert_eq!(comparison.not_compared.base_only, ["hash"]);
        assert_eq!(comparison.not_compared.head_only, ["hash2"]);
        assert!(!comparison.gate_failed, "{:?}", comparison.gate_reasons);
        assert_eq!(
            comparison.not_compared.sentence("a", "b").as_deref(),
            Some("not compared: 1 test only a measured (hash); 1 test only b measured (hash2)")
        );
    }

    #[test]
    fn a_runner_too_busy_is_said_and_fails_nothing() {
        // Every head sample and half the base's disturbed: 18 of 24.
        let (base, head) = (side_of_sign("a", 0..6), side_of_sign("b", 0..12));
        let comparison = compare(&base, &head, &settings(), true, None);
        let sign = &comparison.tests[0];
        assert_eq!(
            sign.verdict,
            Verdict::Inconclusive,
            "not a failure: {sign:?}"
        );
        let note = sign.note.as_deref().unwrap();
        assert!(
            note.starts_with("runner too busy: 18 of its 24 samples"),
            "{note}"
        );
        assert!(comparison.disturbance.runner_too_busy());
        assert!(!comparison.gate_failed, "{:?}", comparison.gate_reasons);
    }

    #[test]
    fn other_runner_settings_are_stated_not_refused() {
        use crate::model::CheckStatus::{Ok, Warn};
        let base = side_with_governor("baseline.json", Warn, "powersave");
        let head = side_with_governor("results.json", Ok, "performance");
        let note = check_alike(&base, &head, false).unwrap();
        assert_eq!(
            note.as_deref(),
            Some(
                "baseline.json was measured under other runner settings (governor warn (powersave on core 1) vs ok (performance on core 1))"
            )
        );
        assert_eq!(check_alike(&head, &head, false).unwrap(), None);
    }

    #[test]
    fn sides_of_different_measures_are_refused_even_when_foreign_sides_are_allowed() {
        use crate::model::CheckStatus::Ok;
        let base = side_with_governor("baseline.json", Ok, "performance");
        let mut head = side_with_governor("results.json", Ok, "performance");
        head.info.measure = crate::model::Measure::Instructions;
        let err = check_alike(&base, &head, true).unwrap_err().to_string();
        assert_eq!(
            err,
            "baseline.json measured time, results.json measured instructions: compare sides of the same measure (--measure)"
        );
    }

    #[test]
    fn gate_rule_lists_reasons() {
        let row = TestComparison {
            test: "sign".into(),
            category: "signature".into(),
            base_samples: 10,
            head_samples: 10,
            base_median_ps: Some(1.0),
            head_median_ps: Some(1.07),
            ratio: Some(1.071),
            ci_low: Some(1.063),
            ci_high: Some(1.079),
            p_value: Some(1e-5),
            q_value: Some(1e-4),
            verdict: Verdict::Regression,
            note: None,
            base_disturbed: 0,
            head_disturbed: 0,
        };
        let overall = GroupComparison {
            name: "overall".into(),
            tests: 1,
            ratio: None,
            ci_low: None,
            ci_high: None,
            verdict: Verdict::Unchanged,
        };
        let (failed, reasons) =
            gate_rule(&[row], &[], &overall, &settings(), Disturbance::default());
        assert!(failed);
        assert_eq!(
            reasons,
            vec!["test sign is +7.1 % ± 0.8 % slower".to_string()]
        );
    }
}
