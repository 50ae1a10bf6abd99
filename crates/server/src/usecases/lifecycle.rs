//! A chat's life across cases: split new messages into their own chat
//! (R7), move any selection of messages to a new or another open case of
//! the same customer, and merge a chat with its previous one (R9), moving
//! messages and relinking the chain (R12).

use casedesk_domain::moves::Selection;
use casedesk_domain::{Change, EventKind, Field, RuleError, Status, Subject};
use casedesk_store::{CaseRecord, CustomerRecord, Tx, write};
use serde_json::json;

use super::automation;
use super::undo::{Action, Shape};
use super::unit::{
    Acting, AgentActor, case_notice, lock_case, new_case_record, not_found, notice, pick, record,
    refresh_from_messages, reschedule, settings_of,
};
use crate::AppState;
use crate::error::AppError;
use crate::events::log;

/// Where "move messages" puts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveTarget {
    /// A new case of the same customer, next in its chain.
    New,
    /// Another open case of the same customer, by id.
    Case(String),
}

/// R7: move the messages since the reopen into a new chat.
pub async fn split(
    app: &AppState,
    who: AgentActor,
    case_id: String,
) -> Result<CaseRecord, AppError> {
    move_messages(app, who, case_id, None, MoveTarget::New).await
}

/// Moves the selected messages (`None`: R7's split, the messages since the
/// reopen) to a new case or to another open case of the same customer;
/// returns the case they moved to. A selection of exactly the messages
/// since a reopen, to a new case, is that split.
pub async fn move_messages(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    message_ids: Option<Vec<String>>,
    to: MoveTarget,
) -> Result<CaseRecord, AppError> {
    let who = who.acting();
    let clock = app.clock.clone();
    let (case, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let (original, customer) = lock_case(tx, &who.account_id, &case_id).await?;
            if original.state.merged {
                return Err(RuleError::Merged.into());
            }
            let moved = match (&to, message_ids) {
                (MoveTarget::New, None) => {
                    split_off(tx, &who, original, &customer, None, at).await?
                }
                (MoveTarget::New, Some(ids)) => {
                    move_to_new(tx, &who, original, &customer, &ids, at).await?
                }
                (MoveTarget::Case(target), ids) => {
                    let ids = ids.unwrap_or_default();
                    move_to_case(tx, &who, original, &customer, target, &ids, at).await?
                }
            };
            let case = tx.get_case(&who.account_id, &moved.case_id).await?;
            Ok((case, log(tx, moved.notices, at).await?, moved.queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(case)
}

/// What a move did: the case the messages went to and what to publish.
pub(crate) struct Moved {
    pub case_id: String,
    pub notices: Vec<crate::events::Notice>,
    pub queued: bool,
}

/// Moves the selected messages of `original` (its customer locked) into a
/// new case; exactly the messages since a reopen is R7's split.
pub(crate) async fn move_to_new(
    tx: &mut dyn Tx,
    who: &Acting,
    original: CaseRecord,
    customer: &CustomerRecord,
    ids: &[String],
    at: casedesk_domain::Time,
) -> Result<Moved, AppError> {
    let ids = pick(tx, &original, Selection::Ids(ids)).await?;
    let is_split = match &original.state.reopen {
        Some(r) if original.state.split_available() => {
            pick(tx, &original, Selection::FromSeq(r.from_seq)).await? == ids
        }
        _ => false,
    };
    let ids = (!is_split).then_some(ids);
    split_off(tx, who, original, customer, ids, at).await
}

/// Moves messages of `original` into a new active chat of the same
/// customer, next in its chain: R7's split when `ids` is `None` (the chat
/// goes back to how it was before the reopen), otherwise the selection
/// (the original keeps its state).
async fn split_off(
    tx: &mut dyn Tx,
    who: &Acting,
    mut original: CaseRecord,
    customer: &CustomerRecord,
    ids: Option<Vec<String>>,
    at: casedesk_domain::Time,
) -> Result<Moved, AppError> {
    let account_id = who.account_id.as_str();
    let original_before = original.state.clone();
    let original_shape = Shape::of(&original);
    let (ids, mut changes, restored) = match ids {
        Some(ids) => (ids, Vec::new(), false),
        None => {
            let plan = original.state.split()?;
            let ids = pick(tx, &original, Selection::FromSeq(plan.from_seq)).await?;
            (ids, plan.original_changes, true)
        }
    };
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
    let mut action = Action::new(
        "split",
        &original,
        &new_case.id,
        &ids,
        tx.next_message_seq().await?,
    );
    action.created_case_id = Some(new_case.id.clone());
    action.latest_before = customer.latest_case_id.clone();
    action.latest_after = customer.latest_case_id.clone();
    action.before(&original, original_shape);
    action.before(&new_case, Shape::dissolved(&new_case, &original.id, at));
    let mut next = None;
    if let Some(next_id) = &original.next_case_id {
        let mut case = tx.get_case(account_id, next_id).await?;
        action.before(&case, Shape::of(&case));
        case.previous_case_id = Some(new_case.id.clone());
        tx.update_case(None, &case).await?;
        next = Some(case);
    }
    let moved = tx.move_messages(&original.id, &new_case.id, &ids).await?;
    let summary = tx
        .message_summary(&new_case.id, new_case.created_at)
        .await?;
    new_case.subject =
        Subject::from_first_message(summary.first_customer_text.as_deref().unwrap_or_default())
            .into_string();
    refresh_from_messages(tx, &mut new_case).await?;
    tx.update_case(None, &new_case).await?;

    changes.push(Change {
        field: Field::NextCaseId,
        before: original.next_case_id.clone(),
        after: Some(new_case.id.clone()),
    });
    original.next_case_id = Some(new_case.id.clone());
    refresh_from_messages(tx, &mut original).await?;
    original.updated_at = at;
    tx.update_case(None, &original).await?;
    if customer.latest_case_id.as_deref() == Some(original.id.as_str()) {
        tx.set_customer_latest_case(&customer.id, Some(&new_case.id))
            .await?;
        action.latest_after = Some(new_case.id.clone());
    }
    action.after(&[&original, &new_case]);
    if let Some(next) = &next {
        action.after(&[next]);
    }
    let settings = settings_of(tx, account_id).await?;
    // A split's original waits again from its own last activity; the new
    // chat from now, when the agent made it.
    reschedule(tx, &original, settings, original.last_activity_at).await?;
    reschedule(tx, &new_case, settings, at).await?;
    let actor = who.actor.clone();
    let data = |key: &str, case: &CaseRecord, action: &Action| json!({ key: case.id, "moved_messages": moved, "selection": !restored, "action": action.data() });
    let split_event = record(
        tx,
        &original,
        EventKind::Split,
        &actor,
        changes,
        data("new_case_id", &new_case, &action),
        at,
    )
    .await?;
    let created_event = record(
        tx,
        &new_case,
        EventKind::Created,
        &actor,
        Vec::new(),
        data("split_from_case_id", &original, &action),
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
    let for_new = automation::after_change(tx, &new_case.id, account_id, None, vec![], at).await?;
    let mut queued = for_new.queued;
    notices.extend(for_new.notices);
    if restored {
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
        queued |= for_original.queued;
        notices.extend(for_original.notices);
    }
    // The rules may have changed the cases: undo expects them as they are now.
    let original = tx.get_case(account_id, &original.id).await?;
    let new_case = tx.get_case(account_id, &new_case.id).await?;
    action.after(&[&original, &new_case]);
    tx.set_event_data(
        account_id,
        &split_event,
        &data("new_case_id", &new_case, &action),
    )
    .await?;
    tx.set_event_data(
        account_id,
        &created_event,
        &data("split_from_case_id", &original, &action),
    )
    .await?;
    Ok(Moved {
        case_id: new_case.id,
        notices,
        queued,
    })
}

/// Moves the selected messages of `original` into `target_id`, another
/// open case of the same customer; both keep their states.
async fn move_to_case(
    tx: &mut dyn Tx,
    who: &Acting,
    mut original: CaseRecord,
    customer: &CustomerRecord,
    target_id: &str,
    ids: &[String],
    at: casedesk_domain::Time,
) -> Result<Moved, AppError> {
    let account_id = who.account_id.as_str();
    if target_id == original.id {
        return Err(AppError::invalid_as(
            "same_case",
            "the messages are already in this case",
        ));
    }
    let mut target = tx
        .get_case(account_id, target_id)
        .await
        .map_err(not_found("target case"))?;
    if target.customer_id != customer.id {
        return Err(AppError::invalid_as(
            "other_customer",
            "messages can only move to a case of the same customer",
        ));
    }
    if target.state.merged {
        return Err(AppError::conflict(
            "target_merged",
            "the target case was merged into another case",
        ));
    }
    if target.state.status == Status::Closed {
        return Err(AppError::conflict(
            "target_closed",
            "the target case is closed; reopen it or move the messages to a new case",
        ));
    }
    let ids = pick(tx, &original, Selection::Ids(ids)).await?;
    let mut action = Action::new(
        "move",
        &original,
        &target.id,
        &ids,
        tx.next_message_seq().await?,
    );
    action.latest_before = customer.latest_case_id.clone();
    action.latest_after = customer.latest_case_id.clone();
    action.before(&original, Shape::of(&original));
    action.before(&target, Shape::of(&target));
    let moved = tx.move_messages(&original.id, &target.id, &ids).await?;
    let settings = settings_of(tx, account_id).await?;
    let actor = who.actor.clone();
    for case in [&mut original, &mut target] {
        refresh_from_messages(tx, case).await?;
        case.updated_at = at;
        tx.update_case(None, case).await?;
        reschedule(tx, case, settings, case.last_activity_at).await?;
    }
    action.after(&[&original, &target]);
    let data =
        |key: &str, id: &str| json!({ key: id, "moved_messages": moved, "action": action.data() });
    record(
        tx,
        &original,
        EventKind::MessagesMoved,
        &actor,
        Vec::new(),
        data("to_case_id", &target.id),
        at,
    )
    .await?;
    record(
        tx,
        &target,
        EventKind::MessagesMoved,
        &actor,
        Vec::new(),
        data("from_case_id", &original.id),
        at,
    )
    .await?;
    Ok(Moved {
        case_id: target.id.clone(),
        notices: vec![case_notice(&original), case_notice(&target)],
        queued: false,
    })
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
                return Err(AppError::from(RuleError::Merged));
            }
            let Some(previous_id) = current.previous_case_id.clone() else {
                return Err(AppError::from(RuleError::NoPreviousChat));
            };
            let mut previous = tx.get_case(account_id, &previous_id).await?;
            let previous_before = previous.state.clone();
            let (current_shape, previous_shape) = (Shape::of(&current), Shape::of(&previous));
            let plan = current
                .state
                .merge_into_previous(&mut previous.state, true, at)?;
            let ids = pick(tx, &current, Selection::All).await?;
            let mut action = Action::new("merge", &current, &previous.id, &ids, tx.next_message_seq().await?);
            action.latest_before = customer.latest_case_id.clone();
            action.latest_after = customer.latest_case_id.clone();
            action.before(&current, current_shape);
            action.before(&previous, previous_shape);
            let moved = tx.move_messages(&current.id, &previous.id, &ids).await?;

            current.merged_into_id = Some(previous.id.clone());
            refresh_from_messages(tx, &mut current).await?;
            current.updated_at = at;
            tx.update_case(None, &current).await?;

            let mut previous_changes = plan.previous_changes;
            previous_changes.push(Change {
                field: Field::NextCaseId,
                before: previous.next_case_id.clone(),
                after: current.next_case_id.clone(),
            });
            previous.next_case_id = current.next_case_id.clone();
            if let Some(next_id) = &current.next_case_id {
                let mut next = tx.get_case(account_id, next_id).await?;
                action.before(&next, Shape::of(&next));
                next.previous_case_id = Some(previous.id.clone());
                tx.update_case(None, &next).await?;
                action.after(&[&next]);
            }
            refresh_from_messages(tx, &mut previous).await?;
            previous.set_tally(previous.tally().merged_in(current.tally()));
            previous.updated_at = at;
            tx.update_case(None, &previous).await?;
            if customer.latest_case_id.as_deref() == Some(current.id.as_str()) {
                tx.set_customer_latest_case(&customer.id, Some(&previous.id))
                    .await?;
                action.latest_after = Some(previous.id.clone());
            }
            action.after(&[&current, &previous]);
            let settings = settings_of(tx, account_id).await?;
            tx.clear_deadlines(&current.id).await?;
            reschedule(tx, &previous, settings, at).await?;
            let actor = who.actor();
            let merged_data = |action: &Action| {
                json!({ "merged_into_id": previous.id, "moved_messages": moved, "action": action.data() })
            };
            let merged_in_data = |action: &Action| {
                json!({ "merged_case_id": current.id, "moved_messages": moved, "action": action.data() })
            };
            let merged_event = record(
                tx,
                &current,
                EventKind::Merged,
                &actor,
                plan.current_changes,
                merged_data(&action),
                at,
            )
            .await?;
            let merged_in_event = record(
                tx,
                &previous,
                EventKind::MergedIn,
                &actor,
                previous_changes,
                merged_in_data(&action),
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
            // The rules may have changed the previous chat: undo expects it
            // as it is now.
            let previous = tx.get_case(account_id, &previous.id).await?;
            action.after(&[&previous]);
            tx.set_event_data(account_id, &merged_event, &merged_data(&action))
                .await?;
            tx.set_event_data(account_id, &merged_in_event, &merged_in_data(&action))
                .await?;
            Ok((previous, log(tx, notices, at).await?, rules.queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(previous)
}
