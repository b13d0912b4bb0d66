//! `wasmgate build`: the suite for the configured plan.

use super::Context;
use crate::build::{BuildOutcome, Suite};
use anyhow::Result;
use std::time::Instant;

pub fn run(ctx: &Context) -> Result<u8> {
    let started = Instant::now();
    let (suite, outcome) = build_suite(ctx)?;
    let timed = suite
        .manifest
        .tests
        .iter()
        .filter(|t| !t.measures_nothing)
        .count();
    println!(
        "suite {} ({}): {} modules, {} timed, in {} ({:.1} s)",
        suite.manifest.suite_id,
        if outcome == BuildOutcome::Cached {
            "cached"
        } else {
            "built"
        },
        suite.manifest.tests.len(),
        timed,
        suite.dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}

/// Builds (or finds) the suite of the configured plan; shared by run, gate and calibrate.
pub fn build_suite(ctx: &Context) -> Result<(Suite, BuildOutcome)> {
    let home = ctx.home()?;
    let plan = crate::config::load_plan(&ctx.loaded.config)?;
    crate::build::build(&ctx.loaded.config, &home, &plan)
}
