//! The terminal table (comfy-table).

use super::published::ThenNow;
use super::{Summary, format_cell, format_ratio};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    if !summary.complete {
        out.push_str("NOTE: the run was interrupted; these are the samples measured until then.\n");
    }
    for difference in &summary.differences {
        out.push_str(&format!("NOTE: {difference}\n"));
    }
    let mut tests = Table::new();
    tests.load_style(UTF8_FULL_CONDENSED);
    let mut header = vec!["category".to_string(), "test".to_string()];
    for runtime in &summary.runtimes {
        header.push(format!("{} (per iteration)", runtime.name));
        header.push("× fastest".to_string());
    }
    tests.set_header(header);
    for row in &summary.tests {
        let mut cells = vec![row.category.clone(), row.name.clone()];
        for cell in &row.cells {
            cells.push(format_cell(cell));
            cells.push(format_ratio(cell.ratio_to_fastest));
        }
        tests.add_row(cells);
    }
    out.push_str(&tests.to_string());
    out.push('\n');

    let mut categories = Table::new();
    categories.load_style(UTF8_FULL_CONDENSED);
    let mut header = vec![
        "category (geometric mean, × fastest)".to_string(),
        "tests".to_string(),
    ];
    header.extend(summary.runtimes.iter().map(|r| r.name.clone()));
    categories.set_header(header);
    for row in summary
        .categories
        .iter()
        .chain(std::iter::once(&summary.overall))
    {
        let mut cells = vec![row.name.clone(), row.tests.to_string()];
        cells.extend(row.geomeans.iter().map(|g| format_ratio(*g)));
        categories.add_row(cells);
    }
    out.push_str(&categories.to_string());
    out.push('\n');
    for runtime in &summary.runtimes {
        out.push_str(&format!(
            "{}: {} ({})\n",
            runtime.name, runtime.version, runtime.path
        ));
    }
    let failures: Vec<String> = summary
        .tests
        .iter()
        .flat_map(|row| {
            row.cells
                .iter()
                .zip(&summary.runtimes)
                .filter_map(move |(cell, runtime)| {
                    cell.failure
                        .as_ref()
                        .map(|why| format!("  {} on {}: {why}", row.name, runtime.name))
                })
        })
        .collect();
    if !failures.is_empty() {
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
    }
    if let Some(then_now) = &summary.then_now {
        out.push_str(&then_now_table(then_now));
    }
    if !summary.measures_nothing.is_empty() {
        out.push_str(&format!(
            "not timed (measure nothing): {}\n",
            summary.measures_nothing.join(", ")
        ));
    }
    out
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
