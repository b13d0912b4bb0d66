//! `wasmgate baseline update RESULTS`: store a runtime's samples as the runner's baseline;
//! `wasmgate baseline history RESULTS`: only add the run to the baseline's history;
//! `wasmgate baseline path`: where this machine's baseline of a runtime lives.

use super::Context;
use crate::compare::baseline::{Entry, append, path_here, store};
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
        /// The measure of the baseline
        #[arg(long, default_value = "time")]
        measure: crate::model::Measure,
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
    #[arg(long, env = "GITHUB_SHA", value_parser = super::commit_id)]
    commit: Option<String>,
    /// The baselines directory
    #[arg(long, default_value = "baselines")]
    dir: PathBuf,
}

impl Stored {
    fn entry(self, results: PathBuf) -> Entry {
        Entry {
            results,
            runtime: self.runtime,
            runner: self.runner,
            commit: self.commit,
            dir: self.dir,
        }
    }
}

pub fn run(_ctx: &Context, command: BaselineCommand) -> Result<u8> {
    match command {
        BaselineCommand::Update { results, stored } => {
            let (label, written) = store(&stored.entry(results))?;
            println!("baseline of {label} stored in {}", written.display());
        }
        BaselineCommand::Path {
            runtime,
            runner,
            dir,
            measure,
        } => println!("{}", path_here(&dir, &runner, &runtime, measure)?.display()),
        BaselineCommand::History {
            results,
            stored,
            comparison,
        } => {
            let (label, written) = append(&stored.entry(results), comparison.as_deref())?;
            println!("history of {label} appended to {}", written.display());
        }
    }
    Ok(0)
}
