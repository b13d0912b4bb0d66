//! The machine's fingerprint: what makes timings from two runs comparable.

use crate::model::Machine;

pub fn fingerprint(pinned_cores: Vec<usize>) -> Machine {
    let cpu_model = read_cpu_model().unwrap_or_else(|| "unknown".to_string());
    let logical_cores = crate::util::available_cores();
    let arch = std::env::consts::ARCH.to_string();
    let os = read_os().unwrap_or_else(|| std::env::consts::OS.to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    // The kernel is recorded but left out of the fingerprint: a security update should not
    // make a runner's baseline foreign.
    let fingerprint = crate::util::short_hash(&format!("{cpu_model}|{logical_cores}|{arch}|{os}"));
    Machine {
        cpu_model,
        logical_cores,
        arch,
        os,
        kernel,
        pinned_cores,
        fingerprint,
        environment: None,
    }
}

fn read_cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn read_os() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
}
