use super::schema::{default_min_effect_instructions, default_paired_test};
use super::*;
use std::path::PathBuf;

#[test]
fn embedded_default_parses() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert!(config.runtimes.contains_key("wasmtime"));
    assert!(config.runtimes.contains_key("node"));
    assert_eq!(
        config.toolchain.wasm_opt.flags,
        ["-O4", "--enable-bulk-memory"]
    );
}

#[test]
fn shown_config_parses_back_to_the_same() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    let shown = to_yaml(&config).unwrap();
    let again = parse(&shown, "shown").unwrap();
    assert_eq!(to_yaml(&again).unwrap(), shown);
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let text = DEFAULT_YAML.replace("  samples: 5\n", "  samples: 5\n  sampels: 7\n");
    let err = parse(&text, "my.yml").unwrap_err().to_string();
    assert!(err.starts_with("my.yml:"), "{err}");
    assert!(err.contains("unknown field `sampels`"), "{err}");
    assert!(err.contains("field `run.sampels`"), "{err}");
    let line = text.lines().position(|l| l.contains("sampels")).unwrap() + 1;
    assert!(
        err.contains(&format!(":{line}:")),
        "line {line} not in {err}"
    );
}

#[test]
fn wrong_type_names_the_nested_field() {
    let text = DEFAULT_YAML.replace("timeout_seconds: 120", "timeout_seconds: soon");
    let err = parse(&text, "my.yml").unwrap_err().to_string();
    assert!(err.contains("field `run.timeout_seconds`"), "{err}");
    assert!(err.contains("invalid type"), "{err}");
}

#[test]
fn a_core_listed_twice_is_refused() {
    let text = DEFAULT_YAML.replace("  cores: []", "  cores: [1, 1]");
    let err = parse(&text, "c.yml").unwrap_err().to_string();
    assert!(err.contains("run.cores") && err.contains("twice"), "{err}");
}

#[test]
fn malformed_yaml_gives_a_location() {
    let err = parse("source: [unclosed\n", "bad.yml")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bad.yml:"), "{err}");
    assert!(err.matches(':').count() >= 3, "{err}");
}

#[test]
fn run_with_unknown_runtime_is_refused() {
    let text = DEFAULT_YAML.replace(
        "runtimes: [wasmtime, node]",
        "runtimes: [wasmtime, wasmfoo]",
    );
    let err = parse(&text, "my.yml").unwrap_err().to_string();
    assert!(err.contains("unknown runtime `wasmfoo`"), "{err}");
    assert!(err.contains("run.runtimes"), "{err}");
}

#[test]
fn unknown_runtime_lookup_says_how_to_add_it() {
    let loaded = Loaded {
        config: parse(DEFAULT_YAML, "default").unwrap(),
        file: Some(PathBuf::from("w.yml")),
    };
    let err = loaded.runtime("wasmfoo").unwrap_err().to_string();
    assert!(err.contains("unknown runtime `wasmfoo`"), "{err}");
    assert!(err.contains("w.yml"), "{err}");
    assert!(err.contains("known: bun, deno, iwasm"), "{err}");
}

#[test]
fn aot_templates_must_use_their_placeholders() {
    let with_aot = |aot: &str, run: &str| {
        DEFAULT_YAML.replace(
                "runtimes:\n",
                &format!("runtimes:\n  x:\n    install: {{ path: x }}\n    aot: {aot}\n    run: {run}\n    version: [\"{{bin}}\"]\n"),
            )
    };
    let ok = with_aot(
        r#"["{bin}", c, "{module}", "{aot}"]"#,
        r#"["{bin}", "{aot}"]"#,
    );
    assert!(parse(&ok, "ok.yml").is_ok());
    let no_product = with_aot(r#"["{bin}", c, "{module}"]"#, r#"["{bin}", "{aot}"]"#);
    let err = parse(&no_product, "a.yml").unwrap_err().to_string();
    assert!(
        err.contains("runtimes.x.aot") && err.contains("{aot}"),
        "{err}"
    );
    let runs_module = with_aot(
        r#"["{bin}", c, "{module}", "{aot}"]"#,
        r#"["{bin}", "{module}"]"#,
    );
    let err = parse(&runs_module, "b.yml").unwrap_err().to_string();
    assert!(err.contains("runtimes.x.run"), "{err}");
}

#[test]
fn the_compile_step_is_the_chosen_threads_entry_else_the_aot_step_as_the_runtime_chooses() {
    use crate::model::CompileThreads::{Parallel, Runtime, Serial};
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert_eq!(config.run.compile.threads, Serial);
    let step = |name: &str, threads| config.runtimes[name].compile_step(threads);
    // wasmtime compiles without running, on the threads asked for.
    let (serial, threads) = step("wasmtime", Serial).unwrap();
    assert_eq!(threads, Serial);
    assert!(
        serial.contains(&"parallel-compilation=n".to_string()),
        "{serial:?}"
    );
    let (parallel, threads) = step("wasmtime", Parallel).unwrap();
    assert_eq!(threads, Parallel);
    assert!(parallel.contains(&"parallel-compilation=y".to_string()));
    // Without a setting, its own choice: wasmtime's is parallel.
    assert_eq!(step("wasmtime", Runtime).unwrap().1, Parallel);
    // A runtime whose compile step cannot be told: its aot step, as it chooses.
    let (wamrc, threads) = step("iwasm-aot", Serial).unwrap();
    assert_eq!((wamrc[0].as_str(), threads), ("{compiler}", Runtime));
    // Interpreters, engines that compile as they run, and native code have none.
    for none in ["node", "iwasm", "wasm3", "native"] {
        assert!(step(none, Serial).is_none(), "{none}");
    }
    // An entry must turn {module} into {aot}, and give a step.
    let with_compile = |entry: &str| {
        DEFAULT_YAML.replace(
            "runtimes:\n",
            &format!("runtimes:\n  x:\n    install: {{ path: x }}\n    run: [\"{{bin}}\", \"{{module}}\"]\n    version: [\"{{bin}}\"]\n    compile: {entry}\n"),
        )
    };
    let ok = with_compile(r#"{ serial: ["{bin}", c, "{module}", "{aot}"] }"#);
    assert!(parse(&ok, "ok.yml").is_ok());
    let err = parse(
        &with_compile(r#"{ parallel: ["{bin}", c, "{module}"] }"#),
        "a.yml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("runtimes.x.compile.parallel") && err.contains("{aot}"),
        "{err}"
    );
    let err = parse(&with_compile("{}"), "b.yml").unwrap_err().to_string();
    assert!(err.contains("give `serial`, `parallel` or both"), "{err}");
}

#[test]
fn git_installs_and_guards_are_checked_field_by_field() {
    let commit = "25bd7eb63e828e4bd242cc9b38d260b4b31c6605";
    let with = |install: &str, extra: &str| {
        DEFAULT_YAML.replace(
                "runtimes:\n",
                &format!("runtimes:\n  x:\n    install: {install}\n    aot: [c, \"{{module}}\", \"{{aot}}\"]\n    run: [\"{{bin}}\", \"{{aot}}\"]\n    version: [\"{{bin}}\"]\n{extra}"),
            )
    };
    let git = |commit: &str, binary: &str| {
        format!(
            "{{ git: https://github.com/o/r, tag: v1, commit: {commit}, build: [[make]], binary: {binary} }}"
        )
    };
    assert!(parse(&with(&git(commit, "bin/x"), ""), "ok.yml").is_ok());
    let refused = |text: String| parse(&text, "a.yml").unwrap_err().to_string();
    let short = refused(with(&git("25bd7eb", "x"), ""));
    assert!(
        short.contains("runtimes.x.install.commit") && short.contains("40-digit"),
        "{short}"
    );
    for binary in ["/usr/bin/x", "../x", "a/../../x"] {
        let outside = refused(with(&git(commit, binary), ""));
        assert!(
            outside.contains("runtimes.x.install.binary"),
            "{binary}: {outside}"
        );
    }
    let guard = |factor: &str| {
        format!(
            "    aot_guard: {{ interpreter: [\"{{bin}}\", \"{{module}}\"], min_speedup: {factor}, hint: h }}\n"
        )
    };
    assert!(parse(&with(&git(commit, "x"), &guard("5")), "ok.yml").is_ok());
    for factor in ["0.5", "1000", ".nan"] {
        let err = refused(with(&git(commit, "x"), &guard(factor)));
        assert!(err.contains("aot_guard.min_speedup"), "{factor}: {err}");
    }
}

#[test]
fn the_wamr_builds_are_pinned_to_one_commit() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    let pin = |install: &Install| match install {
        Install::Git(GitInstall {
            git, tag, commit, ..
        }) => (git.clone(), tag.clone(), commit.clone()),
        other => panic!("not built from git: {other:?}"),
    };
    let iwasm = pin(&config.runtimes["iwasm"].install);
    let runtime = pin(&config.runtimes["iwasm-aot"].install);
    let compiler = (config.runtimes["iwasm-aot"].compiler.as_ref()).map(|c| pin(&c.install));
    assert_eq!(iwasm, runtime);
    assert_eq!(
        Some(iwasm),
        compiler,
        "wamrc comes from the commit iwasm does"
    );
}

#[test]
fn a_runtime_without_a_version_command_is_refused_even_when_native() {
    let text = DEFAULT_YAML.replace(
            "runtimes:\n",
            "runtimes:\n  mine:\n    install: { path: zig }\n    native: true\n    run: [\"{aot}\"]\n    version: []\n",
        );
    let err = parse(&text, "n.yml").unwrap_err().to_string();
    assert!(err.starts_with("n.yml: field `runtimes.mine`"), "{err}");
    assert!(err.contains("must not be empty"), "{err}");
}

#[test]
fn the_same_check_refuses_a_bad_override_and_names_the_flag() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    let overrides = RunOverrides {
        samples: Some(10),
        max_samples: Some(5),
        ..RunOverrides::default()
    };
    let err = overrides
        .apply(&config.run, Sources::run_fields())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "--max-samples: 5 is below --samples (10); give at least that many"
    );
    let precision = RunOverrides {
        precision: Some(1.5),
        ..RunOverrides::default()
    };
    let err = precision
        .apply(&config.gate_run(), Sources::gate_fields(&config.gate))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("--precision: give a fraction"), "{err}");
    // --samples above the configured maximum asks for that many: the maximum follows.
    let many = RunOverrides {
        samples: Some(50),
        ..RunOverrides::default()
    };
    let run = many.apply(&config.run, Sources::run_fields()).unwrap();
    assert_eq!((run.samples, run.max_samples), (50, 50));
}

#[test]
fn smt_siblings_are_refused_by_default_and_the_flag_allows_them() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert!(!config.run.allow_smt_siblings);
    // A configuration written before the setting existed reads as refusing them.
    let without = DEFAULT_YAML.replace("  allow_smt_siblings: false\n", "");
    assert_ne!(without, DEFAULT_YAML);
    assert!(!parse(&without, "old.yml").unwrap().run.allow_smt_siblings);
    let flag = RunOverrides {
        allow_smt_siblings: true,
        ..RunOverrides::default()
    };
    let run = flag.apply(&config.gate_run(), Sources::gate_fields(&config.gate));
    assert!(run.unwrap().allow_smt_siblings);
}

#[test]
fn the_instructions_measure_has_its_own_sampling_and_minimum_effect() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert_eq!(config.run.instructions, InstructionsConfig::default());
    assert_eq!(config.run.measure, crate::model::Measure::Time);
    assert_eq!(
        config.compare.min_effect_instructions,
        default_min_effect_instructions()
    );
    let flag = RunOverrides {
        measure: Some(crate::model::Measure::Instructions),
        ..RunOverrides::default()
    };
    // The gate's 8 samples and ±10 % give way to the measure's own.
    let run = flag
        .apply(&config.gate_run(), Sources::gate_fields(&config.gate))
        .unwrap();
    assert_eq!(run.samples, config.run.instructions.samples);
    assert_eq!(run.precision, config.run.instructions.precision);
    assert_eq!(run.timeout_seconds, config.run.instructions.timeout_seconds);
    // A flag still wins, and a refusal names the measure's field.
    let flags = RunOverrides {
        samples: Some(3),
        ..flag.clone()
    };
    assert_eq!(
        flags
            .apply(&config.run, Sources::run_fields())
            .unwrap()
            .samples,
        3
    );
    let mut bad = config.run.clone();
    bad.instructions.max_samples = 0;
    let err = flag
        .apply(&bad, Sources::run_fields())
        .unwrap_err()
        .to_string();
    assert!(err.contains("run.instructions"), "{err}");
    let text = DEFAULT_YAML.replace("iterations_divisor: 100", "iterations_divisor: 0");
    let err = parse(&text, "d.yml").unwrap_err().to_string();
    assert!(err.contains("run.instructions.iterations_divisor"), "{err}");
}

#[test]
fn disturbance_defaults_to_the_shipped_thresholds_and_refuses_bad_ones() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert_eq!(config.run.disturbance, DisturbanceConfig::default());
    // A configuration written before the block existed reads with the built-in one.
    let start = DEFAULT_YAML.find("  # Another process").unwrap();
    let end = DEFAULT_YAML
        .find("    max_preemptions_per_second: 1000\n")
        .unwrap();
    let without = format!(
        "{}{}",
        &DEFAULT_YAML[..start],
        &DEFAULT_YAML[end + "    max_preemptions_per_second: 1000\n".len()..]
    );
    let older = parse(&without, "old.yml").unwrap();
    assert_eq!(older.run.disturbance, DisturbanceConfig::default());
    let text = DEFAULT_YAML.replace("max_wait_share: 0.05", "max_wait_share: 5");
    let err = parse(&text, "d.yml").unwrap_err().to_string();
    assert!(
        err.contains("field `run.disturbance.max_wait_share`: give a fraction"),
        "{err}"
    );
    let text = DEFAULT_YAML.replace(
        "max_preemptions_per_second: 1000",
        "max_preemptions_per_second: 0",
    );
    let err = parse(&text, "d.yml").unwrap_err().to_string();
    assert!(
        err.contains("run.disturbance.max_preemptions_per_second"),
        "{err}"
    );
}

#[test]
fn a_file_without_a_paired_test_gets_the_built_in_one() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert_eq!(config.compare.paired_test, default_paired_test());
    let without = DEFAULT_YAML.replace("  paired_test: trimmed-t\n", "");
    assert_ne!(without, DEFAULT_YAML, "the default names its paired test");
    let config = parse(&without, "old").unwrap();
    assert_eq!(config.compare.paired_test, default_paired_test());
}

#[test]
fn random_bytes_are_fixed_unless_the_file_says_system() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert_eq!(config.build.random, RandomBytes::Fixed);
    let without = DEFAULT_YAML.replace("  random: fixed\n", "");
    assert_ne!(without, DEFAULT_YAML, "the default names its random bytes");
    assert_eq!(
        parse(&without, "old").unwrap().build.random,
        RandomBytes::Fixed
    );
    let system = DEFAULT_YAML.replace("  random: fixed\n", "  random: system\n");
    assert_eq!(
        parse(&system, "s").unwrap().build.random,
        RandomBytes::System
    );
    let wrong = DEFAULT_YAML.replace("  random: fixed\n", "  random: sometimes\n");
    let err = parse(&wrong, "w.yml").unwrap_err().to_string();
    assert!(
        err.contains("build.random") && err.contains("sometimes"),
        "{err}"
    );
}

#[test]
fn the_gate_overlay_is_checked_against_its_own_maximum_or_run_max_samples() {
    let text = DEFAULT_YAML.replace("  samples: 8\n", "  samples: 160\n");
    let err = parse(&text, "g.yml").unwrap_err().to_string();
    assert!(
        err.contains("field `gate.max_samples`") && err.contains("gate.samples (160)"),
        "{err}"
    );
    // A configuration written before the gate had its own maximum: run's, named so.
    let old = text.replace("  max_samples: 100\n", "");
    assert_ne!(old, text, "the default names the gate's maximum");
    let err = parse(&old, "old.yml").unwrap_err().to_string();
    assert!(
        err.contains("field `run.max_samples`") && err.contains("gate.samples (160)"),
        "{err}"
    );
    let config = parse(
        &old.replace("  samples: 160\n", "  samples: 8\n"),
        "old.yml",
    )
    .unwrap();
    assert_eq!(config.gate_run().max_samples, config.run.max_samples);
}

#[test]
fn tiers_must_be_positive_increasing_and_listed_once() {
    let tiers = "  tiers: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000,\n          100000, 200000, 500000, 1000000]\n";
    assert!(DEFAULT_YAML.contains(tiers), "the default tiers changed");
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert_eq!(config.build.tiers.len(), 19);
    for bad in ["[]", "[0, 1, 2]", "[1, 5, 2]", "[1, 2, 2, 5]"] {
        let text = DEFAULT_YAML.replace(tiers, &format!("  tiers: {bad}\n"));
        let err = parse(&text, "t.yml").unwrap_err().to_string();
        assert!(
            err.starts_with("t.yml: field `build.tiers`: give iteration counts above 0"),
            "{bad}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn build_plan_reads_null_a_file_or_runner_and_shows_back_the_same() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert_eq!(config.build.plan, PlanChoice::Shipped);
    assert_eq!(config.build.calibration, CalibrationConfig::default());
    for (value, choice) in [
        ("runner", PlanChoice::Runner),
        (
            "my-plan.yml",
            PlanChoice::File(PathBuf::from("my-plan.yml")),
        ),
        ("./runner", PlanChoice::File(PathBuf::from("./runner"))),
    ] {
        let text = DEFAULT_YAML.replace("  plan: null\n", &format!("  plan: {value}\n"));
        let config = parse(&text, "p.yml").unwrap();
        assert_eq!(config.build.plan, choice);
        let again = parse(&to_yaml(&config).unwrap(), "shown").unwrap();
        assert_eq!(again.build.plan, choice);
    }
    // Resolved, it still shows as `runner`, and building before resolving says what to do.
    let mut config = config;
    config.build.plan = PlanChoice::RunnerCached(PathBuf::from("/cache/plans/x.yml"));
    assert!(to_yaml(&config).unwrap().contains("plan: runner\n"));
    config.build.plan = PlanChoice::Runner;
    let err = load_plan(&config).unwrap_err().to_string();
    assert!(err.contains("wasmgate calibrate --for-runner"), "{err}");
    // A configuration written before `build.calibration` reads with the shipped settings.
    let start = DEFAULT_YAML
        .find("  # What `wasmgate calibrate` and")
        .unwrap();
    let end = DEFAULT_YAML.find("    target_seconds: 0.1\n").unwrap();
    let older = format!(
        "{}{}",
        &DEFAULT_YAML[..start],
        &DEFAULT_YAML[end + "    target_seconds: 0.1\n".len()..]
    );
    let older = parse(&older, "old.yml").unwrap();
    assert_eq!(older.build.calibration, CalibrationConfig::default());
}

#[test]
fn the_calibration_settings_are_checked() {
    let text = DEFAULT_YAML.replace("    runtime: wasmtime\n", "    runtime: wasmfoo\n");
    let err = parse(&text, "c.yml").unwrap_err().to_string();
    assert!(
        err.starts_with("c.yml: field `build.calibration.runtime`: unknown runtime `wasmfoo`"),
        "{err}"
    );
    let text = DEFAULT_YAML.replace("    target_seconds: 0.1\n", "    target_seconds: 0\n");
    let err = parse(&text, "c.yml").unwrap_err().to_string();
    assert!(
        err.contains("field `build.calibration.target_seconds`: give seconds"),
        "{err}"
    );
}

#[test]
fn a_plan_on_the_new_tiers_is_accepted_and_a_zero_count_refused() {
    let shipped = parse_plan(DEFAULT_PLAN_YAML, "shipped").unwrap();
    assert!(!shipped.iterations.is_empty());
    let text = "calibrated_on: wasmtime on a CPU\ntarget_seconds: 0.1\ndefault_iterations: 10\niterations:\n  box: 2\n  auth: 50000\n  sign: 500\nmeasures_nothing: []\n";
    let plan = parse_plan(text, "p.yml").unwrap();
    assert_eq!(plan.iterations["auth"], 50000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.yml");
    std::fs::write(&file, text).unwrap();
    let mut config = parse(DEFAULT_YAML, "default").unwrap();
    config.build.plan = PlanChoice::RunnerCached(file);
    let loaded = load_plan(&config).unwrap();
    assert_eq!(loaded, plan);
    let used = plan_used(&config, &loaded);
    assert_eq!(used.source, crate::model::PlanSource::Runner);
    assert_eq!(used.calibrated_on, "wasmtime on a CPU");
    let err = parse_plan(&text.replace("box: 2", "box: 0"), "p.yml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("p.yml: field `iterations.box`: give a count above 0"),
        "{err}"
    );
}

#[test]
fn other_source_kinds_parse() {
    let text = DEFAULT_YAML.replace(
            "source:\n  kind: crate\n  crate: libsodium-sys-stable\n  version: 1.24.3\n  file: LATEST.tar.gz\n",
            "source:\n  kind: git\n  url: https://example.invalid/libsodium.git\n  rev: abc123\n# ",
        );
    // The crate-only keys that follow are now commented out or dangling; keep it simple:
    let text = text
        .lines()
        .filter(|l| !l.starts_with("  sha256:") && !l.starts_with("  minisign_key:"))
        .collect::<Vec<_>>()
        .join("\n");
    let config = parse(&text, "git.yml").unwrap();
    assert!(matches!(config.source, SourceConfig::Git { .. }));
}

#[test]
fn a_duplicate_key_is_located_at_its_second_occurrence() {
    let text = "runtimes:\n  wasmtime:\n    run: [a]\n    version: [b]\n\n    run: [c]\n";
    let error = parse_yaml::<Config>(text, "w.yml").unwrap_err().to_string();
    assert!(error.starts_with("w.yml:6:5:"), "{error}");
    assert!(error.contains("duplicate field `run`"), "{error}");
}

#[test]
fn the_evidence_settings_are_checked_and_a_file_without_them_gets_the_default() {
    let config = parse(DEFAULT_YAML, "default").unwrap();
    assert_eq!(config.compare.evidence, EvidenceConfig::default());
    assert!(config.compare.evidence.enabled);
    let block = "  evidence:\n    enabled: true\n    seconds: 2       # of profiled runs a side\n    max_tests: 5     # the most changed tests profiled; the others say so in one line\n";
    assert!(DEFAULT_YAML.contains(block));
    let without = DEFAULT_YAML.replace(block, "");
    assert!(!without.contains("evidence:\n"));
    assert_eq!(
        parse(&without, "old.yml").unwrap().compare.evidence,
        EvidenceConfig::default()
    );
    let never = DEFAULT_YAML.replace("    seconds: 2 ", "    seconds: 0 ");
    let refused = parse(&never, "my.yml").unwrap_err().to_string();
    assert!(
        refused.contains("field `compare.evidence.seconds`"),
        "{refused}"
    );
    let off = DEFAULT_YAML.replace(block, &block.replace("enabled: true", "enabled: false"));
    assert!(!parse(&off, "off.yml").unwrap().compare.evidence.enabled);
}
