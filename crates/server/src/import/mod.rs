//! Reading history files to import: a company's old messenger history,
//! read message by message so that it can become cases. Two formats, both
//! described in docs/import.md: a Telegram Desktop export
//! ([`telegram_export`]) and casedesk's own JSON Lines ([`jsonl`]).
//!
//! The parsers only read. Each record of a file becomes one [`Parsed`]: a
//! message, a record left out on purpose, or one that could not be read,
//! each with its line, so that an admin can find it; what becomes of the
//! messages is the import's business, not theirs.
//!
//! Both stream: however long the file, they hold one record at a time (a
//! JSONL line of at most [`MAX_LINE_BYTES`], one Telegram value of at most
//! [`MAX_MESSAGE_BYTES`]), never a whole chat or file, so that an export of
//! a million messages is read in bounded memory. Nothing in a file makes
//! them panic; a record that breaks a limit is an error for that record
//! alone.

pub mod jsonl;
pub mod telegram_export;

use std::io::BufRead;
use std::str::FromStr;

use casedesk_domain::Time;

/// Longest text of a message, in characters. A longer one is an
/// [`Parsed::Error`] for its record, not cut: a cut message would say
/// something its author did not.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest line of a JSONL file, in bytes, its line end not counted. A
/// longer line is an error for that line; it is read in chunks and thrown
/// away, never held whole.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Longest id (a message's, a customer's) or name, in characters.
pub const MAX_ID_CHARS: usize = 200;
/// Longest attachment reference (a URL, a path in an export), in characters.
pub const MAX_ATTACHMENT_CHARS: usize = 2_000;
/// Longest single value a Telegram export may hold where it is read whole,
/// in bytes: a message object, a chat's name. Telegram's own messages stay
/// far below (a text is at most 4,096 characters); a longer value means
/// the file is not what it says, and reading stops there with a
/// [`Parsed::Fatal`], since JSON cannot be resumed in the middle of a value.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// One message read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMessage {
    /// Where it is in the file (1-based line of the JSONL line; for a
    /// Telegram export, the line on which the message object starts).
    pub line: u64,
    /// The source's own id, stable across exports of the same history: the
    /// import's idempotency key. Telegram: "tg:<chat id>:<message id>";
    /// JSONL: the line's `id`.
    pub source_id: String,
    /// The customer as the channel knows them. Telegram: the personal
    /// chat's peer user id as decimal text (the same id casedesk's live
    /// Telegram channel uses as the customer's external id, e.g.
    /// "123456789"); JSONL: `customer.id`.
    pub customer_id: String,
    pub customer_name: Option<String>,
    /// Written by the customer (else by the company's side: an agent).
    pub from_customer: bool,
    /// The agent's name as the source shows it (Telegram: `from` of the
    /// company's messages; JSONL: `agent`), when known.
    pub agent_name: Option<String>,
    pub at: Time,
    /// The text, entities flattened to plain text; media without text
    /// become a short bracketed description such as "[photo]", "[voice
    /// message]", "[sticker 😀]", "[file report.pdf]" so that no message is
    /// empty.
    pub text: String,
    /// A reference to an attachment (Telegram: the `photo`/`file` path
    /// inside the export; JSONL: `attachment`), not fetched.
    pub attachment: Option<String>,
}

/// One record of a file, as the parsers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Message(SourceMessage),
    /// Read and left out on purpose (service messages, chats that are not
    /// a personal chat with a customer, messages of the exporting account
    /// to itself…), with the reason, counted as `skipped`.
    Skipped {
        line: u64,
        reason: String,
    },
    /// A record that could not be read; reported to the admin as `{line,
    /// message}` and skipped.
    Error {
        line: u64,
        message: String,
    },
    /// The file as a whole cannot be read further (not JSON at the top,
    /// truncated, not UTF-8 …): the parser stops after this.
    Fatal {
        line: u64,
        message: String,
    },
}

impl Parsed {
    /// Where the record is in the file.
    pub fn line(&self) -> u64 {
        match self {
            Parsed::Message(m) => m.line,
            Parsed::Skipped { line, .. }
            | Parsed::Error { line, .. }
            | Parsed::Fatal { line, .. } => *line,
        }
    }
}

/// The formats casedesk imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Telegram Desktop's JSON export (`result.json`), of one chat or all.
    Telegram,
    /// casedesk's JSON Lines, one message per line.
    Jsonl,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Telegram => "telegram",
            Format::Jsonl => "jsonl",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown import format `{0}`: it is `telegram` or `jsonl`")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        match s {
            "telegram" => Ok(Format::Telegram),
            "jsonl" => Ok(Format::Jsonl),
            other => Err(UnknownFormat(other.chars().take(MAX_ID_CHARS).collect())),
        }
    }
}

/// The records of `reader` in `format`, one at a time, in file order;
/// after a [`Parsed::Fatal`] there are none. `channel_names` are the
/// importing channel's id and name: a JSONL line for another `channel` is
/// skipped (a Telegram export names no channel).
///
/// A Telegram export is parsed on a thread of its own, at most
/// [`telegram_export::AHEAD`] records ahead of the caller (hence `Send +
/// 'static`); dropping the iterator stops it.
pub fn parse(
    format: Format,
    reader: impl BufRead + Send + 'static,
    channel_names: &[String],
) -> impl Iterator<Item = Parsed> + Send {
    match format {
        Format::Jsonl => Records::Jsonl(jsonl::parse(reader, channel_names)),
        Format::Telegram => Records::Telegram(telegram_export::parse(reader)),
    }
}

enum Records<R> {
    Jsonl(jsonl::Records<R>),
    Telegram(telegram_export::Records),
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        match self {
            Records::Jsonl(records) => records.next(),
            Records::Telegram(records) => records.next(),
        }
    }
}

/// `value` as an id: not blank, at most [`MAX_ID_CHARS`], no NUL.
fn check_id(field: &str, value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(format!("`{field}` is blank"));
    }
    if value.chars().count() > MAX_ID_CHARS {
        return Err(format!(
            "`{field}` is longer than {MAX_ID_CHARS} characters"
        ));
    }
    if value.contains('\0') {
        return Err(format!("`{field}` holds a NUL character"));
    }
    Ok(value.to_owned())
}

/// `value` as a person's name, trimmed; blank is no name.
fn check_name(field: &str, value: Option<&str>) -> Result<Option<String>, String> {
    let Some(name) = value.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_ID_CHARS {
        return Err(format!(
            "`{field}` is longer than {MAX_ID_CHARS} characters"
        ));
    }
    if name.contains('\0') {
        return Err(format!("`{field}` holds a NUL character"));
    }
    Ok(Some(name.to_owned()))
}

/// `text` as a message's text: at most [`MAX_TEXT_CHARS`], no NUL.
fn check_text(field: &str, text: String) -> Result<String, String> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "`{field}` is {chars} characters long; a message may have at most {MAX_TEXT_CHARS}"
        ));
    }
    if text.contains('\0') {
        return Err(format!("`{field}` holds a NUL character"));
    }
    Ok(text)
}

/// `value` as a reference to an attachment: not blank, at most
/// [`MAX_ATTACHMENT_CHARS`], no NUL.
fn check_attachment(field: &str, value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(format!("`{field}` is blank"));
    }
    if value.chars().count() > MAX_ATTACHMENT_CHARS {
        return Err(format!(
            "`{field}` is longer than {MAX_ATTACHMENT_CHARS} characters"
        ));
    }
    if value.contains('\0') {
        return Err(format!("`{field}` holds a NUL character"));
    }
    Ok(value.to_owned())
}

/// The last part of a path or URL, its query left out: what a person
/// would call the file.
fn file_name(reference: &str) -> &str {
    let path = reference.split(['?', '#']).next().unwrap_or(reference);
    path.rsplit(['/', '\\'])
        .find(|part| !part.is_empty())
        .unwrap_or(path)
}

/// A serde_json error without its "at line 1 column 80": the parsers say
/// where in the file themselves.
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) if e.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Read;

    use super::*;

    /// A file made on the fly, one piece at a time, so that a test can
    /// feed a parser more than it would want to hold.
    pub(crate) struct Generated<F> {
        next: F,
        piece: Vec<u8>,
        at: usize,
    }

    impl<F: FnMut() -> Option<String>> Generated<F> {
        pub(crate) fn new(next: F) -> Generated<F> {
            Generated {
                next,
                piece: Vec::new(),
                at: 0,
            }
        }
    }

    impl<F: FnMut() -> Option<String>> Read for Generated<F> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            while self.at == self.piece.len() {
                match (self.next)() {
                    Some(piece) => {
                        self.piece = piece.into_bytes();
                        self.at = 0;
                    }
                    None => return Ok(0),
                }
            }
            let n = out.len().min(self.piece.len() - self.at);
            out[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn formats_are_named_as_the_api_names_them() {
        assert_eq!("telegram".parse::<Format>(), Ok(Format::Telegram));
        assert_eq!("jsonl".parse::<Format>(), Ok(Format::Jsonl));
        let e = "csv".parse::<Format>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown import format `csv`: it is `telegram` or `jsonl`"
        );
        assert_eq!(Format::Telegram.to_string(), "telegram");
    }

    #[test]
    fn parse_dispatches_by_format() {
        let jsonl = br#"{"id": "m1", "customer": {"id": "c1"}, "author": "customer", "at": "2024-03-01T10:15:00Z", "text": "hi"}"#;
        let records: Vec<Parsed> =
            parse(Format::Jsonl, std::io::Cursor::new(jsonl.to_vec()), &[]).collect();
        assert!(matches!(&records[..], [Parsed::Message(m)] if m.source_id == "m1"));

        let export = r#"{"name": "A", "type": "personal_chat", "id": 7, "messages": [
            {"id": 1, "type": "message", "date_unixtime": "1709288100", "from": "A",
             "from_id": "user7", "text": "hi"}]}"#;
        let records: Vec<Parsed> = parse(
            Format::Telegram,
            std::io::Cursor::new(export.as_bytes().to_vec()),
            &[],
        )
        .collect();
        assert!(matches!(&records[..], [Parsed::Message(m)] if m.source_id == "tg:7:1"));
    }

    #[test]
    fn file_names_are_the_last_part_of_a_reference() {
        assert_eq!(file_name("files/report.pdf"), "report.pdf");
        assert_eq!(
            file_name("https://files.example/a/invoice.pdf?sig=1#x"),
            "invoice.pdf"
        );
        assert_eq!(file_name("C:\\scans\\scan.png"), "scan.png");
        assert_eq!(file_name("dir/"), "dir");
        assert_eq!(file_name("plain"), "plain");
    }

    #[test]
    fn checks_refuse_what_the_limits_forbid() {
        assert!(check_id("id", " ").is_err());
        assert!(check_id("id", &"x".repeat(MAX_ID_CHARS)).is_ok());
        assert!(check_id("id", &"я".repeat(MAX_ID_CHARS + 1)).is_err());
        assert!(check_id("id", "a\0b").is_err());
        assert_eq!(check_name("name", Some("  Ann ")), Ok(Some("Ann".into())));
        assert_eq!(check_name("name", Some("  ")), Ok(None));
        assert!(check_text("text", "é".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(check_text("text", "é".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert!(check_text("text", "a\0".into()).is_err());
    }
}
