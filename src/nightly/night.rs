//! A night's record: tonight's paired comparisons with earlier nights as links of ratios, and
//! the history they are appended to (`nightly.history.jsonl` in the kept-builds folder).

use crate::model::nightly::{LinkRatio, Night, NightLink};
use crate::model::{Comparison, Results, Verdict};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The history of nights, in the kept-builds folder.
pub const HISTORY: &str = "nightly.history.jsonl";

fn ratio(
    ratio: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    verdict: Verdict,
) -> Option<LinkRatio> {
    ratio.map(|ratio| LinkRatio {
        ratio,
        ci_low,
        ci_high,
        verdict,
    })
}

/// The link a comparison of tonight (head) with an earlier night (base) makes. Tests and
/// categories without a ratio (a side failed them) are left out of it, since a ratio is what a
/// trend chains; `None` when no test has one, as there is then nothing to chain.
pub fn link_of(comparison: &Comparison, nights_back: u32) -> Option<NightLink> {
    let overall = &comparison.overall;
    let overall = ratio(
        overall.ratio,
        overall.ci_low,
        overall.ci_high,
        overall.verdict,
    )?;
    let tests = comparison
        .tests
        .iter()
        .filter_map(|t| ratio(t.ratio, t.ci_low, t.ci_high, t.verdict).map(|r| (t.test.clone(), r)))
        .collect();
    let categories = comparison
        .categories
        .iter()
        .filter_map(|c| ratio(c.ratio, c.ci_low, c.ci_high, c.verdict).map(|r| (c.name.clone(), r)))
        .collect();
    Some(NightLink {
        against: comparison.base.commit.clone().unwrap_or_default(),
        nights_back,
        tests,
        categories,
        overall,
    })
}

/// Tonight's record from its run (the `tonight` runtime of the results) and its links.
pub fn night(
    results: &Results,
    tonight: &str,
    runner: &str,
    commit: &str,
    links: Vec<NightLink>,
) -> Night {
    let runtime_version = results
        .runtimes
        .iter()
        .find(|r| r.name == tonight)
        .map(|r| r.version.clone())
        .unwrap_or_default();
    Night {
        date: crate::model::now_rfc3339(),
        commit: commit.to_string(),
        runtime_version,
        suite_id: results.suite.suite_id.clone(),
        runner: runner.to_string(),
        machine: results.machine.fingerprint.clone(),
        measure: results.measure,
        links,
    }
}

/// Appends the night to the folder's history (a torn last line is repaired first, as for a
/// baseline's history). Returns the history's path.
pub fn append(dir: &Path, night: &Night) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(HISTORY);
    crate::compare::baseline::append_line(&path, night)?;
    Ok(path)
}

/// The nights of a history, oldest first.
pub fn read_history(path: &Path) -> Result<Vec<Night>> {
    let lines = crate::model::JsonLines {
        entry: "a night of the nightly history",
        fix: "delete or repair that line (nightly histories are written by `wasmgate nightly`, one JSON night a line)",
    };
    crate::model::read_lines(path, &lines)
}

/// The tests the last night of the kept-builds folder `dir` called regressions, on any of its
/// links: what a bisect of that night's range measures.
pub fn last_regressions(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join(HISTORY);
    let nights = read_history(&path)?;
    let Some(last) = nights.last() else {
        anyhow::bail!(
            "{}: no night recorded yet; name the tests with --tests",
            path.display()
        );
    };
    let regressed: std::collections::BTreeSet<&String> = last
        .links
        .iter()
        .flat_map(|link| &link.tests)
        .filter(|(_, ratio)| ratio.verdict == crate::model::Verdict::Regression)
        .map(|(test, _)| test)
        .collect();
    if regressed.is_empty() {
        anyhow::bail!(
            "{}: the last night ({}) called no test a regression; name the tests with --tests",
            path.display(),
            crate::util::short_commit(&last.commit)
        );
    }
    Ok(regressed.into_iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures;

    /// Tonight (`t-0`) against last night (`t-1`) on two tests: `hash` slower by `slower`
    /// picoseconds, `sign` failed tonight.
    fn comparison(slower: u64) -> Comparison {
        let mut samples = Vec::new();
        for i in 0..12 {
            samples.push(("hash", "t-1", Some(1000 + i)));
            samples.push(("hash", "t-0", Some(1000 + slower + i)));
            samples.push(("sign", "t-1", Some(500 + i)));
            samples.push(("sign", "t-0", None));
        }
        let results = fixtures::results_with(&samples);
        let origin = Path::new("results.json");
        let side = |label| {
            crate::compare::baseline::side_from_results(&results, Some(label), origin).unwrap()
        };
        let settings = crate::model::CompareSettings {
            confidence: 0.99,
            alpha: 0.01,
            min_effect: 0.02,
            fail_on: vec!["test".into()],
            paired_test: crate::model::PairedTest::default(),
        };
        crate::compare::compare(
            &side("t-1"),
            &side("t-0"),
            &settings,
            crate::compare::Pairing::Unpaired,
            None,
        )
    }

    #[test]
    fn a_night_is_made_of_links_from_its_comparisons_and_appended() {
        let mut comparison = comparison(200);
        comparison.base.commit = Some("aaaa1111".into());
        let link = link_of(&comparison, 2).unwrap();
        assert_eq!(link.tests["hash"].verdict, Verdict::Regression);
        assert!(link.tests["hash"].ratio > 1.1);
        assert!(
            !link.tests.contains_key("sign"),
            "a failed test has no ratio"
        );
        assert_eq!(link.against, "aaaa1111");
        assert_eq!(link.nights_back, 2);
        assert_eq!(link.overall.ratio, comparison.overall.ratio.unwrap());
        assert_eq!(link.overall.verdict, comparison.overall.verdict);
        for test in &comparison.tests {
            match test.ratio {
                Some(r) => {
                    let linked = link.tests[&test.test];
                    assert_eq!((linked.ratio, linked.verdict), (r, test.verdict));
                    assert_eq!((linked.ci_low, linked.ci_high), (test.ci_low, test.ci_high));
                }
                None => assert!(!link.tests.contains_key(&test.test)),
            }
        }
        let with_ratio = comparison.categories.iter().filter(|c| c.ratio.is_some());
        assert_eq!(link.categories.len(), with_ratio.count());
        assert!(link.categories.len() < comparison.categories.len());

        let results = fixtures::results_with(&[("hash", "t-0", Some(1))]);
        let tonight = "t-0";
        let night = night(&results, tonight, "ci", "bbbb2222", vec![link]);
        assert_eq!(night.runtime_version, results.runtimes[0].version);
        assert_eq!(night.machine, results.machine.fingerprint);
        let dir = tempfile::tempdir().unwrap();
        let path = append(dir.path(), &night).unwrap();
        append(dir.path(), &night).unwrap();
        let read = read_history(&path).unwrap();
        assert_eq!(read.len(), 2);
        // serde_json may round the last bit of a float it reads back.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        for back in read {
            assert_eq!(
                (&back.commit, &back.machine),
                (&night.commit, &night.machine)
            );
            let (link, written) = (&back.links[0], &night.links[0]);
            assert_eq!(link.against, written.against);
            assert!(close(link.overall.ratio, written.overall.ratio));
            assert!(close(link.tests["hash"].ratio, written.tests["hash"].ratio));
        }
    }

    #[test]
    fn a_bisect_takes_the_tests_the_last_night_called_regressions() {
        let dir = tempfile::tempdir().unwrap();
        let results = fixtures::results_with(&[("hash", "t-0", Some(1))]);
        let refused = last_regressions(dir.path()).unwrap_err().to_string();
        assert!(refused.contains("cannot read the history"), "{refused}");
        let regressed = link_of(&comparison(200), 1).unwrap();
        let quiet = link_of(&comparison(0), 1).unwrap();
        append(
            dir.path(),
            &night(&results, "t-0", "ci", "aaaa1111", vec![regressed]),
        )
        .unwrap();
        assert_eq!(last_regressions(dir.path()).unwrap(), ["hash"]);
        append(
            dir.path(),
            &night(&results, "t-0", "ci", "bbbb2222", vec![quiet]),
        )
        .unwrap();
        let refused = last_regressions(dir.path()).unwrap_err().to_string();
        assert!(
            refused.contains("the last night (bbbb222") && refused.contains("--tests"),
            "{refused}"
        );
    }

    #[test]
    fn a_comparison_without_an_overall_ratio_makes_no_link() {
        let mut comparison = comparison(0);
        comparison.overall.ratio = None;
        assert_eq!(link_of(&comparison, 1), None);
    }
}
