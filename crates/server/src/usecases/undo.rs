//! Undo (and redo) of a split, merge or move (issue 18). Each of those
//! actions records, on the history events it writes, what undo needs: the
//! messages it moved and the shape of every case it touched — before and
//! after. Undo moves exactly those messages back (with reactions added
//! since) and puts the cases back in their shape before, provided nobody
//! changed them since; an undo is itself undone (a redo) the same way in
//! the other direction. Messages that arrived after the action stay where
//! they landed: a split-off case holding some keeps them and stays.
//! Statistics follow: the undone split, merge or split-off case's creation
//! is renamed (`split_undone`, …) so that it no longer counts.

use casedesk_domain::moves::Selection;
use casedesk_domain::{
    AuthorType, CaseState, ChatState, EventKind, MessageKind, Reopen, Status, Time,
};
use casedesk_store::{CaseRecord, EventRecord, write};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::automation;
use super::unit::{
    AgentActor, case_notice, lock_case, pick, record, refresh_from_messages, reschedule,
    settings_of,
};
use crate::AppState;
use crate::error::AppError;
use crate::events::log;
use crate::util::new_id;

/// What an action changes of a case and undo puts back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shape {
    status: Status,
    chat_state: Option<ChatState>,
    finished_at: Option<Time>,
    closed_at: Option<Time>,
    reopen: Option<Reopen>,
    merged_into_id: Option<String>,
    previous_case_id: Option<String>,
    next_case_id: Option<String>,
}

impl Shape {
    pub(crate) fn of(case: &CaseRecord) -> Shape {
        Shape {
            status: case.state.status,
            chat_state: case.state.chat_state,
            finished_at: case.state.finished_at,
            closed_at: case.state.closed_at,
            reopen: case.state.reopen.clone(),
            merged_into_id: case.merged_into_id.clone(),
            previous_case_id: case.previous_case_id.clone(),
            next_case_id: case.next_case_id.clone(),
        }
    }

    /// A split-off case before it existed, and after its split is undone:
    /// dissolved into the case it came from (kept for links and history,
    /// listed nowhere), as a merged case is.
    pub(crate) fn dissolved(case: &CaseRecord, into: &str, at: Time) -> Shape {
        Shape {
            status: case.state.status,
            chat_state: case.state.chat_state.map(|_| ChatState::Finished),
            finished_at: case.state.chat_state.map(|_| at),
            closed_at: None,
            reopen: None,
            merged_into_id: Some(into.to_owned()),
            previous_case_id: case.previous_case_id.clone(),
            next_case_id: case.next_case_id.clone(),
        }
    }

    fn apply(&self, case: &mut CaseRecord) {
        case.state.status = self.status;
        case.state.chat_state = self.chat_state;
        case.state.finished_at = self.finished_at;
        case.state.closed_at = self.closed_at;
        case.state.reopen = self.reopen.clone();
        case.state.merged = self.merged_into_id.is_some();
        case.merged_into_id = self.merged_into_id.clone();
        case.previous_case_id = self.previous_case_id.clone();
        case.next_case_id = self.next_case_id.clone();
    }
}

/// One case an action touched, as it was before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Touched {
    id: String,
    before: Shape,
    after: Shape,
}

/// What a split, merge or move did, as its events record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Action {
    pub id: String,
    /// `split`, `merge` or `move`.
    pub kind: String,
    pub from_case_id: String,
    pub to_case_id: String,
    pub message_ids: Vec<String>,
    /// The case a split made, if it made one.
    pub created_case_id: Option<String>,
    pub latest_before: Option<String>,
    pub latest_after: Option<String>,
    pub cases: Vec<Touched>,
    /// Every message written after the action has this `seq` or a larger
    /// one (every earlier one a smaller).
    pub seq: i64,
}

impl Action {
    pub(crate) fn new(
        kind: &str,
        from: &CaseRecord,
        to: &str,
        message_ids: &[String],
        seq: i64,
    ) -> Action {
        Action {
            seq,
            id: new_id(),
            kind: kind.to_owned(),
            from_case_id: from.id.clone(),
            to_case_id: to.to_owned(),
            message_ids: message_ids.to_vec(),
            created_case_id: None,
            latest_before: None,
            latest_after: None,
            cases: Vec::new(),
        }
    }

    /// Records a touched case's shape before the action.
    pub(crate) fn before(&mut self, case: &CaseRecord, shape: Shape) {
        self.cases.push(Touched {
            id: case.id.clone(),
            after: shape.clone(),
            before: shape,
        });
    }

    /// Records the touched cases' shapes after the action.
    pub(crate) fn after(&mut self, cases: &[&CaseRecord]) {
        for case in cases {
            if let Some(t) = self.cases.iter_mut().find(|t| t.id == case.id) {
                t.after = Shape::of(case);
            }
        }
    }

    /// What the action's events carry in their `data`.
    pub(crate) fn data(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Which way an undo goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Undo,
    Redo,
}

fn conflict(message: String) -> AppError {
    AppError::conflict("undo_conflict", message)
}

/// Undoes the split, merge or move that `event_id` (an event of `case_id`)
/// records, or redoes it when the event is an undo; returns `case_id`'s
/// case as it is then.
pub async fn undo(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    event_id: String,
) -> Result<CaseRecord, AppError> {
    let clock = app.clock.clone();
    let (case, notices) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let account_id = who.account_id.clone();
            let (_, customer) = lock_case(tx, &account_id, &case_id).await?;
            let events = tx.list_events(&account_id, &case_id).await?;
            let event = events
                .iter()
                .find(|e| e.id == event_id)
                .ok_or_else(|| AppError::not_found("event"))?;
            let way = match event.kind {
                EventKind::Undone => Way::Redo,
                _ => Way::Undo,
            };
            let action: Action =
                serde_json::from_value(event.data["action"].clone()).map_err(|_| {
                    AppError::conflict(
                        "not_undoable",
                        "only a split, merge or move recorded since undo exists can be undone",
                    )
                })?;
            // Undone already (or redone already): its latest undo or redo says.
            let last = events
                .iter()
                .rfind(|e| {
                    matches!(e.kind, EventKind::Undone | EventKind::Redone)
                        && e.data["action"]["id"] == action.id.as_str()
                })
                .map(|e| e.kind);
            let undone = last == Some(EventKind::Undone);
            if (way == Way::Undo) == undone {
                return Err(conflict(match way {
                    Way::Undo => "this action is already undone; undo the undo to redo it".into(),
                    Way::Redo => "this undo is already undone".into(),
                }));
            }
            let ids: Vec<String> = action.cases.iter().map(|t| t.id.clone()).collect();
            let mut cases = tx.get_cases(&account_id, &ids).await?;
            if cases.len() != ids.len() {
                return Err(conflict("a case of this action no longer exists".into()));
            }
            let states: Vec<(String, CaseState)> = cases
                .iter()
                .map(|c| (c.id.clone(), c.state.clone()))
                .collect();
            // Nobody changed the cases since: they are as the action left them.
            for t in &action.cases {
                let case = cases.iter().find(|c| c.id == t.id).expect("read above");
                let expected = if way == Way::Undo {
                    &t.after
                } else {
                    &t.before
                };
                if Shape::of(case) != *expected {
                    return Err(conflict(format!(
                        "case #{} has changed since (its status, chat or chain), so this cannot \
                         be undone without losing that change",
                        case.number
                    )));
                }
            }
            let (from, to) = match way {
                Way::Undo => (&action.to_case_id, &action.from_case_id),
                Way::Redo => (&action.from_case_id, &action.to_case_id),
            };
            // Messages after the action (for a redo: after its undo).
            let since_seq = match way {
                Way::Undo => action.seq,
                Way::Redo => event.data["seq"].as_i64().unwrap_or(action.seq),
            };
            let target = |t: &Touched| match way {
                Way::Undo => t.before.clone(),
                Way::Redo => t.after.clone(),
            };
            // What people wrote in the touched cases since, besides what the
            // action moved: it stays where it landed, and no undo may leave
            // it in a chat that stops being active.
            let mut since: Vec<(String, bool)> = Vec::new();
            for case in &cases {
                let written = tx
                    .list_messages(&account_id, &case.id)
                    .await?
                    .into_iter()
                    .filter(|m| {
                        m.seq >= since_seq
                            && m.author_type != AuthorType::System
                            && m.kind != MessageKind::System
                            && !action.message_ids.contains(&m.id)
                    })
                    .map(|m| {
                        m.author_type == AuthorType::Customer && m.kind == MessageKind::Message
                    })
                    .fold(None, |any: Option<bool>, customer| {
                        Some(any.unwrap_or(false) || customer)
                    });
                if let Some(customer_wrote) = written {
                    since.push((case.id.clone(), customer_wrote));
                }
            }
            // A split-off case that people wrote in since keeps that and
            // stays, linked where it is; otherwise it is dissolved, and
            // takes back with it anything else it holds (a rule's greeting).
            let keeps_created = way == Way::Undo
                && action
                    .created_case_id
                    .as_ref()
                    .is_some_and(|created| since.iter().any(|(id, _)| id == created));
            for case in &cases {
                let t = action
                    .cases
                    .iter()
                    .find(|t| t.id == case.id)
                    .expect("touched");
                let stays = keeps_created && Some(&case.id) == action.created_case_id.as_ref();
                let goes_quiet = case.state.is_active_chat() && {
                    let shape = target(t);
                    shape.chat_state != Some(ChatState::Active) || shape.merged_into_id.is_some()
                };
                if !stays
                    && goes_quiet
                    && since
                        .iter()
                        .any(|(id, customer)| *id == case.id && *customer)
                {
                    return Err(conflict(format!(
                        "the customer wrote in case #{} since; this would leave that message in \
                         a chat that is no longer active",
                        case.number
                    )));
                }
            }
            let holder = cases
                .iter()
                .find(|c| &c.id == from)
                .expect("touched")
                .clone();
            // A case that ends up merged away gives everything it holds.
            let emptied = action
                .cases
                .iter()
                .find(|t| &t.id == from)
                .is_some_and(|t| target(t).merged_into_id.is_some())
                && !keeps_created;
            let selection = if emptied {
                Selection::All
            } else {
                Selection::Return(&action.message_ids)
            };
            let moving = match pick(tx, &holder, selection).await {
                Ok(moving) => moving,
                Err(e) if e.code == "message_not_in_case" => {
                    return Err(conflict("some of its messages have moved since".into()));
                }
                Err(e) => return Err(e),
            };
            tx.move_messages(from, to, &moving).await?;
            for case in cases.iter_mut() {
                let t = action
                    .cases
                    .iter()
                    .find(|t| t.id == case.id)
                    .expect("touched");
                let mut shape = target(t);
                if keeps_created {
                    // The split-off case stays as it is, after its source
                    // in the chain.
                    if Some(&case.id) == action.created_case_id.as_ref() {
                        shape = Shape::of(case);
                    }
                    shape.previous_case_id = case.previous_case_id.clone();
                    shape.next_case_id = case.next_case_id.clone();
                }
                shape.apply(case);
                refresh_from_messages(tx, case).await?;
                case.updated_at = at;
                tx.update_case(None, case).await?;
            }
            // The customer's latest case goes back only if it is still what
            // the action left; anything since (a new chat) stays latest.
            if !keeps_created {
                let (left, back) = match way {
                    Way::Undo => (&action.latest_after, &action.latest_before),
                    Way::Redo => (&action.latest_before, &action.latest_after),
                };
                if left != back && customer.latest_case_id == *left {
                    tx.set_customer_latest_case(&customer.id, back.as_deref())
                        .await?;
                }
            }
            // Statistics: the action's counted events count no more, or again.
            for case in &cases {
                for e in tx.list_events(&account_id, &case.id).await? {
                    if e.data["action"]["id"] != action.id.as_str()
                        || matches!(e.kind, EventKind::Undone | EventKind::Redone)
                    {
                        continue;
                    }
                    if let Some(kind) = renamed(&e, way, keeps_created, &action) {
                        tx.set_event_kind(&account_id, &e.id, kind).await?;
                    }
                }
            }
            let settings = settings_of(tx, &account_id).await?;
            let seq = tx.next_message_seq().await?;
            let kind = match way {
                Way::Undo => EventKind::Undone,
                Way::Redo => EventKind::Redone,
            };
            let mut notices = Vec::new();
            for case in &cases {
                reschedule(tx, case, settings, case.last_activity_at).await?;
                record(
                    tx,
                    case,
                    kind,
                    &who.actor(),
                    Vec::new(),
                    json!({
                        "action": action.data(),
                        "event_id": event_id,
                        "seq": seq,
                        // A split-off case kept what came since: no redo.
                        "kept": keeps_created,
                    }),
                    at,
                )
                .await?;
                let before = states
                    .iter()
                    .find(|(id, _)| *id == case.id)
                    .map(|s| s.1.clone());
                let rules = automation::after_change_read(
                    tx,
                    &case.id,
                    &account_id,
                    before,
                    vec![],
                    automation::Reading::RESTORE,
                    at,
                )
                .await?;
                notices.push(case_notice(case));
                notices.extend(rules.notices);
            }
            let case = tx.get_case(&account_id, &case_id).await?;
            Ok((case, log(tx, notices, at).await?))
        })
    })
    .await?;
    app.after_change_commit(notices, false);
    Ok(case)
}

/// The kind an event of an undone (or redone) action counts as now.
fn renamed(e: &EventRecord, way: Way, keeps_created: bool, action: &Action) -> Option<EventKind> {
    let created = action.created_case_id.as_deref() == Some(e.case_id.as_str());
    match (way, e.kind) {
        (Way::Undo, EventKind::Split) => Some(EventKind::SplitUndone),
        (Way::Undo, EventKind::Merged) => Some(EventKind::MergedUndone),
        (Way::Undo, EventKind::Created) if created && !keeps_created => {
            Some(EventKind::CreatedUndone)
        }
        (Way::Redo, EventKind::SplitUndone) => Some(EventKind::Split),
        (Way::Redo, EventKind::MergedUndone) => Some(EventKind::Merged),
        (Way::Redo, EventKind::CreatedUndone) => Some(EventKind::Created),
        _ => None,
    }
}
