//! Firing a chat's deadlines (R3 auto-finish, R4 warning), each re-read
//! under the customer's lock; the timer worker claims them and calls this
//! with batches.

use std::collections::HashMap;

use casedesk_domain::{Actor, CaseState, EventKind, Time};
use casedesk_store::{CaseRecord, Deadline, DeadlineKind, EventRecord, write};
use serde_json::json;

use super::automation;
use super::unit::{case_notice, notice};
use crate::AppState;
use crate::error::AppError;
use crate::events::Notice;
use crate::util::{new_id, rfc3339};

/// What firing one deadline did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    Warned,
    Finished,
    /// The deadline had moved or gone (new activity, another process).
    Nothing,
}

/// What firing a batch changes, gathered in memory and written at the end
/// in a few set-based statements.
#[derive(Default)]
struct Firing {
    fired: Vec<Fired>,
    notices: Vec<Notice>,
    /// Deadlines that go, as `(case, kind)`.
    deleted: Vec<(String, DeadlineKind)>,
    /// Finished chats (with their state before), written together.
    finished: Vec<(CaseRecord, CaseState)>,
    events: Vec<EventRecord>,
}

impl Firing {
    /// Every deadline the case still has goes.
    fn clear(&mut self, deadlines: &mut Vec<Deadline>) {
        self.deleted
            .extend(deadlines.drain(..).map(|d| (d.case_id, d.kind)));
    }
}

/// R3/R4: fires one due deadline `d` of `case` (as it is under its
/// customer's lock, `None` when it does not exist), whose current
/// deadlines are `deadlines`: a deadline another process fired, or new
/// activity moved, does nothing.
fn fire_one(
    firing: &mut Firing,
    case: Option<&mut CaseRecord>,
    deadlines: &mut Vec<Deadline>,
    d: &Deadline,
    at: Time,
) -> Result<Fired, AppError> {
    let Some(case) = case else {
        firing.clear(deadlines);
        return Ok(Fired::Nothing);
    };
    let Some(i) = deadlines
        .iter()
        .position(|x| x.kind == d.kind && x.due_at <= at)
    else {
        return Ok(Fired::Nothing);
    };
    let current = deadlines.remove(i);
    firing.deleted.push((current.case_id.clone(), current.kind));
    if !case.state.is_active_chat() || case.state.merged {
        firing.clear(deadlines);
        return Ok(Fired::Nothing);
    }
    match current.kind {
        DeadlineKind::Warn => {
            let finish_at = deadlines
                .iter()
                .find(|x| x.kind == DeadlineKind::Finish)
                .map(|x| rfc3339(x.due_at));
            firing.notices.push(notice(
                case,
                "case.auto_finish_warning",
                json!({ "auto_finish_at": finish_at }),
            ));
            Ok(Fired::Warned)
        }
        DeadlineKind::Finish => {
            let before = case.state.clone();
            let changes = case.state.auto_finish(at)?;
            case.updated_at = at;
            firing.clear(deadlines);
            firing.events.push(EventRecord {
                id: new_id(),
                account_id: case.account_id.clone(),
                case_id: case.id.clone(),
                kind: EventKind::AutoFinished,
                actor: Actor::System("auto_finish".into()),
                changes,
                data: json!({
                    "due_at": rfc3339(current.due_at),
                    "lateness_ms": (at - current.due_at).num_milliseconds(),
                }),
                created_at: at,
            });
            firing.notices.push(case_notice(case));
            firing.finished.push((case.clone(), before));
            Ok(Fired::Finished)
        }
    }
}

/// Fires a batch of due deadlines in one unit of work, set-based: the
/// customers of its cases locked and the cases and their deadlines read in
/// a few statements, every deadline decided in memory in the batch's
/// order, then the finished chats, their history and the deadlines that
/// went written in a few more; the rules run for each finished chat of an
/// account that has any. One commit for many chats is what keeps a burst
/// of 100,000 simultaneous deadlines within seconds. Customers are locked
/// in case order, as rule timers lock them, so two servers never wait on
/// each other in a cycle.
pub async fn fire_deadlines(
    app: &AppState,
    mut batch: Vec<Deadline>,
) -> Result<Vec<Fired>, AppError> {
    batch.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    let clock = app.clock.clone();
    let (fired, notices) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let ids: Vec<String> = batch.iter().map(|d| d.case_id.clone()).collect();
            let mut cases: HashMap<String, CaseRecord> = tx
                .lock_cases(&ids)
                .await?
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            let mut deadlines: HashMap<String, Vec<Deadline>> = HashMap::new();
            for d in tx.list_deadlines_of(&ids).await? {
                deadlines.entry(d.case_id.clone()).or_default().push(d);
            }
            let mut firing = Firing::default();
            for d in &batch {
                let case = cases
                    .get_mut(&d.case_id)
                    .filter(|c| c.account_id == d.account_id);
                let current = deadlines.entry(d.case_id.clone()).or_default();
                let f = fire_one(&mut firing, case, current, d, at)?;
                firing.fired.push(f);
            }
            let finished: Vec<CaseRecord> =
                firing.finished.iter().map(|(c, _)| c.clone()).collect();
            tx.update_cases(&finished).await?;
            tx.insert_events(&firing.events).await?;
            tx.delete_deadlines(&firing.deleted).await?;
            let mut with_rules: HashMap<String, bool> = HashMap::new();
            for (case, before) in firing.finished {
                let has_rules = match with_rules.get(&case.account_id) {
                    Some(&has) => has,
                    None => {
                        let has = !automation::enabled_rules(tx, &case.account_id)
                            .await?
                            .is_empty();
                        *with_rules.entry(case.account_id.clone()).or_insert(has)
                    }
                };
                if has_rules {
                    // A rule's reply here reaches the outbox worker on its
                    // next round (within a second).
                    let rules = automation::after_change(
                        tx,
                        &case.id,
                        &case.account_id,
                        Some(before),
                        vec![],
                        at,
                    )
                    .await?;
                    firing.notices.extend(rules.notices);
                }
            }
            Ok((firing.fired, firing.notices))
        })
    })
    .await?;
    app.after_commit(notices, false);
    Ok(fired)
}
