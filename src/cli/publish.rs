//! `wasmgate publish`: a comparison (or a results file's report) as a sticky pull-request
//! comment, or with `--issue` the nightly-watch issue, plus the job summary and step outputs in
//! GitHub Actions.

use super::Context;
use crate::model::Comparison;
use crate::publish::github::GitHub;
use crate::publish::{ActionsEnv, Target, comment_body, issue_text, marker};
use crate::report::comparison::{Presentation, headline, markdown};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
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
    #[arg(long)]
    pub commit: Option<String>,
    /// Nightly watch: open (or update) an issue on a regression, close it when it is gone
    #[arg(long)]
    pub issue: bool,
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
}

/// What is published: a comparison, or a results file's report.
enum Published {
    Comparison(Box<Comparison>),
    Report(String),
}

/// Reads a comparison or a results file, told apart by their fields.
fn read_published(path: &Path) -> Result<Published> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let origin = path.display().to_string();
    let value: serde_json::Value = crate::model::parse_json(&text, &origin)?;
    if value.get("samples").is_some() {
        let results = crate::run::read_results(path)?;
        let report = crate::report::render_results(&results, crate::report::Format::Markdown)?;
        return Ok(Published::Report(report));
    }
    let comparison: Comparison = crate::model::parse_json(&text, &origin)?;
    crate::model::check_schema(
        comparison.schema_version,
        path,
        "compare again with this wasmgate",
    )?;
    Ok(Published::Comparison(Box::new(comparison)))
}

pub fn run(ctx: &Context, args: PublishArgs) -> Result<u8> {
    let gate = &ctx.loaded.config.gate;
    let path = args
        .file
        .clone()
        .unwrap_or_else(|| gate.results.with_extension("comparison.json"));
    let published = read_published(&path)?;
    let env = ActionsEnv::from_env();
    let run_url = env.run_url();
    let comparison = match published {
        Published::Comparison(comparison) => comparison,
        Published::Report(report) => {
            return publish_report(&env, &args, &report, &path);
        }
    };
    write_actions_files(&env, &comparison, run_url.as_deref(), &path, &gate.report)?;
    if args.no_comment && !args.issue {
        return Ok(0);
    }
    let target = env.target(args.repo.as_deref(), args.pr, args.commit.as_deref())?;
    let key = args
        .key
        .clone()
        .unwrap_or_else(|| comparison.head.runtime.name.clone());
    let github = || client(&args, &target);
    if args.issue {
        watch(
            &comparison,
            &target,
            run_url.as_deref(),
            &key,
            args.dry_run,
            github,
        )
    } else {
        let body = comment_body(&comparison, run_url.as_deref(), &marker("comment", &key))?;
        comment(&target, &key, &body, args.dry_run, github)
    }
}

/// A results file's report (no comparison, so no verdict): job summary, and the sticky
/// comment under its own marker.
fn publish_report(env: &ActionsEnv, args: &PublishArgs, report: &str, path: &Path) -> Result<u8> {
    if args.issue {
        bail!(
            "{}: the nightly watch needs a comparison (wasmgate gate --baseline FILE writes one), not a results file",
            path.display()
        );
    }
    if let Some(summary) = &env.step_summary {
        crate::publish::write_step_summary(Path::new(summary), report)?;
    }
    if let Some(output) = &env.output {
        let outputs = vec![("results".to_string(), path.display().to_string())];
        crate::publish::write_step_outputs(Path::new(output), &outputs)?;
    }
    if args.no_comment {
        return Ok(0);
    }
    let target = env.target(args.repo.as_deref(), args.pr, args.commit.as_deref())?;
    let key = args.key.clone().unwrap_or_else(|| "report".to_string());
    let body = crate::publish::fit_body(&format!("{}\n{report}", marker("comment", &key)));
    comment(&target, &key, &body, args.dry_run, || client(args, &target))
}

fn client(args: &PublishArgs, target: &Target) -> Result<GitHub> {
    let Some(token) = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.is_empty())
    else {
        bail!(
            "no token: set {} (in a workflow: `env: {}: ${{{{ github.token }}}}`), or use --dry-run",
            args.token_env,
            args.token_env
        );
    };
    GitHub::new(
        target.clone(),
        token,
        Duration::from_millis(args.retry_delay_ms),
    )
}

/// The job summary gets the full report; the step outputs the verdict and the files.
fn write_actions_files(
    env: &ActionsEnv,
    comparison: &Comparison,
    run_url: Option<&str>,
    comparison_path: &Path,
    report_path: &Path,
) -> Result<()> {
    if let Some(summary) = &env.step_summary {
        let presentation = Presentation {
            run_url: run_url.map(str::to_string),
            compact: false,
        };
        crate::publish::write_step_summary(
            Path::new(summary),
            &markdown(comparison, &presentation)?,
        )?;
    }
    if let Some(output) = &env.output {
        let mut files = vec![("comparison", comparison_path)];
        if report_path.exists() {
            files.push(("report", report_path));
        }
        let outputs = crate::publish::step_outputs(comparison, &files);
        crate::publish::write_step_outputs(Path::new(output), &outputs)?;
    }
    Ok(())
}

/// The sticky comment: found by its marker and updated, or created once.
fn comment(
    target: &Target,
    key: &str,
    body: &str,
    dry_run: bool,
    github: impl FnOnce() -> Result<GitHub>,
) -> Result<u8> {
    let Some(pr) = target.pr else {
        eprintln!(
            "no pull request to comment on (not a pull_request event; pass --pr N): job summary and outputs only"
        );
        return Ok(0);
    };
    let mark = marker("comment", key);
    let place = format!("{}/{}#{pr}", target.owner, target.repo);
    if dry_run {
        println!(
            "would post or update the comment on {place} ({} characters):\n{body}",
            body.chars().count()
        );
        return Ok(0);
    }
    let github = github()?;
    let posted = match github.find_comment(pr, &mark)? {
        Some(existing) => {
            let updated = github.update_comment(existing.id, body)?;
            format!(
                "updated the comment on {place}: {}",
                link(&updated.html_url)
            )
        }
        None => {
            let created = github.create_comment(pr, body)?;
            format!("commented on {place}: {}", link(&created.html_url))
        }
    };
    eprintln!("{posted}");
    Ok(0)
}

/// The nightly watch: a regression opens the marked issue (or updates the open one); a night
/// without one comments on the open issue and closes it.
fn watch(
    comparison: &Comparison,
    target: &Target,
    run_url: Option<&str>,
    key: &str,
    dry_run: bool,
    github: impl FnOnce() -> Result<GitHub>,
) -> Result<u8> {
    let mark = marker("nightly", key);
    let repo = format!("{}/{}", target.owner, target.repo);
    if comparison.gate_failed {
        let (title, body) = issue_text(comparison, target, run_url, &mark)?;
        if dry_run {
            println!("would open or update the issue in {repo}: {title}\n{body}");
            return Ok(0);
        }
        let github = github()?;
        let message = match github.find_open_issue(&mark)? {
            Some(open) => {
                let updated = github.update_issue(open.number, &title, &body)?;
                format!(
                    "updated issue #{}: {title} {}",
                    open.number,
                    link(&updated.html_url)
                )
            }
            None => {
                let opened = github.create_issue(&title, &body)?;
                format!(
                    "opened issue #{}: {title} {}",
                    opened.number,
                    link(&opened.html_url)
                )
            }
        };
        eprintln!("{message}");
        return Ok(0);
    }
    let gone = format!(
        "{}\nNo longer seen {}: {}{}. Closing.",
        marker("nightly-resolved", key),
        match target.commit.as_deref() {
            Some(commit) => format!("at `{}`", commit.chars().take(12).collect::<String>()),
            None => "tonight".to_string(),
        },
        headline(comparison),
        run_url
            .map(|u| format!(" ([run]({u}))"))
            .unwrap_or_default()
    );
    if dry_run {
        println!("no regression: would close the open issue in {repo}, if any, saying:\n{gone}");
        return Ok(0);
    }
    let github = github()?;
    match github.find_open_issue(&mark)? {
        Some(open) => {
            github.create_comment(open.number, &gone)?;
            github.close_issue(open.number)?;
            eprintln!(
                "closed issue #{} in {repo}: the regression is gone",
                open.number
            );
        }
        None => eprintln!("no regression and no open issue in {repo}"),
    }
    Ok(0)
}

fn link(url: &Option<String>) -> String {
    url.clone()
        .unwrap_or_else(|| "(no link returned)".to_string())
}
