//! `wasmgate gate`: setup, build, run and report on the configured runtimes, in one step.

use super::{Context, Format};
use anyhow::Result;

pub fn run(ctx: &Context, samples: Option<u32>, tests: Vec<String>) -> Result<u8> {
    let gate = &ctx.loaded.config.gate;
    let samples = samples.unwrap_or(gate.samples);
    let results = super::run::measure(ctx, &[], samples, &tests, &gate.results, None, true)?;
    print!("{}", super::report::render(&results, Format::Terminal)?);
    let markdown = super::report::render(&results, Format::Markdown)?;
    crate::model::write_atomic(&gate.report, markdown.as_bytes())?;
    eprintln!(
        "results: {} · markdown report: {}",
        gate.results.display(),
        gate.report.display()
    );
    Ok(if results.complete {
        0
    } else {
        super::run::EXIT_INTERRUPTED
    })
}
