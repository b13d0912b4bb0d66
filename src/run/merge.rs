//! Combining the results of shards (`run --shard K/N` on several runners) into one results
//! file, refusing what does not belong together.

use crate::model::{Results, RuntimeInfo};
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Reads the shards' results files and merges them (see `merge`).
pub fn merge_files(paths: &[PathBuf], same_machine: bool) -> Result<Results> {
    let read = paths
        .iter()
        .map(|path| Ok((path.clone(), super::read_results(path)?)))
        .collect::<Result<Vec<_>>>()?;
    merge(&read, same_machine)
}

/// Merges shard results read from `paths`. All must come from the same suite; with
/// `same_machine`, from machines with the same fingerprint; a runtime label must name the same
/// runtime version everywhere; and no (test, runtime) may be measured in two shards.
pub fn merge(shards: &[(PathBuf, Results)], same_machine: bool) -> Result<Results> {
    let Some(((first_path, first), rest)) = shards.split_first() else {
        bail!("give the results files of the shards to merge");
    };
    let mut merged = first.clone();
    merged.shard = None;
    let mut measured_in = measured_pairs(first_path, first);
    for (path, shard) in rest {
        check_belongs(first_path, first, path, shard, same_machine)?;
        for runtime in &shard.runtimes {
            merge_runtime(&mut merged.runtimes, runtime, path)?;
        }
        for ((test, runtime), _) in measured_pairs(path, shard) {
            if let Some(other) = measured_in.get(&(test.clone(), runtime.clone())) {
                bail!(
                    "{}: test `{test}` on `{runtime}` was also measured in {}: shards must not overlap (run each with its own --shard K/N)",
                    path.display(),
                    other.display()
                );
            }
            measured_in.insert((test, runtime), path.clone());
        }
        merged.samples.extend(shard.samples.iter().cloned());
        merged.aot.extend(shard.aot.iter().cloned());
        merged.complete &= shard.complete;
        merged.budget_spent |= shard.budget_spent;
        // Shards run side by side: the merged run took as long as the longest.
        merged.wall_seconds = merged.wall_seconds.max(shard.wall_seconds);
        merged.started_at = merged.started_at.clone().min(shard.started_at.clone());
        merged.finished_at = merged.finished_at.clone().max(shard.finished_at.clone());
    }
    Ok(merged)
}

/// Every (test, runtime) a results file measured, with the file it came from.
pub(crate) fn measured_pairs(
    path: &Path,
    results: &Results,
) -> BTreeMap<(String, String), PathBuf> {
    results
        .samples
        .iter()
        .map(|s| ((s.test.clone(), s.runtime.clone()), path.to_path_buf()))
        .collect()
}

fn check_belongs(
    first_path: &Path,
    first: &Results,
    path: &Path,
    shard: &Results,
    same_machine: bool,
) -> Result<()> {
    if shard.suite.suite_id != first.suite.suite_id {
        bail!(
            "{}: suite {} differs from {}'s {}: shards must measure the same build (same config and wasmgate)",
            path.display(),
            shard.suite.suite_id,
            first_path.display(),
            first.suite.suite_id
        );
    }
    if same_machine && shard.machine.fingerprint != first.machine.fingerprint {
        bail!(
            "{}: machine {} ({}) differs from {}'s {} ({}): use runners of one kind, or set merge.same_machine: false in the config",
            path.display(),
            shard.machine.fingerprint,
            shard.machine.cpu_model,
            first_path.display(),
            first.machine.fingerprint,
            first.machine.cpu_model
        );
    }
    Ok(())
}

fn merge_runtime(
    runtimes: &mut Vec<RuntimeInfo>,
    runtime: &RuntimeInfo,
    path: &Path,
) -> Result<()> {
    match runtimes.iter().find(|r| r.name == runtime.name) {
        Some(known) if known.version != runtime.version => bail!(
            "{}: runtime `{}` is {} there but {} in an earlier shard: every shard must run the same binaries",
            path.display(),
            runtime.name,
            runtime.version,
            known.version
        ),
        Some(_) => Ok(()),
        None => {
            runtimes.push(runtime.clone());
            Ok(())
        }
    }
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
            true,
        )
        .unwrap();
        assert_eq!(merged.samples.len(), 6);
        assert_eq!(merged.runtimes.len(), 2);
        assert_eq!(merged.shard, None);
    }

    #[test]
    fn overlap_suite_machine_and_version_are_refused() {
        let overlap = merge(
            &[
                ("one.json".into(), shard(&["sign"])),
                ("two.json".into(), shard(&["sign"])),
            ],
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(
            overlap.contains("two.json: test `sign` on `a`"),
            "{overlap}"
        );

        let mut other_suite = shard(&["hash"]);
        other_suite.suite.suite_id = "zzz".into();
        let error = merge(
            &[
                ("one.json".into(), shard(&["sign"])),
                ("two.json".into(), other_suite),
            ],
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("suite zzz differs"), "{error}");

        let mut other_machine = shard(&["hash"]);
        other_machine.machine.fingerprint = "elsewhere".into();
        let pair = [
            ("one.json".into(), shard(&["sign"])),
            ("two.json".into(), other_machine),
        ];
        let error = merge(&pair, true).unwrap_err().to_string();
        assert!(error.contains("merge.same_machine: false"), "{error}");
        assert!(merge(&pair, false).is_ok());

        let mut other_version = shard(&["hash"]);
        other_version.runtimes[0].version = "2.0".into();
        let error = merge(
            &[
                ("one.json".into(), shard(&["sign"])),
                ("two.json".into(), other_version),
            ],
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("runtime `a` is 2.0 there but 1.0"),
            "{error}"
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
