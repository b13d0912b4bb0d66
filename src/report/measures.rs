//! The same base and head compared in two measures, test by test. Where time and instructions
//! agree, a change is in the code executed; where they disagree, it is in how the processor
//! runs it (cache misses, vectorization, branch prediction), which counts cannot see, or in
//! noise, which a count does not have. Where compile time changes and run time does not, a
//! change made the compiler slower or faster without changing what its code does.

use super::comparison::verdict_word;
use crate::model::{Comparison, Measure, TestComparison, Verdict};
use anyhow::{Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// One test in both measures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BesideRow {
    pub test: String,
    /// In the first measure of `Beside::measures`.
    pub first_ratio: Option<f64>,
    pub first_verdict: Verdict,
    /// In the second.
    pub second_ratio: Option<f64>,
    pub second_verdict: Verdict,
    /// Both measures decided (changed or unchanged), and differently.
    pub disagree: bool,
}

/// Both comparisons of one pair of runtimes, side by side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Beside {
    /// The two measures, in the order of `Measure::ALL` (time first).
    pub measures: [Measure; 2],
    pub rows: Vec<BesideRow>,
    /// Spearman's rank correlation of the two measures' ratios over the tests both compared.
    pub rank_correlation: Option<f64>,
}

/// Pairs two comparisons of the same runtimes in two measures (in either order) by test:
/// time with instructions (is a change in the code executed, or in how the processor runs
/// it?), or run time with compile time (did a change to the compiler change its code too?).
pub fn beside(one: &Comparison, other: &Comparison) -> Result<Beside> {
    if one.measure == other.measure {
        let suggested = match one.measure {
            Measure::Time => Measure::Instructions,
            _ => Measure::Time,
        };
        bail!(
            "--beside wants another measure: both comparisons are in {}; measure the same runtimes with --measure {}",
            one.measure.name(),
            suggested.name()
        );
    }
    let rank = |m: Measure| Measure::ALL.iter().position(|a| *a == m);
    let (first, second) = match rank(one.measure) < rank(other.measure) {
        true => (one, other),
        false => (other, one),
    };
    let rows: Vec<BesideRow> = (first.tests.iter())
        .filter_map(|t| {
            let c = second.tests.iter().find(|c| c.test == t.test)?;
            Some(row(t, c))
        })
        .collect();
    let ranked: Vec<(f64, f64)> = (rows.iter())
        .filter_map(|r| Some((r.first_ratio?, r.second_ratio?)))
        .collect();
    Ok(Beside {
        measures: [first.measure, second.measure],
        rank_correlation: crate::stats::spearman(&ranked),
        rows,
    })
}

fn row(first: &TestComparison, second: &TestComparison) -> BesideRow {
    let decided = |v: Verdict| {
        matches!(
            v,
            Verdict::Regression | Verdict::Improvement | Verdict::Unchanged
        )
    };
    BesideRow {
        test: first.test.clone(),
        first_ratio: first.ratio,
        first_verdict: first.verdict,
        second_ratio: second.ratio,
        second_verdict: second.verdict,
        disagree: decided(first.verdict)
            && decided(second.verdict)
            && first.verdict != second.verdict,
    }
}

/// The table, disagreements first, and the correlation in one line.
pub fn terminal(beside: &Beside) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    let [first, second] = beside.measures.map(Measure::name);
    table.set_header(["test", first, "verdict", second, "verdict", ""]);
    let mut rows: Vec<&BesideRow> = beside.rows.iter().collect();
    rows.sort_by_key(|r| !r.disagree);
    let ratio = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.3}×"));
    for r in rows {
        table.add_row([
            r.test.clone(),
            ratio(r.first_ratio),
            verdict_word(r.first_verdict).to_string(),
            ratio(r.second_ratio),
            verdict_word(r.second_verdict).to_string(),
            if r.disagree { "disagree" } else { "" }.to_string(),
        ]);
    }
    let disagreeing = beside.rows.iter().filter(|r| r.disagree).count();
    let correlation = beside
        .rank_correlation
        .map_or("–".to_string(), |rho| format!("{rho:.2}"));
    format!(
        "{first} and {second}, head over base, per test\n{table}\nrank correlation of the ratios (Spearman): {correlation} over {} tests; verdicts that disagree (both decided): {disagreeing}\n",
        beside.rows.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::report::test_support::comparison;

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

    #[test]
    fn compile_time_pairs_with_run_time_and_a_compiler_only_change_shows_apart() {
        use Verdict::*;
        let compile = comparison(
            Measure::Compile,
            &[("sign", 1.20, Regression), ("box", 1.18, Regression)],
        );
        let time = comparison(
            Measure::Time,
            &[("sign", 1.001, Unchanged), ("box", 0.999, Unchanged)],
        );
        let beside = beside(&compile, &time).unwrap();
        // Time first, whatever the order given.
        assert_eq!(beside.measures, [Measure::Time, Measure::Compile]);
        let sign = beside.rows.iter().find(|r| r.test == "sign").unwrap();
        assert_eq!(
            (sign.first_verdict, sign.second_verdict),
            (Unchanged, Regression)
        );
        assert!(sign.disagree);
        let text = terminal(&beside);
        assert!(
            text.starts_with("time and compile, head over base"),
            "{text}"
        );
        let refused = super::beside(&compile, &compile).unwrap_err().to_string();
        assert!(refused.contains("--measure time"), "{refused}");
    }
}
