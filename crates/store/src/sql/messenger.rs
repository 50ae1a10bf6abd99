//! Messenger channels: their secrets, the raw updates they deliver and the
//! long-polling lease of each bot.

use casedesk_domain::Time;

use super::codec::{self, CHANNEL_SECRET_COLUMNS, CHANNEL_UPDATE_COLUMNS};
use super::{R, Sql, SqlExt, Value, args, placeholders};
use crate::{
    ChannelSecretRecord, ChannelUpdate, MessengerTx, PollPosition, UpdateFinish, UpdateOutcome,
    UpdateState,
};

/// The condition of `channel_updates` rows in a state.
fn update_state_sql(state: UpdateState) -> &'static str {
    match state {
        UpdateState::Pending => "processed_at IS NULL AND failed_at IS NULL",
        UpdateState::Processed => "processed_at IS NOT NULL",
        UpdateState::Failed => "failed_at IS NOT NULL",
    }
}

#[async_trait::async_trait]
impl<S: Sql + ?Sized> MessengerTx for S {
    async fn upsert_channel_secret(&mut self, c: &ChannelSecretRecord) -> R<()> {
        let values = codec::channel_secret_values(c)?;
        self.execute(
            &format!(
                "INSERT INTO channel_secrets ({CHANNEL_SECRET_COLUMNS}) VALUES ({}) \
                 ON CONFLICT (channel_id, account_id) DO UPDATE SET secret = excluded.secret, \
                 webhook_secret = excluded.webhook_secret, settings = excluded.settings, \
                 updated_at = excluded.updated_at",
                placeholders(1, values.len())
            ),
            &values,
        )
        .await
        .map(drop)
    }

    async fn get_channel_secret(&mut self, channel_id: &str) -> R<Option<ChannelSecretRecord>> {
        let sql =
            format!("SELECT {CHANNEL_SECRET_COLUMNS} FROM channel_secrets WHERE channel_id = $1");
        self.maybe(&sql, &args![channel_id], codec::channel_secret)
            .await
    }

    async fn insert_channel_update(&mut self, u: &ChannelUpdate) -> R<bool> {
        // Stored before when either its update_id or its key is.
        let values = codec::channel_update_values(u);
        let n = self
            .execute(
                &format!(
                    "INSERT INTO channel_updates ({CHANNEL_UPDATE_COLUMNS}) VALUES ({}) \
                     ON CONFLICT DO NOTHING",
                    placeholders(1, values.len())
                ),
                &values,
            )
            .await?;
        Ok(n > 0)
    }

    async fn next_update_id(&mut self, channel_id: &str) -> R<i64> {
        let sql = self.dialect().next_update_id();
        self.one(sql, &args![channel_id], |r| r.get("id")).await
    }

    async fn claim_channel_updates(
        &mut self,
        now: Time,
        lease_until: Time,
        limit: i64,
    ) -> R<Vec<ChannelUpdate>> {
        // An update waits while an earlier one of its chat is pending, even
        // one retrying later or held by another server: a chat's order holds.
        // Each chat's earliest pending update is found once, in one pass
        // over the pending index, and joined by key: linear whatever the
        // planner's statistics say. (As a correlated subquery, a table
        // analysed while empty made PostgreSQL scan every pending update
        // for every pending update: seconds per claim on a burst.)
        let sql = format!(
            "WITH heads AS MATERIALIZED (SELECT channel_id, MIN(update_id) AS first_id \
               FROM channel_updates WHERE processed_at IS NULL AND failed_at IS NULL \
               GROUP BY channel_id, chat_key) \
             SELECT {} FROM heads h JOIN channel_updates u \
               ON u.channel_id = h.channel_id AND u.update_id = h.first_id \
             WHERE u.processed_at IS NULL AND u.failed_at IS NULL AND u.next_attempt_at <= $1 \
             ORDER BY u.next_attempt_at, u.channel_id, u.update_id LIMIT $2{}",
            codec::qualified(CHANNEL_UPDATE_COLUMNS, "u"),
            self.dialect().skip_locked()
        );
        let mut claimed = self
            .all(&sql, &args![now, limit.max(0)], codec::channel_update)
            .await?;
        // Leased: processing happens after this unit of work commits, and
        // until `lease_until` no other worker takes the update (nor, as it
        // is still pending, any later update of its chat).
        // One statement per channel among the claimed.
        let mut channels: Vec<&str> = claimed.iter().map(|u| u.channel_id.as_str()).collect();
        channels.sort_unstable();
        channels.dedup();
        for channel in channels {
            let ids: Vec<Value> = claimed
                .iter()
                .filter(|u| u.channel_id == channel)
                .map(|u| Value::Int(u.update_id))
                .collect();
            let sql = format!(
                "UPDATE channel_updates SET next_attempt_at = $1 \
                 WHERE channel_id = $2 AND update_id IN ({})",
                placeholders(3, ids.len())
            );
            let mut values = args![lease_until, channel].to_vec();
            values.extend(ids);
            self.execute(&sql, &values).await?;
        }
        for u in &mut claimed {
            u.next_attempt_at = lease_until;
        }
        Ok(claimed)
    }

    async fn finish_channel_update(&mut self, f: &UpdateFinish) -> R<()> {
        let (column, at) = match f.outcome {
            UpdateOutcome::Processed => ("processed_at", f.now),
            UpdateOutcome::Retry(at) => ("next_attempt_at", at),
            UpdateOutcome::Failed => ("failed_at", f.now),
        };
        self.found(
            &format!(
                "UPDATE channel_updates SET {column} = $3, attempts = $4, last_error = $5 \
                 WHERE channel_id = $1 AND update_id = $2"
            ),
            &args![&f.channel_id, f.update_id, at, f.attempts, &f.last_error],
        )
        .await
    }

    async fn next_channel_update_at(&mut self) -> R<Option<Time>> {
        self.one(
            "SELECT MIN(next_attempt_at) AS due_at FROM channel_updates \
             WHERE processed_at IS NULL AND failed_at IS NULL",
            &[],
            |r| r.get("due_at"),
        )
        .await
    }

    async fn list_pending_chat_updates(
        &mut self,
        channel_id: &str,
        chat_key: &str,
        after_update_id: i64,
        limit: i64,
    ) -> R<Vec<ChannelUpdate>> {
        let sql = format!(
            "SELECT {CHANNEL_UPDATE_COLUMNS} FROM channel_updates \
             WHERE channel_id = $1 AND chat_key = $2 AND update_id > $3 AND {} \
             ORDER BY update_id LIMIT $4",
            update_state_sql(UpdateState::Pending)
        );
        self.all(
            &sql,
            &args![channel_id, chat_key, after_update_id, limit.max(0)],
            codec::channel_update,
        )
        .await
    }

    async fn requeue_channel_update(
        &mut self,
        account_id: &str,
        channel_id: &str,
        update_id: i64,
        now: Time,
    ) -> R<bool> {
        let n = self
            .execute(
                "UPDATE channel_updates SET failed_at = NULL, attempts = 0, next_attempt_at = $4 \
                 WHERE account_id = $1 AND channel_id = $2 AND update_id = $3 \
                 AND failed_at IS NOT NULL",
                &args![account_id, channel_id, update_id, now],
            )
            .await?;
        Ok(n > 0)
    }

    async fn list_channel_updates(
        &mut self,
        account_id: &str,
        channel_id: &str,
        state: Option<UpdateState>,
        limit: i64,
    ) -> R<Vec<ChannelUpdate>> {
        let sql = format!(
            "SELECT {CHANNEL_UPDATE_COLUMNS} FROM channel_updates \
             WHERE account_id = $1 AND channel_id = $2 AND {} \
             ORDER BY received_at DESC, update_id DESC LIMIT $3",
            state.map_or("TRUE", update_state_sql)
        );
        self.all(
            &sql,
            &args![account_id, channel_id, limit.max(0)],
            codec::channel_update,
        )
        .await
    }

    async fn lease_channel_poll(
        &mut self,
        channel_id: &str,
        holder: &str,
        now: Time,
        until: Time,
    ) -> R<Option<PollPosition>> {
        // One statement, so that of two servers racing for a free lease
        // exactly one row update wins.
        self.maybe(
            "INSERT INTO channel_polls (channel_id, account_id, next_offset, holder, lease_until) \
             SELECT id, account_id, 0, $2, $4 FROM channels WHERE id = $1 \
             ON CONFLICT (channel_id, account_id) DO UPDATE \
             SET holder = excluded.holder, lease_until = excluded.lease_until \
             WHERE channel_polls.holder = excluded.holder OR channel_polls.lease_until <= $3 \
             OR channel_polls.holder IS NULL \
             RETURNING next_offset, validity",
            &args![channel_id, holder, now, until],
            |r| {
                Ok(PollPosition {
                    next_offset: r.get("next_offset")?,
                    validity: r.get("validity")?,
                })
            },
        )
        .await
    }

    async fn reset_channel_poll(
        &mut self,
        channel_id: &str,
        holder: &str,
        validity: i64,
        next_offset: i64,
    ) -> R<bool> {
        let n = self
            .execute(
                "UPDATE channel_polls SET validity = $3, next_offset = $4 \
                 WHERE channel_id = $1 AND holder = $2",
                &args![channel_id, holder, validity, next_offset],
            )
            .await?;
        Ok(n > 0)
    }

    async fn save_channel_poll_offset(
        &mut self,
        channel_id: &str,
        holder: &str,
        next_offset: i64,
    ) -> R<bool> {
        let n = self
            .execute(
                // Never backwards: two rounds of one holder may overlap.
                "UPDATE channel_polls SET next_offset = \
                 CASE WHEN next_offset < $3 THEN $3 ELSE next_offset END \
                 WHERE channel_id = $1 AND holder = $2",
                &args![channel_id, holder, next_offset],
            )
            .await?;
        Ok(n > 0)
    }
}
