//! The iteration plan: measure every test's cost per iteration on a reference runtime and
//! choose, per test, the iteration count (from `build.tiers`, a 1-2-5 series by default) whose
//! sample lasts closest to the target on a log scale.
//!
//! A first probe runs every test once at the lowest tier; it is coarse for fast tests (the
//! modules' clock counts whole microseconds), so the chosen plan is built and measured again,
//! and tests whose sample is still far from the target move, until the plan stops changing.
//! A test whose whole loop at the top tier stays within the clock's resolution measures nothing.

use crate::build::{Inputs, Suite, build_with, prepare};
use crate::config::Loaded;
use crate::model::Plan;
use crate::run::adapter::{RuntimeRequest, resolve};
use crate::run::execute::run_once;
use crate::run::runtime::Runtime;
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
/// A test keeps the tier it was measured at unless another tier's sample would be this much
/// closer to the target (as a factor). With tiers 2 to 2.5 apart, a test whose cost sits near
/// the midpoint of two would otherwise flip between them on a few percent of noise and every
/// flip costs a pass (a zig build and a run of every test); a tenth off is within what the
/// tiers leave anyway (up to a factor 1.6 from the target).
const KEEP: f64 = 1.1;

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
    crate::config::check_target_seconds(request.target_seconds, "--target-seconds")?;
    let home = Home::resolve(&loaded.config)?;
    let runtime = resolve(loaded, &home, &request.runtime)?;
    let calibrated = calibrate_on(loaded, &home, runtime, request.target_seconds)?;
    let yaml = crate::config::plan_to_yaml(&calibrated.plan)?;
    crate::model::write_atomic(&request.out, yaml.as_bytes())?;
    Ok(calibrated)
}

/// Probes every test on `runtime` and chooses the plan until it settles; writes nothing.
pub fn calibrate_on(
    loaded: &Loaded,
    home: &Home,
    runtime: Runtime,
    target_seconds: f64,
) -> Result<Calibrated> {
    let config = &loaded.config;
    let mut inputs = prepare(config, home)?;
    // A plan is of every test program, whatever this configuration measures: a runner's plan
    // is cached under a key that names no test list, and another configuration reads it.
    inputs.tests = crate::config::TestFilter::default();
    let mut probe = Probe {
        inputs: &inputs,
        home,
        jobs: config.build.jobs,
        runtime,
        // Calibration runs one sample at a time, on the first configured core.
        core: crate::run::choose_cores(config.run.pin, &config.run.cores, &loaded.origin())?[0],
        timeout: Duration::from_secs(config.run.timeout_seconds),
    };
    // Its probes are samples like any other: another run on the core would skew the plan.
    let _core = crate::run::measure::lock_cores(&[probe.core])?;
    probe.settle(&config.build.tiers, target_seconds)
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
        let mut plan = choose_plan(&costs, tiers, target_seconds, &self.runtime, None);
        for pass in 1..=MAX_PASSES {
            eprintln!("calibrate: pass {pass}: the chosen plan, measured");
            costs = self.measure(&plan)?;
            let next = choose_plan(&costs, tiers, target_seconds, &self.runtime, Some(&plan));
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
        let (suite, _) = build_with(self.inputs, self.home, plan, None, self.jobs)?;
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
/// time goes to the top tier; if it was already there, it measures nothing. With the plan just
/// measured as `previous`, a test keeps its tier unless another is clearly closer (`KEEP`).
fn choose_plan(
    costs: &BTreeMap<String, Cost>,
    tiers: &[u64],
    target_seconds: f64,
    runtime: &Runtime,
    previous: Option<&Plan>,
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
            Cost::PerIteration(cost) => {
                let current = previous.and_then(|p| p.iterations.get(name)).copied();
                closest_tier(*cost, tiers, target_seconds * 1e12, current)
            }
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

/// The tier whose sample lasts closest to the target on a log scale (0.05 s and 0.2 s are
/// equally far from 0.1 s); `current`, the tier the cost was measured at, is kept unless the
/// best is closer by more than `KEEP`.
fn closest_tier(cost_ps: f64, tiers: &[u64], target_ps: f64, current: Option<u64>) -> u64 {
    let distance = |tier: &u64| ((*tier as f64 * cost_ps) / target_ps).ln().abs();
    let best = *tiers
        .iter()
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .expect("validated: tiers not empty");
    match current.filter(|c| tiers.contains(c)) {
        Some(current) if distance(&current) - distance(&best) <= KEEP.ln() => current,
        _ => best,
    }
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
        assert_eq!(closest_tier(2e12, &tiers, target, None), 1); // 2 s an iteration
        assert_eq!(closest_tier(5e9, &tiers, target, None), 10); // 5 ms: 50 ms or 0.5 s
        assert_eq!(closest_tier(1e9, &tiers, target, None), 100); // 1 ms: exactly 0.1 s
        assert_eq!(closest_tier(1e3, &tiers, target, None), 10000); // capped at the top tier
    }

    #[test]
    fn a_one_two_five_series_keeps_every_sample_within_its_spacing_of_the_target() {
        let tiers: Vec<u64> = (0..6)
            .flat_map(|e| [1, 2, 5].map(|m| m * 10u64.pow(e)))
            .chain([1_000_000])
            .collect();
        let target = 0.1e12;
        // 3 ms an iteration: 20 (60 ms) and 50 (150 ms) are ln-distances 0.51 and 0.41 away.
        assert_eq!(closest_tier(3e9, &tiers, target, None), 50);
        // Any cost the tiers can reach lands within a factor sqrt(2.5) of the target.
        for step in 0..300 {
            let cost = 1e5 * 10f64.powf(step as f64 / 50.0); // 100 ns .. 100 ms an iteration
            let tier = closest_tier(cost, &tiers, target, None);
            let ratio = tier as f64 * cost / target;
            assert!(
                (1.0 / 1.59..=1.59).contains(&ratio),
                "{cost} ps -> {tier} ({ratio})"
            );
        }
    }

    #[test]
    fn a_test_between_two_tiers_keeps_the_one_it_was_measured_at() {
        let tiers = [10, 20, 50, 100];
        let target = 0.1e12;
        // 3.1 ms: 50 (155 ms) is a hair closer than 20 (62 ms); measured at 20, it stays.
        assert_eq!(closest_tier(3.1e9, &tiers, target, None), 50);
        assert_eq!(closest_tier(3.1e9, &tiers, target, Some(20)), 20);
        // Clearly closer elsewhere, it moves; a count that is no tier is no reason to stay.
        assert_eq!(closest_tier(1e9, &tiers, target, Some(20)), 100);
        assert_eq!(closest_tier(3.1e9, &tiers, target, Some(30)), 50);
    }

    #[test]
    fn too_fast_moves_up_then_measures_nothing_at_the_top() {
        let tiers = [1, 10, 100];
        let costs = BTreeMap::from([
            ("fast".to_string(), Cost::TooFast(1)),
            ("empty".to_string(), Cost::TooFast(100)),
            ("slow".to_string(), Cost::PerIteration(1e12)),
        ]);
        let plan = choose_plan(&costs, &tiers, 0.1, &runtime(), None);
        assert_eq!(plan.iterations["fast"], 100);
        assert!(!plan.measures_nothing.contains("fast"));
        assert!(plan.measures_nothing.contains("empty"));
        assert_eq!(plan.iterations["slow"], 1);
    }
}
