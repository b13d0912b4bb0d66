//! `wasmgate gate`: setup, build, run and report in one step. With `--base`/`--head` (two
//! runtimes of this run) or `--baseline FILE` it also compares, and exits 1 on a regression.

use super::Context;
use crate::report::{Format, render_results};
use crate::run::adapter::RuntimeRequest;
use anyhow::Result;
use std::path::{Path, PathBuf};

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
    /// Results file [default: gate.results]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Markdown report [default: gate.report]
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: GateArgs) -> Result<u8> {
    let config = &ctx.loaded.config;
    let gate = &config.gate;
    let results_path = args.out.clone().unwrap_or_else(|| gate.results.clone());
    let report_path = args.report.clone().unwrap_or_else(|| gate.report.clone());
    let (defaults, sources) = config.gate_sampling();
    let request = super::run::request(
        ctx,
        &args.runtimes,
        &args.tests,
        &args.sampling,
        (&defaults, sources),
    )?;
    let loaded = ctx.with_plan()?;
    if let Some(baseline) = &args.against.baseline {
        let config = &loaded.config;
        let measure = request.sampling.measure;
        let allowed = (measure, args.against.allow_foreign);
        crate::compare::judge::check_baseline_first(baseline, config, allowed)?;
    }
    let results = crate::run::measure::measure(&loaded, &request, &results_path)?;
    if !results.complete {
        eprintln!("interrupted; results so far in {}", results_path.display());
        return Ok(super::run::EXIT_INTERRUPTED);
    }
    if !args.against.is_given() {
        print!("{}", render_results(&results, Format::Terminal)?);
        let markdown = render_results(&results, Format::Markdown)?;
        crate::model::write_atomic(&report_path, markdown.as_bytes())?;
        tell_files(&[("results", &results_path), ("report", &report_path)])?;
        return Ok(0);
    }
    let comparison = super::compare::judge(ctx, &results_path, &args.against)?;
    print!("{}", super::compare::render(&comparison, Format::Terminal)?);
    let markdown = super::compare::render(&comparison, Format::Markdown)?;
    crate::model::write_atomic(&report_path, markdown.as_bytes())?;
    let comparison_path = results_path.with_extension("comparison.json");
    crate::model::write_json(&comparison_path, &comparison)?;
    tell_files(&[
        ("results", &results_path),
        ("report", &report_path),
        ("comparison", &comparison_path),
    ])?;
    Ok(if comparison.gate_failed {
        super::compare::EXIT_REGRESSION
    } else {
        0
    })
}

/// Says where the files are: on stderr, and as step outputs in GitHub Actions.
pub(super) fn tell_files(files: &[(&str, &Path)]) -> Result<()> {
    let told: Vec<String> = files
        .iter()
        .map(|(name, path)| format!("{name}: {}", path.display()))
        .collect();
    eprintln!("{}", told.join(" · "));
    crate::publish::ActionsEnv::from_env().write_file_outputs(files)
}
