//! Stored baselines under `baselines/`: per runner and runtime, the latest full baseline and an
//! append-only history of compact summaries. Also turns results and baselines into sides.

use super::Side;
use crate::model::JsonLines;
use crate::model::Measure;
use crate::model::{Baseline, ComparedSide, HistoryEntry, Results, SCHEMA_VERSION, TestSummary};
use crate::stats;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Confidence of the median intervals kept in the history.
const HISTORY_CONFIDENCE: f64 = 0.95;

/// A side from one runtime of a results file; `label` may be omitted when it has one runtime.
pub fn side_from_results(results: &Results, label: Option<&str>, origin: &Path) -> Result<Side> {
    let names: Vec<&str> = results.runtimes.iter().map(|r| r.name.as_str()).collect();
    let label = match (label, names.as_slice()) {
        (Some(label), _) => label,
        (None, [only]) => only,
        (None, _) => bail!(
            "{} holds several runtimes ({}); say which with --head (and --base)",
            origin.display(),
            names.join(", ")
        ),
    };
    let runtime = results
        .runtimes
        .iter()
        .find(|r| r.name == label)
        .with_context(|| {
            format!(
                "{} has no runtime `{label}`; it has: {}",
                origin.display(),
                names.join(", ")
            )
        })?;
    Ok(Side {
        info: ComparedSide {
            label: label.to_string(),
            runtime: runtime.clone(),
            suite_id: results.suite.suite_id.clone(),
            machine: results.machine.clone(),
            origin: origin.display().to_string(),
            commit: None,
            measure: results.measure,
        },
        suite: results.suite.clone(),
        samples: results
            .samples
            .iter()
            .filter(|s| s.runtime == label)
            .cloned()
            .collect(),
    })
}

pub fn side_from_baseline(path: &Path) -> Result<Side> {
    let baseline: Baseline = crate::model::read_json(path)?;
    crate::model::check_schema(
        baseline.schema_version,
        path,
        "store the baseline again with `wasmgate baseline update`",
    )?;
    Ok(Side {
        info: ComparedSide {
            label: "baseline".to_string(),
            runtime: baseline.runtime.clone(),
            suite_id: baseline.suite.suite_id.clone(),
            machine: baseline.machine.clone(),
            origin: format!("baseline {}", path.display()),
            commit: baseline.commit.clone(),
            measure: baseline.measure,
        },
        suite: baseline.suite,
        samples: baseline.samples,
    })
}

/// Where a runner's baseline of a runtime lives: `DIR/RUNNER-FINGERPRINT/RUNTIME.json`. The
/// runner, the fingerprint and the runtime's label come from flags and results files: each
/// must be a plain name, so the path stays inside `DIR`.
pub fn baseline_path(
    dir: &Path,
    runner: &str,
    fingerprint: &str,
    runtime: &str,
) -> Result<PathBuf> {
    use crate::util::paths::plain_name;
    let runner = plain_name(runner, "the runner's name (--runner)")?;
    let fingerprint = plain_name(fingerprint, "the machine's fingerprint in the results")?;
    let folder = plain_name(&format!("{runner}-{fingerprint}"), "the runner's folder")?.to_string();
    let file = format!("{}.json", plain_name(runtime, "the runtime's label")?);
    Ok(dir
        .join(folder)
        .join(plain_name(&file, "the runtime's label")?))
}

pub fn history_path(baseline: &Path) -> PathBuf {
    baseline.with_extension("history.jsonl")
}

/// Which runtime of which results file, on which runner and commit, a stored entry is about.
#[derive(Debug, Clone)]
pub struct Entry {
    pub results: PathBuf,
    /// The runtime's label in the results; `None` when they hold one runtime.
    pub runtime: Option<String>,
    /// The runner's label; with the machine's fingerprint it names the baseline's folder.
    pub runner: String,
    pub commit: Option<String>,
    /// The baselines directory.
    pub dir: PathBuf,
}

impl Entry {
    /// The entry's results and its runtime's side of them.
    fn read(&self) -> Result<(Results, Side)> {
        let results = crate::run::read_results(&self.results)?;
        let side = side_from_results(&results, self.runtime.as_deref(), &self.results)?;
        Ok((results, side))
    }
}

/// `baseline update`: the entry's runtime stored as the baseline, its history appended.
/// Returns the runtime's label and the baseline written.
pub fn store(entry: &Entry) -> Result<(String, PathBuf)> {
    let (results, side) = entry.read()?;
    let written = update(
        &entry.dir,
        &results,
        &side,
        &entry.runner,
        entry.commit.clone(),
    )?;
    Ok((side.info.label, written))
}

/// `baseline history`: the entry's run appended to the history, with the tests the comparison
/// (if given) called regressions. Returns the runtime's label and the history written.
pub fn append(entry: &Entry, comparison: Option<&Path>) -> Result<(String, PathBuf)> {
    let (results, side) = entry.read()?;
    let regressions = match comparison {
        Some(file) => crate::model::read_json::<crate::model::Comparison>(file)?
            .tests_with(crate::model::Verdict::Regression)
            .map(|t| t.test.clone())
            .collect(),
        None => Vec::new(),
    };
    let written = record_history(
        &entry.dir,
        &results,
        &side,
        &entry.runner,
        entry.commit.clone(),
        regressions,
    )?;
    Ok((side.info.label, written))
}

/// Where this machine's baseline of `runtime` in `measure` lives (it may not exist yet).
pub fn path_here(dir: &Path, runner: &str, runtime: &str, measure: Measure) -> Result<PathBuf> {
    let machine = crate::run::machine::fingerprint(Vec::new());
    baseline_path(
        dir,
        runner,
        &machine.fingerprint,
        &stored_name(runtime, measure),
    )
}

/// The name a runtime's baseline is stored under: its label, and the measure unless time, so
/// that a runner's baselines (and their histories) of different measures never mix.
fn stored_name(label: &str, measure: Measure) -> String {
    match measure {
        Measure::Time => label.to_string(),
        other => format!("{label}.{}", other.name()),
    }
}

/// Stores a runtime's samples from a results file as the baseline and appends to its history.
pub fn update(
    dir: &Path,
    results: &Results,
    side: &Side,
    runner: &str,
    commit: Option<String>,
) -> Result<PathBuf> {
    let baseline = baseline_of(results, side, runner, commit)?;
    let name = stored_name(&side.info.label, side.info.measure);
    let path = baseline_path(dir, runner, &baseline.machine.fingerprint, &name)?;
    crate::model::write_json(&path, &baseline)?;
    append_history(&history_path(&path), &summarize(&baseline))?;
    Ok(path)
}

/// Appends a run to the history beside the runner's baseline without replacing the baseline
/// (the nightly watch), with the tests its comparison called regressions.
pub fn record_history(
    dir: &Path,
    results: &Results,
    side: &Side,
    runner: &str,
    commit: Option<String>,
    regressions: Vec<String>,
) -> Result<PathBuf> {
    let baseline = baseline_of(results, side, runner, commit)?;
    let path = history_path(&baseline_path(
        dir,
        runner,
        &baseline.machine.fingerprint,
        &stored_name(&side.info.label, side.info.measure),
    )?);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let entry = HistoryEntry {
        regressions,
        ..summarize(&baseline)
    };
    append_history(&path, &entry)?;
    Ok(path)
}

fn baseline_of(
    results: &Results,
    side: &Side,
    runner: &str,
    commit: Option<String>,
) -> Result<Baseline> {
    if !results.complete {
        bail!(
            "the results are from an interrupted run; finish it (wasmgate run --resume) before storing it"
        );
    }
    Ok(Baseline {
        schema_version: SCHEMA_VERSION,
        runner: runner.to_string(),
        commit,
        created_at: crate::model::now_rfc3339(),
        suite: side.suite.clone(),
        machine: side.info.machine.clone(),
        measure: side.info.measure,
        runtime: side.info.runtime.clone(),
        samples: side.samples.clone(),
    })
}

/// The compact summary of a baseline: per test median and its interval.
pub fn summarize(baseline: &Baseline) -> HistoryEntry {
    let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for sample in &baseline.samples {
        if let Some(value) = sample.ok_value() {
            values.entry(sample.test.as_str()).or_default().push(value);
        }
    }
    let tests = values
        .into_iter()
        .map(|(test, values)| {
            let interval = stats::median_interval(&values, HISTORY_CONFIDENCE);
            let summary = TestSummary {
                median_ps: stats::median(&values).expect("non-empty"),
                ci_low_ps: interval.map(|i| i.0),
                ci_high_ps: interval.map(|i| i.1),
                samples: values.len(),
            };
            (test.to_string(), summary)
        })
        .collect();
    HistoryEntry {
        date: baseline.created_at.clone(),
        commit: baseline.commit.clone(),
        runtime_version: baseline.runtime.version.clone(),
        suite_id: baseline.suite.suite_id.clone(),
        tests,
        regressions: Vec::new(),
    }
}

/// Reads a history file, one night a line. A torn last line (a crash while appending) is
/// skipped; any other line that does not parse is an error naming it.
pub fn read_history(path: &Path) -> Result<Vec<HistoryEntry>> {
    let lines = JsonLines {
        entry: "a history entry",
        fix: "history files are written by `wasmgate baseline update` and `baseline history`",
    };
    let entries: Vec<HistoryEntry> = crate::model::read_lines(path, &lines)?;
    // A history is input: a median of 0, below 0, not a number or beyond any time would
    // draw nonsense into every trend it enters.
    for (at, entry) in entries.iter().enumerate() {
        for (test, summary) in &entry.tests {
            let median = summary.median_ps;
            let usable =
                median.is_finite() && median > 0.0 && median <= crate::model::MAX_VALUE_PS as f64;
            if !usable {
                bail!(
                    "{}: entry {} ({}): field `tests.{}.median_ps` is {median}, not a time; delete or repair that line ({})",
                    path.display(),
                    at + 1,
                    crate::util::bounded(&entry.date, 40),
                    crate::util::bounded(test, 60),
                    lines.fix
                );
            }
        }
    }
    Ok(entries)
}

/// Cuts a last line without its newline (a write that was interrupted) off the history, after
/// copying the file as it was to `HISTORY.torn`.
fn cut_torn_tail(path: &Path) -> Result<()> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(());
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let kept = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |at| at + 1);
    let mut backup = path.as_os_str().to_os_string();
    backup.push(".torn");
    let backup = PathBuf::from(backup);
    crate::model::write_atomic(&backup, &bytes)?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_len(kept as u64))
        .with_context(|| format!("cannot cut the torn last line of {}", path.display()))?;
    eprintln!(
        "wasmgate: {}: cut a torn last line ({} bytes) before appending; the file as it was is in {}",
        path.display(),
        bytes.len() - kept,
        backup.display()
    );
    Ok(())
}

/// Appends one line; the history is never rewritten, so a crash can at worst tear its last line.
/// A torn last line is cut off first (the file kept whole beside it), or the new line would be
/// glued to it and the history refused for good.
fn append_history(path: &Path, entry: &HistoryEntry) -> Result<()> {
    append_line(path, entry)
}

/// Appends one JSON line to a history of any kind, as `append_history` does.
pub fn append_line<T: serde::Serialize>(path: &Path, entry: &T) -> Result<()> {
    // A named pipe would block the open, a device (`/dev/full`) never hold the line.
    crate::model::check_destination(path)?;
    cut_torn_tail(path)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot append to {}", path.display()))?;
    let line = format!("{}\n", serde_json::to_string(entry)?);
    (file
        .write_all(line.as_bytes())
        .and_then(|()| file.sync_all()))
    .with_context(|| format!("cannot append to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(date: &str) -> HistoryEntry {
        HistoryEntry {
            date: date.to_string(),
            commit: None,
            runtime_version: "1.0".to_string(),
            suite_id: "abc".to_string(),
            tests: BTreeMap::new(),
            regressions: Vec::new(),
        }
    }

    #[test]
    fn baselines_of_each_measure_are_stored_apart_and_a_gate_refuses_another_measures() {
        let dir = tempfile::tempdir().unwrap();
        let mut stored = Vec::new();
        for measure in Measure::ALL {
            let mut results = crate::model::fixtures::results_with(&[("sign", "a", Some(100))]);
            results.measure = measure;
            let side = side_from_results(&results, Some("a"), Path::new("r.json")).unwrap();
            let path = update(dir.path(), &results, &side, "runner", None).unwrap();
            assert_eq!(side_from_baseline(&path).unwrap().info.measure, measure);
            stored.push(path);
        }
        let apart: std::collections::BTreeSet<_> = stored.iter().collect();
        assert_eq!(apart.len(), Measure::ALL.len(), "{stored:?}");
        assert!(stored[1].ends_with("a.instructions.json"), "{stored:?}");
        assert!(stored[2].ends_with("a.compile.json"), "{stored:?}");
        assert!(
            stored[3].ends_with("a.compile-instructions.json"),
            "{stored:?}"
        );
        let histories: std::collections::BTreeSet<_> =
            stored.iter().map(|p| history_path(p)).collect();
        assert_eq!(histories.len(), Measure::ALL.len());
        // Refused before anything is built or measured.
        let config = crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap();
        let refusal = |stored: &Path, gated: Measure| {
            let foreign = crate::compare::Foreign::Allowed;
            let refused =
                crate::compare::judge::check_baseline_first(stored, foreign, &config, gated);
            refused.unwrap_err().to_string()
        };
        let err = refusal(&stored[1], Measure::Time);
        assert!(
            err.ends_with(
                "a baseline of instructions, and this gate measures time: store a baseline of the same measure (its file name says which), or gate with --measure instructions"
            ),
            "{err}"
        );
        // A compile-time baseline is no baseline of run time, nor the other way round.
        let err = refusal(&stored[2], Measure::Time);
        assert!(
            err.contains("a baseline of compile, and this gate measures time"),
            "{err}"
        );
        let err = refusal(&stored[0], Measure::Compile);
        assert!(err.contains("--measure time"), "{err}");
    }

    #[test]
    fn a_label_or_runner_from_data_never_leaves_the_baselines_folder() {
        let dir = tempfile::tempdir().unwrap();
        let baselines = dir.path().join("baselines");
        let mut results = crate::model::fixtures::results_with(&[("sign", "a", Some(100))]);
        results.runtimes[0].name = "../../escaped".to_string();
        for sample in &mut results.samples {
            sample.runtime = "../../escaped".to_string();
        }
        let side = side_from_results(&results, None, Path::new("r.json")).unwrap();
        let error = update(&baselines, &results, &side, "ci", None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot name a file"), "{error}");
        let side = side_from_results(
            &crate::model::fixtures::results_with(&[("sign", "a", Some(100))]),
            None,
            Path::new("r.json"),
        )
        .unwrap();
        let error = update(&baselines, &results, &side, "../ci", None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("the runner's name (--runner): "),
            "{error}"
        );
        assert!(path_here(&baselines, "ci", "../x", Measure::Time).is_err());
        // Nothing was written anywhere.
        let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(written.is_empty(), "{written:?}");
    }

    #[test]
    fn a_history_median_that_is_not_a_time_is_refused_naming_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wasmtime.history.jsonl");
        // (A NaN is written as null, which the reader refuses as not a number already.)
        for bad in [0.0, -5.0, 1e308] {
            let mut night = entry("night 2");
            night.tests.insert(
                "sign".into(),
                crate::model::TestSummary {
                    median_ps: bad,
                    ci_low_ps: None,
                    ci_high_ps: None,
                    samples: 3,
                },
            );
            let _ = std::fs::remove_file(&path);
            append_history(&path, &entry("night 1")).unwrap();
            append_history(&path, &night).unwrap();
            let error = read_history(&path).unwrap_err().to_string();
            assert!(
                error.contains("entry 2 (night 2): field `tests.sign.median_ps`"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn a_history_that_is_a_named_pipe_or_a_device_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("wasmtime.history.jsonl");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let error = append_history(&fifo, &entry("night 1"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("a named pipe"), "{error}");
        let full = dir.path().join("full.history.jsonl");
        std::os::unix::fs::symlink("/dev/full", &full).unwrap();
        let error = append_history(&full, &entry("night 1"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("a device"), "{error}");
    }

    #[test]
    fn a_torn_last_line_is_cut_before_the_next_append_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wasmtime.history.jsonl");
        append_history(&path, &entry("night 1")).unwrap();
        append_history(&path, &entry("night 2")).unwrap();
        let whole = std::fs::read_to_string(&path).unwrap();
        // A crash in the middle of night 3's line.
        let torn = format!("{whole}{{\"date\":\"night 3\",\"comm");
        std::fs::write(&path, &torn).unwrap();
        assert_eq!(read_history(&path).unwrap().len(), 2);
        append_history(&path, &entry("night 4")).unwrap();
        let dates: Vec<String> = read_history(&path)
            .unwrap()
            .into_iter()
            .map(|e| e.date)
            .collect();
        assert_eq!(dates, ["night 1", "night 2", "night 4"]);
        let backup = dir.path().join("wasmtime.history.jsonl.torn");
        assert_eq!(std::fs::read_to_string(backup).unwrap(), torn);
    }

    #[test]
    fn a_history_of_one_torn_line_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        std::fs::write(&path, "{\"da").unwrap();
        append_history(&path, &entry("night 1")).unwrap();
        assert_eq!(read_history(&path).unwrap().len(), 1);
    }
}
