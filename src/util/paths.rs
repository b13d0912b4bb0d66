//! Paths made from data. A label, a runner's name, a test's file or a kept build's entry comes
//! from a results file, a flag or an index another program may have written: before any read,
//! run, write or delete, the path it makes is checked to stay inside its folder, here.

use anyhow::{Result, bail};
use std::path::{Component, Path, PathBuf};

/// The longest name from data that may become a file name: file systems take 255 bytes.
const NAME_LIMIT: usize = 200;

/// `name` as one component of a path: refused unless it is a plain file name (not empty, not
/// `.` or `..`, no `/`, no NUL, at most `NAME_LIMIT` bytes). `what` names where it came from
/// for the error, e.g. "field `runner`" or "--runtime".
pub fn plain_name<'a>(name: &'a str, what: &str) -> Result<&'a str> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0'])
        && name.len() <= NAME_LIMIT;
    if !plain {
        bail!(
            "{what}: `{}` cannot name a file: give a plain name (letters, digits, `-`, `_`, `.`; no `/`, not `..`)",
            name.escape_debug()
                .to_string()
                .chars()
                .take(80)
                .collect::<String>()
        );
    }
    Ok(name)
}

/// `text` as a commit id: 4 to 64 hexadecimal digits (git's shortest abbreviation, up to a full
/// SHA-256 id).
/// A commit is shown in links and in shell commands, so nothing else passes.
pub fn commit_id<'a>(text: &'a str, what: &str) -> Result<&'a str> {
    let id = (4..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit());
    if !id {
        bail!(
            "{what}: `{}` is not a commit id: give the commit's hexadecimal id (e.g. the full 40 digits of `git rev-parse HEAD`)",
            text.escape_debug()
                .to_string()
                .chars()
                .take(80)
                .collect::<String>()
        );
    }
    Ok(text)
}

/// `dir` joined with `relative`, a path from data whose every component is a plain name: so
/// the result stays inside `dir` (an absolute path or `..` is refused).
pub fn inside(dir: &Path, relative: &str, what: &str) -> Result<PathBuf> {
    let path = Path::new(relative);
    let plain = !relative.is_empty()
        && path.components().all(|part| match part {
            Component::Normal(name) => name
                .to_str()
                .is_some_and(|name| plain_name(name, what).is_ok()),
            _ => false,
        });
    if !plain {
        bail!(
            "{what}: `{}` is not a path inside {}: give a relative path without `..`",
            relative
                .escape_debug()
                .to_string()
                .chars()
                .take(80)
                .collect::<String>(),
            dir.display()
        );
    }
    Ok(dir.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_name_is_one_component_and_nothing_else() {
        for good in ["wasmtime", "head-2", "a.b_c", "t-8", "ci"] {
            assert_eq!(plain_name(good, "x").unwrap(), good);
        }
        for bad in [
            "",
            ".",
            "..",
            "../escaped",
            "a/b",
            "/abs",
            "nul\0",
            &"x".repeat(201),
        ] {
            let error = plain_name(bad, "field `runner`").unwrap_err().to_string();
            assert!(error.starts_with("field `runner`: "), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn a_path_from_data_stays_inside_its_folder() {
        let dir = Path::new("/kept");
        assert_eq!(
            inside(dir, "builds/abc-wasmtime", "x").unwrap(),
            Path::new("/kept/builds/abc-wasmtime")
        );
        for bad in [
            "../../victim.txt",
            "/etc/passwd",
            "builds/../../x",
            "",
            "./x",
            "a//..",
        ] {
            assert!(inside(dir, bad, "binary").is_err(), "{bad}");
        }
    }
}
