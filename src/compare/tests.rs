use super::verdict::classify;
use super::*;
use crate::model::{ComparedSide, Disturbance, Measure, Sample};

fn settings() -> CompareSettings {
    CompareSettings {
        confidence: 0.99,
        alpha: 0.01,
        min_effect: 0.02,
        fail_on: vec!["test".into(), "category".into()],
        paired_test: crate::model::PairedTest::SignedRank,
    }
}

#[test]
fn verdicts_follow_the_rules() {
    assert_eq!(classify(1.07, 1.06, 1.08, true, 0.02), Verdict::Regression);
    assert_eq!(classify(0.90, 0.88, 0.92, true, 0.02), Verdict::Improvement);
    // Significant but below the minimum effect: not a regression.
    assert_eq!(classify(1.01, 1.005, 1.015, true, 0.02), Verdict::Unchanged);
    // Not significant, interval inside the band: shown to be unchanged.
    assert_eq!(classify(1.00, 0.99, 1.01, false, 0.02), Verdict::Unchanged);
    // Not significant, interval too wide to rule out a 2 % change: inconclusive.
    assert_eq!(
        classify(1.03, 0.97, 1.09, false, 0.02),
        Verdict::Inconclusive
    );
}

/// A side measured on the fixtures' machine with the governor the doctor found.
fn side_with_governor(origin: &str, status: crate::model::CheckStatus, found: &str) -> Side {
    use crate::model::{Environment, EnvironmentCheck, fixtures};
    let check = EnvironmentCheck {
        name: "governor".into(),
        core: Some(1),
        status,
        found: found.into(),
        fix: None,
    };
    let machine = crate::model::Machine {
        environment: Some(Environment {
            checks: vec![check],
        }),
        ..fixtures::machine()
    };
    let suite = fixtures::manifest();
    Side {
        info: ComparedSide {
            label: "wasmtime".into(),
            runtime: fixtures::runtime("wasmtime"),
            suite_id: suite.suite_id.clone(),
            machine,
            origin: origin.into(),
            commit: None,
            measure: crate::model::Measure::Time,
        },
        suite,
        samples: Vec::new(),
    }
}

/// A side of 12 rounds of sign at 1000 ps; the rounds in `disturbed` were disturbed (their
/// value slowed to 5000 ps).
fn side_of_sign(label: &str, disturbed: std::ops::Range<u32>) -> Side {
    use crate::model::fixtures;
    let mut side = side_with_governor("results.json", crate::model::CheckStatus::Ok, "ok");
    side.info.label = label.into();
    side.samples = (0..12)
        .map(|round| {
            let sample = if disturbed.contains(&round) {
                fixtures::disturbed_sample("sign", label, round.into(), 5000)
            } else {
                fixtures::sample("sign", label, round.into(), Some(1000))
            };
            Sample { round, ..sample }
        })
        .collect();
    side
}

#[test]
fn disturbed_samples_are_neither_values_nor_failures() {
    let (base, head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..2));
    let comparison = compare(
        &base,
        &head,
        &settings(),
        crate::compare::Pairing::ByRound,
        None,
    );
    let sign = &comparison.tests[0];
    assert_eq!(sign.verdict, Verdict::Unchanged, "{sign:?}");
    assert_eq!((sign.base_samples, sign.head_samples), (12, 10));
    assert_eq!((sign.base_disturbed, sign.head_disturbed), (0, 2));
    assert_eq!(
        sign.head_median_ps,
        Some(1000.0),
        "the slowed values left out"
    );
    assert_eq!(
        comparison.disturbance,
        Disturbance {
            samples: 24,
            disturbed: 2
        }
    );
    assert!(!comparison.gate_failed, "{:?}", comparison.gate_reasons);
}

#[test]
fn counts_that_repeat_exactly_are_compared_without_a_test_statistic() {
    use crate::model::{Measure, fixtures};
    let verdict = |ratio: f64, measure: Measure| {
        let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
        let at = |runtime, round: u32, value: f64| Sample {
            round,
            instructions: Some(value),
            value_ps: None,
            ..fixtures::sample("sign", runtime, u64::from(round), Some(1))
        };
        base.samples = vec![at("a", 0, 1e6), at("a", 1, 1e6 + 20.0)];
        head.samples = vec![at("b", 0, 1e6 * ratio), at("b", 1, 1e6 * ratio - 30.0)];
        (base.info.measure, head.info.measure) = (measure, measure);
        let config = crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap();
        let settings = super::settings(&config.compare, measure);
        let comparison = compare(
            &base,
            &head,
            &settings,
            crate::compare::Pairing::ByRound,
            None,
        );
        assert_eq!(comparison.measure, measure);
        comparison.tests[0].clone()
    };
    let slower = verdict(1.03, Measure::Instructions);
    assert_eq!(slower.verdict, Verdict::Regression, "{slower:?}");
    assert!(slower.note.unwrap().starts_with("exact"));
    assert_eq!(slower.q_value, None);
    // Within the minimum effect (0.5 %): a real change, too small to call.
    assert_eq!(
        verdict(1.003, Measure::Instructions).verdict,
        Verdict::Unchanged
    );
    assert_eq!(
        verdict(0.97, Measure::Instructions).verdict,
        Verdict::Improvement
    );
    // Two timings that happen to agree are no count: the paired statistics decide.
    let timed = verdict(1.03, Measure::Time);
    assert!(timed.q_value.is_some(), "{timed:?}");
    assert!(!timed.note.unwrap_or_default().starts_with("exact"));
}

#[test]
fn one_agreeing_count_a_side_is_unchanged_and_one_disagreeing_count_is_no_verdict() {
    use crate::model::{Measure, fixtures};
    let compared = |head_count: f64| {
        let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
        let at = |runtime, value: f64| Sample {
            instructions: Some(value),
            value_ps: None,
            ..fixtures::sample("sign", runtime, 0, Some(1))
        };
        base.samples = vec![at("a", 1e6)];
        head.samples = vec![at("b", head_count)];
        (base.info.measure, head.info.measure) = (Measure::Instructions, Measure::Instructions);
        let config = crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap();
        let settings = super::settings(&config.compare, Measure::Instructions);
        compare(
            &base,
            &head,
            &settings,
            crate::compare::Pairing::ByRound,
            None,
        )
        .tests[0]
            .clone()
    };
    let agreeing = compared(1e6 + 300.0);
    assert_eq!(agreeing.verdict, Verdict::Unchanged, "{agreeing:?}");
    assert_eq!(
        agreeing.note.as_deref(),
        Some("exact: one count a side, the two within 0.030 % of each other")
    );
    // One count a side 3 % apart is not called: a wandering runtime can do that.
    let apart = compared(1.03e6);
    assert_eq!(apart.verdict, Verdict::Inconclusive, "{apart:?}");
    assert!(!apart.note.unwrap_or_default().starts_with("exact"));
}

#[test]
fn a_single_count_is_exact_beside_repeating_counts_but_not_from_a_wandering_runtime() {
    use crate::model::{Measure, fixtures};
    let count = |test, runtime, round: u32, value: f64| Sample {
        round,
        instructions: Some(value),
        value_ps: None,
        ..fixtures::sample(test, runtime, u64::from(round), Some(1))
    };
    let config = crate::config::parse(crate::config::DEFAULT_YAML, "default").unwrap();
    let settings = super::settings(&config.compare, Measure::Instructions);
    let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
    (base.info.measure, head.info.measure) = (Measure::Instructions, Measure::Instructions);
    // A baseline of one count against a head that counted twice: agreeing, exact.
    base.samples = vec![count("sign", "a", 0, 1e6)];
    head.samples = vec![
        count("sign", "b", 0, 1e6 + 50.0),
        count("sign", "b", 1, 1e6),
    ];
    let row = &compare(
        &base,
        &head,
        &settings,
        crate::compare::Pairing::Unpaired,
        None,
    )
    .tests[0];
    assert_eq!(row.verdict, Verdict::Unchanged, "{row:?}");
    // The same single counts, from a head whose counts of another test wandered by 3 %.
    head.samples = vec![
        count("sign", "b", 0, 1e6 + 50.0),
        count("hash", "b", 0, 1e5),
        count("hash", "b", 1, 1.03e5),
    ];
    let comparison = compare(
        &base,
        &head,
        &settings,
        crate::compare::Pairing::Unpaired,
        None,
    );
    let row = comparison.tests.iter().find(|r| r.test == "sign").unwrap();
    assert_eq!(row.verdict, Verdict::Inconclusive, "{row:?}");
    assert_eq!(
        row.note.as_deref(),
        Some(
            "b's counts of other tests wander beyond the minimum effect: one count a side is no verdict"
        )
    );
}

#[test]
fn the_configured_paired_test_decides() {
    use crate::model::{PairedTest, fixtures};
    // Six rounds, head 5 % slower within ±0.5 % in each.
    let ratios = [1.050, 1.046, 1.053, 1.049, 1.055, 1.047];
    let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
    let at = |runtime, round: usize, value: f64| Sample {
        round: round as u32,
        ..fixtures::sample("sign", runtime, round as u64, Some(value as u64))
    };
    base.samples = (0..6).map(|r| at("a", r, 1e6)).collect();
    head.samples = (ratios.iter().enumerate())
        .map(|(r, ratio)| at("b", r, 1e6 * ratio))
        .collect();
    let verdict = |paired_test| {
        let settings = CompareSettings {
            paired_test,
            ..settings()
        };
        compare(
            &base,
            &head,
            &settings,
            crate::compare::Pairing::ByRound,
            None,
        )
        .tests[0]
            .verdict
    };
    assert_eq!(verdict(PairedTest::TrimmedT), Verdict::Regression);
    // 2/2⁶ at best, and no 99 % interval on 6 pairs.
    assert_eq!(verdict(PairedTest::SignedRank), Verdict::Inconclusive);
}

#[test]
fn tests_only_one_side_measured_are_named_not_failed() {
    use crate::model::fixtures;
    // A baseline of sign and hash; a run of sign and hash2 (say, a test added since).
    let (mut base, mut head) = (side_of_sign("a", 0..0), side_of_sign("b", 0..0));
    base.samples
        .extend((0..12).map(|r| fixtures::sample("hash", "a", r, Some(500))));
    head.samples
        .extend((0..12).map(|r| fixtures::sample("hash2", "b", r, Some(500))));
    let comparison = compare(
        &base,
        &head,
        &settings(),
        crate::compare::Pairing::Unpaired,
        None,
    );
    let compared: Vec<&str> = comparison.tests.iter().map(|t| t.test.as_str()).collect();
    assert_eq!(compared, ["sign"]);
    assert_eq!(comparison.not_compared.base_only, ["hash"]);
    assert_eq!(comparison.not_compared.head_only, ["hash2"]);
    assert!(!comparison.gate_failed, "{:?}", comparison.gate_reasons);
    assert_eq!(
        comparison.not_compared.sentence("a", "b").as_deref(),
        Some("not compared: 1 test only a measured (hash); 1 test only b measured (hash2)")
    );
}

#[test]
fn a_runner_too_busy_is_said_and_fails_nothing() {
    // Every head sample and half the base's disturbed: 18 of 24.
    let (base, head) = (side_of_sign("a", 0..6), side_of_sign("b", 0..12));
    let comparison = compare(
        &base,
        &head,
        &settings(),
        crate::compare::Pairing::ByRound,
        None,
    );
    let sign = &comparison.tests[0];
    assert_eq!(
        sign.verdict,
        Verdict::Inconclusive,
        "not a failure: {sign:?}"
    );
    let note = sign.note.as_deref().unwrap();
    assert!(
        note.starts_with("runner too busy: 18 of its 24 samples"),
        "{note}"
    );
    assert!(comparison.disturbance.runner_too_busy());
    assert!(!comparison.gate_failed, "{:?}", comparison.gate_reasons);
}

#[test]
fn other_runner_settings_are_stated_not_refused() {
    use crate::model::CheckStatus::{Ok, Warn};
    let base = side_with_governor("baseline.json", Warn, "powersave");
    let head = side_with_governor("results.json", Ok, "performance");
    let note = check_alike(&base, &head, Foreign::Refused).unwrap();
    assert_eq!(
        note.as_deref(),
        Some(
            "baseline.json was measured under other runner settings (governor warn (powersave on core 1) vs ok (performance on core 1))"
        )
    );
    assert_eq!(check_alike(&head, &head, Foreign::Refused).unwrap(), None);
}

#[test]
fn sides_of_different_measures_are_refused_even_when_foreign_sides_are_allowed() {
    use crate::model::CheckStatus::Ok;
    let base = side_with_governor("baseline.json", Ok, "performance");
    let mut head = side_with_governor("results.json", Ok, "performance");
    head.info.measure = crate::model::Measure::Instructions;
    let err = check_alike(&base, &head, Foreign::Allowed)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "baseline.json measured time, results.json measured instructions: compare sides of the same measure (--measure)"
    );
}

#[test]
fn gate_rule_lists_reasons() {
    let row = TestComparison {
        test: "sign".into(),
        category: "signature".into(),
        base_samples: 10,
        head_samples: 10,
        base_median_ps: Some(1.0),
        head_median_ps: Some(1.07),
        ratio: Some(1.071),
        ci_low: Some(1.063),
        ci_high: Some(1.079),
        p_value: Some(1e-5),
        q_value: Some(1e-4),
        verdict: Verdict::Regression,
        note: None,
        base_disturbed: 0,
        head_disturbed: 0,
        evidence: None,
    };
    let overall = GroupComparison {
        name: "overall".into(),
        tests: 1,
        ratio: None,
        ci_low: None,
        ci_high: None,
        verdict: Verdict::Unchanged,
    };
    let (failed, reasons) = gate_rule(
        std::slice::from_ref(&row),
        &[],
        &overall,
        &settings(),
        Measure::Time,
    );
    assert!(failed);
    assert_eq!(
        reasons,
        vec!["test sign is +7.1 % ± 0.8 % slower".to_string()]
    );
    let (_, reasons) = gate_rule(&[row], &[], &overall, &settings(), Measure::Compile);
    assert_eq!(reasons, ["test sign is +7.1 % ± 0.8 % slower to compile"]);
}
