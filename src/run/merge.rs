//! Merging results files: one mechanism, two policies. Shards of one run (`run --shard K/N` on
//! several runners, then `merge`) must belong together, so anything that does not is refused;
//! the files of one report may differ, so each difference is let through, kept apart where it
//! would mislead, and recorded for the report to state.

use crate::config::MergeConfig;
use crate::model::{Results, RuntimeInfo};
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What merging does with files that do not belong together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy {
    /// Shards of one run: refuse another suite, another machine (when `same_machine`),
    /// another version of a runtime, and a test measured on a runtime in two shards.
    Strict { same_machine: bool },
    /// The files of one report: pool a runtime's samples measured on one machine in one
    /// version (a test measured again included); keep a runtime measured elsewhere apart, as
    /// `NAME (file)`; and record every difference.
    PoolOrKeepApart,
}

/// A difference `PoolOrKeepApart` let through; `file` indexes the merged files.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// The file measured another build of the suite than the first file.
    Suite { file: usize },
    /// The file ran on another machine than the first file.
    Machine { file: usize },
    /// A runtime measured (as `measured`) on another machine or in another version than its
    /// label in an earlier file (as `known`): kept apart under `label`.
    KeptApart {
        file: usize,
        runtime: String,
        label: String,
        measured: Measured,
        known: Measured,
    },
    /// Tests already measured on this runtime, on the same machine in the same version: their
    /// samples are pooled.
    Remeasured {
        file: usize,
        runtime: String,
        tests: usize,
    },
}

impl Difference {
    pub fn file(&self) -> usize {
        match self {
            Difference::Suite { file }
            | Difference::Machine { file }
            | Difference::KeptApart { file, .. }
            | Difference::Remeasured { file, .. } => *file,
        }
    }
}

/// What a label's samples were measured with; samples pool only when this matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// The machine's fingerprint; empty where the policy lets machines differ.
    pub machine: String,
    pub version: String,
    /// Picoseconds and instructions never pool.
    pub measure: crate::model::Measure,
}

/// The merged results, and what differed on the way.
#[derive(Debug)]
pub struct Merged {
    pub results: Results,
    pub differences: Vec<Difference>,
}

/// Reads the shards' results files and merges them (see `merge`).
pub fn merge_files(paths: &[PathBuf], settings: &MergeConfig) -> Result<Results> {
    let read = paths
        .iter()
        .map(|path| Ok((path.clone(), super::read_results(path)?)))
        .collect::<Result<Vec<_>>>()?;
    merge(&read, settings)
}

/// Merges shard results read from `paths`. All must come from the same suite; with
/// `same_machine`, from machines with the same fingerprint; a runtime label must name the same
/// runtime version everywhere; and no (test, runtime) may be measured in two shards.
pub fn merge(shards: &[(PathBuf, Results)], settings: &MergeConfig) -> Result<Results> {
    if shards.is_empty() {
        bail!("give the results files of the shards to merge");
    }
    let same_machine = settings.same_machine;
    Ok(merge_with(shards, Policy::Strict { same_machine })?.results)
}

/// Merges results files into the first one's under `policy`.
pub fn merge_with(files: &[(PathBuf, Results)], policy: Policy) -> Result<Merged> {
    let Some(((first_path, first), _)) = files.split_first() else {
        bail!("no results files to merge");
    };
    let mut merger = Merger {
        policy,
        files,
        merged: Results {
            shard: None,
            // Each shard's harness was its own runner's.
            harness: None,
            ..first.clone()
        },
        measured_as: BTreeMap::new(),
        measured_in: measured_pairs(first_path, first),
        differences: Vec::new(),
    };
    for runtime in &first.runtimes {
        let measured = merger.measured(first, runtime);
        merger.measured_as.insert(runtime.name.clone(), measured);
    }
    for file in 1..files.len() {
        merger.add(file)?;
    }
    Ok(Merged {
        results: merger.merged,
        differences: merger.differences,
    })
}

/// Every (test, runtime) a results file measured, with the file it came from.
fn measured_pairs(path: &Path, results: &Results) -> BTreeMap<(String, String), PathBuf> {
    results
        .samples
        .iter()
        .map(|s| ((s.test.clone(), s.runtime.clone()), path.to_path_buf()))
        .collect()
}

/// Where one runtime of a file goes among the merged runtimes.
enum Placement {
    /// A label no earlier file had.
    New,
    /// The same runtime as the label's in an earlier file: its samples pool.
    Same,
    /// Measured otherwise than the label's in an earlier file: kept apart under this label.
    Apart(String),
}

struct Merger<'a> {
    policy: Policy,
    files: &'a [(PathBuf, Results)],
    merged: Results,
    /// Per label: what its samples were measured with.
    measured_as: BTreeMap<String, Measured>,
    /// Every (test, label) merged so far, with the file it came from.
    measured_in: BTreeMap<(String, String), PathBuf>,
    differences: Vec<Difference>,
}

impl Merger<'_> {
    fn add(&mut self, file: usize) -> Result<()> {
        self.check_suite(file)?;
        self.check_machine(file)?;
        let (path, results) = &self.files[file];
        for test in &results.suite.tests {
            if self.merged.suite.test(&test.name).is_none() {
                self.merged.suite.tests.push(test.clone());
            }
        }
        let overlaps = self.overlaps(path, results);
        let relabel = self.place_runtimes(file, &overlaps)?;
        if let (Policy::Strict { .. }, Some(((test, runtime), other))) =
            (self.policy, overlaps.first())
        {
            bail!(
                "{}: test `{test}` on `{runtime}` was also measured in {}: shards must not overlap (run each with its own --shard K/N)",
                path.display(),
                other.display()
            );
        }
        self.take_samples(file, &relabel);
        Ok(())
    }

    /// The (test, runtime) pairs of a file measured in an earlier one, with that file; found
    /// before any label changes, so a runtime kept apart does not overlap.
    fn overlaps(&self, path: &Path, results: &Results) -> Vec<((String, String), PathBuf)> {
        (measured_pairs(path, results).into_keys())
            .filter_map(|pair| Some((pair.clone(), self.measured_in.get(&pair)?.clone())))
            .collect()
    }

    /// Shards may run on machines of several kinds when the configuration allows it, and
    /// then pool; a report keeps what another machine measured apart.
    fn measured(&self, results: &Results, runtime: &RuntimeInfo) -> Measured {
        let machine = match self.policy {
            Policy::Strict { .. } => String::new(),
            Policy::PoolOrKeepApart => results.machine.fingerprint.clone(),
        };
        Measured {
            machine,
            version: runtime.version.clone(),
            measure: results.measure,
        }
    }

    fn check_suite(&mut self, file: usize) -> Result<()> {
        let files = self.files;
        let ((first_path, first), (path, results)) = (&files[0], &files[file]);
        // Shards of one run count alike: the same measure, counter and smaller modules.
        let counted = |r: &Results| (r.measure, r.instructions.clone());
        if matches!(self.policy, Policy::Strict { .. }) && counted(first) != counted(results) {
            bail!(
                "{}: measured {} ({}), {} measured {} ({}): shards must be measured alike",
                path.display(),
                results.measure.name(),
                (results.instructions.as_ref()).map_or("no counter", |i| i.counter.as_str()),
                first_path.display(),
                first.measure.name(),
                (first.instructions.as_ref()).map_or("no counter", |i| i.counter.as_str())
            );
        }
        if results.suite.suite_id == first.suite.suite_id {
            return Ok(());
        }
        match self.policy {
            Policy::Strict { .. } => bail!(
                "{}: suite {} differs from {}'s {}: shards must measure the same build (same config and wasmgate)",
                path.display(),
                results.suite.suite_id,
                first_path.display(),
                first.suite.suite_id
            ),
            Policy::PoolOrKeepApart => self.differences.push(Difference::Suite { file }),
        }
        Ok(())
    }

    fn check_machine(&mut self, file: usize) -> Result<()> {
        let files = self.files;
        let ((first_path, first), (path, results)) = (&files[0], &files[file]);
        let (known, other) = (&first.machine, &results.machine);
        if known.fingerprint == other.fingerprint {
            return Ok(());
        }
        match self.policy {
            Policy::Strict { same_machine: true } => bail!(
                "{}: machine {} ({}) differs from {}'s {} ({}): use runners of one kind, or set merge.same_machine: false in the config",
                path.display(),
                other.fingerprint,
                other.cpu_model,
                first_path.display(),
                known.fingerprint,
                known.cpu_model
            ),
            Policy::Strict {
                same_machine: false,
            } => {}
            Policy::PoolOrKeepApart => self.differences.push(Difference::Machine { file }),
        }
        Ok(())
    }

    /// Places each runtime of the file; returns the new label of each one kept apart.
    fn place_runtimes(
        &mut self,
        file: usize,
        overlaps: &[((String, String), PathBuf)],
    ) -> Result<BTreeMap<String, String>> {
        let files = self.files;
        let results = &files[file].1;
        let mut relabel = BTreeMap::new();
        for runtime in &results.runtimes {
            match self.place(file, runtime)? {
                Placement::Same => self.note_remeasured(file, &runtime.name, overlaps),
                Placement::New => self.admit(results, runtime, &runtime.name),
                Placement::Apart(label) => {
                    self.admit(results, runtime, &label);
                    relabel.insert(runtime.name.clone(), label);
                }
            }
        }
        Ok(relabel)
    }

    fn place(&mut self, file: usize, runtime: &RuntimeInfo) -> Result<Placement> {
        let files = self.files;
        let (path, results) = &files[file];
        let measured = self.measured(results, runtime);
        let Some(known) = self.measured_as.get(&runtime.name) else {
            return Ok(Placement::New);
        };
        if *known == measured {
            return Ok(Placement::Same);
        }
        if let Policy::Strict { .. } = self.policy {
            bail!(
                "{}: runtime `{}` is {} there but {} in an earlier shard: every shard must run the same binaries",
                path.display(),
                runtime.name,
                runtime.version,
                known.version
            );
        }
        let label = format!("{} ({})", runtime.name, stem(path));
        self.differences.push(Difference::KeptApart {
            file,
            runtime: runtime.name.clone(),
            label: label.clone(),
            known: known.clone(),
            measured,
        });
        Ok(Placement::Apart(label))
    }

    /// Under `PoolOrKeepApart`, the tests of `runtime` measured again; `Strict` refuses them
    /// once every runtime is placed.
    fn note_remeasured(
        &mut self,
        file: usize,
        runtime: &str,
        overlaps: &[((String, String), PathBuf)],
    ) {
        let tests = (overlaps.iter())
            .filter(|((_, measured_on), _)| measured_on == runtime)
            .count();
        if self.policy == Policy::PoolOrKeepApart && tests > 0 {
            self.differences.push(Difference::Remeasured {
                file,
                runtime: runtime.to_string(),
                tests,
            });
        }
    }

    fn admit(&mut self, results: &Results, runtime: &RuntimeInfo, label: &str) {
        let measured = self.measured(results, runtime);
        self.measured_as.insert(label.to_string(), measured);
        self.merged.runtimes.push(RuntimeInfo {
            name: label.to_string(),
            ..runtime.clone()
        });
    }

    fn take_samples(&mut self, file: usize, relabel: &BTreeMap<String, String>) {
        let files = self.files;
        let (path, results) = &files[file];
        let label_of = |runtime: &String| relabel.get(runtime).unwrap_or(runtime).clone();
        for sample in &results.samples {
            let runtime = label_of(&sample.runtime);
            let pair = (sample.test.clone(), runtime.clone());
            self.measured_in.entry(pair).or_insert_with(|| path.clone());
            let mut sample = sample.clone();
            sample.runtime = runtime;
            self.merged.samples.push(sample);
        }
        for record in &results.aot {
            let mut record = record.clone();
            record.runtime = label_of(&record.runtime);
            self.merged.aot.push(record);
        }
        let merged = &mut self.merged;
        merged.complete &= results.complete;
        merged.budget_spent |= results.budget_spent;
        // Files measured side by side (shards): the merged run took as long as the longest.
        merged.wall_seconds = merged.wall_seconds.max(results.wall_seconds);
        merged.started_at = merged.started_at.clone().min(results.started_at.clone());
        merged.finished_at = merged.finished_at.clone().max(results.finished_at.clone());
    }
}

/// A file's name without `.json`, to tell a runtime kept apart by.
fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("results");
    name.trim_end_matches(".json").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Shard;
    use crate::model::fixtures::results_with;

    fn shard(tests: &[&str]) -> Results {
        let samples: Vec<(&str, &str, Option<u64>)> = tests
            .iter()
            .flat_map(|t| [(*t, "a", Some(100)), (*t, "b", Some(110))])
            .collect();
        results_with(&samples)
    }

    #[test]
    fn disjoint_shards_merge_into_one_run() {
        let merged = merge(
            &[
                ("one.json".into(), shard(&["sign"])),
                ("two.json".into(), shard(&["hash", "hash2"])),
            ],
            &MergeConfig { same_machine: true },
        )
        .unwrap();
        assert_eq!(merged.samples.len(), 6);
        assert_eq!(merged.runtimes.len(), 2);
        assert_eq!(merged.shard, None);
    }

    /// The strict merge's refusal of `second` after a shard that measured `sign`.
    fn refused_after_sign(second: Results) -> String {
        let shards = [
            ("one.json".into(), shard(&["sign"])),
            ("two.json".into(), second),
        ];
        merge(&shards, &MergeConfig { same_machine: true })
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn overlap_suite_machine_and_version_are_refused() {
        let overlap = merge(
            &[
                ("one.json".into(), shard(&["sign"])),
                ("two.json".into(), shard(&["sign"])),
            ],
            &MergeConfig { same_machine: true },
        )
        .unwrap_err()
        .to_string();
        assert!(
            overlap.contains("two.json: test `sign` on `a`"),
            "{overlap}"
        );

        let mut other_suite = shard(&["hash"]);
        other_suite.suite.suite_id = "zzz".into();
        let error = refused_after_sign(other_suite);
        assert!(error.contains("suite zzz differs"), "{error}");

        let mut other_machine = shard(&["hash"]);
        other_machine.machine.fingerprint = "elsewhere".into();
        let pair = [
            ("one.json".into(), shard(&["sign"])),
            ("two.json".into(), other_machine),
        ];
        let error = merge(&pair, &MergeConfig { same_machine: true })
            .unwrap_err()
            .to_string();
        assert!(error.contains("merge.same_machine: false"), "{error}");
        assert!(
            merge(
                &pair,
                &MergeConfig {
                    same_machine: false
                }
            )
            .is_ok()
        );

        let mut other_version = shard(&["hash"]);
        other_version.runtimes[0].version = "2.0".into();
        let error = refused_after_sign(other_version);
        assert!(
            error.contains("runtime `a` is 2.0 there but 1.0"),
            "{error}"
        );
    }

    #[test]
    fn shards_of_two_measures_are_refused() {
        let mut counted = shard(&["hash"]);
        counted.measure = crate::model::Measure::Instructions;
        let error = refused_after_sign(counted);
        assert_eq!(
            error,
            "two.json: measured instructions (no counter), one.json measured time (no counter): shards must be measured alike"
        );
    }

    #[test]
    fn pooling_lets_through_and_records_what_strict_refuses() {
        let remeasured = merge_with(
            &[
                ("one.json".into(), shard(&["sign"])),
                ("two.json".into(), shard(&["sign", "hash"])),
            ],
            Policy::PoolOrKeepApart,
        )
        .unwrap();
        assert_eq!(remeasured.results.samples.len(), 6);
        assert_eq!(remeasured.results.runtimes.len(), 2);
        let again = |runtime: &str| Difference::Remeasured {
            file: 1,
            runtime: runtime.into(),
            tests: 1,
        };
        assert_eq!(remeasured.differences, [again("a"), again("b")]);

        let mut elsewhere = shard(&["hash"]);
        elsewhere.suite.suite_id = "zzz".into();
        elsewhere.machine.fingerprint = "elsewhere".into();
        elsewhere.runtimes[0].version = "2.0".into();
        let apart = merge_with(
            &[
                ("one.json".into(), shard(&["sign"])),
                ("night/two.json".into(), elsewhere),
            ],
            Policy::PoolOrKeepApart,
        )
        .unwrap();
        let labels: Vec<&str> = (apart.results.runtimes.iter())
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(labels, ["a", "b", "a (two)", "b (two)"]);
        assert!(apart.results.samples.iter().any(|s| s.runtime == "a (two)"));
        assert_eq!(
            apart.differences[..2],
            [
                Difference::Suite { file: 1 },
                Difference::Machine { file: 1 }
            ]
        );
        let Difference::KeptApart {
            measured, known, ..
        } = &apart.differences[2]
        else {
            panic!("{:?}", apart.differences);
        };
        assert_eq!(
            (measured.version.as_str(), known.version.as_str()),
            ("2.0", "1.0")
        );
        assert_eq!(
            (measured.machine.as_str(), known.machine.as_str()),
            ("elsewhere", "0123456789abcdef")
        );
    }

    #[test]
    fn shards_slice_the_tests_evenly_and_completely() {
        let tests: Vec<u32> = (0..10).collect();
        let mut seen = Vec::new();
        for index in 1..=3 {
            let slice = Shard { index, count: 3 }.select(tests.clone());
            assert!(slice.len() == 3 || slice.len() == 4);
            seen.extend(slice);
        }
        seen.sort();
        assert_eq!(seen, tests);
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
    }
}
