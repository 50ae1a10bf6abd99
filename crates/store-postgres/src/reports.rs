//! Statistics and export queries (R15, R16) on PostgreSQL.
//!
//! Same shape as the SQLite backend: event counts are aggregated in SQL,
//! raw values come back only where a median needs them, and the domain's
//! time buckets (the account's local days or weeks) arrive as an array of
//! their starts for `width_bucket`, so PostgreSQL needs no time-zone logic
//! of its own.

use std::collections::HashMap;

use casedesk_domain::stats::{EventFacts, EventTally, GroupKey, Samples, StatsInput};
use casedesk_store::{CaseFilter, ExportRow, SeedBatch, StatsGrouping, StatsQuery, StoreError, Tx};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::map_err;
use crate::rows::{micros, opt_micros};
use crate::tx::PgTx;

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
                kind: col(row, 1)?,
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
        let mut samples: Vec<(GroupKey, Samples)> = samples.into_iter().collect();
        samples.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(StatsInput {
            events,
            samples,
            active_now,
            active_now_total,
        })
    }

    pub(crate) async fn export_page(
        &mut self,
        account_id: &str,
        filter: &CaseFilter,
    ) -> R<Vec<ExportRow>> {
        let cases = self.list_cases(account_id, filter).await?;
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let channels: HashMap<String, String> = self
            .list_channels(account_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let agents: HashMap<String, String> = self
            .list_agents(account_id)
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        let customer_ids: Vec<&str> = cases.iter().map(|c| c.customer_id.as_str()).collect();
        let rows = sqlx::query(
            "SELECT id, name, external_id FROM customers WHERE account_id = $1 AND id = ANY($2)",
        )
        .bind(account_id)
        .bind(&customer_ids)
        .fetch_all(self.conn())
        .await
        .map_err(map_err)?;
        let mut customers: HashMap<String, (Option<String>, String)> = HashMap::new();
        for row in &rows {
            customers.insert(col(row, 0)?, (col(row, 1)?, col(row, 2)?));
        }
        let linked: Vec<&str> = cases
            .iter()
            .flat_map(|c| [c.previous_case_id.as_deref(), c.next_case_id.as_deref()])
            .flatten()
            .collect();
        let mut numbers: HashMap<String, i64> = HashMap::new();
        if !linked.is_empty() {
            let rows =
                sqlx::query("SELECT id, number FROM cases WHERE account_id = $1 AND id = ANY($2)")
                    .bind(account_id)
                    .bind(&linked)
                    .fetch_all(self.conn())
                    .await
                    .map_err(map_err)?;
            for row in &rows {
                numbers.insert(col(row, 0)?, col(row, 1)?);
            }
        }
        Ok(cases
            .into_iter()
            .map(|case| {
                let (customer_name, customer_external_id) = customers
                    .get(&case.customer_id)
                    .cloned()
                    .unwrap_or((None, String::new()));
                let number =
                    |id: &Option<String>| id.as_ref().and_then(|i| numbers.get(i).copied());
                ExportRow {
                    channel_name: channels.get(&case.channel_id).cloned().unwrap_or_default(),
                    assignee_name: case
                        .assignee_id
                        .as_ref()
                        .and_then(|a| agents.get(a).cloned()),
                    customer_name,
                    customer_external_id,
                    previous_number: number(&case.previous_case_id),
                    next_number: number(&case.next_case_id),
                    labels: Vec::new(),
                    case,
                }
            })
            .collect())
    }

    /// One `INSERT … SELECT FROM unnest(…)` per table: a benchmark seeds a
    /// million cases in minutes instead of hours of round trips.
    pub(crate) async fn seed(&mut self, batch: &SeedBatch) -> R<()> {
        let cu = &batch.customers;
        if !cu.is_empty() {
            sqlx::query(
                "INSERT INTO customers (id, account_id, channel_id, external_id, name, \
                 latest_case_id, created_at) SELECT * FROM unnest($1::text[], $2::text[], \
                 $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])",
            )
            .bind(cu.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
            .bind(cu.iter().map(|c| c.account_id.clone()).collect::<Vec<_>>())
            .bind(cu.iter().map(|c| c.channel_id.clone()).collect::<Vec<_>>())
            .bind(cu.iter().map(|c| c.external_id.clone()).collect::<Vec<_>>())
            .bind(cu.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
            .bind(
                cu.iter()
                    .map(|c| c.latest_case_id.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(cu.iter().map(|c| micros(c.created_at)).collect::<Vec<_>>())
            .execute(self.conn())
            .await
            .map_err(map_err)?;
        }
        let cs = &batch.cases;
        if !cs.is_empty() {
            let text = |f: fn(&casedesk_store::CaseRecord) -> Option<String>| {
                cs.iter().map(f).collect::<Vec<Option<String>>>()
            };
            let int = |f: fn(&casedesk_store::CaseRecord) -> Option<i64>| {
                cs.iter().map(f).collect::<Vec<Option<i64>>>()
            };
            sqlx::query(&format!(
                "INSERT INTO cases ({}) SELECT * FROM unnest($1::text[], $2::text[], \
                 $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
                 $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], \
                 $14::bigint[], $15::bigint[], $16::text[], $17::bigint[], $18::text[], \
                 $19::text[], $20::text[], $21::text[], $22::bigint[], $23::boolean[], \
                 $24::bigint[])",
                crate::rows::CASE_COLUMNS
            ))
            .bind(text(|c| Some(c.id.clone())))
            .bind(text(|c| Some(c.account_id.clone())))
            .bind(int(|c| Some(c.number)))
            .bind(text(|c| Some(c.channel_id.clone())))
            .bind(text(|c| Some(c.customer_id.clone())))
            .bind(text(|c| Some(c.subject.clone())))
            .bind(text(|c| Some(c.state.status.as_str().to_owned())))
            .bind(text(|c| c.state.chat_state.map(|s| s.as_str().to_owned())))
            .bind(text(|c| c.assignee_id.clone()))
            .bind(int(|c| Some(micros(c.created_at))))
            .bind(int(|c| Some(micros(c.updated_at))))
            .bind(int(|c| Some(micros(c.last_activity_at))))
            .bind(int(|c| opt_micros(c.state.finished_at)))
            .bind(int(|c| opt_micros(c.state.closed_at)))
            .bind(int(|c| c.state.reopen.as_ref().map(|r| r.from_seq)))
            .bind(text(|c| {
                c.state
                    .reopen
                    .as_ref()
                    .map(|r| r.status_before.as_str().to_owned())
            }))
            .bind(int(|c| {
                c.state
                    .reopen
                    .as_ref()
                    .and_then(|r| opt_micros(r.finished_at_before))
            }))
            .bind(text(|c| {
                c.state.last_public_author.map(|a| a.as_str().to_owned())
            }))
            .bind(text(|c| c.previous_case_id.clone()))
            .bind(text(|c| c.next_case_id.clone()))
            .bind(text(|c| c.merged_into_id.clone()))
            .bind(int(|c| Some(c.message_count)))
            .bind(cs.iter().map(|c| c.unread).collect::<Vec<bool>>())
            .bind(int(|c| opt_micros(c.first_response_at)))
            .execute(self.conn())
            .await
            .map_err(map_err)?;
        }
        let ev = &batch.events;
        if !ev.is_empty() {
            let mut changes = Vec::with_capacity(ev.len());
            let mut data = Vec::with_capacity(ev.len());
            for e in ev {
                let (c, d) = crate::rows::event_json(e)?;
                changes.push(c);
                data.push(d);
            }
            sqlx::query(
                "INSERT INTO case_events (id, account_id, case_id, kind, actor_type, actor_id, \
                 changes, data, created_at, sets_closed, sets_finished, assignee_id, \
                 channel_id, case_created_at) SELECT u.*, c.assignee_id, c.channel_id, \
                 c.created_at FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], \
                 $10::boolean[], $11::boolean[]) AS u(id, account_id, case_id, kind, actor_type, \
                 actor_id, changes, data, created_at, sc, sf) \
                 JOIN cases c ON c.id = u.case_id",
            )
            .bind(ev.iter().map(|e| e.id.clone()).collect::<Vec<_>>())
            .bind(ev.iter().map(|e| e.account_id.clone()).collect::<Vec<_>>())
            .bind(ev.iter().map(|e| e.case_id.clone()).collect::<Vec<_>>())
            .bind(ev.iter().map(|e| e.kind.clone()).collect::<Vec<_>>())
            .bind(
                ev.iter()
                    .map(|e| e.actor.kind().to_owned())
                    .collect::<Vec<_>>(),
            )
            .bind(
                ev.iter()
                    .map(|e| e.actor.id().to_owned())
                    .collect::<Vec<_>>(),
            )
            .bind(changes)
            .bind(data)
            .bind(ev.iter().map(|e| micros(e.created_at)).collect::<Vec<_>>())
            .bind(
                ev.iter()
                    .map(|e| EventFacts::of(&e.changes).sets_closed)
                    .collect::<Vec<_>>(),
            )
            .bind(
                ev.iter()
                    .map(|e| EventFacts::of(&e.changes).sets_finished)
                    .collect::<Vec<_>>(),
            )
            .execute(self.conn())
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }
}
