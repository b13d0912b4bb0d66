//! A comparison as a terminal table or markdown: the headline verdict first, then the tests that
//! changed, the categories, and everything else folded away.

use crate::compare::{RUNNER_TOO_BUSY, percent_change};
use crate::model::{Comparison, GroupComparison, Measure, TestComparison, Verdict};
use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use minijinja::Environment;
use minijinja::value::{Serde, Value};
use serde::Serialize;

const TEMPLATE: &str = include_str!("templates/comparison.md.j2");

/// What both formats show, with the numbers already formatted.
#[derive(Serialize)]
struct View<'a> {
    headline: String,
    /// What a change is a ratio of, in words.
    measure: &'static str,
    /// The line at the top when most samples were disturbed.
    busy: Option<String>,
    /// How many samples were disturbed and measured again, when any were.
    disturbed: Option<String>,
    /// The tests only one side measured, when there are any.
    not_compared: Option<String>,
    foreign: Option<&'a str>,
    base: &'a crate::model::ComparedSide,
    head: &'a crate::model::ComparedSide,
    changed: Vec<Row>,
    failed: Vec<Row>,
    rest: Vec<Row>,
    categories: Vec<Row>,
    overall: Row,
    gate_failed: bool,
    /// Why the gate failed, in one line, and the setting that says what fails it.
    why: Option<String>,
    fail_on: String,
    gate_reasons: &'a [String],
    /// The changed tests' evidence, largest change first.
    evidence: Vec<super::evidence::TestEvidenceView>,
    settings: &'a crate::model::CompareSettings,
    presentation: &'a Presentation,
}

/// How a markdown comparison is dressed for where it is read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Presentation {
    /// The CI run that measured it, linked from the footer.
    pub run_url: Option<String>,
    /// Leave out the table of unchanged tests (for a size-limited pull-request comment).
    pub compact: bool,
}

#[derive(Serialize)]
struct Row {
    name: String,
    category: String,
    verdict: &'static str,
    change: String,
    base: String,
    head: String,
    samples: String,
    q: String,
    note: String,
}

/// "2 regressions · 1 improvement · 96 unchanged — overall +0.4 % ± 0.3 %".
pub fn headline(comparison: &Comparison) -> String {
    let count = |verdict: Verdict| comparison.tests_with(verdict).count();
    let mut parts = Vec::new();
    for (verdict, one, many) in [
        (Verdict::Regression, "regression", "regressions"),
        (Verdict::Improvement, "improvement", "improvements"),
        (Verdict::Unchanged, "unchanged", "unchanged"),
        (Verdict::Inconclusive, "inconclusive", "inconclusive"),
        (Verdict::Failed, "failed", "failed"),
    ] {
        let n = count(verdict);
        if n > 0 || verdict == Verdict::Regression {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    }
    if comparison.disturbance.runner_too_busy() {
        parts.insert(0, RUNNER_TOO_BUSY.to_string());
    }
    let o = &comparison.overall;
    format!(
        "{} — overall {}",
        parts.join(" · "),
        percent_change(o.ratio, o.ci_low, o.ci_high)
    )
}

pub(super) fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Regression => "regression",
        Verdict::Improvement => "improvement",
        Verdict::Unchanged => "unchanged",
        Verdict::Inconclusive => "inconclusive",
        Verdict::Failed => "failed",
    }
}

fn test_row(t: &TestComparison, measure: Measure) -> Row {
    let ps = |v: Option<f64>| {
        v.map(|v| crate::util::format_value(measure, v))
            .unwrap_or_else(|| "–".into())
    };
    let busy = t.verdict == Verdict::Inconclusive
        && (t.note.as_deref()).is_some_and(|n| n.starts_with(RUNNER_TOO_BUSY));
    let disturbed = t.base_disturbed + t.head_disturbed;
    Row {
        name: t.test.clone(),
        category: t.category.clone(),
        verdict: if busy {
            "inconclusive: runner too busy"
        } else {
            verdict_word(t.verdict)
        },
        change: percent_change(t.ratio, t.ci_low, t.ci_high),
        base: ps(t.base_median_ps),
        head: ps(t.head_median_ps),
        samples: match disturbed {
            0 => format!("{}/{}", t.base_samples, t.head_samples),
            n => format!("{}/{} (+{n} disturbed)", t.base_samples, t.head_samples),
        },
        q: t.q_value
            .map(|q| format!("{q:.2e}"))
            .unwrap_or_else(|| "–".into()),
        note: t.note.clone().unwrap_or_default(),
    }
}

/// Why the gate failed, after "The gate failed:": "2 tests and 1 category are slower; 1 test
/// failed". The reasons one by one are in the long form.
fn why_failed(comparison: &Comparison) -> Option<String> {
    if !comparison.gate_failed {
        return None;
    }
    let fail_on = &comparison.settings.fail_on;
    let on = |what: &str| fail_on.iter().any(|f| f == what);
    let count = |n: usize, one: &str, many: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    };
    let tests = comparison.tests_with(Verdict::Regression).count();
    let categories = (comparison.categories.iter())
        .filter(|g| g.verdict == Verdict::Regression)
        .count();
    let overall = on("overall") && comparison.overall.verdict == Verdict::Regression;
    let slower: Vec<String> = [
        on("test").then(|| count(tests, "test", "tests")).flatten(),
        on("category")
            .then(|| count(categories, "category", "categories"))
            .flatten(),
        overall.then(|| "the suite overall".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut parts = Vec::new();
    if !slower.is_empty() {
        let single = slower.len() == 1 && (slower[0].starts_with("1 ") || overall);
        let verb = if single { "is" } else { "are" };
        parts.push(format!(
            "{} {verb} {}",
            slower.join(" and "),
            comparison.measure.slower()
        ));
    }
    let failed = comparison.tests_with(Verdict::Failed).count();
    if let Some(failed) = on("failure")
        .then(|| count(failed, "test", "tests"))
        .flatten()
    {
        parts.push(format!("{failed} failed"));
    }
    Some(parts.join("; "))
}

fn group_row(g: &GroupComparison) -> Row {
    Row {
        name: g.name.clone(),
        category: String::new(),
        verdict: verdict_word(g.verdict),
        change: percent_change(g.ratio, g.ci_low, g.ci_high),
        base: String::new(),
        head: String::new(),
        samples: g.tests.to_string(),
        q: String::new(),
        note: String::new(),
    }
}

fn view<'a>(comparison: &'a Comparison, presentation: &'a Presentation) -> View<'a> {
    let pick = |wanted: &[Verdict]| -> Vec<Row> {
        let mut rows: Vec<&TestComparison> = comparison
            .tests
            .iter()
            .filter(|t| wanted.contains(&t.verdict))
            .collect();
        // Largest change first within each verdict.
        rows.sort_by(|a, b| {
            (a.verdict, -(a.ratio.unwrap_or(1.0).ln().abs()))
                .partial_cmp(&(b.verdict, -(b.ratio.unwrap_or(1.0).ln().abs())))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        (rows.into_iter())
            .map(|row| test_row(row, comparison.measure))
            .collect()
    };
    let disturbance = &comparison.disturbance;
    View {
        headline: headline(comparison),
        measure: comparison.measure.describe(),
        busy: crate::report::busy_line(*disturbance),
        disturbed: (disturbance.disturbed > 0).then(|| disturbance.sentence()),
        not_compared: comparison
            .not_compared
            .sentence(&comparison.base.label, &comparison.head.label),
        foreign: comparison.foreign.as_deref(),
        base: &comparison.base,
        head: &comparison.head,
        changed: pick(&[Verdict::Regression, Verdict::Improvement]),
        failed: pick(&[Verdict::Failed]),
        rest: pick(&[Verdict::Unchanged, Verdict::Inconclusive]),
        categories: comparison.categories.iter().map(group_row).collect(),
        overall: group_row(&comparison.overall),
        gate_failed: comparison.gate_failed,
        why: why_failed(comparison),
        fail_on: comparison.settings.fail_on.join(", "),
        gate_reasons: &comparison.gate_reasons,
        evidence: super::evidence::views(comparison),
        settings: &comparison.settings,
        presentation,
    }
}

pub fn markdown(comparison: &Comparison, presentation: &Presentation) -> Result<String> {
    let mut env = super::escape::markdown_environment(Environment::new());
    env.add_template("comparison.md", TEMPLATE)?;
    let text = env
        .get_template("comparison.md")?
        .render(minijinja::context! { v => Value::from(Serde(view(comparison, presentation))) })?;
    Ok(text)
}

pub fn terminal(comparison: &Comparison) -> String {
    let presentation = Presentation::default();
    let v = view(comparison, &presentation);
    let mut out = String::new();
    if let Some(foreign) = v.foreign {
        out.push_str(&format!("WARNING: foreign baseline: {foreign}\n"));
    }
    if let Some(busy) = &v.busy {
        out.push_str(&format!("WARNING: {busy}.\n"));
    }
    out.push_str(&format!(
        "{}: {} ({}) vs {}: {} ({})\nmeasure: {}\n{}\n",
        v.base.label,
        v.base.runtime.version,
        v.base.origin,
        v.head.label,
        v.head.runtime.version,
        v.head.origin,
        v.measure,
        v.headline
    ));
    let mut tests = Table::new();
    tests.load_style(UTF8_FULL_CONDENSED);
    tests.set_header([
        "test", "category", "verdict", "change", "base", "head", "samples", "q", "note",
    ]);
    for row in v.changed.iter().chain(&v.failed).chain(&v.rest) {
        tests.add_row(
            [
                &row.name,
                &row.category,
                row.verdict,
                &row.change,
                &row.base,
                &row.head,
                &row.samples,
                &row.q,
                &row.note,
            ]
            .map(|s| s.to_string()),
        );
    }
    out.push_str(&format!("{tests}\n"));
    for line in super::evidence::terminal_lines(comparison) {
        out.push_str(&format!("{line}\n"));
    }
    let mut groups = Table::new();
    groups.load_style(UTF8_FULL_CONDENSED);
    groups.set_header(["category", "verdict", "change (geometric mean)", "tests"]);
    for row in v.categories.iter().chain(std::iter::once(&v.overall)) {
        groups.add_row([&row.name, row.verdict, &row.change, &row.samples].map(|s| s.to_string()));
    }
    out.push_str(&format!("{groups}\n"));
    for line in [&v.disturbed, &v.not_compared].into_iter().flatten() {
        out.push_str(&format!("{line}.\n"));
    }
    if v.gate_failed {
        out.push_str(&format!(
            "gate: FAILED: {}\n  {}\n",
            v.why.as_deref().unwrap_or_default(),
            v.gate_reasons.join("\n  ")
        ));
    } else {
        out.push_str("gate: passed\n");
    }
    out
}
