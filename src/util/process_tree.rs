//! A process tree: every process a started command (a sample's runtime, a version or build
//! command) started, found once the runtime exits and
//! ended, so that nothing it leaves behind outlives its sample, holds its output open, or keeps
//! computing on the core the next sample measures on.
//!
//! Two marks find the tree. The process group each sample starts in holds what a shell's
//! `cmd &` starts. An environment variable unique to the sample is inherited by every
//! descendant, so it also finds one that left the group (`setsid`, a double fork, a daemon
//! that closed its output): everything but a process that also cleared its environment, which
//! only a cgroup could hold (see docs/reliability.md).

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The variable that marks a sample's processes; its value is the sample's mark.
pub const MARK_VARIABLE: &str = "WASMGATE_SAMPLE";

/// How often the tree is looked for again while its processes die: a killed process stays
/// visible (running) for a moment before it is gone or a zombie.
const PASSES: usize = 40;
const BETWEEN_PASSES: Duration = Duration::from_millis(5);

/// A mark unique to one sample of this wasmgate process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    value: String,
    /// When the mark was made, in clock ticks since boot (as `/proc/PID/stat` counts a
    /// process's start), less a margin: no process that started before it can carry the mark,
    /// so the sweep reads no older process's environment. `None` where the clock is unknown.
    since: Option<u64>,
}

/// A process of the tree that was still alive after the runtime exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survivor {
    pub pid: i32,
    /// Its command name, as the kernel keeps it (`comm`).
    pub name: String,
}

impl Mark {
    /// A mark no other process of this run carries.
    pub fn unique() -> Mark {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        // Fixed width: every sample's environment has the same size, so the mark cannot
        // shift a runtime's memory layout from one sample to the next.
        Mark {
            value: format!("{:010}-{serial:012}", std::process::id()),
            since: ticks_since_boot().map(|ticks| ticks.saturating_sub(2)),
        }
    }

    /// Starts the command with this mark in its environment.
    pub fn apply(&self, command: &mut Command) {
        command.env(MARK_VARIABLE, &self.value);
    }

    /// Ends every process of the sample still alive (the group `group` and every process with
    /// the mark), and returns the ones it found, each once.
    pub fn end_tree(&self, group: Pid) -> Vec<Survivor> {
        let mut found: BTreeMap<i32, String> = BTreeMap::new();
        for _ in 0..PASSES {
            let Seen { alive, undecided } = self.alive(group);
            if alive.is_empty() && !undecided {
                break;
            }
            let _ = killpg(group, Signal::SIGKILL);
            for survivor in alive {
                let _ = kill(Pid::from_raw(survivor.pid), Signal::SIGKILL);
                found.entry(survivor.pid).or_insert(survivor.name);
            }
            std::thread::sleep(BETWEEN_PASSES);
        }
        found
            .into_iter()
            .map(|(pid, name)| Survivor { pid, name })
            .collect()
    }

    /// The processes of the sample that are alive (zombies are gone but for their exit
    /// status, which their parent or init collects), and whether a process younger than the
    /// mark could not be told yet.
    fn alive(&self, group: Pid) -> Seen {
        let mut seen = Seen::default();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return seen;
        };
        let own = std::process::id() as i32;
        let pids = (entries.flatten())
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| *pid != own);
        for pid in pids {
            let Some(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok() else {
                continue;
            };
            let Some((name, state, pgrp)) = parse_stat(&stat) else {
                continue;
            };
            let younger = match (self.since, start_ticks(&stat)) {
                (Some(since), Some(started)) => started >= since,
                _ => true,
            };
            let marked = match younger && !is_kernel_thread(&stat) {
                true => self.marks(pid),
                false => Some(false),
            };
            seen.undecided |= marked.is_none();
            let member = pgrp == group.as_raw() || marked == Some(true);
            if member && !matches!(state, 'Z' | 'X') {
                seen.alive.push(Survivor { pid, name });
            }
        }
        seen
    }

    /// Whether the process's environment holds this mark (unreadable: another user's).
    /// `None` while it cannot be told: a process in the middle of `execve` shows an empty
    /// environment until its new program's is laid out, and a child of the sample that has
    /// just left its group (`setsid sleep`) is one until then.
    fn marks(&self, pid: i32) -> Option<bool> {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            return Some(false);
        };
        if environ.is_empty() {
            return None;
        }
        let entry = format!("{MARK_VARIABLE}={}", self.value);
        Some(environ.split(|b| *b == 0).any(|e| e == entry.as_bytes()))
    }
}

/// What one look at the processes found.
#[derive(Default)]
struct Seen {
    alive: Vec<Survivor>,
    /// A process younger than the mark had no environment to read yet: look again.
    undecided: bool,
}

/// A kernel thread (its `PF_KTHREAD` flag, the 9th field of its stat): it has no
/// environment, and is never a sample's.
fn is_kernel_thread(stat: &str) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let flags = (stat.rfind(')'))
        .and_then(|close| stat.get(close + 1..))
        .and_then(|fields| fields.split_whitespace().nth(6))
        .and_then(|flags| flags.parse::<u64>().ok());
    flags.is_some_and(|flags| flags & PF_KTHREAD != 0)
}

/// `(comm, state, process group)` from `/proc/PID/stat`; the name is in parentheses and may
/// itself hold spaces and parentheses, so the fields are read after the last `)`.
fn parse_stat(stat: &str) -> Option<(String, char, i32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let mut fields = stat.get(close + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((name, state, group))
}

/// When the process started, in clock ticks since boot: the 22nd field of its stat.
fn start_ticks(stat: &str) -> Option<u64> {
    let close = stat.rfind(')')?;
    // Fields from the 3rd (the state) follow the name.
    stat.get(close + 1..)?
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// Clock ticks since boot now, by `/proc/uptime` and the tick rate.
#[allow(unsafe_code)]
fn ticks_since_boot() -> Option<u64> {
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    let seconds: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    // SAFETY: sysconf reads a configuration value and touches no memory of ours.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then_some((seconds * per_second as f64) as u64)
}

/// "sleep (pid 123), sh (pid 124)", at most a few named.
pub fn describe(survivors: &[Survivor]) -> String {
    const NAMED: usize = 3;
    let mut named: Vec<String> = survivors
        .iter()
        .take(NAMED)
        .map(|s| format!("{} (pid {})", s.name, s.pid))
        .collect();
    if survivors.len() > NAMED {
        named.push(format!("{} more", survivors.len() - NAMED));
    }
    named.join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn kernel_threads_are_told_by_their_flag() {
        // kthreadd's stat, and a shell's: the 9th field holds the flags.
        let kernel = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0";
        let user = "77 (s) (x) S 1 77 77 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0";
        assert!(is_kernel_thread(kernel));
        assert!(!is_kernel_thread(user));
        assert!(!is_kernel_thread("garbage"));
    }

    #[test]
    fn a_process_started_before_the_mark_cannot_carry_it() {
        // The first process started at boot, long before any mark.
        let init = std::fs::read_to_string("/proc/1/stat").unwrap();
        let started = start_ticks(&init).unwrap();
        let mark = Mark::unique();
        let since = mark.since.expect("the clock is known here");
        assert!(started < since, "{started} {since}");
        assert!(since <= ticks_since_boot().unwrap());
        let stat = "4242 (a) b) S 1 4240 4240 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 0";
        assert_eq!(start_ticks(stat), Some(98765));
    }

    #[test]
    fn the_name_may_hold_spaces_and_parentheses() {
        let stat = "4242 (a (b) c) S 1 4240 4240 0 -1 4194560";
        assert_eq!(parse_stat(stat), Some(("a (b) c".into(), 'S', 4240)));
        assert_eq!(parse_stat("4242 garbage"), None);
    }

    /// After `cmd &` in a script: waits until the child runs `sleep` (not the shell or
    /// `setsid` before their exec), with its pid in `$pid`.
    pub(crate) const WAIT_FOR_SLEEP: &str =
        "pid=$!; while [ \"$(cat /proc/$pid/comm 2>/dev/null)\" != sleep ]; do :; done";

    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| parse_stat(&stat))
            .is_some_and(|(_, state, _)| !matches!(state, 'Z' | 'X'))
    }

    /// Starts `script` in its own group with `mark`; returns the pid the script prints, once it
    /// printed it and exited.
    fn left_behind_by(script: &str, mark: &Mark) -> (Pid, i32) {
        let mut command = Command::new("sh");
        command.args(["-c", script]).process_group(0);
        mark.apply(&mut command);
        let child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let group = Pid::from_raw(child.id() as i32);
        let output = child.wait_with_output().unwrap();
        let pid = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap();
        (group, pid)
    }

    #[test]
    fn a_background_child_and_a_detached_one_are_found_and_ended() {
        for leave in [
            "sleep 40 >/dev/null &",
            "setsid sleep 40 >/dev/null 2>&1 < /dev/null &",
        ] {
            let script = format!("{leave} {WAIT_FOR_SLEEP}; echo $pid");
            let script = script.as_str();
            let mark = Mark::unique();
            let (group, pid) = left_behind_by(script, &mark);
            assert!(alive(pid), "{script}: the child runs on");
            let survivors = mark.end_tree(group);
            assert_eq!(survivors.len(), 1, "{script}: {survivors:?}");
            assert_eq!(
                (survivors[0].pid, survivors[0].name.as_str()),
                (pid, "sleep")
            );
            assert!(!alive(pid), "{script}: ended");
            assert_eq!(mark.end_tree(group), Vec::new(), "nothing left");
        }
    }

    #[test]
    fn marks_are_unique_and_of_one_length() {
        let (a, b) = (Mark::unique(), Mark::unique());
        assert_ne!(a, b);
        assert_eq!(a.value.len(), b.value.len());
    }
}
