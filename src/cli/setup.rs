//! `wasmgate setup`: provision every tool the pipeline needs, and say what was found.

use super::Context;
use crate::run::adapter::{RuntimeRequest, resolve};
use anyhow::Result;

pub fn run(ctx: &Context, runtimes: &[String]) -> Result<u8> {
    let home = ctx.home()?;
    let inputs = crate::build::prepare(&ctx.loaded.config, &home)?;
    println!("cache      {}", home.root.display());
    println!(
        "source     libsodium {} ({}; sha256 {}, signature {})",
        inputs.source.info.version,
        inputs.source.info.origin,
        inputs.source.info.sha256,
        if inputs.source.info.signature_verified {
            "verified"
        } else {
            "not checked"
        }
    );
    for tool in [&inputs.zig, &inputs.wasm_opt] {
        println!(
            "{:<10} {} ({})",
            tool.name,
            tool.version,
            tool.path.display()
        );
    }
    let names = if runtimes.is_empty() {
        &ctx.loaded.config.run.runtimes
    } else {
        runtimes
    };
    for name in names {
        let request: RuntimeRequest = name.parse().map_err(anyhow::Error::msg)?;
        let runtime = resolve(&ctx.loaded, &home, &request)?;
        runtime.check_usable(&home)?;
        println!(
            "{:<10} {} ({})",
            runtime.info.name, runtime.info.version, runtime.info.path
        );
    }
    Ok(0)
}
