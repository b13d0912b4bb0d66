//! The terminal table (comfy-table).

use super::{Summary, format_cell, format_ratio};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    if !summary.complete {
        out.push_str("NOTE: the run was interrupted; these are the samples measured until then.\n");
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
        out.push_str(&format!(
            "failed ({}):\n{}\n",
            failures.len(),
            failures.join("\n")
        ));
    }
    if !summary.measures_nothing.is_empty() {
        out.push_str(&format!(
            "not timed (measure nothing): {}\n",
            summary.measures_nothing.join(", ")
        ));
    }
    out
}
