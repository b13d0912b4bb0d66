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
use crate::util::short_commit;
use std::collections::{BTreeMap, BTreeSet};
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

/// A nightly history with its links placed, and what every chain of it needs.
struct History<'a> {
    label: &'a str,
    nights: &'a [Night],
    placed: Vec<Placed<'a>>,
    /// Per test, the nights its regressions are marked on.
    test_marks: BTreeMap<String, BTreeSet<usize>>,
    z: f64,
}

/// The chained trends of a nightly history, labelled (the runtime the history is of).
pub fn chained(label: &str, nights: &[Night]) -> Chained {
    let (placed, mut notes) = place(nights);
    // Said so a reader looking for a step there finds why there is none.
    for pair in nights.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        if (&before.runner, &before.machine) != (&after.runner, &after.machine) {
            notes.push(format!(
                "the runner changed on {} ({} `{}` to {} `{}`): each link is measured on one runner, so the chained levels carry no step for it",
                after.date, before.runner, before.machine, after.runner, after.machine
            ));
        }
    }
    let mut categories = BTreeSet::new();
    let mut tests = BTreeSet::new();
    for p in &placed {
        categories.extend(p.link.categories.keys().cloned());
        tests.extend(p.link.tests.keys().cloned());
    }
    let test_marks = (tests.iter())
        .map(|test| (test.clone(), marks(&placed, &Key::Test(test.clone()))))
        .collect();
    let history = History {
        label,
        nights,
        placed,
        test_marks,
        z: stats::z_for(LINK_CONFIDENCE),
    };
    let mut out = Chained::default();
    out.trends
        .extend(trend(&history, &Key::Overall, &mut notes, &BTreeSet::new()));
    // Every chain breaks where the overall one does (the builds before were lost, say): that
    // is said once, for overall; only a category's or a test's own breaks are news.
    let overall_breaks: BTreeSet<usize> = (out.trends.first())
        .map(|t| t.series.iter().flat_map(|s| &s.points))
        .into_iter()
        .flatten()
        .filter(|p| p.starts_chain)
        .filter_map(|p| nights.iter().position(|n| n.date == p.date))
        .collect();
    for category in categories {
        let key = Key::Category(category);
        out.trends
            .extend(trend(&history, &key, &mut notes, &overall_breaks));
    }
    for test in tests {
        let key = Key::Test(test);
        out.tests
            .extend(trend(&history, &key, &mut notes, &overall_breaks));
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
                .filter(|j| *j < later && nights[*j].commit == link.against);
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
                    short_commit(&link.against),
                    link.nights_back
                )),
            }
        }
    }
    (placed, notes)
}

/// One key's chain over the history as a trend with one series; `None` when no link has it.
/// A break at one of `known_breaks` (nights) is not noted again.
fn trend(
    history: &History,
    key: &Key,
    notes: &mut Vec<String>,
    known_breaks: &BTreeSet<usize>,
) -> Option<Trend> {
    let mut used: Vec<&Placed> = Vec::new();
    let mut links = Vec::new();
    for p in &history.placed {
        let Some(ratio) = key.ratio(p.link).filter(|r| r.ratio > 0.0) else {
            continue;
        };
        used.push(p);
        links.push(chain::Link {
            later: p.later,
            earlier: p.earlier,
            log_ratio: ratio.ratio.ln(),
            variance: chain::link_variance(ratio.ci_low.zip(ratio.ci_high), history.z),
        });
    }
    if links.is_empty() {
        return None;
    }
    let solved = chain::solve(history.nights.len(), &links);
    for flagged in solved.flagged() {
        notes.push(flagged_note(
            key,
            history.nights,
            used[flagged.link],
            flagged,
        ));
    }
    let key_marks = marks(&history.placed, key);
    let mut points = Vec::new();
    for (n, level) in solved.levels.iter().enumerate() {
        let Some(level) = level else { continue };
        if level.starts_segment && level.segment > 0 && !known_breaks.contains(&n) {
            notes.push(format!(
                "{}: a new chain starts on {} (no link to any earlier night): its level is 1 by definition, not measured against the nights before",
                key.name(),
                history.nights[n].date
            ));
        }
        points.push(point(history, key, n, level, &key_marks));
    }
    Some(Trend {
        category: key.name().to_string(),
        series: vec![Series {
            label: history.label.to_string(),
            points,
            chained: true,
        }],
    })
}

fn point(
    history: &History,
    key: &Key,
    n: usize,
    level: &chain::Level,
    key_marks: &BTreeSet<usize>,
) -> Point {
    let mut regressions: Vec<String> = (history.test_marks.iter())
        .filter(|(test, marked)| key.covers(test) && marked.contains(&n))
        .map(|(test, _)| test.clone())
        .collect();
    // A category (or overall) can regress with no single test called: name the category.
    if regressions.is_empty() && key_marks.contains(&n) {
        regressions.push(key.name().to_string());
    }
    let measured: BTreeSet<&String> = (history.placed.iter())
        .filter(|p| p.later == n || p.earlier == n)
        .flat_map(|p| p.link.tests.keys())
        .filter(|test| key.covers(test))
        .collect();
    let (sd, z) = (level.sd, history.z);
    Point {
        date: history.nights[n].date.clone(),
        commit: Some(history.nights[n].commit.clone()),
        value: level.log_level.exp(),
        tests: measured.len(),
        regressions,
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

/// The nights a regression of `key` is marked on. A night is marked when one of its links
/// called a regression that no night marked since the link's earlier night explains: a step
/// shows on the night it happened, not again on each of the following nights whose longer
/// links span it; and a slow drift, which no one-night link calls, is marked where a longer
/// link first calls it.
fn marks(placed: &[Placed], key: &Key) -> BTreeSet<usize> {
    let mut marked = BTreeSet::new();
    // `placed` is in the order of the later night, so every earlier mark is known.
    for p in placed {
        let regression = key
            .ratio(p.link)
            .is_some_and(|r| r.verdict == Verdict::Regression);
        if regression
            && !marked.contains(&p.later)
            && marked.range(p.earlier + 1..p.later).next().is_none()
        {
            marked.insert(p.later);
        }
    }
    marked
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
pub fn merge(into: &mut Vec<Trend>, mut more: Vec<Trend>) {
    // Tables find a series by its label: two of one runtime must differ, in every category
    // alike, so one history keeps one label.
    let taken: BTreeSet<String> = (into.iter())
        .flat_map(|t| t.series.iter().map(|s| s.label.clone()))
        .collect();
    for series in more.iter_mut().flat_map(|t| t.series.iter_mut()) {
        if taken.contains(&series.label) {
            series.label = format!("{} (chained)", series.label);
        }
    }
    for trend in more {
        match into.iter_mut().find(|t| t.category == trend.category) {
            Some(existing) => existing.series.extend(trend.series),
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

/// A month of the differential nightly, simulated, for tests and for a person to look at
/// (`bench/nightly-month.sh`): 30 nights of five tests, `sign` 15 % slower from night 12 on,
/// and the runner replaced by one twice as fast from night 20 on (a new machine fingerprint),
/// which paired links never see. Each link is measured as the nightly does: both builds on
/// tonight's runner, with noise.
#[cfg(test)]
pub(crate) mod simulated {
    use super::*;

    pub const TESTS: [&str; 5] = [
        "sign",
        "hash",
        "generichash",
        "box",
        "aead_chacha20poly1305",
    ];
    pub const NIGHTS: usize = 30;
    pub const STEP_NIGHT: usize = 12;
    pub const STEP: f64 = 1.15;
    pub const NEW_RUNNER_NIGHT: usize = 20;
    /// The noise of one measured time (log scale), and the standard deviation the simulated
    /// intervals claim for a ratio (a little wider than the truth, as rank intervals are).
    const NOISE: f64 = 0.004;
    const CLAIMED_SD: f64 = 0.008;

    pub fn date(night: usize) -> String {
        format!("2026-11-{:02}", night + 1)
    }

    pub fn commit(night: usize) -> String {
        format!("{:07x}", 0x1a2b3c0 + 7919 * night)
    }

    fn truth(test: &str, night: usize) -> f64 {
        let base = 1000.0 * (1 + test.len()) as f64;
        match test == "sign" && night >= STEP_NIGHT {
            true => base * STEP,
            false => base,
        }
    }

    fn normal(rng: &mut fastrand::Rng) -> f64 {
        let u = rng.f64().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos()
    }

    /// A ratio with the interval and the verdict a comparison would give it (2 % minimum effect).
    fn judged(log_ratio: f64, sd: f64) -> LinkRatio {
        let z = stats::z_for(LINK_CONFIDENCE);
        let (ratio, low, high) = (
            log_ratio.exp(),
            (log_ratio - z * sd).exp(),
            (log_ratio + z * sd).exp(),
        );
        let verdict = if low > 1.0 && ratio >= 1.02 {
            Verdict::Regression
        } else if high < 1.0 && ratio <= 1.0 / 1.02 {
            Verdict::Improvement
        } else {
            Verdict::Unchanged
        };
        LinkRatio {
            ratio,
            ci_low: Some(low),
            ci_high: Some(high),
            verdict,
        }
    }

    /// The geometric mean of some tests' ratios, its interval from theirs.
    fn mean_of(log_ratios: &[f64]) -> LinkRatio {
        let k = log_ratios.len() as f64;
        let mean = log_ratios.iter().sum::<f64>() / k;
        judged(mean, CLAIMED_SD * k.sqrt() / k)
    }

    fn link(rng: &mut fastrand::Rng, tonight: usize, earlier: usize) -> NightLink {
        // Tonight's runner measures both builds: its speed is in both times.
        let speed = if tonight >= NEW_RUNNER_NIGHT {
            0.5
        } else {
            1.0
        };
        let mut measure = |build: usize, test: &str| {
            (truth(test, build) * speed).ln() + NOISE * normal(&mut *rng)
        };
        let logs: Vec<(&str, f64)> = (TESTS.iter())
            .map(|test| (*test, measure(tonight, test) - measure(earlier, test)))
            .collect();
        let mut by_category: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for (test, log) in &logs {
            by_category
                .entry(category_of(test).to_string())
                .or_default()
                .push(*log);
        }
        let all: Vec<f64> = logs.iter().map(|(_, l)| *l).collect();
        NightLink {
            against: commit(earlier),
            nights_back: (tonight - earlier) as u32,
            tests: (logs.iter())
                .map(|(test, log)| (test.to_string(), judged(*log, CLAIMED_SD)))
                .collect(),
            categories: (by_category.iter())
                .map(|(category, logs)| (category.clone(), mean_of(logs)))
                .collect(),
            overall: mean_of(&all),
        }
    }

    pub fn month(seed: u64) -> Vec<Night> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..NIGHTS)
            .map(|night| {
                let new_runner = night >= NEW_RUNNER_NIGHT;
                Night {
                    date: date(night),
                    commit: commit(night),
                    runtime_version: "wasmtime 49.0.0-dev".into(),
                    suite_id: "suite".into(),
                    runner: if new_runner { "bench-2" } else { "bench-1" }.into(),
                    machine: if new_runner { "f00d2222" } else { "f00d1111" }.into(),
                    measure: crate::model::Measure::Time,
                    links: (crate::model::nightly::NIGHTS_BACK.iter())
                        .filter_map(|back| night.checked_sub(*back as usize))
                        .map(|earlier| link(&mut rng, night, earlier))
                        .collect(),
                }
            })
            .collect()
    }

    /// The month as a nightly history file's text, one night a line.
    pub fn jsonl(nights: &[Night]) -> String {
        (nights.iter())
            .map(|n| serde_json::to_string(n).unwrap() + "\n")
            .collect()
    }
}

#[cfg(test)]
mod tests;
