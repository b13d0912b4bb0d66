//! Runtime adapters: turn a `--runtime` argument and the configured templates into a ready
//! command line. Adapters are data (the config); this file only fills in the placeholders.

use crate::build::Suite;
use crate::config::Loaded;
use crate::model::{AotRecord, Measure, RuntimeInfo, TestModule};
use crate::toolchain::{Home, ensure_installed, read_version};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A runtime ready to run modules.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub info: RuntimeInfo,
    /// The run command with everything but `{module}` and `{aot}` filled in.
    argv: Vec<String>,
    /// The ahead-of-time step, filled in the same way, and its products per module.
    aot: Option<Aot>,
    /// A native runtime's executables (wasm module path -> native executable), given by
    /// `use_native_build`; its run command takes one as `{aot}`.
    native_build: BTreeMap<PathBuf, PathBuf>,
}

#[derive(Debug, Clone)]
struct Aot {
    argv: Vec<String>,
    extension: String,
    /// Module path -> its product, or why the step failed.
    products: BTreeMap<PathBuf, Result<PathBuf, String>>,
}

impl Runtime {
    /// The command that runs one module; `Err` says why it cannot run (its AOT step failed).
    pub fn command(&self, module: &Path) -> Result<Command, String> {
        let missing = || format!("no ahead-of-time product for {}", module.display());
        let product = if self.info.native {
            Some(self.native_build.get(module).cloned().ok_or_else(missing)?)
        } else {
            match &self.aot {
                None => None,
                Some(aot) => Some(
                    aot.products
                        .get(module)
                        .cloned()
                        .unwrap_or_else(|| Err(missing()))?,
                ),
            }
        };
        Ok(command_from(&self.argv, module, product.as_deref()))
    }

    /// Runs the ahead-of-time step for every module that has no cached product yet. The
    /// products are cached by (module sha256, runtime version, step); the time each step took
    /// is returned, never part of a sample.
    pub fn prepare_aot(
        &mut self,
        home: &Home,
        suite: &Suite,
        tests: &[TestModule],
    ) -> Vec<AotRecord> {
        let Some(aot) = self.aot.as_mut() else {
            return Vec::new();
        };
        let mut records = Vec::new();
        for test in tests {
            let module = suite.module_path(test);
            let key = crate::util::short_hash(&format!(
                "{} {} {:?}",
                test.sha256, self.info.version, aot.argv
            ));
            let product = home.dir("aot").join(format!("{key}.{}", aot.extension));
            let started = Instant::now();
            let cached = product.exists();
            let outcome = if cached {
                Ok(())
            } else {
                compile_ahead(&aot.argv, &module, &product)
            };
            records.push(AotRecord {
                runtime: self.info.name.clone(),
                test: test.name.clone(),
                seconds: if cached {
                    0.0
                } else {
                    started.elapsed().as_secs_f64()
                },
                cached,
                error: outcome.as_ref().err().cloned(),
            });
            aot.products.insert(module, outcome.map(|()| product));
        }
        records
    }
}

use crate::toolchain::helpers::TINY_MODULE;

impl Runtime {
    /// Runs the tiny module (through the AOT step, if any) and checks that it printed a number
    /// and exited 0: the runtime works at all. The native runtime runs no wasm; it is not checked.
    pub fn check_usable(&self, home: &Home) -> Result<()> {
        if self.info.native {
            return Ok(());
        }
        let dir = home
            .dir("helpers")
            .join(crate::util::short_hash(&hex::encode(TINY_MODULE)));
        let module = dir.join("tiny.wasm");
        if !module.exists() {
            crate::model::write_atomic(&module, TINY_MODULE)?;
        }
        let product = match &self.aot {
            Some(aot) => {
                // Keyed like the suite's products: two runs checking runtimes of one name in
                // other versions must not run each other's product.
                let key = crate::util::short_hash(&format!(
                    "{} {} {:?}",
                    self.info.path, self.info.version, aot.argv
                ));
                let product = dir.join(format!("{key}.{}", aot.extension));
                compile_ahead(&aot.argv, &module, &product).map_err(|why| self.unusable(&why))?;
                Some(product)
            }
            None => None,
        };
        let command = command_from(&self.argv, &module, product.as_deref());
        let stop = std::sync::atomic::AtomicBool::new(false);
        let outcome = super::execute::run_once(
            Ok(command),
            None,
            std::time::Duration::from_secs(60),
            None,
            &stop,
        )
        .expect("never stopped");
        match outcome.status {
            crate::model::SampleStatus::Ok => Ok(()),
            _ => Err(self.unusable(outcome.message.as_deref().unwrap_or("failed"))),
        }
    }

    /// The run command, filled but for `{module}` and `{aot}`.
    pub(super) fn run_argv(&self) -> &[String] {
        &self.argv
    }

    /// The ahead-of-time step, filled but for `{module}` and `{aot}`; `None` without one.
    pub(super) fn aot_argv(&self) -> Option<&[String]> {
        self.aot.as_ref().map(|aot| aot.argv.as_slice())
    }

    pub(super) fn aot_extension(&self) -> &str {
        self.aot
            .as_ref()
            .map_or("aot", |aot| aot.extension.as_str())
    }

    fn unusable(&self, why: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "runtime `{}` ({}) cannot run a tiny WASI module: {why}; check its install, or the `runtimes.{}` templates",
            self.info.name,
            self.info.path,
            self.info.adapter
        )
    }

    /// Gives a native runtime its executables: wasm module path -> native executable.
    pub fn use_native_build(&mut self, executables: &BTreeMap<PathBuf, PathBuf>) {
        if self.info.native {
            self.native_build.extend(executables.clone());
        }
    }
}

pub(super) fn command_from(argv: &[String], module: &Path, product: Option<&Path>) -> Command {
    let module = module.to_string_lossy();
    let product = product
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut argv = argv
        .iter()
        .map(|arg| arg.replace("{module}", &module).replace("{aot}", &product));
    let mut command = Command::new(argv.next().expect("validated: templates are not empty"));
    command.args(argv);
    command
}

/// Runs one AOT step into a temporary file beside the product, then renames it into place.
pub(super) fn compile_ahead(argv: &[String], module: &Path, product: &Path) -> Result<(), String> {
    let dir = product.parent().expect("products live in the cache");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let extension = product
        .extension()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let staging = dir.join(format!(
        ".{}.{}.{extension}",
        std::process::id(),
        module.file_stem().unwrap_or_default().to_string_lossy()
    ));
    let output = crate::util::output_within(
        &mut command_from(argv, module, Some(&staging)),
        "the ahead-of-time step",
        crate::util::limits::STEP,
    )
    .map_err(|e| {
        let _ = std::fs::remove_file(&staging);
        format!("{e:#}")
    })?;
    if !output.status.success() || !staging.exists() {
        let _ = std::fs::remove_file(&staging);
        return Err(format!(
            "ahead-of-time step failed ({}): {}",
            output.status,
            crate::util::tail(&String::from_utf8_lossy(&output.stderr), 3)
        ));
    }
    std::fs::rename(&staging, product).map_err(|e| e.to_string())
}

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
    resolve_with(loaded, home, request, (Measure::Time, true))
}

/// As `resolve`, with the runtime's commands under `measure`.
pub fn resolve_measuring(
    loaded: &Loaded,
    home: &Home,
    request: &RuntimeRequest,
    measure: Measure,
) -> Result<Runtime> {
    resolve_with(loaded, home, request, (measure, true))
}

/// As `resolve`, without the AOT guard's runs: for listing what is installed.
pub fn resolve_for_listing(
    loaded: &Loaded,
    home: &Home,
    request: &RuntimeRequest,
) -> Result<Runtime> {
    resolve_with(loaded, home, request, (Measure::Time, false))
}

fn resolve_with(
    loaded: &Loaded,
    home: &Home,
    request: &RuntimeRequest,
    (measure, guarded): (Measure, bool),
) -> Result<Runtime> {
    let adapter = choose_adapter(loaded, request)?;
    let config = &loaded.runtime(&adapter)?.under(measure);
    let bin = binary_for(home, request, &adapter, config)?;
    let bin_text = bin.to_string_lossy().to_string();
    let compiler = match &config.compiler {
        Some(tool) => Some(crate::toolchain::ensure_tool(
            home,
            &format!("{adapter}'s compiler"),
            tool,
        )?),
        None => None,
    };
    let compiler_path = (compiler.as_ref()).map(|c| c.path.to_string_lossy().to_string());
    let fill = |template: &[String]| -> Result<Vec<String>> {
        template
            .iter()
            .map(|arg| fill_placeholders(arg, &bin_text, compiler_path.as_deref(), home))
            .collect()
    };
    let aot = match &config.aot {
        Some(template) => Some(Aot {
            argv: fill(template)?,
            extension: (config.aot_extension.clone()).unwrap_or_else(|| "aot".to_string()),
            products: BTreeMap::new(),
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
    let runtime = Runtime {
        info: RuntimeInfo {
            name: request.label.clone(),
            adapter: adapter.clone(),
            path: bin.to_string_lossy().to_string(),
            version,
            command: config.run.clone(),
            native: config.native,
        },
        argv,
        aot,
        native_build: BTreeMap::new(),
    };
    if let (Some(guard), Some(interpreter), true) = (&config.aot_guard, interpreter, guarded) {
        let commands = super::aot_guard::Commands {
            runtime: &runtime,
            guard,
            interpreter: &interpreter,
        };
        super::aot_guard::check(home, &commands)?;
    }
    Ok(runtime)
}

/// The runtime's binary: the path the request gives, else the configured install.
fn binary_for(
    home: &Home,
    request: &RuntimeRequest,
    adapter: &str,
    config: &crate::config::RuntimeConfig,
) -> Result<PathBuf> {
    match &request.path {
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
impl Runtime {
    /// A runtime that runs nothing, for tests of code that only reads its description.
    pub fn for_tests(name: &str) -> Runtime {
        Runtime {
            info: RuntimeInfo {
                name: name.to_string(),
                adapter: name.to_string(),
                path: "/bin/true".to_string(),
                version: format!("{name} 1.0"),
                command: vec!["{bin}".to_string(), "{module}".to_string()],
                native: false,
            },
            argv: vec!["/bin/true".to_string(), "{module}".to_string()],
            aot: None,
            native_build: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
