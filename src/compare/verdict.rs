//! The verdict per test: the paired or unpaired estimate of head over base, classified against
//! the minimum effect at the comparison's false-discovery rate.

use super::alike::{Side, Taken};
use crate::model::{CompareSettings, Disturbance, TestComparison, Verdict};
use crate::stats::{self, NoEstimate, RatioEstimate};
use anyhow::Result;

/// How the two sides' samples are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Two runtimes of one run, measured round by round back to back: pair by pair, which
    /// cancels the machine's drift.
    ByRound,
    /// A stored baseline from another run: as two groups.
    Unpaired,
}

/// Counts the disturbed samples of the compared tests; when most of the run's, or of a test's,
/// were disturbed, its inconclusive tests say the runner was too busy, not too noisy.
pub(super) fn note_busy_runner(
    rows: &mut [TestComparison],
    base: &Side,
    head: &Side,
) -> Disturbance {
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
pub(super) fn disturbed(row: &TestComparison) -> usize {
    row.base_disturbed + row.head_disturbed
}

/// Every sample of a test, both sides: values, failures and disturbed ones.
pub(super) fn samples_of(row: &TestComparison) -> usize {
    row.base_samples + row.head_samples + disturbed(row)
}

/// How the note of a test made inconclusive by other processes begins.
pub const RUNNER_TOO_BUSY: &str = "runner too busy";

/// Why a test is inconclusive when other processes held its core.
pub(super) fn busy_note(row: &TestComparison) -> String {
    format!(
        "{RUNNER_TOO_BUSY}: {} of its {} samples were disturbed by another process on their core; run on a quieter runner",
        disturbed(row),
        samples_of(row)
    )
}

pub(super) fn compare_test(
    base: &Side,
    head: &Side,
    test: &str,
    category: &str,
    settings: &CompareSettings,
    pairing: Pairing,
) -> (TestComparison, Option<RatioEstimate>) {
    let base_taken = base.values(test);
    let head_taken = head.values(test);
    let (base_values, head_values) = (&base_taken.values, &head_taken.values);
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
        evidence: None,
    };
    fail_if_either_failed(&mut row, &base_taken, &head_taken);
    let counted = head.info.measure.counts();
    if counted && row.verdict != Verdict::Failed {
        match exact_counts(&base_taken, &head_taken, settings.min_effect) {
            Ok(Some(exact)) => return (exact_row(row, &exact, settings), None),
            Ok(None) => {}
            Err(why) => row.note = Some(why),
        }
    }
    let result = if pairing == Pairing::ByRound {
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
pub(super) fn exact_counts(
    base: &Taken,
    head: &Taken,
    min_effect: f64,
) -> Result<Option<stats::ExactRatio>, String> {
    let Some(exact) = stats::compare_exact(&base.values, &head.values) else {
        return Ok(None);
    };
    // Only a single count needs the side's record: repeated counts showed it themselves.
    if !exact.once {
        return Ok(Some(exact));
    }
    match [base.side, head.side]
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
pub(super) fn fail_if_either_failed(row: &mut TestComparison, base: &Taken, head: &Taken) {
    if head.failed == 0 && base.failed == 0 {
        return;
    }
    let failing = if head.failed > 0 { head } else { base };
    row.verdict = Verdict::Failed;
    row.note = Some(format!(
        "{}: {}",
        failing.side.info.label,
        failing.message.as_deref().unwrap_or("failed")
    ));
}

/// The verdict of counts that leave nothing random to test (`stats::compare_exact`): the
/// change is the ratio, known to within the spreads; it needs no significance test and takes
/// no part in the false discovery rate's correction.
pub(super) fn exact_row(
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
pub(super) fn paired_estimate(
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
pub(super) fn test_verdict(
    estimate: &RatioEstimate,
    q: f64,
    settings: &CompareSettings,
) -> Verdict {
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

pub(super) fn classify(
    ratio: f64,
    low: f64,
    high: f64,
    significant: bool,
    min_effect: f64,
) -> Verdict {
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
