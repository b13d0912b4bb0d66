//! The doctor on fake trees: a tuned runner, an untuned one, a container, siblings, a busy
//! core, and tune then reset.

use super::*;
use crate::model::CheckStatus::{Ok, Unknown, Warn};
use tempfile::TempDir;

/// A root directory holding the files a test writes, read as a machine's.
struct Fake {
    dir: TempDir,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, path: &str, text: &str) -> &Fake {
        let path = self.dir.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// A task of `/proc` in `state`, last run on `core`; pids above any pid_max.
    fn task(&self, pid: u64, name: &str, state: &str, core: usize) -> &Fake {
        let mut fields = vec!["0".to_string(); 50];
        fields[0] = state.to_string();
        fields[36] = core.to_string();
        self.file(
            &format!("/proc/{pid}/stat"),
            &format!("{pid} ({name}) {}\n", fields.join(" ")),
        )
    }

    fn read(&self, path: &str) -> String {
        Tree::new(self.dir.path()).read(path).unwrap()
    }

    fn examine(&self, cores: &[usize]) -> Environment {
        let probe = Probe {
            tree: Tree::new(self.dir.path()),
            sampling: Sampling {
                samples: 3,
                interval: Duration::ZERO,
            },
        };
        examine(&probe, cores)
    }
}

/// What is common to both runners: four cores, core 2 and 3 SMT siblings, one IRQ.
fn machine(fake: &Fake) -> &Fake {
    fake.file("/sys/devices/system/cpu/online", "0-3\n")
        .file(
            "/sys/devices/system/cpu/cpu2/topology/thread_siblings_list",
            "2-3\n",
        )
        .file(
            "/sys/devices/system/cpu/cpu3/topology/thread_siblings_list",
            "2-3\n",
        )
        .file(
            "/proc/interrupts",
            "   CPU0 CPU1 CPU2 CPU3\n 24: 5 0 0 0 IO-APIC 5-edge ACPI\nLOC: 1 1 1 1 Local timer\n",
        )
        .task(5_000_001, "sleeper", "S", 2)
}

fn tuned() -> Fake {
    let fake = Fake::new();
    machine(&fake)
        .file(
            "/proc/cmdline",
            "BOOT_IMAGE=/vmlinuz isolcpus=domain,managed_irq,2-3 nohz_full=2-3 irqaffinity=0-1\n",
        )
        .file("/sys/devices/system/cpu/isolated", "2-3\n")
        .file("/proc/irq/24/smp_affinity_list", "0-1\n")
        .file(
            "/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor",
            "performance\n",
        )
        .file(
            "/sys/devices/system/cpu/cpu2/cpufreq/scaling_min_freq",
            "3000000\n",
        )
        .file(
            "/sys/devices/system/cpu/cpu2/cpufreq/scaling_max_freq",
            "3000000\n",
        )
        .file("/sys/devices/system/cpu/intel_pstate/no_turbo", "1\n")
        .file("/proc/sys/kernel/randomize_va_space", "2\n")
        .file(
            "/proc/meminfo",
            "MemTotal: 8000000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
        )
        .file("/proc/loadavg", "0.10 0.05 0.01 1/100 123\n")
        .file("/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu sse2 aes\n");
    fake
}

fn untuned() -> Fake {
    let fake = Fake::new();
    machine(&fake)
        .file("/proc/cmdline", "BOOT_IMAGE=/vmlinuz quiet\n")
        .file("/sys/devices/system/cpu/isolated", "\n")
        .file("/proc/irq/24/smp_affinity_list", "0-3\n")
        .task(5_000_002, "stress ng", "R", 2)
        .task(5_000_003, "cc1", "R", 3)
        .file(
            "/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor",
            "powersave\n",
        )
        .file(
            "/sys/devices/system/cpu/cpu2/cpufreq/scaling_min_freq",
            "800000\n",
        )
        .file(
            "/sys/devices/system/cpu/cpu2/cpufreq/scaling_max_freq",
            "3600000\n",
        )
        .file("/sys/devices/system/cpu/intel_pstate/no_turbo", "0\n")
        .file("/proc/sys/kernel/randomize_va_space", "0\n")
        .file(
            "/proc/meminfo",
            "SwapTotal: 2097152 kB\nSwapFree: 1048576 kB\n",
        )
        .file("/proc/loadavg", "4.50 3.00 2.00 5/300 999\n")
        .file(
            "/proc/cpuinfo",
            "processor\t: 0\nflags\t\t: fpu hypervisor sse2\n",
        );
    fake
}

fn find<'a>(environment: &'a Environment, name: &str) -> &'a EnvironmentCheck {
    (environment.checks.iter())
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

fn fix<'a>(environment: &'a Environment, name: &str) -> &'a str {
    find(environment, name).fix.as_deref().unwrap_or("")
}

const NAMES: [&str; 10] = [
    "isolation",
    "irqs",
    "smt",
    "governor",
    "frequency",
    "turbo",
    "aslr",
    "swap",
    "load",
    "hypervisor",
];

#[test]
fn a_tuned_runner_is_all_ok() {
    let environment = tuned().examine(&[2]);
    let names: Vec<&str> = environment.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, NAMES);
    for check in &environment.checks {
        assert_eq!(check.status, Ok, "{}", row(check));
        assert_eq!(check.fix, None);
    }
    assert_eq!(
        find(&environment, "isolation").found,
        "isolated (isolcpus, nohz_full)"
    );
    assert_eq!(find(&environment, "smt").found, "sibling 3 isolated");
    assert_eq!(find(&environment, "frequency").found, "fixed at 3.00 GHz");
    assert_eq!(footer(&environment), "runner checked: all ok");
    assert_eq!(tally(&environment), "10 ok, 0 warn, 0 unknown");
}

#[test]
fn an_untuned_runner_warns_on_each_check_with_its_fix() {
    let environment = untuned().examine(&[2]);
    for check in &environment.checks {
        assert_eq!(check.status, Warn, "{}", row(check));
        assert!(check.fix.is_some(), "{}", row(check));
    }
    let isolation = find(&environment, "isolation");
    assert_eq!(
        isolation.found,
        "busy: stress ng (pid 5000002) runnable in 3 of 3 samples"
    );
    assert!(fix(&environment, "isolation").contains("`isolcpus=2 nohz_full=2 rcu_nocbs=2`"));
    assert_eq!(
        find(&environment, "irqs").found,
        "1 IRQs may be routed to it"
    );
    assert!(fix(&environment, "irqs").contains("`irqaffinity=0-1,3`"));
    assert!(
        find(&environment, "smt")
            .found
            .starts_with("sibling 3 busy: cc1")
    );
    assert!(fix(&environment, "smt").contains("`isolcpus=2-3`"));
    let governor = "`echo performance > /sys/devices/system/cpu/cpu2/cpufreq/scaling_governor`";
    assert!(fix(&environment, "governor").starts_with(governor));
    assert_eq!(find(&environment, "frequency").found, "0.80 GHz–3.60 GHz");
    let min = "`echo 3600000 > /sys/devices/system/cpu/cpu2/cpufreq/scaling_min_freq`";
    assert!(fix(&environment, "frequency").starts_with(min));
    let turbo = "`echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo`";
    assert!(fix(&environment, "turbo").starts_with(turbo));
    assert!(
        fix(&environment, "aslr").starts_with("`echo 2 > /proc/sys/kernel/randomize_va_space`")
    );
    assert_eq!(find(&environment, "swap").found, "1024 MiB in use");
    assert_eq!(find(&environment, "load").found, "4.50 on 4 cores");
    assert!(fix(&environment, "load").contains("below 3"));
    assert_eq!(find(&environment, "hypervisor").found, "virtual machine");
    let line = footer(&environment);
    assert!(
        line.starts_with("runner: 10 checks warn (isolation busy: stress ng"),
        "{line}"
    );
    assert!(line.contains("governor powersave on core 2, "), "{line}");
    assert!(line.ends_with("; `wasmgate doctor` for details"), "{line}");
}

#[test]
fn a_container_without_sysfs_or_proc_is_all_unknown() {
    let fake = Fake::new();
    let environment = fake.examine(&[1]);
    assert_eq!(environment.checks.len(), NAMES.len());
    for check in &environment.checks {
        assert_eq!(check.status, Unknown, "{}", row(check));
        assert!(check.found.contains("cannot read"), "{}", row(check));
        // What is missing is named as on the machine, never by the fake root.
        let root = fake.dir.path().to_string_lossy().to_string();
        assert!(!check.found.contains(&root), "{}", row(check));
    }
    assert!(
        footer(&environment).starts_with("runner: no check warns, 10 unknown (isolation, irqs")
    );
}

#[test]
fn siblings_both_measured_warn_on_each() {
    let environment = tuned().examine(&[2, 3]);
    let smt: Vec<&EnvironmentCheck> = (environment.checks.iter())
        .filter(|c| c.name == "smt")
        .collect();
    assert_eq!(smt.len(), 2);
    assert_eq!(smt[0].found, "sibling 3 measured too");
    assert_eq!(smt[1].found, "sibling 2 measured too");
    assert!(smt[0].fix.as_deref().unwrap().contains("`--cores 2`"));
    assert!(smt.iter().all(|c| c.status == Warn));
}

#[test]
fn a_busy_core_is_seen_through_proc_stat_and_its_threads() {
    let fake = Fake::new();
    fake.file("/proc/cmdline", "quiet\n")
        .task(5_000_001, "idle", "S", 1)
        .task(5_000_002, "elsewhere", "R", 0)
        .file("/proc/5000003/task/5000004/stat", "5000004 (worker) R 0 0")
        .file(
            "/proc/5000003/task/5000005/stat",
            &format!("5000005 (worker thread) R {}", ["7"; 36].join(" ")),
        );
    let quiet = fake.examine(&[1]);
    assert_eq!(find(&quiet, "isolation").status, Ok);
    assert_eq!(
        find(&quiet, "isolation").found,
        "not isolated, idle in 3 samples over 0 ms"
    );
    fake.task(5_000_006, "noisy", "R", 1);
    let busy = fake.examine(&[1]);
    assert_eq!(find(&busy, "isolation").status, Warn);
    assert_eq!(
        find(&busy, "isolation").found,
        "busy: noisy (pid 5000006) runnable in 3 of 3 samples"
    );
    let threaded = fake.examine(&[7]);
    assert!(
        find(&threaded, "isolation")
            .found
            .contains("worker thread (pid 5000003)")
    );
}

#[test]
fn a_run_that_pins_nothing_is_told_so() {
    let environment = tuned().examine(&[]);
    assert_eq!(environment.checks[0].name, "pinning");
    assert_eq!(environment.checks[0].status, Warn);
    assert!(!environment.checks.iter().any(|c| c.core.is_some()));
}

#[test]
fn tune_then_reset_restores_the_runner_own_values() {
    let fake = untuned();
    let tree = Tree::new(fake.dir.path());
    let saved = fake.dir.path().join("cache/doctor/saved.json");
    let changes = tune::tune(&tree, &[2], &saved).unwrap();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(
        fake.read("/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor"),
        "performance"
    );
    assert_eq!(
        fake.read("/sys/devices/system/cpu/cpu2/cpufreq/scaling_min_freq"),
        "3600000"
    );
    assert_eq!(
        fake.read("/sys/devices/system/cpu/intel_pstate/no_turbo"),
        "1"
    );
    let environment = fake.examine(&[2]);
    for name in ["governor", "frequency", "turbo"] {
        assert_eq!(find(&environment, name).status, Ok, "{name}");
    }
    // A second tune changes nothing and keeps the values the runner had.
    assert!(tune::tune(&tree, &[2], &saved).unwrap().is_empty());
    let restored = tune::reset(&tree, &saved).unwrap();
    assert_eq!(restored.len(), 3);
    assert_eq!(
        fake.read("/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor"),
        "powersave"
    );
    assert_eq!(
        fake.read("/sys/devices/system/cpu/cpu2/cpufreq/scaling_min_freq"),
        "800000"
    );
    assert_eq!(
        fake.read("/sys/devices/system/cpu/intel_pstate/no_turbo"),
        "0"
    );
    assert!(!saved.exists());
    let again = tune::reset(&tree, &saved).unwrap_err().to_string();
    assert!(again.starts_with("nothing to reset: "), "{again}");
}

#[test]
fn tune_writes_nothing_where_nothing_is_exposed_and_reset_refuses_other_files() {
    let fake = Fake::new();
    let tree = Tree::new(fake.dir.path());
    let saved = fake.dir.path().join("saved.json");
    assert!(tune::tune(&tree, &[0], &saved).unwrap().is_empty());
    assert!(!saved.exists());
    std::fs::write(
        &saved,
        r#"{"values": [{"file": "/etc/passwd", "value": "x"}]}"#,
    )
    .unwrap();
    let error = tune::reset(&tree, &saved).unwrap_err().to_string();
    assert!(
        error.contains("field `values[0].file`: `/etc/passwd` is not a CPU setting"),
        "{error}"
    );
}

#[test]
fn settings_that_differ_are_stated_and_observations_are_not() {
    let tuned = tuned().examine(&[2]);
    let mut busier = tuned.clone();
    for check in busier.checks.iter_mut().filter(|c| c.name == "load") {
        check.status = Warn;
    }
    assert!(setting_differences(&tuned, &busier).is_empty());
    let untuned = untuned().examine(&[2]);
    let differences = setting_differences(&untuned, &tuned);
    assert_eq!(
        differences[0],
        "governor warn (powersave on core 2) vs ok (performance on core 2)"
    );
    assert_eq!(differences.len(), 6, "{differences:?}");
    let container = Fake::new().examine(&[2]);
    assert!(setting_differences(&container, &tuned).is_empty());
}
