//! Trends of the differential nightly: each night's level chained from its paired links to
//! earlier nights (`stats::chain`), per test, per category and overall, with the nights a
//! link called a regression. Unlike the trends of stored baselines (`trends.rs`), no night's
//! median is ever divided by another night's, so neither the machine's drift nor a change of
//! runner between nights shows as a step.

use super::trends::{OVERALL, Point, Series, Trend};
use crate::build::categories::category_of;
use crate::model::Verdict;
use crate::model::nightly::{LinkRatio, Night, NightLink};
use crate::stats::{self, chain};
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::path::Path;

/// The confidence of the links' intervals. A night's record does not say it; the nightly
/// compares at the gate's default. Category intervals are tested at a Bonferroni-corrected
/// level and so are a little wider than this assumes, which only weighs them a little less.
pub const LINK_CONFIDENCE: f64 = 0.99;

/// The chained trends of one nightly history.
#[derive(Debug, Clone, Default)]
pub struct Chained {
    /// Overall first, then one per category: what the report charts.
    pub trends: Vec<Trend>,
    /// One per test, in name order (`Trend::category` holds the test's name).
    pub tests: Vec<Trend>,
    /// Where a chain breaks, links left out of it, links that match no night: one sentence each.
    pub notes: Vec<String>,
}

/// What a chain is of: each link carries a ratio per test, per category and overall.
///
/// A category's chain is of the links' own category ratios, not the geometric mean of its
/// tests' chained levels: each link's category ratio is one paired comparison over the tests
/// both builds ran that night, with its own interval, so the chain weighs it rightly; and a
/// test that joins or leaves the suite changes no level, where a mean over the tests present
/// each night would step when the set of tests changes.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Overall,
    Category(String),
    Test(String),
}

impl Key {
    fn ratio<'a>(&self, link: &'a NightLink) -> Option<&'a LinkRatio> {
        match self {
            Key::Overall => Some(&link.overall),
            Key::Category(name) => link.categories.get(name),
            Key::Test(name) => link.tests.get(name),
        }
    }

    fn name(&self) -> &str {
        match self {
            Key::Overall => OVERALL,
            Key::Category(name) | Key::Test(name) => name,
        }
    }

    /// Whether a test's regression is one of this chain's.
    fn covers(&self, test: &str) -> bool {
        match self {
            Key::Overall => true,
            Key::Category(name) => category_of(test) == name,
            Key::Test(name) => name == test,
        }
    }
}

/// A link of the history placed: the night it is of, the night it is against, and the link.
struct Placed<'a> {
    later: usize,
    earlier: usize,
    link: &'a NightLink,
}

/// The chained trends of a nightly history, labelled (the runtime the history is of).
pub fn chained(label: &str, nights: &[Night]) -> Chained {
    let (placed, mut notes) = place(nights);
    let mut categories = BTreeSet::new();
    let mut tests = BTreeSet::new();
    for p in &placed {
        categories.extend(p.link.categories.keys().cloned());
        tests.extend(p.link.tests.keys().cloned());
    }
    let mut out = Chained::default();
    let keys = std::iter::once(Key::Overall).chain(categories.into_iter().map(Key::Category));
    for key in keys {
        if let Some(trend) = trend(label, nights, &placed, &key, &mut notes, None) {
            out.trends.push(trend);
        }
    }
    // A test's chain breaks wherever the overall one does; only its own breaks are news.
    let overall_breaks: BTreeSet<String> = (out.trends.first())
        .map(|t| t.series.iter().flat_map(|s| &s.points))
        .into_iter()
        .flatten()
        .filter(|p| p.starts_chain)
        .map(|p| p.date.clone())
        .collect();
    for test in tests {
        let key = Key::Test(test);
        if let Some(trend) = trend(
            label,
            nights,
            &placed,
            &key,
            &mut notes,
            Some(&overall_breaks),
        ) {
            out.tests.push(trend);
        }
    }
    out.notes = notes;
    out
}

/// Finds the night each link is against: the night `nights_back` before, when its commit is
/// the one the link names (nights missing from the history shift the count), else the latest
/// earlier night of that commit.
fn place(nights: &[Night]) -> (Vec<Placed<'_>>, Vec<String>) {
    let mut placed = Vec::new();
    let mut notes = Vec::new();
    for (later, night) in nights.iter().enumerate() {
        for link in &night.links {
            let counted = (later.checked_sub(link.nights_back as usize))
                .filter(|j| nights[*j].commit == link.against);
            let earlier =
                counted.or_else(|| (0..later).rev().find(|j| nights[*j].commit == link.against));
            match earlier {
                Some(earlier) => placed.push(Placed {
                    later,
                    earlier,
                    link,
                }),
                None => notes.push(format!(
                    "{}: the link to `{}` ({} nights back) matches no earlier night in the history; left out",
                    night.date,
                    short(&link.against),
                    link.nights_back
                )),
            }
        }
    }
    (placed, notes)
}

/// One key's chain over the history as a trend with one series; `None` when no link has it.
fn trend(
    label: &str,
    nights: &[Night],
    placed: &[Placed],
    key: &Key,
    notes: &mut Vec<String>,
    known_breaks: Option<&BTreeSet<String>>,
) -> Option<Trend> {
    let z = stats::z_for(LINK_CONFIDENCE);
    let mut used: Vec<&Placed> = Vec::new();
    let mut links = Vec::new();
    for p in placed {
        let Some(ratio) = key.ratio(p.link).filter(|r| r.ratio > 0.0) else {
            continue;
        };
        used.push(p);
        links.push(chain::Link {
            later: p.later,
            earlier: p.earlier,
            log_ratio: ratio.ratio.ln(),
            variance: chain::link_variance(ratio.ci_low.zip(ratio.ci_high), z),
        });
    }
    if links.is_empty() {
        return None;
    }
    let solved = chain::solve(nights.len(), &links);
    for flagged in solved.flagged() {
        notes.push(flagged_note(key, nights, used[flagged.link], flagged));
    }
    let mut points = Vec::new();
    for (n, level) in solved.levels.iter().enumerate() {
        let Some(level) = level else { continue };
        let starts_chain = level.starts_segment && level.segment > 0;
        let date = &nights[n].date;
        if starts_chain && known_breaks.is_none_or(|known| !known.contains(date)) {
            notes.push(format!(
                "{}: a new chain starts on {date} (no link to any earlier night): its level is 1 by definition, not measured against the nights before",
                key.name()
            ));
        }
        points.push(point(nights, placed, key, n, level, z));
    }
    Some(Trend {
        category: key.name().to_string(),
        series: vec![Series {
            label: label.to_string(),
            points,
            chained: true,
        }],
    })
}

fn point(
    nights: &[Night],
    placed: &[Placed],
    key: &Key,
    n: usize,
    level: &chain::Level,
    z: f64,
) -> Point {
    let own: Vec<&NightLink> = (placed.iter())
        .filter(|p| p.later == n)
        .map(|p| p.link)
        .collect();
    let mut regressions: BTreeSet<String> = (own.iter())
        .flat_map(|link| &link.tests)
        .filter(|(test, ratio)| key.covers(test) && ratio.verdict == Verdict::Regression)
        .map(|(test, _)| test.clone())
        .collect();
    // A category (or overall) can regress with no single test called: name the category.
    let whole = (own.iter()).any(|link| {
        key.ratio(link)
            .is_some_and(|r| r.verdict == Verdict::Regression)
    });
    if whole && regressions.is_empty() {
        regressions.insert(key.name().to_string());
    }
    let measured: BTreeSet<&String> = (placed.iter())
        .filter(|p| p.later == n || p.earlier == n)
        .flat_map(|p| p.link.tests.keys())
        .filter(|test| key.covers(test))
        .collect();
    let sd = level.sd;
    Point {
        date: nights[n].date.clone(),
        commit: Some(nights[n].commit.clone()),
        value: level.log_level.exp(),
        tests: measured.len(),
        regressions: regressions.into_iter().collect(),
        segment: level.segment,
        starts_chain: level.starts_segment && level.segment > 0,
        interval: (sd > 0.0 && sd.is_finite()).then(|| {
            [
                (level.log_level - z * sd).exp(),
                (level.log_level + z * sd).exp(),
            ]
        }),
    }
}

fn flagged_note(key: &Key, nights: &[Night], p: &Placed, flagged: &chain::Residual) -> String {
    let measured = key.ratio(p.link).map_or(f64::NAN, |r| r.ratio);
    format!(
        "{}: {} against {} ({} nights back) measured {measured:.3}×, the chain of the other links says {:.3}× ({:+.1} σ); left out of the chain",
        key.name(),
        nights[p.later].date,
        nights[p.earlier].date,
        p.link.nights_back,
        measured / flagged.residual.exp(),
        flagged.sigmas
    )
}

fn short(commit: &str) -> String {
    // Characters, not bytes: a history file is input, and may hold anything.
    commit.chars().take(12).collect()
}

/// Reads a nightly history, one night a line. A torn last line (a crash while appending) is
/// skipped; any other line that does not parse is an error naming the file and the line.
pub fn read_nightly_history(path: &Path) -> Result<Vec<Night>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the nightly history {}", path.display()))?;
    let numbered: Vec<(usize, &str)> = (text.lines().enumerate())
        .filter(|(_, line)| !line.trim().is_empty())
        .collect();
    let mut nights = Vec::new();
    for (k, (number, line)) in numbered.iter().enumerate() {
        match serde_json::from_str::<Night>(line) {
            Ok(night) => nights.push(night),
            Err(_) if k + 1 == numbered.len() && !text.ends_with('\n') => {}
            Err(error) => bail!(
                "{}: line {}: not a night of the nightly history ({error}); delete or repair that line (nightly histories are written by `wasmgate nightly`, one JSON night a line)",
                path.display(),
                number + 1
            ),
        }
    }
    Ok(nights)
}

/// The label of a nightly history: `RUNTIME.nightly.history.jsonl` gives the runtime; a file
/// named only `nightly.history.jsonl` takes the runtime from its nights' version line.
pub fn label_of(path: &Path, nights: &[Night]) -> String {
    let label = super::trends::label_of(path);
    let label = label.trim_end_matches(".nightly");
    if !label.is_empty() && label != "nightly" {
        return label.to_string();
    }
    (nights.last())
        .and_then(|n| n.runtime_version.split_whitespace().next())
        .unwrap_or("nightly")
        .to_string()
}

/// Puts the chained trends beside other trends: a category charted by both gets both series.
pub fn merge(into: &mut Vec<Trend>, more: Vec<Trend>) {
    for trend in more {
        match into.iter_mut().find(|t| t.category == trend.category) {
            Some(existing) => {
                for mut series in trend.series {
                    // Tables find a series by its label: two of one runtime must differ.
                    if existing.series.iter().any(|s| s.label == series.label) {
                        series.label = format!("{} (chained)", series.label);
                    }
                    existing.series.push(series);
                }
            }
            None => into.push(trend),
        }
    }
    // Overall stays first, then categories by name.
    into.sort_by(|a, b| {
        (a.category != OVERALL, &a.category).cmp(&(b.category != OVERALL, &b.category))
    });
}

/// Per test, the nights a link called it a regression: what the report charts test by test.
pub fn regressed_tests(tests: &[Trend]) -> Vec<Trend> {
    (tests.iter())
        .filter(|t| {
            (t.series.iter())
                .flat_map(|s| &s.points)
                .any(|p| !p.regressions.is_empty())
        })
        .cloned()
        .collect()
}
