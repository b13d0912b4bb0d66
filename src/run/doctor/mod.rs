//! The check of a pinned runner (`wasmgate doctor`, and the start of every run): for each
//! measured core, whether a worker has it to itself and at a steady clock, and machine-wide
//! what else disturbs timings. Each check is ok, warn (with its fix) or unknown: what cannot be
//! read (a container without sysfs) is never taken for ok. Everything is read under a root
//! directory, so tests hand it a fake tree.

mod cores;
mod frequency;
pub mod observe;
mod system;
pub mod tree;
pub mod tune;

use crate::model::{CheckStatus, Environment, EnvironmentCheck};
pub use cores::sibling_pair;
pub use observe::Sampling;
use std::path::Path;
use std::time::Duration;
pub use tree::Tree;

/// Where to look and how long to watch.
pub struct Probe {
    pub tree: Tree,
    pub sampling: Sampling,
}

impl Probe {
    /// `wasmgate doctor`: five looks over 200 ms.
    pub fn thorough(root: &Path) -> Probe {
        Probe {
            tree: Tree::new(root),
            sampling: Sampling {
                samples: 5,
                interval: Duration::from_millis(50),
            },
        }
    }

    /// The start of a run: three looks over 100 ms, so a run does not wait on its check.
    pub fn quick() -> Probe {
        Probe {
            tree: Tree::new(Path::new("/")),
            sampling: Sampling {
                samples: 3,
                interval: Duration::from_millis(50),
            },
        }
    }
}

/// Every check, the cores' in their order, then the machine's. No core is a run that pins
/// nothing.
pub fn examine(probe: &Probe, measured: &[usize]) -> Environment {
    let tree = &probe.tree;
    let observation = observe::observe(tree, probe.sampling);
    let isolation = cores::Isolation::read(tree);
    let mut checks = Vec::new();
    if measured.is_empty() {
        checks.push(system::unpinned());
    }
    for &core in measured {
        let at = cores::Core {
            tree,
            core,
            measured,
            isolation: &isolation,
            observation: &observation,
        };
        checks.extend([cores::isolation(&at), cores::irqs(&at), cores::smt(&at)]);
        checks.push(frequency::governor(tree, core));
        checks.push(frequency::range(tree, core));
    }
    checks.push(frequency::turbo(tree));
    checks.extend(system::checks(tree, measured.len()));
    Environment { checks }
}

fn check(name: &str, core: Option<usize>, status: CheckStatus, found: String) -> EnvironmentCheck {
    EnvironmentCheck {
        name: name.to_string(),
        core,
        status,
        found,
        fix: None,
    }
}

fn ok(name: &str, core: Option<usize>, found: impl Into<String>) -> EnvironmentCheck {
    check(name, core, CheckStatus::Ok, found.into())
}

fn warn(
    name: &str,
    core: Option<usize>,
    found: impl Into<String>,
    fix: impl Into<String>,
) -> EnvironmentCheck {
    EnvironmentCheck {
        fix: Some(fix.into()),
        ..check(name, core, CheckStatus::Warn, found.into())
    }
}

fn unknown(name: &str, core: Option<usize>, found: impl Into<String>) -> EnvironmentCheck {
    check(name, core, CheckStatus::Unknown, found.into())
}

/// One check as a row of `wasmgate doctor`: verdict, check, core, what was found, the fix.
pub fn row(check: &EnvironmentCheck) -> String {
    let core = check
        .core
        .map(|c| format!("core {c}"))
        .unwrap_or("-".into());
    let fix = check.fix.as_ref().map(|f| format!("  fix: {f}"));
    format!(
        "{:<7}  {:<10}  {:<7}  {}{}",
        check.status.word(),
        check.name,
        core,
        check.found,
        fix.unwrap_or_default()
    )
}

/// One check in a sentence: "governor on core 1: powersave; fix: ...".
pub fn sentence(check: &EnvironmentCheck) -> String {
    let core = check
        .core
        .map(|c| format!(" on core {c}"))
        .unwrap_or_default();
    let fix = check.fix.as_ref().map(|f| format!("; fix: {f}"));
    let (name, found) = (&check.name, &check.found);
    format!("{name}{core}: {found}{}", fix.unwrap_or_default())
}

/// How many checks came out each way, e.g. "8 ok, 3 warn, 2 unknown".
pub fn tally(environment: &Environment) -> String {
    [CheckStatus::Ok, CheckStatus::Warn, CheckStatus::Unknown]
        .map(|s| format!("{} {}", environment.with_status(s).count(), s.word()))
        .join(", ")
}

/// The report footer's line on how the runner was set up.
pub fn footer(environment: &Environment) -> String {
    let short = |c: &EnvironmentCheck| {
        let core = c.core.map(|c| format!(" on core {c}")).unwrap_or_default();
        format!("{} {}{core}", c.name, c.found)
    };
    let warned: Vec<String> = environment
        .with_status(CheckStatus::Warn)
        .map(short)
        .collect();
    let unknown: Vec<&str> = (environment.with_status(CheckStatus::Unknown))
        .map(|c| c.name.as_str())
        .collect();
    let details = "`wasmgate doctor` for details";
    match (warned.len(), unknown.len()) {
        (0, 0) => "runner checked: all ok".to_string(),
        (0, n) => format!(
            "runner: no check warns, {n} unknown ({}); {details}",
            dedup(unknown).join(", ")
        ),
        (1, _) => format!("runner: 1 check warns ({}); {details}", warned[0]),
        (n, _) => format!("runner: {n} checks warn ({}); {details}", warned.join(", ")),
    }
}

fn dedup(mut names: Vec<&str>) -> Vec<&str> {
    let mut seen = std::collections::BTreeSet::new();
    names.retain(|n| seen.insert(*n));
    names
}

/// The settings (not the momentary observations: load, busy cores, interrupts, swap) whose
/// verdict differs between two runners, e.g. "governor warn (powersave on core 1) vs ok
/// (performance on core 2)". Cores may differ, so each setting is judged by its worst core.
pub fn setting_differences(base: &Environment, head: &Environment) -> Vec<String> {
    const SETTINGS: [&str; 7] = [
        frequency::GOVERNOR,
        frequency::FREQUENCY,
        frequency::TURBO,
        cores::SMT,
        system::ASLR,
        system::HYPERVISOR,
        system::PINNING,
    ];
    let worst = |environment: &Environment, name: &str| {
        (environment.checks.iter())
            .filter(|c| c.name == name)
            .max_by_key(|c| (c.status == CheckStatus::Warn, c.status))
            .cloned()
    };
    // What one side could not read is not known to differ.
    let known = |c: &EnvironmentCheck| c.status != CheckStatus::Unknown;
    let told = |c: &EnvironmentCheck| {
        let core = c.core.map(|c| format!(" on core {c}")).unwrap_or_default();
        format!("{} ({}{core})", c.status.word(), c.found)
    };
    (SETTINGS.iter())
        .filter_map(|&name| match (worst(base, name), worst(head, name)) {
            (Some(b), Some(h)) if known(&b) && known(&h) && b.status != h.status => {
                Some(format!("{name} {} vs {}", told(&b), told(&h)))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
