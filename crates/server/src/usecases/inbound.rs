//! Where an inbound message goes: a customer's message from any channel is
//! stored exactly once and routed by the customer's latest chat (R6, R11),
//! counted (the customer wrote last), and the rules react; a reaction
//! becomes a note in the case holding the reacted message (R10).

use casedesk_domain::{Actor, AuthorType, Change, EventKind, Field, MessageKind, Subject, Time};
use casedesk_store::{
    AttachmentRecord, CaseRecord, ChannelRecord, CustomerRecord, EventRecord, MessageRecord,
    ReactionRecord, StoreError, Tx, write,
};
use serde_json::json;

use super::unit::{
    check_text, event, lock_case, new_case_record, notice, record, reschedule, settings_of,
};
use crate::AppState;
use crate::error::AppError;
use crate::events::Notice;
use crate::events::{Logged, log};
use crate::util::{new_id, rfc3339};

mod batch;
mod letter;

pub use batch::Ingest;
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
/// the customer's latest chat. Messages are routed in batches
/// ([`batch`]).
pub async fn receive_message(
    app: &AppState,
    channel: ChannelRecord,
    msg: InboundMessage,
) -> Result<InboundResult, AppError> {
    let files = msg.attachments.clone();
    let result = match check_text(&msg.text) {
        Ok(()) => app.ingest.submit(channel, msg).await,
        Err(e) => Err(e),
    };
    let kept = matches!(&result, Ok(r) if r.outcome != Outcome::Duplicate);
    if !kept && let Some(store) = &app.files {
        for file in &files {
            store.discard(file).await;
        }
    }
    result
}

/// The customer's message counts as the domain says (R3: the customer
/// wrote last); `true` when the chat's timer restarts.
fn count(case: &mut CaseRecord, at: Time) -> bool {
    let wrote = case.state.customer_wrote(case.tally(), at);
    case.set_tally(wrote.tally);
    case.updated_at = at;
    wrote.restarts_timer
}

/// [`count`], and the case saved (`stored`: as the database holds it).
async fn count_customer_message(
    tx: &mut dyn Tx,
    stored: &CaseRecord,
    case: &mut CaseRecord,
    at: Time,
) -> Result<(), StoreError> {
    let restarts_timer = count(case, at);
    tx.update_case(Some(stored), case).await?;
    if restarts_timer {
        let settings = settings_of(tx, &case.account_id).await?;
        reschedule(tx, case, settings, at).await?;
    }
    Ok(())
}

/// The customer who wrote, as [`Tx::upsert_customer_locked`] takes it.
fn customer_of(
    channel: &ChannelRecord,
    msg: &InboundMessage,
    email: Option<String>,
    at: Time,
) -> CustomerRecord {
    CustomerRecord {
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
    }
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
    tx.upsert_customer_locked(&customer_of(channel, msg, email, at))
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
    let channels: Vec<String> = std::iter::once(channel.id.clone())
        .chain(also.iter().cloned())
        .collect();
    let existing = tx
        .find_messages_by_channel_ids(&channels, &[channel_message_id.to_owned()])
        .await?
        .into_iter()
        .next();
    let Some(existing) = existing else {
        return Ok(None);
    };
    let case = tx.get_case(&channel.account_id, &existing.case_id).await?;
    Ok(Some(duplicate_of(&case, existing.id)))
}

/// What a redelivered message is answered with: where it was stored.
fn duplicate_of(case: &CaseRecord, message_id: String) -> InboundResult {
    InboundResult {
        case_id: case.id.clone(),
        case_number: case.number,
        message_id,
        outcome: Outcome::Duplicate,
    }
}

/// The history event of a chat that a customer's message (or letter)
/// opened again.
fn reopened_event(case: &CaseRecord, actor: &Actor, changes: Vec<Change>, at: Time) -> EventRecord {
    event(case, EventKind::Reopened, actor, changes, json!({}), at)
}

/// A case opened by a customer's message, before it is written.
struct Opened {
    case: CaseRecord,
    /// Its `created` event, and the previous chat's `linked` one.
    events: Vec<EventRecord>,
    /// The closed chat before it, as stored and as linked to it (R12).
    previous: Option<(CaseRecord, CaseRecord)>,
}

/// R6 a, d, e: a new case numbered `number` for the customer's message,
/// their latest from now on; after `previous` (a closed chat) it is that
/// chat's next (R12).
#[allow(clippy::too_many_arguments)]
fn new_case(
    channel: &ChannelRecord,
    customer: &CustomerRecord,
    subject: Subject,
    previous: Option<CaseRecord>,
    number: i64,
    actor: &Actor,
    at: Time,
) -> Opened {
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
    let mut events = vec![event(
        &case,
        EventKind::Created,
        actor,
        Vec::new(),
        json!({ "previous_case_id": previous_id }),
        at,
    )];
    let previous = previous.map(|stored| {
        let mut linked = stored.clone();
        let before = linked.next_case_id.replace(case.id.clone());
        events.push(event(
            &linked,
            EventKind::Linked,
            actor,
            vec![Change {
                field: Field::NextCaseId,
                before,
                after: Some(case.id.clone()),
            }],
            json!({}),
            at,
        ));
        (stored, linked)
    });
    Opened {
        case,
        events,
        previous,
    }
}

/// [`new_case`] with the account's next number, written.
async fn open_case(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    customer: &CustomerRecord,
    subject: Subject,
    actor: &Actor,
    at: Time,
) -> Result<CaseRecord, AppError> {
    let number = tx.next_case_number(&channel.account_id).await?;
    let opened = new_case(channel, customer, subject, None, number, actor, at);
    tx.insert_case(&opened.case).await?;
    tx.insert_events(&opened.events).await?;
    tx.set_customer_latest_case(&customer.id, Some(&opened.case.id))
        .await?;
    Ok(opened.case)
}

/// The customer's message as stored in the case routing chose.
fn customer_message(
    channel: &ChannelRecord,
    customer: &CustomerRecord,
    case: &CaseRecord,
    channel_message_id: String,
    text: String,
    seq: i64,
    at: Time,
) -> MessageRecord {
    MessageRecord {
        id: new_id(),
        account_id: channel.account_id.clone(),
        case_id: case.id.clone(),
        seq,
        kind: MessageKind::Message,
        author_type: AuthorType::Customer,
        author_id: Some(customer.id.clone()),
        text,
        created_at: at,
        channel_id: channel.id.clone(),
        channel_message_id: Some(channel_message_id),
        reacted_message_id: None,
        edited_at: None,
    }
}

/// The files of message `message_id`.
fn attached(attachments: Vec<AttachmentRecord>, message_id: &str) -> Vec<AttachmentRecord> {
    attachments
        .into_iter()
        .map(|mut a| {
            a.message_id = message_id.to_owned();
            a
        })
        .collect()
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
    let message = customer_message(channel, customer, case, msg.message_id, msg.text, seq, at);
    tx.insert_message(&message).await?;
    for attachment in attached(msg.attachments, &message.id) {
        tx.insert_attachment(&attachment).await?;
    }
    Ok(message)
}

/// The notice of a customer's message; the message that opened its case
/// says so (the case's own notice already told of it).
fn message_notice(case: &CaseRecord, message_id: &str, notices: &[Notice]) -> Notice {
    let new_case = notices
        .iter()
        .any(|n| n.kind == "case.created" && n.case_id == case.id);
    notice(
        case,
        "message.created",
        json!({ "message_id": message_id, "author_type": "customer", "kind": "message",
                "new_case": new_case }),
    )
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
