//! The queries of one unit of work, on one PostgreSQL transaction.

use casedesk_domain::search::{SearchText, contains_pattern};
use casedesk_domain::{AutoFinishSettings, MessageKind, Time};
use casedesk_store::{
    AccountRecord, AgentRecord, AttachmentRecord, CaseFilter, CaseRecord, ChannelRecord,
    CustomerRecord, Deadline, DeadlineKind, EventRecord, HelpTokenRecord, LabelRecord,
    MessageRecord, MessageSummary, OutboxItem, OutboxOutcome, OutboxState, OutboxUpdate,
    ReactionRecord, RuleRecord, RuleTimer, SortOrder, StoreError, TemplateRecord, TokenRecord, Tx,
    VisitorRecord,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row, Transaction};

use crate::map_err;
use crate::rows::{self, micros, opt_micros};

type R<T> = Result<T, StoreError>;
type Query<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// One open transaction; [`crate::PostgresStore`] commits or rolls it back.
pub(crate) struct PgTx {
    tx: Transaction<'static, Postgres>,
}

impl PgTx {
    pub(crate) fn new(tx: Transaction<'static, Postgres>) -> PgTx {
        PgTx { tx }
    }

    pub(crate) fn into_inner(self) -> Transaction<'static, Postgres> {
        self.tx
    }

    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Runs a statement and returns how many rows it changed.
    async fn exec(&mut self, query: Query<'_>) -> R<u64> {
        Ok(query
            .execute(self.conn())
            .await
            .map_err(map_err)?
            .rows_affected())
    }

    async fn one(&mut self, query: Query<'_>) -> R<PgRow> {
        query.fetch_one(self.conn()).await.map_err(map_err)
    }

    async fn optional(&mut self, query: Query<'_>) -> R<Option<PgRow>> {
        query.fetch_optional(self.conn()).await.map_err(map_err)
    }

    async fn many(&mut self, query: Query<'_>) -> R<Vec<PgRow>> {
        query.fetch_all(self.conn()).await.map_err(map_err)
    }
}

/// An UPDATE of one known row: no row means it does not exist (here).
fn found(rows_affected: u64) -> R<()> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn hours_json(h: &casedesk_domain::BusinessHours) -> String {
    serde_json::to_string(h).unwrap_or_default()
}

#[async_trait::async_trait]
impl Tx for PgTx {
    async fn insert_account(&mut self, account: &AccountRecord) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO accounts (id, name, chat_auto_finish_after_seconds, \
             chat_auto_finish_warning_seconds, created_at, time_zone, business_hours) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&account.id)
        .bind(&account.name)
        .bind(account.settings.after_seconds())
        .bind(account.settings.warning_seconds())
        .bind(micros(account.created_at))
        .bind(account.time_zone.name())
        .bind(account.business_hours.as_ref().map(hours_json));
        self.exec(q).await.map(drop)
    }

    async fn get_account(&mut self, account_id: &str) -> R<AccountRecord> {
        let sql = format!(
            "SELECT {} FROM accounts WHERE id = $1",
            rows::ACCOUNT_COLUMNS
        );
        rows::account(&self.one(sqlx::query(&sql).bind(account_id)).await?)
    }

    async fn count_accounts(&mut self) -> R<i64> {
        let row = self
            .one(sqlx::query("SELECT COUNT(*) AS n FROM accounts"))
            .await?;
        row.try_get("n").map_err(map_err)
    }

    async fn list_account_ids(&mut self, limit: i64) -> R<Vec<String>> {
        let q = sqlx::query("SELECT id FROM accounts ORDER BY created_at, id LIMIT $1")
            .bind(limit.max(0));
        self.many(q)
            .await?
            .iter()
            .map(|r| r.try_get("id").map_err(map_err))
            .collect()
    }

    async fn update_account_settings(
        &mut self,
        account_id: &str,
        settings: AutoFinishSettings,
    ) -> R<()> {
        let q = sqlx::query(
            "UPDATE accounts SET chat_auto_finish_after_seconds = $2, \
             chat_auto_finish_warning_seconds = $3 WHERE id = $1",
        )
        .bind(account_id)
        .bind(settings.after_seconds())
        .bind(settings.warning_seconds());
        found(self.exec(q).await?)
    }

    async fn next_case_number(&mut self, account_id: &str) -> R<i64> {
        // The row lock this takes serializes numbering within the account
        // until commit, so numbers have no gaps and never repeat.
        let q = sqlx::query(
            "UPDATE accounts SET next_case_number = next_case_number + 1 WHERE id = $1 \
             RETURNING next_case_number - 1 AS number",
        )
        .bind(account_id);
        self.one(q).await?.try_get("number").map_err(map_err)
    }

    async fn insert_agent(&mut self, agent: &AgentRecord) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO agents (id, account_id, email, name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&agent.id)
        .bind(&agent.account_id)
        .bind(&agent.email)
        .bind(&agent.name)
        .bind(agent.role.as_str())
        .bind(&agent.password_hash)
        .bind(micros(agent.created_at));
        self.exec(q).await.map(drop)
    }

    async fn get_agent(&mut self, account_id: &str, agent_id: &str) -> R<AgentRecord> {
        let sql = format!(
            "SELECT {} FROM agents WHERE account_id = $1 AND id = $2",
            rows::AGENT_COLUMNS
        );
        rows::agent(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(agent_id))
                .await?,
        )
    }

    async fn find_agent_by_email(&mut self, email: &str) -> R<Option<AgentRecord>> {
        let sql = format!(
            "SELECT {} FROM agents WHERE email = $1",
            rows::AGENT_COLUMNS
        );
        let row = self.optional(sqlx::query(&sql).bind(email)).await?;
        row.as_ref().map(rows::agent).transpose()
    }

    async fn list_agents(&mut self, account_id: &str) -> R<Vec<AgentRecord>> {
        let sql = format!(
            "SELECT {} FROM agents WHERE account_id = $1 ORDER BY created_at, id",
            rows::AGENT_COLUMNS
        );
        rows::all(
            &self.many(sqlx::query(&sql).bind(account_id)).await?,
            rows::agent,
        )
    }

    async fn set_agent_password(&mut self, agent_id: &str, password_hash: &str) -> R<()> {
        let q = sqlx::query("UPDATE agents SET password_hash = $2 WHERE id = $1")
            .bind(agent_id)
            .bind(password_hash);
        found(self.exec(q).await?)
    }

    async fn update_agent(&mut self, agent: &AgentRecord) -> R<()> {
        let q = sqlx::query(
            "UPDATE agents SET email = $2, name = $3, role = $4, disabled_at = $5, \
             deleted_at = $6 WHERE id = $1",
        )
        .bind(&agent.id)
        .bind(&agent.email)
        .bind(&agent.name)
        .bind(agent.role.as_str())
        .bind(rows::opt_micros(agent.disabled_at))
        .bind(rows::opt_micros(agent.deleted_at));
        found(self.exec(q).await?)
    }

    async fn delete_agent_tokens(&mut self, agent_id: &str) -> R<u64> {
        let q = sqlx::query("DELETE FROM api_tokens WHERE agent_id = $1").bind(agent_id);
        self.exec(q).await
    }

    async fn insert_token(&mut self, token: &TokenRecord) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO api_tokens (token_hash, account_id, agent_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.token_hash)
        .bind(&token.account_id)
        .bind(&token.agent_id)
        .bind(micros(token.created_at))
        .bind(micros(token.expires_at));
        self.exec(q).await.map(drop)
    }

    async fn find_token(&mut self, token_hash: &str) -> R<Option<TokenRecord>> {
        let sql = format!(
            "SELECT {} FROM api_tokens WHERE token_hash = $1",
            rows::TOKEN_COLUMNS
        );
        let row = self.optional(sqlx::query(&sql).bind(token_hash)).await?;
        row.as_ref().map(rows::token).transpose()
    }

    async fn delete_token(&mut self, token_hash: &str) -> R<()> {
        let q = sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1").bind(token_hash);
        self.exec(q).await.map(drop)
    }

    async fn insert_channel(&mut self, channel: &ChannelRecord) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO channels (id, account_id, kind, name, webhook_url, inbound_token, \
             created_at, allowed_origins) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&channel.id)
        .bind(&channel.account_id)
        .bind(channel.kind.as_str())
        .bind(&channel.name)
        .bind(&channel.webhook_url)
        .bind(&channel.inbound_token)
        .bind(micros(channel.created_at))
        .bind(rows::origins_json(&channel.allowed_origins));
        self.exec(q).await.map(drop)
    }

    async fn find_channel(&mut self, channel_id: &str) -> R<Option<ChannelRecord>> {
        let sql = format!(
            "SELECT {} FROM channels WHERE id = $1",
            rows::CHANNEL_COLUMNS
        );
        let row = self.optional(sqlx::query(&sql).bind(channel_id)).await?;
        row.as_ref().map(rows::channel).transpose()
    }

    async fn list_channels(&mut self, account_id: &str) -> R<Vec<ChannelRecord>> {
        let sql = format!(
            "SELECT {} FROM channels WHERE account_id = $1 ORDER BY created_at, id",
            rows::CHANNEL_COLUMNS
        );
        rows::all(
            &self.many(sqlx::query(&sql).bind(account_id)).await?,
            rows::channel,
        )
    }

    async fn upsert_customer_locked(&mut self, new: &CustomerRecord) -> R<CustomerRecord> {
        // DO NOTHING waits for a concurrent insert of the same identity to
        // commit; the row lock below then orders the routing decisions.
        let insert = sqlx::query(
            "INSERT INTO customers (id, account_id, channel_id, external_id, name, \
             latest_case_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (channel_id, external_id) DO NOTHING",
        )
        .bind(&new.id)
        .bind(&new.account_id)
        .bind(&new.channel_id)
        .bind(&new.external_id)
        .bind(&new.name)
        .bind(&new.latest_case_id)
        .bind(micros(new.created_at));
        self.exec(insert).await?;
        let sql = format!(
            "SELECT {} FROM customers WHERE account_id = $1 AND channel_id = $2 \
             AND external_id = $3 FOR UPDATE",
            rows::CUSTOMER_COLUMNS
        );
        let lock = sqlx::query(&sql)
            .bind(&new.account_id)
            .bind(&new.channel_id)
            .bind(&new.external_id);
        let mut customer = rows::customer(&self.one(lock).await?)?;
        if new.name.is_some() && new.name != customer.name {
            let rename = sqlx::query("UPDATE customers SET name = $2 WHERE id = $1")
                .bind(&customer.id)
                .bind(&new.name);
            self.exec(rename).await?;
            customer.name.clone_from(&new.name);
        }
        Ok(customer)
    }

    async fn get_customer(&mut self, account_id: &str, customer_id: &str) -> R<CustomerRecord> {
        let sql = format!(
            "SELECT {} FROM customers WHERE account_id = $1 AND id = $2",
            rows::CUSTOMER_COLUMNS
        );
        rows::customer(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(customer_id))
                .await?,
        )
    }

    async fn lock_customer(&mut self, account_id: &str, customer_id: &str) -> R<CustomerRecord> {
        let sql = format!(
            "SELECT {} FROM customers WHERE account_id = $1 AND id = $2 FOR UPDATE",
            rows::CUSTOMER_COLUMNS
        );
        rows::customer(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(customer_id))
                .await?,
        )
    }

    async fn set_customer_latest_case(
        &mut self,
        customer_id: &str,
        latest_case_id: Option<&str>,
    ) -> R<()> {
        let q = sqlx::query("UPDATE customers SET latest_case_id = $2 WHERE id = $1")
            .bind(customer_id)
            .bind(latest_case_id);
        found(self.exec(q).await?)
    }

    async fn insert_case(&mut self, case: &CaseRecord) -> R<()> {
        let s = &case.state;
        let reopen = s.reopen.as_ref();
        let q = sqlx::query(
            "INSERT INTO cases (id, account_id, number, channel_id, customer_id, subject, \
             status, chat_state, assignee_id, created_at, updated_at, last_activity_at, \
             finished_at, closed_at, reopen_from_seq, reopen_status_before, \
             reopen_finished_at_before, last_public_author, previous_case_id, next_case_id, \
             merged_into_id, message_count, unread, first_response_at) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
             $22, $23, $24)",
        )
        .bind(&case.id)
        .bind(&case.account_id)
        .bind(case.number)
        .bind(&case.channel_id)
        .bind(&case.customer_id)
        .bind(&case.subject)
        .bind(s.status.as_str())
        .bind(s.chat_state.map(|c| c.as_str()))
        .bind(&case.assignee_id)
        .bind(micros(case.created_at))
        .bind(micros(case.updated_at))
        .bind(micros(case.last_activity_at))
        .bind(opt_micros(s.finished_at))
        .bind(opt_micros(s.closed_at))
        .bind(reopen.map(|r| r.from_seq))
        .bind(reopen.map(|r| r.status_before.as_str()))
        .bind(reopen.and_then(|r| opt_micros(r.finished_at_before)))
        .bind(s.last_public_author.map(|a| a.as_str()))
        .bind(&case.previous_case_id)
        .bind(&case.next_case_id)
        .bind(&case.merged_into_id)
        .bind(case.message_count)
        .bind(case.unread)
        .bind(opt_micros(case.first_response_at));
        self.exec(q).await.map(drop)
    }

    async fn get_case(&mut self, account_id: &str, case_id: &str) -> R<CaseRecord> {
        let sql = format!(
            "SELECT {} FROM cases WHERE account_id = $1 AND id = $2",
            rows::CASE_COLUMNS
        );
        rows::case(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(case_id))
                .await?,
        )
    }

    async fn update_case(&mut self, case: &CaseRecord) -> R<()> {
        let s = &case.state;
        let reopen = s.reopen.as_ref();
        // Identity (number, channel, customer, creation) never changes.
        let q = sqlx::query(
            "UPDATE cases SET subject = $3, status = $4, chat_state = $5, assignee_id = $6, \
             updated_at = $7, last_activity_at = $8, finished_at = $9, closed_at = $10, \
             reopen_from_seq = $11, reopen_status_before = $12, reopen_finished_at_before = $13, \
             last_public_author = $14, previous_case_id = $15, next_case_id = $16, \
             merged_into_id = $17, message_count = $18, unread = $19, first_response_at = $20 \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(&case.account_id)
        .bind(&case.id)
        .bind(&case.subject)
        .bind(s.status.as_str())
        .bind(s.chat_state.map(|c| c.as_str()))
        .bind(&case.assignee_id)
        .bind(micros(case.updated_at))
        .bind(micros(case.last_activity_at))
        .bind(opt_micros(s.finished_at))
        .bind(opt_micros(s.closed_at))
        .bind(reopen.map(|r| r.from_seq))
        .bind(reopen.map(|r| r.status_before.as_str()))
        .bind(reopen.and_then(|r| opt_micros(r.finished_at_before)))
        .bind(s.last_public_author.map(|a| a.as_str()))
        .bind(&case.previous_case_id)
        .bind(&case.next_case_id)
        .bind(&case.merged_into_id)
        .bind(case.message_count)
        .bind(case.unread)
        .bind(opt_micros(case.first_response_at));
        found(self.exec(q).await?)
    }

    async fn list_cases(&mut self, account_id: &str, filter: &CaseFilter) -> R<Vec<CaseRecord>> {
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT {} FROM cases WHERE account_id = ",
            rows::CASE_COLUMNS
        ));
        b.push_bind(account_id);
        if let Some(status) = filter.status {
            b.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(state) = filter.chat_state {
            b.push(" AND chat_state = ").push_bind(state.as_str());
        }
        if let Some(channel_id) = &filter.channel_id {
            b.push(" AND channel_id = ").push_bind(channel_id);
        }
        if let Some(customer_id) = &filter.customer_id {
            b.push(" AND customer_id = ").push_bind(customer_id);
        }
        if let Some(assignee_id) = &filter.assignee_id {
            b.push(" AND assignee_id = ").push_bind(assignee_id);
        }
        if let Some(q) = filter.q.as_deref().and_then(SearchText::parse) {
            let pattern = contains_pattern(q.as_str());
            b.push(" AND (subject ILIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE m.case_id = cases.id AND m.text ILIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\'))");
        }
        if let Some(label_id) = &filter.label_id {
            b.push(" AND EXISTS (SELECT 1 FROM case_labels cl WHERE cl.case_id = cases.id AND cl.label_id = ")
                .push_bind(label_id)
                .push(")");
        }
        if !filter.include_merged {
            b.push(" AND merged_into_id IS NULL");
        }
        // Both names are fixed column names, never input.
        let col = filter.sort.as_str();
        let (cmp, dir) = match filter.order {
            SortOrder::Asc => (">", "ASC"),
            SortOrder::Desc => ("<", "DESC"),
        };
        if let Some((time, id)) = &filter.cursor {
            b.push(format!(" AND ({col}, id) {cmp} ("))
                .push_bind(micros(*time))
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        b.push(format!(" ORDER BY {col} {dir}, id {dir} LIMIT "))
            .push_bind(filter.limit.max(0));
        let found = b.build().fetch_all(self.conn()).await.map_err(map_err)?;
        rows::all(&found, rows::case)
    }

    async fn find_message_by_channel_id(
        &mut self,
        channel_id: &str,
        channel_message_id: &str,
    ) -> R<Option<MessageRecord>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE channel_id = $1 AND channel_message_id = $2",
            rows::MESSAGE_COLUMNS
        );
        let q = sqlx::query(&sql).bind(channel_id).bind(channel_message_id);
        let row = self.optional(q).await?;
        row.as_ref().map(rows::message).transpose()
    }

    async fn next_message_seq(&mut self) -> R<i64> {
        let row = self
            .one(sqlx::query("SELECT nextval('message_seq') AS seq"))
            .await?;
        row.try_get("seq").map_err(map_err)
    }

    async fn insert_message(&mut self, message: &MessageRecord) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO messages (id, account_id, case_id, seq, kind, author_type, author_id, \
             text, created_at, channel_id, channel_message_id, reacted_message_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&message.id)
        .bind(&message.account_id)
        .bind(&message.case_id)
        .bind(message.seq)
        .bind(message.kind.as_str())
        .bind(message.author_type.as_str())
        .bind(&message.author_id)
        .bind(&message.text)
        .bind(micros(message.created_at))
        .bind(&message.channel_id)
        .bind(&message.channel_message_id)
        .bind(&message.reacted_message_id);
        self.exec(q).await.map(drop)
    }

    async fn get_message(&mut self, account_id: &str, message_id: &str) -> R<MessageRecord> {
        let sql = format!(
            "SELECT {} FROM messages WHERE account_id = $1 AND id = $2",
            rows::MESSAGE_COLUMNS
        );
        rows::message(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(message_id))
                .await?,
        )
    }

    async fn list_messages(&mut self, account_id: &str, case_id: &str) -> R<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE account_id = $1 AND case_id = $2 \
             ORDER BY created_at, seq",
            rows::MESSAGE_COLUMNS
        );
        let q = sqlx::query(&sql).bind(account_id).bind(case_id);
        rows::all(&self.many(q).await?, rows::message)
    }

    async fn move_messages(&mut self, from_case: &str, to_case: &str, from_seq: i64) -> R<i64> {
        // A reaction note belongs with the message it reacts to (R10): move
        // the ordinary messages first, then the notes whose message went along.
        let plain = sqlx::query(
            "UPDATE messages SET case_id = $2 WHERE case_id = $1 AND seq >= $3 \
             AND reacted_message_id IS NULL",
        )
        .bind(from_case)
        .bind(to_case)
        .bind(from_seq);
        let moved = self.exec(plain).await?;
        let notes = sqlx::query(
            "UPDATE messages SET case_id = $2 WHERE case_id = $1 AND seq >= $3 \
             AND reacted_message_id IN (SELECT id FROM messages WHERE case_id = $2)",
        )
        .bind(from_case)
        .bind(to_case)
        .bind(from_seq);
        let moved = moved + self.exec(notes).await?;
        i64::try_from(moved).map_err(|e| StoreError::Other(e.to_string()))
    }

    async fn message_summary(&mut self, case_id: &str) -> R<MessageSummary> {
        let q = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM messages WHERE case_id = $1) AS message_count, \
             last.author_type AS last_public_author, last.created_at AS last_public_at, \
             (SELECT text FROM messages WHERE case_id = $1 AND kind = $2 AND author_type = $3 \
              ORDER BY created_at, seq LIMIT 1) AS first_customer_text \
             FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT author_type, created_at \
               FROM messages WHERE case_id = $1 AND kind = $2 AND author_type <> 'system' \
               ORDER BY created_at DESC, seq DESC LIMIT 1) AS last ON TRUE",
        )
        .bind(case_id)
        .bind(MessageKind::Message.as_str())
        .bind(casedesk_domain::AuthorType::Customer.as_str());
        let row = self.one(q).await?;
        let author: Option<String> = row.try_get("last_public_author").map_err(map_err)?;
        Ok(MessageSummary {
            message_count: row.try_get("message_count").map_err(map_err)?,
            last_public_author: author
                .map(|a| a.parse())
                .transpose()
                .map_err(|e: casedesk_domain::ParseError| StoreError::Other(e.to_string()))?,
            last_public_at: rows::opt_time_at(&row, "last_public_at")?,
            first_customer_text: row.try_get("first_customer_text").map_err(map_err)?,
        })
    }

    async fn insert_reaction(&mut self, reaction: &ReactionRecord) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO reactions (id, account_id, message_id, customer_id, emoji, note_id, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&reaction.id)
        .bind(&reaction.account_id)
        .bind(&reaction.message_id)
        .bind(&reaction.customer_id)
        .bind(&reaction.emoji)
        .bind(&reaction.note_id)
        .bind(micros(reaction.created_at));
        self.exec(q).await.map(drop)
    }

    async fn list_reactions(&mut self, case_id: &str) -> R<Vec<ReactionRecord>> {
        let sql = format!(
            "SELECT {} FROM reactions WHERE message_id IN \
             (SELECT id FROM messages WHERE case_id = $1) ORDER BY created_at, id",
            rows::REACTION_COLUMNS
        );
        rows::all(
            &self.many(sqlx::query(&sql).bind(case_id)).await?,
            rows::reaction,
        )
    }

    async fn insert_event(&mut self, event: &EventRecord) -> R<()> {
        let (changes, data) = rows::event_json(event)?;
        // Statistics read what the changes set from columns (R15).
        let facts = casedesk_domain::stats::EventFacts::of(&event.changes);
        // The case's keys are copied onto the event for joinless statistics
        // (migration 0005); an event of a case that does not exist is an error.
        let q = sqlx::query(
            "INSERT INTO case_events (id, account_id, case_id, kind, actor_type, actor_id, \
             changes, data, created_at, sets_closed, sets_finished, assignee_id, channel_id, \
             case_created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, c.assignee_id, c.channel_id, \
             c.created_at FROM cases c WHERE c.id = $3 AND c.account_id = $2",
        )
        .bind(&event.id)
        .bind(&event.account_id)
        .bind(&event.case_id)
        .bind(&event.kind)
        .bind(event.actor.kind())
        .bind(event.actor.id())
        .bind(changes)
        .bind(data)
        .bind(micros(event.created_at))
        .bind(facts.sets_closed)
        .bind(facts.sets_finished);
        if self.exec(q).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn list_events(&mut self, account_id: &str, case_id: &str) -> R<Vec<EventRecord>> {
        let sql = format!(
            "SELECT {} FROM case_events WHERE account_id = $1 AND case_id = $2 ORDER BY seq",
            rows::EVENT_COLUMNS
        );
        let q = sqlx::query(&sql).bind(account_id).bind(case_id);
        rows::all(&self.many(q).await?, rows::event)
    }

    async fn set_deadline(&mut self, deadline: &Deadline) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO chat_deadlines (case_id, kind, account_id, due_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, kind) \
             DO UPDATE SET account_id = EXCLUDED.account_id, due_at = EXCLUDED.due_at",
        )
        .bind(&deadline.case_id)
        .bind(deadline.kind.as_str())
        .bind(&deadline.account_id)
        .bind(micros(deadline.due_at));
        self.exec(q).await.map(drop)
    }

    async fn clear_deadlines(&mut self, case_id: &str) -> R<()> {
        let q = sqlx::query("DELETE FROM chat_deadlines WHERE case_id = $1").bind(case_id);
        self.exec(q).await.map(drop)
    }

    async fn next_deadline_at(&mut self) -> R<Option<Time>> {
        let row = self
            .one(sqlx::query(
                "SELECT MIN(due_at) AS due_at FROM chat_deadlines",
            ))
            .await?;
        rows::opt_time_at(&row, "due_at")
    }

    async fn claim_due_deadlines(&mut self, now: Time, limit: i64) -> R<Vec<Deadline>> {
        let sql = format!(
            "SELECT {} FROM chat_deadlines WHERE due_at <= $1 \
             ORDER BY due_at, case_id, kind LIMIT $2 FOR UPDATE SKIP LOCKED",
            rows::DEADLINE_COLUMNS
        );
        let q = sqlx::query(&sql).bind(micros(now)).bind(limit.max(0));
        rows::all(&self.many(q).await?, rows::deadline)
    }

    async fn delete_deadline(&mut self, case_id: &str, kind: DeadlineKind) -> R<()> {
        let q = sqlx::query("DELETE FROM chat_deadlines WHERE case_id = $1 AND kind = $2")
            .bind(case_id)
            .bind(kind.as_str());
        self.exec(q).await.map(drop)
    }

    async fn list_deadlines(&mut self, case_id: &str) -> R<Vec<Deadline>> {
        let sql = format!(
            "SELECT {} FROM chat_deadlines WHERE case_id = $1 ORDER BY due_at, kind",
            rows::DEADLINE_COLUMNS
        );
        rows::all(
            &self.many(sqlx::query(&sql).bind(case_id)).await?,
            rows::deadline,
        )
    }

    async fn insert_outbox(&mut self, item: &OutboxItem) -> R<()> {
        let sql = format!(
            "INSERT INTO outbox ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13)",
            rows::OUTBOX_COLUMNS
        );
        let q = sqlx::query(&sql)
            .bind(&item.id)
            .bind(&item.account_id)
            .bind(&item.channel_id)
            .bind(&item.message_id)
            .bind(&item.url)
            .bind(&item.body)
            .bind(item.attempts)
            .bind(micros(item.next_attempt_at))
            .bind(micros(item.created_at))
            .bind(opt_micros(item.last_attempt_at))
            .bind(&item.last_error)
            .bind(opt_micros(item.delivered_at))
            .bind(opt_micros(item.failed_at));
        self.exec(q).await.map(drop)
    }

    async fn claim_outbox(
        &mut self,
        now: Time,
        lease_until: Time,
        limit: i64,
    ) -> R<Vec<OutboxItem>> {
        // One statement: pick due items nobody else holds and lease them.
        // The items come back as they were before the lease.
        let q = sqlx::query(
            "WITH due AS (SELECT id, next_attempt_at FROM outbox \
               WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
               ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox o SET next_attempt_at = $2 FROM due WHERE o.id = due.id \
             RETURNING o.id, o.account_id, o.channel_id, o.message_id, o.url, o.body, \
               o.attempts, due.next_attempt_at, o.created_at, o.last_attempt_at, o.last_error, \
               o.delivered_at, o.failed_at",
        )
        .bind(micros(now))
        .bind(micros(lease_until))
        .bind(limit.max(0));
        let mut items = rows::all(&self.many(q).await?, rows::outbox_item)?;
        items.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
        Ok(items)
    }

    async fn finish_outbox(&mut self, update: &OutboxUpdate) -> R<()> {
        let (sql, at) = match update.outcome {
            OutboxOutcome::Delivered => (
                "UPDATE outbox SET delivered_at = $2, attempts = $3, last_error = $4, \
                 last_attempt_at = $5 WHERE id = $1",
                update.now,
            ),
            OutboxOutcome::Retry(at) => (
                "UPDATE outbox SET next_attempt_at = $2, attempts = $3, last_error = $4, \
                 last_attempt_at = $5 WHERE id = $1",
                at,
            ),
            OutboxOutcome::Failed => (
                "UPDATE outbox SET failed_at = $2, attempts = $3, last_error = $4, \
                 last_attempt_at = $5 WHERE id = $1",
                update.now,
            ),
        };
        let q = sqlx::query(sql)
            .bind(&update.id)
            .bind(micros(at))
            .bind(update.attempts)
            .bind(&update.last_error)
            .bind(micros(update.now));
        found(self.exec(q).await?)
    }

    async fn next_outbox_at(&mut self) -> R<Option<Time>> {
        let q = sqlx::query(
            "SELECT MIN(next_attempt_at) AS next_attempt_at FROM outbox \
             WHERE delivered_at IS NULL AND failed_at IS NULL",
        );
        let row = self.one(q).await?;
        rows::opt_time_at(&row, "next_attempt_at")
    }

    async fn list_outbox(
        &mut self,
        account_id: &str,
        channel_id: &str,
        state: Option<OutboxState>,
        limit: i64,
    ) -> R<Vec<OutboxItem>> {
        let sql = format!(
            "SELECT {} FROM outbox WHERE account_id = $1 AND channel_id = $2 AND {} \
             ORDER BY created_at DESC, id DESC LIMIT $3",
            rows::OUTBOX_COLUMNS,
            state.map_or("TRUE", rows::outbox_state_sql)
        );
        let q = sqlx::query(&sql)
            .bind(account_id)
            .bind(channel_id)
            .bind(limit.max(0));
        rows::all(&self.many(q).await?, rows::outbox_item)
    }

    async fn get_outbox(&mut self, account_id: &str, id: &str) -> R<OutboxItem> {
        let sql = format!(
            "SELECT {} FROM outbox WHERE id = $1 AND account_id = $2",
            rows::OUTBOX_COLUMNS
        );
        let row = self
            .one(sqlx::query(&sql).bind(id).bind(account_id))
            .await?;
        rows::outbox_item(&row)
    }

    async fn requeue_outbox(&mut self, account_id: &str, id: &str, now: Time) -> R<bool> {
        let q = sqlx::query(
            "UPDATE outbox SET attempts = 0, failed_at = NULL, next_attempt_at = $3 \
             WHERE id = $1 AND account_id = $2 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(account_id)
        .bind(micros(now));
        Ok(self.exec(q).await? > 0)
    }

    async fn insert_label(&mut self, l: &LabelRecord) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO labels (id, account_id, name, name_folded, color, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&l.id)
        .bind(&l.account_id)
        .bind(&l.name)
        .bind(l.name.to_lowercase())
        .bind(&l.color)
        .bind(micros(l.created_at));
        self.exec(q).await.map(drop)
    }

    async fn list_labels(&mut self, account_id: &str) -> R<Vec<LabelRecord>> {
        let sql = format!(
            "SELECT {} FROM labels WHERE account_id = $1 ORDER BY name_folded, id",
            rows::LABEL_COLUMNS
        );
        let found = self.many(sqlx::query(&sql).bind(account_id)).await?;
        rows::all(&found, rows::label)
    }

    async fn get_label(&mut self, account_id: &str, label_id: &str) -> R<LabelRecord> {
        let sql = format!(
            "SELECT {} FROM labels WHERE account_id = $1 AND id = $2",
            rows::LABEL_COLUMNS
        );
        rows::label(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(label_id))
                .await?,
        )
    }

    async fn update_label(&mut self, l: &LabelRecord) -> R<()> {
        let q = sqlx::query(
            "UPDATE labels SET name = $3, name_folded = $4, color = $5 \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(&l.account_id)
        .bind(&l.id)
        .bind(&l.name)
        .bind(l.name.to_lowercase())
        .bind(&l.color);
        found(self.exec(q).await?)
    }

    async fn delete_label(&mut self, account_id: &str, label_id: &str) -> R<()> {
        let q = sqlx::query("DELETE FROM case_labels WHERE account_id = $1 AND label_id = $2")
            .bind(account_id)
            .bind(label_id);
        self.exec(q).await?;
        let q = sqlx::query("DELETE FROM labels WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(label_id);
        found(self.exec(q).await?)
    }

    async fn add_case_label(
        &mut self,
        account_id: &str,
        case_id: &str,
        label_id: &str,
        at: Time,
    ) -> R<bool> {
        let q = sqlx::query(
            "INSERT INTO case_labels (case_id, label_id, account_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(case_id)
        .bind(label_id)
        .bind(account_id)
        .bind(micros(at));
        Ok(self.exec(q).await? > 0)
    }

    async fn remove_case_label(&mut self, case_id: &str, label_id: &str) -> R<bool> {
        let q = sqlx::query("DELETE FROM case_labels WHERE case_id = $1 AND label_id = $2")
            .bind(case_id)
            .bind(label_id);
        Ok(self.exec(q).await? > 0)
    }

    async fn case_labels(
        &mut self,
        account_id: &str,
        case_ids: &[String],
    ) -> R<Vec<(String, LabelRecord)>> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = sqlx::query(
            "SELECT cl.case_id, l.id, l.account_id, l.name, l.color, l.created_at \
             FROM case_labels cl JOIN labels l ON l.id = cl.label_id \
             WHERE cl.account_id = $1 AND cl.case_id = ANY($2) \
             ORDER BY cl.case_id, l.name_folded",
        )
        .bind(account_id)
        .bind(case_ids);
        let found = self.many(q).await?;
        found
            .iter()
            .map(|r| {
                let case_id: String = r.try_get("case_id").map_err(map_err)?;
                Ok((case_id, rows::label(r)?))
            })
            .collect()
    }

    async fn insert_template(&mut self, t: &TemplateRecord) -> R<()> {
        let sql = format!(
            "INSERT INTO templates ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            rows::TEMPLATE_COLUMNS
        );
        let q = sqlx::query(&sql)
            .bind(&t.id)
            .bind(&t.account_id)
            .bind(&t.owner_id)
            .bind(&t.name)
            .bind(&t.body)
            .bind(rows::actions_json(&t.actions))
            .bind(micros(t.created_at))
            .bind(micros(t.updated_at));
        self.exec(q).await.map(drop)
    }

    async fn list_templates(&mut self, account_id: &str) -> R<Vec<TemplateRecord>> {
        let sql = format!(
            "SELECT {} FROM templates WHERE account_id = $1 ORDER BY lower(name), id",
            rows::TEMPLATE_COLUMNS
        );
        let found = self.many(sqlx::query(&sql).bind(account_id)).await?;
        rows::all(&found, rows::template)
    }

    async fn get_template(&mut self, account_id: &str, template_id: &str) -> R<TemplateRecord> {
        let sql = format!(
            "SELECT {} FROM templates WHERE account_id = $1 AND id = $2",
            rows::TEMPLATE_COLUMNS
        );
        rows::template(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(template_id))
                .await?,
        )
    }

    async fn update_template(&mut self, t: &TemplateRecord) -> R<()> {
        let q = sqlx::query(
            "UPDATE templates SET owner_id = $3, name = $4, body = $5, actions = $6, \
             updated_at = $7 WHERE account_id = $1 AND id = $2",
        )
        .bind(&t.account_id)
        .bind(&t.id)
        .bind(&t.owner_id)
        .bind(&t.name)
        .bind(&t.body)
        .bind(rows::actions_json(&t.actions))
        .bind(micros(t.updated_at));
        found(self.exec(q).await?)
    }

    async fn delete_template(&mut self, account_id: &str, template_id: &str) -> R<()> {
        let q = sqlx::query("DELETE FROM templates WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(template_id);
        found(self.exec(q).await?)
    }

    async fn update_channel(&mut self, c: &ChannelRecord) -> R<()> {
        let q = sqlx::query(
            "UPDATE channels SET name = $3, webhook_url = $4, allowed_origins = $5 \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(&c.account_id)
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.webhook_url)
        .bind(rows::origins_json(&c.allowed_origins));
        found(self.exec(q).await?)
    }

    async fn insert_visitor(&mut self, v: &VisitorRecord) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO widget_visitors (token_hash, account_id, channel_id, customer_id, \
             created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&v.token_hash)
        .bind(&v.account_id)
        .bind(&v.channel_id)
        .bind(&v.customer_id)
        .bind(micros(v.created_at))
        .bind(micros(v.last_seen_at));
        self.exec(q).await.map(drop)
    }

    async fn find_visitor(&mut self, token_hash: &str) -> R<Option<VisitorRecord>> {
        let q = sqlx::query(
            "SELECT token_hash, account_id, channel_id, customer_id, created_at, \
             COALESCE(last_seen_at, created_at) AS last_seen_at \
             FROM widget_visitors WHERE token_hash = $1",
        )
        .bind(token_hash);
        self.optional(q)
            .await?
            .as_ref()
            .map(rows::visitor)
            .transpose()
    }

    async fn insert_attachment(&mut self, a: &AttachmentRecord) -> R<()> {
        let sql = format!(
            "INSERT INTO attachments ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            rows::ATTACHMENT_COLUMNS
        );
        let q = sqlx::query(&sql)
            .bind(&a.id)
            .bind(&a.account_id)
            .bind(&a.message_id)
            .bind(&a.filename)
            .bind(&a.content_type)
            .bind(a.size_bytes)
            .bind(&a.sha256)
            .bind(micros(a.created_at));
        self.exec(q).await.map(drop)
    }

    async fn get_attachment(&mut self, account_id: &str, id: &str) -> R<AttachmentRecord> {
        let sql = format!(
            "SELECT {} FROM attachments WHERE account_id = $1 AND id = $2",
            rows::ATTACHMENT_COLUMNS
        );
        rows::attachment(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(id))
                .await?,
        )
    }

    async fn list_case_attachments(&mut self, case_id: &str) -> R<Vec<AttachmentRecord>> {
        let columns = rows::qualified(rows::ATTACHMENT_COLUMNS, "a");
        let sql = format!(
            "SELECT {columns} FROM attachments a JOIN messages m ON m.id = a.message_id \
             WHERE m.case_id = $1 ORDER BY a.created_at, a.id"
        );
        rows::all(
            &self.many(sqlx::query(&sql).bind(case_id)).await?,
            rows::attachment,
        )
    }

    async fn set_customer_email(
        &mut self,
        account_id: &str,
        customer_id: &str,
        email: Option<&str>,
    ) -> R<()> {
        let q = sqlx::query("UPDATE customers SET email = $3 WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(customer_id)
            .bind(email);
        match self.exec(q).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn list_customers_by_email(
        &mut self,
        account_id: &str,
        email: &str,
    ) -> R<Vec<CustomerRecord>> {
        let sql = format!(
            "SELECT {} FROM customers WHERE account_id = $1 AND email = $2 ORDER BY created_at, id",
            rows::CUSTOMER_COLUMNS
        );
        let q = sqlx::query(&sql).bind(account_id).bind(email);
        rows::all(&self.many(q).await?, rows::customer)
    }

    async fn insert_help_token(&mut self, t: &HelpTokenRecord) -> R<()> {
        let sql = format!(
            "INSERT INTO help_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            rows::HELP_TOKEN_COLUMNS
        );
        let q = sqlx::query(&sql)
            .bind(&t.token_hash)
            .bind(&t.account_id)
            .bind(t.kind.as_str())
            .bind(&t.email)
            .bind(&t.customer_id)
            .bind(micros(t.created_at))
            .bind(micros(t.expires_at));
        self.exec(q).await.map(drop)
    }

    async fn find_help_token(&mut self, token_hash: &str) -> R<Option<HelpTokenRecord>> {
        let sql = format!(
            "SELECT {} FROM help_tokens WHERE token_hash = $1",
            rows::HELP_TOKEN_COLUMNS
        );
        self.optional(sqlx::query(&sql).bind(token_hash))
            .await?
            .as_ref()
            .map(rows::help_token)
            .transpose()
    }

    async fn take_help_token(&mut self, token_hash: &str) -> R<Option<HelpTokenRecord>> {
        let sql = format!(
            "DELETE FROM help_tokens WHERE token_hash = $1 RETURNING {}",
            rows::HELP_TOKEN_COLUMNS
        );
        self.optional(sqlx::query(&sql).bind(token_hash))
            .await?
            .as_ref()
            .map(rows::help_token)
            .transpose()
    }

    async fn revoke_customer_tokens(
        &mut self,
        account_id: &str,
        customer_id: &str,
        email: Option<&str>,
    ) -> R<u64> {
        let visitors =
            sqlx::query("DELETE FROM widget_visitors WHERE account_id = $1 AND customer_id = $2")
                .bind(account_id)
                .bind(customer_id);
        let visitors = self.exec(visitors).await?;
        let help = sqlx::query(
            "DELETE FROM help_tokens WHERE account_id = $1 \
             AND (customer_id = $2 OR ($3::TEXT IS NOT NULL AND email = $3))",
        )
        .bind(account_id)
        .bind(customer_id)
        .bind(email);
        Ok(visitors + self.exec(help).await?)
    }

    async fn delete_expired_help_tokens(&mut self, now: Time) -> R<u64> {
        let q = sqlx::query("DELETE FROM help_tokens WHERE expires_at < $1").bind(micros(now));
        self.exec(q).await
    }

    async fn touch_visitor(&mut self, token_hash: &str, at: Time) -> R<()> {
        let q = sqlx::query("UPDATE widget_visitors SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(micros(at));
        self.exec(q).await.map(drop)
    }

    async fn list_customer_messages(
        &mut self,
        account_id: &str,
        customer_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> R<Vec<MessageRecord>> {
        let columns = rows::qualified(rows::MESSAGE_COLUMNS, "m");
        let sql = format!(
            "SELECT {columns} FROM cases c JOIN messages m ON m.case_id = c.id \
             WHERE c.account_id = $1 AND c.customer_id = $2 AND m.kind = 'message' \
             AND m.seq > $3 ORDER BY m.seq LIMIT $4"
        );
        let q = sqlx::query(&sql)
            .bind(account_id)
            .bind(customer_id)
            .bind(after_seq)
            .bind(limit.max(0));
        rows::all(&self.many(q).await?, rows::message)
    }

    async fn insert_rule(&mut self, r: &RuleRecord) -> R<()> {
        let [trigger, conditions, actions] = rows::rule_json(r);
        let sql = format!(
            "INSERT INTO rules ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            rows::RULE_COLUMNS
        );
        let q = sqlx::query(&sql)
            .bind(&r.id)
            .bind(&r.account_id)
            .bind(&r.name)
            .bind(r.enabled)
            .bind(r.position)
            .bind(trigger)
            .bind(conditions)
            .bind(actions)
            .bind(micros(r.created_at))
            .bind(micros(r.updated_at));
        self.exec(q).await.map(drop)
    }

    async fn list_rules(&mut self, account_id: &str) -> R<Vec<RuleRecord>> {
        let sql = format!(
            "SELECT {} FROM rules WHERE account_id = $1 ORDER BY position, created_at, id",
            rows::RULE_COLUMNS
        );
        let found = self.many(sqlx::query(&sql).bind(account_id)).await?;
        rows::all(&found, rows::rule)
    }

    async fn get_rule(&mut self, account_id: &str, rule_id: &str) -> R<RuleRecord> {
        let sql = format!(
            "SELECT {} FROM rules WHERE account_id = $1 AND id = $2",
            rows::RULE_COLUMNS
        );
        rows::rule(
            &self
                .one(sqlx::query(&sql).bind(account_id).bind(rule_id))
                .await?,
        )
    }

    async fn update_rule(&mut self, r: &RuleRecord) -> R<()> {
        let [trigger, conditions, actions] = rows::rule_json(r);
        let q = sqlx::query(
            "UPDATE rules SET name = $3, enabled = $4, position = $5, \"trigger\" = $6, \
             conditions = $7, actions = $8, updated_at = $9 WHERE account_id = $1 AND id = $2",
        )
        .bind(&r.account_id)
        .bind(&r.id)
        .bind(&r.name)
        .bind(r.enabled)
        .bind(r.position)
        .bind(trigger)
        .bind(conditions)
        .bind(actions)
        .bind(micros(r.updated_at));
        found(self.exec(q).await?)
    }

    async fn delete_rule(&mut self, account_id: &str, rule_id: &str) -> R<()> {
        let q = sqlx::query("DELETE FROM rules WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(rule_id);
        found(self.exec(q).await?)?;
        let q = sqlx::query("DELETE FROM rule_timers WHERE rule_id = $1").bind(rule_id);
        self.exec(q).await.map(drop)
    }

    async fn set_rule_timer(&mut self, t: &RuleTimer, replace: bool) -> R<()> {
        let sql = if replace {
            "INSERT INTO rule_timers (case_id, rule_id, account_id, due_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (case_id, rule_id) DO UPDATE SET due_at = EXCLUDED.due_at"
        } else {
            "INSERT INTO rule_timers (case_id, rule_id, account_id, due_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (case_id, rule_id) DO NOTHING"
        };
        let q = sqlx::query(sql)
            .bind(&t.case_id)
            .bind(&t.rule_id)
            .bind(&t.account_id)
            .bind(micros(t.due_at));
        self.exec(q).await.map(drop)
    }

    async fn delete_rule_timer(&mut self, case_id: &str, rule_id: &str) -> R<()> {
        let q = sqlx::query("DELETE FROM rule_timers WHERE case_id = $1 AND rule_id = $2")
            .bind(case_id)
            .bind(rule_id);
        self.exec(q).await.map(drop)
    }

    async fn delete_rule_timers(&mut self, rule_id: &str) -> R<()> {
        let q = sqlx::query("DELETE FROM rule_timers WHERE rule_id = $1").bind(rule_id);
        self.exec(q).await.map(drop)
    }

    async fn list_rule_timers(&mut self, case_id: &str) -> R<Vec<RuleTimer>> {
        let q = sqlx::query(
            "SELECT case_id, rule_id, account_id, due_at FROM rule_timers \
             WHERE case_id = $1 ORDER BY due_at, rule_id",
        )
        .bind(case_id);
        rows::all(&self.many(q).await?, rows::rule_timer)
    }

    async fn next_rule_timer_at(&mut self) -> R<Option<Time>> {
        let row = self
            .one(sqlx::query("SELECT MIN(due_at) AS due FROM rule_timers"))
            .await?;
        let due: Option<i64> = row.try_get("due").map_err(map_err)?;
        Ok(due.and_then(Time::from_timestamp_micros))
    }

    async fn claim_due_rule_timers(&mut self, now: Time, limit: i64) -> R<Vec<RuleTimer>> {
        let q = sqlx::query(
            "SELECT case_id, rule_id, account_id, due_at FROM rule_timers WHERE due_at <= $1 \
             ORDER BY due_at, case_id, rule_id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(micros(now))
        .bind(limit.max(0));
        rows::all(&self.many(q).await?, rows::rule_timer)
    }

    async fn update_account_business_hours(
        &mut self,
        account_id: &str,
        hours: Option<&casedesk_domain::BusinessHours>,
    ) -> R<()> {
        let q = sqlx::query("UPDATE accounts SET business_hours = $2 WHERE id = $1")
            .bind(account_id)
            .bind(hours.map(hours_json));
        found(self.exec(q).await?)
    }

    async fn update_account_time_zone(
        &mut self,
        account_id: &str,
        time_zone: casedesk_domain::AccountTimeZone,
    ) -> R<()> {
        let q = sqlx::query("UPDATE accounts SET time_zone = $2 WHERE id = $1")
            .bind(account_id)
            .bind(time_zone.name());
        found(self.exec(q).await?)
    }

    async fn stats(
        &mut self,
        account_id: &str,
        q: &casedesk_store::StatsQuery,
    ) -> R<casedesk_domain::stats::StatsInput> {
        self.stats_input(account_id, q).await
    }

    async fn export_cases(
        &mut self,
        account_id: &str,
        filter: &CaseFilter,
    ) -> R<Vec<casedesk_store::ExportRow>> {
        self.export_page(account_id, filter).await
    }

    async fn seed_bulk(&mut self, batch: &casedesk_store::SeedBatch) -> R<()> {
        self.seed(batch).await
    }
}
