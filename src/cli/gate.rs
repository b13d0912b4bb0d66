//! `wasmgate gate`: setup, build, run and report in one step. With `--base`/`--head` (two
//! runtimes of this run) or `--baseline FILE` it also compares, and exits 1 on a regression.

use super::{Against, Context, EXIT_INTERRUPTED, EXIT_REGRESSION};
use crate::compare::judge::GateOutcome;
use crate::report::{Format, render_comparison, render_results};
use crate::run::adapter::RuntimeRequest;
use crate::run::measure::MeasureRequest;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// Runtimes, as for `run` [default: run.runtimes]
    #[arg(long = "runtime", value_name = "SPEC")]
    pub runtimes: Vec<RuntimeRequest>,
    #[command(flatten)]
    pub against: Against,
    #[command(flatten)]
    pub sampling: super::SamplingArgs,
    /// Only these tests (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub tests: Vec<String>,
    /// Results file [default: gate.results]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Markdown report [default: gate.report]
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: GateArgs) -> Result<u8> {
    let gate = &ctx.loaded.config.gate;
    let results_path = args.out.clone().unwrap_or_else(|| gate.results.clone());
    let report_path = args.report.clone().unwrap_or_else(|| gate.report.clone());
    let defaults = ctx.loaded.config.gate_sampling();
    let overrides = args.sampling.overrides();
    let request = MeasureRequest::from_overrides(
        &ctx.loaded,
        &args.runtimes,
        &args.tests,
        &overrides,
        defaults,
    )?;
    let against = args.against.plain();
    if let Some(baseline) = &against.baseline {
        for output in [&results_path, &report_path] {
            crate::model::check_not_an_input(output, &[baseline.as_path()])?;
        }
    }
    let outcome =
        crate::compare::judge::gate(&ctx.with_plan()?, &request, &results_path, &against)?;
    let actions = crate::publish::ActionsEnv::from_env();
    match outcome {
        GateOutcome::Interrupted => {
            eprintln!("interrupted; results so far in {}", results_path.display());
            Ok(EXIT_INTERRUPTED)
        }
        GateOutcome::Measured(results) => {
            print!("{}", render_results(&results, Format::Terminal)?);
            let markdown = render_results(&results, Format::Markdown)?;
            crate::model::write_atomic(&report_path, markdown.as_bytes())?;
            actions.tell_files(&[("results", &results_path), ("report", &report_path)])?;
            Ok(0)
        }
        GateOutcome::Judged(comparison) => {
            let presentation = actions.presentation();
            print!(
                "{}",
                render_comparison(&comparison, Format::Terminal, &presentation)?
            );
            let markdown = render_comparison(&comparison, Format::Markdown, &presentation)?;
            crate::model::write_atomic(&report_path, markdown.as_bytes())?;
            let comparison_path = results_path.with_extension("comparison.json");
            crate::model::write_json(&comparison_path, &comparison)?;
            write_profiles(&comparison, &results_path.with_extension("evidence"))?;
            actions.tell_files(&[
                ("results", &results_path),
                ("report", &report_path),
                ("comparison", &comparison_path),
            ])?;
            Ok(if comparison.gate_failed {
                EXIT_REGRESSION
            } else {
                0
            })
        }
    }
}

/// Each profile of the evidence as folded stacks and a flame graph, in `dir` beside the
/// results (for the artifact); nothing is written when there is no profile.
fn write_profiles(comparison: &crate::model::Comparison, dir: &std::path::Path) -> Result<()> {
    let files = crate::report::evidence::profile_files(comparison);
    if files.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", dir.display()))?;
    for (name, text) in files {
        crate::model::write_atomic(&dir.join(name), text.as_bytes())?;
    }
    eprintln!(
        "evidence: each side's profile (folded stacks, flame graph) in {}",
        dir.display()
    );
    Ok(())
}
