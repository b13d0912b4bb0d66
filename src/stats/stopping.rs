//! When a test has enough samples. One rule, used by the scheduler while it runs and by the
//! injection replay that proves the gate (so the proof measures the rule that is shipped).
//!
//! A test gets `min_samples`, then more, below `max_samples`, until it is settled for its
//! run's goal:
//! - **A verdict** (a gate, a nightly, a bisect step, an A/A proof): until the comparison's
//!   verdict is decided either way. *Unchanged* when its interval at the comparison's
//!   confidence lies inside the minimum effect: more pairs would only narrow it. *Changed*
//!   when an interval far stricter than the verdict's lies beyond the minimum effect: at the
//!   confidence 1 − α / (family × looks), with `family` the comparisons judged together and
//!   `looks` the times the rule may ask (one per pair from the minimum to the maximum), so the
//!   chance that an unchanged test is ever stopped as changed is at most α / family, however
//!   often it is asked (Bonferroni over the looks): stopping early cannot be used to fish for
//!   significance, and the test's final verdict, at its own confidence and after the
//!   false-discovery correction, is the change. Anything else is undecided and sampled on:
//!   the budget goes to the tests that need it, and no test stops at the minimum merely
//!   because its first pairs looked quiet.
//! - **A report** (a `run` of runtimes side by side): until each interval is within the
//!   precision target, the precision a report prints. Intervals narrow as 1/√n, so the
//!   samples needed are projected as n·(half-width/precision)²; a test needing more than
//!   `HOPELESS` times `max_samples` (a workload random by design, for one: with
//!   `build.random: system`, `box_easy2`'s message length is drawn once per process) stops at
//!   the minimum and leaves the budget to tests that more samples can settle.
//!
//! With one runtime there is no comparison: only the precision of its median counts. Counts
//! that repeat exactly settle a test under either goal. A precision of 0 samples exactly
//! `min_samples`.

use crate::stats;

/// Confidence of the intervals that decide whether a test is precise enough.
pub const PRECISION_CONFIDENCE: f64 = 0.95;
/// A test whose projected sample count to reach the precision exceeds this many times
/// `max_samples` is not sampled beyond the minimum.
const HOPELESS: f64 = 8.0;

/// What a run's samples are for, which decides when a test has enough.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// Each ratio (or median) to within the precision target.
    Precision,
    /// Each comparison's verdict, decided either way.
    Verdict(VerdictRule),
}

/// How the comparison that follows the run judges, for a rule that stops when its verdict is
/// decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerdictRule {
    /// The verdict's confidence (`compare.confidence`).
    pub confidence: f64,
    /// The false-discovery rate (`compare.alpha`).
    pub alpha: f64,
    /// The comparisons judged together: tests times heads.
    pub family: usize,
    pub paired_test: stats::PairedTest,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stopping {
    pub min_samples: u32,
    pub max_samples: u32,
    /// Target relative half-width of the intervals; 0 samples exactly `min_samples`.
    pub precision: f64,
    /// The comparison's minimum effect: a ratio beyond it looks changed.
    pub min_effect: f64,
    /// The values are counts: a test whose counts repeat exactly (`stats::exact_spread`) is
    /// settled, changed or not, since more samples would only repeat them.
    pub counts: bool,
    pub goal: Goal,
}

/// The first runtime's count and every other's, when each runtime has exactly one so far.
fn first_counts(paired: &[Vec<(f64, f64)>]) -> Option<Vec<f64>> {
    let [(base, _)] = paired.first()?.as_slice() else {
        return None;
    };
    let mut counts = vec![*base];
    for pairs in paired {
        let [(_, head)] = pairs.as_slice() else {
            return None;
        };
        counts.push(*head);
    }
    Some(counts)
}

impl Stopping {
    /// The most blocks (samples, or pairs) the rule could ask of a test: the minimum when
    /// precision is off, else the maximum. The dispatch never runs a test past it
    /// (`run::round_policy::Dispatch`), however many of its blocks run at once.
    pub fn most_blocks(&self) -> usize {
        let most = if self.precision <= 0.0 {
            self.min_samples
        } else {
            self.max_samples
        };
        most as usize
    }

    /// The fewest blocks the rule asks of any test: its minimum.
    pub fn least_blocks(&self) -> usize {
        self.min_samples as usize
    }

    /// Whether a test with `taken` samples per runtime, paired (first runtime, other runtime)
    /// by round for each other runtime, wants another round.
    pub fn pairs_want_more(&self, taken: usize, paired: &[Vec<(f64, f64)>]) -> bool {
        if let Goal::Verdict(rule) = self.goal {
            return self.verdict_wants_more(taken, paired, &rule);
        }
        self.wants_more(taken, || {
            if self.counts
                && let Some(first) = first_counts(paired)
            {
                // Every runtime's first count, not only each against the first runtime's:
                // two heads each 0.1 % from the base may be 0.2 % from each other.
                return stats::first_counts_agree(&first).then_some(State {
                    halfwidth: stats::EXACT_WITHIN,
                });
            }
            paired.iter().try_fold(State::default(), |all, pairs| {
                let one = self.paired_state(pairs)?;
                Some(State {
                    halfwidth: all.halfwidth.max(one.halfwidth),
                })
            })
        })
    }

    /// Whether a test measured on one runtime only wants another sample.
    pub fn values_want_more(&self, taken: usize, values: &[f64]) -> bool {
        self.wants_more(taken, || {
            let exact = self.counts.then(|| stats::exact_spread(values)).flatten();
            Some(State {
                halfwidth: match exact {
                    Some(spread) => spread / 2.0,
                    None => stats::median_relative_halfwidth(values, PRECISION_CONFIDENCE)?,
                },
            })
        })
    }

    /// Whether some comparison of the test is still undecided (`Goal::Verdict`).
    fn verdict_wants_more(
        &self,
        taken: usize,
        paired: &[Vec<(f64, f64)>],
        rule: &VerdictRule,
    ) -> bool {
        if taken < self.min_samples as usize {
            return true;
        }
        if taken >= self.max_samples as usize || self.precision <= 0.0 {
            return false;
        }
        if self.counts
            && let Some(first) = first_counts(paired)
        {
            return !stats::first_counts_agree(&first);
        }
        paired.iter().any(|pairs| !self.decided(pairs, rule))
    }

    /// Whether the verdict on these pairs is decided: unchanged, or changed beyond what more
    /// pairs could reverse (see the module's comment).
    fn decided(&self, pairs: &[(f64, f64)], rule: &VerdictRule) -> bool {
        if self.counts {
            let side =
                |pick: fn(&(f64, f64)) -> f64| -> Vec<f64> { pairs.iter().map(pick).collect() };
            if stats::compare_exact(&side(|p| p.0), &side(|p| p.1)).is_some() {
                return true;
            }
        }
        let slower = 1.0 + self.min_effect;
        let faster = 1.0 / slower;
        let interval = |confidence| {
            stats::compare_paired_by(pairs, confidence, rule.paired_test)
                .ok()
                .and_then(|estimate| estimate.interval)
        };
        match interval(rule.confidence) {
            Some((low, high)) if low >= faster && high <= slower => return true,
            Some(_) => {}
            None => return false,
        }
        let looks = (self.max_samples.saturating_sub(self.min_samples) + 1) as f64;
        let strict = 1.0 - rule.alpha / (rule.family.max(1) as f64 * looks);
        interval(strict).is_some_and(|(low, high)| low > slower || high < faster)
    }

    fn wants_more(&self, taken: usize, state: impl FnOnce() -> Option<State>) -> bool {
        if taken < self.min_samples as usize {
            return true;
        }
        if taken >= self.max_samples as usize || self.precision <= 0.0 {
            return false;
        }
        // No interval yet (too few pairs at this confidence): more samples will make one.
        let Some(state) = state() else {
            return true;
        };
        let projected = taken as f64 * (state.halfwidth / self.precision).powi(2);
        state.halfwidth > self.precision && projected <= HOPELESS * f64::from(self.max_samples)
    }

    fn paired_state(&self, pairs: &[(f64, f64)]) -> Option<State> {
        // The comparison's own rule (`stats::compare_exact`): each side's counts repeat, or
        // a first count a side agree; a first pair that does not agree wants a second.
        if self.counts {
            let side =
                |pick: fn(&(f64, f64)) -> f64| -> Vec<f64> { pairs.iter().map(pick).collect() };
            match stats::compare_exact(&side(|p| p.0), &side(|p| p.1)) {
                Some(exact) => {
                    return Some(State {
                        halfwidth: (exact.high - exact.low) / (4.0 * exact.ratio),
                    });
                }
                None if pairs.len() < 2 => return None,
                None => {}
            }
        }
        match stats::compare_paired(pairs, PRECISION_CONFIDENCE) {
            Ok(stats::RatioEstimate {
                ratio,
                interval: Some((low, high)),
                ..
            }) => Some(State {
                halfwidth: (high - low) / (2.0 * ratio),
            }),
            _ => None,
        }
    }
}

/// What the samples of a test say so far; across several runtimes, the least settled.
#[derive(Debug, Default, Clone, Copy)]
struct State {
    /// Relative half-width of the widest interval.
    halfwidth: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_blocks_are_the_maximum_or_with_precision_off_the_minimum() {
        let rule = Stopping {
            min_samples: 5,
            max_samples: 10,
            precision: 0.1,
            min_effect: 0.02,
            counts: false,
            goal: Goal::Precision,
        };
        assert_eq!(rule.most_blocks(), 10);
        let exactly = Stopping {
            precision: 0.0,
            ..rule
        };
        assert_eq!(exactly.most_blocks(), 5);
    }

    fn rule() -> Stopping {
        Stopping {
            min_samples: 16,
            max_samples: 40,
            precision: 0.01,
            min_effect: 0.02,
            counts: false,
            goal: Goal::Precision,
        }
    }

    /// `rule()` for a gate of 94 tests with the trimmed t at 99 %.
    fn verdict() -> Stopping {
        Stopping {
            goal: Goal::Verdict(VerdictRule {
                confidence: 0.99,
                alpha: 0.01,
                family: 94,
                paired_test: stats::PairedTest::TrimmedT,
            }),
            ..rule()
        }
    }

    /// Pairs whose head is `shift` times base, times e^±`noise` alternating.
    fn pairs(n: usize, shift: f64, noise: f64) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                let wobble = if i % 2 == 0 {
                    noise.exp()
                } else {
                    (-noise).exp()
                };
                (100.0, 100.0 * shift * wobble * (1.0 + i as f64 * 1e-5))
            })
            .collect()
    }

    #[test]
    fn the_minimum_comes_first_and_the_maximum_last() {
        assert!(rule().pairs_want_more(15, &[pairs(15, 1.0, 0.0)]));
        assert!(!rule().pairs_want_more(40, &[pairs(40, 1.5, 0.2)]));
    }

    #[test]
    fn a_quiet_unchanged_test_stops_at_the_minimum() {
        assert!(!rule().pairs_want_more(16, &[pairs(16, 1.0, 0.001)]));
    }

    #[test]
    fn counts_that_repeat_exactly_settle_a_test_changed_or_not() {
        let counting = Stopping {
            min_samples: 2,
            max_samples: 12,
            precision: 0.002,
            min_effect: 0.005,
            counts: true,
            goal: Goal::Precision,
        };
        // A 5 % change counted twice to within 10⁻⁵: nothing more to learn.
        let exact = [(1e6, 1.05e6), (1e6 + 3.0, 1.05e6 - 4.0)];
        assert!(!counting.pairs_want_more(2, &[exact.to_vec()]));
        assert!(!counting.values_want_more(2, &[1e6, 1e6 + 3.0]));
        // Counts that wander (1 %) are sampled on, and timings never count as exact.
        let wandering = [(1e6, 1.05e6), (1e6, 1.04e6)];
        assert!(counting.pairs_want_more(2, &[wandering.to_vec()]));
        let timed = Stopping {
            counts: false,
            ..counting
        };
        assert!(timed.pairs_want_more(2, &[exact.to_vec()]));
    }

    #[test]
    fn one_count_a_side_settles_when_the_two_agree_and_asks_for_a_second_when_not() {
        let counting = Stopping {
            min_samples: 1,
            max_samples: 12,
            precision: 0.002,
            min_effect: 0.005,
            counts: true,
            goal: Goal::Precision,
        };
        assert!(!counting.pairs_want_more(1, &[vec![(1e6, 1e6 + 40.0)]]));
        // 0.3 % apart: too far for two runs of a deterministic runtime, too close to call.
        assert!(counting.pairs_want_more(1, &[vec![(1e6, 1.003e6)]]));
        assert!(counting.pairs_want_more(1, &[vec![(1e6, 1.05e6)]]));
        // Every other runtime must agree with the first, and with each other: 0.09 % above
        // and 0.08 % below the first are 0.17 % apart.
        let agree = vec![(1e6, 1e6)];
        assert!(counting.pairs_want_more(1, &[agree.clone(), vec![(1e6, 0.9e6)]]));
        let (above, below) = (vec![(1e6, 1.0009e6)], vec![(1e6, 0.9992e6)]);
        assert!(!counting.pairs_want_more(1, std::slice::from_ref(&above)));
        assert!(counting.pairs_want_more(1, &[above, below]));
        // A single runtime has nothing to agree with: it shows repetition in two samples.
        assert!(counting.values_want_more(1, &[1e6]));
        let timed = Stopping {
            counts: false,
            ..counting
        };
        assert!(timed.pairs_want_more(1, &[agree]));
    }

    #[test]
    fn a_report_stops_a_changed_test_once_its_ratio_is_precise() {
        assert!(!rule().pairs_want_more(16, &[pairs(16, 1.05, 0.001)]));
        assert!(!rule().pairs_want_more(16, &[pairs(16, 1.0, 0.001), pairs(16, 0.9, 0.001)]));
        assert!(rule().pairs_want_more(16, &[pairs(16, 1.05, 0.015)]));
    }

    #[test]
    fn a_verdict_stops_when_decided_either_way_and_not_before() {
        // Unchanged: the 99 % interval is inside ±2 %.
        assert!(!verdict().pairs_want_more(16, &[pairs(16, 1.0, 0.002)]));
        // Changed: even the strict interval (99.99989 %) is beyond +2 %.
        assert!(!verdict().pairs_want_more(16, &[pairs(16, 1.10, 0.002)]));
        // Precise to ±10 % but not decided: a report would stop, a verdict goes on.
        let quiet_but_unsure = pairs(16, 1.0, 0.03);
        assert!(verdict().pairs_want_more(16, std::slice::from_ref(&quiet_but_unsure)));
        let loose = Stopping {
            precision: 0.1,
            ..rule()
        };
        assert!(!loose.pairs_want_more(16, &[quiet_but_unsure]));
        // Beyond +2 % at 99 % but not at the strict level: a chance excursion is not
        // stopped as a change.
        let borderline = pairs(16, 1.035, 0.01);
        let (low, _) = stats::compare_paired_by(&borderline, 0.99, stats::PairedTest::TrimmedT)
            .unwrap()
            .interval
            .unwrap();
        assert!(low > 1.02, "{low}");
        assert!(verdict().pairs_want_more(16, &[borderline]));
        // Any comparison undecided keeps the test open; the maximum still ends it.
        assert!(verdict().pairs_want_more(16, &[pairs(16, 1.0, 0.002), pairs(16, 1.0, 0.03)]));
        assert!(!verdict().pairs_want_more(40, &[pairs(40, 1.0, 0.03)]));
    }

    #[test]
    fn a_noisy_test_goes_on_unless_out_of_reach() {
        assert!(rule().pairs_want_more(16, &[pairs(16, 1.0, 0.03)]));
        // ±60 %: hundreds of pairs would be needed; the minimum has to do.
        assert!(!rule().pairs_want_more(16, &[pairs(16, 1.0, 0.6)]));
    }

    #[test]
    fn precision_zero_takes_exactly_the_minimum() {
        let fixed = Stopping {
            precision: 0.0,
            ..rule()
        };
        assert!(!fixed.pairs_want_more(16, &[pairs(16, 1.3, 0.3)]));
        assert!(!fixed.values_want_more(16, &[1.0; 16]));
    }

    #[test]
    fn one_runtime_goes_by_the_precision_of_its_median() {
        let spread: Vec<f64> = (0..16).map(|i| 100.0 + (i % 4) as f64).collect();
        assert!(rule().values_want_more(16, &spread));
        assert!(!rule().values_want_more(16, &[100.0; 16]));
    }
}
