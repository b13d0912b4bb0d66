//! Run stage: the scheduler runs the selected (test, runtime) pairs in shuffled rounds (seed
//! recorded) so slow drift of the machine hits every side alike. Samples go to a journal as
//! they come; the results file is written atomically at the end; `--resume` continues both.

pub mod adapter;
pub mod aot_guard;
pub mod compile;
pub mod doctor;
pub mod execute;
pub mod executor;
#[cfg(test)]
pub mod fake_executor;
pub mod instructions;
pub mod inventory;
pub mod journal;
pub mod machine;
pub mod measure;
pub mod merge;
pub mod parallelism;
pub mod profile;
pub mod round_policy;
pub mod runtime;
pub mod scheduler;

use crate::build::Suite;
use crate::config::TestFilter;
use crate::model::{Environment, Machine, Results, SCHEMA_VERSION, TestModule};
pub use crate::util::STOP;
use anyhow::{Result, bail};
use executor::Executor;
use runtime::Runtime;
use scheduler::{Ending, Schedule};
use std::path::Path;

/// Picks the tests to time: the filter's include list (all when empty) minus its exclude
/// list, and never the tests that measure nothing.
pub fn select_tests(suite: &Suite, filter: &TestFilter) -> Result<Vec<TestModule>> {
    for name in filter.include.iter().chain(&filter.exclude) {
        if suite.manifest.test(name).is_none() {
            bail!(
                "unknown test `{name}`; the suite, built from the programs `tests.include` and `tests.exclude` select (add it there to build it), has: {}",
                suite
                    .manifest
                    .tests
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let chosen: Vec<TestModule> = suite
        .manifest
        .tests
        .iter()
        .filter(|t| filter.admits(&t.name))
        .filter(|t| !t.measures_nothing)
        .cloned()
        .collect();
    if chosen.is_empty() {
        bail!("no test left to time: the selection holds only tests that measure nothing, or none");
    }
    Ok(chosen)
}

/// The cores to run on, one worker each: the configured ones if this process may use them,
/// else the last core it may use; `[None]` (one unpinned worker) when pinning is off.
/// `origin` names where the cores were given, for errors (a config field or a flag).
pub fn choose_cores(pin: bool, configured: &[usize], origin: &str) -> Result<Vec<Option<usize>>> {
    if !pin {
        return Ok(vec![None]);
    }
    let allowed = crate::util::allowed_cores();
    if let Some(core) = configured.iter().find(|c| !allowed.contains(c)) {
        bail!(
            "{origin}: core {core} is not available here (allowed: {allowed:?}); list those, or set run.pin: false"
        );
    }
    if let Some(core) = crate::config::repeated_core(configured) {
        bail!(
            "{origin}: core {core} is listed twice; each core runs one worker, one sample at a time"
        );
    }
    if configured.is_empty() {
        return Ok(vec![allowed.last().copied()]);
    }
    Ok(configured.iter().map(|c| Some(*c)).collect())
}

/// Two workers on SMT siblings share one physical core's execution units, so each slows the
/// other's samples: refused unless `allowed`. Topology that cannot be read refuses nothing;
/// the doctor's `smt` check says it is unknown. `origin` names where the cores were given.
pub fn refuse_smt_siblings(
    tree: &doctor::Tree,
    cores: &[Option<usize>],
    allowed: bool,
    origin: &str,
) -> Result<()> {
    let pinned: Vec<usize> = cores.iter().flatten().copied().collect();
    match doctor::sibling_pair(tree, &pinned) {
        Some((one, other)) if !allowed => bail!(
            "{origin}: cores {} and {} are SMT siblings of one physical core, so two workers there would slow each other's samples; list one core of each sibling pair, or allow it with --allow-smt-siblings (run.allow_smt_siblings: true)",
            one.min(other),
            one.max(other)
        ),
        _ => Ok(()),
    }
}

/// A run about to start: fresh, or resuming the samples of an interrupted one.
pub struct Start {
    pub results: Results,
}

impl Start {
    /// `environment`: what the doctor found on the runner as the run starts, if it looked.
    pub fn fresh(
        suite: &Suite,
        runtimes: &[Runtime],
        schedule: &Schedule,
        environment: Option<Environment>,
    ) -> Start {
        let pinned: Vec<usize> = schedule.cores.iter().flatten().copied().collect();
        Start {
            results: Results {
                schema_version: SCHEMA_VERSION,
                suite: suite.manifest.clone(),
                machine: Machine {
                    environment,
                    ..machine::fingerprint(pinned)
                },
                runtimes: runtimes.iter().map(|r| r.info.clone()).collect(),
                seed: schedule.seed,
                started_at: crate::model::now_rfc3339(),
                finished_at: None,
                complete: false,
                budget_spent: false,
                wall_seconds: 0.0,
                aot: Vec::new(),
                shard: None,
                measure: schedule.measure,
                instructions: None,
                harness: None,
                samples: Vec::new(),
            },
        }
    }

    /// Picks up an interrupted run of `out`: its journal, else its results if incomplete. The
    /// suite and runtimes must be the same, or the samples would not belong together.
    pub fn resume(
        out: &Path,
        suite: &Suite,
        runtimes: &[Runtime],
        schedule_measure: crate::model::Measure,
    ) -> Result<Start> {
        let journal = journal::path_for(out);
        let results = if journal.exists() {
            read_results(&journal)?
        } else if out.exists() {
            let results = read_results(out)?;
            if results.complete {
                bail!(
                    "{} is a finished run; there is nothing to resume (drop --resume to start anew)",
                    out.display()
                );
            }
            results
        } else {
            bail!(
                "nothing to resume: neither {} nor its journal exists",
                out.display()
            );
        };
        if results.measure != schedule_measure {
            bail!(
                "{}: measured {}, and this run measures {}: resume with --measure {}, or start anew without --resume",
                out.display(),
                results.measure.name(),
                schedule_measure.name(),
                results.measure.name()
            );
        }
        if results.suite.suite_id != suite.manifest.suite_id {
            bail!(
                "{}: measured suite {}, but the suite is now {}; the samples cannot be mixed: start anew without --resume",
                out.display(),
                results.suite.suite_id,
                suite.manifest.suite_id
            );
        }
        let now: Vec<_> = runtimes
            .iter()
            .map(|r| (&r.info.name, &r.info.path, &r.info.version))
            .collect();
        let then: Vec<_> = results
            .runtimes
            .iter()
            .map(|r| (&r.name, &r.path, &r.version))
            .collect();
        if now != then {
            // Say what differs: the labels, or a label's binary or version.
            let differing = (then.iter().zip(&now)).find(|(a, b)| a != b);
            let what = match differing {
                Some((a, b)) if a.0 == b.0 => format!(
                    "runtime `{}` was {} ({}), now {} ({})",
                    a.0, a.1, a.2, b.1, b.2
                ),
                _ => format!(
                    "measured runtimes {:?}, now {:?}",
                    then.iter().map(|r| r.0).collect::<Vec<_>>(),
                    now.iter().map(|r| r.0).collect::<Vec<_>>()
                ),
            };
            bail!(
                "{}: {what}; resume with the same --runtime arguments, or start anew without --resume",
                out.display()
            );
        }
        Ok(Start { results })
    }
}

/// Runs the schedule, journaling every sample as it comes, then writes the results atomically.
/// `executor` takes the samples: `executor::Processes` runs the runtimes.
pub fn run(
    suite: &Suite,
    runtimes: &[Runtime],
    tests: &[TestModule],
    schedule: &Schedule,
    start: Start,
    out: &Path,
    executor: &dyn Executor,
) -> Result<(Results, scheduler::Ran)> {
    let mut results = start.results;
    let journal_path = journal::path_for(out);
    let mut journal = journal::Journal::create(&journal_path, &results)?;
    for sample in &results.samples {
        journal.append(sample)?;
    }
    let scheduler = scheduler::Scheduler {
        suite,
        runtimes,
        tests,
        schedule,
        stop: &STOP,
        executor,
    };
    let earlier = results.samples.clone();
    let started = std::time::Instant::now();
    let ran = scheduler.run(&earlier, |sample| {
        journal.append(&sample)?;
        results.samples.push(sample);
        Ok(())
    })?;
    results.complete = ran.ending != Ending::Interrupted;
    results.budget_spent = ran.ending == Ending::BudgetSpent;
    results.harness = ran.harness;
    results.wall_seconds += started.elapsed().as_secs_f64();
    results.finished_at = Some(crate::model::now_rfc3339());
    crate::model::write_json(out, &results)?;
    std::fs::remove_file(&journal.path)?;
    Ok((results, ran))
}

/// Reads results: a finished results file, or the journal of an interrupted run.
pub fn read_results(path: &Path) -> Result<Results> {
    // The journal of an interrupted run is named by its extension; anything else is a results
    // file, pretty-printed or not.
    let results: Results = if path.extension().is_some_and(|e| e == journal::EXTENSION) {
        journal::read(path)?
    } else {
        crate::model::read_json(path)?
    };
    crate::model::check_schema(
        results.schema_version,
        path,
        "rerun `wasmgate run` with this version",
    )?;
    check_consistent(&results, path)?;
    Ok(results)
}

/// Refuses results whose samples do not belong to them: a test or runtime the file does not
/// declare, a (test, runtime, round) measured twice, a value no module can print.
fn check_consistent(results: &Results, path: &Path) -> Result<()> {
    let damaged = |index: usize, what: String| {
        anyhow::anyhow!(
            "{}: samples[{index}]: {what}; the file was edited or damaged: measure again",
            path.display()
        )
    };
    if let Some(twice) =
        crate::config::repeated(&results.runtimes.iter().map(|r| &r.name).collect::<Vec<_>>())
    {
        bail!(
            "{}: runtimes: `{twice}` is declared twice; the file was edited or damaged: measure again",
            path.display()
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, sample) in results.samples.iter().enumerate() {
        if results.suite.test(&sample.test).is_none() {
            return Err(damaged(
                index,
                format!("test `{}` is not in its suite", sample.test),
            ));
        }
        if !results.runtimes.iter().any(|r| r.name == sample.runtime) {
            return Err(damaged(
                index,
                format!("runtime `{}` is not among its runtimes", sample.runtime),
            ));
        }
        if !seen.insert((&sample.test, &sample.runtime, sample.round)) {
            return Err(damaged(
                index,
                format!(
                    "`{}` on `{}` in round {} is there twice",
                    sample.test, sample.runtime, sample.round
                ),
            ));
        }
        if sample
            .value_ps
            .is_some_and(|v| v == 0 || v > crate::model::MAX_VALUE_PS)
        {
            return Err(damaged(
                index,
                format!(
                    "value_ps {} is not a time per iteration a module prints",
                    sample.value_ps.unwrap_or_default()
                ),
            ));
        }
        // A count belongs to a file of the instructions measure, and is a positive number.
        if let Some(count) = sample.instructions
            && (results.measure.is_time() || !(count.is_finite() && count > 0.0))
        {
            return Err(damaged(
                index,
                format!(
                    "instructions {count} is not a count per iteration of a run measuring {}",
                    results.measure.name()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fake_executor::{FakeExecutor, ScriptedStep, exactly, schedule, suite, tests};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// Waits until the journal holds `samples` samples; `false` if it never does.
    fn journal_reaches(journal: &Path, samples: usize) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            let text = std::fs::read_to_string(journal).unwrap_or_default();
            // Line 1 is the header.
            if text.matches('\n').count() > samples {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn run_journals_samples_as_they_come_then_writes_results() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("results.json");
        let journal = journal::path_for(&out);
        let suite = suite();
        let runtimes = [Runtime::for_tests("a"), Runtime::for_tests("b")];
        let tests = tests(&suite, &["sign", "hash"]);
        let schedule = schedule(exactly(2));
        let taken = AtomicUsize::new(0);
        let fake = FakeExecutor::new(|_, _, _| {
            // Every sample before this one is in the journal while the run goes on.
            let before = taken.fetch_add(1, Ordering::SeqCst);
            if journal_reaches(&journal, before) {
                ScriptedStep::Value(1000)
            } else {
                ScriptedStep::Crash("not journaled")
            }
        });
        let start = Start::fresh(&suite, &runtimes, &schedule, None);
        let (results, _) = run(&suite, &runtimes, &tests, &schedule, start, &out, &fake).unwrap();
        assert_eq!(results.samples.len(), 8);
        assert!(results.samples.iter().all(|s| s.ok_value() == Some(1000.0)));
        assert!(results.complete);
        assert!(!results.budget_spent);
        assert!(results.finished_at.is_some());
        let written = read_results(&out).unwrap();
        assert_eq!(written.samples, results.samples);
        assert!(written.complete);
        assert!(
            !journal.exists(),
            "the journal goes once the results are written"
        );
    }
}

#[cfg(test)]
mod consistency_tests {
    use super::*;
    use crate::model::fixtures::results_with;

    fn refused(edit: impl FnOnce(&mut Results)) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let mut results = results_with(&[("sign", "a", Some(100)), ("sign", "b", Some(200))]);
        edit(&mut results);
        crate::model::write_json(&path, &results).unwrap();
        read_results(&path)
            .unwrap_err()
            .to_string()
            .replace(&path.display().to_string(), "r.json")
    }

    #[test]
    fn samples_that_do_not_belong_to_their_file_are_refused_in_one_line() {
        let fix = "the file was edited or damaged: measure again";
        let err = refused(|r| r.samples[1].test = "nosuch".into());
        assert_eq!(
            err,
            format!("r.json: samples[1]: test `nosuch` is not in its suite; {fix}")
        );
        let err = refused(|r| r.samples[0].runtime = "c".into());
        assert_eq!(
            err,
            format!("r.json: samples[0]: runtime `c` is not among its runtimes; {fix}")
        );
        let err = refused(|r| {
            let copy = r.samples[0].clone();
            r.samples.push(copy)
        });
        assert_eq!(
            err,
            format!("r.json: samples[2]: `sign` on `a` in round 0 is there twice; {fix}")
        );
        let err = refused(|r| r.samples[0].value_ps = Some(u64::MAX));
        assert!(
            err.starts_with("r.json: samples[0]: value_ps 18446744073709551615"),
            "{err}"
        );
        let err = refused(|r| r.runtimes.push(r.runtimes[0].clone()));
        assert_eq!(
            err,
            format!("r.json: runtimes: `a` is declared twice; {fix}")
        );
    }

    #[test]
    fn a_count_in_a_timed_file_or_a_count_that_is_no_count_is_refused() {
        let fix = "the file was edited or damaged: measure again";
        let err = refused(|r| r.samples[0].instructions = Some(5.0));
        assert_eq!(
            err,
            format!(
                "r.json: samples[0]: instructions 5 is not a count per iteration of a run measuring time; {fix}"
            )
        );
        // (JSON holds no infinity: serde writes it as null, which is no count at all.)
        for bad in [0.0, -3.0] {
            let err = refused(|r| {
                r.measure = crate::model::Measure::Instructions;
                r.samples[1].instructions = Some(bad);
            });
            assert!(
                err.starts_with("r.json: samples[1]: instructions ")
                    && err.contains("of a run measuring instructions"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_resume_with_another_binary_under_the_same_label_says_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.json");
        let runtimes = [Runtime::for_tests("a")];
        let mut results = results_with(&[("sign", "a", Some(100))]);
        results.complete = false;
        results.runtimes = vec![crate::model::RuntimeInfo {
            path: "/old/wasmtime".into(),
            ..runtimes[0].info.clone()
        }];
        crate::model::write_json(&out, &results).unwrap();
        let suite = crate::run::fake_executor::suite();
        let err = Start::resume(&out, &suite, &runtimes, crate::model::Measure::Time)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("runtime `a` was /old/wasmtime (a 1.0), now /bin/true (a 1.0)"),
            "{err}"
        );
    }

    #[test]
    fn a_run_of_one_measure_is_not_resumed_under_the_other() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.json");
        let runtimes = [Runtime::for_tests("a")];
        let mut results = results_with(&[("sign", "a", Some(100))]);
        results.complete = false;
        results.runtimes = vec![runtimes[0].info.clone()];
        crate::model::write_json(&out, &results).unwrap();
        let suite = crate::run::fake_executor::suite();
        let err = Start::resume(&out, &suite, &runtimes, crate::model::Measure::Instructions)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.ends_with(
                "measured time, and this run measures instructions: resume with --measure time, or start anew without --resume"
            ),
            "{err}"
        );
        Start::resume(&out, &suite, &runtimes, crate::model::Measure::Time).unwrap();
    }

    #[test]
    fn a_journal_of_another_schema_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let journal_path = journal::path_for(&dir.path().join("r.json"));
        let mut results = results_with(&[("sign", "a", Some(100))]);
        results.schema_version = 99;
        journal::Journal::create(&journal_path, &results).unwrap();
        let err = read_results(&journal_path).unwrap_err().to_string();
        assert!(err.contains("schema_version 99"), "{err}");
    }
}

#[cfg(test)]
mod sibling_tests {
    use super::*;

    /// A fake root whose /sys lists cores 0 and 2, and 1 and 3, as SMT siblings (as many x86
    /// machines number them); core 3's topology cannot be read.
    fn topology() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (core, siblings) in [(0, "0,2"), (1, "1,3"), (2, "0,2")] {
            let dir = root
                .path()
                .join(format!("sys/devices/system/cpu/cpu{core}/topology"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("thread_siblings_list"), format!("{siblings}\n")).unwrap();
        }
        root
    }

    fn refusal(root: &Path, cores: &[usize], allowed: bool) -> Option<String> {
        let cores: Vec<Option<usize>> = cores.iter().map(|c| Some(*c)).collect();
        let tree = doctor::Tree::new(root);
        refuse_smt_siblings(&tree, &cores, allowed, "--cores")
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn workers_on_smt_siblings_are_refused_in_one_line_unless_allowed() {
        let root = topology();
        assert_eq!(
            refusal(root.path(), &[1, 2, 0], false).as_deref(),
            Some(
                "--cores: cores 0 and 2 are SMT siblings of one physical core, so two workers there would slow each other's samples; list one core of each sibling pair, or allow it with --allow-smt-siblings (run.allow_smt_siblings: true)"
            )
        );
        assert_eq!(refusal(root.path(), &[0, 1], false), None);
        assert_eq!(refusal(root.path(), &[0, 2], true), None);
        // Core 3 cannot say, but core 1 names it.
        assert!(refusal(root.path(), &[3, 1], false).is_some());
        let unpinned = doctor::Tree::new(root.path());
        assert!(refuse_smt_siblings(&unpinned, &[None], false, "--cores").is_ok());
    }

    #[test]
    fn unreadable_topology_refuses_nothing() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(refusal(root.path(), &[0, 1, 2, 3], false), None);
    }
}
