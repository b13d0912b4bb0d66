//! The evidence with a changed test on real runtimes under Linux perf: a planted regression
//! (wasmtime with explicit bounds checks, `-O signals-based-traps=n`, against itself) attributed
//! to libsodium's functions by name, in the comparison, the comment and the HTML report; node's
//! profile through V8's symbol map; a runtime without a symbol map said to have none; an A/A
//! gate, which calls nothing, carrying no evidence; and a bisect's first bad commit with its
//! evidence.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

/// Both sides behind the same kind of script (a script starts `sh` first, which a bare binary
/// does not), the head's passing `flags` to `wasmtime run`.
fn scripts(dir: &Path, flags: &str) -> (PathBuf, PathBuf) {
    let wasmtime = wasmtime_path();
    let (base, head) = (dir.join("base.sh"), dir.join("head.sh"));
    wasmtime_wrapper_of(&base, "wasmtime as it is", &wasmtime, "run", "");
    wasmtime_wrapper_of(&head, "wasmtime with a flag", &wasmtime, "run", flags);
    (base, head)
}

/// `wasmgate gate` of `tests`, base against head, on the last core; its comparison.
fn gate(dir: &Path, tests: &str, base: &str, head: &str) -> (std::process::Output, Value) {
    let output = run(wasmgate(dir)
        .args([
            "gate", "--tests", tests, "--budget", "3m", "--out", "g.json",
        ])
        .args(["--runtime", base, "--runtime", head])
        .args(["--base", "base", "--head", "head"]));
    let comparison = read_json(&dir.join("g.comparison.json"));
    (output, comparison)
}

/// The functions a test's evidence lists, most of the change first.
fn functions(test: &Value) -> Vec<(String, f64)> {
    let profiled = &test["evidence"]["profiled"];
    assert!(profiled.is_object(), "no profile: {test}");
    (profiled["functions"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["function"].as_str().unwrap().to_string(),
                f["part_of_change"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs Debian's linux-perf: run with --include-ignored"]
fn a_planted_regression_is_attributed_to_libsodiums_functions() {
    built_suite();
    let dir = tempdir();
    let (base, head) = scripts(&dir, "-O signals-based-traps=n");
    let (output, comparison) = gate(
        &dir,
        "box,sign",
        &format!("base@wasmtime={}", base.display()),
        &format!("head@wasmtime={}", head.display()),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // The multiplications of the curve arithmetic carry the bounds checks' cost.
    let curve = [
        "__multi3",
        "fe25519_mul",
        "crypto_scalarmult_curve25519_ref10",
    ];
    for test in comparison["tests"].as_array().unwrap() {
        assert_eq!(test["verdict"], "regression", "{test}");
        let found = functions(test);
        let top: Vec<&str> = found.iter().take(3).map(|(f, _)| f.as_str()).collect();
        assert!(curve.contains(&top[0]), "{top:?}");
        assert!(
            found.iter().all(|(f, _)| !f.starts_with("function[")),
            "a function of the module without its name: {found:?}"
        );
        let carried: f64 = found.iter().take(3).map(|(_, part)| part).sum();
        assert!(carried > 0.6, "{found:?}");
        let samples = &test["evidence"]["profiled"]["base"]["samples"];
        assert!(samples.as_u64().unwrap() > 1000, "{samples}");
    }
    // The comment: one line why, then under the table the functions with their parts.
    let comment = std::fs::read_to_string(dir.join("wasmgate-report.md")).unwrap();
    assert!(
        comment.contains("**The gate failed: 2 tests and 2 categories are slower**"),
        "{comment}"
    );
    assert!(comment.contains("**Where the change went**"), "{comment}");
    let line = (comment.lines())
        .find(|l| l.starts_with("    - `") && l.ends_with(" of the change"))
        .unwrap_or_else(|| panic!("no evidence line: {comment}"));
    assert!(line.contains(" of base time: "), "{line}");
    // The profiles ran after the verdict: judging the same samples again, without them,
    // gives the same verdicts, changes and intervals.
    let again = run(wasmgate(&dir).args([
        "compare", "g.json", "--base", "base", "--head", "head", "--out", "c.json",
    ]));
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    let judged = read_json(&dir.join("c.json"));
    for (with, without) in comparison["tests"]
        .as_array()
        .unwrap()
        .iter()
        .zip(judged["tests"].as_array().unwrap())
    {
        for field in ["test", "verdict", "ratio", "ci_low", "ci_high", "q_value"] {
            assert_eq!(with[field], without[field], "{field}: {with} / {without}");
        }
        assert!(without.get("evidence").is_none());
    }
    assert!(
        comparison["tests"][0]["evidence"]["profiled"]["event"]
            .as_str()
            .unwrap()
            .contains(":u"),
        "a user-space event"
    );
    // Each side's folded stacks and flame graph beside the results, for the artifact.
    let folded = std::fs::read_to_string(dir.join("g.evidence/box.base.folded")).unwrap();
    assert!(
        folded.lines().any(|l| l.contains(";fe25519_mul;__multi3 ")),
        "{folded}"
    );
    let svg = std::fs::read_to_string(dir.join("g.evidence/sign.head.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("fe25519_mul"));
    // The terminal, and the HTML report with both sides' flame graphs.
    assert!(
        stdout(&output).contains(" of base time: "),
        "{}",
        stdout(&output)
    );
    let html = dir.join("r.html");
    let report = run(wasmgate(&dir)
        .args(["report", "g.json", "--evidence", "g.comparison.json"])
        .args(["--format", "html", "--out"])
        .arg(&html));
    assert!(report.status.success(), "{}", stderr(&report));
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.contains("<h2>Where the change went</h2>"));
    assert!(html.contains("aria-label=\"box on base (base)\""));
    assert!(html.contains("aria-label=\"sign on head (head)\""));
    assert!(html.contains("<code>fe25519_mul</code>"));
}

#[test]
#[ignore = "needs Debian's linux-perf: run with --include-ignored"]
fn node_is_profiled_through_v8s_map_and_a_runtime_without_a_map_is_said_to_have_none() {
    built_suite();
    let dir = tempdir();
    // A runtime like wasmtime but without a `profile` command: it writes no symbol map.
    let config = std::fs::read_to_string(dir.join("wasmgate.yml")).unwrap();
    let unmapped = "\nruntimes:\n  mapless:\n    install: { path: wasmtime, hint: the tests give its path }\n    run: [\"{bin}\", run, \"{module}\"]\n    version: [\"{bin}\", --version]\n";
    assert_eq!(config.matches("\nruntimes:\n").count(), 1);
    let config = config.replacen("\nruntimes:\n", unmapped, 1);
    std::fs::write(dir.join("wasmgate.yml"), config).unwrap();
    // Tests node runs at a speed of its own (on `box` it matches wasmtime).
    let tests = "hash,kdf,sign";
    let (output, comparison) = gate(
        &dir,
        tests,
        &format!("base@mapless={}", wasmtime_path()),
        "head@node",
    );
    assert!(output.status.code().is_some(), "{}", stderr(&output));
    let called = changed(&comparison);
    assert!(
        !called.is_empty(),
        "node and wasmtime differ on one of {tests}"
    );
    for test in called {
        let why = test["evidence"]["unavailable"].as_str().unwrap();
        assert!(
            why.starts_with("base (adapter mapless) writes no symbol map for a profiler")
                || why.starts_with("not profiled: only the"),
            "{why}"
        );
    }
    // Node alone: its own profile names the module's functions through V8's map.
    let dir = tempdir();
    let (output, comparison) = gate(
        &dir,
        tests,
        &format!("base@wasmtime={}", wasmtime_path()),
        "head@node",
    );
    assert!(output.status.code().is_some(), "{}", stderr(&output));
    let test = changed(&comparison)[0];
    let head = &test["evidence"]["profiled"]["head"];
    assert_eq!(head["runtime"], "head", "{test}");
    // A frame of the module's code, named: neither a runtime's `[symbol]` nor `function[N]`.
    let stacks = head["stacks"].as_object().unwrap();
    let named = |frame: &str| !frame.starts_with('[') && !frame.starts_with("function[");
    assert!(
        stacks.keys().any(|stack| stack.split(';').any(named)),
        "{:?}",
        stacks.keys().take(5).collect::<Vec<_>>()
    );
}

/// The tests a comparison called changed.
fn changed(comparison: &Value) -> Vec<&Value> {
    (comparison["tests"].as_array().unwrap().iter())
        .filter(|t| ["regression", "improvement"].contains(&t["verdict"].as_str().unwrap()))
        .collect()
}

#[test]
#[ignore = "needs Debian's linux-perf: run with --include-ignored"]
fn a_gate_that_calls_nothing_carries_no_evidence() {
    built_suite();
    let dir = tempdir();
    let (base, head) = scripts(&dir, "");
    let (output, comparison) = gate(
        &dir,
        "box,kdf",
        &format!("base@wasmtime={}", base.display()),
        &format!("head@wasmtime={}", head.display()),
    );
    assert!(output.status.code().is_some(), "{}", stderr(&output));
    // Evidence is taken for a test called changed, and for no other.
    for test in comparison["tests"].as_array().unwrap() {
        let changed = ["regression", "improvement"].contains(&test["verdict"].as_str().unwrap());
        assert_eq!(test.get("evidence").is_some(), changed, "{test}");
    }
    let comment = std::fs::read_to_string(dir.join("wasmgate-report.md")).unwrap();
    let called = comparison["tests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t.get("evidence").is_some());
    assert_eq!(
        comment.contains("Where the change went"),
        called,
        "{comment}"
    );
}

/// A repository of three commits holding `runtime.sh`: wasmtime, then from commit 2 on with
/// Cranelift's single-pass register allocator (much slower code). Returns it and its commits.
fn slower_from_commit_2() -> (PathBuf, Vec<String>) {
    let wasmtime = wasmtime_path();
    let repo = bare_tempdir();
    git(&repo, &["init", "-q"]);
    let mut commits = Vec::new();
    for n in 1..=3 {
        let flags = if n >= 2 {
            "-O regalloc-algorithm=single-pass"
        } else {
            ""
        };
        wasmtime_wrapper_of(
            &repo.join("runtime.sh"),
            &format!("commit {n}"),
            &wasmtime,
            "run",
            flags,
        );
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", &format!("commit {n}")]);
        commits.push(git(&repo, &["rev-parse", "HEAD"]));
    }
    (repo, commits)
}

#[test]
#[ignore = "needs Debian's linux-perf: run with --include-ignored"]
fn a_bisects_first_bad_commit_says_where_its_change_went() {
    built_suite();
    let (repo, commits) = slower_from_commit_2();
    let dir = tempdir();
    let build = "git -C {repo} show {commit}:runtime.sh > {out} && chmod +x {out}";
    let output = run(wasmgate(&dir)
        .arg("bisect")
        .arg("--repo")
        .arg(&repo)
        .args([
            "--good",
            &commits[0],
            "--bad",
            &commits[2],
            "--build",
            build,
        ])
        .args([
            "--adapter",
            "wasmtime",
            "--tests",
            "stream",
            "--budget",
            "3m",
        ]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let record = read_json(&dir.join("bisect.json"));
    assert_eq!(record["outcome"]["first_bad"]["subject"], "commit 2");
    let evidence = &record["evidence"][0];
    assert_eq!(evidence["test"], "stream");
    let functions = evidence["evidence"]["profiled"]["functions"]
        .as_array()
        .unwrap();
    let top = functions[0]["function"].as_str().unwrap();
    assert!(
        !top.starts_with('[') && !top.starts_with("function["),
        "{top}"
    );
    let printed = stdout(&output);
    assert!(printed.contains("  stream (+"), "{printed}");
    assert!(printed.contains(&format!("    {top} +")), "{printed}");
}
