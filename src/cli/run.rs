//! `wasmgate run`: build (or find) the suite, resolve the runtimes, measure.

use super::{Context, RunArgs};
use crate::config::TestFilter;
use crate::model::{Results, SampleStatus};
use crate::run::adapter::{RuntimeRequest, resolve};
use crate::run::{RunSettings, STOP, choose_core, select_tests};
use anyhow::Result;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Exit code of a run stopped by Ctrl-C or SIGTERM (its samples are kept).
pub const EXIT_INTERRUPTED: u8 = 130;

pub fn run(ctx: &Context, args: RunArgs) -> Result<u8> {
    let samples = args.samples.unwrap_or(ctx.loaded.config.run.samples);
    let results = measure(
        ctx,
        &args.runtimes,
        samples,
        &args.tests,
        &args.out,
        args.seed,
        !args.quiet,
    )?;
    print_outcome(&results, &args.out);
    Ok(if results.complete {
        0
    } else {
        EXIT_INTERRUPTED
    })
}

/// Everything between the configuration and a results file; shared with `gate`.
pub fn measure(
    ctx: &Context,
    requests: &[RuntimeRequest],
    samples: u32,
    tests: &[String],
    out: &Path,
    seed: Option<u64>,
    progress: bool,
) -> Result<Results> {
    let config = &ctx.loaded.config;
    let home = ctx.home()?;
    let (suite, _) = super::build::build_suite(ctx)?;
    let default_requests: Vec<RuntimeRequest>;
    let requests = if requests.is_empty() {
        default_requests = config
            .run
            .runtimes
            .iter()
            .map(|name| name.parse().map_err(anyhow::Error::msg))
            .collect::<Result<_>>()?;
        &default_requests
    } else {
        requests
    };
    let runtimes = requests
        .iter()
        .map(|request| resolve(&ctx.loaded, &home, request))
        .collect::<Result<Vec<_>>>()?;
    let filter = TestFilter {
        include: if tests.is_empty() {
            config.tests.include.clone()
        } else {
            tests.to_vec()
        },
        exclude: config.tests.exclude.clone(),
    };
    let tests = select_tests(&suite, &filter)?;
    let settings = RunSettings {
        samples,
        timeout: Duration::from_secs(config.run.timeout_seconds),
        core: choose_core(config.run.pin, &config.run.cores, &ctx.loaded.origin())?,
        seed: seed.unwrap_or_else(clock_seed),
        progress,
    };
    install_stop_handler();
    crate::run::run(&suite, &runtimes, &tests, &settings, out)
}

fn print_outcome(results: &Results, out: &Path) {
    let failed = results
        .samples
        .iter()
        .filter(|s| s.status != SampleStatus::Ok)
        .count();
    eprintln!(
        "{} samples ({} failed){} written to {}",
        results.samples.len(),
        failed,
        if results.complete {
            ""
        } else {
            ", run interrupted,"
        },
        out.display()
    );
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Ctrl-C and SIGTERM raise STOP: the run kills the sample in flight and writes what it has.
fn install_stop_handler() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    });
}
