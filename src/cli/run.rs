//! `wasmgate run` and `wasmgate merge`: flags into a request for the run stage, then the outcome
//! in one line.

use super::{Context, RunArgs, SamplingArgs};
use crate::config::{RunConfig, Sources};
use crate::model::Results;
use crate::run::adapter::RuntimeRequest;
use crate::run::measure::{Request, measure};
use anyhow::Result;
use std::path::Path;

/// Exit code of a run stopped by Ctrl-C or SIGTERM (its samples are kept).
pub const EXIT_INTERRUPTED: u8 = 130;

/// A request for the run stage: these runtimes and tests, the sampling flags over `defaults`
/// (whose fields `sources` names), checked by the configuration's own rules.
pub fn request(
    ctx: &Context,
    runtimes: &[RuntimeRequest],
    tests: &[String],
    sampling: &SamplingArgs,
    (defaults, sources): (&RunConfig, Sources),
) -> Result<Request> {
    let overrides = sampling.overrides();
    let checked = overrides
        .apply(defaults, sources)
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let cores_origin = if overrides.cores.is_empty() {
        format!("{}: field `run.cores`", ctx.loaded.origin())
    } else {
        "--cores".to_string()
    };
    Ok(Request {
        runtimes: runtimes.to_vec(),
        tests: tests.to_vec(),
        sampling: checked,
        cores_origin,
        seed: None,
        resume: false,
        progress: true,
        shard: None,
    })
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<u8> {
    let defaults = (&ctx.loaded.config.run, Sources::run_fields());
    let request = Request {
        seed: args.seed,
        resume: args.resume,
        progress: !args.quiet,
        shard: args.shard,
        ..request(ctx, &args.runtimes, &args.tests, &args.sampling, defaults)?
    };
    let results = measure(&ctx.with_plan()?, &request, &args.out)?;
    print_outcome(&results, &args.out);
    Ok(if results.complete {
        0
    } else {
        EXIT_INTERRUPTED
    })
}

fn print_outcome(results: &Results, out: &Path) {
    let failed = results.samples.iter().filter(|s| s.failed()).count();
    let disturbed = match results.samples.iter().filter(|s| s.disturbed()).count() {
        0 => String::new(),
        n => format!(", {n} disturbed and measured again"),
    };
    let ending = match (results.complete, results.budget_spent) {
        (false, _) => ", run interrupted (continue it with --resume),",
        (true, true) => ", budget spent,",
        (true, false) => "",
    };
    eprintln!(
        "{} samples ({failed} failed{disturbed}){ending} written to {}",
        results.samples.len(),
        out.display()
    );
}

/// `wasmgate merge`: the shards' results, checked and combined, written atomically.
pub fn merge(ctx: &Context, shards: &[std::path::PathBuf], out: &Path) -> Result<u8> {
    let merged = crate::run::merge::merge_files(shards, ctx.loaded.config.merge.same_machine)?;
    crate::model::write_json(out, &merged)?;
    print_outcome(&merged, out);
    Ok(0)
}
