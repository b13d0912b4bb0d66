//! The nightly watch on `main`: a regression opens one marked issue (or updates the open one);
//! the first night without one comments on that issue and closes it.

use super::{Published, Redactor, Request, Target, fit_body, link, marker, short_commit};
use crate::model::{Comparison, Verdict};
use crate::report::comparison::{Presentation, headline, markdown};
use anyhow::{Result, bail};
use std::fmt;

/// What tonight's comparison has to say to the issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tonight {
    /// The gate failed: the issue's title and body.
    Regressed { title: String, body: String },
    /// The gate passed: the note left on the issue as it is closed.
    Clean { note: String },
}

/// What the watch does, given tonight and the issue its marker found open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Open {
        title: String,
        body: String,
    },
    Update {
        number: u64,
        title: String,
        body: String,
    },
    Close {
        number: u64,
        note: String,
    },
    /// A clean night with no open issue: nothing to say.
    LeaveAlone,
}

/// A regression opens the issue or updates the open one; a clean night closes the open one.
pub fn next_step(tonight: Tonight, open_issue: Option<u64>) -> Step {
    match (tonight, open_issue) {
        (Tonight::Regressed { title, body }, None) => Step::Open { title, body },
        (Tonight::Regressed { title, body }, Some(number)) => Step::Update {
            number,
            title,
            body,
        },
        (Tonight::Clean { note }, Some(number)) => Step::Close { number, note },
        (Tonight::Clean { .. }, None) => Step::LeaveAlone,
    }
}

/// What the watch did, for the command line to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A dry run on `repo`: what tonight would have said.
    Preview {
        repo: String,
        tonight: Tonight,
    },
    Opened {
        number: u64,
        title: String,
        url: Option<String>,
    },
    Updated {
        number: u64,
        title: String,
        url: Option<String>,
    },
    Closed {
        repo: String,
        number: u64,
    },
    NothingOpen {
        repo: String,
    },
}

impl Outcome {
    /// A preview is the command's product (standard output); the rest is a log line.
    pub fn is_preview(&self) -> bool {
        matches!(self, Outcome::Preview { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Outcome::Preview { repo, tonight } => match tonight {
                Tonight::Regressed { title, body } => {
                    write!(
                        f,
                        "would open or update the issue in {repo}: {title}\n{body}"
                    )
                }
                Tonight::Clean { note } => write!(
                    f,
                    "no regression: would close the open issue in {repo}, if any, saying:\n{note}"
                ),
            },
            Outcome::Opened { number, title, url } => {
                write!(f, "opened issue #{number}: {title} {}", link(url))
            }
            Outcome::Updated { number, title, url } => {
                write!(f, "updated issue #{number}: {title} {}", link(url))
            }
            Outcome::Closed { repo, number } => {
                write!(
                    f,
                    "closed issue #{number} in {repo}: the regression is gone"
                )
            }
            Outcome::NothingOpen { repo } => write!(f, "no regression and no open issue in {repo}"),
        }
    }
}

/// The nightly job: the job summary and step outputs, then the issue's lifecycle. It needs a
/// comparison: a results file has no verdict to watch.
/// Reached through `super::run`, which redacts what it says.
pub(super) fn watch(request: &Request, redactor: &Redactor) -> Result<Outcome> {
    let published = Published::read(&request.file)?;
    let Published::Comparison(comparison) = &published else {
        bail!(
            "{}: the nightly watch needs a comparison (wasmgate gate --baseline FILE writes one), not a results file",
            request.file.display()
        );
    };
    published.write_actions_files(request, redactor)?;
    let target = request.target()?;
    let key = published.key(request.key.as_deref());
    let mark = marker("nightly", &key);
    let tonight = tonight(comparison, &target, request.run_url().as_deref(), &key)?;
    let repo = target.repository();
    if request.dry_run {
        return Ok(Outcome::Preview { repo, tonight });
    }
    let github = request.connect(&target, redactor)?;
    let open_issue = github.find_open_issue(&mark)?.map(|issue| issue.number);
    match next_step(tonight, open_issue) {
        Step::Open { title, body } => {
            let opened = github.create_issue(&title, &body)?;
            Ok(Outcome::Opened {
                number: opened.number,
                title,
                url: opened.html_url,
            })
        }
        Step::Update {
            number,
            title,
            body,
        } => {
            let updated = github.update_issue(number, &title, &body)?;
            Ok(Outcome::Updated {
                number,
                title,
                url: updated.html_url,
            })
        }
        Step::Close { number, note } => {
            github.create_comment(number, &note)?;
            github.close_issue(number)?;
            Ok(Outcome::Closed { repo, number })
        }
        Step::LeaveAlone => Ok(Outcome::NothingOpen { repo }),
    }
}

/// The issue's text on a failed gate, or the closing note on a passed one.
fn tonight(
    comparison: &Comparison,
    target: &Target,
    run_url: Option<&str>,
    key: &str,
) -> Result<Tonight> {
    if comparison.gate_failed {
        let mark = marker("nightly", key);
        let (title, body) = issue_text(comparison, target, run_url, &mark)?;
        return Ok(Tonight::Regressed { title, body });
    }
    let note = resolved_note(comparison, target.commit.as_deref(), run_url, key);
    Ok(Tonight::Clean { note })
}

/// The comment that closes the issue: where the regression was last looked for, and tonight's
/// headline.
fn resolved_note(
    comparison: &Comparison,
    commit: Option<&str>,
    run_url: Option<&str>,
    key: &str,
) -> String {
    let when = match commit {
        Some(commit) => format!("at `{}`", short_commit(commit)),
        None => "tonight".to_string(),
    };
    let run = run_url
        .map(|url| format!(" ([run]({url}))"))
        .unwrap_or_default();
    format!(
        "{}\nNo longer seen {when}: {}{run}. Closing.",
        marker("nightly-resolved", key),
        headline(comparison)
    )
}

/// The nightly-watch issue: title and body naming the regressed tests and categories, their
/// effect with its interval, and the commit range between the baseline and today's run.
pub fn issue_text(
    comparison: &Comparison,
    target: &Target,
    run_url: Option<&str>,
    mark: &str,
) -> Result<(String, String)> {
    let title = issue_title(comparison);
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

/// Names up to three regressed tests (else the regressed categories), or says the tests
/// failed, or that the whole is slower.
fn issue_title(comparison: &Comparison) -> String {
    let regressed: Vec<&str> = comparison
        .tests_with(Verdict::Regression)
        .map(|t| t.test.as_str())
        .collect();
    let mut named: Vec<String> = regressed.iter().take(3).map(|t| format!("`{t}`")).collect();
    if regressed.len() > 3 {
        named.push(format!("{} more", regressed.len() - 3));
    }
    if named.is_empty() {
        named = comparison
            .categories
            .iter()
            .filter(|c| c.verdict == Verdict::Regression)
            .map(|c| format!("{} (category)", c.name))
            .collect();
    }
    let failed = comparison.tests_with(Verdict::Failed).count();
    let runtime = &comparison.head.runtime.name;
    if named.is_empty() && failed > 0 {
        format!("Benchmark failures on {runtime}: {failed} tests failed")
    } else if named.is_empty() {
        format!("Performance regression on {runtime}: overall slower")
    } else {
        format!(
            "Performance regression on {runtime}: {} slower",
            named.join(", ")
        )
    }
}

/// "between `abc1234` (the baseline) and `def5678`", linked to GitHub's compare view.
pub fn commit_range(base: Option<&str>, target: &Target) -> String {
    match (base, target.commit.as_deref()) {
        (Some(base), Some(head)) => format!(
            "between `{}` (the baseline) and `{}` ([changes]({}/{}/compare/{base}...{head}))",
            short_commit(base),
            short_commit(head),
            target.server_url,
            target.repository()
        ),
        (None, Some(head)) => format!(
            "at `{}` (the baseline's commit is not recorded)",
            short_commit(head)
        ),
        (Some(base), None) => format!("since `{}` (the baseline)", short_commit(base)),
        (None, None) => "(commits not recorded)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn regressed() -> Tonight {
        Tonight::Regressed {
            title: "slower".into(),
            body: "body".into(),
        }
    }

    fn clean() -> Tonight {
        Tonight::Clean {
            note: "gone".into(),
        }
    }

    #[test]
    fn a_regression_opens_the_issue_or_updates_the_open_one() {
        assert_eq!(
            next_step(regressed(), None),
            Step::Open {
                title: "slower".into(),
                body: "body".into()
            }
        );
        assert_eq!(
            next_step(regressed(), Some(4)),
            Step::Update {
                number: 4,
                title: "slower".into(),
                body: "body".into()
            }
        );
    }

    #[test]
    fn a_clean_night_closes_the_open_issue_or_leaves_things_alone() {
        assert_eq!(
            next_step(clean(), Some(4)),
            Step::Close {
                number: 4,
                note: "gone".into()
            }
        );
        assert_eq!(next_step(clean(), None), Step::LeaveAlone);
    }

    #[test]
    fn a_dry_run_on_a_regression_previews_the_issue() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&fixtures::comparison_file(dir.path(), true));
        request.commit = Some("0123456789abcdef0123".into());
        let outcome = watch(&request, &Redactor::default()).unwrap();
        assert!(outcome.is_preview());
        let Outcome::Preview {
            tonight: Tonight::Regressed { title, body },
            ..
        } = &outcome
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(title, "Performance regression on head: `hash` slower");
        assert!(
            body.starts_with("<!-- wasmgate:nightly:head -->\n"),
            "{body}"
        );
        assert!(body.contains("at `0123456789ab`"), "{body}");
        assert!(
            outcome
                .to_string()
                .starts_with("would open or update the issue in acme/runtime: Performance")
        );
    }

    #[test]
    fn a_dry_run_on_a_clean_night_previews_the_closing_note() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&fixtures::comparison_file(dir.path(), false));
        request.commit = Some("cccc3333".into());
        request.actions.server_url = Some("https://github.example".into());
        request.actions.repository = Some("acme/runtime".into());
        request.actions.run_id = Some("42".into());
        let Outcome::Preview {
            tonight: Tonight::Clean { note },
            ..
        } = watch(&request, &Redactor::default()).unwrap()
        else {
            panic!("a clean night's dry run previews the note");
        };
        assert!(
            note.starts_with(
                "<!-- wasmgate:nightly-resolved:head -->\nNo longer seen at `cccc3333`: "
            ),
            "{note}"
        );
        assert!(
            note.ends_with(
                " ([run](https://github.example/acme/runtime/actions/runs/42)). Closing."
            ),
            "{note}"
        );
    }

    #[test]
    fn a_results_file_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        let mut request = fixtures::request(&fixtures::results_file(dir.path()));
        request.actions.step_summary = Some(summary.display().to_string());
        let error = watch(&request, &Redactor::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("needs a comparison"), "{error}");
        assert!(!summary.exists());
    }

    #[test]
    fn the_commit_range_links_the_compare_view() {
        let dir = tempfile::tempdir().unwrap();
        let request = fixtures::request(dir.path());
        let mut target = request.target().unwrap();
        target.commit = Some("def5678".into());
        assert_eq!(
            commit_range(Some("abc1234"), &target),
            "between `abc1234` (the baseline) and `def5678` ([changes](https://github.com/acme/runtime/compare/abc1234...def5678))"
        );
        target.commit = None;
        assert_eq!(commit_range(None, &target), "(commits not recorded)");
    }
}
