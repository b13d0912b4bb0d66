//! `wasmgate publish` against a local server that plays GitHub's REST API: the sticky comment
//! (created once, then updated, found across pages), an oversized report, retries on server
//! errors and rate limits, the fork refusal, the nightly issue's life, the job summary and step
//! outputs, and the token never showing in any output (not even when the server echoes it, or
//! the API's URL holds credentials); a server that refuses connections or never answers. The
//! comparisons come from real wasmtime samples.
// A test that cannot set up fails: unwrapping is how it says so.
#![allow(clippy::unwrap_used)]

mod common;
mod fake_github;

use common::*;
use fake_github::{Failure, FakeGitHub, OWNER, REPO};
use std::process::{Command, Output};
use std::sync::OnceLock;
use wiremock::ResponseTemplate;

const TOKEN: &str = "ghp_fakeTOKEN0123456789abcdefghijklmnopqrs";

/// Two comparisons of real samples: `slow` (head 10 % slower on every test: regressions) and
/// `same` (head identical to base: no regression).
struct Comparisons {
    slow: PathBuf,
    same: PathBuf,
    /// The A/A results they were made from.
    results: PathBuf,
}

fn comparisons() -> &'static Comparisons {
    static MADE: OnceLock<Comparisons> = OnceLock::new();
    MADE.get_or_init(|| {
        let dir = tempdir();
        let results = aa_run(&dir, "hash,box", 10);
        let make = |name: &str, factor: f64| {
            let scaled = dir.join(format!("{name}-results.json"));
            with_head_scaled(&results, factor, &scaled);
            let out = dir.join(format!("{name}.comparison.json"));
            let output = run(wasmgate(&dir)
                .arg("compare")
                .arg(&scaled)
                .args(["--base", "a", "--head", "b", "--out"])
                .arg(&out));
            assert!(
                output.status.code().is_some_and(|c| c <= 1),
                "{}",
                stderr(&output)
            );
            out
        };
        Comparisons {
            slow: make("slow", 1.10),
            same: make("same", 1.0),
            results,
        }
    })
}

/// Runs `wasmgate publish` as a GitHub Actions step would, talking to the fake server. Logs
/// the arguments but not the environment (which holds the token), and checks that the token
/// is in neither output.
fn publish(server: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env("WASMGATE_HOME", home());
    for (name, _) in std::env::vars() {
        if name.starts_with("GITHUB_") {
            command.env_remove(name);
        }
    }
    command
        .env("GITHUB_API_URL", server)
        .env("GITHUB_REPOSITORY", format!("{OWNER}/{REPO}"))
        .env("GITHUB_TOKEN", TOKEN)
        .envs(env.iter().copied())
        .arg("publish")
        .args(args)
        .args(["--retry-delay-ms", "10"]);
    let output = command.output().expect("wasmgate starts");
    let (out, err) = (stdout(&output), stderr(&output));
    eprintln!(
        "$ wasmgate publish {}\n-- exit {:?}\n-- stdout\n{out}\n-- stderr\n{err}",
        args.join(" "),
        output.status.code()
    );
    assert!(
        !out.contains(TOKEN) && !err.contains(TOKEN),
        "the token leaked"
    );
    output
}

/// The comments on a pull request that carry wasmgate's marker.
fn marked_comments(github: &FakeGitHub, pr: u64) -> Vec<fake_github::Comment> {
    github
        .comments_on(pr)
        .into_iter()
        .filter(|c| c.body.contains("<!-- wasmgate:comment:"))
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comment_is_created_once_then_updated_across_pages() {
    let (server, github) = FakeGitHub::start(2).await;
    for n in 0..5 {
        github.add_comment(7, &format!("unrelated review comment {n}"));
    }
    let dir = tempdir();
    let c = comparisons();

    let first = publish(&server.uri(), &dir, &[path(&c.slow), "--pr", "7"], &[]);
    assert!(first.status.success());
    assert_eq!(github.count("POST"), 1);
    let ours = marked_comments(&github, 7);
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0].body.contains("❌ wasmgate: 2 regressions"),
        "{}",
        ours[0].body
    );
    // Five comments at two a page: wasmgate read every page before deciding to create.
    assert_eq!(github.count("GET /repos/acme/runtime/issues/7/comments"), 3);
    // The token was sent to the API, as a token header.
    let (_, auth) = &github.requests()[0];
    assert!(auth.as_deref().unwrap().ends_with(TOKEN));

    let second = publish(&server.uri(), &dir, &[path(&c.same), "--pr", "7"], &[]);
    assert!(second.status.success());
    assert_eq!(github.count("POST"), 1, "no second comment");
    assert_eq!(github.count("PATCH"), 1);
    let ours = marked_comments(&github, 7);
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0].body.contains("✅ wasmgate: 0 regressions"),
        "{}",
        ours[0].body
    );
    assert_eq!(github.comments_on(7).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pull_request_comes_from_the_event_and_dry_run_calls_nothing() {
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let event = dir.join("event.json");
    std::fs::write(&event, r#"{"pull_request": {"number": 12}}"#).unwrap();
    let c = comparisons();

    let dry = Command::new(BIN)
        .current_dir(&dir)
        .env("WASMGATE_HOME", home())
        .env_remove("GITHUB_TOKEN")
        .args([
            "publish",
            path(&c.slow),
            "--dry-run",
            "--repo",
            "acme/runtime",
            "--pr",
            "12",
        ])
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("would post or update the comment on acme/runtime#12"));
    assert!(stdout(&dry).contains("2 regressions"));
    assert!(github.requests().is_empty(), "a dry run calls nothing");

    let posted = publish(
        &server.uri(),
        &dir,
        &[path(&c.slow)],
        &[("GITHUB_EVENT_PATH", path(&event))],
    );
    assert!(posted.status.success());
    assert_eq!(github.comments_on(12).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_report_is_shortened_to_fit() {
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    // The real comparison, with its unchanged tests repeated under long names until the full
    // report is far over GitHub's 65536 characters.
    let mut json = read_json(&comparisons().same);
    let template = json["tests"][0].clone();
    let tests: Vec<Value> = (0..900)
        .map(|i| {
            let mut t = template.clone();
            t["test"] = format!("unchanged_test_with_a_long_descriptive_name_{i:04}").into();
            t
        })
        .chain(
            read_json(&comparisons().slow)["tests"]
                .as_array()
                .unwrap()
                .clone(),
        )
        .collect();
    json["tests"] = tests.into();
    json["gate_failed"] = true.into();
    let big = dir.join("big.comparison.json");
    std::fs::write(&big, serde_json::to_string(&json).unwrap()).unwrap();

    let output = publish(&server.uri(), &dir, &[path(&big), "--pr", "3"], &[]);
    assert!(output.status.success());
    let body = &github.comments_on(3)[0].body;
    assert!(body.chars().count() <= 65_536, "{}", body.chars().count());
    assert!(body.contains("2 regressions"), "the headline stays");
    assert!(
        body.contains("| `hash` |") && body.contains("| `box` |"),
        "the regressions stay"
    );
    assert!(body.contains("job summary"), "it says where the rest is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_rate_limits_are_retried() {
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let error = |status: u16, message: &str| {
        ResponseTemplate::new(status).set_body_json(serde_json::json!({ "message": message }))
    };
    github.fail_next(error(500, "Internal Server Error"));
    github.fail_next(error(502, "Bad Gateway"));
    github.fail_next(
        error(403, "API rate limit exceeded for installation.")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("retry-after", "1"),
    );
    github.fail_next(error(429, "Too Many Requests"));
    let output = publish(
        &server.uri(),
        &dir,
        &[path(&comparisons().slow), "--pr", "5"],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("server error 500"), "{err}");
    assert!(err.contains("rate limited"), "{err}");
    assert_eq!(github.comments_on(5).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_say_what_to_do_without_the_token() {
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let slow = path(&comparisons().slow);
    github.fail_next(
        ResponseTemplate::new(403).set_body_json(
            serde_json::json!({ "message": "Resource not accessible by integration" }),
        ),
    );
    let fork = publish(&server.uri(), &dir, &[slow, "--pr", "5"], &[]);
    assert_eq!(fork.status.code(), Some(2));
    let err = stderr(&fork);
    assert!(
        err.contains("fork") && err.contains("workflow_run"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    github.fail_next(
        ResponseTemplate::new(401)
            .set_body_json(serde_json::json!({ "message": "Bad credentials" })),
    );
    let refused = publish(&server.uri(), &dir, &[slow, "--pr", "5"], &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("401 Bad credentials"));

    for _ in 0..5 {
        github.fail_next(
            ResponseTemplate::new(503)
                .set_body_json(serde_json::json!({ "message": "Service Unavailable" })),
        );
    }
    let down = publish(&server.uri(), &dir, &[slow, "--pr", "5"], &[]);
    assert_eq!(down.status.code(), Some(2));
    assert!(stderr(&down).contains("server error 503"));

    let no_token = Command::new(BIN)
        .current_dir(&dir)
        .env("WASMGATE_HOME", home())
        .env_remove("GITHUB_TOKEN")
        .env("GITHUB_API_URL", server.uri())
        .args(["publish", slow, "--repo", "acme/runtime", "--pr", "5"])
        .output()
        .unwrap();
    assert_eq!(no_token.status.code(), Some(2));
    assert!(stderr(&no_token).contains("no token: set GITHUB_TOKEN"));
    assert!(github.comments_on(5).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_issue_opens_once_updates_and_closes() {
    let (server, github) = FakeGitHub::start(2).await;
    // Other issues and a pull request, so finding ours takes paging and filtering.
    github.add_issue("Crash on startup", "unrelated", false);
    github.add_issue("Speed up the parser", "a PR", true);
    github.add_issue("Docs typo", "unrelated", false);
    let dir = tempdir();
    let c = comparisons();
    let night = |comparison: &Path, commit: &str| {
        publish(
            &server.uri(),
            &dir,
            &[path(comparison), "--issue", "--commit", commit],
            &[],
        )
    };

    assert!(night(&c.slow, "aaaa1111").status.success());
    let ours: Vec<_> = github
        .issues()
        .into_iter()
        .filter(|i| i.number > 3)
        .collect();
    assert_eq!(ours.len(), 1);
    let issue = &ours[0];
    assert!(issue.open);
    assert!(
        issue.title.contains("`hash`") && issue.title.contains("`box`"),
        "{}",
        issue.title
    );
    assert!(issue.body.contains("aaaa1111"), "{}", issue.body);
    assert!(
        issue.body.contains("| `hash` |"),
        "names the tests with their change"
    );

    assert!(night(&c.slow, "bbbb2222").status.success());
    assert_eq!(github.issues().len(), 4, "updated, not opened again");
    assert!(github.issues()[3].body.contains("bbbb2222"));

    assert!(night(&c.same, "cccc3333").status.success());
    let closed = &github.issues()[3];
    assert!(!closed.open);
    let note = &github.comments_on(closed.number)[0].body;
    assert!(note.contains("No longer seen at `cccc3333`"), "{note}");
    assert!(
        github.issues()[..3].iter().all(|i| i.open),
        "others untouched"
    );

    let patches = github.count("PATCH");
    assert!(night(&c.same, "dddd4444").status.success());
    assert_eq!(
        github.count("PATCH"),
        patches,
        "nothing open: nothing to close"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_summary_and_step_outputs_are_written() {
    let (server, _github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let summary = dir.join("summary.md");
    let outputs = dir.join("outputs.txt");
    let output = publish(
        &server.uri(),
        &dir,
        &[path(&comparisons().slow), "--no-comment"],
        &[
            ("GITHUB_STEP_SUMMARY", path(&summary)),
            ("GITHUB_OUTPUT", path(&outputs)),
            ("GITHUB_SERVER_URL", "https://github.example"),
            ("GITHUB_RUN_ID", "4242"),
        ],
    );
    assert!(output.status.success());
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("2 regressions"));
    assert!(summary.contains("https://github.example/acme/runtime/actions/runs/4242"));
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    for line in [
        "verdict=fail",
        "regressions=2",
        "improvements=0",
        "failed=0",
    ] {
        assert!(outputs.lines().any(|l| l == line), "{line} in {outputs}");
    }
    assert!(outputs.contains("comparison="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_results_file_is_posted_as_its_report() {
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let results = path(&comparisons().results);
    let output = publish(&server.uri(), &dir, &[results, "--pr", "4"], &[]);
    assert!(output.status.success());
    let body = &github.comments_on(4)[0].body;
    assert!(
        body.starts_with("<!-- wasmgate:comment:report -->"),
        "{body}"
    );
    assert!(body.contains("hash") && body.contains("box"), "{body}");

    let watch = publish(&server.uri(), &dir, &[results, "--issue"], &[]);
    assert_eq!(watch.status.code(), Some(2));
    assert!(stderr(&watch).contains("needs a comparison"));
}

/// A password put in `GITHUB_API_URL`: like the token, it must never be printed.
const PASSWORD: &str = "hunter2hunter2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_echoing_the_request_headers_is_printed_without_the_token() {
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let slow = path(&comparisons().slow);
    // Retried (a 500), then final (a 422): both messages repeat the Authorization header.
    github.fail_next_with(Failure::EchoHeaders(500));
    github.fail_next_with(Failure::EchoHeaders(422));
    let output = publish(&server.uri(), &dir, &[slow, "--pr", "5"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("server error 500") && err.contains("retrying"),
        "{err}"
    );
    assert!(err.contains("HTTP 422 (Validation Failed"), "{err}");
    assert!(err.contains("authorization: ***"), "{err}");
    // The echo was real: the server did receive the token.
    assert!(github.requests()[0].1.as_deref().unwrap().ends_with(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_previewed_or_posted_is_redacted_too() {
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let slow = path(&comparisons().slow);
    // The key is user text that lands in the body: here, carelessly, the token itself.
    let args = [slow, "--pr", "6", "--key", TOKEN];
    let dry = publish(
        &server.uri(),
        &dir,
        &[&args[..], &["--dry-run"]].concat(),
        &[],
    );
    assert!(dry.status.success());
    assert!(stdout(&dry).contains("<!-- wasmgate:comment:*** -->"));
    let posted = publish(&server.uri(), &dir, &args, &[]);
    assert!(posted.status.success());
    let body = &github.comments_on(6)[0].body;
    assert!(body.starts_with("<!-- wasmgate:comment:*** -->") && !body.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_api_url_is_named_without_its_credentials() {
    let dir = tempdir();
    let url = format!("http://octo:{PASSWORD}@exa mple.invalid/");
    let output = publish(
        "unused",
        &dir,
        &[path(&comparisons().slow), "--pr", "5"],
        &[("GITHUB_API_URL", &url)],
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("GITHUB_API_URL `http://***@exa mple.invalid/`"),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_names_the_url_and_is_retried() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempdir();
    let url = format!("http://octo:{PASSWORD}@127.0.0.1:{port}");
    let output = publish(
        "unused",
        &dir,
        &[path(&comparisons().slow), "--pr", "5"],
        &[("GITHUB_API_URL", &url)],
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    let named = format!(
        "cannot reach http://***@127.0.0.1:{port}/repos/acme/runtime/issues/5/comments: connection refused"
    );
    assert!(err.contains(&named), "{err}");
    assert_eq!(err.matches("retrying in").count(), 4, "{err}");
    assert!(
        !err.contains(PASSWORD) && !err.contains("client error"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_and_is_retried() {
    let (server, github) = FakeGitHub::start(100).await;
    let dir = tempdir();
    let slow = path(&comparisons().slow);
    let quick = ["--timeout-ms", "300"];
    // Two silences, then answers: the listing is tried again and the comment posted.
    github.fail_next_with(Failure::Hang);
    github.fail_next_with(Failure::Hang);
    let output = publish(
        &server.uri(),
        &dir,
        &[&[slow, "--pr", "8"][..], &quick].concat(),
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("no answer: timed out after 0.3 s; retrying"),
        "{err}"
    );
    assert_eq!(github.comments_on(8).len(), 1);

    for _ in 0..5 {
        github.fail_next_with(Failure::Hang);
    }
    let output = publish(
        &server.uri(),
        &dir,
        &[&[slow, "--pr", "9"][..], &quick].concat(),
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    let named = format!(
        "error: GitHub: listing: cannot reach {}/repos/acme/runtime/issues/9/comments: no answer: timed out after 0.3 s",
        server.uri()
    );
    assert!(err.contains(&named), "{err}");
    assert!(github.comments_on(9).is_empty());
}
