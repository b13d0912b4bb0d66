//! The injection proof: the A/A samples of `calibrate aa`, replayed under each of the
//! `DEFAULT_SETTINGS` with the gate's stopping rule and budget, measure how often the gate
//! finds a known slowdown and how often it cries wolf.

use super::injection::{DEFAULT_SETTINGS, InjectionOutcome, Replay, Sampling, Setting};
use crate::compare::settings;
use crate::config::{Loaded, RunOverrides, parse_duration};
use crate::model::{CompareSettings, PairedTest, Results};
use crate::run::round_policy;
use crate::stats::stopping::Goal;
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
    /// Workers to replay the budget on; `None`: as many as the overrides' cores, else as the
    /// A/A run measured on.
    pub workers: Option<usize>,
    /// The paired tests replayed, side by side on the same trials; empty: the configured one.
    pub paired_tests: Vec<PairedTest>,
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
    /// The workers the A/A file was measured on (its distinct cores).
    pub recorded_workers: usize,
    /// The fewest pairs a test has in the A/A file: a rule with a higher maximum is replayed
    /// only that far for that test.
    pub fewest_pairs: usize,
    /// Per paired test and setting, its outcome.
    pub outcomes: Vec<(PairedTest, Setting, InjectionOutcome)>,
}

pub fn inject(loaded: &Loaded, request: &InjectRequest) -> Result<InjectReport> {
    if request.trials == 0 {
        bail!("--trials must be at least 1");
    }
    let path = &request.results;
    let results = crate::run::read_results(path)?;
    let settings = settings(&loaded.config.compare, results.measure);
    let replay = Replay::new(&results, ("a", "b")).map_err(|why| {
        anyhow!(
            "{}: {why}; make it with `wasmgate calibrate aa`",
            path.display()
        )
    })?;
    let workers = match (request.workers, request.overrides.cores.len()) {
        (Some(0), _) => bail!("--workers must be at least 1"),
        (Some(workers), _) => workers,
        (None, 0) => replay.recorded_workers(),
        (None, cores) => cores,
    };
    // The replay emulates the rule of the measure the A/A file was taken in.
    let overrides = RunOverrides {
        measure: Some(results.measure),
        ..request.overrides.clone()
    };
    let family = tests_sampled(&results);
    let (sampling, budget) = gate_sampling(loaded, &overrides, family, workers)?;
    let tests = if request.paired_tests.is_empty() {
        vec![settings.paired_test]
    } else {
        request.paired_tests.clone()
    };
    let outcomes = replay_every_setting(&replay, &settings, &sampling, &tests, request)?;
    Ok(InjectReport {
        settings,
        sampling,
        budget,
        tests: tests_sampled(&results),
        recorded_workers: replay.recorded_workers(),
        fewest_pairs: replay.fewest_pairs(),
        outcomes,
    })
}

/// The gate's sampling, as `calibrate aa` and `gate` would resolve it, and its budget as given.
fn gate_sampling(
    loaded: &Loaded,
    overrides: &RunOverrides,
    family: usize,
    workers: usize,
) -> Result<(Sampling, Option<String>)> {
    let defaults = loaded.config.gate_sampling();
    let sampling = overrides.apply(&defaults.run, defaults.sources)?;
    let budget = (sampling.budget.as_deref())
        .map(parse_duration)
        .transpose()?;
    let emulated = Sampling {
        stopping: round_policy::stopping_rule(
            &sampling,
            &loaded.config.compare,
            defaults.purpose,
            family,
        ),
        budget,
        workers,
    };
    Ok((emulated, sampling.budget))
}

/// The settings are independent: they are replayed side by side. Each paired test replays
/// the same trials (the same seed), so their figures differ by the test alone.
fn replay_every_setting(
    replay: &Replay,
    settings: &CompareSettings,
    sampling: &Sampling,
    tests: &[PairedTest],
    request: &InjectRequest,
) -> Result<Vec<(PairedTest, Setting, InjectionOutcome)>> {
    let runs: Vec<(PairedTest, Setting)> = (tests.iter())
        .flat_map(|&test| DEFAULT_SETTINGS.iter().map(move |&setting| (test, setting)))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (runs.into_iter())
            .map(|(paired_test, setting)| {
                let settings = CompareSettings {
                    paired_test,
                    ..settings.clone()
                };
                // The rule judges by the paired test it replays, as a gate with it would.
                let mut sampling = sampling.clone();
                if let Goal::Verdict(rule) = &mut sampling.stopping.goal {
                    rule.paired_test = paired_test;
                }
                let run =
                    move || replay.run(&settings, &sampling, setting, request.trials, request.seed);
                (paired_test, setting, scope.spawn(run))
            })
            .collect();
        handles
            .into_iter()
            .map(|(test, setting, handle)| {
                let outcome = handle.join().map_err(|_| {
                    anyhow!("the replay of `{}` ({test}) failed", setting.describe())
                })?;
                Ok((test, setting, outcome))
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

    /// Two trials of the default paired test on the A/A file at `path`, on its own workers.
    fn request_for(path: std::path::PathBuf) -> InjectRequest {
        InjectRequest {
            results: path,
            trials: 2,
            seed: 1,
            overrides: RunOverrides::default(),
            workers: None,
            paired_tests: Vec::new(),
        }
    }

    /// The one-line error of `inject` on a results file holding `results`.
    fn refusal(results: &Results, trials: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aa.json");
        crate::model::write_json(&path, results).unwrap();
        let request = InjectRequest {
            trials,
            ..request_for(path)
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
    fn paired_tests_are_replayed_side_by_side_on_the_workers_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aa.json");
        let results = results_with(&[("sign", "a", Some(5)), ("sign", "b", Some(5))]);
        crate::model::write_json(&path, &results).unwrap();
        let mut request = InjectRequest {
            workers: Some(2),
            paired_tests: PairedTest::ALL.to_vec(),
            ..request_for(path)
        };
        let report = inject(&loaded(), &request).unwrap();
        assert_eq!(report.outcomes.len(), 2 * DEFAULT_SETTINGS.len());
        for test in PairedTest::ALL {
            let of_test = report.outcomes.iter().filter(|(t, _, _)| *t == test);
            assert_eq!(of_test.count(), DEFAULT_SETTINGS.len());
        }
        assert_eq!((report.sampling.workers, report.recorded_workers), (2, 1));
        request.workers = Some(0);
        let err = inject(&loaded(), &request).unwrap_err();
        assert_eq!(format!("{err:#}"), "--workers must be at least 1");
    }

    #[test]
    fn a_replayable_file_gives_every_setting_its_trials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aa.json");
        let results = results_with(&[("sign", "a", Some(5)), ("sign", "b", Some(5))]);
        crate::model::write_json(&path, &results).unwrap();
        let request = request_for(path);
        let report = inject(&loaded(), &request).unwrap();
        assert_eq!(report.outcomes.len(), DEFAULT_SETTINGS.len());
        assert!(report.outcomes.iter().all(|(_, _, o)| o.trials == 2));
        assert_eq!(report.tests, 1);
    }

    #[test]
    fn an_aa_file_of_counts_is_replayed_under_the_rule_of_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aa.json");
        let mut results = results_with(&[("sign", "a", Some(5)), ("sign", "b", Some(5))]);
        results.measure = crate::model::Measure::Instructions;
        for sample in &mut results.samples {
            sample.instructions = Some(1000.0);
        }
        crate::model::write_json(&path, &results).unwrap();
        let request = request_for(path);
        let report = inject(&loaded(), &request).unwrap();
        let config = loaded().config;
        let stopping = &report.sampling.stopping;
        assert!(stopping.counts);
        assert_eq!(stopping.min_effect, config.compare.min_effect_instructions);
        assert_eq!(stopping.min_samples, config.run.instructions.samples);
        assert_eq!(
            report.settings.min_effect,
            config.compare.min_effect_instructions
        );
    }
}
