//! `wasmgate gate`: setup, build, run and report in one step. With `--base`/`--head` (two
//! runtimes of this run) or `--baseline FILE` it also compares, and exits 1 on a regression.

use super::{Context, Format};
use crate::run::adapter::RuntimeRequest;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// Runtimes, as for `run` [default: run.runtimes]
    #[arg(long = "runtime", value_name = "SPEC")]
    pub runtimes: Vec<RuntimeRequest>,
    /// The base runtime's label, for a same-run A/B gate
    #[arg(long, requires = "head")]
    pub base: Option<String>,
    /// The head runtime's label
    #[arg(long)]
    pub head: Option<String>,
    /// A stored baseline to gate against
    #[arg(long, conflicts_with = "base")]
    pub baseline: Option<PathBuf>,
    /// Compare even across suites or machines (the report says so first)
    #[arg(long)]
    pub allow_foreign: bool,
    #[command(flatten)]
    pub sampling: super::SamplingArgs,
    /// Only these tests (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub tests: Vec<String>,
}

pub fn run(ctx: &Context, args: GateArgs) -> Result<u8> {
    let config = &ctx.loaded.config;
    let gate = &config.gate;
    let defaults = crate::config::RunConfig {
        samples: gate.samples,
        budget: gate.budget.clone(),
        ..config.run.clone()
    };
    let request = super::run::Request::new(&args.runtimes, &args.tests, &args.sampling, &defaults)?;
    let results = super::run::measure(ctx, &request, &gate.results)?;
    if !results.complete {
        eprintln!("interrupted; results so far in {}", gate.results.display());
        return Ok(super::run::EXIT_INTERRUPTED);
    }
    let comparing = args.base.is_some() || args.baseline.is_some();
    if !comparing {
        print!("{}", super::report::render(&results, Format::Terminal)?);
        let markdown = super::report::render(&results, Format::Markdown)?;
        crate::model::write_atomic(&gate.report, markdown.as_bytes())?;
        eprintln!(
            "results: {} · markdown report: {}",
            gate.results.display(),
            gate.report.display()
        );
        return Ok(0);
    }
    let comparison = super::compare::judge(
        ctx,
        &gate.results,
        args.base.as_deref(),
        args.head.as_deref(),
        args.baseline.as_deref(),
        args.allow_foreign,
    )?;
    print!("{}", super::compare::render(&comparison, Format::Terminal)?);
    let markdown = super::compare::render(&comparison, Format::Markdown)?;
    crate::model::write_atomic(&gate.report, markdown.as_bytes())?;
    crate::model::write_json(&gate.results.with_extension("comparison.json"), &comparison)?;
    eprintln!(
        "results: {} · markdown report: {}",
        gate.results.display(),
        gate.report.display()
    );
    Ok(if comparison.gate_failed {
        super::compare::EXIT_REGRESSION
    } else {
        0
    })
}
