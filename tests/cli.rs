//! The command line's refusals that need no suite and no runtime: each is one line that names
//! what is wrong and where, and none is a panic.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

/// Runs wasmgate in `dir` and returns (exit code, stderr), checking the error is one line.
fn refused(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = run(wasmgate(dir).args(args));
    let text = stderr(&output);
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    assert!(text.starts_with("error: "), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    (output.status.code(), text)
}

#[test]
fn a_report_does_not_read_a_broken_configuration() {
    let dir = tempdir();
    std::fs::write(dir.join("wasmgate.yml"), "run: [broken\n").unwrap();
    let (code, text) = refused(&dir, &["report", "missing.json"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("missing.json"), "{text}");
    assert!(!text.contains("wasmgate.yml"), "{text}");
    // Commands that use the configuration still refuse it, naming the file.
    let (_, text) = refused(&dir, &["runtimes"]);
    assert!(text.contains("wasmgate.yml"), "{text}");
}

#[test]
fn sampling_flags_are_checked_like_the_configuration() {
    let dir = tempdir();
    let (code, text) = refused(&dir, &["run", "--samples", "10", "--max-samples", "5"]);
    assert_eq!(code, Some(2));
    assert!(
        text.contains("--max-samples: 5 is below --samples (10)"),
        "{text}"
    );
    let (_, text) = refused(&dir, &["gate", "--precision", "2"]);
    assert!(text.contains("--precision: give a fraction"), "{text}");
    let (_, text) = refused(&dir, &["run", "--cores", "0,0"]);
    assert!(text.contains("--cores: core 0 is listed twice"), "{text}");
    let (_, text) = refused(&dir, &["run", "--budget", "soon"]);
    assert!(
        text.contains("--budget: `soon` is not a duration"),
        "{text}"
    );
}

#[test]
fn a_native_runtime_without_a_version_command_is_refused_at_load() {
    let dir = tempdir();
    let config = with_runtimes(
        &default_config(&dir),
        "  mine:\n    install: { path: zig }\n    native: true\n    run: ['{aot}']\n    version: []\n",
    );
    std::fs::write(dir.join("wasmgate.yml"), config).unwrap();
    let (_, text) = refused(&dir, &["runtimes"]);
    assert!(
        text.contains("wasmgate.yml: field `runtimes.mine`: `run` and `version` must not be empty"),
        "{text}"
    );
}

#[test]
fn doctor_reports_each_check_and_annotates_warnings_in_actions() {
    let dir = tempdir();
    // A machine whose core 0 runs the powersave governor, seen through a fake /sys.
    let root = dir.join("root");
    let cpufreq = root.join("sys/devices/system/cpu/cpu0/cpufreq");
    std::fs::create_dir_all(&cpufreq).unwrap();
    std::fs::write(cpufreq.join("scaling_governor"), "powersave\n").unwrap();
    let root_arg = root.to_str().unwrap();
    let output = run(wasmgate(&dir)
        .args(["doctor", "--cores", "0", "--root", root_arg])
        .env("GITHUB_ACTIONS", "true"));
    assert_eq!(output.status.code(), Some(0), "warnings never fail doctor");
    let text = stdout(&output);
    let governor = text
        .lines()
        .find(|l| l.contains("governor"))
        .expect("a governor line");
    assert!(governor.starts_with("warn"), "{governor}");
    assert!(governor.contains("performance"), "the fix: {governor}");
    assert!(text.contains("::warning title=wasmgate doctor::"), "{text}");
    // What cannot be read is unknown, never ok.
    let swap = text
        .lines()
        .find(|l| l.contains("swap"))
        .expect("a swap line");
    assert!(swap.starts_with("unknown"), "{swap}");
    assert!(text.lines().any(|l| l.starts_with("doctor: ")), "{text}");
}

#[test]
fn numbers_and_lists_that_would_break_a_run_are_refused_first() {
    let dir = tempdir();
    let (_, text) = refused(
        &dir,
        &["run", "--runtime", "wasmtime", "--runtime", "wasmtime"],
    );
    assert!(
        text.contains("the label `wasmtime` is given twice"),
        "{text}"
    );
    let (_, text) = refused(&dir, &["run", "--budget", "100000h"]);
    assert!(
        text.contains("--budget: `100000h` is more than 30 days"),
        "{text}"
    );
    let (_, text) = refused(&dir, &["run", "--out", "-"]);
    assert!(
        text.contains("--out -: a run's results need a file"),
        "{text}"
    );
    let (_, text) = refused(&dir, &["run", "--precision", "NaN"]);
    assert!(text.contains("--precision: give a fraction"), "{text}");
    for (from, to, field) in [
        (
            "timeout_seconds: 120",
            "timeout_seconds: 18446744073709551615",
            "run.timeout_seconds",
        ),
        (
            "  runtimes:\n  - wasmtime\n  - node\n",
            "  runtimes: []\n",
            "run.runtimes",
        ),
        (
            "  - wasmtime\n  - node\n",
            "  - node\n  - node\n",
            "run.runtimes",
        ),
    ] {
        let config = default_config(&dir);
        assert!(config.contains(from), "{from}");
        std::fs::write(dir.join("wasmgate.yml"), config.replacen(from, to, 1)).unwrap();
        let (_, text) = refused(&dir, &["run"]);
        assert!(text.contains(&format!("field `{field}`")), "{to}: {text}");
        std::fs::remove_file(dir.join("wasmgate.yml")).unwrap();
    }
}

#[test]
fn two_measures_side_by_side_are_refused_where_they_cannot_be_shown() {
    let dir = tempdir();
    // Refused before any file is read: the flags alone cannot work together.
    for extra in [["--baseline", "b.json"], ["--out", "-"]] {
        let mut args = vec!["compare", "t.json", "--beside", "i.json"];
        args.extend(extra);
        let (code, text) = refused(&dir, &args);
        assert_eq!(code, Some(2), "{text}");
        assert!(
            text.contains(
                "--beside puts two measures of the same run's --base and --head side by side"
            ),
            "{text}"
        );
    }
}
