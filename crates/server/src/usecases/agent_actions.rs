//! What an agent does to a case by hand: reply or note, finish (R2),
//! keep active (R4), change subject, status and assignee (R1, R5, R13),
//! mark read; and the customer's own way to close (R5).

use casedesk_domain::rules::TriggerEvent;
use casedesk_domain::{Actor, Change, EventKind, Status, Subject, Time};
use casedesk_store::{AttachmentRecord, CaseRecord, MessageRecord, Tx, write};
use serde_json::json;

use super::actions::{assign, set_subject};
use super::automation;
use super::messages::{AgentMessageKind, Writer, add_message};
use super::unit::{
    AgentActor, case_notice, check_text, lock_case, record, reschedule, settings_of,
};
use crate::AppState;
use crate::error::AppError;
use crate::events::{Logged, log};

/// An agent reply (delivered through the channel) or an internal note.
pub async fn post_agent_message(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    kind: AgentMessageKind,
    text: String,
    attachment: Option<AttachmentRecord>,
    reply_to: Option<String>,
) -> Result<MessageRecord, AppError> {
    check_text(&text)?;
    if reply_to.is_some() && kind != AgentMessageKind::Reply {
        return Err(AppError::invalid_as(
            "reply_to_on_note",
            "reply_to_message_id is for replies, not notes",
        ));
    }
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
            if let Some(id) = &reply_to {
                let answered = tx.get_message(&who.account_id, id).await.ok();
                let fits = answered.is_some_and(|m| {
                    m.case_id == case.id
                        && m.kind == casedesk_domain::MessageKind::Message
                        && m.author_type == casedesk_domain::AuthorType::Customer
                });
                if !fits {
                    return Err(AppError::invalid_as(
                        "reply_to_invalid",
                        "reply_to_message_id must be a customer's message in this case",
                    ));
                }
            }
            let writer = Writer::Agent(who.clone());
            let posted =
                add_message(tx, &writer, &mut case, &customer, kind, text, reply_to, at).await?;
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
            Ok((posted.message, log(tx, notices, at).await?, queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(message)
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
            let (stored, _customer) = lock_case(tx, &account_id, &case_id).await?;
            let mut case = stored.clone();
            let was_active = case.state.is_active_chat();
            let before = case.state.clone();
            let changes = change(&mut case, tx, at).await?;
            if changes.is_empty() && kind != EventKind::KeptActive {
                return Ok((case, Logged::default(), false));
            }
            case.updated_at = at;
            tx.update_case(Some(&stored), &case).await?;
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
            Ok((case, log(tx, notices, at).await?, rules.queued))
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
    let clock = app.clock.clone();
    let (case, notices) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            // Under the customer lock, so a message arriving at the same
            // time is not marked read without anyone having seen it.
            let (stored, _customer) = lock_case(tx, &who.account_id, &case_id).await?;
            if !stored.unread {
                return Ok((stored, Logged::default()));
            }
            let mut case = stored.clone();
            case.set_tally(case.tally().read());
            tx.update_case(Some(&stored), &case).await?;
            let logged = log(tx, vec![case_notice(&case)], clock.now()).await?;
            Ok((case, logged))
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
