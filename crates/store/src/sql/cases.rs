//! Cases, their search, and the labels on them.

use casedesk_domain::Time;
use casedesk_domain::search::{SearchText, contains_pattern};

use super::codec::{self, CASE_COLUMNS, LABEL_COLUMNS, qualified};
use super::{
    R, ROWS_PER_STATEMENT, Sql, SqlExt, Value, args, customer_lock_order, placeholders,
    row_placeholders,
};
use crate::{CaseFilter, CaseRecord, CaseTx, LabelRecord, QueueCounts, SortOrder};

/// The columns of [`codec::case_values`], in its order.
fn case_columns() -> impl Iterator<Item = &'static str> {
    CASE_COLUMNS
        .split(',')
        .map(str::trim)
        .chain(["subject_folded"])
}

/// The columns an update writes, with their place in
/// [`codec::case_values`]: identity (id, account, number, channel,
/// customer, creation) never changes; every other column is written.
fn case_update_columns() -> impl Iterator<Item = (usize, &'static str)> {
    case_columns()
        .enumerate()
        .filter(|(_, c)| !IDENTITY.contains(c))
}

/// The columns an update never writes.
const IDENTITY: [&str; 6] = [
    "id",
    "account_id",
    "number",
    "channel_id",
    "customer_id",
    "created_at",
];

#[async_trait::async_trait]
impl<S: Sql + ?Sized> CaseTx for S {
    async fn insert_case(&mut self, case: &CaseRecord) -> R<()> {
        self.insert_cases(std::slice::from_ref(case)).await
    }

    async fn insert_cases(&mut self, cases: &[CaseRecord]) -> R<()> {
        for chunk in cases.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<Value> = chunk.iter().flat_map(codec::case_values).collect();
            let sql = format!(
                "INSERT INTO cases ({CASE_COLUMNS}, subject_folded) VALUES {}",
                row_placeholders(chunk.len(), values.len() / chunk.len())
            );
            self.execute(&sql, &values).await?;
            if let Some(memo) = self.memo() {
                chunk.iter().for_each(|c| memo.keep_case(c));
            }
        }
        Ok(())
    }

    async fn get_case(&mut self, account_id: &str, case_id: &str) -> R<CaseRecord> {
        let known = self.memo().and_then(|m| m.case(case_id).cloned());
        if let Some(case) = known.filter(|c| c.account_id == account_id) {
            return Ok(case);
        }
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE account_id = $1 AND id = $2");
        let case = self
            .one(&sql, &args![account_id, case_id], codec::case)
            .await?;
        if let Some(memo) = self.memo() {
            memo.keep_case(&case);
        }
        Ok(case)
    }

    async fn get_cases(&mut self, account_id: &str, case_ids: &[String]) -> R<Vec<CaseRecord>> {
        let mut cases = Vec::with_capacity(case_ids.len());
        let mut unknown: Vec<&String> = Vec::new();
        for id in case_ids {
            let known = self.memo().and_then(|m| m.case(id).cloned());
            match known {
                Some(case) if case.account_id == account_id => cases.push(case),
                Some(_) => {}
                None => unknown.push(id),
            }
        }
        unknown.sort();
        unknown.dedup();
        for chunk in unknown.chunks(ROWS_PER_STATEMENT) {
            let sql =
                self.dialect()
                    .probe("cases", CASE_COLUMNS, &["id", "account_id"], chunk.len());
            let args: Vec<Value> = chunk.iter().flat_map(|id| args![*id, account_id]).collect();
            let read = self.all(&sql, &args, codec::case).await?;
            if let Some(memo) = self.memo() {
                read.iter().for_each(|c| memo.keep_case(c));
            }
            cases.extend(read);
        }
        Ok(cases)
    }

    async fn find_case_by_number(
        &mut self,
        account_id: &str,
        number: i64,
    ) -> R<Option<CaseRecord>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE account_id = $1 AND number = $2");
        self.maybe(&sql, &args![account_id, number], codec::case)
            .await
    }

    async fn update_case(&mut self, stored: Option<&CaseRecord>, case: &CaseRecord) -> R<()> {
        self.update_cases(&[(stored, case)]).await
    }

    async fn lock_cases(&mut self, case_ids: &[String]) -> R<Vec<CaseRecord>> {
        let mut ids = case_ids.to_vec();
        ids.sort();
        ids.dedup();
        if self.dialect().locks_rows() {
            lock_customers_of(self, &ids).await?;
        }
        let mut cases = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let args: Vec<Value> = chunk.iter().map(Value::from).collect();
            let sql = self
                .dialect()
                .probe("cases", CASE_COLUMNS, &["id"], chunk.len());
            cases.extend(self.all(&sql, &args, codec::case).await?);
        }
        Ok(cases)
    }

    async fn update_cases(&mut self, cases: &[(Option<&CaseRecord>, &CaseRecord)]) -> R<()> {
        for chunk in cases.chunks(ROWS_PER_STATEMENT) {
            update_chunk(self, chunk).await?;
        }
        Ok(())
    }

    async fn move_case_events(&mut self, case_id: &str, assignee_id: Option<&str>) -> R<()> {
        self.execute(
            "UPDATE case_events SET assignee_id = $2 WHERE case_id = $1",
            &args![case_id, assignee_id],
        )
        .await
        .map(drop)
    }

    async fn list_cases(&mut self, account_id: &str, f: &CaseFilter) -> R<Vec<CaseRecord>> {
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE account_id = $1");
        let mut args: Vec<Value> = vec![account_id.into()];
        // `#` in `cond` stands for the placeholder of `v`.
        let mut push = |sql: &mut String, cond: &str, v: Value| {
            args.push(v);
            sql.push_str(&cond.replace('#', &format!("${}", args.len())));
        };
        if let Some(s) = f.status {
            push(&mut sql, " AND status = #", s.as_str().into());
        }
        if let Some(s) = f.chat_state {
            push(&mut sql, " AND chat_state = #", s.as_str().into());
        }
        for (col, v) in [
            ("channel_id", &f.channel_id),
            ("customer_id", &f.customer_id),
            ("assignee_id", &f.assignee_id),
        ] {
            if let Some(v) = v {
                push(&mut sql, &format!(" AND {col} = #"), v.into());
            }
        }
        if f.unassigned {
            sql.push_str(" AND assignee_id IS NULL");
        }
        if let Some(label_id) = &f.label_id {
            push(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM case_labels cl WHERE cl.case_id = cases.id \
                 AND cl.label_id = #)",
                label_id.into(),
            );
        }
        if !f.include_merged {
            sql.push_str(" AND merged_into_id IS NULL");
        }
        // What matches is the domain's: both sides folded by Rust, so this
        // is a plain, locale-free comparison on every database. System
        // messages have an empty folded text and never match.
        if let Some(q) = f.q.as_deref().and_then(SearchText::parse) {
            push(
                &mut sql,
                " AND (subject_folded LIKE # ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m \
                 WHERE m.case_id = cases.id AND m.text_folded LIKE # ESCAPE '\\'))",
                contains_pattern(&q.folded()).into(),
            );
        }
        // Both names are fixed column names, never input.
        let col = f.sort.as_str();
        let (cmp, dir) = match f.order {
            SortOrder::Asc => (">", "ASC"),
            SortOrder::Desc => ("<", "DESC"),
        };
        if let Some((t, id)) = &f.cursor {
            args.push((*t).into());
            args.push(id.into());
            let (a, b) = (args.len() - 1, args.len());
            sql.push_str(&format!(" AND ({col}, id) {cmp} (${a}, ${b})"));
        }
        args.push(f.limit.max(0).into());
        sql.push_str(&format!(
            " ORDER BY {col} {dir}, id {dir} LIMIT ${}",
            args.len()
        ));
        self.all(&sql, &args, codec::case).await
    }

    async fn count_queues(&mut self, account_id: &str, agent_id: &str) -> R<QueueCounts> {
        // One pass over the account's open and pending cases (the
        // `cases_queue` index).
        self.one(
            "SELECT \
             COALESCE(SUM(CASE WHEN status = 'open' AND assignee_id = $2 THEN 1 ELSE 0 END), 0) AS mine, \
             COALESCE(SUM(CASE WHEN status = 'open' AND assignee_id IS NULL THEN 1 ELSE 0 END), 0) \
             AS unassigned, \
             COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0) AS open, \
             COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending \
             FROM cases WHERE account_id = $1 AND status IN ('open', 'pending') \
             AND merged_into_id IS NULL",
            &args![account_id, agent_id],
            |r| {
                Ok(QueueCounts {
                    mine: r.get("mine")?,
                    unassigned: r.get("unassigned")?,
                    open: r.get("open")?,
                    pending: r.get("pending")?,
                })
            },
        )
        .await
    }

    async fn add_case_label(
        &mut self,
        account_id: &str,
        case_id: &str,
        label_id: &str,
        at: Time,
    ) -> R<bool> {
        let n = self
            .execute(
                "INSERT INTO case_labels (case_id, label_id, account_id, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &args![case_id, label_id, account_id, at],
            )
            .await?;
        Ok(n > 0)
    }

    async fn remove_case_label(&mut self, case_id: &str, label_id: &str) -> R<bool> {
        let n = self
            .execute(
                "DELETE FROM case_labels WHERE case_id = $1 AND label_id = $2",
                &args![case_id, label_id],
            )
            .await?;
        Ok(n > 0)
    }

    async fn case_labels(
        &mut self,
        account_id: &str,
        case_ids: &[String],
    ) -> R<Vec<(String, LabelRecord)>> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement per call; a page holds at most a thousand cases,
        // far below either database's limit of bound parameters.
        let sql = format!(
            "SELECT cl.case_id, {} FROM case_labels cl JOIN labels l ON l.id = cl.label_id \
             WHERE cl.account_id = $1 AND cl.case_id IN ({}) ORDER BY cl.case_id, l.name_folded",
            qualified(LABEL_COLUMNS, "l"),
            placeholders(2, case_ids.len())
        );
        let args: Vec<Value> = std::iter::once(account_id.into())
            .chain(case_ids.iter().map(Value::from))
            .collect();
        self.all(&sql, &args, |r| Ok((r.get("case_id")?, codec::label(r)?)))
            .await
    }
}

/// One statement of [`CaseTx::update_cases`]: the columns that differ from
/// the stored case in any of `chunk`'s rows (every column of a row given
/// without it), for the rows where any does.
async fn update_chunk<S: Sql + ?Sized>(
    s: &mut S,
    chunk: &[(Option<&CaseRecord>, &CaseRecord)],
) -> R<()> {
    // Each row as stored (when given), as it is to be, and its case.
    type Values = Vec<Value>;
    let rows: Vec<(Option<Values>, Values, &CaseRecord)> = chunk
        .iter()
        .map(|(stored, case)| {
            (
                stored.map(codec::case_values),
                codec::case_values(case),
                *case,
            )
        })
        .collect();
    let changed: Vec<(usize, &str)> = case_update_columns()
        .filter(|(i, _)| {
            rows.iter()
                .any(|(was, values, _)| was.as_ref().is_none_or(|was| was[*i] != values[*i]))
        })
        .collect();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|(was, values, _)| {
            was.as_ref()
                .is_none_or(|was| changed.iter().any(|(i, _)| was[*i] != values[*i]))
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // A row once written is its case when it was given as the memo knows
    // it and its identity (never written) is the same.
    let known: Vec<&CaseRecord> = {
        let memo = s.memo();
        match memo {
            None => Vec::new(),
            Some(memo) => chunk
                .iter()
                .filter_map(|(stored, case)| {
                    let stored = (*stored)?;
                    let same_identity = codec::case_values(stored)
                        .iter()
                        .zip(codec::case_values(case))
                        .zip(case_columns())
                        .filter(|(_, c)| IDENTITY.contains(c))
                        .all(|((was, is), _)| *was == is);
                    (same_identity && memo.case(&stored.id) == Some(stored)).then_some(*case)
                })
                .collect(),
        }
    };
    // id and account_id lead case_values.
    let picked = |values: &[Value]| -> Vec<Value> {
        [0, 1]
            .into_iter()
            .chain(changed.iter().map(|(i, _)| *i))
            .map(|i| values[i].clone())
            .collect()
    };
    let args: Vec<Value> = rows
        .iter()
        .flat_map(|(_, values, _)| picked(values))
        .collect();
    let sql = if rows.len() == 1 {
        let sets = changed
            .iter()
            .enumerate()
            .map(|(n, (_, c))| format!("{c} = ${}", n + 3))
            .collect::<Vec<_>>()
            .join(", ");
        format!("UPDATE cases SET {sets} WHERE id = $1 AND account_id = $2")
    } else {
        let columns = ["id", "account_id"]
            .into_iter()
            .chain(changed.iter().map(|(_, c)| *c))
            .collect::<Vec<_>>()
            .join(", ");
        let sets = changed
            .iter()
            .map(|(_, c)| format!("{c} = v.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "WITH v ({columns}) AS (VALUES {}) UPDATE cases SET {sets} FROM v \
             WHERE cases.id = v.id AND cases.account_id = v.account_id",
            row_placeholders(rows.len(), changed.len() + 2)
        )
    };
    let written = s.execute(&sql, &args).await;
    if let Some(memo) = s.memo() {
        for (_, _, case) in &rows {
            memo.forget_case(&case.id);
        }
        if written.is_ok() {
            known.iter().for_each(|c| memo.keep_case(c));
        }
    }
    if written? < rows.len() as u64 {
        return Err(crate::StoreError::NotFound);
    }
    Ok(())
}

/// Locks the customers of these cases in [`customer_lock_order`]. The
/// cases' customers are read by key first (a join of cases and customers
/// here was planned as a hash join over every customer: 73 ms a call at
/// 30,000 chats). Up to [`LOCKED_AT_ONCE`] customers are locked in one
/// statement, ordered by SQL; more are ordered here and locked in chunks in
/// that order.
async fn lock_customers_of<S: Sql + ?Sized>(s: &mut S, case_ids: &[String]) -> R<()> {
    let mut ids: Vec<String> = Vec::new();
    for chunk in case_ids.chunks(LOCKED_AT_ONCE) {
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        let sql = s
            .dialect()
            .probe("cases", "customer_id", &["id"], chunk.len());
        ids.extend(s.all(&sql, &args, |r| r.get("customer_id")).await?);
    }
    ids.sort();
    ids.dedup();
    if ids.len() > LOCKED_AT_ONCE {
        let mut keyed: Vec<(String, String, String)> = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(LOCKED_AT_ONCE) {
            let args: Vec<Value> = chunk.iter().map(Value::from).collect();
            let sql = s.dialect().probe(
                "customers",
                "id, channel_id, external_id",
                &["id"],
                chunk.len(),
            );
            keyed.extend(
                s.all(&sql, &args, |r| {
                    Ok((r.get("channel_id")?, r.get("external_id")?, r.get("id")?))
                })
                .await?,
            );
        }
        keyed.sort();
        ids = keyed.into_iter().map(|(_, _, id)| id).collect();
    }
    let order = customer_lock_order(s.dialect());
    for chunk in ids.chunks(LOCKED_AT_ONCE) {
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        let sql = format!(
            "SELECT id FROM customers WHERE id IN ({}) ORDER BY {order}{}",
            placeholders(1, chunk.len()),
            s.dialect().for_update()
        );
        s.query(&sql, &args).await?;
    }
    Ok(())
}

/// Most customers [`lock_customers_of`] locks in one statement.
const LOCKED_AT_ONCE: usize = 1000;
