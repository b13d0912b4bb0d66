//! The shared data model: what one stage writes and the next one reads, as versioned JSON.
//! Serde types only; no stage logic lives here.

pub mod bisect;
#[cfg(test)]
pub mod fixtures;
pub mod nightly;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of every JSON document wasmgate writes; bumped on an incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The built suite: what was built, from what, with which tools; one entry per test module.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    /// Hash of everything that decides the measured code (source, tools, flags, modules).
    pub suite_id: String,
    pub source: SourceInfo,
    pub zig: ToolInfo,
    pub wasm_opt: ToolInfo,
    pub tests: Vec<TestModule>,
    /// The iteration plan the modules were built from; absent from suites built before it
    /// was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanUsed>,
}

/// Which iteration plan a suite was built from, for the record of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanUsed {
    pub source: PlanSource,
    /// The plan's own `calibrated_on`: the runtime and CPU it was calibrated on.
    pub calibrated_on: String,
    pub target_seconds: f64,
}

/// Where a plan came from: `build.plan` null, a file, or `runner`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PlanSource {
    /// The plan shipped with wasmgate, calibrated on another machine.
    Shipped,
    /// A plan file the configuration names.
    File,
    /// Calibrated on the machine that ran the suite, and cached there.
    Runner,
}

impl PlanSource {
    /// How a report or a command line names it.
    pub fn describe(self) -> &'static str {
        match self {
            PlanSource::Shipped => "the shipped plan",
            PlanSource::File => "a plan file",
            PlanSource::Runner => "the plan calibrated on the runner that built it",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceInfo {
    /// libsodium's version as its configure.ac states it, e.g. "1.0.22".
    pub version: String,
    /// sha256 of the tarball, or the git revision, or "local" for a directory.
    pub sha256: String,
    /// Where it came from, e.g. "crate libsodium-sys-stable 1.24.3, LATEST.tar.gz".
    pub origin: String,
    /// Whether a minisign signature was checked against the configured key.
    pub signature_verified: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolInfo {
    pub version: String,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestModule {
    pub name: String,
    pub category: String,
    /// Iterations of the test's loop compiled into this module.
    pub iterations: u64,
    /// The test prints 0 in benchmark mode: it is built but never timed.
    pub measures_nothing: bool,
    /// File name inside the suite directory.
    pub file: String,
    pub sha256: String,
    pub size: u64,
}

impl Manifest {
    pub fn test(&self, name: &str) -> Option<&TestModule> {
        self.tests.iter().find(|t| t.name == name)
    }
}

/// The iteration plan: how many loop iterations each test's module runs, chosen so that one
/// sample lasts about `target_seconds` on the reference runtime.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The runtime and machine the plan was calibrated on, for the record.
    pub calibrated_on: String,
    pub target_seconds: f64,
    /// Iterations of a test the plan does not list (a newer libsodium).
    #[serde(default = "default_iterations")]
    pub default_iterations: u64,
    pub iterations: std::collections::BTreeMap<String, u64>,
    /// Tests that print 0 in benchmark mode: built, never timed.
    pub measures_nothing: std::collections::BTreeSet<String>,
}

/// Iterations of a test no plan lists.
pub const DEFAULT_ITERATIONS: u64 = 10;

fn default_iterations() -> u64 {
    DEFAULT_ITERATIONS
}

/// The machine a run happened on. `fingerprint` covers what makes timings comparable.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub cpu_model: String,
    pub logical_cores: usize,
    pub arch: String,
    pub os: String,
    pub kernel: String,
    /// Cores the samples were pinned to; empty when pinning is off.
    pub pinned_cores: Vec<usize>,
    pub fingerprint: String,
    /// How the runner was set up when the run started (`wasmgate doctor`'s checks). Left out
    /// of the fingerprint and of every test of sameness: a runner tuned since its baseline is
    /// still the same machine, and the comparison states the difference instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
}

/// What `wasmgate doctor` found on the runner: one check per setting and measured core.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Environment {
    pub checks: Vec<EnvironmentCheck>,
}

impl Environment {
    pub fn with_status(&self, status: CheckStatus) -> impl Iterator<Item = &EnvironmentCheck> {
        self.checks.iter().filter(move |c| c.status == status)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvironmentCheck {
    /// The check, e.g. "governor" or "isolation".
    pub name: String,
    /// The measured core it is about; `None` for a machine-wide check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<usize>,
    pub status: CheckStatus,
    /// What was found, short enough for a report's footer (e.g. "powersave").
    pub found: String,
    /// For a warning: the command or kernel parameter that fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    /// Found something that disturbs timings (with its fix).
    Warn,
    /// Could not be read (a container without sysfs, say): never taken for ok.
    Unknown,
}

impl CheckStatus {
    pub fn word(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warn => "warn",
            CheckStatus::Unknown => "unknown",
        }
    }
}

/// One runtime as it was measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuntimeInfo {
    /// The label in results and reports (e.g. "wasmtime", or "head" for a PR build).
    pub name: String,
    /// The adapter (configured runtime) whose commands were used.
    pub adapter: String,
    pub path: String,
    pub version: String,
    /// The run command template, for the record.
    pub command: Vec<String>,
    /// This "runtime" is native code built from the same source: the reference that reports
    /// divide by, never a WebAssembly runtime.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub native: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SampleStatus {
    /// The module printed a positive number of picoseconds per iteration.
    Ok,
    /// The runtime crashed, trapped, exited non-zero or printed something else.
    Failed,
    /// The process was killed after the configured timeout.
    Timeout,
    /// The module printed a number, but another process held its core for part of the run
    /// (see `run.disturbance`): the value is kept for the record, left out of every statistic,
    /// and the sample is measured again.
    Disturbed,
}

/// What a sample's value is: the module's own clock, or the instructions the processor executed.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Picoseconds per iteration of the test's loop, as the module timed it.
    #[default]
    Time,
    /// Instructions executed per iteration of the test's loop, counted under a simulator
    /// (valgrind): a neighbour on the core cannot change it, so it is for noisy runners.
    Instructions,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Time => "time",
            Measure::Instructions => "instructions",
        }
    }

    /// What a verdict in this measure is about, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Measure::Time => "time per iteration (the module's own clock)",
            Measure::Instructions => {
                "instructions executed per iteration (counted under valgrind; no clock involved)"
            }
        }
    }

    pub fn is_time(&self) -> bool {
        *self == Measure::Time
    }
}

impl std::str::FromStr for Measure {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "time" => Ok(Measure::Time),
            "instructions" => Ok(Measure::Instructions),
            _ => Err(format!(
                "unknown measure `{name}`; use time or instructions"
            )),
        }
    }
}

/// How a run under the instructions measure counted: the counter, and the second, smaller
/// module of each test whose count is subtracted, so that start-up and compilation drop out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InstructionsRecord {
    /// The counter's version line, e.g. "valgrind-3.19.0".
    pub counter: String,
    /// The suite of the smaller modules.
    pub low_suite_id: String,
    /// Per test, the iterations of its smaller module (the suite's modules have more).
    pub low_iterations: std::collections::BTreeMap<String, u64>,
}

/// One process run of one module on one runtime.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    pub test: String,
    pub runtime: String,
    /// The round of the interleaved schedule this sample belongs to.
    pub round: u32,
    /// Position in the whole run's execution order.
    pub order: u64,
    pub status: SampleStatus,
    /// Picoseconds per iteration, as the module measured and printed it.
    pub value_ps: Option<u64>,
    /// Wall time of the whole process, start-up included, in milliseconds.
    pub wall_ms: f64,
    pub exit_code: Option<i32>,
    pub core: Option<usize>,
    /// Why a sample failed: the runtime's stderr (shortened) or what was wrong with stdout;
    /// for a disturbed sample, the figures that marked it.
    pub message: Option<String>,
    /// User plus system CPU time of the process, in milliseconds. The three figures of the
    /// kernel's accounting are absent from files written before they were recorded, and where
    /// the kernel does not tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<f64>,
    /// Time the process was runnable but waiting for its core, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_delay_ms: Option<f64>,
    /// Involuntary context switches: how often the kernel gave the core to another task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemptions: Option<u64>,
    /// Under the instructions measure: instructions executed per iteration of the test's loop
    /// (the count of the module at its iterations less that of its smaller module, over the
    /// difference in iterations). `value_ps` is then absent: a clock under a simulator says
    /// nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<f64>,
}

impl Sample {
    /// What the sample measured, when it succeeded: the one test every reader of samples makes.
    /// A disturbed sample's value is not a measurement of the module alone, so it is `None`.
    /// It is in the run's measure: instructions when they were counted, else picoseconds.
    pub fn ok_value(&self) -> Option<f64> {
        if self.status != SampleStatus::Ok {
            return None;
        }
        self.instructions.or(self.value_ps.map(|v| v as f64))
    }

    /// Whether the sample failed the test (crash, wrong output, timeout); a disturbed sample
    /// did not: it was measured again.
    pub fn failed(&self) -> bool {
        matches!(self.status, SampleStatus::Failed | SampleStatus::Timeout)
    }

    pub fn disturbed(&self) -> bool {
        self.status == SampleStatus::Disturbed
    }
}

/// One ahead-of-time step (e.g. `wasmtime compile`): done once per module and runtime version,
/// before any sample, and recorded apart since its time is never part of a sample.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AotRecord {
    pub runtime: String,
    pub test: String,
    pub seconds: f64,
    /// The product was in the cache: nothing ran.
    pub cached: bool,
    pub error: Option<String>,
}

/// A run: the suite, the machine, the runtimes and every sample.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Results {
    pub schema_version: u32,
    pub suite: Manifest,
    pub machine: Machine,
    pub runtimes: Vec<RuntimeInfo>,
    /// Seed of the shuffled schedule, so a run can be replayed in the same order.
    pub seed: u64,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// False when the run was interrupted: the samples are what was measured until then.
    pub complete: bool,
    /// The time budget ended the run before every test reached its precision.
    #[serde(default)]
    pub budget_spent: bool,
    /// Wall time of the measuring itself (not the build), for the harness's own cost.
    #[serde(default)]
    pub wall_seconds: f64,
    /// The ahead-of-time steps this run needed.
    #[serde(default)]
    pub aot: Vec<AotRecord>,
    /// The slice of the tests this run measured, when it is one shard of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// What the samples' values are; files written before there was a choice measured time.
    #[serde(default)]
    pub measure: Measure,
    /// How instructions were counted, under the instructions measure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<InstructionsRecord>,
    pub samples: Vec<Sample>,
}

/// The K-th of N deterministic slices of the selected tests (K from 1). A test's runtimes all
/// stay in one shard, so its samples can still be paired round by round.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Every N-th test from the K-th, in the suite's order: slow and fast tests spread evenly.
    pub fn select<T>(&self, tests: Vec<T>) -> Vec<T> {
        tests
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i as u32 % self.count == self.index - 1)
            .map(|(_, t)| t)
            .collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if 1 <= index && index <= count => Ok(Shard { index, count }),
            _ => Err(format!(
                "`{text}`: give the shard as K/N with 1 <= K <= N, e.g. 2/4"
            )),
        }
    }
}

/// What a comparison concluded about one test, a category or the whole suite.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regression,
    Improvement,
    Unchanged,
    /// Too noisy for the samples the budget allowed: neither a change nor its absence is shown.
    Inconclusive,
    /// A side failed the test (crash, trap, wrong output) or has no usable sample.
    Failed,
}

/// One side of a comparison: a runtime's samples and where they were measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComparedSide {
    pub label: String,
    pub runtime: RuntimeInfo,
    pub suite_id: String,
    pub machine: Machine,
    /// Where the samples came from: a results file or a baseline file.
    pub origin: String,
    /// The commit of the runtime measured, when known (a baseline records it).
    #[serde(default)]
    pub commit: Option<String>,
    /// The measure of its values.
    #[serde(default)]
    pub measure: Measure,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestComparison {
    pub test: String,
    pub category: String,
    pub base_samples: usize,
    pub head_samples: usize,
    pub base_median_ps: Option<f64>,
    pub head_median_ps: Option<f64>,
    /// Head over base (Hodges–Lehmann); above 1 is slower.
    pub ratio: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    /// The p-value adjusted for testing every test at once (Benjamini–Hochberg).
    pub q_value: Option<f64>,
    pub verdict: Verdict,
    /// Why the verdict is failed or inconclusive, when there is more to say.
    pub note: Option<String>,
    /// Samples of each side marked disturbed and measured again (absent: none, or a
    /// comparison written before they were counted).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub base_disturbed: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub head_disturbed: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupComparison {
    pub name: String,
    /// Tests whose ratios the geometric mean is taken over.
    pub tests: usize,
    pub ratio: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub verdict: Verdict,
}

/// The statistical settings a comparison used, for the record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompareSettings {
    pub confidence: f64,
    pub alpha: f64,
    pub min_effect: f64,
    pub fail_on: Vec<String>,
    /// The significance test (and interval) of a paired comparison. Comparisons recorded
    /// before it was a choice used the signed-rank test.
    #[serde(default)]
    pub paired_test: PairedTest,
}

/// The test a paired comparison's significance and interval come from (docs/statistics.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairedTest {
    /// Wilcoxon's signed-rank test and the Walsh-average interval: distribution-free, but no
    /// p-value below 2/2^n, so a change on few pairs cannot survive the correction for many
    /// tests however consistent it is.
    #[default]
    SignedRank,
    /// The 20 % trimmed-mean t-test on the log-ratios (Tukey–McLaughlin, Yuen) and its
    /// interval: robust to the heavy tails of timings, and a consistent change reaches any
    /// p-value on few pairs.
    TrimmedT,
}

impl PairedTest {
    pub const ALL: [PairedTest; 2] = [PairedTest::SignedRank, PairedTest::TrimmedT];

    pub fn name(self) -> &'static str {
        match self {
            PairedTest::SignedRank => "signed-rank",
            PairedTest::TrimmedT => "trimmed-t",
        }
    }
}

impl std::fmt::Display for PairedTest {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PairedTest {
    type Err = String;

    fn from_str(name: &str) -> Result<PairedTest, String> {
        (PairedTest::ALL.into_iter())
            .find(|test| test.name() == name)
            .ok_or_else(|| format!("unknown paired test `{name}`; use signed-rank or trimmed-t"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub schema_version: u32,
    pub base: ComparedSide,
    pub head: ComparedSide,
    /// Set when the sides come from different suites or machines and the user allowed it.
    pub foreign: Option<String>,
    /// Whether samples were compared pair by pair (same run, same round) or as two groups.
    pub paired: bool,
    pub settings: CompareSettings,
    pub tests: Vec<TestComparison>,
    pub categories: Vec<GroupComparison>,
    pub overall: GroupComparison,
    /// Whether the gate rule failed, and why.
    pub gate_failed: bool,
    pub gate_reasons: Vec<String>,
    /// The samples of the compared tests on both sides, and how many of them were disturbed
    /// by another process on their core (and measured again).
    #[serde(default)]
    pub disturbance: Disturbance,
    /// Tests only one side measured, left out of the comparison.
    #[serde(default)]
    pub not_compared: NotCompared,
    /// The measure both sides' values are in.
    #[serde(default)]
    pub measure: Measure,
}

/// Tests one side measured and the other did not: a run of a few tests against a fuller
/// baseline, or a baseline stored before a test existed. Neither side failed them, so they are
/// left out of the verdicts, and the reports name them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotCompared {
    pub base_only: Vec<String>,
    pub head_only: Vec<String>,
}

impl NotCompared {
    /// "not compared: 2 tests only the base measured (box, sign)"; `None` when none were.
    pub fn sentence(&self, base: &str, head: &str) -> Option<String> {
        let part = |tests: &[String], side: &str| {
            (!tests.is_empty()).then(|| {
                let noun = if tests.len() == 1 { "test" } else { "tests" };
                format!(
                    "{} {noun} only {side} measured ({})",
                    tests.len(),
                    tests.join(", ")
                )
            })
        };
        let parts: Vec<String> = [part(&self.base_only, base), part(&self.head_only, head)]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| format!("not compared: {}", parts.join("; ")))
    }
}

/// How many of a run's samples were disturbed: the report's line about a busy runner.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Disturbance {
    pub samples: usize,
    pub disturbed: usize,
}

impl Disturbance {
    pub fn of<'s>(samples: impl IntoIterator<Item = &'s Sample>) -> Disturbance {
        samples
            .into_iter()
            .fold(Disturbance::default(), |count, sample| Disturbance {
                samples: count.samples + 1,
                disturbed: count.disturbed + usize::from(sample.disturbed()),
            })
    }

    /// Most samples were disturbed: the runner was too busy to measure on, whatever the
    /// verdicts say.
    pub fn runner_too_busy(&self) -> bool {
        self.disturbed * 2 > self.samples
    }

    /// "12 of 40 samples (30 %) were disturbed by another process on their core".
    pub fn sentence(&self) -> String {
        format!(
            "{} of {} samples ({:.0} %) were disturbed by another process on their core and measured again",
            self.disturbed,
            self.samples,
            100.0 * self.disturbed as f64 / self.samples.max(1) as f64
        )
    }
}

impl Comparison {
    /// The tests given this verdict, in the comparison's order.
    pub fn tests_with(&self, verdict: Verdict) -> impl Iterator<Item = &TestComparison> {
        self.tests.iter().filter(move |t| t.verdict == verdict)
    }
}

/// A stored baseline: every sample of one runtime measured on main, with what it ran on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub schema_version: u32,
    /// The runner's label (e.g. "bench-1"); with the fingerprint it names the machine.
    pub runner: String,
    pub commit: Option<String>,
    pub created_at: String,
    pub suite: Manifest,
    pub machine: Machine,
    pub runtime: RuntimeInfo,
    /// The measure of its samples; baselines stored before there was a choice measured time.
    #[serde(default)]
    pub measure: Measure,
    pub samples: Vec<Sample>,
}

/// One line of a baseline's history: the compact summary from which trends are drawn.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistoryEntry {
    pub date: String,
    pub commit: Option<String>,
    pub runtime_version: String,
    pub suite_id: String,
    pub tests: std::collections::BTreeMap<String, TestSummary>,
    /// The tests the nightly watch called regressions that night.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regressions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestSummary {
    pub median_ps: f64,
    /// Distribution-free interval of the median, when there are enough samples.
    pub ci_low_ps: Option<f64>,
    pub ci_high_ps: Option<f64>,
    pub samples: usize,
}

/// Refuses a document of another schema version, saying how to make one this version reads.
pub fn check_schema(found: u32, path: &Path, fix: &str) -> Result<()> {
    if found != SCHEMA_VERSION {
        anyhow::bail!(
            "{}: schema_version {found} but this wasmgate reads {SCHEMA_VERSION}; {fix}",
            path.display()
        );
    }
    Ok(())
}

/// Reads a JSON document, with an error that names the file and the field that is wrong.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_json(&text, &path.display().to_string())
}

pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        anyhow::anyhow!(
            "{origin}:{}:{}: field `{field}`: {}; is this a wasmgate file of schema version {SCHEMA_VERSION}?",
            inner.line(),
            inner.column(),
            strip_position(&inner.to_string())
        )
    })
}

fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// Writes a file atomically: a temporary file in the same directory, then a rename, so a
/// reader never sees half a file and an interrupted write leaves the old one. A symbolic link
/// is written through (its target is replaced, the link stays); anything that is not a
/// regular file (a device, a FIFO, a folder) is refused, never renamed over.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if is_standard_output(path) {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()?;
        return Ok(());
    }
    replace_atomically(path, bytes, |file, path| keep_mode_of(path, file))
}

/// The one way a file is replaced: a temporary file beside its destination (the end of its
/// links), given its mode by `set_mode`, written, synced, then renamed over it.
fn replace_atomically(
    path: &Path,
    bytes: &[u8],
    set_mode: impl FnOnce(&std::fs::File, &Path) -> Result<()>,
) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let path = &destination(path)?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut file = tempfile::Builder::new()
        // tempfile's own 0600 would keep results and reports from other users and a web
        // server on the runner; this is what `File::create` gives, before the umask.
        .permissions(std::fs::Permissions::from_mode(NEW_FILE_MODE))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    set_mode(file.as_file(), path)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Checks early that `path` can be written by `write_atomic`, for a command that writes it only
/// after long work; returns where the write will land.
pub fn check_destination(path: &Path) -> Result<std::path::PathBuf> {
    if is_standard_output(path) {
        return Ok(path.to_path_buf());
    }
    destination(path)
}

/// `-` as a file to write: standard output, as in most command-line tools.
pub fn is_standard_output(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Where a write to `path` lands: the end of its chain of symbolic links, checked to be a
/// regular file or nothing yet.
fn destination(path: &Path) -> Result<std::path::PathBuf> {
    let mut current = path.to_path_buf();
    // As many links as the kernel follows before it gives up (ELOOP).
    for _ in 0..40 {
        let Ok(found) = std::fs::symlink_metadata(&current) else {
            return Ok(current);
        };
        let kind = found.file_type();
        if kind.is_file() {
            return Ok(current);
        }
        if !kind.is_symlink() {
            anyhow::bail!(
                "{}: is {}, not a regular file; give the path of a file to write",
                path.display(),
                describe_kind(&kind)
            );
        }
        let target = std::fs::read_link(&current)
            .with_context(|| format!("cannot read the link {}", current.display()))?;
        current = match current.parent() {
            Some(parent) => parent.join(target),
            None => target,
        };
    }
    anyhow::bail!(
        "{}: too many levels of symbolic links; give the path of a file to write",
        path.display()
    )
}

fn describe_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Copies a file atomically, with the source's mode (a kept runtime binary stays executable):
/// a crash leaves the old destination or the whole copy, never a part.
pub fn copy_atomic(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mode = std::fs::metadata(from)?.permissions().mode() & 0o7777;
    replace_atomically(to, &bytes, |file, to| {
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| {
                format!(
                    "cannot give {} the mode of {}",
                    to.display(),
                    from.display()
                )
            })
    })
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// The mode a new file is created with, less the process umask.
const NEW_FILE_MODE: u32 = 0o666;

/// A file being replaced passes its mode on: whoever made it private, or shared it with a
/// group, meant the next version too. The umask applies only to new files, so this is set
/// after creating the temporary file rather than asked for at its creation.
fn keep_mode_of(path: &Path, replacement: &std::fs::File) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(existing) = std::fs::metadata(path) else {
        return Ok(());
    };
    let mode = existing.permissions().mode() & 0o7777;
    replacement
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot give the new {} its mode", path.display()))
}

/// Modes of written files, for the tests of every stage that writes one.
#[cfg(test)]
pub mod file_mode {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// What a new file's mode must be in this process: 0666 less the umask. The umask is read,
    /// not set: setting it would race with the other tests' files.
    pub fn new_file() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|line| line.strip_prefix("Umask:"))
            .expect("Linux reports the umask in /proc/self/status");
        0o666 & !u32::from_str_radix(umask.trim(), 8).unwrap()
    }

    pub fn of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    pub fn set(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// The current time as RFC 3339, seconds precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_recorded_before_the_doctor_still_reads() {
        let old = r#"{"cpu_model": "c", "logical_cores": 2, "arch": "x86_64", "os": "o",
            "kernel": "6.1", "pinned_cores": [1], "fingerprint": "f"}"#;
        let machine: Machine = parse_json(old, "old.json").unwrap();
        assert_eq!(machine.environment, None);
        let text = serde_json::to_string(&machine).unwrap();
        assert!(!text.contains("environment"), "{text}");
    }

    #[test]
    fn an_environment_reads_back_as_written() {
        let machine = Machine {
            environment: Some(Environment {
                checks: vec![EnvironmentCheck {
                    name: "governor".into(),
                    core: Some(1),
                    status: CheckStatus::Warn,
                    found: "powersave".into(),
                    fix: Some("echo performance > x".into()),
                }],
            }),
            ..fixtures::machine()
        };
        let text = serde_json::to_string(&machine).unwrap();
        assert!(text.contains(r#""status":"warn""#), "{text}");
        assert_eq!(parse_json::<Machine>(&text, "m.json").unwrap(), machine);
    }

    #[test]
    fn bad_json_names_file_line_and_field() {
        let err = parse_json::<ToolInfo>(r#"{"version": 3, "flags": []}"#, "r.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("r.json:1:"), "{err}");
        assert!(err.contains("field `version`"), "{err}");
    }

    #[test]
    fn a_write_through_a_link_replaces_its_target_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("kept").join("results.json");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("kept/results.json", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn devices_pipes_and_folders_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        for (path, kind) in [
            (fifo.as_path(), "a named pipe"),
            (Path::new("/dev/null"), "a device"),
            (dir.path(), "a folder"),
        ] {
            let err = write_atomic(path, b"x").unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "{}: is {kind}, not a regular file; give the path of a file to write",
                    path.display()
                )
            );
        }
        let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(&kind));
        // A link to a device is refused too.
        let link = dir.path().join("null.json");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(write_atomic(&link, b"x").is_err());
    }

    #[test]
    fn a_dash_is_standard_output_and_never_a_file() {
        let dash = Path::new("-");
        assert!(is_standard_output(dash));
        assert!(
            !is_standard_output(Path::new("./-")),
            "a file named - stays reachable"
        );
        assert_eq!(check_destination(dash).unwrap(), dash);
        write_atomic(dash, b"").unwrap();
        assert!(!dash.exists(), "no file named - in the working directory");
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        write_json(&path, &vec![1, 2, 3]).unwrap();
        write_json(&path, &vec![4]).unwrap();
        let back: Vec<u32> = read_json(&path).unwrap();
        assert_eq!(back, vec![4]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_new_file_is_readable_as_the_umask_allows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        write_atomic(&path, b"# report\n").unwrap();
        // 0644 under the usual umask 022: what another user or a web server needs.
        let expected = file_mode::new_file();
        assert_eq!(file_mode::of(&path), expected, "{expected:o}");
    }

    #[test]
    fn a_replaced_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        write_json(&path, &vec![1]).unwrap();
        file_mode::set(&path, 0o640);
        write_json(&path, &vec![2]).unwrap();
        assert_eq!(file_mode::of(&path), 0o640);
        file_mode::set(&path, 0o660);
        write_atomic(&path, b"[3]\n").unwrap();
        assert_eq!(
            file_mode::of(&path),
            0o660,
            "group-writable, which the umask would mask"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[3]\n");
    }
}
