//! `wasmgate build`: the suite for the configured plan.

use super::Context;
use crate::build::BuildOutcome;
use anyhow::Result;
use std::time::Instant;

pub fn run(ctx: &Context) -> Result<u8> {
    let started = Instant::now();
    let loaded = ctx.with_plan()?;
    let (suite, outcome) = crate::build::build_configured(&loaded.config, &ctx.home()?)?;
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
    if let Some(plan) = &suite.manifest.plan {
        println!(
            "plan: {} ({}, {} s a sample)",
            plan.source.describe(),
            plan.calibrated_on,
            plan.target_seconds
        );
    }
    Ok(0)
}
