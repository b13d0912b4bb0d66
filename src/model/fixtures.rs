//! Test fixtures shared by the tests of every stage: small results files made in memory.

use super::*;

/// A complete results file of one round: each `(test, runtime, value)` is one sample, ok with
/// its value or failed when the value is `None`. The suite holds sign, hash, hash2, misuse
/// (measures nothing) and aead_aegis256; the runtimes are those the samples name, in order.
pub fn results_with(samples: &[(&str, &str, Option<u64>)]) -> Results {
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
    };
    let runtime = |name: &str| RuntimeInfo {
        name: name.into(),
        adapter: name.into(),
        path: "/bin/x".into(),
        version: "1.0".into(),
        command: vec![],
        native: name == "native",
    };
    Results {
        schema_version: SCHEMA_VERSION,
        suite: Manifest {
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
        },
        machine: Machine {
            cpu_model: "Test CPU".into(),
            logical_cores: 2,
            arch: "x86_64".into(),
            os: "Test OS".into(),
            kernel: "6.1".into(),
            pinned_cores: vec![],
            fingerprint: "0123456789abcdef".into(),
        },
        runtimes: {
            let mut names: Vec<&str> = Vec::new();
            for (_, rt, _) in samples {
                if !names.contains(rt) {
                    names.push(rt);
                }
            }
            names.into_iter().map(runtime).collect()
        },
        seed: 1,
        started_at: "now".into(),
        finished_at: None,
        complete: true,
        budget_spent: false,
        wall_seconds: 0.0,
        aot: Vec::new(),
        shard: None,
        samples: samples
            .iter()
            .enumerate()
            .map(|(i, (test, rt, value))| Sample {
                test: test.to_string(),
                runtime: rt.to_string(),
                round: 0,
                order: i as u64,
                status: if value.is_some() {
                    SampleStatus::Ok
                } else {
                    SampleStatus::Failed
                },
                value_ps: *value,
                wall_ms: 1.0,
                exit_code: Some(if value.is_some() { 0 } else { 1 }),
                core: None,
                message: value.is_none().then(|| "exit status 1: trap".to_string()),
            })
            .collect(),
    }
}
