//! What a comparison concluded, per test, per category and overall, with its settings.

use super::{Machine, Measure, RuntimeInfo, Sample};
use serde::{Deserialize, Serialize};

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
    /// A changed test's evidence: which of its functions carried the change, or why there
    /// is none. Taken after the verdict, it never feeds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<super::evidence::TestEvidence>,
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
