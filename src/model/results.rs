//! A run: the runtimes as measured, every sample and ahead-of-time step, and the shard it was.

use super::{Machine, Manifest};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// The largest time per iteration a sample may hold: a million seconds. Anything above is a
/// damaged or edited file, and would swamp every ratio it enters.
pub const MAX_VALUE_PS: u64 = 1_000_000 * 1_000_000_000_000;

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
    /// Under a compile measure, the threads its compiler ran on (`command` is then the
    /// compile step's template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_threads: Option<CompileThreads>,
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

/// What a sample's value is: the module's own clock, or the instructions the processor executed,
/// of the module's run or of the runtime compiling it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Picoseconds per iteration of the test's loop, as the module timed it.
    #[default]
    Time,
    /// Instructions executed per iteration of the test's loop, counted under a simulator
    /// (valgrind): a neighbour on the core cannot change it, so it is for noisy runners.
    Instructions,
    /// Picoseconds one process of the runtime's compile step took to compile the test's whole
    /// module (`value_ps`), on its pinned core: the runtime's compiler, not its generated code.
    Compile,
    /// Instructions that process executed, counted under valgrind: compile time for noisy
    /// runners (a single-threaded compiler repeats its count).
    CompileInstructions,
}

impl Measure {
    /// Every measure, for listings and the refusal of an unknown one.
    pub const ALL: [Measure; 4] = [
        Measure::Time,
        Measure::Instructions,
        Measure::Compile,
        Measure::CompileInstructions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Measure::Time => "time",
            Measure::Instructions => "instructions",
            Measure::Compile => "compile",
            Measure::CompileInstructions => "compile-instructions",
        }
    }

    /// What a verdict in this measure is about, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Measure::Time => "time per iteration (the module's own clock)",
            Measure::Instructions => {
                "instructions executed per iteration (counted under valgrind; no clock involved)"
            }
            Measure::Compile => {
                "compile time of the whole module (one process of the runtime's compile step, on its pinned core)"
            }
            Measure::CompileInstructions => {
                "instructions executed compiling the whole module (the runtime's compile step counted under valgrind; no clock involved)"
            }
        }
    }

    /// Whether a sample's value is a clock reading, which a neighbour on the core can move
    /// (and so is checked for disturbance), rather than a count.
    pub fn is_time(&self) -> bool {
        matches!(self, Measure::Time | Measure::Compile)
    }

    /// Whether a sample is a count of instructions under valgrind.
    pub fn counts(&self) -> bool {
        !self.is_time()
    }

    /// What a regression in this measure is, after its change: "+7.1 % ± 0.8 % slower".
    pub fn slower(self) -> &'static str {
        match self.compiles() {
            true => "slower to compile",
            false => "slower",
        }
    }

    /// Whether a sample is the runtime compiling the module rather than running it.
    pub fn compiles(&self) -> bool {
        matches!(self, Measure::Compile | Measure::CompileInstructions)
    }
}

impl std::str::FromStr for Measure {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Measure::ALL
            .into_iter()
            .find(|measure| measure.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
                format!("unknown measure `{name}`; use {}", names.join(", "))
            })
    }
}

/// The threads a runtime's compiler ran on under a compile measure: asked for by
/// `run.compile.threads`, or the runtime's own choice where its configuration cannot tell it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum CompileThreads {
    /// One thread: what a pinned core measures faithfully, and a count repeats.
    #[default]
    Serial,
    /// As many threads as the compiler chooses (on a pinned core they take turns).
    Parallel,
    /// The runtime's own choice: its compile step has no setting for it.
    Runtime,
}

impl CompileThreads {
    /// Its name in a configuration.
    pub fn name(self) -> &'static str {
        match self {
            CompileThreads::Serial => "serial",
            CompileThreads::Parallel => "parallel",
            CompileThreads::Runtime => "runtime",
        }
    }

    /// How a runtime compiled, for the list of runtimes in a report.
    pub fn compiling(self) -> &'static str {
        match self {
            CompileThreads::Serial => "compiling on one thread",
            CompileThreads::Parallel => "compiling in parallel",
            CompileThreads::Runtime => "compiling as the runtime chooses",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            CompileThreads::Serial => "one thread",
            CompileThreads::Parallel => "parallel",
            CompileThreads::Runtime => "as the runtime chooses",
        }
    }
}

/// How a run under the instructions measure counted: the counter, and the second, smaller
/// module of each test whose count is subtracted, so that start-up and compilation drop out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InstructionsRecord {
    /// The counter's version line, e.g. "valgrind-3.19.0".
    pub counter: String,
    /// The suite of the smaller modules; empty under `compile-instructions`, which counts a
    /// whole compile and subtracts nothing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub low_suite_id: String,
    /// Per test, the iterations of its smaller module (the suite's modules have more).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
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
    /// What the harness itself cost per sample in the last session that measured (absent from
    /// results written before it was recorded, and from merged ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness: Option<HarnessCost>,
    pub samples: Vec<Sample>,
}

/// The harness's own cost per sample: what a worker spent outside its samples, other than
/// waiting for a block (starting and reaping processes, the disturbance readings, ending the
/// process tree, handing the sample over), and wasmgate's own CPU time, both per sample.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct HarnessCost {
    pub samples: usize,
    pub wall_ms_per_sample: f64,
    pub cpu_ms_per_sample: f64,
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
