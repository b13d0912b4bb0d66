//! The check that an AOT adapter runs what its compiler made. A run command that hands the
//! compiled file to a runtime which then interprets it (WasmEdge 0.17 without
//! `--run-mode=aot`) still prints the right result, only 150-280 times slower: the report
//! would publish an interpreter's numbers as the compiler's. So, once per runtime binary,
//! version and templates, a loop module is run compiled (best of three) and interpreted; the
//! compiled run must be `min_speedup` times faster. The interpreter is ended as soon as it has
//! taken that long: the check never costs more than `min_speedup` compiled runs.

use super::runtime::{Runtime, command_from, compile_ahead};
use crate::config::AotGuard;
use crate::toolchain::Home;
use crate::toolchain::helpers::{SPIN_MODULE, TINY_MODULE};
use anyhow::{Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long one run of the loop module may take compiled: far more than it needs anywhere.
const COMPILED_LIMIT: Duration = Duration::from_secs(60);

/// What the guard's commands are, filled in for this runtime.
pub struct Commands<'a> {
    pub runtime: &'a Runtime,
    pub guard: &'a AotGuard,
    /// The `interpreter` template, filled but for `{module}`.
    pub interpreter: &'a [String],
}

/// Refuses the runtime when its compiled code is not what runs; passes are remembered.
pub fn check(home: &Home, commands: &Commands) -> Result<()> {
    let Commands {
        runtime,
        guard,
        interpreter,
    } = commands;
    let Some(aot) = runtime.aot_argv() else {
        return Ok(());
    };
    let key = pass_key(commands, aot);
    let dir = home
        .dir("helpers")
        .join(crate::util::short_hash(&hex::encode(SPIN_MODULE)));
    let passed = dir.join(format!("{key}.guard-passed"));
    if passed.exists() {
        return Ok(());
    }
    let spin = written(&dir.join("spin.wasm"), SPIN_MODULE)?;
    let tiny = written(&dir.join("tiny.wasm"), TINY_MODULE)?;
    // The interpreter must work at all, or its slowness proves nothing.
    interpreted_once(commands, &tiny)?;
    let product = dir.join(format!("{key}.{}", runtime.aot_extension()));
    compile_ahead(aot, &spin, &product).map_err(|why| {
        refusal(
            commands,
            &format!("its `aot` step failed on a loop module: {why}"),
            "aot",
        )
    })?;
    let compiled = best_of_three(commands, &spin, &product)?;
    let step = crate::util::limits::STEP;
    let limit = Duration::try_from_secs_f64(compiled.as_secs_f64() * guard.min_speedup)
        .map_or(step, |limit| limit.min(step));
    let interpreted = timed(command_from(interpreter, &spin, None), limit).map_err(|why| {
        refusal(
            commands,
            &format!("its interpreter failed: {why}"),
            "aot_guard.interpreter",
        )
    })?;
    if let Some((interpreted, _)) = interpreted {
        let speedup = interpreted.as_secs_f64() / compiled.as_secs_f64().max(1e-9);
        bail!(refusal(
            commands,
            &format!(
                "a compiled loop ran only {speedup:.1}x as fast as the interpreter ({} ms against {} ms; compiled code runs at least {}x faster), so the run command does not run the compiled code; {}",
                compiled.as_millis(),
                interpreted.as_millis(),
                guard.min_speedup,
                guard.hint
            ),
            "run"
        ));
    }
    crate::model::write_atomic(&passed, format!("{limit:?}\n").as_bytes())?;
    Ok(())
}

/// A pass holds for the content of these binaries (a rebuild at the same path with the same
/// version string is checked again), version, templates and factor.
fn pass_key(commands: &Commands, aot: &[String]) -> String {
    let runtime = commands.runtime;
    crate::util::short_hash(&format!(
        "{} {} {} {aot:?} {:?} {:?} {}",
        runtime.info.path,
        runtime.made_by_digest(),
        runtime.info.version,
        runtime.run_argv(),
        commands.interpreter,
        commands.guard.min_speedup
    ))
}

fn written(path: &Path, bytes: &[u8]) -> Result<std::path::PathBuf> {
    if !path.exists() {
        crate::model::write_atomic(path, bytes)?;
    }
    Ok(path.to_path_buf())
}

/// The interpreter command on the tiny module: it must print "1" and exit 0.
fn interpreted_once(commands: &Commands, tiny: &Path) -> Result<()> {
    let command = command_from(commands.interpreter, tiny, None);
    let field = "aot_guard.interpreter";
    match timed(command, COMPILED_LIMIT) {
        Ok(Some((_, printed))) if printed.trim() == "1" => Ok(()),
        Ok(Some((_, printed))) => Err(refusal(
            commands,
            &format!(
                "its interpreter printed {:?}, not 1, for a tiny module",
                crate::util::tail(&printed, 1)
            ),
            field,
        )),
        Ok(None) => Err(refusal(
            commands,
            &format!(
                "its interpreter did not finish a tiny module within {} s",
                COMPILED_LIMIT.as_secs()
            ),
            field,
        )),
        Err(why) => Err(refusal(
            commands,
            &format!("its interpreter failed: {why}"),
            field,
        )),
    }
}

/// The fastest of three compiled runs, each of which must print "1" like the module does.
fn best_of_three(commands: &Commands, module: &Path, product: &Path) -> Result<Duration> {
    let mut best = COMPILED_LIMIT;
    for _ in 0..3 {
        let command = command_from(commands.runtime.run_argv(), module, Some(product));
        let why = match timed(command, COMPILED_LIMIT) {
            Ok(Some((took, printed))) if printed.trim() == "1" => {
                best = best.min(took);
                continue;
            }
            Ok(Some((_, printed))) => format!(
                "the compiled loop module printed {:?}, not 1",
                crate::util::tail(&printed, 1)
            ),
            Ok(None) => format!(
                "the compiled loop module did not finish within {} s",
                COMPILED_LIMIT.as_secs()
            ),
            Err(why) => format!("the compiled loop module failed: {why}"),
        };
        bail!(refusal(commands, &why, "run"));
    }
    Ok(best)
}

/// The wall time and standard output of a successful run, or `None` when it was still
/// running at `limit`.
fn timed(
    mut command: std::process::Command,
    limit: Duration,
) -> Result<Option<(Duration, String)>> {
    let started = Instant::now();
    let what = "the AOT guard's module";
    let Some(output) = crate::util::output_unless_late(&mut command, what, limit)? else {
        return Ok(None);
    };
    let took = started.elapsed();
    if !output.status.success() {
        bail!(
            "exit {}: {}",
            output.status,
            crate::util::tail(&String::from_utf8_lossy(&output.stderr), 3)
        );
    }
    Ok(Some((
        took,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )))
}

/// The one line that refuses the runtime, naming the template to fix.
fn refusal(commands: &Commands, why: &str, field: &str) -> anyhow::Error {
    let info = &commands.runtime.info;
    anyhow::anyhow!(
        "runtime `{}` ({}) is refused: {why} (`runtimes.{}.{field}`)",
        info.name,
        info.version,
        info.adapter
    )
}
