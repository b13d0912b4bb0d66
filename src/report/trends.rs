//! Trends: performance over nights, from the history files the nightly watch appends beside
//! each baseline, per category and overall, with the nights the gate called regressions.

use crate::build::categories::category_of;
use crate::model::HistoryEntry;
use crate::stats;
use serde::Serialize;
use std::collections::BTreeSet;

/// One chart: a category (or "overall") and one series per history file.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Trend {
    pub category: String,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Series {
    /// The runtime the history belongs to (its baseline's label).
    pub label: String,
    pub points: Vec<Point>,
    /// Levels chained from the differential nightly's paired links (`chained.rs`), rather
    /// than each night's stored median over the first night's.
    #[serde(default)]
    pub chained: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Point {
    pub date: String,
    pub commit: Option<String>,
    /// Geometric mean over the category's tests of this night's median over the first
    /// night's: 1.05 is 5 % slower than the first night, lower is faster.
    pub value: f64,
    /// Tests the mean is over (those measured on both nights).
    pub tests: usize,
    /// The category's tests the nightly watch called regressions that night.
    pub regressions: Vec<String>,
    /// The part of a chained trend the night belongs to: a night with no link to any earlier
    /// one starts a new part, relative to itself, and a chart leaves a gap before it.
    #[serde(default)]
    pub segment: usize,
    /// This night starts a new part of the chain (not the first part).
    #[serde(default)]
    pub starts_chain: bool,
    /// A chained level's confidence interval, when the links give one.
    #[serde(default)]
    pub interval: Option<[f64; 2]>,
}

pub const OVERALL: &str = "overall";

/// Nights in a report's trend table: a week and a day, enough to see a step and what came
/// before it.
pub const NIGHTS_SHOWN: usize = 8;

/// The trend of every category (overall first) over the given histories, each labelled.
pub fn trends(histories: &[(String, Vec<HistoryEntry>)]) -> Vec<Trend> {
    let mut categories: BTreeSet<&str> = BTreeSet::new();
    for (_, entries) in histories {
        for entry in entries {
            categories.extend(entry.tests.keys().map(|t| category_of(t)));
        }
    }
    std::iter::once(OVERALL)
        .chain(categories)
        .map(|category| Trend {
            category: category.to_string(),
            series: histories
                .iter()
                .map(|(label, entries)| Series {
                    label: label.clone(),
                    points: points(entries, category),
                    chained: false,
                })
                .filter(|series| !series.points.is_empty())
                .collect(),
        })
        .filter(|trend| !trend.series.is_empty())
        .collect()
}

fn in_category(test: &str, category: &str) -> bool {
    category == OVERALL || category_of(test) == category
}

fn points(entries: &[HistoryEntry], category: &str) -> Vec<Point> {
    let Some(first) = entries.first() else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let ratios: Vec<f64> = (entry.tests.iter())
                .filter(|(test, _)| in_category(test, category))
                .filter_map(|(test, now)| Some(now.median_ps / first.tests.get(test)?.median_ps))
                .collect();
            Some(Point {
                date: entry.date.clone(),
                commit: entry.commit.clone(),
                value: stats::geometric_mean(ratios.iter().copied())?,
                tests: ratios.len(),
                regressions: (entry.regressions.iter())
                    .filter(|test| in_category(test, category))
                    .cloned()
                    .collect(),
                segment: 0,
                starts_chain: false,
                interval: None,
            })
        })
        .collect()
}

/// The last nights of one history as a table: categories down, nights across, for markdown.
#[derive(Debug, Clone, Serialize)]
pub struct Compact {
    pub label: String,
    /// Chained from nightly links rather than stored medians.
    pub chained: bool,
    /// Column headings: the date, and the commit's first 7 characters.
    pub nights: Vec<String>,
    /// (category, one cell per night: the value, marked when a regression was called).
    pub rows: Vec<(String, Vec<String>)>,
}

/// How a compact table's cells are marked up: markdown (bold, code) or plain text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Markup {
    Markdown,
    Plain,
}

/// One compact table per history, over its `last` nights.
pub fn compact(trends: &[Trend], last: usize, markup: Markup) -> Vec<Compact> {
    let Some(overall) = trends.first() else {
        return Vec::new();
    };
    (overall.series.iter())
        .map(|series| {
            let nights = &series.points[series.points.len().saturating_sub(last)..];
            Compact {
                label: series.label.clone(),
                chained: series.chained,
                nights: (nights.iter())
                    .map(|night| night_heading(night, markup))
                    .collect(),
                rows: (trends.iter())
                    .filter_map(|trend| compact_row(trend, &series.label, nights, markup))
                    .collect(),
            }
        })
        .collect()
}

/// A category's cells over the given nights, in the series labelled `label`.
fn compact_row(
    trend: &Trend,
    label: &str,
    nights: &[Point],
    markup: Markup,
) -> Option<(String, Vec<String>)> {
    let points = &trend.series.iter().find(|s| s.label == label)?.points;
    let cells = (nights.iter())
        .map(|night| night_cell(points.iter().find(|p| p.date == night.date), markup))
        .collect();
    Some((trend.category.clone(), cells))
}

fn night_cell(point: Option<&Point>, markup: Markup) -> String {
    let cell = value_cell(point, markup);
    match point {
        // The level restarts at 1 there: say so, or it reads as a measured change.
        Some(p) if p.starts_chain => format!("{cell} (new chain)"),
        _ => cell,
    }
}

fn value_cell(point: Option<&Point>, markup: Markup) -> String {
    match (point, markup) {
        (None, _) => "–".to_string(),
        (Some(p), _) if p.regressions.is_empty() => format!("{:.3}", p.value),
        // Markdown cells are written as they are (the template marks them safe): the test
        // names, read from a history file, are escaped here.
        (Some(p), Markup::Markdown) => format!(
            "**{:.3}** ⚠ {}",
            p.value,
            super::escape::markdown_text(&p.regressions.join(", "))
        ),
        (Some(p), Markup::Plain) => format!("{:.3} ⚠ {}", p.value, p.regressions.join(", ")),
    }
}

/// The night's date and its commit's first 7 characters.
fn night_heading(night: &Point, markup: Markup) -> String {
    let Some(commit) = &night.commit else {
        return night.date.clone();
    };
    // Characters, not bytes: a history file is input, and may hold anything.
    let short: String = commit.chars().take(7).collect();
    match markup {
        Markup::Markdown => format!(
            "{} {}",
            super::escape::markdown_text(&night.date),
            super::escape::code_span(&short)
        ),
        Markup::Plain => format!("{} {short}", night.date),
    }
}

/// The label of a history file: its runtime, from `RUNTIME.history.jsonl`.
pub fn label_of(path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("history");
    name.trim_end_matches(".jsonl")
        .trim_end_matches(".history")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestSummary;

    fn night(date: &str, medians: &[(&str, f64)], regressions: &[&str]) -> HistoryEntry {
        HistoryEntry {
            date: date.into(),
            commit: Some(format!("c{date}")),
            runtime_version: "1".into(),
            suite_id: "s".into(),
            tests: medians
                .iter()
                .map(|(test, median)| {
                    (
                        test.to_string(),
                        TestSummary {
                            median_ps: *median,
                            ci_low_ps: None,
                            ci_high_ps: None,
                            samples: 16,
                        },
                    )
                })
                .collect(),
            regressions: regressions.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn series_are_relative_to_the_first_night_with_regressions_marked() {
        // sign is a signature test; hash and generichash are hashing tests.
        let history = vec![
            night(
                "d1",
                &[("sign", 100.0), ("hash", 10.0), ("generichash", 20.0)],
                &[],
            ),
            night(
                "d2",
                &[("sign", 100.0), ("hash", 20.0), ("generichash", 40.0)],
                &["hash", "generichash"],
            ),
            // A new test, measured only from the third night, is left out of the means.
            night(
                "d3",
                &[
                    ("sign", 200.0),
                    ("hash", 10.0),
                    ("generichash", 10.0),
                    ("kem", 5.0),
                ],
                &["sign"],
            ),
        ];
        let trends = trends(&[("wasmtime".to_string(), history)]);
        let by = |category: &str| {
            let trend = trends.iter().find(|t| t.category == category).unwrap();
            assert_eq!(trend.series.len(), 1);
            trend.series[0].points.clone()
        };
        assert_eq!(trends[0].category, OVERALL);
        let hashing = by("hashing");
        let values: Vec<f64> = hashing.iter().map(|p| p.value).collect();
        // d2: both doubled -> 2; d3: 1 and 0.5 -> sqrt(0.5).
        assert_eq!(values[..2], [1.0, 2.0]);
        assert!((values[2] - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(hashing[1].regressions, vec!["hash", "generichash"]);
        assert!(hashing[2].regressions.is_empty());
        let overall = by(OVERALL);
        // d2: ratios 1, 2, 2 -> 4^(1/3); d3: 2, 1, 0.5 -> 1 over 3 tests (kem not in d1).
        assert!((overall[1].value - 4f64.powf(1.0 / 3.0)).abs() < 1e-12);
        assert!((overall[2].value - 1.0).abs() < 1e-12);
        assert_eq!(overall[2].tests, 3);
        assert_eq!(overall[2].regressions, vec!["sign"]);
        assert_eq!(by("signature")[2].value, 2.0);
    }

    #[test]
    fn the_compact_table_keeps_the_last_nights_and_marks_regressions() {
        let history = vec![
            night("d1", &[("sign", 100.0)], &[]),
            night("d2", &[("sign", 110.0)], &["sign"]),
            night("d3", &[("sign", 100.0)], &[]),
        ];
        let trends = trends(&[("wasmtime".to_string(), history)]);
        let tables = compact(&trends, 2, Markup::Markdown);
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].nights, ["d2 `cd2`", "d3 `cd3`"]);
        let signature = tables[0].rows.iter().find(|r| r.0 == "signature").unwrap();
        assert_eq!(signature.1, ["**1.100** ⚠ sign", "1.000"]);
        let plain = compact(&trends, 2, Markup::Plain);
        assert_eq!(plain[0].nights, ["d2 cd2", "d3 cd3"]);
        assert_eq!(plain[0].rows[0].1, ["1.100 ⚠ sign", "1.000"]);
    }

    #[test]
    fn a_commit_of_any_characters_is_shortened_without_panicking() {
        let mut entry = night("d1", &[("sign", 100.0)], &[]);
        entry.commit = Some("ééééééééé".into());
        let tables = compact(&trends(&[("x".to_string(), vec![entry])]), 8, Markup::Plain);
        assert_eq!(tables[0].nights, ["d1 ééééééé"]);
    }

    #[test]
    fn a_history_file_is_labelled_by_its_runtime() {
        let path = std::path::Path::new("baselines/ci-ab12/wasmtime.history.jsonl");
        assert_eq!(label_of(path), "wasmtime");
    }
}
