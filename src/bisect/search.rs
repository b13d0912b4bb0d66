//! The search itself, without a process in it: which commit to measure next, how a step's
//! comparison becomes a verdict on its commit, how the budget is shared, and when the first bad
//! commit explains too little of the whole effect to be called the cause alone.

use crate::model::Verdict;
use crate::model::bisect::{StepVerdict, TestEffect};
use anyhow::Result;
use std::time::Duration;

/// Which measurement of a step this is: a step left inconclusive is measured once more, with
/// twice the budget, before the search gives up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    First,
    Doubled,
}

/// Where the search ended, as indices into the commits of `good..bad` (oldest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// The first bad commit, and the steps it took.
    Found { first_bad: usize, steps: usize },
    /// Step `step`, at commit `index`, stayed inconclusive after its repeat.
    Inconclusive { step: usize, index: usize },
}

/// Binary search over `len` commits, the last of which is known bad and whose parent of the
/// first is known good. `judge(step, index, attempt)` measures commit `index` against good;
/// steps count from 1. Takes at most ceil(log2(len)) steps.
pub fn search(
    len: usize,
    mut judge: impl FnMut(usize, usize, Attempt) -> Result<StepVerdict>,
) -> Result<Search> {
    // Commits before `low` are good; the commit at `high` is bad.
    let (mut low, mut high) = (0, len.saturating_sub(1));
    let mut step = 0;
    while low < high {
        step += 1;
        let mid = low + (high - low) / 2;
        let mut verdict = judge(step, mid, Attempt::First)?;
        if verdict == StepVerdict::Inconclusive {
            verdict = judge(step, mid, Attempt::Doubled)?;
        }
        match verdict {
            StepVerdict::Bad => high = mid,
            StepVerdict::Good => low = mid + 1,
            StepVerdict::Inconclusive => {
                return Ok(Search::Inconclusive { step, index: mid });
            }
        }
    }
    Ok(Search::Found {
        first_bad: high,
        steps: step,
    })
}

/// Steps a bisect of `len` commits plans to measure: the range, the search, the confirmation.
pub fn planned_steps(len: usize) -> usize {
    let mut search = 0;
    while (1usize << search) < len {
        search += 1;
    }
    search + 2
}

/// The budget of a step's first measurement: what is left shared by the steps still to come
/// (this one included) and one more, which keeps room for the repeat of an inconclusive step.
/// A step that settles early leaves its time to the later ones.
pub fn step_budget(remaining: Duration, steps_left: usize) -> Duration {
    let shares = u32::try_from(steps_left.max(1) + 1).unwrap_or(u32::MAX);
    remaining / shares
}

/// A step's verdict on its head commit, from the tests being searched for: slower on any of
/// them is bad; unchanged (or faster) on all of them is good, and so is an interval that stays
/// below half of the range's effect on that test (`range`: bad against good): the gate's
/// "unchanged" asks for an interval within its minimum effect, which a busy machine may not
/// give, while a commit whose whole interval is under half of a +60 % jump plainly does not
/// have it. Half is the same line the spread of an effect is drawn at. Anything else is not
/// known yet.
pub fn verdict_of(effects: &[TestEffect], tests: &[String], range: &[TestEffect]) -> StepVerdict {
    let searched: Vec<&TestEffect> = effects.iter().filter(|e| tests.contains(&e.test)).collect();
    let settled = |e: &&TestEffect| {
        matches!(e.verdict, Verdict::Unchanged | Verdict::Improvement) || below_half(e, range)
    };
    if searched.iter().any(|e| e.verdict == Verdict::Regression) {
        StepVerdict::Bad
    } else if !searched.is_empty() && searched.iter().all(settled) {
        StepVerdict::Good
    } else {
        StepVerdict::Inconclusive
    }
}

/// Whether a test's interval lies wholly below half of the range's effect on it (in log ratio).
fn below_half(effect: &TestEffect, range: &[TestEffect]) -> bool {
    if effect.verdict == Verdict::Failed {
        return false;
    }
    let whole = range
        .iter()
        .find(|r| r.test == effect.test && r.verdict == Verdict::Regression)
        .and_then(|r| r.ratio);
    match (whole, effect.ci_high) {
        (Some(whole), Some(high)) if whole > 1.0 && high > 0.0 => high.ln() < 0.5 * whole.ln(),
        _ => false,
    }
}

/// The mean log ratio over the searched tests that have a ratio: one number for a step's
/// effect, in which effects of consecutive commits add up.
pub fn log_ratio(effects: &[TestEffect], tests: &[String]) -> Option<f64> {
    let logs: Vec<f64> = effects
        .iter()
        .filter(|e| tests.contains(&e.test))
        .filter_map(|e| e.ratio)
        .filter(|r| *r > 0.0)
        .map(f64::ln)
        .collect();
    (!logs.is_empty()).then(|| logs.iter().sum::<f64>() / logs.len() as f64)
}

/// How much of the whole effect (good to bad) the first bad commit has against its parent.
pub fn share_of_effect(whole: f64, culprit: f64) -> Option<f64> {
    (whole > 0.0).then(|| culprit / whole)
}

/// Less than half of the effect in the first bad commit: the rest came with other commits.
pub fn is_spread(share: Option<f64>) -> bool {
    share.is_some_and(|s| s < 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scripted(culprit: usize) -> impl FnMut(usize, usize, Attempt) -> Result<StepVerdict> {
        move |_, index, _| {
            Ok(if index >= culprit {
                StepVerdict::Bad
            } else {
                StepVerdict::Good
            })
        }
    }

    #[test]
    fn finds_every_culprit_of_sixteen_commits_in_four_steps() {
        for culprit in 0..16 {
            let found = search(16, scripted(culprit)).unwrap();
            let Search::Found { first_bad, steps } = found else {
                panic!("{found:?}");
            };
            assert_eq!(first_bad, culprit);
            assert!(steps <= 4, "culprit {culprit}: {steps} steps");
        }
        assert_eq!(planned_steps(16), 6);
        assert_eq!(planned_steps(15), 6);
        assert_eq!(planned_steps(1), 2);
    }

    #[test]
    fn one_commit_needs_no_step() {
        let found = search(1, |_, _, _| panic!("nothing to measure")).unwrap();
        assert_eq!(
            found,
            Search::Found {
                first_bad: 0,
                steps: 0
            }
        );
    }

    #[test]
    fn an_inconclusive_step_is_measured_again_once_then_stops() {
        let mut asked = Vec::new();
        let outcome = search(16, |step, index, attempt| {
            asked.push((step, index, attempt));
            Ok(match (step, attempt) {
                (1, _) => StepVerdict::Good,
                (2, Attempt::First) => StepVerdict::Inconclusive,
                (2, Attempt::Doubled) => StepVerdict::Bad,
                (_, _) => StepVerdict::Inconclusive,
            })
        })
        .unwrap();
        assert_eq!(outcome, Search::Inconclusive { step: 3, index: 9 });
        assert_eq!(
            asked,
            [
                (1, 7, Attempt::First),
                (2, 11, Attempt::First),
                (2, 11, Attempt::Doubled),
                (3, 9, Attempt::First),
                (3, 9, Attempt::Doubled),
            ]
        );
    }

    fn effect(test: &str, ratio: f64, verdict: Verdict) -> TestEffect {
        TestEffect {
            test: test.to_string(),
            ratio: Some(ratio),
            ci_low: None,
            ci_high: None,
            verdict,
            note: None,
        }
    }

    #[test]
    fn a_step_is_bad_on_any_searched_regression_and_good_only_when_all_are_unchanged() {
        let tests = ["a".to_string(), "b".to_string()];
        let bad = [
            effect("a", 1.3, Verdict::Regression),
            effect("b", 1.0, Verdict::Inconclusive),
        ];
        assert_eq!(verdict_of(&bad, &tests, &[]), StepVerdict::Bad);
        let good = [
            effect("a", 1.0, Verdict::Unchanged),
            effect("b", 0.9, Verdict::Improvement),
            effect("other", 2.0, Verdict::Regression),
        ];
        assert_eq!(verdict_of(&good, &tests, &[]), StepVerdict::Good);
        let unknown = [
            effect("a", 1.0, Verdict::Unchanged),
            effect("b", 1.1, Verdict::Failed),
        ];
        assert_eq!(verdict_of(&unknown, &tests, &[]), StepVerdict::Inconclusive);
        assert_eq!(verdict_of(&[], &tests, &[]), StepVerdict::Inconclusive);
    }

    #[test]
    fn an_interval_under_half_of_the_range_effect_is_good() {
        let tests = ["a".to_string()];
        let range = [effect("a", 1.6, Verdict::Regression)];
        let noisy = |high: f64| TestEffect {
            ci_low: Some(0.98),
            ci_high: Some(high),
            ..effect("a", 1.01, Verdict::Inconclusive)
        };
        // Half of +60 % in log ratio is about +26.5 %.
        assert_eq!(
            verdict_of(&[noisy(1.03)], &tests, &range),
            StepVerdict::Good
        );
        assert_eq!(
            verdict_of(&[noisy(1.3)], &tests, &range),
            StepVerdict::Inconclusive
        );
        assert_eq!(
            verdict_of(&[noisy(1.03)], &tests, &[]),
            StepVerdict::Inconclusive,
            "without a range, only the gate's verdicts count"
        );
    }

    #[test]
    fn an_effect_mostly_elsewhere_is_spread() {
        let tests = ["a".to_string(), "b".to_string()];
        let whole = log_ratio(
            &[
                effect("a", 1.44, Verdict::Regression),
                effect("b", 1.44, Verdict::Regression),
            ],
            &tests,
        )
        .unwrap();
        // +20 % of +44 %: in log ratio, half of it exactly; +10 % is about a quarter.
        let half = log_ratio(&[effect("a", 1.2, Verdict::Regression)], &tests).unwrap();
        let quarter = log_ratio(&[effect("a", 1.1, Verdict::Regression)], &tests).unwrap();
        assert!((share_of_effect(whole, half).unwrap() - 0.5).abs() < 1e-9);
        assert!(!is_spread(share_of_effect(whole, half * 1.01)));
        assert!(is_spread(share_of_effect(whole, quarter)));
        assert!(!is_spread(share_of_effect(whole, whole)));
        assert!(
            !is_spread(share_of_effect(0.0, quarter)),
            "no effect to share"
        );
    }

    #[test]
    fn the_budget_keeps_room_for_one_repeat() {
        let budget = step_budget(Duration::from_secs(70), 6);
        assert_eq!(budget, Duration::from_secs(10));
        assert_eq!(
            step_budget(Duration::from_secs(10), 0),
            Duration::from_secs(5)
        );
    }
}
