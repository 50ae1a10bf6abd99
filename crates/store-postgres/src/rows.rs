//! Rows of PostgreSQL as casedesk records, and back.
//!
//! Times are BIGINT microseconds since the Unix epoch (UTC); enums are their
//! domain text form. A value the domain does not accept is a
//! [`StoreError::Other`]: a row someone edited by hand must not crash the
//! server.

use std::str::FromStr;

use casedesk_domain::{Actor, AutoFinishSettings, CaseState, Change, Reopen, Time};
use casedesk_store::{
    AccountRecord, AgentRecord, AttachmentRecord, CaseRecord, ChannelRecord, CustomerRecord,
    Deadline, DeadlineKind, EventRecord, HelpTokenKind, HelpTokenRecord, LabelRecord,
    MessageRecord, OutboxItem, OutboxState, ReactionRecord, RuleRecord, RuleTimer, StoreError,
    TemplateRecord, TokenRecord, VisitorRecord,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

type R<T> = Result<T, StoreError>;

pub(crate) const ACCOUNT_COLUMNS: &str = "id, name, chat_auto_finish_after_seconds, \
     chat_auto_finish_warning_seconds, created_at, time_zone, business_hours";
pub(crate) const AGENT_COLUMNS: &str =
    "id, account_id, email, name, role, password_hash, created_at, disabled_at, deleted_at";
pub(crate) const TOKEN_COLUMNS: &str = "token_hash, account_id, agent_id, created_at, expires_at";
pub(crate) const CHANNEL_COLUMNS: &str =
    "id, account_id, kind, name, webhook_url, inbound_token, created_at, allowed_origins";
pub(crate) const CUSTOMER_COLUMNS: &str =
    "id, account_id, channel_id, external_id, name, email, latest_case_id, created_at";
pub(crate) const ATTACHMENT_COLUMNS: &str =
    "id, account_id, message_id, filename, content_type, size_bytes, sha256, created_at";
pub(crate) const HELP_TOKEN_COLUMNS: &str =
    "token_hash, account_id, kind, email, customer_id, created_at, expires_at";
pub(crate) const CASE_COLUMNS: &str = "id, account_id, number, channel_id, customer_id, subject, \
     status, chat_state, assignee_id, created_at, updated_at, last_activity_at, finished_at, \
     closed_at, reopen_from_seq, reopen_status_before, reopen_finished_at_before, \
     last_public_author, previous_case_id, next_case_id, merged_into_id, message_count, unread, \
     first_response_at";
pub(crate) const MESSAGE_COLUMNS: &str = "id, account_id, case_id, seq, kind, author_type, \
     author_id, text, created_at, channel_id, channel_message_id, reacted_message_id";
pub(crate) const REACTION_COLUMNS: &str =
    "id, account_id, message_id, customer_id, emoji, note_id, created_at";
pub(crate) const EVENT_COLUMNS: &str =
    "id, account_id, case_id, kind, actor_type, actor_id, changes, data, created_at";
pub(crate) const DEADLINE_COLUMNS: &str = "case_id, account_id, kind, due_at";
pub(crate) const OUTBOX_COLUMNS: &str = "id, account_id, channel_id, message_id, url, body, \
     attempts, next_attempt_at, created_at, last_attempt_at, last_error, delivered_at, failed_at";
pub(crate) const RULE_COLUMNS: &str = "id, account_id, name, enabled, position, \"trigger\", \
     conditions, actions, created_at, updated_at";
pub(crate) const LABEL_COLUMNS: &str = "id, account_id, name, color, created_at";
pub(crate) const TEMPLATE_COLUMNS: &str =
    "id, account_id, owner_id, name, body, actions, created_at, updated_at";

/// A time as the schema stores it.
pub(crate) fn micros(t: Time) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn opt_micros(t: Option<Time>) -> Option<i64> {
    t.map(micros)
}

fn time(v: i64) -> R<Time> {
    Time::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Other(format!("stored time {v} is out of range")))
}

fn col<'r, T>(row: &'r PgRow, name: &str) -> R<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Other(format!("cannot read column `{name}`: {e}")))
}

fn time_col(row: &PgRow, name: &str) -> R<Time> {
    time(col(row, name)?)
}

fn opt_time_col(row: &PgRow, name: &str) -> R<Option<Time>> {
    col::<Option<i64>>(row, name)?.map(time).transpose()
}

/// A text column holding one of the domain's string enums.
fn parsed<T>(row: &PgRow, name: &str) -> R<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = col(row, name)?;
    text.parse()
        .map_err(|e| StoreError::Other(format!("column `{name}`: {e}")))
}

fn opt_parsed<T>(row: &PgRow, name: &str) -> R<Option<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    col::<Option<String>>(row, name)?
        .map(|text| {
            text.parse()
                .map_err(|e| StoreError::Other(format!("column `{name}`: {e}")))
        })
        .transpose()
}

pub(crate) fn account(row: &PgRow) -> R<AccountRecord> {
    let settings = AutoFinishSettings::new(
        col(row, "chat_auto_finish_after_seconds")?,
        col(row, "chat_auto_finish_warning_seconds")?,
    )
    .map_err(|e| StoreError::Other(format!("account settings: {e}")))?;
    Ok(AccountRecord {
        id: col(row, "id")?,
        name: col(row, "name")?,
        settings,
        time_zone: col::<String>(row, "time_zone")?
            .parse()
            .map_err(|e| StoreError::Other(format!("account time zone: {e}")))?,
        business_hours: col::<Option<String>>(row, "business_hours")?
            .map(|v| {
                serde_json::from_str(&v)
                    .map_err(|e| StoreError::Other(format!("account business hours: {e}")))
            })
            .transpose()?,
        created_at: time_col(row, "created_at")?,
    })
}

pub(crate) fn agent(row: &PgRow) -> R<AgentRecord> {
    Ok(AgentRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        email: col(row, "email")?,
        name: col(row, "name")?,
        role: parsed(row, "role")?,
        password_hash: col(row, "password_hash")?,
        created_at: time_col(row, "created_at")?,
        disabled_at: opt_time_col(row, "disabled_at")?,
        deleted_at: opt_time_col(row, "deleted_at")?,
    })
}

pub(crate) fn token(row: &PgRow) -> R<TokenRecord> {
    Ok(TokenRecord {
        token_hash: col(row, "token_hash")?,
        account_id: col(row, "account_id")?,
        agent_id: col(row, "agent_id")?,
        created_at: time_col(row, "created_at")?,
        expires_at: time_col(row, "expires_at")?,
    })
}

pub(crate) fn channel(row: &PgRow) -> R<ChannelRecord> {
    Ok(ChannelRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        kind: parsed(row, "kind")?,
        name: col(row, "name")?,
        webhook_url: col(row, "webhook_url")?,
        inbound_token: col(row, "inbound_token")?,
        allowed_origins: col::<Option<String>>(row, "allowed_origins")?
            .map(|v| serde_json::from_str(&v).map_err(json_err("allowed_origins")))
            .transpose()?
            .unwrap_or_default(),
        created_at: time_col(row, "created_at")?,
    })
}

pub(crate) fn origins_json(origins: &[String]) -> Option<String> {
    (!origins.is_empty()).then(|| serde_json::to_string(origins).unwrap_or_default())
}

pub(crate) fn visitor(row: &PgRow) -> R<VisitorRecord> {
    Ok(VisitorRecord {
        token_hash: col(row, "token_hash")?,
        account_id: col(row, "account_id")?,
        channel_id: col(row, "channel_id")?,
        customer_id: col(row, "customer_id")?,
        created_at: time_col(row, "created_at")?,
        last_seen_at: time_col(row, "last_seen_at")?,
    })
}

/// `columns` (a comma-separated list) each prefixed with the table alias
/// `alias`, for a join.
pub(crate) fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn attachment(row: &PgRow) -> R<AttachmentRecord> {
    Ok(AttachmentRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        message_id: col(row, "message_id")?,
        filename: col(row, "filename")?,
        content_type: col(row, "content_type")?,
        size_bytes: col(row, "size_bytes")?,
        sha256: col(row, "sha256")?,
        created_at: time_col(row, "created_at")?,
    })
}

pub(crate) fn help_token(row: &PgRow) -> R<HelpTokenRecord> {
    let kind: String = col(row, "kind")?;
    Ok(HelpTokenRecord {
        token_hash: col(row, "token_hash")?,
        account_id: col(row, "account_id")?,
        kind: HelpTokenKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown help token kind `{kind}`")))?,
        email: col(row, "email")?,
        customer_id: col(row, "customer_id")?,
        created_at: time_col(row, "created_at")?,
        expires_at: time_col(row, "expires_at")?,
    })
}

pub(crate) fn customer(row: &PgRow) -> R<CustomerRecord> {
    Ok(CustomerRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        channel_id: col(row, "channel_id")?,
        external_id: col(row, "external_id")?,
        name: col(row, "name")?,
        email: col(row, "email")?,
        latest_case_id: col(row, "latest_case_id")?,
        created_at: time_col(row, "created_at")?,
    })
}

/// The reopen memory is stored in three columns; it exists when its
/// sequence number and previous status do.
fn reopen(row: &PgRow) -> R<Option<Reopen>> {
    let from_seq: Option<i64> = col(row, "reopen_from_seq")?;
    let status_before = opt_parsed(row, "reopen_status_before")?;
    let finished_at_before = opt_time_col(row, "reopen_finished_at_before")?;
    Ok(match (from_seq, status_before) {
        (Some(from_seq), Some(status_before)) => Some(Reopen {
            from_seq,
            status_before,
            finished_at_before,
        }),
        _ => None,
    })
}

pub(crate) fn case(row: &PgRow) -> R<CaseRecord> {
    let merged_into_id: Option<String> = col(row, "merged_into_id")?;
    let state = CaseState {
        status: parsed(row, "status")?,
        chat_state: opt_parsed(row, "chat_state")?,
        finished_at: opt_time_col(row, "finished_at")?,
        closed_at: opt_time_col(row, "closed_at")?,
        reopen: reopen(row)?,
        last_public_author: opt_parsed(row, "last_public_author")?,
        merged: merged_into_id.is_some(),
    };
    Ok(CaseRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        number: col(row, "number")?,
        channel_id: col(row, "channel_id")?,
        customer_id: col(row, "customer_id")?,
        subject: col(row, "subject")?,
        state,
        assignee_id: col(row, "assignee_id")?,
        created_at: time_col(row, "created_at")?,
        updated_at: time_col(row, "updated_at")?,
        last_activity_at: time_col(row, "last_activity_at")?,
        previous_case_id: col(row, "previous_case_id")?,
        next_case_id: col(row, "next_case_id")?,
        merged_into_id,
        message_count: col(row, "message_count")?,
        unread: col(row, "unread")?,
        first_response_at: opt_time_col(row, "first_response_at")?,
    })
}

pub(crate) fn message(row: &PgRow) -> R<MessageRecord> {
    Ok(MessageRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        case_id: col(row, "case_id")?,
        seq: col(row, "seq")?,
        kind: parsed(row, "kind")?,
        author_type: parsed(row, "author_type")?,
        author_id: col(row, "author_id")?,
        text: col(row, "text")?,
        created_at: time_col(row, "created_at")?,
        channel_id: col(row, "channel_id")?,
        channel_message_id: col(row, "channel_message_id")?,
        reacted_message_id: col(row, "reacted_message_id")?,
    })
}

pub(crate) fn reaction(row: &PgRow) -> R<ReactionRecord> {
    Ok(ReactionRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        message_id: col(row, "message_id")?,
        customer_id: col(row, "customer_id")?,
        emoji: col(row, "emoji")?,
        note_id: col(row, "note_id")?,
        created_at: time_col(row, "created_at")?,
    })
}

pub(crate) fn event(row: &PgRow) -> R<EventRecord> {
    let actor_type: String = col(row, "actor_type")?;
    let actor = Actor::from_parts(&actor_type, col(row, "actor_id")?)
        .map_err(|e| StoreError::Other(format!("event actor: {e}")))?;
    let changes: Vec<Change> = serde_json::from_str(&col::<String>(row, "changes")?)
        .map_err(|e| StoreError::Other(format!("event changes are not valid JSON: {e}")))?;
    let data = serde_json::from_str(&col::<String>(row, "data")?)
        .map_err(|e| StoreError::Other(format!("event data is not valid JSON: {e}")))?;
    Ok(EventRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        case_id: col(row, "case_id")?,
        kind: col(row, "kind")?,
        actor,
        changes,
        data,
        created_at: time_col(row, "created_at")?,
    })
}

/// The `changes` and `data` columns of an event, as JSON text.
pub(crate) fn event_json(event: &EventRecord) -> R<(String, String)> {
    let encode = |e: serde_json::Error| StoreError::Other(format!("cannot encode event: {e}"));
    Ok((
        serde_json::to_string(&event.changes).map_err(encode)?,
        serde_json::to_string(&event.data).map_err(encode)?,
    ))
}

pub(crate) fn deadline(row: &PgRow) -> R<Deadline> {
    let kind: String = col(row, "kind")?;
    Ok(Deadline {
        case_id: col(row, "case_id")?,
        account_id: col(row, "account_id")?,
        kind: DeadlineKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown deadline kind `{kind}`")))?,
        due_at: time_col(row, "due_at")?,
    })
}

pub(crate) fn outbox_item(row: &PgRow) -> R<OutboxItem> {
    Ok(OutboxItem {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        channel_id: col(row, "channel_id")?,
        message_id: col(row, "message_id")?,
        url: col(row, "url")?,
        body: col(row, "body")?,
        attempts: col(row, "attempts")?,
        next_attempt_at: time_col(row, "next_attempt_at")?,
        created_at: time_col(row, "created_at")?,
        last_attempt_at: opt_time_col(row, "last_attempt_at")?,
        last_error: col(row, "last_error")?,
        delivered_at: opt_time_col(row, "delivered_at")?,
        failed_at: opt_time_col(row, "failed_at")?,
    })
}

/// The condition of `outbox` rows in a state.
pub(crate) fn outbox_state_sql(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Pending => "delivered_at IS NULL AND failed_at IS NULL",
        OutboxState::Delivered => "delivered_at IS NOT NULL",
        OutboxState::Failed => "failed_at IS NOT NULL",
    }
}

/// An optional time column of an aggregate query (`MIN(...)`).
pub(crate) fn opt_time_at(row: &PgRow, name: &str) -> R<Option<Time>> {
    opt_time_col(row, name)
}

/// Rows mapped one by one; the first bad row fails the whole read.
pub(crate) fn all<T>(rows: &[PgRow], map: fn(&PgRow) -> R<T>) -> R<Vec<T>> {
    rows.iter().map(map).collect()
}

pub(crate) fn label(row: &PgRow) -> R<LabelRecord> {
    Ok(LabelRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        name: col(row, "name")?,
        color: col(row, "color")?,
        created_at: time_col(row, "created_at")?,
    })
}

pub(crate) fn template(row: &PgRow) -> R<TemplateRecord> {
    let actions: String = col(row, "actions")?;
    Ok(TemplateRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        owner_id: col(row, "owner_id")?,
        name: col(row, "name")?,
        body: col(row, "body")?,
        actions: serde_json::from_str(&actions)
            .map_err(|e| StoreError::Other(format!("column `actions`: {e}")))?,
        created_at: time_col(row, "created_at")?,
        updated_at: time_col(row, "updated_at")?,
    })
}

pub(crate) fn actions_json(actions: &[casedesk_domain::Action]) -> String {
    serde_json::to_string(actions).unwrap_or_else(|_| "[]".into())
}

fn json_err(name: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Other(format!("column `{name}`: {e}"))
}

pub(crate) fn rule(row: &PgRow) -> R<RuleRecord> {
    Ok(RuleRecord {
        id: col(row, "id")?,
        account_id: col(row, "account_id")?,
        name: col(row, "name")?,
        enabled: col(row, "enabled")?,
        position: col(row, "position")?,
        trigger: serde_json::from_str(&col::<String>(row, "trigger")?)
            .map_err(json_err("trigger"))?,
        conditions: serde_json::from_str(&col::<String>(row, "conditions")?)
            .map_err(json_err("conditions"))?,
        actions: serde_json::from_str(&col::<String>(row, "actions")?)
            .map_err(json_err("actions"))?,
        created_at: time_col(row, "created_at")?,
        updated_at: time_col(row, "updated_at")?,
    })
}

/// A rule's trigger, conditions and actions as the JSON the table keeps.
pub(crate) fn rule_json(r: &RuleRecord) -> [String; 3] {
    [
        serde_json::to_string(&r.trigger).unwrap_or_default(),
        serde_json::to_string(&r.conditions).unwrap_or_default(),
        serde_json::to_string(&r.actions).unwrap_or_default(),
    ]
}

pub(crate) fn rule_timer(row: &PgRow) -> R<RuleTimer> {
    Ok(RuleTimer {
        case_id: col(row, "case_id")?,
        rule_id: col(row, "rule_id")?,
        account_id: col(row, "account_id")?,
        due_at: time_col(row, "due_at")?,
    })
}
