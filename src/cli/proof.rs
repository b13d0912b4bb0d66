//! `wasmgate calibrate aa` and `wasmgate calibrate inject`: the evidence that the gate's red and
//! green can be trusted on this machine (the calibrate stage's `aa` and `inject`).

use super::{Context, SamplingArgs};
use crate::calibrate::aa::{AaOutcome, AaRequest, aa};
use crate::calibrate::inject::{InjectReport, InjectRequest, inject};
use crate::calibrate::injection::{InjectionOutcome, Setting, Target};
use crate::model::PairedTest;
use crate::run::adapter::RuntimeRequest;
use crate::run::measure::MeasureRequest;
use crate::stats;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum Check {
    /// Run a runtime against itself (A/A) and report false alarms and the noise per test
    Aa {
        /// The runtime, as for `run`
        #[arg(long, default_value = "wasmtime")]
        runtime: RuntimeRequest,
        /// Only these tests (comma-separated)
        #[arg(long, value_delimiter = ',')]
        tests: Vec<String>,
        #[command(flatten)]
        sampling: SamplingArgs,
        #[arg(long, default_value = "wasmgate-aa.json")]
        out: PathBuf,
    },
    /// Replay A/A samples with known slowdowns injected: detection and false-alarm rates
    Inject {
        /// Results of `calibrate aa`
        results: PathBuf,
        #[arg(long, default_value_t = 200)]
        trials: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The stopping rule replayed [default: the gate's, from the config]; --cores replays
        /// the budget on one worker per core listed
        #[command(flatten)]
        sampling: SamplingArgs,
        /// Workers the budget's rounds are spread over [default: the number of --cores, else
        /// the distinct cores the A/A samples were measured on]
        #[arg(long)]
        workers: Option<usize>,
        /// Paired tests to replay side by side on the same trials, e.g.
        /// signed-rank,trimmed-t [default: compare.paired_test]
        #[arg(long, value_delimiter = ',')]
        paired_test: Vec<PairedTest>,
    },
}

pub fn run(ctx: &Context, check: Check) -> Result<u8> {
    match check {
        Check::Aa {
            runtime,
            tests,
            sampling,
            out,
        } => {
            // Sampled like a gate: the gate's fields, under the flags.
            let (overrides, gate) = (sampling.overrides(), ctx.loaded.config.gate_sampling());
            let measure =
                MeasureRequest::from_overrides(&ctx.loaded, &[], &tests, &overrides, gate)?;
            let request = AaRequest {
                runtime,
                measure,
                out,
            };
            print_aa(&aa(&ctx.with_plan()?, request)?);
        }
        Check::Inject {
            results,
            trials,
            seed,
            sampling,
            workers,
            paired_test,
        } => {
            let request = InjectRequest {
                results,
                trials,
                seed,
                overrides: sampling.overrides(),
                workers,
                paired_tests: paired_test,
            };
            print_injection(&inject(&ctx.loaded, &request)?, &request);
        }
    }
    Ok(0)
}

fn print_aa(outcome: &AaOutcome) {
    let comparison = &outcome.comparison;
    print!("{}", crate::report::comparison::terminal(comparison));
    let noise = outcome.noise_percent();
    println!(
        "A/A on {}: {} of {} tests called changed (false alarms); gate {}; median ± of the ratio intervals {:.2} % (widest {:.2} %); {} samples in {:.0} s",
        outcome.runtime_version,
        outcome.false_alarms(),
        comparison.tests.len(),
        if comparison.gate_failed {
            "FAILED (a false alarm)"
        } else {
            "passed"
        },
        stats::median(&noise).unwrap_or(f64::NAN),
        noise.iter().copied().fold(f64::NAN, f64::max),
        outcome.samples,
        outcome.wall_seconds
    );
}

/// When the replayed rule stops a test, as the header says it.
fn until(stopping: &crate::stats::stopping::Stopping) -> String {
    match (stopping.precision > 0.0, stopping.goal) {
        (false, _) => "exactly the minimum".to_string(),
        (true, crate::stats::stopping::Goal::Verdict(_)) => {
            "until its verdict is decided".to_string()
        }
        (true, crate::stats::stopping::Goal::Precision) => {
            format!("precision ±{} %", stopping.precision * 100.0)
        }
    }
}

fn print_injection(report: &InjectReport, request: &InjectRequest) {
    let (settings, sampling) = (&report.settings, &report.sampling);
    let stopping = &sampling.stopping;
    println!(
        "{} trials per setting on {} (A/A samples split at random into base and head); alpha {}, min effect {} %; each test stopped where the scheduler would stop it ({} to {} pairs, {}, budget {} on {} worker{}; the A/A run had {})",
        request.trials,
        request.results.display(),
        settings.alpha,
        settings.min_effect * 100.0,
        stopping.min_samples,
        stopping.max_samples,
        until(stopping),
        report.budget.as_deref().unwrap_or("none"),
        sampling.workers,
        if sampling.workers == 1 { "" } else { "s" },
        report.recorded_workers
    );
    if report.fewest_pairs < stopping.max_samples as usize {
        println!(
            "note: a test of the A/A file has only {} pairs, fewer than the rule's {}: such tests stop there in every trial, so detection is understated; record the A/A with --samples {max} --max-samples {max} --precision 0",
            report.fewest_pairs,
            stopping.max_samples,
            max = stopping.max_samples
        );
    }
    println!(
        "{:<12} {:<24} {:>10} {:>12} {:>11} {:>9}  most missed",
        "paired test", "setting", "detected", "false alarm", "pairs/test", "sampling"
    );
    for (test, setting, outcome) in &report.outcomes {
        print_setting(*test, setting, outcome, report.tests);
    }
}

/// One row of the injection table: `tests` is how many tests the file sampled.
fn print_setting(test: PairedTest, setting: &Setting, outcome: &InjectionOutcome, tests: usize) {
    let rate = |n: usize| format!("{:.1} %", 100.0 * n as f64 / outcome.trials as f64);
    let detected = if setting.target == Target::Nothing {
        "–".to_string()
    } else {
        rate(outcome.detected)
    };
    println!(
        "{:<12} {:<24} {:>10} {:>12} {:>11.1} {:>8.0}s  {}",
        test.name(),
        setting.describe(),
        detected,
        rate(outcome.false_alarms),
        outcome.pairs_used as f64 / (outcome.trials.max(1) * tests) as f64,
        outcome.mean_seconds(),
        most_missed(&outcome.missed)
    );
}

/// The five tests (or categories) whose slowdown was missed most often, with their counts.
fn most_missed(missed: &BTreeMap<String, usize>) -> String {
    let mut worst: Vec<(&String, &usize)> = missed.iter().collect();
    worst.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    worst
        .iter()
        .take(5)
        .map(|(name, count)| format!("{name} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}
