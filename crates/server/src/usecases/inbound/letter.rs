//! R14: a customer's letter, stored exactly once per account and routed by
//! its thread: the case of a stored Message-ID it answers, else the case
//! its `[#number]` tag names when the sender is that case's customer, else
//! a case of its own. A machine-sent letter (out-of-office, bounce, list
//! mail) joins its thread as any letter, but opens nothing again and sets
//! off no rule.

use casedesk_domain::email::{LetterRouting, case_tag, route_letter};
use casedesk_domain::rules::TriggerEvent;
use casedesk_domain::{Actor, Subject};
use casedesk_store::{CaseRecord, ChannelRecord, LetterRecord, Tx, write};
use serde_json::json;

use super::{
    InboundMessage, InboundResult, Outcome, count_customer_message, lock_customer, message_notice,
    open_case, reopened_event, store_customer_message, stored_before,
};
use crate::AppState;
use crate::clock::Clock;
use crate::error::AppError;
use crate::events::Notice;
use crate::events::log;
use crate::usecases::automation;
use crate::usecases::unit::{case_notice, check_text, lock_case, notice};

/// A letter as the e-mail channel read it.
#[derive(Debug, Clone)]
pub struct InboundLetter {
    /// `message_id` is the letter's key (its Message-ID); `customer_id`
    /// the sender's address, lower case.
    pub message: InboundMessage,
    pub subject: String,
    /// What it answers, most direct first (`In-Reply-To`, then
    /// `References` newest first).
    pub thread_ids: Vec<String>,
    /// The account's other e-mail channels: a letter one of them holds
    /// already (sent to two of our addresses) is a duplicate.
    pub other_channels: Vec<String>,
    pub recipients: Vec<String>,
    pub html: Option<String>,
    /// Why a machine sent it, if one did.
    pub automatic: Option<String>,
    /// The raw letter in the attachments store.
    pub raw_file: Option<String>,
}

/// Stores and routes one letter; its files are removed again when it is
/// not stored (a duplicate, an error).
pub async fn receive_letter(
    app: &AppState,
    channel: ChannelRecord,
    letter: InboundLetter,
) -> Result<InboundResult, AppError> {
    let files = letter.message.attachments.clone();
    check_text(&letter.message.text)?;
    let clock = app.clock.clone();
    let result = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let (result, notices, queued) = route_and_store(tx, &clock, &channel, letter).await?;
            Ok((result, log(tx, notices, clock.now()).await?, queued))
        })
    })
    .await;
    let kept = matches!(&result, Ok((r, ..)) if r.outcome != Outcome::Duplicate);
    if !kept && let Some(store) = &app.files {
        for file in &files {
            store.discard(file).await;
        }
    }
    let (result, notices, queued) = result?;
    app.after_change_commit(notices, queued);
    Ok(result)
}

/// The case a letter's thread leads to: the first of its Message-IDs that
/// a message of the channel carries (ours or the customer's, a CC'd
/// colleague's too), in the order the letter names them.
async fn case_by_headers(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    thread_ids: &[String],
) -> Result<Option<String>, AppError> {
    let found = tx
        .find_messages_by_channel_ids(std::slice::from_ref(&channel.id), thread_ids)
        .await?;
    Ok(thread_ids.iter().find_map(|id| {
        found
            .iter()
            .find(|m| m.channel_message_id.as_deref() == Some(id.as_str()))
            .map(|m| m.case_id.clone())
    }))
}

/// The case of the subject's `[#number]` tag in this channel, and whether
/// the sender is its customer.
async fn case_by_tag(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    customer_id: &str,
    subject: &str,
) -> Result<Option<(String, bool)>, AppError> {
    let Some(number) = case_tag(subject) else {
        return Ok(None);
    };
    Ok(tx
        .find_case_by_number(&channel.account_id, number)
        .await?
        .filter(|c| c.channel_id == channel.id && c.merged_into_id.is_none())
        .map(|c| (c.id, c.customer_id == customer_id)))
}

async fn route_and_store(
    tx: &mut dyn Tx,
    clock: &Clock,
    channel: &ChannelRecord,
    letter: InboundLetter,
) -> Result<(InboundResult, Vec<Notice>, bool), AppError> {
    let account_id = channel.account_id.as_str();
    let address = letter.message.customer_id.clone();
    let customer = lock_customer(
        tx,
        channel,
        &letter.message,
        Some(address.clone()),
        clock.now(),
    )
    .await?;
    let at = clock.now();
    let key = letter.message.message_id.clone();
    if let Some(duplicate) = stored_before(tx, channel, &letter.other_channels, &key).await? {
        return Ok((duplicate, Vec::new(), false));
    }
    let automatic = letter.automatic.is_some();
    let by_headers = case_by_headers(tx, channel, &letter.thread_ids).await?;
    let by_tag = match by_headers {
        Some(_) => None,
        None => case_by_tag(tx, channel, &customer.id, &letter.subject).await?,
    };
    let actor = Actor::Customer(customer.id.clone());
    let (mut case, stored, before, outcome, mut notices) = match route_letter(by_headers, by_tag) {
        LetterRouting::Thread(case_id) => {
            let (stored, _) = lock_case(tx, account_id, &case_id).await?;
            let mut case = stored.clone();
            let before = case.state.clone();
            let changes = case.state.letter_joined(automatic, at);
            let reopened = !changes.is_empty();
            let mut notices = Vec::new();
            if reopened {
                tx.insert_event(&reopened_event(&case, &actor, changes, at))
                    .await?;
                notices.push(case_notice(&case));
            }
            let outcome = if reopened {
                Outcome::Reopened
            } else {
                Outcome::Appended
            };
            (case, stored, Some(before), outcome, notices)
        }
        LetterRouting::NewCase => {
            let subject = Subject::from_letter(&letter.subject, &letter.message.text);
            let case: CaseRecord = open_case(tx, channel, &customer, subject, &actor, at).await?;
            let created = notice(&case, "case.created", json!({ "subject": case.subject }));
            (case.clone(), case, None, Outcome::Created, vec![created])
        }
    };
    let seq = tx.next_message_seq().await?;
    let message =
        store_customer_message(tx, channel, &customer, &case, letter.message, seq, at).await?;
    tx.insert_letter(&LetterRecord {
        message_id: message.id.clone(),
        account_id: account_id.to_owned(),
        subject: letter.subject,
        from_address: address,
        recipients: letter.recipients,
        html: letter.html,
        automatic: letter.automatic.clone(),
        raw_file: letter.raw_file,
        created_at: at,
    })
    .await?;
    count_customer_message(tx, &stored, &mut case, at).await?;
    notices.push(message_notice(&case, &message.id, &notices));
    // Rules answer people: an autoresponder answered by a rule would
    // answer back for ever.
    let mut queued = false;
    if !automatic {
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
        queued = rules.queued;
    }
    Ok((
        InboundResult {
            case_id: case.id,
            case_number: case.number,
            message_id: message.id,
            outcome,
        },
        notices,
        queued,
    ))
}
