//! The run stage as one call: from the configuration and a request to a results file. The
//! suite is built (or found), the runtimes resolved, the tests selected and sharded, the native
//! build and the ahead-of-time steps done, then the schedule runs, fresh or resumed.

use super::adapter::{RuntimeRequest, resolve_measuring};
use super::compile::{CompileExecutor, with_compile_step};
use super::executor::Executor;
use super::instructions::{Counter, InstructionsExecutor};
use super::scheduler::{Ending, Ran, Schedule};
use super::{STOP, Start, choose_cores, doctor, refuse_smt_siblings, select_tests};
use crate::build::Suite;
use crate::build::instructions::{MeasuredSuites, suites_for};
use crate::config::{
    CompareConfig, Loaded, Purpose, RunConfig, RunOverrides, SamplingDefaults, TestFilter,
    parse_duration,
};
use crate::model::{AotRecord, CheckStatus, Environment, Results, Shard};
use crate::model::{InstructionsRecord, Measure, TestModule};
use crate::toolchain::Home;
use crate::util::lock::FileLock;
use anyhow::{Result, bail};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What a measurement is asked to do, the command line and the configuration merged.
#[derive(Debug, Clone)]
pub struct MeasureRequest {
    /// The runtimes to measure; empty for the configured `run.runtimes`.
    pub runtimes: Vec<RuntimeRequest>,
    /// The tests to time; empty for the configured `tests.include`.
    pub tests: Vec<String>,
    /// Samples, precision, budget, cores and timeout, already checked.
    pub sampling: RunConfig,
    /// Where `sampling.cores` was given (a flag or a config field), for errors.
    pub cores_origin: String,
    /// Seed of the shuffled order; `None` takes one from the clock.
    pub seed: Option<u64>,
    pub resume: bool,
    pub progress: bool,
    pub shard: Option<Shard>,
    /// What the samples are for: when a test has enough.
    pub purpose: Purpose,
}

impl MeasureRequest {
    /// A request for these runtimes and tests, with the command line's `overrides` over the
    /// sampling `defaults`, checked by the configuration's own rules; seeded from the clock,
    /// not resumed, with progress shown, whole (not a shard).
    pub fn from_overrides(
        loaded: &Loaded,
        runtimes: &[RuntimeRequest],
        tests: &[String],
        overrides: &RunOverrides,
        defaults: SamplingDefaults,
    ) -> Result<MeasureRequest> {
        let checked = (overrides.apply(&defaults.run, defaults.sources))
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        let cores_origin = if overrides.cores.is_empty() {
            format!("{}: field `run.cores`", loaded.origin())
        } else {
            "--cores".to_string()
        };
        Ok(MeasureRequest {
            runtimes: runtimes.to_vec(),
            tests: tests.to_vec(),
            sampling: checked,
            cores_origin,
            seed: None,
            resume: false,
            progress: true,
            shard: None,
            purpose: defaults.purpose,
        })
    }
}

/// Everything between the configuration and a results file, written to `out`.
pub fn measure(loaded: &Loaded, request: &MeasureRequest, out: &Path) -> Result<Results> {
    let config = &loaded.config;
    check_labels(&request.runtimes)?;
    // Cores that cannot be used are refused before anything is built, as labels are.
    let schedule = schedule_for(request, &config.compare)?;
    let _writing = claim_destination(out, request)?;
    let home = Home::resolve(config)?;
    let measure = request.sampling.measure;
    // Found before anything is built: a machine without the counter hears so at once.
    let counter = measure.counts().then(Counter::find).transpose()?;
    let MeasuredSuites { suite, low } = suites_for(config, &home, measure)?;
    let mut runtimes = resolve_all(loaded, &home, &request.runtimes, measure)?;
    let tests = select(&suite, config, request)?;
    // Each runtime after the first is judged against it: that many comparisons per test.
    let heads = runtimes.len().saturating_sub(1).max(1);
    let schedule = Schedule {
        stopping: super::round_policy::stopping_rule(
            &request.sampling,
            &config.compare,
            request.purpose,
            tests.len() * heads,
        ),
        ..schedule
    };
    // Under the instructions measure, each test's smaller module runs too.
    let mut suites = vec![(&suite, tests.clone())];
    if let Some(low) = &low {
        suites.push((low, same_tests(low, &tests)));
    }
    let mut aot = Vec::new();
    for (suite, tests) in &suites {
        let modules = Modules {
            suite,
            tests,
            measure,
        };
        prepare_runtimes(config, &home, &mut runtimes, &modules, &mut aot)?;
    }
    report_aot(&aot);
    install_stop_handler();
    let _measuring = lock_cores(&schedule.cores)?;
    let environment = check_runner(&schedule);
    let mut start = start(request, &suite, &runtimes, &schedule, out, environment)?;
    start.results.aot.extend(aot);
    let (executor, counting) = executor_for(measure, counter, low);
    record_counting(&mut start, counting, out)?;
    let schedule = Schedule {
        seed: start.results.seed,
        ..schedule
    };
    // A resumed run's earlier samples were taken in an earlier session, on its own clock.
    let (earlier, earlier_seconds) = (start.results.samples.len(), start.results.wall_seconds);
    let (results, ran) = super::run(
        &suite,
        &runtimes,
        &tests,
        &schedule,
        start,
        out,
        executor.as_ref(),
    )?;
    let session_seconds = results.wall_seconds - earlier_seconds;
    let taken = results.samples.get(earlier..).unwrap_or_default();
    report_cost(taken, &schedule, session_seconds, &ran);
    Ok(results)
}

/// What takes each sample under `measure`, and how it counts where it counts.
pub(super) fn executor_for(
    measure: Measure,
    counter: Option<Counter>,
    low: Option<Suite>,
) -> (Box<dyn Executor>, Option<InstructionsRecord>) {
    if measure.compiles() {
        let compiled = CompileExecutor { counter };
        let record = compiled.record();
        return (Box::new(compiled), record);
    }
    match (counter, low) {
        (Some(counter), Some(low)) => {
            let counted = InstructionsExecutor { counter, low };
            let record = counted.record();
            (Box::new(counted), Some(record))
        }
        _ => (Box::new(super::executor::Processes), None),
    }
}

/// Records how the run counts; a resumed run must have counted the same way.
fn record_counting(
    start: &mut Start,
    record: Option<InstructionsRecord>,
    out: &Path,
) -> Result<()> {
    let earlier = &start.results.instructions;
    if earlier.is_some() && *earlier != record {
        bail!(
            "{}: counted with another counter or other smaller modules than now; the counts cannot be mixed: start anew without --resume",
            out.display()
        );
    }
    start.results.instructions = record;
    Ok(())
}

/// The modules of `suite` for the tests selected in another suite of the same source.
fn same_tests(suite: &Suite, selected: &[TestModule]) -> Vec<TestModule> {
    (suite.manifest.tests.iter())
        .filter(|t| selected.iter().any(|s| s.name == t.name))
        .cloned()
        .collect()
}

/// The modules of some tests of a suite, built for a measure.
struct Modules<'a> {
    suite: &'a Suite,
    tests: &'a [TestModule],
    measure: Measure,
}

/// The native build and the ahead-of-time steps of the modules, for every runtime.
fn prepare_runtimes(
    config: &crate::config::Config,
    home: &Home,
    runtimes: &mut [super::runtime::Runtime],
    modules: &Modules,
    aot: &mut Vec<AotRecord>,
) -> Result<()> {
    let Modules {
        suite,
        tests,
        measure,
    } = *modules;
    if runtimes.iter().any(|r| r.info.native) {
        // Native code is built from the same source as the modules, with the same random
        // bytes (always fixed under the instructions measure).
        let inputs = crate::build::instructions::inputs_for(config, home, measure)?;
        let executables = crate::build::build_native(&inputs, home, suite)?;
        runtimes
            .iter_mut()
            .for_each(|r| r.use_native_build(&executables));
    }
    for runtime in runtimes.iter_mut() {
        aot.extend(runtime.prepare_aot(home, suite, tests));
    }
    Ok(())
}

/// The run's end and the harness's own cost in one line: how long the measuring took, whether
/// every test was settled or how many the budget left unsettled, how much of the time the
/// workers spent in samples (a run whose workers waited on each other shows it), and what the
/// harness itself took per sample, between samples and in CPU time.
fn report_cost(samples: &[crate::model::Sample], schedule: &Schedule, seconds: f64, ran: &Ran) {
    let took = humantime::format_duration(Duration::from_secs(seconds.max(0.0) as u64));
    let mut line = format!("measuring took {took}");
    match (ran.ending, schedule.budget) {
        (Ending::Finished, Some(budget)) => line.push_str(&format!(
            " of the {} budget: every test settled",
            humantime::format_duration(budget)
        )),
        (Ending::Finished, None) => line.push_str(": every test settled"),
        (Ending::BudgetSpent, _) => line.push_str(&format!(
            ": the budget ended it with {} of {} tests unsettled",
            ran.unsettled, ran.tests
        )),
        (Ending::Interrupted, _) => line.push_str(": interrupted"),
    }
    if let Some(achieved) = super::parallelism::parallelism(samples, &schedule.cores, seconds) {
        line.push_str(&format!(", {achieved}"));
    }
    if let Some(cost) = ran.harness {
        line.push_str(&format!(
            "; harness {:.1} ms a sample between samples, {:.1} ms CPU",
            cost.wall_ms_per_sample, cost.cpu_ms_per_sample
        ));
    }
    eprintln!("{line}");
}

/// The results file and its journal, claimed before anything is built: refused now, not after
/// the whole budget, when it cannot be written or another run is writing it; a journal an
/// interrupted run left is set aside unless this run resumes it. The lock is held while the
/// returned value lives.
fn claim_destination(out: &Path, request: &MeasureRequest) -> Result<FileLock> {
    if crate::model::is_standard_output(out) {
        anyhow::bail!(
            "--out -: a run's results need a file, with the journal beside it that keeps every sample if the run is stopped; give a file and print it with `wasmgate report FILE --format json`"
        );
    }
    let destination = crate::model::check_destination(out)?;
    let writing = FileLock::acquire(
        &lock_beside(&destination),
        &out.display().to_string(),
        "wait for that run to finish, or give another --out",
    )?;
    // The journal is written too: a named pipe there would block the run.
    let journal = super::journal::path_for(out);
    crate::model::check_destination(&journal)?;
    if !request.resume
        && let Some(aside) = super::journal::set_aside(&journal)?
    {
        eprintln!(
            "wasmgate: {}: an earlier run of {} did not finish; its samples are kept in {} (`--resume` continues such a run)",
            journal.display(),
            out.display(),
            aside.display()
        );
    }
    Ok(writing)
}

/// The lock that keeps two runs from writing one results file (and its journal).
fn lock_beside(destination: &Path) -> std::path::PathBuf {
    let mut name = destination.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    destination.with_file_name(name)
}

/// Where the core locks live: one fixed folder for the whole machine. Not in the cache (two
/// runs with two caches still share the cores) and not under `$TMPDIR` (two runs with two
/// temporary folders too). Shared by every user, as `/tmp` is (see `lock::shared_folder`).
pub const CORE_LOCKS: &str = "/tmp/wasmgate-locks";

/// The lock of one core.
pub fn core_lock(core: usize) -> std::path::PathBuf {
    Path::new(CORE_LOCKS).join(format!("core-{core}.lock"))
}

/// One run measures on a core at a time: two would slow each other's every sample. A run
/// that finds its core taken waits for it, and says so.
pub fn lock_cores(cores: &[Option<usize>]) -> Result<Vec<FileLock>> {
    let mut held = Vec::new();
    if cores.iter().any(Option::is_some) {
        crate::util::lock::shared_folder(Path::new(CORE_LOCKS))?;
    }
    for core in cores.iter().flatten() {
        let path = core_lock(*core);
        let what = format!("core {core}");
        let tell = |who: &str| eprintln!("wasmgate: waiting: {who}");
        match FileLock::wait_for(&path, &what, &STOP, tell)? {
            Some(lock) => held.push(lock),
            None => bail!("interrupted while waiting for core {core}; nothing was measured"),
        }
    }
    Ok(held)
}

/// The requested runtimes, or the configured ones, found or installed.
fn resolve_all(
    loaded: &Loaded,
    home: &Home,
    requested: &[RuntimeRequest],
    measure: Measure,
) -> Result<Vec<super::runtime::Runtime>> {
    let configured: Vec<RuntimeRequest>;
    let requests = if requested.is_empty() {
        configured = loaded
            .config
            .run
            .runtimes
            .iter()
            .map(|name| name.parse().map_err(anyhow::Error::msg))
            .collect::<Result<_>>()?;
        &configured
    } else {
        requested
    };
    let requests = match measure.compiles() {
        true => with_compile_step(loaded, requests.to_vec(), measure)?,
        false => requests.to_vec(),
    };
    requests
        .iter()
        .map(|r| resolve_measuring(loaded, home, r, measure))
        .collect()
}

/// Two runtimes under one label would pool their samples: refused before anything is built.
fn check_labels(requested: &[RuntimeRequest]) -> Result<()> {
    let labels: Vec<&str> = requested.iter().map(|r| r.label.as_str()).collect();
    if let Some(twice) = crate::config::repeated(&labels) {
        bail!(
            "--runtime: the label `{twice}` is given twice; two builds of one runtime need two labels, e.g. base@{twice}=PATH and head@{twice}=PATH"
        );
    }
    Ok(())
}

/// The tests to time: the request's or the configured selection, then the shard's slice.
fn select(
    suite: &crate::build::Suite,
    config: &crate::config::Config,
    request: &MeasureRequest,
) -> Result<Vec<crate::model::TestModule>> {
    let filter = TestFilter {
        include: if request.tests.is_empty() {
            config.tests.include.clone()
        } else {
            request.tests.clone()
        },
        exclude: config.tests.exclude.clone(),
    };
    let mut tests = select_tests(suite, &filter)?;
    if let Some(shard) = request.shard {
        tests = shard.select(tests);
        if tests.is_empty() {
            bail!("shard {shard} has no test: fewer tests are selected than shards");
        }
    }
    Ok(tests)
}

/// The schedule of a request; its seed is the request's or the clock's.
fn schedule_for(request: &MeasureRequest, compare: &CompareConfig) -> Result<Schedule> {
    let sampling = &request.sampling;
    // A count does not care what runs beside it: the instructions measure takes every core
    // this process may use unless told otherwise, SMT siblings included.
    let counting = !sampling.measure.is_time();
    let every_core = crate::util::allowed_cores();
    let configured = match (counting, sampling.cores.is_empty()) {
        (true, true) => &every_core,
        _ => &sampling.cores,
    };
    let cores = choose_cores(sampling.pin, configured, &request.cores_origin)?;
    let system = doctor::Tree::new(Path::new("/"));
    let allowed = sampling.allow_smt_siblings || counting;
    refuse_smt_siblings(&system, &cores, allowed, &request.cores_origin)?;
    Ok(Schedule {
        // Its family is known once the tests are selected (`measure`).
        stopping: super::round_policy::stopping_rule(sampling, compare, request.purpose, 1),
        budget: sampling.budget.as_deref().map(parse_duration).transpose()?,
        timeout: Duration::from_secs(sampling.timeout_seconds),
        cores,
        seed: request.seed.unwrap_or_else(clock_seed),
        progress: request.progress,
        disturbance: sampling.disturbance,
        measure: sampling.measure,
    })
}

/// The doctor's quick look at the cores the run pins to: its warnings on stderr, one line
/// each, and everything it found for the results.
fn check_runner(schedule: &Schedule) -> Environment {
    let pinned: Vec<usize> = schedule.cores.iter().flatten().copied().collect();
    let environment = doctor::examine(&doctor::Probe::quick(), &pinned);
    // What the doctor warns about (load, interrupts, frequency, a VM) moves time, not counts:
    // recorded, not told.
    if !schedule.measure.is_time() {
        return environment;
    }
    for check in environment.with_status(CheckStatus::Warn) {
        eprintln!("doctor: warn {}", doctor::sentence(check));
    }
    environment
}

/// A fresh start, or the interrupted run of `out` picked up (with its own seed and shard).
/// A resumed run keeps the environment its start recorded, if it recorded one.
fn start(
    request: &MeasureRequest,
    suite: &crate::build::Suite,
    runtimes: &[super::runtime::Runtime],
    schedule: &Schedule,
    out: &Path,
    environment: Environment,
) -> Result<Start> {
    if !request.resume {
        let mut start = Start::fresh(suite, runtimes, schedule, Some(environment));
        start.results.shard = request.shard;
        return Ok(start);
    }
    let mut start = Start::resume(out, suite, runtimes, schedule.measure)?;
    let recorded = &mut start.results.machine.environment;
    recorded.get_or_insert(environment);
    if start.results.shard != request.shard {
        bail!(
            "{} was measured with --shard {}: resume it with the same shard",
            out.display(),
            start
                .results
                .shard
                .map(|s| s.to_string())
                .unwrap_or("(none)".into())
        );
    }
    Ok(start)
}

/// One line on the ahead-of-time steps: their time is never part of a sample, but it is told.
fn report_aot(records: &[AotRecord]) {
    if records.is_empty() {
        return;
    }
    let compiled: Vec<_> = records.iter().filter(|r| !r.cached).collect();
    let failed = records.iter().filter(|r| r.error.is_some()).count();
    eprintln!(
        "ahead-of-time: {} modules compiled in {:.1} s, {} cached, {failed} failed",
        compiled.len(),
        // Adding 0.0: a float sum of nothing is -0.0, which prints as "-0.0 s".
        compiled.iter().map(|r| r.seconds).sum::<f64>() + 0.0,
        records.len() - compiled.len()
    );
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Ctrl-C and SIGTERM raise STOP: the run kills the samples in flight and writes what it has.
pub(super) fn install_stop_handler() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    });
}
