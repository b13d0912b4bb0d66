//! What the configured runtimes are here: `setup` provisions and checks them, `runtimes` lists
//! them without installing anything.

use super::adapter::{Runtime, RuntimeRequest, resolve, resolve_for_listing};
use crate::build::Inputs;
use crate::config::{Install, Loaded};
use crate::toolchain::{Home, locate};
use anyhow::Result;

/// Everything a run needs, installed into the cache and checked.
pub struct Provisioned {
    pub home: Home,
    /// The libsodium source, zig and wasm-opt.
    pub inputs: Inputs,
    /// The runtimes, each shown to run a tiny WASI module, in the order asked for.
    pub runtimes: Vec<Runtime>,
    /// Why the next runtime could not be provisioned; those after it were not tried.
    pub failure: Option<anyhow::Error>,
}

/// Installs the build's tools and the named runtimes (the configured `run.runtimes` when none
/// is named), and runs each runtime once on a tiny module. The first runtime that fails stops
/// the rest; those provisioned before it are returned with the failure, so all can be told.
pub fn provision(loaded: &Loaded, names: &[String]) -> Result<Provisioned> {
    let home = Home::resolve(&loaded.config)?;
    let inputs = crate::build::prepare(&loaded.config, &home)?;
    let names = if names.is_empty() {
        &loaded.config.run.runtimes
    } else {
        names
    };
    let mut runtimes = Vec::new();
    let mut failure = None;
    for name in names {
        match provision_one(loaded, &home, name) {
            Ok(runtime) => runtimes.push(runtime),
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    Ok(Provisioned {
        home,
        inputs,
        runtimes,
        failure,
    })
}

fn provision_one(loaded: &Loaded, home: &Home, name: &str) -> Result<Runtime> {
    let request: RuntimeRequest = name.parse().map_err(anyhow::Error::msg)?;
    let runtime = resolve(loaded, home, &request)?;
    runtime.check_usable(home)?;
    Ok(runtime)
}

/// One configured runtime as this machine has it.
pub struct Listed {
    pub name: String,
    pub install: Install,
    /// Where it was found; `None` when it is not installed.
    pub found: Option<std::path::PathBuf>,
    /// Its version, or why it cannot tell one; `None` when it is not installed.
    pub version: Option<String>,
    pub aot: Option<Vec<String>>,
}

/// Every configured runtime, found or not. Only a runtime already here is asked for its
/// version: listing installs nothing.
pub fn inventory(loaded: &Loaded) -> Result<Vec<Listed>> {
    let home = Home::resolve(&loaded.config)?;
    Ok(loaded
        .config
        .runtimes
        .iter()
        .map(|(name, config)| {
            // A runtime with a compiler (iwasm-aot's wamrc) is here when both are: asking
            // for the version of one without the other would build it.
            let compiler_here = (config.compiler.as_ref())
                .is_none_or(|compiler| locate(&home, &compiler.install).is_some());
            let found = locate(&home, &config.install).filter(|_| compiler_here);
            let version = found.as_ref().map(|_| {
                let request = RuntimeRequest {
                    label: name.clone(),
                    adapter: None,
                    path: None,
                };
                resolve_for_listing(loaded, &home, &request)
                    .map(|r| r.info.version)
                    .unwrap_or_else(|e| format!("broken: {e:#}"))
            });
            Listed {
                name: name.clone(),
                install: config.install.clone(),
                found,
                version,
                aot: config.aot.clone(),
            }
        })
        .collect())
}
