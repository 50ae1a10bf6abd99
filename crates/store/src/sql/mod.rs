//! The queries of casedesk, written once for every SQL backend.
//!
//! A backend implements [`Sql`]: run a statement with [`Value`] arguments,
//! return [`Row`]s of typed cells, and the little that truly differs between
//! databases (its [`Dialect`]'s locking and sequence, the statistics queries
//! whose plans differ, bulk seeding). Every [`Tx`](crate::Tx) query is then
//! implemented here, once, over those primitives: one SQL text with `$1`
//! placeholders, one record codec ([`codec`]). A rule never lives in SQL:
//! the folded search columns and label keys are written by Rust (the
//! domain's [`fold`](casedesk_domain::search::fold)), so both databases run
//! the same plain comparison.

mod accounts;
mod cases;
mod catalog;
mod channels;
pub mod codec;
mod imports;
mod limits;
mod live;
mod memo;
mod messages;
mod messenger;
mod reports;
mod schedule;

use std::sync::Arc;

use casedesk_domain::Time;
use casedesk_domain::search::fold;
use casedesk_domain::stats::StatsInput;

use crate::{SeedBatch, StatsQuery, StoreError};

pub use memo::Memo;
pub use reports::seed_rows;

type R<T> = Result<T, StoreError>;

/// The SQL a backend speaks where databases differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// One writer thread runs every write job: rows need no locks.
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Locks the selected rows until the end of the unit of work.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Whether rows are locked at all: SQLite's one writer needs no locks.
    pub fn locks_rows(self) -> bool {
        self == Dialect::Postgres
    }

    /// The collation that orders text by its bytes, as Rust's `str`
    /// comparison does: the order in which units of work lock many
    /// customers ([`customer_lock_order`]).
    pub fn byte_order(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " COLLATE \"C\"",
        }
    }

    /// Locks the selected rows and skips those another unit of work holds:
    /// what lets several servers claim due work from one database.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// The statement that takes the next message sequence number. SQLite's
    /// single writer can count; PostgreSQL's concurrent writers need a
    /// sequence.
    /// The next `$1` message sequence numbers, as rows of `seq`. SQLite's
    /// one writer counts on from the largest stored (one row, the first,
    /// and no parameter); PostgreSQL takes `$1` values of its sequence.
    fn next_message_seqs(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM messages",
            Dialect::Postgres => {
                "SELECT nextval('message_seq') AS seq FROM generate_series(1, $1::int8)"
            }
        }
    }

    /// The next `$2` case numbers of account `$1`, as rows of `number`.
    /// SQLite's single writer counts on the account's row, without gaps
    /// (one row: the first of `$2` in a row, the caller counts on).
    /// PostgreSQL takes them from the account's own sequence
    /// (`case_number_<account id>`, migration 0018): concurrent units of
    /// work never wait for each other's commit to number their cases, and
    /// a unit of work that fails after taking a number leaves a gap (a
    /// sequence is not rolled back).
    fn next_case_numbers(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "UPDATE accounts SET next_case_number = next_case_number + $2 WHERE id = $1 \
                 RETURNING next_case_number - $2 AS number"
            }
            Dialect::Postgres => {
                "SELECT nextval(quote_ident('case_number_' || $1)::regclass) AS number \
                 FROM generate_series(1, $2::int8)"
            }
        }
    }

    /// `SELECT columns` of the rows of `table` whose unique `key` matches
    /// one of `keys` keys, bound as `$1…` (`key.len()` values a key): one
    /// index probe per key, whatever the planner's statistics say. With an
    /// `IN` list or a join, PostgreSQL planned by statistics older than an
    /// account or a channel (a new one, or one grown since the last
    /// `ANALYZE`) as if it had a handful of rows: it read the index by the
    /// leading column alone and filtered the rest — every case of the
    /// account, every message of the channel, on every batch (2–4 ms a
    /// batch at a few thousand rows, growing with them). So PostgreSQL
    /// probes in a `LATERAL` subquery, kept from being flattened into a join
    /// by its `LIMIT 1`. SQLite joins the keys to the table, which it
    /// plans as a probe per key (a row value `IN (VALUES …)` it planned as
    /// a scan of the whole table).
    fn probe(self, table: &str, columns: &str, key: &[&str], keys: usize) -> String {
        let list = row_placeholders(keys, key.len());
        let names = (1..=key.len())
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let matches = key
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{table}.{c} = k.k{}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ");
        match self {
            Dialect::Sqlite => format!(
                "WITH k ({names}) AS (VALUES {list}) \
                 SELECT {columns} FROM k JOIN {table} ON {matches}"
            ),
            Dialect::Postgres => format!(
                "SELECT p.* FROM (VALUES {list}) k ({names}) CROSS JOIN LATERAL \
                 (SELECT {columns} FROM {table} WHERE {matches} LIMIT 1) p"
            ),
        }
    }

    /// The `n` values of a counter that [`Dialect::next_message_seqs`] or
    /// [`Dialect::next_case_numbers`] answered with, in increasing order:
    /// SQLite's one row is the first of `n` in a row.
    fn taken(self, mut values: Vec<i64>, n: usize) -> R<Vec<i64>> {
        if self == Dialect::Sqlite
            && let [first] = values[..]
        {
            values = (first..).take(n).collect();
        }
        values.sort_unstable();
        if values.len() == n {
            Ok(values)
        } else {
            Err(StoreError::Other(format!(
                "took {} of {n} counter values",
                values.len()
            )))
        }
    }

    /// What a new account `$1` needs beside its row: PostgreSQL, its case
    /// number sequence.
    fn new_account(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT create_case_number_sequence($1)"),
        }
    }

    /// Makes the units of work that count limit key `$1` take turns until
    /// this one ends: PostgreSQL, a transaction advisory lock on the key's
    /// hash (two keys may share one and wait for each other, never more);
    /// SQLite's one writer already runs them one at a time.
    fn lock_limit_key(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"),
        }
    }

    /// The place before which every notice's place is final: PostgreSQL's
    /// oldest transaction still running (a transaction's id is taken when
    /// it first writes, so one that took an older id may commit later);
    /// SQLite's one writer commits in order, so every committed row is
    /// final.
    fn notice_horizon(self) -> &'static str {
        match self {
            Dialect::Sqlite => "9223372036854775807",
            Dialect::Postgres => "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        }
    }

    /// A new update id of channel `$1`, above every one it has: SQLite's
    /// single writer makes the channel's highest one plus one safe;
    /// PostgreSQL's concurrent writers take the message sequence's next
    /// number (never repeated), or that, if it were not above.
    fn next_update_id(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT COALESCE(MAX(update_id), 0) + 1 AS id FROM channel_updates \
                 WHERE channel_id = $1"
            }
            Dialect::Postgres => {
                "SELECT GREATEST(nextval('message_seq'), \
                 (SELECT COALESCE(MAX(update_id), 0) + 1 FROM channel_updates \
                  WHERE channel_id = $1)) AS id"
            }
        }
    }
}

/// What a typed `NULL` stands for: PostgreSQL types every parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    Bool,
}

/// A statement argument or a cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null(Kind),
    Int(i64),
    Text(String),
    Bool(bool),
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

/// Times are stored as microseconds since the Unix epoch, UTC.
impl From<Time> for Value {
    fn from(v: Time) -> Value {
        Value::Int(v.timestamp_micros())
    }
}

impl<T: Into<Value> + Typed> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        match v {
            Some(v) => v.into(),
            None => Value::Null(T::KIND),
        }
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Value {
        v.as_deref().into()
    }
}

/// The kind of `NULL` an absent value of a type is.
pub trait Typed {
    const KIND: Kind;
}

impl Typed for &str {
    const KIND: Kind = Kind::Text;
}
impl Typed for String {
    const KIND: Kind = Kind::Text;
}
impl Typed for &String {
    const KIND: Kind = Kind::Text;
}
impl Typed for i64 {
    const KIND: Kind = Kind::Int;
}
impl Typed for bool {
    const KIND: Kind = Kind::Bool;
}
impl Typed for Time {
    const KIND: Kind = Kind::Int;
}

/// Statement arguments: `args![a, b]` is `[Value::from(a), Value::from(b)]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { [$($crate::sql::Value::from($v)),*] };
}
pub use args;

/// One row of a result: its cells, read by column name.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// A row of `values`, named by `columns` (shared by the rows of one
    /// result).
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row { columns, values }
    }

    fn cell(&self, name: &str) -> R<&Value> {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| StoreError::Other(format!("no column `{name}` in the row")))
    }

    /// A text cell, borrowed (a large read compares it without a copy).
    pub fn text(&self, name: &str) -> R<&str> {
        match self.cell(name)? {
            Value::Text(t) => Ok(t),
            other => Err(StoreError::Other(format!(
                "cannot read column `{name}`: expected text, found {other:?}"
            ))),
        }
    }

    /// The cell of column `name` as `T`.
    pub fn get<T: FromCell>(&self, name: &str) -> R<T> {
        T::from_cell(self.cell(name)?)
            .map_err(|e| StoreError::Other(format!("cannot read column `{name}`: {e}")))
    }

    /// A text column holding one of the domain's string enums.
    pub fn parsed<T>(&self, name: &str) -> R<T>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let text: String = self.get(name)?;
        text.parse()
            .map_err(|e| StoreError::Other(format!("column `{name}`: {e}")))
    }

    pub fn opt_parsed<T>(&self, name: &str) -> R<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get::<Option<String>>(name)? {
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|e| StoreError::Other(format!("column `{name}`: {e}"))),
            None => Ok(None),
        }
    }

    /// A text column holding JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> R<T> {
        let text: String = self.get(name)?;
        serde_json::from_str(&text).map_err(|e| StoreError::Other(format!("column `{name}`: {e}")))
    }

    pub fn opt_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> R<Option<T>> {
        match self.get::<Option<String>>(name)? {
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::Other(format!("column `{name}`: {e}"))),
            None => Ok(None),
        }
    }
}

/// A Rust value a cell can be read as.
pub trait FromCell: Sized {
    fn from_cell(v: &Value) -> Result<Self, String>;
}

impl FromCell for String {
    fn from_cell(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(t) => Ok(t.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromCell for i64 {
    fn from_cell(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

/// SQLite keeps booleans as 0 and 1.
impl FromCell for bool {
    fn from_cell(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            other => Err(format!("expected a boolean, found {other:?}")),
        }
    }
}

impl FromCell for Time {
    fn from_cell(v: &Value) -> Result<Self, String> {
        let micros = i64::from_cell(v)?;
        Time::from_timestamp_micros(micros).ok_or_else(|| format!("time {micros} is out of range"))
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null(_) => Ok(None),
            v => T::from_cell(v).map(Some),
        }
    }
}

/// What a backend provides; everything else is written once, here.
#[async_trait::async_trait]
pub trait Sql: Send {
    fn dialect(&self) -> Dialect;

    /// Runs a statement (placeholders `$1`, `$2`, …) and returns how many
    /// rows it changed.
    async fn execute(&mut self, sql: &str, args: &[Value]) -> R<u64>;

    /// Runs a query and returns its rows.
    async fn query(&mut self, sql: &str, args: &[Value]) -> R<Vec<Row>>;

    /// Runs a query and hands its rows to `each` as they come, holding one
    /// at a time: for reads too large to collect (the policy simulator).
    async fn each(
        &mut self,
        sql: &str,
        args: &[Value],
        each: &mut (dyn for<'r> FnMut(&'r Row) -> R<()> + Send),
    ) -> R<()>;

    /// The statistics facts of [`ReportTx::stats`](crate::ReportTx::stats):
    /// per backend, since their plans differ.
    async fn stats(&mut self, account_id: &str, q: &StatsQuery) -> R<StatsInput>;

    /// What this connection remembers between units of work, where it is
    /// the only one to write (SQLite's writer); `None` elsewhere.
    fn memo(&mut self) -> Option<&mut Memo> {
        None
    }

    /// Benchmarks' bulk load; row by row unless the backend does better.
    async fn seed_bulk(&mut self, batch: &SeedBatch) -> R<()> {
        seed_rows(self, batch).await
    }
}

/// Reads a record (or a value) from a row.
type Decode<T> = for<'r> fn(&'r Row) -> R<T>;

/// The shapes of results the queries use.
#[async_trait::async_trait]
trait SqlExt: Sql {
    /// Exactly one row, decoded, or `NotFound`.
    async fn one<T: Send + 'static>(
        &mut self,
        sql: &str,
        args: &[Value],
        decode: Decode<T>,
    ) -> R<T> {
        self.maybe(sql, args, decode)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The first row, decoded, if there is one.
    async fn maybe<T: Send + 'static>(
        &mut self,
        sql: &str,
        args: &[Value],
        decode: Decode<T>,
    ) -> R<Option<T>> {
        self.query(sql, args).await?.first().map(decode).transpose()
    }

    /// Every row, decoded.
    async fn all<T: Send + 'static>(
        &mut self,
        sql: &str,
        args: &[Value],
        decode: Decode<T>,
    ) -> R<Vec<T>> {
        self.query(sql, args).await?.iter().map(decode).collect()
    }

    /// A write of one known row: none changed means it does not exist (here).
    async fn found(&mut self, sql: &str, args: &[Value]) -> R<()> {
        match self.execute(sql, args).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }
}

impl<S: Sql + ?Sized> SqlExt for S {}

/// Fills the folded search columns of rows written before they existed
/// (migration 0011), a thousand rows per statement; returns how many rows
/// it filled. Backends run it when they open, after migrating.
pub async fn fill_search_columns<S: Sql + ?Sized>(s: &mut S) -> R<u64> {
    let mut filled = 0;
    loop {
        let cases = s
            .all(
                "SELECT id, subject FROM cases WHERE subject_folded IS NULL LIMIT 1000",
                &[],
                |r| Ok((r.get::<String>("id")?, r.get::<String>("subject")?)),
            )
            .await?;
        if cases.is_empty() {
            break;
        }
        for (id, subject) in &cases {
            let sql = "UPDATE cases SET subject_folded = $2 WHERE id = $1";
            s.execute(sql, &args![id, fold(subject)]).await?;
        }
        filled += cases.len() as u64;
    }
    loop {
        let messages = s
            .all(
                &format!(
                    "SELECT {} FROM messages WHERE text_folded IS NULL LIMIT 1000",
                    codec::MESSAGE_COLUMNS
                ),
                &[],
                codec::message,
            )
            .await?;
        if messages.is_empty() {
            break;
        }
        for m in &messages {
            let sql = "UPDATE messages SET text_folded = $2 WHERE id = $1";
            s.execute(sql, &args![&m.id, codec::searchable_text(m)])
                .await?;
        }
        filled += messages.len() as u64;
    }
    Ok(filled)
}

/// The one order in which a unit of work locks (or inserts) many customers:
/// by channel, then external id, bytewise — in Rust and, with
/// [`Dialect::byte_order`], in SQL. Two units of work that each lock
/// several customers then never wait for each other in a cycle (a batch of
/// inbound messages, a batch of deadlines or rule timers).
fn customer_lock_order(dialect: Dialect) -> String {
    let c = dialect.byte_order();
    format!("channel_id{c}, external_id{c}")
}

/// Rows written (or keys listed) per statement by the queries that take
/// many at once: a few thousand parameters, far below SQLite's 32,766 and
/// PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 200;

/// `($1, $2), ($3, $4)` for `rows` rows of `width` values: a multi-row
/// `VALUES` list.
fn row_placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(1 + r * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$from, $from+1, …` for `n` values (an `IN` list).
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rewrites `$1` placeholders as SQLite's `?1` (SQLite would take `$1` as
/// a named parameter numbered by first appearance, not by its digits).
/// Works on bytes (`$` and digits are ASCII, so a UTF-8 sequence is never
/// split): it runs for every statement on the writer's thread.
pub fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let numbered = rest.as_bytes().get(at + 1).is_some_and(u8::is_ascii_digit);
        out.push(if numbered { '?' } else { '$' });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_keep_their_numbers_for_sqlite() {
        assert_eq!(
            numbered_placeholders("UPDATE t SET a = $2 WHERE id = $1 AND b = $12"),
            "UPDATE t SET a = ?2 WHERE id = ?1 AND b = ?12"
        );
        assert_eq!(
            numbered_placeholders("SELECT '$x', 'é$' || $1$"),
            "SELECT '$x', 'é$' || ?1$"
        );
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(row_placeholders(2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn absent_values_are_typed_nulls() {
        assert_eq!(Value::from(None::<i64>), Value::Null(Kind::Int));
        assert_eq!(Value::from(&None::<String>), Value::Null(Kind::Text));
        assert_eq!(Value::from(Some(true)), Value::Bool(true));
    }

    #[test]
    fn cells_are_read_by_name_and_type() {
        let row = Row::new(
            vec!["n".to_owned(), "b".to_owned(), "t".to_owned()].into(),
            vec![Value::Int(3), Value::Int(1), Value::Null(Kind::Text)],
        );
        assert_eq!(row.get::<i64>("n").unwrap(), 3);
        assert!(row.get::<bool>("b").unwrap());
        assert_eq!(row.get::<Option<String>>("t").unwrap(), None);
        assert!(row.get::<String>("t").is_err());
        assert!(row.get::<i64>("missing").is_err());
    }
}
