//! The markdown report, from a minijinja template kept beside this file.

use super::{Cell, Summary, format_cell, format_ps, format_ratio};
use anyhow::Result;
use minijinja::Environment;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

const TEMPLATE: &str = include_str!("templates/report.md.j2");

pub fn render(summary: &Summary) -> Result<String> {
    let mut env = Environment::new();
    // The template formats numbers with the same functions as the terminal table.
    env.add_filter("cell", |cell: Value| -> String {
        Cell::deserialize(cell)
            .map(|c| format_cell(&c))
            .unwrap_or_default()
    });
    env.add_filter("ratio", |ratio: Option<f64>| format_ratio(ratio));
    env.add_filter("ps", |ps: f64| format_ps(ps));
    env.add_template("report.md", TEMPLATE)?;
    let text = env
        .get_template("report.md")?
        .render(minijinja::context! { s => Value::from(Serde(summary)) })?;
    Ok(text)
}
