//! The checks of one measured core that decide whether a worker has it to itself: kernel
//! isolation or, failing that, no other runnable task; no device interrupts; no busy or
//! measured SMT sibling.

use super::observe::{Busy, Observation};
use super::tree::{CpuList, Tree, format_cores};
use super::{ok, unknown, warn};
use crate::model::EnvironmentCheck;

pub const ISOLATION: &str = "isolation";
pub const IRQS: &str = "irqs";
pub const SMT: &str = "smt";

/// The cores the kernel keeps the scheduler's other work off, and where it says so.
#[derive(Debug, Default)]
pub struct Isolation {
    lists: Vec<(&'static str, CpuList)>,
    readable: bool,
}

impl Isolation {
    pub fn read(tree: &Tree) -> Isolation {
        let mut isolation = Isolation::default();
        if let Some(cmdline) = tree.read("/proc/cmdline") {
            isolation.readable = true;
            for word in cmdline.split_whitespace() {
                for key in ["isolcpus", "nohz_full"] {
                    if let Some(list) = word.strip_prefix(key).and_then(|w| w.strip_prefix('=')) {
                        isolation.lists.push((key, CpuList::parse(list)));
                    }
                }
            }
        }
        for (key, file) in [
            ("isolcpus", "/sys/devices/system/cpu/isolated"),
            ("nohz_full", "/sys/devices/system/cpu/nohz_full"),
        ] {
            if let Some(text) = tree.read(file) {
                isolation.readable = true;
                isolation.lists.push((key, CpuList::parse(&text)));
            }
        }
        isolation
    }

    /// How the core is isolated ("isolcpus, nohz_full"), if it is.
    pub fn of(&self, core: usize) -> Option<String> {
        let mut keys: Vec<&str> = (self.lists.iter())
            .filter(|(_, list)| list.contains(core))
            .map(|(key, _)| *key)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        (!keys.is_empty()).then(|| keys.join(", "))
    }
}

/// What the per-core checks look at.
pub struct Core<'a> {
    pub tree: &'a Tree,
    pub core: usize,
    /// Every core the run measures on, this one included.
    pub measured: &'a [usize],
    pub isolation: &'a Isolation,
    pub observation: &'a Observation,
}

impl Core<'_> {
    /// The online cores nothing is measured on: where interrupts and other work should go.
    fn spare(&self) -> Option<String> {
        let online = (self.tree.read("/sys/devices/system/cpu/online"))
            .map(|t| CpuList::parse(&t).cores())
            .unwrap_or_default();
        let spare: Vec<usize> = (online.into_iter())
            .filter(|c| !self.measured.contains(c))
            .collect();
        (!spare.is_empty()).then(|| format_cores(&spare))
    }

    fn busy_text(&self, busy: &Busy) -> String {
        format!(
            "busy: {} (pid {}) runnable in {} of {} samples",
            busy.task.name, busy.task.pid, busy.samples, self.observation.samples
        )
    }
}

pub fn isolation(at: &Core) -> EnvironmentCheck {
    let (core, observation) = (at.core, at.observation);
    let kernel = at.isolation.of(core);
    let fix = format!(
        "isolate it: boot with `isolcpus={core} nohz_full={core} rcu_nocbs={core}` on the kernel command line, and move other work off it"
    );
    if let Some(busy) = observation.busy_on(core) {
        return warn(ISOLATION, Some(core), at.busy_text(busy), fix);
    }
    if let Some(how) = kernel {
        return ok(ISOLATION, Some(core), format!("isolated ({how})"));
    }
    if observation.tasks_readable {
        let quiet = format!(
            "not isolated, idle in {} samples over {} ms",
            observation.samples,
            observation.span.as_millis()
        );
        return ok(ISOLATION, Some(core), quiet);
    }
    let missing = if at.isolation.readable {
        "not isolated; no /proc/[pid]/stat readable to see what runs on it"
    } else {
        "cannot read /proc/cmdline, /sys/devices/system/cpu/isolated nor /proc/[pid]/stat"
    };
    unknown(ISOLATION, Some(core), missing)
}

pub fn irqs(at: &Core) -> EnvironmentCheck {
    let core = at.core;
    let fix = match at.spare() {
        Some(spare) => format!(
            "keep device interrupts off it: boot with `irqaffinity={spare}` (and stop irqbalance), or `echo {spare} > /proc/irq/N/smp_affinity_list` for each IRQ N"
        ),
        None => "every online core is measured: leave one out for device interrupts and boot with `irqaffinity=` that core".to_string(),
    };
    let fired = (at.observation.fired.as_ref()).map(|f| f.get(&core).cloned().unwrap_or_default());
    if let Some(fired) = fired.as_ref().filter(|f| !f.is_empty()) {
        let total: u64 = fired.iter().map(|f| f.count).sum();
        let names: Vec<String> = (fired.iter())
            .map(|f| format!("{} {}", f.irq, f.device).trim().to_string())
            .collect();
        let span = at.observation.span.as_millis();
        let found = format!("IRQ {} fired {total}× in {span} ms", names.join(", "));
        return warn(IRQS, Some(core), found, fix);
    }
    match routed_to(at.tree, core) {
        Some(routed) if !routed.is_empty() => {
            let found = format!("{} IRQs may be routed to it", routed.len());
            warn(IRQS, Some(core), found, fix)
        }
        Some(_) => ok(IRQS, Some(core), "no device IRQ routed to it"),
        None if fired.is_some() => ok(IRQS, Some(core), "no device IRQ fired on it"),
        None => unknown(
            IRQS,
            Some(core),
            "cannot read /proc/interrupts nor /proc/irq/*/smp_affinity_list",
        ),
    }
}

/// The IRQs whose affinity list holds the core; `None` when no list could be read.
fn routed_to(tree: &Tree, core: usize) -> Option<Vec<u64>> {
    let lists: Vec<(u64, CpuList)> = (tree.numbered_entries("/proc/irq").into_iter())
        .filter_map(|irq| {
            let text = tree.read(&format!("/proc/irq/{irq}/smp_affinity_list"))?;
            Some((irq, CpuList::parse(&text)))
        })
        .collect();
    (!lists.is_empty()).then(|| {
        (lists.into_iter())
            .filter(|(_, list)| list.contains(core))
            .map(|(irq, _)| irq)
            .collect()
    })
}

/// Where the kernel lists the hardware threads of a core's physical core.
fn siblings_file(core: usize) -> String {
    format!("/sys/devices/system/cpu/cpu{core}/topology/thread_siblings_list")
}

/// The core's SMT siblings (the other hardware threads of its physical core); `None` when the
/// topology cannot be read.
fn siblings(tree: &Tree, core: usize) -> Option<Vec<usize>> {
    let text = tree.read(&siblings_file(core))?;
    let siblings = (CpuList::parse(&text).cores().into_iter())
        .filter(|&c| c != core)
        .collect();
    Some(siblings)
}

/// The first two of `cores` that are SMT siblings, in the order listed. A core whose topology
/// cannot be read is not known to have a sibling, so it is never taken for one (unless the
/// other core's topology names it).
pub fn sibling_pair(tree: &Tree, cores: &[usize]) -> Option<(usize, usize)> {
    let known: Vec<Vec<usize>> = (cores.iter())
        .map(|&core| siblings(tree, core).unwrap_or_default())
        .collect();
    (0..cores.len()).find_map(|i| {
        let (core, later) = (cores[i], cores.get(i + 1..).unwrap_or_default());
        let j = (later.iter().position(|other| known[i].contains(other)))
            .or_else(|| (i + 1..cores.len()).position(|j| known[j].contains(&core)))?;
        Some((core, later[j]))
    })
}

pub fn smt(at: &Core) -> EnvironmentCheck {
    let core = at.core;
    let Some(siblings) = siblings(at.tree, core) else {
        let file = siblings_file(core);
        return unknown(SMT, Some(core), format!("cannot read {file}"));
    };
    let off = "or turn SMT off: `echo off > /sys/devices/system/cpu/smt/control`";
    let mut idle = Vec::new();
    for &sibling in &siblings {
        if at.measured.contains(&sibling) {
            let others: Vec<String> = (at.measured.iter())
                .filter(|&&c| c != sibling)
                .map(|c| c.to_string())
                .collect();
            let fix = format!(
                "measure on one core of each sibling pair (`--cores {}`), {off}",
                others.join(",")
            );
            return warn(
                SMT,
                Some(core),
                format!("sibling {sibling} measured too"),
                fix,
            );
        }
        if let Some(busy) = at.observation.busy_on(sibling) {
            let found = format!("sibling {sibling} {}", at.busy_text(busy));
            let both = format_cores(&[core, sibling]);
            let fix = format!("isolate the sibling too (`isolcpus={both}`), {off}");
            return warn(SMT, Some(core), found, fix);
        }
        idle.push(sibling);
    }
    sibling_verdict(at, &idle)
}

/// The verdict on siblings neither measured nor busy: fine when isolated or seen idle.
fn sibling_verdict(at: &Core, siblings: &[usize]) -> EnvironmentCheck {
    let core = at.core;
    if siblings.is_empty() {
        return ok(SMT, Some(core), "no SMT sibling");
    }
    let list = format_cores(siblings);
    if siblings.iter().all(|&s| at.isolation.of(s).is_some()) {
        return ok(SMT, Some(core), format!("sibling {list} isolated"));
    }
    if at.observation.tasks_readable {
        return ok(SMT, Some(core), format!("sibling {list} idle"));
    }
    unknown(
        SMT,
        Some(core),
        format!("sibling {list}: no /proc/[pid]/stat readable to see whether it is busy"),
    )
}
