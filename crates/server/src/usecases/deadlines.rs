//! Firing a chat's deadlines (R3 auto-finish, R4 warning), each re-read
//! under the customer's lock; the timer worker claims them and calls this
//! with batches.

use std::collections::HashMap;

use casedesk_domain::{Actor, CaseState, EventKind, Time};
use casedesk_store::{CaseRecord, Deadline, DeadlineKind, EventRecord, write};
use serde_json::json;

use super::automation;
use super::unit::{case_notice, event, notice};
use crate::AppState;
use crate::error::AppError;
use crate::events::Notice;
use crate::events::log;
use crate::util::rfc3339;

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
            firing.events.push(event(
                case,
                EventKind::AutoFinished,
                &Actor::System("auto_finish".into()),
                changes,
                json!({
                    "due_at": rfc3339(current.due_at),
                    "lateness_ms": (at - current.due_at).num_milliseconds(),
                }),
                at,
            ));
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
/// in the one order of every unit of work that locks many
/// ([`casedesk_store::CaseTx::lock_cases`]), so two never wait on each other
/// in a cycle.
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
            let finished: Vec<(Option<&CaseRecord>, &CaseRecord)> =
                firing.finished.iter().map(|(c, _)| (None, c)).collect();
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
            Ok((firing.fired, log(tx, firing.notices, at).await?))
        })
    })
    .await?;
    app.after_commit(notices, false);
    Ok(fired)
}

#[cfg(test)]
mod tests {
    use casedesk_domain::{ChannelKind, ChatState, Status};

    use super::*;

    fn t(secs: i64) -> Time {
        Time::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn chat(id: &str) -> CaseRecord {
        CaseRecord {
            id: id.into(),
            account_id: "acc".into(),
            number: 1,
            channel_id: "ch".into(),
            customer_id: "cu".into(),
            subject: "Where is my order?".into(),
            state: CaseState::new_case(ChannelKind::Api),
            assignee_id: None,
            created_at: t(0),
            updated_at: t(0),
            last_activity_at: t(0),
            previous_case_id: None,
            next_case_id: None,
            merged_into_id: None,
            message_count: 1,
            unread: true,
            first_response_at: None,
        }
    }

    fn deadline(case_id: &str, kind: DeadlineKind, due: i64) -> Deadline {
        Deadline {
            case_id: case_id.into(),
            account_id: "acc".into(),
            kind,
            due_at: t(due),
        }
    }

    #[test]
    fn a_warning_and_a_finish_due_in_one_batch_fire_in_order() {
        let mut firing = Firing::default();
        let mut case = chat("c1");
        let (warn, finish) = (
            deadline("c1", DeadlineKind::Warn, 10),
            deadline("c1", DeadlineKind::Finish, 20),
        );
        let mut current = vec![warn.clone(), finish.clone()];
        let fired = [&warn, &finish]
            .map(|d| fire_one(&mut firing, Some(&mut case), &mut current, d, t(30)).unwrap());
        assert_eq!(fired, [Fired::Warned, Fired::Finished]);
        assert_eq!(
            firing.notices[0].data["auto_finish_at"],
            json!(rfc3339(t(20))),
            "the warning names the finish still pending"
        );
        assert_eq!(case.state.chat_state, Some(ChatState::Finished));
        assert_eq!(case.state.status, Status::Open, "nobody answered");
        assert_eq!(case.updated_at, t(30));
        assert_eq!(firing.finished.len(), 1);
        assert_eq!(
            firing.finished[0].1.chat_state,
            Some(ChatState::Active),
            "the rules compare with the chat as it was"
        );
        assert_eq!(firing.events.len(), 1);
        assert_eq!(firing.events[0].kind, EventKind::AutoFinished);
        assert_eq!(firing.events[0].data["lateness_ms"], json!(10_000));
        let mut deleted = firing.deleted.clone();
        deleted.sort_by_key(|(_, k)| k.as_str());
        assert_eq!(
            deleted,
            vec![
                ("c1".to_owned(), DeadlineKind::Finish),
                ("c1".to_owned(), DeadlineKind::Warn)
            ]
        );
        assert!(current.is_empty());
    }

    #[test]
    fn a_moved_deadline_a_finished_chat_and_a_missing_case_fire_nothing() {
        let mut firing = Firing::default();
        // New activity moved the finish past now: nothing happens, it stays.
        let mut case = chat("c1");
        let claimed = deadline("c1", DeadlineKind::Finish, 20);
        let mut current = vec![deadline("c1", DeadlineKind::Finish, 90)];
        let f = fire_one(&mut firing, Some(&mut case), &mut current, &claimed, t(30)).unwrap();
        assert_eq!(f, Fired::Nothing);
        assert_eq!(current.len(), 1);
        assert!(firing.deleted.is_empty());
        assert_eq!(case.state.chat_state, Some(ChatState::Active));

        // The chat finished meanwhile (an agent closed it): its deadlines go.
        let mut closed = chat("c2");
        closed.state.set_status(Status::Closed, t(25)).unwrap();
        let mut current = vec![
            deadline("c2", DeadlineKind::Warn, 10),
            deadline("c2", DeadlineKind::Finish, 20),
        ];
        let claimed = deadline("c2", DeadlineKind::Warn, 10);
        let f = fire_one(
            &mut firing,
            Some(&mut closed),
            &mut current,
            &claimed,
            t(30),
        )
        .unwrap();
        assert_eq!(f, Fired::Nothing);
        assert!(current.is_empty());
        assert_eq!(firing.deleted.len(), 2);

        // The case is gone (or another account's): its deadlines go.
        let mut current = vec![deadline("c3", DeadlineKind::Finish, 20)];
        let claimed = current[0].clone();
        let f = fire_one(&mut firing, None, &mut current, &claimed, t(30)).unwrap();
        assert_eq!(f, Fired::Nothing);
        assert_eq!(firing.deleted.len(), 3);
        assert!(firing.events.is_empty() && firing.notices.is_empty());
    }
}
