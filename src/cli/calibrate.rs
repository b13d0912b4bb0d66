//! `wasmgate calibrate`: write a new iteration plan (the calibrate stage's `plan`), or cache
//! this runner's own (`--for-runner`, see `calibrate::runner`), or prove the gate with
//! `calibrate aa` and `calibrate inject` (see `proof`).

use super::Context;
use crate::calibrate::plan::{Calibrated, Cost, PlanRequest, calibrate};
use crate::run::adapter::RuntimeRequest;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CalibrateArgs {
    #[command(subcommand)]
    pub check: Option<super::proof::Check>,
    /// The reference runtime the plan is calibrated on [default: build.calibration.runtime]
    #[arg(long)]
    pub runtime: Option<RuntimeRequest>,
    /// Target duration of one sample, in seconds [default: build.calibration.target_seconds]
    #[arg(long)]
    pub target_seconds: Option<f64>,
    /// Where to write the plan (point build.plan at it) [default: wasmgate-plan.yml]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Calibrate this machine's plan (again) and cache it where `build.plan: runner` finds it;
    /// it uses build.calibration, so the cached plan is the one runs look up
    #[arg(long, conflicts_with_all = ["runtime", "target_seconds", "out"])]
    pub for_runner: bool,
}

pub fn run(ctx: &Context, args: CalibrateArgs) -> Result<u8> {
    if args.for_runner {
        let (calibrated, path) = crate::calibrate::runner::calibrate_for_runner(&ctx.loaded)?;
        print_plan(&calibrated);
        println!(
            "cached this runner's plan in {} (build.plan: runner uses it)",
            path.display()
        );
        return Ok(0);
    }
    let defaults = &ctx.loaded.config.build.calibration;
    let request = PlanRequest {
        runtime: match args.runtime {
            Some(runtime) => runtime,
            None => RuntimeRequest {
                label: defaults.runtime.clone(),
                adapter: None,
                path: None,
            },
        },
        target_seconds: args.target_seconds.unwrap_or(defaults.target_seconds),
        out: args
            .out
            .unwrap_or_else(|| PathBuf::from("wasmgate-plan.yml")),
    };
    let calibrated = calibrate(&ctx.loaded, &request)?;
    print_plan(&calibrated);
    println!("wrote {} (set build.plan to use it)", request.out.display());
    Ok(0)
}

fn print_plan(calibrated: &Calibrated) {
    for (name, cost) in &calibrated.costs {
        let iterations = calibrated.plan.iterations[name];
        match cost {
            Cost::PerIteration(cost) => println!(
                "{name:<32} {:>14}/iteration × {iterations:>7} = {:.3} s",
                crate::util::format_ps(*cost),
                cost * iterations as f64 / 1e12
            ),
            Cost::TooFast(_) => println!("{name:<32} measures nothing"),
        }
    }
}
