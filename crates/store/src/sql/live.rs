//! The feed of change notices (docs/live.md): written with the unit of
//! work that made them, read in order of place by the servers' live
//! streams, pruned after a while.

use casedesk_domain::Time;

use super::{R, ROWS_PER_STATEMENT, Sql, SqlExt, Value, args, row_placeholders};
use crate::{Cursor, LiveTx, NoticeRecord, StoreError};

const NOTICE_COLUMNS: &str =
    "tx, seq, account_id, customer_id, case_id, case_number, kind, data, created_at";

fn cursor(r: &super::Row) -> R<Cursor> {
    Ok(Cursor {
        tx: r.get("tx")?,
        seq: r.get("seq")?,
    })
}

fn notice(r: &super::Row) -> R<NoticeRecord> {
    Ok(NoticeRecord {
        cursor: cursor(r)?,
        account_id: r.get("account_id")?,
        customer_id: r.get("customer_id")?,
        case_id: r.get("case_id")?,
        case_number: r.get("case_number")?,
        kind: r.get("kind")?,
        data: r.json("data")?,
        created_at: r.get("created_at")?,
    })
}

#[async_trait::async_trait]
impl<S: Sql + ?Sized> LiveTx for S {
    async fn insert_notices(&mut self, notices: &[NoticeRecord]) -> R<Vec<(String, Cursor)>> {
        let mut placed = Vec::with_capacity(notices.len());
        for chunk in notices.chunks(ROWS_PER_STATEMENT) {
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 7);
            for n in chunk {
                let data = serde_json::to_string(&n.data)
                    .map_err(|e| StoreError::Other(format!("notice data: {e}")))?;
                values.extend(args![
                    &n.account_id,
                    &n.customer_id,
                    &n.case_id,
                    n.case_number,
                    &n.kind,
                    data,
                    n.created_at,
                ]);
            }
            let sql = format!(
                "INSERT INTO notices (account_id, customer_id, case_id, case_number, kind, data, \
                 created_at) VALUES {} RETURNING account_id, tx, seq",
                row_placeholders(chunk.len(), 7)
            );
            placed.extend(
                self.all(&sql, &values, |r| Ok((r.get("account_id")?, cursor(r)?)))
                    .await?,
            );
        }
        Ok(placed)
    }

    async fn list_notices(
        &mut self,
        account_id: &str,
        after: Cursor,
        limit: i64,
    ) -> R<Vec<NoticeRecord>> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE account_id = $1 \
             AND (tx, seq) > ($2, $3) AND tx < {} ORDER BY tx, seq LIMIT $4",
            self.dialect().notice_horizon()
        );
        self.all(
            &sql,
            &args![account_id, after.tx, after.seq, limit.max(0)],
            notice,
        )
        .await
    }

    async fn last_notice(&mut self, account_id: &str) -> R<Cursor> {
        let sql = format!(
            "SELECT tx, seq FROM notices WHERE account_id = $1 AND tx < {} \
             ORDER BY tx DESC, seq DESC LIMIT 1",
            self.dialect().notice_horizon()
        );
        Ok(self
            .maybe(&sql, &args![account_id], cursor)
            .await?
            .unwrap_or_default())
    }

    async fn has_notice(&mut self, account_id: &str, at: Cursor) -> R<bool> {
        let sql = "SELECT 1 AS found FROM notices WHERE account_id = $1 AND tx = $2 AND seq = $3";
        Ok(self
            .maybe(sql, &args![account_id, at.tx, at.seq], |r| {
                r.get::<i64>("found")
            })
            .await?
            .is_some())
    }

    async fn prune_notices(&mut self, before: Time, limit: i64) -> R<u64> {
        // The oldest `limit` rows by number, of which those written before
        // `before`: reads no more than it may delete, whatever the table
        // holds. The newest row stays: SQLite would otherwise give its
        // number out again.
        let sql = "DELETE FROM notices WHERE seq IN (\
                   SELECT seq FROM (SELECT seq, created_at FROM notices ORDER BY seq LIMIT $2) \
                   AS oldest WHERE created_at < $1) \
                   AND seq < (SELECT MAX(seq) FROM notices)";
        self.execute(sql, &args![before, limit.max(0)]).await
    }
}
