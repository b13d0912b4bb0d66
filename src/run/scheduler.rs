//! The scheduler: interleaved, shuffled rounds over the (test, runtime) pairs still open, one
//! worker per configured core, adaptive stopping and a hard time budget.
//!
//! A pair stays open until it has `min_samples`, then while the interval of its median is
//! wider than the precision target and it has fewer than `max_samples`. A pair whose runtime
//! fails twice is closed: a crash is a result, not noise to average away.

use super::adapter::Runtime;
use super::execute::{Outcome, run_once};
use crate::build::Suite;
use crate::compare::stats;
use crate::model::{Sample, SampleStatus, TestModule};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// Confidence of the median interval that decides whether a pair is precise enough.
pub const PRECISION_CONFIDENCE: f64 = 0.95;
/// Failed samples after which a pair is not run again.
const FAILURES_TO_CLOSE: usize = 2;

#[derive(Debug, Clone)]
pub struct Schedule {
    pub min_samples: u32,
    pub max_samples: u32,
    /// Target relative half-width of each pair's median interval; 0 samples exactly `min_samples`.
    pub precision: f64,
    /// Hard bound on the run's wall time.
    pub budget: Option<Duration>,
    pub timeout: Duration,
    /// One worker per entry; `None` runs unpinned.
    pub cores: Vec<Option<usize>>,
    pub seed: u64,
    pub progress: bool,
}

/// What the scheduler needs to know about the samples so far, per pair.
#[derive(Debug, Default, Clone)]
struct PairState {
    values: Vec<f64>,
    failures: usize,
    wall_ms: Vec<f64>,
}

/// Why the scheduler stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every pair reached its precision or its maximum.
    Finished,
    /// The budget ran out first.
    BudgetSpent,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

pub struct Scheduler<'a> {
    pub suite: &'a Suite,
    pub runtimes: &'a [Runtime],
    pub tests: &'a [TestModule],
    pub schedule: &'a Schedule,
    pub stop: &'a AtomicBool,
}

impl Scheduler<'_> {
    /// Runs rounds until done; every sample goes to `record` as it is measured. `earlier`
    /// holds the samples of a resumed run, which count towards every pair's state.
    pub fn run(
        &self,
        earlier: &[Sample],
        mut record: impl FnMut(Sample) -> anyhow::Result<()>,
    ) -> anyhow::Result<Ending> {
        let started = Instant::now();
        let deadline = self.schedule.budget.map(|b| started + b);
        let mut states = self.initial_states(earlier);
        let mut order = earlier.iter().map(|s| s.order + 1).max().unwrap_or(0);
        let mut round = earlier.iter().map(|s| s.round + 1).max().unwrap_or(0);
        let bar = self.progress_bar();
        loop {
            let mut open: Vec<(usize, usize)> = states
                .iter()
                .filter(|(_, state)| self.is_open(state))
                .map(|(pair, _)| *pair)
                .collect();
            if open.is_empty() {
                bar.finish_and_clear();
                return Ok(Ending::Finished);
            }
            // A new generator per round from (seed, round): a resumed run continues the
            // same sequence of orders it would have had.
            fastrand::Rng::with_seed(
                self.schedule.seed ^ u64::from(round).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )
            .shuffle(&mut open);
            let pairs_open = open.len();
            let expected = expected_walls(&open, &states);
            let outcome = self.run_round(
                open,
                &expected,
                deadline,
                |(test, runtime), core, outcome| {
                    let sample = Sample {
                        test: self.tests[test].name.clone(),
                        runtime: self.runtimes[runtime].info.name.clone(),
                        round,
                        order,
                        status: outcome.status,
                        value_ps: outcome.value_ps,
                        wall_ms: outcome.wall_ms,
                        exit_code: outcome.exit_code,
                        core,
                        message: outcome.message,
                    };
                    order += 1;
                    update(
                        states.get_mut(&(test, runtime)).expect("known pair"),
                        &sample,
                    );
                    bar.set_message(format!(
                        "round {} · {pairs_open} pairs open · {} on {}",
                        round + 1,
                        sample.test,
                        sample.runtime
                    ));
                    bar.set_position(started.elapsed().as_secs());
                    record(sample)
                },
            )?;
            round += 1;
            if let Some(ending) = outcome {
                bar.finish_and_clear();
                return Ok(ending);
            }
        }
    }

    fn initial_states(&self, earlier: &[Sample]) -> BTreeMap<(usize, usize), PairState> {
        let mut states = BTreeMap::new();
        for test in 0..self.tests.len() {
            for runtime in 0..self.runtimes.len() {
                states.insert((test, runtime), PairState::default());
            }
        }
        for sample in earlier {
            let test = self.tests.iter().position(|t| t.name == sample.test);
            let runtime = self
                .runtimes
                .iter()
                .position(|r| r.info.name == sample.runtime);
            if let (Some(test), Some(runtime)) = (test, runtime) {
                update(
                    states.get_mut(&(test, runtime)).expect("known pair"),
                    sample,
                );
            }
        }
        states
    }

    fn is_open(&self, state: &PairState) -> bool {
        let taken = state.values.len() + state.failures;
        if state.failures >= FAILURES_TO_CLOSE || taken >= self.schedule.max_samples as usize {
            return false;
        }
        if taken < self.schedule.min_samples as usize {
            return true;
        }
        if self.schedule.precision <= 0.0 {
            return false;
        }
        match stats::median_relative_halfwidth(&state.values, PRECISION_CONFIDENCE) {
            Some(halfwidth) => halfwidth > self.schedule.precision,
            None => true,
        }
    }

    /// Runs one round's pairs on the workers. Returns `Some(ending)` when the run must stop.
    fn run_round(
        &self,
        pairs: Vec<(usize, usize)>,
        expected: &BTreeMap<(usize, usize), Duration>,
        deadline: Option<Instant>,
        mut on_sample: impl FnMut((usize, usize), Option<usize>, Outcome) -> anyhow::Result<()>,
    ) -> anyhow::Result<Option<Ending>> {
        let queue = Mutex::new(VecDeque::from(pairs));
        let budget_spent = AtomicBool::new(false);
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            for core in &self.schedule.cores {
                let sender = sender.clone();
                let (queue, budget_spent) = (&queue, &budget_spent);
                scope.spawn(move || {
                    loop {
                        if self.stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Some(pair) = queue.lock().expect("no panics while held").pop_front()
                        else {
                            break;
                        };
                        if deadline.is_some_and(|d| Instant::now() + expected[&pair] > d) {
                            budget_spent.store(true, Ordering::SeqCst);
                            continue;
                        }
                        let (test, runtime) = pair;
                        let command = self.runtimes[runtime]
                            .command(&self.suite.module_path(&self.tests[test]));
                        match run_once(command, *core, self.schedule.timeout, deadline, self.stop) {
                            Some(outcome) => {
                                if sender.send((pair, *core, outcome)).is_err() {
                                    break;
                                }
                            }
                            // Stopped or out of budget: a partial run is not a sample.
                            None => {
                                if !self.stop.load(Ordering::SeqCst) {
                                    budget_spent.store(true, Ordering::SeqCst);
                                }
                            }
                        }
                    }
                });
            }
            drop(sender);
            for (pair, core, outcome) in receiver {
                on_sample(pair, core, outcome)?;
            }
            Ok(())
        })?;
        if self.stop.load(Ordering::SeqCst) {
            Ok(Some(Ending::Interrupted))
        } else if budget_spent.load(Ordering::SeqCst) {
            Ok(Some(Ending::BudgetSpent))
        } else {
            Ok(None)
        }
    }

    fn progress_bar(&self) -> ProgressBar {
        if !self.schedule.progress {
            return ProgressBar::hidden();
        }
        match self.schedule.budget {
            // The bar fills with the budget: its end is the latest the run can finish.
            Some(budget) => ProgressBar::new(budget.as_secs().max(1)).with_style(
                ProgressStyle::with_template("{bar:30} {elapsed}/{len}s budget · {msg}")
                    .expect("static template"),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {elapsed} · {msg}")
                    .expect("static template"),
            ),
        }
    }
}

/// Expected wall time of each pair (the median so far), so the budget never starts a sample
/// it cannot finish.
fn expected_walls(
    pairs: &[(usize, usize)],
    states: &BTreeMap<(usize, usize), PairState>,
) -> BTreeMap<(usize, usize), Duration> {
    pairs
        .iter()
        .map(|pair| {
            let ms = stats::median(&states[pair].wall_ms).unwrap_or(0.0);
            (*pair, Duration::from_secs_f64(ms / 1000.0))
        })
        .collect()
}

fn update(state: &mut PairState, sample: &Sample) {
    match (sample.status, sample.value_ps) {
        (SampleStatus::Ok, Some(value)) => state.values.push(value as f64),
        _ => state.failures += 1,
    }
    state.wall_ms.push(sample.wall_ms);
}
