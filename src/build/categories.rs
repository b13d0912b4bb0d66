//! The category of every libsodium test, from the table behind the 2023 article's charts
//! (plus inferred categories for newer tests; see the `source` column of the CSV).

use std::collections::BTreeMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("categories.csv");

/// The category given to a test the table does not know (a newer libsodium).
pub const UNCATEGORIZED: &str = "uncategorized";

fn table() -> &'static BTreeMap<&'static str, &'static str> {
    static PARSED: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    PARSED.get_or_init(|| {
        TABLE
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.splitn(3, ',');
                Some((fields.next()?, fields.next()?))
            })
            .collect()
    })
}

pub fn category_of(test: &str) -> &'static str {
    table().get(test).copied().unwrap_or(UNCATEGORIZED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tests_have_their_article_category() {
        assert_eq!(category_of("aead_aegis128l"), "AEAD");
        assert_eq!(category_of("sign"), "signature");
        assert_eq!(category_of("kem_mlkem768"), "key exchange");
        assert_eq!(category_of("not_a_test"), UNCATEGORIZED);
    }
}
