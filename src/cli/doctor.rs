//! `wasmgate doctor`: the runner's checks for the cores a run would pin to, one line each, a
//! summary, and GitHub annotations for the warnings in Actions; `--tune` and `--reset` set and
//! restore the measured cores' frequency settings. Warnings never fail the command.

use super::Context;
use crate::model::CheckStatus;
use crate::run::doctor::{self, Probe, Tree, tune};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Cores to check, e.g. 2,3 [default: the cores a run pins to, run.cores]
    #[arg(long, value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// Set the cores' governor to performance, their lowest frequency to their highest, and
    /// turbo/boost off (needs root); the values found are saved for --reset
    #[arg(long, conflicts_with = "reset")]
    pub tune: bool,
    /// Put back what --tune changed
    #[arg(long)]
    pub reset: bool,
    /// Read and tune the files under this directory instead of the machine's (for tests)
    #[arg(long, hide = true, default_value = "/")]
    pub root: PathBuf,
}

pub fn run(ctx: &Context, args: DoctorArgs) -> Result<u8> {
    let cores = measured_cores(ctx, &args.cores)?;
    let tree = Tree::new(&args.root);
    if args.tune || args.reset {
        let saved = ctx.home()?.dir("doctor").join("saved.json");
        require_root(&tree)?;
        let changes = if args.tune {
            tune::tune(&tree, &cores, &saved)?
        } else {
            tune::reset(&tree, &saved)?
        };
        print_changes(&changes, args.tune, &saved);
        if args.reset {
            return Ok(0);
        }
    }
    let environment = doctor::examine(&Probe::thorough(&args.root), &cores);
    for check in &environment.checks {
        println!("{}", doctor::row(check));
    }
    let on = match cores.as_slice() {
        [] => "no pinned core".to_string(),
        [core] => format!("core {core}"),
        many => format!("cores {}", join(many)),
    };
    println!("doctor: {} on {on}", doctor::tally(&environment));
    if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
        for check in environment.with_status(CheckStatus::Warn) {
            println!("{}", annotation(&doctor::sentence(check)));
        }
    }
    Ok(0)
}

/// The flag's cores, else what a run would pin to; empty when pinning is off.
fn measured_cores(ctx: &Context, flag: &[usize]) -> Result<Vec<usize>> {
    let run = &ctx.loaded.config.run;
    let chosen = if flag.is_empty() {
        let origin = format!("{}: field `run.cores`", ctx.loaded.origin());
        crate::run::choose_cores(run.pin, &run.cores, &origin)?
    } else {
        crate::run::choose_cores(true, flag, "--cores")?
    };
    Ok(chosen.into_iter().flatten().collect())
}

/// Writing the machine's frequency settings takes root: say so before touching anything.
fn require_root(tree: &Tree) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to this process's effective user.
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid());
    if tree.is_system() && uid.is_ok_and(|uid| uid != 0) {
        bail!("doctor --tune and --reset write /sys and need root: run them with sudo");
    }
    Ok(())
}

fn print_changes(changes: &[tune::Change], tuned: bool, saved: &Path) {
    for change in changes {
        println!("{}: {} -> {}", change.file, change.from, change.to);
    }
    match (tuned, changes.is_empty()) {
        (true, true) => println!("tune: nothing to change (already set, or not exposed here)"),
        (true, false) => println!(
            "tune: {} settings changed; previous values saved in {} for `wasmgate doctor --reset`",
            changes.len(),
            saved.display()
        ),
        (false, _) => println!("reset: {} settings restored", changes.len()),
    }
}

fn join(cores: &[usize]) -> String {
    cores
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A GitHub Actions warning annotation; the message escaped as the workflow commands want.
fn annotation(message: &str) -> String {
    let escaped = (message.replace('%', "%25"))
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    format!("::warning title=wasmgate doctor::{escaped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_annotation_is_one_escaped_line() {
        assert_eq!(
            annotation("load: 95% busy\nnext"),
            "::warning title=wasmgate doctor::load: 95%25 busy%0Anext"
        );
    }
}
