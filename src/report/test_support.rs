//! What the report tests share: a comparison made in memory from real statistics.

use crate::model::{Comparison, Measure, TestComparison, Verdict};

/// A comparison of `measure` whose tests have these ratios and verdicts.
pub fn comparison(measure: Measure, rows: &[(&str, f64, Verdict)]) -> Comparison {
    use crate::compare::baseline::side_from_results;
    let results =
        crate::model::fixtures::results_with(&[("sign", "a", Some(100)), ("sign", "b", Some(100))]);
    let path = std::path::Path::new("r.json");
    let (a, b) = (
        side_from_results(&results, Some("a"), path).unwrap(),
        side_from_results(&results, Some("b"), path).unwrap(),
    );
    let config = crate::config::parse(crate::config::DEFAULT_YAML, "default")
        .unwrap()
        .compare;
    let settings = crate::compare::settings(&config, measure);
    let mut comparison =
        crate::compare::compare(&a, &b, &settings, crate::compare::Pairing::ByRound, None);
    comparison.measure = measure;
    comparison.tests = (rows.iter())
        .map(|(test, ratio, verdict)| TestComparison {
            test: test.to_string(),
            ratio: Some(*ratio),
            verdict: *verdict,
            ..comparison.tests[0].clone()
        })
        .collect();
    comparison
}
