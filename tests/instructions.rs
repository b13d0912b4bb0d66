//! The instructions measure on real modules and real runtimes under Debian's valgrind: counts
//! per iteration that repeat exactly on wasmtime, an A/A comparison that calls them unchanged
//! without a test statistic (on one sample a side by default), a runtime whose count wanders
//! shown with its spread (not hidden), and a machine without valgrind told which package to
//! install.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

/// `samples` samples each (the measure's own sampling when `None`) of `tests` on `runtimes`
/// under the instructions measure, in `dir`.
fn counted_run(dir: &Path, runtimes: &[&str], tests: &str, samples: Option<u32>) -> Value {
    let out = dir.join("r.json");
    let mut command = wasmgate(dir);
    command.args([
        "run",
        "--measure",
        "instructions",
        "--tests",
        tests,
        "--quiet",
    ]);
    if let Some(samples) = samples {
        command.args(["--samples", &samples.to_string(), "--precision", "0"]);
    }
    command.arg("--out").arg(&out);
    for runtime in runtimes {
        command.args(["--runtime", runtime]);
    }
    let output = run(&mut command);
    assert!(output.status.success(), "{}", stderr(&output));
    read_json(&out)
}

/// The per-iteration counts of `test` on `runtime`, in round order.
fn counts(results: &Value, test: &str, runtime: &str) -> Vec<f64> {
    let samples = results["samples"].as_array().unwrap();
    samples
        .iter()
        .filter(|s| s["test"] == test && s["runtime"] == runtime && s["status"] == "ok")
        .map(|s| s["instructions"].as_f64().unwrap())
        .collect()
}

fn spread(values: &[f64]) -> f64 {
    let low = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let high = values.iter().cloned().fold(0.0, f64::max);
    (high - low) / low
}

#[test]
#[ignore = "needs Debian's valgrind: run with --include-ignored"]
fn wasmtime_counts_repeat_exactly_and_an_aa_comparison_is_exact() {
    let dir = tempdir();
    // box_easy2 draws its message lengths at random: with the fixed stream, its count repeats.
    let results = counted_run(
        &dir,
        &["a@wasmtime", "b@wasmtime"],
        "hash,auth,box_easy2",
        Some(2),
    );
    assert_eq!(results["measure"], "instructions");
    let record = &results["instructions"];
    assert!(record["counter"].as_str().unwrap().starts_with("valgrind"));
    // The smaller modules are a tier below the measured ones.
    let suite = results["suite"]["tests"].as_array().unwrap();
    let hash = suite.iter().find(|t| t["name"] == "hash").unwrap();
    let low = record["low_iterations"]["hash"].as_u64().unwrap();
    assert!(low < hash["iterations"].as_u64().unwrap());
    for test in ["hash", "auth", "box_easy2"] {
        let all: Vec<f64> = [counts(&results, test, "a"), counts(&results, test, "b")].concat();
        assert_eq!(all.len(), 4, "{test}: {all:?}");
        // Per iteration, start-up and compilation gone: tens of thousands of instructions of
        // a libsodium call, never the ~65 million of wasmtime starting.
        if test != "box_easy2" {
            assert!(
                all.iter().all(|c| *c > 1_000.0 && *c < 10_000_000.0),
                "{all:?}"
            );
        }
        assert!(spread(&all) < 0.001, "{test}: {all:?}");
        // No clock under the counter: no time is recorded as a value.
        assert!(
            results["samples"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["value_ps"].is_null())
        );
    }
    let output = run(wasmgate(&dir).args(["compare", "r.json", "--base", "a", "--head", "b"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("measure: instructions executed per iteration"),
        "{text}"
    );
    assert!(
        text.contains("exact: each side's counts repeated"),
        "{text}"
    );
    assert!(text.contains("0 regressions · 3 unchanged"), "{text}");
}

#[test]
#[ignore = "needs Debian's valgrind: run with --include-ignored"]
fn by_default_first_counts_that_agree_settle_a_test_with_one_sample_a_side() {
    let dir = tempdir();
    let results = counted_run(&dir, &["a@wasmtime", "b@wasmtime"], "hash,auth", None);
    for test in ["hash", "auth"] {
        let (a, b) = (counts(&results, test, "a"), counts(&results, test, "b"));
        assert_eq!((a.len(), b.len()), (1, 1), "{test}: {a:?} {b:?}");
    }
    let output = run(wasmgate(&dir).args(["compare", "r.json", "--base", "a", "--head", "b"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("exact: one count a side"), "{text}");
    assert!(text.contains("0 regressions · 2 unchanged"), "{text}");
}

#[test]
#[ignore = "needs Debian's valgrind: run with --include-ignored"]
fn a_runtime_whose_count_wanders_is_shown_with_its_spread() {
    let dir = tempdir();
    // wasmtime behind a start-up of random length: a runtime whose count is not deterministic.
    let script = dir.join("wandering.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nn=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')\nn=$((n % 3000)); i=0\nwhile [ $i -lt $n ]; do i=$((i + 1)); done\n\"$1\" run --allow-precompiled \"$2\"\n",
    )
    .unwrap();
    let entries = format!(
        "  wandering:\n    install: {{ path: {} }}\n    aot: [\"{{bin}}\", compile, --target, x86_64-unknown-linux-gnu, -C, cranelift-skylake, \"{{module}}\", -o, \"{{aot}}\"]\n    run: [sh, {}, \"{{bin}}\", \"{{aot}}\"]\n    version: [\"{{bin}}\", --version]\n",
        wasmtime_path(),
        script.display()
    );
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(&dir), &entries),
    )
    .unwrap();
    // Three samples: two of a wandering count agree to 0.1 % about once in a hundred runs.
    let results = counted_run(&dir, &["wasmtime", "wandering"], "hash", Some(3));
    let steady = counts(&results, "hash", "wasmtime");
    let wandering = counts(&results, "hash", "wandering");
    assert!(spread(&steady) < 0.001, "{steady:?}");
    assert!(wandering.len() >= 2, "{wandering:?}");
    assert!(spread(&wandering) > 0.001, "{wandering:?}");
    // The report shows the spread, and the comparison is left to the statistics.
    let output = run(wasmgate(&dir).args(["report", "r.json"]));
    let report = stdout(&output);
    let line = report.lines().find(|l| l.contains("hash")).unwrap();
    let spreads: Vec<&str> = line
        .split('±')
        .skip(1)
        .map(|s| s.split('%').next().unwrap())
        .collect();
    assert_eq!(spreads.len(), 2, "{line}");
    assert_eq!(spreads[0], "0.0", "{line}");
    assert_ne!(spreads[1], "0.0", "{line}");
    let args = [
        "compare",
        "r.json",
        "--base",
        "wasmtime",
        "--head",
        "wandering",
    ];
    let output = run(wasmgate(&dir).args(args));
    let text = stdout(&output);
    assert!(!text.contains("exact:"), "{text}");
}

#[test]
fn without_valgrind_the_run_stops_in_one_line_naming_the_package() {
    let dir = tempdir();
    // PATH without valgrind (wasmgate itself is started by its path).
    let output = run(wasmgate(&dir).env("PATH", "/nonexistent").args([
        "run",
        "--measure",
        "instructions",
        "--tests",
        "hash",
    ]));
    assert!(!output.status.success());
    let message = stderr(&output);
    let lines: Vec<&str> = message.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{message}");
    assert!(message.contains("apt-get install valgrind"), "{message}");
}
