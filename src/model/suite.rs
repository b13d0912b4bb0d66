//! The built suite: its manifest (what was built, from what, with which tools, one entry per
//! module) and the iteration plan it was built from.

use serde::{Deserialize, Serialize};

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
    /// The bytes of its code section: what a runtime's compiler compiles (the rest is data it
    /// copies). Absent from suites written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_bytes: Option<u64>,
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
