//! The evidence with each changed test as the reports show it: the functions that carried the
//! most of its change, with their part of it ("`fe25519_mul` +11.0 % of base time: 74 % of the
//! change"), or the one line saying why there is none. Function names come from a module's
//! name section: they are escaped where they land, like any foreign text.

use crate::model::evidence::{Evidence, FunctionChange, TestEvidence};
use crate::model::{Comparison, TestComparison, Verdict};
use serde::Serialize;

/// The functions a comment or a terminal lists a test: the few that carried most of it.
pub const LINES_SHOWN: usize = 3;

/// One test's evidence, numbers formatted.
#[derive(Debug, Clone, Serialize)]
pub struct TestEvidenceView {
    pub test: String,
    pub change: String,
    /// What was profiled, e.g. "cpu-clock:u, 3,928 and 3,915 samples".
    pub how: String,
    /// The functions that carried most of the change, most first.
    pub lines: Vec<FunctionLine>,
    /// Every function kept, for the full table.
    pub all: Vec<FunctionLine>,
    /// Why there is no evidence, instead of the rest.
    pub unavailable: Option<String>,
}

/// One function's part of a test's change.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionLine {
    pub function: String,
    /// Its change in time, as a share of the base's time: "+11.0 %".
    pub change: String,
    /// Its part of the test's whole change: "74 %".
    pub part: String,
    /// Its share of each side's samples, self and with callees: "27.6 % → 25.6 %".
    pub self_shares: String,
    pub total_shares: String,
}

/// The evidence of every changed test that has some (profiled or not), largest change first.
pub fn views(comparison: &Comparison) -> Vec<TestEvidenceView> {
    (changed_with_evidence(comparison).into_iter())
        .filter_map(view)
        .collect()
}

/// The changed tests with evidence (or a line why there is none), largest change first.
fn changed_with_evidence(comparison: &Comparison) -> Vec<&TestComparison> {
    let mut rows: Vec<&TestComparison> = (comparison.tests.iter())
        .filter(|t| matches!(t.verdict, Verdict::Regression | Verdict::Improvement))
        .filter(|t| t.evidence.is_some())
        .collect();
    rows.sort_by(|a, b| {
        let size = |t: &TestComparison| t.ratio.unwrap_or(1.0).ln().abs();
        size(b).total_cmp(&size(a))
    });
    rows
}

fn view(row: &TestComparison) -> Option<TestEvidenceView> {
    let change = crate::compare::percent_change(row.ratio, row.ci_low, row.ci_high);
    let mut found = TestEvidenceView {
        test: row.test.clone(),
        change,
        how: String::new(),
        lines: Vec::new(),
        all: Vec::new(),
        unavailable: None,
    };
    match row.evidence.as_ref()? {
        TestEvidence::Unavailable(why) => found.unavailable = Some(why.clone()),
        TestEvidence::Profiled(evidence) => {
            found.how = how(evidence);
            found.all = (evidence.functions.iter())
                .filter(|f| worth_a_row(f))
                .map(line)
                .collect();
            found.lines = evidence.leading(LINES_SHOWN).map(line).collect();
        }
    }
    Some(found)
}

/// A function of the full table: one that carried a part of the change, or a share of
/// either side's time, of at least half a percent.
fn worth_a_row(f: &FunctionChange) -> bool {
    let most = [f.base_total, f.head_total, f.part_of_change.abs()];
    most.into_iter().any(|share| share >= 0.005)
}

/// "perf cpu-clock:u, 3,928 samples of base and 3,915 of head".
fn how(evidence: &Evidence) -> String {
    format!(
        "perf {}, {} samples of base and {} of head",
        evidence.event,
        thousands(evidence.base.samples),
        thousands(evidence.head.samples)
    )
}

/// "3,928".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn line(f: &FunctionChange) -> FunctionLine {
    let percent = |share: f64| format!("{:.1} %", share * 100.0);
    FunctionLine {
        function: f.function.clone(),
        change: format!("{:+.1} %", f.change_of_base * 100.0),
        part: format!("{:.0} %", f.part_of_change * 100.0),
        self_shares: format!("{} → {}", percent(f.base_self), percent(f.head_self)),
        total_shares: format!("{} → {}", percent(f.base_total), percent(f.head_total)),
    }
}

/// One changed test's evidence in the HTML report: the view, and both sides' flame graphs.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceSection {
    pub view: TestEvidenceView,
    pub base_graph: String,
    pub head_graph: String,
}

/// The evidence of a gate's comparison for the HTML report.
pub fn sections(comparison: &Comparison) -> Vec<EvidenceSection> {
    let profiles: std::collections::BTreeMap<&str, &Evidence> = (comparison.tests.iter())
        .filter_map(|t| match &t.evidence {
            Some(TestEvidence::Profiled(e)) => Some((t.test.as_str(), e.as_ref())),
            _ => None,
        })
        .collect();
    (views(comparison).into_iter())
        .map(|view| {
            let graph = |side: &str, label: &str, profile: &crate::model::evidence::Profile| {
                let title = format!("{} on {side} ({label})", view.test);
                super::flame::flame_graph(&title, profile)
            };
            let (base_graph, head_graph) = match profiles.get(view.test.as_str()) {
                Some(e) => (
                    graph("base", &comparison.base.label, &e.base),
                    graph("head", &comparison.head.label, &e.head),
                ),
                None => (String::new(), String::new()),
            };
            EvidenceSection {
                view,
                base_graph,
                head_graph,
            }
        })
        .collect()
}

/// The profiles of a comparison as files for its artifact, by name: each side's folded
/// stacks (what flame graph tools read) and its flame graph, `TEST.base.folded`,
/// `TEST.base.svg`, and the same for head. A test's name is the suite's, made safe anyway:
/// a file name it makes stays one name inside the folder it is written to.
pub fn profile_files(comparison: &Comparison) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for row in &comparison.tests {
        let Some(TestEvidence::Profiled(evidence)) = &row.evidence else {
            continue;
        };
        let stem = safe_stem(&row.test);
        let sides = [("base", &evidence.base), ("head", &evidence.head)];
        for (side, profile) in sides {
            let folded: String = (profile.stacks.iter())
                .map(|(stack, count)| format!("{stack} {count}\n"))
                .collect();
            files.push((format!("{stem}.{side}.folded"), folded));
            let title = format!("{} on {side} ({})", row.test, profile.runtime);
            let svg = super::flame::flame_graph(&title, profile);
            files.push((format!("{stem}.{side}.svg"), svg));
        }
    }
    files
}

/// A name made only of letters, digits, `_` and `-`, never empty, at most 64 characters.
fn safe_stem(name: &str) -> String {
    let stem: String = (name.chars())
        .take(64)
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                true => c,
                false => '_',
            },
        )
        .collect();
    match stem.is_empty() {
        true => "test".to_string(),
        false => stem,
    }
}

/// The evidence as plain lines for the terminal, under the tests' table.
pub fn terminal_lines(comparison: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for row in changed_with_evidence(comparison) {
        let change = crate::compare::percent_change(row.ratio, row.ci_low, row.ci_high);
        match &row.evidence {
            Some(TestEvidence::Unavailable(why)) => {
                out.push(format!("{} ({change}): no evidence: {why}", row.test));
            }
            Some(TestEvidence::Profiled(evidence)) => {
                out.push(format!("{} ({change}), {}:", row.test, how(evidence)));
                let leading = evidence.leading(LINES_SHOWN);
                out.extend(leading.map(|f| format!("  {}", f.sentence())));
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::evidence::Profile;

    fn change(function: &str, change_of_base: f64, part_of_change: f64) -> FunctionChange {
        FunctionChange {
            function: function.into(),
            base_self: 0.5,
            head_self: 0.55,
            base_total: 0.5,
            head_total: 0.55,
            change_of_base,
            part_of_change,
        }
    }

    #[test]
    fn profile_files_are_named_inside_their_folder() {
        assert_eq!(safe_stem("box_easy2"), "box_easy2");
        assert_eq!(safe_stem("../../etc/passwd"), "______etc_passwd");
        assert_eq!(safe_stem(""), "test");
        let mut comparison = crate::report::test_support::comparison(
            crate::model::Measure::Time,
            &[("../x", 1.12, Verdict::Regression)],
        );
        let profile = Profile {
            runtime: "b".into(),
            samples: 2,
            stacks: [("main;mul".to_string(), 2)].into(),
        };
        comparison.tests[0].evidence = Some(TestEvidence::Profiled(Box::new(Evidence {
            event: "cpu-clock:u".into(),
            base: profile.clone(),
            head: profile,
            functions: Vec::new(),
        })));
        let files = profile_files(&comparison);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "___x.base.folded",
                "___x.base.svg",
                "___x.head.folded",
                "___x.head.svg"
            ]
        );
        assert_eq!(files[0].1, "main;mul 2\n");
    }

    #[test]
    fn the_functions_that_carried_most_of_the_change_are_listed_first() {
        let evidence = Evidence {
            event: "cpu-clock:u".into(),
            base: Profile {
                samples: 3928,
                ..Profile::default()
            },
            head: Profile {
                samples: 3915,
                ..Profile::default()
            },
            functions: vec![
                change("__multi3", 0.141, 0.69),
                change("crypto_scalarmult_curve25519_ref10", 0.042, 0.21),
                change("fe25519_mul", 0.022, 0.11),
                change("[unknown]", 0.003, 0.01),
            ],
        };
        let mut comparison = crate::report::test_support::comparison(
            crate::model::Measure::Time,
            &[("sign", 1.12, Verdict::Regression)],
        );
        comparison.tests[0].evidence = Some(TestEvidence::Profiled(Box::new(evidence)));
        let lines = terminal_lines(&comparison);
        assert!(lines[0].ends_with("perf cpu-clock:u, 3,928 samples of base and 3,915 of head:"));
        assert_eq!(
            lines[1],
            "  __multi3 +14.1 % of base time: 69 % of the change"
        );
        // Three at most, and none that carried under 5 %.
        assert_eq!(lines.len(), 4, "{lines:?}");
    }
}
