//! Records as rows, and back: the one codec of every SQL backend.
//!
//! Times are integer microseconds since the Unix epoch (UTC); enums are
//! their domain text form; lists and rule parts are JSON text. A value the
//! domain does not accept is a [`StoreError::Other`]: a row someone edited
//! by hand must not crash the server.

use casedesk_domain::search::fold;
use casedesk_domain::stats::EventFacts;
use casedesk_domain::{Actor, AutoFinishSettings, CaseState, MessageKind, Reopen};

use super::{R, Row, Value};
use crate::{
    AccountRecord, AgentRecord, AttachmentRecord, CaseRecord, ChannelRecord, ChannelSecretRecord,
    ChannelUpdate, CustomerRecord, Deadline, DeadlineKind, EventRecord, HelpTokenKind,
    HelpTokenRecord, ImportError, ImportRecord, ImportRow, LabelRecord, LetterRecord,
    MessageRecord, OutboxItem, ReactionRecord, RuleRecord, RuleTimer, StoreError, TemplateRecord,
    TokenRecord, VisitorRecord,
};

pub(crate) const ACCOUNT_COLUMNS: &str = "id, name, chat_auto_finish_after_seconds, \
     chat_auto_finish_warning_seconds, created_at, time_zone, business_hours, assign_on_reply";
pub(crate) const AGENT_COLUMNS: &str =
    "id, account_id, email, name, role, password_hash, created_at, disabled_at, deleted_at";
pub(crate) const TOKEN_COLUMNS: &str = "token_hash, account_id, agent_id, created_at, expires_at";
pub(crate) const CHANNEL_COLUMNS: &str = "id, account_id, kind, name, webhook_url, inbound_token, created_at, allowed_origins, disabled_at, removed_at";
pub const CUSTOMER_COLUMNS: &str = "id, account_id, channel_id, external_id, name, email, latest_case_id, created_at, language, \
     person_id, page";
pub(crate) const VISITOR_COLUMNS: &str = "token_hash, account_id, channel_id, customer_id, \
     created_at, COALESCE(last_seen_at, created_at) AS last_seen_at";
pub(crate) const ATTACHMENT_COLUMNS: &str =
    "id, account_id, message_id, filename, content_type, size_bytes, sha256, created_at";
pub(crate) const HELP_TOKEN_COLUMNS: &str =
    "token_hash, account_id, kind, email, customer_id, created_at, expires_at";
/// A case's columns; [`case_values`] writes them, then `subject_folded`
/// (what a search compares, never read back).
pub const CASE_COLUMNS: &str = "id, account_id, number, channel_id, customer_id, subject, \
     status, chat_state, assignee_id, created_at, updated_at, last_activity_at, finished_at, \
     closed_at, reopen_from_seq, reopen_status_before, reopen_finished_at_before, \
     last_public_author, previous_case_id, next_case_id, merged_into_id, message_count, unread, \
     first_response_at";
pub(crate) const MESSAGE_COLUMNS: &str = "id, account_id, case_id, seq, kind, author_type, \
     author_id, text, created_at, channel_id, channel_message_id, reacted_message_id, edited_at";
pub(crate) const REACTION_COLUMNS: &str =
    "id, account_id, message_id, customer_id, emoji, note_id, created_at";
pub const EVENT_COLUMNS: &str =
    "id, account_id, case_id, kind, actor_type, actor_id, changes, data, created_at";
pub(crate) const DEADLINE_COLUMNS: &str = "case_id, account_id, kind, due_at";
pub(crate) const OUTBOX_COLUMNS: &str = "id, account_id, channel_id, message_id, url, body, \
     attempts, next_attempt_at, created_at, last_attempt_at, last_error, delivered_at, failed_at";
pub(crate) const RULE_COLUMNS: &str = "id, account_id, name, enabled, position, \"trigger\", \
     conditions, actions, created_at, updated_at";
pub(crate) const RULE_TIMER_COLUMNS: &str = "case_id, rule_id, account_id, due_at";
pub(crate) const LABEL_COLUMNS: &str = "id, account_id, name, color, created_at";
pub(crate) const TEMPLATE_COLUMNS: &str =
    "id, account_id, owner_id, name, body, actions, created_at, updated_at";

/// `columns` (a comma-separated list) each prefixed with the table alias
/// `alias`, for a join.
pub(crate) fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn json(v: &impl serde::Serialize) -> R<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(format!("cannot encode JSON: {e}")))
}

pub(crate) fn account(row: &Row) -> R<AccountRecord> {
    let settings = AutoFinishSettings::new(
        row.get("chat_auto_finish_after_seconds")?,
        row.get("chat_auto_finish_warning_seconds")?,
    )
    .map_err(|e| StoreError::Other(format!("account settings: {e}")))?;
    Ok(AccountRecord {
        id: row.get("id")?,
        name: row.get("name")?,
        settings,
        time_zone: row.parsed("time_zone")?,
        business_hours: row.opt_json("business_hours")?,
        assign_on_reply: row.get("assign_on_reply")?,
        created_at: row.get("created_at")?,
    })
}

/// The account's business hours as the column keeps them.
pub(crate) fn hours_json(h: Option<&casedesk_domain::BusinessHours>) -> R<Value> {
    Ok(h.map(json).transpose()?.into())
}

pub(crate) fn agent(row: &Row) -> R<AgentRecord> {
    Ok(AgentRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        email: row.get("email")?,
        name: row.get("name")?,
        role: row.parsed("role")?,
        password_hash: row.get("password_hash")?,
        created_at: row.get("created_at")?,
        disabled_at: row.get("disabled_at")?,
        deleted_at: row.get("deleted_at")?,
    })
}

pub(crate) fn token(row: &Row) -> R<TokenRecord> {
    Ok(TokenRecord {
        token_hash: row.get("token_hash")?,
        account_id: row.get("account_id")?,
        agent_id: row.get("agent_id")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
    })
}

pub(crate) fn channel(row: &Row) -> R<ChannelRecord> {
    Ok(ChannelRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        kind: row.parsed("kind")?,
        name: row.get("name")?,
        webhook_url: row.get("webhook_url")?,
        inbound_token: row.get("inbound_token")?,
        allowed_origins: row.opt_json("allowed_origins")?.unwrap_or_default(),
        created_at: row.get("created_at")?,
        disabled_at: row.get("disabled_at")?,
        removed_at: row.get("removed_at")?,
    })
}

/// A channel's allowed origins: `NULL` for any.
pub(crate) fn origins_json(origins: &[String]) -> R<Value> {
    Ok((!origins.is_empty())
        .then(|| json(&origins))
        .transpose()?
        .into())
}

/// A new customer's values in [`CUSTOMER_COLUMNS`] order.
pub fn customer_values(c: &CustomerRecord) -> Vec<Value> {
    vec![
        (&c.id).into(),
        (&c.account_id).into(),
        (&c.channel_id).into(),
        (&c.external_id).into(),
        (&c.name).into(),
        (&c.email).into(),
        (&c.latest_case_id).into(),
        c.created_at.into(),
        (&c.language).into(),
        (&c.person_id).into(),
        (&c.page).into(),
    ]
}

pub(crate) fn customer(row: &Row) -> R<CustomerRecord> {
    Ok(CustomerRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        channel_id: row.get("channel_id")?,
        external_id: row.get("external_id")?,
        name: row.get("name")?,
        email: row.get("email")?,
        latest_case_id: row.get("latest_case_id")?,
        created_at: row.get("created_at")?,
        language: row.get("language")?,
        person_id: row.get("person_id")?,
        page: row.get("page")?,
    })
}

pub(crate) fn visitor(row: &Row) -> R<VisitorRecord> {
    Ok(VisitorRecord {
        token_hash: row.get("token_hash")?,
        account_id: row.get("account_id")?,
        channel_id: row.get("channel_id")?,
        customer_id: row.get("customer_id")?,
        created_at: row.get("created_at")?,
        last_seen_at: row.get("last_seen_at")?,
    })
}

pub(crate) fn attachment(row: &Row) -> R<AttachmentRecord> {
    Ok(AttachmentRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        message_id: row.get("message_id")?,
        filename: row.get("filename")?,
        content_type: row.get("content_type")?,
        size_bytes: row.get("size_bytes")?,
        sha256: row.get("sha256")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn help_token(row: &Row) -> R<HelpTokenRecord> {
    let kind: String = row.get("kind")?;
    Ok(HelpTokenRecord {
        token_hash: row.get("token_hash")?,
        account_id: row.get("account_id")?,
        kind: HelpTokenKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown help token kind `{kind}`")))?,
        email: row.get("email")?,
        customer_id: row.get("customer_id")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
    })
}

/// The reopen memory is stored in three columns; it exists when its
/// sequence number and previous status do.
fn reopen(row: &Row) -> R<Option<Reopen>> {
    let from_seq: Option<i64> = row.get("reopen_from_seq")?;
    let status_before = row.opt_parsed("reopen_status_before")?;
    Ok(match (from_seq, status_before) {
        (Some(from_seq), Some(status_before)) => Some(Reopen {
            from_seq,
            status_before,
            finished_at_before: row.get("reopen_finished_at_before")?,
        }),
        _ => None,
    })
}

pub(crate) fn case(row: &Row) -> R<CaseRecord> {
    let merged_into_id: Option<String> = row.get("merged_into_id")?;
    let state = CaseState {
        status: row.parsed("status")?,
        chat_state: row.opt_parsed("chat_state")?,
        finished_at: row.get("finished_at")?,
        closed_at: row.get("closed_at")?,
        reopen: reopen(row)?,
        last_public_author: row.opt_parsed("last_public_author")?,
        merged: merged_into_id.is_some(),
    };
    Ok(CaseRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        number: row.get("number")?,
        channel_id: row.get("channel_id")?,
        customer_id: row.get("customer_id")?,
        subject: row.get("subject")?,
        state,
        assignee_id: row.get("assignee_id")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        last_activity_at: row.get("last_activity_at")?,
        previous_case_id: row.get("previous_case_id")?,
        next_case_id: row.get("next_case_id")?,
        merged_into_id,
        message_count: row.get("message_count")?,
        unread: row.get("unread")?,
        first_response_at: row.get("first_response_at")?,
    })
}

/// The case's values in [`CASE_COLUMNS`] order, then its folded subject.
pub fn case_values(c: &CaseRecord) -> Vec<Value> {
    let s = &c.state;
    let reopen = s.reopen.as_ref();
    vec![
        (&c.id).into(),
        (&c.account_id).into(),
        c.number.into(),
        (&c.channel_id).into(),
        (&c.customer_id).into(),
        (&c.subject).into(),
        s.status.as_str().into(),
        s.chat_state.map(|v| v.as_str()).into(),
        (&c.assignee_id).into(),
        c.created_at.into(),
        c.updated_at.into(),
        c.last_activity_at.into(),
        s.finished_at.into(),
        s.closed_at.into(),
        reopen.map(|r| r.from_seq).into(),
        reopen.map(|r| r.status_before.as_str()).into(),
        reopen.and_then(|r| r.finished_at_before).into(),
        s.last_public_author.map(|a| a.as_str()).into(),
        (&c.previous_case_id).into(),
        (&c.next_case_id).into(),
        (&c.merged_into_id).into(),
        c.message_count.into(),
        c.unread.into(),
        c.first_response_at.into(),
        fold(&c.subject).into(),
    ]
}

pub(crate) fn message(row: &Row) -> R<MessageRecord> {
    Ok(MessageRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        case_id: row.get("case_id")?,
        seq: row.get("seq")?,
        kind: row.parsed("kind")?,
        author_type: row.parsed("author_type")?,
        author_id: row.get("author_id")?,
        text: row.get("text")?,
        created_at: row.get("created_at")?,
        channel_id: row.get("channel_id")?,
        channel_message_id: row.get("channel_message_id")?,
        reacted_message_id: row.get("reacted_message_id")?,
        edited_at: row.get("edited_at")?,
    })
}

/// What a case search compares a message with: its folded text, or
/// nothing for the system's own lines (which no search finds).
pub(crate) fn searchable_text(m: &MessageRecord) -> String {
    match m.kind {
        MessageKind::System => String::new(),
        _ => fold(&m.text),
    }
}

pub(crate) fn reaction(row: &Row) -> R<ReactionRecord> {
    Ok(ReactionRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        message_id: row.get("message_id")?,
        customer_id: row.get("customer_id")?,
        emoji: row.get("emoji")?,
        note_id: row.get("note_id")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn event(row: &Row) -> R<EventRecord> {
    let actor_type: String = row.get("actor_type")?;
    Ok(EventRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        case_id: row.get("case_id")?,
        kind: row.parsed("kind")?,
        actor: Actor::from_parts(&actor_type, row.get("actor_id")?)
            .map_err(|e| StoreError::Other(format!("event actor: {e}")))?,
        changes: row.json("changes")?,
        data: row.json("data")?,
        created_at: row.get("created_at")?,
    })
}

/// The columns an event is written with besides its case's keys:
/// [`EVENT_COLUMNS`], then what its changes set (R15 statistics read
/// these, never the JSON).
pub const EVENT_FACT_COLUMNS: &str = "sets_closed, sets_finished";

/// The event's values in [`EVENT_COLUMNS`], [`EVENT_FACT_COLUMNS`] order.
pub fn event_values(e: &EventRecord) -> R<Vec<Value>> {
    let facts = EventFacts::of(&e.changes);
    Ok(vec![
        (&e.id).into(),
        (&e.account_id).into(),
        (&e.case_id).into(),
        e.kind.as_str().into(),
        e.actor.kind().into(),
        e.actor.id().into(),
        json(&e.changes)?.into(),
        json(&e.data)?.into(),
        e.created_at.into(),
        facts.sets_closed.into(),
        facts.sets_finished.into(),
    ])
}

pub(crate) fn deadline(row: &Row) -> R<Deadline> {
    let kind: String = row.get("kind")?;
    Ok(Deadline {
        case_id: row.get("case_id")?,
        account_id: row.get("account_id")?,
        kind: DeadlineKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown deadline kind `{kind}`")))?,
        due_at: row.get("due_at")?,
    })
}

pub(crate) fn outbox_item(row: &Row) -> R<OutboxItem> {
    Ok(OutboxItem {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        channel_id: row.get("channel_id")?,
        message_id: row.get("message_id")?,
        url: row.get("url")?,
        body: row.get("body")?,
        attempts: row.get("attempts")?,
        next_attempt_at: row.get("next_attempt_at")?,
        created_at: row.get("created_at")?,
        last_attempt_at: row.get("last_attempt_at")?,
        last_error: row.get("last_error")?,
        delivered_at: row.get("delivered_at")?,
        failed_at: row.get("failed_at")?,
    })
}

pub(crate) fn label(row: &Row) -> R<LabelRecord> {
    Ok(LabelRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        name: row.get("name")?,
        color: row.get("color")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn template(row: &Row) -> R<TemplateRecord> {
    Ok(TemplateRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        owner_id: row.get("owner_id")?,
        name: row.get("name")?,
        body: row.get("body")?,
        actions: row.json("actions")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

pub(crate) fn actions_json(actions: &[casedesk_domain::Action]) -> R<String> {
    json(&actions)
}

pub(crate) fn rule(row: &Row) -> R<RuleRecord> {
    Ok(RuleRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        name: row.get("name")?,
        enabled: row.get("enabled")?,
        position: row.get("position")?,
        trigger: row.json("trigger")?,
        conditions: row.json("conditions")?,
        actions: row.json("actions")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// A rule's trigger, conditions and actions as the JSON the table keeps.
pub(crate) fn rule_json(r: &RuleRecord) -> R<[String; 3]> {
    Ok([json(&r.trigger)?, json(&r.conditions)?, json(&r.actions)?])
}

pub(crate) const CHANNEL_SECRET_COLUMNS: &str = "channel_id, account_id, secret, webhook_secret, \
     settings, created_at, updated_at";
pub(crate) const CHANNEL_UPDATE_COLUMNS: &str = "channel_id, account_id, update_id, update_key, \
     chat_key, payload, received_at, attempts, next_attempt_at, processed_at, failed_at, last_error";

pub(crate) fn channel_secret(row: &Row) -> R<ChannelSecretRecord> {
    Ok(ChannelSecretRecord {
        channel_id: row.get("channel_id")?,
        account_id: row.get("account_id")?,
        secret: row.get("secret")?,
        webhook_secret: row.get("webhook_secret")?,
        settings: row.json("settings")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

pub(crate) fn channel_secret_values(c: &ChannelSecretRecord) -> R<Vec<Value>> {
    Ok(vec![
        (&c.channel_id).into(),
        (&c.account_id).into(),
        (&c.secret).into(),
        (&c.webhook_secret).into(),
        json(&c.settings)?.into(),
        c.created_at.into(),
        c.updated_at.into(),
    ])
}

pub(crate) fn channel_update(row: &Row) -> R<ChannelUpdate> {
    Ok(ChannelUpdate {
        channel_id: row.get("channel_id")?,
        account_id: row.get("account_id")?,
        update_id: row.get("update_id")?,
        key: row.get("update_key")?,
        chat_key: row.get("chat_key")?,
        payload: row.get("payload")?,
        received_at: row.get("received_at")?,
        attempts: row.get("attempts")?,
        next_attempt_at: row.get("next_attempt_at")?,
        processed_at: row.get("processed_at")?,
        failed_at: row.get("failed_at")?,
        last_error: row.get("last_error")?,
    })
}

pub(crate) fn channel_update_values(u: &ChannelUpdate) -> Vec<Value> {
    vec![
        (&u.channel_id).into(),
        (&u.account_id).into(),
        u.update_id.into(),
        (&u.key).into(),
        (&u.chat_key).into(),
        (&u.payload).into(),
        u.received_at.into(),
        u.attempts.into(),
        u.next_attempt_at.into(),
        u.processed_at.into(),
        u.failed_at.into(),
        (&u.last_error).into(),
    ]
}

pub(crate) fn rule_timer(row: &Row) -> R<RuleTimer> {
    Ok(RuleTimer {
        case_id: row.get("case_id")?,
        rule_id: row.get("rule_id")?,
        account_id: row.get("account_id")?,
        due_at: row.get("due_at")?,
    })
}

pub(crate) const LETTER_COLUMNS: &str = "message_id, account_id, subject, from_address, \
     recipients, html, automatic, raw_file, created_at";

pub(crate) fn letter(row: &Row) -> R<LetterRecord> {
    Ok(LetterRecord {
        message_id: row.get("message_id")?,
        account_id: row.get("account_id")?,
        subject: row.get("subject")?,
        from_address: row.get("from_address")?,
        recipients: row.json::<Vec<String>>("recipients")?,
        html: row.get("html")?,
        automatic: row.get("automatic")?,
        raw_file: row.get("raw_file")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn letter_values(l: &LetterRecord) -> R<Vec<Value>> {
    Ok(vec![
        (&l.message_id).into(),
        (&l.account_id).into(),
        (&l.subject).into(),
        (&l.from_address).into(),
        json(&l.recipients)?.into(),
        (&l.html).into(),
        (&l.automatic).into(),
        (&l.raw_file).into(),
        l.created_at.into(),
    ])
}

pub(crate) const IMPORT_COLUMNS: &str = "id, account_id, channel_id, format, state, messages, \
     cases, skipped, error_count, errors, staged, customers_done, last_customer, failure, \
     lease_until, created_at, updated_at";
/// A staged row's columns as read; it is written with its import's
/// `account_id` after them ([`import_row_values`]).
pub(crate) const IMPORT_ROW_COLUMNS: &str = "import_id, n, line, customer_id, customer_name, \
     source_id, from_customer, agent_name, at, text, attachment";

pub(crate) fn import(row: &Row) -> R<ImportRecord> {
    Ok(ImportRecord {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        channel_id: row.get("channel_id")?,
        format: row.get("format")?,
        state: row.parsed("state")?,
        messages: row.get("messages")?,
        cases: row.get("cases")?,
        skipped: row.get("skipped")?,
        error_count: row.get("error_count")?,
        errors: row.json("errors")?,
        staged: row.get("staged")?,
        customers_done: row.get("customers_done")?,
        last_customer: row.get("last_customer")?,
        failure: row.get("failure")?,
        lease_until: row.get("lease_until")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// The import's values in [`IMPORT_COLUMNS`] order.
pub(crate) fn import_values(i: &ImportRecord) -> R<Vec<Value>> {
    Ok(vec![
        (&i.id).into(),
        (&i.account_id).into(),
        (&i.channel_id).into(),
        (&i.format).into(),
        i.state.as_str().into(),
        i.messages.into(),
        i.cases.into(),
        i.skipped.into(),
        i.error_count.into(),
        import_errors_json(&i.errors)?.into(),
        i.staged.into(),
        i.customers_done.into(),
        (&i.last_customer).into(),
        (&i.failure).into(),
        i.lease_until.into(),
        i.created_at.into(),
        i.updated_at.into(),
    ])
}

pub(crate) fn import_row(row: &Row) -> R<ImportRow> {
    Ok(ImportRow {
        import_id: row.get("import_id")?,
        n: row.get("n")?,
        line: row.get("line")?,
        customer_id: row.get("customer_id")?,
        customer_name: row.get("customer_name")?,
        source_id: row.get("source_id")?,
        from_customer: row.get("from_customer")?,
        agent_name: row.get("agent_name")?,
        at: row.get("at")?,
        text: row.get("text")?,
        attachment: row.get("attachment")?,
    })
}

/// An import's errors as the `errors` column keeps them.
pub(crate) fn import_errors_json(errors: &[ImportError]) -> R<String> {
    json(&errors)
}

/// The row's values in [`IMPORT_ROW_COLUMNS`] order, then `account_id`.
pub(crate) fn import_row_values(r: &ImportRow, account_id: &str) -> [Value; 12] {
    [
        (&r.import_id).into(),
        r.n.into(),
        r.line.into(),
        (&r.customer_id).into(),
        (&r.customer_name).into(),
        (&r.source_id).into(),
        r.from_customer.into(),
        (&r.agent_name).into(),
        r.at.into(),
        (&r.text).into(),
        (&r.attachment).into(),
        account_id.into(),
    ]
}
