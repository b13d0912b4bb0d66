//! The seam between the scheduler and process execution: the scheduler decides what runs when,
//! an executor takes one sample. Real runs go through `Processes`; the scheduler's tests go
//! through a scripted fake, so its budget, failure and resume paths run in milliseconds.

use super::execute::{ProcessOutcome, flag_disturbance, run_once};
use super::runtime::Runtime;
use crate::build::Suite;
use crate::config::DisturbanceConfig;
use crate::model::TestModule;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// The bounds one sample runs within.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    /// The core the sample is pinned to; `None` runs unpinned.
    pub core: Option<usize>,
    /// After this long the sample is a timeout.
    pub timeout: Duration,
    /// The run's budget ends here: a sample still running is abandoned.
    pub abandon_at: Option<Instant>,
    /// Raised by Ctrl-C or SIGTERM.
    pub stop: &'a AtomicBool,
    /// When a sample counts as disturbed by another process on its core.
    pub disturbance: DisturbanceConfig,
}

/// Takes samples. `Sync`: the scheduler's workers share one.
pub trait Executor: Sync {
    /// Runs `test`'s module once on `runtime`. `None` when `limits.stop` was raised meanwhile or
    /// the budget ran out: a partial run is not a sample. A runtime that cannot run the module
    /// at all (its ahead-of-time step failed) gives a failed sample, not `None`.
    fn sample(
        &self,
        suite: &Suite,
        test: &TestModule,
        runtime: &Runtime,
        limits: &Limits,
    ) -> Option<ProcessOutcome>;
}

/// Runs each sample as a process of the runtime's command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Processes;

impl Executor for Processes {
    fn sample(
        &self,
        suite: &Suite,
        test: &TestModule,
        runtime: &Runtime,
        limits: &Limits,
    ) -> Option<ProcessOutcome> {
        let outcome = run_once(
            runtime.command(&suite.module_path(test)),
            limits.core,
            limits.timeout,
            limits.abandon_at,
            limits.stop,
        )?;
        Some(flag_disturbance(outcome, &limits.disturbance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SampleStatus;
    use crate::run::fake_executor::{suite, tests};

    fn limits(stop: &AtomicBool) -> Limits<'_> {
        Limits {
            core: None,
            timeout: Duration::from_secs(10),
            abandon_at: None,
            stop,
            disturbance: DisturbanceConfig::default(),
        }
    }

    #[test]
    fn a_runtime_without_its_ahead_of_time_product_gives_a_failed_sample() {
        let suite = suite();
        let mut native = Runtime::for_tests("native");
        native.info.native = true;
        let stop = AtomicBool::new(false);
        let test = &tests(&suite, &["sign"])[0];
        let outcome = Processes.sample(&suite, test, &native, &limits(&stop));
        let outcome = outcome.expect("a sample, not a stop");
        assert_eq!(outcome.status, SampleStatus::Failed);
        let message = outcome.message.unwrap();
        assert!(message.contains("no ahead-of-time product"), "{message}");
    }

    #[test]
    fn processes_run_the_runtime_and_judge_its_output() {
        let suite = suite();
        let stop = AtomicBool::new(false);
        let test = &tests(&suite, &["sign"])[0];
        // The test runtime is /bin/true: it exits 0 and prints no number.
        let outcome = Processes.sample(&suite, test, &Runtime::for_tests("a"), &limits(&stop));
        let outcome = outcome.expect("a sample, not a stop");
        assert_eq!(outcome.status, SampleStatus::Failed);
        assert_eq!(outcome.exit_code, Some(0));
        assert!(outcome.message.unwrap().contains("printed nothing"));
    }

    #[test]
    fn a_raised_stop_takes_no_sample() {
        let suite = suite();
        let stop = AtomicBool::new(true);
        let test = &tests(&suite, &["sign"])[0];
        let outcome = Processes.sample(&suite, test, &Runtime::for_tests("a"), &limits(&stop));
        assert_eq!(outcome, None);
    }
}
