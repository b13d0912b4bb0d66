//! Are the two sides alike: one side's samples with what they were measured on, and the checks
//! that both measured the same suite on the same kind of machine before a verdict is given.

use crate::model::{ComparedSide, Manifest, Sample};
use crate::stats;
use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// The samples of one side, with what they were measured on.
#[derive(Debug, Clone)]
pub struct Side {
    pub info: ComparedSide,
    pub suite: Manifest,
    pub samples: Vec<Sample>,
}

/// What one side measured of a test.
#[derive(Debug)]
pub(super) struct Taken<'s> {
    /// The side that measured it.
    pub(super) side: &'s Side,
    /// The successful values.
    pub(super) values: Vec<f64>,
    /// Samples that failed the test (crash, wrong output, timeout).
    pub(super) failed: usize,
    /// The first failure's message.
    pub(super) message: Option<String>,
    /// Samples another process on the core disturbed: measured again, neither a value nor a
    /// failure.
    pub(super) disturbed: usize,
}

impl Side {
    pub(super) fn values(&self, test: &str) -> Taken<'_> {
        let mut taken = Taken {
            side: self,
            values: Vec::new(),
            failed: 0,
            message: None,
            disturbed: 0,
        };
        for sample in self.samples.iter().filter(|s| s.test == test) {
            if let Some(value) = sample.ok_value() {
                taken.values.push(value);
            } else if sample.disturbed() {
                taken.disturbed += 1;
            } else {
                taken.failed += 1;
                taken.message = taken.message.or_else(|| sample.message.clone());
            }
        }
        taken
    }

    /// Whether some test counted more than once on this side spread beyond `min_effect`: a
    /// runtime whose count wanders (JIT tiers, collectors), whose single counts that happen to
    /// agree with the other side's prove nothing.
    pub(super) fn counts_wander(&self, min_effect: f64) -> bool {
        let mut by_test: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for sample in &self.samples {
            if let Some(value) = sample.ok_value() {
                by_test.entry(&sample.test).or_default().push(value);
            }
        }
        by_test
            .values()
            .filter(|values| values.len() > 1)
            .any(|values| {
                let (low, high) = stats::low_high(values);
                stats::median(values).is_none_or(|median| (high - low) / median > min_effect)
            })
    }

    /// `(self, other)` values of a test measured in the same round, both successful.
    pub(crate) fn pairs_with(&self, other: &Side, test: &str) -> Vec<(f64, f64)> {
        let by_round = |side: &Side| -> BTreeMap<u32, f64> {
            side.samples
                .iter()
                .filter(|s| s.test == test)
                .filter_map(|s| Some((s.round, s.ok_value()?)))
                .collect()
        };
        stats::pair_by_round(&by_round(self), &by_round(other))
    }
}

/// Whether sides measured on another build of the suite or another machine may be compared
/// (`--allow-foreign`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    Refused,
    Allowed,
}

impl Foreign {
    pub fn allowed_if(allowed: bool) -> Foreign {
        if allowed {
            Foreign::Allowed
        } else {
            Foreign::Refused
        }
    }
}

/// Where a side was measured: its build of the suite and its machine.
pub struct MeasuredOn<'a> {
    pub suite_id: &'a str,
    pub machine: &'a crate::model::Machine,
}

/// Refuses sides that were not measured alike, unless `foreign` is allowed; returns the note the
/// report must lead with when they differ and the user allowed it, or when the runner was set
/// up differently (governor, turbo, ...): that is stated, never refused, since a tuned runner
/// is still the same machine.
pub fn check_alike(base: &Side, head: &Side, foreign: Foreign) -> Result<Option<String>> {
    // Picoseconds over instructions is no ratio of anything: never allowed.
    if base.info.measure != head.info.measure {
        bail!(
            "{} measured {}, {} measured {}: compare sides of the same measure (--measure)",
            base.info.origin,
            base.info.measure.name(),
            head.info.origin,
            head.info.measure.name()
        );
    }
    let head_measured_on = MeasuredOn {
        suite_id: &head.info.suite_id,
        machine: &head.info.machine,
    };
    let foreign = check_same_machine_and_build(&base.info, &head_measured_on, foreign)?;
    let settings = match (
        &base.info.machine.environment,
        &head.info.machine.environment,
    ) {
        (Some(b), Some(h)) => crate::run::doctor::setting_differences(b, h),
        _ => Vec::new(),
    };
    let settings = (!settings.is_empty()).then(|| {
        format!(
            "{} was measured under other runner settings ({})",
            base.info.origin,
            settings.join("; ")
        )
    });
    Ok(match (foreign, settings) {
        (Some(foreign), Some(settings)) => Some(format!("{foreign}; {settings}")),
        (foreign, settings) => foreign.or(settings),
    })
}

/// Refuses a base measured on another build of the suite or another machine than the head's
/// unless allowed; then returns the note that says so.
pub fn check_same_machine_and_build(
    base: &ComparedSide,
    head: &MeasuredOn,
    foreign: Foreign,
) -> Result<Option<String>> {
    let (head_suite_id, head_machine) = (head.suite_id, head.machine);
    let mut differences = Vec::new();
    if base.suite_id != head_suite_id {
        differences.push(format!(
            "another wasm build (suite {} vs {head_suite_id})",
            base.suite_id
        ));
    }
    if base.machine.fingerprint != head_machine.fingerprint {
        differences.push(format!(
            "another machine ({})",
            machine_differences(&base.machine, head_machine)
        ));
    }
    if differences.is_empty() {
        return Ok(None);
    }
    let note = format!(
        "{} was measured on {}",
        base.origin,
        differences.join(" and ")
    );
    if foreign == Foreign::Refused {
        bail!(
            "{note}; timings are not comparable: measure a baseline on this runner with this suite, or pass --allow-foreign"
        );
    }
    Ok(Some(note))
}

/// What sets two machines apart, field by field: two identical descriptions would say nothing.
pub(super) fn machine_differences(
    base: &crate::model::Machine,
    head: &crate::model::Machine,
) -> String {
    let fields = [
        ("CPU", &base.cpu_model, &head.cpu_model),
        ("arch", &base.arch, &head.arch),
        ("OS", &base.os, &head.os),
    ];
    let mut differences: Vec<String> = fields
        .iter()
        .filter(|(_, b, h)| b != h)
        .map(|(what, b, h)| format!("{what} {b} vs {h}"))
        .collect();
    if base.logical_cores != head.logical_cores {
        differences.push(format!(
            "{} vs {} cores",
            base.logical_cores, head.logical_cores
        ));
    }
    if differences.is_empty() {
        differences.push(format!(
            "fingerprint {} vs {}, with the same CPU, cores and OS: recorded by another wasmgate version?",
            base.fingerprint, head.fingerprint
        ));
    }
    differences.join(", ")
}
