//! What a run shows as it goes: the bar on a terminal, and on a log that is not one (a CI log)
//! a plain line every `LOG_EVERY` with the round, the open tests, the samples in flight and the
//! time left.

use crate::stats::stopping::Stopping;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a log that is not a terminal gets a progress line: often enough that a CI job
/// does not look hung, seldom enough that a ten-minute run stays a screenful.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// How long the scheduler waits on the workers before it looks at the clock anyway, so a
/// sample that lasts minutes does not hold the next progress line back.
const LOG_WAKE: Duration = Duration::from_secs(1);

/// What the time left is reckoned from, for one open (test, runtime) pair.
pub(super) struct PairSoFar {
    /// The median wall time of its samples so far, if any.
    pub median_wall_ms: Option<f64>,
    /// Its samples (or pairs) so far.
    pub taken: usize,
}

/// The wall time the round's open pairs still need, at least (to the minimum of samples)
/// and at most (to the maximum), spread over the workers; `None` before any sample has a
/// wall time. A pair not yet sampled is taken to last as long as the average pair.
pub(super) fn time_left(
    pairs: &[PairSoFar],
    stopping: &Stopping,
    workers: usize,
) -> Option<(Duration, Duration)> {
    let medians: Vec<Option<f64>> = (pairs.iter())
        .map(|pair| pair.median_wall_ms.filter(|ms| ms.is_finite()))
        .collect();
    let known: Vec<f64> = medians.iter().flatten().copied().collect();
    if known.is_empty() {
        return None;
    }
    let average = known.iter().sum::<f64>() / known.len() as f64;
    let (mut least_ms, mut most_ms) = (0.0, 0.0);
    for (pair, median) in pairs.iter().zip(&medians) {
        let ms = median.unwrap_or(average).max(0.0);
        least_ms += ms * (stopping.min_samples as usize).saturating_sub(pair.taken) as f64;
        most_ms += ms * (stopping.max_samples as usize).saturating_sub(pair.taken) as f64;
    }
    let workers = workers.max(1) as f64;
    let spread = |ms: f64| Duration::try_from_secs_f64(ms / 1000.0 / workers).ok();
    Some((spread(least_ms)?, spread(most_ms)?))
}

/// Plain lines on stderr where the bar is not drawn: a log that is not a terminal.
pub(super) fn stderr_log_unless_terminal() -> Option<ProgressLog<'static>> {
    (!std::io::stderr().is_terminal()).then(|| {
        ProgressLog::new(
            LOG_EVERY,
            LOG_WAKE,
            Box::new(Instant::now),
            Box::new(std::io::stderr()),
        )
    })
}

/// The bar of a run on a terminal: it fills with the budget, whose end is the latest the run
/// can finish; a spinner when there is no budget.
pub(super) fn bar(budget: Option<Duration>) -> ProgressBar {
    match budget {
        Some(budget) => ProgressBar::new(budget.as_secs().max(1)).with_style(
            ProgressStyle::with_template("{bar:30} {elapsed}/{len}s budget · {msg}")
                .expect("static template"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {elapsed} · {msg}").expect("static template"),
        ),
    }
}

/// What the run shows as it goes: the bar on a terminal, a line now and then in a log.
pub(super) struct Shown<'w> {
    pub(super) bar: ProgressBar,
    pub(super) log: Option<ProgressLog<'w>>,
    /// The pair each busy worker is sampling, by worker.
    pub(super) in_flight: BTreeMap<usize, (usize, usize)>,
}

/// Progress as plain lines, for a log that is not a terminal (a CI log): there the bar is not
/// drawn, and a run would say nothing between its start and its table. The clock and the
/// writer are a test's to replace.
pub(super) struct ProgressLog<'w> {
    pub(super) every: Duration,
    pub(super) wake: Duration,
    pub(super) clock: Box<dyn Fn() -> Instant + 'w>,
    pub(super) out: Box<dyn Write + 'w>,
    pub(super) started: Instant,
    pub(super) last: Instant,
}

impl<'w> ProgressLog<'w> {
    pub(super) fn new(
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
    pub(super) fn due(&mut self) -> Option<Duration> {
        let now = (self.clock)();
        if now.saturating_duration_since(self.last) < self.every {
            return None;
        }
        self.last = now;
        Some(now.saturating_duration_since(self.started))
    }

    pub(super) fn write(&mut self, status: &Status) {
        // A log that cannot be written to is no reason to stop measuring.
        let _ = writeln!(self.out, "wasmgate: {status}");
        let _ = self.out.flush();
    }
}

/// What a progress line says.
pub(super) struct Status<'s> {
    pub(super) elapsed: Duration,
    pub(super) budget: Option<Duration>,
    /// InstructionsExecutor from 1, as the bar counts.
    pub(super) round: u32,
    pub(super) open: usize,
    /// (test, runtime) of each sample being taken.
    pub(super) in_flight: Vec<(&'s str, &'s str)>,
    /// What the open tests still need, at least and at most (`Scheduler::time_left`).
    pub(super) left: Option<(Duration, Duration)>,
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
    pub(super) fn eta(&self) -> String {
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
pub(super) fn whole_seconds(duration: Duration) -> String {
    humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string()
}
