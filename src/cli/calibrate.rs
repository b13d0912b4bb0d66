//! `wasmgate calibrate`: write a new iteration plan (the calibrate stage's `plan`), or prove the
//! gate with `calibrate aa` and `calibrate inject` (see `proof`).

use super::Context;
use crate::calibrate::plan::{Calibrated, Cost, PlanRequest, calibrate};
use crate::run::adapter::RuntimeRequest;
use anyhow::Result;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CalibrateArgs {
    #[command(subcommand)]
    pub check: Option<super::proof::Check>,
    /// The reference runtime the plan is calibrated on
    #[arg(long, default_value = "wasmtime")]
    pub runtime: RuntimeRequest,
    /// Target duration of one sample, in seconds
    #[arg(long, default_value_t = 0.1)]
    pub target_seconds: f64,
    /// Where to write the plan (point build.plan at it)
    #[arg(long, default_value = "wasmgate-plan.yml")]
    pub out: PathBuf,
}

pub fn run(ctx: &Context, args: CalibrateArgs) -> Result<u8> {
    if let Some(check) = args.check {
        return super::proof::run(ctx, check);
    }
    let request = PlanRequest {
        runtime: args.runtime,
        target_seconds: args.target_seconds,
        out: args.out,
    };
    let calibrated = calibrate(&ctx.loaded, &request)?;
    print_plan(&calibrated, &request.out);
    Ok(0)
}

fn print_plan(calibrated: &Calibrated, out: &Path) {
    for (name, cost) in &calibrated.costs {
        let iterations = calibrated.plan.iterations[name];
        match cost {
            Cost::PerIteration(cost) => println!(
                "{name:<32} {:>14}/iteration × {iterations:>6} = {:.3} s",
                crate::util::format_ps(*cost),
                cost * iterations as f64 / 1e12
            ),
            Cost::TooFast(_) => println!("{name:<32} measures nothing"),
        }
    }
    println!("wrote {} (set build.plan to use it)", out.display());
}
