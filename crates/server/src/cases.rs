//! Use cases on cases: each loads what the rules need inside one unit of
//! work, lets the domain decide, saves the result with its history events and
//! timers, and returns the notices to publish once committed.

use casedesk_domain::rules::TriggerEvent;
use casedesk_domain::{
    Actor, AuthorType, AutoFinishSettings, CaseState, Change, EventKind, Field, MessageKind,
    Routing, Status, Subject, Tally, Time, route_customer_message,
};
use casedesk_store::{
    AttachmentRecord, CaseRecord, ChannelRecord, CustomerRecord, Deadline, DeadlineKind,
    EventRecord, MessageRecord, OutboxItem, ReactionRecord, StoreError, Tx, write,
};
use serde_json::json;

use crate::AppState;
use crate::automation;
use crate::clock::Clock;
use crate::error::AppError;
use crate::events::Notice;
use crate::util::{new_id, rfc3339};

/// Longest message text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 100_000;

pub(crate) fn not_found(what: &'static str) -> impl Fn(StoreError) -> AppError {
    move |e| match e {
        StoreError::NotFound => AppError::not_found(what),
        other => other.into(),
    }
}

/// What a customer message's text must be, from any channel: not blank and
/// at most [`MAX_TEXT_CHARS`] characters.
pub fn check_text(text: &str) -> Result<(), AppError> {
    if text.trim().is_empty() {
        return Err(AppError::invalid("text must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::invalid(format!(
            "text must be at most {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(())
}

pub(crate) fn notice(case: &CaseRecord, kind: &'static str, data: serde_json::Value) -> Notice {
    Notice {
        account_id: case.account_id.clone(),
        customer_id: case.customer_id.clone(),
        kind,
        case_id: case.id.clone(),
        case_number: case.number,
        data,
    }
}

pub(crate) fn case_notice(case: &CaseRecord) -> Notice {
    notice(
        case,
        "case.updated",
        json!({
            "status": case.state.status,
            "chat_state": case.state.chat_state,
            "merged_into_id": case.merged_into_id,
            "unread": case.unread,
        }),
    )
}

pub(crate) async fn record(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    kind: EventKind,
    actor: &Actor,
    changes: Vec<Change>,
    data: serde_json::Value,
    at: Time,
) -> Result<(), StoreError> {
    tx.insert_event(&EventRecord {
        id: new_id(),
        account_id: case.account_id.clone(),
        case_id: case.id.clone(),
        kind,
        actor: actor.clone(),
        changes,
        data,
        created_at: at,
    })
    .await
}

/// Active chats get their warning and finish deadlines from `activity`;
/// anything else has none.
pub(crate) async fn reschedule(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    settings: AutoFinishSettings,
    activity: Time,
) -> Result<(), StoreError> {
    if !case.state.is_active_chat() || case.state.merged {
        return tx.clear_deadlines(&case.id).await;
    }
    let (warn_at, finish_at) = settings.deadlines(activity);
    for (kind, due_at) in [
        (DeadlineKind::Warn, warn_at),
        (DeadlineKind::Finish, finish_at),
    ] {
        tx.set_deadline(&Deadline {
            case_id: case.id.clone(),
            account_id: case.account_id.clone(),
            kind,
            due_at,
        })
        .await?;
    }
    Ok(())
}

pub(crate) async fn settings_of(
    tx: &mut dyn Tx,
    account_id: &str,
) -> Result<AutoFinishSettings, StoreError> {
    Ok(tx.get_account(account_id).await?.settings)
}

/// Loads a case and locks its customer, so no routing decision or other
/// change of that customer's chats runs at the same time; then reloads the
/// case as it is under the lock.
pub(crate) async fn lock_case(
    tx: &mut dyn Tx,
    account_id: &str,
    case_id: &str,
) -> Result<(CaseRecord, CustomerRecord), AppError> {
    let case = tx
        .get_case(account_id, case_id)
        .await
        .map_err(not_found("case"))?;
    let customer = tx.lock_customer(account_id, &case.customer_id).await?;
    let case = tx.get_case(account_id, case_id).await?;
    Ok((case, customer))
}

/// Recounts what a case holds after messages moved in or out of it.
async fn refresh_from_messages(tx: &mut dyn Tx, case: &mut CaseRecord) -> Result<(), StoreError> {
    let summary = tx.message_summary(&case.id).await?;
    let tally = case.state.recount(case.tally(), summary.recount());
    case.set_tally(tally);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn new_case_record(
    account_id: &str,
    number: i64,
    channel: &ChannelRecord,
    customer_id: &str,
    subject: String,
    previous_case_id: Option<String>,
    at: Time,
) -> CaseRecord {
    let tally = Tally::new_case(at);
    CaseRecord {
        id: new_id(),
        account_id: account_id.to_owned(),
        number,
        channel_id: channel.id.clone(),
        customer_id: customer_id.to_owned(),
        subject,
        state: CaseState::new_case(channel.kind),
        assignee_id: None,
        created_at: at,
        updated_at: at,
        last_activity_at: tally.last_activity_at,
        previous_case_id,
        next_case_id: None,
        merged_into_id: None,
        message_count: tally.message_count,
        unread: tally.unread,
        first_response_at: tally.first_response_at,
    }
}

// ---------------------------------------------------------------- inbound

#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub message_id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub text: String,
    /// A stored file that comes with the message (its `message_id` is
    /// filled in here). On a duplicate it is not kept: the caller discards it.
    pub attachment: Option<AttachmentRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Appended,
    Reopened,
    Duplicate,
    Noted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Appended => "appended",
            Outcome::Reopened => "reopened",
            Outcome::Duplicate => "duplicate",
            Outcome::Noted => "noted",
        }
    }
}

#[derive(Debug, Clone)]
pub struct InboundResult {
    pub case_id: String,
    pub case_number: i64,
    pub message_id: String,
    pub outcome: Outcome,
}

/// R6: a customer message on a channel, stored exactly once and routed by
/// the customer's latest chat.
pub async fn receive_message(
    app: &AppState,
    channel: ChannelRecord,
    msg: InboundMessage,
) -> Result<InboundResult, AppError> {
    check_text(&msg.text)?;
    let clock = app.clock.clone();
    let (result, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move { route_and_store(tx, &clock, &channel, msg).await })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(result)
}

/// R6 in steps: lock the customer, acknowledge a redelivery, let the
/// domain route by the latest chat, put the message in the case it chose,
/// count it, and let the rules react.
async fn route_and_store(
    tx: &mut dyn Tx,
    clock: &Clock,
    channel: &ChannelRecord,
    msg: InboundMessage,
) -> Result<(InboundResult, Vec<Notice>, bool), AppError> {
    let account_id = channel.account_id.as_str();
    let customer = lock_customer(tx, channel, &msg, clock.now()).await?;
    // The time is taken under the lock: messages are listed by time, and
    // their order must be the order they were routed in. Taken before, a
    // message that waited for the lock would be listed before messages
    // routed ahead of it (even before the one that opened its chat).
    let at = clock.now();
    if let Some(duplicate) = stored_before(tx, channel, &msg.message_id).await? {
        return Ok((duplicate, Vec::new(), false));
    }
    let latest = latest_chat(tx, &customer).await?;
    let seq = tx.next_message_seq().await?;
    let routing = route_customer_message(channel.kind, latest.as_ref().map(|c| &c.state));
    let Routed {
        mut case,
        before,
        outcome,
        mut notices,
    } = follow(routing, tx, channel, &customer, latest, &msg.text, seq, at).await?;
    let message = store_customer_message(tx, channel, &customer, &case, msg, seq, at).await?;
    count_customer_message(tx, &mut case, at).await?;
    notices.push(notice(
        &case,
        "message.created",
        json!({ "message_id": message.id, "author_type": "customer" }),
    ));
    let rules = automation::after_change(
        tx,
        &case.id,
        account_id,
        before,
        vec![TriggerEvent::CustomerMessage { text: message.text }],
        at,
    )
    .await?;
    notices.extend(rules.notices);
    Ok((
        InboundResult {
            case_id: case.id,
            case_number: case.number,
            message_id: message.id,
            outcome,
        },
        notices,
        rules.queued,
    ))
}

/// Where routing put a customer message, before the message is stored.
struct Routed {
    case: CaseRecord,
    /// What the rules compare with: the chat as it was, or `None` for a
    /// new case.
    before: Option<CaseState>,
    outcome: Outcome,
    notices: Vec<Notice>,
}

/// Does what the domain's routing decided: a new case (linked to the
/// closed chat before it), the active chat as it is, or the finished
/// chat reopened.
#[allow(clippy::too_many_arguments)]
async fn follow(
    routing: Routing,
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    customer: &CustomerRecord,
    latest: Option<CaseRecord>,
    text: &str,
    seq: i64,
    at: Time,
) -> Result<Routed, AppError> {
    let actor = Actor::Customer(customer.id.clone());
    let no_latest = |what: &'static str| move || AppError::internal(what);
    match routing {
        Routing::NewCase { after_closed } => {
            // R6 d: a chat after a closed one links to it (R12).
            let previous = latest.filter(|_| after_closed);
            let case = open_case(tx, channel, customer, text, previous, &actor, at).await?;
            let created = notice(&case, "case.created", json!({ "subject": case.subject }));
            Ok(Routed {
                case,
                before: None,
                outcome: Outcome::Created,
                notices: vec![created],
            })
        }
        Routing::Append => {
            let case = latest.ok_or_else(no_latest("append without a latest chat"))?;
            Ok(Routed {
                before: Some(case.state.clone()),
                case,
                outcome: Outcome::Appended,
                notices: Vec::new(),
            })
        }
        Routing::Reopen => {
            let mut case = latest.ok_or_else(no_latest("reopen without a latest chat"))?;
            let before = case.state.clone();
            reopen(tx, &mut case, seq, &actor, at).await?;
            Ok(Routed {
                notices: vec![case_notice(&case)],
                case,
                before: Some(before),
                outcome: Outcome::Reopened,
            })
        }
    }
}

/// The customer's message counts as the domain says (R3: the customer
/// wrote last, the chat's timer restarts), and the case is saved.
async fn count_customer_message(
    tx: &mut dyn Tx,
    case: &mut CaseRecord,
    at: Time,
) -> Result<(), StoreError> {
    let wrote = case.state.customer_wrote(case.tally(), at);
    case.set_tally(wrote.tally);
    case.updated_at = at;
    tx.update_case(case).await?;
    if wrote.restarts_timer {
        let settings = settings_of(tx, &case.account_id).await?;
        reschedule(tx, case, settings, at).await?;
    }
    Ok(())
}

/// The customer who wrote, created on first contact, and locked: routing
/// for this customer in this channel happens one at a time from here.
async fn lock_customer(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    msg: &InboundMessage,
    at: Time,
) -> Result<CustomerRecord, StoreError> {
    tx.upsert_customer_locked(&CustomerRecord {
        id: new_id(),
        account_id: channel.account_id.clone(),
        channel_id: channel.id.clone(),
        external_id: msg.customer_id.clone(),
        name: msg.customer_name.clone(),
        email: None,
        latest_case_id: None,
        created_at: at,
    })
    .await
}

/// A message the channel delivered before (the same channel message id):
/// acknowledged again, stored once.
async fn stored_before(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    channel_message_id: &str,
) -> Result<Option<InboundResult>, StoreError> {
    let Some(existing) = tx
        .find_message_by_channel_id(&channel.id, channel_message_id)
        .await?
    else {
        return Ok(None);
    };
    let case = tx.get_case(&channel.account_id, &existing.case_id).await?;
    Ok(Some(InboundResult {
        case_id: case.id,
        case_number: case.number,
        message_id: existing.id,
        outcome: Outcome::Duplicate,
    }))
}

/// R11: the customer's latest chat in the channel, the only one routing
/// looks at.
async fn latest_chat(
    tx: &mut dyn Tx,
    customer: &CustomerRecord,
) -> Result<Option<CaseRecord>, StoreError> {
    match &customer.latest_case_id {
        Some(id) => Ok(Some(tx.get_case(&customer.account_id, id).await?)),
        None => Ok(None),
    }
}

/// R6 a, d, e: a new case for the customer's message, their latest from
/// now on; after `previous` (a closed chat) it is that chat's next (R12).
async fn open_case(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    customer: &CustomerRecord,
    first_text: &str,
    previous: Option<CaseRecord>,
    actor: &Actor,
    at: Time,
) -> Result<CaseRecord, AppError> {
    let number = tx.next_case_number(&channel.account_id).await?;
    let previous_id = previous.as_ref().map(|c| c.id.clone());
    let case = new_case_record(
        &channel.account_id,
        number,
        channel,
        &customer.id,
        Subject::from_first_message(first_text).into_string(),
        previous_id.clone(),
        at,
    );
    tx.insert_case(&case).await?;
    record(
        tx,
        &case,
        EventKind::Created,
        actor,
        Vec::new(),
        json!({ "previous_case_id": previous_id }),
        at,
    )
    .await?;
    if let Some(mut previous) = previous {
        let before = previous.next_case_id.replace(case.id.clone());
        tx.update_case(&previous).await?;
        record(
            tx,
            &previous,
            EventKind::Linked,
            actor,
            vec![Change {
                field: Field::NextCaseId,
                before,
                after: Some(case.id.clone()),
            }],
            json!({}),
            at,
        )
        .await?;
    }
    tx.set_customer_latest_case(&customer.id, Some(&case.id))
        .await?;
    Ok(case)
}

/// R6 c: the latest chat, finished open or pending, is active again and
/// remembers from which message on a split would take the new messages.
async fn reopen(
    tx: &mut dyn Tx,
    case: &mut CaseRecord,
    from_seq: i64,
    actor: &Actor,
    at: Time,
) -> Result<(), StoreError> {
    let changes = case.state.reopen_by_customer(from_seq, at);
    record(tx, case, EventKind::Reopened, actor, changes, json!({}), at).await
}

/// Stores the customer's message, with its file, in the case routing chose.
async fn store_customer_message(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    customer: &CustomerRecord,
    case: &CaseRecord,
    msg: InboundMessage,
    seq: i64,
    at: Time,
) -> Result<MessageRecord, StoreError> {
    let message = MessageRecord {
        id: new_id(),
        account_id: channel.account_id.clone(),
        case_id: case.id.clone(),
        seq,
        kind: MessageKind::Message,
        author_type: AuthorType::Customer,
        author_id: Some(customer.id.clone()),
        text: msg.text,
        created_at: at,
        channel_id: channel.id.clone(),
        channel_message_id: Some(msg.message_id),
        reacted_message_id: None,
    };
    tx.insert_message(&message).await?;
    if let Some(mut attachment) = msg.attachment {
        attachment.message_id = message.id.clone();
        tx.insert_attachment(&attachment).await?;
    }
    Ok(message)
}

#[derive(Debug, Clone)]
pub struct InboundReaction {
    pub customer_id: String,
    pub target_message_id: String,
    pub emoji: String,
}

/// A reaction's emoji, trimmed: 1 to 16 characters.
pub fn check_emoji(emoji: &str) -> Result<String, AppError> {
    let emoji = emoji.trim();
    if emoji.is_empty() || emoji.chars().count() > 16 {
        return Err(AppError::invalid("emoji must be 1 to 16 characters"));
    }
    Ok(emoji.to_owned())
}

/// R10: a customer reaction becomes a note in the case holding the reacted
/// message, whatever its state, and never routes anywhere else.
pub async fn receive_reaction(
    app: &AppState,
    channel: ChannelRecord,
    r: InboundReaction,
) -> Result<InboundResult, AppError> {
    let emoji = check_emoji(&r.emoji)?;
    let clock = app.clock.clone();
    let (result, notices) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let account_id = channel.account_id.as_str();
            let target = match tx
                .find_message_by_channel_id(&channel.id, &r.target_message_id)
                .await?
            {
                Some(m) => m,
                None => tx
                    .get_message(account_id, &r.target_message_id)
                    .await
                    .ok()
                    .filter(|m| m.channel_id == channel.id)
                    .ok_or_else(|| AppError::not_found("reacted message"))?,
            };
            let (mut case, customer) = lock_case(tx, account_id, &target.case_id).await?;
            if customer.external_id != r.customer_id {
                return Err(AppError::not_found("reacted message"));
            }
            let settings = settings_of(tx, account_id).await?;
            let note = MessageRecord {
                id: new_id(),
                account_id: account_id.to_owned(),
                case_id: case.id.clone(),
                seq: tx.next_message_seq().await?,
                kind: MessageKind::Note,
                author_type: AuthorType::Customer,
                author_id: Some(customer.id.clone()),
                text: format!(
                    "{emoji} reaction to the message of {}",
                    rfc3339(target.created_at)
                ),
                created_at: at,
                channel_id: channel.id.clone(),
                channel_message_id: None,
                reacted_message_id: Some(target.id.clone()),
            };
            tx.insert_message(&note).await?;
            tx.insert_reaction(&ReactionRecord {
                id: new_id(),
                account_id: account_id.to_owned(),
                message_id: target.id.clone(),
                customer_id: customer.id.clone(),
                emoji: emoji.clone(),
                note_id: note.id.clone(),
                created_at: at,
            })
            .await?;
            let wrote = case.state.customer_reacted(case.tally(), at);
            case.set_tally(wrote.tally);
            case.updated_at = at;
            tx.update_case(&case).await?;
            if wrote.restarts_timer {
                reschedule(tx, &case, settings, at).await?;
            }
            record(
                tx,
                &case,
                EventKind::Reaction,
                &Actor::Customer(customer.id.clone()),
                Vec::new(),
                json!({ "emoji": emoji, "message_id": target.id, "note_id": note.id }),
                at,
            )
            .await?;
            let notices = vec![notice(
                &case,
                "message.created",
                json!({ "message_id": note.id, "author_type": "customer", "kind": "note" }),
            )];
            Ok((
                InboundResult {
                    case_id: case.id,
                    case_number: case.number,
                    message_id: note.id,
                    outcome: Outcome::Noted,
                },
                notices,
            ))
        })
    })
    .await?;
    app.after_commit(notices, true);
    Ok(result)
}

// ---------------------------------------------------------------- agent actions

/// Who is acting, as the HTTP layer authenticated them.
#[derive(Debug, Clone)]
pub struct AgentActor {
    pub account_id: String,
    pub agent_id: String,
}

impl AgentActor {
    pub(crate) fn actor(&self) -> Actor {
        Actor::Agent(self.agent_id.clone())
    }
}

/// Who writes a message into a case: an agent, or an automation rule
/// (whose replies and notes are casedesk's own: author `system`).
#[derive(Debug, Clone)]
pub(crate) enum Writer {
    Agent(AgentActor),
    Rule { account_id: String, rule_id: String },
}

impl Writer {
    pub(crate) fn account_id(&self) -> &str {
        match self {
            Writer::Agent(a) => &a.account_id,
            Writer::Rule { account_id, .. } => account_id,
        }
    }

    /// Who the history names.
    pub(crate) fn actor(&self) -> Actor {
        match self {
            Writer::Agent(a) => a.actor(),
            Writer::Rule { rule_id, .. } => Actor::System(format!("rule:{rule_id}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentMessageKind {
    Reply,
    Note,
}

/// An agent reply (delivered through the channel) or an internal note.
pub async fn post_agent_message(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    kind: AgentMessageKind,
    text: String,
    attachment: Option<AttachmentRecord>,
) -> Result<MessageRecord, AppError> {
    check_text(&text)?;
    let clock = app.clock.clone();
    let (message, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let (mut case, customer) = lock_case(tx, &who.account_id, &case_id).await?;
            if case.state.merged {
                return Err(AppError::from(casedesk_domain::RuleError::Merged));
            }
            let before = case.state.clone();
            let reply_text = (kind == AgentMessageKind::Reply).then(|| text.clone());
            let posted = add_agent_message(tx, &who, &mut case, &customer, kind, text, at).await?;
            if let Some(mut attachment) = attachment {
                attachment.message_id = posted.message.id.clone();
                tx.insert_attachment(&attachment).await?;
            }
            let mut notices = posted.notices;
            let mut queued = posted.queued;
            if let Some(text) = reply_text {
                let rules = automation::after_change(
                    tx,
                    &case.id,
                    &who.account_id,
                    Some(before),
                    vec![TriggerEvent::AgentReplied { text }],
                    at,
                )
                .await?;
                notices.extend(rules.notices);
                queued |= rules.queued;
            }
            Ok((posted.message, notices, queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(message)
}

/// What [`add_message`] did.
pub(crate) struct Posted {
    pub message: MessageRecord,
    pub notices: Vec<Notice>,
    /// A webhook delivery was queued: poke the outbox worker after commit.
    pub queued: bool,
}

/// Stores an agent reply or note in a locked, unmerged case and saves the
/// case: a reply reactivates the customer's latest finished chat (R2),
/// restarts the timers and is queued for delivery. Templates and the plain
/// message endpoint share it.
pub(crate) async fn add_agent_message(
    tx: &mut dyn Tx,
    who: &AgentActor,
    case: &mut CaseRecord,
    customer: &CustomerRecord,
    kind: AgentMessageKind,
    text: String,
    at: Time,
) -> Result<Posted, AppError> {
    add_message(
        tx,
        &Writer::Agent(who.clone()),
        case,
        customer,
        kind,
        text,
        at,
    )
    .await
}

/// [`add_agent_message`] for any writer. A rule's reply is delivered like
/// an agent's, but it is no agent's response: it neither reactivates a
/// chat, nor counts as the first response, nor decides who wrote last, nor
/// restarts the inactivity timer.
pub(crate) async fn add_message(
    tx: &mut dyn Tx,
    writer: &Writer,
    case: &mut CaseRecord,
    customer: &CustomerRecord,
    kind: AgentMessageKind,
    text: String,
    at: Time,
) -> Result<Posted, AppError> {
    let account_id = writer.account_id().to_owned();
    let channel = tx
        .find_channel(&case.channel_id)
        .await?
        .ok_or_else(|| AppError::internal("case of a missing channel"))?;
    let (author_type, author_id) = match writer {
        Writer::Agent(a) => (AuthorType::Agent, a.agent_id.clone()),
        Writer::Rule { rule_id, .. } => (AuthorType::System, format!("rule:{rule_id}")),
    };
    let message = MessageRecord {
        id: new_id(),
        account_id: account_id.clone(),
        case_id: case.id.clone(),
        seq: tx.next_message_seq().await?,
        kind: match kind {
            AgentMessageKind::Reply => MessageKind::Message,
            AgentMessageKind::Note => MessageKind::Note,
        },
        author_type,
        author_id: Some(author_id),
        text,
        created_at: at,
        channel_id: case.channel_id.clone(),
        channel_message_id: None,
        reacted_message_id: None,
    };
    tx.insert_message(&message).await?;
    let tally = case.tally();
    let wrote = match (kind, writer) {
        (AgentMessageKind::Reply, Writer::Agent(_)) => {
            let is_latest = customer.latest_case_id.as_deref() == Some(case.id.as_str());
            case.state.agent_wrote(is_latest, tally, at)
        }
        (AgentMessageKind::Reply, Writer::Rule { .. }) => case.state.rule_replied(tally),
        (AgentMessageKind::Note, _) => case.state.note_added(tally),
    };
    let mut notices = Vec::new();
    if !wrote.changes.is_empty() {
        record(
            tx,
            case,
            EventKind::Reactivated,
            &writer.actor(),
            wrote.changes,
            json!({}),
            at,
        )
        .await?;
        notices.push(case_notice(case));
    }
    case.set_tally(wrote.tally);
    case.updated_at = at;
    if wrote.restarts_timer {
        let settings = settings_of(tx, &account_id).await?;
        reschedule(tx, case, settings, at).await?;
    }
    // Replies go out through the channel; notes stay inside.
    let delivery_url = channel
        .webhook_url
        .clone()
        .filter(|_| kind == AgentMessageKind::Reply);
    let queued = delivery_url.is_some();
    if let Some(url) = delivery_url {
        let body = json!({
            "type": "message",
            "id": message.id,
            "case_id": case.id,
            "case_number": case.number,
            "customer": { "id": customer.external_id },
            "text": message.text,
            "sent_at": rfc3339(at),
        });
        tx.insert_outbox(&OutboxItem::queued(
            new_id(),
            account_id.clone(),
            channel.id.clone(),
            message.id.clone(),
            url,
            body.to_string(),
            at,
        ))
        .await?;
    }
    tx.update_case(case).await?;
    notices.push(notice(
        case,
        "message.created",
        json!({ "message_id": message.id, "author_type": message.author_type, "kind": message.kind }),
    ));
    Ok(Posted {
        message,
        notices,
        queued,
    })
}

/// Runs `change` on a locked case, saves it, records the event and fixes
/// the timers. The common shape of finish, patch and keep-active.
pub(crate) async fn change_case<F>(
    app: &AppState,
    account_id: String,
    actor: Actor,
    case_id: String,
    kind: EventKind,
    change: F,
) -> Result<CaseRecord, AppError>
where
    F: for<'a> FnOnce(
            &'a mut CaseRecord,
            &'a mut dyn Tx,
            Time,
        ) -> futures::future::BoxFuture<'a, Result<Vec<Change>, AppError>>
        + Send
        + 'static,
{
    let clock = app.clock.clone();
    let (case, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let (mut case, _customer) = lock_case(tx, &account_id, &case_id).await?;
            let was_active = case.state.is_active_chat();
            let before = case.state.clone();
            let changes = change(&mut case, tx, at).await?;
            if changes.is_empty() && kind != EventKind::KeptActive {
                return Ok((case, Vec::new(), false));
            }
            case.updated_at = at;
            tx.update_case(&case).await?;
            if was_active != case.state.is_active_chat() || kind == EventKind::KeptActive {
                let settings = settings_of(tx, &account_id).await?;
                reschedule(tx, &case, settings, case.last_activity_at).await?;
            }
            record(tx, &case, kind, &actor, changes, json!({}), at).await?;
            let mut notices = vec![case_notice(&case)];
            let rules =
                automation::after_change(tx, &case.id, &account_id, Some(before), vec![], at)
                    .await?;
            notices.extend(rules.notices);
            let case = tx.get_case(&account_id, &case.id).await?;
            Ok((case, notices, rules.queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(case)
}

/// R2: finish an active chat with a status.
pub async fn finish(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    status: Status,
) -> Result<CaseRecord, AppError> {
    change_case(
        app,
        who.account_id.clone(),
        who.actor(),
        case_id,
        EventKind::Finished,
        move |case, _tx, at| Box::pin(async move { Ok(case.state.finish(status, at)?) }),
    )
    .await
}

/// R4: restart the inactivity timer of an active chat.
pub async fn keep_active(
    app: &AppState,
    who: AgentActor,
    case_id: String,
) -> Result<CaseRecord, AppError> {
    change_case(
        app,
        who.account_id.clone(),
        who.actor(),
        case_id,
        EventKind::KeptActive,
        move |case, _tx, at| {
            Box::pin(async move {
                let tally = case.state.keep_active(case.tally(), at)?;
                case.set_tally(tally);
                Ok(Vec::new())
            })
        },
    )
    .await
}

/// R5, the customer's own way to close: the case gets status `closed` (an
/// active chat is finished too, R1) and the history says the customer did
/// it; their next message starts a new case (R6 d). Closing a closed case
/// changes nothing. Another customer's case is `404`.
pub async fn close_by_customer(
    app: &AppState,
    account_id: String,
    customer_id: String,
    case_id: String,
) -> Result<CaseRecord, AppError> {
    let actor = Actor::Customer(customer_id.clone());
    change_case(
        app,
        account_id,
        actor,
        case_id,
        EventKind::ClosedByCustomer,
        move |case, _tx, at| {
            Box::pin(async move {
                if case.customer_id != customer_id {
                    return Err(AppError::not_found("case"));
                }
                Ok(case.state.set_status(Status::Closed, at)?)
            })
        },
    )
    .await
}

/// An agent opened the case: it is no longer unread. Reading is not a change
/// to the case, so it records no history event and leaves `updated_at`; live
/// clients still hear of it to clear their unread markers.
pub async fn mark_read(
    app: &AppState,
    who: AgentActor,
    case_id: String,
) -> Result<CaseRecord, AppError> {
    let (case, notices) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            // Under the customer lock, so a message arriving at the same
            // time is not marked read without anyone having seen it.
            let (mut case, _customer) = lock_case(tx, &who.account_id, &case_id).await?;
            if !case.unread {
                return Ok((case, Vec::new()));
            }
            case.set_tally(case.tally().read());
            tx.update_case(&case).await?;
            let notices = vec![case_notice(&case)];
            Ok((case, notices))
        })
    })
    .await?;
    app.after_commit(notices, false);
    Ok(case)
}

/// What an agent may change directly on a case.
#[derive(Debug, Clone, Default)]
pub struct CasePatch {
    pub subject: Option<Subject>,
    pub status: Option<Status>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<String>>,
}

/// R1, R5, R13: subject, status and assignee.
pub async fn patch(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    p: CasePatch,
) -> Result<CaseRecord, AppError> {
    let account_id = who.account_id.clone();
    change_case(
        app,
        who.account_id.clone(),
        who.actor(),
        case_id,
        EventKind::Updated,
        move |case, tx, at| {
            Box::pin(async move {
                let mut changes = Vec::new();
                if let Some(subject) = p.subject {
                    changes.extend(set_subject(case, subject));
                }
                if let Some(assignee) = p.assignee_id {
                    changes.extend(assign(tx, &account_id, case, assignee).await?);
                }
                if let Some(status) = p.status {
                    changes.extend(case.state.set_status(status, at)?);
                }
                Ok(changes)
            })
        },
    )
    .await
}

/// R13: a new subject, as a history change when it differs.
pub(crate) fn set_subject(case: &mut CaseRecord, subject: Subject) -> Option<Change> {
    let after = subject.into_string();
    if after == case.subject {
        return None;
    }
    let before = std::mem::replace(&mut case.subject, after.clone());
    Some(Change {
        field: Field::Subject,
        before: Some(before),
        after: Some(after),
    })
}

/// Assigns the case to an agent of its account (`None` unassigns).
pub(crate) async fn assign(
    tx: &mut dyn Tx,
    account_id: &str,
    case: &mut CaseRecord,
    assignee: Option<String>,
) -> Result<Option<Change>, AppError> {
    if let Some(id) = &assignee {
        tx.get_agent(account_id, id)
            .await
            .map_err(AppError::unknown_or("agent", id))?;
    }
    if assignee == case.assignee_id {
        return Ok(None);
    }
    let before = std::mem::replace(&mut case.assignee_id, assignee.clone());
    Ok(Some(Change {
        field: Field::AssigneeId,
        before,
        after: assignee,
    }))
}

/// R7: move the messages since the reopen into a new chat.
pub async fn split(
    app: &AppState,
    who: AgentActor,
    case_id: String,
) -> Result<CaseRecord, AppError> {
    let clock = app.clock.clone();
    let (new_case, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let account_id = who.account_id.as_str();
            let (mut original, customer) = lock_case(tx, account_id, &case_id).await?;
            let original_before = original.state.clone();
            let plan = original.state.split()?;
            let channel = tx
                .find_channel(&original.channel_id)
                .await?
                .ok_or_else(|| AppError::internal("case of a missing channel"))?;
            let number = tx.next_case_number(account_id).await?;
            let mut new_case = new_case_record(
                account_id,
                number,
                &channel,
                &original.customer_id,
                String::new(),
                Some(original.id.clone()),
                at,
            );
            new_case.next_case_id = original.next_case_id.clone();
            new_case.assignee_id = original.assignee_id.clone();
            tx.insert_case(&new_case).await?;
            let moved = tx
                .move_messages(&original.id, &new_case.id, plan.from_seq)
                .await?;
            let summary = tx.message_summary(&new_case.id).await?;
            new_case.subject = Subject::from_first_message(
                summary.first_customer_text.as_deref().unwrap_or_default(),
            )
            .into_string();
            refresh_from_messages(tx, &mut new_case).await?;
            tx.update_case(&new_case).await?;

            let mut changes = plan.original_changes;
            changes.push(Change {
                field: Field::NextCaseId,
                before: original.next_case_id.clone(),
                after: Some(new_case.id.clone()),
            });
            original.next_case_id = Some(new_case.id.clone());
            refresh_from_messages(tx, &mut original).await?;
            original.updated_at = at;
            tx.update_case(&original).await?;
            if customer.latest_case_id.as_deref() == Some(original.id.as_str()) {
                tx.set_customer_latest_case(&customer.id, Some(&new_case.id))
                    .await?;
            }
            let settings = settings_of(tx, account_id).await?;
            reschedule(tx, &original, settings, at).await?;
            reschedule(tx, &new_case, settings, at).await?;
            let actor = who.actor();
            record(
                tx,
                &original,
                EventKind::Split,
                &actor,
                changes,
                json!({ "new_case_id": new_case.id, "moved_messages": moved }),
                at,
            )
            .await?;
            record(
                tx,
                &new_case,
                EventKind::Created,
                &actor,
                Vec::new(),
                json!({ "split_from_case_id": original.id, "moved_messages": moved }),
                at,
            )
            .await?;
            let mut notices = vec![
                case_notice(&original),
                notice(
                    &new_case,
                    "case.created",
                    json!({ "subject": new_case.subject }),
                ),
            ];
            let for_new =
                automation::after_change(tx, &new_case.id, account_id, None, vec![], at).await?;
            // The original only goes back to how it was before its reopen:
            // not a finish or a status change for rules, but it may wait again.
            let for_original = automation::after_change_read(
                tx,
                &original.id,
                account_id,
                Some(original_before),
                vec![],
                automation::Reading::RESTORE,
                at,
            )
            .await?;
            let queued = for_new.queued || for_original.queued;
            notices.extend(for_new.notices);
            notices.extend(for_original.notices);
            let new_case = tx.get_case(account_id, &new_case.id).await?;
            Ok((new_case, notices, queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(new_case)
}

/// R9: merge the current chat into its previous one, which becomes the
/// customer's active, open, latest chat.
pub async fn merge_with_previous(
    app: &AppState,
    who: AgentActor,
    case_id: String,
) -> Result<CaseRecord, AppError> {
    let clock = app.clock.clone();
    let (previous, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let account_id = who.account_id.as_str();
            let (mut current, customer) = lock_case(tx, account_id, &case_id).await?;
            if current.state.merged {
                return Err(AppError::from(casedesk_domain::RuleError::Merged));
            }
            let Some(previous_id) = current.previous_case_id.clone() else {
                return Err(AppError::from(casedesk_domain::RuleError::NoPreviousChat));
            };
            let mut previous = tx.get_case(account_id, &previous_id).await?;
            let previous_before = previous.state.clone();
            let plan = current
                .state
                .merge_into_previous(&mut previous.state, true, at)?;
            let moved = tx.move_messages(&current.id, &previous.id, 0).await?;

            current.merged_into_id = Some(previous.id.clone());
            refresh_from_messages(tx, &mut current).await?;
            current.updated_at = at;
            tx.update_case(&current).await?;

            let mut previous_changes = plan.previous_changes;
            previous_changes.push(Change {
                field: Field::NextCaseId,
                before: previous.next_case_id.clone(),
                after: current.next_case_id.clone(),
            });
            previous.next_case_id = current.next_case_id.clone();
            if let Some(next_id) = &current.next_case_id {
                let mut next = tx.get_case(account_id, next_id).await?;
                next.previous_case_id = Some(previous.id.clone());
                tx.update_case(&next).await?;
            }
            refresh_from_messages(tx, &mut previous).await?;
            previous.set_tally(previous.tally().merged_in(current.tally()));
            previous.updated_at = at;
            tx.update_case(&previous).await?;
            if customer.latest_case_id.as_deref() == Some(current.id.as_str()) {
                tx.set_customer_latest_case(&customer.id, Some(&previous.id))
                    .await?;
            }
            let settings = settings_of(tx, account_id).await?;
            tx.clear_deadlines(&current.id).await?;
            reschedule(tx, &previous, settings, at).await?;
            let actor = who.actor();
            record(
                tx,
                &current,
                EventKind::Merged,
                &actor,
                plan.current_changes,
                json!({ "merged_into_id": previous.id, "moved_messages": moved }),
                at,
            )
            .await?;
            record(
                tx,
                &previous,
                EventKind::MergedIn,
                &actor,
                previous_changes,
                json!({ "merged_case_id": current.id, "moved_messages": moved }),
                at,
            )
            .await?;
            let mut notices = vec![case_notice(&current), case_notice(&previous)];
            // The merged case's waits end with it.
            automation::after_change(tx, &current.id, account_id, None, vec![], at).await?;
            let rules = automation::after_change(
                tx,
                &previous.id,
                account_id,
                Some(previous_before),
                vec![],
                at,
            )
            .await?;
            notices.extend(rules.notices);
            let previous = tx.get_case(account_id, &previous.id).await?;
            Ok((previous, notices, rules.queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(previous)
}

// ---------------------------------------------------------------- timers

/// What firing one deadline did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    Warned,
    Finished,
    /// The deadline had moved or gone (new activity, another process).
    Nothing,
}

/// R3/R4: fires one due deadline of a case, under the customer lock, after
/// re-reading it: a deadline another process fired, or new activity moved,
/// does nothing.
async fn fire_one(
    tx: &mut dyn Tx,
    d: &Deadline,
    at: Time,
) -> Result<(Fired, Vec<Notice>), AppError> {
    let (mut case, _customer) = match lock_case(tx, &d.account_id, &d.case_id).await {
        Ok(v) => v,
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
            tx.clear_deadlines(&d.case_id).await?;
            return Ok((Fired::Nothing, Vec::new()));
        }
        Err(e) => return Err(e),
    };
    let current = tx
        .list_deadlines(&d.case_id)
        .await?
        .into_iter()
        .find(|x| x.kind == d.kind && x.due_at <= at);
    let Some(current) = current else {
        return Ok((Fired::Nothing, Vec::new()));
    };
    tx.delete_deadline(&current.case_id, current.kind).await?;
    if !case.state.is_active_chat() || case.state.merged {
        tx.clear_deadlines(&case.id).await?;
        return Ok((Fired::Nothing, Vec::new()));
    }
    match current.kind {
        DeadlineKind::Warn => {
            let finish_at = tx
                .list_deadlines(&case.id)
                .await?
                .into_iter()
                .find(|x| x.kind == DeadlineKind::Finish)
                .map(|x| rfc3339(x.due_at));
            let n = notice(
                &case,
                "case.auto_finish_warning",
                json!({ "auto_finish_at": finish_at }),
            );
            Ok((Fired::Warned, vec![n]))
        }
        DeadlineKind::Finish => {
            let before = case.state.clone();
            let changes = case.state.auto_finish(at)?;
            case.updated_at = at;
            tx.update_case(&case).await?;
            tx.clear_deadlines(&case.id).await?;
            record(
                tx,
                &case,
                EventKind::AutoFinished,
                &Actor::System("auto_finish".into()),
                changes,
                json!({ "due_at": rfc3339(current.due_at), "lateness_ms": (at - current.due_at).num_milliseconds() }),
                at,
            )
            .await?;
            let mut notices = vec![case_notice(&case)];
            let rules =
                automation::after_change(tx, &case.id, &d.account_id, Some(before), vec![], at)
                    .await?;
            // A rule's reply here reaches the outbox worker on its next
            // round (within a second).
            notices.extend(rules.notices);
            Ok((Fired::Finished, notices))
        }
    }
}

/// Fires a batch of due deadlines in one unit of work: one commit (and on
/// SQLite one savepoint) for many chats is what keeps a burst of 100,000
/// simultaneous deadlines within seconds. Deadlines are taken in case order
/// so that two servers lock customers in the same order.
pub async fn fire_deadlines(
    app: &AppState,
    mut batch: Vec<Deadline>,
) -> Result<Vec<Fired>, AppError> {
    batch.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    let clock = app.clock.clone();
    let (fired, notices) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let mut fired = Vec::with_capacity(batch.len());
            let mut notices = Vec::new();
            for d in &batch {
                let (f, n) = fire_one(tx, d, at).await?;
                fired.push(f);
                notices.extend(n);
            }
            Ok((fired, notices))
        })
    })
    .await?;
    app.after_commit(notices, false);
    Ok(fired)
}
