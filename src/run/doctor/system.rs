//! The machine-wide checks: address-space randomization, swap, load, a hypervisor, and a run
//! that pins nothing.

use super::tree::{CpuList, Tree};
use super::{ok, unknown, warn};
use crate::model::EnvironmentCheck;

pub const ASLR: &str = "aslr";
pub const SWAP: &str = "swap";
pub const LOAD: &str = "load";
pub const HYPERVISOR: &str = "hypervisor";
pub const PINNING: &str = "pinning";

pub fn checks(tree: &Tree, measured: usize) -> Vec<EnvironmentCheck> {
    vec![
        aslr(tree),
        swap(tree),
        load(tree, measured),
        hypervisor(tree),
    ]
}

/// A run with pinning off: every other check of a core is moot.
pub fn unpinned() -> EnvironmentCheck {
    warn(
        PINNING,
        None,
        "no core pinned",
        "set `run.pin: true` (and `run.cores`) in the configuration, or pass `--cores`",
    )
}

/// Unlike pyperf's advice to note it only, or the habit of turning it off: randomization is
/// wanted here. Each sample is a fresh process, so with ASLR on every sample gets another
/// memory layout and layout luck becomes noise the statistics see, spread over base and head
/// alike; with it off, one layout is frozen into every sample of a side and can bias a whole
/// comparison (Mytkowicz et al., "Producing wrong data without doing anything obviously
/// wrong", 2009). The module's own clock does not remove this: the timed loop runs in the
/// runtime's code and linear memory, whose placement ASLR decides.
fn aslr(tree: &Tree) -> EnvironmentCheck {
    const FILE: &str = "/proc/sys/kernel/randomize_va_space";
    match tree.read(FILE).as_deref() {
        Some("0") => warn(
            ASLR,
            None,
            "off",
            format!("`echo 2 > {FILE}`: with it off one memory layout biases every sample"),
        ),
        Some(level @ ("1" | "2")) => ok(ASLR, None, format!("on ({level})")),
        Some(other) => unknown(ASLR, None, format!("{FILE} holds `{other}`")),
        None => unknown(ASLR, None, format!("cannot read {FILE}")),
    }
}

fn swap(tree: &Tree) -> EnvironmentCheck {
    let meminfo = tree.read("/proc/meminfo").unwrap_or_default();
    let kib = |key: &str| -> Option<u64> {
        let line = meminfo.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let (Some(total), Some(free)) = (kib("SwapTotal:"), kib("SwapFree:")) else {
        return unknown(
            SWAP,
            None,
            "cannot read SwapTotal and SwapFree in /proc/meminfo",
        );
    };
    match total.saturating_sub(free) {
        0 if total == 0 => ok(SWAP, None, "no swap"),
        0 => ok(SWAP, None, "none in use"),
        used => warn(
            SWAP,
            None,
            format!("{} MiB in use", used.div_ceil(1024)),
            "free memory, then `swapoff -a && swapon -a` to bring the swapped pages back",
        ),
    }
}

/// The 1-minute load against the cores left to everything else: at or above them, other work
/// spills onto the measured cores.
fn load(tree: &Tree, measured: usize) -> EnvironmentCheck {
    let load = (tree.read("/proc/loadavg"))
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .filter(|l| l.is_finite());
    let cores = online_cores(tree);
    let (Some(load), Some(cores)) = (load, cores) else {
        return unknown(
            LOAD,
            None,
            "cannot read /proc/loadavg or the number of online cores",
        );
    };
    let spare = cores.saturating_sub(measured).max(1);
    let found = format!("{load:.2} on {cores} cores");
    if load >= spare as f64 {
        let fix = format!(
            "stop or move other work until the 1-minute load is below {spare} (the cores not measured on)"
        );
        return warn(LOAD, None, found, fix);
    }
    ok(LOAD, None, found)
}

fn online_cores(tree: &Tree) -> Option<usize> {
    if let Some(online) = tree.read("/sys/devices/system/cpu/online") {
        return Some(CpuList::parse(&online).len()).filter(|&n| n > 0);
    }
    let cpuinfo = tree.read("/proc/cpuinfo")?;
    let processors = cpuinfo.lines().filter(|l| l.starts_with("processor"));
    Some(processors.count()).filter(|&n| n > 0)
}

fn hypervisor(tree: &Tree) -> EnvironmentCheck {
    let Some(cpuinfo) = tree.read("/proc/cpuinfo") else {
        return unknown(HYPERVISOR, None, "cannot read /proc/cpuinfo");
    };
    let Some(flags) = cpuinfo.lines().find(|l| l.starts_with("flags")) else {
        return unknown(HYPERVISOR, None, "no `flags` line in /proc/cpuinfo");
    };
    if flags.split_whitespace().any(|f| f == "hypervisor") {
        return warn(
            HYPERVISOR,
            None,
            "virtual machine",
            "compare base and head in one run (`--base`/`--head`): a VM's neighbours shift its timings between runs",
        );
    }
    ok(HYPERVISOR, None, "no hypervisor flag")
}
