//! Telegram Desktop's JSON export (`result.json`): of one chat ("Export
//! chat history") or of all chats ("Export Telegram data"). docs/import.md
//! says what is read and what is left out.
//!
//! The file is walked as it is read, by serde visitors over a reader that
//! counts lines: the top object, then `messages` (one chat) or
//! `chats.list[*].messages` (all chats), one message at a time. Only the
//! message in hand is held, and only the fields casedesk reads; everything
//! else (contacts, sessions, the messages of chats that are not imported)
//! is skipped over without being kept. No single value read whole may be
//! longer than [`MAX_MESSAGE_BYTES`]: the reader refuses to go further,
//! so that a hostile file cannot make the parser hold a gigabyte string.
//!
//! Who is the customer: in a `personal_chat` the chat's `id` is the peer's
//! user id, the same id casedesk's live Telegram channel knows them by;
//! messages `from_id` `user<chat id>` are theirs, all others the company's.
//!
//! A visitor cannot hand a record out of an iterator, so [`read`] gives
//! each record to a callback as soon as it is read; [`parse`] runs [`read`]
//! on a thread of its own, at most [`AHEAD`] records ahead of its reader.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::ops::ControlFlow;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;

use casedesk_domain::Time;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{
    MAX_MESSAGE_BYTES, Parsed, SourceMessage, check_attachment, check_name, check_text, file_name,
    json_error,
};

/// Records [`parse`] reads ahead of its consumer, at most.
pub const AHEAD: usize = 64;

/// The fields of a message casedesk reads; the others are skipped unread.
const MESSAGE_FIELDS: [&str; 22] = [
    "id",
    "type",
    "date",
    "date_unixtime",
    "from",
    "from_id",
    "action",
    "text",
    "text_entities",
    "photo",
    "file",
    "file_name",
    "media_type",
    "sticker_emoji",
    "performer",
    "title",
    "contact_information",
    "location_information",
    "place_name",
    "poll",
    "game_title",
    "invoice_information",
];

/// How far into the top level values the parser does not read (contacts,
/// sessions…) it steps before skipping whole values: deep enough that what
/// it skips whole is one contact or one session, small.
const SKIM_DEPTH: u8 = 3;

/// The records of a Telegram export, read on a thread of their own.
///
/// The thread reads at most [`AHEAD`] records ahead. Dropping the records
/// stops it at its next record (a reader that blocks keeps it until the
/// read returns).
pub fn parse<R: BufRead + Send + 'static>(reader: R) -> Records {
    let (sender, receiver) = mpsc::sync_channel(AHEAD);
    let parser = thread::Builder::new()
        .name("import-telegram".into())
        .spawn(move || {
            read(reader, &mut |record| match sender.send(record) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            });
        });
    match parser {
        Ok(parser) => Records {
            receiver,
            parser: Some(parser),
            line: 1,
            failed: None,
        },
        Err(e) => Records {
            receiver,
            parser: None,
            line: 1,
            failed: Some(Parsed::Fatal {
                line: 1,
                message: format!("the import could not start reading: {e}"),
            }),
        },
    }
}

/// The records of a Telegram export ([`parse`]).
pub struct Records {
    receiver: mpsc::Receiver<Parsed>,
    parser: Option<thread::JoinHandle<()>>,
    /// The line of the last record, for a parser that failed.
    line: u64,
    /// A failure to tell before ending.
    failed: Option<Parsed>,
}

impl Iterator for Records {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        if let Some(failed) = self.failed.take() {
            return Some(failed);
        }
        match self.receiver.recv() {
            Ok(record) => {
                self.line = record.line();
                Some(record)
            }
            // The parser is done, and all it sent has been received.
            Err(mpsc::RecvError) => match self.parser.take()?.join() {
                Ok(()) => None,
                Err(_) => Some(Parsed::Fatal {
                    line: self.line,
                    message: "reading the export failed (a bug in casedesk; the server log \
                              has the details)"
                        .into(),
                }),
            },
        }
    }
}

/// Reads the export from `reader` on the calling thread, giving each record
/// to `each` as soon as it is read; `each` may stop the reading by
/// answering [`ControlFlow::Break`]. A [`Parsed::Fatal`] is the last
/// record given.
pub fn read(reader: impl BufRead, each: &mut dyn FnMut(Parsed) -> ControlFlow<()>) {
    let at = Rc::new(Position::new());
    let mut walk = Walk {
        at: Rc::clone(&at),
        each,
        stopped: false,
    };
    let mut de = serde_json::Deserializer::from_reader(Counting::new(reader, Rc::clone(&at)));
    at.arm();
    let walked = (&mut de)
        .deserialize_map(Export(&mut walk))
        .and_then(|()| de.end());
    if let Err(e) = walked
        && !walk.stopped
    {
        // A value over the limit is reported where it starts; any other
        // error where serde_json stopped.
        let line = match (at.bytes.get() >= at.limit.get(), e.line()) {
            (true, _) => at.limit_line.get(),
            (false, 0) => at.line(),
            (false, line) => line as u64,
        };
        let _ = (walk.each)(fatal(&e, line));
    }
}

/// The record that ends a file that cannot be read further.
fn fatal(e: &serde_json::Error, line: u64) -> Parsed {
    use serde_json::error::Category;
    let message = match e.classify() {
        Category::Io => format!("the file cannot be read further: {}", json_error(e)),
        Category::Eof => "the file ends in the middle of the export (was it cut short?)".into(),
        Category::Syntax => format!("the file is not valid JSON: {}", json_error(e)),
        Category::Data => format!(
            "the file is not a Telegram Desktop export: {}",
            json_error(e)
        ),
    };
    Parsed::Fatal { line, message }
}

/// Where the parser is in the file: shared by the reader that counts and
/// the visitors that ask.
struct Position {
    bytes: Cell<u64>,
    newlines: Cell<u64>,
    /// Reading stops with an error at this many bytes: one value read
    /// whole may be at most [`MAX_MESSAGE_BYTES`] long.
    limit: Cell<u64>,
    /// Where the value under the limit started.
    limit_line: Cell<u64>,
}

impl Position {
    fn new() -> Position {
        Position {
            bytes: Cell::new(0),
            newlines: Cell::new(0),
            limit: Cell::new(u64::MAX),
            limit_line: Cell::new(1),
        }
    }

    /// The line of the last byte read, which is the first byte of the value
    /// a seed is about to read (serde_json has peeked at it).
    fn line(&self) -> u64 {
        self.newlines.get() + 1
    }

    /// The value about to be read may be at most [`MAX_MESSAGE_BYTES`]
    /// long, counting from here.
    fn arm(&self) {
        self.limit
            .set(self.bytes.get().saturating_add(MAX_MESSAGE_BYTES as u64));
        self.limit_line.set(self.line());
    }
}

/// Bytes read from the file at once.
const CHUNK: usize = 64 * 1024;

/// The file as serde_json reads it, a byte at a time, counted: its own
/// chunk of the file, so that counting costs little per byte.
struct Counting<R> {
    inner: R,
    at: Rc<Position>,
    chunk: Box<[u8]>,
    /// The next byte to give in `chunk`, and the end of what it holds.
    next: usize,
    end: usize,
}

impl<R: Read> Counting<R> {
    fn new(inner: R, at: Rc<Position>) -> Counting<R> {
        Counting {
            inner,
            at,
            chunk: vec![0; CHUNK].into_boxed_slice(),
            next: 0,
            end: 0,
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.next == self.end {
            self.end = loop {
                match self.inner.read(&mut self.chunk) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    read => break read?,
                }
            };
            self.next = 0;
            if self.end == 0 {
                return Ok(0);
            }
        }
        let at = &*self.at;
        let bytes = at.bytes.get();
        if bytes >= at.limit.get() {
            return Err(io::Error::other(format!(
                "the value starting on line {} is longer than {MAX_MESSAGE_BYTES} bytes, \
                 more than any message of a Telegram export",
                at.limit_line.get()
            )));
        }
        let byte = self.chunk[self.next];
        self.next += 1;
        at.bytes.set(bytes + 1);
        if byte == b'\n' {
            at.newlines.set(at.newlines.get() + 1);
        }
        out[0] = byte;
        Ok(1)
    }
}

/// The state of one walk through a file.
struct Walk<'e> {
    at: Rc<Position>,
    each: &'e mut dyn FnMut(Parsed) -> ControlFlow<()>,
    /// `each` asked to stop: the walk unwinds through serde as an error
    /// that is not the file's.
    stopped: bool,
}

impl Walk<'_> {
    fn give<E: de::Error>(&mut self, record: Parsed) -> Result<(), E> {
        match (self.each)(record) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => {
                self.stopped = true;
                Err(E::custom("stopped"))
            }
        }
    }
}

/// The next key of a map, read under the limit.
fn next_key<'de, A: MapAccess<'de>>(
    at: &Position,
    map: &mut A,
) -> Result<Option<String>, A::Error> {
    at.arm();
    map.next_key()
}

/// The top object: one chat (`name`, `type`, `id`, `messages`) or all of
/// an account's data (`chats`, `left_chats` and much that is not read).
struct Export<'w, 'e>(&'w mut Walk<'e>);

impl<'de> Visitor<'de> for Export<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with the exported chats")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.0;
        let mut chat = Chat::default();
        let mut found = false;
        while let Some(key) = next_key(&walk.at, &mut map)? {
            match key.as_str() {
                "chats" | "left_chats" => {
                    found = true;
                    map.next_value_seed(ChatList(&mut *walk))?;
                }
                "messages" => {
                    found = true;
                    map.next_value_seed(Messages {
                        walk: &mut *walk,
                        chat: &chat,
                    })?;
                }
                _ => chat.field(&walk.at, &key, &mut map)?,
            }
        }
        if !found {
            return Err(de::Error::custom(
                "it has neither `messages` (one chat) nor `chats` (all chats)",
            ));
        }
        Ok(())
    }
}

/// `chats` or `left_chats` of an export of all chats: `{"about": …,
/// "list": [chat, …]}`.
struct ChatList<'w, 'e>(&'w mut Walk<'e>);

impl<'de> DeserializeSeed<'de> for ChatList<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChatList<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with the `list` of chats")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.0;
        while let Some(key) = next_key(&walk.at, &mut map)? {
            match key.as_str() {
                "list" => map.next_value_seed(Chats(&mut *walk))?,
                _ => map.next_value_seed(Skim {
                    at: &walk.at,
                    depth: SKIM_DEPTH,
                })?,
            }
        }
        Ok(())
    }
}

/// The chats of a `list`, each walked in turn.
struct Chats<'w, 'e>(&'w mut Walk<'e>);

impl<'de> DeserializeSeed<'de> for Chats<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Chats<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of chats")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(OneChat(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// One chat of a `list`.
struct OneChat<'w, 'e>(&'w mut Walk<'e>);

impl<'de> DeserializeSeed<'de> for OneChat<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneChat<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a chat object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.0;
        let mut chat = Chat::default();
        while let Some(key) = next_key(&walk.at, &mut map)? {
            match key.as_str() {
                "messages" => map.next_value_seed(Messages {
                    walk: &mut *walk,
                    chat: &chat,
                })?,
                _ => chat.field(&walk.at, &key, &mut map)?,
            }
        }
        Ok(())
    }
}

/// What is known of a chat before its messages: Telegram writes `name`,
/// `type` and `id` first.
#[derive(Default)]
struct Chat {
    name: Option<Value>,
    kind: Option<Value>,
    id: Option<Value>,
}

/// What becomes of a chat's messages.
enum Plan {
    /// Read, one by one.
    Import(Personal),
    /// Left out, with the reason.
    Skip(String),
    /// Cannot be read: the chat says too little of itself.
    Unreadable(String),
}

impl Chat {
    /// Reads one field of the chat's own: `name`, `type` and `id` are kept,
    /// the others skipped.
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        at: &Position,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let slot = match key {
            "name" => &mut self.name,
            "type" => &mut self.kind,
            "id" => &mut self.id,
            _ => {
                return map.next_value_seed(Skim {
                    at,
                    depth: SKIM_DEPTH,
                });
            }
        };
        at.arm();
        *slot = Some(map.next_value()?);
        Ok(())
    }

    fn plan(&self) -> Plan {
        let name = self.name.as_ref().and_then(Value::as_str);
        let called = match name {
            Some(name) => format!("{:?}", name.chars().take(80).collect::<String>()),
            None => "a chat without a name".into(),
        };
        let kind = match &self.kind {
            Some(Value::String(kind)) => kind.as_str(),
            Some(_) => return Plan::Unreadable("the chat's `type` is not a string".into()),
            None => return Plan::Unreadable("the chat has no `type` before its messages".into()),
        };
        let what = match kind {
            "personal_chat" => return self.personal(name),
            "saved_messages" => {
                return Plan::Skip("the exporting account's saved messages".into());
            }
            "bot_chat" => "a chat with a bot",
            "private_group" | "private_supergroup" | "public_supergroup" => "a group",
            "private_channel" | "public_channel" => "a channel",
            "replies" => "the replies of channel comments",
            _ => "not a chat casedesk knows",
        };
        let kind: String = kind.chars().take(40).collect();
        Plan::Skip(format!(
            "{called} is {what} (`{kind}`), not a personal chat with a customer"
        ))
    }

    fn personal(&self, name: Option<&str>) -> Plan {
        let chat_id = match self.id.as_ref().map(Value::as_i64) {
            Some(Some(id)) if id > 0 => id,
            Some(_) => {
                return Plan::Unreadable("the chat's `id` is not a user id".into());
            }
            None => return Plan::Unreadable("the chat has no `id` before its messages".into()),
        };
        match check_name("name", name) {
            Ok(customer_name) => Plan::Import(Personal {
                chat_id,
                customer_name,
            }),
            Err(e) => Plan::Unreadable(format!("the chat's {e}")),
        }
    }
}

/// A chat's `messages`: read one by one, or counted and left out.
struct Messages<'w, 'e, 'c> {
    walk: &'w mut Walk<'e>,
    chat: &'c Chat,
}

impl<'de> DeserializeSeed<'de> for Messages<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Messages<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let walk = self.walk;
        // A chat left out is reported where its list starts: in file
        // order, whatever else the chat holds.
        let line = walk.at.line();
        let (left_out, count) = match self.chat.plan() {
            Plan::Import(chat) => {
                while let Some((line, raw)) = seq.next_element_seed(OneMessage(&walk.at))? {
                    walk.give(chat.record(line, raw))?;
                }
                return Ok(());
            }
            Plan::Skip(reason) => (Ok(reason), count(&walk.at, &mut seq)?),
            Plan::Unreadable(message) => (Err(message), count(&walk.at, &mut seq)?),
        };
        if count == 0 {
            return Ok(());
        }
        let messages = match count {
            1 => "1 message".to_owned(),
            n => format!("{n} messages"),
        };
        walk.give(match left_out {
            Ok(reason) => Parsed::Skipped {
                line,
                reason: format!("{reason}: {messages} left out"),
            },
            Err(message) => Parsed::Error {
                line,
                message: format!("{message}: {messages} not read"),
            },
        })
    }
}

/// Skips the rest of a list, counting its elements.
fn count<'de, A: SeqAccess<'de>>(at: &Position, seq: &mut A) -> Result<u64, A::Error> {
    let mut n = 0;
    while seq.next_element_seed(Skim { at, depth: 0 })?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// A message as read: the fields casedesk reads, or what else stood in
/// its place in the list.
enum Raw {
    Object(Map<String, Value>),
    Not(&'static str),
}

/// One element of a `messages` list, with the line it starts on.
struct OneMessage<'p>(&'p Position);

impl<'de> DeserializeSeed<'de> for OneMessage<'_> {
    type Value = (u64, Raw);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(u64, Raw), D::Error> {
        self.0.arm();
        let line = self.0.line();
        Ok((line, d.deserialize_any(RawVisitor)?))
    }
}

/// Any JSON value; an object keeps only [`MESSAGE_FIELDS`], so that a
/// message that does not fit is an error for it alone and unknown fields
/// cost nothing.
struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if MESSAGE_FIELDS.contains(&key.as_str()) {
                fields.insert(key, map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Raw::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Raw::Not("an array"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Raw, E> {
        Ok(Raw::Not("a string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Raw, E> {
        Ok(Raw::Not("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Raw, E> {
        Ok(Raw::Not("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Raw, E> {
        Ok(Raw::Not("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Raw, E> {
        Ok(Raw::Not("a number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Not("null"))
    }
}

/// A value that is not read: skipped without being kept. Its lists and
/// objects are stepped into `depth` levels, so that what is skipped whole
/// under the limit is one small element (a contact, a message of a chat
/// left out), however long the list.
struct Skim<'p> {
    at: &'p Position,
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for Skim<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.at.arm();
        match self.depth {
            0 => d.deserialize_ignored_any(IgnoredAny).map(|_| ()),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Skim<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Skim {
                at: self.at,
                depth: self.depth - 1,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map
            .next_key_seed(Skim {
                at: self.at,
                depth: 0,
            })?
            .is_some()
        {
            map.next_value_seed(Skim {
                at: self.at,
                depth: self.depth - 1,
            })?;
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A personal chat whose messages are imported.
struct Personal {
    chat_id: i64,
    customer_name: Option<String>,
}

impl Personal {
    /// The record of one message of the chat.
    fn record(&self, line: u64, raw: Raw) -> Parsed {
        let fields = match raw {
            Raw::Object(fields) => fields,
            Raw::Not(what) => {
                return Parsed::Error {
                    line,
                    message: format!("a message must be a JSON object, not {what}"),
                };
            }
        };
        match self.message(line, &fields) {
            Ok(record) => record,
            Err(message) => Parsed::Error { line, message },
        }
    }

    fn message(&self, line: u64, fields: &Map<String, Value>) -> Result<Parsed, String> {
        let skipped = |reason: String| Ok(Parsed::Skipped { line, reason });
        let id = match fields.get("id") {
            Some(id) => id
                .as_i64()
                .ok_or("the message's `id` is not a whole number")?,
            None => return Err("the message has no `id`".into()),
        };
        match string(fields, "type", id)? {
            Some("message") => {}
            Some("service") => {
                let action = string(fields, "action", id).ok().flatten();
                let action: String = action.unwrap_or("unknown").chars().take(40).collect();
                return skipped(format!("message {id} is a service message ({action})"));
            }
            Some("unsupported") => {
                return skipped(format!(
                    "message {id} is of a kind Telegram Desktop could not export"
                ));
            }
            Some(other) => {
                let other: String = other.chars().take(40).collect();
                return skipped(format!("message {id} is a `{other}`, not a message"));
            }
            None => return Err(format!("message {id} has no `type`")),
        }

        let at = time(fields, id)?;
        let from_id = string(fields, "from_id", id)?
            .ok_or_else(|| format!("message {id} has no `from_id`: its author is unknown"))?;
        let from_customer = from_id == format!("user{}", self.chat_id);
        let agent_name = match from_customer {
            true => None,
            false => check_name("from", string(fields, "from", id)?)
                .map_err(|e| format!("message {id}: {e}"))?,
        };

        let attachment = ["photo", "file"]
            .into_iter()
            .filter_map(|field| string(fields, field, id).transpose())
            .next()
            .transpose()?
            .filter(|path| !not_included(path))
            .map(|path| check_attachment("file", path))
            .transpose()
            .map_err(|e| format!("message {id}: {e}"))?;
        let text = match text(fields, id)? {
            text if !text.trim().is_empty() => text,
            _ => match describe(fields) {
                Some(description) => description,
                None => {
                    return skipped(format!(
                        "message {id} has no text and nothing casedesk can show in its place"
                    ));
                }
            },
        };
        let text = check_text("text", text).map_err(|e| format!("message {id}: {e}"))?;

        Ok(Parsed::Message(SourceMessage {
            line,
            source_id: format!("tg:{}:{id}", self.chat_id),
            customer_id: self.chat_id.to_string(),
            customer_name: self.customer_name.clone(),
            from_customer,
            agent_name,
            at,
            text,
            attachment,
        }))
    }
}

/// The string field `name` of message `id`; absent or `null` is `None`.
fn string<'a>(
    fields: &'a Map<String, Value>,
    name: &str,
    id: i64,
) -> Result<Option<&'a str>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("message {id}: `{name}` is not a string")),
    }
}

/// When the message was sent: `date_unixtime` (Unix seconds, as text),
/// else `date`, the exporting computer's local time without a zone, taken
/// as UTC.
fn time(fields: &Map<String, Value>, id: i64) -> Result<Time, String> {
    let seconds = match fields.get("date_unixtime") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.parse::<i64>().ok()),
        Some(Value::Number(n)) => Some(n.as_i64()),
        Some(_) => Some(None),
    };
    match seconds {
        Some(Some(seconds)) => chrono::DateTime::from_timestamp(seconds, 0)
            .ok_or_else(|| format!("message {id}: `date_unixtime` is out of range")),
        Some(None) => Err(format!(
            "message {id}: `date_unixtime` is not a number of seconds"
        )),
        None => match string(fields, "date", id)? {
            Some(date) => chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S")
                .map(|local| local.and_utc())
                .map_err(|_| {
                    format!("message {id}: `date` is not a time such as 2024-03-01T10:15:00")
                }),
            None => Err(format!("message {id} has no `date_unixtime` and no `date`")),
        },
    }
}

/// The message's text as plain text: `text` is a string, or a list of
/// strings and entities (`{"type": "bold", "text": "…"}`) whose texts make
/// it up; without `text`, `text_entities` (a list of entities) is read.
fn text(fields: &Map<String, Value>, id: i64) -> Result<String, String> {
    let (field, value) = match (fields.get("text"), fields.get("text_entities")) {
        (Some(text), _) => ("text", text),
        (None, Some(entities)) => ("text_entities", entities),
        (None, None) => return Ok(String::new()),
    };
    let bad = || format!("message {id}: `{field}` is neither text nor a list of text parts");
    match value {
        Value::Null => Ok(String::new()),
        Value::String(text) => Ok(text.clone()),
        Value::Array(parts) => {
            let mut text = String::new();
            for part in parts {
                match part {
                    Value::String(s) => text.push_str(s),
                    Value::Object(entity) => match entity.get("text") {
                        Some(Value::String(s)) => text.push_str(s),
                        _ => return Err(bad()),
                    },
                    _ => return Err(bad()),
                }
            }
            Ok(text)
        }
        _ => Err(bad()),
    }
}

/// A file Telegram Desktop did not save: the export says why in place of
/// its path, "(File not included. Change data exporting settings to
/// download.)".
fn not_included(path: &str) -> bool {
    path.starts_with('(')
}

/// A short description of a message's media, for a message without text.
fn describe(fields: &Map<String, Value>) -> Option<String> {
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let named = |what: &str, name: Option<&str>| match name {
        Some(name) => format!("[{what} {name}]"),
        None => format!("[{what}]"),
    };
    if fields.contains_key("photo") {
        return Some("[photo]".into());
    }
    match text("media_type") {
        Some("sticker") => return Some(named("sticker", text("sticker_emoji"))),
        Some("voice_message") => return Some("[voice message]".into()),
        Some("video_message") => return Some("[video message]".into()),
        Some("video_file") => return Some("[video]".into()),
        Some("animation") => return Some("[GIF]".into()),
        Some("audio_file") => {
            let song = match (text("performer"), text("title")) {
                (Some(performer), Some(title)) => Some(format!("{performer} – {title}")),
                (performer, title) => performer.or(title).map(str::to_owned),
            };
            return Some(named("audio", song.as_deref()));
        }
        _ => {}
    }
    if let Some(file) = text("file") {
        let name = text("file_name").or((!not_included(file)).then(|| file_name(file)));
        return Some(named("file", name));
    }
    if let Some(Value::Object(contact)) = fields.get("contact_information") {
        let name: Vec<&str> = ["first_name", "last_name"]
            .iter()
            .filter_map(|part| contact.get(*part).and_then(Value::as_str))
            .filter(|part| !part.trim().is_empty())
            .collect();
        let name = name.join(" ");
        return Some(named(
            "contact",
            Some(name.as_str()).filter(|n| !n.is_empty()),
        ));
    }
    if let Some(place) = text("place_name") {
        return Some(named("place", Some(place)));
    }
    if fields.contains_key("location_information") {
        return Some("[location]".into());
    }
    if let Some(Value::Object(poll)) = fields.get("poll") {
        let question = poll.get("question").and_then(Value::as_str).map(str::trim);
        return Some(named("poll", question.filter(|q| !q.is_empty())));
    }
    if let Some(game) = text("game_title") {
        return Some(named("game", Some(game)));
    }
    if fields.contains_key("invoice_information") {
        return Some("[invoice]".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::import::tests::Generated;

    const RU: &str = include_str!("samples/telegram-chat-ru.json");
    const EN: &str = include_str!("samples/telegram-all-en.json");

    fn records(file: &str) -> Vec<Parsed> {
        let mut all = Vec::new();
        read(Cursor::new(file.as_bytes()), &mut |record| {
            all.push(record);
            ControlFlow::Continue(())
        });
        all
    }

    fn messages(all: &[Parsed]) -> Vec<&SourceMessage> {
        all.iter()
            .filter_map(|r| match r {
                Parsed::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    fn skipped(all: &[Parsed]) -> Vec<(u64, &str)> {
        all.iter()
            .filter_map(|r| match r {
                Parsed::Skipped { line, reason } => Some((*line, reason.as_str())),
                _ => None,
            })
            .collect()
    }

    fn by_id<'a>(all: &'a [Parsed], source_id: &str) -> &'a SourceMessage {
        messages(all)
            .into_iter()
            .find(|m| m.source_id == source_id)
            .unwrap_or_else(|| panic!("no message {source_id}"))
    }

    fn utc(rfc3339: &str) -> Time {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .to_utc()
    }

    /// One personal chat of customer 7 with `messages` (JSON objects).
    fn chat(messages: &str) -> String {
        format!(r#"{{"name": "Ann", "type": "personal_chat", "id": 7, "messages": [{messages}]}}"#)
    }

    const HELLO: &str = r#"{"id": 1, "type": "message", "date": "2024-03-01T10:15:00",
        "date_unixtime": "1709288100", "from": "Ann", "from_id": "user7", "text": "hello"}"#;

    #[test]
    fn a_russian_personal_chat() {
        let all = records(RU);
        assert_eq!(all.len(), 24);
        let messages = messages(&all);
        assert_eq!(messages.len(), 22);
        assert!(
            !all.iter()
                .any(|r| matches!(r, Parsed::Error { .. } | Parsed::Fatal { .. }))
        );
        assert_eq!(
            skipped(&all),
            [
                (121, "message 107 is a service message (phone_call)"),
                (182, "message 111 is a service message (pin_message)"),
            ]
        );
        assert!(messages.iter().all(|m| m.customer_id == "5012345678"
            && m.customer_name.as_deref() == Some("Анна Смирнова")));
        assert_eq!(
            messages.iter().filter(|m| m.from_customer).count(),
            13,
            "the customer's messages are those from user<chat id>"
        );

        assert_eq!(
            by_id(&all, "tg:5012345678:101"),
            &SourceMessage {
                line: 6,
                source_id: "tg:5012345678:101".into(),
                customer_id: "5012345678".into(),
                customer_name: Some("Анна Смирнова".into()),
                from_customer: true,
                agent_name: None,
                // date_unixtime, not the Moscow local `date` (10:15).
                at: utc("2024-03-01T07:15:00Z"),
                text: "Здравствуйте! Заказ №1042 до сих пор не пришёл 😟".into(),
                attachment: None,
            }
        );
        let agent = by_id(&all, "tg:5012345678:103");
        assert!(!agent.from_customer);
        assert_eq!(agent.agent_name.as_deref(), Some("Пчёлка | Поддержка"));
        assert_eq!(
            agent.text,
            "Посылка в пути, трек-номер: RA123456789RU. Отследить можно здесь: \
             https://www.pochta.ru/tracking"
        );
        let photo = by_id(&all, "tg:5012345678:104");
        assert_eq!((photo.line, photo.text.as_str()), (74, "[photo]"));
        assert_eq!(
            photo.attachment.as_deref(),
            Some("photos/photo_1@01-03-2024_10-21-40.jpg")
        );
        assert_eq!(
            by_id(&all, "tg:5012345678:105").text,
            "Спасибо! А когда примерно доставят?",
            "a reply is a plain message"
        );
        let edited = by_id(&all, "tg:5012345678:106");
        assert_eq!(
            edited.text,
            "Ориентировочно 5 марта. Если не придёт — напишите, разберёмся."
        );
        assert_eq!(
            edited.at,
            utc("2024-03-01T07:25:00Z"),
            "sent, not edited, at"
        );
        assert_eq!(by_id(&all, "tg:5012345678:108").text, "[voice message]");
        assert_eq!(
            by_id(&all, "tg:5012345678:109").text,
            "Записала:\n1. Адрес: г. Казань, ул. Баумана, д. 7\n2. Получатель: Смирнова А.\nВсё верно?"
        );
        let sticker = by_id(&all, "tg:5012345678:110");
        assert_eq!(sticker.text, "[sticker 👍]");
        assert_eq!(sticker.attachment.as_deref(), Some("stickers/sticker.webp"));
        assert_eq!(
            by_id(&all, "tg:5012345678:112").text,
            "Посылка пришла, но коробка помята 😢"
        );
        let caption = by_id(&all, "tg:5012345678:113");
        assert_eq!(caption.text, "Вот фото коробки");
        assert!(caption.attachment.is_some());
        let file = by_id(&all, "tg:5012345678:116");
        assert_eq!(file.text, "Заполните, пожалуйста, заявление");
        assert_eq!(
            file.attachment.as_deref(),
            Some("files/Заявление_на_обмен.pdf")
        );
        assert_eq!(
            by_id(&all, "tg:5012345678:117").text,
            "[file scan_0001.pdf]"
        );
        assert_eq!(by_id(&all, "tg:5012345678:118").text, "[video]");
        let not_included = by_id(&all, "tg:5012345678:120");
        assert_eq!(not_included.text, "[photo]");
        assert_eq!(not_included.attachment, None, "no path was exported");
        assert_eq!(by_id(&all, "tg:5012345678:121").text, "🙏🙏🙏");
        assert_eq!(
            by_id(&all, "tg:5012345678:122").text,
            "Подробнее об обмене: правила"
        );
        assert_eq!(by_id(&all, "tg:5012345678:123").text, "[video message]");
        let last = by_id(&all, "tg:5012345678:124");
        assert_eq!(last.line, 416);
        assert_eq!(last.at, utc("2024-03-07T11:05:00Z"));
    }

    #[test]
    fn an_english_export_of_all_chats() {
        let all = records(EN);
        assert!(
            !all.iter()
                .any(|r| matches!(r, Parsed::Error { .. } | Parsed::Fatal { .. })),
            "{all:?}"
        );
        let messages = messages(&all);
        assert_eq!(messages.len(), 17);
        assert_eq!(
            skipped(&all),
            [
                (
                    83,
                    "the exporting account's saved messages: 2 messages left out"
                ),
                (233, "message 2007 is a service message (phone_call)"),
                (357, "message 3005 is a service message (pin_message)"),
                (
                    501,
                    "\"ParcelTrackerBot\" is a chat with a bot (`bot_chat`), not a personal \
                     chat with a customer: 3 messages left out"
                ),
                (
                    560,
                    "\"Brightside team\" is a group (`private_supergroup`), not a personal \
                     chat with a customer: 4 messages left out"
                ),
                (
                    627,
                    "\"Brightside News\" is a channel (`public_channel`), not a personal \
                     chat with a customer: 3 messages left out"
                ),
                (
                    696,
                    "\"Beta testers\" is a group (`private_supergroup`), not a personal \
                     chat with a customer: 2 messages left out"
                ),
            ]
        );
        let mut customers: Vec<(&str, &str)> = messages
            .iter()
            .map(|m| (m.customer_id.as_str(), m.customer_name.as_deref().unwrap()))
            .collect();
        customers.dedup();
        assert_eq!(
            customers,
            [
                ("6123456789", "Emma Clarke"),
                ("6234567890", "Liam O'Brien"),
                ("6345678901", "Sofia García"),
            ]
        );
        let first = by_id(&all, "tg:6123456789:2001");
        assert_eq!(first.line, 131);
        assert!(first.from_customer);
        // London summer time: 09:12 local is 08:12 UTC.
        assert_eq!(first.at, utc("2024-04-02T08:12:00Z"));
        let reply = by_id(&all, "tg:6123456789:2002");
        assert!(!reply.from_customer);
        assert_eq!(reply.agent_name.as_deref(), Some("Brightside Support"));
        assert_eq!(
            by_id(&all, "tg:6123456789:2004").text,
            "Thanks! I've started a free exchange. Your return label: \
             https://brightside.example/r/5531"
        );
        assert_eq!(
            by_id(&all, "tg:6123456789:2005").text,
            "Great, thank you! Will the courier pick it up from my door?"
        );
        assert_eq!(by_id(&all, "tg:6123456789:2008").text, "[sticker 😀]");
        assert_eq!(
            by_id(&all, "tg:6234567890:3001").text,
            "Hello,\nmy invoice shows VAT twice:\n- line 1: £12.50\n- line 2: £12.50\nCan you check?"
        );
        let invoice = by_id(&all, "tg:6234567890:3002");
        assert_eq!(invoice.text, "[file invoice_8812.pdf]");
        assert_eq!(
            invoice.attachment.as_deref(),
            Some("files/invoice_8812.pdf")
        );
        assert_eq!(
            by_id(&all, "tg:6234567890:3003").text,
            "You're right, that's our mistake. A refund of £12.50 is on its way (3–5 working days)."
        );
        assert_eq!(by_id(&all, "tg:6234567890:3004").text, "[voice message]");
        assert_eq!(
            by_id(&all, "tg:6345678901:4002").text,
            "We do! See our shipping page — delivery takes 3–5 days."
        );
        assert_eq!(by_id(&all, "tg:6345678901:4003").text, "[location]");
        assert_eq!(
            by_id(&all, "tg:6345678901:4004").text,
            "This is the package I mean"
        );
        assert_eq!(by_id(&all, "tg:6345678901:4005").text, "[GIF]");
    }

    #[test]
    fn the_thread_gives_what_the_callback_gives() {
        for file in [RU, EN, &RU[..RU.len() / 2]] {
            let threaded: Vec<Parsed> = parse(Cursor::new(file.as_bytes().to_vec())).collect();
            assert_eq!(threaded, records(file));
        }
    }

    #[test]
    fn a_message_that_does_not_fit_is_an_error_and_the_next_is_read() {
        let file = chat(&format!(
            r#"{{"id": 2, "type": "message", "date_unixtime": "soon", "from_id": "user7", "text": "a"}},
{{"id": "three", "type": "message"}},
42,
{{"id": 4, "type": "message", "date_unixtime": "1709288100", "from_id": "user7",
  "text": [{{"type": "bold"}}]}},
{{"id": 5, "type": "message", "date_unixtime": "1709288100", "text": "who?"}},
{{"id": 6, "type": "message", "date_unixtime": "1709288100", "from_id": 7, "text": "a"}},
{{"id": 7, "type": "message", "date_unixtime": "1709288100", "from_id": "user7",
  "text": "nul \u0000"}},
{{"id": 8, "type": "message", "from_id": "user7", "text": "when?"}},
{{"id": 9, "type": "message", "date_unixtime": "1709288100", "from_id": "user7",
  "text": "{}"}},
{{"id": 10, "type": "message", "date_unixtime": "1709288100", "from_id": "user7", "text": ""}},
{HELLO}"#,
            "x".repeat(crate::import::MAX_TEXT_CHARS + 1)
        ));
        let all = records(&file);
        let errors: Vec<(u64, &str)> = all
            .iter()
            .filter_map(|r| match r {
                Parsed::Error { line, message } => Some((*line, message.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            errors,
            [
                (1, "message 2: `date_unixtime` is not a number of seconds"),
                (2, "the message's `id` is not a whole number"),
                (3, "a message must be a JSON object, not a number"),
                (
                    4,
                    "message 4: `text` is neither text nor a list of text parts"
                ),
                (6, "message 5 has no `from_id`: its author is unknown"),
                (7, "message 6: `from_id` is not a string"),
                (8, "message 7: `text` holds a NUL character"),
                (10, "message 8 has no `date_unixtime` and no `date`"),
                (
                    11,
                    "message 9: `text` is 20001 characters long; a message may have at most 20000"
                ),
            ]
        );
        assert_eq!(
            skipped(&all),
            [(
                13,
                "message 10 has no text and nothing casedesk can show in its place"
            )]
        );
        let last = messages(&all);
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].source_id, "tg:7:1");
        assert_eq!(last[0].line, 14);
    }

    #[test]
    fn without_date_unixtime_the_date_is_taken_as_utc() {
        let file = chat(
            r#"{"id": 1, "type": "message", "date": "2019-05-01T23:59:30", "from": "Shop",
            "from_id": "user99", "text": "old", "reactions": [{"emoji": "👍", "count": 1}],
            "inline_bot_buttons": [[{"type": "url", "text": "Open"}]], "new_field": {"a": [1]}}"#,
        );
        let all = records(&file);
        let m = messages(&all)[0];
        assert_eq!(m.at, utc("2019-05-01T23:59:30Z"));
        assert!(
            !m.from_customer,
            "unknown fields are ignored, the rest read"
        );
        assert_eq!(m.agent_name.as_deref(), Some("Shop"));
    }

    #[test]
    fn media_without_text_is_described() {
        let cases = [
            (r#""photo": "photos/p.jpg""#, "[photo]"),
            (r#""file": "x.webp", "media_type": "sticker""#, "[sticker]"),
            (
                r#""file": "a.mp3", "media_type": "audio_file", "performer": "Queen", "title": "Bohemian Rhapsody""#,
                "[audio Queen – Bohemian Rhapsody]",
            ),
            (
                r#""file": "(File not included. Change data exporting settings to download.)", "mime_type": "application/zip""#,
                "[file]",
            ),
            (
                r#""contact_information": {"first_name": "Ann", "last_name": "", "phone_number": "+1"}"#,
                "[contact Ann]",
            ),
            (
                r#""place_name": "Cafe", "location_information": {"latitude": 1, "longitude": 2}"#,
                "[place Cafe]",
            ),
            (
                r#""poll": {"question": "Tea or coffee?", "closed": false, "answers": []}"#,
                "[poll Tea or coffee?]",
            ),
            (r#""game_title": "Lumberjack""#, "[game Lumberjack]"),
            (r#""invoice_information": {"title": "Order"}"#, "[invoice]"),
        ];
        for (media, expected) in cases {
            let file = chat(&format!(
                r#"{{"id": 1, "type": "message", "date_unixtime": "1709288100", "from_id": "user7",
                "text": "", "text_entities": [], {media}}}"#
            ));
            let all = records(&file);
            assert_eq!(messages(&all)[0].text, expected, "{media}");
        }
    }

    #[test]
    fn a_chat_that_says_too_little_of_itself_is_an_error() {
        let untyped = format!(r#"{{"id": 7, "messages": [{HELLO}, {HELLO}]}}"#);
        assert_eq!(
            records(&untyped),
            [Parsed::Error {
                line: 1,
                message: "the chat has no `type` before its messages: 2 messages not read".into()
            }]
        );
        let group_id = format!(r#"{{"type": "personal_chat", "id": "7", "messages": [{HELLO}]}}"#);
        assert_eq!(
            records(&group_id),
            [Parsed::Error {
                line: 1,
                message: "the chat's `id` is not a user id: 1 message not read".into()
            }]
        );
        // An empty chat left out says nothing.
        assert_eq!(
            records(r#"{"type": "private_group", "id": 3, "messages": []}"#),
            []
        );
    }

    #[test]
    fn a_truncated_export_ends_in_fatal_after_what_was_read() {
        let cut = &RU[..RU.find("\"id\": 110,").unwrap() + 20];
        let all = records(cut);
        let (last, read) = all.split_last().unwrap();
        assert!(
            matches!(
                last,
                Parsed::Fatal { line: 166, message }
                    if message == "the file ends in the middle of the export (was it cut short?)"
            ),
            "{last:?}"
        );
        assert_eq!(messages(read).len(), 8, "messages 101–109 but the call");
        assert_eq!(skipped(read).len(), 1);
    }

    #[test]
    fn a_file_that_is_no_export_is_fatal() {
        let fatal = |file: &[u8]| {
            let mut all = Vec::new();
            read(Cursor::new(file), &mut |r| {
                all.push(r);
                ControlFlow::Continue(())
            });
            match &all[..] {
                [Parsed::Fatal { line, message }] => (*line, message.clone()),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            fatal(b""),
            (
                1,
                "the file ends in the middle of the export (was it cut short?)".into()
            )
        );
        assert_eq!(
            fatal(b"hello"),
            (1, "the file is not valid JSON: expected value".into())
        );
        assert_eq!(
            fatal(b"[1, 2]"),
            (
                1,
                "the file is not a Telegram Desktop export: invalid type: sequence, \
                 expected a JSON object with the exported chats"
                    .into()
            )
        );
        assert_eq!(
            fatal(b"{\"about\": \"x\",\n \"contacts\": {\"list\": []}}"),
            (
                2,
                "the file is not a Telegram Desktop export: it has neither `messages` \
                 (one chat) nor `chats` (all chats)"
                    .into()
            )
        );
        assert_eq!(
            fatal(b"{\"name\": \"caf\xE9\"}").1,
            "the file is not valid JSON: invalid unicode code point"
        );
        let trailing = format!("{}\n{{}}", chat(""));
        assert_eq!(
            fatal(trailing.as_bytes()),
            (2, "the file is not valid JSON: trailing characters".into())
        );
    }

    #[test]
    fn a_value_over_the_limit_stops_the_reading() {
        let huge = format!(
            "{},\n{}",
            HELLO,
            HELLO.replace("hello", &"x".repeat(MAX_MESSAGE_BYTES))
        );
        let all = records(&chat(&huge));
        assert!(matches!(&all[0], Parsed::Message(m) if m.line == 1));
        assert_eq!(
            all[1],
            Parsed::Fatal {
                line: 3,
                message: format!(
                    "the file cannot be read further: the value starting on line 3 is longer \
                     than {MAX_MESSAGE_BYTES} bytes, more than any message of a Telegram export"
                )
            }
        );
        // Values left out are skipped piece by piece: a long contact list
        // is no long value.
        let contacts: Vec<String> = (0..30_000)
            .map(|i| format!(r#"{{"user_id": {i}, "first_name": "Contact number {i}"}}"#))
            .collect();
        let file = format!(
            r#"{{"contacts": {{"about": "", "list": [{}]}}, "chats": {{"list": [{}]}}}}"#,
            contacts.join(","),
            chat(HELLO)
        );
        assert!(file.len() > MAX_MESSAGE_BYTES);
        assert!(matches!(&records(&file)[..], [Parsed::Message(_)]));
    }

    #[test]
    fn the_consumer_may_stop_the_reading() {
        let mut seen = 0;
        read(Cursor::new(RU.as_bytes()), &mut |_| {
            seen += 1;
            match seen {
                3 => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        });
        assert_eq!(seen, 3, "nothing after the break, not even a Fatal");
    }

    /// Messages of a personal chat with customer 42, made as they are read.
    fn generated_export(messages: u64, dropped: Arc<AtomicBool>) -> impl BufRead + Send + 'static {
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Flag(dropped);
        let mut n = 0;
        BufReader::new(Generated::new(move || {
            let _ = &flag;
            n += 1;
            match n {
                1 => Some("{\n \"name\": \"Big Customer\",\n \"type\": \"personal_chat\",\n \"id\": 42,\n \"messages\": [".into()),
                n if n <= messages + 1 => {
                    let id = n - 1;
                    let (from, from_id) = match id % 3 {
                        0 => ("Support", "user1"),
                        _ => ("Big Customer", "user42"),
                    };
                    Some(format!(
                        "{}\n  {{\n   \"id\": {id},\n   \"type\": \"message\",\n   \"date\": \"2024-03-01T10:15:00\",\n   \"date_unixtime\": \"{}\",\n   \"from\": \"{from}\",\n   \"from_id\": \"{from_id}\",\n   \"text\": [\"Message \", {{\"type\": \"bold\", \"text\": \"{id}\"}}]\n  }}",
                        if id == 1 { "" } else { "," },
                        1_709_288_100 + id
                    ))
                }
                n if n == messages + 2 => Some("\n ]\n}\n".into()),
                _ => None,
            }
        }))
    }

    #[test]
    fn a_hundred_thousand_messages_stream_through() {
        const MESSAGES: u64 = 100_000;
        let dropped = Arc::new(AtomicBool::new(false));
        let mut count = 0u64;
        for record in parse(generated_export(MESSAGES, Arc::clone(&dropped))) {
            let Parsed::Message(m) = record else {
                panic!("{record:?}");
            };
            count += 1;
            // The chat's header is 5 lines, each message 9.
            assert_eq!(m.line, 6 + (count - 1) * 9);
            assert_eq!(m.text, format!("Message {count}"));
            assert_eq!(m.from_customer, !count.is_multiple_of(3));
        }
        assert_eq!(count, MESSAGES);
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[test]
    fn dropping_the_records_stops_the_parser() {
        let dropped = Arc::new(AtomicBool::new(false));
        let mut records = parse(generated_export(u64::MAX - 2, Arc::clone(&dropped)));
        assert!(matches!(records.next(), Some(Parsed::Message(_))));
        drop(records);
        let start = Instant::now();
        while !dropped.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the parser thread still reads"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}
