//! Runs one module once: pinned to a core, with a timeout, its output parsed into a sample,
//! with what the kernel accounted to the process (CPU time, time spent waiting for its core,
//! preemptions), from which `flag_disturbance` tells a sample another process slowed.

use crate::config::DisturbanceConfig;
use crate::model::SampleStatus;
use crate::util::process_tree::{self, Mark};
use crate::util::tail;

use nix::sys::wait::{Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::io::Read;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What one process run gave.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessOutcome {
    pub status: SampleStatus,
    pub value_ps: Option<u64>,
    pub wall_ms: f64,
    pub exit_code: Option<i32>,
    pub message: Option<String>,
    pub usage: Usage,
    /// Instructions per iteration, when they were counted (`value_ps` is then `None`).
    pub instructions: Option<f64>,
}

/// What the kernel accounted to a sample's process; `None` where it did not tell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// User plus system CPU time of the process (its threads and reaped children).
    pub cpu_ms: Option<f64>,
    /// Time its main thread was runnable but another task had the core: the wait a busy core
    /// adds, which the module's own clock counts as work.
    pub run_delay_ms: Option<f64>,
    /// Involuntary context switches of the process: the kernel took the core away.
    pub preemptions: Option<u64>,
}

/// How long to wait between checks for an interrupt while a process runs.
const POLL: Duration = Duration::from_millis(100);
/// Without a pidfd to wake on (a kernel before 5.3), how often to look whether the process
/// exited: short, since the time until it is seen counts in the sample's wall time.
const POLL_WITHOUT_PIDFD: Duration = Duration::from_millis(2);

/// How waiting for a process ended.
enum Waited {
    Exited,
    TimedOut,
    /// `stop` was raised or the budget ran out.
    Abandoned,
}

/// Runs the command to completion. Returns `None` when `stop` was raised meanwhile or the
/// run's budget ran out (`abandon_at`): the process is killed and its partial run is not a
/// sample.
pub fn run_once(
    command: Result<Command, String>,
    core: Option<usize>,
    timeout: Duration,
    abandon_at: Option<Instant>,
    stop: &AtomicBool,
) -> Option<ProcessOutcome> {
    run_judged(command, core, timeout, abandon_at, stop, &judge)
}

/// How a process that exited becomes a sample: from its exit status, its standard output and
/// error, and its wall time in milliseconds.
pub type Judge<'a> = &'a dyn Fn(ExitStatus, &str, &str, f64) -> ProcessOutcome;

/// As `run_once`, with the exited process judged by `judge` (a compile step prints no number:
/// its product is what it made).
pub fn run_judged(
    command: Result<Command, String>,
    core: Option<usize>,
    timeout: Duration,
    abandon_at: Option<Instant>,
    stop: &AtomicBool,
    judge: Judge,
) -> Option<ProcessOutcome> {
    let mut command = match command {
        Ok(command) => command,
        Err(why) => return Some(not_run(why)),
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a terminal's Ctrl-C reaches wasmgate, which then stops the
        // child itself, and a timeout can kill whatever the runtime started.
        .process_group(0);
    let mark = Mark::unique();
    mark.apply(&mut command);
    if let Some(core) = core {
        pin_to_core(&mut command, core);
    }
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return Some(failed(
                started,
                None,
                format!("cannot start {:?}: {err}", command.get_program()),
            ));
        }
    };
    let output = read_in_background(&mut child);
    let pid = Pid::from_raw(child.id() as i32);
    match wait_for_exit(pid, started + timeout, abandon_at, stop) {
        Ok(Waited::Exited) => {}
        Ok(Waited::Abandoned) => {
            end_tree(&mut child, &mark);
            return None;
        }
        Ok(Waited::TimedOut) => {
            end_tree(&mut child, &mark);
            return Some(timed_out(timeout, elapsed_ms(started)));
        }
        Err(why) => {
            end_tree(&mut child, &mark);
            return Some(failed(started, None, why));
        }
    }
    Some(outcome_after_exit(pid, started, &mark, output, judge))
}

/// The sample of a runtime that exited: reaped with its accounting, its tree ended, its
/// output judged.
fn outcome_after_exit(
    pid: Pid,
    started: Instant,
    mark: &Mark,
    output: Output,
    judge: Judge,
) -> ProcessOutcome {
    let wall_ms = elapsed_ms(started);
    // Exited but not reaped: its scheduler statistics are still there to read.
    let run_delay_ms = read_run_delay_ms(pid);
    let (status, rusage) = match reap(pid) {
        Ok(reaped) => reaped,
        Err(err) => {
            return failed(started, None, format!("cannot wait for the runtime: {err}"));
        }
    };
    // A sample is over when all its processes are: what the runtime left running ran outside
    // the timed process, so its number is not the whole story, and it is a failed sample.
    let survivors = mark.end_tree(pid);
    let Some((stdout, stderr)) = output.finish() else {
        return failed(started, None, OUTPUT_HELD.to_string());
    };
    let mut outcome = judge(status, &stdout, &stderr, wall_ms);
    outcome.usage = usage_of(&rusage, run_delay_ms);
    if !survivors.is_empty() {
        outcome.status = SampleStatus::Failed;
        outcome.value_ps = None;
        outcome.message = Some(format!(
            "the runtime exited but left {} process(es) running: {}; ended. A sample counts only when all its processes are gone",
            survivors.len(),
            process_tree::describe(&survivors)
        ));
    }
    outcome
}

/// How long the output may stay open after the sample's processes were ended.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

const OUTPUT_HELD: &str = "the runtime exited, but a process outside its tree (one that cleared its environment and left its process group) still holds its output; that process was not ended";

/// The child's standard output and error, read by two threads so that neither pipe fills.
struct Output {
    ended: std::sync::mpsc::Receiver<(bool, String)>,
}

fn read_in_background(child: &mut std::process::Child) -> Output {
    let (send, ended) = std::sync::mpsc::channel();
    let streams: [(bool, Option<Box<dyn Read + Send>>); 2] = [
        (true, child.stdout.take().map(|s| Box::new(s) as _)),
        (false, child.stderr.take().map(|s| Box::new(s) as _)),
    ];
    for (is_stdout, stream) in streams {
        let send = send.clone();
        std::thread::spawn(move || {
            let text = stream.map(|mut s| read_all(&mut s)).unwrap_or_default();
            let _ = send.send((is_stdout, text));
        });
    }
    Output { ended }
}

impl Output {
    /// `(stdout, stderr)` once both pipes closed; `None` when something still holds them
    /// `OUTPUT_GRACE` after the sample's processes were ended (the reading thread is left to
    /// end whenever that holder does).
    fn finish(self) -> Option<(String, String)> {
        let (mut stdout, mut stderr) = (None, None);
        let until = Instant::now() + OUTPUT_GRACE;
        while stdout.is_none() || stderr.is_none() {
            let left = until.saturating_duration_since(Instant::now());
            let (is_stdout, text) = self.ended.recv_timeout(left).ok()?;
            *(if is_stdout { &mut stdout } else { &mut stderr }) = Some(text);
        }
        Some((stdout.unwrap_or_default(), stderr.unwrap_or_default()))
    }
}

/// Waits until the process exits, leaving it unreaped, or until the deadline, a raised `stop`
/// or the budget's end. A pidfd wakes the wait the moment the process exits.
fn wait_for_exit(
    pid: Pid,
    deadline: Instant,
    abandon_at: Option<Instant>,
    stop: &AtomicBool,
) -> Result<Waited, String> {
    let exit_signal = pidfd(pid);
    loop {
        if stop.load(Ordering::SeqCst) || abandon_at.is_some_and(|at| Instant::now() >= at) {
            return Ok(Waited::Abandoned);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Waited::TimedOut);
        }
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
        match nix::sys::wait::waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::EINTR) => {}
            Ok(_) => return Ok(Waited::Exited),
            Err(err) => return Err(format!("cannot wait for the runtime: {err}")),
        }
        match &exit_signal {
            Some(fd) => {
                let mut fds = [nix::poll::PollFd::new(
                    fd.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )];
                let most = nix::poll::PollTimeout::try_from(left.min(POLL))
                    .unwrap_or(nix::poll::PollTimeout::ZERO);
                // Readable once the process exited; an interrupted poll just looks again.
                let _ = nix::poll::poll(&mut fds, most);
            }
            None => std::thread::sleep(left.min(POLL_WITHOUT_PIDFD)),
        }
    }
}

/// A descriptor that becomes readable when `pid` exits; `None` on kernels without pidfds.
#[allow(unsafe_code)]
fn pidfd(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1; it reads and
    // writes no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the descriptor was just opened by this call and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reaps an exited child, with the resources the kernel accounted to it.
#[allow(unsafe_code)]
fn reap(pid: Pid) -> std::io::Result<(ExitStatus, libc::rusage)> {
    use std::os::unix::process::ExitStatusExt;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct of integers, for which all zeroes is a valid value.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes only into the two locals it is given, which outlive the call.
        let reaped = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut rusage) };
        if reaped == pid.as_raw() {
            return Ok((ExitStatus::from_raw(status), rusage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn usage_of(rusage: &libc::rusage, run_delay_ms: Option<f64>) -> Usage {
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    Usage {
        cpu_ms: Some(ms(rusage.ru_utime) + ms(rusage.ru_stime)),
        run_delay_ms,
        preemptions: u64::try_from(rusage.ru_nivcsw).ok(),
    }
}

/// The second field of `/proc/PID/schedstat`: nanoseconds the task was runnable but waiting
/// for a core. It is the main thread's, which is where a runtime runs the module. `None`
/// where the kernel keeps no such statistics (no CONFIG_SCHED_INFO, no /proc).
fn read_run_delay_ms(pid: Pid) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    parse_run_delay_ms(&text)
}

fn parse_run_delay_ms(schedstat: &str) -> Option<f64> {
    let waited_ns: u64 = schedstat.split_whitespace().nth(1)?.parse().ok()?;
    Some(waited_ns as f64 / 1e6)
}

/// Marks a successful sample disturbed when its process waited for its core, or was
/// preempted, beyond the thresholds: another process shared its core, and its value is
/// slowed by an amount nobody knows. Failures and timeouts stay what they are.
pub fn flag_disturbance(mut outcome: ProcessOutcome, rule: &DisturbanceConfig) -> ProcessOutcome {
    if !rule.enabled || outcome.status != SampleStatus::Ok {
        return outcome;
    }
    if let Some(why) = disturbance(&outcome, rule) {
        outcome.status = SampleStatus::Disturbed;
        outcome.message = Some(why);
    }
    outcome
}

/// How long the sample waited for its core while another process held it. The main thread's
/// run-queue delay counts this, but also its waits behind the runtime's own threads (a JIT's
/// compiler, a GC) pinned to the same core, which are the runtime's work: a JavaScript engine
/// waits 6-15 % of a sample so with nothing else on the core. The time none of its threads ran
/// (wall time less CPU time) excludes that, so the wait is the smaller of the two.
fn waited_for_core_ms(outcome: &ProcessOutcome) -> Option<f64> {
    let run_delay_ms = outcome.usage.run_delay_ms?;
    Some(match outcome.usage.cpu_ms {
        Some(cpu_ms) => run_delay_ms.min((outcome.wall_ms - cpu_ms).max(0.0)),
        None => run_delay_ms,
    })
}

/// What disturbed the sample, as the figures that exceed their thresholds.
fn disturbance(outcome: &ProcessOutcome, rule: &DisturbanceConfig) -> Option<String> {
    let wall_ms = outcome.wall_ms;
    // A wall time of zero (or one that is not a number) gives no share to judge by.
    if wall_ms.is_nan() || wall_ms <= 0.0 {
        return None;
    }
    let mut reasons = Vec::new();
    if let Some(waited) = waited_for_core_ms(outcome) {
        let share = waited / wall_ms;
        if share > rule.max_wait_share {
            reasons.push(format!(
                "waited for its core {waited:.0} ms of its {wall_ms:.0} ms ({:.0} %, limit {:.0} %)",
                share * 100.0,
                rule.max_wait_share * 100.0
            ));
        }
    }
    if let Some(preemptions) = outcome.usage.preemptions {
        let rate = preemptions as f64 / (wall_ms / 1000.0);
        if rate > rule.max_preemptions_per_second {
            reasons.push(format!(
                "preempted {preemptions} times ({rate:.0} a second, limit {:.0})",
                rule.max_preemptions_per_second
            ));
        }
    }
    (!reasons.is_empty()).then(|| {
        format!(
            "disturbed by another process on its core: {}; measured again",
            reasons.join(", ")
        )
    })
}

/// Turns a finished process into a sample: a number, or a failure that says why.
pub fn judge(status: ExitStatus, stdout: &str, stderr: &str, wall_ms: f64) -> ProcessOutcome {
    if let Some(failure) = judge_failure(status, stdout, stderr, wall_ms) {
        return failure;
    }
    let exit_code = status.code();
    match parse_output(stdout) {
        Ok(value) => succeeded(value, wall_ms, exit_code),
        Err(why) => {
            let message = match excerpt(stderr) {
                stderr if stderr.is_empty() => why,
                stderr => format!("{why}; stderr: {stderr}"),
            };
            failed_after(wall_ms, exit_code, message)
        }
    }
}

/// A sample of `value_ps` from a process that exited 0.
pub fn succeeded(value_ps: u64, wall_ms: f64, exit_code: Option<i32>) -> ProcessOutcome {
    ProcessOutcome {
        status: SampleStatus::Ok,
        value_ps: Some(value_ps),
        wall_ms,
        exit_code,
        message: None,
        usage: Usage::default(),
        instructions: None,
    }
}

/// The failed sample of a process that did not exit 0, with what it said; `None` when it did.
pub fn judge_failure(
    status: ExitStatus,
    stdout: &str,
    stderr: &str,
    wall_ms: f64,
) -> Option<ProcessOutcome> {
    use std::os::unix::process::ExitStatusExt;
    let exit_code = status.code();
    if !status.success() {
        let how = match (exit_code, status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => "abnormal exit".to_string(),
        };
        let stderr = excerpt(stderr);
        let detail = if stderr.is_empty() {
            excerpt(stdout)
        } else {
            stderr
        };
        let detail = if detail.is_empty() {
            "no output"
        } else {
            &detail
        };
        return Some(failed_after(wall_ms, exit_code, format!("{how}: {detail}")));
    }
    None
}

/// A sample killed at its timeout: a result of its own, not a failure to average away.
pub fn timed_out(timeout: Duration, wall_ms: f64) -> ProcessOutcome {
    ProcessOutcome {
        status: SampleStatus::Timeout,
        value_ps: None,
        wall_ms,
        exit_code: None,
        usage: Usage::default(),
        instructions: None,
        message: Some(format!(
            "timed out after {} s: raise run.timeout_seconds or use fewer iterations",
            timeout.as_secs()
        )),
    }
}

/// A benchmark module prints exactly one positive integer: picoseconds per iteration.
/// Anything else (nothing, text, several lines, 0) is not a measurement.
pub fn parse_output(stdout: &str) -> Result<u64, String> {
    let lines: Vec<&str> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [] => Err("printed nothing on stdout instead of picoseconds per iteration".to_string()),
        [line] => match line.parse::<u64>() {
            Ok(0) => Err(
                "printed 0: the test measured nothing (too few iterations for the clock?)"
                    .to_string(),
            ),
            // The bound the results' reader applies, applied where the value enters: a value
            // recorded here is one `report` reads back.
            Ok(value) if value > crate::model::MAX_VALUE_PS => Err(format!(
                "printed {value} picoseconds per iteration, more than a million seconds: not a time"
            )),
            Ok(value) => Ok(value),
            Err(_) => Err(format!(
                "printed `{}` instead of picoseconds per iteration",
                shorten(line)
            )),
        },
        _ => Err(format!(
            "printed {} lines instead of one number: `{}`",
            lines.len(),
            shorten(&lines.join(" | "))
        )),
    }
}

/// The part of a runtime's error output that says what went wrong: its last lines before any
/// Rust backtrace (wasmtime prints one when RUST_BACKTRACE is set), on one line.
fn excerpt(output: &str) -> String {
    let before_backtrace = output.split("\nStack backtrace:").next().unwrap_or(output);
    shorten_to(&tail(before_backtrace, 3), 400)
}

fn shorten(text: &str) -> String {
    shorten_to(text, 120)
}

fn shorten_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// A sample that could not even start, e.g. because its module's AOT step failed.
pub fn not_run(message: String) -> ProcessOutcome {
    failed(Instant::now(), None, message)
}

fn failed(started: Instant, exit_code: Option<i32>, message: String) -> ProcessOutcome {
    failed_after(elapsed_ms(started), exit_code, message)
}

/// A failed sample that took `wall_ms`.
pub fn failed_after(wall_ms: f64, exit_code: Option<i32>, message: String) -> ProcessOutcome {
    ProcessOutcome {
        status: SampleStatus::Failed,
        value_ps: None,
        wall_ms,
        exit_code,
        message: Some(message),
        usage: Usage::default(),
        instructions: None,
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// Output is small (one number), but a crashing runtime may print a lot; cap what we keep.
fn read_all(stream: &mut impl Read) -> String {
    const LIMIT: u64 = 1 << 20;
    let mut bytes = Vec::new();
    let _ = stream.take(LIMIT).read_to_end(&mut bytes);
    // Drain the rest so the child never blocks on a full pipe.
    let _ = std::io::copy(stream, &mut std::io::sink());
    String::from_utf8_lossy(&bytes).into_owned()
}

#[allow(unsafe_code)]
pub(super) fn pin_to_core(command: &mut Command, core: usize) {
    let mut cpus = nix::sched::CpuSet::new();
    if cpus.set(core).is_err() {
        return;
    }
    // SAFETY: sched_setaffinity is a plain system call, safe between fork and exec; the
    // CpuSet was built before the fork, so nothing is allocated in the child.
    unsafe {
        command.pre_exec(move || {
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &cpus)
                .map_err(std::io::Error::from)
        });
    }
}

/// Ends the runtime and everything it started, then reaps it.
fn end_tree(child: &mut std::process::Child, mark: &Mark) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
    mark.end_tree(pid);
}

#[cfg(test)]
mod tests;
