//! Keeping credentials out of what the publish stage says. A server may echo the request
//! (its `Authorization` header, its URL) in an error body, and a user may put credentials in
//! `GITHUB_API_URL` or in the text being published; every error, log line, preview and posted
//! text of the stage goes through one `Redactor`, which knows the token and the URLs' secrets
//! and also removes what looks like a credential whatever its value.

use std::fmt;

/// What a removed credential is replaced with (as GitHub Actions masks secrets in logs).
pub const MASK: &str = "***";

/// A credential-looking word after `token`/`bearer` is at least this long: shorter words are
/// the English of our own messages ("the token may not write").
const CREDENTIAL_MIN: usize = 16;

/// Prefixes of GitHub's tokens: such a word is a credential wherever it appears.
const TOKEN_PREFIXES: [&str; 6] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];

/// Removes known secrets and credential-shaped text from messages.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Exact values to remove, longest first so that one containing another goes whole.
    secrets: Vec<String>,
}

/// Never prints the secrets: a redactor may end up in a debug message.
impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Knows `token` and the credentials inside `urls` (`user:pass@`), wherever they appear.
    pub fn new(token: Option<&str>, urls: &[&str]) -> Redactor {
        let mut secrets: Vec<String> = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .into_iter()
            .collect();
        for url in urls {
            if let Some(userinfo) = userinfo(url) {
                secrets.push(userinfo.to_string());
                secrets.extend(userinfo.split_once(':').map(|(_, pass)| pass.to_string()));
            }
        }
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every known secret, URL credential, `Authorization` value, `token X` or
    /// `Bearer X` credential and GitHub token replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), MASK);
        }
        let text = mask_url_credentials(&text);
        let text = mask_authorization_values(&text);
        mask_credential_words(&text)
    }

    /// An error as one redacted line (the chain joined as `main` prints it).
    pub fn error(&self, error: anyhow::Error) -> anyhow::Error {
        anyhow::anyhow!("{}", self.redact(&format!("{error:#}")))
    }

    /// A log line of the stage (a retry, say), redacted, on standard error.
    pub fn note(&self, line: &str) {
        eprintln!("{}", self.redact(line));
    }
}

/// The `user:pass` (or `token`) of `scheme://user:pass@host/...`, if any.
fn userinfo(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    authority.rsplit_once('@').map(|(info, _)| info)
}

/// A URL without its credentials, for messages that name it.
pub fn without_credentials(url: &str) -> String {
    mask_url_credentials(url)
}

/// Characters that end a URL's authority (or a word) in running text.
fn ends_authority(c: char) -> bool {
    c.is_whitespace() || matches!(c, '/' | '"' | '\'' | '<' | '>' | '(' | ')' | '`' | ',')
}

/// Replaces the `user:pass@` of every URL with `***@`; also a bare `user:pass@host` (no
/// scheme), as a malformed URL may be.
fn mask_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let before = &rest[..at];
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| ends_authority(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        // `scheme://` ends in a slash, so the authority starts after it.
        let info = &before[start..];
        let after_scheme = before[..start].ends_with("://");
        if !info.is_empty() && (after_scheme || info.contains(':')) {
            out.push_str(&before[..start]);
            out.push_str(MASK);
        } else {
            out.push_str(before);
        }
        out.push('@');
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

/// Replaces the value of every `Authorization` header echoed (`Authorization: Bearer x`,
/// `"authorization": "token x"`), up to the end of the value.
fn mask_authorization_values(text: &str) -> String {
    const NAME: &str = "authorization";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(NAME) {
        let name_end = from + found + NAME.len();
        let separator = text[name_end..]
            .find(|c: char| !matches!(c, '"' | '\'' | ':' | '=' | ' ' | '\t'))
            .map_or(text.len(), |i| name_end + i);
        let has_separator = text[name_end..separator].contains([':', '=']);
        let value_end = text[separator..]
            .find(['"', '\'', '\n', '\r', ',', ';', '}', ')'])
            .map_or(text.len(), |i| separator + i);
        if has_separator && value_end > separator {
            out.push_str(&text[done..separator]);
            out.push_str(MASK);
            done = value_end;
        }
        from = value_end.max(name_end);
    }
    out.push_str(&text[done..]);
    out
}

fn is_credential_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~' | '+' | '/' | '=')
}

/// Replaces the credential after `token`, `bearer` or `basic` (a long word of token
/// characters), and any word that starts like a GitHub token.
fn mask_credential_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous = "";
    let mut rest = text;
    while !rest.is_empty() {
        let word_len = rest
            .find(|c: char| !is_credential_char(c))
            .unwrap_or(rest.len());
        if word_len == 0 {
            let c = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..c]);
            if !rest[..c].trim().is_empty() {
                previous = "";
            }
            rest = &rest[c..];
            continue;
        }
        let word = &rest[..word_len];
        let after_scheme = ["token", "bearer", "basic"]
            .iter()
            .any(|s| previous.eq_ignore_ascii_case(s));
        let credential = (after_scheme && word.len() >= CREDENTIAL_MIN)
            || TOKEN_PREFIXES.iter().any(|p| word.starts_with(p));
        out.push_str(if credential { MASK } else { word });
        previous = word;
        rest = &rest[word_len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cr3t-value-not-shaped-like-a-token";

    #[test]
    fn the_known_token_goes_wherever_it_is() {
        let r = Redactor::new(Some(TOKEN), &[]);
        assert_eq!(r.redact(&format!("a{TOKEN}b")), "a***b");
        assert!(!r.redact(&format!("{TOKEN}\n{TOKEN}")).contains("s3cr3t"));
    }

    #[test]
    fn echoed_authorization_headers_lose_their_value() {
        let r = Redactor::default();
        for echo in [
            "Authorization: Bearer abc.def",
            "authorization: token short",
            r#"{"authorization": "Basic dXNlcjpwYXNz", "accept": "json"}"#,
            "headers: [AUTHORIZATION=token zz]",
        ] {
            let redacted = r.redact(echo);
            for secret in ["abc.def", "short", "dXNlcjpwYXNz", "zz]"] {
                assert!(!redacted.contains(secret), "{echo} -> {redacted}");
            }
            assert!(redacted.contains(MASK), "{redacted}");
        }
        // The rest of the echo stays readable.
        assert_eq!(
            r.redact(r#"{"authorization": "Bearer x", "accept": "json"}"#),
            r#"{"authorization": "***", "accept": "json"}"#
        );
    }

    #[test]
    fn url_credentials_go_and_the_url_stays() {
        let r = Redactor::default();
        assert_eq!(
            r.redact("GITHUB_API_URL `https://user:pass@host.example/api`: bad"),
            "GITHUB_API_URL `https://***@host.example/api`: bad"
        );
        assert_eq!(r.redact("at http://tok@h:1/x"), "at http://***@h:1/x");
        assert_eq!(r.redact("bare user:pw@host/"), "bare ***@host/");
        // An address is not a credential.
        assert_eq!(
            r.redact("mail noreply@github.com"),
            "mail noreply@github.com"
        );
    }

    #[test]
    fn the_urls_secrets_go_even_outside_their_url() {
        let r = Redactor::new(None, &["https://octo:hunter2hunter2@ghe.example/api"]);
        assert_eq!(r.redact("echo hunter2hunter2"), "echo ***");
    }

    #[test]
    fn credential_words_go_and_our_own_english_stays() {
        let r = Redactor::default();
        assert_eq!(
            r.redact("sent token 0123456789abcdef0123 and Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"),
            "sent token *** and Bearer ***"
        );
        assert_eq!(
            r.redact("leaked ghp_abcdefghijklmnopqrstuvwxyz0123456789 here"),
            "leaked *** here"
        );
        let ours = "401 Bad credentials: the token was refused; check the token input \
                    (GITHUB_TOKEN or --token-env); the token may not write to acme/runtime";
        assert_eq!(r.redact(ours), ours);
    }

    #[test]
    fn errors_come_out_as_one_redacted_line_and_debug_hides_secrets() {
        let r = Redactor::new(Some(TOKEN), &[]);
        let error = anyhow::anyhow!("server said {TOKEN}").context("posting");
        assert_eq!(r.error(error).to_string(), "posting: server said ***");
        assert!(!format!("{r:?}").contains("s3cr3t"));
    }
}
