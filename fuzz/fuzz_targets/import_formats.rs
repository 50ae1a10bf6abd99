//! The history files an import reads (`casedesk_server::import`):
//! arbitrary bytes as a JSONL file and as a Telegram Desktop export.
//!
//! Properties: nothing panics and both parsers end; each record is a
//! message, a skipped record, an error or, last and at most once, a fatal
//! one, each at a line of the file, in file order; a JSONL file in memory
//! never ends in a fatal record (its lines stand alone); every message
//! keeps the limits the import relies on: a text that is not blank, at
//! most `MAX_TEXT_CHARS`, ids and names at most `MAX_ID_CHARS`, no NUL
//! anywhere, an agent's name only on an agent's message, and a Telegram
//! message keyed `tg:<customer id>:<message id>`.

#![no_main]

use std::io::Cursor;
use std::ops::ControlFlow;

use casedesk_server::import::{
    MAX_ATTACHMENT_CHARS, MAX_ID_CHARS, MAX_TEXT_CHARS, Parsed, SourceMessage, jsonl,
    telegram_export,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let channels = ["ch-support".to_owned(), "Support chat".to_owned()];
    let lines = data.split(|&b| b == b'\n').count() as u64;
    let records: Vec<Parsed> = jsonl::parse(Cursor::new(data), &channels).collect();
    check(&records, lines, true);
    assert!(
        !records.iter().any(|r| matches!(r, Parsed::Fatal { .. })),
        "a JSONL file in memory is read to its end: {records:?}"
    );
    for record in &records {
        if let Parsed::Message(m) = record {
            assert!(m.line <= lines);
        }
    }

    let mut records = Vec::new();
    telegram_export::read(Cursor::new(data), &mut |record| {
        records.push(record);
        ControlFlow::Continue(())
    });
    check(&records, lines, false);
    for record in &records {
        if let Parsed::Message(m) = record {
            let key = m
                .source_id
                .strip_prefix(&format!("tg:{}:", m.customer_id))
                .unwrap_or_else(|| panic!("{m:?}"));
            assert!(key.parse::<i64>().is_ok(), "{m:?}");
            assert!(m.customer_id.parse::<i64>().is_ok_and(|id| id > 0), "{m:?}");
        }
    }
});

/// Records in file order, each at a line of the file, a fatal one last;
/// JSONL's lines strictly increase (one record a line).
fn check(records: &[Parsed], lines: u64, one_per_line: bool) {
    let mut last = 0;
    for (i, record) in records.iter().enumerate() {
        let line = record.line();
        assert!(
            (1..=lines).contains(&line),
            "line {line} of {lines}: {record:?}"
        );
        match record {
            Parsed::Message(m) => check_message(m),
            Parsed::Skipped { reason: text, .. } | Parsed::Error { message: text, .. } => {
                assert!(!text.is_empty());
            }
            Parsed::Fatal { message, .. } => {
                assert!(!message.is_empty());
                assert_eq!(i, records.len() - 1, "a fatal record is the last");
                continue;
            }
        }
        if one_per_line {
            assert!(line > last, "line {line} after {last}");
        } else {
            assert!(line >= last, "line {line} after {last}");
        }
        last = line;
    }
}

fn check_message(m: &SourceMessage) {
    assert!(!m.text.trim().is_empty(), "{m:?}");
    assert!(m.text.chars().count() <= MAX_TEXT_CHARS);
    for id in [&m.source_id, &m.customer_id] {
        assert!(
            !id.trim().is_empty() && id.chars().count() <= MAX_ID_CHARS,
            "{id:?}"
        );
    }
    for name in m.customer_name.iter().chain(&m.agent_name) {
        assert!(
            !name.is_empty() && name.chars().count() <= MAX_ID_CHARS,
            "{name:?}"
        );
        assert_eq!(name.trim(), name);
    }
    if let Some(attachment) = &m.attachment {
        assert!(!attachment.trim().is_empty());
        assert!(attachment.chars().count() <= MAX_ATTACHMENT_CHARS);
    }
    assert!(m.agent_name.is_none() || !m.from_customer, "{m:?}");
    let fields = [&m.source_id, &m.customer_id, &m.text]
        .into_iter()
        .chain(&m.customer_name)
        .chain(&m.agent_name)
        .chain(&m.attachment);
    for field in fields {
        assert!(!field.contains('\0'), "NUL in {field:?}");
    }
}
