//! `wasmgate report RESULTS...`: results as a table, a markdown or HTML report, or JSON; with
//! the published 2023 results beside them and the trends of baseline histories, if asked.

use crate::report::{
    Format, Summary, chained, combine, published, render_summary, summarize, trends,
};
use anyhow::{Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Results files (or journals of interrupted runs); several are reported together, with
    /// what differs between them stated
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: Format,
    /// Write the report here instead of standard output
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Add the published 2023 results ("then vs now"), runtime by runtime
    #[arg(long)]
    pub then_now: bool,
    /// A baseline history file (baselines/.../RUNTIME.history.jsonl) to chart as trends;
    /// repeat for several runtimes
    #[arg(long = "history", value_name = "FILE")]
    pub histories: Vec<PathBuf>,
    /// A differential nightly's history (nightly.history.jsonl, a night a line with its paired
    /// links to earlier nights) to chart as chained trends; repeat for several runtimes
    #[arg(long = "nightly-history", value_name = "FILE")]
    pub nightly_histories: Vec<PathBuf>,
    /// A gate's comparison (PREFIX.comparison.json) whose evidence to show: the functions that
    /// carried each changed test's change, and both sides' flame graphs
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> Result<u8> {
    if let Some(out) = &args.out {
        let evidence: Vec<PathBuf> = args.evidence.iter().cloned().collect();
        let inputs = [
            &args.results,
            &args.histories,
            &args.nightly_histories,
            &evidence,
        ];
        let inputs: Vec<&Path> = inputs
            .iter()
            .flat_map(|paths| paths.iter())
            .map(PathBuf::as_path)
            .collect();
        crate::model::check_not_an_input(out, &inputs)?;
    }
    let files = (args.results.iter())
        .map(|path| Ok((path.clone(), crate::run::read_results(path)?)))
        .collect::<Result<Vec<_>>>()?;
    let (results, differences) = combine::combine(&files)?;
    let mut summary = summarize(&results);
    summary.differences = differences;
    match (args.then_now, summary.measure) {
        (true, crate::model::Measure::Time) => {
            summary.then_now = Some(published::then_now(&summary)?);
        }
        (true, crate::model::Measure::Instructions) => eprintln!(
            "--then-now left out: the 2023 results are times, and these are instruction counts"
        ),
        (true, _compiles) => eprintln!(
            "--then-now left out: the 2023 results time the compiled code running; the article did not measure compile time"
        ),
        (false, _) => {}
    }
    summary.trends = read_trends(&args.histories)?;
    read_nightly(&args.nightly_histories, &mut summary)?;
    if let Some(path) = &args.evidence {
        let comparison: crate::model::Comparison = crate::model::read_json(path)?;
        summary.evidence = crate::report::evidence::sections(&comparison);
    }
    let text = render_summary(&summary, args.format)?;
    match &args.out {
        Some(path) => {
            crate::model::write_atomic(path, text.as_bytes())?;
            if !crate::model::is_standard_output(path) {
                eprintln!("wrote {}", path.display());
            }
        }
        None => print!("{text}"),
    }
    Ok(0)
}

fn read_trends(paths: &[PathBuf]) -> Result<Vec<trends::Trend>> {
    let histories = (paths.iter())
        .map(|path: &PathBuf| {
            let entries = crate::compare::baseline::read_history(path)?;
            if entries.is_empty() {
                bail!("{}: the history has no nights yet; it grows with `wasmgate baseline update` and `baseline history`", path.display());
            }
            Ok((trends::label_of(Path::new(path)), entries))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(trends::trends(&histories))
}

fn read_nightly(paths: &[PathBuf], summary: &mut Summary) -> Result<()> {
    for path in paths {
        let nights = crate::nightly::night::read_history(path)?;
        if nights.iter().all(|n| n.links.is_empty()) {
            bail!(
                "{}: the nightly history has no links to earlier nights yet; it grows a night at a time with `wasmgate nightly`",
                path.display()
            );
        }
        let label = chained::label_of(path, &nights);
        let found = chained::chained(&label, &nights);
        chained::merge(&mut summary.trends, found.trends);
        summary
            .test_trends
            .extend(chained::regressed_tests(&found.tests));
        let many = paths.len() > 1;
        summary.trend_notes.extend(
            (found.notes.into_iter()).map(|n| if many { format!("{label}: {n}") } else { n }),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::chained::simulated::{self, NEW_RUNNER_NIGHT, STEP_NIGHT};

    fn args(results: &Path, history: &Path, format: Format, out: PathBuf) -> ReportArgs {
        ReportArgs {
            results: vec![results.to_path_buf()],
            format,
            out: Some(out),
            then_now: false,
            histories: Vec::new(),
            nightly_histories: vec![history.to_path_buf()],
            evidence: None,
        }
    }

    /// The whole path of `report --nightly-history`, from files, on a simulated month. With
    /// WASMGATE_NIGHTLY_MONTH set to a folder, the files stay there for a person to open
    /// (`bench/nightly-month.sh`).
    #[test]
    fn a_nightly_month_renders_its_chained_trends() {
        let temp = tempfile::tempdir().unwrap();
        let dir = match std::env::var_os("WASMGATE_NIGHTLY_MONTH") {
            Some(dir) => PathBuf::from(dir),
            None => temp.path().to_path_buf(),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let results = dir.join("results.json");
        let fixture = crate::model::fixtures::results_with(&[
            ("sign", "wasmtime", Some(1000)),
            ("hash", "wasmtime", Some(500)),
        ]);
        std::fs::write(&results, serde_json::to_string(&fixture).unwrap()).unwrap();
        let history = dir.join("nightly.history.jsonl");
        std::fs::write(&history, simulated::jsonl(&simulated::month(1))).unwrap();
        let html = dir.join("nightly-month.html");
        assert_eq!(
            run(args(&results, &history, Format::Html, html.clone())).unwrap(),
            0
        );
        let markdown = dir.join("nightly-month.md");
        assert_eq!(
            run(args(&results, &history, Format::Markdown, markdown.clone())).unwrap(),
            0
        );

        let html = std::fs::read_to_string(html).unwrap();
        assert!(html.contains("Chained from the differential nightly"));
        // Overall, signature and the chart of sign alone each mark night 12, and nothing else.
        assert_eq!(html.matches("class=\"regression\"").count(), 3, "{html}");
        let step = simulated::date(STEP_NIGHT);
        assert_eq!(html.matches(&format!("<title>{step}: ")).count(), 3 + 3);
        assert!(html.contains("<h3>Tests a link called a regression</h3>"));
        assert!(html.contains("sign: time relative to the first night of its chain"));
        assert_eq!(html.matches("class=\"chain-break\"").count(), 0);
        // No step where the runner changed: overall's levels either side agree to 1 %.
        let level = |night: usize| {
            let date = simulated::date(night);
            let at = html.find(&format!("<td>{date}</td>")).unwrap();
            let cells: Vec<&str> = html[at..].split("<td>").skip(3).take(1).collect();
            cells[0].split('<').next().unwrap().parse::<f64>().unwrap()
        };
        let (before, after) = (level(NEW_RUNNER_NIGHT - 1), level(NEW_RUNNER_NIGHT));
        assert!((after / before - 1.0).abs() < 0.01, "{before} -> {after}");
        assert!((level(STEP_NIGHT) / level(STEP_NIGHT - 1) - 1.15f64.powf(0.2)).abs() < 0.01);

        let markdown = std::fs::read_to_string(markdown).unwrap();
        assert!(markdown.contains("### Trend of `wasmtime`: the last 8 nights"));
        assert!(markdown.contains("Chained from the differential nightly's paired links"));
        assert!(
            !markdown.contains("⚠ sign"),
            "night 12 is older than the last 8 nights"
        );
    }

    #[test]
    fn a_bad_nightly_history_is_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results.json");
        let fixture = crate::model::fixtures::results_with(&[("sign", "wasmtime", Some(1000))]);
        std::fs::write(&results, serde_json::to_string(&fixture).unwrap()).unwrap();
        let history = dir.path().join("nightly.history.jsonl");
        std::fs::write(&history, "{}\n").unwrap();
        let out = dir.path().join("r.md");
        let error = run(args(&results, &history, Format::Markdown, out.clone()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 1: not a night"), "{error}");
        let first = simulated::jsonl(&simulated::month(1)[..1]);
        std::fs::write(&history, first).unwrap();
        let error = run(args(&results, &history, Format::Markdown, out))
            .unwrap_err()
            .to_string();
        assert!(error.contains("no links to earlier nights yet"), "{error}");
    }
}
