//! The nightly watch on `main`: a regression opens one marked issue (or updates the open one);
//! the first night without one comments on that issue and closes it.

use super::{PublishRequest, Published, Redactor, Target, fit_body, link, marker};
use crate::model::Comparison;
use crate::report::issue::{self, IssueText};
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
pub enum IssueStep {
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
pub fn next_step(tonight: Tonight, open_issue: Option<u64>) -> IssueStep {
    match (tonight, open_issue) {
        (Tonight::Regressed { title, body }, None) => IssueStep::Open { title, body },
        (Tonight::Regressed { title, body }, Some(number)) => IssueStep::Update {
            number,
            title,
            body,
        },
        (Tonight::Clean { note }, Some(number)) => IssueStep::Close { number, note },
        (Tonight::Clean { .. }, None) => IssueStep::LeaveAlone,
    }
}

/// What the watch did, for the command line to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueOutcome {
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

impl IssueOutcome {
    /// A preview is the command's product (standard output); the rest is a log line.
    pub fn is_preview(&self) -> bool {
        matches!(self, IssueOutcome::Preview { .. })
    }
}

impl fmt::Display for IssueOutcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            IssueOutcome::Preview { repo, tonight } => match tonight {
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
            IssueOutcome::Opened { number, title, url } => {
                write!(f, "opened issue #{number}: {title} {}", link(url))
            }
            IssueOutcome::Updated { number, title, url } => {
                write!(f, "updated issue #{number}: {title} {}", link(url))
            }
            IssueOutcome::Closed { repo, number } => {
                write!(
                    f,
                    "closed issue #{number} in {repo}: the regression is gone"
                )
            }
            IssueOutcome::NothingOpen { repo } => {
                write!(f, "no regression and no open issue in {repo}")
            }
        }
    }
}

/// What the watch judges tonight: the comparison with the nearest night (or the baseline),
/// the nightly's longer links, and the command that builds the runtime, for bisecting.
struct Watched<'a> {
    comparison: &'a Comparison,
    drift: &'a [Comparison],
    build: Option<&'a str>,
}

/// Reads a comparison the watch needs; a results file has no verdict to watch.
fn read_comparison(path: &std::path::Path) -> Result<Comparison> {
    match Published::read(path)? {
        Published::Comparison(comparison) => Ok(*comparison),
        Published::Report(_) => bail!(
            "{}: the nightly watch needs a comparison (wasmgate nightly or wasmgate gate --baseline FILE writes one), not a results file",
            path.display()
        ),
    }
}

/// The nightly job: the job summary and step outputs, then the issue's lifecycle. It needs a
/// comparison: a results file has no verdict to watch.
/// Reached through `super::run`, which redacts what it says.
pub(super) fn watch(request: &PublishRequest, redactor: &Redactor) -> Result<IssueOutcome> {
    let published = Published::read(&request.file)?;
    let Published::Comparison(comparison) = &published else {
        bail!(
            "{}: the nightly watch needs a comparison (wasmgate nightly or wasmgate gate --baseline FILE writes one), not a results file",
            request.file.display()
        );
    };
    // Every file is read before anything is written, so a wrong one changes nothing.
    let drift: Vec<Comparison> = request
        .drift
        .iter()
        .map(|path| read_comparison(path))
        .collect::<Result<_>>()?;
    published.write_actions_files(request, redactor)?;
    let mut target = request.target()?;
    // The differential nightly records tonight's commit in its comparison.
    if target.commit.is_none() {
        target.commit = comparison.head.commit.clone();
    }
    let key = published.key(request.key.as_deref());
    let mark = marker("nightly", &key);
    let watched = Watched {
        comparison,
        drift: &drift,
        build: request.bisect_build.as_deref(),
    };
    let tonight = tonight(&watched, &target, request.run_url().as_deref(), &key)?;
    let repo = target.repository();
    if request.dry_run {
        return Ok(IssueOutcome::Preview { repo, tonight });
    }
    let github = request.connect(&target, redactor)?;
    let open_issue = github.find_open_issue(&mark)?.map(|issue| issue.number);
    match next_step(tonight, open_issue) {
        IssueStep::Open { title, body } => {
            let opened = github.create_issue(&title, &body)?;
            Ok(IssueOutcome::Opened {
                number: opened.number,
                title,
                url: opened.html_url,
            })
        }
        IssueStep::Update {
            number,
            title,
            body,
        } => {
            let updated = github.update_issue(number, &title, &body)?;
            Ok(IssueOutcome::Updated {
                number,
                title,
                url: updated.html_url,
            })
        }
        IssueStep::Close { number, note } => {
            github.create_comment(number, &note)?;
            github.close_issue(number)?;
            Ok(IssueOutcome::Closed { repo, number })
        }
        IssueStep::LeaveAlone => Ok(IssueOutcome::NothingOpen { repo }),
    }
}

/// The issue's text on a failed gate (or a slow drift on a longer link), or the closing note
/// on a night without either.
fn tonight(
    watched: &Watched,
    target: &Target,
    run_url: Option<&str>,
    key: &str,
) -> Result<Tonight> {
    let mark = marker("nightly", key);
    let commits = target.commits();
    let comparison = watched.comparison;
    let failed = if comparison.gate_failed {
        let text = issue::regression_text(comparison, &commits, run_url, &mark)?;
        Some((comparison, text))
    } else if let Some(drifted) = watched.drift.iter().find(|c| c.gate_failed) {
        Some((
            drifted,
            issue::drift_text(drifted, &commits, run_url, &mark)?,
        ))
    } else {
        None
    };
    if let Some((failing, IssueText { title, body })) = failed {
        let bisect = issue::bisect_section(failing, &commits, watched.build);
        let body = fit_body(&format!("{}{bisect}", fit_body(&body)));
        return Ok(Tonight::Regressed { title, body });
    }
    let closing = marker("nightly-resolved", key);
    let note = issue::resolved_note(comparison, &commits, run_url, &closing);
    Ok(Tonight::Clean { note })
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
            IssueStep::Open {
                title: "slower".into(),
                body: "body".into()
            }
        );
        assert_eq!(
            next_step(regressed(), Some(4)),
            IssueStep::Update {
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
            IssueStep::Close {
                number: 4,
                note: "gone".into()
            }
        );
        assert_eq!(next_step(clean(), None), IssueStep::LeaveAlone);
    }

    #[test]
    fn a_dry_run_on_a_regression_previews_the_issue() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&fixtures::comparison_file(dir.path(), true));
        request.commit = Some("0123456789abcdef0123".into());
        let outcome = watch(&request, &Redactor::default()).unwrap();
        assert!(outcome.is_preview());
        let IssueOutcome::Preview {
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
        let IssueOutcome::Preview {
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
            issue::commit_range(Some("abc1234"), "the baseline", &target.commits()),
            "between `abc1234` (the baseline) and `def5678` ([changes](https://github.com/acme/runtime/compare/abc1234...def5678))"
        );
        target.commit = None;
        assert_eq!(
            issue::commit_range(None, "the baseline", &target.commits()),
            "(commits not recorded)"
        );
    }

    /// A nightly link's comparison, as `wasmgate nightly` writes it: tonight (`t-0`, commit
    /// `bbbb…`) against the night `nights_back` nights back (commit `aaaaN…`).
    fn link_file(dir: &std::path::Path, nights_back: u32, regressed: bool) -> std::path::PathBuf {
        let written = fixtures::comparison_file(dir, regressed);
        let mut comparison: Comparison = crate::model::read_json(&written).unwrap();
        comparison.base.label = format!("t-{nights_back}");
        comparison.base.commit = Some(format!("aaaa{nights_back}aaaaaaaaaaaaaaa"));
        comparison.head.label = "t-0".into();
        comparison.head.commit = Some("bbbbbbbbbbbbbbbb".into());
        comparison.head.runtime.adapter = "wasmtime".into();
        let path = dir.join(format!("nightly.t-{nights_back}.comparison.json"));
        crate::model::write_json(&path, &comparison).unwrap();
        path
    }

    fn preview(request: &PublishRequest) -> (String, String) {
        match watch(request, &Redactor::default()).unwrap() {
            IssueOutcome::Preview {
                tonight: Tonight::Regressed { title, body },
                ..
            } => (title, body),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_nightly_regression_names_last_nights_range_and_the_bisect_command() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&link_file(dir.path(), 1, true));
        request.bisect_build = Some("cargo build --release -p wasmtime-cli".into());
        let (title, body) = preview(&request);
        assert_eq!(title, "Performance regression on head: `hash` slower");
        // Tonight's commit comes from the comparison when neither --commit nor GITHUB_SHA says.
        assert!(
            body.contains(
                "The nightly watch found a regression on `main`: between `aaaa1aaaaaaa` (last night) and `bbbbbbbbbbbb` ([changes](https://github.com/acme/runtime/compare/aaaa1aaaaaaaaaaaaaaa...bbbbbbbbbbbbbbbb))."
            ),
            "{body}"
        );
        assert!(body.contains("\n### Bisect\n"), "{body}");
        assert!(
            body.contains(
                "\n```sh\nwasmgate bisect --repo . --good aaaa1aaaaaaaaaaaaaaa --bad bbbbbbbbbbbbbbbb --build 'cargo build --release -p wasmtime-cli' --adapter wasmtime --tests hash\n```\n"
            ),
            "{body}"
        );
    }

    #[test]
    fn the_bisect_command_has_a_placeholder_without_a_build_command_and_quotes_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&link_file(dir.path(), 1, true));
        let (_, body) = preview(&request);
        assert!(
            body.contains(" --build '<the command that builds the runtime binary>' "),
            "{body}"
        );
        request.bisect_build = Some("make RUNTIME='fast'".into());
        let (_, body) = preview(&request);
        assert!(
            body.contains(r#" --build 'make RUNTIME='\''fast'\''' "#),
            "{body}"
        );
    }

    #[test]
    fn a_longer_link_that_regressed_while_last_night_did_not_is_a_slow_drift() {
        let dir = tempfile::tempdir().unwrap();
        let nearest = link_file(dir.path(), 1, false);
        let unchanged = link_file(dir.path(), 2, false);
        let drifted = link_file(dir.path(), 4, true);
        let mut request = fixtures::request(&nearest);
        request.drift = vec![unchanged.clone(), drifted];
        let (title, body) = preview(&request);
        assert_eq!(
            title,
            "Slow drift on head: `hash` slower than 4 nights back"
        );
        assert!(
            body.contains(
                "but tonight is slower than 4 nights back, between `aaaa4aaaaaaa` (4 nights back) and `bbbbbbbbbbbb`"
            ),
            "{body}"
        );
        assert!(
            body.contains("--good aaaa4aaaaaaaaaaaaaaa --bad bbbbbbbbbbbbbbbb"),
            "{body}"
        );

        // No link regressed: the night is clean.
        request.drift = vec![unchanged];
        let outcome = watch(&request, &Redactor::default()).unwrap();
        assert!(
            matches!(
                outcome,
                IssueOutcome::Preview {
                    tonight: Tonight::Clean { .. },
                    ..
                }
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_drift_file_that_is_not_a_comparison_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        let mut request = fixtures::request(&link_file(dir.path(), 1, false));
        request.drift = vec![fixtures::results_file(dir.path())];
        request.actions.step_summary = Some(summary.display().to_string());
        let error = watch(&request, &Redactor::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("results.json: the nightly watch needs a comparison"),
            "{error}"
        );
        assert!(!summary.exists());
    }
}
