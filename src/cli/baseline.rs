//! `wasmgate baseline update RESULTS`: store a runtime's samples as the runner's baseline.

use super::Context;
use crate::compare::baseline::{side_from_results, update};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum BaselineCommand {
    /// Store a runtime's samples from RESULTS as the baseline, and append to its history
    Update {
        results: PathBuf,
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
    },
}

pub fn run(_ctx: &Context, command: BaselineCommand) -> Result<u8> {
    match command {
        BaselineCommand::Update {
            results: path,
            runtime,
            runner,
            commit,
            dir,
        } => {
            let results = crate::run::read_results(&path)?;
            let side = side_from_results(&results, runtime.as_deref(), &path)?;
            let stored = update(&dir, &results, &side, &runner, commit)?;
            println!(
                "baseline of {} stored in {}",
                side.info.label,
                stored.display()
            );
        }
    }
    Ok(0)
}
