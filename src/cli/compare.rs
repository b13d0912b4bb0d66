//! `wasmgate compare RESULTS`: head against base (same run) or against a stored baseline;
//! exit 1 when the gate rule fails.

use super::{Against, Context, EXIT_REGRESSION};
use crate::model::Comparison;
use crate::report::Format;
use anyhow::Result;
use std::path::{Path, PathBuf};

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
    /// Results of the same runtimes in another measure (--measure, e.g. time beside
    /// instructions or beside compile): print both comparisons' ratios side by side, per test,
    /// with their rank correlation and the tests they disagree on
    #[arg(long)]
    pub beside: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: CompareArgs) -> Result<u8> {
    let json_to_stdout = args
        .out
        .as_deref()
        .is_some_and(crate::model::is_standard_output);
    if json_to_stdout && args.report.as_deref() == Some(Path::new("-")) {
        anyhow::bail!("--out - and --report -: only one of them can go to standard output");
    }
    if args.beside.is_some() && (json_to_stdout || args.against.baseline.is_some()) {
        anyhow::bail!(
            "--beside puts two measures of the same run's --base and --head side by side: not with --baseline, nor with --out - (its table would spoil the JSON)"
        );
    }
    let inputs: Vec<&Path> = std::iter::once(args.results.as_path())
        .chain(args.beside.as_deref())
        .chain(args.against.baseline.as_deref())
        .collect();
    for output in [&args.out, &args.report].into_iter().flatten() {
        crate::model::check_not_an_input(output, &inputs)?;
    }
    let comparison = judge(ctx, &args.results, &args.against)?;
    if let Some(out) = &args.out {
        crate::model::write_json(out, &comparison)?;
    }
    let text = render(&comparison, args.format)?;
    match &args.report {
        Some(path) => crate::model::write_atomic(path, text.as_bytes())?,
        // The JSON asked for on standard output stays parseable.
        None if json_to_stdout => {}
        None => print!("{text}"),
    }
    if let Some(other) = &args.beside {
        let other = judge(ctx, other, &args.against)?;
        let beside = crate::report::measures::beside(&comparison, &other)?;
        print!("{}", crate::report::measures::terminal(&beside));
    }
    Ok(if comparison.gate_failed {
        EXIT_REGRESSION
    } else {
        0
    })
}

/// Builds the comparison of a results file.
fn judge(ctx: &Context, results_path: &Path, against: &Against) -> Result<Comparison> {
    crate::compare::judge::judge(results_path, &against.plain(), &ctx.loaded.config.compare)
}

/// The comparison in a format; markdown links the CI run that measured it, when there is one.
fn render(comparison: &Comparison, format: Format) -> Result<String> {
    let presentation = crate::publish::ActionsEnv::from_env().presentation();
    crate::report::render_comparison(comparison, format, &presentation)
}
