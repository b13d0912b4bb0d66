//! The scheduler: blocks of the tests still open, handed to each worker the moment it is free
//! by the dispatch policy (`round_policy::Dispatch`: passes over the open tests in a shuffled
//! order, seed recorded, with no barrier between them). A block is one round of one test: its
//! runtimes run back to back, in a shuffled order, on one worker. So the samples of one test
//! and round were taken within a second of each other on the same core, and a same-run
//! comparison can pair them, which cancels the machine's slow drift; the shuffles keep any
//! order effect from favouring one runtime. Rounds are numbered per test.
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
use super::round_policy::{self, Dispatch, OpenTest};
use super::runtime::Runtime;
use crate::build::Suite;
use crate::config::DisturbanceConfig;
use crate::model::{HarnessCost, Sample, TestModule};
use crate::stats;
use crate::stats::stopping::Stopping;
use indicatif::ProgressBar;
use progress::{PairSoFar, ProgressLog, Shown, Status, time_left};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
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

/// What the scheduler hears while the run goes; workers are numbered from 0.
enum Event {
    /// A worker is free for a block: its previous one, if any, has ended.
    Free(usize),
    /// A worker started a sample of this (test, runtime) pair.
    Started(usize, (usize, usize)),
    /// A worker's sample ended.
    Measured(usize, Measured),
    /// A sample was cut at the end of the budget: the budget is spent.
    CutShort,
    /// A worker has ended (also by a panic), and this is how its time went.
    Retired(usize, WorkerTime),
    /// No worker said anything for a while.
    Quiet,
}

/// How one worker's time went.
#[derive(Debug, Default, Clone, Copy)]
struct WorkerTime {
    lived: Duration,
    /// Waiting for a block: nothing was open that it could take.
    waited: Duration,
    /// In samples, by their wall times.
    sampled: Duration,
    samples: usize,
}

/// How a run ended, and what the harness cost meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    pub ending: Ending,
    /// Tests the stopping rule still wanted samples of when the run ended (by the budget or
    /// an interrupt); 0 when every test was settled.
    pub unsettled: usize,
    /// Tests the run measured.
    pub tests: usize,
    /// `None` when no sample was taken.
    pub harness: Option<HarnessCost>,
}

/// What the scheduler keeps while the run goes.
struct Progress {
    states: BTreeMap<(usize, usize), PairState>,
    dispatch: Dispatch,
    /// Per test, the round its next block takes.
    next_round: Vec<u32>,
    /// The next sample's place in the run's order.
    order: u64,
    /// Per worker, the test of the block it runs.
    busy: Vec<Option<usize>>,
    /// Workers waiting for a block.
    free: Vec<usize>,
    /// Workers that have ended.
    retired: usize,
    times: Vec<WorkerTime>,
}

impl Scheduler<'_> {
    /// Hands out blocks until every test is done; every sample goes to `record` as it is
    /// measured. `earlier` holds the samples of a resumed run, which count towards every
    /// test's state.
    pub fn run(
        &self,
        earlier: &[Sample],
        record: impl FnMut(Sample) -> anyhow::Result<()>,
    ) -> anyhow::Result<Ran> {
        self.run_logging(earlier, record, self.progress_log())
    }

    /// `run`, with progress lines going to `log` (if any) rather than where `run` sends them.
    fn run_logging(
        &self,
        earlier: &[Sample],
        mut record: impl FnMut(Sample) -> anyhow::Result<()>,
        log: Option<ProgressLog>,
    ) -> anyhow::Result<Ran> {
        let started = Instant::now();
        let cpu_before = own_cpu();
        let mut progress = self.progress_of(earlier);
        let wake = log.as_ref().map(|log| log.wake);
        let mut shown = Shown {
            bar: self.progress_bar(),
            log,
            in_flight: BTreeMap::new(),
        };
        let (events, heard) = mpsc::channel();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let mut assign = Vec::new();
            for (worker, core) in self.schedule.cores.iter().enumerate() {
                let (give, take) = mpsc::channel();
                assign.push(give);
                let events = events.clone();
                scope.spawn(move || self.work(worker, *core, started, &take, &events));
            }
            drop(events);
            let mut on_event = |event, progress: &mut Progress| {
                self.on_event(event, progress, &mut shown, started, &mut record)
            };
            self.coordinate(&mut progress, assign, &heard, wake, started, &mut on_event)
        })?;
        shown.bar.finish_and_clear();
        let ending = if self.stop.load(Ordering::SeqCst) {
            Ending::Interrupted
        } else if progress.dispatch.budget_spent {
            Ending::BudgetSpent
        } else {
            Ending::Finished
        };
        let cpu = own_cpu().saturating_sub(cpu_before);
        let unsettled = (0..self.tests.len())
            .filter(|&test| self.open_test(test, &progress.states).is_some())
            .count();
        Ok(Ran {
            ending,
            unsettled,
            tests: self.tests.len(),
            harness: harness_cost(&progress.times, cpu),
        })
    }

    /// Hands each free worker a block, and hears what the workers do, until no block is left
    /// and every worker has ended (or `on_event` fails, which drops the channels and so stops
    /// the workers after their sample).
    fn coordinate(
        &self,
        progress: &mut Progress,
        mut assign: Vec<mpsc::Sender<Block>>,
        heard: &mpsc::Receiver<Event>,
        wake: Option<Duration>,
        started: Instant,
        on_event: &mut impl FnMut(Event, &mut Progress) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        loop {
            let event = match wake {
                Some(wake) => match heard.recv_timeout(wake) {
                    Ok(event) => event,
                    Err(mpsc::RecvTimeoutError::Timeout) => Event::Quiet,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
                },
                None => match heard.recv() {
                    Ok(event) => event,
                    Err(mpsc::RecvError) => return Ok(()),
                },
            };
            on_event(event, progress)?;
            if assign.is_empty() {
                continue;
            }
            while let Some(&worker) = progress.free.last() {
                let Some(block) = self.hand_out(progress, started) else {
                    break;
                };
                progress.busy[worker] = Some(block.test);
                progress.free.pop();
                // A worker that is gone ended with an error its thread reports.
                let _ = assign[worker].send(block);
            }
            if progress.free.len() + progress.retired == assign.len() {
                // Every worker is free (or gone) and nothing is left to run: closing their
                // channels ends them.
                assign.clear();
            }
        }
    }

    /// What an event changes: a free worker, a sample recorded, the budget spent, the
    /// progress shown.
    fn on_event(
        &self,
        event: Event,
        progress: &mut Progress,
        shown: &mut Shown,
        started: Instant,
        record: &mut impl FnMut(Sample) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match event {
            Event::Free(worker) => {
                if let Some(test) = progress.busy[worker].take() {
                    progress.dispatch.ended(test);
                }
                progress.free.push(worker);
            }
            Event::Started(worker, pair) => {
                shown.in_flight.insert(worker, pair);
                self.log_progress(shown, progress);
            }
            Event::Measured(worker, measured) => {
                shown.in_flight.remove(&worker);
                let pair = measured.pair;
                let mut sample = self.sample(measured, progress.order);
                progress.order += 1;
                let state = progress.states.get_mut(&pair).expect("known pair");
                update(state, &sample);
                self.say_if_closed_by_disturbance(state, &mut sample);
                let open = (0..self.tests.len())
                    .filter(|&test| !progress.dispatch.is_done(test))
                    .count();
                shown.bar.set_message(format!(
                    "pass {} · {open} tests open · {} on {}",
                    progress.dispatch.pass(),
                    sample.test,
                    sample.runtime
                ));
                shown.bar.set_position(started.elapsed().as_secs());
                record(sample)?;
            }
            Event::CutShort => progress.dispatch.budget_spent = true,
            Event::Retired(worker, time) => {
                // A worker that ended while busy panicked: its block is over all the same,
                // and the panic is raised when the workers are joined.
                if let Some(test) = progress.busy[worker].take() {
                    progress.dispatch.ended(test);
                }
                progress.free.retain(|&free| free != worker);
                progress.retired += 1;
                progress.times.push(time);
            }
            Event::Quiet => self.log_progress(shown, progress),
        }
        Ok(())
    }

    /// The next block for a free worker, by the dispatch policy: its test, its round, and
    /// its runtimes still measuring, in a shuffled order. `None`: nothing can start now.
    fn hand_out(&self, progress: &mut Progress, started: Instant) -> Option<Block> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        let states = &progress.states;
        let open = |test| self.open_test(test, states);
        // Asked only of a test the rule keeps open: its runtimes are those still measuring.
        let fits = |test| {
            let needed = (self.usable_runtimes(test, states).iter())
                .fold(Duration::ZERO, |sum, r| {
                    sum.saturating_add(expected_wall(&states[&(test, *r)]))
                });
            round_policy::ends_within(started.elapsed(), needed, self.schedule.budget)
        };
        let stopping = &self.schedule.stopping;
        let bounds = round_policy::Blocks {
            least: stopping.least_blocks(),
            most: stopping.most_blocks(),
        };
        let test = progress.dispatch.next(open, bounds, fits)?;
        let mut runtimes = self.usable_runtimes(test, states);
        let round = progress.next_round[test];
        progress.next_round[test] += 1;
        let mut rng = fastrand::Rng::with_seed(
            self.schedule.seed
                ^ (test as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ u64::from(round).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        );
        rng.shuffle(&mut runtimes);
        Some(Block {
            round,
            test,
            runtimes,
        })
    }

    /// The state a run starts from: every pair's samples so far (a resumed run's), each
    /// test's next round, and the dispatch's next pass.
    fn progress_of(&self, earlier: &[Sample]) -> Progress {
        let mut next_round = vec![0u32; self.tests.len()];
        for sample in earlier {
            if let Some(test) = self.tests.iter().position(|t| t.name == sample.test) {
                next_round[test] = next_round[test].max(sample.round.saturating_add(1));
            }
        }
        let first_pass = next_round.iter().copied().max().unwrap_or(0);
        Progress {
            states: self.initial_states(earlier),
            dispatch: Dispatch::new(self.tests.len(), self.schedule.seed, u64::from(first_pass)),
            next_round,
            order: earlier.iter().map(|s| s.order + 1).max().unwrap_or(0),
            busy: vec![None; self.schedule.cores.len()],
            free: Vec::new(),
            retired: 0,
            times: Vec::new(),
        }
    }

    /// Writes a progress line to the log when one is due.
    fn log_progress(&self, shown: &mut Shown, progress: &Progress) {
        let Shown { log, in_flight, .. } = shown;
        let Some(log) = log else { return };
        let Some(elapsed) = log.due() else { return };
        let open: Vec<usize> = (0..self.tests.len())
            .filter(|&test| !progress.dispatch.is_done(test))
            .collect();
        let so_far: Vec<PairSoFar> = (progress.states.iter())
            .filter(|((test, _), _)| open.contains(test))
            .map(|(_, state)| PairSoFar {
                median_wall_ms: stats::median(&state.wall_ms),
                taken: state.taken(),
            })
            .collect();
        let status = Status {
            elapsed,
            budget: self.schedule.budget,
            round: u32::try_from(progress.dispatch.pass()).unwrap_or(u32::MAX),
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

    /// The test as the dispatch sees it: its samples (or pairs) so far and the blocks its
    /// runtimes may yet be disturbed in, or `None` when it is done.
    fn open_test(
        &self,
        test: usize,
        states: &BTreeMap<(usize, usize), PairState>,
    ) -> Option<OpenTest> {
        let (runtimes, taken) = self.open_runtimes(test, states)?;
        let disturbed = (runtimes.iter())
            .map(|r| states[&(test, *r)].disturbed)
            .max()
            .unwrap_or(0);
        let room = self.disturbed_cap().saturating_sub(disturbed);
        Some(OpenTest { taken, room })
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

    /// The runtimes that still measure `test`: neither failed nor disturbed out of it.
    fn usable_runtimes(
        &self,
        test: usize,
        states: &BTreeMap<(usize, usize), PairState>,
    ) -> Vec<usize> {
        (0..self.runtimes.len())
            .filter(|r| !states[&(test, *r)].closed(self.disturbed_cap()))
            .collect()
    }

    /// The runtimes that run the test's next block and the samples (or pairs) it has taken,
    /// or `None` when the test is done.
    fn open_runtimes(
        &self,
        test: usize,
        states: &BTreeMap<(usize, usize), PairState>,
    ) -> Option<(Vec<usize>, usize)> {
        let usable = self.usable_runtimes(test, states);
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

    /// One worker: tells the scheduler it is free, runs the block it is given, and again,
    /// until its channel closes (nothing is left, or the run failed); then says how its time
    /// went.
    fn work(
        &self,
        worker: usize,
        core: Option<usize>,
        started: Instant,
        blocks: &mpsc::Receiver<Block>,
        events: &mpsc::Sender<Event>,
    ) {
        let limits = Limits {
            core,
            timeout: self.schedule.timeout,
            abandon_at: (self.schedule.budget).and_then(|budget| started.checked_add(budget)),
            stop: self.stop,
            disturbance: self.schedule.disturbance,
        };
        let mut retiring = Retiring {
            worker,
            events,
            born: Instant::now(),
            time: WorkerTime::default(),
        };
        loop {
            if events.send(Event::Free(worker)).is_err() {
                break;
            }
            let asked = Instant::now();
            let given = blocks.recv();
            retiring.time.waited += asked.elapsed();
            let Ok(block) = given else { break };
            if !self.run_block(worker, &limits, block, events, &mut retiring.time) {
                break;
            }
        }
    }

    /// Runs a block's samples back to back; `false` when the scheduler no longer listens.
    fn run_block(
        &self,
        worker: usize,
        limits: &Limits,
        block: Block,
        events: &mpsc::Sender<Event>,
        time: &mut WorkerTime,
    ) -> bool {
        for runtime in block.runtimes {
            if self.stop.load(Ordering::SeqCst) {
                return true;
            }
            let pair = (block.test, runtime);
            if events.send(Event::Started(worker, pair)).is_err() {
                return false;
            }
            let (test, runtime_used) = (&self.tests[block.test], &self.runtimes[runtime]);
            let Some(outcome) = self.executor.sample(self.suite, test, runtime_used, limits) else {
                // Stopped or out of budget: a partial run is not a sample. A sample that
                // outlasts its estimate can be cut so, leaving the samples before it in the
                // block unpaired: the budget is a hard bound.
                if !self.stop.load(Ordering::SeqCst) {
                    let _ = events.send(Event::CutShort);
                }
                return true;
            };
            time.samples += 1;
            time.sampled += round_policy::wall_from_seconds(outcome.wall_ms / 1000.0);
            let measured = Measured {
                pair,
                round: block.round,
                core: limits.core,
                outcome,
            };
            if events.send(Event::Measured(worker, measured)).is_err() {
                return false;
            }
        }
        true
    }
}

/// Tells the scheduler that its worker ended, when the worker's thread leaves `work`, by a
/// return or a panic: the scheduler then no longer waits for it.
struct Retiring<'e> {
    worker: usize,
    events: &'e mpsc::Sender<Event>,
    born: Instant,
    time: WorkerTime,
}

impl Drop for Retiring<'_> {
    fn drop(&mut self) {
        self.time.lived = self.born.elapsed();
        let _ = self.events.send(Event::Retired(self.worker, self.time));
    }
}

/// The harness's cost per sample: each worker's time outside its samples and its waits for a
/// block, and wasmgate's own CPU time (`cpu`), over the samples taken.
fn harness_cost(times: &[WorkerTime], cpu: Duration) -> Option<HarnessCost> {
    let samples: usize = times.iter().map(|t| t.samples).sum();
    if samples == 0 {
        return None;
    }
    let outside: Duration = (times.iter())
        .map(|t| t.lived.saturating_sub(t.waited).saturating_sub(t.sampled))
        .sum();
    let per_sample = |total: Duration| total.as_secs_f64() * 1000.0 / samples as f64;
    Some(HarnessCost {
        samples,
        wall_ms_per_sample: per_sample(outside),
        cpu_ms_per_sample: per_sample(cpu),
    })
}

/// The CPU time wasmgate's own threads have used (its children's not included).
#[allow(unsafe_code)]
fn own_cpu() -> Duration {
    // SAFETY: rusage is a plain C struct of integers, for which all zeroes is a valid value,
    // and getrusage writes only into the local it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Expected wall time of a pair's next sample (the median so far), so the budget never starts
/// a block it cannot finish.
fn expected_wall(state: &PairState) -> Duration {
    let ms = stats::median(&state.wall_ms).unwrap_or(0.0);
    round_policy::wall_from_seconds(ms / 1000.0)
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
