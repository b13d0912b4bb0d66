//! `wasmgate build`: the suite for the configured plan.

use super::Context;
use crate::build::BuildOutcome;
use anyhow::Result;
use std::time::Instant;

pub fn run(ctx: &Context) -> Result<u8> {
    let started = Instant::now();
    let (suite, outcome) = crate::build::build_configured(&ctx.loaded.config, &ctx.home()?)?;
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
