//! A local HTTP server that answers like GitHub's REST API for the calls wasmgate makes: issue
//! comments and issues of one repository, paginated with `Link` headers as GitHub does, with a
//! queue of canned failures (server errors, rate limits, refusals, an error that echoes the
//! request's headers as careless servers do, an answer that never comes) served before the
//! real answers. It records every request, so tests can count calls and check the token was
//! sent.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

pub const OWNER: &str = "acme";
pub const REPO: &str = "runtime";

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub open: bool,
    pub pull_request: bool,
}

/// A failure served instead of the real answer.
#[derive(Debug)]
pub enum Failure {
    Canned(ResponseTemplate),
    /// An error of this status whose message repeats the request's headers, Authorization
    /// included.
    EchoHeaders(u16),
    /// No answer for an hour: the connection is accepted and left silent.
    Hang,
}

#[derive(Debug, Default)]
pub struct State {
    pub comments: Vec<Comment>,
    pub issues: Vec<Issue>,
    /// Served, in order, before any real answer.
    pub failures: Vec<Failure>,
    /// Method, path and query, and the Authorization header of every request.
    pub requests: Vec<(String, Option<String>)>,
    next_id: u64,
}

#[derive(Clone)]
pub struct FakeGitHub {
    pub state: Arc<Mutex<State>>,
    /// Items per page, whatever `per_page` asks (GitHub caps it too), to exercise paging.
    pub page_size: usize,
    /// The server's root URL, for the absolute links GitHub returns.
    pub base: Arc<Mutex<String>>,
}

impl FakeGitHub {
    pub async fn start(page_size: usize) -> (MockServer, FakeGitHub) {
        let server = MockServer::start().await;
        let fake = FakeGitHub {
            state: Arc::new(Mutex::new(State {
                next_id: 1000,
                ..State::default()
            })),
            page_size,
            base: Arc::new(Mutex::new(server.uri())),
        };
        Mock::given(any())
            .respond_with(fake.clone())
            .mount(&server)
            .await;
        (server, fake)
    }

    pub fn add_comment(&self, issue: u64, body: &str) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = state.next_id;
        state.comments.push(Comment {
            id,
            issue,
            body: body.to_string(),
        });
        id
    }

    pub fn add_issue(&self, title: &str, body: &str, pull_request: bool) -> u64 {
        let mut state = self.state.lock().unwrap();
        let number = state.issues.len() as u64 + 1;
        state.issues.push(Issue {
            number,
            title: title.to_string(),
            body: body.to_string(),
            open: true,
            pull_request,
        });
        number
    }

    pub fn fail_next(&self, response: ResponseTemplate) {
        self.fail_next_with(Failure::Canned(response));
    }

    pub fn fail_next_with(&self, failure: Failure) {
        self.state.lock().unwrap().failures.push(failure);
    }

    pub fn comments_on(&self, issue: u64) -> Vec<Comment> {
        let state = self.state.lock().unwrap();
        state
            .comments
            .iter()
            .filter(|c| c.issue == issue)
            .cloned()
            .collect()
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.state.lock().unwrap().issues.clone()
    }

    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests whose "METHOD path" starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|(r, _)| r.starts_with(prefix))
            .count()
    }
}

fn comment_json(base: &str, c: &Comment) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("IC_{}", c.id),
        "url": format!("{base}/repos/{OWNER}/{REPO}/issues/comments/{}", c.id),
        "html_url": format!("https://github.example/{OWNER}/{REPO}/pull/{}#issuecomment-{}", c.issue, c.id),
        "body": c.body,
        "user": {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"},
        "created_at": "2026-11-25T00:00:00Z",
        "updated_at": "2026-11-25T00:00:00Z",
    })
}

fn issue_json(base: &str, i: &Issue) -> Value {
    let mut value = json!({
        "id": 5000 + i.number,
        "number": i.number,
        "url": format!("{base}/repos/{OWNER}/{REPO}/issues/{}", i.number),
        "html_url": format!("https://github.example/{OWNER}/{REPO}/issues/{}", i.number),
        "title": i.title,
        "body": i.body,
        "state": if i.open { "open" } else { "closed" },
    });
    if i.pull_request {
        value["pull_request"] = json!({"url": "..."});
    }
    value
}

impl FakeGitHub {
    /// One page of `items`, with GitHub's `Link` header pointing at the next one.
    fn page(&self, request: &Request, items: Vec<Value>) -> ResponseTemplate {
        let page: usize = query(request, "page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let start = (page - 1) * self.page_size;
        let chunk: Vec<Value> = items
            .iter()
            .skip(start)
            .take(self.page_size)
            .cloned()
            .collect();
        let mut response = ResponseTemplate::new(200).set_body_json(chunk);
        if start + self.page_size < items.len() {
            let base = self.base.lock().unwrap().clone();
            // An absolute URL replaces the request's whole: same path and query, real port.
            let mut next = request
                .url
                .join(&format!("{base}{}", request.url.path()))
                .unwrap();
            next.set_query(request.url.query());
            let others: Vec<(String, String)> = next
                .query_pairs()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            next.query_pairs_mut()
                .clear()
                .extend_pairs(others)
                .append_pair("page", &(page + 1).to_string());
            response = response.insert_header("link", format!("<{next}>; rel=\"next\"").as_str());
        }
        response
    }
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An error whose message and details repeat every header the request carried, as a
/// debugging proxy or a careless server may.
fn echo_headers(status: u16, request: &Request) -> ResponseTemplate {
    let headers: Vec<String> = request
        .headers
        .iter()
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    ResponseTemplate::new(status).set_body_json(json!({
        "message": format!("Validation Failed; request was {}", headers.join("; ")),
        "errors": [{"resource": "Request", "code": "custom", "message": headers.join("\n")}],
    }))
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest"
    }))
}

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_string();
        let method = request.method.to_string();
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut state = self.state.lock().unwrap();
        let described = match request.url.query() {
            Some(q) => format!("{method} {path}?{q}"),
            None => format!("{method} {path}"),
        };
        state.requests.push((described, auth));
        if !state.failures.is_empty() {
            return match state.failures.remove(0) {
                Failure::Canned(response) => response,
                Failure::EchoHeaders(status) => echo_headers(status, request),
                Failure::Hang => ResponseTemplate::new(200).set_delay(Duration::from_secs(3600)),
            };
        }
        let base = self.base.lock().unwrap().clone();
        let prefix = format!("/repos/{OWNER}/{REPO}/issues");
        let Some(rest) = path.strip_prefix(&prefix) else {
            return not_found();
        };
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("GET", [""]) => {
                let open_only = query(request, "state").as_deref() != Some("all");
                let items = state
                    .issues
                    .iter()
                    .filter(|i| i.open || !open_only)
                    .map(|i| issue_json(&base, i))
                    .collect();
                drop(state);
                self.page(request, items)
            }
            ("POST", [""]) => {
                let number = state.issues.len() as u64 + 1;
                let issue = Issue {
                    number,
                    title: body["title"].as_str().unwrap_or_default().to_string(),
                    body: body["body"].as_str().unwrap_or_default().to_string(),
                    open: true,
                    pull_request: false,
                };
                let json = issue_json(&base, &issue);
                state.issues.push(issue);
                ResponseTemplate::new(201).set_body_json(json)
            }
            ("PATCH", [number]) => {
                let Some(issue) = number
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| state.issues.iter_mut().find(|i| i.number == n))
                else {
                    return not_found();
                };
                if let Some(title) = body["title"].as_str() {
                    issue.title = title.to_string();
                }
                if let Some(text) = body["body"].as_str() {
                    issue.body = text.to_string();
                }
                if let Some(s) = body["state"].as_str() {
                    issue.open = s == "open";
                }
                ResponseTemplate::new(200).set_body_json(issue_json(&base, issue))
            }
            ("GET", [number, "comments"]) => {
                let Ok(number) = number.parse::<u64>() else {
                    return not_found();
                };
                let items = state
                    .comments
                    .iter()
                    .filter(|c| c.issue == number)
                    .map(|c| comment_json(&base, c))
                    .collect();
                drop(state);
                self.page(request, items)
            }
            ("POST", [number, "comments"]) => {
                let Ok(issue) = number.parse::<u64>() else {
                    return not_found();
                };
                state.next_id += 1;
                let comment = Comment {
                    id: state.next_id,
                    issue,
                    body: body["body"].as_str().unwrap_or_default().to_string(),
                };
                let json = comment_json(&base, &comment);
                state.comments.push(comment);
                ResponseTemplate::new(201).set_body_json(json)
            }
            ("PATCH", ["comments", id]) => {
                let Some(comment) = id
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| state.comments.iter_mut().find(|c| c.id == id))
                else {
                    return not_found();
                };
                comment.body = body["body"].as_str().unwrap_or_default().to_string();
                ResponseTemplate::new(200).set_body_json(comment_json(&base, comment))
            }
            _ => not_found(),
        }
    }
}
