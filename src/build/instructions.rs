//! The modules of the instructions measure. A count of a whole process includes the runtime's
//! start-up and its compilation of the module, which no gate is about; the count per iteration
//! of the test's loop is what matters. So each test is built twice, at two neighbouring tiers,
//! and the run stage subtracts the smaller module's count from the larger one's: what is left
//! is the extra iterations alone (the first iteration, which allocates, is in both).
//!
//! A count needs no long loop, and under valgrind a module runs about twenty times slower than
//! on the bare processor, so the larger module runs the time plan's iterations divided by
//! `run.instructions.iterations_divisor`, down to a tier.
//!
//! The modules always draw their random inputs from the fixed stream (`fixed_random`),
//! whatever `build.random` says: with the system's random bytes, the work of an iteration
//! depends on what was drawn in a fifth of the tests, and their counts wander by percents.

use super::{BuildOutcome, Inputs, Suite, build_with, prepare_with};
use crate::config::{Config, RandomBytes};
use crate::model::{Measure, Plan, PlanUsed};
use crate::toolchain::Home;
use anyhow::{Result, bail};

/// The suite whose modules are measured, and the suite of the same tests at fewer iterations
/// whose counts are subtracted.
pub struct InstructionSuites {
    pub suite: Suite,
    pub low: Suite,
}

/// The iterations of one test under the instructions measure: `(low, high)`, neighbouring tiers
/// with `high` the largest tier at most `time_iterations / divisor`, and never the first tier.
pub fn instruction_iterations(
    time_iterations: u64,
    tiers: &[u64],
    divisor: u64,
) -> Option<(u64, u64)> {
    let wanted = time_iterations / divisor.max(1);
    let high = tiers
        .iter()
        .skip(1)
        .rposition(|tier| *tier <= wanted)
        .map_or(1, |at| at + 1);
    Some((*tiers.get(high - 1)?, *tiers.get(high)?))
}

/// The two plans of the instructions measure, made from the time plan.
pub fn instruction_plans(plan: &Plan, tiers: &[u64], divisor: u64) -> Result<(Plan, Plan)> {
    if tiers.len() < 2 {
        bail!(
            "field `build.tiers`: the instructions measure needs at least two tiers (it subtracts the count of a module at fewer iterations), e.g. [1, 2, 5, 10]"
        );
    }
    let pick = |time: u64| instruction_iterations(time, tiers, divisor).expect("two tiers");
    let with = |choose: fn((u64, u64)) -> u64| Plan {
        calibrated_on: plan.calibrated_on.clone(),
        target_seconds: plan.target_seconds / divisor as f64,
        default_iterations: choose(pick(plan.default_iterations)),
        iterations: (plan.iterations.iter())
            .map(|(test, time)| (test.clone(), choose(pick(*time))))
            .collect(),
        measures_nothing: plan.measures_nothing.clone(),
    };
    Ok((with(|(low, _)| low), with(|(_, high)| high)))
}

/// Builds (or finds) both suites of the configured plan under the instructions measure.
pub fn build_instruction_suites(
    config: &Config,
    home: &Home,
) -> Result<(InstructionSuites, BuildOutcome)> {
    let plan = crate::config::load_plan(config)?;
    let used = crate::config::plan_used(config, &plan);
    let divisor = config.run.instructions.iterations_divisor;
    let (low_plan, high_plan) = instruction_plans(&plan, &config.build.tiers, divisor)?;
    let inputs = prepare_instruction_inputs(config, home)?;
    let used = PlanUsed {
        target_seconds: high_plan.target_seconds,
        calibrated_on: format!(
            "{}, iterations divided by {divisor} for the instructions measure",
            used.calibrated_on
        ),
        ..used
    };
    let jobs = config.build.jobs;
    let (suite, outcome) = build_with(&inputs, home, &high_plan, Some(used.clone()), jobs)?;
    let low_used = PlanUsed {
        calibrated_on: format!("{} (the smaller modules)", used.calibrated_on),
        ..used
    };
    let (low, low_outcome) = build_with(&inputs, home, &low_plan, Some(low_used), jobs)?;
    let outcome = match (outcome, low_outcome) {
        (BuildOutcome::Cached, BuildOutcome::Cached) => BuildOutcome::Cached,
        _ => BuildOutcome::Built,
    };
    Ok((InstructionSuites { suite, low }, outcome))
}

/// The suites a run under `measure` needs.
pub struct MeasuredSuites {
    /// The suite whose modules are measured.
    pub suite: Suite,
    /// Under the instructions measure, the suite of the smaller modules.
    pub low: Option<Suite>,
}

/// Builds (or finds) the suites a run under `measure` measures.
pub fn suites_for(config: &Config, home: &Home, measure: Measure) -> Result<MeasuredSuites> {
    Ok(match measure {
        // A compile does not run the module: the suite as measured for time is compiled.
        Measure::Time | Measure::Compile | Measure::CompileInstructions => MeasuredSuites {
            suite: super::build_configured(config, home)?.0,
            low: None,
        },
        Measure::Instructions => {
            let (suites, _) = build_instruction_suites(config, home)?;
            MeasuredSuites {
                suite: suites.suite,
                low: Some(suites.low),
            }
        }
    })
}

/// The build's inputs under `measure` (the instructions measure always draws fixed random
/// bytes), for a native build of the same source.
pub fn inputs_for(config: &Config, home: &Home, measure: Measure) -> Result<Inputs> {
    match measure {
        Measure::Time | Measure::Compile | Measure::CompileInstructions => {
            super::prepare(config, home)
        }
        Measure::Instructions => prepare_instruction_inputs(config, home),
    }
}

/// The build's inputs under the instructions measure: the source with fixed random bytes.
pub fn prepare_instruction_inputs(config: &Config, home: &Home) -> Result<Inputs> {
    prepare_with(config, home, RandomBytes::Fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIERS: [u64; 7] = [1, 2, 5, 10, 20, 50, 100];

    #[test]
    fn the_larger_module_is_the_time_plans_divided_down_to_a_tier_and_the_smaller_the_tier_below() {
        assert_eq!(instruction_iterations(1000, &TIERS, 10), Some((50, 100)));
        assert_eq!(instruction_iterations(400, &TIERS, 10), Some((10, 20)));
        assert_eq!(instruction_iterations(5000, &TIERS, 10), Some((50, 100)));
        // A test of one iteration still runs two, so that one can be subtracted.
        assert_eq!(instruction_iterations(1, &TIERS, 10), Some((1, 2)));
        assert_eq!(instruction_iterations(20, &TIERS, 1), Some((10, 20)));
        assert_eq!(instruction_iterations(5, &[1], 1), None);
    }

    #[test]
    fn both_plans_keep_every_test_and_what_measures_nothing() {
        let plan = Plan {
            calibrated_on: "x".into(),
            target_seconds: 0.1,
            default_iterations: 10,
            iterations: [("sign".to_string(), 1), ("hash".to_string(), 20000)].into(),
            measures_nothing: ["misuse".to_string()].into(),
        };
        let (low, high) = instruction_plans(&plan, &TIERS, 10).unwrap();
        assert_eq!(low.iterations["sign"], 1);
        assert_eq!(high.iterations["sign"], 2);
        assert_eq!((low.iterations["hash"], high.iterations["hash"]), (50, 100));
        assert_eq!((low.default_iterations, high.default_iterations), (1, 2));
        assert_eq!(high.measures_nothing, plan.measures_nothing);
        let refused = instruction_plans(&plan, &[1], 10).unwrap_err().to_string();
        assert!(refused.contains("build.tiers"), "{refused}");
    }
}
