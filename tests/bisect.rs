//! `wasmgate bisect` end to end: a git repository built here, whose commits hold a wrapper that
//! runs the real wasmtime, one of them with a slower register allocator; the bisect builds the
//! commits it needs, measures them in paired runs and names that commit.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::process::Command;
use std::time::Instant;

/// The commit that makes the runtime slower: from it on, Cranelift's single-pass register
/// allocator, whose code is much slower than the default one's.
const CULPRIT: usize = 10;
/// A commit that changes how wasmtime compiles, not the code it makes: no change to find.
const NO_OP: usize = 6;

/// The wrapper of commit `n`: wasmtime with that commit's flags.
fn wrapper(wasmtime: &str, n: usize) -> String {
    let mut flags = String::new();
    if n >= NO_OP {
        flags.push_str(" -C parallel-compilation=n");
    }
    if n >= CULPRIT {
        flags.push_str(" -O regalloc-algorithm=single-pass");
    }
    format!(
        "#!/bin/sh\n# the runtime at commit {n}\nif [ \"$1\" = run ]; then shift; exec '{wasmtime}' run{flags} \"$@\"; fi\nexec '{wasmtime}' \"$@\"\n"
    )
}

/// A repository of 16 commits (`commit 1` .. `commit 16`), each with `runtime.sh`, except
/// `broken`, which has none. Returns it and the commits, oldest first.
fn runtime_repo(broken: Option<usize>) -> (PathBuf, Vec<String>) {
    let wasmtime = wasmtime_path();
    let repo = bare_tempdir();
    git(&repo, &["init", "-q"]);
    let mut commits = Vec::new();
    for n in 1..=16 {
        let script = repo.join("runtime.sh");
        if broken == Some(n) {
            std::fs::remove_file(&script).unwrap();
            std::fs::write(repo.join("notes"), "moved away\n").unwrap();
        } else {
            std::fs::write(&script, wrapper(&wasmtime, n)).unwrap();
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", &format!("commit {n}")]);
        commits.push(git(&repo, &["rev-parse", "HEAD"]));
    }
    (repo, commits)
}

const BUILD: &str = "git -C {repo} show {commit}:runtime.sh > {out} && chmod +x {out}";

fn bisect(dir: &Path, repo: &Path, good: &str, bad: &str, budget: &str) -> Command {
    let mut command = wasmgate(dir);
    command
        .arg("bisect")
        .arg("--repo")
        .arg(repo)
        .args(["--good", good, "--bad", bad, "--build", BUILD])
        .args([
            "--adapter",
            "wasmtime",
            "--tests",
            "stream",
            "--budget",
            budget,
        ]);
    command
}

#[test]
fn finds_the_commit_that_made_wasmtime_slower() {
    built_suite();
    let (repo, commits) = runtime_repo(None);
    // Samples of this one test on one core: none should be dropped as disturbed by the
    // other tests of this file.
    let dir = tempdir_without_disturbance_detection();
    // Each step's effect is +20 % or none: 16 pairs at most call it (the default's 100 are
    // for effects near the minimum), so the bisect takes seconds a step.
    let config = std::fs::read_to_string(dir.join("wasmgate.yml")).unwrap();
    let fewer = config.replacen("  max_samples: 100\n", "  max_samples: 16\n", 1);
    assert_ne!(fewer, config, "the default has gate.max_samples: 100");
    std::fs::write(dir.join("wasmgate.yml"), fewer).unwrap();
    let started = Instant::now();
    let output = run(&mut bisect(&dir, &repo, &commits[0], &commits[15], "4m"));
    eprintln!(
        "the bisect of 16 commits took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let record = read_json(&dir.join("bisect.json"));
    let outcome = &record["outcome"];
    assert_eq!(outcome["kind"], "found", "{outcome}");
    assert_eq!(outcome["first_bad"]["sha"], commits[CULPRIT - 1].as_str());
    assert_eq!(outcome["parent"]["subject"], "commit 9");
    assert_eq!(outcome["spread"], false, "{outcome}");
    assert_eq!(record["regressed"], serde_json::json!(["stream"]));
    let steps = record["steps"].as_array().unwrap();
    let after_range: std::collections::BTreeSet<u64> = steps
        .iter()
        .filter(|s| s["kind"] != "range")
        .map(|s| s["number"].as_u64().unwrap())
        .collect();
    assert!(after_range.len() <= 5, "{after_range:?}");
    let short = outcome["first_bad"]["short"].as_str().unwrap();
    let printed = stdout(&output);
    assert!(
        printed.contains(&format!("first bad commit: {short} commit 10 (on stream)")),
        "{printed}"
    );
    assert!(printed.contains("builds: "), "{printed}");
    // The first bad commit's regressed test has evidence, or a line saying why it has none
    // (the evidence's own test, under perf, is tests/evidence.rs).
    assert_eq!(record["evidence"][0]["test"], "stream", "{record}");
    assert!(printed.contains("  stream (+"), "{printed}");
    // Each step's results are kept beside the record, under labels that name the commits.
    let range = read_json(&dir.join("bisect.range.json"));
    let labels: Vec<&str> = (range["runtimes"].as_array().unwrap().iter())
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let good_short = record["good"]["short"].as_str().unwrap();
    let bad_short = record["bad"]["short"].as_str().unwrap();
    assert_eq!(
        labels,
        [format!("good-{good_short}"), format!("bad-{bad_short}")]
    );
}

#[test]
fn a_build_that_fails_is_one_line_naming_its_commit() {
    built_suite();
    let (repo, commits) = runtime_repo(Some(16));
    let dir = tempdir_without_disturbance_detection();
    let output = run(&mut bisect(&dir, &repo, &commits[0], &commits[15], "1m"));
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    let line = err.lines().last().unwrap();
    let short = &commits[15][..7];
    assert!(
        line.starts_with(&format!("error: --build failed at commit {short}")),
        "{err}"
    );
    assert!(line.contains("(commit 16)"), "{line}");
    assert!(line.contains("does not exist"), "git's stderr: {line}");
    assert!(!dir.join("bisect.json").exists());
}

#[test]
fn refuses_a_range_that_is_none() {
    let (repo, commits) = runtime_repo(None);
    let dir = tempdir();
    let backwards = run(&mut bisect(&dir, &repo, &commits[15], &commits[0], "1m"));
    assert_eq!(backwards.status.code(), Some(2));
    let err = stderr(&backwards);
    assert!(
        err.contains(&format!(
            "--good {} is not an ancestor of --bad {}",
            &commits[15][..7],
            &commits[0][..7]
        )),
        "{err}"
    );
    let unknown = run(&mut bisect(&dir, &repo, "deadbeef", &commits[0], "1m"));
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("--good deadbeef: no such commit in"),
        "{}",
        stderr(&unknown)
    );
}
