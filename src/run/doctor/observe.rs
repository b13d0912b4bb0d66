//! What the doctor sees over a short while rather than in one read: other tasks runnable on a
//! core (`/proc/[pid]/stat`, state R and field 39 `processor`) in each of a few samples, and
//! device interrupts that fire on it between the first and the last sample.

use super::tree::Tree;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long and how often to look; tests sample without sleeping.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    pub samples: usize,
    pub interval: Duration,
}

impl Sampling {
    /// The span between the first and the last sample.
    pub fn span(&self) -> Duration {
        self.interval * (self.samples.saturating_sub(1) as u32)
    }
}

/// A task seen runnable on a core, for the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub pid: u64,
    pub name: String,
}

/// A core other tasks were runnable on: in how many samples, and one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Busy {
    pub samples: usize,
    pub task: Task,
}

/// A device interrupt that fired on a core while the doctor looked.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub irq: String,
    pub device: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub samples: usize,
    pub span: Duration,
    /// Whether any `/proc/[pid]/stat` could be read: without it, a quiet core proves nothing.
    pub tasks_readable: bool,
    pub busy: BTreeMap<usize, Busy>,
    /// `None` when `/proc/interrupts` could not be read twice.
    pub fired: Option<BTreeMap<usize, Vec<Fired>>>,
}

impl Observation {
    /// The core had other runnable tasks in most samples: one sighting may be a kernel
    /// thread passing through, most of them is work that will compete with a worker.
    pub fn busy_on(&self, core: usize) -> Option<&Busy> {
        self.busy
            .get(&core)
            .filter(|b| b.samples * 2 > self.samples)
    }
}

/// Looks at the tree `sampling.samples` times, `sampling.interval` apart; this process and
/// its threads are left out.
pub fn observe(tree: &Tree, sampling: Sampling) -> Observation {
    let before = tree
        .read("/proc/interrupts")
        .and_then(|t| Interrupts::parse(&t));
    let mut observation = Observation {
        samples: sampling.samples.max(1),
        span: sampling.span(),
        ..Observation::default()
    };
    for sample in 0..observation.samples {
        if sample > 0 {
            std::thread::sleep(sampling.interval);
        }
        let (readable, runnable) = runnable_tasks(tree);
        observation.tasks_readable |= readable;
        for (core, task) in runnable {
            let busy = observation
                .busy
                .entry(core)
                .or_insert(Busy { samples: 0, task });
            busy.samples += 1;
        }
    }
    let after = tree
        .read("/proc/interrupts")
        .and_then(|t| Interrupts::parse(&t));
    observation.fired = before.zip(after).map(|(b, a)| b.fired_since(&a));
    observation
}

/// One runnable task per core (the first seen), and whether any task's stat was readable.
fn runnable_tasks(tree: &Tree) -> (bool, BTreeMap<usize, Task>) {
    let own = u64::from(std::process::id());
    let mut readable = false;
    let mut runnable = BTreeMap::new();
    for pid in tree
        .numbered_entries("/proc")
        .into_iter()
        .filter(|&p| p != own)
    {
        // A process's threads run on cores of their own; its stat shows the main thread only.
        let threads = tree.numbered_entries(&format!("/proc/{pid}/task"));
        let stats: Vec<String> = if threads.is_empty() {
            vec![format!("/proc/{pid}/stat")]
        } else {
            (threads
                .iter()
                .map(|tid| format!("/proc/{pid}/task/{tid}/stat")))
            .collect()
        };
        for stat in stats.iter().filter_map(|file| tree.read(file)) {
            readable = true;
            if let Some((core, name)) = parse_runnable(&stat) {
                runnable.entry(core).or_insert(Task { pid, name });
            }
        }
    }
    (readable, runnable)
}

/// `(processor, comm)` of a stat line in state R. The name is in parentheses and may hold
/// spaces and parentheses itself, so the fields are counted from the last ')'.
fn parse_runnable(stat: &str) -> Option<(usize, String)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // Field 3 (state) is the first after the name, so field N is at N - 3.
    let (state, processor) = (fields.first()?, fields.get(39 - 3)?);
    (*state == "R").then_some(())?;
    Some((processor.parse().ok()?, name))
}

/// Per-CPU counts of the device interrupts (numbered lines) of `/proc/interrupts`; the
/// architecture's own lines (LOC, RES, ...) tick on every busy core and cannot be routed away.
struct Interrupts {
    cpus: Vec<usize>,
    lines: BTreeMap<String, (Vec<u64>, String)>,
}

impl Interrupts {
    fn parse(text: &str) -> Option<Interrupts> {
        let mut lines = text.lines();
        let cpus: Vec<usize> = (lines.next()?.split_whitespace())
            .filter_map(|c| c.strip_prefix("CPU")?.parse().ok())
            .collect();
        let mut counts = BTreeMap::new();
        for line in lines {
            let Some((irq, rest)) = line.trim().split_once(':') else {
                continue;
            };
            if irq.parse::<u64>().is_err() {
                continue;
            }
            let words: Vec<&str> = rest.split_whitespace().collect();
            let per_cpu: Vec<u64> = (words.iter().take(cpus.len()))
                .map_while(|w| w.parse().ok())
                .collect();
            let device = (words.get(cpus.len()..)).and_then(|rest| rest.last());
            counts.insert(
                irq.to_string(),
                (per_cpu, device.unwrap_or(&"").to_string()),
            );
        }
        Some(Interrupts {
            cpus,
            lines: counts,
        })
    }

    /// Per core, the device interrupts whose count on it grew from `self` to `later`.
    fn fired_since(&self, later: &Interrupts) -> BTreeMap<usize, Vec<Fired>> {
        let mut fired: BTreeMap<usize, Vec<Fired>> = BTreeMap::new();
        for (irq, (after, device)) in &later.lines {
            let before = self
                .lines
                .get(irq)
                .map(|(c, _)| c.as_slice())
                .unwrap_or(&[]);
            for (column, &count) in after.iter().enumerate() {
                let grown = count.saturating_sub(before.get(column).copied().unwrap_or(0));
                if let (true, Some(&core)) = (grown > 0, later.cpus.get(column)) {
                    fired.entry(core).or_default().push(Fired {
                        irq: irq.clone(),
                        device: device.clone(),
                        count: grown,
                    });
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_core_when_runnable() {
        let mut fields = vec!["0"; 50];
        fields[0] = "R";
        fields[36] = "3";
        let line = format!("42 (my (odd) task) {}", fields.join(" "));
        assert_eq!(parse_runnable(&line), Some((3, "my (odd) task".into())));
        assert_eq!(parse_runnable(&line.replace(") R ", ") S ")), None);
        assert_eq!(parse_runnable("42 (short) R 1 2"), None);
        assert_eq!(parse_runnable("garbage"), None);
    }

    #[test]
    fn interrupts_that_grew_are_told_per_core() {
        let before = "  CPU0 CPU1\n 24: 1 0 IO-APIC 5-edge ACPI\n 26: 0 13 IO-APIC 4-edge ttyS0\nLOC: 5 5 Local\n";
        let after = "  CPU0 CPU1\n 24: 1 0 IO-APIC 5-edge ACPI\n 26: 0 20 IO-APIC 4-edge ttyS0\nLOC: 9 9 Local\n";
        let (before, after) = (
            Interrupts::parse(before).unwrap(),
            Interrupts::parse(after).unwrap(),
        );
        let fired = before.fired_since(&after);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(
            fired[&1],
            vec![Fired {
                irq: "26".into(),
                device: "ttyS0".into(),
                count: 7
            }]
        );
    }
}
