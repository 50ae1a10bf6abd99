//! PostgreSQL's [`Sql`]: statements and rows on one transaction. The
//! queries themselves are written once, in [`casedesk_store::sql`].

use std::sync::Arc;

use casedesk_domain::stats::StatsInput;
use casedesk_store::sql::{Dialect, Kind, Row, Sql, Value};
use casedesk_store::{SeedBatch, StatsQuery, StoreError};
use futures::TryStreamExt;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Column, PgConnection, Postgres, Row as _, Transaction, TypeInfo};

use crate::map_err;

type R<T> = Result<T, StoreError>;

/// Where a unit of work's statements run: a transaction that
/// [`crate::PostgresStore`] commits or rolls back (a write), or a pooled
/// connection whose statements each run on their own (a read: at READ
/// COMMITTED every statement of a transaction takes its own snapshot too,
/// so a transaction would add two round trips and nothing else).
pub(crate) enum PgTx {
    Write(Transaction<'static, Postgres>),
    Read(PoolConnection<Postgres>),
}

impl PgTx {
    pub(crate) fn new(tx: Transaction<'static, Postgres>) -> PgTx {
        PgTx::Write(tx)
    }

    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        match self {
            PgTx::Write(tx) => tx,
            PgTx::Read(conn) => conn,
        }
    }
}

/// `sql` with `args` bound, typed as the values are.
fn bound<'q>(sql: &'q str, args: &'q [Value]) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    args.iter().fold(sqlx::query(sql), |q, v| match v {
        Value::Null(Kind::Int) => q.bind(None::<i64>),
        Value::Null(Kind::Text) => q.bind(None::<String>),
        Value::Null(Kind::Bool) => q.bind(None::<bool>),
        Value::Int(i) => q.bind(*i),
        Value::Text(t) => q.bind(t.as_str()),
        Value::Bool(b) => q.bind(*b),
    })
}

/// How a column's cells are read, decided once per result.
#[derive(Clone, Copy)]
enum Read {
    Int8,
    Int4,
    Int2,
    Bool,
    Text,
}

fn read_of(column: &sqlx::postgres::PgColumn) -> Read {
    match column.type_info().name() {
        "INT8" => Read::Int8,
        "INT4" => Read::Int4,
        "INT2" => Read::Int2,
        "BOOL" => Read::Bool,
        _ => Read::Text,
    }
}

/// A cell of a row, as its column reads.
fn cell(row: &PgRow, i: usize, read: Read) -> R<Value> {
    let failed = |e: sqlx::Error| {
        StoreError::Other(format!(
            "cannot read column `{}`: {e}",
            row.columns()[i].name()
        ))
    };
    Ok(match read {
        Read::Int8 => row
            .try_get::<Option<i64>, _>(i)
            .map_err(failed)?
            .map_or(Value::Null(Kind::Int), Value::Int),
        Read::Int4 => row
            .try_get::<Option<i32>, _>(i)
            .map_err(failed)?
            .map_or(Value::Null(Kind::Int), |v| Value::Int(v.into())),
        Read::Int2 => row
            .try_get::<Option<i16>, _>(i)
            .map_err(failed)?
            .map_or(Value::Null(Kind::Int), |v| Value::Int(v.into())),
        Read::Bool => row
            .try_get::<Option<bool>, _>(i)
            .map_err(failed)?
            .map_or(Value::Null(Kind::Bool), Value::Bool),
        Read::Text => row
            .try_get::<Option<String>, _>(i)
            .map_err(failed)?
            .map_or(Value::Null(Kind::Text), Value::Text),
    })
}

#[async_trait::async_trait]
impl Sql for PgTx {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&mut self, sql: &str, args: &[Value]) -> R<u64> {
        Ok(bound(sql, args)
            .execute(self.conn())
            .await
            .map_err(map_err)?
            .rows_affected())
    }

    async fn query(&mut self, sql: &str, args: &[Value]) -> R<Vec<Row>> {
        let rows = bound(sql, args)
            .fetch_all(self.conn())
            .await
            .map_err(map_err)?;
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let columns: Arc<[String]> = first
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let reads: Vec<Read> = first.columns().iter().map(read_of).collect();
        rows.iter()
            .map(|row| {
                let values = reads
                    .iter()
                    .enumerate()
                    .map(|(i, &read)| cell(row, i, read))
                    .collect::<R<Vec<Value>>>()?;
                Ok(Row::new(Arc::clone(&columns), values))
            })
            .collect()
    }

    async fn each(
        &mut self,
        sql: &str,
        args: &[Value],
        each: &mut (dyn for<'r> FnMut(&'r Row) -> R<()> + Send),
    ) -> R<()> {
        let mut rows = bound(sql, args).fetch(self.conn());
        let mut shape: Option<(Arc<[String]>, Vec<Read>)> = None;
        while let Some(row) = rows.try_next().await.map_err(map_err)? {
            let (columns, reads) = shape.get_or_insert_with(|| {
                (
                    row.columns().iter().map(|c| c.name().to_owned()).collect(),
                    row.columns().iter().map(read_of).collect(),
                )
            });
            let values = reads
                .iter()
                .enumerate()
                .map(|(i, &read)| cell(&row, i, read))
                .collect::<R<Vec<Value>>>()?;
            each(&Row::new(Arc::clone(columns), values))?;
        }
        Ok(())
    }

    async fn stats(&mut self, account_id: &str, q: &StatsQuery) -> R<StatsInput> {
        self.stats_input(account_id, q).await
    }

    async fn seed_bulk(&mut self, batch: &SeedBatch) -> R<()> {
        self.seed(batch).await
    }
}
