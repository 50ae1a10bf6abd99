//! What a case holds: messages, reactions, attachments and its history.

use std::collections::HashMap;

use casedesk_domain::{AuthorType, EventKind, MessageKind, Time};

use super::codec::{
    self, ATTACHMENT_COLUMNS, EVENT_COLUMNS, EVENT_FACT_COLUMNS, LETTER_COLUMNS, MESSAGE_COLUMNS,
    REACTION_COLUMNS, qualified,
};
use super::{
    Dialect, R, ROWS_PER_STATEMENT, Sql, SqlExt, Value, args, placeholders, row_placeholders,
};
use crate::{
    AttachmentRecord, EventRecord, LetterRecord, MessageRecord, MessageSummary, MessageTx,
    ReactionRecord, StoreError,
};

#[async_trait::async_trait]
impl<S: Sql + ?Sized> MessageTx for S {
    async fn find_message_by_channel_id(
        &mut self,
        channel_id: &str,
        channel_message_id: &str,
    ) -> R<Option<MessageRecord>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE channel_id = $1 AND channel_message_id = $2"
        );
        self.maybe(&sql, &args![channel_id, channel_message_id], codec::message)
            .await
    }

    async fn find_messages_by_channel_ids(
        &mut self,
        channel_ids: &[String],
        channel_message_ids: &[String],
    ) -> R<Vec<MessageRecord>> {
        let keys: Vec<(String, String)> = channel_ids
            .iter()
            .flat_map(|c| channel_message_ids.iter().map(|m| (c.clone(), m.clone())))
            .collect();
        self.find_messages_by_channel_keys(&keys).await
    }

    async fn find_messages_by_channel_keys(
        &mut self,
        keys: &[(String, String)],
    ) -> R<Vec<MessageRecord>> {
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        let mut found = Vec::new();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let sql = self.dialect().probe(
                "messages",
                MESSAGE_COLUMNS,
                &["channel_id", "channel_message_id"],
                chunk.len(),
            );
            let values: Vec<Value> = chunk.iter().flat_map(|(c, m)| args![c, m]).collect();
            found.extend(self.all(&sql, &values, codec::message).await?);
        }
        found.sort_by_key(|m| m.seq);
        Ok(found)
    }

    async fn insert_letter(&mut self, letter: &LetterRecord) -> R<()> {
        let values = codec::letter_values(letter)?;
        self.execute(
            &format!(
                "INSERT INTO letters ({LETTER_COLUMNS}) VALUES ({})",
                placeholders(1, values.len())
            ),
            &values,
        )
        .await
        .map(drop)
    }

    async fn list_case_letters(&mut self, account_id: &str, case_id: &str) -> R<Vec<LetterRecord>> {
        let sql = format!(
            "SELECT {} FROM letters l JOIN messages m ON m.id = l.message_id \
             WHERE l.account_id = $1 AND m.case_id = $2 ORDER BY m.seq",
            qualified(LETTER_COLUMNS, "l")
        );
        self.all(&sql, &args![account_id, case_id], codec::letter)
            .await
    }

    async fn next_message_seq(&mut self) -> R<i64> {
        let seqs = self.next_message_seqs(1).await?;
        seqs.first()
            .copied()
            .ok_or_else(|| StoreError::Other("no message seq taken".into()))
    }

    async fn next_message_seqs(&mut self, n: usize) -> R<Vec<i64>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let dialect = self.dialect();
        let args = match dialect {
            Dialect::Sqlite => Vec::new(),
            Dialect::Postgres => args![n as i64].to_vec(),
        };
        let seqs = self
            .all(dialect.next_message_seqs(), &args, |r| r.get("seq"))
            .await?;
        dialect.taken(seqs, n)
    }

    async fn insert_message(&mut self, m: &MessageRecord) -> R<()> {
        self.insert_messages(std::slice::from_ref(m)).await
    }

    async fn insert_messages(&mut self, messages: &[MessageRecord]) -> R<()> {
        for chunk in messages.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<Value> = chunk
                .iter()
                .flat_map(|m| {
                    args![
                        &m.id,
                        &m.account_id,
                        &m.case_id,
                        m.seq,
                        m.kind.as_str(),
                        m.author_type.as_str(),
                        &m.author_id,
                        &m.text,
                        m.created_at,
                        &m.channel_id,
                        &m.channel_message_id,
                        &m.reacted_message_id,
                        m.edited_at,
                        codec::searchable_text(m)
                    ]
                })
                .collect();
            let sql = format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}, text_folded) VALUES {}",
                row_placeholders(chunk.len(), values.len() / chunk.len())
            );
            self.execute(&sql, &values).await?;
        }
        Ok(())
    }

    async fn edit_message_text(
        &mut self,
        account_id: &str,
        message_id: &str,
        text: &str,
        at: casedesk_domain::Time,
    ) -> R<()> {
        self.found(
            "UPDATE messages SET text = $3, text_folded = $4, edited_at = $5 \
             WHERE account_id = $1 AND id = $2",
            &args![
                account_id,
                message_id,
                text,
                casedesk_domain::search::fold(text),
                at
            ],
        )
        .await
    }

    async fn set_message_channel_id(
        &mut self,
        message_id: &str,
        channel_message_id: &str,
    ) -> R<()> {
        self.found(
            "UPDATE messages SET channel_message_id = $2 WHERE id = $1",
            &args![message_id, channel_message_id],
        )
        .await
    }

    async fn get_message(&mut self, account_id: &str, message_id: &str) -> R<MessageRecord> {
        let sql =
            format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND id = $2");
        self.one(&sql, &args![account_id, message_id], codec::message)
            .await
    }

    async fn list_messages(&mut self, account_id: &str, case_id: &str) -> R<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND case_id = $2 \
             ORDER BY created_at, seq"
        );
        self.all(&sql, &args![account_id, case_id], codec::message)
            .await
    }

    async fn move_messages(&mut self, from_case: &str, to_case: &str, ids: &[String]) -> R<u64> {
        let mut moved = 0;
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE messages SET case_id = $2 WHERE case_id = $1 AND id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut args = args![from_case, to_case].to_vec();
            args.extend(chunk.iter().map(|id| Value::from(id.as_str())));
            moved += self.execute(&sql, &args).await?;
        }
        Ok(moved)
    }

    async fn message_summary(&mut self, case_id: &str, since: Time) -> R<MessageSummary> {
        let message_count = self
            .one(
                "SELECT COUNT(*) AS n FROM messages WHERE case_id = $1",
                &args![case_id],
                |r| r.get("n"),
            )
            .await?;
        let last = self
            .maybe(
                "SELECT author_type, created_at FROM messages WHERE case_id = $1 AND kind = $2 \
                 AND author_type <> $3 ORDER BY created_at DESC, seq DESC LIMIT 1",
                &args![
                    case_id,
                    MessageKind::Message.as_str(),
                    AuthorType::System.as_str()
                ],
                |r| Ok((r.parsed("author_type")?, r.get("created_at")?)),
            )
            .await?;
        let first = |author: AuthorType, column: &str| {
            format!(
                "SELECT {column} FROM messages WHERE case_id = $1 AND kind = '{}' \
                 AND author_type = '{}' AND created_at >= $2 ORDER BY created_at, seq LIMIT 1",
                MessageKind::Message.as_str(),
                author.as_str()
            )
        };
        let first_customer_text = self
            .maybe(
                &first(AuthorType::Customer, "text"),
                &args![case_id, i64::MIN],
                |r| r.get("text"),
            )
            .await?;
        let first_agent_reply_at = self
            .maybe(
                &first(AuthorType::Agent, "created_at"),
                &args![case_id, since],
                |r| r.get("created_at"),
            )
            .await?;
        Ok(MessageSummary {
            message_count,
            last_public_author: last.map(|l| l.0),
            last_public_at: last.map(|l| l.1),
            first_customer_text,
            first_agent_reply_at,
        })
    }

    async fn insert_reaction(&mut self, r: &ReactionRecord) -> R<()> {
        self.execute(
            &format!(
                "INSERT INTO reactions ({REACTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &args![
                &r.id,
                &r.account_id,
                &r.message_id,
                &r.customer_id,
                &r.emoji,
                &r.note_id,
                r.created_at
            ],
        )
        .await
        .map(drop)
    }

    async fn list_reactions(&mut self, case_id: &str) -> R<Vec<ReactionRecord>> {
        let sql = format!(
            "SELECT {} FROM reactions r JOIN messages m ON m.id = r.message_id \
             WHERE m.case_id = $1 ORDER BY r.created_at, r.id",
            qualified(REACTION_COLUMNS, "r")
        );
        self.all(&sql, &args![case_id], codec::reaction).await
    }

    async fn list_customer_messages(
        &mut self,
        account_id: &str,
        customer_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> R<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {} FROM cases c JOIN messages m ON m.case_id = c.id \
             WHERE c.account_id = $1 AND c.customer_id = $2 AND m.kind = $3 \
             AND m.seq > $4 ORDER BY m.seq LIMIT $5",
            qualified(MESSAGE_COLUMNS, "m")
        );
        let args = args![
            account_id,
            customer_id,
            MessageKind::Message.as_str(),
            after_seq,
            limit.max(0)
        ];
        self.all(&sql, &args, codec::message).await
    }

    async fn insert_attachment(&mut self, a: &AttachmentRecord) -> R<()> {
        self.execute(
            &format!(
                "INSERT INTO attachments ({ATTACHMENT_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &args![
                &a.id,
                &a.account_id,
                &a.message_id,
                &a.filename,
                &a.content_type,
                a.size_bytes,
                &a.sha256,
                a.created_at
            ],
        )
        .await
        .map(drop)
    }

    async fn get_attachment(&mut self, account_id: &str, id: &str) -> R<AttachmentRecord> {
        let sql = format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE account_id = $1 AND id = $2"
        );
        self.one(&sql, &args![account_id, id], codec::attachment)
            .await
    }

    async fn list_case_attachments(&mut self, case_id: &str) -> R<Vec<AttachmentRecord>> {
        let sql = format!(
            "SELECT {} FROM attachments a JOIN messages m ON m.id = a.message_id \
             WHERE m.case_id = $1 ORDER BY a.created_at, a.id",
            qualified(ATTACHMENT_COLUMNS, "a")
        );
        self.all(&sql, &args![case_id], codec::attachment).await
    }

    async fn insert_event(&mut self, e: &EventRecord) -> R<()> {
        self.insert_events(std::slice::from_ref(e)).await
    }

    async fn insert_events(&mut self, events: &[EventRecord]) -> R<()> {
        // The case's keys are copied onto each event for joinless
        // statistics (migration 0005); an event of a case that does not
        // exist is `NotFound`. Two statements, not `INSERT … SELECT`: on
        // SQLite that form opens a statement journal, costly inside a large
        // transaction.
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let mut ids: Vec<&String> = chunk.iter().map(|e| &e.case_id).collect();
            ids.sort();
            ids.dedup();
            let keys: HashMap<(String, String), [Value; 3]> = self
                .all(
                    &self.dialect().probe(
                        "cases",
                        "id, account_id, assignee_id, channel_id, created_at",
                        &["id"],
                        ids.len(),
                    ),
                    &ids.into_iter().map(Value::from).collect::<Vec<_>>(),
                    |r| {
                        Ok((
                            (r.get::<String>("id")?, r.get::<String>("account_id")?),
                            args![
                                r.get::<Option<String>>("assignee_id")?,
                                r.get::<String>("channel_id")?,
                                r.get::<i64>("created_at")?
                            ],
                        ))
                    },
                )
                .await?
                .into_iter()
                .collect();
            let mut values = Vec::new();
            for e in chunk {
                let case_keys = keys
                    .get(&(e.case_id.clone(), e.account_id.clone()))
                    .ok_or(StoreError::NotFound)?;
                values.extend(codec::event_values(e)?);
                values.extend(case_keys.iter().cloned());
            }
            self.execute(
                &format!(
                    "INSERT INTO case_events ({EVENT_COLUMNS}, {EVENT_FACT_COLUMNS}, assignee_id, \
                     channel_id, case_created_at) VALUES {}",
                    row_placeholders(chunk.len(), values.len() / chunk.len())
                ),
                &values,
            )
            .await?;
        }
        Ok(())
    }

    async fn list_events(&mut self, account_id: &str, case_id: &str) -> R<Vec<EventRecord>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM case_events WHERE account_id = $1 AND case_id = $2 \
             ORDER BY seq"
        );
        self.all(&sql, &args![account_id, case_id], codec::event)
            .await
    }

    async fn set_event_kind(&mut self, account_id: &str, event_id: &str, kind: EventKind) -> R<()> {
        self.found(
            "UPDATE case_events SET kind = $3 WHERE account_id = $1 AND id = $2",
            &args![account_id, event_id, kind.as_str()],
        )
        .await
    }

    async fn set_event_data(
        &mut self,
        account_id: &str,
        event_id: &str,
        data: &serde_json::Value,
    ) -> R<()> {
        self.found(
            "UPDATE case_events SET data = $3 WHERE account_id = $1 AND id = $2",
            &args![account_id, event_id, data.to_string()],
        )
        .await
    }
}
