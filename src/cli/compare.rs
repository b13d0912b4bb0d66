//! `wasmgate compare RESULTS`: head against base (same run) or against a stored baseline;
//! exit 1 when the gate rule fails.

use super::Context;
use crate::compare::baseline::{side_from_baseline, side_from_results};
use crate::compare::{check_alike, compare, settings};
use crate::model::Comparison;
use crate::report::Format;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// Exit code when the gate finds a regression it is told to fail on.
pub const EXIT_REGRESSION: u8 = 1;

/// What the head runtime is compared with; shared by `compare` and `gate`.
#[derive(clap::Args, Debug)]
pub struct Against {
    /// The base runtime's label in the results (same-run A/B)
    #[arg(long, conflicts_with = "baseline")]
    pub base: Option<String>,
    /// The head runtime's label in the results [default: its only runtime]
    #[arg(long)]
    pub head: Option<String>,
    /// A stored baseline to compare with, instead of --base
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Compare even across suites or machines (the report then says so first)
    #[arg(long)]
    pub allow_foreign: bool,
}

impl Against {
    /// Whether anything to compare with was given.
    pub fn is_given(&self) -> bool {
        self.base.is_some() || self.baseline.is_some()
    }
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Results of the run to judge
    pub results: PathBuf,
    #[command(flatten)]
    pub against: Against,
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
    let comparison = judge(ctx, &args.results, &args.against)?;
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
pub fn judge(ctx: &Context, results_path: &Path, against: &Against) -> Result<Comparison> {
    let results = crate::run::read_results(results_path)?;
    let head = side_from_results(&results, against.head.as_deref(), results_path)?;
    let baseline = against.baseline.as_deref();
    let base = match (against.base.as_deref(), baseline) {
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
    let foreign = check_alike(&base, &head, against.allow_foreign)?;
    // Two runtimes of one run were measured round by round, back to back: compare them in
    // pairs, which cancels the machine's drift. A baseline comes from another run.
    let paired = baseline.is_none();
    let settings = settings(&ctx.loaded.config.compare);
    Ok(compare(&base, &head, &settings, paired, foreign))
}

/// The comparison in a format; markdown links the CI run that measured it, when there is one.
pub fn render(comparison: &Comparison, format: Format) -> Result<String> {
    let presentation = crate::report::Presentation {
        run_url: crate::publish::ActionsEnv::from_env().run_url(),
        compact: false,
    };
    crate::report::render_comparison(comparison, format, &presentation)
}
