//! The evidence with each changed test: after the verdict, base and head profiled on the
//! pinned core (`run::profile`), and per function what it carried of the change. A function's
//! time per iteration on a side is its share of that side's profile times the side's median
//! time per iteration; the difference of the two is its part of the test's change.

use crate::build::Suite;
use crate::config::{EvidenceConfig, Loaded};
use crate::model::evidence::{Evidence, FunctionChange, Profile, TestEvidence};
use crate::model::{Comparison, TestComparison, Verdict};
use crate::run::adapter::RuntimeRequest;
use crate::run::profile::{Profiler, profile};
use crate::run::runtime::Runtime;
use crate::toolchain::Home;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// The most functions kept in a test's evidence.
const KEPT_FUNCTIONS: usize = 30;

/// What the evidence runs: the two sides' runtimes as the run resolved them, and where.
struct Sides<'a> {
    base: &'a RuntimeRequest,
    head: &'a RuntimeRequest,
    /// The core each profiled run is pinned to (the run's first).
    core: Option<usize>,
}

/// Attaches evidence to `comparison`, judged from `results`: its `base` and `head` runtimes
/// profiled on the core the run measured on, where the verdict was decided.
pub fn attach_after_run(
    loaded: &Loaded,
    comparison: &mut Comparison,
    (base, head): (&RuntimeRequest, &RuntimeRequest),
    results: &crate::model::Results,
) -> Result<()> {
    let core = results.samples.iter().find_map(|s| s.core);
    attach(loaded, comparison, &Sides { base, head, core })
}

/// Attaches evidence to the most changed tests of `comparison` (at most `max_tests`, the
/// largest changes first); every other changed test gets a line saying why it has none.
/// Under a measure other than time nothing is attached.
fn attach(loaded: &Loaded, comparison: &mut Comparison, sides: &Sides) -> Result<()> {
    let settings = &loaded.config.compare.evidence;
    if !settings.enabled || !comparison.measure.is_time() {
        return Ok(());
    }
    let chosen = most_changed(&comparison.tests, settings.max_tests);
    if chosen.is_empty() {
        return Ok(());
    }
    let prepared = match prepare(loaded, sides) {
        Ok(prepared) => prepared,
        Err(why) => {
            for row in comparison.tests.iter_mut().filter(|r| changed(r)) {
                row.evidence = Some(TestEvidence::Unavailable(format!("{why:#}")));
            }
            eprintln!("wasmgate: no evidence: {why:#}");
            return Ok(());
        }
    };
    for row in comparison.tests.iter_mut().filter(|r| changed(r)) {
        row.evidence = Some(match chosen.contains(&row.test) {
            true => evidence_of(&prepared, row, settings, sides.core),
            false => TestEvidence::Unavailable(format!(
                "not profiled: only the {} most changed tests are (`compare.evidence.max_tests`)",
                settings.max_tests
            )),
        });
    }
    Ok(())
}

/// Everything a profile needs, made once for all tests.
struct Prepared {
    profiler: Profiler,
    home: Home,
    inputs: crate::build::Inputs,
    suite: Suite,
    base: Runtime,
    head: Runtime,
}

fn prepare(loaded: &Loaded, sides: &Sides) -> Result<Prepared> {
    let profiler = Profiler::find()?;
    let home = Home::resolve(&loaded.config)?;
    let inputs = crate::build::prepare(&loaded.config, &home)?;
    let (suite, _) = crate::build::build_configured_from(&loaded.config, &home, &inputs)?;
    let resolve = |request: &RuntimeRequest| crate::run::adapter::resolve(loaded, &home, request);
    Ok(Prepared {
        base: resolve(sides.base)?,
        head: resolve(sides.head)?,
        profiler,
        home,
        inputs,
        suite,
    })
}

/// Whether the comparison called the test changed.
fn changed(row: &TestComparison) -> bool {
    matches!(row.verdict, Verdict::Regression | Verdict::Improvement)
}

/// The changed tests with the largest changes (by |log ratio|), at most `max`.
fn most_changed(rows: &[TestComparison], max: usize) -> BTreeSet<String> {
    let mut changed: Vec<(&TestComparison, f64)> = (rows.iter())
        .filter(|r| changed(r))
        .filter_map(|r| Some((r, r.ratio?.ln().abs())))
        .collect();
    changed.sort_by(|a, b| b.1.total_cmp(&a.1));
    changed
        .iter()
        .take(max)
        .map(|(r, _)| r.test.clone())
        .collect()
}

/// One test's evidence, or why there is none.
fn evidence_of(
    prepared: &Prepared,
    row: &TestComparison,
    settings: &EvidenceConfig,
    core: Option<usize>,
) -> TestEvidence {
    match profile_both(prepared, row, settings, core) {
        Ok(evidence) => TestEvidence::Profiled(Box::new(evidence)),
        Err(why) => TestEvidence::Unavailable(crate::util::bounded(&format!("{why:#}"), 400)),
    }
}

fn profile_both(
    prepared: &Prepared,
    row: &TestComparison,
    settings: &EvidenceConfig,
    core: Option<usize>,
) -> Result<Evidence> {
    let Prepared {
        profiler,
        home,
        inputs,
        suite,
        ..
    } = prepared;
    let test = (suite.manifest.test(&row.test))
        .ok_or_else(|| anyhow::anyhow!("no test `{}` in the suite", row.test))?;
    let names = crate::build::names::function_names(inputs, home, suite, test)?;
    let (Some(base_ps), Some(head_ps)) = (row.base_median_ps, row.head_median_ps) else {
        anyhow::bail!("a side has no median time to share out");
    };
    let mut sides = Vec::new();
    for runtime in [&prepared.base, &prepared.head] {
        let mut runtime = runtime.clone();
        runtime.prepare_aot(home, suite, std::slice::from_ref(test));
        let at = (core, settings.seconds);
        sides.push(profile(profiler, (suite, test), &runtime, &names, at)?);
    }
    let head = sides.pop().unwrap_or_default();
    let base = sides.pop().unwrap_or_default();
    Ok(Evidence {
        event: profiler.recorded.clone(),
        functions: difference(&base, &head, (base_ps, head_ps)),
        base,
        head,
    })
}

/// Per function, what it carried of the change from `base` to `head`, whose times per
/// iteration are `times`: the functions that carried most of it first (in the change's
/// direction), at most `KEPT_FUNCTIONS`.
pub fn difference(base: &Profile, head: &Profile, times: (f64, f64)) -> Vec<FunctionChange> {
    let (base_time, head_time) = times;
    let (base_self, base_total) = shares(base);
    let (head_self, head_total) = shares(head);
    let change = head_time - base_time;
    let functions: BTreeSet<&String> = base_total.keys().chain(head_total.keys()).collect();
    let share = |map: &BTreeMap<String, f64>, f: &str| map.get(f).copied().unwrap_or(0.0);
    let mut rows: Vec<FunctionChange> = (functions.into_iter())
        .map(|f| {
            let (b, h) = (share(&base_self, f), share(&head_self, f));
            let moved = h * head_time - b * base_time;
            FunctionChange {
                function: f.clone(),
                base_self: b,
                head_self: h,
                base_total: share(&base_total, f),
                head_total: share(&head_total, f),
                change_of_base: moved / base_time,
                part_of_change: if change == 0.0 { 0.0 } else { moved / change },
            }
        })
        .collect();
    rows.sort_by(|a, b| b.part_of_change.total_cmp(&a.part_of_change));
    rows.truncate(KEPT_FUNCTIONS);
    rows
}

/// Each function's share of a profile's samples: on top of the stack (self), and anywhere
/// in it (with its callees; a recursive function counted once a sample).
fn shares(profile: &Profile) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let mut top: BTreeMap<String, f64> = BTreeMap::new();
    let mut anywhere: BTreeMap<String, f64> = BTreeMap::new();
    let total = profile.samples.max(1) as f64;
    for (stack, &count) in &profile.stacks {
        let frames: Vec<&str> = stack.split(';').collect();
        if let Some(last) = frames.last() {
            *top.entry(last.to_string()).or_default() += count as f64 / total;
        }
        let distinct: BTreeSet<&str> = frames.into_iter().collect();
        for frame in distinct {
            *anywhere.entry(frame.to_string()).or_default() += count as f64 / total;
        }
    }
    (top, anywhere)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(stacks: &[(&str, u64)]) -> Profile {
        Profile {
            runtime: "side".into(),
            samples: stacks.iter().map(|(_, n)| n).sum(),
            stacks: stacks.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn the_function_that_got_slower_carries_the_change() {
        // Base: 100 ns an iteration, half in mul, half in add. Head: 120 ns, mul grew by
        // 20 ns (70 of 120), add unchanged (50 of 120).
        let base = profile(&[("main;mul", 50), ("main;add", 50)]);
        let head = profile(&[("main;mul", 70), ("main;add", 50)]);
        let rows = difference(&base, &head, (100.0, 120.0));
        assert_eq!(rows[0].function, "mul");
        assert!((rows[0].change_of_base - 0.20).abs() < 1e-9, "{rows:?}");
        assert!((rows[0].part_of_change - 1.0).abs() < 1e-9, "{rows:?}");
        let add = rows.iter().find(|r| r.function == "add").unwrap();
        assert!(add.part_of_change.abs() < 1e-9, "{rows:?}");
        let main = rows.iter().find(|r| r.function == "main").unwrap();
        assert_eq!((main.base_self, main.base_total), (0.0, 1.0));
    }

    #[test]
    fn the_parts_of_the_change_add_up_to_it() {
        let base = profile(&[("a", 10), ("a;b", 30), ("c", 60)]);
        let head = profile(&[("a", 5), ("a;b", 50), ("c", 45)]);
        let rows = difference(&base, &head, (1000.0, 1070.0));
        let parts: f64 = rows.iter().map(|r| r.part_of_change).sum();
        assert!((parts - 1.0).abs() < 1e-9, "{rows:?}");
        // Sorted by what each carried, the most first.
        assert_eq!(rows[0].function, "b");
    }
}
