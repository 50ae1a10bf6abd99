//! Writing an agent's or a rule's reply or note into a locked case: the
//! domain says what it changes (a reply may reactivate the chat, R2), and
//! a reply is queued in the outbox for its channel to deliver.

use casedesk_domain::{Actor, AuthorType, ChannelKind, EventKind, MessageKind, Time};
use casedesk_store::{CaseRecord, CustomerRecord, MessageRecord, OutboxItem, Tx};
use serde_json::json;

use super::actions::assign;
use super::unit::{AgentActor, case_notice, notice, record, reschedule, settings_of};
use crate::error::AppError;
use crate::events::Notice;
use crate::util::{new_id, rfc3339};

/// Who writes a message into a case: an agent, or an automation rule
/// (whose replies and notes are casedesk's own: author `system`).
#[derive(Debug, Clone)]
pub(crate) enum Writer {
    Agent(AgentActor),
    Rule {
        account_id: String,
        rule_id: String,
    },
    /// A channel telling the agents what became of a delivery (a note).
    Channel {
        account_id: String,
        channel_id: String,
    },
}

impl Writer {
    pub(crate) fn account_id(&self) -> &str {
        match self {
            Writer::Agent(a) => &a.account_id,
            Writer::Rule { account_id, .. } | Writer::Channel { account_id, .. } => account_id,
        }
    }

    fn author_type(&self) -> AuthorType {
        match self {
            Writer::Agent(_) => AuthorType::Agent,
            Writer::Rule { .. } | Writer::Channel { .. } => AuthorType::System,
        }
    }

    fn author_id(&self) -> String {
        match self {
            Writer::Agent(a) => a.agent_id.clone(),
            Writer::Rule { rule_id, .. } => format!("rule:{rule_id}"),
            Writer::Channel { channel_id, .. } => format!("channel:{channel_id}"),
        }
    }

    /// Who the history names.
    pub(crate) fn actor(&self) -> Actor {
        match self {
            Writer::Agent(a) => a.actor(),
            Writer::Rule { rule_id, .. } => Actor::System(format!("rule:{rule_id}")),
            Writer::Channel { channel_id, .. } => Actor::System(format!("channel:{channel_id}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentMessageKind {
    Reply,
    Note,
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
        None,
        at,
    )
    .await
}

/// [`add_agent_message`] for any writer. A rule's reply is delivered like
/// an agent's, but it is no agent's response: it neither reactivates a
/// chat, nor counts as the first response, nor decides who wrote last, nor
/// restarts the inactivity timer. A reply may answer one message of the
/// case (`reply_to`, its id), which a messenger shows as a quote.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn add_message(
    tx: &mut dyn Tx,
    writer: &Writer,
    case: &mut CaseRecord,
    customer: &CustomerRecord,
    kind: AgentMessageKind,
    text: String,
    reply_to: Option<String>,
    at: Time,
) -> Result<Posted, AppError> {
    let channel = tx
        .find_channel(&case.channel_id)
        .await?
        .ok_or_else(|| AppError::internal("case of a missing channel"))?;
    let id = new_id();
    // A letter's Message-ID is chosen now: every retry sends the same one,
    // and the customer's answer to it finds this case (R14).
    let channel_message_id = match (channel.kind, kind) {
        (ChannelKind::Email, AgentMessageKind::Reply) => {
            let settings = tx
                .get_channel_secret(&channel.id)
                .await?
                .as_ref()
                .and_then(crate::channels::email::Settings::of)
                .ok_or_else(|| AppError::internal("an e-mail channel without its settings"))?;
            Some(crate::channels::email::message_id(&id, &settings))
        }
        _ => None,
    };
    let message = MessageRecord {
        id,
        account_id: case.account_id.clone(),
        case_id: case.id.clone(),
        seq: tx.next_message_seq().await?,
        kind: match kind {
            AgentMessageKind::Reply => MessageKind::Message,
            AgentMessageKind::Note => MessageKind::Note,
        },
        author_type: writer.author_type(),
        author_id: Some(writer.author_id()),
        text,
        created_at: at,
        channel_id: case.channel_id.clone(),
        channel_message_id,
        reacted_message_id: None,
        edited_at: None,
    };
    tx.insert_message(&message).await?;
    let mut notices = count_message(tx, writer, case, customer, kind, at).await?;
    // Replies go out through the channel; notes stay inside.
    let delivery_url = match channel.kind {
        ChannelKind::Api => channel.webhook_url.clone(),
        ChannelKind::Telegram => Some(crate::channels::telegram::OUTBOX_TARGET.to_owned()),
        ChannelKind::Email => Some(crate::channels::email::OUTBOX_TARGET.to_owned()),
        ChannelKind::Widget => None,
    }
    .filter(|_| kind == AgentMessageKind::Reply);
    let queued = delivery_url.is_some();
    if let Some(url) = delivery_url {
        queue_delivery(tx, case, customer, &message, url, reply_to, at).await?;
    }
    // Callers may have changed the case before (a rule's earlier actions).
    tx.update_case(None, case).await?;
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

/// The new message counts as the domain says for its writer and kind; a
/// reactivation is recorded and the timers restart when it says so.
/// Returns the notices of a reactivated or newly assigned chat.
async fn count_message(
    tx: &mut dyn Tx,
    writer: &Writer,
    case: &mut CaseRecord,
    customer: &CustomerRecord,
    kind: AgentMessageKind,
    at: Time,
) -> Result<Vec<Notice>, AppError> {
    let tally = case.tally();
    let wrote = match (kind, writer) {
        (AgentMessageKind::Reply, Writer::Agent(_)) => {
            let is_latest = customer.latest_case_id.as_deref() == Some(case.id.as_str());
            case.state.agent_wrote(is_latest, tally, at)
        }
        (AgentMessageKind::Reply, Writer::Rule { .. } | Writer::Channel { .. }) => {
            case.state.rule_replied(tally)
        }
        (AgentMessageKind::Note, _) => case.state.note_added(tally),
    };
    let mut notices = Vec::new();
    if let (AgentMessageKind::Reply, Writer::Agent(agent)) = (kind, writer)
        && assign_replying_agent(tx, agent, case, at).await?
    {
        notices.push(case_notice(case));
    }
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
        let settings = settings_of(tx, &case.account_id).await?;
        reschedule(tx, case, settings, at).await?;
    }
    Ok(notices)
}

/// An agent who answers an unassigned case takes it, unless the account
/// turned this off: the queues and workload reports then credit them. The
/// history says so (an `updated` event with `"reason": "reply"`).
async fn assign_replying_agent(
    tx: &mut dyn Tx,
    agent: &AgentActor,
    case: &mut CaseRecord,
    at: Time,
) -> Result<bool, AppError> {
    if case.assignee_id.is_some() || !tx.get_account(&case.account_id).await?.assign_on_reply {
        return Ok(false);
    }
    let account_id = case.account_id.clone();
    if let Some(change) = assign(tx, &account_id, case, Some(agent.agent_id.clone())).await? {
        record(
            tx,
            case,
            EventKind::Updated,
            &agent.actor(),
            vec![change],
            json!({ "reason": "reply" }),
            at,
        )
        .await?;
        return Ok(true);
    }
    Ok(false)
}

/// Queues a reply for its channel to deliver to `url`. The body is the
/// reply as the `api` channel posts it (docs/api.md, "Outbound"), fixed
/// when queued: a retry sends the same bytes.
#[allow(clippy::too_many_arguments)]
async fn queue_delivery(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    customer: &CustomerRecord,
    message: &MessageRecord,
    url: String,
    reply_to: Option<String>,
    at: Time,
) -> Result<(), AppError> {
    let mut body = json!({
        "type": "message",
        "id": message.id,
        "case_id": case.id,
        "case_number": case.number,
        "customer": { "id": customer.external_id },
        "text": message.text,
        "sent_at": rfc3339(at),
    });
    if let Some(id) = reply_to {
        // The channel's own id of the message answered, when it has one
        // (the `api` channel's `message_id`), and casedesk's.
        let answered = tx.get_message(&case.account_id, &id).await?;
        body["reply_to"] = json!(id);
        body["reply_to_channel_message_id"] = json!(answered.channel_message_id);
    }
    tx.insert_outbox(&OutboxItem::queued(
        new_id(),
        case.account_id.clone(),
        message.channel_id.clone(),
        message.id.clone(),
        url,
        body.to_string(),
        at,
    ))
    .await?;
    Ok(())
}

/// A note in the case of message `message_id` that its delivery stopped
/// for good and why (the customer blocked the bot, left the chat, …), so
/// that the agents see it where they work.
pub async fn note_undelivered(
    app: &crate::AppState,
    account_id: &str,
    message_id: &str,
    reason: &str,
) -> Result<(), AppError> {
    let (account, id) = (account_id.to_owned(), message_id.to_owned());
    let text = format!("This reply was not delivered: {reason}");
    let clock = app.clock.clone();
    let notices = casedesk_store::write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let message = tx.get_message(&account, &id).await?;
            let (mut case, customer) =
                super::unit::lock_case(tx, &account, &message.case_id).await?;
            let writer = Writer::Channel {
                account_id: account.clone(),
                channel_id: message.channel_id.clone(),
            };
            let posted = add_message(
                tx,
                &writer,
                &mut case,
                &customer,
                AgentMessageKind::Note,
                text,
                None,
                at,
            )
            .await?;
            Ok(crate::events::log(tx, posted.notices, at).await?)
        })
    })
    .await?;
    app.after_commit(notices, false);
    Ok(())
}
