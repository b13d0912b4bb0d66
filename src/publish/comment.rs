//! The sticky pull-request comment: one per pull request and key, found by its hidden marker
//! and updated on every push, never duplicated.

use super::{BODY_LIMIT, PublishRequest, Published, Redactor, Target, fit_body, link, marker};
use crate::model::Comparison;
use crate::report::comparison::{Presentation, markdown};
use anyhow::Result;
use std::fmt;

/// What the lifecycle does with the comment its marker found, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStep {
    /// Edit wasmgate's earlier comment (its id) in place.
    Update(u64),
    /// The first run on this pull request: post the comment.
    Create,
}

/// A marked comment is updated; without one, one is created.
pub fn next_step(marked_comment: Option<u64>) -> CommentStep {
    match marked_comment {
        Some(id) => CommentStep::Update(id),
        None => CommentStep::Create,
    }
}

/// What the comment job did, for the command line to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentOutcome {
    /// Not a pull request's job and no `--pr`: the job summary and outputs were all.
    NoPullRequest,
    /// A dry run: the comment that would have been posted on `place` (`owner/repo#pr`).
    Preview { place: String, body: String },
    /// Posted on `place`, as `step` said; `url` is GitHub's link to it.
    Posted {
        place: String,
        step: CommentStep,
        url: Option<String>,
    },
}

impl CommentOutcome {
    /// A preview is the command's product (standard output); the rest is a log line.
    pub fn is_preview(&self) -> bool {
        matches!(self, CommentOutcome::Preview { .. })
    }
}

impl fmt::Display for CommentOutcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            CommentOutcome::NoPullRequest => write!(
                f,
                "no pull request to comment on (not a pull_request event; pass --pr N): job summary and outputs only"
            ),
            CommentOutcome::Preview { place, body } => write!(
                f,
                "would post or update the comment on {place} ({} characters):\n{body}",
                body.chars().count()
            ),
            CommentOutcome::Posted { place, step, url } => match step {
                CommentStep::Update(_) => {
                    write!(f, "updated the comment on {place}: {}", link(url))
                }
                CommentStep::Create => write!(f, "commented on {place}: {}", link(url)),
            },
        }
    }
}

/// The comment job: the job summary and step outputs, then the sticky comment on the pull
/// request (a comparison's report, or a results file's under its own key).
/// Reached through `super::run`, which redacts what it says.
pub(super) fn publish(request: &PublishRequest, redactor: &Redactor) -> Result<CommentOutcome> {
    let published = Published::read(&request.file)?;
    published.write_actions_files(request, redactor)?;
    let target = request.target()?;
    let mark = marker("comment", &published.key(request.key.as_deref()));
    let body = match &published {
        Published::Comparison(comparison) => {
            comment_body(comparison, request.run_url().as_deref(), &mark)?
        }
        Published::Report(report) => fit_body(&format!("{mark}\n{report}")),
    };
    post(request, &target, &mark, body, redactor)
}

/// Finds the marked comment and updates it, or creates one.
fn post(
    request: &PublishRequest,
    target: &Target,
    mark: &str,
    body: String,
    redactor: &Redactor,
) -> Result<CommentOutcome> {
    let Some(pr) = target.pr else {
        return Ok(CommentOutcome::NoPullRequest);
    };
    let place = format!("{}#{pr}", target.repository());
    if request.dry_run {
        return Ok(CommentOutcome::Preview { place, body });
    }
    let github = request.connect(target, redactor)?;
    let found = github.find_comment(pr, mark)?.map(|comment| comment.id);
    let step = next_step(found);
    let posted = match step {
        CommentStep::Update(id) => github.update_comment(id, &body)?,
        CommentStep::Create => github.create_comment(pr, &body)?,
    };
    Ok(CommentOutcome::Posted {
        place,
        step,
        url: posted.html_url,
    })
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

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn a_found_marker_updates_and_an_absent_one_creates() {
        assert_eq!(next_step(Some(42)), CommentStep::Update(42));
        assert_eq!(next_step(None), CommentStep::Create);
    }

    #[test]
    fn the_outcome_says_what_happened_and_where() {
        let place = "acme/runtime#7".to_string();
        let posted = |step| CommentOutcome::Posted {
            place: place.clone(),
            step,
            url: Some("https://github.example/c/1".into()),
        };
        assert_eq!(
            posted(CommentStep::Update(1)).to_string(),
            "updated the comment on acme/runtime#7: https://github.example/c/1"
        );
        assert_eq!(
            posted(CommentStep::Create).to_string(),
            "commented on acme/runtime#7: https://github.example/c/1"
        );
        let unlinked = CommentOutcome::Posted {
            place,
            step: CommentStep::Create,
            url: None,
        };
        assert!(unlinked.to_string().ends_with("(no link returned)"));
        assert!(!unlinked.is_preview());
    }

    #[test]
    fn a_dry_run_previews_the_marked_comment_without_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&fixtures::comparison_file(dir.path(), true));
        request.pr = Some(12);
        let outcome = publish(&request, &Redactor::default()).unwrap();
        assert!(outcome.is_preview());
        let CommentOutcome::Preview { place, body } = &outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(place, "acme/runtime#12");
        assert!(
            body.starts_with("<!-- wasmgate:comment:head -->\n"),
            "{body}"
        );
        assert!(
            outcome
                .to_string()
                .starts_with("would post or update the comment on acme/runtime#12 (")
        );
    }

    #[test]
    fn without_a_pull_request_only_the_summary_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&fixtures::comparison_file(dir.path(), false));
        // Not a dry run, and no token: reaching for GitHub would fail.
        request.dry_run = false;
        assert_eq!(
            publish(&request, &Redactor::default()).unwrap(),
            CommentOutcome::NoPullRequest
        );
    }

    #[test]
    fn without_a_token_nothing_is_posted_and_the_error_says_which_variable() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&fixtures::comparison_file(dir.path(), false));
        request.dry_run = false;
        request.pr = Some(3);
        let error = publish(&request, &Redactor::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("no token: set WASMGATE_TEST_NO_SUCH_TOKEN"),
            "{error}"
        );
    }

    #[test]
    fn a_results_file_is_commented_under_the_report_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = fixtures::request(&fixtures::results_file(dir.path()));
        request.pr = Some(4);
        let CommentOutcome::Preview { body, .. } = publish(&request, &Redactor::default()).unwrap()
        else {
            panic!("a dry run previews");
        };
        assert!(
            body.starts_with("<!-- wasmgate:comment:report -->\n"),
            "{body}"
        );
        assert!(body.contains("hash"), "{body}");
    }
}
