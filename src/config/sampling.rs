//! A run's sampling settings: the gate's overlay of `run`, where each setting came from (a field
//! or a flag, so an error names it as the user wrote it), their checks and the command line's
//! overrides.

use super::schema::{Config, DisturbanceConfig, GateConfig, InstructionsConfig, RunConfig};
use anyhow::{Result, bail};
use std::collections::BTreeMap;

impl Config {
    /// The sampling defaults of a gate (and of the A/A proof of one): `run`'s, with the gate's
    /// sample minimum and maximum, precision and budget.
    pub(super) fn gate_run(&self) -> RunConfig {
        RunConfig {
            samples: self.gate.samples,
            max_samples: self.gate.max_samples.unwrap_or(self.run.max_samples),
            precision: self.gate.precision.unwrap_or(self.run.precision),
            budget: self.gate.budget.clone(),
            ..self.run.clone()
        }
    }

    /// A gate's sampling defaults (`gate_run`) with where each setting came from, for the
    /// command line's overrides and their errors.
    pub fn gate_sampling(&self) -> SamplingDefaults {
        SamplingDefaults {
            run: self.gate_run(),
            sources: Sources::gate_fields(&self.gate),
            purpose: Purpose::Verdicts,
        }
    }

    /// A run's sampling defaults: the `run` section, every setting from its own field.
    pub fn run_sampling(&self) -> SamplingDefaults {
        SamplingDefaults {
            run: self.run.clone(),
            sources: Sources::run_fields(),
            purpose: Purpose::Report,
        }
    }
}

/// A command's sampling defaults, before the command line's overrides: the settings and the
/// field each came from.
#[derive(Debug, Clone)]
pub struct SamplingDefaults {
    pub run: RunConfig,
    pub sources: Sources,
    pub purpose: Purpose,
}

/// What a command's samples are for, which decides when a test has enough of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A report of runtimes side by side (`run`): each ratio known to the precision target.
    Report,
    /// Verdicts (`gate`, `nightly`, `bisect`, `calibrate aa`): each comparison sampled until
    /// its verdict is decided, within the maximum and the budget.
    Verdicts,
}

/// Where each sampling setting of a run came from: a field of the configuration, or a flag
/// given on the command line. Errors name it as the user wrote it.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Setting (e.g. `samples`) -> its field in the configuration, when not `run.SETTING`.
    fields: BTreeMap<&'static str, &'static str>,
    /// Settings given on the command line.
    flags: std::collections::BTreeSet<&'static str>,
}

impl Sources {
    /// Every setting from the configuration's `run` section.
    pub fn run_fields() -> Sources {
        Sources::default()
    }

    /// Under the instructions measure, the sampling comes from `run.instructions`.
    fn instruction_fields(mut self) -> Sources {
        for (setting, field) in [
            ("samples", "run.instructions.samples"),
            ("max_samples", "run.instructions.max_samples"),
            ("precision", "run.instructions.precision"),
        ] {
            self.fields.insert(setting, field);
        }
        self
    }

    /// The gate's overlay of `run` (see `Config::gate_run`): its maximum is `run`'s unless
    /// the gate names its own.
    pub(super) fn gate_fields(gate: &GateConfig) -> Sources {
        let mut fields = BTreeMap::from([
            ("samples", "gate.samples"),
            ("budget", "gate.budget"),
            ("precision", "gate.precision"),
        ]);
        if gate.max_samples.is_some() {
            fields.insert("max_samples", "gate.max_samples");
        }
        Sources {
            fields,
            ..Sources::default()
        }
    }

    /// The same, with these settings given on the command line instead.
    pub fn with_flags(mut self, flags: impl IntoIterator<Item = &'static str>) -> Sources {
        self.flags.extend(flags);
        self
    }

    /// How a setting is named inside a sentence: `--max-samples` or `run.max_samples`.
    fn name(&self, setting: &str) -> String {
        if self.flags.contains(setting) {
            format!("--{}", setting.replace('_', "-"))
        } else {
            match self.fields.get(setting) {
                Some(field) => field.to_string(),
                None => format!("run.{setting}"),
            }
        }
    }

    /// How an error about a setting begins: `--max-samples` or field `run.max_samples`.
    fn subject(&self, setting: &str) -> String {
        if self.flags.contains(setting) {
            self.name(setting)
        } else {
            format!("field `{}`", self.name(setting))
        }
    }
}

/// The longest a sample may take before it is a timeout: beyond a day, a sample is a hang, and
/// clocks and deadlines stay far from overflowing.
const MAX_TIMEOUT_SECONDS: u64 = 86_400;
/// The longest budget a run may be given, for the same reason.
const MAX_BUDGET: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// The checks of a run's sampling settings: one path for the configuration's `run`, the gate's
/// overlay of it and the command line's overrides, so a value is refused alike wherever it
/// was given.
pub fn check_run(run: &RunConfig, sources: &Sources) -> Result<()> {
    if run.samples == 0 {
        bail!("{}: must be at least 1", sources.subject("samples"));
    }
    if run.max_samples < run.samples {
        bail!(
            "{}: {} is below {} ({}); give at least that many",
            sources.subject("max_samples"),
            run.max_samples,
            sources.name("samples"),
            run.samples
        );
    }
    if !(0.0..1.0).contains(&run.precision) || run.precision.is_nan() {
        bail!(
            "{}: give a fraction, e.g. 0.01 for ±1 %, or 0 for fixed samples",
            sources.subject("precision")
        );
    }
    if let Some(budget) = &run.budget {
        let parsed = parse_duration(budget)
            .map_err(|e| anyhow::anyhow!("{}: {e}", sources.subject("budget")))?;
        if parsed > MAX_BUDGET {
            bail!(
                "{}: `{budget}` is more than {} days; give a shorter bound, or none",
                sources.subject("budget"),
                MAX_BUDGET.as_secs() / 86_400
            );
        }
    }
    if let Some(core) = repeated_core(&run.cores) {
        bail!(
            "{}: core {core} is listed twice; each core runs one worker, one sample at a time",
            sources.subject("cores")
        );
    }
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&run.timeout_seconds) {
        bail!(
            "{}: give 1 to {MAX_TIMEOUT_SECONDS} seconds (a day)",
            sources.subject("timeout_seconds")
        );
    }
    check_disturbance(&run.disturbance, sources)?;
    check_instructions(&run.instructions)
}

/// The instructions measure's own settings, wherever the run's measure is.
fn check_instructions(counting: &InstructionsConfig) -> Result<()> {
    if counting.samples == 0 || counting.max_samples < counting.samples {
        bail!(
            "field `run.instructions.samples`/`max_samples`: give at least 1 sample and a maximum no lower (e.g. 2 and 12)"
        );
    }
    if !(0.0..1.0).contains(&counting.precision) {
        bail!(
            "field `run.instructions.precision`: give a fraction, e.g. 0.002 for ±0.2 %, or 0 for fixed samples"
        );
    }
    if !(1..=1_000_000).contains(&counting.iterations_divisor) {
        bail!("field `run.instructions.iterations_divisor`: give 1 to 1000000, e.g. 100");
    }
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&counting.timeout_seconds) {
        bail!(
            "field `run.instructions.timeout_seconds`: give 1 to {MAX_TIMEOUT_SECONDS} seconds (a day)"
        );
    }
    Ok(())
}

fn check_disturbance(disturbance: &DisturbanceConfig, sources: &Sources) -> Result<()> {
    let share = disturbance.max_wait_share;
    if !(share > 0.0 && share < 1.0) {
        bail!(
            "{}: give a fraction of the wall time, e.g. 0.05 for 5 %",
            sources.subject("disturbance.max_wait_share")
        );
    }
    let rate = disturbance.max_preemptions_per_second;
    if !(rate > 0.0 && rate.is_finite()) {
        bail!(
            "{}: give a positive number of preemptions per second, e.g. 1000",
            sources.subject("disturbance.max_preemptions_per_second")
        );
    }
    Ok(())
}

/// What the command line may set of a run's sampling, over the configured defaults.
#[derive(Debug, Clone, Default)]
pub struct RunOverrides {
    pub samples: Option<u32>,
    pub max_samples: Option<u32>,
    pub precision: Option<f64>,
    pub budget: Option<String>,
    pub cores: Vec<usize>,
    /// Given: workers may share a physical core's SMT siblings.
    pub allow_smt_siblings: bool,
    pub measure: Option<crate::model::Measure>,
}

impl RunOverrides {
    /// `defaults` (whose fields `sources` names) with these overrides, checked like the
    /// configuration. A `--samples` above the configured maximum raises the maximum with it
    /// (asking for 50 samples means 50); an explicit `--max-samples` below it is refused.
    pub fn apply(&self, defaults: &RunConfig, sources: Sources) -> Result<RunConfig> {
        let mut run = defaults.clone();
        let mut given = Vec::new();
        if let Some(measure) = self.measure {
            run.measure = measure;
            given.push("measure");
        }
        let sources = match run.measure.is_time() {
            true => sources,
            false => {
                let counting = run.instructions;
                run.samples = counting.samples;
                run.max_samples = counting.max_samples;
                run.precision = counting.precision;
                run.timeout_seconds = counting.timeout_seconds;
                sources.instruction_fields()
            }
        };
        if let Some(samples) = self.samples {
            run.samples = samples;
            given.push("samples");
        }
        match self.max_samples {
            Some(max_samples) => {
                run.max_samples = max_samples;
                given.push("max_samples");
            }
            None => run.max_samples = run.max_samples.max(run.samples),
        }
        if let Some(precision) = self.precision {
            run.precision = precision;
            given.push("precision");
        }
        if let Some(budget) = &self.budget {
            run.budget = Some(budget.clone());
            given.push("budget");
        }
        if !self.cores.is_empty() {
            run.cores = self.cores.clone();
            given.push("cores");
        }
        if self.allow_smt_siblings {
            run.allow_smt_siblings = true;
            given.push("allow_smt_siblings");
        }
        check_run(&run, &sources.with_flags(given))?;
        Ok(run)
    }
}

/// A core that appears more than once in a list of cores to pin to.
pub fn repeated_core(cores: &[usize]) -> Option<usize> {
    repeated(cores).copied()
}

/// The first item that appears more than once in a list.
pub fn repeated<T: Ord>(items: &[T]) -> Option<&T> {
    let mut seen = std::collections::BTreeSet::new();
    items.iter().find(|item| !seen.insert(*item))
}

/// A duration like "10m", "90s" or "1h 30m".
pub fn parse_duration(text: &str) -> Result<std::time::Duration> {
    humantime::parse_duration(text)
        .map_err(|e| anyhow::anyhow!("`{text}` is not a duration like 10m or 90s ({e})"))
}
