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

use super::adapter::Runtime;
use super::execute::Outcome;
use super::executor::{Executor, Limits};
use crate::build::Suite;
use crate::config::DisturbanceConfig;
use crate::model::{Sample, TestModule};
use crate::stats;
use crate::stats::stopping::Stopping;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// Failed samples after which a runtime does not run a test again.
const FAILURES_TO_CLOSE: usize = 2;

/// How often a log that is not a terminal gets a progress line: often enough that a CI job
/// does not look hung, seldom enough that a ten-minute run stays a screenful.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// How long the scheduler waits on the workers before it looks at the clock anyway, so a
/// sample that lasts minutes does not hold the next progress line back.
const LOG_WAKE: Duration = Duration::from_secs(1);

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

/// A sample as a worker hands it over: its (test, runtime) pair, round, core and outcome.
type Measured = ((usize, usize), u32, Option<usize>, Outcome);

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
        let deadline = self.schedule.budget.map(|b| started + b);
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
            let outcome = self.run_round(blocks, &expected, deadline, wake, |event| {
                if let Event::Started(worker, pair) = &event {
                    shown.in_flight.insert(*worker, *pair);
                }
                let Event::Measured(worker, (pair, round, core, outcome)) = event else {
                    self.log_progress(&mut shown, round, &expected, &states);
                    return Ok(());
                };
                shown.in_flight.remove(&worker);
                let mut sample = self.sample(pair, core, outcome, round, order);
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
            left: self.time_left(&pairs, states),
        };
        log.write(&status);
    }

    /// The wall time the round's open pairs still need, at least (to the minimum of samples)
    /// and at most (to the maximum), spread over the workers; `None` before any sample has a
    /// wall time. A pair not yet sampled is taken to last as long as the average pair.
    fn time_left(
        &self,
        pairs: &[(usize, usize)],
        states: &BTreeMap<(usize, usize), PairState>,
    ) -> Option<(Duration, Duration)> {
        let medians: Vec<Option<f64>> = pairs
            .iter()
            .map(|pair| stats::median(&states[pair].wall_ms).filter(|ms| ms.is_finite()))
            .collect();
        let known: Vec<f64> = medians.iter().flatten().copied().collect();
        if known.is_empty() {
            return None;
        }
        let average = known.iter().sum::<f64>() / known.len() as f64;
        let stopping = &self.schedule.stopping;
        let (mut least_ms, mut most_ms) = (0.0, 0.0);
        for (pair, median) in pairs.iter().zip(&medians) {
            let taken = states[pair].taken();
            let ms = median.unwrap_or(average).max(0.0);
            least_ms += ms * (stopping.min_samples as usize).saturating_sub(taken) as f64;
            most_ms += ms * (stopping.max_samples as usize).saturating_sub(taken) as f64;
        }
        let workers = self.schedule.cores.len().max(1) as f64;
        let spread = |ms: f64| Duration::try_from_secs_f64(ms / 1000.0 / workers).ok();
        Some((spread(least_ms)?, spread(most_ms)?))
    }

    /// The blocks that run next, and how many rounds they span: each open test with its
    /// runtimes, both in a shuffled order. While fewer tests are open than there are workers
    /// (the last rounds, where the tests that look changed are sampled on), each test also
    /// gets the blocks of the next rounds, as far as the rule could ask for them
    /// (`Stopping::rounds_for`), so every worker takes a pair rather than wait for one
    /// worker's: the pairs a verdict needs come sooner.
    fn blocks(
        &self,
        round: u32,
        states: &BTreeMap<(usize, usize), PairState>,
    ) -> (Vec<Block>, u32) {
        let open: Vec<(usize, Vec<usize>, usize)> = (0..self.tests.len())
            .filter_map(|test| {
                let (runtimes, taken) = self.open_runtimes(test, states)?;
                Some((test, runtimes, taken))
            })
            .collect();
        let at_once = rounds_at_once(self.schedule.cores.len(), open.len()) as usize;
        let mut blocks = Vec::new();
        let mut spanned = 1;
        for (test, runtimes, taken) in open {
            let disturbed = (runtimes.iter())
                .map(|r| states[&(test, *r)].disturbed)
                .max()
                .unwrap_or(0);
            let room = self.disturbed_cap().saturating_sub(disturbed);
            let rounds = (self.schedule.stopping).rounds_for(taken, at_once, room);
            spanned = spanned.max(rounds);
            blocks.extend((round..).take(rounds).map(|round| Block {
                round,
                test,
                runtimes: runtimes.clone(),
            }));
        }
        self.shuffle(&mut blocks);
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

    fn sample(
        &self,
        (test, runtime): (usize, usize),
        core: Option<usize>,
        outcome: Outcome,
        round: u32,
        order: u64,
    ) -> Sample {
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
        deadline: Option<Instant>,
        wake: Option<Duration>,
        mut on_event: impl FnMut(Event) -> anyhow::Result<()>,
    ) -> anyhow::Result<Option<Ending>> {
        let round = Round {
            queue: Mutex::new(VecDeque::from(blocks)),
            expected,
            deadline,
            budget_spent: AtomicBool::new(false),
        };
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            for (worker, core) in self.schedule.cores.iter().enumerate() {
                let sender = sender.clone();
                let round = &round;
                scope.spawn(move || self.work((worker, *core), round, &sender));
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
        (worker, core): (usize, Option<usize>),
        round: &Round,
        sender: &mpsc::Sender<Event>,
    ) {
        let limits = Limits {
            core,
            timeout: self.schedule.timeout,
            abandon_at: round.deadline,
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
                        let measured = ((test, runtime), block_round, core, outcome);
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

    /// Plain lines on stderr where the bar is not drawn: a log that is not a terminal.
    fn progress_log(&self) -> Option<ProgressLog<'static>> {
        let wanted = self.schedule.progress && !std::io::stderr().is_terminal();
        wanted.then(|| {
            ProgressLog::new(
                LOG_EVERY,
                LOG_WAKE,
                Box::new(Instant::now),
                Box::new(std::io::stderr()),
            )
        })
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

/// What the run shows as it goes: the bar on a terminal, a line now and then in a log.
struct Shown<'w> {
    bar: ProgressBar,
    log: Option<ProgressLog<'w>>,
    /// The pair each busy worker is sampling, by worker.
    in_flight: BTreeMap<usize, (usize, usize)>,
}

/// Progress as plain lines, for a log that is not a terminal (a CI log): there the bar is not
/// drawn, and a run would say nothing between its start and its table. The clock and the
/// writer are a test's to replace.
struct ProgressLog<'w> {
    every: Duration,
    wake: Duration,
    clock: Box<dyn Fn() -> Instant + 'w>,
    out: Box<dyn Write + 'w>,
    started: Instant,
    last: Instant,
}

impl<'w> ProgressLog<'w> {
    fn new(
        every: Duration,
        wake: Duration,
        clock: Box<dyn Fn() -> Instant + 'w>,
        out: Box<dyn Write + 'w>,
    ) -> Self {
        let now = clock();
        ProgressLog {
            every,
            wake,
            clock,
            out,
            started: now,
            last: now,
        }
    }

    /// The run's time so far, when a line is due.
    fn due(&mut self) -> Option<Duration> {
        let now = (self.clock)();
        if now.saturating_duration_since(self.last) < self.every {
            return None;
        }
        self.last = now;
        Some(now.saturating_duration_since(self.started))
    }

    fn write(&mut self, status: &Status) {
        // A log that cannot be written to is no reason to stop measuring.
        let _ = writeln!(self.out, "wasmgate: {status}");
        let _ = self.out.flush();
    }
}

/// What a progress line says.
struct Status<'s> {
    elapsed: Duration,
    budget: Option<Duration>,
    /// Counted from 1, as the bar counts.
    round: u32,
    open: usize,
    /// (test, runtime) of each sample being taken.
    in_flight: Vec<(&'s str, &'s str)>,
    /// What the open tests still need, at least and at most (`Scheduler::time_left`).
    left: Option<(Duration, Duration)>,
}

impl std::fmt::Display for Status<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elapsed = whole_seconds(self.elapsed);
        match self.budget {
            Some(budget) => write!(f, "{elapsed} / {} budget", whole_seconds(budget))?,
            None => write!(f, "{elapsed} elapsed")?,
        }
        let tests = if self.open == 1 { "test" } else { "tests" };
        write!(f, " · round {} · {} {tests} open · ", self.round, self.open)?;
        if self.in_flight.is_empty() {
            write!(f, "between samples")?;
        } else {
            let running: Vec<String> = self
                .in_flight
                .iter()
                .map(|(test, runtime)| format!("{test} on {runtime}"))
                .collect();
            write!(f, "running {}", running.join(", "))?;
        }
        write!(f, " · {}", self.eta())
    }
}

impl Status<'_> {
    /// The time left: the estimate, cut to what the budget leaves, which is a hard bound.
    fn eta(&self) -> String {
        let budget_left = self.budget.map(|b| b.saturating_sub(self.elapsed));
        match (self.left, budget_left) {
            (None, None) => "ETA after the first samples".to_string(),
            (None, Some(cap)) => format!("ETA at most {} (budget)", whole_seconds(cap)),
            (Some((least, _)), Some(cap)) if least >= cap => {
                format!("ETA {} (budget)", whole_seconds(cap))
            }
            (Some((least, most)), cap) => {
                let most = cap.map_or(most, |cap| most.min(cap));
                if whole_seconds(least) == whole_seconds(most) {
                    format!("ETA {}", whole_seconds(least))
                } else {
                    format!("ETA {} to {}", whole_seconds(least), whole_seconds(most))
                }
            }
        }
    }
}

/// "1m 30s": a log line has no use for milliseconds.
fn whole_seconds(duration: Duration) -> String {
    humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string()
}

/// What the workers of one round share.
struct Round<'r> {
    queue: Mutex<VecDeque<Block>>,
    /// Expected wall time of each pair of the round's blocks.
    expected: &'r BTreeMap<(usize, usize), Duration>,
    deadline: Option<Instant>,
    budget_spent: AtomicBool,
}

impl Round<'_> {
    fn next_block(&self) -> Option<Block> {
        self.queue.lock().expect("no panics while held").pop_front()
    }

    /// Whether the block can finish before the deadline, by its expected wall time.
    fn fits(&self, test: usize, runtimes: &[usize]) -> bool {
        let needed = runtimes.iter().fold(Duration::ZERO, |sum, r| {
            sum.saturating_add(self.expected[&(test, *r)])
        });
        self.deadline.is_none_or(|d| {
            Instant::now()
                .checked_add(needed)
                .is_some_and(|end| end <= d)
        })
    }
}

/// How many rounds run at once: one, unless fewer tests are open than there are workers; then
/// as many as keep every worker busy (each open test once per round).
pub fn rounds_at_once(workers: usize, open: usize) -> u32 {
    u32::try_from(workers / open.max(1)).map_or(1, |rounds| rounds.max(1))
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
            // A resumed journal's wall times are input: one too large to be a duration never
            // fits a budget, and one that is negative or not a number tells nothing.
            let wall = Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(if ms > 0.0 {
                Duration::MAX
            } else {
                Duration::ZERO
            });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SampleStatus;
    use crate::run::fake_executor::{
        FakeExecutor, Span, Step, exactly, most_at_once, schedule, suite, tests,
    };
    use std::collections::BTreeSet;

    /// What a scheduler runs on: fixture tests and runtimes, a schedule, a stop flag.
    struct Bench {
        suite: Suite,
        tests: Vec<TestModule>,
        runtimes: Vec<Runtime>,
        schedule: Schedule,
        stop: AtomicBool,
    }

    impl Bench {
        fn new(tests_named: &[&str], runtimes_named: &[&str], stopping: Stopping) -> Bench {
            let suite = suite();
            Bench {
                tests: tests(&suite, tests_named),
                suite,
                runtimes: runtimes_named
                    .iter()
                    .map(|name| Runtime::for_tests(name))
                    .collect(),
                schedule: schedule(stopping),
                stop: AtomicBool::new(false),
            }
        }

        fn scheduler<'b>(&'b self, executor: &'b dyn Executor) -> Scheduler<'b> {
            Scheduler {
                suite: &self.suite,
                runtimes: &self.runtimes,
                tests: &self.tests,
                schedule: &self.schedule,
                stop: &self.stop,
                executor,
            }
        }

        fn run(&self, executor: &dyn Executor, earlier: &[Sample]) -> (Ending, Vec<Sample>) {
            self.run_logging(executor, earlier, None)
        }

        fn run_logging(
            &self,
            executor: &dyn Executor,
            earlier: &[Sample],
            log: Option<ProgressLog>,
        ) -> (Ending, Vec<Sample>) {
            let mut samples = Vec::new();
            let ending = self
                .scheduler(executor)
                .run_logging(
                    earlier,
                    |sample| {
                        samples.push(sample);
                        Ok(())
                    },
                    log,
                )
                .unwrap();
            (ending, samples)
        }
    }

    fn of<'s>(samples: &'s [Sample], test: &str, runtime: &str) -> Vec<&'s Sample> {
        samples
            .iter()
            .filter(|s| s.test == test && s.runtime == runtime)
            .collect()
    }

    fn steady(_: &str, _: &str, _: usize) -> Step {
        Step::Value(1000)
    }

    #[test]
    fn the_budget_ends_the_run_between_whole_blocks() {
        let mut bench = Bench::new(&["sign", "hash", "hash2"], &["a", "b"], exactly(10_000));
        bench.schedule.budget = Some(Duration::from_millis(150));
        bench.schedule.cores = vec![None, None];
        // Samples report far more wall time than they take, so a block that the budget lets
        // start always ends in time, however loaded the machine running the test.
        let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(1), 20.0);
        let started = Instant::now();
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::BudgetSpent);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(
            samples.len() >= 6,
            "round 0 has no estimate yet: it runs whole"
        );
        assert_eq!(fake.calls().len(), samples.len(), "no sample was abandoned");
        let mut blocks: BTreeMap<(&str, u32), BTreeSet<&str>> = BTreeMap::new();
        for sample in &samples {
            blocks
                .entry((&sample.test, sample.round))
                .or_default()
                .insert(&sample.runtime);
        }
        for (block, runtimes) in blocks {
            assert_eq!(runtimes, BTreeSet::from(["a", "b"]), "{block:?}");
        }
    }

    #[test]
    fn a_sample_cut_by_the_deadline_is_not_recorded() {
        let mut bench = Bench::new(&["sign"], &["a"], exactly(3));
        bench.schedule.budget = Some(Duration::from_millis(30));
        let fake = FakeExecutor::new(steady).pausing(Duration::from_secs(5), 1.0);
        let started = Instant::now();
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::BudgetSpent);
        assert!(samples.is_empty());
        assert_eq!(fake.calls().len(), 1);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn absurd_wall_times_of_a_resumed_run_do_not_panic() {
        let mut bench = Bench::new(&["sign", "hash"], &["a"], exactly(2));
        bench.schedule.budget = Some(Duration::from_secs(60));
        let (_, mut earlier) = bench.run(&FakeExecutor::new(steady), &[]);
        earlier.truncate(2);
        earlier[0].wall_ms = 1e300;
        earlier[1].wall_ms = -1.0;
        bench.schedule.stopping = exactly(3);
        let fake = FakeExecutor::new(steady);
        let (ending, resumed) = bench.run(&fake, &earlier);
        assert_eq!(ending, Ending::BudgetSpent);
        let never_fits = &earlier[0].test;
        assert!(resumed.iter().all(|s| &s.test != never_fits));
        assert!(!resumed.is_empty(), "the other test runs on");
    }

    #[test]
    fn a_hang_is_a_timeout_sample_and_the_run_goes_on() {
        let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
        let fake = FakeExecutor::new(|test, runtime, nth| match (test, runtime, nth) {
            ("hash", "a", 0) => Step::Hang,
            _ => Step::Value(1000),
        });
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        let hung = of(&samples, "hash", "a");
        assert_eq!(hung.len(), 3);
        assert_eq!(hung[0].status, SampleStatus::Timeout);
        assert_eq!(hung[0].wall_ms, 1000.0);
        let message = hung[0].message.as_deref().unwrap();
        assert!(message.contains("timed out after 1 s"), "{message}");
        assert!(hung[1..].iter().all(|s| s.status == SampleStatus::Ok));
        for (test, runtime) in [("sign", "a"), ("sign", "b"), ("hash", "b")] {
            assert_eq!(of(&samples, test, runtime).len(), 3, "{test} on {runtime}");
        }
    }

    #[test]
    fn a_crash_is_a_failed_sample_with_its_message() {
        let bench = Bench::new(&["sign"], &["a", "b"], exactly(3));
        let fake = FakeExecutor::new(|_, runtime, nth| match (runtime, nth) {
            ("b", 1) => Step::Crash("wasm trap: unreachable\n"),
            _ => Step::Value(1000),
        });
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        let crashed = of(&samples, "sign", "b");
        assert_eq!(crashed.len(), 3, "one failure does not close the test");
        assert_eq!(crashed[1].status, SampleStatus::Failed);
        assert_eq!(crashed[1].exit_code, Some(134));
        assert_eq!(crashed[1].value_ps, None);
        let message = crashed[1].message.as_deref().unwrap();
        assert!(message.contains("exit status 134"), "{message}");
        assert!(message.contains("wasm trap: unreachable"), "{message}");
    }

    #[test]
    fn two_failures_close_a_test_for_that_runtime_only() {
        let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(4));
        let fake = FakeExecutor::new(|test, runtime, _| match (test, runtime) {
            ("sign", "b") => Step::Crash("abort"),
            _ => Step::Value(1000),
        });
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        let failed = of(&samples, "sign", "b");
        assert_eq!(failed.len(), FAILURES_TO_CLOSE);
        assert!(failed.iter().all(|s| s.status == SampleStatus::Failed));
        for (test, runtime) in [("sign", "a"), ("hash", "a"), ("hash", "b")] {
            let taken = of(&samples, test, runtime);
            assert_eq!(taken.len(), 4, "{test} on {runtime}");
            assert!(taken.iter().all(|s| s.status == SampleStatus::Ok));
        }
    }

    /// The spans of a run of every fixture test on two runtimes, two rounds, on one worker per
    /// core of `cores`. Each sample lasts 5 ms: long enough that workers started together
    /// overlap, short enough that the run takes well under a second.
    fn spans_on(cores: &[usize]) -> Vec<Span> {
        let every = ["sign", "hash", "hash2", "misuse", "aead_aegis256"];
        let mut bench = Bench::new(&every, &["a", "b"], exactly(2));
        bench.schedule.cores = cores.iter().map(|c| Some(*c)).collect();
        let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(5), 5.0);
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        assert_eq!(samples.len(), 20);
        fake.spans()
    }

    /// The spans of the samples one core took.
    fn on_core(spans: &[Span], core: usize) -> Vec<Span> {
        spans
            .iter()
            .filter(|span| span.core == Some(core))
            .copied()
            .collect()
    }

    #[test]
    fn idle_workers_take_the_next_rounds_of_the_tests_still_open() {
        // One test open on two cores: each worker takes a round of it at the same time, each
        // round's pair back to back on one core, and the test stops at its maximum (5: two
        // rounds at once, twice, then one).
        let mut bench = Bench::new(&["sign"], &["a", "b"], exactly(5));
        bench.schedule.cores = vec![Some(0), Some(1)];
        let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(5), 5.0);
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        assert_eq!(most_at_once(&fake.spans()), 2);
        for runtime in ["a", "b"] {
            let rounds: Vec<u32> = of(&samples, "sign", runtime)
                .iter()
                .map(|s| s.round)
                .collect();
            assert_eq!(rounds.len(), 5, "never beyond the maximum: {rounds:?}");
            assert_eq!(
                rounds.iter().collect::<BTreeSet<_>>().len(),
                5,
                "{rounds:?}"
            );
        }
        for round in 0..5 {
            let cores: BTreeSet<Option<usize>> = (samples.iter())
                .filter(|s| s.round == round)
                .map(|s| s.core)
                .collect();
            assert_eq!(cores.len(), 1, "round {round}'s pair on one core");
        }
        // With as many tests open as workers, a round is one block a test.
        let mut bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
        bench.schedule.cores = vec![Some(0), Some(1)];
        let (_, samples) = bench.run(&FakeExecutor::new(steady), &[]);
        assert_eq!(samples.len(), 2 * 2 * 3);
        assert!(samples.iter().all(|s| s.round < 3));
    }

    #[test]
    fn each_core_runs_a_worker_and_the_workers_sample_at_the_same_time() {
        for cores in [vec![2, 3], vec![1, 2, 3]] {
            let spans = spans_on(&cores);
            assert_eq!(most_at_once(&spans), cores.len(), "cores {cores:?}");
            for &core in &cores {
                let taken = on_core(&spans, core);
                assert!(!taken.is_empty(), "core {core} of {cores:?} took no sample");
                assert_eq!(most_at_once(&taken), 1, "core {core} of {cores:?}");
            }
        }
    }

    #[test]
    fn one_core_never_has_two_samples_at_once() {
        let spans = spans_on(&[3]);
        assert_eq!(most_at_once(&spans), 1);
        assert_eq!(on_core(&spans, 3).len(), spans.len());
    }

    #[test]
    fn a_resumed_run_counts_earlier_samples_and_continues_the_numbering() {
        let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
        // Killed as round 1 begins: the sample in flight is lost, round 0 is kept.
        let killed = FakeExecutor::new(|_, _, nth| match nth {
            0 => Step::Value(1000),
            _ => Step::Interrupt,
        });
        let (ending, earlier) = bench.run(&killed, &[]);
        assert_eq!(ending, Ending::Interrupted);
        assert_eq!(earlier.len(), 4);
        assert!(earlier.iter().all(|s| s.round == 0));

        bench.stop.store(false, Ordering::SeqCst);
        let fake = FakeExecutor::new(steady);
        let (ending, resumed) = bench.run(&fake, &earlier);
        assert_eq!(ending, Ending::Finished);
        assert_eq!(
            resumed.len(),
            8,
            "two more rounds make three with the earlier one"
        );
        let rounds: BTreeSet<u32> = resumed.iter().map(|s| s.round).collect();
        assert_eq!(rounds, BTreeSet::from([1, 2]));
        let orders: Vec<u64> = resumed.iter().map(|s| s.order).collect();
        assert_eq!(orders, (4..12).collect::<Vec<u64>>());
    }

    #[test]
    fn the_stop_flag_ends_the_run_interrupted() {
        let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
        bench.stop.store(true, Ordering::SeqCst);
        let fake = FakeExecutor::new(steady);
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Interrupted);
        assert!(samples.is_empty());
        assert!(fake.calls().is_empty(), "nothing starts once stopped");

        bench.stop.store(false, Ordering::SeqCst);
        let fake = FakeExecutor::new(|test, runtime, nth| match (test, runtime, nth) {
            ("hash", "b", 1) => Step::Interrupt,
            _ => Step::Value(1000),
        });
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Interrupted);
        assert_eq!(
            samples.len(),
            fake.calls().len() - 1,
            "the one in flight is lost"
        );
        assert_eq!(of(&samples, "hash", "b").len(), 1);
    }

    #[test]
    fn a_disturbed_pair_is_measured_again_and_the_new_pair_is_used() {
        let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
        // b's first sign sample had its core taken away: its value is slowed, not measured.
        let fake = FakeExecutor::new(|test, runtime, nth| match (test, runtime, nth) {
            ("sign", "b", 0) => Step::Disturbed(5000),
            _ => Step::Value(1000),
        });
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        let disturbed = of(&samples, "sign", "b");
        assert_eq!(disturbed.len(), 4, "three values and the disturbed one");
        assert_eq!(disturbed[0].status, SampleStatus::Disturbed);
        assert_eq!(disturbed[0].value_ps, Some(5000), "kept for the record");
        assert_eq!(disturbed[0].run_delay_ms, Some(0.4));
        let message = disturbed[0].message.as_deref().unwrap();
        assert!(message.contains("waited for its core"), "{message}");
        assert!(disturbed[1..].iter().all(|s| s.status == SampleStatus::Ok));
        // a ran a fourth round with b; round 0's a is left unpaired, so three pairs remain,
        // none with the disturbed value.
        let a = of(&samples, "sign", "a");
        assert_eq!(a.len(), 4);
        let by_round = |side: &[&Sample]| -> BTreeMap<u32, f64> {
            side.iter()
                .filter_map(|s| Some((s.round, s.ok_value()?)))
                .collect()
        };
        let pairs = stats::pair_by_round(&by_round(&a), &by_round(&disturbed));
        assert_eq!(pairs, vec![(1000.0, 1000.0); 3]);
        assert_eq!(of(&samples, "hash", "a").len(), 3, "other tests unaffected");
    }

    #[test]
    fn rounds_disturbed_on_either_side_are_made_up_in_pairs() {
        let bench = Bench::new(&["sign"], &["a", "b"], exactly(3));
        // a disturbed in round 0, b in round 1: two rounds give no pair, though each side
        // has a value there. Counting values, the test would end after round 3 with 2 pairs.
        let fake = FakeExecutor::new(|_, runtime, nth| match (runtime, nth) {
            ("a", 0) | ("b", 1) => Step::Disturbed(5000),
            _ => Step::Value(1000),
        });
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        let by_round = |runtime: &str| -> BTreeMap<u32, f64> {
            of(&samples, "sign", runtime)
                .iter()
                .filter_map(|s| Some((s.round, s.ok_value()?)))
                .collect()
        };
        let pairs = stats::pair_by_round(&by_round("a"), &by_round("b"));
        assert_eq!(pairs.len(), 3, "{samples:?}");
        assert_eq!(of(&samples, "sign", "a").len(), 5, "rounds 0 to 4");
    }

    #[test]
    fn a_pair_always_disturbed_closes_at_the_cap_and_says_why() {
        let bench = Bench::new(&["sign"], &["a", "b"], exactly(3));
        let fake = FakeExecutor::new(|_, runtime, _| match runtime {
            "b" => Step::Disturbed(1000),
            _ => Step::Value(1000),
        });
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        let b = of(&samples, "sign", "b");
        assert_eq!(b.len(), 3, "max_samples disturbed samples, then no more");
        assert!(b.iter().all(|s| s.status == SampleStatus::Disturbed));
        let last = b[2].message.as_deref().unwrap();
        assert!(last.contains("3 disturbed samples"), "{last}");
        assert!(last.contains("measures the test no more"), "{last}");
        // a goes on alone to its own three values, as after a failure.
        let a = of(&samples, "sign", "a");
        assert_eq!(a.iter().filter(|s| s.ok_value().is_some()).count(), 3);
    }

    #[test]
    fn with_detection_off_a_disturbed_sample_is_a_value() {
        let mut bench = Bench::new(&["sign"], &["a"], exactly(2));
        bench.schedule.disturbance.enabled = false;
        let fake = FakeExecutor::new(|_, _, _| Step::Disturbed(1000));
        let (_, samples) = bench.run(&fake, &[]);
        assert_eq!(samples.len(), 2);
        assert!(samples.iter().all(|s| s.status == SampleStatus::Ok));
    }

    /// Sign on runtimes a and b, 6 to 12 samples, to 1 %: b's values are a's times `ratio`,
    /// with a wobble of a few per mille.
    fn paired_run(ratio: f64) -> Vec<Sample> {
        let bench = Bench::new(
            &["sign"],
            &["a", "b"],
            Stopping {
                min_samples: 6,
                max_samples: 12,
                precision: 0.01,
                min_effect: 0.02,
                counts: false,
            },
        );
        let fake = FakeExecutor::new(move |_, runtime, nth| {
            let value = 1000.0 + (nth % 3) as f64;
            Step::Value(if runtime == "b" { value * ratio } else { value } as u64)
        });
        let (ending, samples) = bench.run(&fake, &[]);
        assert_eq!(ending, Ending::Finished);
        samples
    }

    #[test]
    fn a_quiet_pair_stops_at_the_minimum() {
        let samples = paired_run(1.0);
        assert_eq!(of(&samples, "sign", "a").len(), 6);
        assert_eq!(of(&samples, "sign", "b").len(), 6);
    }

    #[test]
    fn a_pair_that_looks_changed_goes_on_to_the_maximum() {
        let samples = paired_run(1.1);
        assert_eq!(of(&samples, "sign", "a").len(), 12);
        assert_eq!(of(&samples, "sign", "b").len(), 12);
    }

    /// A clock that moves `step` on at every reading, from an arbitrary start.
    fn ticking(step: Duration) -> Box<dyn Fn() -> Instant> {
        let start = Instant::now();
        let readings = std::cell::Cell::new(0);
        Box::new(move || {
            readings.set(readings.get() + 1);
            start + step * readings.get()
        })
    }

    #[test]
    fn a_log_gets_a_progress_line_every_interval() {
        let mut bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(2));
        bench.schedule.budget = Some(Duration::from_secs(600));
        // Each sample says it took 20 s; the clock moves 10 s each time a sample starts.
        let fake = FakeExecutor::new(steady).pausing(Duration::ZERO, 20_000.0);
        let mut out = Vec::new();
        let wake = Duration::from_secs(3600);
        let log = ProgressLog::new(
            Duration::from_secs(30),
            wake,
            ticking(Duration::from_secs(10)),
            Box::new(&mut out),
        );
        let (ending, samples) = bench.run_logging(&fake, &[], Some(log));
        assert_eq!(ending, Ending::Finished);
        assert_eq!(samples.len(), 8);
        let running = |n: usize| format!("running {} on {}", samples[n].test, samples[n].runtime);
        // At the 3rd start two samples of 20 s are in: 6 to go, on one worker; at the 6th, 3.
        let expected = format!(
            "wasmgate: 30s / 10m budget · round 1 · 2 tests open · {} · ETA 2m\n\
             wasmgate: 1m / 10m budget · round 2 · 2 tests open · {} · ETA 1m\n",
            running(2),
            running(5)
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn a_long_sample_does_not_hold_the_line_back() {
        let bench = Bench::new(&["sign"], &["a"], exactly(1));
        let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(100), 1.0);
        let mut out = Vec::new();
        let wake = Duration::from_millis(5);
        let log = ProgressLog::new(
            Duration::ZERO,
            wake,
            Box::new(Instant::now),
            Box::new(&mut out),
        );
        bench.run_logging(&fake, &[], Some(log));
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines
                .iter()
                .all(|line| line.starts_with("wasmgate: 0s elapsed · round 1 · 1 test open · ")),
            "{text}"
        );
        let while_running = lines
            .iter()
            .filter(|line| line.ends_with("running sign on a · ETA after the first samples"))
            .count();
        assert!(while_running >= 2, "at its start and while it runs: {text}");
    }

    #[test]
    fn lines_go_to_a_stderr_that_is_no_terminal_unless_quiet() {
        let mut bench = Bench::new(&["sign"], &["a"], exactly(1));
        let fake = FakeExecutor::new(steady);
        assert!(bench.scheduler(&fake).progress_log().is_none());
        bench.schedule.progress = true;
        let on_a_terminal = std::io::stderr().is_terminal();
        assert_eq!(
            bench.scheduler(&fake).progress_log().is_none(),
            on_a_terminal
        );
    }

    #[test]
    fn the_eta_is_the_estimate_cut_to_the_budget() {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        let status = |budget: Option<Duration>, left: Option<(Duration, Duration)>| Status {
            elapsed: minutes(2),
            budget,
            round: 1,
            open: 1,
            in_flight: Vec::new(),
            left,
        };
        let eta = |budget, left| status(budget, left).eta();
        assert_eq!(eta(None, None), "ETA after the first samples");
        assert_eq!(eta(Some(minutes(10)), None), "ETA at most 8m (budget)");
        assert_eq!(eta(None, Some((minutes(1), minutes(3)))), "ETA 1m to 3m");
        assert_eq!(
            eta(Some(minutes(10)), Some((minutes(1), minutes(30)))),
            "ETA 1m to 8m"
        );
        assert_eq!(
            eta(Some(minutes(10)), Some((minutes(9), minutes(30)))),
            "ETA 8m (budget)"
        );
        let line = status(None, None).to_string();
        assert_eq!(
            line,
            "2m elapsed · round 1 · 1 test open · between samples · ETA after the first samples"
        );
    }
}
