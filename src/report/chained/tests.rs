use super::simulated::*;
use super::*;

fn series<'a>(trends: &'a [Trend], name: &str) -> &'a [Point] {
    let trend = trends.iter().find(|t| t.category == name).unwrap();
    assert_eq!(trend.series.len(), 1);
    assert!(trend.series[0].chained);
    &trend.series[0].points
}

/// The notes other than the simulated month's change of runner.
fn own_notes(found: &Chained) -> Vec<&String> {
    (found.notes.iter())
        .filter(|n| !n.starts_with("the runner changed"))
        .collect()
}

fn marked(points: &[Point]) -> Vec<(String, Vec<String>)> {
    (points.iter())
        .filter(|p| !p.regressions.is_empty())
        .map(|p| (p.date.clone(), p.regressions.clone()))
        .collect()
}

#[test]
fn a_month_shows_the_step_in_sign_and_not_the_new_runner() {
    let found = chained("wasmtime", &month(1));
    assert_eq!(
        found.notes,
        [format!(
            "the runner changed on {} (bench-1 `f00d1111` to bench-2 `f00d2222`): each link is measured on one runner, so the chained levels carry no step for it",
            date(NEW_RUNNER_NIGHT)
        )]
    );
    assert_eq!(found.trends[0].category, OVERALL);
    let signature = series(&found.trends, "signature");
    assert_eq!(signature.len(), NIGHTS);
    for (night, point) in signature.iter().enumerate() {
        let expected = if night >= STEP_NIGHT { STEP } else { 1.0 };
        assert!(
            (point.value / expected - 1.0).abs() < 0.01,
            "night {night}: {}",
            point.value
        );
        let [low, high] = point.interval.unwrap_or([1.0, 1.0]);
        assert!(low <= point.value && point.value <= high);
    }
    // Overall: the geometric mean of five tests, one of them 15 % slower.
    let overall = series(&found.trends, OVERALL);
    let expected = STEP.powf(1.0 / 5.0);
    assert!((overall[NIGHTS - 1].value / expected - 1.0).abs() < 0.01);
    assert_eq!(overall[NIGHTS - 1].tests, TESTS.len());
    // The runner twice as fast from night 20: no step in any chain.
    for trend in found.trends.iter().chain(&found.tests) {
        let points = &trend.series[0].points;
        let (before, after) = (
            points[NEW_RUNNER_NIGHT - 1].value,
            points[NEW_RUNNER_NIGHT].value,
        );
        assert!(
            (after / before - 1.0).abs() < 0.01,
            "{}: {before} -> {after}",
            trend.category
        );
        assert!(points.iter().all(|p| p.segment == 0 && !p.starts_chain));
    }
    // The step is marked once, on its night, though the longer links span it for 8 more.
    let step = vec![(date(STEP_NIGHT), vec!["sign".to_string()])];
    assert_eq!(marked(overall), step);
    assert_eq!(marked(signature), step);
    assert_eq!(marked(series(&found.trends, "hashing")), []);
    assert_eq!(marked(series(&found.tests, "sign")), step);
    let regressed = regressed_tests(&found.tests);
    assert_eq!(regressed.len(), 1);
    assert_eq!(regressed[0].category, "sign");
}

#[test]
fn a_slow_drift_is_marked_where_a_longer_link_first_calls_it() {
    let mut nights = month(2);
    // hash's long links alone call a regression from night 9 (a drift one-night links miss).
    for (n, night) in nights.iter_mut().enumerate() {
        for link in &mut night.links {
            let hash = link.tests.get_mut("hash").unwrap();
            if link.nights_back >= 4 && n >= 9 {
                hash.verdict = Verdict::Regression;
            }
        }
    }
    let found = chained("wasmtime", &nights);
    let dates: Vec<String> = marked(series(&found.tests, "hash"))
        .into_iter()
        .map(|m| m.0)
        .collect();
    // Night 9 (its 4-night link); then 13, whose 4-night link no longer spans night 9; ...
    assert_eq!(
        dates,
        [date(9), date(13), date(17), date(21), date(25), date(29)]
    );
}

#[test]
fn lost_builds_break_the_chain_and_the_chart_says_so() {
    let mut nights = month(3);
    // From night 25 the kept builds before it are gone: nothing links back across it.
    for (n, night) in nights.iter_mut().enumerate() {
        night
            .links
            .retain(|l| n < 25 || n - (l.nights_back as usize) >= 25);
    }
    let found = chained("wasmtime", &nights);
    let overall = series(&found.trends, OVERALL);
    assert!(overall[25].starts_chain && overall[25].segment == 1);
    assert_eq!(overall[25].value, 1.0);
    assert_eq!(overall[25].interval, None);
    assert!(overall[24].segment == 0 && overall[26].segment == 1);
    // Said once, for overall, not again for every category and test.
    let notes = own_notes(&found);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with("overall: a new chain starts on 2026-11-26"));
    let table =
        super::super::trends::compact(&found.trends, 8, super::super::trends::Markup::Plain);
    assert!(
        table[0].rows[0]
            .1
            .iter()
            .any(|cell| cell == "1.000 (new chain)"),
        "{:?}",
        table[0].rows
    );
}

#[test]
fn a_link_that_disagrees_with_the_chain_is_named_and_left_out() {
    let mut nights = month(4);
    let link = (nights[22].links.iter_mut())
        .find(|l| l.nights_back == 8)
        .unwrap();
    link.tests.get_mut("hash").unwrap().ratio *= 1.3;
    let found = chained("wasmtime", &nights);
    let notes = own_notes(&found);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("hash: 2026-11-23 against 2026-11-15 (8 nights back) measured 1.3"),
        "{}",
        notes[0]
    );
    // Left out, it moves nothing.
    let hash = series(&found.tests, "hash");
    assert!(hash.iter().all(|p| (p.value - 1.0).abs() < 0.01));
}

#[test]
fn a_link_to_a_night_missing_from_the_history_is_noted() {
    let mut nights = month(5);
    nights.remove(10);
    let found = chained("wasmtime", &nights);
    // Night 11 (now 10) counted one night back finds night 9 by nothing but its commit:
    // its one-night link names the missing night and is left out; its 2-night link still
    // reaches night 9.
    assert!(
        found
            .notes
            .iter()
            .any(|n| n.starts_with("2026-11-12: the link to `")),
        "{:?}",
        found.notes
    );
    let overall = series(&found.trends, OVERALL);
    assert_eq!(overall.len(), NIGHTS - 1);
    assert!(overall.iter().all(|p| p.segment == 0));
}

#[test]
fn the_nightly_history_is_read_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nightly.history.jsonl");
    let text = jsonl(&month(6)[..3]);
    // A torn last line (a crash while appending) is left out.
    std::fs::write(&path, format!("{text}{{\"date\":\"2026-11-04\",\"comm")).unwrap();
    assert_eq!(crate::nightly::night::read_history(&path).unwrap().len(), 3);
    assert_eq!(label_of(&path, &month(6)), "wasmtime");
    let named = dir.path().join("wasmer.nightly.history.jsonl");
    assert_eq!(label_of(&named, &[]), "wasmer");
    // Anything else that is not a night is an error naming the line, on one line.
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(
        &path,
        format!("{}\n\n{{\"date\": 3}}\n{}\n", lines[0], lines[1]),
    )
    .unwrap();
    let error = crate::nightly::night::read_history(&path)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("nightly.history.jsonl: line 3: not a night"),
        "{error}"
    );
    assert!(error.contains("delete or repair that line"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}

#[test]
fn chained_trends_join_median_trends_of_the_same_runtime_apart() {
    let mut into = chained("wasmtime", &month(7)).trends;
    // The other history lacks a category: its series of the rest is labelled alike.
    into.retain(|t| t.category != "box");
    let more = chained("wasmtime", &month(8)).trends;
    let categories = more.len();
    merge(&mut into, more);
    assert_eq!(into.len(), categories);
    let boxes = into.iter().find(|t| t.category == "box").unwrap();
    assert_eq!(boxes.series[0].label, "wasmtime (chained)");
    assert_eq!(into[0].category, OVERALL);
    let labels: Vec<&str> = into[0].series.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["wasmtime", "wasmtime (chained)"]);
}
