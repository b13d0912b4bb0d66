//! wasmgate's stages as a library, used by the binary (`main.rs`) and the integration tests.
//! The stages, in their one import order (each uses only those before it; see
//! `docs/architecture.md` and `scripts/check-layers.sh`): model, util, stats, config,
//! toolchain, build, run, compare, calibrate, nightly, bisect, report, publish, cli.

pub mod bisect;
pub mod build;
pub mod calibrate;
pub mod cli;
pub mod compare;
pub mod config;
pub mod model;
pub mod nightly;
pub mod publish;
pub mod report;
pub mod run;
pub mod stats;
pub mod toolchain;
pub mod util;
