//! The gate end to end: compare's exit codes, baselines and the foreign refusal, resume after a
//! killed run, and the adaptive stop, on real samples from wasmtime.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[test]
fn compare_exit_codes_follow_the_verdict() {
    let dir = tempdir_without_disturbance_detection();
    let results = aa_run(&dir, "hash,box", 10);

    // Identical samples: unchanged, exit 0.
    let same = dir.join("same.json");
    with_head_scaled(&results, 1.0, &same);
    let output = run(wasmgate(&dir)
        .arg("compare")
        .arg(&same)
        .args(["--base", "a", "--head", "b", "--out"])
        .arg(dir.join("c.json")));
    assert_eq!(output.status.code(), Some(0));
    let comparison = read_json(&dir.join("c.json"));
    // The same values on both sides: no change at all, whatever the noise; with noisy samples
    // the interval may still be too wide to call them unchanged.
    for test in comparison["tests"].as_array().unwrap() {
        assert_eq!(test["ratio"], 1.0, "{test}");
        assert_eq!(test["p_value"], 1.0, "{test}");
        assert!(
            test["verdict"] == "unchanged" || test["verdict"] == "inconclusive",
            "{test}"
        );
    }

    // Head 10 % slower on every sample: both tests regress, the gate fails with exit 1.
    let slower = dir.join("slower.json");
    with_head_scaled(&results, 1.10, &slower);
    let output = run(wasmgate(&dir)
        .arg("compare")
        .arg(&slower)
        .args(["--base", "a", "--head", "b", "--format", "markdown"]));
    assert_eq!(output.status.code(), Some(1));
    let markdown = stdout(&output);
    assert!(markdown.contains("2 regressions"), "{markdown}");
    assert!(markdown.contains("+10.0 %"), "{markdown}");
    assert!(markdown.contains("test hash is +10.0 %"), "{markdown}");

    // 10 % faster: improvements never fail the gate. `--out -`: the comparison's JSON alone
    // on standard output, the table to the file asked for.
    let faster = dir.join("faster.json");
    with_head_scaled(&results, 1.0 / 1.10, &faster);
    let output = run(wasmgate(&dir)
        .arg("compare")
        .arg(&faster)
        .args(["--base", "a", "--head", "b", "--out", "-"]));
    assert_eq!(output.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["tests"].as_array().unwrap().len(), 2);
    assert!(!dir.join("-").exists());
    let output = run(wasmgate(&dir)
        .arg("compare")
        .arg(&faster)
        .args(["--base", "a", "--head", "b"]));
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("2 improvements"),
        "{}",
        stdout(&output)
    );

    // Input errors exit 2 with one line.
    let output = run(wasmgate(&dir)
        .arg("compare")
        .arg(&results)
        .args(["--base", "a", "--head", "zz"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no runtime `zz`"),
        "{}",
        stderr(&output)
    );
    let output = run(wasmgate(&dir).args(["compare", "missing.json", "--base", "a"]));
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn baselines_are_stored_and_foreign_ones_refused() {
    let dir = tempdir_without_disturbance_detection();
    let results = aa_run(&dir, "auth", 8);
    let head_only = dir.join("head.json");
    with_head_scaled(&results, 1.0, &head_only);
    let output = run(wasmgate(&dir)
        .args(["baseline", "update"])
        .arg(&results)
        .args([
            "--runtime",
            "a",
            "--runner",
            "ci-1",
            "--commit",
            "abc123",
            "--dir",
        ])
        .arg(dir.join("baselines")));
    assert!(output.status.success(), "{}", stderr(&output));
    let stored = stdout(&output)
        .rsplit_once(" in ")
        .unwrap()
        .1
        .trim()
        .to_string();
    let baseline = read_json(Path::new(&stored));
    assert_eq!(baseline["commit"], "abc123");
    assert_eq!(baseline["runtime"]["name"], "a");
    let history =
        std::fs::read_to_string(Path::new(&stored).with_extension("history.jsonl")).unwrap();
    let entry: Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert!(entry["tests"]["auth"]["median_ps"].as_f64().unwrap() > 0.0);

    // The same machine and suite: compared.
    let output = run(wasmgate(&dir).arg("compare").arg(&head_only).args([
        "--head",
        "b",
        "--baseline",
        &stored,
    ]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // A night 4 times slower: a regression even against unpaired samples that parallel tests
    // on the same core may have slowed twofold; recorded in the history without touching the
    // baseline.
    let slow = dir.join("slow.json");
    with_head_scaled(&results, 4.0, &slow);
    let comparison = dir.join("night.comparison.json");
    let output = run(wasmgate(&dir)
        .arg("compare")
        .arg(&slow)
        .args(["--head", "b", "--baseline", &stored, "--out"])
        .arg(&comparison));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let output = run(wasmgate(&dir)
        .args(["baseline", "history"])
        .arg(&slow)
        .args(["--runtime", "b", "--runner", "ci-1", "--commit", "def456"])
        .arg("--comparison")
        .arg(&comparison)
        .arg("--dir")
        .arg(dir.join("baselines")));
    assert!(output.status.success(), "{}", stderr(&output));
    let night = Path::new(&stored).with_file_name("b.history.jsonl");
    let entry: Value =
        serde_json::from_str(std::fs::read_to_string(&night).unwrap().trim()).unwrap();
    assert_eq!(entry["commit"], "def456");
    assert_eq!(entry["regressions"], serde_json::json!(["auth"]));
    assert!(!Path::new(&stored).with_file_name("b.json").exists());
    assert_eq!(read_json(Path::new(&stored))["commit"], "abc123");

    // Another machine: refused with what differs and the way out.
    let mut foreign = read_json(&head_only);
    foreign["machine"]["fingerprint"] = "0000000000000000".into();
    foreign["machine"]["cpu_model"] = "Other CPU".into();
    let foreign_path = dir.join("foreign.json");
    std::fs::write(&foreign_path, serde_json::to_string(&foreign).unwrap()).unwrap();
    let output = run(wasmgate(&dir).arg("compare").arg(&foreign_path).args([
        "--head",
        "b",
        "--baseline",
        &stored,
    ]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("another machine") && message.contains("--allow-foreign"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    // It names what differs, not two descriptions of machines.
    assert!(message.contains(" vs Other CPU)"), "{message}");

    // A gate against a foreign baseline is refused before it measures anything.
    let mut foreign_baseline = read_json(Path::new(&stored));
    foreign_baseline["machine"]["fingerprint"] = "0000000000000000".into();
    foreign_baseline["machine"]["cpu_model"] = "Other CPU".into();
    let foreign_baseline_path = dir.join("foreign-baseline.json");
    std::fs::write(
        &foreign_baseline_path,
        serde_json::to_string(&foreign_baseline).unwrap(),
    )
    .unwrap();
    let gate_out = dir.join("never.json");
    let output = run(wasmgate(&dir)
        .args([
            "gate",
            "--runtime",
            "wasmtime",
            "--tests",
            "hash",
            "--baseline",
        ])
        .arg(&foreign_baseline_path)
        .arg("--out")
        .arg(&gate_out));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("another machine"),
        "{}",
        stderr(&output)
    );
    assert!(!gate_out.exists() && !journal_of(&gate_out).exists());

    // Another wasm build too, allowed: the report says so first.
    foreign["suite"]["suite_id"] = "ffffffffffffffff".into();
    std::fs::write(&foreign_path, serde_json::to_string(&foreign).unwrap()).unwrap();
    let output = run(wasmgate(&dir).arg("compare").arg(&foreign_path).args([
        "--head",
        "b",
        "--baseline",
        &stored,
        "--allow-foreign",
        "--format",
        "markdown",
    ]));
    assert_eq!(output.status.code(), Some(0));
    let first = stdout(&output).lines().next().unwrap().to_string();
    assert!(
        first.contains("Foreign baseline")
            && first.contains("another wasm build")
            && first.contains("another machine"),
        "{first}"
    );
}

#[test]
fn a_killed_run_resumes_without_losing_or_repeating_samples() {
    built_suite();
    let dir = tempdir_without_disturbance_detection();
    let out = dir.join("r.json");
    let args = [
        "run",
        "--runtime",
        "wasmtime",
        "--tests",
        "hash,kdf",
        "--samples",
        "6",
        "--precision",
        "0",
        "--quiet",
        "--seed",
        "7",
        "--out",
    ];
    let mut child = wasmgate(&dir).args(args).arg(&out).spawn().unwrap();
    let journal = journal_of(&out);
    wait_for_samples(&journal, 4);
    child.kill().unwrap();
    child.wait().unwrap();
    let before: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(before.len() >= 4 && before.len() < 12, "{}", before.len());

    let output = run(wasmgate(&dir).args(args).arg(&out).arg("--resume"));
    assert!(output.status.success(), "{}", stderr(&output));
    let results = read_json(&out);
    assert_eq!(results["complete"], true);
    let samples = results["samples"].as_array().unwrap();
    assert_eq!(
        samples.len(),
        2 * 6,
        "exactly the planned samples, none lost, none twice"
    );
    for sample in &before {
        assert!(samples.contains(sample), "lost {sample}");
    }
    let orders: BTreeSet<u64> = samples
        .iter()
        .map(|s| s["order"].as_u64().unwrap())
        .collect();
    assert_eq!(orders.len(), samples.len(), "orders are unique");
    assert_eq!(results["seed"], 7);

    // A finished run is not resumed.
    let output = run(wasmgate(&dir).args(args).arg(&out).arg("--resume"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("finished run"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn sampling_stops_at_the_precision_the_maximum_or_the_budget() {
    built_suite();
    let dir = tempdir_without_disturbance_detection();
    let count = |out: &Path| read_json(out)["samples"].as_array().unwrap().len();

    // A loose precision is met as soon as the median has an interval (8 samples at 95 %).
    let loose = dir.join("loose.json");
    let args = [
        "run",
        "--runtime",
        "wasmtime",
        "--tests",
        "hash",
        "--quiet",
        "--samples",
        "3",
    ];
    assert!(
        run(wasmgate(&dir)
            .args(args)
            .args(["--max-samples", "40", "--precision", "0.5", "--out"])
            .arg(&loose))
        .status
        .success()
    );
    assert_eq!(count(&loose), 8);

    // A precision out of reach (it would take thousands of samples) stops as soon as the
    // median has an interval to judge it by, leaving the budget to other tests.
    let hopeless = dir.join("hopeless.json");
    assert!(
        run(wasmgate(&dir)
            .args(args)
            .args(["--precision", "0.000001", "--max-samples", "40", "--out"])
            .arg(&hopeless))
        .status
        .success()
    );
    assert_eq!(count(&hopeless), 8);

    // Still no interval at the maximum: the maximum ends it.
    let capped = dir.join("capped.json");
    assert!(
        run(wasmgate(&dir)
            .args(args)
            .args(["--precision", "0.5", "--max-samples", "5", "--out"])
            .arg(&capped))
        .status
        .success()
    );
    assert_eq!(count(&capped), 5);

    // The budget ends the run, within its bound, and says so.
    let budgeted = dir.join("budget.json");
    let started = Instant::now();
    let output = run(wasmgate(&dir)
        .args([
            "run",
            "--runtime",
            "wasmtime",
            "--tests",
            "sign,box,hash",
            "--quiet",
            "--samples",
            "1000",
            "--max-samples",
            "1000",
            "--budget",
            "4s",
            "--out",
        ])
        .arg(&budgeted));
    let took = started.elapsed();
    assert!(output.status.success());
    let results = read_json(&budgeted);
    assert_eq!(results["budget_spent"], true);
    assert!(count(&budgeted) >= 1);
    // Generous slack for building nothing and starting processes; the bound itself is 4 s.
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(
        stderr(&output).contains("budget spent"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn shards_measure_disjoint_slices_that_merge_into_one_run() {
    built_suite();
    let wasmtime = wasmtime_path();
    let dir = tempdir_without_disturbance_detection();
    // "" is the unsharded run.
    let shard = |k: &str| {
        let out = dir.join(format!("shard{}.json", k.replace('/', "of")));
        let sharding: Vec<&str> = if k.is_empty() {
            vec![]
        } else {
            vec!["--shard", k]
        };
        let output = run(aa_command(&dir, &wasmtime, &out)
            .args(["--tests", "hash,box,kdf,auth,sign", "--samples", "2"])
            .args(["--precision", "0", "--quiet"])
            .args(sharding));
        assert!(output.status.success(), "{}", stderr(&output));
        out
    };
    let (one, two) = (shard("1/2"), shard("2/2"));
    let tests_of = |path: &Path| -> BTreeSet<String> {
        read_json(path)["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["test"].as_str().unwrap().to_string())
            .collect()
    };
    let (first, second) = (tests_of(&one), tests_of(&two));
    assert!(first.is_disjoint(&second), "{first:?} {second:?}");
    assert_eq!(first.len() + second.len(), 5);
    assert_eq!(read_json(&one)["shard"]["count"], 2);

    let merged = dir.join("merged.json");
    let output = run(wasmgate(&dir)
        .arg("merge")
        .arg(&one)
        .arg(&two)
        .arg("--out")
        .arg(&merged));
    assert!(output.status.success(), "{}", stderr(&output));
    // The same set of samples as one unsharded run of the same plan.
    let whole = shard("");
    let pairs_of = |path: &Path| -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = read_json(path)["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["test"].as_str().unwrap().into(),
                    s["runtime"].as_str().unwrap().into(),
                )
            })
            .collect();
        pairs.sort();
        pairs
    };
    assert_eq!(pairs_of(&merged), pairs_of(&whole));
    assert_eq!(pairs_of(&merged).len(), 20);
    let compared = run(wasmgate(&dir)
        .arg("compare")
        .arg(&merged)
        .args(["--base", "a", "--head", "b"]));
    assert!(
        compared.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&compared)
    );
    assert!(stdout(&compared).contains("hashing"));

    let overlap = run(wasmgate(&dir)
        .arg("merge")
        .arg(&one)
        .arg(&one)
        .arg("--out")
        .arg(dir.join("x.json")));
    assert_eq!(overlap.status.code(), Some(2));
    assert!(
        stderr(&overlap).contains("shards must not overlap"),
        "{}",
        stderr(&overlap)
    );
}
