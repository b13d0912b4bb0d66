//! The tests shown apart from the comparison with native code, and why: a table shipped beside
//! this file (shown-apart.csv), so a new case is a line of data.

use std::sync::OnceLock;

const TABLE: &str = include_str!("shown-apart.csv");

/// One line of the table.
struct ShownApart {
    /// A test's name, or the beginning of the names it covers when `prefix`.
    name: &'static str,
    prefix: bool,
    reason: &'static str,
}

impl ShownApart {
    fn covers(&self, test: &str) -> bool {
        match self.prefix {
            true => test.starts_with(self.name),
            false => test == self.name,
        }
    }
}

fn table() -> &'static [ShownApart] {
    static PARSED: OnceLock<Vec<ShownApart>> = OnceLock::new();
    PARSED.get_or_init(|| parse(TABLE))
}

fn parse(text: &'static str) -> Vec<ShownApart> {
    (text.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .skip(1) // the header
        .filter_map(|line| {
            // The reason is prose and may hold commas: only the first one separates.
            let (test, reason) = line.split_once(',')?;
            let (name, prefix) = match test.strip_suffix('*') {
                Some(start) => (start, true),
                None => (test, false),
            };
            Some(ShownApart {
                name,
                prefix,
                reason: reason.trim(),
            })
        })
        .collect()
}

/// Why a test is shown apart from the native comparison, if it is.
pub fn reason(test: &str) -> Option<&'static str> {
    (table().iter())
        .find(|entry| entry.covers(test))
        .map(|entry| entry.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_based_tests_are_shown_apart_by_the_shipped_table() {
        for test in ["aead_aegis128l", "aead_aegis256"] {
            let why = reason(test).unwrap();
            assert!(
                why.starts_with(
                    "AES-based: native code uses the CPU's AES instructions, WebAssembly has none"
                ),
                "{why}"
            );
        }
        assert_eq!(reason("aead_chacha20poly1305"), None);
        assert_eq!(reason("sign"), None);
    }

    #[test]
    fn names_match_whole_unless_they_end_in_a_star() {
        let table = parse("# why\ntest,reason\nexact,one, with a comma\nbegin*,two\n");
        let covered = |test: &str| {
            (table.iter())
                .find(|entry| entry.covers(test))
                .map(|entry| entry.reason)
        };
        assert_eq!(covered("exact"), Some("one, with a comma"));
        assert_eq!(covered("exactly"), None);
        assert_eq!(covered("beginning"), Some("two"));
    }
}
