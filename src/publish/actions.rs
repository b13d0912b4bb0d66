//! GitHub Actions' side of a job: what its environment says (repository, event, run), and the
//! job summary and step outputs it collects. Outside Actions the files are not set and nothing
//! is written.

use super::{Target, cut_to_fit};
use crate::model::{Comparison, Verdict};
use anyhow::{Context as _, Result, bail};
use std::io::Write as _;
use std::path::Path;

/// GitHub's limit on a step's job summary, in bytes.
const SUMMARY_LIMIT: usize = 1024 * 1024;

/// What the environment of a GitHub Actions job says, read once.
#[derive(Debug, Clone, Default)]
pub struct ActionsEnv {
    pub api_url: Option<String>,
    pub server_url: Option<String>,
    pub repository: Option<String>,
    pub event_path: Option<String>,
    pub run_id: Option<String>,
    pub sha: Option<String>,
    pub step_summary: Option<String>,
    pub output: Option<String>,
}

impl ActionsEnv {
    pub fn from_env() -> ActionsEnv {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        ActionsEnv {
            api_url: var("GITHUB_API_URL"),
            server_url: var("GITHUB_SERVER_URL"),
            repository: var("GITHUB_REPOSITORY"),
            event_path: var("GITHUB_EVENT_PATH"),
            run_id: var("GITHUB_RUN_ID"),
            sha: var("GITHUB_SHA"),
            step_summary: var("GITHUB_STEP_SUMMARY"),
            output: var("GITHUB_OUTPUT"),
        }
    }

    fn server_url(&self) -> String {
        self.server_url
            .clone()
            .unwrap_or_else(|| "https://github.com".to_string())
    }

    /// The web page of the running workflow run, when in GitHub Actions.
    pub fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url(),
            self.repository.as_ref()?,
            self.run_id.as_ref()?
        ))
    }

    /// The pull request of the triggering event: `pull_request` and `pull_request_target`
    /// events carry it; a `workflow_run` event carries the PRs of the run it follows (empty
    /// for a fork's PR, which is why the fork-safe workflow passes `--pr` from its artifact).
    fn pull_request(&self) -> Result<Option<u64>> {
        let Some(path) = &self.event_path else {
            return Ok(None);
        };
        // GitHub's event payloads are well under a megabyte; a bigger file is not one.
        let text = crate::model::read_text(Path::new(path), 16 << 20)?;
        let event: serde_json::Value = crate::model::parse_json(&text, path)?;
        let number = event
            .pointer("/pull_request/number")
            .or_else(|| event.pointer("/workflow_run/pull_requests/0/number"))
            .and_then(|n| n.as_u64());
        Ok(number)
    }

    /// Resolves the target; flags win over the environment.
    pub fn target(
        &self,
        repo: Option<&str>,
        pr: Option<u64>,
        commit: Option<&str>,
    ) -> Result<Target> {
        let repository = repo.map(str::to_string).or_else(|| self.repository.clone());
        let Some(repository) = repository else {
            bail!("no repository: pass --repo OWNER/NAME (GITHUB_REPOSITORY is not set)");
        };
        let Some((owner, name)) = repository.split_once('/') else {
            bail!("repository `{repository}`: give it as OWNER/NAME");
        };
        let pr = match pr {
            Some(pr) => Some(pr),
            None => self.pull_request()?,
        };
        // A commit reaches links and the shell command the issue suggests: an id, or refused.
        let commit = match commit {
            Some(commit) => Some(crate::util::paths::commit_id(commit, "--commit")?),
            None => (self.sha.as_deref())
                .map(|sha| crate::util::paths::commit_id(sha, "GITHUB_SHA"))
                .transpose()?,
        };
        Ok(Target {
            api_url: self
                .api_url
                .clone()
                .unwrap_or_else(|| "https://api.github.com".to_string()),
            owner: owner.to_string(),
            repo: name.to_string(),
            pr,
            commit: commit.map(str::to_string),
            server_url: self.server_url(),
        })
    }

    /// Appends the report to the job summary, shortened to GitHub's limit. The report is made
    /// only in GitHub Actions, where there is a summary to take it.
    pub fn write_summary(&self, report: impl FnOnce() -> Result<String>) -> Result<()> {
        let Some(path) = &self.step_summary else {
            return Ok(());
        };
        let report = report()?;
        let text = if report.len() > SUMMARY_LIMIT {
            cut_to_fit(&report, SUMMARY_LIMIT / 4)
        } else {
            report
        };
        append(Path::new(path), &text).with_context(|| format!("writing the job summary {path}"))
    }

    /// Appends the outputs to `GITHUB_OUTPUT`, each as GitHub reads it back whole (see
    /// `output_entry`).
    pub fn write_outputs(&self, outputs: &[(String, String)]) -> Result<()> {
        let Some(path) = &self.output else {
            return Ok(());
        };
        let text: String = outputs
            .iter()
            .map(|(name, value)| output_entry(name, value))
            .collect();
        append(Path::new(path), &text).with_context(|| format!("writing the step outputs {path}"))
    }

    /// Names files as step outputs, so later steps find them.
    pub fn write_file_outputs(&self, files: &[(&str, &Path)]) -> Result<()> {
        self.write_outputs(&file_outputs(files))
    }

    /// Says where the files are: on stderr, and as step outputs in GitHub Actions.
    pub fn tell_files(&self, files: &[(&str, &Path)]) -> Result<()> {
        let told: Vec<String> = (files.iter())
            .map(|(name, path)| format!("{name}: {}", path.display()))
            .collect();
        eprintln!("{}", told.join(" · "));
        self.write_file_outputs(files)
    }

    /// How a comparison is dressed here: linked to the CI run that measured it, when there is
    /// one.
    pub fn presentation(&self) -> crate::report::Presentation {
        crate::report::Presentation {
            run_url: self.run_url(),
            compact: false,
        }
    }
}

/// Step outputs of a comparison: the verdict, the counts, and where the files are.
pub fn step_outputs(comparison: &Comparison, files: &[(&str, &Path)]) -> Vec<(String, String)> {
    let count = |verdict: Verdict| comparison.tests_with(verdict).count().to_string();
    let verdict = if comparison.gate_failed {
        "fail"
    } else {
        "pass"
    };
    let mut outputs = vec![
        ("verdict".to_string(), verdict.to_string()),
        ("regressions".to_string(), count(Verdict::Regression)),
        ("improvements".to_string(), count(Verdict::Improvement)),
        ("failed".to_string(), count(Verdict::Failed)),
    ];
    outputs.extend(file_outputs(files));
    outputs
}

fn file_outputs(files: &[(&str, &Path)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(name, path)| (name.to_string(), path.display().to_string()))
        .collect()
}

/// One output in `GITHUB_OUTPUT`'s format: `name=value` on one line; a value with a line
/// break (a file name may hold one) in GitHub's multi-line form, `name<<DELIMITER`, the value,
/// `DELIMITER`, so that its lines cannot be read as outputs of their own. The delimiter is
/// random and absent from the value, so the value cannot end the block early either.
fn output_entry(name: &str, value: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("{name}={value}\n");
    }
    let delimiter = loop {
        let candidate = format!("ghadelimiter_{:016x}", fastrand::u64(..));
        if !value.contains(&candidate) {
            break candidate;
        }
    };
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_names_the_pull_request() {
        let dir = tempfile::tempdir().unwrap();
        for (event, expected) in [
            (r#"{"pull_request": {"number": 7}}"#, Some(7)),
            (
                r#"{"workflow_run": {"pull_requests": [{"number": 9}]}}"#,
                Some(9),
            ),
            (r#"{"workflow_run": {"pull_requests": []}}"#, None),
        ] {
            let path = dir.path().join("event.json");
            std::fs::write(&path, event).unwrap();
            let env = ActionsEnv {
                repository: Some("o/r".into()),
                event_path: Some(path.display().to_string()),
                ..ActionsEnv::default()
            };
            assert_eq!(env.target(None, None, None).unwrap().pr, expected);
            // A flag wins over the event.
            assert_eq!(env.target(None, Some(3), None).unwrap().pr, Some(3));
        }
    }

    #[test]
    fn a_repository_must_be_owner_slash_name() {
        let env = ActionsEnv::default();
        let error = env.target(None, None, None).unwrap_err().to_string();
        assert!(error.contains("--repo OWNER/NAME"), "{error}");
        let error = env
            .target(Some("lonely"), None, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("OWNER/NAME"), "{error}");
    }

    #[test]
    fn outside_actions_nothing_is_written_or_rendered() {
        let env = ActionsEnv::default();
        env.write_summary(|| panic!("no summary to render for"))
            .unwrap();
        env.write_file_outputs(&[("results", Path::new("r.json"))])
            .unwrap();
    }

    /// Reads `GITHUB_OUTPUT` as the runner does: line by line (`\r\n`, `\r` and `\n` each end
    /// a line), `name=value` lines and `name<<DELIMITER` blocks whose lines are joined by
    /// `\n`.
    fn read_as_github_does(text: &str) -> Vec<(String, String)> {
        let mut outputs = Vec::new();
        let unified = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut lines = unified.split('\n');
        while let Some(line) = lines.next() {
            let heredoc = line.find("<<");
            if heredoc.is_some_and(|h| line.find('=').is_none_or(|e| h < e)) {
                let (name, delimiter) = line.split_once("<<").unwrap();
                let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
                outputs.push((name.to_string(), value.join("\n")));
            } else if let Some((name, value)) = line.split_once('=') {
                outputs.push((name.to_string(), value.to_string()));
            }
        }
        outputs
    }

    #[test]
    fn a_file_name_with_a_line_break_stays_one_output() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        let env = ActionsEnv {
            output: Some(output.display().to_string()),
            ..ActionsEnv::default()
        };
        let evil = "dir/x\nverdict=pass\nregressions=0.json";
        let carriage = "dir/y\rverdict=pass.json";
        env.write_outputs(&[("verdict".into(), "fail".into())])
            .unwrap();
        env.write_file_outputs(&[
            ("comparison", Path::new(evil)),
            ("report", Path::new(carriage)),
        ])
        .unwrap();
        let text = std::fs::read_to_string(&output).unwrap();
        // The runner reads a lone `\r` as a line break too: the value comes back with `\n`,
        // but still as one output.
        let expected = [
            ("verdict", "fail"),
            ("comparison", evil),
            ("report", "dir/y\nverdict=pass.json"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()));
        assert_eq!(read_as_github_does(&text), expected, "{text}");
        assert!(
            text.starts_with("verdict=fail\ncomparison<<ghadelimiter_"),
            "{text}"
        );
    }

    #[test]
    fn the_delimiter_never_occurs_in_the_value() {
        let entry = output_entry("x", "a\nb");
        let delimiter = entry.lines().next().unwrap().trim_start_matches("x<<");
        assert!(!"a\nb".contains(delimiter));
        assert_eq!(entry, format!("x<<{delimiter}\na\nb\n{delimiter}\n"));
    }

    #[test]
    fn files_are_appended_as_name_equals_path() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        std::fs::write(&output, "earlier=1\n").unwrap();
        let env = ActionsEnv {
            output: Some(output.display().to_string()),
            ..ActionsEnv::default()
        };
        env.write_file_outputs(&[
            ("results", Path::new("r.json")),
            ("report", Path::new("r.md")),
        ])
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&output).unwrap(),
            "earlier=1\nresults=r.json\nreport=r.md\n"
        );
    }
}
