//! Text that did not come from wasmgate (a runtime's version line, a label, a test or category
//! name, a runtime's error output, a history's dates) escaped for the medium it lands in, one
//! function per medium, and bounded in length. The markdown templates apply `markdown_text` to
//! every value unless a filter says otherwise (`markdown_environment`), so a value forgotten in
//! a template is escaped all the same.

use crate::util::bounded;
use minijinja::value::Value;
use minijinja::{Environment, Output, State};

/// The longest piece of foreign text a report shows; the rest is cut with an ellipsis. A version
/// line of 70,000 characters must not push every table out of a size-limited comment.
pub const TEXT_LIMIT: usize = 300;

/// Foreign text as markdown text, in a paragraph or a table cell: every character markdown or
/// GitHub would read (emphasis, links, HTML, a cell's `|`, an `@mention`, a line break) is
/// escaped, and the text bounded.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::new();
    for c in bounded(text, TEXT_LIMIT).chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' | '#' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            // A word joiner after `@` keeps GitHub from pinging a user or a team.
            '@' => out.push_str("@\u{2060}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Foreign text as a markdown code span: fenced by more backticks than any run inside it, on
/// one line, bounded. Nothing inside a code span is read as markdown, and GitHub pings no one;
/// but a table still splits its cells at a `|` inside one, so that is escaped.
pub fn code_span(text: &str) -> String {
    let text: String = (bounded(text, TEXT_LIMIT).chars())
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    let longest_run = (text.split(|c| c != '`')).map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A span that starts or ends with a backtick needs a space, which markdown strips.
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Foreign text inside an HTML comment (a hidden marker): `--`, `<` and `>` could end it early
/// or open another, so those (and `!`, `%`, spaces and control characters) are percent-encoded;
/// the rest stays as it was, so a redactor still recognizes a URL in it.
pub fn html_comment(text: &str) -> String {
    let mut out = String::new();
    for c in bounded(text, TEXT_LIMIT).chars() {
        let encode = matches!(c, '<' | '>' | '!' | '%')
            || c.is_whitespace()
            || c.is_control()
            || (c == '-' && out.ends_with('-'));
        if !encode {
            out.push(c);
            continue;
        }
        let mut bytes = [0u8; 4];
        for byte in c.encode_utf8(&mut bytes).bytes() {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Foreign text as a label in a mermaid chart's `"..."` string: no quote, no line break, no
/// backtick (it could close the code block), bounded.
pub fn mermaid_label(text: &str) -> String {
    (bounded(text, 60).chars())
        .map(|c| match c {
            '"' | '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Text wasmgate wrote with foreign names in backticks ("`wasmtime` in a.json is shown as
/// ..."): each backticked part as a code span, the rest as markdown text.
pub fn marked(text: &str) -> String {
    (text.split('`').enumerate())
        .map(|(at, part)| match at % 2 {
            1 => code_span(part),
            _ => markdown_text(part),
        })
        .collect()
}

/// A link's target in markdown: the characters that would end it are percent-encoded.
pub fn link_target(url: &str) -> String {
    (bounded(url, 2000).chars())
        .map(|c| match c {
            '(' | ')' | '<' | '>' | ' ' | '"' | '\'' | '`' | '[' | ']' => {
                format!("%{:02X}", u32::from(c))
            }
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect()
}

/// The template environment of a markdown document: every value is written as `markdown_text`
/// unless marked safe; `code`, `marked`, `mermaid` and `link` write it for those places.
pub fn markdown_environment(mut env: Environment<'static>) -> Environment<'static> {
    env.set_formatter(|out: &mut Output, _state: &mut State, value: &Value| {
        match value.as_str() {
            Some(text) if !value.is_safe() => write!(out, "{}", markdown_text(text))?,
            _ => write!(out, "{value}")?,
        }
        Ok(())
    });
    env.add_filter("code", |text: String| {
        Value::from_safe_string(code_span(&text))
    });
    env.add_filter("marked", |text: String| {
        Value::from_safe_string(marked(&text))
    });
    env.add_filter("mermaid", |text: String| {
        Value::from_safe_string(mermaid_label(&text))
    });
    env.add_filter("link", |url: String| {
        Value::from_safe_string(link_target(&url))
    });
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>x</script> | @octocat <img onerror=alert(1)> [a](b) `c` **d**";

    #[test]
    fn foreign_text_in_markdown_reads_as_itself() {
        assert_eq!(
            markdown_text(HOSTILE),
            "\\<script\\>x\\</script\\> \\| @\u{2060}octocat \\<img onerror=alert(1)\\> \\[a\\](b) \\`c\\` \\*\\*d\\*\\*"
        );
        assert_eq!(markdown_text("a\nb\r\nc"), "a b  c");
        assert_eq!(
            markdown_text("wasmtime 27.0.0 (8eefa2a 2024-11-20)"),
            "wasmtime 27.0.0 (8eefa2a 2024-11-20)"
        );
    }

    #[test]
    fn a_code_span_holds_any_backticks_and_stays_on_one_line() {
        assert_eq!(code_span("sign"), "`sign`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a\n```\nb"), "````a ``` b````");
    }

    #[test]
    fn foreign_text_is_bounded() {
        let long = "v".repeat(70_000);
        assert_eq!(markdown_text(&long).chars().count(), TEXT_LIMIT + 1);
        assert!(code_span(&long).chars().count() < TEXT_LIMIT + 5);
        assert_eq!(bounded("short", 10), "short");
    }

    #[test]
    fn a_key_cannot_close_the_hidden_marker() {
        let key = html_comment("x --> <b>@here</b> --");
        assert!(
            !key.contains("--") && !key.contains('>') && !key.contains('<'),
            "{key}"
        );
        assert_eq!(html_comment("wasmtime-nightly"), "wasmtime-nightly");
    }

    #[test]
    fn the_formatter_escapes_every_value_not_marked_safe() {
        let mut env = markdown_environment(Environment::new());
        env.add_template(
            "t",
            "{{ v }}|{{ v | code }}|{{ n }}|{{ d | marked }}|{{ u | link }}",
        )
        .unwrap();
        let rendered = env
            .get_template("t")
            .unwrap()
            .render(minijinja::context! {
                v => "a|b", n => 1.5, d => "`x|y` is <z>", u => "https://h/a b(c)"
            })
            .unwrap();
        assert_eq!(
            rendered,
            "a\\|b|`a\\|b`|1.5|`x\\|y` is \\<z\\>|https://h/a%20b%28c%29"
        );
    }
}
