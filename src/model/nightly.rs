//! The differential nightly watch's records: each night's runtime build measured, paired in one
//! run, against the builds of earlier nights (a skip list: 1, 2, 4 and 8 nights back), and the
//! builds kept for the nights to come.

use super::{Measure, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many nights back a night is compared with, where that night's build is kept: one night
/// catches a step; the longer links catch a slow drift no single night shows, and tie the
/// chained trend together so its error does not accumulate night after night.
pub const NIGHTS_BACK: [u32; 4] = [1, 2, 4, 8];

/// A runtime build kept for later nights (`nights.json` in the kept-builds folder).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeptBuild {
    /// The commit of the runtime's repository the build is of.
    pub commit: String,
    /// When it was measured first (RFC 3339).
    pub date: String,
    /// The binary, relative to the kept-builds folder.
    pub binary: String,
    /// sha256 of the binary, checked before it is measured again.
    pub sha256: String,
}

/// The index of the kept-builds folder, oldest night first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KeptBuilds {
    pub schema_version: u32,
    /// What every night of the folder measured: a trend or a link across two measures would
    /// compare compile time with run time, so one folder holds one measure's nights.
    #[serde(default)]
    pub measure: Measure,
    pub builds: Vec<KeptBuild>,
}

/// One line of the nightly history (`nightly.history.jsonl`): tonight against earlier nights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Night {
    pub date: String,
    pub commit: String,
    pub runtime_version: String,
    pub suite_id: String,
    /// The runner's label and machine fingerprint: a trend may cross a change of runner,
    /// since every link was measured within one run on one machine.
    pub runner: String,
    pub machine: String,
    /// What the night measured (time when the line predates the field).
    #[serde(default)]
    pub measure: Measure,
    /// Tonight against each earlier night kept; empty on the first night.
    pub links: Vec<NightLink>,
}

/// Tonight's build against an earlier night's, measured in the same run and paired.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NightLink {
    /// The earlier night's commit, and how many nights back it is.
    pub against: String,
    pub nights_back: u32,
    /// Per test: tonight's time over the earlier night's (1.05 = 5 % slower tonight).
    pub tests: BTreeMap<String, LinkRatio>,
    pub categories: BTreeMap<String, LinkRatio>,
    pub overall: LinkRatio,
}

/// A ratio with its interval and what the comparison called it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct LinkRatio {
    pub ratio: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub verdict: Verdict,
}
