//! Small pieces every stage needs and none owns: hashing, running a command, counting cores,
//! formatting a time. Nothing here knows the configuration or a stage.

pub mod lock;
pub mod paths;

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

/// As `output_within`, but a command still running at `limit` is ended and `None` returned:
/// for a caller to whom lateness is an answer (the AOT guard's interpreter run).
pub fn output_unless_late(
    command: &mut Command,
    what: &str,
    limit: Duration,
) -> Result<Option<Output>> {
    use std::os::unix::process::CommandExt;
    use wait_timeout::ChildExt;
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
    end_group(child.id());
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(None);
    };
    Ok(Some(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }))
}

/// A pipe read to its end on a thread of its own, so neither pipe can fill and block the child.
fn read_in_background(
    pipe: Option<impl std::io::Read + Send + 'static>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Ends whatever is left of a process group (children the command left behind).
fn end_group(leader: u32) {
    let Ok(leader) = i32::try_from(leader) else {
        return;
    };
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(leader),
        nix::sys::signal::Signal::SIGKILL,
    );
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
    match measure {
        crate::model::Measure::Time => format_ps(value),
        crate::model::Measure::Instructions => format_count(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
