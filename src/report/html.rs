//! The HTML report: one self-contained file (inline CSS and SVG charts, no script, nothing
//! fetched), with a table beside every chart for screen readers and copy-paste.

use super::svg::{Line, bar_chart, line_chart};
use super::trends::Trend;
use super::{Bar, Summary};
use anyhow::Result;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

const TEMPLATE: &str = include_str!("templates/report.html.j2");

pub fn render(summary: &Summary) -> Result<String> {
    let mut env = super::markdown::environment(summary.measure);
    env.add_function("bar_chart", |title: String, bars: Value| -> Value {
        let bars = Vec::<Bar>::deserialize(bars).unwrap_or_default();
        Value::from_safe_string(bar_chart(&title, &bars, Some(1.0)))
    });
    env.add_function("trend_chart", |trend: Value| -> Value {
        Value::from_safe_string(
            Trend::deserialize(trend)
                .map(|t| trend_svg(&t))
                .unwrap_or_default(),
        )
    });
    // The differences are written for markdown: `name` becomes <code>name</code>.
    env.add_filter("code", |text: String| -> Value {
        let escaped = super::svg::escape(&text);
        let mut html = String::new();
        for (i, part) in escaped.split('`').enumerate() {
            match i % 2 {
                1 => html.push_str(&format!("<code>{part}</code>")),
                _ => html.push_str(part),
            }
        }
        Value::from_safe_string(html)
    });
    env.add_template("report.html", TEMPLATE)?;
    let text = env
        .get_template("report.html")?
        .render(minijinja::context! { s => Value::from(Serde(summary)) })?;
    Ok(text)
}

fn trend_svg(trend: &Trend) -> String {
    let lines: Vec<Line> = (trend.series.iter())
        .map(|series| Line {
            label: &series.label,
            points: (series.points.iter())
                .map(|p| {
                    let note = (!p.regressions.is_empty())
                        .then(|| format!("regression: {}", p.regressions.join(", ")));
                    (p.date.clone(), p.value, note)
                })
                .collect(),
            breaks: (series.points.iter().enumerate())
                .filter(|(_, p)| p.starts_chain)
                .map(|(i, _)| i)
                .collect(),
        })
        .collect();
    let chained = trend.series.iter().any(|s| s.chained);
    let (title, axis) = match chained {
        true => (
            "time relative to the first night of its chain",
            "× first night, chained (lower is faster)",
        ),
        false => (
            "time relative to the first night",
            "× first night (lower is faster)",
        ),
    };
    line_chart(&format!("{}: {title}", trend.category), &lines, axis)
}
