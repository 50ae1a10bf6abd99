//! Inbound e-mail (`casedesk_mail`): arbitrary bytes as a raw letter, as
//! the mailbox worker hands it over, through its key, its sender, its
//! parsing, the subject rules of R14, and a reply composed to it.
//!
//! Properties: nothing panics; the key is deterministic and is a
//! normalized Message-ID or `sha256:` and 64 hex digits; a letter that
//! parses has a lower-case sender address with an `@`, normalized thread
//! ids and at most as many ids and files as the limits say, text with LF
//! line ends, and the same key and sender as its headers alone give; its
//! subject tagged for case 7 names case 7 (true of any subject: the tag is
//! either the one the subject starts with already, or put first); a reply
//! to it, when it can be written at all, reads back as ours, with the
//! Message-ID it was given, the case's tag, the thread it continues and
//! the text it carries.

#![no_main]

use casedesk_domain::Subject;
use casedesk_domain::email::{case_tag, strip_reply_prefixes, tagged_subject};
use casedesk_mail::compose::{Reply, compose};
use casedesk_mail::letter::{MAX_FILES, MAX_THREAD_IDS, sender_address};
use casedesk_mail::{Letter, key, normalize_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    let k = key(raw);
    assert_eq!(k, key(raw), "the key is deterministic");
    check_key(&k);
    let sender = sender_address(raw);
    if let Some(a) = &sender {
        assert_lower_address(a);
    }

    let Ok(letter) = Letter::parse(raw) else {
        return;
    };
    assert_lower_address(&letter.from.address);
    if let Some(reply_to) = &letter.reply_to {
        assert_lower_address(&reply_to.address);
    }
    assert_eq!(
        sender.as_deref(),
        Some(letter.from.address.as_str()),
        "the headers alone name the same sender"
    );
    for r in &letter.recipients {
        assert_eq!(*r, r.to_lowercase(), "recipient {r:?}");
    }
    if let Some(id) = &letter.message_id {
        assert_eq!(normalize_id(id).as_ref(), Some(id), "message id {id:?}");
        assert_eq!(&k, id, "a letter with a Message-ID is keyed by it");
    }
    assert!(letter.thread_ids.len() <= MAX_THREAD_IDS);
    for id in &letter.thread_ids {
        assert_eq!(normalize_id(id).as_ref(), Some(id), "thread id {id:?}");
    }
    assert!(letter.files.len() <= MAX_FILES);
    assert!(letter.files_left_out.is_empty() || letter.files.len() == MAX_FILES);
    for f in &letter.files {
        assert!(!f.filename.is_empty() && !f.bytes.is_empty());
        assert_eq!(f.content_type, f.content_type.to_lowercase());
        if let Some(id) = &f.content_id {
            assert_eq!(normalize_id(id).as_ref(), Some(id), "content id {id:?}");
        }
    }
    assert!(
        !letter.text.contains('\r'),
        "the text ends its lines in LF: {:?}",
        letter.text
    );
    let mut unique = letter.thread_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), letter.thread_ids.len(), "each thread id once");
    if let Some(name) = &letter.from.name {
        assert!(
            !name.chars().any(char::is_control),
            "a name is one line: {name:?}"
        );
    }

    // R14 on whatever subject came.
    let subject = Subject::from_letter(&letter.subject, &letter.text);
    assert!(!subject.as_str().is_empty());
    let bare = strip_reply_prefixes(&letter.subject);
    assert_eq!(strip_reply_prefixes(bare), bare, "stripping is idempotent");
    let _ = case_tag(&letter.subject);
    let tagged = tagged_subject(&letter.subject, 7);
    assert_eq!(case_tag(&tagged), Some(7), "{tagged:?}");

    // A reply to it, as the mail worker writes one (outbound.rs): tagged
    // subject, the letter answered as `In-Reply-To`, the thread oldest
    // first as `References`.
    let mut references: Vec<String> = letter.thread_ids.iter().rev().cloned().collect();
    references.extend(letter.message_id.clone());
    let name = letter.from.name.clone();
    let reply = Reply {
        from: (Some("Desk".into()), "support@desk.example".into()),
        to: (name, letter.from.address.clone()),
        subject: format!("Re: {tagged}"),
        message_id: "m1@desk.example".into(),
        in_reply_to: letter.message_id.clone(),
        references,
        text: letter.text.chars().take(2000).collect(),
        files: Vec::new(),
        automatic: false,
    };
    let Ok(message) = compose(&reply) else {
        return;
    };
    let written = message.formatted();
    let back = match Letter::parse(&written) {
        Ok(back) => back,
        Err(e) => panic!(
            "our reply does not read back: {e}\n{}",
            String::from_utf8_lossy(&written)
        ),
    };
    assert_eq!(back.message_id.as_deref(), Some("m1@desk.example"));
    assert_eq!(key(&written), "m1@desk.example");
    assert_eq!(back.from.address, "support@desk.example");
    assert_eq!(back.automatic, None, "a person's reply is not automatic");
    assert_eq!(case_tag(&back.subject), Some(7), "{:?}", back.subject);
    // Threading survives for ids of printable ASCII without brackets. Not
    // for others: lettre writes a non-ASCII id as an RFC 2047 word, which
    // no reader takes for an id, and `<a>b>` reads back as `a`.
    let plain = |id: &String| {
        id.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
    };
    if reply.in_reply_to.iter().chain(&reply.references).all(plain) {
        if let Some(parent) = &reply.in_reply_to {
            assert_eq!(back.thread_ids.first(), Some(parent), "threaded");
        }
        for id in &back.thread_ids {
            assert!(reply.references.contains(id), "not in our thread: {id:?}");
        }
    }
    // The customer reads what was written, but for what reading trims;
    // a lone CR or other control character need not survive the trip.
    if !reply
        .text
        .contains(|c: char| c.is_control() && c != '\n' && c != '\t')
    {
        assert_eq!(back.text, reply.text.trim_end(), "the text read back");
    }
});

/// A Message-ID as `normalize_id` leaves it, or the hash of the bytes.
fn check_key(k: &str) {
    if let Some(hash) = k.strip_prefix("sha256:")
        && hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return;
    }
    assert_eq!(normalize_id(k).as_deref(), Some(k), "key {k:?}");
    assert!(
        k.len() <= 250 && !k.contains(char::is_whitespace),
        "key {k:?}"
    );
    // No bracket anywhere: `<a@x<b@y>` is no id, and such a letter is
    // keyed by its bytes.
    assert!(!k.contains(['<', '>']), "key {k:?}");
}

fn assert_lower_address(a: &str) {
    assert!(a.contains('@'), "address {a:?}");
    assert_eq!(a, a.to_lowercase(), "address {a:?}");
}
