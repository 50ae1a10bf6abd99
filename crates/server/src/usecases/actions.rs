//! The actions templates and automation rules run on a case (set status,
//! finish chat, assign, subject, note, labels, reply), with the same rules
//! as an agent doing each by hand. The caller holds the customer's lock,
//! saves the case and records one history event for the whole run.

use casedesk_domain::templates::{PlaceholderValues, render};
use casedesk_domain::{Action, Change, Field, Subject};
use casedesk_store::{CaseRecord, CustomerRecord, Tx};

use super::messages::{AgentMessageKind, Writer, add_message};
use super::unit::check_text;
use crate::error::AppError;
use crate::events::Notice;

/// What running actions did.
#[derive(Default)]
pub(crate) struct ActionRun {
    pub changes: Vec<Change>,
    pub notices: Vec<Notice>,
    /// A reply was queued for webhook delivery.
    pub queued: bool,
    /// Ids of the replies and notes written.
    pub message_ids: Vec<String>,
    /// Actions refused and skipped (rules only), with the reason.
    pub skipped: Vec<String>,
    /// A rule asked for the message that set it off to be split off when
    /// it starts a new question; done after the change commits.
    pub split_on_topic: bool,
}

impl ActionRun {
    pub(crate) fn absorb(&mut self, notices: Vec<Notice>, queued: bool) {
        self.notices.extend(notices);
        self.queued |= queued;
    }
}

/// Puts a label on a case or takes it off; `None` when there was nothing
/// to do. An unknown label is `404`.
pub(crate) async fn change_label(
    tx: &mut dyn Tx,
    account_id: &str,
    case_id: &str,
    label_id: &str,
    add: bool,
    at: casedesk_domain::Time,
) -> Result<Option<Change>, AppError> {
    let label = tx
        .get_label(account_id, label_id)
        .await
        .map_err(AppError::unknown_or("label", label_id))?;
    let changed = if add {
        tx.add_case_label(account_id, case_id, label_id, at).await?
    } else {
        tx.remove_case_label(case_id, label_id).await?
    };
    let (before, after) = if add {
        (None, Some(label.name))
    } else {
        (Some(label.name), None)
    };
    Ok(changed.then_some(Change {
        field: Field::Label,
        before,
        after,
    }))
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
    // Statistics count a case's history for its current assignee.
    tx.move_case_events(&case.id, assignee.as_deref()).await?;
    Ok(Some(Change {
        field: Field::AssigneeId,
        before,
        after: assignee,
    }))
}

/// Runs one action, adding what it did to `run`.
#[allow(clippy::too_many_arguments)]
async fn run_one(
    tx: &mut dyn Tx,
    writer: &Writer,
    case: &mut CaseRecord,
    customer: &CustomerRecord,
    action: &Action,
    values: &mut PlaceholderValues,
    at: casedesk_domain::Time,
    run: &mut ActionRun,
) -> Result<(), AppError> {
    let account_id = writer.account_id().to_owned();
    match action {
        Action::SetStatus { status } => {
            run.changes.extend(case.state.set_status(*status, at)?);
        }
        Action::FinishChat { status } => {
            // R2 on an active chat; otherwise only the status (R1).
            let changes = if case.state.is_active_chat() {
                case.state.finish(*status, at)?
            } else {
                case.state.set_status(*status, at)?
            };
            run.changes.extend(changes);
        }
        Action::Assign { agent_id } => {
            run.changes
                .extend(assign(tx, &account_id, case, agent_id.clone()).await?);
            // A rule writes as the case's assignee: later texts name the new one.
            if let Writer::Rule { .. } = writer {
                let agent = match agent_id {
                    Some(id) => tx.get_agent(&account_id, id).await.ok(),
                    None => None,
                };
                values.agent_name = agent.as_ref().map(|a| a.name.clone()).unwrap_or_default();
                values.agent_email = agent.map(|a| a.email).unwrap_or_default();
            }
        }
        Action::SetSubject { subject } => {
            let text = render(subject, values)?;
            let subject = Subject::parse(&text)?;
            run.changes.extend(set_subject(case, subject));
        }
        Action::AddNote { text } | Action::SendReply { text } => {
            let text = render(text, values)?;
            check_text(&text)?;
            let kind = if matches!(action, Action::AddNote { .. }) {
                AgentMessageKind::Note
            } else {
                AgentMessageKind::Reply
            };
            let posted = add_message(tx, writer, case, customer, kind, text, None, at).await?;
            run.message_ids.push(posted.message.id);
            run.absorb(posted.notices, posted.queued);
        }
        Action::AddLabel { label_id } | Action::RemoveLabel { label_id } => {
            let add = matches!(action, Action::AddLabel { .. });
            run.changes
                .extend(change_label(tx, &account_id, &case.id, label_id, add, at).await?);
        }
        // Saved templates never hold it (the domain refuses it there).
        Action::SplitOnTopicChange {} if !matches!(writer, Writer::Rule { .. }) => {
            return Err(AppError::invalid_as(
                "template_split_on_topic",
                "split_on_topic_change is for automation rules",
            ));
        }
        Action::SplitOnTopicChange {} if !case.state.is_active_chat() => {
            return Err(AppError::conflict(
                "split_needs_active_chat",
                "split_on_topic_change splits active chats only",
            ));
        }
        Action::SplitOnTopicChange {} => run.split_on_topic = true,
    }
    Ok(())
}

/// Runs `actions` in order on a locked, unmerged case. With `tolerant`
/// (rules, which run inside someone else's change and must never make it
/// fail) an action the case refuses — a deleted label, a subject that came
/// out too long — is skipped and reported in [`ActionRun::skipped`];
/// without it (templates, applied by an agent who sees the answer) the
/// first refusal fails the whole change. Storage errors always fail it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_actions(
    tx: &mut dyn Tx,
    writer: &Writer,
    case: &mut CaseRecord,
    customer: &CustomerRecord,
    actions: &[Action],
    values: &PlaceholderValues,
    tolerant: bool,
    at: casedesk_domain::Time,
) -> Result<ActionRun, AppError> {
    let mut run = ActionRun::default();
    let mut values = values.clone();
    for (i, action) in actions.iter().enumerate() {
        match run_one(
            tx,
            writer,
            case,
            customer,
            action,
            &mut values,
            at,
            &mut run,
        )
        .await
        {
            Ok(()) => {}
            Err(e) if tolerant && e.status.is_client_error() => {
                run.skipped.push(format!("action {}: {}", i + 1, e.message));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(run)
}

/// The values placeholders take in `case`, written by `agent` (name,
/// email) — for rules, the case's assignee.
pub(crate) async fn placeholder_values(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    customer: &CustomerRecord,
    agent_id: Option<&str>,
) -> Result<PlaceholderValues, AppError> {
    let agent = match agent_id {
        Some(id) => tx.get_agent(&case.account_id, id).await.ok(),
        None => None,
    };
    let channel_name = tx
        .find_channel(&case.channel_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
    Ok(PlaceholderValues {
        customer_name: customer.name.clone(),
        customer_id: customer.external_id.clone(),
        case_number: case.number,
        case_subject: case.subject.clone(),
        agent_name: agent.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        agent_email: agent.map(|a| a.email).unwrap_or_default(),
        channel_name,
    })
}
