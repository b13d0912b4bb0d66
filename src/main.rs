//! wasmgate: builds libsodium's benchmarks for WebAssembly, runs them on runtimes, reports.
//! `main` only parses the command line and turns errors into one line and an exit code; the
//! stages are the library (`lib.rs`).

use clap::Parser;
use std::process::ExitCode;

/// Exit code for a usage or input error (bad config, unknown runtime, missing tool...).
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = wasmgate::cli::Cli::parse();
    match wasmgate::cli::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // `{:#}` joins the context chain on one line: what failed, then why.
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
