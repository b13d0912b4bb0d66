//! `wasmgate report RESULTS...`: results as a table, a markdown or HTML report, or JSON; with
//! the published 2023 results beside them and the trends of baseline histories, if asked.

use crate::report::{
    Format, Summary, chained, combine, published, render_summary, summarize, trends,
};
use anyhow::{Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Results files (or journals of interrupted runs); several are reported together, with
    /// what differs between them stated
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: Format,
    /// Write the report here instead of standard output
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Add the published 2023 results ("then vs now"), runtime by runtime
    #[arg(long)]
    pub then_now: bool,
    /// A baseline history file (baselines/.../RUNTIME.history.jsonl) to chart as trends;
    /// repeat for several runtimes
    #[arg(long = "history", value_name = "FILE")]
    pub histories: Vec<PathBuf>,
    /// A differential nightly's history (nightly.history.jsonl, a night a line with its paired
    /// links to earlier nights) to chart as chained trends; repeat for several runtimes
    #[arg(long = "nightly-history", value_name = "FILE")]
    pub nightly_histories: Vec<PathBuf>,
}

pub fn run(args: ReportArgs) -> Result<u8> {
    let files = (args.results.iter())
        .map(|path| Ok((path.clone(), crate::run::read_results(path)?)))
        .collect::<Result<Vec<_>>>()?;
    let (results, differences) = combine::combine(&files)?;
    let mut summary = summarize(&results);
    summary.differences = differences;
    if args.then_now {
        summary.then_now = Some(published::then_now(&summary)?);
    }
    summary.trends = read_trends(&args.histories)?;
    read_nightly(&args.nightly_histories, &mut summary)?;
    let text = render_summary(&summary, args.format)?;
    match &args.out {
        Some(path) => {
            crate::model::write_atomic(path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(0)
}

fn read_trends(paths: &[PathBuf]) -> Result<Vec<trends::Trend>> {
    let histories = (paths.iter())
        .map(|path: &PathBuf| {
            let entries = crate::compare::baseline::read_history(path)?;
            if entries.is_empty() {
                bail!("{}: the history has no nights yet; it grows with `wasmgate baseline update` and `baseline history`", path.display());
            }
            Ok((trends::label_of(Path::new(path)), entries))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(trends::trends(&histories))
}

fn read_nightly(paths: &[PathBuf], summary: &mut Summary) -> Result<()> {
    for path in paths {
        let nights = chained::read_nightly_history(path)?;
        if nights.iter().all(|n| n.links.is_empty()) {
            bail!(
                "{}: the nightly history has no links to earlier nights yet; it grows a night at a time with `wasmgate nightly`",
                path.display()
            );
        }
        let label = chained::label_of(path, &nights);
        let found = chained::chained(&label, &nights);
        chained::merge(&mut summary.trends, found.trends);
        summary
            .test_trends
            .extend(chained::regressed_tests(&found.tests));
        let many = paths.len() > 1;
        summary.trend_notes.extend(
            (found.notes.into_iter()).map(|n| if many { format!("{label}: {n}") } else { n }),
        );
    }
    Ok(())
}
