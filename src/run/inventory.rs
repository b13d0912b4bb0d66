//! What the configured runtimes are here: `setup` provisions and checks them, `runtimes` lists
//! them without installing anything.

use super::adapter::{RuntimeRequest, resolve, resolve_for_listing};
use super::runtime::Runtime;
use crate::build::Inputs;
use crate::config::{Install, Loaded};
use crate::toolchain::{Home, locate};
use anyhow::Result;

/// Everything a run needs, installed into the cache and checked.
pub struct Provisioned {
    pub home: Home,
    /// The libsodium source, zig and wasm-opt.
    pub inputs: Inputs,
    /// The runtimes, each shown to run a tiny WASI module, in the order asked for.
    pub runtimes: Vec<Runtime>,
    /// Why the next runtime could not be provisioned; those after it were not tried.
    pub failure: Option<anyhow::Error>,
}

/// Installs the build's tools and the named runtimes (the configured `run.runtimes` when none
/// is named), and runs each runtime once on a tiny module. The first runtime that fails stops
/// the rest; those provisioned before it are returned with the failure, so all can be told.
pub fn provision(loaded: &Loaded, names: &[String]) -> Result<Provisioned> {
    let home = Home::resolve(&loaded.config)?;
    let inputs = crate::build::prepare(&loaded.config, &home)?;
    let names = if names.is_empty() {
        &loaded.config.run.runtimes
    } else {
        names
    };
    let mut runtimes = Vec::new();
    let mut failure = None;
    for name in names {
        match provision_one(loaded, &home, name) {
            Ok(runtime) => runtimes.push(runtime),
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    Ok(Provisioned {
        home,
        inputs,
        runtimes,
        failure,
    })
}

fn provision_one(loaded: &Loaded, home: &Home, name: &str) -> Result<Runtime> {
    let request: RuntimeRequest = name.parse().map_err(anyhow::Error::msg)?;
    let runtime = resolve(loaded, home, &request)?;
    runtime.check_usable(home)?;
    Ok(runtime)
}

/// How deterministic a runtime's count is here: a real module counted a few times, per
/// iteration, exactly as a run counts it. Measured, never assumed: a JavaScript engine tiers
/// up by time and collects garbage when it likes, and a compiler on several threads can make
/// different choices run to run.
#[derive(Debug, Clone)]
pub struct Determinism {
    pub test: String,
    /// Instructions of each sample taken: per iteration of the test, or per compile of its
    /// module under compile-instructions.
    pub counts: Vec<f64>,
    /// Samples that were no value (the count fell between the two modules).
    pub unusable: usize,
}

impl Determinism {
    /// `(max - min) / min` of the counts; `None` below two.
    pub fn spread(&self) -> Option<f64> {
        let (low, high) = crate::stats::low_high(&self.counts);
        (self.counts.len() >= 2 && low > 0.0).then(|| (high - low) / low)
    }

    /// In words, for `wasmgate runtimes --measure instructions`.
    pub fn sentence(&self) -> String {
        let exact = crate::stats::EXACT_WITHIN;
        match self.spread() {
            Some(spread) if spread <= exact && self.unusable == 0 => format!(
                "deterministic: {} counts of {} within {:.4} %",
                self.counts.len(),
                self.test,
                spread * 100.0
            ),
            Some(spread) => format!(
                "not deterministic: {} counts of {} spread {:.2} %{}; a comparison needs more samples and rests on the statistics",
                self.counts.len(),
                self.test,
                spread * 100.0,
                match self.unusable {
                    0 => String::new(),
                    n => format!(" ({n} more fell between the two modules)"),
                }
            ),
            None => format!(
                "no count: {} of {} samples of {} were values",
                self.counts.len(),
                self.counts.len() + self.unusable,
                self.test
            ),
        }
    }
}

/// Which test to count to see whether a runtime's counts repeat, and how many times.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub test: &'static str,
    pub samples: usize,
}

/// The executor of a counted measure with the suites it counts.
struct Counting<'a> {
    measure: crate::model::Measure,
    executor: &'a dyn super::executor::Executor,
    suites: &'a crate::build::instructions::MeasuredSuites,
}

/// Counts the probe's test on each named runtime (the found ones when none is named), under
/// `measure` (instructions, or compile-instructions), exactly as a run counts it. A runtime
/// without a compile step has no row under compile-instructions but a line saying so.
pub fn determinism(
    loaded: &Loaded,
    names: &[String],
    probe: Probe,
    measure: crate::model::Measure,
) -> Result<Vec<(String, Result<Determinism>)>> {
    let home = Home::resolve(&loaded.config)?;
    let counter = super::instructions::Counter::find()?;
    let suites = crate::build::instructions::suites_for(&loaded.config, &home, measure)?;
    let mut requests = Vec::new();
    let names: Vec<String> = if names.is_empty() {
        (inventory(loaded)?.into_iter())
            .filter(|listed| listed.found.is_some())
            .map(|listed| listed.name)
            .collect()
    } else {
        names.to_vec()
    };
    for name in names {
        requests.push(name.parse::<RuntimeRequest>().map_err(anyhow::Error::msg)?);
    }
    if measure.compiles() {
        requests = super::compile::with_compile_step(loaded, requests, measure)?;
    }
    let (executor, _) = super::measure::executor_for(measure, Some(counter), suites.low.clone());
    let counting = Counting {
        measure,
        executor: executor.as_ref(),
        suites: &suites,
    };
    Ok(requests
        .into_iter()
        .map(|request| {
            let found = count_one(loaded, &home, &request, &counting, probe);
            (request.label, found)
        })
        .collect())
}

fn count_one(
    loaded: &Loaded,
    home: &Home,
    request: &RuntimeRequest,
    counting: &Counting,
    probe: Probe,
) -> Result<Determinism> {
    let Probe { test, samples } = probe;
    let suite = &counting.suites.suite;
    let mut runtime = super::adapter::resolve_measuring(loaded, home, request, counting.measure)?;
    let module = (suite.manifest.test(test))
        .ok_or_else(|| anyhow::anyhow!("no test `{test}` in the suite"))?;
    // Under the instructions measure the module runs, compiled ahead as a run compiles it
    // (and its smaller twin too); a compile measure compiles it in the sample itself.
    if let Some(low) = &counting.suites.low {
        let low_module = (low.manifest.test(test))
            .ok_or_else(|| anyhow::anyhow!("no test `{test}` in the suite"))?;
        runtime.prepare_aot(home, suite, std::slice::from_ref(module));
        runtime.prepare_aot(home, low, std::slice::from_ref(low_module));
        if runtime.info.native {
            let inputs =
                crate::build::instructions::prepare_instruction_inputs(&loaded.config, home)?;
            for suite in [suite, low] {
                runtime.use_native_build(&crate::build::build_native(&inputs, home, suite)?);
            }
        }
    }
    // Ctrl-C ends the counting processes (they run in their own process group) before exit.
    super::measure::install_stop_handler();
    let limits = super::executor::Limits {
        core: None,
        timeout: std::time::Duration::from_secs(loaded.config.run.instructions.timeout_seconds),
        abandon_at: None,
        stop: &super::STOP,
        disturbance: loaded.config.run.disturbance,
    };
    let mut found = Determinism {
        test: test.to_string(),
        counts: Vec::new(),
        unusable: 0,
    };
    for _ in 0..samples {
        let outcome = (counting.executor.sample(suite, module, &runtime, &limits))
            .ok_or_else(|| anyhow::anyhow!("stopped"))?;
        match (outcome.status, outcome.instructions) {
            (crate::model::SampleStatus::Ok, Some(count)) => found.counts.push(count),
            (crate::model::SampleStatus::Disturbed, _) => found.unusable += 1,
            _ => anyhow::bail!(
                "{}",
                outcome
                    .message
                    .unwrap_or_else(|| "the sample failed".into())
            ),
        }
    }
    Ok(found)
}

/// One configured runtime as this machine has it.
pub struct Listed {
    pub name: String,
    pub install: Install,
    /// Where it was found; `None` when it is not installed.
    pub found: Option<std::path::PathBuf>,
    /// Its version, or why it cannot tell one; `None` when it is not installed.
    pub version: Option<String>,
    pub aot: Option<Vec<String>>,
    /// What the compile measures time (its compile step, and the threads it runs on), under
    /// the configured `run.compile.threads`; `None` when it has none.
    pub compile: Option<(Vec<String>, crate::model::CompileThreads)>,
}

/// Every configured runtime, found or not. Only a runtime already here is asked for its
/// version: listing installs nothing.
pub fn inventory(loaded: &Loaded) -> Result<Vec<Listed>> {
    let home = Home::resolve(&loaded.config)?;
    Ok(loaded
        .config
        .runtimes
        .iter()
        .map(|(name, config)| {
            // A runtime with a compiler (iwasm-aot's wamrc) is here when both are: asking
            // for the version of one without the other would build it.
            let compiler_here = (config.compiler.as_ref())
                .is_none_or(|compiler| locate(&home, &compiler.install).is_some());
            let found = locate(&home, &config.install).filter(|_| compiler_here);
            let version = found.as_ref().map(|_| {
                let request = RuntimeRequest {
                    label: name.clone(),
                    adapter: None,
                    path: None,
                };
                resolve_for_listing(loaded, &home, &request)
                    .map(|r| r.info.version)
                    .unwrap_or_else(|e| format!("broken: {e:#}"))
            });
            Listed {
                name: name.clone(),
                install: config.install.clone(),
                found,
                version,
                aot: config.aot.clone(),
                compile: config.compile_step(loaded.config.run.compile.threads),
            }
        })
        .collect())
}
