//! Report stage: results -> a summary (per test and runtime: median, spread, ratio to the
//! fastest runtime, median-normalized time, time over native code's; per category and
//! overall: geometric means and medians) -> one file per format.

mod apart;
pub mod chained;
pub mod combine;
pub mod comparison;
pub mod escape;
pub mod evidence;
pub mod flame;
pub mod html;
pub mod issue;
pub mod markdown;
pub mod measures;
pub mod nightly;
pub mod published;
mod render;
pub mod svg;
pub mod terminal;
#[cfg(test)]
pub mod test_support;
pub mod trends;

pub use comparison::Presentation;
pub use render::{Format, render_comparison, render_results, render_summary};

use crate::model::{Disturbance, Machine, Measure, Results, RuntimeInfo};
use crate::stats;
use crate::util::format_ps;
use serde::Serialize;
use std::collections::BTreeMap;

/// What every format shows, computed once.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The version of wasmgate's file formats, so a tool reading `--format json` knows what it
    /// reads.
    pub schema_version: u32,
    /// What the values are (a cell's `median_ps` holds instructions under that measure).
    #[serde(default)]
    pub measure: Measure,
    /// The measure in words, for the reports' heading.
    #[serde(default)]
    pub measure_description: String,
    /// The measure times or counts compiles: the tables show each module's size.
    #[serde(default)]
    pub compiles: bool,
    pub runtimes: Vec<RuntimeInfo>,
    /// The index of native code among `runtimes`, when it ran.
    pub native: Option<usize>,
    /// The fastest WebAssembly runtime overall (lowest median-normalized mean), when native
    /// code ran, and the median over tests (AES-based ones apart) of its time over native
    /// code's: the article's headline figure (iwasm, 2.32).
    pub fastest: Option<String>,
    pub fastest_to_native: Option<f64>,
    /// Tests shown apart in the native comparison, with the reason.
    pub apart: Vec<(String, String)>,
    pub tests: Vec<TestRow>,
    pub categories: Vec<CategoryRow>,
    pub overall: CategoryRow,
    pub measures_nothing: Vec<String>,
    pub machine: Machine,
    /// How the runner was set up, in one line, when the run recorded the doctor's checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    pub suite_id: String,
    pub source: String,
    pub toolchain: String,
    /// Which iteration plan the suite was built from, when its manifest says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    pub complete: bool,
    pub samples: usize,
    /// How many samples another process on their core disturbed (each measured again).
    pub disturbance: Disturbance,
    /// The line at the top of every format when most samples were disturbed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busy: Option<String>,
    /// Per runtime that failed any test: its label and the tests it failed.
    pub failed_by_runtime: Vec<(String, Vec<String>)>,
    /// When the report is made of several results files: what differs between them.
    pub differences: Vec<String>,
    /// The published 2023 results beside these, when asked for.
    pub then_now: Option<published::ThenNow>,
    /// Performance over nights, from baseline history files, when given.
    pub trends: Vec<trends::Trend>,
    /// From nightly histories: the trend of each test a link called a regression.
    pub test_trends: Vec<trends::Trend>,
    /// What a reader of the trends must know: where a chain breaks, links left out of it.
    pub trend_notes: Vec<String>,
    /// The evidence with each changed test of a gate's comparison, when given: the functions
    /// that carried the change and both sides' flame graphs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<evidence::EvidenceSection>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TestRow {
    pub name: String,
    pub category: String,
    pub iterations: u64,
    /// Under a compile measure, the size of the compiled module: a compiler's time grows with
    /// the code it is given, and the modules' sizes differ thirty-fold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_bytes: Option<u64>,
    /// Under a compile measure, the size of its code section, where the suite recorded it:
    /// what the compiler compiles (some modules are mostly data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_bytes: Option<u64>,
    /// One cell per runtime, in `Summary::runtimes` order.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct Cell {
    /// Median picoseconds per iteration over the successful samples.
    pub median_ps: Option<f64>,
    /// Median absolute deviation, as a percentage of the median.
    pub spread_pct: Option<f64>,
    pub ok: usize,
    pub failed: usize,
    /// Samples disturbed by another process on their core and measured again: neither
    /// values nor failures.
    #[serde(default)]
    pub disturbed: usize,
    /// This runtime's median over the fastest runtime's median for the test.
    pub ratio_to_fastest: Option<f64>,
    /// Median-normalized, as the article does: this runtime's median over the median of the
    /// WebAssembly runtimes' medians for the test (1 is the middle runtime, 2 twice as slow).
    #[serde(default)]
    pub normalized: Option<f64>,
    /// This runtime's median over native code's (the runtime marked `native` in its RuntimeInfo).
    #[serde(default)]
    pub to_native: Option<f64>,
    /// The first failure's message, when any sample failed.
    pub failure: Option<String>,
    /// Under a compile measure, the median per KiB of code compiled (of the whole module
    /// where the code section's size is not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_kib: Option<f64>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Bar {
    pub label: String,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    pub name: String,
    /// Per runtime: geometric mean of the ratios to the fastest, over `tests` tests.
    pub geomeans: Vec<Option<f64>>,
    /// Per runtime: geometric mean of the median-normalized times, over `tests` tests.
    pub normalized: Vec<Option<f64>>,
    /// Per runtime: the median over the category's tests (AES-based ones apart) of the time
    /// over native code's.
    pub native_median: Vec<Option<f64>>,
    /// Tests that every runtime with a result in the category measured: the ones the means
    /// are taken over.
    pub tests: usize,
    /// The median-normalized bar of each WebAssembly runtime, for the charts.
    pub bars: Vec<Bar>,
}

pub fn summarize(results: &Results) -> Summary {
    let Figures {
        rows,
        native,
        categories,
        overall,
        fastest,
        fastest_to_native,
    } = figures(rows_of(results), &results.runtimes);
    let apart = rows
        .iter()
        .filter_map(|r| Some((r.name.clone(), apart::reason(&r.name)?.to_string())))
        .collect();
    let suite = &results.suite;
    let failed_by_runtime = failed_by_runtime(&rows, &results.runtimes);
    Summary {
        schema_version: crate::model::SCHEMA_VERSION,
        measure: results.measure,
        measure_description: results.measure.describe().to_string(),
        compiles: results.measure.compiles(),
        runtimes: results.runtimes.clone(),
        native,
        fastest: fastest.filter(|_| native.is_some()),
        fastest_to_native,
        apart,
        tests: rows,
        categories,
        overall,
        measures_nothing: suite
            .tests
            .iter()
            .filter(|t| t.measures_nothing)
            .map(|t| t.name.clone())
            .collect(),
        machine: results.machine.clone(),
        runner: (results.machine.environment.as_ref()).map(crate::run::doctor::footer),
        suite_id: suite.suite_id.clone(),
        source: format!(
            "libsodium {} ({})",
            suite.source.version, suite.source.origin
        ),
        toolchain: format!(
            "zig {} · wasm-opt {} {}",
            suite.zig.version,
            suite.wasm_opt.version,
            suite.wasm_opt.flags.join(" ")
        ),
        plan: suite.plan.as_ref().map(plan_line),
        complete: results.complete,
        samples: results.samples.len(),
        disturbance: Disturbance::of(&results.samples),
        busy: busy_line(Disturbance::of(&results.samples)),
        failed_by_runtime,
        differences: Vec::new(),
        then_now: None,
        trends: Vec::new(),
        test_trends: Vec::new(),
        trend_notes: Vec::new(),
        evidence: Vec::new(),
    }
}

/// A row per test that ran, a cell per runtime.
fn rows_of(results: &Results) -> Vec<TestRow> {
    let runtime_names: Vec<&str> = results.runtimes.iter().map(|r| r.name.as_str()).collect();
    let mut rows: Vec<TestRow> = Vec::new();
    for test in &results.suite.tests {
        let cells: Vec<Cell> = runtime_names
            .iter()
            .map(|rt| cell_for(results, &test.name, rt))
            .collect();
        if cells
            .iter()
            .all(|c| c.ok == 0 && c.failed == 0 && c.disturbed == 0)
        {
            continue; // not run
        }
        let compiles = results.measure.compiles();
        let module_bytes = compiles.then_some(test.size);
        let code_bytes = test.code_bytes.filter(|_| compiles);
        rows.push(TestRow {
            name: test.name.clone(),
            category: test.category.clone(),
            iterations: test.iterations,
            cells: per_kib(cells, code_bytes.or(module_bytes)),
            module_bytes,
            code_bytes,
        });
    }
    rows
}

/// Each cell's median per KiB of `compiled` bytes (a compile measure's figure).
fn per_kib(mut cells: Vec<Cell>, compiled: Option<u64>) -> Vec<Cell> {
    let Some(kib) = compiled.map(|bytes| bytes as f64 / 1024.0) else {
        return cells;
    };
    for cell in cells.iter_mut().filter(|_| kib > 0.0) {
        cell.per_kib = cell.median_ps.map(|median| median / kib);
    }
    cells
}

/// A size as reports show it, e.g. "762 KiB".
pub fn format_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        _ => format!("{:.0} KiB", bytes as f64 / 1024.0),
    }
}

/// A row's module size, with its code's where known, e.g. "762 KiB (code 94 KiB)".
pub fn format_module_size(row: &TestRow) -> String {
    match (row.module_bytes, row.code_bytes) {
        (Some(module), Some(code)) => {
            format!("{} (code {})", format_bytes(module), format_bytes(code))
        }
        (Some(module), None) => format_bytes(module),
        _ => String::new(),
    }
}

/// Which plan set the suite's iteration counts, and what it was calibrated for and on.
fn plan_line(plan: &crate::model::PlanUsed) -> String {
    format!(
        "iterations from {} ({} s a sample on {})",
        plan.source.describe(),
        plan.target_seconds,
        plan.calibrated_on
    )
}

/// "The runner was too busy: …", when most samples were disturbed: the figures below are
/// what the few undisturbed samples say.
pub fn busy_line(disturbance: Disturbance) -> Option<String> {
    disturbance.runner_too_busy().then(|| {
        format!(
            "The runner was too busy to measure on: {}; run on a quieter runner",
            disturbance.sentence()
        )
    })
}

fn failed_by_runtime(rows: &[TestRow], runtimes: &[RuntimeInfo]) -> Vec<(String, Vec<String>)> {
    (runtimes.iter().enumerate())
        .map(|(i, runtime)| {
            let failed = (rows.iter())
                .filter(|row| row.cells[i].failed > 0)
                .map(|row| row.name.clone())
                .collect::<Vec<_>>();
            (runtime.name.clone(), failed)
        })
        .filter(|(_, failed)| !failed.is_empty())
        .collect()
}

/// The figures every report is made of, from rows of medians.
pub(crate) struct Figures {
    pub rows: Vec<TestRow>,
    pub native: Option<usize>,
    pub categories: Vec<CategoryRow>,
    pub overall: CategoryRow,
    pub fastest: Option<String>,
    pub fastest_to_native: Option<f64>,
}

/// Relates each row's cells, then sums them up per category and overall. `runtimes` gives
/// the cells' order; native code is the runtime marked `native` in its RuntimeInfo.
pub(crate) fn figures(mut rows: Vec<TestRow>, runtimes: &[RuntimeInfo]) -> Figures {
    let native = runtimes.iter().position(|r| r.native);
    for row in &mut rows {
        relate_cells(row, native);
    }
    rows.sort_by(|a, b| (&a.category, &a.name).cmp(&(&b.category, &b.name)));
    let mut by_category: BTreeMap<&str, Vec<&TestRow>> = BTreeMap::new();
    for row in &rows {
        by_category
            .entry(row.category.as_str())
            .or_default()
            .push(row);
    }
    let categories = by_category
        .iter()
        .map(|(name, rows)| category_row(name, rows, runtimes))
        .collect();
    let overall = category_row("overall", &rows.iter().collect::<Vec<_>>(), runtimes);
    // The fastest WebAssembly runtime overall (the lowest normalized mean), as the article
    // takes iwasm, and its median time over native code's.
    let fastest = (overall.normalized.iter().enumerate())
        .filter(|(i, _)| Some(*i) != native)
        .filter_map(|(i, value)| Some((i, (*value)?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i);
    let fastest_to_native = fastest.and_then(|i| overall.native_median[i]);
    let fastest = fastest.map(|i| runtimes[i].name.clone());
    Figures {
        rows,
        native,
        categories,
        overall,
        fastest,
        fastest_to_native,
    }
}

fn cell_for(results: &Results, test: &str, runtime: &str) -> Cell {
    let mut values = Vec::new();
    let mut cell = Cell::default();
    for sample in results
        .samples
        .iter()
        .filter(|s| s.test == test && s.runtime == runtime)
    {
        match sample.ok_value() {
            Some(value) => {
                values.push(value);
                cell.ok += 1;
            }
            None if sample.disturbed() => cell.disturbed += 1,
            None => {
                cell.failed += 1;
                if cell.failure.is_none() {
                    cell.failure = sample.message.clone();
                }
            }
        }
    }
    if let Some(median) = stats::median(&values) {
        let deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
        cell.median_ps = Some(median);
        cell.spread_pct = stats::median(&deviations).map(|mad| 100.0 * mad / median);
    }
    cell
}

/// Each cell against the others of its test: the fastest, the median WebAssembly runtime,
/// and native code.
fn relate_cells(row: &mut TestRow, native: Option<usize>) {
    let fastest = row
        .cells
        .iter()
        .filter_map(|c| c.median_ps)
        .fold(f64::INFINITY, f64::min);
    let wasm_medians: Vec<f64> = (row.cells.iter().enumerate())
        .filter(|(i, _)| Some(*i) != native)
        .filter_map(|(_, c)| c.median_ps)
        .collect();
    let middle = stats::median(&wasm_medians);
    let native_ps = native.and_then(|i| row.cells[i].median_ps);
    for (i, cell) in row.cells.iter_mut().enumerate() {
        cell.ratio_to_fastest = cell.median_ps.map(|m| m / fastest);
        if Some(i) != native {
            cell.normalized = cell.median_ps.zip(middle).map(|(m, mid)| m / mid);
        }
        cell.to_native = cell.median_ps.zip(native_ps).map(|(m, n)| m / n);
    }
}

fn category_row(name: &str, rows: &[&TestRow], runtime_infos: &[RuntimeInfo]) -> CategoryRow {
    let runtimes = runtime_infos.len();
    // The means are over the tests every runtime with a result in the category measured: a
    // runtime that failed (or skipped) all of them is reported as such, and does not take
    // the others' means away with it.
    let present: Vec<usize> = (0..runtimes)
        .filter(|i| rows.iter().any(|r| r.cells[*i].median_ps.is_some()))
        .collect();
    let complete: Vec<&&TestRow> = (rows.iter())
        .filter(|r| {
            present
                .iter()
                .all(|i| r.cells[*i].ratio_to_fastest.is_some())
        })
        .collect();
    let geomeans = (0..runtimes)
        .map(|i| stats::geometric_mean(complete.iter().filter_map(|r| r.cells[i].ratio_to_fastest)))
        .collect();
    let normalized: Vec<Option<f64>> = (0..runtimes)
        .map(|i| stats::geometric_mean(complete.iter().filter_map(|r| r.cells[i].normalized)))
        .collect();
    let native_median = (0..runtimes)
        .map(|i| {
            let ratios: Vec<f64> = (rows.iter())
                .filter(|r| apart::reason(&r.name).is_none())
                .filter_map(|r| r.cells[i].to_native)
                .collect();
            stats::median(&ratios)
        })
        .collect();
    let bars = (runtime_infos.iter().zip(&normalized))
        .filter_map(|(runtime, value)| {
            Some(Bar {
                label: runtime.name.clone(),
                value: (*value)?,
            })
        })
        .collect();
    CategoryRow {
        name: name.to_string(),
        geomeans,
        normalized,
        native_median,
        tests: complete.len(),
        bars,
    }
}

/// The text of a cell: median ± spread, or why there is no number.
pub fn format_cell(cell: &Cell, measure: Measure) -> String {
    let value = |median: f64| crate::util::format_value(measure, median);
    let per_kib = match cell.per_kib {
        Some(per_kib) => format!(" · {}/KiB", value(per_kib)),
        None => String::new(),
    };
    match (cell.median_ps, cell.spread_pct) {
        (Some(median), Some(spread)) if cell.failed == 0 => {
            format!("{} ±{spread:.1}%{per_kib}", value(median))
        }
        (Some(median), Some(spread)) => {
            format!(
                "{} ±{spread:.1}%{per_kib} ({} failed)",
                value(median),
                cell.failed
            )
        }
        _ if cell.failed > 0 => "failed".to_string(),
        _ => "–".to_string(),
    }
}

pub fn format_ratio(ratio: Option<f64>) -> String {
    ratio
        .map(|r| format!("{r:.2}×"))
        .unwrap_or_else(|| "–".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::results_with;

    #[test]
    fn ratios_and_category_means() {
        let results = results_with(&[
            ("sign", "a", Some(100)),
            ("sign", "a", Some(110)),
            ("sign", "a", Some(90)),
            ("sign", "b", Some(200)),
            ("hash", "a", Some(10)),
            ("hash", "b", Some(40)),
            ("hash2", "a", Some(30)),
            ("hash2", "b", Some(10)),
        ]);
        let summary = summarize(&results);
        let sign = summary.tests.iter().find(|t| t.name == "sign").unwrap();
        assert_eq!(sign.cells[0].median_ps, Some(100.0));
        assert_eq!(sign.cells[1].ratio_to_fastest, Some(2.0));
        assert!((sign.cells[0].spread_pct.unwrap() - 10.0).abs() < 1e-9);
        let hashing = summary
            .categories
            .iter()
            .find(|c| c.name == "hashing")
            .unwrap();
        // a: ratios 1 and 3 -> sqrt(3); b: ratios 4 and 1 -> 2.
        assert!((hashing.geomeans[0].unwrap() - 3f64.sqrt()).abs() < 1e-9);
        assert!((hashing.geomeans[1].unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(summary.overall.tests, 3);
        assert_eq!(summary.measures_nothing, vec!["misuse".to_string()]);
    }

    #[test]
    fn failed_runtime_is_marked_not_dropped() {
        let results = results_with(&[("sign", "a", Some(100)), ("sign", "b", None)]);
        let summary = summarize(&results);
        let sign = &summary.tests[0];
        assert_eq!(format_cell(&sign.cells[1], Measure::Time), "failed");
        assert_eq!(
            sign.cells[1].failure.as_deref(),
            Some("exit status 1: trap")
        );
        assert_eq!(
            summary.failed_by_runtime,
            vec![("b".to_string(), vec!["sign".to_string()])]
        );
        // b failed its only test: a's means stand, b has none.
        assert_eq!(summary.overall.tests, 1);
        assert_eq!(summary.overall.geomeans, vec![Some(1.0), None]);
    }

    #[test]
    fn median_normalization_and_native_ratios() {
        // sign: a 100, b 200, c 400, native 50. hash: a 30, b 10, c 20, native 10.
        let results = results_with(&[
            ("sign", "a", Some(100)),
            ("sign", "b", Some(200)),
            ("sign", "c", Some(400)),
            ("sign", "native", Some(50)),
            ("hash", "a", Some(30)),
            ("hash", "b", Some(10)),
            ("hash", "c", Some(20)),
            ("hash", "native", Some(10)),
        ]);
        let summary = summarize(&results);
        assert_eq!(summary.native, Some(3));
        let sign = summary.tests.iter().find(|t| t.name == "sign").unwrap();
        // The median of 100, 200, 400 is 200; native is left out of it.
        let normalized: Vec<Option<f64>> = sign.cells.iter().map(|c| c.normalized).collect();
        assert_eq!(normalized, vec![Some(0.5), Some(1.0), Some(2.0), None]);
        let to_native: Vec<Option<f64>> = sign.cells.iter().map(|c| c.to_native).collect();
        assert_eq!(to_native, vec![Some(2.0), Some(4.0), Some(8.0), Some(1.0)]);
        // Hash: median 20; a 1.5, b 0.5, c 1. Overall normalized geomeans: a √0.75, b √0.5, c √2.
        let overall = &summary.overall.normalized;
        assert!((overall[0].unwrap() - 0.75f64.sqrt()).abs() < 1e-12);
        assert!((overall[1].unwrap() - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((overall[2].unwrap() - 2f64.sqrt()).abs() < 1e-12);
        // The fastest overall is b (√0.5); its times over native: sign 4, hash 1: median 2.5.
        assert_eq!(summary.fastest.as_deref(), Some("b"));
        assert_eq!(summary.fastest_to_native, Some(2.5));
        // Per runtime, the median over tests of time over native: a (2, 3) -> 2.5.
        assert_eq!(summary.overall.native_median[0], Some(2.5));
    }

    #[test]
    fn aes_tests_are_shown_apart_from_the_native_medians() {
        let results = results_with(&[
            ("sign", "a", Some(100)),
            ("sign", "native", Some(50)),
            ("aead_aegis256", "a", Some(8000)),
            ("aead_aegis256", "native", Some(100)),
        ]);
        let summary = summarize(&results);
        assert_eq!(summary.fastest_to_native, Some(2.0));
        assert_eq!(summary.apart.len(), 1);
        assert!(summary.apart[0].1.contains("AES"));
    }

    #[test]
    fn the_written_reports_say_which_plan_the_suite_was_built_from() {
        use crate::model::{PlanSource, PlanUsed};
        let mut results = results_with(&[("sign", "a", Some(100))]);
        assert_eq!(summarize(&results).plan, None);
        results.suite.plan = Some(PlanUsed {
            source: PlanSource::Runner,
            calibrated_on: "wasmtime 49.0.3 on a test CPU".into(),
            target_seconds: 0.1,
        });
        let line = "iterations from the plan calibrated on the runner that built it (0.1 s a sample on wasmtime 49.0.3 on a test CPU)";
        for format in [Format::Markdown, Format::Html, Format::Json] {
            let text = render_results(&results, format).unwrap();
            assert!(text.contains(line), "{format:?}: {text}");
        }
    }

    #[test]
    fn every_format_says_how_the_runner_was_set_up() {
        use crate::model::{CheckStatus, Environment, EnvironmentCheck};
        let mut results = results_with(&[("sign", "a", Some(100))]);
        let line =
            "runner: 1 check warns (governor powersave on core 1); `wasmgate doctor` for details";
        for format in [Format::Terminal, Format::Markdown, Format::Html] {
            let text = render_results(&results, format).unwrap();
            assert!(!text.contains("runner"), "{format:?}: {text}");
        }
        results.machine.environment = Some(Environment {
            checks: vec![EnvironmentCheck {
                name: "governor".into(),
                core: Some(1),
                status: CheckStatus::Warn,
                found: "powersave".into(),
                fix: Some("echo performance > x".into()),
            }],
        });
        assert_eq!(summarize(&results).runner.as_deref(), Some(line));
        for format in [
            Format::Terminal,
            Format::Markdown,
            Format::Html,
            Format::Json,
        ] {
            let text = render_results(&results, format).unwrap();
            assert!(text.contains(line), "{format:?}: {text}");
        }
    }

    #[test]
    fn units_are_readable() {
        assert_eq!(format_ps(1_500_000.0), "1.500 µs");
        assert_eq!(format_ps(2e12), "2 s");
        assert_eq!(format_ps(12.0), "12 ps");
    }
}
