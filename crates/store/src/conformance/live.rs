//! The feed of change notices: written with a unit of work, read in order
//! of place, never a place passed before a notice can still appear there.

use std::sync::Arc;

use serde_json::json;

use super::concurrency::within;
use super::fixtures::*;
use crate::{Cursor, NoticeRecord, Store};

fn notice(account_id: &str, case_id: &str, kind: &str, at: i64) -> NoticeRecord {
    NoticeRecord {
        cursor: Cursor::default(),
        account_id: account_id.to_owned(),
        customer_id: format!("{account_id}-cust"),
        case_id: case_id.to_owned(),
        case_number: 1,
        kind: kind.to_owned(),
        data: json!({ "case": case_id, "text": "é ✓" }),
        created_at: t(at),
    }
}

async fn insert(store: &dyn Store, notices: Vec<NoticeRecord>) -> Vec<(String, Cursor)> {
    write_ok(store, "insert notices", move |tx| {
        Box::pin(async move { tx.insert_notices(&notices).await })
    })
    .await
}

/// The account's notices after `after` once at least `n` are listed: a
/// unit of work of another test on the same database server (PostgreSQL)
/// holds committed notices back until it ends, as it would a server's.
async fn list_at_least(
    store: &dyn Store,
    account: &str,
    after: Cursor,
    n: usize,
) -> Vec<NoticeRecord> {
    within("the committed notices listed", async {
        loop {
            let listed = list(store, account, after).await;
            if listed.len() >= n {
                return listed;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
}

async fn list(store: &dyn Store, account: &str, after: Cursor) -> Vec<NoticeRecord> {
    let account = account.to_owned();
    read_ok(store, "list notices", move |tx| {
        Box::pin(async move { tx.list_notices(&account, after, 100).await })
    })
    .await
}

async fn last(store: &dyn Store, account: &str) -> Cursor {
    let account = account.to_owned();
    read_ok(store, "last notice", move |tx| {
        Box::pin(async move { tx.last_notice(&account).await })
    })
    .await
}

async fn has(store: &dyn Store, account: &str, at: Cursor) -> bool {
    let account = account.to_owned();
    read_ok(store, "has notice", move |tx| {
        Box::pin(async move { tx.has_notice(&account, at).await })
    })
    .await
}

fn kinds(notices: &[NoticeRecord]) -> Vec<&str> {
    notices.iter().map(|n| n.kind.as_str()).collect()
}

pub async fn notices_are_read_in_order_of_place_and_pruned(store: Arc<dyn Store>) {
    assert_eq!(
        last(&*store, "acc-a").await,
        Cursor::default(),
        "no notice yet"
    );
    let placed = insert(
        &*store,
        vec![
            notice("acc-a", "c1", "case.created", 10),
            notice("acc-b", "c9", "case.created", 10),
            notice("acc-a", "c1", "message.created", 11),
        ],
    )
    .await;
    assert_eq!(placed.len(), 3, "a place for each notice");
    assert!(placed[0].1 < placed[2].1, "places grow: {placed:?}");
    let a = list_at_least(&*store, "acc-a", Cursor::default(), 2).await;
    assert_eq!(
        kinds(&a),
        ["case.created", "message.created"],
        "only account a's"
    );
    assert_eq!(
        a[0],
        NoticeRecord {
            cursor: placed[0].1,
            ..notice("acc-a", "c1", "case.created", 10)
        }
    );
    assert_eq!(a[1].cursor, placed[2].1);
    assert_eq!(last(&*store, "acc-a").await, placed[2].1);
    assert_eq!(
        list(&*store, "acc-a", placed[0].1).await.len(),
        1,
        "after a place"
    );
    assert!(
        list(&*store, "acc-a", placed[2].1).await.is_empty(),
        "nothing after the last"
    );
    assert!(has(&*store, "acc-a", placed[0].1).await);
    assert!(
        !has(&*store, "acc-b", placed[0].1).await,
        "a place of another account"
    );
    let text = placed[0].1.to_string();
    assert_eq!(text.parse::<Cursor>(), Ok(placed[0].1), "{text} reads back");
    for bad in [
        "",
        "1",
        "1-",
        "-1",
        "a-1",
        "1-2-3",
        "+1-2",
        "1- 2",
        "99999999999999999999-1",
    ] {
        assert!(bad.parse::<Cursor>().is_err(), "`{bad}` is no place");
    }

    // Later notices: pruning takes those written before its time, oldest
    // first, a limited number at once, and never the newest.
    insert(&*store, vec![notice("acc-a", "c2", "case.created", 20)]).await;
    list_at_least(&*store, "acc-a", placed[2].1, 1).await;
    let pruned = write_ok(&*store, "prune", |tx| {
        Box::pin(async move { tx.prune_notices(t(15), 2).await })
    })
    .await;
    assert_eq!(pruned, 2, "the two oldest of the three before the time");
    let pruned = write_ok(&*store, "prune again", |tx| {
        Box::pin(async move { tx.prune_notices(t(15), 100).await })
    })
    .await;
    assert_eq!(pruned, 1, "the third");
    assert!(!has(&*store, "acc-a", placed[0].1).await, "pruned");
    assert_eq!(
        kinds(&list(&*store, "acc-a", Cursor::default()).await),
        ["case.created"]
    );
    let pruned = write_ok(&*store, "prune all", |tx| {
        Box::pin(async move { tx.prune_notices(t(1000), 100).await })
    })
    .await;
    assert_eq!(pruned, 0, "the newest notice is kept");
    let newest = last(&*store, "acc-a").await;
    let next = insert(&*store, vec![notice("acc-a", "c3", "case.created", 30)]).await;
    assert!(next[0].1 > newest, "a place is never given out twice");
}

/// A unit of work still running holds back every notice written after it
/// began writing: a reader that passed them could never go back for its
/// notices when it commits.
pub async fn a_running_unit_of_work_holds_later_notices_back(store: Arc<dyn Store>) {
    let start = last(&*store, "acc-a").await;
    let (written, written_rx) = tokio::sync::oneshot::channel::<()>();
    let (go, go_rx) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn({
        let store = Arc::clone(&store);
        async move {
            write_ok(&*store, "the slow unit of work", move |tx| {
                Box::pin(async move {
                    tx.insert_notices(&[notice("acc-a", "c1", "first", 1)])
                        .await?;
                    let _ = written.send(());
                    let _ = go_rx.await;
                    Ok(())
                })
            })
            .await
        }
    });
    within("the first notice written", written_rx)
        .await
        .expect("the slow unit of work wrote");
    let second = tokio::spawn({
        let store = Arc::clone(&store);
        async move { insert(&*store, vec![notice("acc-a", "c2", "second", 2)]).await }
    });
    if store.backend() == "postgres" {
        // Concurrent writers: the second commits while the first runs.
        within("the second unit of work", second)
            .await
            .expect("second");
        assert!(
            list(&*store, "acc-a", start).await.is_empty(),
            "a notice after one of a running unit of work was listed"
        );
        assert_eq!(last(&*store, "acc-a").await, start, "nor is it the last");
        let _ = go.send(());
        within("the first unit of work", first)
            .await
            .expect("first");
    } else {
        // One writer: the second waits for the first.
        assert!(list(&*store, "acc-a", start).await.is_empty());
        let _ = go.send(());
        within("the first unit of work", first)
            .await
            .expect("first");
        within("the second unit of work", second)
            .await
            .expect("second");
    }
    let after = list_at_least(&*store, "acc-a", start, 2).await;
    assert_eq!(
        kinds(&after),
        ["first", "second"],
        "both, in the order they began writing"
    );
    assert_eq!(last(&*store, "acc-a").await, after[1].cursor);
}
