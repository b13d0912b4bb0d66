//! One report over several results files (shards, machines, days): merged by the run stage's
//! mechanism under its pool-or-keep-apart policy (samples of the same runtime on the same
//! machine are pooled; anything else is kept apart under its own label), with every difference
//! between the files stated, so a reader knows what is compared.

use crate::model::Results;
use crate::run::merge::{Difference, Policy, merge_with};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// The combined results and, in words, what differs between the files.
pub fn combine(files: &[(PathBuf, Results)]) -> Result<(Results, Vec<String>)> {
    if files.is_empty() {
        bail!("give at least one results file");
    }
    // One table prints one unit: a count beside a time would read as either.
    let (first_path, first) = &files[0];
    if let Some((path, other)) = files.iter().find(|(_, r)| r.measure != first.measure) {
        bail!(
            "{} measured {}, {} measured {}: report each measure on its own, or set the two side by side with `wasmgate compare TIME.json --beside INSTRUCTIONS.json`",
            first_path.display(),
            first.measure.name(),
            path.display(),
            other.measure.name()
        );
    }
    let merged = merge_with(files, Policy::PoolOrKeepApart)?;
    let mut notes = Vec::new();
    for (index, (path, results)) in files.iter().enumerate() {
        note_file(&mut notes, path, results);
        notes.extend(
            (merged.differences.iter())
                .filter(|difference| difference.file() == index)
                .map(|difference| describe(files, difference)),
        );
    }
    Ok((merged.results, notes))
}

fn note_file(notes: &mut Vec<String>, path: &Path, results: &Results) {
    let mut facts = Vec::new();
    if let Some(shard) = results.shard {
        facts.push(format!("shard {}/{}", shard.index, shard.count));
    }
    if !results.complete {
        facts.push("interrupted: only what was measured before it stopped".to_string());
    }
    if !facts.is_empty() {
        notes.push(format!("{}: {}", path.display(), facts.join("; ")));
    }
}

/// A difference in words, against the first file.
fn describe(files: &[(PathBuf, Results)], difference: &Difference) -> String {
    let (first_path, first) = &files[0];
    let (path, results) = &files[difference.file()];
    match difference {
        Difference::Suite { .. } => other_build((first_path, first), (path, results)),
        Difference::Machine { .. } => other_machine((first_path, first), (path, results)),
        Difference::KeptApart {
            runtime,
            label,
            measured,
            known,
            ..
        } => format!(
            "`{runtime}` in {} ({}, machine {}) is shown as `{label}`: {} had {}, machine {}",
            path.display(),
            measured.version,
            measured.machine,
            first_path.display(),
            known.version,
            known.machine
        ),
        // Shards of one runtime pool silently; the same test measured twice is worth a line.
        Difference::Remeasured { runtime, tests, .. } => format!(
            "`{runtime}`: {tests} tests measured again in {}, same version and machine: their samples are pooled",
            path.display()
        ),
    }
}

fn other_build(first: (&PathBuf, &Results), other: (&PathBuf, &Results)) -> String {
    let ((first_path, first), (path, results)) = (first, other);
    let (a, b) = (&first.suite, &results.suite);
    format!(
        "{} measured build {} (libsodium {}, zig {}, wasm-opt {}), {} build {} (libsodium {}, zig {}, wasm-opt {}): times per iteration are compared across builds",
        first_path.display(),
        a.suite_id,
        a.source.version,
        a.zig.version,
        a.wasm_opt.version,
        path.display(),
        b.suite_id,
        b.source.version,
        b.zig.version,
        b.wasm_opt.version
    )
}

fn other_machine(first: (&PathBuf, &Results), other: (&PathBuf, &Results)) -> String {
    let ((first_path, first), (path, results)) = (first, other);
    let (m, n) = (&first.machine, &results.machine);
    format!(
        "{} ran on {} ({}, {} cores, kernel {}), {} on {} ({}, {} cores, kernel {}): timings from different machines",
        first_path.display(),
        m.fingerprint,
        m.cpu_model,
        m.logical_cores,
        m.kernel,
        path.display(),
        n.fingerprint,
        n.cpu_model,
        n.logical_cores,
        n.kernel
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Shard;
    use crate::model::fixtures::results_with;

    #[test]
    fn shards_pool_and_other_machines_are_kept_apart_and_stated() {
        let mut a = results_with(&[("sign", "wasmtime", Some(100)), ("sign", "node", Some(300))]);
        a.shard = Some(Shard { index: 1, count: 2 });
        let mut b = results_with(&[("hash", "wasmtime", Some(10))]);
        b.shard = Some(Shard { index: 2, count: 2 });
        let mut c = results_with(&[("sign", "wasmtime", Some(50))]);
        c.machine.fingerprint = "other".into();
        c.machine.cpu_model = "Other CPU".into();
        c.complete = false;
        let files = vec![
            (PathBuf::from("a.json"), a),
            (PathBuf::from("b.json"), b),
            (PathBuf::from("night/c.json"), c),
        ];
        let (combined, notes) = combine(&files).unwrap();
        let labels: Vec<&str> = combined.runtimes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(labels, ["wasmtime", "node", "wasmtime (c)"]);
        assert_eq!(combined.samples.len(), 4);
        assert!(!combined.complete);
        let text = notes.join("\n");
        assert!(text.contains("a.json: shard 1/2") && text.contains("b.json: shard 2/2"));
        assert!(text.contains("Other CPU") && text.contains("`wasmtime (c)`"));
        assert!(text.contains("interrupted"));
        // The pooled shard adds no note of its own.
        assert_eq!(notes.len(), 5, "{text}");
        let summary = crate::report::summarize(&combined);
        let sign = summary.tests.iter().find(|t| t.name == "sign").unwrap();
        assert_eq!(sign.cells[2].median_ps, Some(50.0));
    }

    #[test]
    fn a_test_measured_again_is_pooled_and_stated() {
        let a = results_with(&[("sign", "wasmtime", Some(100))]);
        let b = results_with(&[
            ("sign", "wasmtime", Some(120)),
            ("hash", "wasmtime", Some(10)),
        ]);
        let files = [(PathBuf::from("a.json"), a), (PathBuf::from("b.json"), b)];
        let (combined, notes) = combine(&files).unwrap();
        assert_eq!(combined.runtimes.len(), 1);
        assert_eq!(combined.samples.len(), 3);
        assert_eq!(
            notes,
            [
                "`wasmtime`: 1 tests measured again in b.json, same version and machine: their samples are pooled"
            ]
        );
    }

    #[test]
    fn files_of_two_measures_are_not_reported_in_one_table() {
        let time = crate::model::fixtures::results_with(&[("sign", "a", Some(100))]);
        let mut counted = time.clone();
        counted.measure = crate::model::Measure::Instructions;
        let files = [("t.json".into(), time), ("i.json".into(), counted)];
        let err = combine(&files).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "t.json measured time, i.json measured instructions: report each measure on its own"
            ),
            "{err}"
        );
    }

    #[test]
    fn one_file_has_nothing_to_state() {
        let a = results_with(&[("sign", "wasmtime", Some(100))]);
        let (_, notes) = combine(&[(PathBuf::from("a.json"), a)]).unwrap();
        assert!(notes.is_empty());
    }
}
