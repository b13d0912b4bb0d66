//! Publishing a comparison where a runtime's maintainers read it: the sticky pull-request
//! comment (`comment`), the nightly-watch issue on `main` (`nightly`), the job summary and the
//! step outputs of GitHub Actions (`actions`). The GitHub side is in `github`; these modules
//! decide what is said and where. Each job is one stage function that takes a `PublishRequest`, and
//! `run` is the one way out of the stage: its errors and what it says pass the `Redactor`.

pub mod actions;
pub mod comment;
pub mod github;
pub mod nightly;
pub mod redact;

pub use actions::ActionsEnv;
pub use redact::Redactor;

use crate::model::Comparison;
use crate::report::comparison::{Presentation, markdown};
use anyhow::{Result, bail};
use github::GitHub;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// GitHub's limit on the body of a comment or an issue, in characters.
pub const BODY_LIMIT: usize = 65_536;

/// One publishing job: what to publish, where, and how to reach GitHub.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// The comparison `gate` or `compare --out` wrote, or a results file (its report is
    /// published).
    pub file: PathBuf,
    /// The markdown report `gate` writes beside the comparison: a step output when it exists.
    pub gate_report: PathBuf,
    /// Tells this gate's comment or issue from others' in the same repository; without it,
    /// the head runtime's name (or `report` for a results file).
    pub key: Option<String>,
    /// Repository as OWNER/NAME, over the environment's.
    pub repo: Option<String>,
    /// Pull request to comment on, over the event's.
    pub pr: Option<u64>,
    /// The commit measured, over the environment's.
    pub commit: Option<String>,
    /// The nightly watch's longer links (`wasmgate nightly` writes them beside the nearest
    /// night's comparison): one the gate rule fails while the nearest passes is a slow drift,
    /// and opens the issue too.
    pub drift: Vec<PathBuf>,
    /// The command that builds the runtime at a commit, for the issue's bisect command; without
    /// it the command shows a placeholder.
    pub bisect_build: Option<String>,
    pub actions: ActionsEnv,
    /// The environment variable that holds the token. The token itself is read only when a
    /// call is made, so that a request (which is logged and debugged) never holds it.
    pub token_env: String,
    /// Say what would be posted, and call nothing.
    pub dry_run: bool,
    /// First wait before retrying a failed call; doubles each time.
    pub retry_delay: Duration,
    /// How long one call may wait for the connection or for the server's answer.
    pub timeout: Duration,
}

/// The timeout of one call unless a request says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl PublishRequest {
    fn target(&self) -> Result<Target> {
        self.actions
            .target(self.repo.as_deref(), self.pr, self.commit.as_deref())
    }

    fn run_url(&self) -> Option<String> {
        self.actions.run_url()
    }

    /// The token, read from its variable only when it is needed.
    fn token(&self) -> Option<String> {
        std::env::var(&self.token_env)
            .ok()
            .filter(|t| !t.is_empty())
    }

    /// Knows the token and the credentials the environment's URLs may hold.
    pub fn redactor(&self) -> Redactor {
        let urls: Vec<&str> = [&self.actions.api_url, &self.actions.server_url]
            .into_iter()
            .filter_map(Option::as_deref)
            .collect();
        Redactor::new(self.token().as_deref(), &urls)
    }

    /// The GitHub client, made only once there is something to send.
    fn connect(&self, target: &Target, redactor: &Redactor) -> Result<GitHub> {
        let Some(token) = self.token() else {
            bail!(
                "no token: set {} (in a workflow: `env: {}: ${{{{ github.token }}}}`), or use --dry-run",
                self.token_env,
                self.token_env
            );
        };
        let settings = github::Settings {
            backoff: self.retry_delay,
            timeout: self.timeout,
            redactor: redactor.clone(),
        };
        GitHub::new(target.clone(), token, settings)
    }
}

/// The job the command asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// The sticky pull-request comment (with the job summary and step outputs).
    Comment,
    /// The nightly-watch issue (with the job summary and step outputs).
    Issue,
    /// The job summary and step outputs only.
    SummaryOnly,
}

/// What a job has to say, redacted: a preview is the command's product (standard output),
/// anything else a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub text: String,
    pub preview: bool,
}

/// Runs one job. Its error and what it says leave the stage here, through the redactor, so
/// no server echo, URL or published text can carry a credential to the output.
pub fn run(request: &PublishRequest, job: Job) -> Result<Option<Said>> {
    let redactor = request.redactor();
    let said = match job {
        Job::Comment => {
            comment::publish(request, &redactor).map(|o| Some(said(&o, o.is_preview())))
        }
        Job::Issue => nightly::watch(request, &redactor).map(|o| Some(said(&o, o.is_preview()))),
        Job::SummaryOnly => summary_only(request, &redactor).map(|()| None),
    }
    .map_err(|e| redactor.error(e))?;
    Ok(said.map(|s| Said {
        text: redactor.redact(&s.text),
        ..s
    }))
}

fn said(outcome: &impl std::fmt::Display, preview: bool) -> Said {
    Said {
        text: outcome.to_string(),
        preview,
    }
}

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

impl Target {
    /// `owner/repo`, as messages name it.
    fn repository(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// Where the measured commits live, for the issue's links.
    fn commits(&self) -> crate::report::issue::Commits {
        crate::report::issue::Commits {
            server_url: self.server_url.clone(),
            repository: self.repository(),
            head: self.commit.clone(),
        }
    }
}

/// What is published: a comparison, or a results file's report.
enum Published {
    Comparison(Box<Comparison>),
    Report(String),
}

impl Published {
    /// Reads a comparison or a results file, told apart by their fields.
    fn read(path: &Path) -> Result<Published> {
        let text = crate::model::read_text(path, crate::model::READ_LIMIT)?;
        let origin = path.display().to_string();
        let value: serde_json::Value = crate::model::parse_json(&text, &origin)?;
        if value.get("samples").is_some() {
            let results = crate::run::read_results(path)?;
            let report = crate::report::render_results(&results, crate::report::Format::Markdown)?;
            return Ok(Published::Report(report));
        }
        let comparison: Comparison = crate::model::parse_json(&text, &origin)?;
        crate::model::check_schema(
            comparison.schema_version,
            path,
            "compare again with this wasmgate",
        )?;
        // The commits reach links and a shell command: ids, or the file is refused.
        for (side, commit) in [
            ("base", &comparison.base.commit),
            ("head", &comparison.head.commit),
        ] {
            if let Some(commit) = commit {
                let field = format!("{origin}: field `{side}.commit`");
                crate::util::paths::commit_id(commit, &field)?;
            }
        }
        Ok(Published::Comparison(Box::new(comparison)))
    }

    /// The key that tells this comment or issue apart, when the request names none.
    fn key(&self, given: Option<&str>) -> String {
        let default = match self {
            Published::Comparison(comparison) => comparison.head.runtime.name.as_str(),
            Published::Report(_) => "report",
        };
        given.unwrap_or(default).to_string()
    }

    /// The job summary gets the full report (redacted, as all the stage's text is); the step
    /// outputs the verdict and the files.
    fn write_actions_files(&self, request: &PublishRequest, redactor: &Redactor) -> Result<()> {
        let actions = &request.actions;
        let comparison = match self {
            Published::Report(report) => {
                actions.write_summary(|| Ok(redactor.redact(report)))?;
                return actions.write_file_outputs(&[("results", &request.file)]);
            }
            Published::Comparison(comparison) => comparison,
        };
        actions.write_summary(|| {
            let presentation = Presentation {
                run_url: request.run_url(),
                compact: false,
            };
            markdown(comparison, &presentation).map(|text| redactor.redact(&text))
        })?;
        let mut files = vec![("comparison", request.file.as_path())];
        if request.gate_report.exists() {
            files.push(("report", request.gate_report.as_path()));
        }
        actions.write_outputs(&actions::step_outputs(comparison, &files))
    }
}

/// The job without a comment (`--no-comment`): the job summary and the step outputs only.
fn summary_only(request: &PublishRequest, redactor: &Redactor) -> Result<()> {
    Published::read(&request.file)?.write_actions_files(request, redactor)
}

/// The hidden line that marks wasmgate's comment or issue, so later runs find and update it.
pub fn marker(kind: &str, key: &str) -> String {
    // The key comes from a flag or a runtime's name: encoded so it cannot end the comment.
    let key = crate::report::escape::html_comment(key);
    format!("<!-- wasmgate:{kind}:{key} -->")
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
    let room = limit.saturating_sub(note.chars().count());
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

/// The link GitHub returned for what was posted.
fn link(url: &Option<String>) -> String {
    url.clone()
        .unwrap_or_else(|| "(no link returned)".to_string())
}

/// Shared by the tests of the jobs: a request on files in a temporary folder, and comparisons
/// made by the compare stage from the shared results fixture.
#[cfg(test)]
mod fixtures {
    use super::*;
    use crate::model::fixtures::results_with;

    pub fn request(file: &Path) -> PublishRequest {
        PublishRequest {
            file: file.to_path_buf(),
            gate_report: file.with_extension("md"),
            key: None,
            repo: Some("acme/runtime".into()),
            pr: None,
            commit: None,
            drift: Vec::new(),
            bisect_build: None,
            actions: ActionsEnv::default(),
            // No variable of that name: a job that reaches for the token fails.
            token_env: "WASMGATE_TEST_NO_SUCH_TOKEN".into(),
            dry_run: true,
            retry_delay: Duration::from_millis(1),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `base` against `head` on one hashing test, written to `dir`; `regressed` marks the
    /// test and the gate as failed.
    pub fn comparison_file(dir: &Path, regressed: bool) -> PathBuf {
        let results = results_with(&[("hash", "base", Some(100)), ("hash", "head", Some(100))]);
        let origin = dir.join("results.json");
        let side =
            |label| crate::compare::baseline::side_from_results(&results, Some(label), &origin);
        let settings = crate::model::CompareSettings {
            confidence: 0.99,
            alpha: 0.01,
            min_effect: 0.02,
            fail_on: vec!["test".into()],
            paired_test: crate::model::PairedTest::default(),
        };
        let mut comparison = crate::compare::compare(
            &side("base").unwrap(),
            &side("head").unwrap(),
            &settings,
            crate::compare::Pairing::ByRound,
            None,
        );
        if regressed {
            comparison.gate_failed = true;
            comparison.tests[0].verdict = crate::model::Verdict::Regression;
        }
        let path = dir.join("gate.comparison.json");
        crate::model::write_json(&path, &comparison).unwrap();
        path
    }

    pub fn results_file(dir: &Path) -> PathBuf {
        let path = dir.join("results.json");
        let results = results_with(&[("hash", "wasmtime", Some(100))]);
        crate::model::write_json(&path, &results).unwrap();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_leaves_the_stage_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&fixtures::comparison_file(dir.path(), true));
        request.pr = Some(2);
        request.key = Some("https://u:p4ssw0rd@ghe.example".into());
        let said = run(&request, Job::Comment).unwrap().unwrap();
        assert!(said.preview);
        assert!(
            said.text
                .contains("wasmgate:comment:https://***@ghe.example")
        );
        assert!(!said.text.contains("p4ssw0rd"), "{}", said.text);
        // An error leaves the same way.
        request.file = dir.path().join("no token 0123456789abcdef0123.json");
        let error = run(&request, Job::SummaryOnly).unwrap_err().to_string();
        assert!(error.contains("no token ***"), "{error}");
    }

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
    fn the_key_defaults_to_the_head_runtime_or_report() {
        let dir = tempfile::tempdir().unwrap();
        let comparison = Published::read(&fixtures::comparison_file(dir.path(), false)).unwrap();
        assert_eq!(comparison.key(None), "head");
        assert_eq!(comparison.key(Some("nightly-x")), "nightly-x");
        let report = Published::read(&fixtures::results_file(dir.path())).unwrap();
        assert!(matches!(report, Published::Report(_)));
        assert_eq!(report.key(None), "report");
    }

    #[test]
    fn the_summary_only_job_writes_the_summary_and_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let (summary, output) = (dir.path().join("summary.md"), dir.path().join("output"));
        let mut request = fixtures::request(&fixtures::comparison_file(dir.path(), true));
        request.actions.step_summary = Some(summary.display().to_string());
        request.actions.output = Some(output.display().to_string());
        summary_only(&request, &Redactor::default()).unwrap();
        assert!(
            std::fs::read_to_string(&summary)
                .unwrap()
                .contains("1 regression")
        );
        let outputs = std::fs::read_to_string(&output).unwrap();
        assert!(
            outputs.starts_with("verdict=fail\nregressions=1\n"),
            "{outputs}"
        );
        // No report beside the comparison: none named.
        assert!(outputs.contains("comparison=") && !outputs.contains("report="));
    }
}
