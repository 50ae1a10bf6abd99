//! Limits several servers share: entries count against their key until
//! they expire, and concurrent units of work never let one more through.

use std::sync::Arc;

use super::concurrency::within;
use super::fixtures::*;
use crate::{LimitEntries, LimitEntry, Store};

fn entry(id: &str, key: &str, tag: Option<&str>, expires: i64) -> LimitEntry {
    LimitEntry {
        id: id.to_owned(),
        key: key.to_owned(),
        tag: tag.map(str::to_owned),
        expires_at: t(expires),
    }
}

async fn take(
    store: &dyn Store,
    e: LimitEntry,
    max: i64,
    now: i64,
) -> Option<casedesk_domain::Time> {
    write_ok(store, "take a limit entry", move |tx| {
        Box::pin(async move { tx.take_limit(&e, max, t(now)).await })
    })
    .await
}

async fn count(store: &dyn Store, key: &str, now: i64) -> (i64, Option<casedesk_domain::Time>) {
    let key = key.to_owned();
    read_ok(store, "count a limit", move |tx| {
        Box::pin(async move { tx.count_limit(&key, t(now)).await })
    })
    .await
}

pub async fn limit_entries_count_until_they_expire(store: Arc<dyn Store>) {
    let s = &*store;
    // Three hits in a 10-second window at 0, 1 and 2 s.
    for i in 0..3 {
        let taken = take(s, entry(&format!("h{i}"), "ip:1", None, 10 + i), 3, i).await;
        assert_eq!(taken, None, "hit {i} of 3 is let through");
    }
    assert_eq!(
        take(s, entry("h3", "ip:1", None, 15), 3, 5).await,
        Some(t(10)),
        "a 4th hit is refused until the first expires"
    );
    assert_eq!(
        count(s, "ip:1", 5).await,
        (3, Some(t(10))),
        "the refused hit is not counted"
    );
    assert_eq!(
        take(s, entry("other", "ip:2", None, 15), 3, 5).await,
        None,
        "another key has its own count"
    );
    assert_eq!(
        take(s, entry("h4", "ip:1", None, 20), 3, 10).await,
        None,
        "once the first hit expired, one more is let through"
    );
    assert_eq!(count(s, "ip:1", 10).await, (3, Some(t(11))));
    assert_eq!(count(s, "nobody", 10).await, (0, None));

    // Leases: renewed while open, deleted when closed.
    for id in ["s1", "s2"] {
        assert_eq!(take(s, entry(id, "stream:a", None, 90), 2, 0).await, None);
    }
    let ids = vec!["s1".to_owned(), "s2".to_owned(), "gone".to_owned()];
    let renewed = write_ok(s, "renew", move |tx| {
        Box::pin(async move { tx.renew_limit_entries(&ids, t(200)).await })
    })
    .await;
    assert_eq!(renewed, 2, "the two kept leases are renewed");
    assert_eq!(
        count(s, "stream:a", 150).await.0,
        2,
        "renewed leases outlive their first expiry"
    );
    let closed = vec!["s1".to_owned()];
    let deleted = write_ok(s, "close", move |tx| {
        Box::pin(async move { tx.delete_limit_entries(LimitEntries::Ids(&closed)).await })
    })
    .await;
    assert_eq!(deleted, 1);
    assert_eq!(count(s, "stream:a", 150).await.0, 1);

    // Forgetting a key, and a tag across keys.
    take(
        s,
        entry("f1", "login:1.2.3.4:ann@x", Some("ann@x"), 900),
        5,
        0,
    )
    .await;
    take(
        s,
        entry("f2", "login:5.6.7.8:ann@x", Some("ann@x"), 900),
        5,
        0,
    )
    .await;
    take(
        s,
        entry("f3", "login:5.6.7.8:bob@x", Some("bob@x"), 900),
        5,
        0,
    )
    .await;
    let deleted = write_ok(s, "forget a tag", |tx| {
        Box::pin(async move { tx.delete_limit_entries(LimitEntries::Tag("ann@x")).await })
    })
    .await;
    assert_eq!(
        deleted, 2,
        "both addresses' entries of the tag are forgotten"
    );
    assert_eq!(
        count(s, "login:5.6.7.8:bob@x", 0).await.0,
        1,
        "other tags stay"
    );
    let deleted = write_ok(s, "forget a key", |tx| {
        Box::pin(async move { tx.delete_limit_entries(LimitEntries::Key("ip:2")).await })
    })
    .await;
    assert_eq!(deleted, 1);

    // Pruning deletes expired entries only, at most as many as asked.
    let pruned = write_ok(s, "prune", |tx| {
        Box::pin(async move { tx.prune_limit_entries(t(100), 1).await })
    })
    .await;
    assert_eq!(pruned, 1, "pruning deletes no more than its limit");
    let pruned = write_ok(s, "prune", |tx| {
        Box::pin(async move { tx.prune_limit_entries(t(100), 100).await })
    })
    .await;
    assert_eq!(pruned, 3, "the rest of the expired hits of ip:1");
    assert_eq!(
        count(s, "stream:a", 0).await.0,
        1,
        "a renewed lease is not pruned"
    );
    assert_eq!(count(s, "login:5.6.7.8:bob@x", 0).await.0, 1);
}

/// Forty units of work at once, each taking an entry of one key limited to
/// ten: exactly ten are let through, as several servers would see it.
pub async fn concurrent_limit_entries_never_pass_the_maximum(store: Arc<dyn Store>) {
    let takes = (0..40).map(|i| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            take(
                &*store,
                entry(&format!("c{i}"), "visitor:v", None, 10),
                10,
                0,
            )
            .await
        })
    });
    let taken = within("forty concurrent takes", futures::future::join_all(takes))
        .await
        .into_iter()
        .map(|r| r.expect("take task"))
        .filter(Option::is_none)
        .count();
    assert_eq!(taken, 10, "exactly the maximum is let through");
    assert_eq!(count(&*store, "visitor:v", 0).await.0, 10);
}
