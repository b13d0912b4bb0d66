//! Small pieces every stage needs and none owns: hashing, running a command, counting cores,
//! formatting a time. Nothing here knows the configuration or a stage.

pub mod lock;
pub mod paths;
pub mod process_tree;

/// Raised by Ctrl-C or SIGTERM (a run installs the handler): samples in flight are killed and
/// every wait for another wasmgate's lock gives up.
pub static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

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

/// The first 12 characters of a commit, as messages show it. Characters, not bytes: a
/// history file or a server's answer is input, and may hold anything.
pub fn short_commit(commit: &str) -> String {
    commit.chars().take(12).collect()
}

/// `text` cut to `limit` characters, with `…` where it was cut: foreign text (a version line,
/// a label, a server's message) is bounded where it enters and where it is shown.
pub fn bounded(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `text` as one word of a POSIX shell command line shown to a user: as it is when it holds
/// only characters no shell reads specially, else single-quoted; a control character (a
/// newline would end the line, or a markdown code block around it) is written `$'\n'`-style.
pub fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./,:=@+%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    if !text.chars().any(char::is_control) {
        return format!("'{}'", text.replace('\'', "'\\''"));
    }
    let escaped: String = (text.chars())
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            '\\' => "\\\\".to_string(),
            '\'' => "\\'".to_string(),
            c if c.is_control() => format!("\\x{:02x}", u32::from(c) & 0xff),
            c => c.to_string(),
        })
        .collect();
    format!("$'{escaped}'")
}

/// Runs a command within `limit` and turns a failure into an error carrying the end of its
/// stderr.
pub fn run_checked(command: &mut Command, what: &str, limit: Duration) -> Result<()> {
    let output = output_within(command, what, limit)?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 6)
        );
    }
    Ok(())
}

/// How long an external command may take before wasmgate ends it: every command it starts has
/// one of these, so a hung tool fails with its name instead of hanging the run.
pub mod limits {
    use std::time::Duration;

    /// A question answered at once: a version, a revision.
    pub const QUICK: Duration = Duration::from_secs(60);
    /// One step of a build: a zig build of one tier, wasm-opt on one module, one AOT compile,
    /// a clone, a registry install.
    pub const STEP: Duration = Duration::from_secs(30 * 60);
    /// A compile from source: `cargo install` of a runtime, a source package's build.
    pub const COMPILE: Duration = Duration::from_secs(90 * 60);
}

/// Runs a command to its end, capturing its output, within `limit`. The command runs in its own
/// process group, which is ended when the command exits or times out: a tool that leaves a
/// child behind holding its output open can neither hang wasmgate nor outlive it.
pub fn output_within(command: &mut Command, what: &str, limit: Duration) -> Result<Output> {
    let program = command.get_program().to_string_lossy().into_owned();
    match output_unless_late(command, what, limit)? {
        Some(output) => Ok(output),
        None => bail!(
            "{what} ({program}) did not finish within {} s and was ended",
            limit.as_secs()
        ),
    }
}

/// The most of a command's stdout or stderr kept: a version line or a build log needs far
/// less; the rest is read and dropped, so the command never blocks on a full pipe and never
/// fills the memory (`exec yes` as a version command).
pub const OUTPUT_LIMIT: usize = 4 << 20;

/// How long a command's output is still read once the command has ended: its pipes close
/// then, unless a process it left behind (ended by now) held them.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// As `output_within`, but a command still running at `limit` is ended and `None` returned:
/// for a caller to whom lateness is an answer (the AOT guard's interpreter run). The command's
/// process tree (its group, and every descendant by an environment mark, `setsid` or not) is
/// ended when it exits or times out, and its output is bounded in size and in time.
pub fn output_unless_late(
    command: &mut Command,
    what: &str,
    limit: Duration,
) -> Result<Option<Output>> {
    use std::os::unix::process::CommandExt;
    use wait_timeout::ChildExt;
    let mark = process_tree::Mark::unique();
    mark.apply(command);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {what} ({program})"))?;
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let status = child
        .wait_timeout(limit)
        .with_context(|| format!("waiting for {what} ({program})"))?;
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let group = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    mark.end_tree(group);
    let Some(status) = status else {
        return Ok(None);
    };
    let deadline = std::time::Instant::now() + OUTPUT_GRACE;
    Ok(Some(Output {
        status,
        stdout: stdout.collect(deadline),
        stderr: stderr.collect(deadline),
    }))
}

/// A pipe read on a thread of its own, so neither pipe can fill and block the child; the first
/// `OUTPUT_LIMIT` bytes are kept.
struct PipeReader {
    kept: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl PipeReader {
    /// What was read by `deadline` (all of it, when the pipe closed by then).
    fn collect(self, deadline: std::time::Instant) -> Vec<u8> {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let _ = self.done.recv_timeout(left);
        let kept = self.kept.lock().map(|bytes| bytes.clone());
        kept.unwrap_or_default()
    }
}

fn read_in_background(pipe: Option<impl std::io::Read + Send + 'static>) -> PipeReader {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (sender, done) = std::sync::mpsc::channel();
    let shared = std::sync::Arc::clone(&kept);
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else {
            let _ = sender.send(());
            return;
        };
        let mut buffer = [0u8; 64 * 1024];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    if let Ok(mut bytes) = shared.lock() {
                        let room = OUTPUT_LIMIT.saturating_sub(bytes.len());
                        bytes.extend_from_slice(&buffer[..read.min(room)]);
                    }
                }
            }
        }
        let _ = sender.send(());
    });
    PipeReader { kept, done }
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

/// An instruction count with the SI prefix that keeps it readable, e.g. "53.54 k instr".
pub fn format_count(count: f64) -> String {
    let units = [(1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, unit) in units {
        if count >= scale {
            return format!("{:.2} {unit} instr", count / scale);
        }
    }
    format!("{count:.0} instr")
}

/// A value of `measure` as reports show it.
pub fn format_value(measure: crate::model::Measure, value: f64) -> String {
    match measure.is_time() {
        true => format_ps(value),
        false => format_count(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_leaves_a_child_holding_its_output_ends_at_once_with_its_child() {
        let started = std::time::Instant::now();
        // A version command whose child leaves the process group and keeps stdout open.
        let mut command = Command::new("sh");
        command.args(["-c", "setsid sleep 300 & echo tool 1.0"]);
        let output =
            output_within(&mut command, "a version command", Duration::from_secs(60)).unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "tool 1.0\n");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        // The child is gone: no `sleep 300` of ours is left.
        let sleeping = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
            .filter(|cmdline| cmdline.as_slice() == b"sleep\x00300\x00")
            .count();
        assert_eq!(sleeping, 0);
    }

    #[test]
    fn a_command_that_floods_its_output_is_kept_to_the_bound() {
        let mut command = Command::new("sh");
        command.args(["-c", "head -c 50000000 /dev/zero"]);
        let output = output_within(&mut command, "a flood", Duration::from_secs(60)).unwrap();
        assert_eq!(output.stdout.len(), OUTPUT_LIMIT);
        let mut endless = Command::new("yes");
        let late = output_unless_late(&mut endless, "yes", Duration::from_millis(500)).unwrap();
        assert!(late.is_none());
    }

    #[test]
    fn a_shell_word_is_quoted_only_when_a_shell_would_read_it() {
        assert_eq!(shell_word("abc123"), "abc123");
        assert_eq!(shell_word("sign,box"), "sign,box");
        assert_eq!(
            shell_word("cargo build --release"),
            "'cargo build --release'"
        );
        assert_eq!(
            shell_word("abc;touch${IFS}/tmp/x;#"),
            "'abc;touch${IFS}/tmp/x;#'"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("a\n```\nb"), "$'a\\n```\\nb'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn counts_read_with_their_prefix() {
        assert_eq!(format_count(53_539.56), "53.54 k instr");
        assert_eq!(format_count(10_325_729_331.0), "10.33 G instr");
        assert_eq!(format_count(412.0), "412 instr");
    }

    #[test]
    fn tail_keeps_last_lines_on_one_line() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(tail("", 3), "");
    }

    #[test]
    fn a_command_past_its_limit_is_ended_with_its_name() {
        let started = std::time::Instant::now();
        let err = output_within(
            Command::new("sleep").arg("30"),
            "the test sleeper",
            Duration::from_millis(200),
        )
        .unwrap_err()
        .to_string();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            err,
            "the test sleeper (sleep) did not finish within 0 s and was ended"
        );
    }

    #[test]
    fn a_child_left_behind_neither_hangs_the_output_nor_outlives_it() {
        let started = std::time::Instant::now();
        let output = output_within(
            Command::new("sh").args(["-c", "sleep 30 & echo done"]),
            "a leaver",
            Duration::from_secs(20),
        )
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "done\n");
    }

    #[test]
    fn a_failure_carries_the_end_of_its_stderr() {
        let err = run_checked(
            Command::new("sh").args(["-c", "echo first >&2; echo last >&2; exit 3"]),
            "the failing step",
            limits::QUICK,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("the failing step failed (exit status: 3)"),
            "{err}"
        );
        assert!(err.ends_with("first | last"), "{err}");
    }

    #[test]
    fn core_counts_agree() {
        assert_eq!(available_cores(), allowed_cores().len());
        assert!(available_cores() >= 1);
    }
}
