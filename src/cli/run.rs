//! `wasmgate run`: build (or find) the suite, resolve the runtimes, measure.

use super::{Context, RunArgs, SamplingArgs};
use crate::config::{RunConfig, TestFilter, parse_duration};
use crate::model::{Results, SampleStatus, Shard};
use crate::run::adapter::{RuntimeRequest, resolve};
use crate::run::scheduler::Schedule;
use crate::run::{STOP, Start, choose_cores, select_tests};
use crate::stats::stopping::Stopping;
use anyhow::Result;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Exit code of a run stopped by Ctrl-C or SIGTERM (its samples are kept).
pub const EXIT_INTERRUPTED: u8 = 130;

/// What a measurement is asked to do, after the command line and the config are merged.
pub struct Request<'a> {
    pub runtimes: &'a [RuntimeRequest],
    pub tests: &'a [String],
    pub min_samples: u32,
    pub max_samples: u32,
    pub precision: f64,
    pub budget: Option<String>,
    pub seed: Option<u64>,
    pub resume: bool,
    pub progress: bool,
    pub shard: Option<Shard>,
    pub cores: Vec<usize>,
}

impl<'a> Request<'a> {
    /// The command line's sampling flags over the configured defaults.
    pub fn new(
        runtimes: &'a [RuntimeRequest],
        tests: &'a [String],
        sampling: &SamplingArgs,
        defaults: &RunConfig,
    ) -> Result<Request<'a>> {
        let min_samples = sampling.samples.unwrap_or(defaults.samples);
        if min_samples == 0 {
            anyhow::bail!("--samples must be at least 1");
        }
        Ok(Request {
            runtimes,
            tests,
            min_samples,
            max_samples: sampling
                .max_samples
                .unwrap_or(defaults.max_samples)
                .max(min_samples),
            precision: sampling.precision.unwrap_or(defaults.precision),
            budget: sampling.budget.clone().or(defaults.budget.clone()),
            seed: None,
            resume: false,
            progress: true,
            shard: None,
            cores: if sampling.cores.is_empty() {
                defaults.cores.clone()
            } else {
                sampling.cores.clone()
            },
        })
    }
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<u8> {
    let mut request = Request::new(
        &args.runtimes,
        &args.tests,
        &args.sampling,
        &ctx.loaded.config.run,
    )?;
    request.seed = args.seed;
    request.resume = args.resume;
    request.progress = !args.quiet;
    request.shard = args.shard;
    let results = measure(ctx, &request, &args.out)?;
    print_outcome(&results, &args.out);
    Ok(if results.complete {
        0
    } else {
        EXIT_INTERRUPTED
    })
}

/// Everything between the configuration and a results file; shared with `gate`.
pub fn measure(ctx: &Context, request: &Request, out: &Path) -> Result<Results> {
    let config = &ctx.loaded.config;
    let home = ctx.home()?;
    let (suite, _) = super::build::build_suite(ctx)?;
    let default_requests: Vec<RuntimeRequest>;
    let requests = if request.runtimes.is_empty() {
        default_requests = config
            .run
            .runtimes
            .iter()
            .map(|name| name.parse().map_err(anyhow::Error::msg))
            .collect::<Result<_>>()?;
        &default_requests
    } else {
        request.runtimes
    };
    let mut runtimes = requests
        .iter()
        .map(|r| resolve(&ctx.loaded, &home, r))
        .collect::<Result<Vec<_>>>()?;
    let filter = TestFilter {
        include: if request.tests.is_empty() {
            config.tests.include.clone()
        } else {
            request.tests.to_vec()
        },
        exclude: config.tests.exclude.clone(),
    };
    let mut tests = select_tests(&suite, &filter)?;
    if let Some(shard) = request.shard {
        tests = shard.select(tests);
        if tests.is_empty() {
            anyhow::bail!("shard {shard} has no test: fewer tests are selected than shards");
        }
    }
    if runtimes.iter().any(|r| r.is_native()) {
        let inputs = crate::build::prepare(config, &home)?;
        let executables = crate::build::build_native(&inputs, &home, &suite)?;
        runtimes
            .iter_mut()
            .for_each(|r| r.use_native_build(&executables));
    }
    let aot: Vec<_> = runtimes
        .iter_mut()
        .flat_map(|runtime| runtime.prepare_aot(&home, &suite, &tests))
        .collect();
    report_aot(&aot);
    let mut schedule = Schedule {
        stopping: Stopping {
            min_samples: request.min_samples,
            max_samples: request.max_samples,
            precision: request.precision,
            min_effect: config.compare.min_effect,
        },
        budget: request.budget.as_deref().map(parse_duration).transpose()?,
        timeout: Duration::from_secs(config.run.timeout_seconds),
        cores: choose_cores(config.run.pin, &request.cores, &cores_origin(ctx, request))?,
        seed: request.seed.unwrap_or_else(clock_seed),
        progress: request.progress,
    };
    let mut start = if request.resume {
        let start = Start::resume(out, &suite, &runtimes)?;
        if start.results.shard != request.shard {
            anyhow::bail!(
                "{} was measured with --shard {}: resume it with the same shard",
                out.display(),
                start
                    .results
                    .shard
                    .map(|s| s.to_string())
                    .unwrap_or("(none)".into())
            );
        }
        schedule.seed = start.results.seed;
        start
    } else {
        let mut start = Start::fresh(&suite, &runtimes, &schedule);
        start.results.shard = request.shard;
        start
    };
    start.results.aot.extend(aot);
    install_stop_handler();
    crate::run::run(&suite, &runtimes, &tests, &schedule, start, out)
}

/// Where the cores came from: the flag, or the config's field.
fn cores_origin(ctx: &Context, request: &Request) -> String {
    if request.cores != ctx.loaded.config.run.cores {
        "--cores".to_string()
    } else {
        format!("{}: field `run.cores`", ctx.loaded.origin())
    }
}

fn print_outcome(results: &Results, out: &Path) {
    let failed = results
        .samples
        .iter()
        .filter(|s| s.status != SampleStatus::Ok)
        .count();
    let ending = match (results.complete, results.budget_spent) {
        (false, _) => ", run interrupted (continue it with --resume),",
        (true, true) => ", budget spent,",
        (true, false) => "",
    };
    eprintln!(
        "{} samples ({failed} failed){ending} written to {}",
        results.samples.len(),
        out.display()
    );
}

/// One line on the ahead-of-time steps: their time is never part of a sample, but it is told.
fn report_aot(records: &[crate::model::AotRecord]) {
    if records.is_empty() {
        return;
    }
    let compiled: Vec<_> = records.iter().filter(|r| !r.cached).collect();
    let failed = records.iter().filter(|r| r.error.is_some()).count();
    eprintln!(
        "ahead-of-time: {} modules compiled in {:.1} s, {} cached, {failed} failed",
        compiled.len(),
        compiled.iter().map(|r| r.seconds).sum::<f64>(),
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
fn install_stop_handler() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    });
}

/// `wasmgate merge`: the shards' results, checked and combined, written atomically.
pub fn merge(ctx: &Context, shards: &[std::path::PathBuf], out: &Path) -> Result<u8> {
    let read = shards
        .iter()
        .map(|path| Ok((path.clone(), crate::run::read_results(path)?)))
        .collect::<Result<Vec<_>>>()?;
    let merged = crate::run::merge::merge(&read, ctx.loaded.config.merge.same_machine)?;
    crate::model::write_json(out, &merged)?;
    print_outcome(&merged, out);
    Ok(0)
}
