//! Messenger channels: secrets, raw updates in each chat's order, the
//! long-polling lease.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::concurrency::within;
use super::fixtures::*;
use crate::{
    CaseFilter, ChannelSecretRecord, ChannelUpdate, OutboxItem, PollPosition, Store, StoreError,
    UpdateFinish, UpdateOutcome, UpdateState, write,
};

fn update(w: &World, update_id: i64, chat: &str, at: i64) -> ChannelUpdate {
    ChannelUpdate::received(
        w.channel_id.clone(),
        w.account_id.clone(),
        update_id,
        s(chat),
        format!("{{\"update_id\":{update_id}}}"),
        t(at),
    )
}

fn finish(u: &ChannelUpdate, outcome: UpdateOutcome, now: i64) -> UpdateFinish {
    UpdateFinish {
        channel_id: u.channel_id.clone(),
        update_id: u.update_id,
        attempts: u.attempts + 1,
        outcome,
        last_error: match outcome {
            UpdateOutcome::Processed => None,
            _ => Some(s("no such chat")),
        },
        now: t(now),
    }
}

async fn insert(store: &dyn Store, updates: Vec<ChannelUpdate>) -> Vec<bool> {
    write_ok(store, "insert updates", move |tx| {
        Box::pin(async move {
            let mut stored = Vec::new();
            for u in &updates {
                stored.push(tx.insert_channel_update(u).await?);
            }
            Ok(stored)
        })
    })
    .await
}

async fn claim(store: &dyn Store, now: i64) -> Vec<(String, i64)> {
    write_ok(store, "claim updates", move |tx| {
        Box::pin(async move { tx.claim_channel_updates(t(now), t(now), 100).await })
    })
    .await
    .into_iter()
    .map(|u| (u.chat_key, u.update_id))
    .collect()
}

/// Claims at `now` and finishes every claimed update with `outcome`.
async fn claim_and_finish(store: &dyn Store, now: i64, outcome: UpdateOutcome) -> Vec<i64> {
    write_ok(store, "claim and finish updates", move |tx| {
        Box::pin(async move {
            let claimed = tx.claim_channel_updates(t(now), t(now), 100).await?;
            for u in &claimed {
                tx.finish_channel_update(&finish(u, outcome, now)).await?;
            }
            Ok(claimed.iter().map(|u| u.update_id).collect())
        })
    })
    .await
}

async fn listed(store: &dyn Store, w: &World, state: Option<UpdateState>) -> Vec<i64> {
    let (account_id, channel_id) = (w.account_id.clone(), w.channel_id.clone());
    read_ok(store, "list updates", move |tx| {
        Box::pin(async move {
            tx.list_channel_updates(&account_id, &channel_id, state, 100)
                .await
        })
    })
    .await
    .into_iter()
    .map(|u| u.update_id)
    .collect()
}

pub async fn channel_secrets_round_trip_and_stay_out_of_debug(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let mut secret = ChannelSecretRecord {
        channel_id: w.channel_id.clone(),
        account_id: w.account_id.clone(),
        secret: s("123456:bot-token"),
        webhook_secret: s("hook-secret"),
        settings: serde_json::json!({"username": "shop_bot"}),
        created_at: t(1),
        updated_at: t(1),
    };
    assert!(
        !format!("{secret:?}").contains("bot-token"),
        "Debug hides the token"
    );
    assert!(
        !format!("{secret:?}").contains("hook-secret"),
        "and the hook secret"
    );
    let stored = secret.clone();
    write_ok(store, "store secret", move |tx| {
        Box::pin(async move { tx.upsert_channel_secret(&stored).await })
    })
    .await;
    secret.secret = s("654321:new-token");
    secret.updated_at = t(2);
    let stored = secret.clone();
    write_ok(store, "replace secret", move |tx| {
        Box::pin(async move { tx.upsert_channel_secret(&stored).await })
    })
    .await;
    let channel_id = w.channel_id.clone();
    let got = read_ok(store, "get secret", move |tx| {
        Box::pin(async move { tx.get_channel_secret(&channel_id).await })
    })
    .await;
    assert_eq!(got, Some(secret), "the replaced secret, created_at kept");
    let got = read_ok(store, "get no secret", |tx| {
        Box::pin(async move { tx.get_channel_secret("no-such-channel").await })
    })
    .await;
    assert_eq!(got, None);
}

pub async fn channel_updates_are_stored_once_and_claimed_in_each_chats_order(
    store: Arc<dyn Store>,
) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    // Chat A's 40 updates arrive in reverse order, chat B's in order.
    let mut updates: Vec<_> = (1..=40).rev().map(|i| update(&w, i * 2, "A", 10)).collect();
    updates.extend((1..=3).map(|i| update(&w, i * 2 + 1, "B", 10)));
    assert!(insert(store, updates).await.iter().all(|&new| new));
    let again = vec![update(&w, 2, "A", 11), update(&w, 80, "A", 11)];
    assert_eq!(
        insert(store, again).await,
        [false, false],
        "a redelivered update is stored once"
    );
    assert_eq!(
        claim(store, 10).await,
        [(s("A"), 2), (s("B"), 3)],
        "the earliest pending update of each chat"
    );
    assert!(
        claim(store, 9).await.is_empty(),
        "nothing is due before it was received"
    );
    // Chat A's first update fails and is retried later: its chat waits,
    // chat B goes on.
    write_ok(store, "retry A's first update", |tx| {
        Box::pin(async move {
            let first = tx.claim_channel_updates(t(10), t(10), 1).await?;
            assert_eq!(first.len(), 1);
            tx.finish_channel_update(&finish(&first[0], UpdateOutcome::Retry(t(500)), 10))
                .await
        })
    })
    .await;
    assert_eq!(
        claim(store, 20).await,
        [(s("B"), 3)],
        "A waits for its retry"
    );
    let next = read_ok(store, "next due", |tx| {
        Box::pin(async move { tx.next_channel_update_at().await })
    })
    .await;
    assert_eq!(next, Some(t(10)), "B's updates are due");
    let b = claim_and_finish(store, 20, UpdateOutcome::Processed).await;
    assert_eq!(b, [3]);
    let a_retried = write_ok(store, "claim the retry", |tx| {
        Box::pin(async move { tx.claim_channel_updates(t(500), t(500), 100).await })
    })
    .await;
    let a = a_retried
        .iter()
        .find(|u| u.chat_key == "A")
        .expect("A's first update is due again");
    assert_eq!(
        (a.update_id, a.attempts),
        (2, 1),
        "with its attempt counted"
    );
    assert_eq!(a.last_error.as_deref(), Some("no such chat"));
    // Given up on, it no longer holds its chat back.
    let failed = a.clone();
    write_ok(store, "give up A's first update", move |tx| {
        Box::pin(async move {
            tx.finish_channel_update(&finish(&failed, UpdateOutcome::Failed, 500))
                .await
        })
    })
    .await;
    let mut order = Vec::new();
    loop {
        let done = claim_and_finish(store, 600, UpdateOutcome::Processed).await;
        if done.is_empty() {
            break;
        }
        order.extend(done);
    }
    let chat_a: Vec<i64> = order.iter().copied().filter(|id| id % 2 == 0).collect();
    assert_eq!(
        chat_a,
        (2..=40).map(|i| i * 2).collect::<Vec<_>>(),
        "A in order"
    );
    assert_eq!(listed(store, &w, Some(UpdateState::Failed)).await, [2]);
    assert!(
        listed(store, &w, Some(UpdateState::Pending))
            .await
            .is_empty()
    );
    assert_eq!(
        listed(store, &w, None).await.len(),
        43,
        "every update listed"
    );
    let missing = UpdateFinish {
        update_id: 999,
        ..finish(&update(&w, 999, "A", 0), UpdateOutcome::Processed, 1)
    };
    let result = write(store, move |tx| {
        Box::pin(async move { tx.finish_channel_update(&missing).await })
    })
    .await;
    assert_not_found("finish an unknown update", result);
}

pub async fn one_server_at_a_time_holds_a_bots_poll(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let lease = |holder: &'static str, now: i64| {
        let channel_id = w.channel_id.clone();
        async move {
            write_ok(store, "lease", move |tx| {
                Box::pin(async move {
                    Ok(tx
                        .lease_channel_poll(&channel_id, holder, t(now), t(now + 30))
                        .await?
                        .map(|p| p.next_offset))
                })
            })
            .await
        }
    };
    let save = |holder: &'static str, offset: i64| {
        let channel_id = w.channel_id.clone();
        async move {
            write_ok(store, "save offset", move |tx| {
                Box::pin(async move {
                    tx.save_channel_poll_offset(&channel_id, holder, offset)
                        .await
                })
            })
            .await
        }
    };
    assert_eq!(lease("server-1", 0).await, Some(0), "a free bot is taken");
    assert_eq!(lease("server-2", 10).await, None, "held by another server");
    assert!(save("server-1", 42).await, "the holder saves its offset");
    assert!(!save("server-2", 7).await, "another server cannot");
    assert_eq!(lease("server-1", 20).await, Some(42), "the holder renews");
    assert_eq!(lease("server-2", 49).await, None, "renewed until 50");
    assert_eq!(
        lease("server-2", 50).await,
        Some(42),
        "an expired lease is taken over, with the offset"
    );
    assert!(!save("server-1", 43).await, "the old holder has lost it");
}

/// Two workers claim and process one chat's updates at once: each update
/// is processed exactly once, and the chat's in order.
pub async fn concurrent_update_workers_keep_each_chats_order(store: Arc<dyn Store>) {
    let w = world(&*store, "acc-a").await;
    let updates: Vec<_> = (1..=30)
        .map(|i| update(&w, i, if i % 3 == 0 { "B" } else { "A" }, 0))
        .collect();
    insert(&*store, updates).await;
    // What each job processed, logged as it happens (the order that counts),
    // and which jobs committed (only their work took effect).
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let committed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let jobs = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (store, log, committed, jobs) = (
                Arc::clone(&store),
                Arc::clone(&log),
                Arc::clone(&committed),
                Arc::clone(&jobs),
            );
            tokio::spawn(async move {
                loop {
                    let job = jobs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let log = Arc::clone(&log);
                    let done = write(&*store, move |tx| {
                        Box::pin(async move {
                            let claimed = tx.claim_channel_updates(t(100), t(100), 2).await?;
                            for u in &claimed {
                                // jobs may only await their Tx
                                std::thread::sleep(Duration::from_millis(3));
                                log.lock().expect("log").push((
                                    job,
                                    u.chat_key.clone(),
                                    u.update_id,
                                ));
                                tx.finish_channel_update(&finish(u, UpdateOutcome::Processed, 100))
                                    .await?;
                            }
                            Ok::<_, StoreError>(claimed.len())
                        })
                    })
                    .await;
                    match done {
                        // Nothing claimable: done, unless the other worker
                        // holds what is left (then try again shortly).
                        Ok(0) => {
                            let left = read_ok(&*store, "pending updates", |tx| {
                                Box::pin(async move { tx.next_channel_update_at().await })
                            })
                            .await;
                            if left.is_none() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        Ok(_) => committed.lock().expect("committed").push(job),
                        // A serialization conflict is the job's to retry.
                        Err(StoreError::Conflict(_)) => {}
                        Err(e) => panic!("update worker failed: {e}"),
                    }
                }
            })
        })
        .collect();
    for worker in within("two update workers", futures::future::join_all(workers)).await {
        worker.expect("an update worker panicked");
    }
    let committed = committed.lock().expect("committed").clone();
    let log: Vec<(String, i64)> = log
        .lock()
        .expect("log")
        .iter()
        .filter(|(job, _, _)| committed.contains(job))
        .map(|(_, chat, id)| (chat.clone(), *id))
        .collect();
    let mut per_chat: HashMap<String, Vec<i64>> = HashMap::new();
    for (chat, id) in &log {
        per_chat.entry(chat.clone()).or_default().push(*id);
    }
    assert_eq!(log.len(), 30, "each update processed once: {log:?}");
    for (chat, ids) in per_chat {
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "chat {chat} processed out of order");
    }
}

/// What a messenger channel does to stored messages and updates: a
/// customer's edit (the search follows the new text), the id a sent reply
/// got, an album's further parts, a failed update retried by an admin,
/// an offset that never goes back, and a case's deliveries.
pub async fn messenger_edits_albums_requeues_and_deliveries(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    insert_cases(store, vec![w.case("c1", 1, 10)]).await;
    let reply = w.reply("r1", "c1", 11, "We are on it");
    insert_messages(
        store,
        vec![w.message("m1", "c1", 10, "Where is my parcel?"), reply],
    )
    .await;
    write_ok(store, "edit", |tx| {
        Box::pin(async move {
            tx.edit_message_text("acc-a", "m1", "Where is my ORDER?", t(20))
                .await?;
            tx.set_message_channel_id("r1", "42:1001").await
        })
    })
    .await;
    let (edited, sent) = read_ok(store, "read back", |tx| {
        Box::pin(async move {
            Ok((
                tx.get_message("acc-a", "m1").await?,
                tx.find_message_by_channel_id("acc-a-ch", "42:1001").await?,
            ))
        })
    })
    .await;
    assert_eq!(edited.text, "Where is my ORDER?");
    assert_eq!(edited.edited_at, Some(t(20)));
    assert_eq!(
        sent.map(|m| m.id),
        Some(s("r1")),
        "a sent reply is found by its channel id"
    );
    let search = |q: &str| CaseFilter {
        q: Some(s(q)),
        limit: 100,
        ..CaseFilter::default()
    };
    assert_eq!(list_case_ids(store, "acc-a", search("order")).await, ["c1"]);
    assert!(
        list_case_ids(store, "acc-a", search("parcel"))
            .await
            .is_empty(),
        "the old text is no longer searched"
    );
    let result = try_write(store, |tx| {
        Box::pin(async move { tx.edit_message_text("acc-b", "m1", "x", t(21)).await })
    })
    .await;
    assert_not_found("edit another account's message", result);

    // An album: the parts after the first, in order, pending ones only.
    insert(
        store,
        vec![
            update(&w, 5, "A", 30),
            update(&w, 7, "A", 30),
            update(&w, 6, "A", 30),
            update(&w, 8, "B", 30),
        ],
    )
    .await;
    let done = update(&w, 7, "A", 30);
    write_ok(store, "process 7", move |tx| {
        Box::pin(async move {
            tx.finish_channel_update(&finish(&done, UpdateOutcome::Processed, 30))
                .await
        })
    })
    .await;
    let channel_id = w.channel_id.clone();
    let parts = read_ok(store, "album parts", move |tx| {
        Box::pin(async move { tx.list_pending_chat_updates(&channel_id, "A", 5, 10).await })
    })
    .await;
    assert_eq!(
        parts.iter().map(|u| u.update_id).collect::<Vec<_>>(),
        [6],
        "pending parts of chat A after 5"
    );

    // A failed update is requeued by an admin, once.
    let failed = update(&w, 5, "A", 30);
    write_ok(store, "fail 5", move |tx| {
        Box::pin(async move {
            tx.finish_channel_update(&finish(&failed, UpdateOutcome::Failed, 31))
                .await
        })
    })
    .await;
    let requeue = |account: &'static str| {
        let channel_id = w.channel_id.clone();
        async move {
            write_ok(store, "requeue", move |tx| {
                Box::pin(async move {
                    tx.requeue_channel_update(account, &channel_id, 5, t(40))
                        .await
                })
            })
            .await
        }
    };
    assert!(!requeue("acc-b").await, "not another account's");
    assert!(requeue("acc-a").await);
    assert!(!requeue("acc-a").await, "no longer failed");
    let leased = write_ok(store, "lease", |tx| {
        Box::pin(async move { tx.claim_channel_updates(t(40), t(100), 10).await })
    })
    .await;
    assert!(
        leased
            .iter()
            .any(|u| u.update_id == 5 && u.next_attempt_at == t(100)),
        "due again and leased: {leased:?}"
    );
    assert!(
        !claim(store, 99).await.contains(&(s("A"), 5)),
        "a leased update waits for its lease"
    );
    assert!(claim(store, 100).await.contains(&(s("A"), 5)));

    // The poll offset only moves forward.
    let channel_id = w.channel_id.clone();
    let offset = write_ok(store, "offsets", move |tx| {
        Box::pin(async move {
            tx.lease_channel_poll(&channel_id, "p", t(0), t(30)).await?;
            tx.save_channel_poll_offset(&channel_id, "p", 50).await?;
            tx.save_channel_poll_offset(&channel_id, "p", 40).await?;
            tx.lease_channel_poll(&channel_id, "p", t(1), t(31)).await
        })
    })
    .await;
    assert_eq!(
        offset,
        Some(PollPosition {
            next_offset: 50,
            validity: None
        }),
        "an older round's offset does not win"
    );
    // A mailbox renumbered (a new UIDVALIDITY) starts over, backwards too;
    // only its holder may say so.
    let channel_id = w.channel_id.clone();
    let (reset, refused, position) = write_ok(store, "reset", move |tx| {
        Box::pin(async move {
            let reset = tx.reset_channel_poll(&channel_id, "p", 777, 1).await?;
            let refused = tx.reset_channel_poll(&channel_id, "q", 888, 9).await?;
            let position = tx.lease_channel_poll(&channel_id, "p", t(2), t(32)).await?;
            Ok((reset, refused, position))
        })
    })
    .await;
    assert!(reset && !refused);
    assert_eq!(
        position,
        Some(PollPosition {
            next_offset: 1,
            validity: Some(777)
        })
    );

    // Deliveries of the case's messages.
    let item = OutboxItem::queued(
        s("o1"),
        w.account_id.clone(),
        w.channel_id.clone(),
        s("r1"),
        String::new(),
        s("{}"),
        t(12),
    );
    write_ok(store, "queue", move |tx| {
        Box::pin(async move { tx.insert_outbox(&item).await })
    })
    .await;
    let deliveries = read_ok(store, "deliveries", |tx| {
        Box::pin(async move {
            Ok((
                tx.list_case_deliveries("acc-a", "c1").await?,
                tx.list_case_deliveries("acc-b", "c1").await?,
            ))
        })
    })
    .await;
    assert_eq!(
        deliveries
            .0
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        ["o1"]
    );
    assert!(deliveries.1.is_empty(), "not another account's");
}
