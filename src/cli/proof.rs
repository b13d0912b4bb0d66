//! `wasmgate calibrate aa` and `wasmgate calibrate inject`: the evidence that the gate's red and
//! green can be trusted on this machine.

use super::{Context, SamplingArgs};
use crate::compare::baseline::side_from_results;
use crate::compare::injection::{DEFAULT_SETTINGS, Sampling, replay};
use crate::compare::{compare, settings};
use crate::model::Verdict;
use crate::run::adapter::RuntimeRequest;
use crate::stats;
use crate::stats::stopping::Stopping;
use anyhow::Result;
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
        /// The stopping rule replayed [default: the gate's, from the config]
        #[command(flatten)]
        sampling: SamplingArgs,
    },
}

pub fn run(ctx: &Context, check: Check) -> Result<u8> {
    match check {
        Check::Aa {
            runtime,
            tests,
            sampling,
            out,
        } => aa(ctx, runtime, &tests, &sampling, &out),
        Check::Inject {
            results,
            trials,
            seed,
            sampling,
        } => inject(ctx, &results, trials, seed, &sampling),
    }
}

fn aa(
    ctx: &Context,
    runtime: RuntimeRequest,
    tests: &[String],
    sampling: &SamplingArgs,
    out: &std::path::Path,
) -> Result<u8> {
    // The same binary under two labels, interleaved like a real A/B gate.
    let home = ctx.home()?;
    let resolved = crate::run::adapter::resolve(&ctx.loaded, &home, &runtime)?;
    let path = PathBuf::from(&resolved.info.path);
    let label = |name: &str| RuntimeRequest {
        label: name.to_string(),
        adapter: Some(resolved.info.adapter.clone()),
        path: Some(path.clone()),
    };
    let requests = [label("a"), label("b")];
    let config = &ctx.loaded.config;
    let defaults = config.gate_run();
    let request = super::run::request(
        ctx,
        &requests,
        tests,
        sampling,
        (&defaults, crate::config::Sources::gate_fields()),
    )?;
    let results = crate::run::measure::measure(&ctx.loaded, &request, out)?;
    let base = side_from_results(&results, Some("a"), out)?;
    let head = side_from_results(&results, Some("b"), out)?;
    let comparison = compare(&base, &head, &settings(&config.compare), true, None);
    print!("{}", crate::report::comparison::terminal(&comparison));
    let alarms = comparison
        .tests
        .iter()
        .filter(|t| matches!(t.verdict, Verdict::Regression | Verdict::Improvement))
        .count();
    let noise: Vec<f64> = comparison
        .tests
        .iter()
        .filter_map(|t| Some((t.ci_high? - t.ci_low?) / 2.0 * 100.0))
        .collect();
    println!(
        "A/A on {}: {alarms} of {} tests called changed (false alarms); gate {}; median ± of the ratio intervals {:.2} % (widest {:.2} %); {} samples in {:.0} s",
        resolved.info.version,
        comparison.tests.len(),
        if comparison.gate_failed {
            "FAILED (a false alarm)"
        } else {
            "passed"
        },
        stats::median(&noise).unwrap_or(f64::NAN),
        noise.iter().copied().fold(f64::NAN, f64::max),
        results.samples.len(),
        results.wall_seconds
    );
    Ok(0)
}

fn inject(
    ctx: &Context,
    path: &std::path::Path,
    trials: usize,
    seed: u64,
    sampling: &SamplingArgs,
) -> Result<u8> {
    let results = crate::run::read_results(path)?;
    let config = &ctx.loaded.config;
    let settings = settings(&config.compare);
    // The gate's sampling, as `calibrate aa` and `gate` would resolve it.
    let sampling = sampling
        .overrides()
        .apply(&config.gate_run(), crate::config::Sources::gate_fields())?;
    let stopping = Stopping::new(&sampling, settings.min_effect);
    let budget = sampling.budget.clone();
    let budget_seconds = budget
        .as_deref()
        .map(crate::config::parse_duration)
        .transpose()?
        .map(|b| b.as_secs_f64());
    println!(
        "{trials} trials per setting on {} (A/A samples split at random into base and head); alpha {}, min effect {} %; each test stopped where the scheduler would stop it ({} to {} pairs, precision ±{} %, budget {})",
        path.display(),
        settings.alpha,
        settings.min_effect * 100.0,
        stopping.min_samples,
        stopping.max_samples,
        stopping.precision * 100.0,
        budget.as_deref().unwrap_or("none")
    );
    let emulated = Sampling {
        stopping,
        budget_seconds,
    };
    println!(
        "{:<28} {:>10} {:>12} {:>11} {:>9}  most missed",
        "setting", "detected", "false alarm", "pairs/test", "sampling"
    );
    // The settings are independent: replay them side by side.
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = DEFAULT_SETTINGS
            .iter()
            .map(|setting| {
                let (results, settings, emulated) = (&results, &settings, &emulated);
                scope.spawn(move || {
                    replay(
                        results,
                        ("a", "b"),
                        settings,
                        emulated,
                        *setting,
                        trials,
                        seed,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("replay does not panic"))
            .collect()
    });
    let tests = (results.samples.iter())
        .map(|s| s.test.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        .max(1);
    for (setting, outcome) in DEFAULT_SETTINGS.iter().zip(outcomes) {
        let rate = |n: usize| format!("{:.1} %", 100.0 * n as f64 / outcome.trials as f64);
        let detected = if setting.target == crate::compare::injection::Target::Nothing {
            "–".to_string()
        } else {
            rate(outcome.detected)
        };
        println!(
            "{:<28} {:>10} {:>12} {:>11.1} {:>8.0}s  {}",
            setting.describe(),
            detected,
            rate(outcome.false_alarms),
            outcome.pairs_used as f64 / (outcome.trials.max(1) * tests) as f64,
            outcome.mean_seconds(),
            most_missed(&outcome.missed)
        );
    }
    Ok(0)
}

/// The five tests (or categories) whose slowdown was missed most often, with their counts.
fn most_missed(missed: &std::collections::BTreeMap<String, usize>) -> String {
    let mut worst: Vec<(&String, &usize)> = missed.iter().collect();
    worst.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    worst
        .iter()
        .take(5)
        .map(|(name, count)| format!("{name} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}
