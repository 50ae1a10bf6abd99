//! Firing a chat's deadlines (R3 auto-finish, R4 warning), each re-read
//! under the customer's lock; the timer worker claims them and calls this.

use casedesk_domain::{Actor, EventKind, Time};
use casedesk_store::{Deadline, DeadlineKind, Tx, write};
use serde_json::json;

use super::automation;
use super::unit::{case_notice, lock_case, notice, record};
use crate::AppState;
use crate::error::AppError;
use crate::events::Notice;
use crate::util::rfc3339;

/// What firing one deadline did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    Warned,
    Finished,
    /// The deadline had moved or gone (new activity, another process).
    Nothing,
}

/// R3/R4: fires one due deadline of a case, under the customer lock, after
/// re-reading it: a deadline another process fired, or new activity moved,
/// does nothing.
async fn fire_one(
    tx: &mut dyn Tx,
    d: &Deadline,
    at: Time,
) -> Result<(Fired, Vec<Notice>), AppError> {
    let (mut case, _customer) = match lock_case(tx, &d.account_id, &d.case_id).await {
        Ok(v) => v,
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
            tx.clear_deadlines(&d.case_id).await?;
            return Ok((Fired::Nothing, Vec::new()));
        }
        Err(e) => return Err(e),
    };
    let current = tx
        .list_deadlines(&d.case_id)
        .await?
        .into_iter()
        .find(|x| x.kind == d.kind && x.due_at <= at);
    let Some(current) = current else {
        return Ok((Fired::Nothing, Vec::new()));
    };
    tx.delete_deadline(&current.case_id, current.kind).await?;
    if !case.state.is_active_chat() || case.state.merged {
        tx.clear_deadlines(&case.id).await?;
        return Ok((Fired::Nothing, Vec::new()));
    }
    match current.kind {
        DeadlineKind::Warn => {
            let finish_at = tx
                .list_deadlines(&case.id)
                .await?
                .into_iter()
                .find(|x| x.kind == DeadlineKind::Finish)
                .map(|x| rfc3339(x.due_at));
            let n = notice(
                &case,
                "case.auto_finish_warning",
                json!({ "auto_finish_at": finish_at }),
            );
            Ok((Fired::Warned, vec![n]))
        }
        DeadlineKind::Finish => {
            let before = case.state.clone();
            let changes = case.state.auto_finish(at)?;
            case.updated_at = at;
            tx.update_case(&case).await?;
            tx.clear_deadlines(&case.id).await?;
            record(
                tx,
                &case,
                EventKind::AutoFinished,
                &Actor::System("auto_finish".into()),
                changes,
                json!({ "due_at": rfc3339(current.due_at), "lateness_ms": (at - current.due_at).num_milliseconds() }),
                at,
            )
            .await?;
            let mut notices = vec![case_notice(&case)];
            let rules =
                automation::after_change(tx, &case.id, &d.account_id, Some(before), vec![], at)
                    .await?;
            // A rule's reply here reaches the outbox worker on its next
            // round (within a second).
            notices.extend(rules.notices);
            Ok((Fired::Finished, notices))
        }
    }
}

/// Fires a batch of due deadlines in one unit of work: one commit (and on
/// SQLite one savepoint) for many chats is what keeps a burst of 100,000
/// simultaneous deadlines within seconds. Deadlines are taken in case order
/// so that two servers lock customers in the same order.
pub async fn fire_deadlines(
    app: &AppState,
    mut batch: Vec<Deadline>,
) -> Result<Vec<Fired>, AppError> {
    batch.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    let clock = app.clock.clone();
    let (fired, notices) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let mut fired = Vec::with_capacity(batch.len());
            let mut notices = Vec::new();
            for d in &batch {
                let (f, n) = fire_one(tx, d, at).await?;
                fired.push(f);
                notices.extend(n);
            }
            Ok((fired, notices))
        })
    })
    .await?;
    app.after_commit(notices, false);
    Ok(fired)
}
