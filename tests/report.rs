//! The cross-runtime report as files: HTML opened in headless Chromium (Debian's package,
//! driven by playwright-core from npm), markdown with its charts and tables, from a real run
//! with native code, a failing runtime, the published 2023 results and a history.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::process::Command;

const PLAYWRIGHT: &str = "playwright-core@1.65.1";
const TESTS: &str = "sign,hash,box,aead_aegis256";

/// Installs playwright-core (the driver only; the browser is Debian's) into the target
/// directory once. Missing tools are errors that say how to install them.
fn playwright_dir() -> PathBuf {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} not found: install Debian's chromium (apt-get install chromium), or set CHROMIUM to its path"
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("playwright");
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        let status = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(PLAYWRIGHT)
            .status()
            .expect("npm is needed to install playwright-core: apt-get install npm");
        assert!(status.success(), "npm install {PLAYWRIGHT} failed");
    }
    dir
}

/// A real run of wasmtime and node (and native code when `native`: a native build of
/// libsodium, about 2 minutes cold), and a runtime that fails every test.
fn measured(dir: &Path, native: bool) -> PathBuf {
    built_suite();
    // One at a time: two first runs of `native` in a cold cache would build into the same
    // folder at once (a race in the native build, to be fixed there).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let broken = "  broken:\n    install: { path: sh }\n    run: [\"{bin}\", -c, \"echo 'missing import: wasi_snapshot_preview1.fd_write' >&2; exit 3\", \"{module}\"]\n    version: [\"{bin}\", -c, \"echo broken 1.0\"]\n";
    std::fs::write(
        dir.join("wasmgate.yml"),
        with_runtimes(&default_config(dir), broken),
    )
    .unwrap();
    let out = dir.join("r.json");
    let runtimes: &[&str] = if native {
        &["wasmtime", "node", "native", "broken"]
    } else {
        &["wasmtime", "node", "broken"]
    };
    run_once_each(dir, runtimes, TESTS, &out);
    write_history(&dir.join("wasmtime.history.jsonl"));
    out
}

fn report(dir: &Path, results: &Path, format: &str, out: &str) -> PathBuf {
    let output = run(wasmgate(dir).arg("report").arg(results).args([
        "--then-now",
        "--history",
        "wasmtime.history.jsonl",
        "--format",
        format,
        "--out",
        out,
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    dir.join(out)
}

#[test]
#[ignore = "needs Debian's chromium: run with --include-ignored"]
fn the_html_report_loads_in_chromium_and_draws_its_charts() {
    let driver = playwright_dir();
    // Wants every sample ok: the other tests of this file (a native build, Chromium) run
    // beside its samples, which detection would mark disturbed and leave unmeasured.
    let dir = tempdir_without_disturbance_detection();
    let results = measured(&dir, true);
    let html = report(&dir, &results, "html", "report.html");
    let summary = read_json(&report(&dir, &results, "json", "report.json"));
    let screenshot = dir.join("report.png");
    let output = run(Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check-report.mjs"))
        .arg(&html)
        .arg(&screenshot)
        .env("PLAYWRIGHT_DIR", &driver));
    assert!(output.status.success(), "{}", stderr(&output));
    let facts: Value = serde_json::from_str(stdout(&output).trim()).unwrap();

    assert_eq!(facts["problems"], serde_json::json!([]), "{facts}");
    let sections: Vec<&str> = (facts["sections"].as_array().unwrap().iter())
        .map(|s| s.as_str().unwrap())
        .collect();
    for section in [
        "overall",
        "categories",
        "native",
        "then-now",
        "trends",
        "tests",
        "failed",
    ] {
        assert!(
            sections.contains(&section),
            "{section} missing: {sections:?}"
        );
    }
    // Every chart is drawn: the overall one, one per category, one trend per category.
    let categories = summary["categories"].as_array().unwrap().len();
    let trends = summary["trends"].as_array().unwrap().len();
    assert_eq!(facts["category_charts"], categories as u64);
    assert_eq!(facts["charts"], (1 + categories + trends) as u64);
    assert_eq!(facts["charts_drawn"], facts["charts"]);
    // The overall bars are as long as the normalized times (wasmtime's over node's).
    let normalized = &summary["overall"]["normalized"];
    let widths = facts["overall_bar_widths"].as_array().unwrap();
    assert_eq!(
        widths.len(),
        2,
        "wasmtime and node; not native, not the broken one"
    );
    let drawn = widths[0].as_f64().unwrap() / widths[1].as_f64().unwrap();
    let expected = normalized[0].as_f64().unwrap() / normalized[1].as_f64().unwrap();
    assert!(
        (drawn / expected - 1.0).abs() < 0.01,
        "{drawn} vs {expected}"
    );
    // One line per trend chart; the regressed night marked on overall and signature only.
    assert_eq!(facts["trend_lines"], trends as u64);
    assert_eq!(facts["regression_marks"], 2);
    // The broken runtime's four tests are marked in their rows.
    assert_eq!(facts["failed_cells"], 4);

    let png = std::fs::read(&screenshot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(height > 2000, "a full-page screenshot: {height} px high");
    eprintln!("screenshot: {}", screenshot.display());
}

#[test]
fn the_markdown_report_has_a_chart_per_category_then_and_now_and_the_trend_table() {
    // Wants every sample ok: the other tests of this file (a native build, Chromium) run
    // beside its samples, which detection would mark disturbed and leave unmeasured.
    let dir = tempdir_without_disturbance_detection();
    let results = measured(&dir, false);
    let text = std::fs::read_to_string(report(&dir, &results, "markdown", "report.md")).unwrap();
    let summary = read_json(&report(&dir, &results, "json", "report.json"));
    let charted = (summary["categories"].as_array().unwrap().iter())
        .filter(|c| !c["bars"].as_array().unwrap().is_empty())
        .count();
    assert!(charted >= 3, "{summary}");
    assert_eq!(text.matches("```mermaid").count(), 1 + charted, "{text}");
    assert!(text.contains("### Then (2023) and now"), "{text}");
    assert!(text.contains("| wasmtime | wasmtime |"), "{text}");
    assert!(text.contains("iwasm 2.32× then"), "{text}");
    assert!(text.contains("### Trend of `wasmtime`"), "{text}");
    assert!(text.contains("**1.100** ⚠ sign"), "{text}");
    assert!(text.contains("**broken** failed 4 tests"), "{text}");
}

#[test]
#[ignore = "needs a native build of libsodium, about 2 minutes cold: run with --include-ignored"]
fn the_markdown_report_gives_the_fastest_runtime_over_native_code() {
    // Wants every sample ok: the other tests of this file (a native build, Chromium) run
    // beside its samples, which detection would mark disturbed and leave unmeasured.
    let dir = tempdir_without_disturbance_detection();
    let results = measured(&dir, true);
    let text = std::fs::read_to_string(report(&dir, &results, "markdown", "report.md")).unwrap();
    let summary = read_json(&report(&dir, &results, "json", "report.json"));
    assert!(text.contains("**broken** failed 4 tests"), "{text}");
    // The fastest WebAssembly runtime's time over native, as the article's 2.32.
    let fastest = summary["fastest"].as_str().unwrap();
    assert!(["wasmtime", "node"].contains(&fastest), "{fastest}");
    assert!(summary["fastest_to_native"].as_f64().unwrap() > 1.0);
}
