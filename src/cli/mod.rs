//! The command line: clap definitions and one file per subcommand. Each subcommand turns its
//! flags into the plain values of the stage it drives and hands over.

mod baseline;
mod bisect;
mod build;
mod calibrate;
mod compare;
mod config;
mod doctor;
mod gate;
mod nightly;
mod proof;
mod publish;
mod report;
mod run;
mod runtimes;
mod setup;

use crate::config::Loaded;
use crate::run::adapter::RuntimeRequest;
use crate::toolchain::Home;
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "wasmgate",
    version,
    about = "Performance gate for WebAssembly runtimes, on libsodium's benchmarks"
)]
pub struct Cli {
    /// Configuration file [default: wasmgate.yml if present, else the built-in default]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Find or install zig, wasm-opt, the libsodium source and the runtimes
    Setup {
        /// Runtimes to provision (comma-separated) [default: run.runtimes]
        #[arg(long, value_delimiter = ',')]
        runtimes: Vec<String>,
    },
    /// List every runtime the configuration knows: found or not, version, path, AOT step
    Runtimes {
        /// With `instructions` (or `compile-instructions`): count a real module's run (or its
        /// compile) a few times on each runtime found (or named with --runtimes) and say
        /// whether its count is deterministic
        #[arg(long)]
        measure: Option<crate::model::Measure>,
        /// The runtimes to count [default: every one found]
        #[arg(long, value_delimiter = ',')]
        runtimes: Vec<String>,
    },
    /// Build the benchmark suite (cached by its inputs)
    Build,
    /// Run the suite's tests on runtimes and record every sample
    Run(RunArgs),
    /// Combine the results of shards (`run --shard K/N`) into one results file
    Merge {
        /// The shards' results files
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        #[arg(long, default_value = "wasmgate-results.json")]
        out: PathBuf,
    },
    /// Render a results file as a table or a markdown report
    Report(report::ReportArgs),
    /// Compare a run with a stored baseline or two runtimes of one run; exit 1 on a regression
    Compare(compare::CompareArgs),
    /// Store baselines
    #[command(subcommand)]
    Baseline(baseline::BaselineCommand),
    /// Write a new iteration plan (or cache this runner's own: --for-runner); or prove the gate:
    /// `calibrate aa`, `calibrate inject`
    Calibrate(calibrate::CalibrateArgs),
    /// Setup, build, run and report in one step, on the configured runtimes
    Gate(gate::GateArgs),
    /// Tonight's runtime build against the kept builds of 1, 2, 4 and 8 nights back, in one
    /// paired run; records the night and keeps the build; exit 1 on a regression since last night
    Nightly(nightly::NightlyArgs),
    /// Post the comparison as a sticky pull-request comment, or keep the nightly-watch issue
    Publish(publish::PublishArgs),
    /// Show or write the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Find the first commit of a runtime's repository that made it slower (builds cached)
    Bisect(bisect::BisectArgs),
    /// Check the runner for the cores a run pins to (isolation, SMT, frequency, load); --tune, --reset
    Doctor(doctor::DoctorArgs),
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A runtime: NAME from the config, NAME=PATH for a binary you built, or
    /// LABEL@ADAPTER=PATH; repeat for several [default: run.runtimes]
    #[arg(long = "runtime", value_name = "SPEC")]
    pub runtimes: Vec<RuntimeRequest>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Continue the interrupted run of --out, keeping every sample it has
    #[arg(long)]
    pub resume: bool,
    /// Only these tests (comma-separated) [default: tests.include]
    #[arg(long, value_delimiter = ',')]
    pub tests: Vec<String>,
    /// Results file
    #[arg(long, default_value = "wasmgate-results.json")]
    pub out: PathBuf,
    /// Measure only the K-th of N slices of the tests (for N runners; combine with `merge`)
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::model::Shard>,
    /// Seed of the shuffled order [default: from the clock]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Hide the progress bar and the progress lines of a CI log
    #[arg(long)]
    pub quiet: bool,
}

/// Parses a flag that names a commit: its id, or one line saying what is wrong.
fn commit_id(text: &str) -> Result<String, String> {
    crate::util::paths::commit_id(text, "the commit")
        .map(str::to_string)
        .map_err(|err| err.to_string())
}

/// Exit code of a run stopped by Ctrl-C or SIGTERM (its samples are kept).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Exit code when the gate finds a regression it is told to fail on.
pub const EXIT_REGRESSION: u8 = 1;

/// What the head runtime is compared with; the flags `compare` and `gate` share.
#[derive(clap::Args, Debug)]
pub struct Against {
    /// The base runtime's label in the results (same-run A/B)
    #[arg(long, conflicts_with = "baseline")]
    pub base: Option<String>,
    /// The head runtime's label in the results [default: its only runtime]
    #[arg(long)]
    pub head: Option<String>,
    /// A stored baseline to compare with, instead of --base
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Compare even across suites or machines (the report then says so first)
    #[arg(long)]
    pub allow_foreign: bool,
}

impl Against {
    /// The flags as the compare stage's plain value.
    pub fn plain(&self) -> crate::compare::judge::Against {
        crate::compare::judge::Against {
            base: self.base.clone(),
            head: self.head.clone(),
            baseline: self.baseline.clone(),
            allow_foreign: self.allow_foreign,
        }
    }
}

/// How many samples to take; shared by `run` and `gate`.
#[derive(clap::Args, Debug, Default)]
pub struct SamplingArgs {
    /// Samples per test and runtime before adaptive stopping [default: run.samples, gate.samples]
    #[arg(long)]
    pub samples: Option<u32>,
    /// At most this many samples per test and runtime [default: run.max_samples, gate.max_samples]
    #[arg(long)]
    pub max_samples: Option<u32>,
    /// Target ± of each median's 95 % interval, e.g. 0.01; 0 for exactly --samples [default: run.precision]
    #[arg(long)]
    pub precision: Option<f64>,
    /// Hard bound on the run's wall time, e.g. 10m [default: run.budget, gate.budget]
    #[arg(long)]
    pub budget: Option<String>,
    /// Cores to pin to, one worker each, e.g. 2,3 [default: run.cores]
    #[arg(long, value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// Let two workers run on SMT siblings of one physical core [default: run.allow_smt_siblings]
    #[arg(long)]
    pub allow_smt_siblings: bool,
    /// What a sample measures: time, instructions (counted under valgrind), compile (each runtime's compile step timed) or compile-instructions [default: run.measure]
    #[arg(long)]
    pub measure: Option<crate::model::Measure>,
}

impl SamplingArgs {
    /// The flags as overrides of the configured sampling.
    pub fn overrides(&self) -> crate::config::RunOverrides {
        crate::config::RunOverrides {
            samples: self.samples,
            max_samples: self.max_samples,
            precision: self.precision,
            budget: self.budget.clone(),
            cores: self.cores.clone(),
            allow_smt_siblings: self.allow_smt_siblings,
            measure: self.measure,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective configuration
    Show,
    /// Write the built-in default configuration to wasmgate.yml
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
}

/// What every subcommand starts from: the configuration and the cache directory.
pub struct Context {
    pub loaded: Loaded,
}

impl Context {
    pub fn home(&self) -> Result<Home> {
        Home::resolve(&self.loaded.config)
    }

    /// The configuration for a command that builds the suite: `build.plan: runner` resolved to
    /// the plan calibrated on this machine (calibrated first when there is none yet). Called
    /// after the command's flags are checked, so a typo never waits for a calibration.
    pub fn with_plan(&self) -> Result<Loaded> {
        crate::calibrate::runner::resolve_plan(&self.loaded)
    }
}

/// Runs the command; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<u8> {
    // A report reads results files only: a broken wasmgate.yml in the folder must not stop it.
    let command = match cli.command {
        Command::Report(args) => return report::run(args),
        command => command,
    };
    let ctx = Context {
        loaded: crate::config::load(cli.config.as_deref())?,
    };
    match command {
        Command::Setup { runtimes } => setup::run(&ctx, &runtimes),
        Command::Build => build::run(&ctx),
        Command::Runtimes { measure, runtimes } => match measure {
            Some(measure) if measure.counts() => runtimes::determinism(&ctx, &runtimes, measure),
            _ => runtimes::run(&ctx),
        },
        Command::Run(args) => run::run(&ctx, args),
        Command::Report(_) => unreachable!("handled before the configuration is read"),
        Command::Merge { shards, out } => run::merge(&ctx, &shards, &out),
        Command::Calibrate(args) => match args.check {
            Some(check) => proof::run(&ctx, check),
            None => calibrate::run(&ctx, args),
        },
        Command::Gate(args) => gate::run(&ctx, args),
        Command::Nightly(args) => nightly::run(&ctx, args),
        Command::Compare(args) => compare::run(&ctx, args),
        Command::Baseline(command) => baseline::run(&ctx, command),
        Command::Publish(args) => publish::run(&ctx, args),
        Command::Config(command) => config::run(&ctx, command),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Bisect(args) => bisect::run(&ctx, args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_flag_takes_a_commit_id_and_nothing_else() {
        let nightly = |commit: &str| {
            let args = [
                "wasmgate",
                "nightly",
                "--adapter",
                "wasmtime",
                "--binary",
                "b",
            ];
            let more = ["--kept", "kept", "--commit", commit];
            Cli::try_parse_from(args.iter().chain(&more))
        };
        assert!(nightly("0123456789abcdef0123456789abcdef01234567").is_ok());
        let error = nightly("abc;touch${IFS}/tmp/x;#").unwrap_err().to_string();
        assert!(error.contains("is not a commit id"), "{error}");
        let publish = ["wasmgate", "publish", "c.json", "--commit", "$(id)"];
        assert!(Cli::try_parse_from(publish).is_err());
        let baseline = [
            "wasmgate", "baseline", "update", "r.json", "--commit", "main;ls",
        ];
        assert!(Cli::try_parse_from(baseline).is_err());
    }
}
