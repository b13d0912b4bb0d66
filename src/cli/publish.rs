//! `wasmgate publish`: a comparison (or a results file's report) as a sticky pull-request
//! comment, or with `--issue` the nightly-watch issue, plus the job summary and step outputs in
//! GitHub Actions.

use super::Context;
use crate::publish::{ActionsEnv, Job, PublishRequest};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    /// The comparison `wasmgate gate` or `wasmgate compare --out` wrote, or a results file
    /// (its report is posted) [default: gate.results with extension .comparison.json]
    pub file: Option<PathBuf>,
    /// Repository as OWNER/NAME [default: GITHUB_REPOSITORY]
    #[arg(long)]
    pub repo: Option<String>,
    /// Pull request to comment on [default: from GITHUB_EVENT_PATH]
    #[arg(long)]
    pub pr: Option<u64>,
    /// The commit measured [default: GITHUB_SHA]
    #[arg(long, value_parser = super::commit_id)]
    pub commit: Option<String>,
    /// Nightly watch: open (or update) an issue on a regression, close it when it is gone
    #[arg(long)]
    pub issue: bool,
    /// With --issue: the nightly's longer links (PREFIX.t-N.comparison.json, comma-separated);
    /// one that regressed while the first file did not opens the issue as a slow drift
    #[arg(long, value_delimiter = ',', value_name = "FILE")]
    pub drift: Vec<PathBuf>,
    /// With --issue: the command that builds the runtime at a commit, shown in the issue's
    /// `wasmgate bisect` command [default: a placeholder to fill in]
    #[arg(long, value_name = "COMMAND")]
    pub bisect_build: Option<String>,
    /// Tells this gate's comment or issue from others' in the same repository
    /// [default: the head runtime's name]
    #[arg(long)]
    pub key: Option<String>,
    /// Only the job summary and step outputs; no comment
    #[arg(long)]
    pub no_comment: bool,
    /// Name of the environment variable that holds the token
    #[arg(long, default_value = "GITHUB_TOKEN")]
    pub token_env: String,
    /// Print what would be posted, and call nothing
    #[arg(long)]
    pub dry_run: bool,
    /// First wait before retrying a failed call, in milliseconds (doubles each time)
    #[arg(long, default_value_t = 1000, hide = true)]
    pub retry_delay_ms: u64,
    /// How long one call may wait for GitHub's answer, in milliseconds
    #[arg(long, default_value_t = crate::publish::DEFAULT_TIMEOUT.as_millis() as u64, hide = true)]
    pub timeout_ms: u64,
}

pub fn run(ctx: &Context, args: PublishArgs) -> Result<u8> {
    let job = if args.issue {
        Job::Issue
    } else if args.no_comment {
        Job::SummaryOnly
    } else {
        Job::Comment
    };
    let request = request(ctx, args);
    // A dry run's preview is the command's output; what was done is said beside the logs.
    match crate::publish::run(&request, job)? {
        Some(said) if said.preview => println!("{}", said.text),
        Some(said) => eprintln!("{}", said.text),
        None => {}
    }
    Ok(0)
}

/// The flags over the GitHub Actions environment, and the gate's files by default.
fn request(ctx: &Context, args: PublishArgs) -> PublishRequest {
    let gate = &ctx.loaded.config.gate;
    PublishRequest {
        file: args
            .file
            .unwrap_or_else(|| gate.results.with_extension("comparison.json")),
        gate_report: gate.report.clone(),
        key: args.key,
        repo: args.repo,
        pr: args.pr,
        commit: args.commit,
        drift: args.drift,
        bisect_build: args.bisect_build,
        actions: ActionsEnv::from_env(),
        token_env: args.token_env,
        dry_run: args.dry_run,
        retry_delay: Duration::from_millis(args.retry_delay_ms),
        timeout: Duration::from_millis(args.timeout_ms),
    }
}
