//! Statistics facts, exports, the account time zone and bulk seeding.

use std::sync::Arc;

use casedesk_domain::stats::{EventFacts, GroupKey, StatsInput, compute};
use casedesk_domain::{AccountTimeZone, Actor, CaseState, Change, ChannelKind, Status};

use super::fixtures::*;
use crate::{CaseRecord, EventRecord, SeedBatch, StatsGrouping, StatsQuery, Store, StoreError};

pub async fn account_time_zone_round_trips(store: Arc<dyn Store>) {
    let store = &*store;
    world(store, "tz").await;
    let tz = read_ok(store, "get account", |tx| {
        Box::pin(async move { Ok(tx.get_account("tz").await?.time_zone) })
    })
    .await;
    assert_eq!(tz, AccountTimeZone::default(), "a new account is on UTC");
    let moscow: AccountTimeZone = "Europe/Moscow".parse().expect("zone");
    write_ok(store, "set time zone", move |tx| {
        Box::pin(async move { tx.update_account_time_zone("tz", moscow).await })
    })
    .await;
    let account = read_ok(store, "get account", |tx| {
        Box::pin(async move { tx.get_account("tz").await })
    })
    .await;
    assert_eq!(account.time_zone, moscow);
    assert_eq!(
        account.settings,
        casedesk_domain::AutoFinishSettings::default()
    );

    let hours: casedesk_domain::BusinessHours =
        serde_json::from_str(r#"{"tue":[["08:00","17:00"]],"fri":[["08:00","12:00"]]}"#)
            .expect("valid hours");
    let h = hours.clone();
    let account = write_ok(store, "set business hours", move |tx| {
        Box::pin(async move {
            tx.update_account_business_hours("tz", Some(&h)).await?;
            tx.get_account("tz").await
        })
    })
    .await;
    assert_eq!(account.business_hours, Some(hours));
    assert_eq!(account.time_zone, moscow, "the time zone is left alone");
    let account = write_ok(store, "clear business hours", move |tx| {
        Box::pin(async move {
            tx.update_account_business_hours("tz", None).await?;
            tx.get_account("tz").await
        })
    })
    .await;
    assert_eq!(account.business_hours, None);
    assert_not_found(
        "business hours of a missing account",
        try_write(store, move |tx| {
            Box::pin(async move { tx.update_account_business_hours("nope", None).await })
        })
        .await,
    );
    assert_not_found(
        "time zone of a missing account",
        try_write(store, move |tx| {
            Box::pin(async move { tx.update_account_time_zone("nope", moscow).await })
        })
        .await,
    );
}

/// [`t`] in microseconds since the epoch.
fn us(secs: i64) -> i64 {
    t(secs).timestamp_micros()
}

fn event(
    w: &World,
    id: &str,
    case_id: &str,
    kind: &str,
    changes: Vec<Change>,
    at: i64,
) -> EventRecord {
    EventRecord {
        id: id.to_owned(),
        account_id: w.account_id.clone(),
        case_id: case_id.to_owned(),
        kind: kind.parse().expect("an event kind"),
        actor: Actor::System(s("test")),
        changes,
        data: serde_json::json!({}),
        created_at: t(at),
    }
}

/// Three cases with histories built by the domain's own transitions:
/// - c1 (agent a, channel 1) created at 10, answered at 70, closed by
///   finishing at 100; 4 messages;
/// - c2 (unassigned, channel 1) created at 200, auto-finished at 300,
///   reopened at 400 (still active); 2 messages;
/// - c3 (agent a, channel 2) created at 5000, active, merged away later
///   (its merge at 5100); 3 messages that no longer count.
async fn stats_world(store: &dyn Store) -> World {
    let w = world(store, "st").await;
    let ch2 = channel("st-ch2", "st");
    let cu2 = customer("st-cu2", "st", "st-ch2", "ext2");
    let ag = agent("st-a", "st", "a@st.example");
    let mut c1 = w.case("c1", 1, 10);
    c1.assignee_id = Some(s("st-a"));
    c1.first_response_at = Some(t(70));
    c1.message_count = 4;
    let mut c2 = w.case("c2", 2, 200);
    c2.message_count = 2;
    let mut c3 = w.case("c3", 3, 5000);
    c3.channel_id = s("st-ch2");
    c3.customer_id = s("st-cu2");
    c3.assignee_id = Some(s("st-a"));
    c3.message_count = 3;

    let mut events = vec![
        event(&w, "e1", "c1", "created", vec![], 10),
        event(&w, "e3", "c2", "created", vec![], 200),
        event(&w, "e6", "c3", "created", vec![], 5000),
    ];
    let ch = c1.state.finish(Status::Closed, t(100)).expect("finish c1");
    events.push(event(&w, "e2", "c1", "finished", ch, 100));
    let ch = c2.state.auto_finish(t(300)).expect("auto-finish c2");
    events.push(event(&w, "e4", "c2", "auto_finished", ch, 300));
    let ch = c2.state.reopen_by_customer(1, t(400));
    events.push(event(&w, "e5", "c2", "reopened", ch, 400));
    let mut prev = CaseState::new_case(ChannelKind::Api);
    prev.finish(Status::Closed, t(4000))
        .expect("finish previous");
    let plan = c3
        .state
        .merge_into_previous(&mut prev, true, t(5100))
        .expect("merge c3");
    events.push(event(&w, "e7", "c3", "merged", plan.current_changes, 5100));
    c3.merged_into_id = Some(s("c1"));

    write_ok(store, "seed the statistics world", move |tx| {
        Box::pin(async move {
            tx.insert_channel(&ch2).await?;
            tx.upsert_customer_locked(&cu2).await?;
            tx.insert_agent(&ag).await?;
            for c in [&c1, &c2, &c3] {
                tx.insert_case(c).await?;
            }
            for e in &events {
                tx.insert_event(e).await?;
            }
            Ok(())
        })
    })
    .await;
    w
}

async fn stats(store: &dyn Store, q: StatsQuery) -> StatsInput {
    read_ok(store, "stats", move |tx| {
        Box::pin(async move { tx.stats("st", &q).await })
    })
    .await
}

fn query(grouping: StatsGrouping) -> StatsQuery {
    StatsQuery {
        from: t(0),
        to: t(10_000),
        grouping,
        channel_id: None,
        agent_id: None,
    }
}

pub async fn stats_tally_history_samples_and_active_chats(store: Arc<dyn Store>) {
    let store = &*store;
    stats_world(store).await;

    // The store's facts must be exactly what the domain reads from changes.
    let got = stats(store, query(StatsGrouping::Agent)).await;
    let mut tallies: Vec<(GroupKey, String, EventFacts, i64)> = got
        .events
        .iter()
        .map(|e| (e.key.clone(), e.kind.as_str().to_owned(), e.facts, e.count))
        .collect();
    tallies.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let a = GroupKey::Agent(Some(s("st-a")));
    let none = GroupKey::Agent(None);
    let plain = EventFacts::default();
    let finishes = EventFacts {
        sets_closed: false,
        sets_finished: true,
    };
    let closes = EventFacts {
        sets_closed: true,
        sets_finished: true,
    };
    assert_eq!(
        tallies,
        vec![
            (none.clone(), s("auto_finished"), finishes, 1),
            (none.clone(), s("created"), plain, 1),
            (none.clone(), s("reopened"), plain, 1),
            (a.clone(), s("created"), plain, 2),
            (a.clone(), s("finished"), closes, 1),
            (a.clone(), s("merged"), finishes, 1),
        ],
        "{} store: event tallies by agent",
        store.backend()
    );
    let samples: Vec<_> = got
        .samples
        .iter()
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect();
    let of = |k: &GroupKey| {
        samples
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    };
    let sa = of(&a);
    assert_eq!(
        sa.first_response,
        vec![(us(10), us(70))],
        "created at 10, answered at 70"
    );
    assert_eq!(
        sa.messages,
        vec![4],
        "the merged case's messages do not count"
    );
    assert_eq!(
        sa.resolution,
        vec![(us(10), us(100))],
        "created at 10, closed at 100"
    );
    assert_eq!(of(&none).messages, vec![2]);
    assert!(of(&none).first_response.is_empty());
    assert_eq!(
        got.active_now,
        vec![(none.clone(), 1)],
        "c2 is active; c3 is merged"
    );
    assert_eq!(got.active_now_total, 1);

    let (_, total) = compute(got, &[], false, None);
    let c = total.counters;
    assert_eq!(
        (
            c.created,
            c.finished,
            c.auto_finished,
            c.closed,
            c.reopened,
            c.merged
        ),
        (3, 2, 1, 1, 1, 1)
    );

    // By channel, with a filter.
    let mut q = query(StatsGrouping::Channel);
    q.channel_id = Some(s("st-ch2"));
    let got = stats(store, q).await;
    assert!(
        got.events
            .iter()
            .all(|e| e.key == GroupKey::Channel(s("st-ch2")))
    );
    assert_eq!(got.events.iter().map(|e| e.count).sum::<i64>(), 2);
    assert_eq!(got.active_now_total, 0);

    // Time buckets: [0, 1000) and [1000, 10000); an agent filter.
    let mut q = query(StatsGrouping::Buckets(vec![
        (t(0), t(1000)),
        (t(1000), t(10_000)),
    ]));
    q.agent_id = Some(s("st-a"));
    let got = stats(store, q).await;
    let per_bucket = |i: usize| {
        got.events
            .iter()
            .filter(|e| e.key == GroupKey::Bucket(i))
            .map(|e| e.count)
            .sum::<i64>()
    };
    assert_eq!((per_bucket(0), per_bucket(1)), (2, 2));
    assert!(got.active_now.is_empty(), "no active chats per time bucket");
    assert_eq!(got.active_now_total, 0, "the agent has no active chat");

    // The period bounds: [from, to).
    let mut q = query(StatsGrouping::Buckets(vec![(t(100), t(300))]));
    q.from = t(100);
    q.to = t(300);
    let got = stats(store, q).await;
    let kinds: Vec<&str> = got.events.iter().map(|e| e.kind.as_str()).collect();
    let mut kinds = kinds;
    kinds.sort();
    assert_eq!(
        kinds,
        ["created", "finished"],
        "from is inclusive, to exclusive"
    );

    // Another account sees nothing.
    world(store, "other").await;
    let got = read_ok(store, "stats of another account", |tx| {
        Box::pin(async move { tx.stats("other", &query(StatsGrouping::Agent)).await })
    })
    .await;
    assert_eq!(got, StatsInput::default());
}

/// Events count for their case's current assignee: a reassigned case
/// takes its past events and closes along (the keys are copied onto each
/// event for joinless statistics), and an event needs its case.
pub async fn stats_follow_reassignment_and_events_need_their_case(store: Arc<dyn Store>) {
    let store = &*store;
    let w = stats_world(store).await;
    for (id, assignee) in [("c1", None), ("c2", Some(s("st-a")))] {
        let loaded = get_case(store, "st", id).await;
        let mut case = loaded.clone();
        case.assignee_id = assignee;
        write_ok(store, "reassign", move |tx| {
            Box::pin(async move {
                tx.update_case(Some(&loaded), &case).await?;
                tx.move_case_events(&case.id, case.assignee_id.as_deref())
                    .await
            })
        })
        .await;
    }

    let got = stats(store, query(StatsGrouping::Agent)).await;
    let a = GroupKey::Agent(Some(s("st-a")));
    let none = GroupKey::Agent(None);
    let count = |k: &GroupKey| {
        got.events
            .iter()
            .filter(|e| &e.key == k)
            .map(|e| e.count)
            .sum::<i64>()
    };
    // c1 (created, finished) moved to nobody; c2 (created, auto-finished,
    // reopened) moved to agent a, who keeps c3 (created, merged).
    assert_eq!(
        (count(&a), count(&none)),
        (5, 2),
        "{} store: events follow the reassigned cases",
        store.backend()
    );
    let resolution_of = |k: &GroupKey| {
        got.samples
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, s)| s.resolution.clone())
            .unwrap_or_default()
    };
    assert_eq!(resolution_of(&none), vec![(us(10), us(100))]);
    assert!(resolution_of(&a).is_empty());

    let mut q = query(StatsGrouping::Channel);
    q.agent_id = Some(s("st-a"));
    let got = stats(store, q).await;
    assert_eq!(got.events.iter().map(|e| e.count).sum::<i64>(), 5);

    let orphan = event(&w, "e-orphan", "no-such-case", "created", vec![], 10);
    let result = try_write(store, move |tx| {
        Box::pin(async move { tx.insert_event(&orphan).await })
    })
    .await;
    assert_not_found("an event of a case that does not exist", result);
}

pub async fn export_cases_pages_with_names(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "ex").await;
    let ag = agent("ex-a", "ex", "a@ex.example");
    let mut c1 = w.case("x1", 1, 10);
    c1.state.finish(Status::Closed, t(20)).expect("finish");
    c1.next_case_id = Some(s("x2"));
    let mut c2 = w.case("x2", 2, 30);
    c2.previous_case_id = Some(s("x1"));
    c2.assignee_id = Some(s("ex-a"));
    c2.message_count = 7;
    let c3 = w.case("x3", 3, 40);
    write_ok(store, "seed export cases", move |tx| {
        Box::pin(async move {
            tx.insert_agent(&ag).await?;
            for c in [&c1, &c2, &c3] {
                tx.insert_case(c).await?;
            }
            Ok(())
        })
    })
    .await;
    let mut filter = w.filter();
    filter.limit = 2;
    let page = read_ok(store, "export page 1", move |tx| {
        Box::pin(async move { tx.export_cases("ex", &filter).await })
    })
    .await;
    let numbers: Vec<i64> = page.iter().map(|r| r.case.number).collect();
    assert_eq!(numbers, [3, 2], "newest first, like the list");
    let r = &page[1];
    assert_eq!(r.channel_name, "Channel ex-ch");
    assert_eq!(r.customer_name.as_deref(), Some("Customer ex-ext"));
    assert_eq!(r.customer_external_id, "ex-ext");
    assert_eq!(r.assignee_name.as_deref(), Some("Agent ex-a"));
    assert_eq!((r.previous_number, r.next_number), (Some(1), None));
    assert_eq!(r.case.message_count, 7);
    let mut filter = w.filter();
    filter.cursor = Some((r.case.created_at, r.case.id.clone()));
    let page = read_ok(store, "export page 2", move |tx| {
        Box::pin(async move { tx.export_cases("ex", &filter).await })
    })
    .await;
    assert_eq!(page.len(), 1);
    assert_eq!(
        (page[0].previous_number, page[0].next_number),
        (None, Some(2))
    );
    assert_eq!(page[0].assignee_name, None);
    let other = read_ok(store, "export of another account", |tx| {
        Box::pin(async move {
            tx.export_cases(
                "nobody",
                &crate::CaseFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
        })
    })
    .await;
    assert!(other.is_empty());
}

pub async fn seed_bulk_inserts_customers_cases_and_events(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "sd").await;
    let mut cu = customer("sd-cu9", "sd", "sd-ch", "ext9");
    cu.latest_case_id = Some(s("s2"));
    let mut s1 = w.case("s1", 1, 10);
    s1.customer_id = s("sd-cu9");
    let mut s2 = w.case("s2", 2, 20);
    s2.customer_id = s("sd-cu9");
    let batch = SeedBatch {
        customers: vec![cu],
        cases: vec![s1, s2],
        events: vec![
            event(&w, "se1", "s1", "created", vec![], 10),
            event(&w, "se2", "s2", "created", vec![], 20),
        ],
    };
    write_ok(store, "seed in bulk", move |tx| {
        Box::pin(async move { tx.seed_bulk(&batch).await })
    })
    .await;
    let (customer, cases, events): (_, Vec<CaseRecord>, _) =
        read_ok(store, "read the seed back", |tx| {
            Box::pin(async move {
                let customer = tx.get_customer("sd", "sd-cu9").await?;
                let filter = crate::CaseFilter {
                    limit: 10,
                    customer_id: Some(s("sd-cu9")),
                    ..Default::default()
                };
                let cases = tx.list_cases("sd", &filter).await?;
                let events = tx.list_events("sd", "s2").await?;
                Ok::<_, StoreError>((customer, cases, events))
            })
        })
        .await;
    assert_eq!(customer.latest_case_id.as_deref(), Some("s2"));
    assert_eq!(cases.len(), 2);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind.as_str(), "created");
}
