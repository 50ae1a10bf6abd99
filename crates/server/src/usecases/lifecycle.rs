//! A chat's life across cases: split new messages into their own chat
//! (R7) and merge a chat with its previous one (R9), moving messages and
//! relinking the chain (R12).

use casedesk_domain::{Change, EventKind, Field, Subject};
use casedesk_store::{CaseRecord, StoreError, Tx, write};
use serde_json::json;

use super::automation;
use super::unit::{
    AgentActor, case_notice, lock_case, new_case_record, notice, record, reschedule, settings_of,
};
use crate::AppState;
use crate::error::AppError;
use crate::events::log;

/// Recounts what a case holds after messages moved in or out of it.
async fn refresh_from_messages(tx: &mut dyn Tx, case: &mut CaseRecord) -> Result<(), StoreError> {
    let summary = tx.message_summary(&case.id).await?;
    let tally = case.state.recount(case.tally(), summary.recount());
    case.set_tally(tally);
    Ok(())
}

/// R7: move the messages since the reopen into a new chat.
pub async fn split(
    app: &AppState,
    who: AgentActor,
    case_id: String,
) -> Result<CaseRecord, AppError> {
    let clock = app.clock.clone();
    let (new_case, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let account_id = who.account_id.as_str();
            let (mut original, customer) = lock_case(tx, account_id, &case_id).await?;
            let original_before = original.state.clone();
            let plan = original.state.split()?;
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
            let moved = tx
                .move_messages(&original.id, &new_case.id, plan.from_seq)
                .await?;
            let summary = tx.message_summary(&new_case.id).await?;
            new_case.subject = Subject::from_first_message(
                summary.first_customer_text.as_deref().unwrap_or_default(),
            )
            .into_string();
            refresh_from_messages(tx, &mut new_case).await?;
            tx.update_case(None, &new_case).await?;

            let mut changes = plan.original_changes;
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
            }
            let settings = settings_of(tx, account_id).await?;
            reschedule(tx, &original, settings, at).await?;
            reschedule(tx, &new_case, settings, at).await?;
            let actor = who.actor();
            record(
                tx,
                &original,
                EventKind::Split,
                &actor,
                changes,
                json!({ "new_case_id": new_case.id, "moved_messages": moved }),
                at,
            )
            .await?;
            record(
                tx,
                &new_case,
                EventKind::Created,
                &actor,
                Vec::new(),
                json!({ "split_from_case_id": original.id, "moved_messages": moved }),
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
            let for_new =
                automation::after_change(tx, &new_case.id, account_id, None, vec![], at).await?;
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
            let queued = for_new.queued || for_original.queued;
            notices.extend(for_new.notices);
            notices.extend(for_original.notices);
            let new_case = tx.get_case(account_id, &new_case.id).await?;
            Ok((new_case, log(tx, notices, at).await?, queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(new_case)
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
                return Err(AppError::from(casedesk_domain::RuleError::Merged));
            }
            let Some(previous_id) = current.previous_case_id.clone() else {
                return Err(AppError::from(casedesk_domain::RuleError::NoPreviousChat));
            };
            let mut previous = tx.get_case(account_id, &previous_id).await?;
            let previous_before = previous.state.clone();
            let plan = current
                .state
                .merge_into_previous(&mut previous.state, true, at)?;
            let moved = tx.move_messages(&current.id, &previous.id, 0).await?;

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
                next.previous_case_id = Some(previous.id.clone());
                tx.update_case(None, &next).await?;
            }
            refresh_from_messages(tx, &mut previous).await?;
            previous.set_tally(previous.tally().merged_in(current.tally()));
            previous.updated_at = at;
            tx.update_case(None, &previous).await?;
            if customer.latest_case_id.as_deref() == Some(current.id.as_str()) {
                tx.set_customer_latest_case(&customer.id, Some(&previous.id))
                    .await?;
            }
            let settings = settings_of(tx, account_id).await?;
            tx.clear_deadlines(&current.id).await?;
            reschedule(tx, &previous, settings, at).await?;
            let actor = who.actor();
            record(
                tx,
                &current,
                EventKind::Merged,
                &actor,
                plan.current_changes,
                json!({ "merged_into_id": previous.id, "moved_messages": moved }),
                at,
            )
            .await?;
            record(
                tx,
                &previous,
                EventKind::MergedIn,
                &actor,
                previous_changes,
                json!({ "merged_case_id": current.id, "moved_messages": moved }),
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
            let previous = tx.get_case(account_id, &previous.id).await?;
            Ok((previous, log(tx, notices, at).await?, rules.queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(previous)
}
