//! The instructions measure: each sample runs the runtime under valgrind's instruction counter,
//! once on the test's module and once on its smaller module (fewer iterations, see
//! `build::instructions`), and records the difference over the difference in iterations: the
//! instructions of one iteration of the test's loop, with the runtime's start-up and its
//! compilation of the module gone. No clock is read, so a neighbour on the core changes
//! nothing, and no sample is ever disturbed.

use super::execute::{ProcessOutcome, run_once};
use super::executor::{Executor, Limits};
use super::runtime::Runtime;
use crate::build::Suite;
use crate::model::{InstructionsRecord, SampleStatus, TestModule};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Debian package that provides the counter, for the one line that says how to get it.
pub const COUNTER_PACKAGE: &str = "valgrind";

/// valgrind's cachegrind with its cache and branch simulations off: it counts the instructions
/// each process executed (`summary:` of its output file), and nothing else, at about 20 times
/// the bare run time. Children are followed, so a wrapper script's runtime is counted.
const COUNTER_FLAGS: [&str; 5] = [
    "--tool=cachegrind",
    "--cache-sim=no",
    "--branch-sim=no",
    "--trace-children=yes",
    "-q",
];

/// The instruction counter found on this machine.
#[derive(Debug, Clone)]
pub struct Counter {
    pub program: PathBuf,
    /// Its version line, e.g. "valgrind-3.19.0", for the record of a run.
    pub version: String,
}

impl Counter {
    /// `valgrind` on PATH, or one line that says which package to install.
    pub fn find() -> Result<Counter> {
        Counter::find_in(std::env::var_os("PATH").as_deref())
    }

    pub fn find_in(path: Option<&std::ffi::OsStr>) -> Result<Counter> {
        let found = path
            .map(std::env::split_paths)
            .into_iter()
            .flatten()
            .map(|dir| dir.join("valgrind"))
            .find(|candidate| candidate.is_file());
        let Some(program) = found else {
            bail!(
                "the instructions measure counts with valgrind, which is not on PATH: install Debian's `{COUNTER_PACKAGE}` package (apt-get install {COUNTER_PACKAGE}), or measure time (--measure time)"
            );
        };
        let mut version = Command::new(&program);
        version.arg("--version");
        let version = crate::toolchain::read_version("valgrind", version)?;
        Ok(Counter { program, version })
    }

    /// `command` run under the counter, which writes one file per process into `into`.
    pub(super) fn wrap(&self, command: &Command, into: &Path) -> Command {
        let mut counted = Command::new(&self.program);
        counted
            .args(COUNTER_FLAGS)
            .arg(format!(
                "--cachegrind-out-file={}",
                into.join("count.%p").display()
            ))
            .arg("--")
            .arg(command.get_program())
            .args(command.get_args());
        counted
    }
}

/// Takes instruction-count samples: the executor of a run under the instructions measure.
pub struct InstructionsExecutor {
    pub counter: Counter,
    /// The suite of the smaller modules, whose counts are subtracted.
    pub low: Suite,
}

impl InstructionsExecutor {
    /// What a run's results record of how it counted.
    pub fn record(&self) -> InstructionsRecord {
        InstructionsRecord {
            counter: self.counter.version.clone(),
            low_suite_id: self.low.manifest.suite_id.clone(),
            low_iterations: (self.low.manifest.tests.iter())
                .map(|t| (t.name.clone(), t.iterations))
                .collect(),
        }
    }

    /// One run of `module` under the counter: its outcome, with the process's total count in
    /// `instructions` when it succeeded. `None` when the run was stopped.
    fn count(&self, runtime: &Runtime, module: &Path, limits: &Limits) -> Option<ProcessOutcome> {
        let into = match tempfile::Builder::new().prefix("wasmgate-count").tempdir() {
            Ok(dir) => dir,
            Err(err) => return Some(super::execute::not_run(format!("cannot count: {err}"))),
        };
        let command = runtime
            .command(module)
            .map(|command| self.counter.wrap(&command, into.path()));
        let mut outcome = run_once(
            command,
            limits.core,
            limits.timeout,
            limits.abandon_at,
            limits.stop,
        )?;
        if outcome.status == SampleStatus::Ok {
            match read_counts(into.path()) {
                Ok(total) => outcome.instructions = Some(total as f64),
                Err(why) => {
                    outcome.status = SampleStatus::Failed;
                    outcome.message = Some(why);
                }
            }
        }
        outcome.value_ps = None;
        Some(outcome)
    }
}

impl Executor for InstructionsExecutor {
    fn sample(
        &self,
        suite: &Suite,
        test: &TestModule,
        runtime: &Runtime,
        limits: &Limits,
    ) -> Option<ProcessOutcome> {
        let Some(low_test) = self.low.manifest.test(&test.name) else {
            return Some(super::execute::not_run(format!(
                "the smaller module of {} is missing from suite {}",
                test.name, self.low.manifest.suite_id
            )));
        };
        let low = self.count(runtime, &self.low.module_path(low_test), limits)?;
        if low.status != SampleStatus::Ok {
            return Some(low);
        }
        let high = self.count(runtime, &suite.module_path(test), limits)?;
        Some(per_iteration(
            &low,
            low_test.iterations,
            high,
            test.iterations,
        ))
    }
}

/// The sample of the larger module's run, its value turned into instructions per iteration:
/// `(high - low) / (high iterations - low iterations)`. The wall time is both runs'.
///
/// A count that did not grow with the iterations is no value, but no failure of the test
/// either: where a test's work depends on its random draws (`box_easy2`'s message lengths; the
/// counted modules draw a fixed stream, but a source whose harness drew otherwise would not),
/// the two processes do different work, and with one or two iterations the smaller module's
/// draw can outweigh the larger one's. Such a sample is kept for the record as not measured
/// (the status of a disturbed one: left out of every statistic and measured again, up to the
/// cap), with the two counts in its message.
pub fn per_iteration(
    low: &ProcessOutcome,
    low_iterations: u64,
    mut high: ProcessOutcome,
    high_iterations: u64,
) -> ProcessOutcome {
    high.wall_ms += low.wall_ms;
    let (Some(low_count), Some(high_count)) = (low.instructions, high.instructions) else {
        return high;
    };
    let extra_iterations = high_iterations.saturating_sub(low_iterations);
    if extra_iterations == 0 || high_count <= low_count {
        high.status = SampleStatus::Disturbed;
        high.instructions = None;
        high.message = Some(format!(
            "{high_count:.0} instructions at {high_iterations} iterations and {low_count:.0} at {low_iterations}: the count did not grow with the iterations (work random by design, or a runtime whose count wanders); not a value, measured again"
        ));
        return high;
    }
    high.instructions = Some((high_count - low_count) / extra_iterations as f64);
    high
}

/// The total of the `summary:` lines of the counter's output files in `dir` (one per process).
pub(super) fn read_counts(dir: &Path) -> Result<u64, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read the counts: {e}"))?;
    let mut total: u64 = 0;
    let mut files = 0;
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path())
            .map_err(|e| format!("cannot read the count {}: {e}", entry.path().display()))?;
        total = total.saturating_add(summary_of(&text).ok_or_else(|| {
            format!(
                "the counter's file {} has no `summary:` line",
                entry.file_name().to_string_lossy()
            )
        })?);
        files += 1;
    }
    if files == 0 {
        return Err("the counter wrote no count: did the runtime start under valgrind?".into());
    }
    Ok(total)
}

/// The instruction count of one cachegrind output file.
pub fn summary_of(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|count| count.split_whitespace().next())
        .and_then(|count| count.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::execute::Usage;

    fn counted(instructions: f64, wall_ms: f64) -> ProcessOutcome {
        ProcessOutcome {
            status: SampleStatus::Ok,
            value_ps: None,
            wall_ms,
            exit_code: Some(0),
            message: None,
            usage: Usage::default(),
            instructions: Some(instructions),
        }
    }

    #[test]
    fn per_iteration_is_the_difference_over_the_extra_iterations() {
        // Start-up and compilation: 70 M; each iteration 2.5 M; the first iteration allocates
        // 1 M more, and both modules run it.
        let startup = 70e6 + 1e6;
        let low = counted(startup + 10.0 * 2.5e6, 400.0);
        let high = counted(startup + 20.0 * 2.5e6, 700.0);
        let sample = per_iteration(&low, 10, high, 20);
        assert_eq!(sample.status, SampleStatus::Ok);
        assert_eq!(sample.instructions, Some(2.5e6));
        assert_eq!(sample.wall_ms, 1100.0);
        // Fractions stay: 7 instructions over 2 extra iterations.
        let sample = per_iteration(&counted(100.0, 1.0), 1, counted(107.0, 1.0), 3);
        assert_eq!(sample.instructions, Some(3.5));
    }

    #[test]
    fn a_count_that_does_not_grow_with_the_iterations_is_no_value_and_no_failure() {
        let sample = per_iteration(&counted(1000.0, 1.0), 1, counted(900.0, 1.0), 2);
        assert_eq!(sample.status, SampleStatus::Disturbed);
        assert_eq!(sample.instructions, None);
        let message = sample.message.unwrap();
        assert!(
            message.contains("900 instructions at 2 iterations"),
            "{message}"
        );
    }

    #[test]
    fn the_summary_line_is_the_count() {
        let file = "desc: I1 cache: 32768 B\ncmd: wasmtime run x.wasm\nevents: Ir\nfl=???\n0 12\nsummary: 5158363984\n";
        assert_eq!(summary_of(file), Some(5_158_363_984));
        assert_eq!(summary_of("events: Ir\n"), None);
    }

    #[test]
    fn without_valgrind_on_path_one_line_names_the_package() {
        let empty = tempfile::tempdir().unwrap();
        let refused = Counter::find_in(Some(empty.path().as_os_str())).unwrap_err();
        let message = format!("{refused:#}");
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("apt-get install valgrind"), "{message}");
        assert!(Counter::find_in(None).is_err());
    }
}
