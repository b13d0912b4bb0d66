//! The proof of the gate: replay real A/A samples (one runtime against itself), with and
//! without a known slowdown injected into one side, and count how often the comparison finds
//! the slowdown and how often it calls something else a regression.

use super::{Side, compare};
use crate::model::{CompareSettings, ComparedSide, Results, Sample, SampleStatus, Verdict};
use crate::stats::stopping::Stopping;
use std::collections::{BTreeMap, BTreeSet};

/// What a setting slows down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Nothing: every regression is a false alarm.
    Nothing,
    /// One test, chosen at random in each trial.
    OneTest,
    /// Every test of one category, chosen at random in each trial.
    OneCategory,
}

#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub target: Target,
    /// Head's times are multiplied by this (1.05 is 5 % slower).
    pub factor: f64,
}

impl Setting {
    pub fn describe(&self) -> String {
        let percent = (self.factor - 1.0) * 100.0;
        match self.target {
            Target::Nothing => "A/A, nothing injected".to_string(),
            Target::OneTest => format!("{percent:.0} % on one test"),
            Target::OneCategory => format!("{percent:.0} % on one category"),
        }
    }
}

/// The settings the targets are stated in.
pub const DEFAULT_SETTINGS: [Setting; 5] = [
    Setting {
        target: Target::Nothing,
        factor: 1.0,
    },
    Setting {
        target: Target::OneTest,
        factor: 1.03,
    },
    Setting {
        target: Target::OneTest,
        factor: 1.05,
    },
    Setting {
        target: Target::OneTest,
        factor: 1.10,
    },
    Setting {
        target: Target::OneCategory,
        factor: 1.02,
    },
];

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub trials: usize,
    /// Trials whose injected slowdown was called a regression (its test, or its category).
    pub detected: usize,
    /// Trials where a test or category that was not slowed down was called a regression.
    pub false_alarms: usize,
    /// Per test (or category) slowed down, the trials in which the slowdown was missed: where
    /// the gate is blind on this machine.
    pub missed: BTreeMap<String, usize>,
    /// Pairs the stopping rule used, summed over trials and tests.
    pub pairs_used: usize,
    /// What those pairs took to measure in the A/A run, summed over trials, in seconds.
    pub seconds_used: f64,
}

impl Outcome {
    /// The wall time a gate with this stopping rule spends sampling, on average.
    pub fn mean_seconds(&self) -> f64 {
        self.seconds_used / self.trials.max(1) as f64
    }
}

/// Per test, the mean wall time of one pair (both processes) in the A/A run, in seconds.
fn pair_seconds(aa: &Results) -> BTreeMap<&str, f64> {
    let mut totals: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for sample in &aa.samples {
        let (seconds, count) = totals.entry(sample.test.as_str()).or_default();
        *seconds += sample.wall_ms / 1000.0;
        *count += 1;
    }
    totals
        .into_iter()
        .map(|(test, (seconds, count))| (test, 2.0 * seconds / count as f64))
        .collect()
}

/// A test's category and its (a, b) values measured in the same round, in round order.
type Paired = (String, Vec<(u64, u64)>);

/// Per test, its category and the (a, b) values measured in the same round.
fn pairs(aa: &Results, a: &str, b: &str) -> BTreeMap<String, Paired> {
    let side = |label: &str| Side {
        samples: aa
            .samples
            .iter()
            .filter(|s| s.runtime == label)
            .cloned()
            .collect(),
        ..self::side(aa, label, Vec::new())
    };
    let (a, b) = (side(a), side(b));
    aa.suite
        .tests
        .iter()
        .map(|test| {
            let values = a
                .pairs_with(&b, &test.name)
                .into_iter()
                .map(|(x, y)| (x as u64, y as u64))
                .collect();
            (test.name.clone(), (test.category.clone(), values))
        })
        .filter(|(_, (_, values)): &(String, Paired)| !values.is_empty())
        .collect()
}

/// Replays the A/A pairs `trials` times. In an A/A run the two values of a pair are
/// exchangeable, so each trial swaps each pair's sides at random (a permutation of the real
/// data), then slows head down as the setting says, stops each test where the scheduler's
/// `stopping` rule would have stopped it on those values, and compares as a same-run gate
/// would.
pub fn replay(
    aa: &Results,
    (a, b): (&str, &str),
    settings: &CompareSettings,
    sampling: &Sampling,
    setting: Setting,
    trials: usize,
    seed: u64,
) -> Outcome {
    let pairs = pairs(aa, a, b);
    let tests: Vec<&String> = pairs.keys().collect();
    let categories: Vec<String> = pairs
        .values()
        .map(|(c, _)| c.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut outcome = Outcome {
        trials,
        detected: 0,
        false_alarms: 0,
        missed: BTreeMap::new(),
        pairs_used: 0,
        seconds_used: 0.0,
    };
    let pair_seconds = pair_seconds(aa);
    for _ in 0..trials {
        let slowed: BTreeSet<&str> = match setting.target {
            Target::Nothing => BTreeSet::new(),
            Target::OneTest => BTreeSet::from([tests[rng.usize(..tests.len())].as_str()]),
            Target::OneCategory => {
                let category = &categories[rng.usize(..categories.len())];
                pairs
                    .iter()
                    .filter(|(_, (c, _))| c == category)
                    .map(|(t, _)| t.as_str())
                    .collect()
            }
        };
        // Each test's pairs for this trial, and where the stopping rule would end it.
        let mut trial_pairs: Vec<TrialPairs> = Vec::new();
        for (test, (_, values)) in &pairs {
            let factor = if slowed.contains(test.as_str()) {
                setting.factor
            } else {
                1.0
            };
            let trial: Vec<(f64, f64)> = values
                .iter()
                .map(|&(x, y)| {
                    let (x, y) = if rng.bool() { (x, y) } else { (y, x) };
                    (x as f64, (y as f64 * factor).round())
                })
                .collect();
            let stop = stopped_at(&sampling.stopping, &trial);
            trial_pairs.push((test, trial, stop));
        }
        let rounds = rounds_within_budget(&trial_pairs, &pair_seconds, sampling.budget_seconds);
        let (mut base, mut head) = (Vec::new(), Vec::new());
        for (test, trial, stop) in &trial_pairs {
            let used = (*stop).min(rounds);
            outcome.pairs_used += used;
            outcome.seconds_used += used as f64 * pair_seconds[test.as_str()];
            for (round, (x, y)) in trial[..used].iter().enumerate() {
                base.push(sample(test, "base", round as u32, *x as u64));
                head.push(sample(test, "head", round as u32, *y as u64));
            }
        }
        let comparison = compare(
            &side(aa, "base", base),
            &side(aa, "head", head),
            settings,
            true,
            None,
        );
        let slowed_categories: BTreeSet<&str> = comparison
            .tests
            .iter()
            .filter(|t| slowed.contains(t.test.as_str()))
            .map(|t| t.category.as_str())
            .collect();
        let found = match setting.target {
            Target::Nothing => false,
            Target::OneTest => comparison
                .tests
                .iter()
                .any(|t| slowed.contains(t.test.as_str()) && t.verdict == Verdict::Regression),
            Target::OneCategory => comparison.categories.iter().any(|c| {
                slowed_categories.contains(c.name.as_str()) && c.verdict == Verdict::Regression
            }),
        };
        let false_alarm = comparison
            .tests
            .iter()
            .any(|t| t.verdict == Verdict::Regression && !slowed.contains(t.test.as_str()))
            || comparison.categories.iter().any(|c| {
                c.verdict == Verdict::Regression && !slowed_categories.contains(c.name.as_str())
            })
            || (setting.target == Target::Nothing
                && comparison.overall.verdict == Verdict::Regression);
        if !found && setting.target != Target::Nothing {
            let name = match setting.target {
                Target::OneTest => slowed.iter().next().map(|t| t.to_string()),
                _ => slowed_categories.iter().next().map(|c| c.to_string()),
            };
            *outcome.missed.entry(name.unwrap_or_default()).or_default() += 1;
        }
        outcome.detected += usize::from(found);
        outcome.false_alarms += usize::from(false_alarm);
    }
    outcome
}

/// A test, its pairs in one trial, and the pair the stopping rule would end it at.
type TrialPairs<'a> = (&'a String, Vec<(f64, f64)>, usize);

/// How many rounds fit in the budget: each round runs one pair of every test still open, so
/// the budget cuts every test at the same round (a partial last round is left out, as the
/// scheduler would not start blocks it cannot finish).
fn rounds_within_budget(
    tests: &[TrialPairs],
    pair_seconds: &BTreeMap<&str, f64>,
    budget_seconds: Option<f64>,
) -> usize {
    let Some(budget) = budget_seconds else {
        return usize::MAX;
    };
    let mut spent = 0.0;
    for round in 0.. {
        let open = tests.iter().filter(|(_, _, stop)| *stop > round);
        if open.clone().next().is_none() {
            return usize::MAX;
        }
        spent += open
            .map(|(test, _, _)| pair_seconds[test.as_str()])
            .sum::<f64>();
        if spent > budget {
            return round;
        }
    }
    unreachable!("the loop returns")
}

/// What the replay emulates of a gate's sampling: its stopping rule and its time budget.
#[derive(Debug, Clone)]
pub struct Sampling {
    pub stopping: Stopping,
    /// The run's budget, against the pair times of the A/A run; `None`: unbounded.
    pub budget_seconds: Option<f64>,
}

/// How many of a test's pairs, in round order, the stopping rule would have taken. A test the
/// rule would sample beyond the recorded pairs uses them all.
fn stopped_at(stopping: &Stopping, pairs: &[(f64, f64)]) -> usize {
    (1..=pairs.len())
        .find(|&n| !stopping.pairs_want_more(n, &[pairs[..n].to_vec()]))
        .unwrap_or(pairs.len())
}

fn sample(test: &str, runtime: &str, round: u32, value: u64) -> Sample {
    Sample {
        test: test.to_string(),
        runtime: runtime.to_string(),
        round,
        order: 0,
        status: SampleStatus::Ok,
        value_ps: Some(value),
        wall_ms: 0.0,
        exit_code: Some(0),
        core: None,
        message: None,
    }
}

fn side(aa: &Results, label: &str, samples: Vec<Sample>) -> Side {
    Side {
        info: ComparedSide {
            label: label.to_string(),
            runtime: aa.runtimes[0].clone(),
            suite_id: aa.suite.suite_id.clone(),
            machine: aa.machine.clone(),
            origin: "A/A replay".to_string(),
            commit: None,
        },
        suite: aa.suite.clone(),
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A/A results with tight noise: a 10 % slowdown must be found, and nothing else flagged.
    fn synthetic_aa() -> Results {
        let mut rng = fastrand::Rng::with_seed(9);
        let mut samples = Vec::new();
        for (test, _) in [("sign", ()), ("hash", ()), ("hash2", ())] {
            for runtime in ["a", "b"] {
                for _ in 0..15 {
                    let value = 1_000_000.0 * (1.0 + 0.01 * (rng.f64() - 0.5));
                    samples.push((test, runtime, Some(value as u64)));
                }
            }
        }
        let mut results = crate::model::fixtures::results_with(&samples);
        // Number the rounds: the k-th sample of a test on each runtime shares round k.
        let mut seen: BTreeMap<(String, String), u32> = BTreeMap::new();
        for sample in &mut results.samples {
            let round = seen
                .entry((sample.test.clone(), sample.runtime.clone()))
                .or_default();
            sample.round = *round;
            *round += 1;
        }
        results
    }

    fn settings() -> CompareSettings {
        CompareSettings {
            confidence: 0.99,
            alpha: 0.01,
            min_effect: 0.02,
            fail_on: vec!["test".into()],
        }
    }

    fn sampling() -> Sampling {
        Sampling {
            stopping: Stopping {
                min_samples: 15,
                max_samples: 15,
                precision: 0.01,
                min_effect: 0.02,
            },
            budget_seconds: None,
        }
    }

    #[test]
    fn a_large_slowdown_is_found_and_aa_is_quiet() {
        let aa = synthetic_aa();
        let found = replay(
            &aa,
            ("a", "b"),
            &settings(),
            &sampling(),
            Setting {
                target: Target::OneTest,
                factor: 1.10,
            },
            30,
            1,
        );
        assert_eq!(found.detected, 30, "{found:?}");
        assert_eq!(found.false_alarms, 0, "{found:?}");
        let quiet = replay(
            &aa,
            ("a", "b"),
            &settings(),
            &sampling(),
            Setting {
                target: Target::Nothing,
                factor: 1.0,
            },
            30,
            2,
        );
        assert_eq!(quiet.false_alarms, 0, "{quiet:?}");
    }
}
