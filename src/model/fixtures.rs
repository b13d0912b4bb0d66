//! Test fixtures shared by the tests of every stage: small results files made in memory.

use super::*;

/// A complete results file of one round: each `(test, runtime, value)` is one sample, ok with
/// its value or failed when the value is `None`. The suite holds sign, hash, hash2, misuse
/// (measures nothing) and aead_aegis256; the runtimes are those the samples name, in order.
pub fn results_with(samples: &[(&str, &str, Option<u64>)]) -> Results {
    let mut names: Vec<&str> = Vec::new();
    for (_, runtime, _) in samples {
        if !names.contains(runtime) {
            names.push(runtime);
        }
    }
    Results {
        schema_version: SCHEMA_VERSION,
        suite: manifest(),
        machine: machine(),
        runtimes: names.into_iter().map(runtime).collect(),
        seed: 1,
        started_at: "now".into(),
        finished_at: None,
        complete: true,
        budget_spent: false,
        wall_seconds: 0.0,
        aot: Vec::new(),
        shard: None,
        measure: crate::model::Measure::Time,
        instructions: None,
        harness: None,
        samples: samples
            .iter()
            .enumerate()
            .map(|(order, (test, runtime, value))| sample(test, runtime, order as u64, *value))
            .collect(),
    }
}

/// The five-test suite of `results_with`.
pub fn manifest() -> Manifest {
    let tool = ToolInfo {
        version: "1".into(),
        flags: vec![],
    };
    let module = |name: &str, category: &str| TestModule {
        name: name.into(),
        category: category.into(),
        iterations: 10,
        measures_nothing: name == "misuse",
        file: format!("{name}.wasm"),
        sha256: "00".into(),
        size: 1,
        code_bytes: None,
    };
    Manifest {
        schema_version: SCHEMA_VERSION,
        suite_id: "abc".into(),
        source: SourceInfo {
            version: "1.0.22".into(),
            sha256: "x".into(),
            origin: "test".into(),
            signature_verified: true,
        },
        zig: tool.clone(),
        wasm_opt: tool,
        tests: vec![
            module("sign", "signature"),
            module("hash", "hashing"),
            module("hash2", "hashing"),
            module("misuse", "utilities"),
            module("aead_aegis256", "AEAD"),
        ],
        plan: None,
    }
}

/// A machine that is the same in every fixture, so fixtures are comparable.
pub fn machine() -> Machine {
    Machine {
        cpu_model: "Test CPU".into(),
        logical_cores: 2,
        arch: "x86_64".into(),
        os: "Test OS".into(),
        kernel: "6.1".into(),
        pinned_cores: vec![],
        fingerprint: "0123456789abcdef".into(),
        environment: None,
    }
}

/// A runtime named `name`; the one named "native" is native code.
pub fn runtime(name: &str) -> RuntimeInfo {
    RuntimeInfo {
        name: name.into(),
        adapter: name.into(),
        path: "/bin/x".into(),
        version: "1.0".into(),
        command: vec![],
        native: name == "native",
        compile_threads: None,
    }
}

/// A sample of round 0: ok with `value`, or failed like a trap when there is none.
pub fn sample(test: &str, runtime: &str, order: u64, value: Option<u64>) -> Sample {
    Sample {
        test: test.to_string(),
        runtime: runtime.to_string(),
        round: 0,
        order,
        status: if value.is_some() {
            SampleStatus::Ok
        } else {
            SampleStatus::Failed
        },
        value_ps: value,
        wall_ms: 1.0,
        exit_code: Some(if value.is_some() { 0 } else { 1 }),
        core: None,
        message: value.is_none().then(|| "exit status 1: trap".to_string()),
        cpu_ms: None,
        run_delay_ms: None,
        preemptions: None,
        instructions: None,
    }
}

/// A sample with this value that another process on its core disturbed (waited 40 %).
pub fn disturbed_sample(test: &str, runtime: &str, order: u64, value: u64) -> Sample {
    Sample {
        status: SampleStatus::Disturbed,
        exit_code: Some(0),
        message: Some("disturbed: waited for its core 40 % of its 1 ms".to_string()),
        run_delay_ms: Some(0.4),
        ..sample(test, runtime, order, Some(value))
    }
}
