//! Publishing a comparison where a runtime's maintainers read it: the sticky pull-request
//! comment, the nightly-watch issue on `main`, the job summary and the step outputs of GitHub
//! Actions. The GitHub side is in `github`; this module decides what is said and where.

pub mod github;

use crate::model::{Comparison, Verdict};
use crate::report::comparison::{Presentation, markdown};
use anyhow::{Context as _, Result, bail};
use std::io::Write as _;
use std::path::Path;

/// GitHub's limit on the body of a comment or an issue, in characters.
pub const BODY_LIMIT: usize = 65_536;
/// GitHub's limit on a step's job summary, in bytes.
const SUMMARY_LIMIT: usize = 1024 * 1024;

/// Where to publish, from the GitHub Actions environment unless flags say otherwise.
#[derive(Debug, Clone)]
pub struct Target {
    /// The REST API's root: `GITHUB_API_URL` on GitHub Enterprise Server.
    pub api_url: String,
    pub owner: String,
    pub repo: String,
    /// The pull request to comment on.
    pub pr: Option<u64>,
    /// The commit measured (head of the nightly range).
    pub commit: Option<String>,
    /// The web root (`GITHUB_SERVER_URL`), for links to commits.
    pub server_url: String,
}

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
        let event: serde_json::Value = crate::model::read_json(Path::new(path))?;
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
        Ok(Target {
            api_url: self
                .api_url
                .clone()
                .unwrap_or_else(|| "https://api.github.com".to_string()),
            owner: owner.to_string(),
            repo: name.to_string(),
            pr,
            commit: commit.map(str::to_string).or_else(|| self.sha.clone()),
            server_url: self.server_url(),
        })
    }
}

/// The hidden line that marks wasmgate's comment or issue, so later runs find and update it.
pub fn marker(kind: &str, key: &str) -> String {
    format!("<!-- wasmgate:{kind}:{key} -->")
}

/// The pull-request comment: the full report when it fits GitHub's limit; else the compact
/// one (summary, changes, categories; the unchanged tests left to the job summary and the
/// artifact); else that, cut at a line.
pub fn comment_body(comparison: &Comparison, run_url: Option<&str>, mark: &str) -> Result<String> {
    let full = Presentation {
        run_url: run_url.map(str::to_string),
        compact: false,
    };
    let body = format!("{mark}\n{}", markdown(comparison, &full)?);
    if body.chars().count() <= BODY_LIMIT {
        return Ok(body);
    }
    let compact = Presentation {
        compact: true,
        ..full
    };
    let body = format!("{mark}\n{}", markdown(comparison, &compact)?);
    Ok(fit_body(&body))
}

/// A comment or issue body cut to GitHub's limit, at a line, with a note.
pub fn fit_body(body: &str) -> String {
    cut_to_fit(body, BODY_LIMIT)
}

/// Cuts text at the last whole line that fits in `limit` characters, with a note saying so.
fn cut_to_fit(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let note = "\n\n… shortened to fit GitHub's size limit: the whole report is in the job summary and the results artifact.\n";
    let room = limit - note.chars().count();
    let mut kept = String::new();
    let mut used = 0;
    for line in text.split_inclusive('\n') {
        let length = line.chars().count();
        if used + length > room {
            break;
        }
        kept.push_str(line);
        used += length;
    }
    kept.push_str(note);
    kept
}

/// The nightly-watch issue: title and body naming the regressed tests and categories, their
/// effect with its interval, and the commit range between the baseline and today's run.
pub fn issue_text(
    comparison: &Comparison,
    target: &Target,
    run_url: Option<&str>,
    mark: &str,
) -> Result<(String, String)> {
    let regressed: Vec<&str> = comparison
        .tests_with(Verdict::Regression)
        .map(|t| t.test.as_str())
        .collect();
    let categories: Vec<&str> = comparison
        .categories
        .iter()
        .filter(|c| c.verdict == Verdict::Regression)
        .map(|c| c.name.as_str())
        .collect();
    let mut named: Vec<String> = regressed.iter().take(3).map(|t| format!("`{t}`")).collect();
    if regressed.len() > 3 {
        named.push(format!("{} more", regressed.len() - 3));
    }
    if named.is_empty() {
        named = categories
            .iter()
            .map(|c| format!("{c} (category)"))
            .collect();
    }
    let failed = comparison.tests_with(Verdict::Failed).count();
    let runtime = &comparison.head.runtime.name;
    let title = if named.is_empty() && failed > 0 {
        format!("Benchmark failures on {runtime}: {failed} tests failed")
    } else if named.is_empty() {
        format!("Performance regression on {runtime}: overall slower")
    } else {
        format!(
            "Performance regression on {runtime}: {} slower",
            named.join(", ")
        )
    };
    let range = commit_range(comparison.base.commit.as_deref(), target);
    let compact = Presentation {
        run_url: run_url.map(str::to_string),
        compact: true,
    };
    let body = format!(
        "{mark}\nThe nightly watch found a regression on `main`: {range}.\n\n{}",
        markdown(comparison, &compact)?
    );
    Ok((title, fit_body(&body)))
}

/// "between `abc1234` (the baseline) and `def5678`", linked to GitHub's compare view.
pub fn commit_range(base: Option<&str>, target: &Target) -> String {
    let short = |c: &str| c.chars().take(12).collect::<String>();
    match (base, target.commit.as_deref()) {
        (Some(base), Some(head)) => format!(
            "between `{}` (the baseline) and `{}` ([changes]({}/{}/{}/compare/{base}...{head}))",
            short(base),
            short(head),
            target.server_url,
            target.owner,
            target.repo
        ),
        (None, Some(head)) => format!(
            "at `{}` (the baseline's commit is not recorded)",
            short(head)
        ),
        (Some(base), None) => format!("since `{}` (the baseline)", short(base)),
        (None, None) => "(commits not recorded)".to_string(),
    }
}

/// Appends the full report to the job summary, shortened to GitHub's limit.
pub fn write_step_summary(path: &Path, report: &str) -> Result<()> {
    let text = if report.len() > SUMMARY_LIMIT {
        cut_to_fit(report, SUMMARY_LIMIT / 4)
    } else {
        report.to_string()
    };
    append(path, &text).with_context(|| format!("writing the job summary {}", path.display()))
}

/// Step outputs: the verdict, the counts, and where the files are.
pub fn step_outputs(comparison: &Comparison, files: &[(&str, &Path)]) -> Vec<(String, String)> {
    let count = |verdict: Verdict| comparison.tests_with(verdict).count().to_string();
    let mut outputs = vec![
        (
            "verdict".to_string(),
            if comparison.gate_failed {
                "fail"
            } else {
                "pass"
            }
            .to_string(),
        ),
        ("regressions".to_string(), count(Verdict::Regression)),
        ("improvements".to_string(), count(Verdict::Improvement)),
        ("failed".to_string(), count(Verdict::Failed)),
    ];
    for (name, path) in files {
        outputs.push((name.to_string(), path.display().to_string()));
    }
    outputs
}

/// Appends `name=value` lines to `GITHUB_OUTPUT`.
pub fn write_step_outputs(path: &Path, outputs: &[(String, String)]) -> Result<()> {
    let text: String = outputs
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect();
    append(path, &text).with_context(|| format!("writing the step outputs {}", path.display()))
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
    fn cutting_keeps_whole_lines_and_says_so() {
        let text = "line one\n".repeat(100);
        let cut = cut_to_fit(&text, 400);
        assert!(cut.chars().count() <= 400, "{}", cut.len());
        assert!(cut.contains("shortened to fit"));
        assert!(cut.starts_with("line one\nline one\n"));
        assert_eq!(cut_to_fit("short\n", 400), "short\n");
    }

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
}
