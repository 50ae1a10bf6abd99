//! A reply as it leaves: plain text and HTML alternatives, files attached,
//! the Message-ID chosen when the reply was saved, and the thread it
//! continues in `In-Reply-To` and `References`, so that every mail client
//! (Outlook's `References`-only replies included) threads it and answers
//! into the same case.

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

/// Most Message-IDs carried in `References`: the first of the thread and
/// the latest ones (RFC 5322 lets the middle go).
pub const MAX_REFERENCES: usize = 20;

/// A file sent with a reply.
#[derive(Debug, Clone)]
pub struct OutFile {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Everything a reply letter is made of.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The channel's address, with the team's name.
    pub from: (Option<String>, String),
    pub to: (Option<String>, String),
    pub subject: String,
    /// Without brackets.
    pub message_id: String,
    /// The customer's letter answered, without brackets.
    pub in_reply_to: Option<String>,
    /// The thread so far, oldest first, without brackets.
    pub references: Vec<String>,
    pub text: String,
    pub files: Vec<OutFile>,
    /// Sent by a rule rather than a person: marked `Auto-Submitted:
    /// auto-replied` (RFC 3834) so that autoresponders leave it alone.
    pub automatic: bool,
}

fn mailbox((name, address): &(Option<String>, String)) -> Result<Mailbox, String> {
    let address = address
        .parse()
        .map_err(|e| format!("`{address}` is not an e-mail address: {e}"))?;
    // A name is one header line: lettre cannot write control characters.
    let name = name
        .as_deref()
        .map(|n| {
            n.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
                .trim()
                .to_owned()
        })
        .filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, address))
}

/// The first Message-ID and the latest ones, at most [`MAX_REFERENCES`].
fn trimmed(references: &[String]) -> Vec<&str> {
    if references.len() <= MAX_REFERENCES {
        return references.iter().map(String::as_str).collect();
    }
    std::iter::once(references[0].as_str())
        .chain(
            references[references.len() - (MAX_REFERENCES - 1)..]
                .iter()
                .map(String::as_str),
        )
        .collect()
}

/// The HTML alternative of a plain-text reply: the text escaped, its
/// lines kept.
pub fn text_to_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 64);
    html.push_str("<!DOCTYPE html><html><body><div style=\"white-space:pre-wrap\">");
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
    html.push_str("</div></body></html>");
    html
}

/// The letter of `reply`, ready for an SMTP transport.
pub fn compose(reply: &Reply) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(mailbox(&reply.from)?)
        .to(mailbox(&reply.to)?)
        .subject(reply.subject.clone())
        .message_id(Some(format!("<{}>", reply.message_id)))
        .date_now();
    if let Some(parent) = &reply.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    let references = trimmed(&reply.references);
    if !references.is_empty() {
        let list: Vec<String> = references.iter().map(|id| format!("<{id}>")).collect();
        builder = builder.references(list.join(" "));
    }
    if reply.automatic {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-replied".to_owned(),
        ));
    }
    let body = MultiPart::alternative_plain_html(reply.text.clone(), text_to_html(&reply.text));
    let message = if reply.files.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for f in &reply.files {
            let kind = ContentType::parse(&f.content_type).unwrap_or(
                ContentType::parse("application/octet-stream").map_err(|e| e.to_string())?,
            );
            let part: SinglePart = Attachment::new(f.filename.clone()).body(f.bytes.clone(), kind);
            mixed = mixed.singlepart(part);
        }
        builder.multipart(mixed)
    };
    message.map_err(|e| format!("the reply could not be written as a letter: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Letter;

    fn reply() -> Reply {
        Reply {
            from: (Some("Shop support".into()), "support@desk.example".into()),
            to: (Some("Ann Lee".into()), "ann@shop.example".into()),
            subject: "[#12] Order".into(),
            message_id: "m1.abc@desk.example".into(),
            in_reply_to: Some("first@shop.example".into()),
            references: vec!["first@shop.example".into()],
            text: "It ships <today> & tomorrow.\nRegards".into(),
            files: vec![OutFile {
                filename: "label.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.4 x".to_vec(),
            }],
            automatic: false,
        }
    }

    #[test]
    fn a_reply_threads_and_reads_back_as_written() {
        let raw = compose(&reply()).expect("composes").formatted();
        let back = Letter::parse(&raw).expect("reads back");
        assert_eq!(back.message_id.as_deref(), Some("m1.abc@desk.example"));
        assert_eq!(back.thread_ids, ["first@shop.example"]);
        assert_eq!(back.subject, "[#12] Order");
        assert_eq!(back.from.address, "support@desk.example");
        assert_eq!(back.text, "It ships <today> & tomorrow.\nRegards");
        assert!(
            back.html
                .as_deref()
                .is_some_and(|h| h.contains("&lt;today&gt; &amp;")),
            "the HTML alternative is escaped: {:?}",
            back.html
        );
        assert_eq!(back.files.len(), 1);
        assert_eq!(back.files[0].filename, "label.pdf");
        assert_eq!(back.files[0].bytes, b"%PDF-1.4 x");
        assert_eq!(back.automatic, None, "a person's reply is not automatic");
    }

    #[test]
    fn automatic_replies_say_so_and_long_threads_keep_their_ends() {
        let mut r = reply();
        r.automatic = true;
        r.references = (0..30).map(|i| format!("m{i}@x")).collect();
        let raw = compose(&r).expect("composes").formatted();
        let back = Letter::parse(&raw).expect("reads back");
        assert_eq!(
            back.automatic,
            Some(crate::Automatic::AutoSubmitted("auto-replied".into()))
        );
        let refs = &back.thread_ids[1..];
        assert_eq!(refs.len(), MAX_REFERENCES);
        assert_eq!(refs.first().map(String::as_str), Some("m29@x"));
        assert_eq!(refs.last().map(String::as_str), Some("m0@x"));
    }

    #[test]
    fn a_bad_address_is_an_error_not_a_panic() {
        let mut r = reply();
        r.to.1 = "not an address".into();
        assert!(compose(&r).unwrap_err().contains("not an e-mail address"));
        let mut r = reply();
        r.to.0 = Some("Ann\r\nBcc: evil@x.example".into());
        let raw = compose(&r).expect("a name with a line break").formatted();
        assert!(
            !String::from_utf8_lossy(&raw).contains("\nBcc:"),
            "no header injected"
        );
        let back = Letter::parse(&raw).expect("reads back");
        assert_eq!(back.from.address, "support@desk.example");
    }
}
