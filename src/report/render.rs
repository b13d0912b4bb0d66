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
        };
        crate::compare::compare(
            &side("a").unwrap(),
            &side("b").unwrap(),
            &settings,
            true,
            None,
        )
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
}
