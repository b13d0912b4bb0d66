//! The proof of the gate: replay real A/A samples (one runtime against itself), with and
//! without a known slowdown injected into one side, and count how often the comparison finds
//! the slowdown and how often it calls something else a regression.

use crate::compare::{Side, compare};
use crate::model::{
    CompareSettings, ComparedSide, Comparison, Results, RuntimeInfo, Sample, SampleStatus, Verdict,
};
use crate::run::round_policy::{self, OpenTest};
use crate::stats::stopping::Stopping;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

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
pub struct InjectionOutcome {
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
    /// The wall time those pairs took on the replayed workers (the budget's clock, from the
    /// A/A run's pair times), summed over trials, in seconds.
    pub seconds_used: f64,
}

impl InjectionOutcome {
    /// The wall time a gate with this stopping rule spends sampling, on average.
    pub fn mean_seconds(&self) -> f64 {
        self.seconds_used / self.trials.max(1) as f64
    }

    fn empty(trials: usize) -> InjectionOutcome {
        InjectionOutcome {
            trials,
            detected: 0,
            false_alarms: 0,
            missed: BTreeMap::new(),
            pairs_used: 0,
            seconds_used: 0.0,
        }
    }

    fn record(&mut self, judgement: Judgement) {
        self.detected += usize::from(judgement.found);
        self.false_alarms += usize::from(judgement.false_alarm);
        if let Some(name) = judgement.missed {
            *self.missed.entry(name).or_default() += 1;
        }
    }
}

/// Why a results file cannot be replayed; each is something `calibrate aa` would have given it.
#[derive(Debug, Clone, PartialEq)]
pub enum Unreplayable {
    NoRuntimes {
        a: String,
        b: String,
    },
    OneRuntime {
        present: String,
        missing: String,
    },
    /// Both have samples, but no test has a successful one on both.
    NoTimedTest {
        a: String,
        b: String,
    },
    /// Tests were timed on both, never in the same round: the replay swaps pairs, and a pair
    /// is one round.
    NoSameRound {
        a: String,
        b: String,
    },
}

impl fmt::Display for Unreplayable {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Unreplayable::NoRuntimes { a, b } => {
                write!(f, "has no samples of runtimes `{a}` and `{b}`")
            }
            Unreplayable::OneRuntime { present, missing } => {
                write!(
                    f,
                    "has samples of runtime `{present}` but none of `{missing}`"
                )
            }
            Unreplayable::NoTimedTest { a, b } => write!(
                f,
                "has no test timed on both `{a}` and `{b}` (their samples failed or measured nothing)"
            ),
            Unreplayable::NoSameRound { a, b } => write!(
                f,
                "has no test timed on `{a}` and `{b}` in the same round, so no pair to replay"
            ),
        }
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

/// The A/A pairs of a results file, ready to be replayed under any setting.
pub struct Replay<'a> {
    aa: &'a Results,
    /// The runtime the replayed sides are recorded as measured on; only their verdicts are
    /// read, so a stand-in does when the file does not list it.
    runtime: RuntimeInfo,
    /// Per test with at least one pair, its category and its pairs; never empty.
    pairs: BTreeMap<String, Paired>,
    /// The categories of those tests, each once.
    categories: Vec<String>,
    pair_seconds: BTreeMap<&'a str, f64>,
    /// The workers the A/A run measured on: its samples' distinct cores, at least 1.
    workers: usize,
}

impl<'a> Replay<'a> {
    /// The pairs of runtimes `a` and `b`; refused when there is nothing to replay, since every
    /// trial draws a test (or category) among them.
    pub fn new(aa: &'a Results, (a, b): (&str, &str)) -> Result<Replay<'a>, Unreplayable> {
        let runtime = runtime_labelled(aa, a);
        let side_a = side_of(aa, &runtime, a, samples_of(aa, a));
        let side_b = side_of(aa, &runtime, b, samples_of(aa, b));
        check_both_sampled(&side_a, &side_b)?;
        let pairs = pairs(aa, &side_a, &side_b);
        if pairs.is_empty() {
            return Err(if timed_on_both(aa, &side_a, &side_b) {
                Unreplayable::NoSameRound {
                    a: a.into(),
                    b: b.into(),
                }
            } else {
                Unreplayable::NoTimedTest {
                    a: a.into(),
                    b: b.into(),
                }
            });
        }
        let categories: BTreeSet<String> = pairs.values().map(|(c, _)| c.clone()).collect();
        Ok(Replay {
            aa,
            runtime,
            pairs,
            categories: categories.into_iter().collect(),
            pair_seconds: pair_seconds(aa),
            workers: workers_of(aa, (a, b)),
        })
    }

    /// How many workers the A/A run measured on: the distinct cores its samples of the two
    /// runtimes were pinned to (1 when unpinned). What the replay emulates unless told otherwise.
    pub fn recorded_workers(&self) -> usize {
        self.workers
    }

    /// The fewest pairs any test has: where the replay of a rule with a higher maximum stops.
    pub fn fewest_pairs(&self) -> usize {
        (self.pairs.values().map(|(_, pairs)| pairs.len()))
            .min()
            .unwrap_or(0)
    }

    /// Replays the A/A pairs `trials` times. In an A/A run the two values of a pair are
    /// exchangeable, so each trial swaps each pair's sides at random (a permutation of the
    /// real data), then slows head down as the setting says, stops each test where the
    /// scheduler's `stopping` rule would have stopped it on those values, and compares as a
    /// same-run gate would.
    pub fn run(
        &self,
        settings: &CompareSettings,
        sampling: &Sampling,
        setting: Setting,
        trials: usize,
        seed: u64,
    ) -> InjectionOutcome {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut outcome = InjectionOutcome::empty(trials);
        for _ in 0..trials {
            let slowed = self.choose_slowed(setting.target, &mut rng);
            let trial = self.draw_trial(&slowed, setting.factor, &mut rng);
            let (taken, seconds) =
                pairs_within_budget(&trial, &self.pair_seconds, sampling, &mut rng);
            outcome.seconds_used += seconds;
            let (base, head) = self.keep_pairs(&trial, &taken, &mut outcome);
            let comparison = compare(
                &base,
                &head,
                settings,
                crate::compare::Pairing::ByRound,
                None,
            );
            outcome.record(judge(&comparison, setting.target, &slowed));
        }
        outcome
    }

    /// The tests this trial slows down: none, one, or every test of one category.
    fn choose_slowed(&self, target: Target, rng: &mut fastrand::Rng) -> BTreeSet<&str> {
        match target {
            Target::Nothing => BTreeSet::new(),
            Target::OneTest => {
                let drawn = rng.usize(..self.pairs.len());
                self.pairs
                    .keys()
                    .nth(drawn)
                    .map(String::as_str)
                    .into_iter()
                    .collect()
            }
            Target::OneCategory => {
                let drawn = rng.usize(..self.categories.len());
                let category = self.categories.get(drawn);
                (self.pairs.iter())
                    .filter(|(_, (c, _))| Some(c) == category)
                    .map(|(t, _)| t.as_str())
                    .collect()
            }
        }
    }

    /// Each test's pairs for one trial, sides swapped at random and head slowed where the
    /// setting says.
    fn draw_trial(
        &self,
        slowed: &BTreeSet<&str>,
        factor: f64,
        rng: &mut fastrand::Rng,
    ) -> Vec<TrialPairs<'_>> {
        let mut trial_pairs = Vec::new();
        for (test, (_, values)) in &self.pairs {
            let factor = if slowed.contains(test.as_str()) {
                factor
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
            trial_pairs.push((test, trial));
        }
        trial_pairs
    }

    /// The base and head sides a gate would have measured in this trial: each test's first
    /// `taken` pairs. Their pairs are added to `spent`.
    fn keep_pairs(
        &self,
        trial: &[TrialPairs],
        taken: &[usize],
        spent: &mut InjectionOutcome,
    ) -> (Side, Side) {
        let (mut base, mut head) = (Vec::new(), Vec::new());
        for ((test, values), &used) in trial.iter().zip(taken) {
            spent.pairs_used += used;
            for (round, (x, y)) in values[..used].iter().enumerate() {
                base.push(sample(test, "base", round as u32, *x as u64));
                head.push(sample(test, "head", round as u32, *y as u64));
            }
        }
        (
            side_of(self.aa, &self.runtime, "base", base),
            side_of(self.aa, &self.runtime, "head", head),
        )
    }
}

/// What one trial's comparison said about the slowdown it was given.
struct Judgement {
    found: bool,
    false_alarm: bool,
    /// The test or category whose slowdown went unseen.
    missed: Option<String>,
}

fn judge(comparison: &Comparison, target: Target, slowed: &BTreeSet<&str>) -> Judgement {
    let slowed_categories: BTreeSet<&str> = (comparison.tests.iter())
        .filter(|t| slowed.contains(t.test.as_str()))
        .map(|t| t.category.as_str())
        .collect();
    let found = match target {
        Target::Nothing => false,
        Target::OneTest => (comparison.tests.iter())
            .any(|t| slowed.contains(t.test.as_str()) && t.verdict == Verdict::Regression),
        Target::OneCategory => comparison.categories.iter().any(|c| {
            slowed_categories.contains(c.name.as_str()) && c.verdict == Verdict::Regression
        }),
    };
    let false_alarm = (comparison.tests.iter())
        .any(|t| t.verdict == Verdict::Regression && !slowed.contains(t.test.as_str()))
        || comparison.categories.iter().any(|c| {
            c.verdict == Verdict::Regression && !slowed_categories.contains(c.name.as_str())
        })
        || (target == Target::Nothing && comparison.overall.verdict == Verdict::Regression);
    let missed = (!found && target != Target::Nothing).then(|| {
        let name = match target {
            Target::OneTest => slowed.iter().next(),
            _ => slowed_categories.iter().next(),
        };
        name.map(|n| n.to_string()).unwrap_or_default()
    });
    Judgement {
        found,
        false_alarm,
        missed,
    }
}

fn check_both_sampled(a: &Side, b: &Side) -> Result<(), Unreplayable> {
    match (a.samples.is_empty(), b.samples.is_empty()) {
        (false, false) => Ok(()),
        (true, true) => Err(Unreplayable::NoRuntimes {
            a: a.info.label.clone(),
            b: b.info.label.clone(),
        }),
        (false, true) => Err(Unreplayable::OneRuntime {
            present: a.info.label.clone(),
            missing: b.info.label.clone(),
        }),
        (true, false) => Err(Unreplayable::OneRuntime {
            present: b.info.label.clone(),
            missing: a.info.label.clone(),
        }),
    }
}

/// Whether some test of the suite has a successful sample on both sides, in any rounds.
fn timed_on_both(aa: &Results, a: &Side, b: &Side) -> bool {
    let timed = |side: &Side, test: &str| {
        (side.samples.iter()).any(|s| s.test == test && s.ok_value().is_some())
    };
    (aa.suite.tests.iter()).any(|t| timed(a, &t.name) && timed(b, &t.name))
}

/// Per test, its category and the (a, b) values measured in the same round.
fn pairs(aa: &Results, a: &Side, b: &Side) -> BTreeMap<String, Paired> {
    aa.suite
        .tests
        .iter()
        .map(|test| {
            let values = a
                .pairs_with(b, &test.name)
                .into_iter()
                .map(|(x, y)| (x as u64, y as u64))
                .collect();
            (test.name.clone(), (test.category.clone(), values))
        })
        .filter(|(_, (_, values)): &(String, Paired)| !values.is_empty())
        .collect()
}

fn samples_of(aa: &Results, label: &str) -> Vec<Sample> {
    (aa.samples.iter())
        .filter(|s| s.runtime == label)
        .cloned()
        .collect()
}

/// The runtime `label` as the file records it; a file that lists no such runtime (edited by
/// hand) gets one named after the label, as the replay only needs its verdicts.
fn runtime_labelled(aa: &Results, label: &str) -> RuntimeInfo {
    (aa.runtimes.iter().find(|r| r.name == label))
        .cloned()
        .unwrap_or_else(|| RuntimeInfo {
            name: label.to_string(),
            adapter: label.to_string(),
            path: String::new(),
            version: String::new(),
            command: Vec::new(),
            native: false,
            compile_threads: None,
        })
}

/// A test and its pairs in one trial, in round order.
type TrialPairs<'a> = (&'a String, Vec<(f64, f64)>);

/// How many pairs of each test the gate would take, and the wall time they took, in seconds:
/// the scheduler's dispatch (`run::round_policy::replay`) on the sampling's workers, each pair
/// lasting its test's mean pair time in the A/A run, the stopping rule asked when a pair is
/// handed out. A test the rule would sample beyond its recorded pairs uses them all.
fn pairs_within_budget(
    tests: &[TrialPairs],
    pair_seconds: &BTreeMap<&str, f64>,
    sampling: &Sampling,
    rng: &mut fastrand::Rng,
) -> (Vec<usize>, f64) {
    let stopping = &sampling.stopping;
    let walls: Vec<Duration> = (tests.iter())
        .map(|(test, _)| round_policy::wall_from_seconds(pair_seconds[test.as_str()]))
        .collect();
    // An A/A pair is never disturbed: the room left is the recorded pairs'.
    let open = |at: usize, taken: usize| {
        let pairs = &tests[at].1;
        let wants =
            taken < pairs.len() && stopping.pairs_want_more(taken, &[pairs[..taken].to_vec()]);
        wants.then(|| OpenTest {
            taken,
            room: pairs.len() - taken,
        })
    };
    let replayed = round_policy::replay(
        &walls,
        sampling.workers,
        sampling.budget,
        rng.u64(..),
        round_policy::Blocks {
            least: stopping.least_blocks(),
            most: stopping.most_blocks(),
        },
        open,
    );
    (replayed.taken, replayed.wall.as_secs_f64())
}

/// The distinct cores the samples of runtimes `a` and `b` were pinned to, at least 1.
fn workers_of(aa: &Results, (a, b): (&str, &str)) -> usize {
    (aa.samples.iter())
        .filter(|s| s.runtime == a || s.runtime == b)
        .filter_map(|s| s.core)
        .collect::<BTreeSet<_>>()
        .len()
        .max(1)
}

/// What the replay emulates of a gate's sampling: its stopping rule and its time budget.
#[derive(Debug, Clone)]
pub struct Sampling {
    pub stopping: Stopping,
    /// The run's budget, against the pair times of the A/A run; `None`: unbounded.
    pub budget: Option<Duration>,
    /// The workers the rounds are spread over (one per core).
    pub workers: usize,
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
        cpu_ms: None,
        run_delay_ms: None,
        preemptions: None,
        instructions: None,
    }
}

fn side_of(aa: &Results, runtime: &RuntimeInfo, label: &str, samples: Vec<Sample>) -> Side {
    Side {
        info: ComparedSide {
            label: label.to_string(),
            runtime: runtime.clone(),
            suite_id: aa.suite.suite_id.clone(),
            machine: aa.machine.clone(),
            origin: "A/A replay".to_string(),
            commit: None,
            measure: aa.measure,
        },
        suite: aa.suite.clone(),
        samples,
    }
}

#[cfg(test)]
mod tests;
