//! casedesk's own import format, JSON Lines: one JSON object per line,
//! one message per object (docs/import.md says it field by field).
//!
//! Read one line at a time: a line is held only up to [`MAX_LINE_BYTES`];
//! a longer one is read on in chunks and thrown away, so that memory stays
//! bounded whatever the file holds. Each line stands alone: a bad one is
//! an error for that line, and the next is read.

use std::io::{self, BufRead};

use serde_json::{Map, Value};

use super::{
    MAX_LINE_BYTES, Parsed, SourceMessage, check_attachment, check_id, check_name, check_text,
    file_name, json_error,
};

/// The fields a line may have; any other is an error, so that a typo
/// (`"atachment"`) is not lost without a word.
const FIELDS: [&str; 8] = [
    "id",
    "customer",
    "author",
    "agent",
    "at",
    "text",
    "attachment",
    "channel",
];
const CUSTOMER_FIELDS: [&str; 2] = ["id", "name"];

/// The records of a JSONL file, one per line that is not blank.
/// `channel_names` are the importing channel's id and name: a line whose
/// `channel` is none of them is skipped.
pub fn parse<R: BufRead>(reader: R, channel_names: &[String]) -> Records<R> {
    Records {
        reader,
        channel_names: channel_names.to_vec(),
        line: 0,
        buf: Vec::new(),
        done: false,
    }
}

/// The records of a JSONL file ([`parse`]).
pub struct Records<R> {
    reader: R,
    channel_names: Vec<String>,
    /// The line last read, 1-based.
    line: u64,
    /// The line being read; never longer than a line may be.
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        while !self.done {
            self.buf.clear();
            let read = read_line(&mut self.reader, &mut self.buf);
            self.line += 1;
            let line = self.line;
            match read {
                Ok(Line::End) => self.done = true,
                Ok(Line::TooLong { bytes }) => {
                    return Some(Parsed::Error {
                        line,
                        message: format!(
                            "the line is {bytes} bytes long; a line may have at most \
                             {MAX_LINE_BYTES} bytes"
                        ),
                    });
                }
                Ok(Line::Read) => {
                    if let Some(record) = self.record(line) {
                        return Some(record);
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Parsed::Fatal {
                        line,
                        message: format!("the file cannot be read further: {e}"),
                    });
                }
            }
        }
        None
    }
}

impl<R> Records<R> {
    /// The record of the line in `buf`; `None` for a blank line.
    fn record(&self, line: u64) -> Option<Parsed> {
        let mut bytes = self.buf.as_slice();
        if line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                return Some(Parsed::Error {
                    line,
                    message: format!(
                        "the line is not UTF-8 (an invalid byte at column {})",
                        e.valid_up_to() + 1
                    ),
                });
            }
        };
        if text.trim().is_empty() {
            return None;
        }
        Some(match message(line, text, &self.channel_names) {
            Ok(record) => record,
            Err(message) => Parsed::Error { line, message },
        })
    }
}

enum Line {
    /// The file ended before a line began.
    End,
    /// A line is in the buffer, its line end taken off.
    Read,
    /// The line was longer than a line may be; it was read to its end and
    /// thrown away.
    TooLong { bytes: u64 },
}

/// Reads one line into `buf` (which must be empty), without its "\n" or
/// "\r\n", in the reader's own chunks: a line beyond [`MAX_LINE_BYTES`]
/// is consumed but not kept.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    let mut bytes: u64 = 0;
    let mut too_long = false;
    let mut ends_in_cr = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            if bytes == 0 {
                return Ok(Line::End);
            }
            break;
        }
        let end = chunk.iter().position(|&b| b == b'\n');
        let part = &chunk[..end.unwrap_or(chunk.len())];
        bytes += part.len() as u64;
        if let Some(&last) = part.last() {
            ends_in_cr = last == b'\r';
        }
        // One byte more than a line may have, for a "\r" before the "\n".
        if !too_long && buf.len() + part.len() <= MAX_LINE_BYTES + 1 {
            buf.extend_from_slice(part);
        } else {
            too_long = true;
            buf.clear();
        }
        let consumed = part.len() + usize::from(end.is_some());
        reader.consume(consumed);
        if end.is_some() {
            break;
        }
    }
    if ends_in_cr {
        buf.pop();
        bytes -= 1;
    }
    if too_long || buf.len() > MAX_LINE_BYTES {
        buf.clear();
        return Ok(Line::TooLong { bytes });
    }
    Ok(Line::Read)
}

/// The record of one line of JSON.
fn message(line: u64, text: &str, channel_names: &[String]) -> Result<Parsed, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "the line is not valid JSON: {} (column {})",
            json_error(&e),
            e.column()
        )
    })?;
    let Value::Object(fields) = value else {
        return Err(format!(
            "the line is {}, not a JSON object",
            kind_of(&value)
        ));
    };
    only_known(&fields, &FIELDS, "")?;
    if let Some(channel) = string(&fields, "channel")?
        && !channel_names.iter().any(|name| name == channel)
    {
        return Ok(Parsed::Skipped {
            line,
            reason: format!(
                "for another channel `{}`",
                channel
                    .chars()
                    .take(super::MAX_ID_CHARS)
                    .collect::<String>()
            ),
        });
    }

    let source_id = check_id("id", &id(&fields, "id", "id")?)?;
    let customer = match fields.get("customer") {
        None | Some(Value::Null) => return Err("missing `customer`".into()),
        Some(Value::Object(customer)) => customer,
        Some(other) => {
            return Err(format!(
                "`customer` must be an object with `id` and `name`, not {}",
                kind_of(other)
            ));
        }
    };
    only_known(customer, &CUSTOMER_FIELDS, "customer.")?;
    let customer_id = check_id("customer.id", &id(customer, "id", "customer.id")?)?;
    let customer_name = check_name("customer.name", string(customer, "name")?)?;

    let from_customer = match string(&fields, "author")? {
        Some("customer") => true,
        Some("agent") => false,
        Some(other) => {
            return Err(format!(
                "`author` must be \"customer\" or \"agent\", not {:?}",
                other.chars().take(40).collect::<String>()
            ));
        }
        None => return Err("missing `author` (\"customer\" or \"agent\")".into()),
    };
    // An agent's name on a customer's message says nothing about its
    // author: it is left out.
    let agent_name = match from_customer {
        true => None,
        false => check_name("agent", string(&fields, "agent")?)?,
    };

    let at = match string(&fields, "at")? {
        None => return Err("missing `at`".into()),
        Some(at) => chrono::DateTime::parse_from_rfc3339(at)
            .map_err(|e| {
                format!(
                    "`at` is not an RFC 3339 time such as 2024-03-01T10:15:00Z: {:?} ({e})",
                    at.chars().take(40).collect::<String>()
                )
            })?
            .to_utc(),
    };

    let attachment = string(&fields, "attachment")?
        .map(|a| check_attachment("attachment", a))
        .transpose()?;
    let text = string(&fields, "text")?.unwrap_or_default();
    let text = match (text.trim().is_empty(), &attachment) {
        (false, _) => check_text("text", text.to_owned())?,
        (true, Some(attachment)) => format!("[file {}]", file_name(attachment)),
        (true, None) => return Err("the message has no `text` and no `attachment`".into()),
    };

    Ok(Parsed::Message(SourceMessage {
        line,
        source_id,
        customer_id,
        customer_name,
        from_customer,
        agent_name,
        at,
        text,
        attachment,
    }))
}

/// An error for the first field of `fields` not in `known`.
fn only_known(fields: &Map<String, Value>, known: &[&str], prefix: &str) -> Result<(), String> {
    match fields.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(format!(
            "unknown field `{prefix}{}` (the fields are {})",
            unknown.chars().take(40).collect::<String>(),
            known
                .iter()
                .map(|k| format!("`{prefix}{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The string field `name`; absent or `null` is `None`.
fn string<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`{name}` must be a string, not {}", kind_of(other))),
    }
}

/// The id field `name`: a string, or a whole number taken as its decimal
/// text (many systems number their messages).
fn id(fields: &Map<String, Value>, name: &str, path: &str) -> Result<String, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(format!("missing `{path}`")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(other) => Err(format!(
            "`{path}` must be a string or a whole number, not {}",
            kind_of(other)
        )),
    }
}

/// What a JSON value is, for a message.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor};

    use super::*;
    use crate::import::tests::Generated;
    use crate::import::{MAX_ID_CHARS, MAX_TEXT_CHARS};

    const SAMPLE: &str = include_str!("samples/edge-cases.jsonl");

    fn records(bytes: &[u8]) -> Vec<Parsed> {
        parse(Cursor::new(bytes.to_vec()), &channels()).collect()
    }

    fn channels() -> Vec<String> {
        vec!["ch-support".into(), "Support chat".into()]
    }

    fn message(record: &Parsed) -> &SourceMessage {
        match record {
            Parsed::Message(m) => m,
            other => panic!("not a message: {other:?}"),
        }
    }

    fn error(record: &Parsed) -> (u64, &str) {
        match record {
            Parsed::Error { line, message } => (*line, message),
            other => panic!("not an error: {other:?}"),
        }
    }

    fn time(rfc3339: &str) -> casedesk_domain::Time {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .to_utc()
    }

    const GOOD: &str = r#"{"id": "m1", "customer": {"id": "c-42", "name": "Ann"}, "author": "customer", "at": "2024-03-01T10:15:00Z", "text": "Hello"}"#;

    #[test]
    fn the_sample_reads_line_by_line() {
        let all = records(SAMPLE.as_bytes());
        let kinds: Vec<(u64, &str)> = all
            .iter()
            .map(|r| {
                let kind = match r {
                    Parsed::Message(_) => "message",
                    Parsed::Skipped { .. } => "skipped",
                    Parsed::Error { .. } => "error",
                    Parsed::Fatal { .. } => "fatal",
                };
                (r.line(), kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (1, "message"),
                (2, "message"),
                (4, "message"),
                (5, "error"),
                (6, "error"),
                (7, "error"),
                (8, "error"),
                (9, "message"),
                (10, "error"),
                (11, "skipped"),
                (12, "message"),
                (13, "error"),
                (14, "message"),
                (15, "error"),
                (16, "message"),
                (17, "message"),
                (18, "error"),
                (19, "error"),
                (20, "message"),
                (21, "error"),
                (23, "message"),
            ]
        );

        let first = message(&all[0]);
        assert_eq!(
            first,
            &SourceMessage {
                line: 1,
                source_id: "msg-1".into(),
                customer_id: "c-42".into(),
                customer_name: Some("Ann Lee".into()),
                from_customer: true,
                agent_name: None,
                at: time("2024-03-01T10:15:00Z"),
                text: "Hi! My order #1042 has not arrived yet.".into(),
                attachment: None,
            }
        );
        let reply = message(&all[1]);
        assert!(!reply.from_customer);
        assert_eq!(reply.agent_name.as_deref(), Some("Bob"));
        assert_eq!(reply.at, time("2024-03-01T12:20:00+02:00"));
        let with_file = message(&all[2]);
        assert_eq!(
            with_file.attachment.as_deref(),
            Some("https://files.shop.example/c-42/receipt.jpg")
        );
        assert_eq!(with_file.text, "Here is the receipt");

        // Out of order in time, kept in file order.
        let earlier = message(&all[7]);
        assert_eq!(earlier.line, 9);
        assert!(earlier.at < first.at);

        assert_eq!(
            all[9],
            Parsed::Skipped {
                line: 11,
                reason: "for another channel `Sales bot`".into()
            }
        );
        assert_eq!(message(&all[10]).source_id, "msg-12");
        let attachment_only = message(&all[12]);
        assert_eq!(attachment_only.text, "[file invoice-2024-03.pdf]");
        assert_eq!(
            attachment_only.attachment.as_deref(),
            Some("invoice-2024-03.pdf")
        );
        let russian = message(&all[14]);
        assert_eq!(russian.customer_name.as_deref(), Some("Мария Иванова"));
        assert_eq!(russian.text, "Здравствуйте! Где мой заказ? 📦");
        let multi_line = message(&all[15]);
        assert_eq!(
            multi_line.text,
            "Address:\n221B Baker Street\nLondon NW1 6XE"
        );
        assert_eq!(
            multi_line.source_id, "1017",
            "a numeric id is taken as its decimal text"
        );
        // The last line has no line end.
        assert!(!SAMPLE.ends_with('\n'));
        assert_eq!(message(&all[20]).source_id, "msg-23");
    }

    #[test]
    fn errors_name_the_field() {
        let all = records(SAMPLE.as_bytes());
        let messages: Vec<(u64, &str)> = all
            .iter()
            .filter(|r| matches!(r, Parsed::Error { .. }))
            .map(error)
            .collect();
        assert_eq!(
            messages,
            [
                (
                    5,
                    "the line is not valid JSON: EOF while parsing an object (column 42)"
                ),
                (6, "missing `customer`"),
                (7, "`author` must be \"customer\" or \"agent\", not \"bot\""),
                (
                    8,
                    "`at` is not an RFC 3339 time such as 2024-03-01T10:15:00Z: \"yesterday\" \
                     (premature end of input)"
                ),
                (
                    10,
                    "unknown field `priority` (the fields are `id`, `customer`, `author`, \
                     `agent`, `at`, `text`, `attachment`, `channel`)"
                ),
                (13, "the message has no `text` and no `attachment`"),
                (15, "`text` holds a NUL character"),
                (18, "`customer.id` is longer than 200 characters"),
                (19, "the line is an array, not a JSON object"),
                (21, "`at` must be a string, not a number"),
            ]
        );
    }

    #[test]
    fn a_text_over_the_limit_is_an_error_not_cut() {
        let text = "a".repeat(30_000);
        let line = GOOD.replace("\"Hello\"", &format!("{text:?}"));
        let all = records(format!("{line}\n{GOOD}\n").as_bytes());
        assert_eq!(
            error(&all[0]),
            (
                1,
                "`text` is 30000 characters long; a message may have at most 20000"
            )
        );
        assert_eq!(message(&all[1]).line, 2);
        let at_limit = GOOD.replace("\"Hello\"", &format!("{:?}", "ж".repeat(MAX_TEXT_CHARS)));
        assert_eq!(
            message(&records(at_limit.as_bytes())[0])
                .text
                .chars()
                .count(),
            MAX_TEXT_CHARS
        );
    }

    #[test]
    fn an_over_long_line_is_skipped_and_the_next_is_read() {
        let long = GOOD.replace("\"Hello\"", &format!("\"{}\"", "x".repeat(MAX_LINE_BYTES)));
        let bytes = long.len();
        // Read through a small buffer: the long line arrives in many chunks.
        let file = format!("{long}\r\n{GOOD}\n");
        let all: Vec<Parsed> =
            parse(BufReader::with_capacity(4096, file.as_bytes()), &[]).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(
            error(&all[0]),
            (
                1,
                format!(
                    "the line is {bytes} bytes long; a line may have at most {MAX_LINE_BYTES} bytes"
                )
                .as_str()
            )
        );
        assert_eq!(message(&all[1]).line, 2);

        // Exactly at the limit, with a CRLF end, the line is read.
        let filler = MAX_LINE_BYTES - GOOD.len();
        let at_limit = GOOD.replace("\"Hello\"", &format!("\"Hello{}\"", " ".repeat(filler)));
        assert_eq!(at_limit.len(), MAX_LINE_BYTES);
        let all = records(format!("{at_limit}\r\n").as_bytes());
        assert!(
            matches!(&all[..], [Parsed::Error { message, .. }] if message.contains("`text` is"))
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_for_its_line() {
        let mut file = b"{\"id\": \"m1\", \"text\": \"caf\xE9\"}\n".to_vec();
        file.extend_from_slice(GOOD.as_bytes());
        let all = records(&file);
        assert_eq!(
            error(&all[0]),
            (1, "the line is not UTF-8 (an invalid byte at column 26)")
        );
        assert_eq!(message(&all[1]).line, 2);
    }

    #[test]
    fn blank_lines_crlf_and_a_missing_last_line_end() {
        let file = format!("\n  \r\n{GOOD}\r\n\t\n{}", GOOD.replace("m1", "m2"));
        let all = records(file.as_bytes());
        assert_eq!(all.len(), 2);
        assert_eq!(message(&all[0]).line, 3);
        assert_eq!(message(&all[0]).text, "Hello");
        assert_eq!(message(&all[1]).line, 5);
        assert_eq!(message(&all[1]).source_id, "m2");
        assert_eq!(records(b""), []);
        assert_eq!(records(b"\n\n"), []);
        // A byte order mark on the first line is no error.
        let bom = format!("\u{feff}{GOOD}");
        assert_eq!(message(&records(bom.as_bytes())[0]).source_id, "m1");
    }

    #[test]
    fn fields_are_checked_one_by_one() {
        let cases: [(&str, &str); 9] = [
            (
                r#"{"id": "m", "customer": {"id": "c"}, "author": "customer", "at": "2024-03-01T10:15:00", "text": "t"}"#,
                "`at` is not an RFC 3339 time such as 2024-03-01T10:15:00Z: \"2024-03-01T10:15:00\" (premature end of input)",
            ),
            (
                r#"{"customer": {"id": "c"}, "author": "customer", "at": "2024-03-01T10:15:00Z", "text": "t"}"#,
                "missing `id`",
            ),
            (
                r#"{"id": " ", "customer": {"id": "c"}, "author": "customer", "at": "2024-03-01T10:15:00Z", "text": "t"}"#,
                "`id` is blank",
            ),
            (
                r#"{"id": "m", "customer": {"name": "Ann"}, "author": "customer", "at": "2024-03-01T10:15:00Z", "text": "t"}"#,
                "missing `customer.id`",
            ),
            (
                r#"{"id": "m", "customer": "c", "author": "customer", "at": "2024-03-01T10:15:00Z", "text": "t"}"#,
                "`customer` must be an object with `id` and `name`, not a string",
            ),
            (
                r#"{"id": "m", "customer": {"id": "c", "email": "a@b"}, "author": "customer", "at": "2024-03-01T10:15:00Z", "text": "t"}"#,
                "unknown field `customer.email` (the fields are `customer.id`, `customer.name`)",
            ),
            (
                r#"{"id": "m", "customer": {"id": "c"}, "at": "2024-03-01T10:15:00Z", "text": "t"}"#,
                "missing `author` (\"customer\" or \"agent\")",
            ),
            (
                r#"{"id": "m", "customer": {"id": "c"}, "author": "agent", "agent": "\u0000", "at": "2024-03-01T10:15:00Z", "text": "t"}"#,
                "`agent` holds a NUL character",
            ),
            (
                r#"{"id": 1.5, "customer": {"id": "c"}, "author": "agent", "at": "2024-03-01T10:15:00Z", "text": "t"}"#,
                "`id` must be a string or a whole number, not a number",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(error(&records(line.as_bytes())[0]).1, expected, "{line}");
        }
        let long_name = GOOD.replace("Ann", &"n".repeat(MAX_ID_CHARS + 1));
        assert_eq!(
            error(&records(long_name.as_bytes())[0]).1,
            "`customer.name` is longer than 200 characters"
        );
    }

    #[test]
    fn a_channel_given_must_be_the_importing_one() {
        let mine = GOOD.replace("\"text\"", "\"channel\": \"ch-support\", \"text\"");
        let by_name = GOOD.replace("\"text\"", "\"channel\": \"Support chat\", \"text\"");
        let other = GOOD.replace("\"text\"", "\"channel\": \"ch-sales\", \"text\"");
        let all = records(format!("{mine}\n{by_name}\n{other}\n").as_bytes());
        assert!(matches!(all[0], Parsed::Message(_)));
        assert!(matches!(all[1], Parsed::Message(_)));
        assert_eq!(
            all[2],
            Parsed::Skipped {
                line: 3,
                reason: "for another channel `ch-sales`".into()
            }
        );
        // An import with no channel names takes only lines that name none.
        let none: Vec<Parsed> = parse(Cursor::new(mine.into_bytes()), &[]).collect();
        assert!(matches!(none[0], Parsed::Skipped { .. }));
    }

    #[test]
    fn an_agent_name_on_a_customer_message_is_left_out() {
        let line = GOOD.replace("\"text\"", "\"agent\": \"Bob\", \"text\"");
        assert_eq!(message(&records(line.as_bytes())[0]).agent_name, None);
    }

    #[test]
    fn a_read_error_stops_the_file() {
        struct Broken;
        impl io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let all: Vec<Parsed> = parse(BufReader::new(Broken), &[]).collect();
        assert_eq!(
            all,
            [Parsed::Fatal {
                line: 1,
                message: "the file cannot be read further: disk on fire".into()
            }]
        );
    }

    #[test]
    fn two_hundred_thousand_lines_stream_through() {
        const LINES: u64 = 200_000;
        let mut n = 0;
        let file = Generated::new(move || {
            n += 1;
            (n <= LINES).then(|| {
                let author = if n % 2 == 0 { "agent" } else { "customer" };
                format!(
                    "{{\"id\": \"m{n}\", \"customer\": {{\"id\": \"c{}\", \"name\": \"Customer {}\"}}, \
                     \"author\": \"{author}\", \"agent\": \"Agent\", \"at\": \"2024-03-01T10:15:00Z\", \
                     \"text\": \"Message number {n} with some words in it so that the line is not tiny\"}}\n",
                    n % 1000,
                    n % 1000
                )
            })
        });
        let mut messages = 0u64;
        let mut last_line = 0;
        for record in parse(BufReader::new(file), &[]) {
            let Parsed::Message(m) = record else {
                panic!("{record:?}");
            };
            assert_eq!(m.line, last_line + 1);
            last_line = m.line;
            messages += 1;
        }
        assert_eq!(messages, LINES);
    }
}
