//! The terminal summary of a bisect record: each step's effect, then the answer in one line.

use crate::compare::percent_change;
use crate::model::bisect::{BisectOutcome, BisectRecord, BisectStep, StepKind, StepVerdict};
use std::fmt::Write;

/// The summary, several lines ending with a newline.
pub fn render(record: &BisectRecord) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "bisect: {} commits after good {} up to bad {} ({} adapter)",
        record.commits, record.good.short, record.bad.short, record.adapter
    );
    for step in &record.steps {
        let _ = writeln!(text, "{}", step_line(step));
    }
    let _ = writeln!(text, "{}", answer(record));
    for line in evidence_lines(record) {
        let _ = writeln!(text, "{line}");
    }
    let builds = &record.builds;
    let _ = writeln!(
        text,
        "builds: {} made, {} cached ({:.0} s building, not counted against the budget); {} paired runs measuring for {:.0} s of the {:.0} s budget; {:.0} s in all",
        builds.made,
        builds.cached,
        builds.seconds,
        record.steps.len(),
        record.measuring_seconds,
        record.budget_seconds,
        record.wall_seconds
    );
    text
}

/// Where the first bad commit's change went, test by test: the functions that carried most
/// of it, or why there is no evidence.
fn evidence_lines(record: &BisectRecord) -> Vec<String> {
    use crate::model::evidence::TestEvidence;
    let mut lines = Vec::new();
    for found in &record.evidence {
        let change = percent_change(found.ratio, None, None);
        match &found.evidence {
            TestEvidence::Unavailable(why) => {
                lines.push(format!("  {} ({change}): no evidence: {why}", found.test));
            }
            TestEvidence::Profiled(evidence) => {
                lines.push(format!("  {} ({change}), where it went:", found.test));
                let leading = evidence.leading(EVIDENCE_LINES);
                lines.extend(leading.map(|f| format!("    {}", f.sentence())));
            }
        }
    }
    lines
}

/// The functions listed for each test of the first bad commit.
const EVIDENCE_LINES: usize = 3;

fn step_line(step: &BisectStep) -> String {
    let name = match step.kind {
        StepKind::Range => "range".to_string(),
        StepKind::Search => format!("step {}", step.number),
        StepKind::Confirm => "confirm".to_string(),
    };
    let repeat = if step.attempt > 1 { " (repeat)" } else { "" };
    let verdict = match step.verdict {
        StepVerdict::Bad => "bad",
        StepVerdict::Good => "good",
        StepVerdict::Inconclusive => "inconclusive",
    };
    // The range measures every test; its line shows the ones that changed, or a count.
    let shown: Vec<String> = step
        .effects
        .iter()
        .filter(|e| step.kind != StepKind::Range || e.verdict != crate::model::Verdict::Unchanged)
        .take(8)
        .map(|e| {
            // A good step on a test the gate leaves inconclusive: its interval stayed under
            // half of the range's effect.
            let verdict = match (step.verdict, e.verdict) {
                (StepVerdict::Good, crate::model::Verdict::Inconclusive) => {
                    "under half of the range's effect".to_string()
                }
                (_, verdict) => format!("{verdict:?}").to_lowercase(),
            };
            format!(
                "{} {} ({verdict})",
                e.test,
                percent_change(e.ratio, e.ci_low, e.ci_high)
            )
        })
        .collect();
    let hidden = step.effects.len().saturating_sub(shown.len());
    let more = match hidden {
        0 => String::new(),
        n => format!(", {n} more"),
    };
    format!(
        "{name}{repeat}: {} against {}: {verdict}: {}{more}",
        step.head.short,
        step.base.short,
        shown.join(", ")
    )
}

fn answer(record: &BisectRecord) -> String {
    match &record.outcome {
        BisectOutcome::NoRegression => {
            let tests: Vec<&str> = match record.steps.last() {
                Some(step) => step.effects.iter().map(|e| e.test.as_str()).collect(),
                None => Vec::new(),
            };
            format!(
                "no regression between good {} and bad {} on these tests: {}",
                record.good.short,
                record.bad.short,
                tests.join(", ")
            )
        }
        BisectOutcome::Inconclusive { step, commit, why } => format!(
            "step {step} inconclusive at {} ({}): {why}; run again with a larger --budget",
            commit.short, commit.subject
        ),
        BisectOutcome::Found {
            first_bad,
            share,
            spread,
            ..
        } => {
            let mut line = format!(
                "first bad commit: {} {} (on {})",
                first_bad.short,
                first_bad.subject,
                record.regressed.join(", ")
            );
            match (share, spread) {
                (Some(share), true) => {
                    let _ = write!(
                        line,
                        "\nthe change is spread over several commits: against its parent, {} has {:.0} % of the whole effect (in log ratio)",
                        first_bad.short,
                        share * 100.0
                    );
                }
                (Some(share), false) => {
                    let _ = write!(
                        line,
                        "\nagainst its parent it has {:.0} % of the whole effect (in log ratio)",
                        share * 100.0
                    );
                }
                (None, _) => {}
            }
            line
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::model::bisect::{BuildCounts, CommitRef, TestEffect};

    fn commit(short: &str, subject: &str) -> CommitRef {
        CommitRef {
            sha: format!("{short}000"),
            short: short.to_string(),
            subject: subject.to_string(),
        }
    }

    fn step(number: usize, kind: StepKind, ratio: f64, verdict: Verdict) -> BisectStep {
        BisectStep {
            number,
            attempt: 1,
            kind,
            base: commit("aaa1111", "good"),
            head: commit("bbb2222", "mid"),
            budget_seconds: 10.0,
            results: "bisect.step.json".to_string(),
            effects: vec![TestEffect {
                test: "stream".to_string(),
                ratio: Some(ratio),
                ci_low: Some(ratio - 0.01),
                ci_high: Some(ratio + 0.01),
                verdict,
                note: None,
            }],
            log_ratio: Some(f64::ln(ratio)),
            verdict: match verdict {
                Verdict::Regression => StepVerdict::Bad,
                Verdict::Unchanged => StepVerdict::Good,
                _ => StepVerdict::Inconclusive,
            },
        }
    }

    fn record(steps: Vec<BisectStep>, outcome: BisectOutcome) -> BisectRecord {
        BisectRecord {
            schema_version: 1,
            repo: "repo".to_string(),
            repo_identity: "id".to_string(),
            good: commit("aaa1111", "good"),
            bad: commit("ccc3333", "bad"),
            commits: 16,
            build_command: "cp rt {out}".to_string(),
            adapter: "wasmtime".to_string(),
            tests: vec!["stream".to_string()],
            regressed: vec!["stream".to_string()],
            budget_seconds: 60.0,
            steps,
            outcome,
            builds: BuildCounts {
                made: 3,
                cached: 2,
                seconds: 1.0,
            },
            wall_seconds: 42.0,
            measuring_seconds: 30.0,
            evidence: Vec::new(),
        }
    }

    #[test]
    fn the_first_bad_commits_evidence_follows_the_answer() {
        use crate::model::evidence::{Evidence, FunctionChange, TestEvidence, TestEvidenceOf};
        let function = |name: &str, part: f64| FunctionChange {
            function: name.to_string(),
            base_self: 0.3,
            head_self: 0.4,
            base_total: 0.3,
            head_total: 0.4,
            change_of_base: part * 0.5,
            part_of_change: part,
        };
        let mut record = record(
            Vec::new(),
            BisectOutcome::Inconclusive {
                step: 1,
                commit: commit("bbb2222", "midpoint"),
                why: String::new(),
            },
        );
        let evidence = Evidence {
            event: "cpu-clock:u".into(),
            base: Default::default(),
            head: Default::default(),
            functions: vec![
                function("crypto_stream_salsa20", 0.9),
                function("memcpy", 0.01),
            ],
        };
        record.evidence = vec![
            TestEvidenceOf {
                test: "stream".into(),
                ratio: Some(1.5),
                evidence: TestEvidence::Profiled(Box::new(evidence)),
            },
            TestEvidenceOf {
                test: "hash".into(),
                ratio: Some(1.2),
                evidence: TestEvidence::Unavailable("perf is not installed".into()),
            },
        ];
        let lines = evidence_lines(&record);
        assert_eq!(
            lines,
            [
                "  stream (+50.0 %), where it went:",
                "    crypto_stream_salsa20 +45.0 % of base time: 90 % of the change",
                "  hash (+20.0 %): no evidence: perf is not installed",
            ]
        );
    }

    #[test]
    fn an_inconclusive_step_says_where_and_what_to_do() {
        let text = render(&record(
            vec![
                step(0, StepKind::Range, 1.6, Verdict::Regression),
                step(1, StepKind::Search, 1.05, Verdict::Inconclusive),
            ],
            BisectOutcome::Inconclusive {
                step: 1,
                commit: commit("bbb2222", "mid"),
                why: "too noisy to tell, even with a doubled budget".to_string(),
            },
        ));
        assert!(
            text.contains(
                "range: bbb2222 against aaa1111: bad: stream +60.0 % ± 1.0 % (regression)"
            ),
            "{text}"
        );
        assert!(
            text.contains("step 1 inconclusive at bbb2222 (mid): too noisy to tell, even with a doubled budget; run again with a larger --budget"),
            "{text}"
        );
        assert!(text.contains("builds: 3 made, 2 cached"), "{text}");
        // What the budget bounds is said apart from the whole time.
        assert!(
            text.contains("paired runs measuring for 30 s of the 60 s budget; 42 s in all"),
            "{text}"
        );
    }

    #[test]
    fn a_culprit_with_little_of_the_effect_is_called_spread() {
        let found = BisectOutcome::Found {
            first_bad: commit("bbb2222", "Use the single-pass allocator"),
            parent: commit("aaa1111", "good"),
            share: Some(0.3),
            spread: true,
        };
        let text = render(&record(Vec::new(), found));
        assert!(
            text.contains("first bad commit: bbb2222 Use the single-pass allocator (on stream)"),
            "{text}"
        );
        assert!(
            text.contains("the change is spread over several commits: against its parent, bbb2222 has 30 % of the whole effect"),
            "{text}"
        );
    }
}
