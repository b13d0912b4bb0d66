//! A scripted executor for tests: each (test, runtime) sample is what a script says, so the
//! scheduler's paths (budget, failures, resume, interrupt, the stopping rule) are tested
//! without processes. Outcomes go through `execute::judge`, as a real process's would. Each
//! sample's span in real time is recorded, so a test can see which samples ran at once.

use super::execute::{ProcessOutcome, Usage, flag_disturbance, judge, timed_out};
use super::executor::{Executor, Limits};
use super::runtime::Runtime;
use crate::build::Suite;
use crate::model::TestModule;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What one scripted sample does.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptedStep {
    /// Prints this many picoseconds per iteration and exits 0.
    Value(u64),
    /// Aborts (exit status 134) with this on stderr.
    Crash(&'static str),
    /// Runs past its timeout.
    Hang,
    /// Ctrl-C arrives while this sample runs.
    Interrupt,
    /// Prints this many picoseconds per iteration, but waited for its core 40 % of its wall
    /// time: disturbed, when the schedule's detection is on.
    Disturbed(u64),
}

/// The share of its wall time a `ScriptedStep::Disturbed` sample waits for its core.
pub const DISTURBED_WAIT_SHARE: f64 = 0.4;

/// Runs `script(test, runtime, n)` for the `n`th sample (from 0) of each (test, runtime).
pub struct FakeExecutor<S> {
    script: S,
    /// How long each sample takes, in real time: budget tests need time to pass.
    pause: Duration,
    /// The wall time each sample reports, which the budget uses as its estimate.
    wall_ms: f64,
    /// A test whose samples last this long instead.
    slower: Option<(&'static str, Duration)>,
    calls: Mutex<Vec<(String, String)>>,
    spans: Mutex<Vec<Span>>,
}

/// When one sample ran, in real time, and the core it was given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// The sample's test.
    pub test: &'static str,
    pub core: Option<usize>,
    pub start: Instant,
    pub end: Instant,
}

/// The most spans that were open at one instant. A span that ends as another starts does not
/// overlap it: a worker's next sample starts after its last one ended.
pub fn most_at_once(spans: &[Span]) -> usize {
    let mut edges: Vec<(Instant, i32)> = spans
        .iter()
        .flat_map(|span| [(span.start, 1), (span.end, -1)])
        .collect();
    // Ends before starts at the same instant.
    edges.sort();
    let (mut open, mut most) = (0i32, 0i32);
    for (_, step) in edges {
        open += step;
        most = most.max(open);
    }
    most as usize
}

impl<S: Fn(&str, &str, usize) -> ScriptedStep + Sync> FakeExecutor<S> {
    pub fn new(script: S) -> Self {
        FakeExecutor {
            script,
            pause: Duration::ZERO,
            wall_ms: 1.0,
            slower: None,
            calls: Mutex::new(Vec::new()),
            spans: Mutex::new(Vec::new()),
        }
    }

    /// Each sample lasts `pause` and reports `wall_ms` as its wall time.
    pub fn pausing(self, pause: Duration, wall_ms: f64) -> Self {
        FakeExecutor {
            pause,
            wall_ms,
            ..self
        }
    }

    /// The samples of `test` last `pause` instead.
    pub fn slower(self, test: &'static str, pause: Duration) -> Self {
        FakeExecutor {
            slower: Some((test, pause)),
            ..self
        }
    }

    /// Every (test, runtime) asked for so far, in order, the ones stopped midway included.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap().clone()
    }

    /// The span of every sample asked for so far, the ones stopped midway included: a
    /// process that was killed was running until then.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }

    /// Records the call; returns how many calls of the same pair came before.
    fn count(&self, test: &str, runtime: &str) -> usize {
        let mut calls = self.calls.lock().unwrap();
        let earlier = calls
            .iter()
            .filter(|(t, r)| t == test && r == runtime)
            .count();
        calls.push((test.to_string(), runtime.to_string()));
        earlier
    }

    fn outcome(&self, step: ScriptedStep, limits: &Limits) -> Option<ProcessOutcome> {
        let exited = |code: i32| ExitStatus::from_raw(code << 8);
        match step {
            ScriptedStep::Value(ps) => Some(judge(exited(0), &format!("{ps}\n"), "", self.wall_ms)),
            ScriptedStep::Crash(stderr) => Some(judge(exited(134), "", stderr, self.wall_ms)),
            ScriptedStep::Hang => Some(timed_out(
                limits.timeout,
                limits.timeout.as_secs_f64() * 1000.0,
            )),
            ScriptedStep::Interrupt => {
                limits.stop.store(true, Ordering::SeqCst);
                None
            }
            ScriptedStep::Disturbed(ps) => {
                let mut outcome = judge(exited(0), &format!("{ps}\n"), "", self.wall_ms);
                outcome.usage = Usage {
                    cpu_ms: Some(self.wall_ms * (1.0 - DISTURBED_WAIT_SHARE)),
                    run_delay_ms: Some(self.wall_ms * DISTURBED_WAIT_SHARE),
                    preemptions: Some(0),
                };
                // The same decision a real process's sample goes through.
                Some(flag_disturbance(outcome, &limits.disturbance))
            }
        }
    }
}

/// Lasts `pause` unless stopped or out of budget first, as a process would; `false` then.
fn last(pause: Duration, limits: &Limits) -> bool {
    let until = Instant::now() + pause;
    loop {
        let now = Instant::now();
        if limits.stop.load(Ordering::SeqCst) || limits.abandon_at.is_some_and(|at| now >= at) {
            return false;
        }
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(1)));
    }
}

impl<S: Fn(&str, &str, usize) -> ScriptedStep + Sync> Executor for FakeExecutor<S> {
    fn sample(
        &self,
        _suite: &Suite,
        test: &TestModule,
        runtime: &Runtime,
        limits: &Limits,
    ) -> Option<ProcessOutcome> {
        let nth = self.count(&test.name, &runtime.info.name);
        let start = Instant::now();
        let (test_name, pause) = match self.slower {
            Some((slow, pause)) if slow == test.name => (slow, pause),
            _ => ("", self.pause),
        };
        let lasted = last(pause, limits);
        self.spans.lock().unwrap().push(Span {
            test: test_name,
            core: limits.core,
            start,
            end: Instant::now(),
        });
        if !lasted {
            return None;
        }
        self.outcome((self.script)(&test.name, &runtime.info.name, nth), limits)
    }
}

/// The fixture suite (modules sign, hash, hash2, misuse, aead_aegis256); no file is read.
pub fn suite() -> Suite {
    Suite {
        dir: "suite".into(),
        manifest: crate::model::fixtures::results_with(&[]).suite,
    }
}

/// The suite's tests of these names.
pub fn tests(suite: &Suite, names: &[&str]) -> Vec<TestModule> {
    names
        .iter()
        .map(|name| suite.manifest.test(name).expect("a fixture test").clone())
        .collect()
}

/// One unpinned worker, no budget, a 1 s timeout and a fixed seed.
pub fn schedule(stopping: crate::stats::stopping::Stopping) -> super::scheduler::Schedule {
    super::scheduler::Schedule {
        stopping,
        budget: None,
        timeout: Duration::from_secs(1),
        cores: vec![None],
        seed: 7,
        progress: false,
        disturbance: crate::config::DisturbanceConfig::default(),
        measure: crate::model::Measure::Time,
    }
}

/// Exactly `samples` samples of every pair.
pub fn exactly(samples: u32) -> crate::stats::stopping::Stopping {
    crate::stats::stopping::Stopping {
        min_samples: samples,
        max_samples: samples,
        precision: 0.0,
        min_effect: 0.02,
        counts: false,
        goal: crate::stats::stopping::Goal::Precision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_that_touch_do_not_overlap() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let span = |start, end| Span {
            test: "",
            core: None,
            start: at(start),
            end: at(end),
        };
        assert_eq!(most_at_once(&[]), 0);
        assert_eq!(most_at_once(&[span(0, 5), span(5, 10)]), 1);
        assert_eq!(most_at_once(&[span(0, 5), span(4, 10), span(9, 12)]), 2);
        assert_eq!(most_at_once(&[span(0, 10), span(2, 3), span(2, 8)]), 3);
    }
}
