//! History imports: the import's progress and its staged rows, read back
//! one customer at a time in the order the worker makes cases in.

use casedesk_domain::Time;

use super::codec::{self, IMPORT_COLUMNS, IMPORT_ROW_COLUMNS};
use super::{R, ROWS_PER_STATEMENT, Sql, SqlExt, Value, args, placeholders, row_placeholders};
use crate::{ImportRecord, ImportRow, ImportState, ImportTx};

/// A `LIMIT` argument: more than the database holds is as good as none.
fn limit_value(limit: usize) -> Value {
    Value::Int(i64::try_from(limit).unwrap_or(i64::MAX))
}

#[async_trait::async_trait]
impl<S: Sql + ?Sized> ImportTx for S {
    async fn insert_import(&mut self, import: &ImportRecord) -> R<()> {
        let values = codec::import_values(import)?;
        let sql = format!(
            "INSERT INTO imports ({IMPORT_COLUMNS}) VALUES ({})",
            placeholders(1, values.len())
        );
        self.execute(&sql, &values).await.map(drop)
    }

    async fn get_import(&mut self, account_id: &str, id: &str) -> R<ImportRecord> {
        let sql = format!("SELECT {IMPORT_COLUMNS} FROM imports WHERE id = $1 AND account_id = $2");
        self.one(&sql, &args![id, account_id], codec::import).await
    }

    async fn update_import(&mut self, i: &ImportRecord) -> R<()> {
        let sql = "UPDATE imports SET state = $3, messages = $4, cases = $5, skipped = $6, \
                   error_count = $7, errors = $8, staged = $9, customers_done = $10, \
                   last_customer = $11, failure = $12, lease_until = $13, updated_at = $14 \
                   WHERE id = $1 AND account_id = $2";
        let args = args![
            &i.id,
            &i.account_id,
            i.state.as_str(),
            i.messages,
            i.cases,
            i.skipped,
            i.error_count,
            codec::import_errors_json(&i.errors)?,
            i.staged,
            i.customers_done,
            &i.last_customer,
            &i.failure,
            i.lease_until,
            i.updated_at
        ];
        self.found(sql, &args).await
    }

    async fn stage_import_rows(&mut self, rows: &[ImportRow]) -> R<()> {
        let mut imports: Vec<&str> = rows.iter().map(|r| r.import_id.as_str()).collect();
        imports.sort_unstable();
        imports.dedup();
        for import_id in imports {
            // A staged row is its import's account's (the key a database
            // distributed by account needs, migration 0022).
            let account_id: String = self
                .one(
                    "SELECT account_id FROM imports WHERE id = $1",
                    &args![import_id],
                    |r| r.get("account_id"),
                )
                .await?;
            let of_import: Vec<&ImportRow> =
                rows.iter().filter(|r| r.import_id == import_id).collect();
            for chunk in of_import.chunks(ROWS_PER_STATEMENT) {
                let values: Vec<Value> = chunk
                    .iter()
                    .flat_map(|r| codec::import_row_values(r, &account_id))
                    .collect();
                let sql = format!(
                    "INSERT INTO import_rows ({IMPORT_ROW_COLUMNS}, account_id) VALUES {} \
                     ON CONFLICT DO NOTHING",
                    row_placeholders(chunk.len(), values.len() / chunk.len())
                );
                self.execute(&sql, &values).await?;
            }
        }
        Ok(())
    }

    async fn import_customers(
        &mut self,
        import_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> R<Vec<String>> {
        // `customer_id` compares bytewise on both databases (PostgreSQL:
        // its column's collation is "C"), as Rust's `str` does: the
        // worker's resume point means the same wherever it is compared.
        let mut args = args![import_id].to_vec();
        let mut sql =
            "SELECT DISTINCT customer_id FROM import_rows WHERE import_id = $1".to_owned();
        if let Some(after) = after {
            args.push(after.into());
            sql.push_str(" AND customer_id > $2");
        }
        args.push(limit_value(limit));
        sql.push_str(&format!(" ORDER BY customer_id LIMIT ${}", args.len()));
        self.all(&sql, &args, |r| r.get("customer_id")).await
    }

    async fn import_rows(
        &mut self,
        import_id: &str,
        customer_id: &str,
        after: Option<(Time, i64)>,
        limit: usize,
    ) -> R<Vec<ImportRow>> {
        let mut args = args![import_id, customer_id].to_vec();
        let mut sql = format!(
            "SELECT {IMPORT_ROW_COLUMNS} FROM import_rows WHERE import_id = $1 AND customer_id = $2"
        );
        if let Some((at, n)) = after {
            args.extend(args![at, n]);
            sql.push_str(" AND (at, n) > ($3, $4)");
        }
        args.push(limit_value(limit));
        sql.push_str(&format!(" ORDER BY at, n LIMIT ${}", args.len()));
        self.all(&sql, &args, codec::import_row).await
    }

    async fn claim_imports(
        &mut self,
        now: Time,
        until: Time,
        limit: usize,
    ) -> R<Vec<ImportRecord>> {
        // A `receiving` import is held by its upload, which renews the
        // lease while it reads; one whose lease ran out was cut off.
        let sql = format!(
            "SELECT {IMPORT_COLUMNS} FROM imports \
             WHERE (state = $1 AND (lease_until IS NULL OR lease_until <= $3)) \
             OR (state = $2 AND lease_until <= $3) \
             ORDER BY created_at, id LIMIT $4{}",
            self.dialect().skip_locked()
        );
        let mut claimed = self
            .all(
                &sql,
                &args![
                    ImportState::Splitting.as_str(),
                    ImportState::Receiving.as_str(),
                    now,
                    limit_value(limit)
                ],
                codec::import,
            )
            .await?;
        if claimed.is_empty() {
            return Ok(claimed);
        }
        let mut values = vec![Value::from(until)];
        values.extend(claimed.iter().map(|i| Value::from(&i.id)));
        let sql = format!(
            "UPDATE imports SET lease_until = $1 WHERE id IN ({})",
            placeholders(2, claimed.len())
        );
        self.execute(&sql, &values).await?;
        for i in &mut claimed {
            i.lease_until = Some(until);
        }
        Ok(claimed)
    }

    async fn delete_import_rows(&mut self, import_id: &str) -> R<u64> {
        self.execute(
            "DELETE FROM import_rows WHERE import_id = $1",
            &args![import_id],
        )
        .await
    }

    async fn list_imports(&mut self, account_id: &str, limit: usize) -> R<Vec<ImportRecord>> {
        let sql = format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE account_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        self.all(
            &sql,
            &[account_id.into(), limit_value(limit)],
            codec::import,
        )
        .await
    }
}
