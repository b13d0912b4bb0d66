use super::*;
use crate::model::SampleStatus;
use crate::run::fake_executor::{
    FakeExecutor, ScriptedStep, Span, exactly, most_at_once, schedule, suite, tests,
};
use crate::stats::stopping::{Goal, VerdictRule};
use std::collections::BTreeSet;
use std::io::IsTerminal;

/// What a scheduler runs on: fixture tests and runtimes, a schedule, a stop flag.
struct Bench {
    suite: Suite,
    tests: Vec<TestModule>,
    runtimes: Vec<Runtime>,
    schedule: Schedule,
    stop: AtomicBool,
}

impl Bench {
    fn new(tests_named: &[&str], runtimes_named: &[&str], stopping: Stopping) -> Bench {
        let suite = suite();
        Bench {
            tests: tests(&suite, tests_named),
            suite,
            runtimes: runtimes_named
                .iter()
                .map(|name| Runtime::for_tests(name))
                .collect(),
            schedule: schedule(stopping),
            stop: AtomicBool::new(false),
        }
    }

    fn scheduler<'b>(&'b self, executor: &'b dyn Executor) -> Scheduler<'b> {
        Scheduler {
            suite: &self.suite,
            runtimes: &self.runtimes,
            tests: &self.tests,
            schedule: &self.schedule,
            stop: &self.stop,
            executor,
        }
    }

    fn run(&self, executor: &dyn Executor, earlier: &[Sample]) -> (Ending, Vec<Sample>) {
        self.run_logging(executor, earlier, None)
    }

    fn run_logging(
        &self,
        executor: &dyn Executor,
        earlier: &[Sample],
        log: Option<ProgressLog>,
    ) -> (Ending, Vec<Sample>) {
        let mut samples = Vec::new();
        let ran = self
            .scheduler(executor)
            .run_logging(
                earlier,
                |sample| {
                    samples.push(sample);
                    Ok(())
                },
                log,
            )
            .unwrap();
        (ran.ending, samples)
    }
}

fn of<'s>(samples: &'s [Sample], test: &str, runtime: &str) -> Vec<&'s Sample> {
    samples
        .iter()
        .filter(|s| s.test == test && s.runtime == runtime)
        .collect()
}

fn steady(_: &str, _: &str, _: usize) -> ScriptedStep {
    ScriptedStep::Value(1000)
}

#[test]
fn the_budget_ends_the_run_between_whole_blocks() {
    let mut bench = Bench::new(&["sign", "hash", "hash2"], &["a", "b"], exactly(10_000));
    bench.schedule.budget = Some(Duration::from_millis(150));
    bench.schedule.cores = vec![None, None];
    // Samples report far more wall time than they take, so a block that the budget lets
    // start always ends in time, however loaded the machine running the test.
    let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(1), 20.0);
    let started = Instant::now();
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::BudgetSpent);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        samples.len() >= 6,
        "round 0 has no estimate yet: it runs whole"
    );
    assert_eq!(fake.calls().len(), samples.len(), "no sample was abandoned");
    let mut blocks: BTreeMap<(&str, u32), BTreeSet<&str>> = BTreeMap::new();
    for sample in &samples {
        blocks
            .entry((&sample.test, sample.round))
            .or_default()
            .insert(&sample.runtime);
    }
    for (block, runtimes) in blocks {
        assert_eq!(runtimes, BTreeSet::from(["a", "b"]), "{block:?}");
    }
}

#[test]
fn a_run_says_how_many_tests_it_left_unsettled_and_what_the_harness_cost() {
    let ran = |bench: &Bench| {
        let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(2), 40.0);
        (bench.scheduler(&fake).run_logging(&[], |_| Ok(()), None)).unwrap()
    };
    let mut bench = Bench::new(&["sign", "hash", "hash2"], &["a", "b"], exactly(50));
    let finished = ran(&bench);
    assert_eq!(
        (finished.ending, finished.unsettled, finished.tests),
        (Ending::Finished, 0, 3)
    );
    let cost = finished.harness.expect("samples were taken");
    assert_eq!(cost.samples, 3 * 2 * 50);
    assert!(cost.wall_ms_per_sample >= 0.0 && cost.cpu_ms_per_sample >= 0.0);
    bench.schedule.budget = Some(Duration::from_millis(300));
    let spent = ran(&bench);
    assert_eq!(spent.ending, Ending::BudgetSpent);
    assert_eq!(spent.unsettled, 3);
}

#[test]
fn a_sample_cut_by_the_deadline_is_not_recorded() {
    let mut bench = Bench::new(&["sign"], &["a"], exactly(3));
    bench.schedule.budget = Some(Duration::from_millis(30));
    let fake = FakeExecutor::new(steady).pausing(Duration::from_secs(5), 1.0);
    let started = Instant::now();
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::BudgetSpent);
    assert!(samples.is_empty());
    assert_eq!(fake.calls().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn absurd_wall_times_of_a_resumed_run_do_not_panic() {
    let mut bench = Bench::new(&["sign", "hash"], &["a"], exactly(2));
    bench.schedule.budget = Some(Duration::from_secs(60));
    let (_, mut earlier) = bench.run(&FakeExecutor::new(steady), &[]);
    earlier.truncate(2);
    earlier[0].wall_ms = 1e300;
    earlier[1].wall_ms = -1.0;
    bench.schedule.stopping = exactly(3);
    let fake = FakeExecutor::new(steady);
    let (ending, resumed) = bench.run(&fake, &earlier);
    assert_eq!(ending, Ending::BudgetSpent);
    let never_fits = &earlier[0].test;
    assert!(resumed.iter().all(|s| &s.test != never_fits));
    assert!(!resumed.is_empty(), "the other test runs on");
}

#[test]
fn a_hang_is_a_timeout_sample_and_the_run_goes_on() {
    let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
    let fake = FakeExecutor::new(|test, runtime, nth| match (test, runtime, nth) {
        ("hash", "a", 0) => ScriptedStep::Hang,
        _ => ScriptedStep::Value(1000),
    });
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    let hung = of(&samples, "hash", "a");
    assert_eq!(hung.len(), 3);
    assert_eq!(hung[0].status, SampleStatus::Timeout);
    assert_eq!(hung[0].wall_ms, 1000.0);
    let message = hung[0].message.as_deref().unwrap();
    assert!(message.contains("timed out after 1 s"), "{message}");
    assert!(hung[1..].iter().all(|s| s.status == SampleStatus::Ok));
    for (test, runtime) in [("sign", "a"), ("sign", "b"), ("hash", "b")] {
        assert_eq!(of(&samples, test, runtime).len(), 3, "{test} on {runtime}");
    }
}

#[test]
fn a_crash_is_a_failed_sample_with_its_message() {
    let bench = Bench::new(&["sign"], &["a", "b"], exactly(3));
    let fake = FakeExecutor::new(|_, runtime, nth| match (runtime, nth) {
        ("b", 1) => ScriptedStep::Crash("wasm trap: unreachable\n"),
        _ => ScriptedStep::Value(1000),
    });
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    let crashed = of(&samples, "sign", "b");
    assert_eq!(crashed.len(), 3, "one failure does not close the test");
    assert_eq!(crashed[1].status, SampleStatus::Failed);
    assert_eq!(crashed[1].exit_code, Some(134));
    assert_eq!(crashed[1].value_ps, None);
    let message = crashed[1].message.as_deref().unwrap();
    assert!(message.contains("exit status 134"), "{message}");
    assert!(message.contains("wasm trap: unreachable"), "{message}");
}

#[test]
fn two_failures_close_a_test_for_that_runtime_only() {
    let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(4));
    let fake = FakeExecutor::new(|test, runtime, _| match (test, runtime) {
        ("sign", "b") => ScriptedStep::Crash("abort"),
        _ => ScriptedStep::Value(1000),
    });
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    let failed = of(&samples, "sign", "b");
    assert_eq!(failed.len(), FAILURES_TO_CLOSE);
    assert!(failed.iter().all(|s| s.status == SampleStatus::Failed));
    for (test, runtime) in [("sign", "a"), ("hash", "a"), ("hash", "b")] {
        let taken = of(&samples, test, runtime);
        assert_eq!(taken.len(), 4, "{test} on {runtime}");
        assert!(taken.iter().all(|s| s.status == SampleStatus::Ok));
    }
}

/// The spans of a run of every fixture test on two runtimes, two rounds, on one worker per
/// core of `cores`. Each sample lasts 5 ms: long enough that workers started together
/// overlap, short enough that the run takes well under a second.
fn spans_on(cores: &[usize]) -> Vec<Span> {
    let every = ["sign", "hash", "hash2", "misuse", "aead_aegis256"];
    let mut bench = Bench::new(&every, &["a", "b"], exactly(2));
    bench.schedule.cores = cores.iter().map(|c| Some(*c)).collect();
    let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(5), 5.0);
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    assert_eq!(samples.len(), 20);
    fake.spans()
}

/// The spans of the samples one core took.
fn on_core(spans: &[Span], core: usize) -> Vec<Span> {
    spans
        .iter()
        .filter(|span| span.core == Some(core))
        .copied()
        .collect()
}

#[test]
fn idle_workers_take_the_next_rounds_of_the_tests_still_open() {
    // One test open on two cores: each worker takes a round of it at the same time, each
    // round's pair back to back on one core, and the test stops at its maximum (5: two
    // rounds at once, twice, then one).
    let mut bench = Bench::new(&["sign"], &["a", "b"], exactly(5));
    bench.schedule.cores = vec![Some(0), Some(1)];
    let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(5), 5.0);
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    assert_eq!(most_at_once(&fake.spans()), 2);
    for runtime in ["a", "b"] {
        let rounds: Vec<u32> = of(&samples, "sign", runtime)
            .iter()
            .map(|s| s.round)
            .collect();
        assert_eq!(rounds.len(), 5, "never beyond the maximum: {rounds:?}");
        assert_eq!(
            rounds.iter().collect::<BTreeSet<_>>().len(),
            5,
            "{rounds:?}"
        );
    }
    for round in 0..5 {
        let cores: BTreeSet<Option<usize>> = (samples.iter())
            .filter(|s| s.round == round)
            .map(|s| s.core)
            .collect();
        assert_eq!(cores.len(), 1, "round {round}'s pair on one core");
    }
    // With as many tests open as workers, a round is one block a test.
    let mut bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
    bench.schedule.cores = vec![Some(0), Some(1)];
    let (_, samples) = bench.run(&FakeExecutor::new(steady), &[]);
    assert_eq!(samples.len(), 2 * 2 * 3);
    assert!(samples.iter().all(|s| s.round < 3));
}

#[test]
fn a_worker_takes_its_next_block_when_its_own_ends_not_when_the_slowest_does() {
    // `sign` takes 60 ms a sample, `hash` 5 ms, four rounds each, on two workers. With a
    // barrier between rounds, hash's second round would wait for sign's first; without one,
    // the worker that ran hash takes hash's next rounds, then the next of sign's.
    let mut bench = Bench::new(&["sign", "hash"], &["a"], exactly(4));
    bench.schedule.cores = vec![Some(0), Some(1)];
    let fake = FakeExecutor::new(steady)
        .pausing(Duration::from_millis(5), 5.0)
        .slower("sign", Duration::from_millis(60));
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    assert_eq!(samples.len(), 8);
    let spans = fake.spans();
    let first_sign_end = (spans.iter())
        .filter(|span| span.test == "sign")
        .map(|span| span.end)
        .min()
        .unwrap();
    let hash_done = (spans.iter())
        .filter(|span| span.test != "sign")
        .map(|span| span.end)
        .max()
        .unwrap();
    assert!(hash_done < first_sign_end, "hash waited for sign's round");
    let sign_cores: BTreeSet<Option<usize>> = (spans.iter())
        .filter(|span| span.test == "sign")
        .map(|span| span.core)
        .collect();
    assert_eq!(sign_cores.len(), 2, "both workers took sign's rounds");
}

#[test]
fn a_worker_that_panics_does_not_leave_the_run_waiting_for_it() {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bench = Bench::new(&["sign", "hash"], &["a"], exactly(3));
        bench.schedule.cores = vec![None, None];
        let fake = FakeExecutor::new(|test, _, nth| {
            assert!(!(test == "sign" && nth == 1), "a bug in a sample");
            ScriptedStep::Value(1000)
        });
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bench.run(&fake, &[])));
        let _ = done.send(ran.is_err());
    });
    let panicked = finished.recv_timeout(Duration::from_secs(20));
    assert_eq!(
        panicked,
        Ok(true),
        "the panic reached the caller, without a hang"
    );
}

#[test]
fn each_core_runs_a_worker_and_the_workers_sample_at_the_same_time() {
    for cores in [vec![2, 3], vec![1, 2, 3]] {
        let spans = spans_on(&cores);
        assert_eq!(most_at_once(&spans), cores.len(), "cores {cores:?}");
        for &core in &cores {
            let taken = on_core(&spans, core);
            assert!(!taken.is_empty(), "core {core} of {cores:?} took no sample");
            assert_eq!(most_at_once(&taken), 1, "core {core} of {cores:?}");
        }
    }
}

#[test]
fn one_core_never_has_two_samples_at_once() {
    let spans = spans_on(&[3]);
    assert_eq!(most_at_once(&spans), 1);
    assert_eq!(on_core(&spans, 3).len(), spans.len());
}

#[test]
fn a_resumed_run_counts_earlier_samples_and_continues_the_numbering() {
    let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
    // Killed as round 1 begins: the sample in flight is lost, round 0 is kept.
    let killed = FakeExecutor::new(|_, _, nth| match nth {
        0 => ScriptedStep::Value(1000),
        _ => ScriptedStep::Interrupt,
    });
    let (ending, earlier) = bench.run(&killed, &[]);
    assert_eq!(ending, Ending::Interrupted);
    assert_eq!(earlier.len(), 4);
    assert!(earlier.iter().all(|s| s.round == 0));

    bench.stop.store(false, Ordering::SeqCst);
    let fake = FakeExecutor::new(steady);
    let (ending, resumed) = bench.run(&fake, &earlier);
    assert_eq!(ending, Ending::Finished);
    assert_eq!(
        resumed.len(),
        8,
        "two more rounds make three with the earlier one"
    );
    let rounds: BTreeSet<u32> = resumed.iter().map(|s| s.round).collect();
    assert_eq!(rounds, BTreeSet::from([1, 2]));
    let orders: Vec<u64> = resumed.iter().map(|s| s.order).collect();
    assert_eq!(orders, (4..12).collect::<Vec<u64>>());
}

#[test]
fn the_stop_flag_ends_the_run_interrupted() {
    let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
    bench.stop.store(true, Ordering::SeqCst);
    let fake = FakeExecutor::new(steady);
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Interrupted);
    assert!(samples.is_empty());
    assert!(fake.calls().is_empty(), "nothing starts once stopped");

    bench.stop.store(false, Ordering::SeqCst);
    let fake = FakeExecutor::new(|test, runtime, nth| match (test, runtime, nth) {
        ("hash", "b", 1) => ScriptedStep::Interrupt,
        _ => ScriptedStep::Value(1000),
    });
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Interrupted);
    assert_eq!(
        samples.len(),
        fake.calls().len() - 1,
        "the one in flight is lost"
    );
    assert_eq!(of(&samples, "hash", "b").len(), 1);
}

#[test]
fn a_disturbed_pair_is_measured_again_and_the_new_pair_is_used() {
    let bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(3));
    // b's first sign sample had its core taken away: its value is slowed, not measured.
    let fake = FakeExecutor::new(|test, runtime, nth| match (test, runtime, nth) {
        ("sign", "b", 0) => ScriptedStep::Disturbed(5000),
        _ => ScriptedStep::Value(1000),
    });
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    let disturbed = of(&samples, "sign", "b");
    assert_eq!(disturbed.len(), 4, "three values and the disturbed one");
    assert_eq!(disturbed[0].status, SampleStatus::Disturbed);
    assert_eq!(disturbed[0].value_ps, Some(5000), "kept for the record");
    assert_eq!(disturbed[0].run_delay_ms, Some(0.4));
    let message = disturbed[0].message.as_deref().unwrap();
    assert!(message.contains("waited for its core"), "{message}");
    assert!(disturbed[1..].iter().all(|s| s.status == SampleStatus::Ok));
    // a ran a fourth round with b; round 0's a is left unpaired, so three pairs remain,
    // none with the disturbed value.
    let a = of(&samples, "sign", "a");
    assert_eq!(a.len(), 4);
    let by_round = |side: &[&Sample]| -> BTreeMap<u32, f64> {
        side.iter()
            .filter_map(|s| Some((s.round, s.ok_value()?)))
            .collect()
    };
    let pairs = stats::pair_by_round(&by_round(&a), &by_round(&disturbed));
    assert_eq!(pairs, vec![(1000.0, 1000.0); 3]);
    assert_eq!(of(&samples, "hash", "a").len(), 3, "other tests unaffected");
}

#[test]
fn rounds_disturbed_on_either_side_are_made_up_in_pairs() {
    let bench = Bench::new(&["sign"], &["a", "b"], exactly(3));
    // a disturbed in round 0, b in round 1: two rounds give no pair, though each side
    // has a value there. Counting values, the test would end after round 3 with 2 pairs.
    let fake = FakeExecutor::new(|_, runtime, nth| match (runtime, nth) {
        ("a", 0) | ("b", 1) => ScriptedStep::Disturbed(5000),
        _ => ScriptedStep::Value(1000),
    });
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    let by_round = |runtime: &str| -> BTreeMap<u32, f64> {
        of(&samples, "sign", runtime)
            .iter()
            .filter_map(|s| Some((s.round, s.ok_value()?)))
            .collect()
    };
    let pairs = stats::pair_by_round(&by_round("a"), &by_round("b"));
    assert_eq!(pairs.len(), 3, "{samples:?}");
    assert_eq!(of(&samples, "sign", "a").len(), 5, "rounds 0 to 4");
}

#[test]
fn a_pair_always_disturbed_closes_at_the_cap_and_says_why() {
    let bench = Bench::new(&["sign"], &["a", "b"], exactly(3));
    let fake = FakeExecutor::new(|_, runtime, _| match runtime {
        "b" => ScriptedStep::Disturbed(1000),
        _ => ScriptedStep::Value(1000),
    });
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    let b = of(&samples, "sign", "b");
    assert_eq!(b.len(), 3, "max_samples disturbed samples, then no more");
    assert!(b.iter().all(|s| s.status == SampleStatus::Disturbed));
    let last = b[2].message.as_deref().unwrap();
    assert!(last.contains("3 disturbed samples"), "{last}");
    assert!(last.contains("measures the test no more"), "{last}");
    // a goes on alone to its own three values, as after a failure.
    let a = of(&samples, "sign", "a");
    assert_eq!(a.iter().filter(|s| s.ok_value().is_some()).count(), 3);
}

#[test]
fn with_detection_off_a_disturbed_sample_is_a_value() {
    let mut bench = Bench::new(&["sign"], &["a"], exactly(2));
    bench.schedule.disturbance.enabled = false;
    let fake = FakeExecutor::new(|_, _, _| ScriptedStep::Disturbed(1000));
    let (_, samples) = bench.run(&fake, &[]);
    assert_eq!(samples.len(), 2);
    assert!(samples.iter().all(|s| s.status == SampleStatus::Ok));
}

/// Sign on runtimes a and b, 6 to 12 samples, to 1 %: b's values are a's times `ratio`,
/// with a wobble of a few per mille.
fn paired_run(ratio: f64, goal: Goal) -> Vec<Sample> {
    let bench = Bench::new(
        &["sign"],
        &["a", "b"],
        Stopping {
            min_samples: 6,
            max_samples: 12,
            precision: 0.01,
            min_effect: 0.02,
            counts: false,
            goal,
        },
    );
    let fake = FakeExecutor::new(move |_, runtime, nth| {
        let value = 1000.0 + (nth % 3) as f64;
        ScriptedStep::Value(if runtime == "b" { value * ratio } else { value } as u64)
    });
    let (ending, samples) = bench.run(&fake, &[]);
    assert_eq!(ending, Ending::Finished);
    samples
}

/// A gate's goal: each verdict decided.
fn verdicts() -> Goal {
    Goal::Verdict(VerdictRule {
        confidence: 0.99,
        alpha: 0.01,
        family: 1,
        paired_test: crate::model::PairedTest::TrimmedT,
    })
}

#[test]
fn a_quiet_pair_stops_at_the_minimum() {
    let samples = paired_run(1.0, verdicts());
    assert_eq!(of(&samples, "sign", "a").len(), 6);
    assert_eq!(of(&samples, "sign", "b").len(), 6);
}

#[test]
fn a_pair_whose_verdict_is_undecided_goes_on_to_the_maximum() {
    // On the minimum effect itself: neither inside it nor beyond it.
    let samples = paired_run(1.02, verdicts());
    assert_eq!(of(&samples, "sign", "a").len(), 12);
    assert_eq!(of(&samples, "sign", "b").len(), 12);
}

#[test]
fn a_report_stops_a_changed_pair_once_its_ratio_is_precise() {
    let samples = paired_run(1.1, Goal::Precision);
    assert_eq!(of(&samples, "sign", "b").len(), 6);
}

fn ticking(step: Duration) -> Box<dyn Fn() -> Instant> {
    let start = Instant::now();
    let readings = std::cell::Cell::new(0);
    Box::new(move || {
        readings.set(readings.get() + 1);
        start + step * readings.get()
    })
}

#[test]
fn a_log_gets_a_progress_line_every_interval() {
    let mut bench = Bench::new(&["sign", "hash"], &["a", "b"], exactly(2));
    bench.schedule.budget = Some(Duration::from_secs(600));
    // Each sample says it took 20 s; the clock moves 10 s each time a sample starts.
    let fake = FakeExecutor::new(steady).pausing(Duration::ZERO, 20_000.0);
    let mut out = Vec::new();
    let wake = Duration::from_secs(3600);
    let log = ProgressLog::new(
        Duration::from_secs(30),
        wake,
        ticking(Duration::from_secs(10)),
        Box::new(&mut out),
    );
    let (ending, samples) = bench.run_logging(&fake, &[], Some(log));
    assert_eq!(ending, Ending::Finished);
    assert_eq!(samples.len(), 8);
    let running = |n: usize| format!("running {} on {}", samples[n].test, samples[n].runtime);
    // At the 3rd start two samples of 20 s are in: 6 to go, on one worker; at the 6th, 3.
    let expected = format!(
        "wasmgate: 30s / 10m budget · round 1 · 2 tests open · {} · ETA 2m\n\
             wasmgate: 1m / 10m budget · round 2 · 2 tests open · {} · ETA 1m\n",
        running(2),
        running(5)
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn a_long_sample_does_not_hold_the_line_back() {
    let bench = Bench::new(&["sign"], &["a"], exactly(1));
    let fake = FakeExecutor::new(steady).pausing(Duration::from_millis(100), 1.0);
    let mut out = Vec::new();
    let wake = Duration::from_millis(5);
    let log = ProgressLog::new(
        Duration::ZERO,
        wake,
        Box::new(Instant::now),
        Box::new(&mut out),
    );
    bench.run_logging(&fake, &[], Some(log));
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .iter()
            .all(|line| line.starts_with("wasmgate: 0s elapsed · round 1 · 1 test open · ")),
        "{text}"
    );
    let while_running = lines
        .iter()
        .filter(|line| line.ends_with("running sign on a · ETA after the first samples"))
        .count();
    assert!(while_running >= 2, "at its start and while it runs: {text}");
}

#[test]
fn lines_go_to_a_stderr_that_is_no_terminal_unless_quiet() {
    let mut bench = Bench::new(&["sign"], &["a"], exactly(1));
    let fake = FakeExecutor::new(steady);
    assert!(bench.scheduler(&fake).progress_log().is_none());
    bench.schedule.progress = true;
    let on_a_terminal = std::io::stderr().is_terminal();
    assert_eq!(
        bench.scheduler(&fake).progress_log().is_none(),
        on_a_terminal
    );
}

#[test]
fn the_eta_is_the_estimate_cut_to_the_budget() {
    let minutes = |m: u64| Duration::from_secs(60 * m);
    let status = |budget: Option<Duration>, left: Option<(Duration, Duration)>| Status {
        elapsed: minutes(2),
        budget,
        round: 1,
        open: 1,
        in_flight: Vec::new(),
        left,
    };
    let eta = |budget, left| status(budget, left).eta();
    assert_eq!(eta(None, None), "ETA after the first samples");
    assert_eq!(eta(Some(minutes(10)), None), "ETA at most 8m (budget)");
    assert_eq!(eta(None, Some((minutes(1), minutes(3)))), "ETA 1m to 3m");
    assert_eq!(
        eta(Some(minutes(10)), Some((minutes(1), minutes(30)))),
        "ETA 1m to 8m"
    );
    assert_eq!(
        eta(Some(minutes(10)), Some((minutes(9), minutes(30)))),
        "ETA 8m (budget)"
    );
    let line = status(None, None).to_string();
    assert_eq!(
        line,
        "2m elapsed · round 1 · 1 test open · between samples · ETA after the first samples"
    );
}
