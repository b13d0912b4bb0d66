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
    let builds = &record.builds;
    let _ = writeln!(
        text,
        "builds: {} made, {} cached ({:.0} s building); {} paired runs in {:.0} s",
        builds.made,
        builds.cached,
        builds.seconds,
        record.steps.len(),
        record.wall_seconds
    );
    text
}

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
            format!(
                "{} {} ({:?})",
                e.test,
                percent_change(e.ratio, e.ci_low, e.ci_high),
                e.verdict
            )
            .to_lowercase()
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
