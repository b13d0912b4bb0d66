//! The machine a run happened on, and what `wasmgate doctor` found on it.

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{fixtures, parse_json};

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
}
