//! The one place a format is chosen: a results summary or a comparison, in the format asked
//! for. Adding a format touches `Format` and the two functions here.

use super::comparison::{self, Presentation};
use super::{Summary, html, markdown, summarize, terminal};
use crate::model::{Comparison, Results};
use anyhow::{Result, bail};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Format {
    Terminal,
    Markdown,
    /// A self-contained page with SVG charts (reports only)
    Html,
    /// The computed summary or comparison, for other tools
    Json,
}

/// One results file, summed up on its own, in a format.
pub fn render_results(results: &Results, format: Format) -> Result<String> {
    render_summary(&summarize(results), format)
}

/// A summary (with whatever was added to it: other files' differences, then and now,
/// trends) in a format.
pub fn render_summary(summary: &Summary, format: Format) -> Result<String> {
    match format {
        Format::Terminal => Ok(terminal::render(summary)),
        Format::Markdown => markdown::render(summary),
        Format::Html => html::render(summary),
        Format::Json => Ok(serde_json::to_string_pretty(summary)? + "\n"),
    }
}

/// A comparison in a format; `presentation` dresses the markdown for where it is read.
pub fn render_comparison(
    comparison: &Comparison,
    format: Format,
    presentation: &Presentation,
) -> Result<String> {
    match format {
        Format::Terminal => Ok(comparison::terminal(comparison)),
        Format::Markdown => comparison::markdown(comparison, presentation),
        Format::Json => Ok(serde_json::to_string_pretty(comparison)? + "\n"),
        Format::Html => bail!(
            "--format html is for `wasmgate report`; a comparison is written as terminal, markdown or json"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::results_with;

    #[test]
    fn every_format_renders_a_summary() {
        let results = results_with(&[("sign", "a", Some(100)), ("sign", "b", Some(200))]);
        for format in [
            Format::Terminal,
            Format::Markdown,
            Format::Html,
            Format::Json,
        ] {
            let text = render_results(&results, format).unwrap();
            assert!(text.contains("sign"), "{format:?}: {text}");
        }
        let json = render_results(&results, Format::Json).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["schema_version"], crate::model::SCHEMA_VERSION);
    }

    fn comparison() -> Comparison {
        let results = results_with(&[("sign", "a", Some(100)), ("sign", "b", Some(100))]);
        let origin = std::path::Path::new("r.json");
        let side =
            |label| crate::compare::baseline::side_from_results(&results, Some(label), origin);
        let settings = crate::model::CompareSettings {
            confidence: 0.99,
            alpha: 0.01,
            min_effect: 0.02,
            fail_on: vec!["test".into()],
            paired_test: crate::model::PairedTest::default(),
        };
        crate::compare::compare(
            &side("a").unwrap(),
            &side("b").unwrap(),
            &settings,
            crate::compare::Pairing::ByRound,
            None,
        )
    }

    /// sign on a and b, three rounds; the samples at `disturbed` orders were disturbed.
    fn disturbed_results(disturbed: &[u64]) -> crate::model::Results {
        let mut results = results_with(&[
            ("sign", "a", Some(100)),
            ("sign", "b", Some(100)),
            ("sign", "a", Some(100)),
            ("sign", "b", Some(100)),
            ("sign", "a", Some(100)),
            ("sign", "b", Some(100)),
        ]);
        for sample in &mut results.samples {
            sample.round = sample.order as u32 / 2;
            if disturbed.contains(&sample.order) {
                let (test, runtime) = (sample.test.clone(), sample.runtime.clone());
                let disturbed = crate::model::fixtures::disturbed_sample;
                *sample = crate::model::Sample {
                    round: sample.round,
                    ..disturbed(&test, &runtime, sample.order, 300)
                };
            }
        }
        results
    }

    #[test]
    fn every_format_counts_disturbed_samples_and_says_when_the_runner_was_too_busy() {
        let few = render_results(&disturbed_results(&[1]), Format::Markdown).unwrap();
        assert!(
            few.contains("6 samples (1 disturbed by another process on their core"),
            "{few}"
        );
        assert!(!few.contains("too busy"), "{few}");
        let terminal = render_results(&disturbed_results(&[1]), Format::Terminal).unwrap();
        assert!(
            terminal.contains("NOTE: 1 of 6 samples (17 %)"),
            "{terminal}"
        );
        assert!(!terminal.contains("failed"), "not a failure: {terminal}");
        let busy = disturbed_results(&[0, 1, 2, 3]);
        for format in [Format::Terminal, Format::Markdown, Format::Html] {
            let text = render_results(&busy, format).unwrap();
            assert!(
                text.contains("The runner was too busy to measure on: 4 of 6 samples"),
                "{format:?}: {text}"
            );
        }
    }

    #[test]
    fn a_comparison_on_a_busy_runner_says_so_at_the_top() {
        let results = disturbed_results(&[0, 1, 2, 3]);
        let origin = std::path::Path::new("r.json");
        let side =
            |label| crate::compare::baseline::side_from_results(&results, Some(label), origin);
        let settings = crate::model::CompareSettings {
            confidence: 0.99,
            alpha: 0.01,
            min_effect: 0.02,
            fail_on: vec!["test".into()],
            paired_test: crate::model::PairedTest::default(),
        };
        let comparison = crate::compare::compare(
            &side("a").unwrap(),
            &side("b").unwrap(),
            &settings,
            crate::compare::Pairing::ByRound,
            None,
        );
        let presentation = Presentation::default();
        let markdown = render_comparison(&comparison, Format::Markdown, &presentation).unwrap();
        let top = markdown.lines().next().unwrap();
        assert!(top.contains("The runner was too busy"), "{markdown}");
        assert!(
            markdown.contains("wasmgate: runner too busy · 0 regressions"),
            "{markdown}"
        );
        assert!(
            markdown.contains("inconclusive: runner too busy"),
            "{markdown}"
        );
        assert!(markdown.contains("1/1 (+4 disturbed)"), "{markdown}");
        let terminal = render_comparison(&comparison, Format::Terminal, &presentation).unwrap();
        assert!(
            terminal.starts_with("WARNING: The runner was too busy"),
            "{terminal}"
        );
        assert!(
            !terminal.contains("gate: FAILED"),
            "busy is no failure: {terminal}"
        );
    }

    #[test]
    fn a_comparison_carries_its_schema_version_and_refuses_html() {
        let presentation = Presentation::default();
        let json = render_comparison(&comparison(), Format::Json, &presentation).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["schema_version"], crate::model::SCHEMA_VERSION);
        let error = render_comparison(&comparison(), Format::Html, &presentation).unwrap_err();
        assert!(error.to_string().contains("`wasmgate report`"), "{error}");
        let text = render_comparison(&comparison(), Format::Terminal, &presentation).unwrap();
        assert!(text.contains("gate: passed"), "{text}");
    }

    #[test]
    fn foreign_text_reaches_a_pull_request_comment_escaped_and_bounded() {
        let hostile = "<script>x</script> | @octocat <img onerror=alert(1)> ";
        let mut comparison = comparison();
        comparison.head.runtime.version = format!("{hostile}{}", "v".repeat(70_000));
        comparison.head.label = "b|`x".into();
        comparison.tests[0].test = "si|gn @team".into();
        comparison.tests[0].category = "<b>cat</b>".into();
        let presentation = Presentation {
            run_url: Some("https://github.com/a/b/actions/runs/1) [x](y".into()),
            compact: false,
        };
        let markdown = render_comparison(&comparison, Format::Markdown, &presentation).unwrap();
        // Each of these is there only escaped: after a backslash, or not at all.
        for raw in ["<script>", "<img", "@octocat", "<b>", "](y"] {
            let escaped = |at: usize| markdown[..at].ends_with('\\');
            assert!(
                markdown.match_indices(raw).all(|(at, _)| escaped(at)),
                "{raw} in {markdown}"
            );
        }
        // A name is shown in a code span, where GitHub reads nothing and pings no one.
        assert!(markdown.contains("| `si\\|gn @team` |"), "{markdown}");
        // Every table row keeps its columns, and the tables are all there.
        for row in markdown.lines().filter(|l| l.starts_with("| `si")) {
            let cells = row.replace("\\|", "").matches('|').count();
            assert_eq!(cells, 8, "{row}");
        }
        assert!(markdown.contains("### By category"), "{markdown}");
        assert!(markdown.len() < 5_000, "{} characters", markdown.len());
    }
}
