//! `wasmgate report RESULTS`: a results file as a table or a markdown report.

use super::Format;
use crate::report::{markdown, summarize, terminal};
use anyhow::Result;
use std::path::Path;

pub fn run(results: &Path, format: Format, out: Option<&Path>) -> Result<u8> {
    let results = crate::run::read_results(results)?;
    let text = render(&results, format)?;
    match out {
        Some(path) => {
            crate::model::write_atomic(path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(0)
}

pub fn render(results: &crate::model::Results, format: Format) -> Result<String> {
    let summary = summarize(results);
    match format {
        Format::Terminal => Ok(terminal::render(&summary)),
        Format::Markdown => markdown::render(&summary),
        Format::Json => Ok(serde_json::to_string_pretty(&summary)? + "\n"),
    }
}
