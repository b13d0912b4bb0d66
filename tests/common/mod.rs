//! Helpers shared by the end-to-end test files.
#![allow(dead_code)]

pub use serde_json::Value;
pub use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_wasmgate");

pub fn home() -> PathBuf {
    match std::env::var_os("WASMGATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasmgate-home"),
    }
}

pub fn wasmgate(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env("WASMGATE_HOME", home());
    command
}

pub fn run(command: &mut Command) -> Output {
    let output = command.output().expect("wasmgate starts");
    eprintln!(
        "$ {command:?}\n-- exit {:?}\n-- stdout\n{}\n-- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Builds the tests' suite once per test binary, so parallel tests never build it twice (the
/// build's own lock makes binaries running at once take turns).
pub fn built_suite() -> String {
    static BUILT: Mutex<Option<String>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(out) = built.as_ref() {
        return out.clone();
    }
    let output = run(wasmgate(&tempdir()).arg("build"));
    assert!(output.status.success(), "build failed: {}", stderr(&output));
    *built = Some(stdout(&output));
    stdout(&output)
}

/// The test programs the tests measure. Their configuration (`tempdir`) builds these alone:
/// a cold build of them takes about 2 minutes on 2 cores, of all 101 about 7. A test that
/// needs the whole suite works in a `bare_tempdir` and is in the full tier.
pub const TESTS: [&str; 9] = [
    "aead_aegis256",
    "auth",
    "box",
    "box_easy2",
    "hash",
    "kdf",
    "pwhash_argon2id",
    "sign",
    "stream",
];

/// The built-in default configuration, as the binary holds it.
pub const DEFAULT_CONFIG: &str = wasmgate::config::DEFAULT_YAML;

/// The tests' configuration: the default with `tests.include` set to `TESTS`.
pub fn tests_config() -> String {
    let default = "tests:\n  include: []";
    let config = DEFAULT_CONFIG.replacen(
        default,
        &format!("tests:\n  include: [{}]", TESTS.join(", ")),
        1,
    );
    assert_ne!(config, DEFAULT_CONFIG, "the default has `{default}`");
    config
}

/// A working directory whose wasmgate.yml is the tests' configuration (`tests_config`).
pub fn tempdir() -> PathBuf {
    let dir = bare_tempdir();
    std::fs::write(dir.join("wasmgate.yml"), tests_config()).unwrap();
    dir
}

/// An empty directory: a cache, a repository, or a working directory on the built-in default.
pub fn bare_tempdir() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

/// A temporary directory whose wasmgate.yml is the default with disturbance detection off. The
/// tests of a file run side by side, each pinned to the machine's last core, so their samples
/// disturb each other by design; a test that counts the samples it planned wants them all.
/// (Detection itself is tested in the unit tests, with a hog on a core.)
pub fn tempdir_without_disturbance_detection() -> PathBuf {
    let dir = tempdir();
    let config = default_config(&dir);
    let off = config.replacen(
        "  disturbance:\n    enabled: true\n",
        "  disturbance:\n    enabled: false\n",
        1,
    );
    assert_ne!(off, config, "the default turns detection on");
    std::fs::write(dir.join("wasmgate.yml"), off).unwrap();
    dir
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The suite directory printed by `wasmgate build`: "suite ... in DIR (1.2 s)" (the line
/// after it names the plan).
pub fn suite_dir(build_stdout: &str) -> PathBuf {
    let line = build_stdout
        .lines()
        .find(|l| l.starts_with("suite "))
        .expect("build prints its suite");
    let after = line
        .split(" in ")
        .nth(1)
        .expect("build prints its directory");
    PathBuf::from(after.rsplit_once(" (").unwrap().0)
}

pub fn journal_of(results: &Path) -> PathBuf {
    let mut name = results.file_name().unwrap().to_os_string();
    name.push(".journal");
    results.with_file_name(name)
}

/// Adds runtime entries (YAML lines indented by two spaces) to a configuration's `runtimes:`.
pub fn with_runtimes(config: &str, entries: &str) -> String {
    let config = config.replacen("\nruntimes:\n", &format!("\nruntimes:\n{entries}"), 1);
    assert!(config.contains(entries));
    config
}

pub fn default_config(dir: &Path) -> String {
    let output = run(wasmgate(dir).args(["config", "show"]));
    assert!(output.status.success());
    stdout(&output)
}

/// Waits until the journal holds a header and `samples` sample lines.
pub fn wait_for_samples(journal: &Path, samples: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let lines = std::fs::read_to_string(journal)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines > samples {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no samples in {}",
            journal.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One sample of each test on each runtime, in `dir` (whose wasmgate.yml, if any, applies); the
/// run itself must succeed (failed samples are data). Returns the results.
pub fn run_once_each(dir: &Path, runtimes: &[&str], tests: &str, out: &Path) -> Value {
    run_once_each_with(wasmgate(dir), runtimes, tests, out)
}

/// As `run_once_each`, with a command already set up (e.g. with another cache directory).
pub fn run_once_each_with(
    mut command: Command,
    runtimes: &[&str],
    tests: &str,
    out: &Path,
) -> Value {
    command
        .args([
            "run",
            "--tests",
            tests,
            "--samples",
            "1",
            "--precision",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(out);
    for runtime in runtimes {
        command.args(["--runtime", runtime]);
    }
    let output = run(&mut command);
    assert!(
        output.status.success(),
        "a failed sample is data, not a failed run: {}",
        stderr(&output)
    );
    read_json(out)
}

/// Runs one sample of `tests` on `runtimes`, declared by extra YAML entries under `runtimes:`;
/// the run itself must succeed (failed samples are data). Returns the directory and results.
pub fn run_with_runtimes(entries: &str, runtimes: &[&str], tests: &str) -> (PathBuf, PathBuf) {
    built_suite();
    // Its callers check each runtime's samples are ok: none may be marked disturbed.
    let dir = tempdir_without_disturbance_detection();
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(&dir), entries),
    )
    .unwrap();
    let out = dir.join("r.json");
    run_once_each(&dir, runtimes, tests, &out);
    (dir, out)
}

pub fn wasmtime_path() -> String {
    runtime_path("wasmtime")
}

/// The binary `wasmgate setup` installs (or builds) for a configured runtime.
pub fn runtime_path(name: &str) -> String {
    let dir = tempdir();
    let output = run(wasmgate(&dir).args(["setup", "--runtimes", name]));
    assert!(output.status.success(), "{}", stderr(&output));
    let line = stdout(&output)
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap()
        .to_string();
    line.rsplit_once(" (")
        .unwrap()
        .1
        .trim_end_matches(')')
        .to_string()
}

/// `wasmgate run` of the same wasmtime as `a` and `b`, writing `out`; callers add the rest.
pub fn aa_command(dir: &Path, wasmtime: &str, out: &Path) -> Command {
    let mut command = wasmgate(dir);
    command
        .arg("run")
        .arg("--out")
        .arg(out)
        .arg("--runtime")
        .arg(format!("a@wasmtime={wasmtime}"))
        .arg("--runtime")
        .arg(format!("b@wasmtime={wasmtime}"));
    command
}

/// A real A/A run: the same wasmtime as `a` and `b`, fixed sample counts.
pub fn aa_run(dir: &Path, tests: &str, samples: u32) -> PathBuf {
    built_suite();
    let wasmtime = wasmtime_path();
    let out = dir.join("aa.json");
    let samples = samples.to_string();
    let output = run(aa_command(dir, &wasmtime, &out).args([
        "--tests",
        tests,
        "--samples",
        &samples,
        "--precision",
        "0",
        "--quiet",
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    out
}

/// Rewrites `b`'s samples as `a`'s times `factor`, in a copy of the results.
pub fn with_head_scaled(results: &Path, factor: f64, to: &Path) {
    let mut json = read_json(results);
    let base: Vec<Value> = json["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["runtime"] == "a")
        .cloned()
        .collect();
    let mut samples = base.clone();
    for sample in &base {
        let mut head = sample.clone();
        head["runtime"] = "b".into();
        head["value_ps"] = ((sample["value_ps"].as_f64().unwrap() * factor).round() as u64).into();
        samples.push(head);
    }
    json["samples"] = samples.into();
    std::fs::write(to, serde_json::to_string(&json).unwrap()).unwrap();
}

/// Three nights of wasmtime: the second 10 % slower on `sign`, called a regression.
pub fn write_history(path: &Path) {
    let night = |date: &str, sign: f64, regressions: &str| {
        format!(
            r#"{{"date":"{date}","commit":"c0ffee{date}","runtime_version":"wasmtime 49","suite_id":"s","tests":{{"sign":{{"median_ps":{sign},"ci_low_ps":null,"ci_high_ps":null,"samples":16}},"hash":{{"median_ps":2000.0,"ci_low_ps":null,"ci_high_ps":null,"samples":16}}}},"regressions":[{regressions}]}}"#
        )
    };
    let lines = [
        night("2026-11-01", 1000.0, ""),
        night("2026-11-02", 1100.0, "\"sign\""),
        night("2026-11-03", 1000.0, ""),
    ];
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// A runtime "build" at `path`: a script that runs the real `wasmtime` with `flags` after `run`
/// (`note` is its comment line, e.g. which night it is).
pub fn wasmtime_wrapper(path: &Path, note: &str, wasmtime: &str, flags: &str) {
    wasmtime_wrapper_of(path, note, wasmtime, "run", flags);
}

/// As `wasmtime_wrapper`, with `flags` after the wasmtime command `subcommand` (e.g. `compile`).
pub fn wasmtime_wrapper_of(path: &Path, note: &str, wasmtime: &str, subcommand: &str, flags: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!(
            "#!/bin/sh\n# {note}\nif [ \"$1\" = {subcommand} ]; then shift; exec '{wasmtime}' {subcommand} {flags} \"$@\"; fi\nexec '{wasmtime}' \"$@\"\n"
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(path, permissions).unwrap();
}

/// `git -C repo ARGS` with a fixed author, its output trimmed; a failure fails the test.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
