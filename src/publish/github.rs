//! The GitHub REST calls wasmgate makes, through octocrab: find a marked comment or issue,
//! create or update it, close an issue. Every call is retried with exponential backoff on a
//! server error or a rate limit; other refusals become one-line errors that say what to do.
//! The token goes into octocrab's client and nowhere else: no message here can contain it.

use super::Target;
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

pub struct GitHub {
    client: Octocrab,
    target: Target,
    /// First wait after a server error; doubles with each attempt.
    backoff: Duration,
    runtime: tokio::runtime::Runtime,
}

impl GitHub {
    pub fn new(target: Target, token: String, backoff: Duration) -> Result<GitHub> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // octocrab's client spawns onto the runtime it is built in.
        let client = runtime.block_on(async {
            Octocrab::builder()
                .base_uri(target.api_url.as_str())
                .map_err(|e| anyhow!("GITHUB_API_URL `{}`: {e}", target.api_url))?
                .personal_token(token)
                // Built without octocrab's retry layer: retries are ours (`call`), with
                // backoff and a clear error when they run out.
                .set_connect_timeout(Some(Duration::from_secs(30)))
                .set_read_timeout(Some(Duration::from_secs(60)))
                .build()
                .map_err(|e| anyhow!("setting up the GitHub client: {e}"))
        })?;
        Ok(GitHub {
            client,
            target,
            backoff,
            runtime,
        })
    }

    fn repo_route(&self, rest: &str) -> String {
        format!("/repos/{}/{}/{rest}", self.target.owner, self.target.repo)
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
        let payload = json!({ "body": body });
        self.call("posting the comment", || {
            self.client.post(&route, Some(&payload))
        })
    }

    pub fn update_comment(&self, id: u64, body: &str) -> Result<Comment> {
        let route = self.repo_route(&format!("issues/comments/{id}"));
        let payload = json!({ "body": body });
        self.call("updating the comment", || {
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
        let payload = json!({ "title": title, "body": body });
        self.call("opening the issue", || {
            self.client.post(&route, Some(&payload))
        })
    }

    pub fn update_issue(&self, number: u64, title: &str, body: &str) -> Result<Issue> {
        let route = self.repo_route(&format!("issues/{number}"));
        let payload = json!({ "title": title, "body": body });
        self.call("updating the issue", || {
            self.client.patch(&route, Some(&payload))
        })
    }

    pub fn close_issue(&self, number: u64) -> Result<Issue> {
        let route = self.repo_route(&format!("issues/{number}"));
        let payload = json!({ "state": "closed", "state_reason": "completed" });
        self.call("closing the issue", || {
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
        let mut page: octocrab::Page<T> =
            self.call("listing", || self.client.get(route, Some(&query)))?;
        loop {
            if let Some(index) = page.items.iter().position(&wanted) {
                return Ok(Some(page.items.swap_remove(index)));
            }
            if page.next.is_none() {
                return Ok(None);
            }
            let next = page.next.clone();
            let next_page: Option<octocrab::Page<T>> =
                self.call("listing", || self.client.get_page(&next))?;
            match next_page {
                Some(next_page) => page = next_page,
                None => return Ok(None),
            }
        }
    }

    /// Runs one API call, retrying server errors and rate limits with exponential backoff.
    fn call<T, F, Fut>(&self, what: &str, request: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = octocrab::Result<T>>,
    {
        let mut wait = self.backoff;
        for attempt in 1..=ATTEMPTS {
            let error = match self.runtime.block_on(request()) {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let refusal = Refusal::of(&error);
            let retry = match &refusal {
                Refusal::Server { .. } => Some(wait),
                Refusal::RateLimited { reset_in, .. } => Some(reset_in.unwrap_or(wait)),
                _ => None,
            };
            match retry {
                Some(delay) if attempt < ATTEMPTS && delay <= LONGEST_WAIT => {
                    eprintln!(
                        "GitHub: {what}: {}; retrying in {:.1} s ({attempt}/{ATTEMPTS})",
                        refusal.describe(&self.target),
                        delay.as_secs_f64()
                    );
                    std::thread::sleep(delay);
                    wait *= 2;
                }
                _ => {
                    return Err(anyhow!(
                        "GitHub: {what}: {}",
                        refusal.describe(&self.target)
                    ));
                }
            }
        }
        unreachable!("the last attempt returns")
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
    Other {
        status: Option<u16>,
        message: String,
    },
}

impl Refusal {
    fn of(error: &octocrab::Error) -> Refusal {
        let octocrab::Error::GitHub { source, .. } = error else {
            // Transport and decoding errors: octocrab's display names the cause, not the
            // request headers, so it cannot carry the token.
            return Refusal::Other {
                status: None,
                message: error.to_string(),
            };
        };
        let status = source.status_code.as_u16();
        let message = source.message.clone();
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

    fn describe(&self, target: &Target) -> String {
        let repo = format!("{}/{}", target.owner, target.repo);
        match self {
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
