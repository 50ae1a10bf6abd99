//! A raw letter read into what a helpdesk needs of it, and its key.

use std::fmt;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::{Automatic, normalize_id};

/// Most files taken from one letter; the rest are named in its text.
pub const MAX_FILES: usize = 50;
/// Most Message-IDs of the thread a letter names that are looked up.
pub const MAX_THREAD_IDS: usize = 50;

/// Who wrote a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Lower case: addresses are matched without regard to case.
    pub address: String,
    pub name: Option<String>,
}

/// A file that came with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// As the letter names it, or `attachment-<n>` when it does not.
    pub filename: String,
    /// `type/subtype` as the letter declares it (the server sniffs the
    /// bytes itself).
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The `Content-ID` an HTML body refers to as `cid:…`.
    pub content_id: Option<String>,
    /// Meant to be shown within the body rather than as an attachment.
    pub inline: bool,
}

/// A letter, as far as casedesk reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// Its own Message-ID, without brackets.
    pub message_id: Option<String>,
    /// What it answers: `In-Reply-To` first, then `References` newest
    /// first, each once, at most [`MAX_THREAD_IDS`].
    pub thread_ids: Vec<String>,
    pub subject: String,
    pub from: Sender,
    /// Where answers should go, when the letter asks for another address.
    pub reply_to: Option<Sender>,
    /// Every `To` and `Cc` address, lower case.
    pub recipients: Vec<String>,
    /// The text: the plain-text bodies, or the HTML's text when there are
    /// none.
    pub text: String,
    /// The HTML body as sent (unsafe to show as it is).
    pub html: Option<String>,
    pub files: Vec<File>,
    /// Files beyond [`MAX_FILES`], by name.
    pub files_left_out: Vec<String>,
    /// Set when the letter was sent by a machine (see [`Automatic`]).
    pub automatic: Option<Automatic>,
}

/// Why a letter cannot become a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not an RFC 5322 message at all.
    NotALetter,
    /// No `From` address to answer (or to match a customer by).
    NoSender,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::NotALetter => "not an e-mail message: no headers could be read",
            ParseError::NoSender => "the letter has no sender address (From) to answer",
        })
    }
}

impl std::error::Error for ParseError {}

/// What a letter is stored under, so that it is stored once however often
/// it arrives: its Message-ID, or `sha256:` and the hash of its bytes when
/// it has none (or no readable one).
pub fn key(raw: &[u8]) -> String {
    let id = MessageParser::new()
        .parse_headers(raw)
        .and_then(|m| m.message_id().and_then(normalize_id));
    match id {
        Some(id) => id,
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

/// The lower-case address of a letter's `From`, read from its headers
/// only (to keep one sender's letters in order before they are read).
pub fn sender_address(raw: &[u8]) -> Option<String> {
    let m = MessageParser::new().parse_headers(raw)?;
    first_address(m.from())
}

fn first_address(a: Option<&mail_parser::Address<'_>>) -> Option<String> {
    a?.iter()
        .find_map(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@') && a.len() <= 320)
}

fn sender(a: Option<&mail_parser::Address<'_>>) -> Option<Sender> {
    let first = a?.iter().find(|a| a.address().is_some())?;
    let address = first_address(a)?;
    // A name is one line: control characters (an encoded CR or LF) become
    // spaces, as no header could carry them back out.
    let name = first
        .name()
        .map(|n| {
            n.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
                .trim()
                .chars()
                .take(200)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty() && n.to_lowercase() != address);
    Some(Sender { address, name })
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(t) => {
            t.split_whitespace().filter_map(normalize_id).collect()
        }
        mail_parser::HeaderValue::TextList(list) => {
            list.iter().filter_map(|t| normalize_id(t)).collect()
        }
        _ => Vec::new(),
    }
}

impl Letter {
    /// Reads a raw letter. Lenient as mail clients are: only a letter
    /// without headers or without a sender is refused.
    pub fn parse(raw: &[u8]) -> Result<Letter, ParseError> {
        let m = MessageParser::default()
            .parse(raw)
            .filter(|m| !m.headers().is_empty())
            .ok_or(ParseError::NotALetter)?;
        let from = sender(m.from()).ok_or(ParseError::NoSender)?;
        let mut references = ids(m.references());
        references.reverse();
        let mut thread_ids: Vec<String> = Vec::new();
        for id in ids(m.in_reply_to()).into_iter().chain(references) {
            if !thread_ids.contains(&id) {
                thread_ids.push(id);
            }
        }
        thread_ids.truncate(MAX_THREAD_IDS);
        let recipients = m
            .to()
            .into_iter()
            .chain(m.cc())
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address())
            .map(|a| a.trim().to_lowercase())
            .collect();
        let text = (0..m.text_body_count())
            .filter_map(|i| m.body_text(i))
            // Lines end in CRLF on the wire; stored text ends them in LF.
            .map(|t| {
                // CRLF, and a CR alone (a stray one before CRLF too), end
                // a line.
                t.replace("\r\n", "\n")
                    .replace('\r', "\n")
                    .trim_start_matches('\n')
                    .trim_end()
                    .to_owned()
            })
            .filter(|t| !t.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        let html = m
            .html_bodies()
            .filter_map(|p| match &p.body {
                PartType::Html(h) => Some(h.as_ref()),
                _ => None,
            })
            .collect::<Vec<_>>();
        let html = (!html.is_empty()).then(|| html.join("\n"));
        let mut files = Vec::new();
        let mut files_left_out = Vec::new();
        for (n, part) in m.attachments().enumerate() {
            let filename = part
                .attachment_name()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map_or_else(|| format!("attachment-{}", n + 1), str::to_owned);
            if files.len() >= MAX_FILES {
                files_left_out.push(filename);
                continue;
            }
            let content_type = part.content_type().map_or_else(
                || "application/octet-stream".to_owned(),
                |t| match t.subtype() {
                    Some(sub) => format!("{}/{}", t.ctype(), sub).to_lowercase(),
                    None => t.ctype().to_lowercase(),
                },
            );
            let inline = part.content_disposition().is_some_and(|d| d.is_inline());
            let bytes = match &part.body {
                PartType::Message(inner) => inner.raw_message().to_vec(),
                _ => part.contents().to_vec(),
            };
            if bytes.is_empty() {
                continue;
            }
            files.push(File {
                filename,
                content_type,
                bytes,
                content_id: part.content_id().and_then(normalize_id),
                inline,
            });
        }
        Ok(Letter {
            message_id: m.message_id().and_then(normalize_id),
            thread_ids,
            subject: m.subject().unwrap_or("").trim().to_owned(),
            reply_to: sender(m.reply_to()),
            automatic: Automatic::detect(&m, &from.address),
            from,
            recipients,
            text,
            html,
            files,
            files_left_out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &[u8] = b"From: \"Ann Lee\" <Ann@Shop.Example>\r\n\
To: support@desk.example\r\nCc: Bob <bob@x.example>\r\n\
Subject: Re: [#12] Order\r\nMessage-ID: <r2@shop.example>\r\n\
In-Reply-To: <ours-1@desk.example>\r\n\
References: <first@shop.example> <ours-1@desk.example>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nThanks, it came.\r\n";

    #[test]
    fn a_reply_is_read_with_its_thread_newest_first() {
        let l = Letter::parse(REPLY).expect("parses");
        assert_eq!(l.message_id.as_deref(), Some("r2@shop.example"));
        assert_eq!(l.thread_ids, ["ours-1@desk.example", "first@shop.example"]);
        assert_eq!(l.subject, "Re: [#12] Order");
        assert_eq!(
            l.from,
            Sender {
                address: "ann@shop.example".into(),
                name: Some("Ann Lee".into())
            }
        );
        assert_eq!(l.recipients, ["support@desk.example", "bob@x.example"]);
        assert_eq!(l.text, "Thanks, it came.");
        assert_eq!(l.automatic, None);
        assert_eq!(key(REPLY), "r2@shop.example");
        assert_eq!(sender_address(REPLY).as_deref(), Some("ann@shop.example"));
    }

    #[test]
    fn html_and_files_are_kept_apart_from_the_text() {
        let raw = b"From: a@x.example\r\nSubject: Photo\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>See <b>this</b></p>\r\n--b\r\n\
Content-Type: image/png; name=\"p.png\"\r\nContent-Disposition: attachment; filename=\"p.png\"\r\n\
Content-Transfer-Encoding: base64\r\nContent-ID: <img1@x>\r\n\r\niVBORw0KGgo=\r\n--b--\r\n";
        let l = Letter::parse(raw).expect("parses");
        assert!(
            l.text.contains("See") && l.text.contains("this"),
            "{:?}",
            l.text
        );
        assert!(!l.text.contains('<'), "the text has no tags: {:?}", l.text);
        assert_eq!(l.html.as_deref(), Some("<p>See <b>this</b></p>"));
        assert_eq!(l.files.len(), 1);
        assert_eq!(l.files[0].filename, "p.png");
        assert_eq!(l.files[0].content_type, "image/png");
        assert_eq!(l.files[0].bytes, b"\x89PNG\r\n\x1a\n");
        assert_eq!(l.files[0].content_id.as_deref(), Some("img1@x"));
        assert!(l.message_id.is_none());
        assert!(
            key(raw).starts_with("sha256:"),
            "no Message-ID: keyed by its bytes"
        );
    }

    #[test]
    fn what_is_not_a_letter_or_has_no_sender_is_refused() {
        assert_eq!(Letter::parse(b""), Err(ParseError::NotALetter));
        assert_eq!(
            Letter::parse(b"Subject: hi\r\n\r\nbody"),
            Err(ParseError::NoSender)
        );
        assert_eq!(
            Letter::parse(b"From: nobody\r\n\r\nbody"),
            Err(ParseError::NoSender)
        );
        assert_eq!(key(b"\xff\xfe"), key(b"\xff\xfe"));
        assert_ne!(key(b"a"), key(b"b"));
    }

    #[test]
    fn names_are_one_line_and_threads_name_each_id_once() {
        let raw = b"From: =?utf-8?q?Ann=0ALee?= <ann@x.example>\r\n\
In-Reply-To: <p@x.example> <p@x.example>\r\nReferences: <p@x.example>\r\n\r\nHello,\r\r\nWorld\r\n";
        let l = Letter::parse(raw).expect("parses");
        assert_eq!(l.from.name.as_deref(), Some("Ann Lee"));
        assert_eq!(l.thread_ids, ["p@x.example"]);
        assert!(!l.text.contains('\r'), "{:?}", l.text);
    }

    #[test]
    fn legacy_charsets_are_read() {
        let raw =
            b"From: =?koi8-r?B?4c7O?= <a@x.example>\r\nSubject: =?windows-1251?B?x+Dq4Ocg?=\r\n\
Content-Type: text/plain; charset=windows-1251\r\n\r\n\xcf\xf0\xe8\xe2\xe5\xf2\r\n";
        let l = Letter::parse(raw).expect("parses");
        assert_eq!(l.text, "Привет");
        assert_eq!(l.subject, "Заказ");
        assert_eq!(l.from.name.as_deref(), Some("Анн"));
    }
}
