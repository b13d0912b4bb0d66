//! The differential nightly on real samples: three nights of wasmtime builds (wrapper scripts
//! around the real wasmtime; the third compiles with the single-pass register allocator, a
//! real regression), each measured in one paired run against the kept builds of earlier
//! nights; the history, the kept builds and the issue's bisect command.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::process::Output;

/// A night's "build": a script that runs the real wasmtime, with `flags` after `run`.
fn build(dir: &Path, night: u32, wasmtime: &str, flags: &str) -> PathBuf {
    let path = dir.join(format!("night-{night}")).join("wasmtime");
    wasmtime_wrapper(&path, &format!("night {night}"), wasmtime, flags);
    path
}

fn night(dir: &Path, binary: &Path, commit: &str) -> Output {
    run(wasmgate(dir)
        .env_remove("GITHUB_SHA")
        .env_remove("GITHUB_OUTPUT")
        .args(["nightly", "--adapter", "wasmtime", "--binary"])
        .arg(binary)
        .args(["--commit", commit, "--kept", "kept", "--runner", "test"])
        .args(["--tests", "hash", "--samples", "10", "--precision", "0"]))
}

fn commit(night: u32) -> String {
    night.to_string().repeat(40)
}

fn kept_commits(dir: &Path) -> Vec<String> {
    read_json(&dir.join("kept/nights.json"))["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["commit"].as_str().unwrap().to_string())
        .collect()
}

/// Six builds older than night 1 (`old1` the oldest), as if kept by earlier nights, whose
/// binaries have changed since: never measured (a warning says why), and the oldest is pruned
/// on night 3.
fn seed_changed_builds(dir: &Path) {
    let mut index = read_json(&dir.join("kept/nights.json"));
    let builds = index["builds"].as_array_mut().unwrap();
    for old in (1..=6).rev() {
        // Inserted before night 1, newest first, so the index stays oldest first.
        let binary = format!("builds/old-{old}");
        std::fs::write(dir.join("kept").join(&binary), "changed since").unwrap();
        let build = serde_json::json!({
            "commit": format!("01d{old}"),
            "date": "long ago",
            "binary": binary,
            "sha256": "0".repeat(64),
        });
        builds.insert(0, build);
    }
    std::fs::write(
        dir.join("kept/nights.json"),
        serde_json::to_string(&index).unwrap(),
    )
    .unwrap();
}

#[test]
fn three_nights_record_compare_and_catch_a_regression_with_its_bisect_command() {
    built_suite();
    let dir = tempdir_without_disturbance_detection();
    let wasmtime = wasmtime_path();
    let help = run(std::process::Command::new(&wasmtime).args(["run", "-O", "help"]));
    assert!(
        stdout(&help).contains("regalloc-algorithm=backtracking|single-pass"),
        "this wasmtime has no single-pass register allocator to regress with"
    );

    // Night 1: nothing kept, so it is measured alone, recorded and kept.
    let first = night(&dir, &build(&dir, 1, &wasmtime, ""), &commit(1));
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stdout(&first).contains("first night: nothing to compare with; kept for tomorrow"));
    assert_eq!(kept_commits(&dir), [commit(1)]);

    // The same commit again is refused in one line, before measuring, with its own exit code
    // (a scheduled job takes it as a quiet night).
    let again = night(&dir, &build(&dir, 1, &wasmtime, ""), &commit(1));
    assert_eq!(again.status.code(), Some(3));
    let error = stderr(&again);
    assert!(
        error.contains("already measured") && error.contains("--force"),
        "{error}"
    );
    assert_eq!(error.trim().lines().count(), 1, "{error}");

    // Night 2: the same wasmtime, paired against night 1: unchanged.
    let second = night(&dir, &build(&dir, 2, &wasmtime, ""), &commit(2));
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let comparison = read_json(&dir.join("nightly.comparison.json"));
    assert_eq!(comparison["paired"], true);
    assert_eq!(comparison["base"]["commit"], commit(1));
    assert_eq!(comparison["head"]["commit"], commit(2));
    assert_eq!(comparison["gate_failed"], false);
    assert_eq!(kept_commits(&dir), [commit(1), commit(2)]);

    // Night 3: single-pass register allocation, against nights 2 and 1 (the changed old
    // builds 4 and 8 nights back are left out).
    seed_changed_builds(&dir);
    let slower = "-O regalloc-algorithm=single-pass";
    let third = night(&dir, &build(&dir, 3, &wasmtime, slower), &commit(3));
    assert_eq!(third.status.code(), Some(1), "{}", stderr(&third));
    let said = stderr(&third);
    assert_eq!(
        said.matches("its sha256 no longer matches").count(),
        2,
        "{said}"
    );
    let last_night = read_json(&dir.join("nightly.comparison.json"));
    assert_eq!(last_night["base"]["commit"], commit(2));
    assert_eq!(last_night["tests"][0]["verdict"], "regression");
    // Last night's link carries the regression's evidence (or a line why it has none); a
    // longer link does not profile again.
    assert!(
        last_night["tests"][0]["evidence"].is_object(),
        "{last_night}"
    );
    let two_back = read_json(&dir.join("nightly.t-2.comparison.json"));
    assert_eq!(two_back["base"]["commit"], commit(1));
    assert!(two_back["tests"][0].get("evidence").is_none(), "{two_back}");
    assert!(stdout(&third).contains("t-2 ("), "{}", stdout(&third));
    let report = std::fs::read_to_string(dir.join("nightly.report.md")).unwrap();
    assert!(report.starts_with("## Tonight against earlier nights\n"));

    // The history: one line a night, the third with its two links.
    let history = std::fs::read_to_string(dir.join("kept/nightly.history.jsonl")).unwrap();
    let nights: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(nights.len(), 3);
    assert_eq!(nights[0]["links"].as_array().unwrap().len(), 0);
    assert_eq!(nights[1]["links"][0]["against"], commit(1));
    let links = nights[2]["links"].as_array().unwrap();
    let backs: Vec<u64> = links
        .iter()
        .map(|l| l["nights_back"].as_u64().unwrap())
        .collect();
    assert_eq!(backs, [1, 2]);
    assert_eq!(links[0]["tests"]["hash"]["verdict"], "regression");
    assert!(links[0]["tests"]["hash"]["ratio"].as_f64().unwrap() > 1.05);
    assert_eq!(nights[2]["runner"], "test");

    // Kept: nine builds, so the oldest changed one is pruned, index and file.
    let kept = kept_commits(&dir);
    assert_eq!(kept.len(), 8, "{kept:?}");
    assert_eq!(kept[0], "01d2");
    assert_eq!(kept[7], commit(3));
    assert!(!dir.join("kept/builds/old-1").exists());
    assert!(dir.join("kept/builds/old-2").exists());

    // The issue names last night's range and the command that finds the culprit.
    let issue = run(wasmgate(&dir)
        .env_remove("GITHUB_SHA")
        .args(["publish", "nightly.comparison.json", "--issue", "--dry-run"])
        .args([
            "--repo",
            "acme/runtime",
            "--drift",
            "nightly.t-2.comparison.json",
        ])
        .args(["--bisect-build", "cargo build --release"]));
    assert!(issue.status.success(), "{}", stderr(&issue));
    let text = stdout(&issue);
    assert!(text.contains("(last night) and `333333333333`"), "{text}");
    assert!(
        text.contains(&format!(
            "wasmgate bisect --repo . --good {} --bad {} --build 'cargo build --release' --adapter wasmtime --tests hash",
            commit(2),
            commit(3)
        )),
        "{text}"
    );
}
