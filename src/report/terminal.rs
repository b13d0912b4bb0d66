//! The terminal report (comfy-table): what the markdown report says, in tables and lines.

use super::published::ThenNow;
use super::trends::{self, Markup, NIGHTS_SHOWN};
use super::{Summary, format_cell, format_ratio};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

pub fn render(summary: &Summary) -> String {
    [
        headline(summary),
        notes(summary),
        tests_table(summary),
        categories_table(summary),
        against_native(summary),
        runtimes(summary),
        runner(summary),
        failures(summary),
        summary
            .then_now
            .as_ref()
            .map(then_now_table)
            .unwrap_or_default(),
        trend_tables(summary),
        measures_nothing(summary),
    ]
    .concat()
}

fn headline(summary: &Summary) -> String {
    let names: Vec<&str> = summary.runtimes.iter().map(|r| r.name.as_str()).collect();
    format!(
        "wasmgate: libsodium benchmarks on {}\nmeasure: {}\n",
        names.join(", "),
        summary.measure_description
    )
}

fn notes(summary: &Summary) -> String {
    let mut out = String::new();
    match &summary.busy {
        Some(busy) => out.push_str(&format!("NOTE: {busy}.\n")),
        None if summary.disturbance.disturbed > 0 => {
            out.push_str(&format!("NOTE: {}.\n", summary.disturbance.sentence()));
        }
        None => {}
    }
    if !summary.complete {
        out.push_str("NOTE: the run was interrupted; these are the samples measured until then.\n");
    }
    for difference in &summary.differences {
        out.push_str(&format!("NOTE: {difference}\n"));
    }
    out
}

fn tests_table(summary: &Summary) -> String {
    let mut tests = Table::new();
    tests.load_style(UTF8_FULL_CONDENSED);
    let compiles = summary.measure.compiles();
    let mut header = vec!["category".to_string(), "test".to_string()];
    if compiles {
        header.push("module".to_string());
    }
    let per = if compiles {
        "a module"
    } else {
        "per iteration"
    };
    for runtime in &summary.runtimes {
        header.push(format!("{} ({per})", runtime.name));
        header.push("× fastest".to_string());
    }
    tests.set_header(header);
    for row in &summary.tests {
        let mut cells = vec![row.category.clone(), row.name.clone()];
        if compiles {
            cells.push(super::format_module_size(row));
        }
        for cell in &row.cells {
            cells.push(format_cell(cell, summary.measure));
            cells.push(format_ratio(cell.ratio_to_fastest));
        }
        tests.add_row(cells);
    }
    format!("{tests}\n")
}

fn categories_table(summary: &Summary) -> String {
    let mut categories = Table::new();
    categories.load_style(UTF8_FULL_CONDENSED);
    let mut header = vec![
        "category (geometric mean, × fastest)".to_string(),
        "tests".to_string(),
    ];
    header.extend(summary.runtimes.iter().map(|r| r.name.clone()));
    categories.set_header(header);
    for row in (summary.categories.iter()).chain(std::iter::once(&summary.overall)) {
        let mut cells = vec![row.name.clone(), row.tests.to_string()];
        cells.extend(row.geomeans.iter().map(|g| format_ratio(*g)));
        categories.add_row(cells);
    }
    format!("{categories}\n")
}

/// The article's headline figure, and the tests left out of it, when native code ran.
fn against_native(summary: &Summary) -> String {
    if summary.native.is_none() {
        return String::new();
    }
    let mut out = format!(
        "against native code: the fastest WebAssembly runtime overall, {}, takes a median of {} native code's time (the article found 2.32× for iwasm)\n",
        summary.fastest.as_deref().unwrap_or("–"),
        format_ratio(summary.fastest_to_native)
    );
    for (test, why) in &summary.apart {
        out.push_str(&format!("  shown apart: {test}: {why}\n"));
    }
    out
}

fn runtimes(summary: &Summary) -> String {
    (summary.runtimes.iter())
        .map(|runtime| {
            let threads = (runtime.compile_threads)
                .map(|threads| format!(", {}", threads.compiling()))
                .unwrap_or_default();
            let (name, version, path) = (&runtime.name, &runtime.version, &runtime.path);
            format!("{name}: {version} ({path}){threads}\n")
        })
        .collect()
}

fn runner(summary: &Summary) -> String {
    (summary.runner.as_ref())
        .map(|line| format!("{line}\n"))
        .unwrap_or_default()
}

/// Every failure, per runtime and then one a line with its message.
fn failures(summary: &Summary) -> String {
    let failures: Vec<String> = (summary.tests.iter())
        .flat_map(|row| {
            (row.cells.iter().zip(&summary.runtimes)).filter_map(move |(cell, runtime)| {
                (cell.failure.as_ref())
                    .map(|why| format!("  {} on {}: {why}", row.name, runtime.name))
            })
        })
        .collect();
    if failures.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for (runtime, tests) in &summary.failed_by_runtime {
        out.push_str(&format!(
            "{runtime} failed {} tests: {}\n",
            tests.len(),
            tests.join(", ")
        ));
    }
    out.push_str(&format!(
        "failed ({}):\n{}\n",
        failures.len(),
        failures.join("\n")
    ));
    out
}

fn measures_nothing(summary: &Summary) -> String {
    if summary.measures_nothing.is_empty() {
        return String::new();
    }
    format!(
        "not timed (measure nothing): {}\n",
        summary.measures_nothing.join(", ")
    )
}

/// The last nights of each history, as markdown's trend tables.
fn trend_tables(summary: &Summary) -> String {
    let tables = trends::compact(&summary.trends, NIGHTS_SHOWN, Markup::Plain);
    (tables.iter())
        .map(|compact| {
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED);
            let header = std::iter::once("category".to_string()).chain(compact.nights.clone());
            table.set_header(header.collect::<Vec<_>>());
            for (category, cells) in &compact.rows {
                table.add_row(std::iter::once(category.clone()).chain(cells.clone()));
            }
            let method = match compact.chained {
                true => "chained from the nightly's paired links, relative to the first night of the chain; lower is faster; ⚠ marks the regressions a link called",
                false => "each night's median per test over the first night's, geometric mean per category; lower is faster; ⚠ marks the regressions the nightly watch called",
            };
            format!(
                "trend of {}, the last {} nights ({method}):\n{table}\n",
                compact.label,
                compact.nights.len()
            )
        })
        .collect::<String>()
        + &(summary.trend_notes.iter())
            .map(|note| format!("- {note}\n"))
            .collect::<String>()
}

fn then_now_table(then_now: &ThenNow) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header([
        "2023 runtime",
        "now measured as",
        "normalized 2023",
        "normalized now",
        "× native 2023",
        "× native now",
    ]);
    for row in &then_now.rows {
        table.add_row([
            row.published.clone(),
            row.runtime.clone().unwrap_or_else(|| "–".to_string()),
            format_ratio(row.then_normalized),
            format_ratio(row.now_normalized),
            format_ratio(row.then_to_native),
            format_ratio(row.now_to_native),
        ]);
    }
    format!(
        "then (2023) and now, beside {}; fastest over native {} {} then, {} {} now:\n{table}\n",
        then_now.source,
        then_now.then_fastest.as_deref().unwrap_or("–"),
        format_ratio(then_now.then_fastest_to_native),
        then_now.now_fastest.as_deref().unwrap_or("–"),
        format_ratio(then_now.now_fastest_to_native)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::results_with;
    use crate::model::{HistoryEntry, TestSummary};

    fn night(date: &str, median_ps: f64, regressions: &[&str]) -> HistoryEntry {
        HistoryEntry {
            date: date.into(),
            commit: Some(format!("commit-{date}")),
            runtime_version: "1".into(),
            suite_id: "s".into(),
            tests: [(
                "sign".to_string(),
                TestSummary {
                    median_ps,
                    ci_low_ps: None,
                    ci_high_ps: None,
                    samples: 16,
                },
            )]
            .into(),
            regressions: regressions.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn the_table_says_what_markdown_says() {
        let results = results_with(&[
            ("sign", "a", Some(100)),
            ("sign", "native", Some(50)),
            ("aead_aegis256", "a", Some(8000)),
            ("aead_aegis256", "native", Some(100)),
        ]);
        let mut summary = crate::report::summarize(&results);
        let history = vec![night("d1", 100.0, &[]), night("d2", 110.0, &["sign"])];
        summary.trends = trends::trends(&[("a".to_string(), history)]);
        let text = render(&summary);
        assert!(
            text.starts_with("wasmgate: libsodium benchmarks on a, native\n"),
            "{text}"
        );
        assert!(
            text.contains("the fastest WebAssembly runtime overall, a, takes a median of 2.00× native code's time"),
            "{text}"
        );
        assert!(
            text.contains("shown apart: aead_aegis256: AES-based"),
            "{text}"
        );
        assert!(text.contains("trend of a, the last 2 nights"), "{text}");
        assert!(text.contains("d2 commit-"), "{text}");
        assert!(text.contains("1.100 ⚠ sign"), "{text}");
    }

    #[test]
    fn without_native_code_or_histories_there_is_no_native_line_or_trend() {
        let summary = crate::report::summarize(&results_with(&[("sign", "a", Some(100))]));
        let text = render(&summary);
        assert!(!text.contains("against native code"), "{text}");
        assert!(!text.contains("trend of"), "{text}");
    }
}
