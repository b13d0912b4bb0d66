//! The A/A proof: one runtime against itself. The same binary runs under the labels `a` and
//! `b`, interleaved and measured like a gate, then compared: every change called is a false
//! alarm, and the width of the intervals is the noise the gate works against on this machine.

use crate::compare::judge::{Against, judge_results};
use crate::config::Loaded;
use crate::model::{Comparison, Verdict};
use crate::run::adapter::{RuntimeRequest, resolve};
use crate::run::measure::{MeasureRequest, measure};
use crate::toolchain::Home;
use anyhow::Result;
use std::path::PathBuf;

/// The runtime to prove the gate on, and how to measure it.
#[derive(Debug, Clone)]
pub struct AaRequest {
    pub runtime: RuntimeRequest,
    /// Tests and sampling, as for a gate; its runtimes are replaced by `a` and `b`.
    pub measure: MeasureRequest,
    /// Where the results (the input of `calibrate inject`) are written.
    pub out: PathBuf,
}

/// The comparison of `a` with `b`, and what the run took.
#[derive(Debug, Clone)]
pub struct AaOutcome {
    pub comparison: Comparison,
    pub runtime_version: String,
    pub samples: usize,
    pub wall_seconds: f64,
}

impl AaOutcome {
    /// Tests called changed, either way: in an A/A run, each is a false alarm.
    pub fn false_alarms(&self) -> usize {
        (self.comparison.tests.iter())
            .filter(|t| matches!(t.verdict, Verdict::Regression | Verdict::Improvement))
            .count()
    }

    /// Per test with an interval, its half-width in percent of the ratio.
    pub fn noise_percent(&self) -> Vec<f64> {
        (self.comparison.tests.iter())
            .filter_map(|t| Some((t.ci_high? - t.ci_low?) / 2.0 * 100.0))
            .collect()
    }
}

/// Measures the runtime as `a` and `b` into `request.out` and compares the two.
pub fn aa(loaded: &Loaded, request: AaRequest) -> Result<AaOutcome> {
    let home = Home::resolve(&loaded.config)?;
    let resolved = resolve(loaded, &home, &request.runtime)?;
    let path = PathBuf::from(&resolved.info.path);
    let label = |name: &str| RuntimeRequest {
        label: name.to_string(),
        adapter: Some(resolved.info.adapter.clone()),
        path: Some(path.clone()),
    };
    let measure_request = MeasureRequest {
        runtimes: vec![label("a"), label("b")],
        ..request.measure
    };
    let out = &request.out;
    let results = measure(loaded, &measure_request, out)?;
    let against = Against::same_run("a", "b");
    Ok(AaOutcome {
        comparison: judge_results(&results, out, &against, &loaded.config.compare)?,
        runtime_version: resolved.info.version,
        samples: results.samples.len(),
        wall_seconds: results.wall_seconds,
    })
}
