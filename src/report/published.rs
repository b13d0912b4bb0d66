//! "Then vs now": the published results behind the 2023 article "Performance of WebAssembly
//! runtimes" (jedisct1/webassembly-benchmarks, 2022-12, ISC licence: see
//! published/seed-2022-12/LICENSE), summed up with the same code as wasmgate's own runs, beside
//! this run's figures.

use super::{Cell, Summary, TestRow, figures};
use crate::build::categories::category_of;
use crate::model::RuntimeInfo;
use serde::Serialize;

/// One file per runtime, `test;value` a line (the total microseconds of the 200-iteration
/// loop; only ratios are used, so the unit does not matter). wasm3.csv is shipped with the
/// rest but left out, as the article left it out of its charts: 13 tests only.
const FILES: &[(&str, &str)] = &[
    ("iwasm", include_str!("published/seed-2022-12/iwasm.csv")),
    ("wasm2c", include_str!("published/seed-2022-12/wasm2c.csv")),
    (
        "wasmer-llvm",
        include_str!("published/seed-2022-12/wasmer-llvm.csv"),
    ),
    (
        "wasmer-cranelift",
        include_str!("published/seed-2022-12/wasmer-cranelift.csv"),
    ),
    (
        "wasmer-singlepass",
        include_str!("published/seed-2022-12/wasmer-singlepass.csv"),
    ),
    (
        "wasmtime",
        include_str!("published/seed-2022-12/wasmtime.csv"),
    ),
    (
        "wasmedge",
        include_str!("published/seed-2022-12/wasmedge.csv"),
    ),
    ("node", include_str!("published/seed-2022-12/node.csv")),
    ("bun", include_str!("published/seed-2022-12/bun.csv")),
    ("wazero", include_str!("published/seed-2022-12/wazero.csv")),
    ("native", include_str!("published/seed-2022-12/native.csv")),
];

pub const SOURCE: &str = "the results behind \"Performance of WebAssembly runtimes\" (2023), jedisct1/webassembly-benchmarks 2022-12, ISC licence";

/// Which published runtime each of wasmgate's adapters corresponds to (2023 measured iwasm,
/// wasmedge and the wasmer engines ahead of time).
const COUNTERPARTS: &[(&str, &str)] = &[
    ("wasmtime", "wasmtime"),
    ("wasmtime-aot", "wasmtime"),
    ("node", "node"),
    ("bun", "bun"),
    ("wasm2c", "wasm2c"),
    ("wasmer-cranelift", "wasmer-cranelift"),
    ("wasmer-llvm", "wasmer-llvm"),
    ("wasmer-singlepass", "wasmer-singlepass"),
    ("iwasm-aot", "iwasm"),
    ("iwasm", "iwasm"),
    ("wasmedge-aot", "wasmedge"),
    ("wasmedge", "wasmedge"),
    ("wazero", "wazero"),
];

#[derive(Debug, Clone, Serialize)]
pub struct ThenNow {
    pub source: String,
    /// The fastest runtime over native code, median over tests (AES-based apart): 2023 and now.
    pub then_fastest: Option<String>,
    pub then_fastest_to_native: Option<f64>,
    pub now_fastest: Option<String>,
    pub now_fastest_to_native: Option<f64>,
    pub rows: Vec<ThenNowRow>,
}

/// One published runtime, and this run's counterpart when it ran.
#[derive(Debug, Clone, Serialize)]
pub struct ThenNowRow {
    pub published: String,
    pub runtime: Option<String>,
    /// Geometric mean of the median-normalized times: among 2023's ten runtimes, and among
    /// this run's WebAssembly runtimes (so each says where the runtime stood in its field).
    pub then_normalized: Option<f64>,
    pub now_normalized: Option<f64>,
    /// Median over tests of the time over native code's, then and now: comparable across
    /// the two, since each run has its own native code.
    pub then_to_native: Option<f64>,
    pub now_to_native: Option<f64>,
}

/// The published runtimes as rows of medians, summed up as a run of wasmgate's would be.
pub(crate) fn published_figures() -> (Vec<RuntimeInfo>, super::Figures) {
    let runtimes: Vec<RuntimeInfo> = FILES
        .iter()
        .map(|(name, _)| RuntimeInfo {
            name: name.to_string(),
            adapter: name.to_string(),
            path: String::new(),
            version: "2022-12".to_string(),
            command: Vec::new(),
            native: *name == "native",
        })
        .collect();
    let tables: Vec<Vec<(&str, f64)>> = FILES.iter().map(|(_, text)| parse(text)).collect();
    let mut tests: Vec<&str> = tables.iter().flatten().map(|(t, _)| *t).collect();
    tests.sort_unstable();
    tests.dedup();
    let rows = tests
        .into_iter()
        .map(|test| TestRow {
            name: test.to_string(),
            category: category_of(test).to_string(),
            iterations: 200,
            cells: (tables.iter())
                .map(|table| {
                    let value = table.iter().find(|(t, _)| *t == test).map(|(_, v)| *v);
                    Cell {
                        median_ps: value,
                        ok: usize::from(value.is_some()),
                        ..Cell::default()
                    }
                })
                .collect(),
        })
        .collect();
    let figures = figures(rows, &runtimes);
    (runtimes, figures)
}

fn parse(text: &str) -> Vec<(&str, f64)> {
    text.lines()
        .filter_map(|line| {
            let (test, value) = line.trim().split_once(';')?;
            Some((test, value.parse().ok()?))
        })
        .collect()
}

/// This run beside the published one, runtime by runtime.
pub fn then_now(now: &Summary) -> ThenNow {
    let (published, then) = published_figures();
    let rows = (published.iter().enumerate())
        .filter(|(i, _)| Some(*i) != then.native)
        .map(|(i, runtime)| {
            let counterpart = now.runtimes.iter().position(|r| {
                COUNTERPARTS
                    .iter()
                    .any(|(adapter, name)| r.adapter == *adapter && *name == runtime.name)
            });
            ThenNowRow {
                published: runtime.name.clone(),
                runtime: counterpart.map(|j| now.runtimes[j].name.clone()),
                then_normalized: then.overall.normalized[i],
                now_normalized: counterpart.and_then(|j| now.overall.normalized[j]),
                then_to_native: then.overall.native_median[i],
                now_to_native: counterpart.and_then(|j| now.overall.native_median[j]),
            }
        })
        .collect();
    ThenNow {
        source: SOURCE.to_string(),
        then_fastest: then.fastest,
        then_fastest_to_native: then.fastest_to_native,
        now_fastest: now.fastest.clone(),
        now_fastest_to_native: now.fastest_to_native,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_article_figures_follow_from_the_shipped_data() {
        let (runtimes, then) = published_figures();
        // The article: iwasm over native has a median of 2.32 over the 59 non-AEGIS tests.
        assert_eq!(then.fastest.as_deref(), Some("iwasm"));
        let fastest = then.fastest_to_native.unwrap();
        assert!((fastest - 2.32).abs() < 0.01, "{fastest}");
        let iwasm = runtimes.iter().position(|r| r.name == "iwasm").unwrap();
        let aegis = then
            .rows
            .iter()
            .find(|r| r.name == "aead_aegis256")
            .unwrap();
        let to_native = aegis.cells[iwasm].to_native.unwrap();
        assert!((70.0..90.0).contains(&to_native), "{to_native}");
        // Median-normalized: the ten runtimes' geometric means straddle 1.
        let normalized: Vec<f64> = then.overall.normalized.iter().flatten().copied().collect();
        assert_eq!(normalized.len(), 10);
        assert!(normalized.iter().any(|v| *v < 1.0) && normalized.iter().any(|v| *v > 1.0));
    }

    #[test]
    fn every_published_runtime_has_a_row_and_counterparts_are_found_by_adapter() {
        let results = crate::model::fixtures::results_with(&[
            ("sign", "wasmtime", Some(100)),
            ("sign", "native", Some(50)),
            ("sign", "mystery", Some(300)),
        ]);
        let now = crate::report::summarize(&results);
        let then_now = then_now(&now);
        assert_eq!(then_now.rows.len(), 10);
        let wasmtime = then_now
            .rows
            .iter()
            .find(|r| r.published == "wasmtime")
            .unwrap();
        assert_eq!(wasmtime.runtime.as_deref(), Some("wasmtime"));
        assert_eq!(wasmtime.now_to_native, Some(2.0));
        assert!(wasmtime.then_to_native.unwrap() > 1.0);
        let wazero = then_now
            .rows
            .iter()
            .find(|r| r.published == "wazero")
            .unwrap();
        assert_eq!(
            (wazero.runtime.as_ref(), wazero.now_normalized),
            (None, None)
        );
        assert_eq!(then_now.now_fastest_to_native, Some(2.0));
    }
}
