//! The web chat widget: channel settings, visitors and a customer's
//! conversation across cases.

use std::sync::Arc;

use super::fixtures::*;
use crate::{Store, VisitorRecord};

pub async fn widget_visitors_channels_and_conversations(store: Arc<dyn Store>) {
    let store = &*store;
    let a = world(store, "wid-a").await;
    world(store, "wid-b").await;
    // Channel settings: name, webhook and allowed origins change together.
    let mut ch = channel("wid-a-ch", "wid-a");
    ch.name = "Site chat".into();
    ch.webhook_url = None;
    ch.allowed_origins = vec!["https://a.example".into(), "http://localhost:3000".into()];
    let (c1, mut foreign) = (ch.clone(), ch.clone());
    foreign.account_id = "wid-b".into();
    write_ok(store, "update channel", move |tx| {
        Box::pin(async move { tx.update_channel(&c1).await })
    })
    .await;
    let got = read_ok(store, "channel", |tx| {
        Box::pin(async move { tx.find_channel("wid-a-ch").await })
    })
    .await;
    assert_eq!(got.as_ref(), Some(&ch), "every field kept");
    assert_not_found(
        "update through another account",
        try_write(store, move |tx| {
            Box::pin(async move { tx.update_channel(&foreign).await })
        })
        .await,
    );
    let mut open = ch.clone();
    open.allowed_origins.clear();
    let o = open.clone();
    write_ok(store, "clear origins", move |tx| {
        Box::pin(async move { tx.update_channel(&o).await })
    })
    .await;
    let got = read_ok(store, "channel", |tx| {
        Box::pin(async move { tx.find_channel("wid-a-ch").await })
    })
    .await;
    assert_eq!(got.map(|c| c.allowed_origins), Some(Vec::new()));

    // Visitors: found by token hash only; a hash is one visitor.
    let visitor = VisitorRecord {
        token_hash: "hash-1".into(),
        account_id: "wid-a".into(),
        channel_id: "wid-a-ch".into(),
        customer_id: "wid-a-cu".into(),
        created_at: t_micros(4, 9),
    };
    let (v1, v2) = (visitor.clone(), visitor.clone());
    write_ok(store, "insert visitor", move |tx| {
        Box::pin(async move { tx.insert_visitor(&v1).await })
    })
    .await;
    assert_conflict(
        "second visitor with the same hash",
        try_write(store, move |tx| {
            Box::pin(async move { tx.insert_visitor(&v2).await })
        })
        .await,
    );
    let (found, missing) = read_ok(store, "find visitor", |tx| {
        Box::pin(async move {
            Ok((
                tx.find_visitor("hash-1").await?,
                tx.find_visitor("hash-2").await?,
            ))
        })
    })
    .await;
    assert_eq!(found, Some(visitor));
    assert_eq!(missing, None);

    // The conversation: public messages of all the customer's cases, in
    // order, without notes, after a sequence number.
    insert_cases(store, vec![a.case("wc-1", 1, 10), a.case("wc-2", 2, 20)]).await;
    insert_messages(
        store,
        vec![
            a.message("wm-1", "wc-1", 10, "first"),
            a.reply("wm-2", "wc-1", 11, "answer"),
            a.reaction_note("wm-3", "wc-1", 12, "wm-2"),
            a.message("wm-4", "wc-2", 20, "second case"),
        ],
    )
    .await;
    let (all, later, limited, foreign) = read_ok(store, "conversation", |tx| {
        Box::pin(async move {
            let all = tx
                .list_customer_messages("wid-a", "wid-a-cu", 0, 100)
                .await?;
            let after = all.first().map(|m| m.seq).unwrap_or_default();
            Ok((
                all,
                tx.list_customer_messages("wid-a", "wid-a-cu", after, 100)
                    .await?,
                tx.list_customer_messages("wid-a", "wid-a-cu", 0, 2).await?,
                tx.list_customer_messages("wid-b", "wid-a-cu", 0, 100)
                    .await?,
            ))
        })
    })
    .await;
    let ids = |v: &[crate::MessageRecord]| v.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&all),
        ["wm-1", "wm-2", "wm-4"],
        "no notes, across cases"
    );
    assert_eq!(ids(&later), ["wm-2", "wm-4"]);
    assert_eq!(ids(&limited), ["wm-1", "wm-2"]);
    assert!(foreign.is_empty(), "scoped by account");
}
