//! Runtimes built from their upstream git repositories (WAMR's iwasm and wamrc, wazero): built
//! through the mirror setting (WASMGATE_GIT_MIRROR, which CI points at local copies of the
//! upstream repositories; unset, they are cloned from github.com), run on real modules and
//! agreeing with wasmtime; the commit pin, the prerequisites and the AOT guard refuse in one line.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::process::Command;

#[test]
#[ignore = "needs WAMR and wazero built from source (cmake, g++, libsimde-dev, llvm-19-dev, liblld-19-dev, libpolly-19-dev), minutes: run with --include-ignored"]
fn source_built_runtimes_run_real_modules_and_agree_with_wasmtime() {
    built_suite();
    let dir = tempdir_without_disturbance_detection();
    let runtimes = ["wasmtime", "iwasm", "iwasm-aot", "wazero"];
    let results = run_once_each(&dir, &runtimes, "sign,hash,box", &dir.join("r.json"));
    let samples = results["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3 * runtimes.len());
    for test in ["sign", "hash", "box"] {
        let of = |runtime: &str| {
            samples
                .iter()
                .find(|s| s["test"] == test && s["runtime"] == runtime)
                .unwrap()
        };
        for runtime in &runtimes[1..] {
            let sample = of(runtime);
            assert_eq!(sample["exit_code"], of("wasmtime")["exit_code"], "{sample}");
            assert_eq!(sample["status"], "ok", "{sample}");
            assert!(sample["value_ps"].as_u64().unwrap() > 0);
        }
    }
    let version = |name: &str| {
        let runtimes = results["runtimes"].as_array().unwrap();
        let runtime = runtimes.iter().find(|r| r["name"] == name).unwrap();
        runtime["version"].as_str().unwrap().to_string()
    };
    // Read from the binaries: the versions upstream's builds stamp in.
    assert_eq!(version("iwasm"), "iwasm 2.4.5");
    assert_eq!(version("iwasm-aot"), "iwasm 2.4.5, wamrc 2.4.5");
    assert_eq!(version("wazero"), "v1.9.0");
    // The compiled modules are cached and their compile times recorded.
    let aot = results["aot"].as_array().unwrap();
    assert_eq!(aot.len(), 3, "{aot:?}");
    assert!(
        aot.iter()
            .all(|r| r["runtime"] == "iwasm-aot" && r["error"].is_null())
    );
}

/// A repository of one commit tagged `v1`, and a second commit: the tag's commit and the other.
fn repository_with_a_tag() -> (PathBuf, String, String) {
    let repo = bare_tempdir();
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    let made_in = format!("# made in {}\n", repo.display());
    std::fs::write(
        repo.join("runtime.sh"),
        format!("#!/bin/sh\necho runtime 1.0\n{made_in}"),
    )
    .unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "one"]);
    git(&["tag", "v1"]);
    let tagged = git(&["rev-parse", "HEAD"]);
    std::fs::write(repo.join("runtime.sh"), "#!/bin/sh\necho runtime 2.0\n").unwrap();
    git(&["commit", "-q", "-am", "two"]);
    let other = git(&["rev-parse", "HEAD"]);
    (repo, tagged, other)
}

/// `wasmgate setup` of one runtime declared by `entry`; returns its exit code and stderr.
fn setup_with(entry: &str, name: &str) -> (Option<i32>, String) {
    let dir = tempdir();
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(&dir), entry),
    )
    .unwrap();
    // The shared cache: the repository's commits are new every time (they name their own
    // folder), so no build of another test or run can answer for this one.
    let output = run(wasmgate(&dir).args(["setup", "--runtimes", name]));
    (output.status.code(), stderr(&output))
}

fn local_entry(name: &str, repo: &Path, commit: &str, debian: &str) -> String {
    format!(
        "  {name}:\n    install:\n      git: {}\n      tag: v1\n      commit: {commit}\n      debian: [{debian}]\n      build:\n        - [cp, runtime.sh, \"{{out}}/runtime\"]\n        - [chmod, \"+x\", \"{{out}}/runtime\"]\n      binary: runtime\n    run: [\"{{bin}}\", \"{{module}}\"]\n    version: [\"{{bin}}\"]\n",
        repo.display()
    )
}

#[test]
fn a_tag_that_resolves_to_another_commit_is_refused_in_one_line() {
    let (repo, tagged, other) = repository_with_a_tag();
    let (code, message) = setup_with(&local_entry("moved", &repo, &other, ""), "moved");
    assert_eq!(code, Some(2), "{message}");
    let errors: Vec<&str> = message
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{message}");
    assert!(
        errors[0].contains("tag v1 of")
            && errors[0].contains(&format!(
                "is commit {tagged}, but `install.commit` pins {other}"
            )),
        "{message}"
    );
}

#[test]
fn the_pinned_commit_builds_and_a_missing_debian_package_is_named() {
    let (repo, tagged, _) = repository_with_a_tag();
    let (code, message) = setup_with(&local_entry("pinned", &repo, &tagged, ""), "pinned");
    // It builds, then fails the tiny-module check (it is no WebAssembly runtime): it got that far.
    assert!(message.contains("wasmgate: built pinned in"), "{message}");
    assert_eq!(code, Some(2), "{message}");
    let entry = local_entry("needy", &repo, &tagged, "no-such-package-wasmgate");
    let (code, message) = setup_with(&entry, "needy");
    assert_eq!(code, Some(2), "{message}");
    let error = message.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(
        error.ends_with(
            "needs Debian packages that are not installed: apt-get install no-such-package-wasmgate"
        ),
        "{message}"
    );
}

#[test]
#[ignore = "needs WAMR built from source (cmake, g++, libsimde-dev, llvm-19-dev, liblld-19-dev, libpolly-19-dev): run with --include-ignored"]
fn an_aot_adapter_that_runs_no_compiled_code_is_refused() {
    built_suite();
    // iwasm with an "ahead-of-time step" that copies the module: iwasm then interprets the
    // copy and prints the right results, only slower. The guard must see it.
    let entry = "  iwasm-copy:\n    install: { path: iwasm }\n    aot: [cp, \"{module}\", \"{aot}\"]\n    run: [\"{bin}\", \"{aot}\"]\n    version: [\"{bin}\", --version]\n    aot_guard: { interpreter: [\"{bin}\", \"{module}\"], min_speedup: 5, hint: \"the aot step must compile\" }\n";
    let dir = tempdir();
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(&dir), entry),
    )
    .unwrap();
    let iwasm = runtime_path("iwasm");
    let (message, error) = refused_run(&dir, &format!("iwasm-copy={iwasm}"), "r.json");
    assert!(
        error.contains("runtime `iwasm-copy` (iwasm 2.4.5) is refused: a compiled loop ran only")
            && error.ends_with("the aot step must compile (`runtimes.iwasm-copy.run`)"),
        "{message}"
    );
    assert!(!dir.join("r.json").exists(), "nothing was measured");
}

#[test]
#[ignore = "needs WasmEdge built from source (cmake, g++, llvm-19-dev, liblld-19-dev, libspdlog-dev, libfmt-dev), about 5 minutes: run with --include-ignored"]
fn wasmedge_runs_compiled_code_only_with_its_run_mode_and_the_guard_knows() {
    built_suite();
    // The configured adapter (`--run-mode=aot`) passes the guard and runs real modules.
    let dir = tempdir_without_disturbance_detection();
    let runtimes = ["wasmtime", "wasmedge-aot"];
    let results = run_once_each(&dir, &runtimes, "sign,hash,box", &dir.join("r.json"));
    let samples = results["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 6);
    for sample in samples {
        assert_eq!(sample["status"], "ok", "{sample}");
        assert_eq!(sample["exit_code"], 0, "{sample}");
    }
    // Its interpreter, on the quickest of them (it takes 150-280 times as long).
    let interpreted = run_once_each(&dir, &["wasmedge"], "hash", &dir.join("i.json"));
    let hash = |samples: &Value, runtime: &str| {
        let samples = samples["samples"].as_array().unwrap();
        let sample = samples
            .iter()
            .find(|s| s["test"] == "hash" && s["runtime"] == runtime)
            .unwrap();
        assert_eq!(sample["status"], "ok", "{sample}");
        sample["value_ps"].as_f64().unwrap()
    };
    assert!(
        hash(&interpreted, "wasmedge") > 20.0 * hash(&results, "wasmedge-aot"),
        "the compiled module runs as native code"
    );
    // The same adapter without the flag: WasmEdge interprets the compiled file, and is refused.
    let entry = "  wasmedge-noflag:\n    install: { path: wasmedge }\n    aot: [\"{bin}\", compile, \"{module}\", \"{aot}\"]\n    aot_extension: so\n    run: [\"{bin}\", \"{aot}\"]\n    version: [\"{bin}\", --version]\n    aot_guard: { interpreter: [\"{bin}\", \"{module}\"], min_speedup: 5, hint: \"add --run-mode=aot\" }\n";
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(&dir), entry),
    )
    .unwrap();
    let wasmedge = runtime_path("wasmedge");
    let (message, error) = refused_run(&dir, &format!("wasmedge-noflag={wasmedge}"), "noflag.json");
    assert!(
        error.contains("runtime `wasmedge-noflag` (wasmedge version 0.17.1) is refused")
            && error.ends_with("add --run-mode=aot (`runtimes.wasmedge-noflag.run`)"),
        "{message}"
    );
}

/// `wasmgate run` of one sample of hash on `runtime`, which must be refused (exit 2): its
/// stderr and the error line.
fn refused_run(dir: &Path, runtime: &str, out: &str) -> (String, String) {
    let output = run(wasmgate(dir).args([
        "run",
        "--tests",
        "hash",
        "--samples",
        "1",
        "--precision",
        "0",
        "--runtime",
        runtime,
        "--out",
        out,
    ]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    let error = message
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap()
        .to_string();
    (message, error)
}
