//! The files the doctor reads and writes, under a root directory: "/" on a runner, a fake tree
//! in a temporary directory in tests. Paths are spelled as on the machine ("/proc/cmdline"), so
//! what the doctor reports never names the fake root.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Tree {
    root: PathBuf,
}

impl Tree {
    pub fn new(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
        }
    }

    /// Whether this is the machine's own tree (writing to it needs root).
    pub fn is_system(&self) -> bool {
        self.root == Path::new("/")
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.root.join(file.trim_start_matches('/'))
    }

    /// The file's text, trimmed; `None` when it cannot be read (no sysfs, no permission).
    pub fn read(&self, file: &str) -> Option<String> {
        std::fs::read_to_string(self.path(file))
            .ok()
            .map(|text| text.trim().to_string())
    }

    pub fn exists(&self, file: &str) -> bool {
        self.path(file).is_file()
    }

    /// The names of a directory's entries that are numbers (pids, IRQs), in order.
    pub fn numbered_entries(&self, dir: &str) -> Vec<u64> {
        let Ok(entries) = std::fs::read_dir(self.path(dir)) else {
            return Vec::new();
        };
        let mut numbers: Vec<u64> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        numbers.sort_unstable();
        numbers
    }

    pub fn write(&self, file: &str, value: &str) -> Result<()> {
        std::fs::write(self.path(file), format!("{value}\n")).with_context(|| {
            format!("{file}: cannot write `{value}`; run as root, or check the file exists")
        })
    }
}

/// A kernel CPU list ("0-3,8,10-11"), kept as ranges so a huge range costs nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuList(Vec<(usize, usize)>);

/// No machine has more cores than this; a list naming more is misread, not enumerated.
const MAX_CORES: usize = 65_536;

impl CpuList {
    /// Reads what can be read: items that are not a core or a range of cores (the flags of
    /// `isolcpus=domain,managed_irq,2-3`, "(null)" in an empty nohz_full) are skipped.
    pub fn parse(text: &str) -> CpuList {
        let range = |item: &str| -> Option<(usize, usize)> {
            let (first, last) = item.split_once('-').unwrap_or((item, item));
            let (first, last) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
            (first <= last && last < MAX_CORES).then_some((first, last))
        };
        CpuList(text.trim().split(',').filter_map(range).collect())
    }

    pub fn contains(&self, core: usize) -> bool {
        self.0
            .iter()
            .any(|&(first, last)| first <= core && core <= last)
    }

    pub fn cores(&self) -> Vec<usize> {
        let mut cores: Vec<usize> = self.0.iter().flat_map(|&(a, b)| a..=b).collect();
        cores.sort_unstable();
        cores.dedup();
        cores
    }

    pub fn len(&self) -> usize {
        self.cores().len()
    }

    pub fn is_empty(&self) -> bool {
        self.cores().is_empty()
    }
}

/// Cores as the kernel writes them, e.g. "0,2-3"; for fixes to paste.
pub fn format_cores(cores: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut sorted = cores.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_read_ranges_and_skip_flags() {
        let list = CpuList::parse("domain,managed_irq,2-3,8\n");
        assert_eq!(list.cores(), vec![2, 3, 8]);
        assert!(list.contains(3) && !list.contains(4));
        assert_eq!(CpuList::parse("(null)").cores(), Vec::<usize>::new());
        assert_eq!(CpuList::parse("0-99999999999").cores(), Vec::<usize>::new());
        assert_eq!(CpuList::parse("5-2").cores(), Vec::<usize>::new());
        assert_eq!(format_cores(&[3, 0, 2, 7]), "0,2-3,7");
    }
}
