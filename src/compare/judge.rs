//! One results file judged: its head runtime against a base runtime of the same run (paired)
//! or against a stored baseline (two groups). What `compare`, `gate`, `nightly`, `bisect` and
//! `calibrate aa` all do, and the gate itself: measure, then judge.

use super::baseline::{side_from_baseline, side_from_results};
use super::{Foreign, MeasuredOn, Pairing, check_alike, compare, settings};
use crate::config::{CompareConfig, Loaded};
use crate::model::{Comparison, Results};
use crate::run::adapter::RuntimeRequest;
use crate::run::measure::MeasureRequest;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// What the head runtime is compared with.
#[derive(Debug, Clone, Default)]
pub struct Against {
    /// The base runtime's label in the same results (same-run A/B).
    pub base: Option<String>,
    /// The head runtime's label; `None` when the results hold one runtime.
    pub head: Option<String>,
    /// A stored baseline instead of a base runtime.
    pub baseline: Option<PathBuf>,
    /// Compare even across suites or machines (the report then says so first).
    pub allow_foreign: bool,
}

impl Against {
    /// Two runtimes of one run, by label.
    pub fn same_run(base: &str, head: &str) -> Against {
        Against {
            base: Some(base.to_string()),
            head: Some(head.to_string()),
            ..Against::default()
        }
    }

    /// Whether anything to compare with was given.
    pub fn is_given(&self) -> bool {
        self.base.is_some() || self.baseline.is_some()
    }
}

/// What a gate ended with.
pub enum GateOutcome {
    /// Stopped by Ctrl-C or SIGTERM; the samples so far are in the results file.
    Interrupted,
    /// Measured, with nothing to compare with.
    Measured(Box<Results>),
    /// Measured and judged.
    Judged(Box<Comparison>),
}

/// The gate: a baseline checked first (before the budget is spent), the run measured into
/// `results_path`, then judged against what `against` names, if anything.
pub fn gate(
    loaded: &Loaded,
    request: &MeasureRequest,
    results_path: &Path,
    against: &Against,
) -> Result<GateOutcome> {
    if let Some(baseline) = &against.baseline {
        let foreign = Foreign::allowed_if(against.allow_foreign);
        check_baseline_first(baseline, foreign, &loaded.config, request.sampling.measure)?;
    }
    // With nothing to compare, there is no verdict to decide: the run is a report of its
    // runtimes side by side, each ratio sampled to the gate's precision.
    let purpose = match against.is_given() {
        true => request.purpose,
        false => crate::config::Purpose::Report,
    };
    let request = MeasureRequest {
        purpose,
        ..request.clone()
    };
    let results = crate::run::measure::measure(loaded, &request, results_path)?;
    if !results.complete {
        return Ok(GateOutcome::Interrupted);
    }
    if !against.is_given() {
        return Ok(GateOutcome::Measured(Box::new(results)));
    }
    let mut comparison = judge_results(&results, results_path, against, &loaded.config.compare)?;
    if let (Some(base), Some(head)) = (&against.base, &against.head) {
        let request_of = |label: &str| -> Result<RuntimeRequest> {
            match request.runtimes.iter().find(|r| r.label == label) {
                Some(found) => Ok(found.clone()),
                None => label.parse().map_err(anyhow::Error::msg),
            }
        };
        let sides = (&request_of(base)?, &request_of(head)?);
        super::evidence::attach_after_run(loaded, &mut comparison, sides, &results)?;
    }
    Ok(GateOutcome::Judged(Box::new(comparison)))
}

/// A gate against a stored baseline checks it before measuring for the whole budget: readable,
/// of the suite this configuration builds, and measured on this machine unless allowed.
pub(super) fn check_baseline_first(
    path: &Path,
    foreign: Foreign,
    config: &crate::config::Config,
    measure: crate::model::Measure,
) -> Result<()> {
    let base = side_from_baseline(path)?;
    if base.info.measure != measure {
        bail!(
            "{}: a baseline of {}, and this gate measures {}: store a baseline of the same measure (its file name says which), or gate with --measure {}",
            path.display(),
            base.info.measure.name(),
            measure.name(),
            base.info.measure.name()
        );
    }
    let home = crate::toolchain::Home::resolve(config)?;
    let suite = crate::build::instructions::suites_for(config, &home, measure)?.suite;
    let machine = crate::run::machine::fingerprint(Vec::new());
    let here = MeasuredOn {
        suite_id: &suite.manifest.suite_id,
        machine: &machine,
    };
    super::check_same_machine_and_build(&base.info, &here, foreign)?;
    Ok(())
}

/// The comparison of a results file's head with its base or a baseline.
pub fn judge(results_path: &Path, against: &Against, config: &CompareConfig) -> Result<Comparison> {
    let results = crate::run::read_results(results_path)?;
    judge_results(&results, results_path, against, config)
}

/// As `judge`, of results already read from `results_path`.
pub fn judge_results(
    results: &Results,
    results_path: &Path,
    against: &Against,
    config: &CompareConfig,
) -> Result<Comparison> {
    let head = side_from_results(results, against.head.as_deref(), results_path)?;
    let baseline = against.baseline.as_deref();
    let base = match (against.base.as_deref(), baseline) {
        (Some(label), None) => side_from_results(results, Some(label), results_path)?,
        (None, Some(path)) => side_from_baseline(path)?,
        _ => bail!(
            "say what to compare with: --base LABEL (a runtime of the same run) or --baseline FILE"
        ),
    };
    if base.info.label == head.info.label && baseline.is_none() {
        bail!(
            "--base and --head name the same runtime `{}`",
            head.info.label
        );
    }
    let foreign = check_alike(&base, &head, Foreign::allowed_if(against.allow_foreign))?;
    // Two runtimes of one run were measured round by round, back to back: compare them in
    // pairs, which cancels the machine's drift. A baseline comes from another run.
    let pairing = match baseline {
        None => Pairing::ByRound,
        Some(_) => Pairing::Unpaired,
    };
    let comparison = compare(
        &base,
        &head,
        &settings(config, head.info.measure),
        pairing,
        foreign,
    );
    if comparison.tests.is_empty() {
        bail!(
            "{}: `{}` and `{}` measured no test in common: measure the tests the base has (--tests)",
            results_path.display(),
            base.info.label,
            head.info.label
        );
    }
    Ok(comparison)
}
