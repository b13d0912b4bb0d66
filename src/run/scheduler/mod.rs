//! The scheduler: rounds over the tests still open, in a shuffled order (seed recorded). In a
//! round, each test is a block: its runtimes run back to back, in a shuffled order, on one
//! worker. So the samples of one test and round were taken within a second of each other on
//! the same core, and a same-run comparison can pair them, which cancels the machine's slow
//! drift; the shuffles keep any order effect from favouring one runtime.
//!
//! Whether a test wants another round is the rule of `stopping`, on the samples so far. A runtime that fails a test
//! twice leaves that test's blocks: a crash is a result, not noise to average away. A sample
//! disturbed by another process on its core is neither a value nor a failure: the test stays
//! open and the next round measures the pair again, up to `max_samples` disturbed samples.
//!
//! The scheduler decides what runs when; an `Executor` takes each sample, so the scheduler
//! can be tested without processes.

use super::execute::ProcessOutcome;
use super::executor::{Executor, Limits};
use super::round_policy::{self, OpenTest};
use super::runtime::Runtime;
use crate::build::Suite;
use crate::config::DisturbanceConfig;
use crate::model::{Sample, TestModule};
use crate::stats;
use crate::stats::stopping::Stopping;
use indicatif::ProgressBar;
use progress::{PairSoFar, ProgressLog, Shown, Status, time_left};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
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
    /// The bar on a terminal, a line every `LOG_EVERY` in a log; `false` (`--quiet`) shows
    /// neither.
    pub progress: bool,
    /// When a sample counts as disturbed, and so is measured again.
    pub disturbance: DisturbanceConfig,
    /// What the samples measure, for the record.
    pub measure: crate::model::Measure,
}

/// The samples so far of one (test, runtime) pair.
#[derive(Debug, Default, Clone)]
struct PairState {
    /// Successful values by round.
    values: BTreeMap<u32, f64>,
    failures: usize,
    /// Samples another process on the core disturbed: neither a value nor a failure, so the
    /// test stays open and the next round measures the pair again.
    disturbed: usize,
    wall_ms: Vec<f64>,
}

impl PairState {
    fn taken(&self) -> usize {
        self.values.len() + self.failures
    }

    /// Whether the pair measures no more: it failed too often, or was disturbed `cap` times
    /// (a core that is never quiet would otherwise keep the test open until the budget ends).
    fn closed(&self, disturbed_cap: usize) -> bool {
        self.failures >= FAILURES_TO_CLOSE || self.disturbed >= disturbed_cap
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
#[derive(Debug, Clone)]
struct Block {
    round: u32,
    test: usize,
    runtimes: Vec<usize>,
}

pub struct Scheduler<'a> {
    pub suite: &'a Suite,
    pub runtimes: &'a [Runtime],
    pub tests: &'a [TestModule],
    pub schedule: &'a Schedule,
    pub stop: &'a AtomicBool,
    pub executor: &'a dyn Executor,
}

/// A sample as a worker hands it over.
struct Measured {
    /// Its (test, runtime) pair, as indices.
    pair: (usize, usize),
    round: u32,
    core: Option<usize>,
    outcome: ProcessOutcome,
}

/// What the scheduler hears while a round runs; workers are numbered from 0.
enum Event {
    /// A worker started a sample of this (test, runtime) pair.
    Started(usize, (usize, usize)),
    /// A worker's sample ended.
    Measured(usize, Measured),
    /// No worker said anything for a while.
    Quiet,
}

impl Scheduler<'_> {
    /// Runs rounds until done; every sample goes to `record` as it is measured. `earlier`
    /// holds the samples of a resumed run, which count towards every test's state.
    pub fn run(
        &self,
        earlier: &[Sample],
        record: impl FnMut(Sample) -> anyhow::Result<()>,
    ) -> anyhow::Result<Ending> {
        self.run_logging(earlier, record, self.progress_log())
    }

    /// `run`, with progress lines going to `log` (if any) rather than where `run` sends them.
    fn run_logging(
        &self,
        earlier: &[Sample],
        mut record: impl FnMut(Sample) -> anyhow::Result<()>,
        log: Option<ProgressLog>,
    ) -> anyhow::Result<Ending> {
        let started = Instant::now();
        let mut states = self.initial_states(earlier);
        let mut order = earlier.iter().map(|s| s.order + 1).max().unwrap_or(0);
        let mut round = earlier.iter().map(|s| s.round + 1).max().unwrap_or(0);
        let wake = log.as_ref().map(|log| log.wake);
        let mut shown = Shown {
            bar: self.progress_bar(),
            log,
            in_flight: BTreeMap::new(),
        };
        let ending = loop {
            let (blocks, rounds) = self.blocks(round, &states);
            if blocks.is_empty() {
                break Ending::Finished;
            }
            let open = (blocks.iter().map(|b| b.test))
                .collect::<BTreeSet<_>>()
                .len();
            let expected = expected_walls(&blocks, &states);
            let outcome = self.run_round(blocks, &expected, started, wake, |event| {
                if let Event::Started(worker, pair) = &event {
                    shown.in_flight.insert(*worker, *pair);
                }
                let Event::Measured(worker, measured) = event else {
                    self.log_progress(&mut shown, round, &expected, &states);
                    return Ok(());
                };
                shown.in_flight.remove(&worker);
                let pair = measured.pair;
                let round = measured.round;
                let mut sample = self.sample(measured, order);
                order += 1;
                let state = states.get_mut(&pair).expect("known pair");
                update(state, &sample);
                self.say_if_closed_by_disturbance(state, &mut sample);
                shown.bar.set_message(format!(
                    "round {} · {open} tests open · {} on {}",
                    round + 1,
                    sample.test,
                    sample.runtime
                ));
                shown.bar.set_position(started.elapsed().as_secs());
                record(sample)
            })?;
            shown.in_flight.clear();
            round += rounds;
            if let Some(ending) = outcome {
                break ending;
            }
        };
        shown.bar.finish_and_clear();
        Ok(ending)
    }

    /// Writes a progress line to the log when one is due. `expected` holds the round's pairs.
    fn log_progress(
        &self,
        shown: &mut Shown,
        round: u32,
        expected: &BTreeMap<(usize, usize), Duration>,
        states: &BTreeMap<(usize, usize), PairState>,
    ) {
        let Shown { log, in_flight, .. } = shown;
        let Some(log) = log else { return };
        let Some(elapsed) = log.due() else { return };
        let pairs: Vec<(usize, usize)> = expected.keys().copied().collect();
        let mut open: Vec<usize> = pairs.iter().map(|(test, _)| *test).collect();
        open.dedup();
        let so_far: Vec<PairSoFar> = (pairs.iter())
            .map(|pair| PairSoFar {
                median_wall_ms: stats::median(&states[pair].wall_ms),
                taken: states[pair].taken(),
            })
            .collect();
        let status = Status {
            elapsed,
            budget: self.schedule.budget,
            round: round + 1,
            open: open.len(),
            in_flight: in_flight
                .values()
                .map(|(test, runtime)| {
                    (
                        self.tests[*test].name.as_str(),
                        self.runtimes[*runtime].info.name.as_str(),
                    )
                })
                .collect(),
            left: time_left(&so_far, &self.schedule.stopping, self.schedule.cores.len()),
        };
        log.write(&status);
    }

    /// Plain lines on stderr where the bar is not drawn: a log that is not a terminal.
    fn progress_log(&self) -> Option<ProgressLog<'static>> {
        self.schedule
            .progress
            .then(progress::stderr_log_unless_terminal)
            .flatten()
    }

    fn progress_bar(&self) -> ProgressBar {
        if self.schedule.progress {
            progress::bar(self.schedule.budget)
        } else {
            ProgressBar::hidden()
        }
    }

    /// The blocks that run next, and how many rounds they span: each open test with its
    /// runtimes, both in a shuffled order, for as many rounds as the round policy gives it
    /// (`round_policy::next_rounds`).
    fn blocks(
        &self,
        round: u32,
        states: &BTreeMap<(usize, usize), PairState>,
    ) -> (Vec<Block>, u32) {
        let open: Vec<(usize, Vec<usize>, OpenTest)> = (0..self.tests.len())
            .filter_map(|test| {
                let (runtimes, taken) = self.open_runtimes(test, states)?;
                let disturbed = (runtimes.iter())
                    .map(|r| states[&(test, *r)].disturbed)
                    .max()
                    .unwrap_or(0);
                let room = self.disturbed_cap().saturating_sub(disturbed);
                Some((test, runtimes, OpenTest { taken, room }))
            })
            .collect();
        let tests: Vec<OpenTest> = open.iter().map(|(_, _, test)| *test).collect();
        let rounds =
            round_policy::next_rounds(&tests, self.schedule.cores.len(), &self.schedule.stopping);
        let mut blocks = Vec::new();
        for ((test, runtimes, _), &rounds) in open.iter().zip(&rounds) {
            blocks.extend((round..).take(rounds).map(|round| Block {
                round,
                test: *test,
                runtimes: runtimes.clone(),
            }));
        }
        self.shuffle(&mut blocks);
        let spanned = rounds.into_iter().max().unwrap_or(1);
        (blocks, u32::try_from(spanned).unwrap_or(1))
    }

    /// Shuffles the blocks of each round and each block's runtimes, the blocks of a round
    /// before those of the next. A generator per round from (seed, round): a resumed run
    /// continues the sequence.
    fn shuffle(&self, blocks: &mut Vec<Block>) {
        let mut rounds: BTreeMap<u32, Vec<Block>> = BTreeMap::new();
        for block in blocks.drain(..) {
            rounds.entry(block.round).or_default().push(block);
        }
        for (round, mut these) in rounds {
            let mut rng = fastrand::Rng::with_seed(
                self.schedule.seed ^ u64::from(round).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            rng.shuffle(&mut these);
            for block in &mut these {
                rng.shuffle(&mut block.runtimes);
            }
            blocks.extend(these);
        }
    }

    fn sample(&self, measured: Measured, order: u64) -> Sample {
        let Measured {
            pair: (test, runtime),
            round,
            core,
            outcome,
        } = measured;
        Sample {
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
            cpu_ms: outcome.usage.cpu_ms,
            run_delay_ms: outcome.usage.run_delay_ms,
            preemptions: outcome.usage.preemptions,
            instructions: outcome.instructions,
        }
    }

    /// Samples of a pair that may be disturbed before it measures no more: as many as it may
    /// take at most, so a test on a busy core still ends, within the budget.
    fn disturbed_cap(&self) -> usize {
        self.schedule.stopping.max_samples as usize
    }

    /// The disturbed sample that closes its pair says so, for the results and the report.
    fn say_if_closed_by_disturbance(&self, state: &PairState, sample: &mut Sample) {
        if sample.disturbed() && state.disturbed == self.disturbed_cap() {
            let figures = sample.message.take().unwrap_or_default();
            sample.message = Some(format!(
                "{figures}; {} disturbed samples: this runtime measures the test no more",
                state.disturbed
            ));
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

    /// The runtimes that run the test this round and the samples (or pairs) it has taken, or
    /// `None` when the test is done.
    fn open_runtimes(
        &self,
        test: usize,
        states: &BTreeMap<(usize, usize), PairState>,
    ) -> Option<(Vec<usize>, usize)> {
        let usable: Vec<usize> = (0..self.runtimes.len())
            .filter(|r| !states[&(test, *r)].closed(self.disturbed_cap()))
            .collect();
        let taken = usable.iter().map(|r| states[&(test, *r)].taken()).min()?;
        let values = |r: usize| &states[&(test, r)].values;
        let stopping = &self.schedule.stopping;
        let (open, counted) = match usable.split_first() {
            Some((&first, [])) => {
                let values: Vec<f64> = values(first).values().copied().collect();
                (stopping.values_want_more(taken, &values), taken)
            }
            Some((&first, others)) => {
                let paired: Vec<Vec<(f64, f64)>> = others
                    .iter()
                    .map(|&other| stats::pair_by_round(values(first), values(other)))
                    .collect();
                // A round in which one side was disturbed gives no pair, though the other
                // side's value counts as taken: count the pairs (and the rounds a failure
                // took, which no re-measurement mends), so the lost pairs are measured again
                // instead of the test ending short of them.
                let pairs = paired.iter().map(Vec::len).min().unwrap_or(0);
                let failures = usable.iter().map(|r| states[&(test, *r)].failures).max();
                let counted = pairs + failures.unwrap_or(0);
                (stopping.pairs_want_more(counted, &paired), counted)
            }
            None => (false, taken),
        };
        open.then_some((usable, counted))
    }

    /// Runs one round's blocks on the workers. Returns `Some(ending)` when the run must stop.
    fn run_round(
        &self,
        blocks: Vec<Block>,
        expected: &BTreeMap<(usize, usize), Duration>,
        started: Instant,
        wake: Option<Duration>,
        mut on_event: impl FnMut(Event) -> anyhow::Result<()>,
    ) -> anyhow::Result<Option<Ending>> {
        let round = Round {
            queue: Mutex::new(VecDeque::from(blocks)),
            expected,
            started,
            budget: self.schedule.budget,
            budget_spent: AtomicBool::new(false),
        };
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            for (worker, core) in self.schedule.cores.iter().enumerate() {
                let sender = sender.clone();
                let round = &round;
                scope.spawn(move || self.work(worker, *core, round, &sender));
            }
            drop(sender);
            listen(receiver, wake, &mut on_event)
        })?;
        if self.stop.load(Ordering::SeqCst) {
            Ok(Some(Ending::Interrupted))
        } else if round.budget_spent.load(Ordering::SeqCst) {
            Ok(Some(Ending::BudgetSpent))
        } else {
            Ok(None)
        }
    }

    /// One worker: takes blocks off the round's queue until it is empty, the run is stopped,
    /// or the receiving end is gone.
    fn work(
        &self,
        worker: usize,
        core: Option<usize>,
        round: &Round,
        sender: &mpsc::Sender<Event>,
    ) {
        let limits = Limits {
            core,
            timeout: self.schedule.timeout,
            abandon_at: round.deadline(),
            stop: self.stop,
            disturbance: self.schedule.disturbance,
        };
        while let Some(Block {
            round: block_round,
            test,
            runtimes,
        }) = round.next_block()
        {
            // A block runs whole or not at all: half a block has no pairs.
            if !round.fits(test, &runtimes) {
                round.budget_spent.store(true, Ordering::SeqCst);
                continue;
            }
            for runtime in runtimes {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                if sender
                    .send(Event::Started(worker, (test, runtime)))
                    .is_err()
                {
                    return;
                }
                let (test_module, runtime_used) = (&self.tests[test], &self.runtimes[runtime]);
                match self
                    .executor
                    .sample(self.suite, test_module, runtime_used, &limits)
                {
                    Some(outcome) => {
                        let measured = Measured {
                            pair: (test, runtime),
                            round: block_round,
                            core,
                            outcome,
                        };
                        if sender.send(Event::Measured(worker, measured)).is_err() {
                            return;
                        }
                    }
                    // Stopped or out of budget: a partial run is not a sample. A sample that
                    // outlasts its estimate can be cut so, leaving the samples before it in
                    // the block unpaired: the budget is a hard bound.
                    None => {
                        if !self.stop.load(Ordering::SeqCst) {
                            round.budget_spent.store(true, Ordering::SeqCst);
                        }
                        break;
                    }
                }
            }
        }
    }
}

/// Hands each event of a round to `on_event` until the workers are done or it fails, which
/// drops the receiver and so stops the workers. With `wake`, a quiet spell that long is an
/// event too.
fn listen(
    receiver: mpsc::Receiver<Event>,
    wake: Option<Duration>,
    on_event: &mut impl FnMut(Event) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    loop {
        let event = match wake {
            Some(wake) => match receiver.recv_timeout(wake) {
                Ok(event) => event,
                Err(mpsc::RecvTimeoutError::Timeout) => Event::Quiet,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            },
            None => match receiver.recv() {
                Ok(event) => event,
                Err(mpsc::RecvError) => return Ok(()),
            },
        };
        on_event(event)?;
    }
}

/// What the workers of one round share.
struct Round<'r> {
    queue: Mutex<VecDeque<Block>>,
    /// Expected wall time of each pair of the round's blocks.
    expected: &'r BTreeMap<(usize, usize), Duration>,
    /// When the run started, and its budget.
    started: Instant,
    budget: Option<Duration>,
    budget_spent: AtomicBool,
}

impl Round<'_> {
    fn next_block(&self) -> Option<Block> {
        self.queue.lock().expect("no panics while held").pop_front()
    }

    /// Whether the block can finish within the budget, by its expected wall time.
    fn fits(&self, test: usize, runtimes: &[usize]) -> bool {
        let needed = runtimes.iter().fold(Duration::ZERO, |sum, r| {
            sum.saturating_add(self.expected[&(test, *r)])
        });
        round_policy::ends_within(self.started.elapsed(), needed, self.budget)
    }

    /// When a sample still running is abandoned: the end of the budget.
    fn deadline(&self) -> Option<Instant> {
        self.budget
            .and_then(|budget| self.started.checked_add(budget))
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
        .flat_map(|block| block.runtimes.iter().map(move |r| (block.test, *r)))
        .map(|pair| {
            let ms = stats::median(&states[&pair].wall_ms).unwrap_or(0.0);
            let wall = round_policy::wall_from_seconds(ms / 1000.0);
            (pair, wall)
        })
        .collect()
}

fn update(state: &mut PairState, sample: &Sample) {
    match sample.ok_value() {
        Some(value) => {
            state.values.insert(sample.round, value);
        }
        None if sample.disturbed() => state.disturbed += 1,
        None => state.failures += 1,
    }
    state.wall_ms.push(sample.wall_ms);
}

mod progress;

#[cfg(test)]
mod tests;
