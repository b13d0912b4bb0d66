//! The clock of a measured core: the governor, a fixed frequency, turbo or boost. A core that
//! speeds up and slows down with load and temperature times the same code differently.

use super::tree::Tree;
use super::{ok, unknown, warn};
use crate::model::EnvironmentCheck;

pub const GOVERNOR: &str = "governor";
pub const FREQUENCY: &str = "frequency";
pub const TURBO: &str = "turbo";

pub const NO_TURBO: &str = "/sys/devices/system/cpu/intel_pstate/no_turbo";
pub const BOOST: &str = "/sys/devices/system/cpu/cpufreq/boost";
const TUNE: &str = "(or `wasmgate doctor --tune`)";

pub fn governor_file(core: usize) -> String {
    format!("/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_governor")
}

pub fn min_file(core: usize) -> String {
    format!("/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_min_freq")
}

pub fn max_file(core: usize) -> String {
    format!("/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_max_freq")
}

pub fn governor(tree: &Tree, core: usize) -> EnvironmentCheck {
    let file = governor_file(core);
    match tree.read(&file) {
        Some(governor) if governor == "performance" => ok(GOVERNOR, Some(core), governor),
        Some(governor) => warn(
            GOVERNOR,
            Some(core),
            governor,
            format!("`echo performance > {file}` {TUNE}"),
        ),
        None => unknown(GOVERNOR, Some(core), format!("cannot read {file}")),
    }
}

/// The core's frequency range, fixed when the lowest allowed is the highest.
pub fn range(tree: &Tree, core: usize) -> EnvironmentCheck {
    let khz = |file: &str| tree.read(file)?.parse::<u64>().ok();
    let (low, high) = (min_file(core), max_file(core));
    match (khz(&low), khz(&high)) {
        (Some(min), Some(max)) if min >= max => {
            ok(FREQUENCY, Some(core), format!("fixed at {}", ghz(max)))
        }
        (Some(min), Some(max)) => warn(
            FREQUENCY,
            Some(core),
            format!("{}–{}", ghz(min), ghz(max)),
            format!("`echo {max} > {low}` {TUNE}"),
        ),
        _ => unknown(
            FREQUENCY,
            Some(core),
            format!("cannot read {low} and scaling_max_freq as kHz"),
        ),
    }
}

fn ghz(khz: u64) -> String {
    format!("{:.2} GHz", khz as f64 / 1e6)
}

/// Turbo (intel_pstate) or boost (acpi-cpufreq, amd-pstate): machine-wide switches.
pub fn turbo(tree: &Tree) -> EnvironmentCheck {
    if let Some(value) = tree.read(NO_TURBO) {
        return switch(&value, NO_TURBO, "1", "0");
    }
    if let Some(value) = tree.read(BOOST) {
        return switch(&value, BOOST, "0", "1");
    }
    unknown(TURBO, None, format!("cannot read {NO_TURBO} nor {BOOST}"))
}

/// The verdict on one switch file whose `off` value turns turbo off.
fn switch(value: &str, file: &str, off: &str, on: &str) -> EnvironmentCheck {
    let name = file.rsplit('/').next().unwrap_or(file);
    if value == off {
        ok(TURBO, None, format!("off ({name} = {value})"))
    } else if value == on {
        let fix = format!("`echo {off} > {file}` {TUNE}");
        warn(TURBO, None, format!("on ({name} = {value})"), fix)
    } else {
        unknown(
            TURBO,
            None,
            format!("{file} holds `{value}`, not {off} or {on}"),
        )
    }
}
