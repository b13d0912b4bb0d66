//! `wasmgate runtimes`: every runtime the configuration knows, whether it is here, and how.

use super::Context;
use crate::config::Install;
use crate::run::inventory::Probe;
use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

pub fn run(ctx: &Context) -> Result<u8> {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header([
        "runtime",
        "installed from",
        "found",
        "version",
        "AOT step",
        "compile measure",
        "path",
    ]);
    for listed in crate::run::inventory::inventory(&ctx.loaded)? {
        table.add_row([
            listed.name,
            route(&listed.install),
            if listed.found.is_some() { "yes" } else { "no" }.to_string(),
            listed.version.unwrap_or_else(|| "–".to_string()),
            listed
                .aot
                .map(|a| a.join(" "))
                .unwrap_or_else(|| "–".to_string()),
            match &listed.compile {
                Some((_, threads)) => format!("yes, {}", threads.describe()),
                None => "no compile step".to_string(),
            },
            listed
                .found
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| hint(&listed.install)),
        ]);
    }
    println!("{table}");
    println!(
        "`wasmgate setup --runtimes NAME` installs one from its registry; `--runtime NAME=PATH` uses your own build."
    );
    Ok(0)
}

/// The test counted, and how many times: cheap (about 2 s a sample on wasmtime) and long
/// enough per iteration (tens of thousands of instructions) that start-up noise would show.
const PROBE: Probe = Probe {
    test: "hash",
    samples: 3,
};

/// `wasmgate runtimes --measure instructions` (or `compile-instructions`): whether each
/// runtime's count is deterministic.
pub fn determinism(ctx: &Context, names: &[String], measure: crate::model::Measure) -> Result<u8> {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    let counted = match measure.compiles() {
        true => "instructions per compile of the module",
        false => "instructions per iteration",
    };
    table.set_header(["runtime", counted]);
    let found = crate::run::inventory::determinism(&ctx.loaded, names, PROBE, measure)?;
    let mut failed = false;
    for (name, determinism) in found {
        let cell = match determinism {
            Ok(determinism) => determinism.sentence(),
            Err(err) => {
                failed = true;
                format!("cannot count: {err:#}")
            }
        };
        table.add_row([name, cell]);
    }
    println!("{table}");
    Ok(u8::from(failed))
}

fn route(install: &Install) -> String {
    match install {
        Install::Pypi { pypi, version, .. } => format!("PyPI {pypi} {version}"),
        Install::PypiSource {
            pypi_source,
            version,
            ..
        } => format!("PyPI {pypi_source} {version} (source, built here)"),
        Install::Npm { npm, version, .. } => format!("npm {npm} {version}"),
        Install::Cargo {
            cargo,
            version,
            features,
            ..
        } if features.is_empty() => format!("crates.io {cargo} {version}"),
        Install::Cargo {
            cargo,
            version,
            features,
            ..
        } => format!("crates.io {cargo} {version} ({})", features.join(", ")),
        Install::Git(crate::config::GitInstall { git, tag, .. }) => {
            let place = git.trim_start_matches("https://");
            format!("git {place} {tag} (source, built here)")
        }
        Install::Path { path, .. } => format!("PATH: {path}"),
    }
}

fn hint(install: &Install) -> String {
    match install {
        Install::Path {
            hint: Some(hint), ..
        } => hint.clone(),
        Install::Git(git) if !git.debian.is_empty() => format!(
            "built from source on first use (Debian packages: {})",
            git.debian.join(" ")
        ),
        Install::Git(_) => "built from source on first use".to_string(),
        _ => "not installed yet".to_string(),
    }
}
