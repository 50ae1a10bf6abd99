//! The entries of limits several servers share (docs/security.md): each
//! counts against its key until it expires.

use casedesk_domain::Time;

use super::{R, ROWS_PER_STATEMENT, Sql, SqlExt, Value, args, placeholders};
use crate::{LimitEntries, LimitEntry, LimitTx};

#[async_trait::async_trait]
impl<S: Sql + ?Sized> LimitTx for S {
    async fn take_limit(&mut self, entry: &LimitEntry, max: i64, now: Time) -> R<Option<Time>> {
        if let Some(lock) = self.dialect().lock_limit_key() {
            self.execute(lock, &args![&entry.key]).await?;
        }
        // Added only while fewer than `max` are live: one statement on the
        // path every request takes; a refusal then reads when to come back.
        let sql = "INSERT INTO limit_entries (id, key, tag, expires_at) \
                   SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM limit_entries \
                   WHERE key = $2 AND expires_at > $5) < $6";
        let added = self
            .execute(
                sql,
                &args![
                    &entry.id,
                    &entry.key,
                    entry.tag.as_deref(),
                    entry.expires_at,
                    now,
                    max
                ],
            )
            .await?;
        if added == 1 {
            return Ok(None);
        }
        let (_, first) = self.count_limit(&entry.key, now).await?;
        Ok(Some(first.unwrap_or(now)))
    }

    async fn count_limit(&mut self, key: &str, now: Time) -> R<(i64, Option<Time>)> {
        let sql = "SELECT COUNT(*) AS live, MIN(expires_at) AS first FROM limit_entries \
                   WHERE key = $1 AND expires_at > $2";
        self.one(sql, &args![key, now], |r| {
            Ok((r.get("live")?, r.get("first")?))
        })
        .await
    }

    async fn renew_limit_entries(&mut self, ids: &[String], expires_at: Time) -> R<u64> {
        let mut kept = 0;
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut values: Vec<Value> = vec![expires_at.into()];
            values.extend(chunk.iter().map(Value::from));
            let sql = format!(
                "UPDATE limit_entries SET expires_at = $1 WHERE id IN ({})",
                placeholders(2, chunk.len())
            );
            kept += self.execute(&sql, &values).await?;
        }
        Ok(kept)
    }

    async fn delete_limit_entries(&mut self, which: LimitEntries<'_>) -> R<u64> {
        match which {
            LimitEntries::Ids(ids) => {
                let mut deleted = 0;
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let values: Vec<Value> = chunk.iter().map(Value::from).collect();
                    let sql = format!(
                        "DELETE FROM limit_entries WHERE id IN ({})",
                        placeholders(1, chunk.len())
                    );
                    deleted += self.execute(&sql, &values).await?;
                }
                Ok(deleted)
            }
            LimitEntries::Key(key) => {
                self.execute("DELETE FROM limit_entries WHERE key = $1", &args![key])
                    .await
            }
            LimitEntries::Tag(tag) => {
                self.execute("DELETE FROM limit_entries WHERE tag = $1", &args![tag])
                    .await
            }
        }
    }

    async fn prune_limit_entries(&mut self, now: Time, limit: i64) -> R<u64> {
        let sql = "DELETE FROM limit_entries WHERE id IN (\
                   SELECT id FROM limit_entries WHERE expires_at <= $1 LIMIT $2)";
        self.execute(sql, &args![now, limit.max(0)]).await
    }
}
