//! Evidence with a changed test: which of its functions got slower. Profiles of both sides,
//! taken after the verdict, and their difference per function, named through the module's
//! named twin.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The names of a module's functions by their index in its function index space (imports
/// first), as `wasm[0]::function[N]` and `wasm-function[N]` name them, read from the name
/// section of the module's named twin: the same module, built with names kept, whose every
/// other section was checked to be the measured module's, byte for byte.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FunctionNames {
    /// sha256 of the measured module the names are for.
    pub module_sha256: String,
    pub names: BTreeMap<u32, String>,
}

/// One side's profile of a test: how many profiler samples fell in each call stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    /// The runtime label of the side.
    pub runtime: String,
    /// Every sample of the process, in and out of the module's code.
    pub samples: u64,
    /// Each stack, its frames outermost first joined by `;`, and its samples (the "folded"
    /// form flame graph tools read).
    pub stacks: BTreeMap<String, u64>,
}

/// What one function carried of a test's change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FunctionChange {
    pub function: String,
    /// Share of each side's samples with the function on top of the stack (self time).
    pub base_self: f64,
    pub head_self: f64,
    /// Share of each side's samples with the function anywhere on the stack (with callees).
    pub base_total: f64,
    pub head_total: f64,
    /// The change in self time it accounts for, as a share of the base's time per iteration
    /// (0.11 = the head spends 11 % of the base's time more in it).
    pub change_of_base: f64,
    /// Its part of the test's whole change (0.74 = 74 % of it); negative when it moved the
    /// other way.
    pub part_of_change: f64,
}

/// The evidence with one changed test.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// The profiler's event, e.g. `cpu-clock`.
    pub event: String,
    /// The two sides' profiles.
    pub base: Profile,
    pub head: Profile,
    /// The functions by what they carried of the change, most first (at most a few dozen).
    pub functions: Vec<FunctionChange>,
}

/// A function that carried less than this part of a change is not worth a line.
pub const LEAST_PART: f64 = 0.05;

impl Evidence {
    /// The functions that carried most of the change, at most `most`, none under
    /// `LEAST_PART` of it.
    pub fn leading(&self, most: usize) -> impl Iterator<Item = &FunctionChange> {
        (self.functions.iter())
            .filter(|f| f.part_of_change >= LEAST_PART)
            .take(most)
    }
}

impl FunctionChange {
    /// "fe25519_mul +11.0 % of base time: 74 % of the change", in plain text.
    pub fn sentence(&self) -> String {
        format!(
            "{} {:+.1} % of base time: {:.0} % of the change",
            self.function,
            self.change_of_base * 100.0,
            self.part_of_change * 100.0
        )
    }
}

/// One test's evidence in a record that is not a comparison (a bisect's first bad commit).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestEvidenceOf {
    pub test: String,
    /// The test's change, head over base.
    pub ratio: Option<f64>,
    pub evidence: TestEvidence,
}

/// Evidence with a test, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum TestEvidence {
    Profiled(Box<Evidence>),
    /// One line saying why (no profiler, a runtime without a symbol map, a failed profile).
    Unavailable(String),
}
