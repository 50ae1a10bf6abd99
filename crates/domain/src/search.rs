//! What a case search (`q`) matches, defined once for both databases: the
//! text trimmed, found anywhere in a subject or message, ignoring case. The
//! backends only translate it into their `LIKE` (SQLite, over
//! [`fold`]ed columns) or `ILIKE` (PostgreSQL); [`SearchText::matches`] is
//! the definition their results are held to.

/// A search text: trimmed and never empty (a blank `q` is no filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// `None` for text that is empty once trimmed.
    pub fn parse(q: &str) -> Option<SearchText> {
        let q = q.trim();
        (!q.is_empty()).then(|| SearchText(q.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text in the form [`fold`]ed columns are compared with.
    pub fn folded(&self) -> String {
        fold(&self.0)
    }

    /// Whether `text` contains this search text, ignoring case.
    pub fn matches(&self, text: &str) -> bool {
        fold(text).contains(&self.folded())
    }
}

/// Unicode lower case: what "ignoring case" means (Cyrillic included, which
/// SQLite's own `lower` and `LIKE` leave alone). Character by character, so
/// that the fold of a text contains the fold of every part of it:
/// `str::to_lowercase` writes a Greek capital sigma at the end of a word as
/// `ς` but inside one as `σ`, and "ΟΔΟΣ" would not find "ΟΔΟΣΑ".
pub fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// A `LIKE … ESCAPE '\'` pattern matching `text` literally anywhere: `%`,
/// `_` and `\` typed by a user are no wildcards.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_trimmed_and_never_blank() {
        assert_eq!(SearchText::parse("  parcel ").unwrap().as_str(), "parcel");
        assert_eq!(SearchText::parse(" \t\n"), None);
        assert_eq!(SearchText::parse(""), None);
    }

    #[test]
    fn matching_ignores_case_beyond_ascii() {
        let q = SearchText::parse("ЗАКАЗ 42").unwrap();
        assert_eq!(q.folded(), "заказ 42");
        assert!(q.matches("Где мой заказ 42?"));
        assert!(!q.matches("заказ 43"));
        assert!(SearchText::parse("🎉").unwrap().matches("Спасибо 🎉"));
    }

    #[test]
    fn a_text_containing_the_search_is_matched_whatever_the_letters() {
        // A property of the search_needle fuzz target; the input is its
        // seed fuzz/corpus/search_needle/greek-final-sigma.txt.
        assert!(SearchText::parse("ΟΔΟΣ").unwrap().matches("ΟΔΟΣΑ 12"));
        assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
        assert_eq!(fold("İstanbul"), "i\u{307}stanbul");
    }

    #[test]
    fn wildcards_typed_by_users_are_literal_in_patterns() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern("refund"), "%refund%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
