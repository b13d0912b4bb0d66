//! The iteration plan: measure every test's cost per iteration on a reference runtime and
//! choose, per test, the iteration count (from `build.tiers`) whose sample lasts closest to
//! the target.
//!
//! A first probe runs every test once at the lowest tier; it is coarse for fast tests (the
//! modules' clock counts whole microseconds), so the chosen plan is built and measured again,
//! and tests whose sample is still far from the target move, until the plan stops changing.
//! A test whose whole loop at the top tier stays within the clock's resolution measures nothing.

use crate::build::{Inputs, Suite, build_with, prepare};
use crate::config::Loaded;
use crate::model::Plan;
use crate::run::adapter::{Runtime, RuntimeRequest, resolve};
use crate::run::execute::run_once;
use crate::toolchain::Home;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// A loop that takes less than this in all is below what the modules' clock can tell.
const NOTHING_BELOW_PS: f64 = 10e6; // 10 µs
/// An iteration shorter than this is a handful of instructions: no cryptographic work (e.g.
/// the AES-GCM tests on wasm, which only find AES unavailable).
const NO_WORK_BELOW_PS: f64 = 1000.0; // 1 ns
/// Passes over the chosen plan before giving up on convergence (the noise can flip a test
/// that sits between two tiers; either tier is then fine).
const MAX_PASSES: usize = 3;

/// What one probe learned about a test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cost {
    /// Picoseconds per iteration.
    PerIteration(f64),
    /// The whole loop took less than the clock can tell, at this many iterations.
    TooFast(u64),
}

struct Probe<'a> {
    inputs: &'a Inputs,
    home: &'a Home,
    jobs: usize,
    runtime: Runtime,
    core: Option<usize>,
    timeout: Duration,
}

/// What to calibrate the plan on, and where to write it.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub runtime: RuntimeRequest,
    /// Target duration of one sample.
    pub target_seconds: f64,
    pub out: PathBuf,
}

/// The plan written, and the costs it was chosen from (by the last pass).
#[derive(Debug, Clone)]
pub struct Calibrated {
    pub plan: Plan,
    pub costs: BTreeMap<String, Cost>,
}

/// Probes every test, chooses the plan until it settles, and writes it to `request.out`.
pub fn calibrate(loaded: &Loaded, request: &PlanRequest) -> Result<Calibrated> {
    let target_seconds = request.target_seconds;
    if target_seconds.is_nan() || target_seconds <= 0.0 {
        bail!("--target-seconds must be above 0");
    }
    let config = &loaded.config;
    let home = Home::resolve(config)?;
    let inputs = prepare(config, &home)?;
    let mut probe = Probe {
        inputs: &inputs,
        home: &home,
        jobs: config.build.jobs,
        runtime: resolve(loaded, &home, &request.runtime)?,
        // Calibration runs one sample at a time, on the first configured core.
        core: crate::run::choose_cores(config.run.pin, &config.run.cores, &loaded.origin())?[0],
        timeout: Duration::from_secs(config.run.timeout_seconds),
    };
    // Its probes are samples like any other: another run on the core would skew the plan.
    let _core = crate::run::measure::lock_cores(&[probe.core])?;
    let calibrated = probe.settle(&config.build.tiers, target_seconds)?;
    let yaml = crate::config::plan_to_yaml(&calibrated.plan)?;
    crate::model::write_atomic(&request.out, yaml.as_bytes())?;
    Ok(calibrated)
}

impl Probe<'_> {
    /// A first probe at the lowest tier, then passes over the chosen plan until it stops
    /// changing (or `MAX_PASSES`).
    fn settle(&mut self, tiers: &[u64], target_seconds: f64) -> Result<Calibrated> {
        let low = *tiers.iter().min().expect("validated: tiers not empty");
        eprintln!(
            "calibrate: every test at {low} iteration(s) on {}",
            self.runtime.info.name
        );
        let mut costs = self.measure(&uniform_plan(low))?;
        let mut plan = choose_plan(&costs, tiers, target_seconds, &self.runtime);
        for pass in 1..=MAX_PASSES {
            eprintln!("calibrate: pass {pass}: the chosen plan, measured");
            costs = self.measure(&plan)?;
            let next = choose_plan(&costs, tiers, target_seconds, &self.runtime);
            let settled = next == plan;
            plan = next;
            if settled {
                break;
            }
        }
        Ok(Calibrated { plan, costs })
    }

    /// Builds the plan's suite and runs every test once.
    fn measure(&mut self, plan: &Plan) -> Result<BTreeMap<String, Cost>> {
        let (suite, _) = build_with(self.inputs, self.home, plan, self.jobs)?;
        self.runtime
            .prepare_aot(self.home, &suite, &suite.manifest.tests);
        let stop = AtomicBool::new(false);
        let mut costs = BTreeMap::new();
        for test in &suite.manifest.tests {
            costs.insert(test.name.clone(), self.cost_of(&suite, &test.name, &stop)?);
        }
        Ok(costs)
    }

    fn cost_of(&self, suite: &Suite, name: &str, stop: &AtomicBool) -> Result<Cost> {
        let test = suite.manifest.test(name).expect("listed by the suite");
        let command = self.runtime.command(&suite.module_path(test));
        let outcome =
            run_once(command, self.core, self.timeout, None, stop).expect("never stopped");
        let whole_loop_ps = outcome.value_ps.map(|v| v as f64 * test.iterations as f64);
        match (whole_loop_ps, outcome.message.as_deref()) {
            (Some(total), _)
                if total >= NOTHING_BELOW_PS
                    && total / test.iterations as f64 >= NO_WORK_BELOW_PS =>
            {
                Ok(Cost::PerIteration(total / test.iterations as f64))
            }
            (Some(_), _) => Ok(Cost::TooFast(test.iterations)),
            (None, Some(message)) if message.contains("measured nothing") => {
                Ok(Cost::TooFast(test.iterations))
            }
            (None, message) => bail!(
                "calibration sample of {name} ({} iterations) failed on {}: {}",
                test.iterations,
                self.runtime.info.name,
                message.unwrap_or("no message")
            ),
        }
    }
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

/// Per test, the tier whose sample is closest to the target on a log scale. A test too fast to
/// time goes to the top tier; if it was already there, it measures nothing.
fn choose_plan(
    costs: &BTreeMap<String, Cost>,
    tiers: &[u64],
    target_seconds: f64,
    runtime: &Runtime,
) -> Plan {
    let top = *tiers.iter().max().expect("validated: tiers not empty");
    let mut plan = Plan {
        calibrated_on: format!(
            "{} on {}",
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
            Cost::PerIteration(cost) => closest_tier(*cost, tiers, target_seconds * 1e12),
            Cost::TooFast(at) if *at >= top => {
                plan.measures_nothing.insert(name.clone());
                top
            }
            Cost::TooFast(_) => top,
        };
        plan.iterations.insert(name.clone(), iterations);
    }
    plan
}

fn closest_tier(cost_ps: f64, tiers: &[u64], target_ps: f64) -> u64 {
    let distance = |tier: &u64| ((*tier as f64 * cost_ps) / target_ps).ln().abs();
    *tiers
        .iter()
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .expect("validated: tiers not empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> Runtime {
        Runtime::for_tests("wasmtime")
    }

    #[test]
    fn tiers_are_chosen_on_a_log_scale() {
        let tiers = [1, 10, 100, 1000, 10000];
        let target = 0.1e12;
        assert_eq!(closest_tier(2e12, &tiers, target), 1); // 2 s an iteration
        assert_eq!(closest_tier(5e9, &tiers, target), 10); // 5 ms: 50 ms or 0.5 s
        assert_eq!(closest_tier(1e9, &tiers, target), 100); // 1 ms: exactly 0.1 s
        assert_eq!(closest_tier(1e3, &tiers, target), 10000); // capped at the top tier
    }

    #[test]
    fn too_fast_moves_up_then_measures_nothing_at_the_top() {
        let tiers = [1, 10, 100];
        let costs = BTreeMap::from([
            ("fast".to_string(), Cost::TooFast(1)),
            ("empty".to_string(), Cost::TooFast(100)),
            ("slow".to_string(), Cost::PerIteration(1e12)),
        ]);
        let plan = choose_plan(&costs, &tiers, 0.1, &runtime());
        assert_eq!(plan.iterations["fast"], 100);
        assert!(!plan.measures_nothing.contains("fast"));
        assert!(plan.measures_nothing.contains("empty"));
        assert_eq!(plan.iterations["slow"], 1);
    }
}
