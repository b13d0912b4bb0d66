//! The iteration plan: how many iterations each test runs per sample, shipped or calibrated.

use super::load::parse_yaml;
use super::schema::{Config, PlanChoice};
use anyhow::{Context, Result, bail};

/// The iteration plan shipped with wasmgate (see `wasmgate calibrate`).
pub const DEFAULT_PLAN_YAML: &str = include_str!("plan.yml");

/// Loads the iteration plan the configuration names, else the shipped one.
pub fn load_plan(config: &Config) -> Result<crate::model::Plan> {
    match &config.build.plan {
        PlanChoice::Shipped => parse_plan(DEFAULT_PLAN_YAML, "the built-in plan"),
        PlanChoice::File(path) | PlanChoice::RunnerCached(path) => {
            let text = crate::model::read_text(path, super::load::CONFIG_LIMIT)
                .with_context(|| format!("cannot read the plan {} (build.plan)", path.display()))?;
            parse_plan(&text, &path.display().to_string())
        }
        PlanChoice::Runner => bail!(
            "field `build.plan`: `runner` was not resolved before building; this command cannot calibrate a plan: run `wasmgate calibrate --for-runner` first, or set build.plan to null or a file"
        ),
    }
}

/// A plan file read and checked. Its counts need not be among `build.tiers`: a plan written
/// with other tiers (or by hand) still builds.
pub fn parse_plan(text: &str, origin: &str) -> Result<crate::model::Plan> {
    let plan: crate::model::Plan = parse_yaml(text, origin)?;
    if plan.default_iterations == 0 {
        bail!("{origin}: field `default_iterations`: give a count above 0, e.g. 10");
    }
    if let Some((test, _)) = plan.iterations.iter().find(|(_, count)| **count == 0) {
        bail!(
            "{origin}: field `iterations.{test}`: give a count above 0 (a test that measures nothing goes under `measures_nothing`)"
        );
    }
    Ok(plan)
}

/// What the suite's manifest records about the plan it was built from.
pub fn plan_used(config: &Config, plan: &crate::model::Plan) -> crate::model::PlanUsed {
    let source = match &config.build.plan {
        PlanChoice::Shipped => crate::model::PlanSource::Shipped,
        PlanChoice::File(_) => crate::model::PlanSource::File,
        PlanChoice::Runner | PlanChoice::RunnerCached(_) => crate::model::PlanSource::Runner,
    };
    crate::model::PlanUsed {
        source,
        calibrated_on: plan.calibrated_on.clone(),
        target_seconds: plan.target_seconds,
    }
}

pub fn plan_to_yaml(plan: &crate::model::Plan) -> Result<String> {
    Ok(serde_yaml::to_string(plan)?)
}
