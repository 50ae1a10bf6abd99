//! The queries of one unit of work on SQLite.
//!
//! The methods are `async` only to fit the shared [`Tx`] trait: rusqlite
//! answers synchronously, on the thread that runs the job.

use casedesk_domain::search::{SearchText, contains_pattern, fold};
use casedesk_domain::{
    Actor, AuthorType, AutoFinishSettings, CaseState, Change, ChannelKind, ChatState, MessageKind,
    Reopen, Role, Status, Time,
};
use casedesk_store::{
    AccountRecord, AgentRecord, AttachmentRecord, CaseFilter, CaseRecord, ChannelRecord,
    CustomerRecord, Deadline, DeadlineKind, EventRecord, HelpTokenKind, HelpTokenRecord,
    LabelRecord, MessageRecord, MessageSummary, OutboxItem, OutboxOutcome, OutboxState,
    OutboxUpdate, ReactionRecord, RuleRecord, RuleTimer, SortOrder, StoreError, TemplateRecord,
    TokenRecord, Tx, VisitorRecord,
};
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params, params_from_iter};

type R<T> = Result<T, StoreError>;

/// Holds the connection exclusively (`&mut`), which is what lets the job's
/// futures be `Send` although a connection is not `Sync`.
pub(crate) struct SqliteTx<'c> {
    pub(crate) conn: &'c mut Connection,
}

impl<'c> SqliteTx<'c> {
    pub(crate) fn new(conn: &'c mut Connection) -> Self {
        SqliteTx { conn }
    }
}

/// Maps a driver error to the neutral one.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            ErrorCode::ConstraintViolation => {
                StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()))
            }
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::ReadOnly => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

/// `cd_fold(text)`: the domain's [`fold`], for case-insensitive search
/// beyond ASCII (SQLite's own `lower`/`LIKE` only fold ASCII).
pub(crate) fn register_functions(conn: &Connection) -> R<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "cd_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            Ok(text.map(|t| fold(&t)))
        },
    )
    .map_err(map_err)
}

pub(crate) fn micros(t: Time) -> i64 {
    t.timestamp_micros()
}

fn opt_micros(t: Option<Time>) -> Option<i64> {
    t.map(micros)
}

fn decode_err(what: &str, detail: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what}: {detail}").into(),
    )
}

fn time_at(row: &Row, idx: &str) -> rusqlite::Result<Time> {
    let v: i64 = row.get(idx)?;
    chrono::DateTime::from_timestamp_micros(v).ok_or_else(|| decode_err("time", v))
}

fn opt_time_at(row: &Row, idx: &str) -> rusqlite::Result<Option<Time>> {
    let v: Option<i64> = row.get(idx)?;
    v.map(|v| chrono::DateTime::from_timestamp_micros(v).ok_or_else(|| decode_err("time", v)))
        .transpose()
}

fn parsed<T: std::str::FromStr>(row: &Row, idx: &str) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    let v: String = row.get(idx)?;
    v.parse().map_err(|e| decode_err(idx, e))
}

fn opt_parsed<T: std::str::FromStr>(row: &Row, idx: &str) -> rusqlite::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    let v: Option<String> = row.get(idx)?;
    v.map(|v| v.parse().map_err(|e| decode_err(idx, e)))
        .transpose()
}

fn hours_json(h: &casedesk_domain::BusinessHours) -> String {
    serde_json::to_string(h).unwrap_or_default()
}

fn account_from(row: &Row) -> rusqlite::Result<AccountRecord> {
    let settings = AutoFinishSettings::new(
        row.get("chat_auto_finish_after_seconds")?,
        row.get("chat_auto_finish_warning_seconds")?,
    )
    .map_err(|e| decode_err("settings", e))?;
    Ok(AccountRecord {
        id: row.get("id")?,
        name: row.get("name")?,
        settings,
        time_zone: parsed::<casedesk_domain::AccountTimeZone>(row, "time_zone")?,
        business_hours: row
            .get::<_, Option<String>>("business_hours")?
            .map(|v| serde_json::from_str(&v).map_err(|e| decode_err("business_hours", e)))
            .transpose()?,
        created_at: time_at(row, "created_at")?,
    })
}

fn agent_from(row: &Row) -> rusqlite::Result<AgentRecord> {
    Ok(AgentRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        email: row.get("email")?,
        name: row.get("name")?,
        role: parsed::<Role>(row, "role")?,
        password_hash: row.get("password_hash")?,
        created_at: time_at(row, "created_at")?,
        disabled_at: opt_time_at(row, "disabled_at")?,
        deleted_at: opt_time_at(row, "deleted_at")?,
    })
}

fn token_from(row: &Row) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        token_hash: row.get("token_hash")?,
        account_id: row.get("account_id")?,
        agent_id: row.get("agent_id")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
    })
}

fn channel_from(row: &Row) -> rusqlite::Result<ChannelRecord> {
    Ok(ChannelRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        kind: parsed::<ChannelKind>(row, "kind")?,
        name: row.get("name")?,
        webhook_url: row.get("webhook_url")?,
        inbound_token: row.get("inbound_token")?,
        allowed_origins: row
            .get::<_, Option<String>>("allowed_origins")?
            .map(|v| serde_json::from_str(&v).map_err(|e| decode_err("allowed_origins", e)))
            .transpose()?
            .unwrap_or_default(),
        created_at: time_at(row, "created_at")?,
    })
}

fn origins_json(origins: &[String]) -> Option<String> {
    (!origins.is_empty()).then(|| serde_json::to_string(origins).unwrap_or_default())
}

/// `columns` (a comma-separated list) each prefixed with the table alias
/// `alias`, for a join.
fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

const ATTACHMENT_COLUMNS: &str =
    "id, account_id, message_id, filename, content_type, size_bytes, sha256, created_at";

fn attachment_from(row: &Row) -> rusqlite::Result<AttachmentRecord> {
    Ok(AttachmentRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        message_id: row.get("message_id")?,
        filename: row.get("filename")?,
        content_type: row.get("content_type")?,
        size_bytes: row.get("size_bytes")?,
        sha256: row.get("sha256")?,
        created_at: time_at(row, "created_at")?,
    })
}

const HELP_TOKEN_COLUMNS: &str =
    "token_hash, account_id, kind, email, customer_id, created_at, expires_at";

fn help_token_from(row: &Row) -> rusqlite::Result<HelpTokenRecord> {
    let kind: String = row.get("kind")?;
    Ok(HelpTokenRecord {
        token_hash: row.get("token_hash")?,
        account_id: row.get("account_id")?,
        kind: HelpTokenKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown help token kind `{kind}`").into(),
            )
        })?,
        email: row.get("email")?,
        customer_id: row.get("customer_id")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
    })
}

fn customer_from(row: &Row) -> rusqlite::Result<CustomerRecord> {
    Ok(CustomerRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        channel_id: row.get("channel_id")?,
        external_id: row.get("external_id")?,
        name: row.get("name")?,
        email: row.get("email")?,
        latest_case_id: row.get("latest_case_id")?,
        created_at: time_at(row, "created_at")?,
    })
}

const CASE_COLUMNS: &str = "id, account_id, number, channel_id, customer_id, subject, status, \
    chat_state, assignee_id, created_at, updated_at, last_activity_at, finished_at, closed_at, \
    reopen_from_seq, reopen_status_before, reopen_finished_at_before, last_public_author, \
    previous_case_id, next_case_id, merged_into_id, message_count, unread, first_response_at";

fn case_from(row: &Row) -> rusqlite::Result<CaseRecord> {
    let reopen = match row.get::<_, Option<i64>>("reopen_from_seq")? {
        Some(from_seq) => Some(Reopen {
            from_seq,
            status_before: parsed::<Status>(row, "reopen_status_before")?,
            finished_at_before: opt_time_at(row, "reopen_finished_at_before")?,
        }),
        None => None,
    };
    let merged_into_id: Option<String> = row.get("merged_into_id")?;
    Ok(CaseRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        number: row.get("number")?,
        channel_id: row.get("channel_id")?,
        customer_id: row.get("customer_id")?,
        subject: row.get("subject")?,
        state: CaseState {
            status: parsed::<Status>(row, "status")?,
            chat_state: opt_parsed::<ChatState>(row, "chat_state")?,
            finished_at: opt_time_at(row, "finished_at")?,
            closed_at: opt_time_at(row, "closed_at")?,
            reopen,
            last_public_author: opt_parsed::<AuthorType>(row, "last_public_author")?,
            merged: merged_into_id.is_some(),
        },
        assignee_id: row.get("assignee_id")?,
        created_at: time_at(row, "created_at")?,
        updated_at: time_at(row, "updated_at")?,
        last_activity_at: time_at(row, "last_activity_at")?,
        previous_case_id: row.get("previous_case_id")?,
        next_case_id: row.get("next_case_id")?,
        merged_into_id,
        message_count: row.get("message_count")?,
        unread: row.get("unread")?,
        first_response_at: opt_time_at(row, "first_response_at")?,
    })
}

/// The case's columns in `CASE_COLUMNS` order.
fn case_values(c: &CaseRecord) -> Vec<Value> {
    let s = &c.state;
    let text = |v: &str| Value::Text(v.to_owned());
    let opt_text = |v: Option<&str>| v.map_or(Value::Null, |v| Value::Text(v.to_owned()));
    let opt_int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    vec![
        text(&c.id),
        text(&c.account_id),
        Value::Integer(c.number),
        text(&c.channel_id),
        text(&c.customer_id),
        text(&c.subject),
        text(s.status.as_str()),
        opt_text(s.chat_state.map(ChatState::as_str)),
        opt_text(c.assignee_id.as_deref()),
        Value::Integer(micros(c.created_at)),
        Value::Integer(micros(c.updated_at)),
        Value::Integer(micros(c.last_activity_at)),
        opt_int(opt_micros(s.finished_at)),
        opt_int(opt_micros(s.closed_at)),
        opt_int(s.reopen.as_ref().map(|r| r.from_seq)),
        opt_text(s.reopen.as_ref().map(|r| r.status_before.as_str())),
        opt_int(
            s.reopen
                .as_ref()
                .and_then(|r| opt_micros(r.finished_at_before)),
        ),
        opt_text(s.last_public_author.map(AuthorType::as_str)),
        opt_text(c.previous_case_id.as_deref()),
        opt_text(c.next_case_id.as_deref()),
        opt_text(c.merged_into_id.as_deref()),
        Value::Integer(c.message_count),
        Value::Integer(i64::from(c.unread)),
        opt_int(opt_micros(c.first_response_at)),
    ]
}

const MESSAGE_COLUMNS: &str = "id, account_id, case_id, seq, kind, author_type, author_id, text, \
    created_at, channel_id, channel_message_id, reacted_message_id";

fn message_from(row: &Row) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        case_id: row.get("case_id")?,
        seq: row.get("seq")?,
        kind: parsed::<MessageKind>(row, "kind")?,
        author_type: parsed::<AuthorType>(row, "author_type")?,
        author_id: row.get("author_id")?,
        text: row.get("text")?,
        created_at: time_at(row, "created_at")?,
        channel_id: row.get("channel_id")?,
        channel_message_id: row.get("channel_message_id")?,
        reacted_message_id: row.get("reacted_message_id")?,
    })
}

fn reaction_from(row: &Row) -> rusqlite::Result<ReactionRecord> {
    Ok(ReactionRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        message_id: row.get("message_id")?,
        customer_id: row.get("customer_id")?,
        emoji: row.get("emoji")?,
        note_id: row.get("note_id")?,
        created_at: time_at(row, "created_at")?,
    })
}

fn event_from(row: &Row) -> rusqlite::Result<EventRecord> {
    let actor_type: String = row.get("actor_type")?;
    let changes: String = row.get("changes")?;
    let data: String = row.get("data")?;
    Ok(EventRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        case_id: row.get("case_id")?,
        kind: row.get("kind")?,
        actor: Actor::from_parts(&actor_type, row.get("actor_id")?)
            .map_err(|e| decode_err("actor", e))?,
        changes: serde_json::from_str::<Vec<Change>>(&changes)
            .map_err(|e| decode_err("changes", e))?,
        data: serde_json::from_str(&data).map_err(|e| decode_err("data", e))?,
        created_at: time_at(row, "created_at")?,
    })
}

fn deadline_from(row: &Row) -> rusqlite::Result<Deadline> {
    let kind: String = row.get("kind")?;
    Ok(Deadline {
        case_id: row.get("case_id")?,
        account_id: row.get("account_id")?,
        kind: DeadlineKind::parse(&kind).ok_or_else(|| decode_err("deadline kind", &kind))?,
        due_at: time_at(row, "due_at")?,
    })
}

fn outbox_from(row: &Row) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        channel_id: row.get("channel_id")?,
        message_id: row.get("message_id")?,
        url: row.get("url")?,
        body: row.get("body")?,
        attempts: row.get("attempts")?,
        next_attempt_at: time_at(row, "next_attempt_at")?,
        created_at: time_at(row, "created_at")?,
        last_attempt_at: opt_time_at(row, "last_attempt_at")?,
        last_error: row.get("last_error")?,
        delivered_at: opt_time_at(row, "delivered_at")?,
        failed_at: opt_time_at(row, "failed_at")?,
    })
}

/// The condition of `outbox` rows in a state.
fn outbox_state_sql(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Pending => "delivered_at IS NULL AND failed_at IS NULL",
        OutboxState::Delivered => "delivered_at IS NOT NULL",
        OutboxState::Failed => "failed_at IS NOT NULL",
    }
}

const LABEL_COLUMNS: &str = "id, account_id, name, color, created_at";
const TEMPLATE_COLUMNS: &str =
    "id, account_id, owner_id, name, body, actions, created_at, updated_at";

fn label_from(row: &Row) -> rusqlite::Result<LabelRecord> {
    Ok(LabelRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        name: row.get("name")?,
        color: row.get("color")?,
        created_at: time_at(row, "created_at")?,
    })
}

fn template_from(row: &Row) -> rusqlite::Result<TemplateRecord> {
    let actions: String = row.get("actions")?;
    Ok(TemplateRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        owner_id: row.get("owner_id")?,
        name: row.get("name")?,
        body: row.get("body")?,
        actions: serde_json::from_str(&actions).map_err(|e| decode_err("actions", e))?,
        created_at: time_at(row, "created_at")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

fn actions_json(actions: &[casedesk_domain::Action]) -> String {
    serde_json::to_string(actions).unwrap_or_else(|_| "[]".into())
}

/// A label name's unique key: Unicode lower case, as `LabelName::folded`.
fn folded(name: &str) -> String {
    name.to_lowercase()
}

const RULE_COLUMNS: &str = "id, account_id, name, enabled, position, \"trigger\", conditions, \
     actions, created_at, updated_at";

/// A rule's trigger, conditions and actions as the JSON the table keeps.
fn rule_json(r: &RuleRecord) -> [String; 3] {
    [
        serde_json::to_string(&r.trigger).unwrap_or_default(),
        serde_json::to_string(&r.conditions).unwrap_or_default(),
        serde_json::to_string(&r.actions).unwrap_or_default(),
    ]
}

fn rule_from(row: &Row) -> rusqlite::Result<RuleRecord> {
    Ok(RuleRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        name: row.get("name")?,
        enabled: row.get("enabled")?,
        position: row.get("position")?,
        trigger: serde_json::from_str(&row.get::<_, String>("trigger")?)
            .map_err(|e| decode_err("trigger", e))?,
        conditions: serde_json::from_str(&row.get::<_, String>("conditions")?)
            .map_err(|e| decode_err("conditions", e))?,
        actions: serde_json::from_str(&row.get::<_, String>("actions")?)
            .map_err(|e| decode_err("actions", e))?,
        created_at: time_at(row, "created_at")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

fn rule_timer_from(row: &Row) -> rusqlite::Result<RuleTimer> {
    Ok(RuleTimer {
        case_id: row.get("case_id")?,
        rule_id: row.get("rule_id")?,
        account_id: row.get("account_id")?,
        due_at: time_at(row, "due_at")?,
    })
}

impl SqliteTx<'_> {
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> R<usize> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(map_err)
    }

    /// A write of one known row: none changed means it does not exist (here).
    fn exec_found(&self, sql: &str, params: impl rusqlite::Params) -> R<()> {
        match self.exec(sql, params)? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    /// Exactly one row, or `NotFound`.
    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> R<T> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params, f))
            .map_err(map_err)
    }

    fn maybe<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> R<Option<T>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params, f).optional())
            .map_err(map_err)
    }

    fn all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> R<Vec<T>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_map(params, f)?.collect())
            .map_err(map_err)
    }

    fn customer(&self, sql: &str, params: impl rusqlite::Params) -> R<CustomerRecord> {
        self.one(sql, params, customer_from)
    }
}

#[async_trait::async_trait]
impl Tx for SqliteTx<'_> {
    async fn insert_account(&mut self, a: &AccountRecord) -> R<()> {
        self.exec(
            "INSERT INTO accounts (id, name, chat_auto_finish_after_seconds, \
             chat_auto_finish_warning_seconds, created_at, time_zone, business_hours) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                a.id,
                a.name,
                a.settings.after_seconds(),
                a.settings.warning_seconds(),
                micros(a.created_at),
                a.time_zone.name(),
                a.business_hours.as_ref().map(hours_json)
            ],
        )
        .map(drop)
    }

    async fn get_account(&mut self, account_id: &str) -> R<AccountRecord> {
        self.one(
            "SELECT * FROM accounts WHERE id = ?1",
            [account_id],
            account_from,
        )
    }

    async fn count_accounts(&mut self) -> R<i64> {
        self.one("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))
    }

    async fn list_account_ids(&mut self, limit: i64) -> R<Vec<String>> {
        self.all(
            "SELECT id FROM accounts ORDER BY created_at, id LIMIT ?1",
            [limit],
            |r| r.get(0),
        )
    }

    async fn update_account_settings(
        &mut self,
        account_id: &str,
        settings: AutoFinishSettings,
    ) -> R<()> {
        self.exec_found(
            "UPDATE accounts SET chat_auto_finish_after_seconds = ?2, \
             chat_auto_finish_warning_seconds = ?3 WHERE id = ?1",
            params![
                account_id,
                settings.after_seconds(),
                settings.warning_seconds()
            ],
        )
    }

    async fn next_case_number(&mut self, account_id: &str) -> R<i64> {
        self.one(
            "UPDATE accounts SET next_case_number = next_case_number + 1 WHERE id = ?1 \
             RETURNING next_case_number - 1",
            [account_id],
            |r| r.get(0),
        )
    }

    async fn insert_agent(&mut self, a: &AgentRecord) -> R<()> {
        self.exec(
            "INSERT INTO agents (id, account_id, email, name, role, password_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                a.id,
                a.account_id,
                a.email,
                a.name,
                a.role.as_str(),
                a.password_hash,
                micros(a.created_at)
            ],
        )
        .map(drop)
    }

    async fn get_agent(&mut self, account_id: &str, agent_id: &str) -> R<AgentRecord> {
        self.one(
            "SELECT * FROM agents WHERE account_id = ?1 AND id = ?2",
            [account_id, agent_id],
            agent_from,
        )
    }

    async fn find_agent_by_email(&mut self, email: &str) -> R<Option<AgentRecord>> {
        self.maybe("SELECT * FROM agents WHERE email = ?1", [email], agent_from)
    }

    async fn list_agents(&mut self, account_id: &str) -> R<Vec<AgentRecord>> {
        self.all(
            "SELECT * FROM agents WHERE account_id = ?1 ORDER BY created_at, id",
            [account_id],
            agent_from,
        )
    }

    async fn set_agent_password(&mut self, agent_id: &str, password_hash: &str) -> R<()> {
        match self.exec(
            "UPDATE agents SET password_hash = ?2 WHERE id = ?1",
            [agent_id, password_hash],
        )? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn update_agent(&mut self, a: &AgentRecord) -> R<()> {
        self.exec_found(
            "UPDATE agents SET email = ?2, name = ?3, role = ?4, disabled_at = ?5, \
             deleted_at = ?6 WHERE id = ?1",
            params![
                a.id,
                a.email,
                a.name,
                a.role.as_str(),
                opt_micros(a.disabled_at),
                opt_micros(a.deleted_at)
            ],
        )
    }

    async fn delete_agent_tokens(&mut self, agent_id: &str) -> R<u64> {
        self.exec("DELETE FROM api_tokens WHERE agent_id = ?1", [agent_id])
            .map(|n| n as u64)
    }

    async fn insert_token(&mut self, t: &TokenRecord) -> R<()> {
        self.exec(
            "INSERT INTO api_tokens (token_hash, account_id, agent_id, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                t.token_hash,
                t.account_id,
                t.agent_id,
                micros(t.created_at),
                micros(t.expires_at)
            ],
        )
        .map(drop)
    }

    async fn find_token(&mut self, token_hash: &str) -> R<Option<TokenRecord>> {
        self.maybe(
            "SELECT * FROM api_tokens WHERE token_hash = ?1",
            [token_hash],
            token_from,
        )
    }

    async fn delete_token(&mut self, token_hash: &str) -> R<()> {
        self.exec("DELETE FROM api_tokens WHERE token_hash = ?1", [token_hash])
            .map(drop)
    }

    async fn insert_channel(&mut self, c: &ChannelRecord) -> R<()> {
        self.exec(
            "INSERT INTO channels (id, account_id, kind, name, webhook_url, inbound_token, \
             created_at, allowed_origins) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                c.id,
                c.account_id,
                c.kind.as_str(),
                c.name,
                c.webhook_url,
                c.inbound_token,
                micros(c.created_at),
                origins_json(&c.allowed_origins)
            ],
        )
        .map(drop)
    }

    async fn find_channel(&mut self, channel_id: &str) -> R<Option<ChannelRecord>> {
        self.maybe(
            "SELECT * FROM channels WHERE id = ?1",
            [channel_id],
            channel_from,
        )
    }

    async fn list_channels(&mut self, account_id: &str) -> R<Vec<ChannelRecord>> {
        self.all(
            "SELECT * FROM channels WHERE account_id = ?1 ORDER BY created_at, id",
            [account_id],
            channel_from,
        )
    }

    async fn upsert_customer_locked(&mut self, new: &CustomerRecord) -> R<CustomerRecord> {
        // The single writer thread already serializes every write job.
        self.exec(
            "INSERT INTO customers (id, account_id, channel_id, external_id, name, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (channel_id, external_id) DO UPDATE \
             SET name = COALESCE(excluded.name, customers.name) \
             WHERE excluded.name IS NOT NULL AND excluded.name IS NOT customers.name",
            params![
                new.id,
                new.account_id,
                new.channel_id,
                new.external_id,
                new.name,
                micros(new.created_at)
            ],
        )?;
        self.customer(
            "SELECT * FROM customers WHERE channel_id = ?1 AND external_id = ?2",
            [&new.channel_id, &new.external_id],
        )
    }

    async fn get_customer(&mut self, account_id: &str, customer_id: &str) -> R<CustomerRecord> {
        self.customer(
            "SELECT * FROM customers WHERE account_id = ?1 AND id = ?2",
            [account_id, customer_id],
        )
    }

    async fn lock_customer(&mut self, account_id: &str, customer_id: &str) -> R<CustomerRecord> {
        self.get_customer(account_id, customer_id).await
    }

    async fn set_customer_latest_case(
        &mut self,
        customer_id: &str,
        latest_case_id: Option<&str>,
    ) -> R<()> {
        self.exec(
            "UPDATE customers SET latest_case_id = ?2 WHERE id = ?1",
            params![customer_id, latest_case_id],
        )
        .map(drop)
    }

    async fn insert_case(&mut self, case: &CaseRecord) -> R<()> {
        let placeholders = (1..=24)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.exec(
            &format!("INSERT INTO cases ({CASE_COLUMNS}) VALUES ({placeholders})"),
            params_from_iter(case_values(case)),
        )
        .map(drop)
    }

    async fn get_case(&mut self, account_id: &str, case_id: &str) -> R<CaseRecord> {
        self.one(
            &format!("SELECT {CASE_COLUMNS} FROM cases WHERE account_id = ?1 AND id = ?2"),
            [account_id, case_id],
            case_from,
        )
    }

    async fn update_case(&mut self, case: &CaseRecord) -> R<()> {
        // A reassigned case takes its history events along: statistics
        // count events for the case's current assignee (migration 0005).
        let assignee_before: Option<String> = self.one(
            "SELECT assignee_id FROM cases WHERE id = ?1 AND account_id = ?2",
            [&case.id, &case.account_id],
            |r| r.get(0),
        )?;
        if assignee_before != case.assignee_id {
            self.exec(
                "UPDATE case_events SET assignee_id = ?2 WHERE case_id = ?1",
                params![case.id, case.assignee_id],
            )?;
        }
        let sets = CASE_COLUMNS
            .split(", ")
            .enumerate()
            .skip(2)
            .map(|(i, col)| format!("{} = ?{}", col.trim(), i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        self.exec_found(
            &format!("UPDATE cases SET {sets} WHERE id = ?1 AND account_id = ?2"),
            params_from_iter(case_values(case)),
        )
    }

    async fn list_cases(&mut self, account_id: &str, f: &CaseFilter) -> R<Vec<CaseRecord>> {
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE account_id = ?1");
        let mut args = vec![Value::Text(account_id.to_owned())];
        let mut push = |sql: &mut String, cond: &str, v: Value| {
            args.push(v);
            sql.push_str(&cond.replace('#', &format!("?{}", args.len())));
        };
        if let Some(s) = f.status {
            push(&mut sql, " AND status = #", Value::Text(s.as_str().into()));
        }
        if let Some(s) = f.chat_state {
            push(
                &mut sql,
                " AND chat_state = #",
                Value::Text(s.as_str().into()),
            );
        }
        for (col, v) in [
            ("channel_id", &f.channel_id),
            ("customer_id", &f.customer_id),
            ("assignee_id", &f.assignee_id),
        ] {
            if let Some(v) = v {
                push(&mut sql, &format!(" AND {col} = #"), Value::Text(v.clone()));
            }
        }
        if let Some(label_id) = &f.label_id {
            push(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM case_labels cl WHERE cl.case_id = cases.id \
                 AND cl.label_id = #)",
                Value::Text(label_id.clone()),
            );
        }
        if !f.include_merged {
            sql.push_str(" AND merged_into_id IS NULL");
        }
        if let Some(q) = f.q.as_deref().and_then(SearchText::parse) {
            let pattern = contains_pattern(&q.folded());
            push(
                &mut sql,
                " AND (cd_fold(subject) LIKE # ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m \
                 WHERE m.case_id = cases.id AND m.kind != 'system' \
                 AND cd_fold(m.text) LIKE # ESCAPE '\\'))",
                Value::Text(pattern),
            );
        }
        // Both names are fixed column names, never input.
        let col = f.sort.as_str();
        let (cmp, dir) = match f.order {
            SortOrder::Asc => (">", "ASC"),
            SortOrder::Desc => ("<", "DESC"),
        };
        if let Some((t, id)) = &f.cursor {
            args.push(Value::Integer(micros(*t)));
            args.push(Value::Text(id.clone()));
            let (a, b) = (args.len() - 1, args.len());
            sql.push_str(&format!(
                " AND ({col} {cmp} ?{a} OR ({col} = ?{a} AND id {cmp} ?{b}))"
            ));
        }
        args.push(Value::Integer(f.limit.max(0)));
        sql.push_str(&format!(
            " ORDER BY {col} {dir}, id {dir} LIMIT ?{}",
            args.len()
        ));
        self.all(&sql, params_from_iter(args), case_from)
    }

    async fn find_message_by_channel_id(
        &mut self,
        channel_id: &str,
        channel_message_id: &str,
    ) -> R<Option<MessageRecord>> {
        self.maybe(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages \
                 WHERE channel_id = ?1 AND channel_message_id = ?2"
            ),
            [channel_id, channel_message_id],
            message_from,
        )
    }

    async fn next_message_seq(&mut self) -> R<i64> {
        self.one("SELECT COALESCE(MAX(seq), 0) + 1 FROM messages", [], |r| {
            r.get(0)
        })
    }

    async fn insert_message(&mut self, m: &MessageRecord) -> R<()> {
        self.exec(
            &format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                m.id,
                m.account_id,
                m.case_id,
                m.seq,
                m.kind.as_str(),
                m.author_type.as_str(),
                m.author_id,
                m.text,
                micros(m.created_at),
                m.channel_id,
                m.channel_message_id,
                m.reacted_message_id
            ],
        )
        .map(drop)
    }

    async fn get_message(&mut self, account_id: &str, message_id: &str) -> R<MessageRecord> {
        self.one(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = ?1 AND id = ?2"),
            [account_id, message_id],
            message_from,
        )
    }

    async fn list_messages(&mut self, account_id: &str, case_id: &str) -> R<Vec<MessageRecord>> {
        self.all(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = ?1 AND case_id = ?2 \
                 ORDER BY created_at, seq"
            ),
            [account_id, case_id],
            message_from,
        )
    }

    async fn move_messages(&mut self, from_case: &str, to_case: &str, from_seq: i64) -> R<i64> {
        let plain = self.exec(
            "UPDATE messages SET case_id = ?2 WHERE case_id = ?1 AND seq >= ?3 \
             AND reacted_message_id IS NULL",
            params![from_case, to_case, from_seq],
        )?;
        let notes = self.exec(
            "UPDATE messages SET case_id = ?2 WHERE case_id = ?1 AND seq >= ?3 \
             AND reacted_message_id IN (SELECT id FROM messages WHERE case_id = ?2)",
            params![from_case, to_case, from_seq],
        )?;
        Ok(i64::try_from(plain + notes).unwrap_or(i64::MAX))
    }

    async fn message_summary(&mut self, case_id: &str) -> R<MessageSummary> {
        let message_count = self.one(
            "SELECT COUNT(*) FROM messages WHERE case_id = ?1",
            [case_id],
            |r| r.get(0),
        )?;
        let last = self.maybe(
            "SELECT author_type, created_at FROM messages WHERE case_id = ?1 AND kind = 'message' \
             AND author_type != 'system' ORDER BY created_at DESC, seq DESC LIMIT 1",
            [case_id],
            |r| {
                Ok((
                    parsed::<AuthorType>(r, "author_type")?,
                    time_at(r, "created_at")?,
                ))
            },
        )?;
        let first_customer_text = self.maybe(
            "SELECT text FROM messages WHERE case_id = ?1 AND kind = 'message' \
             AND author_type = 'customer' ORDER BY created_at, seq LIMIT 1",
            [case_id],
            |r| r.get(0),
        )?;
        Ok(MessageSummary {
            message_count,
            last_public_author: last.as_ref().map(|l| l.0),
            last_public_at: last.map(|l| l.1),
            first_customer_text,
        })
    }

    async fn insert_reaction(&mut self, r: &ReactionRecord) -> R<()> {
        self.exec(
            "INSERT INTO reactions (id, account_id, message_id, customer_id, emoji, note_id, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                r.id,
                r.account_id,
                r.message_id,
                r.customer_id,
                r.emoji,
                r.note_id,
                micros(r.created_at)
            ],
        )
        .map(drop)
    }

    async fn list_reactions(&mut self, case_id: &str) -> R<Vec<ReactionRecord>> {
        self.all(
            "SELECT r.* FROM reactions r JOIN messages m ON m.id = r.message_id \
             WHERE m.case_id = ?1 ORDER BY r.created_at, r.id",
            [case_id],
            reaction_from,
        )
    }

    async fn insert_event(&mut self, e: &EventRecord) -> R<()> {
        let changes =
            serde_json::to_string(&e.changes).map_err(|e| StoreError::Other(e.to_string()))?;
        // Statistics read what the changes set from columns (R15).
        let facts = casedesk_domain::stats::EventFacts::of(&e.changes);
        // The case's keys are copied onto the event for joinless statistics
        // (migration 0005); an event of a case that does not exist is an
        // error. Two statements, not `INSERT … SELECT`: that form opens a
        // statement journal, costly inside a large transaction.
        let (assignee_id, channel_id, case_created_at): (Option<String>, String, i64) = self.one(
            "SELECT assignee_id, channel_id, created_at FROM cases \
                 WHERE id = ?1 AND account_id = ?2",
            params![e.case_id, e.account_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        self.exec(
            "INSERT INTO case_events (id, account_id, case_id, kind, actor_type, actor_id, \
             changes, data, created_at, sets_closed, sets_finished, assignee_id, channel_id, \
             case_created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                e.id,
                e.account_id,
                e.case_id,
                e.kind,
                e.actor.kind(),
                e.actor.id(),
                changes,
                e.data.to_string(),
                micros(e.created_at),
                facts.sets_closed,
                facts.sets_finished,
                assignee_id,
                channel_id,
                case_created_at
            ],
        )
        .map(drop)
    }

    async fn list_events(&mut self, account_id: &str, case_id: &str) -> R<Vec<EventRecord>> {
        self.all(
            "SELECT * FROM case_events WHERE account_id = ?1 AND case_id = ?2 ORDER BY seq",
            [account_id, case_id],
            event_from,
        )
    }

    async fn set_deadline(&mut self, d: &Deadline) -> R<()> {
        self.exec(
            "INSERT INTO chat_deadlines (case_id, kind, account_id, due_at) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (case_id, kind) DO UPDATE SET due_at = excluded.due_at",
            params![d.case_id, d.kind.as_str(), d.account_id, micros(d.due_at)],
        )
        .map(drop)
    }

    async fn clear_deadlines(&mut self, case_id: &str) -> R<()> {
        self.exec("DELETE FROM chat_deadlines WHERE case_id = ?1", [case_id])
            .map(drop)
    }

    async fn next_deadline_at(&mut self) -> R<Option<Time>> {
        self.one("SELECT MIN(due_at) FROM chat_deadlines", [], |r| {
            let v: Option<i64> = r.get(0)?;
            Ok(v.and_then(chrono::DateTime::from_timestamp_micros))
        })
    }

    async fn claim_due_deadlines(&mut self, now: Time, limit: i64) -> R<Vec<Deadline>> {
        self.all(
            "SELECT * FROM chat_deadlines WHERE due_at <= ?1 ORDER BY due_at LIMIT ?2",
            params![micros(now), limit],
            deadline_from,
        )
    }

    async fn delete_deadline(&mut self, case_id: &str, kind: DeadlineKind) -> R<()> {
        self.exec(
            "DELETE FROM chat_deadlines WHERE case_id = ?1 AND kind = ?2",
            [case_id, kind.as_str()],
        )
        .map(drop)
    }

    async fn list_deadlines(&mut self, case_id: &str) -> R<Vec<Deadline>> {
        self.all(
            "SELECT * FROM chat_deadlines WHERE case_id = ?1 ORDER BY due_at",
            [case_id],
            deadline_from,
        )
    }

    async fn insert_outbox(&mut self, o: &OutboxItem) -> R<()> {
        self.exec(
            "INSERT INTO outbox (id, account_id, channel_id, message_id, url, body, attempts, \
             next_attempt_at, created_at, last_attempt_at, last_error, delivered_at, failed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                o.id,
                o.account_id,
                o.channel_id,
                o.message_id,
                o.url,
                o.body,
                o.attempts,
                micros(o.next_attempt_at),
                micros(o.created_at),
                opt_micros(o.last_attempt_at),
                o.last_error,
                opt_micros(o.delivered_at),
                opt_micros(o.failed_at)
            ],
        )
        .map(drop)
    }

    async fn claim_outbox(
        &mut self,
        now: Time,
        lease_until: Time,
        limit: i64,
    ) -> R<Vec<OutboxItem>> {
        let items = self.all(
            "SELECT * FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL \
             AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2",
            params![micros(now), limit],
            outbox_from,
        )?;
        for item in &items {
            self.exec(
                "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1",
                params![item.id, micros(lease_until)],
            )?;
        }
        Ok(items)
    }

    async fn finish_outbox(&mut self, u: &OutboxUpdate) -> R<()> {
        let (sql, at) = match u.outcome {
            OutboxOutcome::Delivered => (
                "UPDATE outbox SET delivered_at = ?2, attempts = ?3, last_error = ?4, \
                 last_attempt_at = ?5 WHERE id = ?1",
                u.now,
            ),
            OutboxOutcome::Retry(at) => (
                "UPDATE outbox SET next_attempt_at = ?2, attempts = ?3, last_error = ?4, \
                 last_attempt_at = ?5 WHERE id = ?1",
                at,
            ),
            OutboxOutcome::Failed => (
                "UPDATE outbox SET failed_at = ?2, attempts = ?3, last_error = ?4, \
                 last_attempt_at = ?5 WHERE id = ?1",
                u.now,
            ),
        };
        self.exec_found(
            sql,
            params![u.id, micros(at), u.attempts, u.last_error, micros(u.now)],
        )
    }

    async fn next_outbox_at(&mut self) -> R<Option<Time>> {
        self.one(
            "SELECT MIN(next_attempt_at) FROM outbox \
             WHERE delivered_at IS NULL AND failed_at IS NULL",
            [],
            |r| {
                let v: Option<i64> = r.get(0)?;
                Ok(v.and_then(chrono::DateTime::from_timestamp_micros))
            },
        )
    }

    async fn list_outbox(
        &mut self,
        account_id: &str,
        channel_id: &str,
        state: Option<OutboxState>,
        limit: i64,
    ) -> R<Vec<OutboxItem>> {
        let sql = format!(
            "SELECT * FROM outbox WHERE account_id = ?1 AND channel_id = ?2 AND {} \
             ORDER BY created_at DESC, id DESC LIMIT ?3",
            state.map_or("1", outbox_state_sql)
        );
        self.all(&sql, params![account_id, channel_id, limit], outbox_from)
    }

    async fn get_outbox(&mut self, account_id: &str, id: &str) -> R<OutboxItem> {
        self.one(
            "SELECT * FROM outbox WHERE id = ?1 AND account_id = ?2",
            [id, account_id],
            outbox_from,
        )
    }

    async fn requeue_outbox(&mut self, account_id: &str, id: &str, now: Time) -> R<bool> {
        let n = self.exec(
            "UPDATE outbox SET attempts = 0, failed_at = NULL, next_attempt_at = ?3 \
             WHERE id = ?1 AND account_id = ?2 AND delivered_at IS NULL",
            params![id, account_id, micros(now)],
        )?;
        Ok(n > 0)
    }

    async fn insert_label(&mut self, l: &LabelRecord) -> R<()> {
        self.exec(
            "INSERT INTO labels (id, account_id, name, name_folded, color, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                l.id,
                l.account_id,
                l.name,
                folded(&l.name),
                l.color,
                micros(l.created_at)
            ],
        )
        .map(drop)
    }

    async fn list_labels(&mut self, account_id: &str) -> R<Vec<LabelRecord>> {
        self.all(
            &format!(
                "SELECT {LABEL_COLUMNS} FROM labels WHERE account_id = ?1 ORDER BY name_folded, id"
            ),
            [account_id],
            label_from,
        )
    }

    async fn get_label(&mut self, account_id: &str, label_id: &str) -> R<LabelRecord> {
        self.one(
            &format!("SELECT {LABEL_COLUMNS} FROM labels WHERE account_id = ?1 AND id = ?2"),
            [account_id, label_id],
            label_from,
        )
    }

    async fn update_label(&mut self, l: &LabelRecord) -> R<()> {
        self.exec_found(
            "UPDATE labels SET name = ?3, name_folded = ?4, color = ?5 \
             WHERE account_id = ?1 AND id = ?2",
            params![l.account_id, l.id, l.name, folded(&l.name), l.color],
        )
    }

    async fn delete_label(&mut self, account_id: &str, label_id: &str) -> R<()> {
        self.exec(
            "DELETE FROM case_labels WHERE account_id = ?1 AND label_id = ?2",
            [account_id, label_id],
        )?;
        self.exec_found(
            "DELETE FROM labels WHERE account_id = ?1 AND id = ?2",
            [account_id, label_id],
        )
    }

    async fn add_case_label(
        &mut self,
        account_id: &str,
        case_id: &str,
        label_id: &str,
        at: Time,
    ) -> R<bool> {
        let n = self.exec(
            "INSERT INTO case_labels (case_id, label_id, account_id, created_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![case_id, label_id, account_id, micros(at)],
        )?;
        Ok(n > 0)
    }

    async fn remove_case_label(&mut self, case_id: &str, label_id: &str) -> R<bool> {
        let n = self.exec(
            "DELETE FROM case_labels WHERE case_id = ?1 AND label_id = ?2",
            [case_id, label_id],
        )?;
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
        // far below SQLite's limit of bound parameters.
        let marks = (2..case_ids.len() + 2)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT cl.case_id, l.id, l.account_id, l.name, l.color, l.created_at \
             FROM case_labels cl JOIN labels l ON l.id = cl.label_id \
             WHERE cl.account_id = ?1 AND cl.case_id IN ({marks}) \
             ORDER BY cl.case_id, l.name_folded"
        );
        let args = std::iter::once(account_id).chain(case_ids.iter().map(String::as_str));
        let mut stmt = self.conn.prepare(&sql).map_err(map_err)?;
        let rows = stmt
            .query_map(params_from_iter(args), |r| {
                Ok((r.get::<_, String>("case_id")?, label_from(r)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(map_err)?;
        Ok(rows)
    }

    async fn insert_template(&mut self, t: &TemplateRecord) -> R<()> {
        self.exec(
            &format!(
                "INSERT INTO templates ({TEMPLATE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            params![
                t.id,
                t.account_id,
                t.owner_id,
                t.name,
                t.body,
                actions_json(&t.actions),
                micros(t.created_at),
                micros(t.updated_at)
            ],
        )
        .map(drop)
    }

    async fn list_templates(&mut self, account_id: &str) -> R<Vec<TemplateRecord>> {
        self.all(
            &format!(
                "SELECT {TEMPLATE_COLUMNS} FROM templates WHERE account_id = ?1 \
                 ORDER BY cd_fold(name), id"
            ),
            [account_id],
            template_from,
        )
    }

    async fn get_template(&mut self, account_id: &str, template_id: &str) -> R<TemplateRecord> {
        self.one(
            &format!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE account_id = ?1 AND id = ?2"),
            [account_id, template_id],
            template_from,
        )
    }

    async fn update_template(&mut self, t: &TemplateRecord) -> R<()> {
        self.exec_found(
            "UPDATE templates SET owner_id = ?3, name = ?4, body = ?5, actions = ?6, \
             updated_at = ?7 WHERE account_id = ?1 AND id = ?2",
            params![
                t.account_id,
                t.id,
                t.owner_id,
                t.name,
                t.body,
                actions_json(&t.actions),
                micros(t.updated_at)
            ],
        )
    }

    async fn delete_template(&mut self, account_id: &str, template_id: &str) -> R<()> {
        self.exec_found(
            "DELETE FROM templates WHERE account_id = ?1 AND id = ?2",
            [account_id, template_id],
        )
    }

    async fn update_channel(&mut self, c: &ChannelRecord) -> R<()> {
        self.exec_found(
            "UPDATE channels SET name = ?3, webhook_url = ?4, allowed_origins = ?5 \
             WHERE account_id = ?1 AND id = ?2",
            params![
                c.account_id,
                c.id,
                c.name,
                c.webhook_url,
                origins_json(&c.allowed_origins)
            ],
        )
    }

    async fn insert_visitor(&mut self, v: &VisitorRecord) -> R<()> {
        self.exec(
            "INSERT INTO widget_visitors (token_hash, account_id, channel_id, customer_id, \
             created_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                v.token_hash,
                v.account_id,
                v.channel_id,
                v.customer_id,
                micros(v.created_at),
                micros(v.last_seen_at)
            ],
        )
        .map(drop)
    }

    async fn find_visitor(&mut self, token_hash: &str) -> R<Option<VisitorRecord>> {
        self.maybe(
            "SELECT token_hash, account_id, channel_id, customer_id, created_at, \
             COALESCE(last_seen_at, created_at) AS last_seen_at \
             FROM widget_visitors WHERE token_hash = ?1",
            [token_hash],
            |r| {
                Ok(VisitorRecord {
                    token_hash: r.get("token_hash")?,
                    account_id: r.get("account_id")?,
                    channel_id: r.get("channel_id")?,
                    customer_id: r.get("customer_id")?,
                    created_at: time_at(r, "created_at")?,
                    last_seen_at: time_at(r, "last_seen_at")?,
                })
            },
        )
    }

    async fn touch_visitor(&mut self, token_hash: &str, at: Time) -> R<()> {
        self.exec(
            "UPDATE widget_visitors SET last_seen_at = ?2 WHERE token_hash = ?1",
            params![token_hash, micros(at)],
        )
        .map(drop)
    }

    async fn insert_attachment(&mut self, a: &AttachmentRecord) -> R<()> {
        self.exec(
            &format!("INSERT INTO attachments ({ATTACHMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                a.id,
                a.account_id,
                a.message_id,
                a.filename,
                a.content_type,
                a.size_bytes,
                a.sha256,
                micros(a.created_at)
            ],
        )
        .map(drop)
    }

    async fn get_attachment(&mut self, account_id: &str, id: &str) -> R<AttachmentRecord> {
        self.one(
            &format!(
                "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE account_id = ?1 AND id = ?2"
            ),
            [account_id, id],
            attachment_from,
        )
    }

    async fn list_case_attachments(&mut self, case_id: &str) -> R<Vec<AttachmentRecord>> {
        let columns = qualified(ATTACHMENT_COLUMNS, "a");
        self.all(
            &format!(
                "SELECT {columns} FROM attachments a JOIN messages m ON m.id = a.message_id \
                 WHERE m.case_id = ?1 ORDER BY a.created_at, a.id"
            ),
            [case_id],
            attachment_from,
        )
    }

    async fn set_customer_email(
        &mut self,
        account_id: &str,
        customer_id: &str,
        email: Option<&str>,
    ) -> R<()> {
        self.exec_found(
            "UPDATE customers SET email = ?3 WHERE account_id = ?1 AND id = ?2",
            params![account_id, customer_id, email],
        )
    }

    async fn list_customers_by_email(
        &mut self,
        account_id: &str,
        email: &str,
    ) -> R<Vec<CustomerRecord>> {
        self.all(
            "SELECT * FROM customers WHERE account_id = ?1 AND email = ?2 ORDER BY created_at, id",
            [account_id, email],
            customer_from,
        )
    }

    async fn insert_help_token(&mut self, t: &HelpTokenRecord) -> R<()> {
        self.exec(
            &format!(
                "INSERT INTO help_tokens ({HELP_TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                t.token_hash,
                t.account_id,
                t.kind.as_str(),
                t.email,
                t.customer_id,
                micros(t.created_at),
                micros(t.expires_at)
            ],
        )
        .map(drop)
    }

    async fn find_help_token(&mut self, token_hash: &str) -> R<Option<HelpTokenRecord>> {
        self.maybe(
            &format!("SELECT {HELP_TOKEN_COLUMNS} FROM help_tokens WHERE token_hash = ?1"),
            [token_hash],
            help_token_from,
        )
    }

    async fn take_help_token(&mut self, token_hash: &str) -> R<Option<HelpTokenRecord>> {
        self.maybe(
            &format!(
                "DELETE FROM help_tokens WHERE token_hash = ?1 RETURNING {HELP_TOKEN_COLUMNS}"
            ),
            [token_hash],
            help_token_from,
        )
    }

    async fn revoke_customer_tokens(
        &mut self,
        account_id: &str,
        customer_id: &str,
        email: Option<&str>,
    ) -> R<u64> {
        let visitors = self.exec(
            "DELETE FROM widget_visitors WHERE account_id = ?1 AND customer_id = ?2",
            params![account_id, customer_id],
        )?;
        let help = self.exec(
            "DELETE FROM help_tokens WHERE account_id = ?1 \
             AND (customer_id = ?2 OR (?3 IS NOT NULL AND email = ?3))",
            params![account_id, customer_id, email],
        )?;
        Ok((visitors + help) as u64)
    }

    async fn delete_expired_help_tokens(&mut self, now: Time) -> R<u64> {
        self.exec(
            "DELETE FROM help_tokens WHERE expires_at < ?1",
            [micros(now)],
        )
        .map(|n| n as u64)
    }

    async fn list_customer_messages(
        &mut self,
        account_id: &str,
        customer_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> R<Vec<MessageRecord>> {
        let columns = qualified(MESSAGE_COLUMNS, "m");
        self.all(
            &format!(
                "SELECT {columns} FROM cases c JOIN messages m ON m.case_id = c.id \
                 WHERE c.account_id = ?1 AND c.customer_id = ?2 AND m.kind = 'message' \
                 AND m.seq > ?3 ORDER BY m.seq LIMIT ?4"
            ),
            params![account_id, customer_id, after_seq, limit],
            message_from,
        )
    }

    async fn insert_rule(&mut self, r: &RuleRecord) -> R<()> {
        let [trigger, conditions, actions] = rule_json(r);
        self.exec(
            &format!(
                "INSERT INTO rules ({RULE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                r.id,
                r.account_id,
                r.name,
                r.enabled,
                r.position,
                trigger,
                conditions,
                actions,
                micros(r.created_at),
                micros(r.updated_at)
            ],
        )
        .map(drop)
    }

    async fn list_rules(&mut self, account_id: &str) -> R<Vec<RuleRecord>> {
        self.all(
            &format!(
                "SELECT {RULE_COLUMNS} FROM rules WHERE account_id = ?1 \
                 ORDER BY position, created_at, id"
            ),
            [account_id],
            rule_from,
        )
    }

    async fn get_rule(&mut self, account_id: &str, rule_id: &str) -> R<RuleRecord> {
        self.one(
            &format!("SELECT {RULE_COLUMNS} FROM rules WHERE account_id = ?1 AND id = ?2"),
            [account_id, rule_id],
            rule_from,
        )
    }

    async fn update_rule(&mut self, r: &RuleRecord) -> R<()> {
        let [trigger, conditions, actions] = rule_json(r);
        self.exec_found(
            "UPDATE rules SET name = ?3, enabled = ?4, position = ?5, \"trigger\" = ?6, \
             conditions = ?7, actions = ?8, updated_at = ?9 WHERE account_id = ?1 AND id = ?2",
            params![
                r.account_id,
                r.id,
                r.name,
                r.enabled,
                r.position,
                trigger,
                conditions,
                actions,
                micros(r.updated_at)
            ],
        )
    }

    async fn delete_rule(&mut self, account_id: &str, rule_id: &str) -> R<()> {
        let n = self.exec(
            "DELETE FROM rules WHERE account_id = ?1 AND id = ?2",
            [account_id, rule_id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.exec("DELETE FROM rule_timers WHERE rule_id = ?1", [rule_id])
            .map(drop)
    }

    async fn set_rule_timer(&mut self, t: &RuleTimer, replace: bool) -> R<()> {
        let on_conflict = if replace {
            "DO UPDATE SET due_at = excluded.due_at"
        } else {
            "DO NOTHING"
        };
        self.exec(
            &format!(
                "INSERT INTO rule_timers (case_id, rule_id, account_id, due_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (case_id, rule_id) {on_conflict}"
            ),
            params![t.case_id, t.rule_id, t.account_id, micros(t.due_at)],
        )
        .map(drop)
    }

    async fn delete_rule_timer(&mut self, case_id: &str, rule_id: &str) -> R<()> {
        self.exec(
            "DELETE FROM rule_timers WHERE case_id = ?1 AND rule_id = ?2",
            [case_id, rule_id],
        )
        .map(drop)
    }

    async fn delete_rule_timers(&mut self, rule_id: &str) -> R<()> {
        self.exec("DELETE FROM rule_timers WHERE rule_id = ?1", [rule_id])
            .map(drop)
    }

    async fn list_rule_timers(&mut self, case_id: &str) -> R<Vec<RuleTimer>> {
        self.all(
            "SELECT case_id, rule_id, account_id, due_at FROM rule_timers \
             WHERE case_id = ?1 ORDER BY due_at, rule_id",
            [case_id],
            rule_timer_from,
        )
    }

    async fn next_rule_timer_at(&mut self) -> R<Option<Time>> {
        self.one("SELECT MIN(due_at) FROM rule_timers", [], |r| {
            let v: Option<i64> = r.get(0)?;
            Ok(v.and_then(chrono::DateTime::from_timestamp_micros))
        })
    }

    async fn claim_due_rule_timers(&mut self, now: Time, limit: i64) -> R<Vec<RuleTimer>> {
        // One writer: nothing else can claim them meanwhile.
        self.all(
            "SELECT case_id, rule_id, account_id, due_at FROM rule_timers \
             WHERE due_at <= ?1 ORDER BY due_at, case_id, rule_id LIMIT ?2",
            params![micros(now), limit],
            rule_timer_from,
        )
    }

    async fn update_account_business_hours(
        &mut self,
        account_id: &str,
        hours: Option<&casedesk_domain::BusinessHours>,
    ) -> R<()> {
        self.exec_found(
            "UPDATE accounts SET business_hours = ?2 WHERE id = ?1",
            params![account_id, hours.map(hours_json)],
        )
    }

    async fn update_account_time_zone(
        &mut self,
        account_id: &str,
        time_zone: casedesk_domain::AccountTimeZone,
    ) -> R<()> {
        self.exec_found(
            "UPDATE accounts SET time_zone = ?2 WHERE id = ?1",
            params![account_id, time_zone.name()],
        )
    }

    async fn stats(
        &mut self,
        account_id: &str,
        q: &casedesk_store::StatsQuery,
    ) -> R<casedesk_domain::stats::StatsInput> {
        self.stats_input(account_id, q)
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
