//! Work due later: chat deadlines, rule timers and outbound deliveries.
//! Claims lock what they take and skip what another server holds (the
//! dialect's [`skip_locked`](super::Dialect::skip_locked)).

use casedesk_domain::Time;

use super::codec::{self, DEADLINE_COLUMNS, OUTBOX_COLUMNS, RULE_TIMER_COLUMNS};
use super::{R, ROWS_PER_STATEMENT, Sql, SqlExt, Value, args, placeholders, row_placeholders};
use crate::{
    Deadline, DeadlineKind, OutboxItem, OutboxOutcome, OutboxState, OutboxUpdate, RuleTimer,
    ScheduleTx,
};

/// The condition of `outbox` rows in a state.
fn outbox_state_sql(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Pending => "delivered_at IS NULL AND failed_at IS NULL",
        OutboxState::Delivered => "delivered_at IS NOT NULL",
        OutboxState::Failed => "failed_at IS NOT NULL",
    }
}

#[async_trait::async_trait]
impl<S: Sql + ?Sized> ScheduleTx for S {
    async fn set_deadline(&mut self, d: &Deadline) -> R<()> {
        self.set_deadlines(std::slice::from_ref(d)).await
    }

    async fn set_deadlines(&mut self, deadlines: &[Deadline]) -> R<()> {
        for chunk in deadlines.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<Value> = chunk
                .iter()
                .flat_map(|d| args![&d.case_id, d.kind.as_str(), &d.account_id, d.due_at])
                .collect();
            let sql = format!(
                "INSERT INTO chat_deadlines (case_id, kind, account_id, due_at) VALUES {} \
                 ON CONFLICT (case_id, kind, account_id) DO UPDATE SET due_at = excluded.due_at",
                row_placeholders(chunk.len(), 4)
            );
            self.execute(&sql, &values).await?;
        }
        Ok(())
    }

    async fn clear_deadlines(&mut self, case_id: &str) -> R<()> {
        self.execute(
            "DELETE FROM chat_deadlines WHERE case_id = $1",
            &args![case_id],
        )
        .await
        .map(drop)
    }

    async fn next_deadline_at(&mut self) -> R<Option<Time>> {
        self.one(
            "SELECT MIN(due_at) AS due_at FROM chat_deadlines",
            &[],
            |r| r.get("due_at"),
        )
        .await
    }

    async fn claim_due_deadlines(&mut self, now: Time, limit: i64) -> R<Vec<Deadline>> {
        let sql = format!(
            "SELECT {DEADLINE_COLUMNS} FROM chat_deadlines WHERE due_at <= $1 \
             ORDER BY due_at, case_id, kind LIMIT $2{}",
            self.dialect().skip_locked()
        );
        self.all(&sql, &args![now, limit.max(0)], codec::deadline)
            .await
    }

    async fn delete_deadline(&mut self, case_id: &str, kind: DeadlineKind) -> R<()> {
        self.delete_deadlines(&[(case_id.to_owned(), kind)]).await
    }

    async fn delete_deadlines(&mut self, deadlines: &[(String, DeadlineKind)]) -> R<()> {
        for kind in [DeadlineKind::Warn, DeadlineKind::Finish] {
            let ids: Vec<Value> = deadlines
                .iter()
                .filter(|(_, k)| *k == kind)
                .map(|(id, _)| Value::from(id))
                .collect();
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "DELETE FROM chat_deadlines WHERE kind = $1 AND case_id IN ({})",
                    placeholders(2, chunk.len())
                );
                let args: Vec<Value> = std::iter::once(Value::from(kind.as_str()))
                    .chain(chunk.iter().cloned())
                    .collect();
                self.execute(&sql, &args).await?;
            }
        }
        Ok(())
    }

    async fn list_deadlines(&mut self, case_id: &str) -> R<Vec<Deadline>> {
        self.list_deadlines_of(&[case_id.to_owned()]).await
    }

    async fn list_deadlines_of(&mut self, case_ids: &[String]) -> R<Vec<Deadline>> {
        let mut deadlines = Vec::new();
        for chunk in case_ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT {DEADLINE_COLUMNS} FROM chat_deadlines WHERE case_id IN ({}) \
                 ORDER BY case_id, due_at, kind",
                placeholders(1, chunk.len())
            );
            let args: Vec<Value> = chunk.iter().map(Value::from).collect();
            deadlines.extend(self.all(&sql, &args, codec::deadline).await?);
        }
        Ok(deadlines)
    }

    async fn set_rule_timer(&mut self, t: &RuleTimer, replace: bool) -> R<()> {
        let on_conflict = if replace {
            "DO UPDATE SET due_at = excluded.due_at"
        } else {
            "DO NOTHING"
        };
        self.execute(
            &format!(
                "INSERT INTO rule_timers ({RULE_TIMER_COLUMNS}) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (case_id, rule_id, account_id) {on_conflict}"
            ),
            &args![&t.case_id, &t.rule_id, &t.account_id, t.due_at],
        )
        .await
        .map(drop)
    }

    async fn delete_rule_timer(&mut self, case_id: &str, rule_id: &str) -> R<()> {
        self.execute(
            "DELETE FROM rule_timers WHERE case_id = $1 AND rule_id = $2",
            &args![case_id, rule_id],
        )
        .await
        .map(drop)
    }

    async fn delete_rule_timers(&mut self, rule_id: &str) -> R<()> {
        self.execute(
            "DELETE FROM rule_timers WHERE rule_id = $1",
            &args![rule_id],
        )
        .await
        .map(drop)
    }

    async fn list_rule_timers(&mut self, case_id: &str) -> R<Vec<RuleTimer>> {
        let sql = format!(
            "SELECT {RULE_TIMER_COLUMNS} FROM rule_timers WHERE case_id = $1 \
             ORDER BY due_at, rule_id"
        );
        self.all(&sql, &args![case_id], codec::rule_timer).await
    }

    async fn next_rule_timer_at(&mut self) -> R<Option<Time>> {
        self.one("SELECT MIN(due_at) AS due_at FROM rule_timers", &[], |r| {
            r.get("due_at")
        })
        .await
    }

    async fn claim_due_rule_timers(&mut self, now: Time, limit: i64) -> R<Vec<RuleTimer>> {
        let sql = format!(
            "SELECT {RULE_TIMER_COLUMNS} FROM rule_timers WHERE due_at <= $1 \
             ORDER BY due_at, case_id, rule_id LIMIT $2{}",
            self.dialect().skip_locked()
        );
        self.all(&sql, &args![now, limit.max(0)], codec::rule_timer)
            .await
    }

    async fn insert_outbox(&mut self, o: &OutboxItem) -> R<()> {
        self.execute(
            &format!(
                "INSERT INTO outbox ({OUTBOX_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &args![
                &o.id,
                &o.account_id,
                &o.channel_id,
                &o.message_id,
                &o.url,
                &o.body,
                o.attempts,
                o.next_attempt_at,
                o.created_at,
                o.last_attempt_at,
                &o.last_error,
                o.delivered_at,
                o.failed_at
            ],
        )
        .await
        .map(drop)
    }

    async fn claim_outbox(
        &mut self,
        now: Time,
        lease_until: Time,
        limit: i64,
    ) -> R<Vec<OutboxItem>> {
        // Pick due items nobody else holds, then lease them; the items come
        // back as they were before the lease.
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivered_at IS NULL \
             AND failed_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2{}",
            self.dialect().skip_locked()
        );
        let items = self
            .all(&sql, &args![now, limit.max(0)], codec::outbox_item)
            .await?;
        if !items.is_empty() {
            let args: Vec<Value> = std::iter::once(lease_until.into())
                .chain(items.iter().map(|i| Value::from(&i.id)))
                .collect();
            self.execute(
                &format!(
                    "UPDATE outbox SET next_attempt_at = $1 WHERE id IN ({})",
                    placeholders(2, items.len())
                ),
                &args,
            )
            .await?;
        }
        Ok(items)
    }

    async fn finish_outbox(&mut self, u: &OutboxUpdate) -> R<()> {
        let (column, at) = match u.outcome {
            OutboxOutcome::Delivered => ("delivered_at", u.now),
            OutboxOutcome::Retry(at) => ("next_attempt_at", at),
            OutboxOutcome::Failed => ("failed_at", u.now),
        };
        self.found(
            &format!(
                "UPDATE outbox SET {column} = $2, attempts = $3, last_error = $4, \
                 last_attempt_at = $5 WHERE id = $1"
            ),
            &args![&u.id, at, u.attempts, &u.last_error, u.now],
        )
        .await
    }

    async fn next_outbox_at(&mut self) -> R<Option<Time>> {
        self.one(
            "SELECT MIN(next_attempt_at) AS due_at FROM outbox \
             WHERE delivered_at IS NULL AND failed_at IS NULL",
            &[],
            |r| r.get("due_at"),
        )
        .await
    }

    async fn list_outbox(
        &mut self,
        account_id: &str,
        channel_id: &str,
        state: Option<OutboxState>,
        limit: i64,
    ) -> R<Vec<OutboxItem>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE account_id = $1 AND channel_id = $2 \
             AND {} ORDER BY created_at DESC, id DESC LIMIT $3",
            state.map_or("TRUE", outbox_state_sql)
        );
        self.all(
            &sql,
            &args![account_id, channel_id, limit.max(0)],
            codec::outbox_item,
        )
        .await
    }

    async fn get_outbox(&mut self, account_id: &str, id: &str) -> R<OutboxItem> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1 AND account_id = $2");
        self.one(&sql, &args![id, account_id], codec::outbox_item)
            .await
    }

    async fn list_case_deliveries(
        &mut self,
        account_id: &str,
        case_id: &str,
    ) -> R<Vec<OutboxItem>> {
        let sql = format!(
            "SELECT {} FROM outbox o JOIN messages m ON m.id = o.message_id \
             WHERE o.account_id = $1 AND m.case_id = $2 ORDER BY o.created_at, o.id",
            codec::qualified(OUTBOX_COLUMNS, "o")
        );
        self.all(&sql, &args![account_id, case_id], codec::outbox_item)
            .await
    }

    async fn count_automatic_replies(
        &mut self,
        account_id: &str,
        customer_id: &str,
        since: Time,
    ) -> R<i64> {
        self.one(
            "SELECT COUNT(*) AS n FROM cases c JOIN messages m ON m.case_id = c.id \
             JOIN outbox o ON o.message_id = m.id \
             WHERE c.account_id = $1 AND c.customer_id = $2 AND m.author_type = 'system' \
             AND o.delivered_at >= $3",
            &args![account_id, customer_id, since],
            |r| r.get("n"),
        )
        .await
    }

    async fn requeue_outbox(&mut self, account_id: &str, id: &str, now: Time) -> R<bool> {
        let n = self
            .execute(
                "UPDATE outbox SET attempts = 0, failed_at = NULL, next_attempt_at = $3 \
                 WHERE id = $1 AND account_id = $2 AND delivered_at IS NULL",
                &args![id, account_id, now],
            )
            .await?;
        Ok(n > 0)
    }
}
