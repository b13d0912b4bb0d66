//! A runtime ready to run modules: its run command, its ahead-of-time step and the products
//! of that step, and the check that it runs a tiny module at all. `adapter` makes one from
//! the configuration.

use crate::build::Suite;
use crate::model::{AotRecord, RuntimeInfo, TestModule};
use crate::toolchain::Home;
use crate::toolchain::helpers::TINY_MODULE;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// A runtime ready to run modules.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub info: RuntimeInfo,
    /// The run command with everything but `{module}` and `{aot}` filled in.
    argv: Vec<String>,
    /// The ahead-of-time step, filled in the same way, and its products per module.
    aot: Option<Aot>,
    /// Under a compile measure, the compile step each sample runs (`{module}` into `{aot}`);
    /// nothing is then compiled ahead.
    compile: Option<AotStep>,
    /// The run command that also writes a symbol map of the compiled code for a profiler,
    /// filled in like `argv`; `None` when the runtime has no such command.
    profile: Option<Vec<String>>,
    /// A native runtime's executables (wasm module path -> native executable), given by
    /// `use_native_build`; its run command takes one as `{aot}`.
    native_build: BTreeMap<PathBuf, PathBuf>,
    /// The binaries whose content makes the code that runs: the runtime, and its compiler when
    /// a separate one compiles ahead of time (wamrc).
    made_by: Vec<PathBuf>,
    /// The hash of their content, read once when a cache key first needs it.
    made_by_digest: OnceLock<String>,
}

#[derive(Debug, Clone)]
struct Aot {
    argv: Vec<String>,
    extension: String,
    /// Module path -> its product, or why the step failed.
    products: BTreeMap<PathBuf, Result<PathBuf, String>>,
}

/// A runtime's ahead-of-time step as `adapter` fills it in.
#[derive(Debug, Clone)]
pub(super) struct AotStep {
    /// The step, filled but for `{module}` and `{aot}`.
    pub argv: Vec<String>,
    /// The products' file extension.
    pub extension: String,
}

impl Runtime {
    pub(super) fn new(
        info: RuntimeInfo,
        argv: Vec<String>,
        aot: Option<AotStep>,
        made_by: Vec<PathBuf>,
    ) -> Runtime {
        Runtime {
            made_by,
            made_by_digest: OnceLock::new(),
            info,
            argv,
            aot: aot.map(|step| Aot {
                argv: step.argv,
                extension: step.extension,
                products: BTreeMap::new(),
            }),
            native_build: BTreeMap::new(),
            compile: None,
            profile: None,
        }
    }

    /// The runtime with a run command that writes a symbol map for a profiler.
    pub(super) fn profiled_with(self, argv: Option<Vec<String>>) -> Runtime {
        Runtime {
            profile: argv,
            ..self
        }
    }

    /// The command that runs `module` writing a symbol map of its compiled code; `None` when
    /// the runtime has none, `Err` when it cannot run (its AOT step failed).
    pub fn profile_command(&self, module: &Path) -> Option<Result<Command, String>> {
        let argv = self.profile.as_ref()?;
        Some(
            (self.product_for(module))
                .map(|product| command_from(argv, module, product.as_deref())),
        )
    }

    /// The runtime under a compile measure: each sample runs `step`.
    pub(super) fn compiling_with(self, step: AotStep) -> Runtime {
        Runtime {
            compile: Some(step),
            ..self
        }
    }

    /// Under a compile measure, the command that compiles `module` into `product`; `None`
    /// when the runtime is not measured compiling.
    pub fn compile_command(&self, module: &Path, product: &Path) -> Option<Command> {
        let step = self.compile.as_ref()?;
        Some(command_from(&step.argv, module, Some(product)))
    }

    /// The file extension of what the compile step writes (some compilers look at it).
    pub fn compile_extension(&self) -> &str {
        self.compile
            .as_ref()
            .map_or("aot", |c| c.extension.as_str())
    }

    /// The command that runs one module; `Err` says why it cannot run (its AOT step failed).
    pub fn command(&self, module: &Path) -> Result<Command, String> {
        let product = self.product_for(module)?;
        Ok(command_from(&self.argv, module, product.as_deref()))
    }

    /// What a run of `module` takes as `{aot}`: its native build or AOT product, if any.
    fn product_for(&self, module: &Path) -> Result<Option<PathBuf>, String> {
        let missing = || format!("no ahead-of-time product for {}", module.display());
        if self.info.native {
            return Ok(Some(
                self.native_build.get(module).cloned().ok_or_else(missing)?,
            ));
        }
        match &self.aot {
            None => Ok(None),
            Some(aot) => Ok(Some(
                aot.products
                    .get(module)
                    .cloned()
                    .unwrap_or_else(|| Err(missing()))?,
            )),
        }
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
        let made_by = self.made_by_digest().to_string();
        let Some(aot) = self.aot.as_mut() else {
            return Vec::new();
        };
        let mut records = Vec::new();
        for test in tests {
            let module = suite.module_path(test);
            // Keyed by the content of the binaries that compile, not by their path or version
            // line alone: a runtime rebuilt in place with the same version must not run the
            // code its predecessor compiled.
            let key = crate::util::short_hash(&format!(
                "{} {} {} {:?}",
                test.sha256, made_by, self.info.version, aot.argv
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
                    "{} {} {} {:?}",
                    self.info.path,
                    self.made_by_digest(),
                    self.info.version,
                    aot.argv
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

    /// A hash of the content of the binaries that make this runtime's code (`made_by`): part of
    /// the key of everything cached from them. A binary that cannot be read gives a key no
    /// cache holds, so nothing stale is reused (and the step itself then says why it fails).
    pub fn made_by_digest(&self) -> &str {
        self.made_by_digest.get_or_init(|| {
            let digests: Vec<String> = (self.made_by.iter())
                .map(|path| match crate::util::sha256_file(path) {
                    Ok(digest) => digest,
                    Err(err) => format!("unreadable {}: {err:#}", path.display()),
                })
                .collect();
            crate::util::short_hash(&digests.join(" "))
        })
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
                compile_threads: None,
            },
            argv: vec!["/bin/true".to_string(), "{module}".to_string()],
            aot: None,
            profile: None,
            compile: None,
            native_build: BTreeMap::new(),
            made_by: vec![PathBuf::from("/bin/true")],
            made_by_digest: OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fake_executor::{suite, tests};

    /// A "runtime" whose compile step is `script`: it writes `what` into the product.
    fn compiling(script: &Path, what: &str) -> Runtime {
        std::fs::write(script, format!("#!/bin/sh\necho {what} > \"$2\"\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = script.to_string_lossy().to_string();
        let info = RuntimeInfo {
            path: path.clone(),
            // The same version line before and after the rebuild.
            version: "compiler 1.0".to_string(),
            ..Runtime::for_tests("compiler").info
        };
        let step = AotStep {
            argv: vec![path.clone(), "{module}".into(), "{aot}".into()],
            extension: "aot".into(),
        };
        let argv = vec![path, "{aot}".into()];
        Runtime::new(info, argv, Some(step), vec![script.to_path_buf()])
    }

    fn product_of(runtime: &mut Runtime, home: &Home) -> String {
        let suite = suite();
        let test = tests(&suite, &["sign"]);
        let records = runtime.prepare_aot(home, &suite, &test);
        assert_eq!(records[0].error, None, "{records:?}");
        let product = runtime
            .aot
            .as_ref()
            .unwrap()
            .products
            .values()
            .next()
            .unwrap();
        std::fs::read_to_string(product.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn a_compiler_rebuilt_in_place_with_the_same_version_compiles_again() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        let script = dir.path().join("compile.sh");
        assert_eq!(product_of(&mut compiling(&script, "old"), &home), "old\n");
        // The same path, the same version line, other content: its own products.
        assert_eq!(product_of(&mut compiling(&script, "new"), &home), "new\n");
        // Unchanged, it finds its products in the cache.
        let mut again = compiling(&script, "new");
        let suite = suite();
        let records = again.prepare_aot(&home, &suite, &tests(&suite, &["sign"]));
        assert!(records[0].cached, "{records:?}");
    }
}
