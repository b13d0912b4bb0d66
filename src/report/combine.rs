//! One report over several results files (shards, machines, days): samples of the same
//! runtime on the same machine are pooled; anything else is kept apart under its own label,
//! and every difference between the files is stated, so a reader knows what is compared.

use crate::model::Results;
use crate::run::merge::measured_pairs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The combined results and, in words, what differs between the files.
pub fn combine(files: &[(PathBuf, Results)]) -> Option<(Results, Vec<String>)> {
    let ((first_path, first), rest) = files.split_first()?;
    let mut combined = first.clone();
    let mut notes = Vec::new();
    // Per label: the machine and version its samples were measured with.
    let mut measured_as: BTreeMap<String, (String, String)> = (first.runtimes.iter())
        .map(|r| {
            let key = (first.machine.fingerprint.clone(), r.version.clone());
            (r.name.clone(), key)
        })
        .collect();
    note_file(&mut notes, first_path, first);
    for (path, results) in rest {
        note_file(&mut notes, path, results);
        note_build_and_machine(&mut notes, (first_path, first), (path, results));
        add_tests(&mut combined, results);
        let mut relabel: BTreeMap<String, String> = BTreeMap::new();
        for runtime in &results.runtimes {
            let key = (results.machine.fingerprint.clone(), runtime.version.clone());
            let label = match measured_as.get(&runtime.name) {
                None => runtime.name.clone(),
                Some(known) if *known == key => {
                    pooled_note(&mut notes, &combined, results, &runtime.name, path);
                    continue;
                }
                Some((machine, version)) => {
                    let label = format!("{} ({})", runtime.name, stem(path));
                    notes.push(format!(
                        "`{}` in {} ({}, machine {}) is shown as `{label}`: {} had {}, machine {}",
                        runtime.name,
                        path.display(),
                        runtime.version,
                        results.machine.fingerprint,
                        first_path.display(),
                        version,
                        machine
                    ));
                    label
                }
            };
            measured_as.insert(label.clone(), key);
            relabel.insert(runtime.name.clone(), label.clone());
            let mut info = runtime.clone();
            info.name = label;
            combined.runtimes.push(info);
        }
        combined
            .samples
            .extend(results.samples.iter().cloned().map(|mut sample| {
                if let Some(label) = relabel.get(&sample.runtime) {
                    sample.runtime = label.clone();
                }
                sample
            }));
        combined.complete &= results.complete;
    }
    Some((combined, notes))
}

fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("results");
    name.trim_end_matches(".json").to_string()
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

fn note_build_and_machine(
    notes: &mut Vec<String>,
    first: (&Path, &Results),
    other: (&Path, &Results),
) {
    let ((first_path, first), (path, results)) = (first, other);
    let (a, b) = (&first.suite, &results.suite);
    if a.suite_id != b.suite_id {
        notes.push(format!(
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
        ));
    }
    let (m, n) = (&first.machine, &results.machine);
    if m.fingerprint != n.fingerprint {
        notes.push(format!(
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
        ));
    }
}

/// Shards of one runtime pool silently; the same test measured twice is worth a line.
fn pooled_note(
    notes: &mut Vec<String>,
    combined: &Results,
    results: &Results,
    runtime: &str,
    path: &Path,
) {
    let before = measured_pairs(path, combined);
    let overlap = (measured_pairs(path, results).into_keys())
        .filter(|pair| pair.1 == runtime && before.contains_key(pair))
        .count();
    if overlap > 0 {
        notes.push(format!(
            "`{runtime}`: {overlap} tests measured again in {}, same version and machine: their samples are pooled",
            path.display()
        ));
    }
}

fn add_tests(combined: &mut Results, results: &Results) {
    for test in &results.suite.tests {
        if combined.suite.test(&test.name).is_none() {
            combined.suite.tests.push(test.clone());
        }
    }
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
    fn one_file_has_nothing_to_state() {
        let a = results_with(&[("sign", "wasmtime", Some(100))]);
        let (_, notes) = combine(&[(PathBuf::from("a.json"), a)]).unwrap();
        assert!(notes.is_empty());
    }
}
