//! The markdown report, from a minijinja template kept beside this file.

use super::trends::{Markup, NIGHTS_SHOWN};
use super::{Cell, Summary, format_cell, format_ps, format_ratio};
use crate::model::Measure;
use anyhow::Result;
use minijinja::Environment;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

const TEMPLATE: &str = include_str!("templates/report.md.j2");

/// The template environment of every report format: numbers are formatted by the same
/// functions as the terminal table.
pub(super) fn environment(measure: Measure) -> Environment<'static> {
    let mut env = Environment::new();
    env.add_filter("cell", move |cell: Value| -> String {
        Cell::deserialize(cell)
            .map(|c| format_cell(&c, measure))
            .unwrap_or_default()
    });
    env.add_filter("ratio", |ratio: Option<f64>| format_ratio(ratio));
    env.add_filter("ps", |ps: f64| format_ps(ps));
    env.add_filter("compiling", |threads: Value| -> String {
        crate::model::CompileThreads::deserialize(threads)
            .map(|threads| threads.compiling().to_string())
            .unwrap_or_default()
    });
    env.add_filter("module_size", |row: Value| -> String {
        super::TestRow::deserialize(row)
            .map(|row| super::format_module_size(&row))
            .unwrap_or_default()
    });
    env
}

pub fn render(summary: &Summary) -> Result<String> {
    let mut env = super::escape::markdown_environment(environment(summary.measure));
    env.add_template("report.md", TEMPLATE)?;
    let text = env.get_template("report.md")?.render(minijinja::context! {
        s => Value::from(Serde(summary)),
        trend_tables => Value::from(Serde(super::trends::compact(&summary.trends, NIGHTS_SHOWN, Markup::Markdown))),
    })?;
    Ok(text)
}
