//! The case search text `q` (`casedesk_domain::search`): arbitrary UTF-8
//! as the search, searched for in an arbitrary text.
//!
//! Input: the search text, then optionally the searched text after a
//! U+001F (unit separator); without it, a mixed Russian, English and emoji
//! message is searched.
//!
//! Properties: nothing panics; parsing is idempotent; a text that contains
//! the search literally is matched; the `LIKE` pattern SQLite is given
//! matches exactly when the domain's definition does (so `%`, `_` and `\`
//! typed by a user stay literal).

#![no_main]

use casedesk_domain::search::{SearchText, contains_pattern, fold};
use libfuzzer_sys::fuzz_target;

const MESSAGE: &str = "Здравствуйте! Where is my ORDER #1042? Скидка 50% 🎉 snake_case C:\\temp";

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (q, text) = input.split_once('\u{1f}').unwrap_or((input, MESSAGE));
    let Some(search) = SearchText::parse(q) else {
        assert!(q.trim().is_empty(), "{q:?} refused");
        return;
    };
    assert_eq!(SearchText::parse(search.as_str()).as_ref(), Some(&search));
    let matches = search.matches(text);
    if text.contains(search.as_str()) {
        assert!(matches, "{text:?} contains {q:?} but is not matched");
    }
    // SQLite: cd_fold(column) LIKE pattern ESCAPE '\'. Long inputs are
    // skipped: the reference matcher is quadratic.
    if text.len() <= 1024 && q.len() <= 1024 {
        let pattern = contains_pattern(&search.folded());
        assert_eq!(
            like(&pattern, &fold(text)),
            matches,
            "pattern {pattern:?} on {text:?}"
        );
    }
});

enum Token {
    Any,
    One,
    Char(char),
}

/// SQL `LIKE … ESCAPE '\'`, case-sensitively: `%` is any run of
/// characters, `_` one character, `\` makes the next character literal.
fn like(pattern: &str, text: &str) -> bool {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            // A trailing escape matches nothing in SQLite; contains_pattern
            // never ends in one.
            '\\' => Token::Char(chars.next().expect("escape at the end of a pattern")),
            c => Token::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the tokens so far can match text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for token in &tokens {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match token {
                Token::Any => matched[j] || (j > 0 && next[j - 1]),
                Token::One => j > 0 && matched[j - 1],
                Token::Char(c) => j > 0 && matched[j - 1] && text[j - 1] == *c,
            };
        }
        matched = next;
    }
    matched[text.len()]
}
