//! "Then vs now": the published results behind the 2023 article "Performance of WebAssembly
//! runtimes" (jedisct1/webassembly-benchmarks, 2022-12, ISC licence: see
//! published/seed-2022-12/LICENSE), summed up with the same code as wasmgate's own runs, beside
//! this run's figures.

use super::{Cell, Summary, TestRow, figures};
use crate::build::categories::category_of;
use crate::model::RuntimeInfo;
use anyhow::{Result, bail};
use serde::Serialize;

/// Which files are the published runtimes, in what order, which one is native code, and which
/// adapters measure each now.
const INDEX: &str = include_str!("published/seed-2022-12/index.csv");

macro_rules! embedded {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("published/seed-2022-12/", $file)),
        )
    };
}

/// Every results file shipped, by name: one per runtime, `test;value` a line (the total
/// microseconds of the 200-iteration loop; only ratios are used, so the unit does not matter).
/// The index says which of them the report uses.
const FILES: &[(&str, &str)] = &[
    embedded!("bun.csv"),
    embedded!("iwasm.csv"),
    embedded!("native.csv"),
    embedded!("node.csv"),
    embedded!("wasm2c.csv"),
    embedded!("wasm3.csv"),
    embedded!("wasmedge.csv"),
    embedded!("wasmer-cranelift.csv"),
    embedded!("wasmer-llvm.csv"),
    embedded!("wasmer-singlepass.csv"),
    embedded!("wasmtime.csv"),
    embedded!("wazero.csv"),
];

pub const SOURCE: &str = "the results behind \"Performance of WebAssembly runtimes\" (2023), jedisct1/webassembly-benchmarks 2022-12, ISC licence";

/// One published runtime, as the index describes it.
struct Published {
    info: RuntimeInfo,
    results: &'static str,
    /// wasmgate's adapters that measure this runtime now.
    adapters: Vec<&'static str>,
}

/// The published runtimes, in the index's order.
fn index() -> Result<Vec<Published>> {
    (INDEX.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .skip(1) // the header
        .map(index_line)
        .collect()
}

fn index_line(line: &'static str) -> Result<Published> {
    let fields: Vec<&str> = line.split(',').collect();
    let [file, name, native, adapters] = fields[..] else {
        bail!("published index: `{line}` is not file,runtime,native,adapters");
    };
    let native = match native {
        "yes" => true,
        "no" => false,
        _ => bail!("published index: `{line}`: native is yes or no, not `{native}`"),
    };
    let Some((_, results)) = FILES.iter().find(|(shipped, _)| *shipped == file) else {
        bail!("published index: `{file}` is not among the files shipped with wasmgate");
    };
    Ok(Published {
        info: RuntimeInfo {
            name: name.to_string(),
            adapter: name.to_string(),
            path: String::new(),
            version: "2022-12".to_string(),
            command: Vec::new(),
            native,
            compile_threads: None,
        },
        results,
        adapters: adapters.split_whitespace().collect(),
    })
}

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
fn published_figures(published: &[Published]) -> super::Figures {
    let runtimes: Vec<RuntimeInfo> = published.iter().map(|p| p.info.clone()).collect();
    let tables: Vec<Vec<(&str, f64)>> = published.iter().map(|p| parse(p.results)).collect();
    let mut tests: Vec<&str> = tables.iter().flatten().map(|(t, _)| *t).collect();
    tests.sort_unstable();
    tests.dedup();
    let rows = tests
        .into_iter()
        .map(|test| TestRow {
            name: test.to_string(),
            category: category_of(test).to_string(),
            iterations: 200,
            module_bytes: None,
            code_bytes: None,
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
    figures(rows, &runtimes)
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
pub fn then_now(now: &Summary) -> Result<ThenNow> {
    let published = index()?;
    let then = published_figures(&published);
    let rows = (published.iter().enumerate())
        .filter(|(i, _)| Some(*i) != then.native)
        .map(|(i, runtime)| {
            // The index lists the adapters in order of preference (what 2023 measured first:
            // iwasm-aot before iwasm), not the order of this run's runtimes.
            let counterpart = (runtime.adapters.iter())
                .find_map(|adapter| (now.runtimes.iter()).position(|r| r.adapter == *adapter));
            ThenNowRow {
                published: runtime.info.name.clone(),
                runtime: counterpart.map(|j| now.runtimes[j].name.clone()),
                then_normalized: then.overall.normalized[i],
                now_normalized: counterpart.and_then(|j| now.overall.normalized[j]),
                then_to_native: then.overall.native_median[i],
                now_to_native: counterpart.and_then(|j| now.overall.native_median[j]),
            }
        })
        .collect();
    Ok(ThenNow {
        source: SOURCE.to_string(),
        then_fastest: then.fastest,
        then_fastest_to_native: then.fastest_to_native,
        now_fastest: now.fastest.clone(),
        now_fastest_to_native: now.fastest_to_native,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_article_figures_follow_from_the_shipped_data() {
        let published = index().unwrap();
        let then = published_figures(&published);
        let runtimes: Vec<&RuntimeInfo> = published.iter().map(|p| &p.info).collect();
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
        let then_now = then_now(&now).unwrap();
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

    #[test]
    fn a_published_runtime_is_matched_by_its_preferred_adapter_not_the_run_order() {
        // The interpreter listed first in the run: 2023 measured iwasm ahead of time.
        let results = crate::model::fixtures::results_with(&[
            ("sign", "iwasm", Some(2000)),
            ("sign", "iwasm-aot", Some(90)),
            ("sign", "native", Some(50)),
        ]);
        let then_now = then_now(&crate::report::summarize(&results)).unwrap();
        let iwasm = (then_now.rows.iter())
            .find(|r| r.published == "iwasm")
            .unwrap();
        assert_eq!(iwasm.runtime.as_deref(), Some("iwasm-aot"));
        assert_eq!(iwasm.now_to_native, Some(1.8));
    }

    #[test]
    fn the_index_names_shipped_files_and_one_native_runtime() {
        let published = index().unwrap();
        assert_eq!(published.len(), 11);
        let native: Vec<&str> = (published.iter())
            .filter(|p| p.info.native)
            .map(|p| p.info.name.as_str())
            .collect();
        assert_eq!(native, ["native"]);
        let wasmtime = published
            .iter()
            .find(|p| p.info.name == "wasmtime")
            .unwrap();
        assert_eq!(wasmtime.adapters, ["wasmtime", "wasmtime-aot"]);
        assert!(wasmtime.results.contains("\naead_aegis128l;"));
        // wasm3 ships, as the article's data does, but is left out of the charts.
        assert!(FILES.iter().any(|(file, _)| *file == "wasm3.csv"));
        assert!(published.iter().all(|p| p.info.name != "wasm3"));
    }

    #[test]
    fn a_wrong_index_line_is_an_error_that_says_which() {
        let missing = index_line("nowhere.csv,x,no,x").err().unwrap().to_string();
        assert!(
            missing.contains("`nowhere.csv` is not among the files"),
            "{missing}"
        );
        let native = index_line("bun.csv,bun,maybe,bun")
            .err()
            .unwrap()
            .to_string();
        assert!(native.contains("native is yes or no"), "{native}");
        let short = index_line("bun.csv,bun").err().unwrap().to_string();
        assert!(
            short.contains("is not file,runtime,native,adapters"),
            "{short}"
        );
    }
}
