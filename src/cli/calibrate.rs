//! `wasmgate calibrate`: measure every test's cost per iteration on a reference runtime and
//! choose, per test, the iteration count (from `build.tiers`) whose sample lasts closest to
//! the target. Tests too fast to time at one iteration are probed again at a high count;
//! tests that still print 0 measure nothing.

use super::Context;
use crate::build::{Suite, build_with, prepare};
use crate::model::{Plan, TestModule};
use crate::run::adapter::{Runtime, RuntimeRequest, resolve};
use crate::run::execute::run_once;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Below this time for one iteration, the single-iteration probe is too coarse to trust.
const REPROBE_BELOW_PS: f64 = 1e9; // 1 ms

pub fn run(ctx: &Context, request: &RuntimeRequest, target_seconds: f64, out: &Path) -> Result<u8> {
    if target_seconds.is_nan() || target_seconds <= 0.0 {
        bail!("--target-seconds must be above 0");
    }
    let config = &ctx.loaded.config;
    let home = ctx.home()?;
    let inputs = prepare(config, &home)?;
    let runtime = resolve(&ctx.loaded, &home, request)?;
    let tiers = &config.build.tiers;
    let low = *tiers.iter().min().expect("validated: tiers not empty");
    let high = *tiers.iter().max().expect("validated");
    let core = crate::run::choose_core(config.run.pin, &config.run.cores, &ctx.loaded.origin())?;
    let timeout = Duration::from_secs(config.run.timeout_seconds);

    eprintln!(
        "calibrate: probing every test at {low} iteration(s) on {}",
        runtime.info.name
    );
    let (probe, _) = build_with(&inputs, &home, &uniform_plan(low), config.build.jobs)?;
    let everything: Vec<String> = probe
        .manifest
        .tests
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let mut costs = measure_costs(&probe, &everything, &runtime, core, timeout, low)?;

    let fast: Vec<String> = costs
        .iter()
        .filter(|(_, cost)| cost.is_none_or(|c| c < REPROBE_BELOW_PS))
        .map(|(name, _)| name.clone())
        .collect();
    if high > low && !fast.is_empty() {
        eprintln!(
            "calibrate: probing {} fast tests again at {high} iterations",
            fast.len()
        );
        let (probe, _) = build_with(&inputs, &home, &uniform_plan(high), config.build.jobs)?;
        // Only the fast tests: a slow one at the top tier would run for hours.
        costs.extend(measure_costs(&probe, &fast, &runtime, core, timeout, high)?);
    }

    let plan = choose_plan(&costs, tiers, target_seconds, &runtime);
    let yaml = crate::config::plan_to_yaml(&plan)?;
    crate::model::write_atomic(out, yaml.as_bytes())?;
    for (name, cost) in &costs {
        let iterations = plan.iterations[name];
        match cost {
            Some(cost) => println!(
                "{name:<32} {:>14}/iteration  × {iterations:>6} = {:.3} s",
                crate::report::format_ps(*cost),
                cost * iterations as f64 / 1e12
            ),
            None => println!("{name:<32} measures nothing"),
        }
    }
    println!("wrote {} (set build.plan to use it)", out.display());
    Ok(0)
}

/// Every test at the same iteration count.
fn uniform_plan(iterations: u64) -> Plan {
    Plan {
        calibrated_on: "calibration probe".to_string(),
        target_seconds: 0.0,
        default_iterations: iterations,
        iterations: BTreeMap::new(),
        measures_nothing: BTreeSet::new(),
    }
}

/// One sample of every test; the cost per iteration in picoseconds, `None` when it printed 0.
fn measure_costs(
    suite: &Suite,
    tests: &[String],
    runtime: &Runtime,
    core: Option<usize>,
    timeout: Duration,
    iterations: u64,
) -> Result<BTreeMap<String, Option<f64>>> {
    let stop = AtomicBool::new(false);
    let mut costs = BTreeMap::new();
    for test in suite
        .manifest
        .tests
        .iter()
        .filter(|t| tests.contains(&t.name))
    {
        let outcome = run_once(
            runtime.command(&suite.module_path(test)),
            core,
            timeout,
            &stop,
        )
        .expect("never stopped");
        let cost = match (outcome.value_ps, outcome.message.as_deref()) {
            (Some(value), _) => Some(value as f64),
            (None, Some(message)) if message.contains("measured nothing") => None,
            (None, message) => bail!(
                "calibration sample of {} failed on {}: {}",
                describe(test, iterations),
                runtime.info.name,
                message.unwrap_or("no message")
            ),
        };
        costs.insert(test.name.clone(), cost);
    }
    Ok(costs)
}

fn describe(test: &TestModule, iterations: u64) -> String {
    format!("{} ({iterations} iterations)", test.name)
}

/// Per test, the tier whose sample is closest to the target on a log scale.
pub fn choose_plan(
    costs: &BTreeMap<String, Option<f64>>,
    tiers: &[u64],
    target_seconds: f64,
    runtime: &Runtime,
) -> Plan {
    let target_ps = target_seconds * 1e12;
    let mut plan = Plan {
        calibrated_on: format!(
            "{} {}, {}",
            runtime.info.name,
            runtime.info.version,
            crate::run::machine::fingerprint(vec![]).cpu_model
        ),
        target_seconds,
        default_iterations: crate::model::DEFAULT_ITERATIONS,
        iterations: BTreeMap::new(),
        measures_nothing: BTreeSet::new(),
    };
    for (name, cost) in costs {
        let iterations = match cost {
            Some(cost) => closest_tier(*cost, tiers, target_ps),
            None => {
                plan.measures_nothing.insert(name.clone());
                *tiers.iter().min().expect("validated")
            }
        };
        plan.iterations.insert(name.clone(), iterations);
    }
    plan
}

pub fn closest_tier(cost_ps: f64, tiers: &[u64], target_ps: f64) -> u64 {
    let distance = |tier: &u64| ((*tier as f64 * cost_ps) / target_ps).ln().abs();
    *tiers
        .iter()
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .expect("validated: tiers not empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_chosen_on_a_log_scale() {
        let tiers = [1, 10, 100, 1000, 10000];
        let target = 0.1e12;
        assert_eq!(closest_tier(2e12, &tiers, target), 1); // 2 s an iteration
        assert_eq!(closest_tier(5e9, &tiers, target), 10); // 5 ms: 50 ms or 0.5 s
        assert_eq!(closest_tier(1e9, &tiers, target), 100); // 1 ms: exactly 0.1 s
        assert_eq!(closest_tier(1e3, &tiers, target), 10000); // capped at the top tier
    }
}
