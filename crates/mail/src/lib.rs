//! E-mail as casedesk reads and writes it. [`letter`] turns a raw RFC 5322
//! message into what a helpdesk needs (who wrote, the thread it answers,
//! its text, HTML and files) and [`key`] names it for exactly-once storage;
//! [`automatic`] tells out-of-office replies, bounces and list mail from
//! people; [`compose`] writes a reply with its threading headers. Nothing
//! here touches a mailbox or the database: IMAP and SMTP are the server's.

pub mod automatic;
pub mod compose;
pub mod html;
pub mod letter;

pub use automatic::Automatic;
pub use letter::{File, Letter, ParseError, Sender, key};

/// A Message-ID as casedesk stores and compares it: without the angle
/// brackets and surrounding space; `None` when nothing is left or it is
/// too long to be a real one (RFC 5322 lines stop at 998 characters).
pub fn normalize_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let plausible = !id.is_empty()
        && id.len() <= 250
        && !id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    plausible.then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_lose_their_brackets_and_nothing_else() {
        assert_eq!(
            normalize_id(" <a.b@x.example> ").as_deref(),
            Some("a.b@x.example")
        );
        assert_eq!(normalize_id("a@B.example").as_deref(), Some("a@B.example"));
        assert_eq!(normalize_id("<>"), None);
        assert_eq!(normalize_id("<a b@x>"), None);
        assert_eq!(normalize_id("<a@x<b@y>"), None, "a bracket inside is no id");
        assert_eq!(normalize_id("< <a"), None);
        assert_eq!(normalize_id(&"x".repeat(300)), None);
    }
}
