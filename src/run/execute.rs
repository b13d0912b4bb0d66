//! Runs one module once: pinned to a core, with a timeout, its output parsed into a sample.

use crate::model::SampleStatus;
use crate::util::tail;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// What one process run gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: SampleStatus,
    pub value_ps: Option<u64>,
    pub wall_ms: f64,
    pub exit_code: Option<i32>,
    pub message: Option<String>,
}

/// How long to wait between checks for an interrupt while a process runs.
const POLL: Duration = Duration::from_millis(100);

/// Runs the command to completion. Returns `None` when `stop` was raised meanwhile or the
/// run's budget ran out (`abandon_at`): the process is killed and its partial run is not a
/// sample.
pub fn run_once(
    command: Result<Command, String>,
    core: Option<usize>,
    timeout: Duration,
    abandon_at: Option<Instant>,
    stop: &AtomicBool,
) -> Option<Outcome> {
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
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let stdout_reader = std::thread::spawn(move || read_all(&mut stdout));
    let stderr_reader = std::thread::spawn(move || read_all(&mut stderr));

    let deadline = started + timeout;
    let status = loop {
        if stop.load(Ordering::SeqCst) || abandon_at.is_some_and(|at| Instant::now() >= at) {
            kill_group(&mut child);
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill_group(&mut child);
            return Some(timed_out(timeout, elapsed_ms(started)));
        }
        match child.wait_timeout(left.min(POLL)) {
            Ok(Some(status)) => break status,
            Ok(None) => continue,
            Err(err) => {
                return Some(failed(
                    started,
                    None,
                    format!("cannot wait for the runtime: {err}"),
                ));
            }
        }
    };
    let wall_ms = elapsed_ms(started);
    let stdout = stdout_reader.join().unwrap_or_default();
    let stderr = stderr_reader.join().unwrap_or_default();
    Some(judge(status, &stdout, &stderr, wall_ms))
}

/// Turns a finished process into a sample: a number, or a failure that says why.
pub fn judge(
    status: std::process::ExitStatus,
    stdout: &str,
    stderr: &str,
    wall_ms: f64,
) -> Outcome {
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
        return Outcome {
            status: SampleStatus::Failed,
            value_ps: None,
            wall_ms,
            exit_code,
            message: Some(format!(
                "{how}: {}",
                if detail.is_empty() {
                    "no output"
                } else {
                    &detail
                }
            )),
        };
    }
    match parse_output(stdout) {
        Ok(value) => Outcome {
            status: SampleStatus::Ok,
            value_ps: Some(value),
            wall_ms,
            exit_code,
            message: None,
        },
        Err(why) => Outcome {
            status: SampleStatus::Failed,
            value_ps: None,
            wall_ms,
            exit_code,
            message: Some(match excerpt(stderr) {
                stderr if stderr.is_empty() => why,
                stderr => format!("{why}; stderr: {stderr}"),
            }),
        },
    }
}

/// A sample killed at its timeout: a result of its own, not a failure to average away.
pub fn timed_out(timeout: Duration, wall_ms: f64) -> Outcome {
    Outcome {
        status: SampleStatus::Timeout,
        value_ps: None,
        wall_ms,
        exit_code: None,
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
pub fn not_run(message: String) -> Outcome {
    failed(Instant::now(), None, message)
}

fn failed(started: Instant, exit_code: Option<i32>, message: String) -> Outcome {
    Outcome {
        status: SampleStatus::Failed,
        value_ps: None,
        wall_ms: elapsed_ms(started),
        exit_code,
        message: Some(message),
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
fn pin_to_core(command: &mut Command, core: usize) {
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

fn kill_group(child: &mut std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::allowed_cores;
    use std::os::unix::process::ExitStatusExt;

    fn exited(code: i32) -> std::process::ExitStatus {
        std::process::ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn parses_one_number() {
        assert_eq!(parse_output("12345\n"), Ok(12345));
        assert_eq!(parse_output("  777  \n\n"), Ok(777));
    }

    #[test]
    fn zero_empty_and_garbage_are_not_numbers() {
        assert!(
            parse_output("0\n")
                .unwrap_err()
                .contains("measured nothing")
        );
        assert!(parse_output("").unwrap_err().contains("printed nothing"));
        assert!(
            parse_output("Error: trap\n")
                .unwrap_err()
                .contains("`Error: trap`")
        );
        assert!(parse_output("12\n13\n").unwrap_err().contains("2 lines"));
        assert!(parse_output("-5").is_err());
    }

    #[test]
    fn crash_is_a_failed_sample_with_stderr() {
        let outcome = judge(exited(134), "", "wasm trap: unreachable\n", 5.0);
        assert_eq!(outcome.status, SampleStatus::Failed);
        assert_eq!(outcome.exit_code, Some(134));
        let message = outcome.message.unwrap();
        assert!(message.contains("exit status 134"), "{message}");
        assert!(message.contains("unreachable"), "{message}");
    }

    #[test]
    fn rust_backtraces_are_left_out() {
        let stderr = "Error: failed\n\nCaused by:\n    0: wasm trap: unreachable\n\nStack backtrace:\n   0: main\n   1: start\n";
        let message = judge(exited(1), "", stderr, 1.0).message.unwrap();
        assert!(message.contains("wasm trap: unreachable"), "{message}");
        assert!(!message.contains("start"), "{message}");
    }

    #[test]
    fn signal_death_is_named() {
        let outcome = judge(std::process::ExitStatus::from_raw(11), "", "", 1.0);
        assert!(outcome.message.unwrap().contains("signal 11"));
    }

    #[test]
    fn error_text_with_exit_zero_is_a_failure() {
        let outcome = judge(exited(0), "Exception: failed to call func\n", "", 1.0);
        assert_eq!(outcome.status, SampleStatus::Failed);
        assert!(outcome.message.unwrap().contains("Exception"));
    }

    #[test]
    fn timeout_kills_and_reports() {
        let stop = AtomicBool::new(false);
        let mut command = Command::new("sleep");
        command.arg("30");
        let outcome = run_once(Ok(command), None, Duration::from_secs(1), None, &stop).unwrap();
        assert_eq!(outcome.status, SampleStatus::Timeout);
        assert!(outcome.wall_ms < 10_000.0);
    }

    #[test]
    fn pinned_process_runs_on_its_core() {
        let core = *allowed_cores().last().unwrap();
        let stop = AtomicBool::new(false);
        let mut command = Command::new("sh");
        // Prints 1000 + the one core it may run on (a list like "0-1" would not parse).
        command.args([
            "-c",
            "echo $((1000 + $(awk '/Cpus_allowed_list/ {print $2}' /proc/self/status)))",
        ]);
        let outcome = run_once(
            Ok(command),
            Some(core),
            Duration::from_secs(10),
            None,
            &stop,
        )
        .unwrap();
        assert_eq!(outcome.value_ps, Some(1000 + core as u64), "{outcome:?}");
    }
}
