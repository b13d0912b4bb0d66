//! A stored baseline and the lines of its history.

use super::{Machine, Manifest, Measure, RuntimeInfo, Sample};
use serde::{Deserialize, Serialize};

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
