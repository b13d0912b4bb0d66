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

/// Runs a script as a sample's runtime; returns its outcome and how long the sample took.
fn sample_of_script(script: &str) -> (ProcessOutcome, Duration) {
    let stop = AtomicBool::new(false);
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    let started = Instant::now();
    let outcome = run_once(Ok(command), None, Duration::from_secs(20), None, &stop).unwrap();
    (outcome, started.elapsed())
}

#[test]
fn a_runtime_that_leaves_a_child_behind_fails_its_sample_and_the_child_ends() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    for leave in [
        // Holding the output open: without ending it, the sample would last 40 s.
        "sleep 40 &".to_string(),
        // Detached: another session, the output closed.
        "setsid sleep 40 >/dev/null 2>&1 </dev/null &".to_string(),
    ] {
        let script = format!(
            "{leave} {}; echo $pid > {}; echo 1000",
            crate::util::process_tree::tests::WAIT_FOR_SLEEP,
            pid_file.display()
        );
        let (outcome, took) = sample_of_script(&script);
        assert_eq!(outcome.status, SampleStatus::Failed, "{leave}: {outcome:?}");
        assert_eq!(outcome.value_ps, None);
        let message = outcome.message.unwrap();
        assert!(
            message.contains("left 1 process(es) running: sleep (pid"),
            "{message}"
        );
        assert!(took < Duration::from_secs(10), "{leave}: took {took:?}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        assert!(
            stat.map_or(true, |s| s.contains(") Z ") || s.contains(") X ")),
            "{leave}: the child was ended"
        );
    }
    let (outcome, _) = sample_of_script("echo 1000");
    assert_eq!(outcome.status, SampleStatus::Ok, "{outcome:?}");
}

#[test]
fn run_delay_is_the_second_field_of_schedstat() {
    assert_eq!(parse_run_delay_ms("130144 6007719 2\n"), Some(6.007719));
    assert_eq!(parse_run_delay_ms("130144\n"), None);
    assert_eq!(parse_run_delay_ms("a b c"), None);
}

fn with_usage(wall_ms: f64, run_delay_ms: f64, preemptions: u64) -> ProcessOutcome {
    let mut outcome = judge(exited(0), "1000\n", "", wall_ms);
    outcome.usage = Usage {
        cpu_ms: Some(wall_ms - run_delay_ms),
        run_delay_ms: Some(run_delay_ms),
        preemptions: Some(preemptions),
    };
    outcome
}

#[test]
fn waiting_or_preemptions_beyond_the_thresholds_disturb_a_sample() {
    let rule = DisturbanceConfig::default();
    let quiet = flag_disturbance(with_usage(1000.0, 10.0, 5), &rule);
    assert_eq!(quiet.status, SampleStatus::Ok);
    let waited = flag_disturbance(with_usage(1000.0, 400.0, 5), &rule);
    assert_eq!(waited.status, SampleStatus::Disturbed);
    assert_eq!(waited.value_ps, Some(1000), "kept for the record");
    let message = waited.message.unwrap();
    assert!(message.contains("400 ms of its 1000 ms (40 %"), "{message}");
    let preempted = flag_disturbance(with_usage(500.0, 0.0, 800), &rule);
    let message = preempted.message.unwrap();
    assert!(
        message.contains("preempted 800 times (1600 a second"),
        "{message}"
    );
    // A runtime's own threads on its core: wasmtime's 15 in a 57 ms sample is no sign,
    // nor node's main thread waiting 48 ms behind its own threads in a 752 ms sample
    // that kept the core busy for 745 ms.
    let own_threads = flag_disturbance(with_usage(57.0, 1.0, 15), &rule);
    assert_eq!(own_threads.status, SampleStatus::Ok);
    let mut node = with_usage(752.0, 48.0, 118);
    node.usage.cpu_ms = Some(745.0);
    assert_eq!(
        flag_disturbance(node.clone(), &rule).status,
        SampleStatus::Ok
    );
    // The same sample with the core held by another process for 60 ms.
    node.usage.cpu_ms = Some(692.0);
    let message = flag_disturbance(node, &rule).message.unwrap();
    assert!(message.contains("waited for its core 48 ms"), "{message}");
    let off = DisturbanceConfig {
        enabled: false,
        ..rule
    };
    assert_eq!(
        flag_disturbance(with_usage(1000.0, 400.0, 5), &off).status,
        SampleStatus::Ok
    );
    // Nothing to judge by: no figures, a zero wall time, a failed sample.
    let unknown = judge(exited(0), "1000\n", "", 1000.0);
    assert_eq!(flag_disturbance(unknown, &rule).status, SampleStatus::Ok);
    assert_eq!(
        flag_disturbance(with_usage(0.0, 0.0, 9), &rule).status,
        SampleStatus::Ok
    );
    let mut crashed = with_usage(1000.0, 400.0, 5);
    crashed.status = SampleStatus::Failed;
    assert_eq!(
        flag_disturbance(crashed, &rule).status,
        SampleStatus::Failed
    );
}

/// A process spinning on one core, killed and reaped however the test ends.
struct Hog(std::process::Child);

impl Hog {
    fn on(core: usize) -> Hog {
        let mut command = Command::new("sh");
        command.args(["-c", "while :; do :; done"]);
        pin_to_core(&mut command, core);
        Hog(command.spawn().expect("sh starts"))
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A few tenths of a second of CPU work, then one number.
fn cpu_bound() -> Command {
    let mut command = Command::new("awk");
    command.args(["BEGIN { for (i = 0; i < 12000000; i++) s += i; print 1000 }"]);
    command
}

fn measured_on(core: usize) -> ProcessOutcome {
    let stop = AtomicBool::new(false);
    let outcome = run_once(
        Ok(cpu_bound()),
        Some(core),
        Duration::from_secs(60),
        None,
        &stop,
    )
    .expect("not stopped");
    assert_eq!(outcome.value_ps, Some(1000), "{outcome:?}");
    flag_disturbance(outcome, &DisturbanceConfig::default())
}

fn wait_share(outcome: &ProcessOutcome) -> f64 {
    outcome.usage.run_delay_ms.expect("schedstat is readable") / outcome.wall_ms
}

#[test]
fn a_hog_on_the_core_disturbs_the_sample_and_an_idle_core_does_not() {
    let cores = allowed_cores();
    let hogged = cores[0];
    let shared = {
        let _hog = Hog::on(hogged);
        measured_on(hogged)
    };
    eprintln!(
        "hog on the core: {shared:?}, waiting {:.2}",
        wait_share(&shared)
    );
    // The hog and the sample share the core about half and half.
    assert!(wait_share(&shared) > 0.3, "{shared:?}");
    assert_eq!(shared.status, SampleStatus::Disturbed, "{shared:?}");
    assert!(shared.usage.cpu_ms.is_some_and(|ms| ms > 0.0));
    let Some(&idle) = cores.iter().find(|&&c| c != hogged) else {
        return;
    };
    let _hog = Hog::on(hogged);
    // Other work on a shared machine may hold the idle core too: one undisturbed sample of
    // five shows the hog on the other core does not disturb it. A machine loaded on every
    // core has no idle one to show it on (the thresholds' own test covers a quiet sample).
    for _ in 0..5 {
        let alone = measured_on(idle);
        eprintln!("idle core: {alone:?}, waiting {:.3}", wait_share(&alone));
        if alone.status == SampleStatus::Ok {
            return;
        }
    }
    eprintln!("every core of this machine is busy: the idle case is not shown");
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

#[test]
fn a_value_the_reader_would_refuse_is_a_failed_sample_not_a_recorded_one() {
    let error = parse_output("1000000000000000001\n").unwrap_err();
    assert!(error.contains("more than a million seconds"), "{error}");
    assert_eq!(
        parse_output(&format!("{}\n", crate::model::MAX_VALUE_PS)),
        Ok(crate::model::MAX_VALUE_PS)
    );
}
