//! R14, the rules of e-mail that need no mailbox: the subject of a new
//! e-mail case (a letter's subject without its reply and forward prefixes,
//! in the languages mail clients write them), the `[#1042]` tag that names a
//! case in a subject, and where a letter goes given what its headers and
//! its tag matched. The e-mail channel (issue 14) reads the letters and
//! looks the clues up; the decision is here.

use crate::Subject;

/// Prefixes mail clients put before a subject when replying or
/// forwarding, lower case: English, German (`AW`, `WG`), Russian
/// (`Ответ`, `Отв`, `Пересл`), French (`TR`), Spanish/Portuguese (`RV`,
/// `ENC`), Scandinavian (`SV`, `VS`), Dutch (`Antw`, `Doorst`), Italian
/// (`R`), Polish (`Odp`, `PD`), Turkish (`YNT`). Italian's forward `I:`
/// is left out: "I: …" is too likely an English subject.
const PREFIXES: [&str; 21] = [
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "ответ",
    "отв",
    "пересл",
    "tr",
    "rv",
    "enc",
    "sv",
    "vs",
    "antw",
    "doorst",
    "r",
    "odp",
    "pd",
    "ynt",
    "réf",
    "rif",
];

/// One leading prefix of `s` (`Re:`, `RE[2]:`, `Fwd :`), and what follows.
fn after_prefix(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let colon = s.find([':', '：'])?;
    let word = s[..colon].trim_end();
    // `RE[2]` and `Re(3)`: a count some clients add.
    let word = match word.find(['[', '(']) {
        Some(i) if word.ends_with([']', ')']) => {
            let count = &word[i + 1..word.len() - 1];
            if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            &word[..i]
        }
        _ => word,
    };
    let known = PREFIXES.iter().any(|p| word.to_lowercase() == *p);
    known.then(|| &s[colon + s[colon..].chars().next().map_or(1, char::len_utf8)..])
}

/// A letter's subject without the reply and forward prefixes before it
/// (`Re: AW: Fwd: Order` → `Order`), and without a leading case tag
/// (`[#12] Re: Order` → `Order`), trimmed.
pub fn strip_reply_prefixes(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        if let Some(rest) = after_prefix(s) {
            s = rest.trim_start();
        } else if let Some((_, rest)) = leading_tag(s) {
            s = rest.trim_start();
        } else {
            return s.trim_end();
        }
    }
}

/// `[#<number>]` at the start of `s`, and what follows.
fn leading_tag(s: &str) -> Option<(i64, &str)> {
    let rest = s.strip_prefix("[#")?;
    let end = rest.find(']')?;
    let number = parse_number(&rest[..end])?;
    Some((number, &rest[end + 1..]))
}

fn parse_number(digits: &str) -> Option<i64> {
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

/// The case number a subject's `[#1042]` tag names: the first well-formed
/// tag anywhere in the subject (clients may put prefixes before it).
pub fn case_tag(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(i) = rest.find("[#") {
        if let Some((number, _)) = leading_tag(&rest[i..]) {
            return Some(number);
        }
        rest = &rest[i + 2..];
    }
    None
}

/// The subject of an outgoing letter in case `number`: the case's subject
/// tagged `[#number]` once (a tag already there is not repeated).
pub fn tagged_subject(subject: &str, number: i64) -> String {
    let bare = strip_reply_prefixes(subject);
    if case_tag(subject) == Some(number) && subject.trim_start().starts_with("[#") {
        return subject.trim().to_owned();
    }
    format!("[#{number}] {bare}")
}

impl Subject {
    /// The subject of a new e-mail case (R13, R14): the letter's subject
    /// without reply and forward prefixes, or, when that leaves nothing,
    /// the start of its text as for a chat.
    pub fn from_letter(subject: &str, text: &str) -> Subject {
        let bare = strip_reply_prefixes(subject);
        if bare.is_empty() {
            Subject::from_first_message(text)
        } else {
            Subject::from_first_message(bare)
        }
    }
}

/// Where a letter goes (R14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterRouting<C> {
    /// Into this existing case.
    Thread(C),
    /// A case of its own.
    NewCase,
}

/// R14 in order: a case found by the letter's `In-Reply-To`/`References`
/// (any stored Message-ID, ours or theirs); then the case its subject's
/// tag names, but only when the letter comes from that case's customer
/// (another customer quoting a case number must not land in it); otherwise
/// a new case.
pub fn route_letter<C>(by_headers: Option<C>, by_tag: Option<(C, bool)>) -> LetterRouting<C> {
    if let Some(case) = by_headers {
        return LetterRouting::Thread(case);
    }
    match by_tag {
        Some((case, true)) => LetterRouting::Thread(case),
        _ => LetterRouting::NewCase,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_and_forward_prefixes_go_in_every_language() {
        for (subject, bare) in [
            ("Re: Order 12", "Order 12"),
            ("RE: re: Fwd: Order 12", "Order 12"),
            ("AW: WG: Bestellung", "Bestellung"),
            ("Ответ: Отв: Пересл: Заказ", "Заказ"),
            ("RE[2]: Order", "Order"),
            ("Re(3): Order", "Order"),
            ("Fwd : Order", "Order"),
            ("SV: VS: Ordre", "Ordre"),
            ("[#12] Re: Order", "Order"),
            ("Re: [#12] Order", "Order"),
            ("Re：Order", "Order"),
            ("  Order  ", "Order"),
            ("Re:", ""),
        ] {
            assert_eq!(strip_reply_prefixes(subject), bare, "{subject:?}");
        }
    }

    #[test]
    fn words_that_only_look_like_prefixes_stay() {
        for subject in [
            "Reply needed: order 12",
            "Note: the box was empty",
            "Re [2]x: order",
            "RE[x]: order",
            "Time 10:30 delivery",
            "[#abc] order",
        ] {
            assert_eq!(strip_reply_prefixes(subject), subject, "{subject:?}");
        }
    }

    #[test]
    fn the_case_tag_is_found_where_clients_put_it() {
        assert_eq!(case_tag("[#1042] Order"), Some(1042));
        assert_eq!(case_tag("Re: [#1042] Order"), Some(1042));
        assert_eq!(case_tag("Order [#7]"), Some(7));
        assert_eq!(case_tag("[#x] and then [#8]"), Some(8));
        assert_eq!(case_tag("[#0] Order"), None);
        assert_eq!(case_tag("[#] Order"), None);
        assert_eq!(case_tag("[#12 Order"), None);
        assert_eq!(case_tag("[#99999999999999999999] Order"), None);
        assert_eq!(case_tag("Order #12"), None);
    }

    #[test]
    fn outgoing_subjects_carry_the_tag_once() {
        assert_eq!(tagged_subject("Order", 12), "[#12] Order");
        assert_eq!(tagged_subject("[#12] Order", 12), "[#12] Order");
        assert_eq!(tagged_subject("Re: Order", 12), "[#12] Order");
        assert_eq!(tagged_subject("[#11] Order", 12), "[#12] Order");
    }

    #[test]
    fn a_new_cases_subject_is_the_bare_subject_or_the_text() {
        assert_eq!(
            Subject::from_letter("Re: Fwd: Refund", "please").as_str(),
            "Refund"
        );
        assert_eq!(
            Subject::from_letter("Re:", "Where is my parcel?\nThanks").as_str(),
            "Where is my parcel? Thanks"
        );
        assert_eq!(Subject::from_letter("", "").as_str(), "(no text)");
    }

    #[test]
    fn r14_headers_first_then_the_tag_of_the_cases_own_customer() {
        assert_eq!(
            route_letter(Some("by-headers"), Some(("by-tag", true))),
            LetterRouting::Thread("by-headers")
        );
        assert_eq!(
            route_letter(None, Some(("by-tag", true))),
            LetterRouting::Thread("by-tag")
        );
        assert_eq!(
            route_letter(None, Some(("someone-elses", false))),
            LetterRouting::NewCase,
            "another customer quoting a case number gets a case of their own"
        );
        assert_eq!(route_letter::<&str>(None, None), LetterRouting::NewCase);
    }

    proptest::proptest! {
        /// Any subject, however odd: no panic, and stripping twice strips
        /// no more than once.
        #[test]
        fn stripping_is_total_and_idempotent(subject in "\\PC{0,40}|(Re|AW|Ответ|\\[#[0-9]{1,3}\\]|RE\\[[0-9]\\]|:|：| )*\\PC{0,10}") {
            let once = strip_reply_prefixes(&subject);
            proptest::prop_assert_eq!(strip_reply_prefixes(once), once);
            let _ = case_tag(&subject);
            let tagged = tagged_subject(&subject, 5);
            proptest::prop_assert_eq!(case_tag(&tagged), Some(5));
        }
    }
}
