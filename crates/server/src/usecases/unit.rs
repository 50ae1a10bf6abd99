//! What every use case does inside its unit of work: lock the customer
//! whose chats it changes, record history events, reschedule a chat's
//! deadlines, make the notices published after commit; and who acts.

use casedesk_domain::moves::{Held, Selection, messages_to_move};
use casedesk_domain::{Actor, AutoFinishSettings, CaseState, Change, EventKind, Tally, Time};
use casedesk_store::{
    CaseRecord, ChannelRecord, CustomerRecord, Deadline, DeadlineKind, EventRecord, StoreError, Tx,
};
use serde_json::json;

use crate::error::AppError;
use crate::events::Notice;
use crate::util::new_id;

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
        return Err(AppError::invalid_as("text_empty", "text must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::invalid_as(
            "text_too_long",
            format!("text must be at most {MAX_TEXT_CHARS} characters"),
        )
        .with(serde_json::json!({ "max": MAX_TEXT_CHARS })));
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

/// A new history event of `case`.
pub(crate) fn event(
    case: &CaseRecord,
    kind: EventKind,
    actor: &Actor,
    changes: Vec<Change>,
    data: serde_json::Value,
    at: Time,
) -> EventRecord {
    EventRecord {
        id: new_id(),
        account_id: case.account_id.clone(),
        case_id: case.id.clone(),
        kind,
        actor: actor.clone(),
        changes,
        data,
        created_at: at,
    }
}

/// Records a history event of `case`; returns its id.
pub(crate) async fn record(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    kind: EventKind,
    actor: &Actor,
    changes: Vec<Change>,
    data: serde_json::Value,
    at: Time,
) -> Result<String, StoreError> {
    let event = event(case, kind, actor, changes, data, at);
    tx.insert_event(&event).await?;
    Ok(event.id)
}

/// Active chats get their warning and finish deadlines from `activity`;
/// anything else has none.
pub(crate) async fn reschedule(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    settings: AutoFinishSettings,
    activity: Time,
) -> Result<(), StoreError> {
    match deadlines_of(case, settings, activity) {
        Some(deadlines) => tx.set_deadlines(&deadlines).await,
        None => tx.clear_deadlines(&case.id).await,
    }
}

/// The warning and finish deadlines of an active chat whose last activity
/// was at `activity`; `None` for anything else, which has none.
pub(crate) fn deadlines_of(
    case: &CaseRecord,
    settings: AutoFinishSettings,
    activity: Time,
) -> Option<[Deadline; 2]> {
    if !case.state.is_active_chat() || case.state.merged {
        return None;
    }
    let (warn_at, finish_at) = settings.deadlines(activity);
    let deadline = |kind, due_at| Deadline {
        case_id: case.id.clone(),
        account_id: case.account_id.clone(),
        kind,
        due_at,
    };
    Some([
        deadline(DeadlineKind::Warn, warn_at),
        deadline(DeadlineKind::Finish, finish_at),
    ])
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

#[allow(clippy::too_many_arguments)]
pub(crate) fn new_case_record(
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

    pub(crate) fn acting(&self) -> Acting {
        Acting {
            account_id: self.account_id.clone(),
            actor: self.actor(),
        }
    }
}

/// Who changes a case and in which account: an agent, or casedesk itself
/// for an automation rule (as the rule's own writes name it).
#[derive(Debug, Clone)]
pub(crate) struct Acting {
    pub account_id: String,
    pub actor: Actor,
}

impl Acting {
    pub(crate) fn rule(account_id: &str, rule_id: &str) -> Acting {
        Acting {
            account_id: account_id.to_owned(),
            actor: Actor::System(format!("rule:{rule_id}")),
        }
    }
}

/// Recounts what a case holds after messages moved in or out of it.
pub(crate) async fn refresh_from_messages(
    tx: &mut dyn Tx,
    case: &mut CaseRecord,
) -> Result<(), StoreError> {
    let summary = tx.message_summary(&case.id, case.created_at).await?;
    let tally = case.state.recount(case.tally(), summary.recount());
    case.set_tally(tally);
    Ok(())
}

/// The ids of the messages `selection` takes from `case`, reaction notes
/// with their messages (the domain decides which).
pub(crate) async fn pick(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    selection: Selection<'_>,
) -> Result<Vec<String>, AppError> {
    let messages = tx.list_messages(&case.account_id, &case.id).await?;
    let held: Vec<Held<'_>> = messages
        .iter()
        .map(|m| Held {
            id: &m.id,
            seq: m.seq,
            reacted_message_id: m.reacted_message_id.as_deref(),
        })
        .collect();
    Ok(messages_to_move(&held, selection)?)
}
