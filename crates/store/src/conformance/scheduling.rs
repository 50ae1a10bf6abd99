//! Durable chat deadlines and the outbound delivery queue.

use std::sync::Arc;

use super::fixtures::*;
use crate::{
    Deadline, DeadlineKind, EventRecord, OutboxItem, OutboxOutcome, OutboxState, OutboxUpdate,
    Store,
};

pub(crate) fn deadline(w: &World, case_id: &str, kind: DeadlineKind, due: i64) -> Deadline {
    Deadline {
        case_id: s(case_id),
        account_id: w.account_id.clone(),
        kind,
        due_at: t(due),
    }
}

async fn set_deadlines(store: &dyn Store, deadlines: Vec<Deadline>) {
    write_ok(store, "set deadlines", move |tx| {
        Box::pin(async move {
            for d in &deadlines {
                tx.set_deadline(d).await?;
            }
            Ok(())
        })
    })
    .await;
}

async fn next_deadline_at(store: &dyn Store) -> Option<casedesk_domain::Time> {
    read_ok(store, "next deadline", |tx| {
        Box::pin(async move { tx.next_deadline_at().await })
    })
    .await
}

/// Claims without deleting: the claim ends with the job.
async fn claim(store: &dyn Store, now: i64, limit: i64) -> Vec<Deadline> {
    write_ok(store, "claim deadlines", move |tx| {
        Box::pin(async move { tx.claim_due_deadlines(t(now), limit).await })
    })
    .await
}

async fn list_deadlines(store: &dyn Store, case_id: &str) -> Vec<Deadline> {
    let case_id = s(case_id);
    read_ok(store, "list deadlines", move |tx| {
        Box::pin(async move { tx.list_deadlines(&case_id).await })
    })
    .await
}

pub async fn deadlines(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    insert_cases(store, vec![w.case("c1", 1, 0), w.case("c2", 2, 0)]).await;
    assert_eq!(next_deadline_at(store).await, None, "no deadlines yet");
    let (warn1, finish1, finish2) = (
        deadline(&w, "c1", DeadlineKind::Warn, 100),
        deadline(&w, "c1", DeadlineKind::Finish, 160),
        deadline(&w, "c2", DeadlineKind::Finish, 50),
    );
    set_deadlines(store, vec![warn1, finish1.clone(), finish2.clone()]).await;
    assert_eq!(next_deadline_at(store).await, Some(t(50)));
    let warn1 = deadline(&w, "c1", DeadlineKind::Warn, 40);
    set_deadlines(store, vec![warn1.clone()]).await;
    assert_eq!(
        list_deadlines(store, "c1").await,
        vec![warn1.clone(), finish1.clone()],
        "set_deadline replaces the due time of the same case and kind"
    );
    assert_eq!(
        next_deadline_at(store).await,
        Some(t(40)),
        "next_deadline_at is the earliest"
    );

    assert!(
        claim(store, 39, 10).await.is_empty(),
        "nothing is due before the earliest deadline"
    );
    assert_eq!(
        claim(store, 45, 10).await,
        vec![warn1.clone()],
        "only due deadlines are claimed"
    );
    let all_due = vec![warn1.clone(), finish2.clone(), finish1.clone()];
    assert_eq!(
        claim(store, 160, 10).await,
        all_due,
        "claims are ordered by due time; due_at == now is due"
    );
    assert_eq!(
        claim(store, 500, 2).await,
        all_due[..2].to_vec(),
        "claims respect the limit"
    );

    write_ok(store, "delete a deadline", |tx| {
        Box::pin(async move { tx.delete_deadline("c1", DeadlineKind::Warn).await })
    })
    .await;
    assert_eq!(
        list_deadlines(store, "c1").await,
        vec![finish1],
        "delete_deadline removes one kind"
    );
    write_ok(store, "clear deadlines", |tx| {
        Box::pin(async move { tx.clear_deadlines("c1").await })
    })
    .await;
    assert!(
        list_deadlines(store, "c1").await.is_empty(),
        "clear_deadlines removes every kind"
    );
    assert_eq!(
        next_deadline_at(store).await,
        Some(t(50)),
        "other cases keep theirs"
    );
    write_ok(store, "delete the last", |tx| {
        Box::pin(async move { tx.delete_deadline("c2", DeadlineKind::Finish).await })
    })
    .await;
    assert_eq!(next_deadline_at(store).await, None, "no deadlines left");
}

/// What firing a burst of deadlines writes in a few statements: the
/// deadlines of many cases read and deleted at once, the cases locked and
/// read, updated and their history inserted together; a row of another
/// account or of no case fails the whole write.
pub async fn batch_reads_and_writes_of_cases_deadlines_and_events(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let other = world(store, "acc-b").await;
    insert_cases(store, vec![w.case("c1", 1, 0), w.case("c2", 2, 0)]).await;
    insert_cases(store, vec![other.case("d1", 1, 0)]).await;
    let (warn1, finish1, finish2, finish_d) = (
        deadline(&w, "c1", DeadlineKind::Warn, 100),
        deadline(&w, "c1", DeadlineKind::Finish, 160),
        deadline(&w, "c2", DeadlineKind::Finish, 50),
        deadline(&other, "d1", DeadlineKind::Finish, 10),
    );
    set_deadlines(
        store,
        vec![
            finish2.clone(),
            finish1.clone(),
            warn1.clone(),
            finish_d.clone(),
        ],
    )
    .await;
    let listed = read_ok(store, "list the deadlines of cases", |tx| {
        Box::pin(async move {
            tx.list_deadlines_of(&[s("c2"), s("c1"), s("missing")])
                .await
        })
    })
    .await;
    assert_eq!(
        listed,
        vec![warn1, finish1.clone(), finish2],
        "the deadlines of the named cases only, by case then due time"
    );
    write_ok(store, "delete deadlines", |tx| {
        Box::pin(async move {
            tx.delete_deadlines(&[
                (s("c1"), DeadlineKind::Warn),
                (s("c2"), DeadlineKind::Finish),
                (s("c2"), DeadlineKind::Warn),
            ])
            .await
        })
    })
    .await;
    assert_eq!(list_deadlines(store, "c1").await, vec![finish1]);
    assert!(list_deadlines(store, "c2").await.is_empty());
    assert_eq!(
        list_deadlines(store, "d1").await,
        vec![finish_d],
        "deadlines not named stay"
    );

    let mut locked = write_ok(store, "lock cases", |tx| {
        Box::pin(async move {
            tx.lock_cases(&[s("c2"), s("c1"), s("missing"), s("c1")])
                .await
        })
    })
    .await;
    locked.sort_by(|a, b| a.id.cmp(&b.id));
    let mut c1 = get_case(store, &w.account_id, "c1").await;
    let mut c2 = get_case(store, &w.account_id, "c2").await;
    assert_eq!(
        locked,
        vec![c1.clone(), c2.clone()],
        "each existing case once, as stored"
    );

    c1.subject = s("Новая тема");
    c1.state.status = casedesk_domain::Status::Pending;
    c1.assignee_id = Some(s("agent-7"));
    c1.updated_at = t(70);
    c2.unread = true;
    c2.message_count = 3;
    c2.first_response_at = Some(t(20));
    let cases = [c1.clone(), c2.clone()];
    write_ok(store, "update cases", move |tx| {
        Box::pin(async move {
            let cases: Vec<_> = cases.iter().map(|c| (None, c)).collect();
            tx.update_cases(&cases).await
        })
    })
    .await;
    assert_eq!(get_case(store, &w.account_id, "c1").await, c1);
    assert_eq!(get_case(store, &w.account_id, "c2").await, c2);

    let mut stray = w.case("d1", 9, 0);
    stray.subject = s("changed through the wrong account");
    let cases = [c1.clone(), stray];
    assert_not_found(
        "a case of another account",
        try_write(store, move |tx| {
            Box::pin(async move {
                let cases: Vec<_> = cases.iter().map(|c| (None, c)).collect();
                tx.update_cases(&cases).await
            })
        })
        .await,
    );
    assert_eq!(
        get_case(store, &other.account_id, "d1").await.subject,
        "Subject of d1",
        "another account's case is not written"
    );

    let event = |id: &str, world: &World, case_id: &str| EventRecord {
        id: s(id),
        account_id: world.account_id.clone(),
        case_id: s(case_id),
        kind: casedesk_domain::EventKind::AutoFinished,
        actor: casedesk_domain::Actor::System(s("auto_finish")),
        changes: vec![],
        data: serde_json::json!({ "due_at": id }),
        created_at: t(80),
    };
    let events = vec![
        event("e1", &w, "c1"),
        event("e2", &w, "c2"),
        event("e3", &w, "c1"),
    ];
    write_ok(store, "insert events", move |tx| {
        Box::pin(async move { tx.insert_events(&events).await })
    })
    .await;
    let ids = |events: Vec<EventRecord>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let account = w.account_id.clone();
    let listed = read_ok(store, "list events", move |tx| {
        Box::pin(async move { tx.list_events(&account, "c1").await })
    })
    .await;
    assert_eq!(ids(listed), vec![s("e1"), s("e3")], "in insertion order");
    let events = vec![event("e4", &w, "c1"), event("e5", &w, "d1")];
    assert_not_found(
        "an event of another account's case",
        try_write(store, move |tx| {
            Box::pin(async move { tx.insert_events(&events).await })
        })
        .await,
    );
    let account = w.account_id.clone();
    let listed = read_ok(store, "list events again", move |tx| {
        Box::pin(async move { tx.list_events(&account, "c1").await })
    })
    .await;
    assert_eq!(
        ids(listed),
        vec![s("e1"), s("e3")],
        "a failed batch of events keeps none of them"
    );
}

fn outbox_item(w: &World, id: &str, due: i64) -> OutboxItem {
    OutboxItem {
        created_at: t(1),
        ..OutboxItem::queued(
            s(id),
            w.account_id.clone(),
            w.channel_id.clone(),
            format!("msg-{id}"),
            s("https://example.com/hook"),
            format!(r#"{{"id":"{id}","text":"привет"}}"#),
            t(due),
        )
    }
}

/// Claims outbox items and returns them by id (the order is not promised).
async fn claim_outbox(store: &dyn Store, now: i64, lease_until: i64) -> Vec<OutboxItem> {
    let mut items = write_ok(store, "claim outbox", move |tx| {
        Box::pin(async move { tx.claim_outbox(t(now), t(lease_until), 10).await })
    })
    .await;
    items.sort_by(|a, b| a.id.cmp(&b.id));
    items
}

fn ids(items: &[OutboxItem]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

async fn finish_outbox(store: &dyn Store, update: OutboxUpdate) {
    write_ok(store, "finish outbox", move |tx| {
        Box::pin(async move { tx.finish_outbox(&update).await })
    })
    .await;
}

async fn next_outbox_at(store: &dyn Store) -> Option<casedesk_domain::Time> {
    read_ok(store, "next outbox", |tx| {
        Box::pin(async move { tx.next_outbox_at().await })
    })
    .await
}

pub async fn outbox_lease_and_finish(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    assert_eq!(next_outbox_at(store).await, None, "empty outbox");
    let items = vec![
        outbox_item(&w, "o1", 10),
        outbox_item(&w, "o2", 20),
        outbox_item(&w, "o3", 100),
    ];
    let stored = items.clone();
    write_ok(store, "insert outbox", move |tx| {
        Box::pin(async move {
            for item in &stored {
                tx.insert_outbox(item).await?;
            }
            Ok(())
        })
    })
    .await;
    assert_eq!(next_outbox_at(store).await, Some(t(10)));

    let claimed = claim_outbox(store, 30, 90).await;
    assert_eq!(ids(&claimed), ["o1", "o2"], "due items are claimed");
    assert_eq!(
        claimed[0].body, items[0].body,
        "claimed items carry their data"
    );
    assert_eq!(claimed[0].url, items[0].url);
    assert!(
        claim_outbox(store, 30, 90).await.is_empty(),
        "leased items are not claimed again"
    );
    assert!(
        claim_outbox(store, 89, 95).await.is_empty(),
        "...until the lease ends"
    );
    assert_eq!(
        next_outbox_at(store).await,
        Some(t(90)),
        "a lease counts as the next attempt"
    );

    finish_outbox(
        store,
        OutboxUpdate {
            id: s("o1"),
            attempts: 1,
            outcome: OutboxOutcome::Delivered,
            last_error: None,
            now: t(31),
        },
    )
    .await;
    let retry = OutboxUpdate {
        id: s("o2"),
        attempts: 1,
        outcome: OutboxOutcome::Retry(t(60)),
        last_error: Some(s("HTTP 503")),
        now: t(31),
    };
    finish_outbox(store, retry).await;
    assert_eq!(
        next_outbox_at(store).await,
        Some(t(60)),
        "a retry sets the next attempt; delivered items leave the queue"
    );

    let claimed = claim_outbox(store, 95, 150).await;
    assert_eq!(
        ids(&claimed),
        ["o2"],
        "a retried item is due again; a delivered one never"
    );
    assert_eq!(claimed[0].attempts, 1, "attempts were saved");
    let claimed = claim_outbox(store, 200, 300).await;
    assert_eq!(
        ids(&claimed),
        ["o2", "o3"],
        "an expired lease makes an item due again"
    );
    finish_outbox(
        store,
        OutboxUpdate {
            id: s("o2"),
            attempts: 3,
            outcome: OutboxOutcome::Delivered,
            last_error: None,
            now: t(201),
        },
    )
    .await;
    finish_outbox(
        store,
        OutboxUpdate {
            id: s("o3"),
            attempts: 1,
            outcome: OutboxOutcome::Delivered,
            last_error: None,
            now: t(201),
        },
    )
    .await;
    assert_eq!(next_outbox_at(store).await, None, "everything delivered");
    assert!(
        claim_outbox(store, 10_000, 20_000).await.is_empty(),
        "delivered items are never claimed"
    );
}

async fn insert_outbox(store: &dyn Store, items: Vec<OutboxItem>) {
    write_ok(store, "insert outbox", move |tx| {
        Box::pin(async move {
            for item in &items {
                tx.insert_outbox(item).await?;
            }
            Ok(())
        })
    })
    .await;
}

async fn list_outbox(
    store: &dyn Store,
    w: &World,
    state: Option<OutboxState>,
    limit: i64,
) -> Vec<OutboxItem> {
    let (account_id, channel_id) = (w.account_id.clone(), w.channel_id.clone());
    read_ok(store, "list outbox", move |tx| {
        Box::pin(async move { tx.list_outbox(&account_id, &channel_id, state, limit).await })
    })
    .await
}

async fn requeue(store: &dyn Store, account_id: &str, id: &str, now: i64) -> bool {
    let (account_id, id) = (s(account_id), s(id));
    write_ok(store, "requeue outbox", move |tx| {
        Box::pin(async move { tx.requeue_outbox(&account_id, &id, t(now)).await })
    })
    .await
}

/// Dead letters: a failed delivery keeps its attempts, error and times, is
/// never claimed nor due, is listed by state per channel and account, and
/// comes back to the queue only when requeued.
pub async fn outbox_dead_letters_are_listed_and_requeued(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let other = world(store, "acc-b").await;
    let item = |id: &str, created: i64| OutboxItem {
        created_at: t(created),
        ..outbox_item(&w, id, 10)
    };
    insert_outbox(
        store,
        vec![
            item("d1", 1),
            item("d2", 2),
            item("d3", 3),
            outbox_item(&other, "x1", 10),
        ],
    )
    .await;
    assert!(
        list_outbox(store, &w, Some(OutboxState::Failed), 10)
            .await
            .is_empty(),
        "nothing failed yet"
    );
    assert_eq!(
        ids(&list_outbox(store, &w, None, 10).await),
        ["d3", "d2", "d1"],
        "a channel's deliveries, newest first, without other accounts'"
    );
    assert_eq!(claim_outbox(store, 20, 80).await.len(), 4);
    let attempt = |id: &str, outcome, error: Option<&str>| OutboxUpdate {
        id: s(id),
        attempts: 5,
        outcome,
        last_error: error.map(s),
        now: t_micros(21, 7),
    };
    finish_outbox(
        store,
        attempt("d1", OutboxOutcome::Failed, Some("receiver answered 500")),
    )
    .await;
    finish_outbox(store, attempt("d2", OutboxOutcome::Delivered, None)).await;
    finish_outbox(
        store,
        attempt("d3", OutboxOutcome::Retry(t(40)), Some("timed out")),
    )
    .await;
    finish_outbox(store, attempt("x1", OutboxOutcome::Failed, Some("gone"))).await;

    let failed = list_outbox(store, &w, Some(OutboxState::Failed), 10).await;
    assert_eq!(ids(&failed), ["d1"], "only this account's failed delivery");
    let d1 = &failed[0];
    assert_eq!(d1.state(), OutboxState::Failed);
    assert_eq!(d1.attempts, 5);
    assert_eq!(d1.last_error.as_deref(), Some("receiver answered 500"));
    assert_eq!(d1.failed_at, Some(t_micros(21, 7)), "failed_at is kept");
    assert_eq!(d1.last_attempt_at, Some(t_micros(21, 7)));
    assert_eq!(d1.delivered_at, None);
    let delivered = list_outbox(store, &w, Some(OutboxState::Delivered), 10).await;
    assert_eq!(ids(&delivered), ["d2"]);
    assert_eq!(delivered[0].delivered_at, Some(t_micros(21, 7)));
    let pending = list_outbox(store, &w, Some(OutboxState::Pending), 10).await;
    assert_eq!(ids(&pending), ["d3"]);
    assert_eq!(pending[0].next_attempt_at, t(40));
    assert_eq!(pending[0].last_error.as_deref(), Some("timed out"));
    assert_eq!(
        ids(&list_outbox(store, &w, None, 2).await),
        ["d3", "d2"],
        "the limit keeps the newest"
    );

    assert_eq!(
        next_outbox_at(store).await,
        Some(t(40)),
        "a failed delivery is not due"
    );
    assert_eq!(
        ids(&claim_outbox(store, 10_000, 10_100).await),
        ["d3"],
        "failed and delivered items are never claimed"
    );

    let (acc, id) = (w.account_id.clone(), s("d1"));
    let got = read_ok(store, "get outbox", move |tx| {
        Box::pin(async move { tx.get_outbox(&acc, &id).await })
    })
    .await;
    assert_eq!(&got, d1, "get_outbox returns the whole item");
    let (acc, id) = (w.account_id.clone(), s("x1"));
    let foreign = crate::read(store, move |tx| {
        Box::pin(async move { tx.get_outbox(&acc, &id).await })
    })
    .await;
    assert_not_found("another account's delivery", foreign);

    assert!(
        !requeue(store, &w.account_id, "x1", 50).await,
        "another account's delivery is not requeued"
    );
    assert!(
        !requeue(store, &w.account_id, "d2", 50).await,
        "a delivered item is not requeued"
    );
    assert!(requeue(store, &w.account_id, "d1", 20_000).await);
    let again = list_outbox(store, &w, Some(OutboxState::Pending), 10).await;
    assert_eq!(ids(&again), ["d3", "d1"], "the requeued item is pending");
    let d1 = &again[1];
    assert_eq!(
        (d1.attempts, d1.failed_at),
        (0, None),
        "attempts start over"
    );
    assert_eq!(d1.next_attempt_at, t(20_000), "due at once");
    assert_eq!(
        ids(&claim_outbox(store, 20_000, 20_100).await),
        ["d1", "d3"],
        "a requeued item is claimed again"
    );
    assert_eq!(
        ids(&list_outbox(store, &other, Some(OutboxState::Failed), 10).await),
        ["x1"],
        "the other account's dead letter is untouched"
    );
}
