//! Reading and writing the versioned JSON documents, with errors that name the file, the line
//! and the field.

use super::{SCHEMA_VERSION, write_atomic};
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::Path;

/// Refuses a document of another schema version, saying how to make one this version reads.
pub fn check_schema(found: u32, path: &Path, fix: &str) -> Result<()> {
    if found != SCHEMA_VERSION {
        anyhow::bail!(
            "{}: schema_version {found} but this wasmgate reads {SCHEMA_VERSION}; {fix}",
            path.display()
        );
    }
    Ok(())
}

/// Reads a JSON document, with an error that names the file and the field that is wrong.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = super::read_text(path, super::READ_LIMIT)?;
    parse_json(&text, &path.display().to_string())
}

pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        anyhow::anyhow!(
            "{origin}:{}:{}: field `{field}`: {}; is this a wasmgate file of schema version {SCHEMA_VERSION}?",
            inner.line(),
            inner.column(),
            strip_position(&inner.to_string())
        )
    })
}

fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// What a file of JSON lines holds, for the error on a line that does not parse.
pub struct JsonLines<'a> {
    /// What one line is, e.g. "a night of the nightly history".
    pub entry: &'a str,
    /// How to mend the file, or what writes such files.
    pub fix: &'a str,
}

/// Reads a file of JSON lines (a history of any kind), one entry a line. A torn last line (a
/// crash while appending) is skipped; any other line that does not parse is an error naming
/// the file and the line's number in it.
pub fn read_lines<T: serde::de::DeserializeOwned>(path: &Path, kind: &JsonLines) -> Result<Vec<T>> {
    let text = super::read_text(path, super::READ_LIMIT)
        .with_context(|| format!("cannot read the history {}", path.display()))?;
    let numbered: Vec<(usize, &str)> = (text.lines().enumerate())
        .filter(|(_, line)| !line.trim().is_empty())
        .collect();
    let mut entries = Vec::new();
    for (k, (number, line)) in numbered.iter().enumerate() {
        match serde_json::from_str::<T>(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if k + 1 == numbered.len() && !text.ends_with('\n') => {}
            Err(error) => anyhow::bail!(
                "{}: line {}: not {} ({error}); {}",
                path.display(),
                number + 1,
                kind.entry,
                kind.fix
            ),
        }
    }
    Ok(entries)
}

/// The current time as RFC 3339, seconds precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolInfo;

    #[test]
    fn bad_json_names_file_line_and_field() {
        let err = parse_json::<ToolInfo>(r#"{"version": 3, "flags": []}"#, "r.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("r.json:1:"), "{err}");
        assert!(err.contains("field `version`"), "{err}");
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        write_json(&path, &vec![1, 2, 3]).unwrap();
        write_json(&path, &vec![4]).unwrap();
        let back: Vec<u32> = read_json(&path).unwrap();
        assert_eq!(back, vec![4]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
