//! `wasmgate baseline update RESULTS`: store a runtime's samples as the runner's baseline;
//! `wasmgate baseline history RESULTS`: only add the run to the baseline's history;
//! `wasmgate baseline path`: where this machine's baseline of a runtime lives.

use super::Context;
use crate::compare::baseline::{baseline_path, record_history, side_from_results, update};
use crate::model::{Comparison, Verdict};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum BaselineCommand {
    /// Store a runtime's samples from RESULTS as the baseline, and append to its history
    Update {
        results: PathBuf,
        #[command(flatten)]
        stored: Stored,
    },
    /// Print where this machine's baseline of a runtime is (it may not exist yet)
    Path {
        /// The runtime's label
        #[arg(long)]
        runtime: String,
        #[arg(long, default_value = "local", env = "WASMGATE_RUNNER")]
        runner: String,
        #[arg(long, default_value = "baselines")]
        dir: PathBuf,
    },
    /// Append RESULTS to the history beside the runner's baseline, keeping the baseline
    History {
        results: PathBuf,
        #[command(flatten)]
        stored: Stored,
        /// The comparison of this run with the baseline: its regressions are marked
        #[arg(long)]
        comparison: Option<PathBuf>,
    },
}

/// Which runtime, runner and commit a stored entry is about.
#[derive(clap::Args, Debug)]
pub struct Stored {
    /// The runtime's label in RESULTS [default: its only runtime]
    #[arg(long)]
    runtime: Option<String>,
    /// The runner's label; with the machine's fingerprint it names the baseline's folder
    #[arg(long, default_value = "local", env = "WASMGATE_RUNNER")]
    runner: String,
    /// The commit the runtime was built from [default: $GITHUB_SHA]
    #[arg(long, env = "GITHUB_SHA")]
    commit: Option<String>,
    /// The baselines directory
    #[arg(long, default_value = "baselines")]
    dir: PathBuf,
}

pub fn run(_ctx: &Context, command: BaselineCommand) -> Result<u8> {
    match command {
        BaselineCommand::Update {
            results: path,
            stored,
        } => {
            let results = crate::run::read_results(&path)?;
            let side = side_from_results(&results, stored.runtime.as_deref(), &path)?;
            let written = update(&stored.dir, &results, &side, &stored.runner, stored.commit)?;
            println!(
                "baseline of {} stored in {}",
                side.info.label,
                written.display()
            );
        }
        BaselineCommand::Path {
            runtime,
            runner,
            dir,
        } => {
            let machine = crate::run::machine::fingerprint(Vec::new());
            let path = baseline_path(&dir, &runner, &machine.fingerprint, &runtime);
            println!("{}", path.display());
        }
        BaselineCommand::History {
            results: path,
            stored,
            comparison,
        } => {
            let results = crate::run::read_results(&path)?;
            let side = side_from_results(&results, stored.runtime.as_deref(), &path)?;
            let regressions = match comparison {
                Some(file) => regressed_tests(&crate::model::read_json(&file)?),
                None => Vec::new(),
            };
            let written = record_history(
                &stored.dir,
                &results,
                &side,
                &stored.runner,
                stored.commit,
                regressions,
            )?;
            println!(
                "history of {} appended to {}",
                side.info.label,
                written.display()
            );
        }
    }
    Ok(0)
}

fn regressed_tests(comparison: &Comparison) -> Vec<String> {
    comparison
        .tests_with(Verdict::Regression)
        .map(|t| t.test.clone())
        .collect()
}
