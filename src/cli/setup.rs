//! `wasmgate setup`: provision every tool the pipeline needs, and say what was found.

use super::Context;
use anyhow::Result;

pub fn run(ctx: &Context, runtimes: &[String]) -> Result<u8> {
    let provisioned = crate::run::inventory::provision(&ctx.loaded, runtimes)?;
    let inputs = &provisioned.inputs;
    println!("cache      {}", provisioned.home.root.display());
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
    for runtime in &provisioned.runtimes {
        println!(
            "{:<10} {} ({})",
            runtime.info.name, runtime.info.version, runtime.info.path
        );
    }
    match provisioned.failure {
        Some(failure) => Err(failure),
        None => Ok(0),
    }
}
