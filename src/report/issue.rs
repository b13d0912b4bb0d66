//! The nightly-watch issue's words: its title and body on a regression or a slow drift, the
//! command that bisects it, and the note that closes it. `publish` decides whether to open,
//! update or close the issue, and bounds the body; this says what the issue says.

use super::comparison::{Presentation, headline, markdown};
use crate::model::{Comparison, Verdict};
use crate::util::{shell_word, short_commit};
use anyhow::Result;

/// Where the measured commits live: the repository on its GitHub server, and tonight's commit.
#[derive(Debug, Clone)]
pub struct Commits {
    /// The web root, e.g. `https://github.com`.
    pub server_url: String,
    /// `OWNER/REPO`.
    pub repository: String,
    /// The commit measured tonight (the head of the range), when known.
    pub head: Option<String>,
}

/// An issue's title and body.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueText {
    pub title: String,
    pub body: String,
}

/// The comment that closes the issue: where the regression was last looked for, and tonight's
/// headline.
pub fn resolved_note(
    comparison: &Comparison,
    commits: &Commits,
    run_url: Option<&str>,
    mark: &str,
) -> String {
    let when = match commits.head.as_deref() {
        Some(commit) => format!("at `{}`", short_commit(commit)),
        None => "tonight".to_string(),
    };
    let run = run_url
        .map(|url| format!(" ([run]({url}))"))
        .unwrap_or_default();
    format!(
        "{mark}\nNo longer seen {when}: {}{run}. Closing.",
        headline(comparison)
    )
}

/// The nightly-watch issue: title and body naming the regressed tests and categories, their
/// effect with its interval, and the commit range between the baseline (or the earlier
/// night) and today's run.
pub fn regression_text(
    comparison: &Comparison,
    commits: &Commits,
    run_url: Option<&str>,
    mark: &str,
) -> Result<IssueText> {
    let title = issue_title(comparison);
    let range = commit_range(
        comparison.base.commit.as_deref(),
        &base_name(comparison),
        commits,
    );
    let body = format!(
        "{mark}\nThe nightly watch found a regression on `main`: {range}.\n\n{}",
        markdown(comparison, &compact(run_url))?
    );
    Ok(IssueText { title, body })
}

/// A slow drift: tonight passes against last night, but fails against a night further back.
pub fn drift_text(
    comparison: &Comparison,
    commits: &Commits,
    run_url: Option<&str>,
    mark: &str,
) -> Result<IssueText> {
    let base = base_name(comparison);
    let title = issue_title(comparison).replacen("Performance regression on", "Slow drift on", 1)
        + &format!(" than {base}");
    let range = commit_range(comparison.base.commit.as_deref(), &base, commits);
    let body = format!(
        "{mark}\nThe nightly watch found a slow drift on `main`: no night fails the gate against the night before, but tonight is slower than {base}, {range}.\n\n{}",
        markdown(comparison, &compact(run_url))?
    );
    Ok(IssueText { title, body })
}

/// The issue's comparison: compact, linked to the run that measured it.
fn compact(run_url: Option<&str>) -> Presentation {
    Presentation {
        run_url: run_url.map(str::to_string),
        compact: true,
    }
}

/// What the base of a comparison is, in the issue's words: the nightly labels earlier nights
/// `t-N` (N nights back); anything else is a stored baseline or a named runtime.
fn base_name(comparison: &Comparison) -> String {
    let nights_back = comparison
        .base
        .label
        .strip_prefix("t-")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|_| comparison.paired);
    match nights_back {
        Some(1) => "last night".to_string(),
        Some(n) => format!("{n} nights back"),
        None if !comparison.paired => "the baseline".to_string(),
        None => format!("`{}`", comparison.base.label),
    }
}

/// The one command that finds the commit to blame between the base's commit (good) and
/// tonight's (bad), on the tests that regressed; empty when either commit is unknown.
pub fn bisect_section(comparison: &Comparison, commits: &Commits, build: Option<&str>) -> String {
    let (Some(good), Some(bad)) = (comparison.base.commit.as_deref(), commits.head.as_deref())
    else {
        return String::new();
    };
    let mut tests: Vec<&str> = comparison
        .tests_with(Verdict::Regression)
        .map(|t| t.test.as_str())
        .collect();
    // A category or the whole can regress with no single test called: bisect them all.
    if tests.is_empty() {
        tests = comparison.tests.iter().map(|t| t.test.as_str()).collect();
    }
    // Every word from data is quoted for the shell: the command is meant to be pasted.
    let command = [
        "wasmgate bisect --repo . --good",
        &shell_word(good),
        "--bad",
        &shell_word(bad),
        "--build",
        &shell_word(build.unwrap_or("<the command that builds the runtime binary>")),
        "--adapter",
        &shell_word(&comparison.head.runtime.adapter),
        "--tests",
        &shell_word(&tests.join(",")),
    ]
    .join(" ");
    format!(
        "\n\n### Bisect\n\nIn a checkout of the runtime, this finds the first commit that made it slower, measuring each midpoint against `{}` in one paired run:\n\n```sh\n{command}\n```\n",
        short_commit(good),
    )
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

/// "between `abc1234` (the baseline) and `def5678`", linked to GitHub's compare view; the base
/// named (`the baseline`, `last night`, `4 nights back`).
pub fn commit_range(base: Option<&str>, name: &str, commits: &Commits) -> String {
    match (base, commits.head.as_deref()) {
        (Some(base), Some(head)) => format!(
            "between `{}` ({name}) and `{}` ([changes]({}/{}/compare/{base}...{head}))",
            short_commit(base),
            short_commit(head),
            commits.server_url,
            commits.repository
        ),
        (None, Some(head)) => format!(
            "at `{}` ({name}: its commit is not recorded)",
            short_commit(head)
        ),
        (Some(base), None) => format!("since `{}` ({name})", short_commit(base)),
        (None, None) => "(commits not recorded)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::baseline::side_from_results;
    use std::path::Path;

    #[test]
    fn the_bisect_command_quotes_every_word_from_data_for_the_shell() {
        let results = crate::model::fixtures::results_with(&[
            ("sign", "a", Some(100)),
            ("sign", "b", Some(130)),
        ]);
        let side = |label| side_from_results(&results, Some(label), Path::new("r.json")).unwrap();
        let settings = crate::compare::settings(
            &crate::config::parse(crate::config::DEFAULT_YAML, "default")
                .unwrap()
                .compare,
            crate::model::Measure::Time,
        );
        let pairing = crate::compare::Pairing::Unpaired;
        let mut comparison =
            crate::compare::compare(&side("a"), &side("b"), &settings, pairing, None);
        comparison.base.commit = Some("abc1234".into());
        comparison.head.runtime.adapter = "wasm;time".into();
        let commits = Commits {
            server_url: "https://github.com".into(),
            repository: "acme/runtime".into(),
            head: Some("def5678".into()),
        };
        let section = bisect_section(&comparison, &commits, Some("make\n```\nrm -rf ~"));
        let command = section
            .lines()
            .find(|l| l.starts_with("wasmgate bisect"))
            .unwrap();
        assert_eq!(
            command,
            "wasmgate bisect --repo . --good abc1234 --bad def5678 --build $'make\\n```\\nrm -rf ~' --adapter 'wasm;time' --tests sign"
        );
    }

    #[test]
    fn the_nightly_issue_carries_each_regressions_evidence_with_escaped_names() {
        use crate::model::evidence::{Evidence, FunctionChange, TestEvidence};
        let mut comparison = crate::report::test_support::comparison(
            crate::model::Measure::Time,
            &[("sign", 1.12, crate::model::Verdict::Regression)],
        );
        let evidence = Evidence {
            event: "cpu-clock:uH".into(),
            base: Default::default(),
            head: Default::default(),
            functions: vec![FunctionChange {
                function: "fe25519_mul`|<b>".into(),
                base_self: 0.2,
                head_self: 0.3,
                base_total: 0.5,
                head_total: 0.6,
                change_of_base: 0.11,
                part_of_change: 0.74,
            }],
        };
        comparison.tests[0].evidence = Some(TestEvidence::Profiled(Box::new(evidence)));
        let commits = Commits {
            server_url: "https://github.com".into(),
            repository: "acme/runtime".into(),
            head: Some("def5678".into()),
        };
        let text = regression_text(&comparison, &commits, None, "<!-- mark -->").unwrap();
        let line = (text.body.lines())
            .find(|l| l.contains(" of the change"))
            .unwrap_or_else(|| panic!("{}", text.body));
        assert_eq!(
            line,
            "    - ``fe25519_mul`\\|<b>`` +11.0 % of base time: 74 % of the change"
        );
    }
}
