//! `wasmgate nightly`: tonight's runtime build against the kept builds of earlier nights, in
//! one paired run; exits 1 when the nearest night's link fails the gate rule.

use super::{Context, EXIT_INTERRUPTED, EXIT_REGRESSION};
use crate::nightly::{NightlyOutcome, NightlyRequest};
use crate::report::{Format, render_comparison};
use crate::run::measure::MeasureRequest;
use anyhow::Result;
use std::path::PathBuf;

/// Exit code of a night whose commit the last kept night measured already: nothing new to
/// measure, which a scheduled job may take as a quiet night.
pub const EXIT_ALREADY_MEASURED: u8 = 3;

#[derive(clap::Args, Debug)]
pub struct NightlyArgs {
    /// The runtime of the configuration whose commands run every night's binary, e.g. wasmtime
    #[arg(long, value_name = "NAME")]
    pub adapter: String,
    /// Tonight's runtime binary
    #[arg(long, value_name = "PATH")]
    pub binary: PathBuf,
    /// The commit tonight's binary was built from [default: GITHUB_SHA]
    #[arg(long, env = "GITHUB_SHA", value_name = "SHA", value_parser = super::commit_id)]
    pub commit: String,
    /// The kept-builds folder: earlier nights' binaries, nights.json and nightly.history.jsonl
    #[arg(long, value_name = "DIR")]
    pub kept: PathBuf,
    /// This runner's label, recorded with the night
    #[arg(long, default_value = "ci")]
    pub runner: String,
    #[command(flatten)]
    pub sampling: super::SamplingArgs,
    /// Only these tests (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub tests: Vec<String>,
    /// Prefix of the files written: PREFIX.results.json, PREFIX.comparison.json (last night),
    /// PREFIX.t-N.comparison.json (N nights back), PREFIX.report.md
    #[arg(long, default_value = "nightly", value_name = "PREFIX")]
    pub out: PathBuf,
    /// Measure a commit the last kept night already measured (it replaces that night)
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Context, args: NightlyArgs) -> Result<u8> {
    let defaults = ctx.loaded.config.gate_sampling();
    // A budget given on the command line bounds the night; the configured one each link.
    let budget_per_link = args.sampling.budget.is_none();
    let overrides = args.sampling.overrides();
    let measure =
        MeasureRequest::from_overrides(&ctx.loaded, &[], &args.tests, &overrides, defaults)?;
    let request = NightlyRequest {
        adapter: args.adapter,
        binary: args.binary,
        commit: args.commit,
        kept: args.kept,
        runner: args.runner,
        prefix: args.out,
        force: args.force,
        measure,
        budget_per_link,
    };
    let outcome = crate::nightly::run(&ctx.with_plan()?, &request)?;
    let report_path = PathBuf::from(format!("{}.report.md", request.prefix.display()));
    let actions = crate::publish::ActionsEnv::from_env();
    match &outcome {
        NightlyOutcome::AlreadyMeasured(said) => {
            eprintln!("wasmgate: {said}");
            Ok(EXIT_ALREADY_MEASURED)
        }
        NightlyOutcome::Interrupted { results } => {
            eprintln!(
                "interrupted; nothing recorded or kept; results so far in {}",
                results.display()
            );
            Ok(EXIT_INTERRUPTED)
        }
        NightlyOutcome::First {
            results,
            history,
            kept,
        } => {
            println!("first night: nothing to compare with; kept for tomorrow");
            eprintln!("{}", kept_line(&request, kept));
            actions.tell_files(&[("results", results), ("history", history)])?;
            Ok(0)
        }
        NightlyOutcome::Compared {
            results,
            links,
            history,
            kept,
        } => {
            let nearest = &links[0];
            let presentation = actions.presentation();
            let terminal = render_comparison(&nearest.comparison, Format::Terminal, &presentation)?;
            print!("{terminal}");
            let lines = crate::report::nightly::link_lines(links, &outcome.drift());
            println!("{}", lines.join("\n"));
            eprintln!("{}", kept_line(&request, kept));
            let markdown = crate::report::nightly::markdown(nearest, &lines, &presentation)?;
            crate::model::write_atomic(&report_path, markdown.as_bytes())?;
            actions.tell_files(&[
                ("results", results),
                ("report", &report_path),
                ("comparison", &nearest.path),
                ("history", history),
            ])?;
            Ok(if nearest.comparison.gate_failed {
                EXIT_REGRESSION
            } else {
                0
            })
        }
    }
}

/// Where tonight's build went, and what was pruned.
fn kept_line(request: &NightlyRequest, kept: &crate::nightly::kept::Kept) -> String {
    let pruned = match kept.pruned.len() {
        0 => String::new(),
        n => format!("; pruned {n} no later night links to"),
    };
    format!(
        "kept tonight's build ({}) in {}: {} builds kept{pruned}",
        crate::util::short_commit(&request.commit),
        request.kept.display(),
        kept.index.builds.len()
    )
}
