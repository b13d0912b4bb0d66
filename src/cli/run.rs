//! `wasmgate run` and `wasmgate merge`: flags into a request for the run stage, then the outcome
//! in one line.

use super::{Context, EXIT_INTERRUPTED, RunArgs};
use crate::model::Results;
use crate::run::measure::{MeasureRequest, measure};
use anyhow::Result;
use std::path::Path;

pub fn run(ctx: &Context, args: RunArgs) -> Result<u8> {
    let defaults = ctx.loaded.config.run_sampling();
    let overrides = args.sampling.overrides();
    let request = MeasureRequest {
        seed: args.seed,
        resume: args.resume,
        progress: !args.quiet,
        shard: args.shard,
        ..MeasureRequest::from_overrides(
            &ctx.loaded,
            &args.runtimes,
            &args.tests,
            &overrides,
            defaults,
        )?
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
    let inputs: Vec<&Path> = shards.iter().map(std::path::PathBuf::as_path).collect();
    crate::model::check_not_an_input(out, &inputs)?;
    let merged = crate::run::merge::merge_files(shards, &ctx.loaded.config.merge)?;
    crate::model::write_json(out, &merged)?;
    print_outcome(&merged, out);
    Ok(0)
}
