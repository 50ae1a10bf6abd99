//! The statistics queries (R15) on SQLite.
//!
//! Statistics are aggregated in SQL where SQLite can (event counts per key,
//! kind and facts; active chats), and raw values come back only where a
//! median needs them (durations and message counts, one integer per case or
//! close). Time buckets are the domain's, passed in as a `VALUES` table so
//! that days follow the account's time zone exactly, daylight saving included.

use std::collections::HashMap;

use casedesk_domain::stats::{EventFacts, EventTally, GroupKey, Samples, StatsInput};
use casedesk_store::{StatsGrouping, StatsQuery, StoreError};
use rusqlite::types::Value;
use rusqlite::{Row, params_from_iter};

use crate::tx::{SqliteTx, map_err, micros};

type R<T> = Result<T, StoreError>;

/// The parts of a statistics query that depend on the grouping and filters.
struct Shape {
    /// `WITH b(idx, lo, hi) AS (VALUES …)` or nothing.
    with: String,
    /// Joins the bucket table on the given time column.
    bucket_join: bool,
    /// The grouping column (`assignee_id`, `channel_id`), or `None` for
    /// time buckets (key `b.idx`). Cases and events both have these columns.
    key_col: Option<&'static str>,
    /// `(column, argument number)` of the filters.
    filters: Vec<(&'static str, usize)>,
    args: Vec<Value>,
}

impl Shape {
    fn new(account_id: &str, q: &StatsQuery) -> Shape {
        let mut args = vec![
            Value::Text(account_id.to_owned()),
            Value::Integer(micros(q.from)),
            Value::Integer(micros(q.to)),
        ];
        let mut filters = Vec::new();
        if let Some(ch) = &q.channel_id {
            args.push(Value::Text(ch.clone()));
            filters.push(("channel_id", args.len()));
        }
        if let Some(a) = &q.agent_id {
            args.push(Value::Text(a.clone()));
            filters.push(("assignee_id", args.len()));
        }
        let (with, bucket_join, key_col) = match &q.grouping {
            StatsGrouping::Buckets(b) => {
                let rows: Vec<String> = b
                    .iter()
                    .enumerate()
                    .map(|(i, (lo, hi))| {
                        args.push(Value::Integer(i as i64));
                        args.push(Value::Integer(micros(*lo)));
                        args.push(Value::Integer(micros(*hi)));
                        let n = args.len();
                        format!("(?{}, ?{}, ?{})", n - 2, n - 1, n)
                    })
                    .collect();
                let with = if rows.is_empty() {
                    "WITH b(idx, lo, hi) AS (SELECT 0, 0, 0 WHERE 0) ".to_owned()
                } else {
                    format!("WITH b(idx, lo, hi) AS (VALUES {}) ", rows.join(", "))
                };
                (with, true, None)
            }
            StatsGrouping::Agent => (String::new(), false, Some("assignee_id")),
            StatsGrouping::Channel => (String::new(), false, Some("channel_id")),
        };
        Shape {
            with,
            bucket_join,
            key_col,
            filters,
            args,
        }
    }

    /// The key's SQL over the table aliased `t`.
    fn key(&self, t: &str) -> String {
        match self.key_col {
            Some(col) => format!("{t}.{col}"),
            None => "b.idx".to_owned(),
        }
    }

    /// ` AND t.col = ?n` for each filter, over the table aliased `t`.
    fn filters(&self, t: &str) -> String {
        self.filters
            .iter()
            .map(|(col, n)| format!(" AND {t}.{col} = ?{n}"))
            .collect()
    }

    /// `FROM b CROSS JOIN {from}` for time buckets: SQLite keeps the order
    /// of a CROSS JOIN, so each bucket becomes one index range scan of the
    /// period instead of a scan of the bucket table per row.
    fn from(&self, from: &str) -> String {
        if self.bucket_join {
            format!("b CROSS JOIN {from}")
        } else {
            from.to_owned()
        }
    }

    /// The time condition: the bucket's bounds, or the period's. Never
    /// both: SQLite can use only one lower bound in an index range, and
    /// with the period's it would scan from `from` for every bucket.
    fn in_bucket(&self, time_col: &str) -> String {
        if self.bucket_join {
            format!(" AND {time_col} >= b.lo AND {time_col} < b.hi")
        } else {
            format!(" AND {time_col} >= ?2 AND {time_col} < ?3")
        }
    }
}

fn key_from(grouping: &StatsGrouping, row: &Row, idx: usize) -> rusqlite::Result<GroupKey> {
    Ok(match grouping {
        StatsGrouping::Buckets(_) => GroupKey::Bucket(row.get::<_, i64>(idx)? as usize),
        StatsGrouping::Agent => GroupKey::Agent(row.get(idx)?),
        StatsGrouping::Channel => GroupKey::Channel(row.get(idx)?),
    })
}

impl SqliteTx<'_> {
    pub(crate) fn stats_input(&mut self, account_id: &str, q: &StatsQuery) -> R<StatsInput> {
        let shape = Shape::new(account_id, q);
        // Written with each event from the domain's `EventFacts`.
        let closes = "e.sets_closed";
        let finishes = "e.sets_finished";
        // Events carry their case's keys (migration 0005): one range scan
        // of the covering index `case_events_stats`, no joins.
        let events_sql = format!(
            "{with}SELECT {key} AS k, e.kind, {closes} AS sc, {finishes} AS sf, COUNT(*) AS n \
             FROM {from} WHERE e.account_id = ?1 {within}{filters} GROUP BY k, e.kind, sc, sf",
            with = shape.with,
            key = shape.key("e"),
            from = shape.from("case_events e INDEXED BY case_events_stats"),
            within = shape.in_bucket("e.created_at"),
            filters = shape.filters("e"),
        );
        let grouping = &q.grouping;
        let mut events = Vec::new();
        {
            let mut stmt = self.conn.prepare(&events_sql).map_err(map_err)?;
            let mut rows = stmt
                .query(params_from_iter(shape.args.iter()))
                .map_err(map_err)?;
            while let Some(row) = rows.next().map_err(map_err)? {
                events.push(EventTally {
                    key: key_from(grouping, row, 0).map_err(map_err)?,
                    kind: row
                        .get::<_, String>(1)
                        .map_err(map_err)?
                        .parse()
                        .map_err(|e| StoreError::Other(format!("event kind: {e}")))?,
                    facts: EventFacts {
                        sets_closed: row.get(2).map_err(map_err)?,
                        sets_finished: row.get(3).map_err(map_err)?,
                    },
                    count: row.get(4).map_err(map_err)?,
                });
            }
        }

        let mut samples: HashMap<GroupKey, Samples> = HashMap::new();
        let cases_sql = format!(
            "{with}SELECT {key} AS k, c.created_at, c.first_response_at, c.message_count, \
             c.merged_into_id IS NOT NULL FROM {from} \
             WHERE c.account_id = ?1 {within}{filters}",
            with = shape.with,
            key = shape.key("c"),
            from = shape.from("cases c"),
            within = shape.in_bucket("c.created_at"),
            filters = shape.filters("c"),
        );
        {
            let mut stmt = self.conn.prepare(&cases_sql).map_err(map_err)?;
            let mut rows = stmt
                .query(params_from_iter(shape.args.iter()))
                .map_err(map_err)?;
            while let Some(row) = rows.next().map_err(map_err)? {
                let s = samples
                    .entry(key_from(grouping, row, 0).map_err(map_err)?)
                    .or_default();
                let created: i64 = row.get(1).map_err(map_err)?;
                if let Some(fr) = row.get::<_, Option<i64>>(2).map_err(map_err)? {
                    s.first_response.push((created, fr));
                }
                if !row.get::<_, bool>(4).map_err(map_err)? {
                    s.messages.push(row.get(3).map_err(map_err)?);
                }
            }
        }
        // The partial covering index `case_events_closes` holds exactly the
        // close events with their case's creation time and keys.
        let closes_sql = format!(
            "{with}SELECT {key} AS k, e.case_created_at, e.created_at \
             FROM {from} \
             WHERE e.account_id = ?1 {within} AND {closes} = 1{filters}",
            with = shape.with,
            key = shape.key("e"),
            from = shape.from("case_events e INDEXED BY case_events_closes"),
            within = shape.in_bucket("e.created_at"),
            filters = shape.filters("e"),
        );
        {
            let mut stmt = self.conn.prepare(&closes_sql).map_err(map_err)?;
            let mut rows = stmt
                .query(params_from_iter(shape.args.iter()))
                .map_err(map_err)?;
            while let Some(row) = rows.next().map_err(map_err)? {
                samples
                    .entry(key_from(grouping, row, 0).map_err(map_err)?)
                    .or_default()
                    .resolution
                    .push((row.get(1).map_err(map_err)?, row.get(2).map_err(map_err)?));
            }
        }

        // Active chats are "now": no period, no bucket.
        let mut active_args = vec![Value::Text(account_id.to_owned())];
        let mut active_filters = String::new();
        if let Some(ch) = &q.channel_id {
            active_args.push(Value::Text(ch.clone()));
            active_filters.push_str(&format!(" AND c.channel_id = ?{}", active_args.len()));
        }
        if let Some(a) = &q.agent_id {
            active_args.push(Value::Text(a.clone()));
            active_filters.push_str(&format!(" AND c.assignee_id = ?{}", active_args.len()));
        }
        let active_key = if shape.bucket_join {
            "NULL".to_owned()
        } else {
            shape.key("c")
        };
        let active_sql = format!(
            "SELECT {active_key} AS k, COUNT(*) FROM cases c WHERE c.account_id = ?1 \
             AND c.chat_state = 'active' AND c.merged_into_id IS NULL{active_filters} GROUP BY k"
        );
        let mut active_now = Vec::new();
        let mut active_now_total = 0;
        {
            let mut stmt = self.conn.prepare(&active_sql).map_err(map_err)?;
            let mut rows = stmt
                .query(params_from_iter(active_args.iter()))
                .map_err(map_err)?;
            while let Some(row) = rows.next().map_err(map_err)? {
                let n: i64 = row.get(1).map_err(map_err)?;
                active_now_total += n;
                if !shape.bucket_join {
                    active_now.push((key_from(grouping, row, 0).map_err(map_err)?, n));
                }
            }
        }
        Ok(StatsInput::new(
            events,
            samples,
            active_now,
            active_now_total,
        ))
    }
}
