//! Runtime adapters: turn a `--runtime` argument and the configured templates into a ready
//! command line. Adapters are data (the config); this file only fills in the placeholders.

use super::runtime::{AotStep, Runtime};

use crate::config::Loaded;
use crate::model::{Measure, RuntimeInfo};
use crate::toolchain::{Home, ensure_installed, read_version};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the user asked for with `--runtime`: `NAME`, `NAME=PATH` or `LABEL@ADAPTER=PATH`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeRequest {
    pub label: String,
    pub adapter: Option<String>,
    pub path: Option<PathBuf>,
}

impl std::str::FromStr for RuntimeRequest {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, path) = match text.split_once('=') {
            Some((name, path)) if !path.is_empty() => (name, Some(PathBuf::from(path))),
            Some(_) => return Err(format!("`{text}`: give a path after `=`")),
            None => (text, None),
        };
        let (label, adapter) = match name.split_once('@') {
            Some((label, adapter)) => (label, Some(adapter.to_string())),
            None => (name, None),
        };
        if label.is_empty()
            || !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "`{text}`: a runtime label is letters, digits, `-`, `_` or `.` (NAME, NAME=PATH or LABEL@ADAPTER=PATH)"
            ));
        }
        Ok(RuntimeRequest {
            label: label.to_string(),
            adapter,
            path,
        })
    }
}

/// Resolves a request against the configuration: finds or installs the binary, reads its
/// version, and for an AOT adapter with a guard, checks that its compiled code is what runs.
pub fn resolve(loaded: &Loaded, home: &Home, request: &RuntimeRequest) -> Result<Runtime> {
    resolve_with(loaded, home, request, Measure::Time, AotGuardRuns::Yes)
}

/// As `resolve`, with the runtime's commands under `measure`.
pub fn resolve_measuring(
    loaded: &Loaded,
    home: &Home,
    request: &RuntimeRequest,
    measure: Measure,
) -> Result<Runtime> {
    resolve_with(loaded, home, request, measure, AotGuardRuns::Yes)
}

/// As `resolve`, without the AOT guard's runs: for listing what is installed.
pub fn resolve_for_listing(
    loaded: &Loaded,
    home: &Home,
    request: &RuntimeRequest,
) -> Result<Runtime> {
    resolve_with(loaded, home, request, Measure::Time, AotGuardRuns::No)
}

/// Whether resolving a runtime runs its AOT guard: not when only listing what is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AotGuardRuns {
    Yes,
    No,
}

fn resolve_with(
    loaded: &Loaded,
    home: &Home,
    request: &RuntimeRequest,
    measure: Measure,
    guard_runs: AotGuardRuns,
) -> Result<Runtime> {
    let adapter = choose_adapter(loaded, request)?;
    let config = &loaded.runtime(&adapter)?.under(measure);
    let bin = binary_for(home, request, &adapter, config)?;
    let bin_text = bin.to_string_lossy().to_string();
    let compiler = compiler_of(home, &adapter, config)?;
    let compiler_path = (compiler.as_ref()).map(|c| c.path.to_string_lossy().to_string());
    let fill = |template: &[String]| -> Result<Vec<String>> {
        template
            .iter()
            .map(|arg| fill_placeholders(arg, &bin_text, compiler_path.as_deref(), home))
            .collect()
    };
    let aot = match &config.aot {
        Some(template) => Some(AotStep {
            argv: fill(template)?,
            extension: (config.aot_extension.clone()).unwrap_or_else(|| "aot".to_string()),
        }),
        None => None,
    };
    let version = version_of(loaded, request, &adapter, &bin, &fill(&config.version)?)?;
    // The native "runtime" is Zig's output for this machine: say so in its version. A
    // runtime's compiler is part of what runs, so its version is too.
    let version = match (&compiler, config.native) {
        (_, true) => format!(
            "zig {version}, native {} ReleaseFast",
            std::env::consts::ARCH
        ),
        (Some(compiler), false) => format!("{version}, {}", compiler.version),
        (None, false) => version,
    };
    let interpreter = (config.aot_guard.as_ref())
        .map(|guard| fill(&guard.interpreter))
        .transpose()?;
    let argv = fill(&config.run)?;
    let mut info = RuntimeInfo {
        name: request.label.clone(),
        adapter: adapter.clone(),
        path: bin.to_string_lossy().to_string(),
        version,
        command: config.run.clone(),
        native: config.native,
        compile_threads: None,
    };
    // What makes the code that runs: the runtime binary, and a separate compiler's.
    let made_by = std::iter::once(bin.clone())
        .chain(compiler.as_ref().map(|c| c.path.clone()))
        .collect();
    if measure.compiles() {
        // The compile step is the sample: nothing is compiled ahead, and the compiled code is
        // never run, so the guard that checks it runs compiled has nothing to check.
        let (template, threads) = compile_step(loaded, &adapter, config, request)?;
        let step = AotStep {
            argv: fill(&template)?,
            extension: (config.aot_extension.clone()).unwrap_or_else(|| "aot".to_string()),
        };
        (info.command, info.compile_threads) = (template, Some(threads));
        return Ok(Runtime::new(info, argv, None, made_by).compiling_with(step));
    }
    let profile = (config.profile.as_deref()).map(fill).transpose()?;
    guarded(
        home,
        Runtime::new(info, argv, aot, made_by).profiled_with(profile),
        config,
        interpreter,
        guard_runs,
    )
}

/// The runtime, once its AOT guard (if it has one and it runs) found its compiled code is
/// what runs.
fn guarded(
    home: &Home,
    runtime: Runtime,
    config: &crate::config::RuntimeConfig,
    interpreter: Option<Vec<String>>,
    guard_runs: AotGuardRuns,
) -> Result<Runtime> {
    if let (Some(guard), Some(interpreter), AotGuardRuns::Yes) =
        (&config.aot_guard, interpreter, guard_runs)
    {
        let commands = super::aot_guard::Commands {
            runtime: &runtime,
            guard,
            interpreter: &interpreter,
        };
        super::aot_guard::check(home, &commands)?;
    }
    Ok(runtime)
}

/// Whether the adapter a request names has a compile step the compile measures can time;
/// `Err` when the request names no adapter at all.
pub fn has_compile_step(loaded: &Loaded, request: &RuntimeRequest) -> Result<bool> {
    let adapter = choose_adapter(loaded, request)?;
    let threads = loaded.config.run.compile.threads;
    Ok((loaded.runtime(&adapter)?).compile_step(threads).is_some())
}

/// A runtime's separate compiler (wamrc beside iwasm), installed on first use.
fn compiler_of(
    home: &Home,
    adapter: &str,
    config: &crate::config::RuntimeConfig,
) -> Result<Option<crate::toolchain::Tool>> {
    (config.compiler.as_ref())
        .map(|tool| crate::toolchain::ensure_tool(home, &format!("{adapter}'s compiler"), tool))
        .transpose()
}

/// The compile step a compile measure times, and the threads it runs on.
fn compile_step(
    loaded: &Loaded,
    adapter: &str,
    config: &crate::config::RuntimeConfig,
    request: &RuntimeRequest,
) -> Result<(Vec<String>, crate::model::CompileThreads)> {
    let asked = loaded.config.run.compile.threads;
    let Some((template, threads)) = config.compile_step(asked) else {
        bail!(
            "runtime `{}` ({adapter}) has no compile step: it compiles as it runs or interprets; measure it with --measure time, or give `runtimes.{adapter}.compile` in {}",
            request.label,
            loaded.origin()
        );
    };
    if threads != asked {
        eprintln!(
            "wasmgate: {}: its compile step has no setting for {} (`runtimes.{adapter}.compile.{}`); it compiles {}",
            request.label,
            asked.describe(),
            asked.name(),
            threads.describe()
        );
    }
    Ok((template, threads))
}

/// The runtime's binary: the path the request gives, else the configured install.
fn binary_for(
    home: &Home,
    request: &RuntimeRequest,
    adapter: &str,
    config: &crate::config::RuntimeConfig,
) -> Result<PathBuf> {
    match &request.path {
        Some(path) if path.is_dir() => bail!(
            "runtime `{}`: {} is a folder, not a runtime's binary; give the path of the executable in it",
            request.label,
            path.display()
        ),
        Some(path) if !path.is_file() => bail!(
            "runtime `{}`: {} does not exist; build it first or fix the path",
            request.label,
            path.display()
        ),
        Some(path) => Ok(path.canonicalize()?),
        None => ensure_installed(home, adapter, &config.install),
    }
}

/// Runs the filled version command, with an error that asks whether the binary is the right one.
fn version_of(
    loaded: &Loaded,
    request: &RuntimeRequest,
    adapter: &str,
    bin: &Path,
    version_argv: &[String],
) -> Result<String> {
    let Some((program, args)) = version_argv.split_first() else {
        bail!(
            "{}: field `runtimes.{adapter}.version`: give the command that prints its version, e.g. [\"{{bin}}\", \"--version\"]",
            loaded.origin()
        );
    };
    let mut version_command = Command::new(program);
    version_command.args(args);
    read_version(&request.label, version_command).with_context(|| {
        format!(
            "runtime `{}` ({}): is it really a {adapter} binary? fix `runtimes.{adapter}.version` in {} or the path",
            request.label,
            bin.display(),
            loaded.origin()
        )
    })
}

/// The adapter for a request: explicit `@ADAPTER`, else the label, else the binary's file name.
fn choose_adapter(loaded: &Loaded, request: &RuntimeRequest) -> Result<String> {
    if let Some(adapter) = &request.adapter {
        loaded.runtime(adapter)?;
        return Ok(adapter.clone());
    }
    if loaded.config.runtimes.contains_key(&request.label) {
        return Ok(request.label.clone());
    }
    let stem = request
        .path
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().to_string());
    match stem {
        Some(stem) if loaded.config.runtimes.contains_key(&stem) => Ok(stem),
        Some(_) => bail!(
            "runtime `{}`: cannot tell which adapter runs {}; write --runtime {}@ADAPTER=PATH with ADAPTER one of: {}",
            request.label,
            request
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            request.label,
            loaded
                .config
                .runtimes
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => loaded
            .runtime(&request.label)
            .map(|_| request.label.clone()),
    }
}

/// Fills `{bin}`, `{compiler}` and the shipped helpers; `{module}` and `{aot}` are left for
/// each run.
fn fill_placeholders(arg: &str, bin: &str, compiler: Option<&str>, home: &Home) -> Result<String> {
    let arg = arg.replace("{bin}", bin);
    let arg = match compiler {
        Some(compiler) => arg.replace("{compiler}", compiler),
        None => arg,
    };
    crate::toolchain::helpers::fill(&arg, home)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_given_as_a_runtime_is_named_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = crate::config::load(None).unwrap();
        let home = Home::at(dir.path().join("home"));
        let request: RuntimeRequest = format!("mine@wasmtime={}", dir.path().display())
            .parse()
            .unwrap();
        let config = loaded.runtime("wasmtime").unwrap();
        let error = binary_for(&home, &request, "wasmtime", config)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("is a folder, not a runtime's binary"),
            "{error}"
        );
    }

    #[test]
    fn runtime_requests_parse() {
        let plain: RuntimeRequest = "wasmtime".parse().unwrap();
        assert_eq!(plain.label, "wasmtime");
        assert_eq!(plain.path, None);
        let with_path: RuntimeRequest = "head=/tmp/wasmtime".parse().unwrap();
        assert_eq!(with_path.label, "head");
        assert_eq!(with_path.path, Some(PathBuf::from("/tmp/wasmtime")));
        let explicit: RuntimeRequest = "base@wasmtime=/opt/wt".parse().unwrap();
        assert_eq!(explicit.adapter.as_deref(), Some("wasmtime"));
        assert!("bad label=/x".parse::<RuntimeRequest>().is_err());
        assert!("head=".parse::<RuntimeRequest>().is_err());
    }
}
