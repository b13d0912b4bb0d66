//! Run stage: every selected (test, runtime) pair, `samples` rounds, each round in a shuffled
//! order (seed recorded) so slow drift of the machine hits every side alike. Samples go to a
//! journal as they come; the results file is written atomically at the end.

pub mod adapter;
pub mod execute;
pub mod journal;
pub mod machine;

use crate::build::Suite;
use crate::config::TestFilter;
use crate::model::{Results, SCHEMA_VERSION, Sample, TestModule};
use adapter::Runtime;
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Raised by Ctrl-C or SIGTERM: the run stops after killing the sample in flight.
pub static STOP: AtomicBool = AtomicBool::new(false);

pub struct RunSettings {
    pub samples: u32,
    pub timeout: Duration,
    /// The core every sample is pinned to; `None` when pinning is off.
    pub core: Option<usize>,
    pub seed: u64,
    pub progress: bool,
}

/// Picks the tests to time: the filter's include list (all when empty) minus its exclude
/// list, and never the tests that measure nothing.
pub fn select_tests(suite: &Suite, filter: &TestFilter) -> Result<Vec<TestModule>> {
    for name in filter.include.iter().chain(&filter.exclude) {
        if suite.manifest.test(name).is_none() {
            bail!(
                "unknown test `{name}`; the suite has: {}",
                suite
                    .manifest
                    .tests
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let chosen: Vec<TestModule> = suite
        .manifest
        .tests
        .iter()
        .filter(|t| filter.include.is_empty() || filter.include.contains(&t.name))
        .filter(|t| !filter.exclude.contains(&t.name))
        .filter(|t| !t.measures_nothing)
        .cloned()
        .collect();
    if chosen.is_empty() {
        bail!("no test left to time: the selection holds only tests that measure nothing, or none");
    }
    Ok(chosen)
}

/// Chooses the core to pin to: the configured one if this process may use it, else the last
/// core it may use.
pub fn choose_core(pin: bool, configured: &[usize], origin: &str) -> Result<Option<usize>> {
    if !pin {
        return Ok(None);
    }
    let allowed = execute::allowed_cores();
    match configured.first() {
        Some(core) if allowed.contains(core) => Ok(Some(*core)),
        Some(core) => bail!(
            "{origin}: field `run.cores`: core {core} is not available here (allowed: {allowed:?}); list one of those, or set run.pin: false"
        ),
        None => Ok(allowed.last().copied()),
    }
}

pub fn run(
    suite: &Suite,
    runtimes: &[Runtime],
    tests: &[TestModule],
    settings: &RunSettings,
    out: &Path,
) -> Result<Results> {
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        suite: suite.manifest.clone(),
        machine: machine::fingerprint(settings.core.into_iter().collect()),
        runtimes: runtimes.iter().map(|r| r.info.clone()).collect(),
        seed: settings.seed,
        started_at: crate::model::now_rfc3339(),
        finished_at: None,
        complete: false,
        samples: Vec::new(),
    };
    let journal_path = journal::path_for(out);
    let mut journal = journal::Journal::create(&journal_path, &results)?;

    let pairs: Vec<(&TestModule, &Runtime)> = tests
        .iter()
        .flat_map(|t| runtimes.iter().map(move |r| (t, r)))
        .collect();
    let bar = progress_bar(
        settings.progress,
        pairs.len() as u64 * settings.samples as u64,
    );
    let mut rng = fastrand::Rng::with_seed(settings.seed);
    let mut order = 0u64;
    'rounds: for round in 0..settings.samples {
        let mut schedule = pairs.clone();
        rng.shuffle(&mut schedule);
        for (test, runtime) in schedule {
            bar.set_message(format!(
                "round {}/{} · {} on {}",
                round + 1,
                settings.samples,
                test.name,
                runtime.info.name
            ));
            let command = runtime.command(&suite.module_path(test));
            let Some(outcome) = execute::run_once(command, settings.core, settings.timeout, &STOP)
            else {
                break 'rounds;
            };
            let sample = Sample {
                test: test.name.clone(),
                runtime: runtime.info.name.clone(),
                round,
                order,
                status: outcome.status,
                value_ps: outcome.value_ps,
                wall_ms: outcome.wall_ms,
                exit_code: outcome.exit_code,
                core: settings.core,
                message: outcome.message,
            };
            order += 1;
            journal.append(&sample)?;
            results.samples.push(sample);
            bar.inc(1);
            if STOP.load(Ordering::SeqCst) {
                break 'rounds;
            }
        }
    }
    bar.finish_and_clear();
    results.complete = !STOP.load(Ordering::SeqCst);
    results.finished_at = Some(crate::model::now_rfc3339());
    crate::model::write_json(out, &results)?;
    std::fs::remove_file(&journal.path)?;
    Ok(results)
}

fn progress_bar(visible: bool, len: u64) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} samples · {msg} · eta {eta}")
            .expect("static template"),
    )
}

/// Reads results: a finished results file, or the journal of an interrupted run.
pub fn read_results(path: &Path) -> Result<Results> {
    let text_start = std::fs::read(path)
        .map(|bytes| bytes.iter().take(4096).copied().collect::<Vec<u8>>())
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    // A journal's first line is a whole JSON object; a results file is pretty-printed.
    if text_start.starts_with(b"{\"") {
        return journal::read(path);
    }
    let results: Results = crate::model::read_json(path)?;
    if results.schema_version != SCHEMA_VERSION {
        bail!(
            "{}: schema_version {} but this wasmgate reads {SCHEMA_VERSION}; rerun `wasmgate run` with this version",
            path.display(),
            results.schema_version
        );
    }
    Ok(results)
}
