//! The injection proof: the A/A samples of `calibrate aa`, replayed under each of the
//! `DEFAULT_SETTINGS` with the gate's stopping rule and budget, measure how often the gate
//! finds a known slowdown and how often it cries wolf.

use super::injection::{DEFAULT_SETTINGS, Outcome, Replay, Sampling, Setting};
use crate::compare::settings;
use crate::config::{Loaded, RunOverrides, Sources, parse_duration};
use crate::model::{CompareSettings, Results};
use crate::stats::stopping::Stopping;
use anyhow::{Result, anyhow, bail};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The A/A results to replay, and how.
#[derive(Debug, Clone)]
pub struct InjectRequest {
    /// Results of `calibrate aa`.
    pub results: PathBuf,
    /// Trials per setting.
    pub trials: usize,
    pub seed: u64,
    /// Sampling flags over the gate's configured sampling.
    pub overrides: RunOverrides,
}

/// What was replayed, and each setting's outcome.
#[derive(Debug, Clone)]
pub struct InjectReport {
    pub settings: CompareSettings,
    pub sampling: Sampling,
    /// The budget as it was given (e.g. `10m`), if any.
    pub budget: Option<String>,
    /// Tests with samples in the file (at least 1, to divide by).
    pub tests: usize,
    pub outcomes: Vec<(Setting, Outcome)>,
}

pub fn inject(loaded: &Loaded, request: &InjectRequest) -> Result<InjectReport> {
    if request.trials == 0 {
        bail!("--trials must be at least 1");
    }
    let path = &request.results;
    let results = crate::run::read_results(path)?;
    let settings = settings(&loaded.config.compare);
    let (sampling, budget) = gate_sampling(loaded, &request.overrides, settings.min_effect)?;
    let replay = Replay::new(&results, ("a", "b")).map_err(|why| {
        anyhow!(
            "{}: {why}; make it with `wasmgate calibrate aa`",
            path.display()
        )
    })?;
    let outcomes = replay_every_setting(&replay, &settings, &sampling, request)?;
    Ok(InjectReport {
        settings,
        sampling,
        budget,
        tests: tests_sampled(&results),
        outcomes,
    })
}

/// The gate's sampling, as `calibrate aa` and `gate` would resolve it, and its budget as given.
fn gate_sampling(
    loaded: &Loaded,
    overrides: &RunOverrides,
    min_effect: f64,
) -> Result<(Sampling, Option<String>)> {
    let sampling = overrides.apply(&loaded.config.gate_run(), Sources::gate_fields())?;
    let budget_seconds = (sampling.budget.as_deref())
        .map(parse_duration)
        .transpose()?
        .map(|b| b.as_secs_f64());
    let emulated = Sampling {
        stopping: Stopping::new(&sampling, min_effect),
        budget_seconds,
    };
    Ok((emulated, sampling.budget))
}

/// The settings are independent: they are replayed side by side.
fn replay_every_setting(
    replay: &Replay,
    settings: &CompareSettings,
    sampling: &Sampling,
    request: &InjectRequest,
) -> Result<Vec<(Setting, Outcome)>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = DEFAULT_SETTINGS
            .iter()
            .map(|&setting| {
                let run =
                    move || replay.run(settings, sampling, setting, request.trials, request.seed);
                (setting, scope.spawn(run))
            })
            .collect();
        handles
            .into_iter()
            .map(|(setting, handle)| {
                let outcome = handle
                    .join()
                    .map_err(|_| anyhow!("the replay of `{}` failed", setting.describe()))?;
                Ok((setting, outcome))
            })
            .collect()
    })
}

fn tests_sampled(results: &Results) -> usize {
    (results.samples.iter())
        .map(|s| s.test.as_str())
        .collect::<BTreeSet<_>>()
        .len()
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::results_with;

    fn loaded() -> Loaded {
        Loaded {
            config: crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap(),
            file: None,
        }
    }

    /// The one-line error of `inject` on a results file holding `results`.
    fn refusal(results: &Results, trials: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aa.json");
        crate::model::write_json(&path, results).unwrap();
        let request = InjectRequest {
            results: path,
            trials,
            seed: 1,
            overrides: RunOverrides::default(),
        };
        let err = inject(&loaded(), &request).unwrap_err();
        format!("{err:#}")
    }

    fn says_how_to_make_it(err: &str) {
        assert!(err.contains("aa.json: has "), "{err}");
        assert!(
            err.ends_with("; make it with `wasmgate calibrate aa`"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn results_without_a_and_b_name_the_file_and_the_fix() {
        let err = refusal(&results_with(&[("sign", "wasmtime", Some(5))]), 10);
        says_how_to_make_it(&err);
        assert!(err.contains("no samples of runtimes `a` and `b`"), "{err}");
    }

    #[test]
    fn results_with_only_a_name_the_missing_b() {
        let err = refusal(&results_with(&[("sign", "a", Some(5))]), 10);
        says_how_to_make_it(&err);
        assert!(
            err.contains("samples of runtime `a` but none of `b`"),
            "{err}"
        );
    }

    #[test]
    fn results_without_a_timed_test_are_refused() {
        let results = results_with(&[("sign", "a", None), ("sign", "b", Some(5))]);
        let err = refusal(&results, 10);
        says_how_to_make_it(&err);
        assert!(err.contains("no test timed on both `a` and `b`"), "{err}");
    }

    #[test]
    fn results_without_a_shared_round_are_refused() {
        let mut results = results_with(&[("sign", "a", Some(5)), ("sign", "b", Some(5))]);
        results.samples[0].round = 3;
        let err = refusal(&results, 10);
        says_how_to_make_it(&err);
        assert!(err.contains("in the same round"), "{err}");
    }

    #[test]
    fn zero_trials_are_refused() {
        let results = results_with(&[("sign", "a", Some(5)), ("sign", "b", Some(5))]);
        assert_eq!(refusal(&results, 0), "--trials must be at least 1");
    }

    #[test]
    fn a_replayable_file_gives_every_setting_its_trials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aa.json");
        let results = results_with(&[("sign", "a", Some(5)), ("sign", "b", Some(5))]);
        crate::model::write_json(&path, &results).unwrap();
        let request = InjectRequest {
            results: path,
            trials: 2,
            seed: 1,
            overrides: RunOverrides::default(),
        };
        let report = inject(&loaded(), &request).unwrap();
        assert_eq!(report.outcomes.len(), DEFAULT_SETTINGS.len());
        assert!(report.outcomes.iter().all(|(_, o)| o.trials == 2));
        assert_eq!(report.tests, 1);
    }
}
