//! The compile measures: a sample is one process of the runtime's compile step turning the
//! test's whole module into compiled code, pinned to its core like any sample. Under
//! `compile` its value is the process's wall time; under `compile-instructions` the
//! instructions it executed, counted under valgrind. The compiled code is thrown away: what a
//! runtime's users wait for before their module runs is what is measured, not what it does.

use super::adapter::{RuntimeRequest, has_compile_step};
use super::execute::{ProcessOutcome, failed_after, judge_failure, not_run, run_judged, succeeded};
use super::executor::{Executor, Limits};
use super::instructions::{Counter, read_counts};
use super::runtime::Runtime;
use crate::build::Suite;
use crate::model::{CompileThreads, InstructionsRecord, Measure, SampleStatus, TestModule};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::ExitStatus;

/// Takes compile samples: the executor of a run under a compile measure.
pub struct CompileExecutor {
    /// Under `compile-instructions`, the counter the compile runs under.
    pub counter: Option<Counter>,
}

impl CompileExecutor {
    /// What a run's results record of how it counted, when it counts: a whole compile, with
    /// nothing subtracted (no smaller modules).
    pub fn record(&self) -> Option<InstructionsRecord> {
        (self.counter.as_ref()).map(|counter| InstructionsRecord {
            counter: counter.version.clone(),
            low_suite_id: String::new(),
            low_iterations: Default::default(),
        })
    }
}

impl Executor for CompileExecutor {
    fn sample(
        &self,
        suite: &Suite,
        test: &TestModule,
        runtime: &Runtime,
        limits: &Limits,
    ) -> Option<ProcessOutcome> {
        // Each compile writes into a folder of its own, removed with what it made: two workers
        // never share a product, and no product outlives its sample.
        let into = match tempfile::Builder::new()
            .prefix("wasmgate-compile")
            .tempdir()
        {
            Ok(dir) => dir,
            Err(err) => return Some(not_run(format!("cannot compile: {err}"))),
        };
        let product = into
            .path()
            .join(format!("{}.{}", test.name, runtime.compile_extension()));
        let module = suite.module_path(test);
        let Some(command) = runtime.compile_command(&module, &product) else {
            return Some(not_run(format!(
                "runtime `{}` is not measured compiling",
                runtime.info.name
            )));
        };
        let counts = into.path().join("counts");
        let command = match &self.counter {
            Some(counter) => std::fs::create_dir(&counts)
                .map(|()| counter.wrap(&command, &counts))
                .map_err(|err| format!("cannot count: {err}")),
            None => Ok(command),
        };
        let judge = |status: ExitStatus, stdout: &str, stderr: &str, wall_ms: f64| {
            judge_compile(status, (stdout, stderr), wall_ms, &product)
        };
        let outcome = run_judged(
            command,
            limits.core,
            limits.timeout,
            limits.abandon_at,
            limits.stop,
            &judge,
        )?;
        Some(match &self.counter {
            Some(_) => counted(outcome, &counts),
            None => super::execute::flag_disturbance(outcome, &limits.disturbance),
        })
    }
}

/// The runtimes a compile measure can time: those of `requested` with a compile step. Each
/// one without is left out in one line; none left is refused, naming those that have one.
pub fn with_compile_step(
    loaded: &crate::config::Loaded,
    requested: Vec<RuntimeRequest>,
    measure: Measure,
) -> Result<Vec<RuntimeRequest>> {
    if measure == Measure::CompileInstructions
        && loaded.config.run.compile.threads == CompileThreads::Parallel
    {
        bail!(
            "{}: field `run.compile.threads` is parallel, and a count of a compile repeats only on one thread (wasmtime's differs by percents from run to run): set it to serial, or measure compile time (--measure compile)",
            loaded.origin()
        );
    }
    let mut kept = Vec::new();
    for request in requested {
        match has_compile_step(loaded, &request)? {
            true => kept.push(request),
            false => eprintln!(
                "wasmgate: {} has no compile step (it compiles as it runs, or interprets): left out of the {} measure",
                request.label,
                measure.name()
            ),
        }
    }
    if kept.is_empty() {
        let able: Vec<&str> = (loaded.config.runtimes.iter())
            .filter(|(_, r)| r.compile_step(loaded.config.run.compile.threads).is_some())
            .map(|(name, _)| name.as_str())
            .collect();
        bail!(
            "no runtime to measure compiling: none of those asked for has a compile step; runtimes with one: {}",
            able.join(", ")
        );
    }
    Ok(kept)
}

/// A compile that exited 0 and wrote its product is a sample of its wall time; anything else
/// is a failed sample that says why.
fn judge_compile(
    status: ExitStatus,
    (stdout, stderr): (&str, &str),
    wall_ms: f64,
    product: &Path,
) -> ProcessOutcome {
    if let Some(failure) = judge_failure(status, stdout, stderr, wall_ms) {
        return failure;
    }
    let written = std::fs::metadata(product).is_ok_and(|m| m.is_file() && m.len() > 0);
    if !written {
        return failed_after(
            wall_ms,
            status.code(),
            "the compile step exited 0 but wrote no compiled module: its command must write to {aot}"
                .to_string(),
        );
    }
    // At least a picosecond: a value of 0 is refused as no time when the results are read.
    let value_ps = ((wall_ms * 1e9) as u64).clamp(1, crate::model::MAX_VALUE_PS);
    succeeded(value_ps, wall_ms, status.code())
}

/// A counted compile's sample: the instructions of every process it ran, and no clock.
fn counted(mut outcome: ProcessOutcome, counts: &Path) -> ProcessOutcome {
    if outcome.status == SampleStatus::Ok {
        match read_counts(counts) {
            Ok(total) => outcome.instructions = Some(total as f64),
            Err(why) => {
                outcome.status = SampleStatus::Failed;
                outcome.message = Some(why);
            }
        }
    }
    outcome.value_ps = None;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fake_executor::{suite, tests};
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    /// A "compiler": a script run as `sh SCRIPT {module} {aot}` (by the shell, not executed
    /// itself: a file just written may still be open for writing in a child another test
    /// forked meanwhile, and executing it would then fail with "text file busy").
    fn compiler(dir: &Path, body: &str) -> Runtime {
        let script = dir.join("compile.sh");
        std::fs::write(&script, format!("{body}\n")).unwrap();
        let path = script.to_string_lossy().to_string();
        Runtime::for_tests("compiler").compiling_with(super::super::runtime::AotStep {
            argv: vec!["/bin/sh".into(), path, "{module}".into(), "{aot}".into()],
            extension: "cwasm".into(),
        })
    }

    fn sample_of(runtime: &Runtime) -> ProcessOutcome {
        let suite = suite();
        let test = &tests(&suite, &["sign"])[0];
        let stop = AtomicBool::new(false);
        let limits = Limits {
            core: None,
            timeout: Duration::from_secs(20),
            abandon_at: None,
            stop: &stop,
            // The other tests run beside this one on the same cores: its samples are not
            // for measuring, and a wait for the core must not turn one into a disturbed one.
            disturbance: crate::config::DisturbanceConfig {
                enabled: false,
                ..Default::default()
            },
        };
        let executor = CompileExecutor { counter: None };
        executor.sample(&suite, test, runtime, &limits).unwrap()
    }

    #[test]
    fn a_compile_that_writes_its_product_is_a_sample_of_its_wall_time() {
        let dir = tempfile::tempdir().unwrap();
        // It is given the module and writes a product, taking at least 50 ms.
        let body = "sleep 0.05; echo \"code of $1\" > \"$2\"; echo compiled";
        let runtime = compiler(dir.path(), body);
        let sample = sample_of(&runtime);
        assert_eq!(sample.status, SampleStatus::Ok, "{sample:?}");
        let value_ms = sample.value_ps.unwrap() as f64 / 1e9;
        assert!(value_ms >= 50.0, "{value_ms}");
        assert_eq!(value_ms, (sample.wall_ms * 1e9).trunc() / 1e9);
        assert!(sample.usage.cpu_ms.is_some());
    }

    #[test]
    fn a_compile_that_writes_nothing_or_fails_is_a_failed_sample_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let sample = sample_of(&compiler(dir.path(), "exit 0"));
        assert_eq!(sample.status, SampleStatus::Failed);
        let message = sample.message.unwrap();
        assert!(message.contains("wrote no compiled module"), "{message}");
        let sample = sample_of(&compiler(dir.path(), "echo 'bad section' >&2; exit 3"));
        assert_eq!(sample.status, SampleStatus::Failed);
        let message = sample.message.unwrap();
        assert!(message.contains("exit status 3: bad section"), "{message}");
    }

    fn asked(names: &[&str]) -> Vec<RuntimeRequest> {
        names.iter().map(|name| name.parse().unwrap()).collect()
    }

    #[test]
    fn runtimes_without_a_compile_step_are_left_out_and_none_left_is_refused() {
        let loaded = crate::config::load(None).unwrap();
        let kept = with_compile_step(
            &loaded,
            asked(&["wasmtime", "node", "wasm3"]),
            Measure::Compile,
        );
        let labels: Vec<String> = kept.unwrap().into_iter().map(|r| r.label).collect();
        assert_eq!(labels, ["wasmtime"]);
        let refused = with_compile_step(&loaded, asked(&["node"]), Measure::Compile);
        let message = refused.unwrap_err().to_string();
        assert!(
            message.contains("none of those asked for has a compile step"),
            "{message}"
        );
        assert!(
            message.contains("wasmtime-aot") && !message.contains("node"),
            "{message}"
        );
    }

    #[test]
    fn a_compile_counted_on_several_threads_is_refused_naming_the_field() {
        let mut loaded = crate::config::load(None).unwrap();
        loaded.config.run.compile.threads = CompileThreads::Parallel;
        let refused =
            with_compile_step(&loaded, asked(&["wasmtime"]), Measure::CompileInstructions);
        let message = refused.unwrap_err().to_string();
        assert!(
            message.contains("field `run.compile.threads` is parallel"),
            "{message}"
        );
        // Timed, several threads are the configuration's choice.
        assert!(with_compile_step(&loaded, asked(&["wasmtime"]), Measure::Compile).is_ok());
    }

    #[test]
    fn a_runtime_not_measured_compiling_gives_a_failed_sample() {
        let sample = sample_of(&Runtime::for_tests("plain"));
        assert_eq!(sample.status, SampleStatus::Failed);
        assert!(sample.message.unwrap().contains("not measured compiling"));
    }
}
