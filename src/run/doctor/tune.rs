//! `wasmgate doctor --tune` and `--reset`: the measured cores' governor to performance and
//! their lowest frequency to their highest, turbo or boost off, where the files exist. The
//! values found are saved before anything is written, so `--reset` can put them back even
//! after a tune that failed half-way.

use super::frequency::{BOOST, NO_TURBO, governor_file, max_file, min_file};
use super::tree::Tree;
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The values `--tune` replaced, in the order it wrote them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    pub values: Vec<SavedValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SavedValue {
    /// The file as spelled on the machine, e.g. "/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor".
    pub file: String,
    pub value: String,
}

/// Where every file tune writes lives.
const CPU_SETTINGS: &str = "/sys/devices/system/cpu/";

/// One file written, for the command line to tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub file: String,
    pub from: String,
    pub to: String,
}

/// Sets what can be set and returns what changed; nothing when everything was set already
/// or nothing is exposed. Values saved by an earlier tune are kept, since they are the
/// runner's own.
pub fn tune(tree: &Tree, cores: &[usize], saved_path: &Path) -> Result<Vec<Change>> {
    let changes: Vec<Change> = (wanted(tree, cores).into_iter())
        .filter_map(|(file, to)| {
            let from = tree.read(&file)?;
            (from != to).then_some(Change { file, from, to })
        })
        .collect();
    if changes.is_empty() {
        return Ok(changes);
    }
    let mut saved = if saved_path.exists() {
        crate::model::read_json(saved_path)?
    } else {
        Saved::default()
    };
    for change in &changes {
        if !saved.values.iter().any(|v| v.file == change.file) {
            saved.values.push(SavedValue {
                file: change.file.clone(),
                value: change.from.clone(),
            });
        }
    }
    crate::model::write_json(saved_path, &saved)?;
    for change in &changes {
        tree.write(&change.file, &change.to)?;
    }
    Ok(changes)
}

/// Each file to set and its value, for the files that exist.
fn wanted(tree: &Tree, cores: &[usize]) -> Vec<(String, String)> {
    let mut wanted = Vec::new();
    for &core in cores {
        wanted.push((governor_file(core), "performance".to_string()));
        if let Some(max) = tree.read(&max_file(core)) {
            wanted.push((min_file(core), max));
        }
    }
    if tree.exists(NO_TURBO) {
        wanted.push((NO_TURBO.to_string(), "1".to_string()));
    } else if tree.exists(BOOST) {
        wanted.push((BOOST.to_string(), "0".to_string()));
    }
    wanted
}

/// Writes the saved values back, last written first, then removes the saved file.
pub fn reset(tree: &Tree, saved_path: &Path) -> Result<Vec<Change>> {
    if !saved_path.exists() {
        bail!(
            "nothing to reset: {} does not exist (nothing was tuned, or it was reset already)",
            saved_path.display()
        );
    }
    let saved: Saved = crate::model::read_json(saved_path)?;
    // The file is written as root: it may name the switches tune sets and nothing else.
    if let Some((i, value)) = (saved.values.iter().enumerate())
        .find(|(_, v)| !v.file.starts_with(CPU_SETTINGS) || v.file.contains(".."))
    {
        bail!(
            "{}: field `values[{i}].file`: `{}` is not a CPU setting under {CPU_SETTINGS}; delete the file and restore by hand",
            saved_path.display(),
            value.file
        );
    }
    let mut changes = Vec::new();
    for value in saved.values.iter().rev() {
        let from = tree.read(&value.file).unwrap_or_default();
        tree.write(&value.file, &value.value)?;
        changes.push(Change {
            file: value.file.clone(),
            from,
            to: value.value.clone(),
        });
    }
    std::fs::remove_file(saved_path)?;
    Ok(changes)
}
