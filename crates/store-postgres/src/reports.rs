//! The statistics queries (R15) and bulk seeding on PostgreSQL.
//!
//! Same shape as the SQLite backend: event counts are aggregated in SQL,
//! raw values come back only where a median needs them, and the domain's
//! time buckets (the account's local days or weeks) arrive as an array of
//! their starts for `width_bucket`, so PostgreSQL needs no time-zone logic
//! of its own.

use std::collections::HashMap;

use casedesk_domain::stats::{EventFacts, EventTally, GroupKey, Samples, StatsInput};
use casedesk_store::{SeedBatch, StatsGrouping, StatsQuery, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use casedesk_store::sql::{Kind, Value, codec};

use crate::map_err;
use crate::tx::PgTx;

fn micros(t: casedesk_domain::Time) -> i64 {
    t.timestamp_micros()
}

type R<T> = Result<T, StoreError>;

fn key_of(grouping: &StatsGrouping, row: &PgRow) -> R<GroupKey> {
    let get = |e: sqlx::Error| StoreError::Other(format!("statistics key: {e}"));
    Ok(match grouping {
        StatsGrouping::Buckets(_) => {
            GroupKey::Bucket(row.try_get::<i64, _>(0).map_err(get)? as usize)
        }
        StatsGrouping::Agent => GroupKey::Agent(row.try_get(0).map_err(get)?),
        StatsGrouping::Channel => GroupKey::Channel(row.try_get(0).map_err(get)?),
    })
}

fn col<'r, T>(row: &'r PgRow, i: usize) -> R<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(i)
        .map_err(|e| StoreError::Other(format!("statistics column {i}: {e}")))
}

/// Builds one statistics query: the key, the period and
/// the filters, with `body` in between.
struct Shape<'q> {
    account_id: &'q str,
    q: &'q StatsQuery,
}

impl<'q> Shape<'q> {
    fn buckets(&self) -> Option<&'q [(casedesk_domain::Time, casedesk_domain::Time)]> {
        match &self.q.grouping {
            StatsGrouping::Buckets(b) => Some(b),
            _ => None,
        }
    }

    /// The column of grouping by agent or channel (`None` for time
    /// buckets). Cases and events (migration 0005) both have these columns.
    fn key_col(&self) -> Option<&'static str> {
        match self.q.grouping {
            StatsGrouping::Buckets(_) => None,
            StatsGrouping::Agent => Some("assignee_id"),
            StatsGrouping::Channel => Some("channel_id"),
        }
    }

    /// `SELECT {key} AS k{rest} FROM {table} {t} WHERE t.account_id = $ AND
    /// t.time_col in the period {more} [filters]`. A time bucket's key is
    /// `width_bucket` over the buckets' starts: no join, one index range
    /// scan of the period.
    fn build(
        &self,
        rest: &str,
        table: &str,
        t: &str,
        time_col: &str,
        more: &str,
    ) -> QueryBuilder<'q, Postgres> {
        let time_col = format!("{t}.{time_col}");
        let mut b = QueryBuilder::<Postgres>::new("SELECT ");
        match (self.buckets(), self.key_col()) {
            (Some(buckets), _) => {
                let starts: Vec<i64> = buckets.iter().map(|b| micros(b.0)).collect();
                b.push(format!("(width_bucket({time_col}, "))
                    .push_bind(starts)
                    .push("::bigint[]) - 1)::bigint");
            }
            (None, Some(key)) => {
                b.push(format!("{t}.{key}"));
            }
            (None, None) => {
                b.push("NULL::text");
            }
        }
        b.push(format!(
            " AS k{rest} FROM {table} {t} WHERE {t}.account_id = "
        ))
        .push_bind(self.account_id)
        .push(format!(" AND {time_col} >= "))
        .push_bind(micros(self.q.from))
        .push(format!(" AND {time_col} < "))
        .push_bind(micros(self.q.to))
        .push(more);
        self.filters(&mut b, t);
        b
    }

    fn filters(&self, b: &mut QueryBuilder<'q, Postgres>, t: &str) {
        if let Some(ch) = &self.q.channel_id {
            b.push(format!(" AND {t}.channel_id = "))
                .push_bind(ch.as_str());
        }
        if let Some(a) = &self.q.agent_id {
            b.push(format!(" AND {t}.assignee_id = "))
                .push_bind(a.as_str());
        }
    }
}

impl PgTx {
    pub(crate) async fn stats_input(&mut self, account_id: &str, q: &StatsQuery) -> R<StatsInput> {
        let shape = Shape { account_id, q };
        // Written with each event from the domain's `EventFacts`.
        let closes = "e.sets_closed";
        let finishes = "e.sets_finished";
        // Events carry their case's keys (migration 0005): no joins.
        let mut b = shape.build(
            &format!(", e.kind, {closes} AS sc, {finishes} AS sf, COUNT(*) AS n"),
            "case_events",
            "e",
            "created_at",
            "",
        );
        b.push(" GROUP BY 1, 2, 3, 4");
        let rows = b.build().fetch_all(self.conn()).await.map_err(map_err)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            events.push(EventTally {
                key: key_of(&q.grouping, row)?,
                kind: col::<String>(row, 1)?
                    .parse()
                    .map_err(|e| StoreError::Other(format!("event kind: {e}")))?,
                facts: EventFacts {
                    sets_closed: col(row, 2)?,
                    sets_finished: col(row, 3)?,
                },
                count: col(row, 4)?,
            });
        }

        let mut samples: HashMap<GroupKey, Samples> = HashMap::new();
        let mut b = shape.build(
            ", c.created_at, c.first_response_at, c.message_count, \
             c.merged_into_id IS NOT NULL",
            "cases",
            "c",
            "created_at",
            "",
        );
        {
            use futures::TryStreamExt;
            let query = b.build();
            let mut stream = query.fetch(self.conn());
            while let Some(row) = stream.try_next().await.map_err(map_err)? {
                let s = samples.entry(key_of(&q.grouping, &row)?).or_default();
                let created: i64 = col(&row, 1)?;
                if let Some(fr) = col::<Option<i64>>(&row, 2)? {
                    s.first_response.push((created, fr));
                }
                if !col::<bool>(&row, 4)? {
                    s.messages.push(col(&row, 3)?);
                }
            }
        }
        // The partial covering index `case_events_closes` holds exactly the
        // close events with their case's creation time and keys.
        let mut b = shape.build(
            ", e.case_created_at, e.created_at",
            "case_events",
            "e",
            "created_at",
            &format!(" AND {closes}"),
        );
        {
            use futures::TryStreamExt;
            let query = b.build();
            let mut stream = query.fetch(self.conn());
            while let Some(row) = stream.try_next().await.map_err(map_err)? {
                samples
                    .entry(key_of(&q.grouping, &row)?)
                    .or_default()
                    .resolution
                    .push((col(&row, 1)?, col(&row, 2)?));
            }
        }

        // Active chats are "now": no period, no bucket.
        let by_key = shape.key_col().is_some();
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT {} AS k, COUNT(*) FROM cases c WHERE c.account_id = ",
            shape
                .key_col()
                .map_or("NULL::text".to_owned(), |k| format!("c.{k}"))
        ));
        b.push_bind(account_id)
            .push(" AND c.chat_state = 'active' AND c.merged_into_id IS NULL");
        shape.filters(&mut b, "c");
        b.push(" GROUP BY 1");
        let rows = b.build().fetch_all(self.conn()).await.map_err(map_err)?;
        let mut active_now = Vec::new();
        let mut active_now_total = 0;
        for row in &rows {
            let n: i64 = col(row, 1)?;
            active_now_total += n;
            if by_key {
                active_now.push((key_of(&q.grouping, row)?, n));
            }
        }
        Ok(StatsInput::new(
            events,
            samples,
            active_now,
            active_now_total,
        ))
    }

    /// One `INSERT … SELECT FROM unnest(…)` per table: a benchmark seeds a
    /// million cases in minutes instead of hours of round trips. The rows
    /// are the shared codec's.
    pub(crate) async fn seed(&mut self, batch: &SeedBatch) -> R<()> {
        let customers: Vec<_> = batch.customers.iter().map(codec::customer_values).collect();
        let cases: Vec<_> = batch.cases.iter().map(codec::case_values).collect();
        let events = batch
            .events
            .iter()
            .map(codec::event_values)
            .collect::<R<Vec<_>>>()?;
        let case_columns = format!("{}, subject_folded", codec::CASE_COLUMNS);
        let event_columns = format!("{}, {}", codec::EVENT_COLUMNS, codec::EVENT_FACT_COLUMNS);
        for (table, columns, rows, select) in [
            ("customers", codec::CUSTOMER_COLUMNS, customers, "u.*"),
            ("cases", case_columns.as_str(), cases, "u.*"),
            // Events carry their case's keys (migration 0005).
            (
                "case_events",
                event_columns.as_str(),
                events,
                "u.*, c.assignee_id, c.channel_id, c.created_at",
            ),
        ] {
            if rows.is_empty() {
                continue;
            }
            let (into, join) = if table == "case_events" {
                (
                    format!("{columns}, assignee_id, channel_id, case_created_at"),
                    " JOIN cases c ON c.id = u.case_id",
                )
            } else {
                (columns.to_owned(), "")
            };
            let arrays = Arrays::of(&rows);
            let sql = format!(
                "INSERT INTO {table} ({into}) SELECT {select} FROM unnest({}) AS u({columns}){join}",
                arrays.placeholders()
            );
            arrays
                .bind(sqlx::query(&sql))
                .execute(self.conn())
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }
}

/// Rows turned into one typed array per column, for `unnest`.
enum Array {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
}

struct Arrays(Vec<Array>);

impl Arrays {
    fn of(rows: &[Vec<Value>]) -> Arrays {
        let width = rows.first().map_or(0, Vec::len);
        Arrays(
            (0..width)
                .map(|i| {
                    let column = rows.iter().map(|r| &r[i]);
                    // The codec types every value, `NULL`s included.
                    let kind = match &rows[0][i] {
                        Value::Null(k) => *k,
                        Value::Int(_) => Kind::Int,
                        Value::Text(_) => Kind::Text,
                        Value::Bool(_) => Kind::Bool,
                    };
                    match kind {
                        Kind::Int => Array::Int(
                            column
                                .map(|v| match v {
                                    Value::Int(i) => Some(*i),
                                    _ => None,
                                })
                                .collect(),
                        ),
                        Kind::Bool => Array::Bool(
                            column
                                .map(|v| match v {
                                    Value::Bool(b) => Some(*b),
                                    _ => None,
                                })
                                .collect(),
                        ),
                        Kind::Text => Array::Text(
                            column
                                .map(|v| match v {
                                    Value::Text(t) => Some(t.clone()),
                                    _ => None,
                                })
                                .collect(),
                        ),
                    }
                })
                .collect(),
        )
    }

    fn placeholders(&self) -> String {
        self.0
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let ty = match a {
                    Array::Int(_) => "bigint",
                    Array::Text(_) => "text",
                    Array::Bool(_) => "boolean",
                };
                format!("${}::{ty}[]", i + 1)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
        self.0.into_iter().fold(q, |q, a| match a {
            Array::Int(v) => q.bind(v),
            Array::Text(v) => q.bind(v),
            Array::Bool(v) => q.bind(v),
        })
    }
}
