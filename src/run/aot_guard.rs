//! The check that an AOT adapter runs what its compiler made. A run command that hands the
//! compiled file to a runtime which then interprets it (WasmEdge 0.17 without
//! `--run-mode=aot`) still prints the right result, only 150-280 times slower: the report
//! would publish an interpreter's numbers as the compiler's. So, once per runtime version and
//! templates, a loop module is run compiled (best of three) and interpreted; the compiled run
//! must be `min_speedup` times faster. The interpreter is ended as soon as it has taken that
//! long: the check never costs more than `min_speedup` compiled runs.

use super::adapter::{Runtime, command_from, compile_ahead};
use crate::config::AotGuard;
use crate::toolchain::Home;
use crate::toolchain::helpers::SPIN_MODULE;
use anyhow::{Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long one run of the loop module may take compiled: far more than it needs anywhere.
const COMPILED_LIMIT: Duration = Duration::from_secs(60);

/// Refuses the runtime when its compiled code is not what runs; passes are remembered.
pub fn check(
    home: &Home,
    runtime: &Runtime,
    guard: &AotGuard,
    interpreter: &[String],
) -> Result<()> {
    let Some(aot) = runtime.aot_argv() else {
        return Ok(());
    };
    let dir = home
        .dir("helpers")
        .join(crate::util::short_hash(&hex::encode(SPIN_MODULE)));
    let passed = dir.join(format!(
        "{}.guard-passed",
        crate::util::short_hash(&format!(
            "{} {aot:?} {:?} {interpreter:?} {}",
            runtime.info.version,
            runtime.run_argv(),
            guard.min_speedup
        ))
    ));
    if passed.exists() {
        return Ok(());
    }
    let module = dir.join("spin.wasm");
    if !module.exists() {
        crate::model::write_atomic(&module, SPIN_MODULE)?;
    }
    let product = dir.join(format!("{}.{}", runtime.info.name, runtime.aot_extension()));
    compile_ahead(aot, &module, &product).map_err(|why| refusal(runtime, guard, &why))?;
    let compiled = best_of_three(runtime, &module, &product)?;
    let limit = compiled.mul_f64(guard.min_speedup);
    let interpreted = timed(command_from(interpreter, &module, None), limit)
        .map_err(|why| refusal(runtime, guard, &format!("its interpreter: {why}")))?;
    if let Some(interpreted) = interpreted {
        let speedup = interpreted.as_secs_f64() / compiled.as_secs_f64().max(1e-9);
        bail!(refusal(
            runtime,
            guard,
            &format!(
                "a compiled loop ran only {speedup:.1}x as fast as the interpreter ({} ms against {} ms; compiled code runs at least {}x faster), so the run command does not run the compiled code",
                compiled.as_millis(),
                interpreted.as_millis(),
                guard.min_speedup
            )
        ));
    }
    crate::model::write_atomic(&passed, format!("{limit:?}\n").as_bytes())?;
    Ok(())
}

fn best_of_three(runtime: &Runtime, module: &Path, product: &Path) -> Result<Duration> {
    let mut best = COMPILED_LIMIT;
    for _ in 0..3 {
        let command = command_from(runtime.run_argv(), module, Some(product));
        match timed(command, COMPILED_LIMIT)? {
            Some(took) => best = best.min(took),
            None => bail!(
                "runtime `{}`: the compiled loop module did not finish within {} s",
                runtime.info.name,
                COMPILED_LIMIT.as_secs()
            ),
        }
    }
    Ok(best)
}

/// The wall time of a successful run, or `None` when it was still running at `limit`.
fn timed(mut command: std::process::Command, limit: Duration) -> Result<Option<Duration>> {
    let started = Instant::now();
    let what = "the AOT guard's loop module";
    let Some(output) = crate::util::output_unless_late(&mut command, what, limit)? else {
        return Ok(None);
    };
    let took = started.elapsed();
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            crate::util::tail(&String::from_utf8_lossy(&output.stderr), 3)
        );
    }
    Ok(Some(took))
}

fn refusal(runtime: &Runtime, guard: &AotGuard, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "runtime `{}` ({}) is refused: {why}; {} (`runtimes.{}.run`)",
        runtime.info.name,
        runtime.info.version,
        guard.hint,
        runtime.info.adapter
    )
}
