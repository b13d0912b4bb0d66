//! The scheduler: rounds over the tests still open, in a shuffled order (seed recorded). In a
//! round, each test is a block: its runtimes run back to back, in a shuffled order, on one
//! worker. So the samples of one test and round were taken within a second of each other on
//! the same core, and a same-run comparison can pair them, which cancels the machine's slow
//! drift; the shuffles keep any order effect from favouring one runtime.
//!
//! Whether a test wants another round is the rule of `stopping`, on the samples so far. A runtime that fails a test
//! twice leaves that test's blocks: a crash is a result, not noise to average away.

use super::adapter::Runtime;
use super::execute::run_once;
use crate::build::Suite;
use crate::model::{Sample, TestModule};
use crate::stats;
use crate::stats::stopping::Stopping;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// Failed samples after which a runtime does not run a test again.
const FAILURES_TO_CLOSE: usize = 2;

#[derive(Debug, Clone)]
pub struct Schedule {
    pub stopping: Stopping,
    /// Hard bound on the run's wall time.
    pub budget: Option<Duration>,
    pub timeout: Duration,
    /// One worker per entry; `None` runs unpinned.
    pub cores: Vec<Option<usize>>,
    pub seed: u64,
    pub progress: bool,
}

/// The samples so far of one (test, runtime) pair.
#[derive(Debug, Default, Clone)]
struct PairState {
    /// Successful values by round.
    values: BTreeMap<u32, f64>,
    failures: usize,
    wall_ms: Vec<f64>,
}

impl PairState {
    fn taken(&self) -> usize {
        self.values.len() + self.failures
    }
}

/// Why the scheduler stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every test reached its precision or its maximum.
    Finished,
    /// The budget ran out first.
    BudgetSpent,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// One test's runtimes for one round, in the order they run.
type Block = (usize, Vec<usize>);

pub struct Scheduler<'a> {
    pub suite: &'a Suite,
    pub runtimes: &'a [Runtime],
    pub tests: &'a [TestModule],
    pub schedule: &'a Schedule,
    pub stop: &'a AtomicBool,
}

impl Scheduler<'_> {
    /// Runs rounds until done; every sample goes to `record` as it is measured. `earlier`
    /// holds the samples of a resumed run, which count towards every test's state.
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
            // A generator per round from (seed, round): a resumed run continues the sequence.
            let mut rng = fastrand::Rng::with_seed(
                self.schedule.seed ^ u64::from(round).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let mut blocks: Vec<Block> = (0..self.tests.len())
                .filter_map(|test| Some((test, self.open_runtimes(test, &states)?)))
                .collect();
            if blocks.is_empty() {
                bar.finish_and_clear();
                return Ok(Ending::Finished);
            }
            rng.shuffle(&mut blocks);
            for (_, runtimes) in &mut blocks {
                rng.shuffle(runtimes);
            }
            let open = blocks.len();
            let expected = expected_walls(&blocks, &states);
            let outcome = self.run_round(
                blocks,
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
                        "round {} · {open} tests open · {} on {}",
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

    /// The runtimes that run the test this round, or `None` when the test is done.
    fn open_runtimes(
        &self,
        test: usize,
        states: &BTreeMap<(usize, usize), PairState>,
    ) -> Option<Vec<usize>> {
        let usable: Vec<usize> = (0..self.runtimes.len())
            .filter(|r| states[&(test, *r)].failures < FAILURES_TO_CLOSE)
            .collect();
        let taken = usable.iter().map(|r| states[&(test, *r)].taken()).min()?;
        let values = |r: usize| &states[&(test, r)].values;
        let stopping = &self.schedule.stopping;
        let open = match usable.split_first() {
            Some((&first, [])) => stopping
                .values_want_more(taken, &values(first).values().copied().collect::<Vec<_>>()),
            Some((&first, others)) => {
                let paired: Vec<Vec<(f64, f64)>> = others
                    .iter()
                    .map(|&other| stats::pair_by_round(values(first), values(other)))
                    .collect();
                stopping.pairs_want_more(taken, &paired)
            }
            None => false,
        };
        open.then_some(usable)
    }

    /// Runs one round's blocks on the workers. Returns `Some(ending)` when the run must stop.
    fn run_round(
        &self,
        blocks: Vec<Block>,
        expected: &BTreeMap<(usize, usize), Duration>,
        deadline: Option<Instant>,
        mut on_sample: impl FnMut(
            (usize, usize),
            Option<usize>,
            super::execute::Outcome,
        ) -> anyhow::Result<()>,
    ) -> anyhow::Result<Option<Ending>> {
        let queue = Mutex::new(VecDeque::from(blocks));
        let budget_spent = AtomicBool::new(false);
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            for core in &self.schedule.cores {
                let sender = sender.clone();
                let (queue, budget_spent) = (&queue, &budget_spent);
                scope.spawn(move || {
                    while let Some((test, runtimes)) =
                        queue.lock().expect("no panics while held").pop_front()
                    {
                        // A block runs whole or not at all: half a block has no pairs.
                        let needed: Duration = runtimes.iter().map(|r| expected[&(test, *r)]).sum();
                        if deadline.is_some_and(|d| Instant::now() + needed > d) {
                            budget_spent.store(true, Ordering::SeqCst);
                            continue;
                        }
                        for runtime in runtimes {
                            if self.stop.load(Ordering::SeqCst) {
                                return;
                            }
                            let command = self.runtimes[runtime]
                                .command(&self.suite.module_path(&self.tests[test]));
                            match run_once(
                                command,
                                *core,
                                self.schedule.timeout,
                                deadline,
                                self.stop,
                            ) {
                                Some(outcome) => {
                                    if sender.send(((test, runtime), *core, outcome)).is_err() {
                                        return;
                                    }
                                }
                                // Stopped or out of budget: a partial run is not a sample.
                                None => {
                                    if !self.stop.load(Ordering::SeqCst) {
                                        budget_spent.store(true, Ordering::SeqCst);
                                    }
                                    break;
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

/// Expected wall time of each pair (the median so far), so the budget never starts a block
/// it cannot finish.
fn expected_walls(
    blocks: &[Block],
    states: &BTreeMap<(usize, usize), PairState>,
) -> BTreeMap<(usize, usize), Duration> {
    blocks
        .iter()
        .flat_map(|(test, runtimes)| runtimes.iter().map(move |r| (*test, *r)))
        .map(|pair| {
            let ms = stats::median(&states[&pair].wall_ms).unwrap_or(0.0);
            (pair, Duration::from_secs_f64(ms / 1000.0))
        })
        .collect()
}

fn update(state: &mut PairState, sample: &Sample) {
    match sample.ok_value() {
        Some(value) => {
            state.values.insert(sample.round, value);
        }
        None => state.failures += 1,
    }
    state.wall_ms.push(sample.wall_ms);
}
