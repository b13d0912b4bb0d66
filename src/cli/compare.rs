//! `wasmgate compare RESULTS`: head against base (same run) or against a stored baseline;
//! exit 1 when the gate rule fails.

use super::{Context, Format};
use crate::compare::baseline::{side_from_baseline, side_from_results};
use crate::compare::{check_alike, compare, settings};
use crate::model::Comparison;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// Exit code when the gate finds a regression it is told to fail on.
pub const EXIT_REGRESSION: u8 = 1;

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Results of the run to judge
    pub results: PathBuf,
    /// The base runtime's label in RESULTS (same-run A/B)
    #[arg(long, conflicts_with = "baseline")]
    pub base: Option<String>,
    /// The head runtime's label in RESULTS [default: its only runtime]
    #[arg(long)]
    pub head: Option<String>,
    /// A stored baseline to compare with, instead of --base
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Compare even across suites or machines (the report then says so first)
    #[arg(long)]
    pub allow_foreign: bool,
    /// Write the comparison as JSON
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: Format,
    /// Write the formatted report here instead of standard output
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: CompareArgs) -> Result<u8> {
    let comparison = judge(
        ctx,
        &args.results,
        args.base.as_deref(),
        args.head.as_deref(),
        args.baseline.as_deref(),
        args.allow_foreign,
    )?;
    if let Some(out) = &args.out {
        crate::model::write_json(out, &comparison)?;
    }
    let text = render(&comparison, args.format)?;
    match &args.report {
        Some(path) => crate::model::write_atomic(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(if comparison.gate_failed {
        EXIT_REGRESSION
    } else {
        0
    })
}

/// Builds the comparison of a results file; shared with `gate`.
pub fn judge(
    ctx: &Context,
    results_path: &Path,
    base: Option<&str>,
    head: Option<&str>,
    baseline: Option<&Path>,
    allow_foreign: bool,
) -> Result<Comparison> {
    let results = crate::run::read_results(results_path)?;
    let head = side_from_results(&results, head, results_path)?;
    let base = match (base, baseline) {
        (Some(label), None) => side_from_results(&results, Some(label), results_path)?,
        (None, Some(path)) => side_from_baseline(path)?,
        _ => bail!(
            "say what to compare with: --base LABEL (a runtime of the same run) or --baseline FILE"
        ),
    };
    if base.info.label == head.info.label && baseline.is_none() {
        bail!(
            "--base and --head name the same runtime `{}`",
            head.info.label
        );
    }
    let foreign = check_alike(&base, &head, allow_foreign)?;
    Ok(compare(
        &base,
        &head,
        &settings(&ctx.loaded.config.compare),
        foreign,
    ))
}

pub fn render(comparison: &Comparison, format: Format) -> Result<String> {
    match format {
        Format::Terminal => Ok(crate::report::comparison::terminal(comparison)),
        Format::Markdown => crate::report::comparison::markdown(comparison),
    }
}
