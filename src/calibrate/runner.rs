//! `build.plan: runner`: the iteration plan calibrated on the machine that runs the suite and
//! cached there, so a pinned self-hosted runner calibrates once and every later run's samples
//! last about the target on its own CPU, not on the CPU the shipped plan was calibrated on.
//!
//! Resolved here, in the calibrate stage, rather than in build/: the cache key names the
//! reference runtime's version (read by run/adapter) and a miss means calibrating (this stage),
//! both above build/. Moving the machine fingerprint down to util would serve neither, so
//! build/ only ever sees a plan file, which `resolve_plan` puts in the configuration
//! (`PlanChoice::RunnerCached`).

use super::plan::{Calibrated, calibrate_on};
use crate::config::{Loaded, PlanChoice};
use crate::model::Plan;
use crate::run::adapter::{RuntimeRequest, resolve};
use crate::run::runtime::Runtime;
use crate::toolchain::Home;
use crate::util::lock::FileLock;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What makes a calibrated plan fit: the machine, what it was calibrated on and for, and the
/// code it timed. Another value of any of them is another plan, calibrated anew.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerKey {
    /// The machine's fingerprint (`run::machine`): CPU model, cores, architecture, OS.
    pub machine: String,
    /// The reference runtime's adapter, version and the hash of its binaries' content.
    pub runtime: String,
    pub tiers: Vec<u64>,
    pub target_seconds: f64,
    /// A hash of the configured source and toolchain: other code takes other times.
    pub inputs: String,
}

impl RunnerKey {
    /// The key of this machine and configuration, on the resolved reference runtime.
    pub fn here(loaded: &Loaded, runtime: &Runtime) -> Result<RunnerKey> {
        let config = &loaded.config;
        let inputs = serde_json::to_string(&(&config.source, &config.toolchain))?;
        Ok(RunnerKey {
            machine: crate::run::machine::fingerprint(Vec::new()).fingerprint,
            runtime: format!(
                "{}: {} (binaries {})",
                runtime.info.adapter,
                runtime.info.version,
                runtime.made_by_digest()
            ),
            tiers: config.build.tiers.clone(),
            target_seconds: config.build.calibration.target_seconds,
            inputs: crate::util::short_hash(&inputs),
        })
    }

    /// Every part on one line: in messages, and at the top of the cached plan.
    pub fn describe(&self) -> String {
        format!(
            "machine {}, {}, tiers {:?}, {} s a sample, source and toolchain {}",
            self.machine, self.runtime, self.tiers, self.target_seconds, self.inputs
        )
    }

    /// The cached plan's file name.
    fn file_name(&self) -> String {
        format!("{}.yml", crate::util::short_hash(&self.describe()))
    }
}

/// Where the plans calibrated on this machine are kept, one file per key.
pub fn plans_dir(home: &Home) -> PathBuf {
    home.dir("plans")
}

/// The configuration with `build.plan: runner` resolved to this machine's cached plan,
/// calibrated first when there is none yet. Any other `build.plan` is left as it is.
pub fn resolve_plan(loaded: &Loaded) -> Result<Loaded> {
    if loaded.config.build.plan != PlanChoice::Runner {
        return Ok(loaded.clone());
    }
    let home = Home::resolve(&loaded.config)?;
    let runtime = reference_runtime(loaded, &home)?;
    let key = RunnerKey::here(loaded, &runtime)?;
    let path = cached_or_made(&plans_dir(&home), &key, || {
        Ok(calibrate_on(loaded, &home, runtime, key.target_seconds)?.plan)
    })?;
    let mut resolved = loaded.clone();
    resolved.config.build.plan = PlanChoice::RunnerCached(path);
    Ok(resolved)
}

/// `wasmgate calibrate --for-runner`: calibrates this machine's plan (again) and caches it
/// where `build.plan: runner` looks. Returns the calibration and the file it is in.
pub fn calibrate_for_runner(loaded: &Loaded) -> Result<(Calibrated, PathBuf)> {
    let home = Home::resolve(&loaded.config)?;
    let runtime = reference_runtime(loaded, &home)?;
    let key = RunnerKey::here(loaded, &runtime)?;
    let dir = plans_dir(&home);
    let _lock = lock(&dir, &key)?;
    let calibrated = calibrate_on(loaded, &home, runtime, key.target_seconds)?;
    let path = dir.join(key.file_name());
    store(&path, &key, &calibrated.plan)?;
    Ok((calibrated, path))
}

/// The runtime `build.calibration.runtime` names, found or installed.
fn reference_runtime(loaded: &Loaded, home: &Home) -> Result<Runtime> {
    let request = RuntimeRequest {
        label: loaded.config.build.calibration.runtime.clone(),
        adapter: None,
        path: None,
    };
    resolve(loaded, home, &request)
}

/// The cached plan of `key` in `dir`, made by `make` when there is none. The lock makes two
/// runs starting together on a fresh runner calibrate once: the second waits, then finds it.
fn cached_or_made(
    dir: &Path,
    key: &RunnerKey,
    make: impl FnOnce() -> Result<Plan>,
) -> Result<PathBuf> {
    let path = dir.join(key.file_name());
    if path.is_file() {
        return Ok(path);
    }
    let _lock = lock(dir, key)?;
    if path.is_file() {
        return Ok(path);
    }
    eprintln!(
        "wasmgate: no iteration plan calibrated on this runner yet ({}): calibrating one first, cached for later runs",
        key.describe()
    );
    let started = Instant::now();
    let plan = make()?;
    store(&path, key, &plan)?;
    eprintln!(
        "wasmgate: calibrated this runner's plan in {}; cached in {}",
        rounded(started.elapsed()),
        path.display()
    );
    Ok(path)
}

fn lock(dir: &Path, key: &RunnerKey) -> Result<FileLock> {
    let path = dir.join(key.file_name()).with_extension("lock");
    let tell = |who: &str| eprintln!("wasmgate: waiting: {who}");
    match FileLock::wait_for(&path, "this runner's plan", &crate::run::STOP, tell)? {
        Some(lock) => Ok(lock),
        None => bail!("interrupted while waiting for this runner's plan; nothing was calibrated"),
    }
}

/// Writes the plan atomically, so a run never reads half of one, with its key on top.
fn store(path: &Path, key: &RunnerKey, plan: &Plan) -> Result<()> {
    let yaml = crate::config::plan_to_yaml(plan)?;
    let text = format!(
        "# The iteration plan calibrated on this runner (`build.plan: runner`); delete it, or run\n# `wasmgate calibrate --for-runner`, to calibrate again.\n# {}\n{yaml}",
        key.describe()
    );
    crate::model::write_atomic(path, text.as_bytes())
}

/// A calibration's duration to the second: "4m 12s".
fn rounded(elapsed: Duration) -> String {
    humantime::format_duration(Duration::from_secs(elapsed.as_secs().max(1))).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::{BTreeMap, BTreeSet};

    fn key(machine: &str) -> RunnerKey {
        RunnerKey {
            machine: machine.to_string(),
            runtime: "wasmtime: wasmtime 49.0.3".to_string(),
            tiers: vec![1, 2, 5, 10],
            target_seconds: 0.1,
            inputs: "abc".to_string(),
        }
    }

    fn plan(iterations: u64) -> Plan {
        Plan {
            calibrated_on: "wasmtime 49.0.3 on a test CPU".to_string(),
            target_seconds: 0.1,
            default_iterations: 10,
            iterations: BTreeMap::from([("box".to_string(), iterations)]),
            measures_nothing: BTreeSet::new(),
        }
    }

    fn read(path: &Path) -> Plan {
        let text = std::fs::read_to_string(path).unwrap();
        crate::config::parse_plan(&text, "cached").unwrap()
    }

    #[test]
    fn a_miss_calibrates_and_stores_then_a_hit_calibrates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let made = Cell::new(0);
        let make = |iterations| {
            made.set(made.get() + 1);
            Ok(plan(iterations))
        };
        let first = cached_or_made(dir.path(), &key("m1"), || make(20)).unwrap();
        assert_eq!(made.get(), 1);
        assert_eq!(read(&first), plan(20));
        let text = std::fs::read_to_string(&first).unwrap();
        assert!(text.contains(&key("m1").describe()), "{text}");
        let again = cached_or_made(dir.path(), &key("m1"), || make(50)).unwrap();
        assert_eq!((again.clone(), made.get()), (first.clone(), 1));
        assert_eq!(read(&again), plan(20));
    }

    #[test]
    fn another_machine_or_setting_is_another_plan() {
        let dir = tempfile::tempdir().unwrap();
        let first = cached_or_made(dir.path(), &key("m1"), || Ok(plan(20))).unwrap();
        let other_machine = cached_or_made(dir.path(), &key("m2"), || Ok(plan(50))).unwrap();
        assert_ne!(first, other_machine);
        assert_eq!(read(&other_machine).iterations["box"], 50);
        assert_eq!(read(&first).iterations["box"], 20);
        let others = [
            RunnerKey {
                runtime: "wasmtime: wasmtime 50.0.0".to_string(),
                ..key("m1")
            },
            RunnerKey {
                tiers: vec![1, 10, 100],
                ..key("m1")
            },
            RunnerKey {
                target_seconds: 0.2,
                ..key("m1")
            },
            RunnerKey {
                inputs: "def".to_string(),
                ..key("m1")
            },
        ];
        for other in others {
            assert_ne!(other.file_name(), key("m1").file_name(), "{other:?}");
        }
    }

    #[test]
    fn a_failed_calibration_caches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = cached_or_made(dir.path(), &key("m1"), || bail!("wasmtime crashed")).unwrap_err();
        assert_eq!(err.to_string(), "wasmtime crashed");
        let made = Cell::new(false);
        cached_or_made(dir.path(), &key("m1"), || {
            made.set(true);
            Ok(plan(20))
        })
        .unwrap();
        assert!(made.get(), "the failure was cached");
    }

    #[test]
    fn only_runner_is_resolved() {
        let config = crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap();
        assert_eq!(config.build.plan, PlanChoice::Shipped);
        let loaded = Loaded { config, file: None };
        // No runtime, no cache, no calibration: the shipped plan needs none of them.
        let resolved = resolve_plan(&loaded).unwrap();
        assert_eq!(resolved.config.build.plan, PlanChoice::Shipped);
    }
}
