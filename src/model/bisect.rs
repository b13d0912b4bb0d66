//! The record of a bisect (`bisect.json`): the range, every measured step with its effect, the
//! first bad commit (or why the search stopped) and what the builds cost.

use super::Verdict;
use serde::{Deserialize, Serialize};

/// A commit of the runtime's repository.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommitRef {
    pub sha: String,
    pub short: String,
    pub subject: String,
}

/// The whole bisect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BisectRecord {
    pub schema_version: u32,
    pub repo: String,
    /// What names the repository in the cache of builds, wherever it is cloned.
    pub repo_identity: String,
    pub good: CommitRef,
    pub bad: CommitRef,
    /// Commits in `good..bad` (first parent), `bad` included.
    pub commits: usize,
    pub build_command: String,
    pub adapter: String,
    /// The tests asked for; empty for every test of the configuration.
    pub tests: Vec<String>,
    /// The tests bad regressed on against good: the ones each later step measures.
    pub regressed: Vec<String>,
    /// The budget of all the measuring, in seconds.
    pub budget_seconds: f64,
    pub steps: Vec<BisectStep>,
    pub outcome: BisectOutcome,
    pub builds: BuildCounts,
    /// The whole bisect's wall time, builds included.
    pub wall_seconds: f64,
    /// The paired runs' time: what the budget bounds (builds are not counted against it).
    #[serde(default)]
    pub measuring_seconds: f64,
    /// The first bad commit's evidence: each regressed test profiled on it and on its parent
    /// (the build it was measured against), after the search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<super::evidence::TestEvidenceOf>,
}

/// What a step is for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// bad against good: is there a regression at all, and on which tests.
    Range,
    /// a midpoint against good.
    Search,
    /// the first bad commit against its parent: how much of the effect it explains.
    Confirm,
}

/// How a step judged its head commit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StepVerdict {
    Bad,
    Good,
    Inconclusive,
}

/// One paired run: `head` against `base`, and what it found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BisectStep {
    /// 0 for the range; search steps count from 1; a repeat keeps its step's number.
    pub number: usize,
    /// 1, or 2 for the repeat of an inconclusive step with a doubled budget.
    pub attempt: u32,
    pub kind: StepKind,
    pub base: CommitRef,
    pub head: CommitRef,
    pub budget_seconds: f64,
    /// The results file of the run.
    pub results: String,
    pub effects: Vec<TestEffect>,
    /// Mean of the tests' log ratios (head over base): the step's effect as one number.
    pub log_ratio: Option<f64>,
    pub verdict: StepVerdict,
}

/// One test's change in a step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestEffect {
    pub test: String,
    pub ratio: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub verdict: Verdict,
    pub note: Option<String>,
}

/// How the bisect ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BisectOutcome {
    /// bad is not slower than good on the tests.
    NoRegression,
    /// The first bad commit; `spread` when, against its parent, it explains less than half of
    /// the whole effect (in log ratio), and `share` is that fraction when it was measured.
    Found {
        first_bad: CommitRef,
        parent: CommitRef,
        share: Option<f64>,
        spread: bool,
    },
    /// A step stayed inconclusive after its repeat, or the budget ran out before it.
    Inconclusive {
        step: usize,
        commit: CommitRef,
        why: String,
    },
}

/// Builds made by this bisect, and builds found in the cache.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct BuildCounts {
    pub made: usize,
    pub cached: usize,
    pub seconds: f64,
}
