//! Where an inbound message goes: a customer's message from any channel is
//! stored exactly once and routed by the customer's latest chat (R6, R11),
//! counted (the customer wrote last), and the rules react; a reaction
//! becomes a note in the case holding the reacted message (R10).

use casedesk_domain::rules::TriggerEvent;
use casedesk_domain::{
    Actor, AuthorType, CaseState, Change, EventKind, Field, MessageKind, Routing, Subject, Time,
    route_customer_message,
};
use casedesk_store::{
    AttachmentRecord, CaseRecord, ChannelRecord, CustomerRecord, MessageRecord, ReactionRecord,
    StoreError, Tx, write,
};
use serde_json::json;

use super::automation;
use super::unit::{
    case_notice, check_text, lock_case, new_case_record, notice, record, reschedule, settings_of,
};
use crate::AppState;
use crate::clock::Clock;
use crate::error::AppError;
use crate::events::Notice;
use crate::events::{Logged, log};
use crate::util::{new_id, rfc3339};

mod letter;

pub use letter::{InboundLetter, receive_letter};

#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub message_id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    /// The language the channel reports for the customer, if any.
    pub customer_language: Option<String>,
    pub text: String,
    /// Stored files that come with the message (their `message_id` is
    /// filled in here). On a duplicate, or when the message is not stored,
    /// their files are removed again.
    pub attachments: Vec<AttachmentRecord>,
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
    let files = msg.attachments.clone();
    let result = route_and_store_once(app, channel, msg).await;
    let kept = matches!(&result, Ok(r) if r.outcome != Outcome::Duplicate);
    if !kept && let Some(store) = &app.files {
        for file in &files {
            store.discard(file).await;
        }
    }
    result
}

async fn route_and_store_once(
    app: &AppState,
    channel: ChannelRecord,
    msg: InboundMessage,
) -> Result<InboundResult, AppError> {
    check_text(&msg.text)?;
    let clock = app.clock.clone();
    let (result, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let (result, notices, queued) = route_and_store(tx, &clock, &channel, msg).await?;
            Ok((result, log(tx, notices, clock.now()).await?, queued))
        })
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
    let customer = lock_customer(tx, channel, &msg, None, clock.now()).await?;
    // The time is taken under the lock: messages are listed by time, and
    // their order must be the order they were routed in. Taken before, a
    // message that waited for the lock would be listed before messages
    // routed ahead of it (even before the one that opened its chat).
    let at = clock.now();
    if let Some(duplicate) = stored_before(tx, channel, &[], &msg.message_id).await? {
        return Ok((duplicate, Vec::new(), false));
    }
    let latest = latest_chat(tx, &customer).await?;
    let seq = tx.next_message_seq().await?;
    let routing = route_customer_message(channel.kind, latest.as_ref().map(|c| &c.state));
    let Routed {
        mut case,
        stored,
        before,
        outcome,
        mut notices,
    } = follow(routing, tx, channel, &customer, latest, &msg.text, seq, at).await?;
    let message = store_customer_message(tx, channel, &customer, &case, msg, seq, at).await?;
    count_customer_message(tx, &stored, &mut case, at).await?;
    // The message that opened its case says so: the case's own notice
    // already told of it.
    let new_case = notices
        .iter()
        .any(|n| n.kind == "case.created" && n.case_id == case.id);
    notices.push(notice(
        &case,
        "message.created",
        json!({ "message_id": message.id, "author_type": "customer", "kind": "message",
                "new_case": new_case }),
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
    /// The case as the database holds it (routing may have changed `case`
    /// without saving it yet).
    stored: CaseRecord,
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
            let subject = Subject::from_first_message(text);
            let case = open_case(tx, channel, customer, subject, previous, &actor, at).await?;
            let created = notice(&case, "case.created", json!({ "subject": case.subject }));
            Ok(Routed {
                stored: case.clone(),
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
                stored: case.clone(),
                case,
                outcome: Outcome::Appended,
                notices: Vec::new(),
            })
        }
        Routing::Reopen => {
            let stored = latest.ok_or_else(no_latest("reopen without a latest chat"))?;
            let mut case = stored.clone();
            let before = case.state.clone();
            reopen(tx, &mut case, seq, &actor, at).await?;
            Ok(Routed {
                notices: vec![case_notice(&case)],
                stored,
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
    stored: &CaseRecord,
    case: &mut CaseRecord,
    at: Time,
) -> Result<(), StoreError> {
    let wrote = case.state.customer_wrote(case.tally(), at);
    case.set_tally(wrote.tally);
    case.updated_at = at;
    tx.update_case(Some(stored), case).await?;
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
    email: Option<String>,
    at: Time,
) -> Result<CustomerRecord, StoreError> {
    tx.upsert_customer_locked(&CustomerRecord {
        id: new_id(),
        account_id: channel.account_id.clone(),
        channel_id: channel.id.clone(),
        external_id: msg.customer_id.clone(),
        name: msg.customer_name.clone(),
        email,
        latest_case_id: None,
        created_at: at,
        language: msg.customer_language.clone(),
        person_id: None,
        page: None,
    })
    .await
}

/// A message the channel, or one of `also` (the account's other e-mail
/// channels), delivered before under the same channel message id:
/// acknowledged again, stored once.
async fn stored_before(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    also: &[String],
    channel_message_id: &str,
) -> Result<Option<InboundResult>, StoreError> {
    let existing = if also.is_empty() {
        tx.find_message_by_channel_id(&channel.id, channel_message_id)
            .await?
    } else {
        let channels: Vec<String> = std::iter::once(channel.id.clone())
            .chain(also.iter().cloned())
            .collect();
        tx.find_messages_by_channel_ids(&channels, &[channel_message_id.to_owned()])
            .await?
            .into_iter()
            .next()
    };
    let Some(existing) = existing else {
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
    subject: Subject,
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
        subject.into_string(),
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
    if let Some(stored) = previous {
        let mut previous = stored.clone();
        let before = previous.next_case_id.replace(case.id.clone());
        tx.update_case(Some(&stored), &previous).await?;
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
        edited_at: None,
    };
    tx.insert_message(&message).await?;
    for mut attachment in msg.attachments {
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
        return Err(
            AppError::invalid_as("emoji_invalid", "emoji must be 1 to 16 characters")
                .with(serde_json::json!({ "max": 16 })),
        );
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
            let (stored, customer) = lock_case(tx, account_id, &target.case_id).await?;
            let mut case = stored.clone();
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
                edited_at: None,
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
            tx.update_case(Some(&stored), &case).await?;
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
            let notices = log(tx, notices, at).await?;
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

/// A customer changed the text of a message they sent before (a
/// messenger's edit): the stored text follows, the text before stays in
/// the case history, and nothing else moves: no reopening, no timer, no
/// count. `None` when the channel holds no such message of the customer.
pub async fn receive_edit(
    app: &AppState,
    channel: ChannelRecord,
    customer_external_id: &str,
    channel_message_id: &str,
    text: String,
) -> Result<Option<InboundResult>, AppError> {
    check_text(&text)?;
    let clock = app.clock.clone();
    let (external, key) = (
        customer_external_id.to_owned(),
        channel_message_id.to_owned(),
    );
    let edited = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let account_id = channel.account_id.as_str();
            let Some(message) = tx.find_message_by_channel_id(&channel.id, &key).await? else {
                return Ok(None);
            };
            let (case, customer) = lock_case(tx, account_id, &message.case_id).await?;
            if customer.external_id != external || message.author_type != AuthorType::Customer {
                return Ok(None);
            }
            let result = InboundResult {
                case_id: case.id.clone(),
                case_number: case.number,
                message_id: message.id.clone(),
                outcome: Outcome::Appended,
            };
            if message.text == text {
                return Ok(Some((result, Logged::default())));
            }
            tx.edit_message_text(account_id, &message.id, &text, at)
                .await?;
            record(
                tx,
                &case,
                EventKind::MessageEdited,
                &Actor::Customer(customer.id.clone()),
                Vec::new(),
                json!({ "message_id": message.id, "before": message.text, "after": text }),
                at,
            )
            .await?;
            let notices = vec![notice(
                &case,
                "message.updated",
                json!({ "message_id": message.id, "edited": true }),
            )];
            Ok(Some((result, log(tx, notices, at).await?)))
        })
    })
    .await?;
    Ok(edited.map(|(result, notices)| {
        app.after_commit(notices, false);
        result
    }))
}
