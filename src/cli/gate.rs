//! `wasmgate gate`: setup, build, run and report in one step. With `--base`/`--head` (two
//! runtimes of this run) or `--baseline FILE` it also compares, and exits 1 on a regression.

use super::{Context, Format};
use crate::run::adapter::RuntimeRequest;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// Runtimes, as for `run` [default: run.runtimes]
    #[arg(long = "runtime", value_name = "SPEC")]
    pub runtimes: Vec<RuntimeRequest>,
    #[command(flatten)]
    pub against: super::compare::Against,
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
    if !args.against.is_given() {
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
    let comparison = super::compare::judge(ctx, &gate.results, &args.against)?;
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
