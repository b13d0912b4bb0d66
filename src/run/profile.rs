//! Profiles of one test on one runtime, for the evidence with a changed test: the runtime's
//! `profile` command (its run command writing a symbol map of the code it compiled) run under
//! Linux `perf record` on the pinned core, its user-space call stacks read back with
//! `perf script`, and each frame of the module's code named through the module's named twin.
//! A profile never feeds the statistics: it is taken after the verdict.

use super::runtime::Runtime;
use crate::build::Suite;
use crate::model::TestModule;
use crate::model::evidence::{FunctionNames, Profile};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Samples a second `perf` is asked for at most: enough for a function with 1 % of the time
/// to show with a few dozen samples a side.
const FREQUENCY: u32 = 2000;
/// The most samples a profile is planned to hold: `perf script` prints about 450 bytes a
/// sample, and what it prints is read up to `util::OUTPUT_LIMIT` (4 MiB), so a longer profile
/// samples less often rather than losing its end.
const MOST_SAMPLES: f64 = 6000.0;
/// The most frames of a stack kept: deeper frames are the harness's, not the test's.
const MAX_STACK: usize = 48;
/// How long one profiled process (all its runs) may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// The events tried, in order: user-space cycles, then the user-space clock.
const EVENTS: [&str; 2] = ["cycles:u", "cpu-clock:u"];
/// The most runs of a test in one profile.
const MAX_RUNS: usize = 200;

/// Linux `perf`, checked to record here.
#[derive(Debug, Clone)]
pub struct Profiler {
    pub perf: PathBuf,
    /// The event sampled: `cycles:u` where the processor counts cycles for perf, else
    /// `cpu-clock:u`, the clock every machine has (a VM often has no cycles counter); user
    /// space only, which `perf_event_paranoid` 2 allows.
    pub event: String,
    /// The event perf records when asked for `event`, as it names it (`cpu-clock:uH` where it
    /// fell back from cycles): what the evidence says it sampled.
    pub recorded: String,
}

impl Profiler {
    /// `perf` on the PATH, shown to record a process here; otherwise one line with the fix.
    pub fn find() -> Result<Profiler> {
        let perf = crate::toolchain::find_on_path("perf").map_err(|_| {
            anyhow::anyhow!(
                "perf is not installed: the evidence with a changed test profiles it with Linux perf; install it (Debian: apt-get install linux-perf) or turn evidence off (`compare.evidence.enabled: false`)"
            )
        })?;
        // The processor's cycles where it counts them (a VM often does not), else its clock.
        let mut refused = None;
        for event in EVENTS {
            let mut profiler = Profiler {
                perf: perf.clone(),
                event: event.to_string(),
                recorded: event.to_string(),
            };
            match profiler.records() {
                Ok(recorded) => {
                    profiler.recorded = recorded;
                    return Ok(profiler);
                }
                Err(why) => refused = Some(why),
            }
        }
        let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        bail!(
            "perf cannot record here (kernel.perf_event_paranoid is {paranoid}: {}); allow it with `sysctl kernel.perf_event_paranoid=2` or lower, or turn evidence off (`compare.evidence.enabled: false`)",
            refused.unwrap_or_default()
        )
    }

    /// Whether `perf record` of this event works here, and the event it then records (perf
    /// falls back from cycles to the clock by itself where there is no counter): a record of
    /// `true` read back, or perf's last line of why not.
    fn records(&self) -> Result<String, String> {
        let probe = tempfile::tempdir().map_err(|err| err.to_string())?;
        let data = probe.path().join("probe.data");
        let mut recorded = self.record(&mut Command::new("true"), &data, FREQUENCY);
        let said = |output: &std::process::Output| {
            crate::util::tail(&String::from_utf8_lossy(&output.stderr), 1)
        };
        match crate::util::output_within(&mut recorded, "perf record", RUN_LIMIT) {
            Ok(output) if output.status.success() => {}
            Ok(output) => return Err(said(&output)),
            Err(err) => return Err(format!("{err:#}")),
        }
        let mut listed = Command::new(&self.perf);
        listed.arg("evlist").arg("-i").arg(&data);
        let output = crate::util::output_within(&mut listed, "perf evlist", RUN_LIMIT)
            .map_err(|err| format!("{err:#}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let event = text.lines().next().map(str::trim).unwrap_or_default();
        match output.status.success() && !event.is_empty() {
            true => Ok(crate::util::bounded(event, 60)),
            false => Err(said(&output)),
        }
    }

    /// `command` under `perf record`, its stacks written to `data`.
    fn record(&self, command: &mut Command, data: &Path, frequency: u32) -> Command {
        let mut recorded = Command::new(&self.perf);
        recorded
            .args(["record", "-q", "-e", &self.event, "-g", "-F"])
            .arg(frequency.to_string())
            .arg("-o")
            .arg(data)
            .arg("--")
            .arg(command.get_program())
            .args(command.get_args());
        carry_over(command, &mut recorded);
        recorded
    }
}

/// Profiles `test` on `runtime` on `core`: as many runs of its profile command as fill
/// about `seconds` (at least one), under one `perf record` (which costs about a second to
/// start and stop, longer than many a run), every stack of every run counted.
pub fn profile(
    profiler: &Profiler,
    (suite, test): (&Suite, &TestModule),
    runtime: &Runtime,
    names: &FunctionNames,
    (core, seconds): (Option<usize>, f64),
) -> Result<Profile> {
    let module = suite.module_path(test);
    let command = match runtime.profile_command(&module) {
        None => bail!(
            "{} (adapter {}) writes no symbol map for a profiler: no `profile` command in its configuration; profiles are taken on runtimes that have one (wasmtime, wasmtime-aot, node)",
            runtime.info.name,
            runtime.info.adapter
        ),
        Some(command) => command.map_err(anyhow::Error::msg)?,
    };
    let runs = runs_filling(runtime, &module, core, seconds)?;
    let dir = tempfile::Builder::new()
        .prefix("wasmgate-profile")
        .tempdir()?;
    let data = dir.path().join("profile.data");
    // Never more than about MOST_SAMPLES in all, however long the runs.
    let frequency = (MOST_SAMPLES / seconds).clamp(100.0, f64::from(FREQUENCY)) as u32;
    let mut recorded = profiler.record(&mut repeated(&command, runs), &data, frequency);
    if let Some(core) = core {
        super::execute::pin_to_core(&mut recorded, core);
    }
    let output = crate::util::output_within(&mut recorded, "a profiled run", RUN_LIMIT)?;
    if !output.status.success() {
        bail!(
            "the profiled runs of {} on {} failed ({}): {}",
            test.name,
            runtime.info.name,
            output.status,
            crate::util::tail(&String::from_utf8_lossy(&output.stderr), 2)
        );
    }
    let mut profile = Profile {
        runtime: runtime.info.name.clone(),
        ..Profile::default()
    };
    add_stacks(&mut profile, &read_stacks(profiler, &data)?, names);
    Ok(profile)
}

/// How many runs fill `seconds`, from one run of the runtime's plain command timed.
fn runs_filling(
    runtime: &Runtime,
    module: &Path,
    core: Option<usize>,
    seconds: f64,
) -> Result<usize> {
    let mut once = runtime.command(module).map_err(anyhow::Error::msg)?;
    if let Some(core) = core {
        super::execute::pin_to_core(&mut once, core);
    }
    let started = Instant::now();
    let output = crate::util::output_within(&mut once, "a run before profiling", RUN_LIMIT)?;
    let took = started.elapsed().as_secs_f64().max(1e-3);
    if !output.status.success() {
        bail!(
            "{} failed on {} ({})",
            module.display(),
            runtime.info.name,
            output.status
        );
    }
    // A whole profile within the limit of one profiled process, whatever `seconds` says.
    let most = (RUN_LIMIT.as_secs_f64() / 2.0 / took).floor().max(1.0);
    Ok((seconds / took)
        .ceil()
        .clamp(1.0, most.min(MAX_RUNS as f64)) as usize)
}

/// `command` run `runs` times in a row by `sh`, stopping at the first failure. Its words are
/// `sh`'s arguments ("$@"), never part of its script: nothing in them is read by the shell.
fn repeated(command: &Command, runs: usize) -> Command {
    let mut looped = Command::new("sh");
    looped
        .arg("-c")
        .arg(format!(
            "i=0; while [ $i -lt {runs} ]; do \"$@\" > /dev/null || exit $?; i=$((i+1)); done"
        ))
        .arg("sh")
        .arg(command.get_program())
        .args(command.get_args());
    carry_over(command, &mut looped);
    looped
}

/// The folder and environment `from` was given, given to `to`, which runs it.
fn carry_over(from: &Command, to: &mut Command) {
    if let Some(dir) = from.get_current_dir() {
        to.current_dir(dir);
    }
    for (key, value) in from.get_envs() {
        match value {
            Some(value) => to.env(key, value),
            None => to.env_remove(key),
        };
    }
}

/// `perf script` of one run: each sample's pid line, then its frames innermost first, each a
/// tab, the address and the symbol. The
/// runtime's symbol maps in /tmp (named by its pid) are read here, and removed after.
fn read_stacks(profiler: &Profiler, data: &Path) -> Result<String> {
    let mut command = Command::new(&profiler.perf);
    command
        .args(["script", "-F", "pid,ip,sym", "--max-stack"])
        .arg(MAX_STACK.to_string())
        .arg("-i")
        .arg(data);
    let output = crate::util::output_within(&mut command, "perf script", RUN_LIMIT)
        .context("reading a profile")?;
    if !output.status.success() {
        bail!(
            "perf script failed: {}",
            crate::util::tail(&String::from_utf8_lossy(&output.stderr), 2)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    for pid in pids(&text) {
        let _ = std::fs::remove_file(format!("/tmp/perf-{pid}.map"));
    }
    Ok(text)
}

/// The pids of the samples' header lines.
fn pids(script: &str) -> std::collections::BTreeSet<u32> {
    (script.lines())
        .filter(|line| !line.starts_with('\t'))
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Adds each sample of a `perf script` output to `profile` as a folded stack, outermost frame
/// first, frames of the module's code named.
fn add_stacks(profile: &mut Profile, script: &str, names: &FunctionNames) {
    let mut frames: Vec<String> = Vec::new();
    let mut flush = |frames: &mut Vec<String>| {
        if frames.is_empty() {
            return;
        }
        frames.reverse();
        *profile.stacks.entry(frames.join(";")).or_default() += 1;
        profile.samples += 1;
        frames.clear();
    };
    for line in script.lines() {
        let Some(frame) = line.strip_prefix('\t') else {
            flush(&mut frames);
            continue;
        };
        // The address, then the symbol (which may hold spaces).
        let symbol = frame
            .trim_start()
            .split_once(' ')
            .map_or("", |(_, s)| s.trim());
        frames.push(frame_name(symbol, names));
    }
    flush(&mut frames);
}

/// A frame as the reports show it: a function of the module by its name (`function[N]` when
/// the twin has none), anything else by its symbol, bounded and without the separators of
/// the folded form.
fn frame_name(symbol: &str, names: &FunctionNames) -> String {
    if let Some(index) = wasm_function_index(symbol) {
        return match names.names.get(&index) {
            Some(name) => name.clone(),
            None => format!("function[{index}]"),
        };
    }
    let clean: String = (symbol.chars())
        .map(|c| if c == ';' || c.is_control() { '_' } else { c })
        .take(120)
        .collect();
    // perf's own "[unknown]" is bracketed already.
    match clean.starts_with('[') && clean.ends_with(']') {
        true => clean,
        false => format!("[{clean}]"),
    }
}

/// The function index of a frame of the module's code: `wasm[0]::function[60]` (wasmtime),
/// `wasm-function[60]` (V8), with whatever a runtime puts around it.
fn wasm_function_index(symbol: &str) -> Option<u32> {
    let at = symbol.find("function[")?;
    if !symbol[..at].contains("wasm") {
        return None;
    }
    let digits = &symbol[at + "function[".len()..];
    let end = digits.find(']')?;
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> FunctionNames {
        FunctionNames {
            module_sha256: "ab".into(),
            names: [
                (29, "fe25519_mul".to_string()),
                (60, "__multi3".to_string()),
            ]
            .into(),
        }
    }

    #[test]
    fn frames_of_the_module_are_named_and_stacks_folded_outermost_first() {
        // Pids are right-aligned: a short one starts with spaces, a frame with a tab.
        let script = " 1099 \n\t  7f01 wasm[0]::function[60]\n\t  7f02 wasm[0]::function[29]\n\t  7f03 wasm[0]::function[51]\n\t  5601 main\n\n 1099 \n\t  7f02 wasm[0]::function[29]\n\t  5601 main\n\n 1099 \n\t  7f01 wasm[0]::function[60]\n\t  7f02 wasm[0]::function[29]\n\t  7f03 wasm[0]::function[51]\n\t  5601 main\n";
        let mut profile = Profile::default();
        add_stacks(&mut profile, script, &names());
        assert_eq!(profile.samples, 3);
        assert_eq!(
            profile
                .stacks
                .get("[main];function[51];fe25519_mul;__multi3"),
            Some(&2)
        );
        assert_eq!(profile.stacks.get("[main];fe25519_mul"), Some(&1));
        assert_eq!(pids(script), [1099].into());
    }

    #[test]
    fn each_runtimes_frame_of_wasm_code_is_told_from_the_rest() {
        assert_eq!(wasm_function_index("wasm[0]::function[60]"), Some(60));
        assert_eq!(
            wasm_function_index("JS:*wasm-function[7]-0-turbofan"),
            Some(7)
        );
        assert_eq!(wasm_function_index("std::function[3]"), None);
        assert_eq!(frame_name("a;b\u{1b}", &names()), "[a_b_]");
        assert_eq!(frame_name("[unknown]", &names()), "[unknown]");
    }
}
