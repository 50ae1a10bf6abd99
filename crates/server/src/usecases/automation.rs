//! Automation rules at work: after every change to a case, inside the same
//! unit of work, the account's enabled rules whose trigger matches what
//! happened and whose conditions hold run their actions, in order.
//!
//! Bounds: each rule fires at most once per case in one change, and
//! changes made by rules set off at most [`MAX_ROUNDS`] rounds in all, so
//! two rules undoing each other stop. Time-based rules ("pending for N
//! seconds", "open without an agent reply for N seconds") keep one durable
//! timer per case in `rule_timers`, armed when the case enters the waiting
//! state and removed when it leaves it; the timer worker fires them from
//! their due index, never by scanning cases.

use std::collections::{HashSet, VecDeque};

use casedesk_domain::rules::{
    CaseFacts, MAX_ROUNDS, Trigger, TriggerEvent, conditions_hold, trigger_matches,
    waiting_state_holds,
};
use casedesk_domain::{AuthorType, CaseState, EventKind, Status, Time};
use casedesk_store::{
    AccountRecord, CaseFilter, CaseRecord, CustomerRecord, RuleRecord, RuleTimer, StoreError, Tx,
    write,
};
use serde_json::json;

use super::actions::{placeholder_values, run_actions};
use super::messages::Writer;
use super::unit::{case_notice, lock_case, record, reschedule};
use crate::AppState;
use crate::error::AppError;
use crate::events::Notice;
use crate::events::log;

/// What rules did in one change, for the caller to publish after commit.
#[derive(Default)]
pub(crate) struct Effects {
    pub notices: Vec<Notice>,
    /// A rule queued a webhook delivery.
    pub queued: bool,
    /// Ids of the rules that fired.
    pub fired: Vec<String>,
    /// The earliest a deadline or timer the rules set falls due (`at` when
    /// a rule fired, since its actions may move the chat's deadlines);
    /// `None` when they set none.
    pub timers_from: Option<Time>,
    /// The case and the first rule that asked to split its new question off
    /// ([`Action::SplitOnTopicChange`]); the caller does it after commit
    /// with [`super::topics::split_on_topic`].
    ///
    /// [`Action::SplitOnTopicChange`]: casedesk_domain::Action::SplitOnTopicChange
    pub split_on_topic: Option<(String, String)>,
}

impl Effects {
    fn timers_due(&mut self, at: Time) {
        self.timers_from = Some(self.timers_from.map_or(at, |t| t.min(at)));
    }
}

/// How a change is read for rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Derive `chat_finished` / `status_changed` from the state before and
    /// after. Off for a split's original chat, which only goes back to how
    /// it was before its reopen.
    pub derive_events: bool,
    /// Start the waits of time rules the case enters. Off for changes made
    /// when a time rule fires, so that time rules cannot set each other
    /// off forever (only a change from outside starts a new wait).
    pub arm_timers: bool,
}

impl Reading {
    pub(crate) const CHANGE: Reading = Reading {
        derive_events: true,
        arm_timers: true,
    };
    pub(crate) const RESTORE: Reading = Reading {
        derive_events: false,
        arm_timers: true,
    };
    const TIMER: Reading = Reading {
        derive_events: true,
        arm_timers: false,
    };
}

/// Whether a queued event still describes the case: a rule of an earlier
/// round may have changed it since.
fn still_true(event: &TriggerEvent, state: &CaseState) -> bool {
    match event {
        TriggerEvent::StatusChanged { to } => state.status == *to,
        TriggerEvent::ChatFinished => {
            state.chat_state == Some(casedesk_domain::ChatState::Finished)
        }
        _ => true,
    }
}

fn customer_wrote_last(state: &CaseState) -> bool {
    state.last_public_author == Some(AuthorType::Customer)
}

/// What conditions read of a case right now.
pub(crate) async fn case_facts(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    customer: &CustomerRecord,
    account: &AccountRecord,
    at: Time,
) -> Result<CaseFacts, StoreError> {
    let label_ids = tx
        .case_labels(&case.account_id, std::slice::from_ref(&case.id))
        .await?
        .into_iter()
        .map(|(_, l)| l.id)
        .collect();
    let in_business_hours = account.business_hours.as_ref().map(|h| {
        h.working_duration(at, at + chrono::Duration::seconds(1), account.time_zone)
            > chrono::Duration::zero()
    });
    Ok(CaseFacts {
        status: Some(case.state.status),
        chat_state: case.state.chat_state,
        channel_id: case.channel_id.clone(),
        label_ids,
        subject: case.subject.clone(),
        customer_name: customer.name.clone(),
        customer_id: customer.external_id.clone(),
        in_business_hours,
    })
}

/// The account's rules that are on, in order.
pub(crate) async fn enabled_rules(
    tx: &mut dyn Tx,
    account_id: &str,
) -> Result<Vec<RuleRecord>, StoreError> {
    Ok(tx
        .list_rules(account_id)
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .collect())
}

/// Runs the rules after a change of `case_id` (whose customer the caller
/// has locked). `before` is the case's state before the change, `None` for
/// a new case; `events` are what the change was besides its state changes
/// (a customer message, an agent reply, a timer).
pub(crate) async fn after_change(
    tx: &mut dyn Tx,
    case_id: &str,
    account_id: &str,
    before: Option<CaseState>,
    events: Vec<TriggerEvent>,
    at: Time,
) -> Result<Effects, AppError> {
    after_change_read(tx, case_id, account_id, before, events, Reading::CHANGE, at).await
}

/// [`after_change`] with a choice of [`Reading`].
pub(crate) async fn after_change_read(
    tx: &mut dyn Tx,
    case_id: &str,
    account_id: &str,
    before: Option<CaseState>,
    events: Vec<TriggerEvent>,
    reading: Reading,
    at: Time,
) -> Result<Effects, AppError> {
    let mut effects = Effects::default();
    let rules = enabled_rules(tx, account_id).await?;
    if rules.is_empty() {
        return Ok(effects);
    }
    let mut case = tx.get_case(account_id, case_id).await?;
    if case.state.merged {
        // A merged case changes no more: nothing of it waits.
        for rule in rules.iter().filter(|r| r.trigger.delay_seconds().is_some()) {
            tx.delete_rule_timer(&case.id, &rule.id).await?;
        }
        return Ok(effects);
    }
    let customer = tx.get_customer(account_id, &case.customer_id).await?;
    let account = tx.get_account(account_id).await?;

    let mut queue: VecDeque<(TriggerEvent, usize)> = VecDeque::new();
    match &before {
        None => queue.push_back((TriggerEvent::CaseCreated, 1)),
        Some(_) if !reading.derive_events => {}
        Some(b) => {
            let state = &case.state;
            for e in
                TriggerEvent::of_change((b.status, b.chat_state), (state.status, state.chat_state))
            {
                queue.push_back((e, 1));
            }
        }
    }
    queue.extend(events.into_iter().map(|e| (e, 1)));
    let mut fired: HashSet<String> = HashSet::new();
    let mut facts: Option<CaseFacts> = None;
    while let Some((event, round)) = queue.pop_front() {
        for rule in &rules {
            if case.state.merged {
                break;
            }
            if fired.contains(&rule.id)
                || !trigger_matches(&rule.trigger, &rule.id, &event)
                || !still_true(&event, &case.state)
            {
                continue;
            }
            if matches!(event, TriggerEvent::TimerDue { .. })
                && !waiting_state_holds(
                    &rule.trigger,
                    case.state.status,
                    customer_wrote_last(&case.state),
                )
            {
                continue;
            }
            // Gathered once, and again only after a rule changed the case.
            let f = match &facts {
                Some(f) => f,
                None => facts.insert(case_facts(tx, &case, &customer, &account, at).await?),
            };
            if !conditions_hold(&rule.conditions, f, &event) {
                continue;
            }
            fired.insert(rule.id.clone());
            effects.fired.push(rule.id.clone());
            effects.timers_due(at);
            let state_before = (case.state.status, case.state.chat_state);
            apply_rule(
                tx,
                rule,
                &event,
                &mut case,
                &customer,
                &account,
                at,
                &mut effects,
            )
            .await?;
            facts = None;
            if round < MAX_ROUNDS {
                let state = (case.state.status, case.state.chat_state);
                for e in TriggerEvent::of_change(state_before, state) {
                    queue.push_back((e, round + 1));
                }
            }
        }
    }
    if let Some(armed) =
        update_timers(tx, &rules, &case, before.as_ref(), reading.arm_timers, at).await?
    {
        effects.timers_due(armed);
    }
    Ok(effects)
}

/// Runs one rule's actions as casedesk itself and records one
/// `rule_applied` event naming the rule and its trigger.
#[allow(clippy::too_many_arguments)]
async fn apply_rule(
    tx: &mut dyn Tx,
    rule: &RuleRecord,
    event: &TriggerEvent,
    case: &mut CaseRecord,
    customer: &CustomerRecord,
    account: &AccountRecord,
    at: Time,
    effects: &mut Effects,
) -> Result<(), AppError> {
    let writer = Writer::Rule {
        account_id: case.account_id.clone(),
        rule_id: rule.id.clone(),
    };
    // As saved: loaded by after_change, or saved by the rule before.
    let stored = case.clone();
    let values = placeholder_values(tx, case, customer, case.assignee_id.as_deref()).await?;
    let was_active = case.state.is_active_chat();
    let run = run_actions(
        tx,
        &writer,
        case,
        customer,
        &rule.actions,
        &values,
        true,
        at,
    )
    .await?;
    case.updated_at = at;
    tx.update_case(Some(&stored), case).await?;
    if was_active != case.state.is_active_chat() {
        reschedule(tx, case, account.settings, case.last_activity_at).await?;
    }
    if !run.skipped.is_empty() {
        tracing::info!(rule = %rule.id, case = %case.id, "rule actions skipped: {:?}", run.skipped);
    }
    record(
        tx,
        case,
        EventKind::RuleApplied,
        &writer.actor(),
        run.changes,
        json!({
            "rule_id": rule.id,
            "rule_name": rule.name,
            "trigger": event.name(),
            "message_ids": run.message_ids,
            "skipped": run.skipped,
        }),
        at,
    )
    .await?;
    effects.notices.extend(run.notices);
    effects.notices.push(case_notice(case));
    effects.queued |= run.queued;
    if run.split_on_topic && effects.split_on_topic.is_none() {
        effects.split_on_topic = Some((case.id.clone(), rule.id.clone()));
    }
    Ok(())
}

/// Arms the timers of time rules whose waiting state the case just
/// entered, and removes those whose state it left; the earliest armed.
async fn update_timers(
    tx: &mut dyn Tx,
    rules: &[RuleRecord],
    case: &CaseRecord,
    before: Option<&CaseState>,
    arm: bool,
    at: Time,
) -> Result<Option<Time>, StoreError> {
    let mut earliest: Option<Time> = None;
    for rule in rules {
        let Some(seconds) = rule.trigger.delay_seconds() else {
            continue;
        };
        let holds = !case.state.merged
            && waiting_state_holds(
                &rule.trigger,
                case.state.status,
                customer_wrote_last(&case.state),
            );
        let held = before
            .is_some_and(|b| waiting_state_holds(&rule.trigger, b.status, customer_wrote_last(b)));
        if !holds {
            tx.delete_rule_timer(&case.id, &rule.id).await?;
        } else if !held && arm {
            let due_at = at + chrono::Duration::seconds(seconds);
            start_wait(tx, rule, case, due_at).await?;
            earliest = Some(earliest.map_or(due_at, |t| t.min(due_at)));
        }
    }
    Ok(earliest)
}

/// (Re)starts the case's wait for a time rule: its timer is due at `due_at`.
async fn start_wait(
    tx: &mut dyn Tx,
    rule: &RuleRecord,
    case: &CaseRecord,
    due_at: Time,
) -> Result<(), StoreError> {
    let timer = RuleTimer {
        case_id: case.id.clone(),
        rule_id: rule.id.clone(),
        account_id: case.account_id.clone(),
        due_at,
    };
    tx.set_rule_timer(&timer, true).await
}

/// Most cases a newly enabled time rule arms timers for.
pub const ARM_LIMIT: i64 = 10_000;

/// A time rule was created, enabled or changed: its timers restart from
/// `at` for the (at most [`ARM_LIMIT`] newest) cases already waiting.
pub(crate) async fn arm_existing(
    tx: &mut dyn Tx,
    rule: &RuleRecord,
    at: Time,
) -> Result<usize, StoreError> {
    tx.delete_rule_timers(&rule.id).await?;
    let (Some(seconds), true) = (rule.trigger.delay_seconds(), rule.enabled) else {
        return Ok(0);
    };
    let status = match rule.trigger {
        Trigger::PendingFor { .. } => Status::Pending,
        _ => Status::Open,
    };
    let waiting = tx
        .list_cases(
            &rule.account_id,
            &CaseFilter {
                status: Some(status),
                limit: ARM_LIMIT,
                ..CaseFilter::default()
            },
        )
        .await?;
    let mut armed = 0;
    for case in waiting {
        if waiting_state_holds(
            &rule.trigger,
            case.state.status,
            customer_wrote_last(&case.state),
        ) {
            start_wait(tx, rule, &case, at + chrono::Duration::seconds(seconds)).await?;
            armed += 1;
        }
    }
    Ok(armed)
}

/// How soon a time rule whose wait is over but whose conditions do not
/// hold yet (outside business hours, a label not there yet) looks again.
fn recheck_after(delay_seconds: i64) -> chrono::Duration {
    chrono::Duration::seconds(delay_seconds.clamp(1, 15 * 60))
}

/// Fires one due rule timer under the customer's lock, after re-reading
/// it: a timer another process fired, or a case that left the waiting
/// state, does nothing. When the rule's conditions do not hold yet the
/// timer is set to look again later (at most every 15 minutes) while the
/// case keeps waiting. Returns whether the rule fired.
async fn fire_timer(
    tx: &mut dyn Tx,
    timer: &RuleTimer,
    at: Time,
) -> Result<(bool, Effects), AppError> {
    let case = match lock_case(tx, &timer.account_id, &timer.case_id).await {
        Ok((case, _)) => case,
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
            tx.delete_rule_timer(&timer.case_id, &timer.rule_id).await?;
            return Ok((false, Effects::default()));
        }
        Err(e) => return Err(e),
    };
    let still_due = tx
        .list_rule_timers(&case.id)
        .await?
        .into_iter()
        .any(|t| t.rule_id == timer.rule_id && t.due_at <= at);
    if !still_due {
        return Ok((false, Effects::default()));
    }
    tx.delete_rule_timer(&case.id, &timer.rule_id).await?;
    let effects = after_change_read(
        tx,
        &case.id,
        &case.account_id,
        Some(case.state.clone()),
        vec![TriggerEvent::TimerDue {
            rule_id: timer.rule_id.clone(),
        }],
        Reading::TIMER,
        at,
    )
    .await?;
    let fired = effects.fired.contains(&timer.rule_id);
    if !fired {
        let rule = tx.get_rule(&case.account_id, &timer.rule_id).await.ok();
        let now_case = tx.get_case(&case.account_id, &case.id).await?;
        if let Some(rule) = rule.filter(|r| r.enabled)
            && let Some(delay) = rule.trigger.delay_seconds()
            && !now_case.state.merged
            && waiting_state_holds(
                &rule.trigger,
                now_case.state.status,
                customer_wrote_last(&now_case.state),
            )
        {
            tx.set_rule_timer(
                &RuleTimer {
                    due_at: at + recheck_after(delay),
                    ..timer.clone()
                },
                true,
            )
            .await?;
        }
    }
    Ok((fired, effects))
}

/// Fires a batch of due rule timers in one unit of work.
pub(crate) async fn fire_rule_timers(
    app: &AppState,
    batch: Vec<RuleTimer>,
) -> Result<(), AppError> {
    let clock = app.clock.clone();
    let effects = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            // Every customer first, in the one order of the units of work
            // that lock many, so that two never wait on each other in a
            // cycle; each timer then takes its own lock again, at no cost.
            let case_ids: Vec<String> = batch.iter().map(|t| t.case_id.clone()).collect();
            tx.lock_cases(&case_ids).await?;
            let mut all = Effects::default();
            for timer in &batch {
                let (_, effects) = fire_timer(tx, timer, at).await?;
                all.notices.extend(effects.notices);
                all.queued |= effects.queued;
            }
            Ok((log(tx, all.notices, at).await?, all.queued))
        })
    })
    .await?;
    app.after_change_commit(effects.0, effects.1);
    Ok(())
}
