//! `wasmgate bisect`: the first bad commit of a runtime between a good and a bad commit. Exit 0
//! when it is found (or bad is no slower), 1 when a step stays inconclusive or the budget runs
//! out, 2 on an error (a commit that does not resolve, a build that fails).

use super::Context;
use crate::bisect::{BisectRequest, bisect, default_tests};
use crate::model::bisect::BisectOutcome;
use crate::run::measure::MeasureRequest;
use anyhow::{Result, bail};
use std::path::PathBuf;

/// Exit code of a bisect that stopped without an answer.
pub const EXIT_INCONCLUSIVE: u8 = 1;

#[derive(clap::Args, Debug)]
#[command(mut_arg("budget", |arg| arg.help(
    "Bound on the measuring of the whole bisect, shared by its steps (builds not counted), e.g. 30m [default: gate.budget]"
)))]
pub struct BisectArgs {
    /// The runtime's git repository
    #[arg(long)]
    pub repo: PathBuf,
    /// A commit without the regression
    #[arg(long)]
    pub good: String,
    /// A later commit with it
    #[arg(long)]
    pub bad: String,
    /// Shell command that builds {commit} of {repo} and writes the runtime to {out}
    /// (placeholders are filled in quoted)
    #[arg(long, value_name = "CMD")]
    pub build: String,
    /// The configured adapter that runs the built runtime, e.g. wasmtime
    #[arg(long, value_name = "NAME")]
    pub adapter: String,
    /// Only these tests (comma-separated) [default: those --nightly's last night called
    /// regressions, or the configured tests]
    #[arg(long, value_delimiter = ',')]
    pub tests: Vec<String>,
    /// The nightly's kept-builds folder, whose last night names the tests to bisect on
    #[arg(long, value_name = "DIR")]
    pub nightly: Option<PathBuf>,
    /// Samples and cores of each step
    #[command(flatten)]
    pub sampling: super::SamplingArgs,
    /// The record of the bisect; each step's results are written beside it
    #[arg(long, default_value = "bisect.json")]
    pub out: PathBuf,
}

pub fn run(ctx: &Context, args: BisectArgs) -> Result<u8> {
    let config = &ctx.loaded.config;
    let tests = match args.tests.is_empty() {
        true => default_tests(config, args.nightly.as_deref())?,
        false => args.tests.clone(),
    };
    let overrides = args.sampling.overrides();
    let defaults = config.gate_sampling();
    let measure = MeasureRequest::from_overrides(&ctx.loaded, &[], &tests, &overrides, defaults)?;
    let Some(budget) = measure.sampling.budget.as_deref() else {
        bail!("--budget: give the bisect's budget, e.g. --budget 30m (gate.budget is empty)");
    };
    let request = BisectRequest {
        repo: args.repo,
        good: args.good,
        bad: args.bad,
        build: args.build,
        adapter: args.adapter,
        budget: crate::config::parse_duration(budget)?,
        out: args.out,
        measure,
    };
    let record = bisect(&ctx.with_plan()?, &request, &mut |line| {
        eprintln!("bisect: {line}")
    })?;
    print!("{}", crate::bisect::summary::render(&record));
    eprintln!("record: {}", request.out.display());
    Ok(match record.outcome {
        BisectOutcome::Inconclusive { .. } => EXIT_INCONCLUSIVE,
        _ => 0,
    })
}
