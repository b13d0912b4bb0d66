//! Small pieces every stage needs and none owns: hashing, running a command, counting cores,
//! formatting a time. Nothing here knows the configuration or a stage.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

/// sha256 of a file, in hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    // Whole-file reads: modules and tarballs are a few megabytes at most.
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The first 16 hex digits of the sha256 of a text: a short cache key.
pub fn short_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..16].to_string()
}

/// Runs a command and turns a failure into an error carrying the end of its stderr.
pub fn run_checked(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("cannot start {what} ({:?})", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 6)
        );
    }
    Ok(())
}

/// The last `lines` non-empty lines of a text, joined with " | " to stay on one line.
pub fn tail(text: &str, lines: usize) -> String {
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let start = kept.len().saturating_sub(lines);
    kept[start..].join(" | ")
}

/// The cores this process may run on (its affinity mask), in order. Every count of cores in
/// wasmgate is the length of this list, so a process limited by a cpuset or `taskset` never
/// plans more workers or jobs than it has cores.
pub fn allowed_cores() -> Vec<usize> {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

/// How many cores this process may run on (at least 1).
pub fn available_cores() -> usize {
    allowed_cores().len().max(1)
}

/// A time in picoseconds with the unit that keeps it readable, e.g. "1.5 ms".
pub fn format_ps(ps: f64) -> String {
    let units = [(1e12, "s"), (1e9, "ms"), (1e6, "µs"), (1e3, "ns")];
    for (scale, unit) in units {
        if ps >= scale {
            return format!("{:.3} {unit}", ps / scale).replace(".000 ", " ");
        }
    }
    format!("{ps:.0} ps")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_lines_on_one_line() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(tail("", 3), "");
    }

    #[test]
    fn core_counts_agree() {
        assert_eq!(available_cores(), allowed_cores().len());
        assert!(available_cores() >= 1);
    }
}
