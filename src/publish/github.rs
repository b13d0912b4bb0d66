//! The GitHub REST calls wasmgate makes, through octocrab: find a marked comment or issue,
//! create or update it, close an issue. Every call is retried with exponential backoff on a
//! server error, a rate limit or a failure to connect; other refusals become one-line errors
//! that say what to do. The token goes into octocrab's client and nowhere else, and what the
//! server says back (which may echo it) leaves only through the `Redactor`.

use super::Target;
use super::redact::{Redactor, without_credentials};
use anyhow::{Result, anyhow};
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::json;
use std::future::Future;
use std::time::Duration;

/// Attempts of one call before giving up on a server error or rate limit.
const ATTEMPTS: u32 = 5;
/// The longest wait for a rate limit to reset before giving up.
const LONGEST_WAIT: Duration = Duration::from_secs(120);
/// The longest wait for a connection, when the request's timeout is longer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A comment, as far as wasmgate reads it.
#[derive(Debug, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// An issue, as far as wasmgate reads it.
#[derive(Debug, Deserialize)]
pub struct Issue {
    pub number: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    /// Present when the "issue" is a pull request (the issues API lists both).
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

/// How the client behaves: retries, timeouts, and what its messages must not show.
#[derive(Debug, Clone)]
pub struct Settings {
    /// First wait after a failed call; doubles with each attempt.
    pub backoff: Duration,
    /// How long a call may wait for its connection (at most `CONNECT_TIMEOUT`) or for the
    /// server's answer.
    pub timeout: Duration,
    pub redactor: Redactor,
}

pub struct GitHub {
    client: Octocrab,
    target: Target,
    settings: Settings,
    runtime: tokio::runtime::Runtime,
}

/// Whether a call may be sent twice: a creation that reached the server before its answer
/// was lost would be made again, so it is retried only when it surely did not leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Safe,
    OnlyUnsent,
}

impl GitHub {
    pub fn new(target: Target, token: String, settings: Settings) -> Result<GitHub> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let timeout = settings.timeout;
        // octocrab's client spawns onto the runtime it is built in.
        let client = runtime.block_on(async {
            Octocrab::builder()
                .base_uri(target.api_url.as_str())
                // The URL as given may hold credentials: the message names it without them.
                .map_err(|e| {
                    anyhow!(
                        "GITHUB_API_URL `{}`: {e}",
                        without_credentials(&target.api_url)
                    )
                })?
                .personal_token(token)
                // Built without octocrab's retry layer: retries are ours (`call`), with
                // backoff and a clear error when they run out.
                .set_connect_timeout(Some(timeout.min(CONNECT_TIMEOUT)))
                .set_read_timeout(Some(timeout))
                .set_write_timeout(Some(timeout))
                .build()
                .map_err(|e| anyhow!("setting up the GitHub client: {e}"))
        })?;
        Ok(GitHub {
            client,
            target,
            settings,
            runtime,
        })
    }

    fn repo_route(&self, rest: &str) -> String {
        format!("/repos/{}/{}/{rest}", self.target.owner, self.target.repo)
    }

    /// The full URL of a route, as messages name it (without credentials).
    fn url_of(&self, route: &str) -> String {
        let root = self.target.api_url.trim_end_matches('/');
        without_credentials(&format!("{root}{route}"))
    }

    /// A body as posted: redacted as everything the stage says is, so a secret in the
    /// published text never reaches a public comment.
    fn payload(&self, fields: serde_json::Value) -> serde_json::Value {
        let mut fields = fields;
        if let Some(map) = fields.as_object_mut() {
            for value in map.values_mut() {
                if let Some(text) = value.as_str() {
                    *value = self.settings.redactor.redact(text).into();
                }
            }
        }
        fields
    }

    /// The first comment on the pull request (or issue) that carries `mark`, over all pages.
    pub fn find_comment(&self, number: u64, mark: &str) -> Result<Option<Comment>> {
        let route = self.repo_route(&format!("issues/{number}/comments"));
        self.find_in_pages(&route, &[("per_page", "100")], |c: &Comment| {
            c.body.as_deref().is_some_and(|b| b.contains(mark))
        })
    }

    pub fn create_comment(&self, number: u64, body: &str) -> Result<Comment> {
        let route = self.repo_route(&format!("issues/{number}/comments"));
        let payload = self.payload(json!({ "body": body }));
        self.call("posting the comment", &route, Repeat::OnlyUnsent, || {
            self.client.post(&route, Some(&payload))
        })
    }

    pub fn update_comment(&self, id: u64, body: &str) -> Result<Comment> {
        let route = self.repo_route(&format!("issues/comments/{id}"));
        let payload = self.payload(json!({ "body": body }));
        self.call("updating the comment", &route, Repeat::Safe, || {
            self.client.patch(&route, Some(&payload))
        })
    }

    /// The open issue (not pull request) that carries `mark`, over all pages.
    pub fn find_open_issue(&self, mark: &str) -> Result<Option<Issue>> {
        let route = self.repo_route("issues");
        self.find_in_pages(
            &route,
            &[("state", "open"), ("per_page", "100")],
            |i: &Issue| {
                i.pull_request.is_none() && i.body.as_deref().is_some_and(|b| b.contains(mark))
            },
        )
    }

    pub fn create_issue(&self, title: &str, body: &str) -> Result<Issue> {
        let route = self.repo_route("issues");
        let payload = self.payload(json!({ "title": title, "body": body }));
        self.call("opening the issue", &route, Repeat::OnlyUnsent, || {
            self.client.post(&route, Some(&payload))
        })
    }

    pub fn update_issue(&self, number: u64, title: &str, body: &str) -> Result<Issue> {
        let route = self.repo_route(&format!("issues/{number}"));
        let payload = self.payload(json!({ "title": title, "body": body }));
        self.call("updating the issue", &route, Repeat::Safe, || {
            self.client.patch(&route, Some(&payload))
        })
    }

    pub fn close_issue(&self, number: u64) -> Result<Issue> {
        let route = self.repo_route(&format!("issues/{number}"));
        let payload = json!({ "state": "closed", "state_reason": "completed" });
        self.call("closing the issue", &route, Repeat::Safe, || {
            self.client.patch(&route, Some(&payload))
        })
    }

    /// Walks a listing page by page (following GitHub's `Link: rel="next"`) until `wanted`
    /// matches an item.
    fn find_in_pages<T: serde::de::DeserializeOwned>(
        &self,
        route: &str,
        query: &[(&str, &str)],
        wanted: impl Fn(&T) -> bool,
    ) -> Result<Option<T>> {
        let mut page: octocrab::Page<T> = self.call("listing", route, Repeat::Safe, || {
            self.client.get(route, Some(&query))
        })?;
        loop {
            if let Some(index) = page.items.iter().position(&wanted) {
                return Ok(Some(page.items.swap_remove(index)));
            }
            if page.next.is_none() {
                return Ok(None);
            }
            let next = page.next.clone();
            // The next page's link is absolute: named as it is (without credentials).
            let named = next.as_ref().map(|u| u.to_string()).unwrap_or_default();
            let next_page: Option<octocrab::Page<T>> =
                self.call_at("listing", &named, Repeat::Safe, || {
                    self.client.get_page(&next)
                })?;
            match next_page {
                Some(next_page) => page = next_page,
                None => return Ok(None),
            }
        }
    }

    /// Runs one API call on `route`, retrying what may pass on a second try.
    fn call<T, F, Fut>(&self, what: &str, route: &str, repeat: Repeat, request: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = octocrab::Result<T>>,
    {
        self.call_at(what, &self.url_of(route), repeat, request)
    }

    /// Runs one API call on `url` (as messages name it), retrying server errors, rate limits
    /// and failures to connect with exponential backoff.
    fn call_at<T, F, Fut>(&self, what: &str, url: &str, repeat: Repeat, request: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = octocrab::Result<T>>,
    {
        let mut wait = self.settings.backoff;
        let mut attempt = 1;
        loop {
            let error = match self.runtime.block_on(request()) {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let refusal = Refusal::of(&error, self.settings.timeout);
            let said = refusal.describe(&self.target, &without_credentials(url));
            match refusal.retry_after(wait, repeat) {
                Some(delay) if attempt < ATTEMPTS && delay <= LONGEST_WAIT => {
                    self.settings.redactor.note(&format!(
                        "GitHub: {what}: {said}; retrying in {:.1} s ({attempt}/{ATTEMPTS})",
                        delay.as_secs_f64()
                    ));
                    std::thread::sleep(delay);
                    wait *= 2;
                    attempt += 1;
                }
                _ => {
                    let unsure = refusal.not_repeated(repeat);
                    return Err(anyhow!("GitHub: {what}: {said}{unsure}"));
                }
            }
        }
    }
}

/// Why GitHub said no, sorted by what to do about it.
#[derive(Debug)]
enum Refusal {
    Server {
        status: u16,
        message: String,
    },
    RateLimited {
        reset_in: Option<Duration>,
        message: String,
    },
    /// 403 that is not a rate limit: most often a pull request from a fork, whose token is
    /// read-only.
    Forbidden {
        message: String,
    },
    Unauthorized,
    NotFound,
    /// No answer: the connection failed or the server did not answer in time. `sent` is
    /// whether the request may have reached the server.
    Unreachable {
        cause: String,
        sent: bool,
    },
    Other {
        status: Option<u16>,
        message: String,
    },
}

/// A server's text as one bounded line: a 422 whose message is 50 MB is one error line all
/// the same.
fn from_server(text: &str) -> String {
    let head = crate::util::bounded(text, 2_000);
    crate::util::bounded(&head.split_whitespace().collect::<Vec<_>>().join(" "), 500)
}

impl Refusal {
    fn of(error: &octocrab::Error, timeout: Duration) -> Refusal {
        let source = match error {
            octocrab::Error::GitHub { source, .. } => source,
            octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => {
                return unreachable(error, timeout);
            }
            // Decoding and building errors: the message says what went wrong (and passes
            // the redactor on its way out, like every message).
            _ => {
                return Refusal::Other {
                    status: None,
                    message: from_server(&error.to_string()),
                };
            }
        };
        let status = source.status_code.as_u16();
        let message = from_server(&source.message);
        let header = |name: &str| -> Option<u64> {
            source
                .headers
                .as_ref()?
                .get(name)?
                .to_str()
                .ok()?
                .parse()
                .ok()
        };
        let remaining_zero = header("x-ratelimit-remaining") == Some(0);
        let rate_limited = status == 429
            || (status == 403
                && (remaining_zero
                    || header("retry-after").is_some()
                    || message.to_lowercase().contains("rate limit")));
        if rate_limited {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let reset_in = header("retry-after")
                .or_else(|| header("x-ratelimit-reset").map(|reset| reset.saturating_sub(now)))
                .map(Duration::from_secs);
            return Refusal::RateLimited { reset_in, message };
        }
        match status {
            500..=599 => Refusal::Server { status, message },
            401 => Refusal::Unauthorized,
            403 => Refusal::Forbidden { message },
            404 => Refusal::NotFound,
            _ => Refusal::Other {
                status: Some(status),
                message,
            },
        }
    }

    /// How long to wait before trying again, or `None` when another try cannot help.
    fn retry_after(&self, wait: Duration, repeat: Repeat) -> Option<Duration> {
        match self {
            Refusal::Server { .. } => Some(wait),
            Refusal::RateLimited { reset_in, .. } => Some(reset_in.unwrap_or(wait)),
            Refusal::Unreachable { sent, .. } if !sent || repeat == Repeat::Safe => Some(wait),
            _ => None,
        }
    }

    /// Why a call that may have reached GitHub was not tried again, or nothing.
    fn not_repeated(&self, repeat: Repeat) -> &'static str {
        match self {
            Refusal::Unreachable { sent: true, .. } if repeat == Repeat::OnlyUnsent => {
                " (it may have been received: not sent again, so as to post nothing twice)"
            }
            _ => "",
        }
    }

    /// One line saying what went wrong and what to do; `url` is the call's, for failures
    /// to reach it.
    fn describe(&self, target: &Target, url: &str) -> String {
        let repo = format!("{}/{}", target.owner, target.repo);
        match self {
            Refusal::Unreachable { cause, .. } => format!("cannot reach {url}: {cause}"),
            Refusal::Server { status, message } => format!("server error {status} ({message})"),
            Refusal::RateLimited { message, .. } => format!("rate limited ({message})"),
            Refusal::Forbidden { message } => format!(
                "403 Forbidden ({message}): the token may not write to {repo}. A pull request \
                 from a fork gets a read-only token: run the gate on `pull_request` without \
                 secrets, upload its results as an artifact, and publish from a `workflow_run` \
                 workflow with `pull-requests: write` (see README.md, \"Fork-safe setup\")"
            ),
            Refusal::Unauthorized => {
                "401 Bad credentials: the token was refused; check the token input \
                 (GITHUB_TOKEN or --token-env)"
                    .to_string()
            }
            Refusal::NotFound => format!(
                "404 Not Found: no such repository, pull request or issue in {repo}, or the \
                 token cannot see it"
            ),
            Refusal::Other {
                status: Some(status),
                message,
            } => format!("HTTP {status} ({message})"),
            Refusal::Other {
                status: None,
                message,
            } => message.clone(),
        }
    }
}

/// A failure to connect or to hear back, named by its cause: "connection refused", "timed out
/// after N s", else the innermost cause's words.
fn unreachable(error: &octocrab::Error, timeout: Duration) -> Refusal {
    let chain: Vec<&(dyn std::error::Error + 'static)> =
        std::iter::successors(Some(error as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .collect();
    // hyper's client says "client error (Connect)" when no connection was made, so nothing
    // was sent; any other failure may come after the request left.
    let connecting = chain.iter().any(|e| e.to_string().contains("(Connect)"));
    let kind = chain
        .iter()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let cause = match kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
        Some(std::io::ErrorKind::TimedOut) => {
            let limit = if connecting {
                timeout.min(CONNECT_TIMEOUT)
            } else {
                timeout
            };
            let doing = if connecting {
                "connecting"
            } else {
                "no answer"
            };
            format!("{doing}: timed out after {} s", seconds(limit))
        }
        _ => chain
            .last()
            .map_or_else(|| error.to_string(), |e| e.to_string()),
    };
    let refused = kind == Some(std::io::ErrorKind::ConnectionRefused);
    Refusal::Unreachable {
        cause,
        sent: !(connecting || refused),
    }
}

/// A duration in seconds as messages show it: whole when whole, else to the tenth.
fn seconds(duration: Duration) -> String {
    let s = duration.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable(sent: bool) -> Refusal {
        Refusal::Unreachable {
            cause: "connection refused".into(),
            sent,
        }
    }

    #[test]
    fn failures_to_connect_are_retried_and_a_creation_is_not_sent_twice() {
        let wait = Duration::from_millis(5);
        // Nothing left: any call may try again.
        for repeat in [Repeat::Safe, Repeat::OnlyUnsent] {
            assert_eq!(unreachable(false).retry_after(wait, repeat), Some(wait));
        }
        // It may have arrived: a listing or an edit again, a creation not.
        assert_eq!(
            unreachable(true).retry_after(wait, Repeat::Safe),
            Some(wait)
        );
        assert_eq!(
            unreachable(true).retry_after(wait, Repeat::OnlyUnsent),
            None
        );
        assert_eq!(Refusal::NotFound.retry_after(wait, Repeat::Safe), None);
    }

    #[test]
    fn a_failure_to_reach_names_the_url_and_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let target = super::super::fixtures::request(dir.path())
            .target()
            .unwrap();
        let url = "https://ghe.example/api/v3/repos/acme/runtime/issues";
        assert_eq!(
            unreachable(false).describe(&target, url),
            format!("cannot reach {url}: connection refused")
        );
        assert!(
            unreachable(true)
                .not_repeated(Repeat::OnlyUnsent)
                .contains("not sent again")
        );
        assert_eq!(unreachable(true).not_repeated(Repeat::Safe), "");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5");
        assert_eq!(seconds(Duration::from_secs(60)), "60");
    }
}
