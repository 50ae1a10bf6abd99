//! "This looks like a new question" (issue 18): a case's suggestion to move
//! the customer message that starts a new topic, and everything after it,
//! to a new case; and an agent dismissing it. The domain judges
//! (`casedesk_domain::topic`); the suggestion is worked out when asked for,
//! so ingest pays nothing for it, and a dismissal is a history event.
//! An automation rule with `split_on_topic_change` takes the suggestion
//! itself when the message that set it off starts the new question.

use std::collections::HashSet;

use casedesk_domain::moves::MAX_SELECTED;
use casedesk_domain::topic::{Said, TopicShift, latest_shift};
use casedesk_domain::{AuthorType, EventKind, MessageKind};
use casedesk_store::{CaseRecord, MessageRecord, Tx, read, write};
use serde_json::json;

use super::lifecycle::move_to_new;
use super::unit::{Acting, AgentActor, case_notice, lock_case, not_found, record};
use crate::AppState;
use crate::error::AppError;
use crate::events::log;

/// What the case page offers: move `message_id` and the messages after it
/// (`moving`, reaction notes left to follow their messages) to a new case.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub message_id: String,
    pub moving: Vec<String>,
    pub shift: TopicShift,
}

/// The case's suggestion, if its chat is active and its latest new topic
/// was not dismissed.
pub async fn suggestion(
    app: &AppState,
    account_id: String,
    case_id: String,
) -> Result<Option<Suggestion>, AppError> {
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let case = tx
                .get_case(&account_id, &case_id)
                .await
                .map_err(not_found("case"))?;
            current(tx, &case).await
        })
    })
    .await
}

/// The suggestion for `case` as the unit of work `tx` sees it.
async fn current(tx: &mut dyn Tx, case: &CaseRecord) -> Result<Option<Suggestion>, AppError> {
    if !case.state.is_active_chat() || case.state.merged {
        return Ok(None);
    }
    let messages = tx.list_messages(&case.account_id, &case.id).await?;
    let dismissed: HashSet<String> = tx
        .list_events(&case.account_id, &case.id)
        .await?
        .into_iter()
        .filter(|e| e.kind == EventKind::TopicDismissed)
        .filter_map(|e| e.data["message_id"].as_str().map(str::to_owned))
        .collect();
    Ok(suggest(case, &messages, &dismissed))
}

/// A rule asked for it ([`casedesk_domain::Action::SplitOnTopicChange`]):
/// when the customer's message `message_id` of `case_id` starts a new
/// question, it and what follows move to a new case, with the rule as the
/// actor (undoable like an agent's split). Runs after the message's own
/// change committed, as a unit of work of its own, so a crash in between
/// loses only the split. The new case's id, or `None` when the message
/// starts no new question (or the chat changed meanwhile).
pub(crate) async fn split_on_topic(
    app: &AppState,
    account_id: String,
    case_id: String,
    rule_id: String,
    message_id: String,
) -> Result<Option<CaseRecord>, AppError> {
    let clock = app.clock.clone();
    let done = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let (case, customer) = lock_case(tx, &account_id, &case_id).await?;
            let Some(s) = current(tx, &case).await? else {
                return Ok(None);
            };
            if s.message_id != message_id {
                return Ok(None);
            }
            let who = Acting::rule(&account_id, &rule_id);
            let moved = move_to_new(tx, &who, case, &customer, &s.moving, at).await?;
            let new_case = tx.get_case(&account_id, &moved.case_id).await?;
            Ok(Some((
                new_case,
                log(tx, moved.notices, at).await?,
                moved.queued,
            )))
        })
    })
    .await?;
    Ok(done.map(|(new_case, notices, queued)| {
        app.after_change_commit(notices, queued);
        new_case
    }))
}

fn suggest(
    case: &CaseRecord,
    messages: &[MessageRecord],
    dismissed: &HashSet<String>,
) -> Option<Suggestion> {
    let public: Vec<&MessageRecord> = messages
        .iter()
        .filter(|m| m.kind == MessageKind::Message && m.author_type != AuthorType::System)
        .collect();
    let said: Vec<Said<'_>> = public
        .iter()
        .map(|m| Said {
            author: m.author_type,
            text: &m.text,
            at: m.created_at,
        })
        .collect();
    let (i, shift) = latest_shift(&case.subject, &said, |i| dismissed.contains(&public[i].id))?;
    let from = messages.iter().position(|m| m.id == public[i].id)?;
    let movable =
        |m: &&MessageRecord| m.kind != MessageKind::System && m.reacted_message_id.is_none();
    let moving: Vec<String> = messages[from..]
        .iter()
        .filter(movable)
        .map(|m| m.id.clone())
        .collect();
    // Something must stay behind, or it is no split; and it must be a
    // move the API takes.
    let fits = moving.len() <= MAX_SELECTED && messages[..from].iter().any(|m| movable(&m));
    fits.then(|| Suggestion {
        message_id: public[i].id.clone(),
        moving,
        shift,
    })
}

/// The agent says the message is no new topic: the case stops suggesting
/// it, for every agent.
pub async fn dismiss(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    message_id: String,
) -> Result<(), AppError> {
    let clock = app.clock.clone();
    let notices = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let (case, _) = lock_case(tx, &who.account_id, &case_id).await?;
            let message = tx.get_message(&who.account_id, &message_id).await;
            if !matches!(&message, Ok(m) if m.case_id == case.id) {
                return Err(AppError::invalid_as(
                    "message_not_in_case",
                    format!("message {message_id} is not in this case"),
                )
                .with(json!({ "message_id": message_id })));
            }
            record(
                tx,
                &case,
                EventKind::TopicDismissed,
                &who.actor(),
                Vec::new(),
                json!({ "message_id": message_id }),
                at,
            )
            .await?;
            Ok(log(tx, vec![case_notice(&case)], at).await?)
        })
    })
    .await?;
    app.after_change_commit(notices, false);
    Ok(())
}
