//! SQLite's [`Sql`]: statements and rows on the job's connection. The
//! queries themselves are written once, in [`casedesk_store::sql`].
//!
//! The methods are `async` only to fit the shared traits: rusqlite answers
//! synchronously, on the thread that runs the job.

use std::sync::Arc;

use casedesk_domain::stats::StatsInput;
use casedesk_store::sql::{Dialect, Kind, Memo, Row, Sql, Value, numbered_placeholders};
use casedesk_store::{StatsQuery, StoreError};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection, ErrorCode};

type R<T> = Result<T, StoreError>;

/// Holds the connection exclusively (`&mut`), which is what lets the job's
/// futures be `Send` although a connection is not `Sync`.
pub(crate) struct SqliteTx<'c> {
    pub(crate) conn: &'c mut Connection,
    /// The writer's memo; readers have none.
    memo: Option<&'c mut Memo>,
}

impl<'c> SqliteTx<'c> {
    pub(crate) fn new(conn: &'c mut Connection, memo: Option<&'c mut Memo>) -> Self {
        SqliteTx { conn, memo }
    }

    /// The statement of `sql` (cached), with `args` bound.
    fn bound(&self, sql: &str, args: &[Value]) -> rusqlite::Result<CachedStatement<'_>> {
        let mut stmt = self.conn.prepare_cached(&numbered_placeholders(sql))?;
        for (i, v) in args.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, Arg(v))?;
        }
        Ok(stmt)
    }
}

/// A [`Value`] as SQLite takes it: booleans are 0 and 1.
struct Arg<'a>(&'a Value);

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

fn cell(v: ValueRef<'_>) -> R<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null(Kind::Text),
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| StoreError::Other(format!("stored text is not UTF-8: {e}")))?
                .to_owned(),
        ),
        ValueRef::Real(_) | ValueRef::Blob(_) => {
            return Err(StoreError::Other(format!(
                "unexpected stored value of type {}",
                v.data_type()
            )));
        }
    })
}

#[async_trait::async_trait]
impl Sql for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn memo(&mut self) -> Option<&mut Memo> {
        self.memo.as_deref_mut()
    }

    async fn execute(&mut self, sql: &str, args: &[Value]) -> R<u64> {
        let mut stmt = self.bound(sql, args).map_err(map_err)?;
        stmt.raw_execute().map(|n| n as u64).map_err(map_err)
    }

    async fn query(&mut self, sql: &str, args: &[Value]) -> R<Vec<Row>> {
        let mut out = Vec::new();
        self.each(sql, args, &mut |row| {
            out.push(row.clone());
            Ok(())
        })
        .await?;
        Ok(out)
    }

    async fn each(
        &mut self,
        sql: &str,
        args: &[Value],
        each: &mut (dyn for<'r> FnMut(&'r Row) -> R<()> + Send),
    ) -> R<()> {
        let mut stmt = self.bound(sql, args).map_err(map_err)?;
        let columns: Arc<[String]> = stmt.column_names().into_iter().map(String::from).collect();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(map_err)? {
            let values = (0..columns.len())
                .map(|i| row.get_ref(i).map_err(map_err).and_then(cell))
                .collect::<R<Vec<Value>>>()?;
            each(&Row::new(Arc::clone(&columns), values))?;
        }
        Ok(())
    }

    async fn stats(&mut self, account_id: &str, q: &StatsQuery) -> R<StatsInput> {
        self.stats_input(account_id, q)
    }
}

/// Maps a driver error to the neutral one.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            ErrorCode::ConstraintViolation => {
                StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()))
            }
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::ReadOnly => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

pub(crate) fn micros(t: casedesk_domain::Time) -> i64 {
    t.timestamp_micros()
}
