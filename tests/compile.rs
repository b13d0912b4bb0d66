//! The compile measures on real modules and real runtimes: wasmtime's compile step timed per
//! module (node, which has none, left out in one line), the module's size and the time per
//! KiB in the report, a compile-only option called a compile regression, and the count of a
//! compile under valgrind repeating.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

/// `wasmgate run --measure MEASURE` of `tests` on `runtimes` in `dir`, writing `dir/r.json`.
fn compile_run(dir: &Path, measure: &str, runtimes: &[&str], tests: &str) -> std::process::Output {
    let mut command = wasmgate(dir);
    command.args(["run", "--measure", measure, "--tests", tests, "--quiet"]);
    command.args(["--samples", "3", "--precision", "0", "--out"]);
    command.arg(dir.join("r.json"));
    for runtime in runtimes {
        command.args(["--runtime", runtime]);
    }
    run(&mut command)
}

#[test]
fn each_sample_is_one_compile_and_a_runtime_without_a_compile_step_is_left_out() {
    built_suite();
    let dir = tempdir_without_disturbance_detection();
    let output = compile_run(&dir, "compile", &["wasmtime", "node"], "sign,kdf");
    assert!(output.status.success(), "{}", stderr(&output));
    let told: Vec<String> = (stderr(&output).lines())
        .filter(|l| l.contains("no compile step"))
        .map(str::to_string)
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("node") && told[0].contains("left out of the compile measure"));
    let results = read_json(&dir.join("r.json"));
    assert_eq!(results["measure"], "compile");
    let runtimes = results["runtimes"].as_array().unwrap();
    assert_eq!(runtimes.len(), 1, "node is left out");
    // The configured threads are pinned, and the command that ran is on record.
    assert_eq!(runtimes[0]["compile_threads"], "serial");
    let command = runtimes[0]["command"].to_string();
    assert!(command.contains("parallel-compilation=n"), "{command}");
    let samples = results["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2 * 3);
    for sample in samples {
        assert_eq!(sample["status"], "ok", "{sample}");
        // The value is the whole process's wall time.
        let value_ms = sample["value_ps"].as_f64().unwrap() / 1e9;
        let wall_ms = sample["wall_ms"].as_f64().unwrap();
        assert!(
            value_ms > 1.0 && (value_ms - wall_ms).abs() < 0.01,
            "{sample}"
        );
    }
    let output = run(wasmgate(&dir).arg("report").arg(dir.join("r.json")));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("compile time of the whole module"), "{text}");
    assert!(
        text.contains("module") && text.contains("KiB (code "),
        "{text}"
    );
    assert!(text.contains("/KiB"), "{text}");
    let markdown = run(wasmgate(&dir).arg("report").arg(dir.join("r.json")).args([
        "--format",
        "markdown",
        "--then-now",
    ]));
    assert!(markdown.status.success(), "{}", stderr(&markdown));
    let text = stdout(&markdown);
    assert!(text.contains("| module |"), "{text}");
    assert!(text.contains("compiling on one thread"), "{text}");
    assert!(
        stderr(&markdown).contains("the article did not measure compile time"),
        "{}",
        stderr(&markdown)
    );
    let html = run(wasmgate(&dir)
        .arg("report")
        .arg(dir.join("r.json"))
        .args(["--format", "html"]));
    assert!(html.status.success(), "{}", stderr(&html));
    let page = stdout(&html);
    assert!(
        page.contains("<p>Measured: compile time of the whole module"),
        "{page}"
    );
    assert!(
        page.contains("<th>module</th>") && page.contains("(code "),
        "{page}"
    );
}

#[test]
fn a_compile_measure_of_runtimes_without_a_compile_step_is_refused_in_one_line() {
    let dir = tempdir();
    let output = compile_run(&dir, "compile", &["node"], "sign");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    let refusal = text.lines().last().unwrap();
    assert!(
        refusal.contains("no runtime to measure compiling"),
        "{text}"
    );
    assert!(refusal.contains("wasmtime"), "names those with one: {text}");
}

#[test]
fn a_compile_only_option_is_a_compile_regression() {
    built_suite();
    let dir = tempdir_without_disturbance_detection();
    let wasmtime = wasmtime_path();
    // Cranelift's debug verifier checks the compiler's work and changes none of its code:
    // about a quarter more compile time for sign.wasm. Both sides are the same kind of script
    // (starting one costs a millisecond, a few percent of a compile).
    let base = dir.join("base-wasmtime");
    wasmtime_wrapper_of(&base, "as it is", &wasmtime, "compile", "");
    let head = dir.join("head-wasmtime");
    let verifier = "-C cranelift-debug-verifier=y";
    wasmtime_wrapper_of(&head, "verified", &wasmtime, "compile", verifier);
    let output = run(wasmgate(&dir)
        .args(["gate", "--measure", "compile", "--tests", "sign"])
        .args(["--runtime", &format!("base@wasmtime={}", base.display())])
        .args(["--runtime", &format!("head@wasmtime={}", head.display())])
        .args(["--base", "base", "--head", "head", "--budget", "2m"]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = std::fs::read_to_string(dir.join("wasmgate-report.md")).unwrap();
    assert!(report.contains("regression"), "{report}");
    let comparison = read_json(&dir.join("wasmgate-results.comparison.json"));
    let sign = &comparison["tests"][0];
    assert_eq!(sign["verdict"], "regression", "{sign}");
    assert!(sign["ratio"].as_f64().unwrap() > 1.05, "{sign}");
}

#[test]
#[ignore = "needs Debian's valgrind: run with --include-ignored"]
fn a_counted_compile_on_one_thread_repeats() {
    built_suite();
    let dir = tempdir();
    let output = compile_run(&dir, "compile-instructions", &["wasmtime"], "kdf");
    assert!(output.status.success(), "{}", stderr(&output));
    let results = read_json(&dir.join("r.json"));
    assert_eq!(results["measure"], "compile-instructions");
    assert!(
        results["instructions"]["counter"]
            .as_str()
            .unwrap()
            .starts_with("valgrind")
    );
    let counts: Vec<f64> = (results["samples"].as_array().unwrap().iter())
        .map(|s| {
            assert_eq!(s["status"], "ok", "{s}");
            assert!(s["value_ps"].is_null(), "a count has no clock: {s}");
            s["instructions"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(counts.len(), 3);
    // Tens of millions of instructions: a whole compile, nothing subtracted.
    assert!(counts[0] > 1e7, "{counts:?}");
    let low = counts.iter().cloned().fold(f64::INFINITY, f64::min);
    let high = counts.iter().cloned().fold(0.0, f64::max);
    assert!((high - low) / low < 1e-4, "{counts:?}");
}

#[test]
#[ignore = "needs Debian's valgrind: run with --include-ignored"]
fn the_runtime_list_says_whether_a_counted_compile_repeats() {
    built_suite();
    let dir = tempdir();
    let mut command = wasmgate(&dir);
    command.args(["runtimes", "--measure", "compile-instructions"]);
    command.args(["--runtimes", "wasmtime,node"]);
    let output = run(&mut command);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("node has no compile step"),
        "{}",
        stderr(&output)
    );
    let table = String::from_utf8_lossy(&output.stdout);
    let wasmtime = (table.lines())
        .find(|line| line.contains("wasmtime"))
        .unwrap_or_else(|| panic!("no wasmtime row: {table}"));
    assert!(
        wasmtime.contains("deterministic: 3 counts of hash")
            && !wasmtime.contains("not deterministic"),
        "{table}"
    );
    assert!(!table.contains("node"), "{table}");
}
