use super::*;

/// A/A results with tight noise: a 10 % slowdown must be found, and nothing else flagged.
fn synthetic_aa() -> Results {
    let mut rng = fastrand::Rng::with_seed(9);
    let mut samples = Vec::new();
    for (test, _) in [("sign", ()), ("hash", ()), ("hash2", ())] {
        for runtime in ["a", "b"] {
            for _ in 0..15 {
                let value = 1_000_000.0 * (1.0 + 0.01 * (rng.f64() - 0.5));
                samples.push((test, runtime, Some(value as u64)));
            }
        }
    }
    let mut results = crate::model::fixtures::results_with(&samples);
    // Number the rounds: the k-th sample of a test on each runtime shares round k.
    let mut seen: BTreeMap<(String, String), u32> = BTreeMap::new();
    for sample in &mut results.samples {
        let round = seen
            .entry((sample.test.clone(), sample.runtime.clone()))
            .or_default();
        sample.round = *round;
        *round += 1;
    }
    results
}

fn settings() -> CompareSettings {
    CompareSettings {
        confidence: 0.99,
        alpha: 0.01,
        min_effect: 0.02,
        fail_on: vec!["test".into()],
        paired_test: crate::model::PairedTest::default(),
    }
}

fn sampling() -> Sampling {
    Sampling {
        stopping: Stopping {
            min_samples: 15,
            max_samples: 15,
            precision: 0.01,
            min_effect: 0.02,
            counts: false,
            goal: crate::stats::stopping::Goal::Precision,
        },
        budget: None,
        workers: 1,
    }
}

#[test]
fn a_large_slowdown_is_found_and_aa_is_quiet() {
    let aa = synthetic_aa();
    let replay = Replay::new(&aa, ("a", "b")).unwrap();
    let found = replay.run(
        &settings(),
        &sampling(),
        Setting {
            target: Target::OneTest,
            factor: 1.10,
        },
        30,
        1,
    );
    assert_eq!(found.detected, 30, "{found:?}");
    assert_eq!(found.false_alarms, 0, "{found:?}");
    let quiet = replay.run(
        &settings(),
        &sampling(),
        Setting {
            target: Target::Nothing,
            factor: 1.0,
        },
        30,
        2,
    );
    assert_eq!(quiet.false_alarms, 0, "{quiet:?}");
}

#[test]
fn the_budget_is_replayed_on_the_workers() {
    let mut aa = synthetic_aa();
    let replay = Replay::new(&aa, ("a", "b")).unwrap();
    assert_eq!(replay.recorded_workers(), 1, "unpinned samples: one worker");
    // Each sample took 1 ms, so a block (a pair) takes 2 ms. With no barrier between
    // rounds, each worker takes the next block when its own ends, as long as it ends within
    // the budget: 15 blocks of 2 ms fit in 31 ms on each worker, 15 on one, 30 on two.
    let nothing = Setting {
        target: Target::Nothing,
        factor: 1.0,
    };
    let on = |workers| {
        let sampling = Sampling {
            budget: Some(Duration::from_millis(31)),
            workers,
            ..sampling()
        };
        replay.run(&settings(), &sampling, nothing, 2, 1)
    };
    let (one, two) = (on(1), on(2));
    assert_eq!((one.pairs_used, two.pairs_used), (2 * 15, 2 * 30));
    assert!((one.mean_seconds() - 0.030).abs() < 1e-9, "{one:?}");
    assert!((two.mean_seconds() - 0.030).abs() < 1e-9, "{two:?}");
    for (i, sample) in aa.samples.iter_mut().enumerate() {
        sample.core = Some(i % 2);
    }
    assert_eq!(Replay::new(&aa, ("a", "b")).unwrap().recorded_workers(), 2);
}

#[test]
fn workers_left_idle_take_the_next_rounds_in_the_replay_too() {
    // 3 tests of 15 pairs of 2 ms each: on 3 workers 15 rounds of 2 ms; on 6, two rounds
    // at once (7 times, then the last one alone), the same pairs in 16 ms.
    let aa = synthetic_aa();
    let replay = Replay::new(&aa, ("a", "b")).unwrap();
    let on = |workers| {
        let sampling = Sampling {
            workers,
            ..sampling()
        };
        let nothing = Setting {
            target: Target::Nothing,
            factor: 1.0,
        };
        replay.run(&settings(), &sampling, nothing, 2, 1)
    };
    let (three, six) = (on(3), on(6));
    assert_eq!((three.pairs_used, six.pairs_used), (2 * 3 * 15, 2 * 3 * 15));
    assert!((three.mean_seconds() - 0.030).abs() < 1e-9, "{three:?}");
    assert!((six.mean_seconds() - 0.016).abs() < 1e-9, "{six:?}");
}

fn refusal(samples: &[(&str, &str, Option<u64>)]) -> Unreplayable {
    let aa = crate::model::fixtures::results_with(samples);
    match Replay::new(&aa, ("a", "b")) {
        Ok(_) => panic!("replayable: {samples:?}"),
        Err(why) => why,
    }
}

#[test]
fn a_file_without_a_and_b_is_refused() {
    let why = refusal(&[("sign", "wasmtime", Some(5)), ("sign", "wasmer", Some(6))]);
    assert_eq!(why.to_string(), "has no samples of runtimes `a` and `b`");
}

#[test]
fn a_file_with_only_one_of_a_and_b_is_refused() {
    let why = refusal(&[("sign", "b", Some(5))]);
    assert_eq!(
        why.to_string(),
        "has samples of runtime `b` but none of `a`"
    );
    let why = refusal(&[("sign", "a", Some(5)), ("sign", "wasmer", Some(6))]);
    assert_eq!(
        why.to_string(),
        "has samples of runtime `a` but none of `b`"
    );
}

#[test]
fn a_file_whose_tests_failed_on_one_side_is_refused() {
    let why = refusal(&[
        ("sign", "a", Some(5)),
        ("sign", "b", None),
        ("hash", "a", None),
        ("hash", "b", Some(5)),
    ]);
    assert!(matches!(why, Unreplayable::NoTimedTest { .. }), "{why:?}");
    assert!(why.to_string().contains("no test timed on both"), "{why}");
}

#[test]
fn a_file_without_a_round_shared_by_a_and_b_is_refused() {
    let mut aa =
        crate::model::fixtures::results_with(&[("sign", "a", Some(5)), ("sign", "b", Some(5))]);
    aa.samples[1].round = 1;
    let why = Replay::new(&aa, ("a", "b")).err();
    assert!(
        matches!(why, Some(Unreplayable::NoSameRound { .. })),
        "{why:?}"
    );
}

#[test]
fn one_pair_is_enough_to_replay_every_setting() {
    let aa =
        crate::model::fixtures::results_with(&[("sign", "a", Some(5)), ("sign", "b", Some(5))]);
    let replay = Replay::new(&aa, ("a", "b")).unwrap();
    for setting in DEFAULT_SETTINGS {
        let outcome = replay.run(&settings(), &sampling(), setting, 3, 1);
        assert_eq!(outcome.trials, 3);
    }
}
