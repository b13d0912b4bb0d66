//! The same base and head compared in both measures, test by test: where time and instructions
//! agree, a change is in the code executed; where they disagree, it is in how the processor
//! runs it (cache misses, vectorization, branch prediction), which counts cannot see, or in
//! noise, which a count does not have.

use super::comparison::verdict_word;
use crate::model::{Comparison, Measure, TestComparison, Verdict};
use anyhow::{Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// One test in both measures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BesideRow {
    pub test: String,
    pub time_ratio: Option<f64>,
    pub time_verdict: Verdict,
    pub count_ratio: Option<f64>,
    pub count_verdict: Verdict,
    /// Both measures decided (changed or unchanged), and differently.
    pub disagree: bool,
}

/// Both comparisons of one pair of runtimes, side by side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Beside {
    pub rows: Vec<BesideRow>,
    /// Spearman's rank correlation of the two measures' ratios over the tests both compared.
    pub rank_correlation: Option<f64>,
}

/// Pairs a comparison in time with one in instructions (in either order) by test.
pub fn beside(one: &Comparison, other: &Comparison) -> Result<Beside> {
    let (time, counts) = match (one.measure, other.measure) {
        (Measure::Time, Measure::Instructions) => (one, other),
        (Measure::Instructions, Measure::Time) => (other, one),
        (a, b) => bail!(
            "--beside wants the other measure: both comparisons are in {} and {}; measure the same runtimes with --measure {}",
            a.name(),
            b.name(),
            if a == Measure::Time {
                "instructions"
            } else {
                "time"
            }
        ),
    };
    let rows: Vec<BesideRow> = (time.tests.iter())
        .filter_map(|t| {
            let c = counts.tests.iter().find(|c| c.test == t.test)?;
            Some(row(t, c))
        })
        .collect();
    let ranked: Vec<(f64, f64)> = (rows.iter())
        .filter_map(|r| Some((r.time_ratio?, r.count_ratio?)))
        .collect();
    Ok(Beside {
        rank_correlation: crate::stats::spearman(&ranked),
        rows,
    })
}

fn row(time: &TestComparison, counts: &TestComparison) -> BesideRow {
    let decided = |v: Verdict| {
        matches!(
            v,
            Verdict::Regression | Verdict::Improvement | Verdict::Unchanged
        )
    };
    BesideRow {
        test: time.test.clone(),
        time_ratio: time.ratio,
        time_verdict: time.verdict,
        count_ratio: counts.ratio,
        count_verdict: counts.verdict,
        disagree: decided(time.verdict)
            && decided(counts.verdict)
            && time.verdict != counts.verdict,
    }
}

/// The table, disagreements first, and the correlation in one line.
pub fn terminal(beside: &Beside) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(["test", "time", "verdict", "instructions", "verdict", ""]);
    let mut rows: Vec<&BesideRow> = beside.rows.iter().collect();
    rows.sort_by_key(|r| !r.disagree);
    let ratio = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.3}×"));
    for r in rows {
        table.add_row([
            r.test.clone(),
            ratio(r.time_ratio),
            verdict_word(r.time_verdict).to_string(),
            ratio(r.count_ratio),
            verdict_word(r.count_verdict).to_string(),
            if r.disagree { "disagree" } else { "" }.to_string(),
        ]);
    }
    let disagreeing = beside.rows.iter().filter(|r| r.disagree).count();
    let correlation = beside
        .rank_correlation
        .map_or("–".to_string(), |rho| format!("{rho:.2}"));
    format!(
        "time and instructions, head over base, per test\n{table}\nrank correlation of the ratios (Spearman): {correlation} over {} tests; verdicts that disagree (both decided): {disagreeing}\n",
        beside.rows.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison(measure: Measure, rows: &[(&str, f64, Verdict)]) -> Comparison {
        use crate::compare::baseline::side_from_results;
        let results = crate::model::fixtures::results_with(&[
            ("sign", "a", Some(100)),
            ("sign", "b", Some(100)),
        ]);
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

    #[test]
    fn the_measures_pair_by_test_and_disagreements_are_marked() {
        use Verdict::*;
        let time = comparison(
            Measure::Time,
            &[
                ("sign", 1.10, Regression),
                ("hash", 1.04, Regression),
                ("box", 1.00, Inconclusive),
            ],
        );
        let counts = comparison(
            Measure::Instructions,
            &[
                ("sign", 1.12, Regression),
                ("hash", 1.001, Unchanged),
                ("box", 1.02, Regression),
            ],
        );
        let beside = beside(&counts, &time).unwrap();
        let hash = beside.rows.iter().find(|r| r.test == "hash").unwrap();
        assert!(hash.disagree);
        // Inconclusive decides nothing: no disagreement.
        assert!(
            !beside
                .rows
                .iter()
                .find(|r| r.test == "box")
                .unwrap()
                .disagree
        );
        assert_eq!(beside.rank_correlation, Some(0.5));
        let text = terminal(&beside);
        assert!(text.lines().nth(4).unwrap().contains("hash"), "{text}");
        assert!(text.contains("0.50 over 3 tests; verdicts that disagree (both decided): 1"));
        let refused = super::beside(&time, &time).unwrap_err().to_string();
        assert!(refused.contains("--measure instructions"), "{refused}");
    }
}
