//! The web chat widget: channel settings, visitors and a customer's
//! conversation across cases.

use std::sync::Arc;

use super::fixtures::*;
use crate::{AttachmentRecord, HelpTokenKind, HelpTokenRecord, Store, VisitorRecord};

pub async fn widget_visitors_channels_and_conversations(store: Arc<dyn Store>) {
    let store = &*store;
    let a = world(store, "wid-a").await;
    world(store, "wid-b").await;
    // Channel settings: name, webhook, allowed origins, turned off and
    // removed change together.
    let mut ch = channel("wid-a-ch", "wid-a");
    ch.name = "Site chat".into();
    ch.disabled_at = Some(t_micros(3, 1));
    ch.removed_at = Some(t_micros(3, 2));
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
        last_seen_at: t_micros(4, 9),
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
    assert_eq!(found, Some(visitor.clone()));
    assert_eq!(missing, None);
    // Use moves the last-seen time, nothing else.
    let seen = write_ok(store, "touch visitor", |tx| {
        Box::pin(async move {
            tx.touch_visitor("hash-1", t(40)).await?;
            tx.find_visitor("hash-1").await
        })
    })
    .await;
    assert_eq!(
        seen,
        Some(VisitorRecord {
            last_seen_at: t(40),
            ..visitor
        })
    );

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

pub async fn help_center_emails_and_tokens(store: Arc<dyn Store>) {
    let store = &*store;
    let a = world(store, "help-a").await;
    world(store, "help-b").await;
    // A second customer of the same person in another channel, and one of
    // another account with the same address.
    let (ch2, cu2) = (
        channel("help-a-ch2", "help-a"),
        customer("help-a-cu2", "help-a", "help-a-ch2", "tg-1"),
    );
    write_ok(store, "second channel", move |tx| {
        Box::pin(async move {
            tx.insert_channel(&ch2).await?;
            tx.upsert_customer_locked(&cu2).await?;
            tx.set_customer_email("help-a", "help-a-cu", Some("ann@example.com"))
                .await?;
            tx.set_customer_email("help-a", "help-a-cu2", Some("ann@example.com"))
                .await?;
            tx.set_customer_email("help-b", "help-b-cu", Some("ann@example.com"))
                .await
        })
    })
    .await;
    assert_not_found(
        "e-mail of another account's customer",
        try_write(store, |tx| {
            Box::pin(async move {
                tx.set_customer_email("help-b", "help-a-cu", Some("x@example.com"))
                    .await
            })
        })
        .await,
    );
    let (mine, none, got) = read_ok(store, "customers by e-mail", |tx| {
        Box::pin(async move {
            Ok((
                tx.list_customers_by_email("help-a", "ann@example.com")
                    .await?,
                tx.list_customers_by_email("help-a", "bob@example.com")
                    .await?,
                tx.get_customer("help-a", "help-a-cu").await?,
            ))
        })
    })
    .await;
    let ids: Vec<_> = mine.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["help-a-cu", "help-a-cu2"], "scoped by account");
    assert!(none.is_empty());
    assert_eq!(got.email.as_deref(), Some("ann@example.com"));
    write_ok(store, "clear e-mail", |tx| {
        Box::pin(async move { tx.set_customer_email("help-a", "help-a-cu2", None).await })
    })
    .await;

    // Tokens: found by hash, taken once, expired ones swept.
    let token = |hash: &str, kind, expires| HelpTokenRecord {
        token_hash: hash.into(),
        account_id: a.account_id.clone(),
        kind,
        email: Some("ann@example.com".into()),
        customer_id: Some(a.customer_id.clone()),
        created_at: t(10),
        expires_at: t(expires),
    };
    let link = token("link-1", HelpTokenKind::Link, 100);
    let session = token("session-1", HelpTokenKind::Session, 1000);
    let (l, s) = (link.clone(), session.clone());
    write_ok(store, "insert tokens", move |tx| {
        Box::pin(async move {
            tx.insert_help_token(&l).await?;
            tx.insert_help_token(&s).await
        })
    })
    .await;
    let dup = link.clone();
    assert_conflict(
        "same hash twice",
        try_write(store, move |tx| {
            Box::pin(async move { tx.insert_help_token(&dup).await })
        })
        .await,
    );
    let (found, taken, again, still) = write_ok(store, "take the link", |tx| {
        Box::pin(async move {
            Ok((
                tx.find_help_token("session-1").await?,
                tx.take_help_token("link-1").await?,
                tx.take_help_token("link-1").await?,
                tx.find_help_token("link-1").await?,
            ))
        })
    })
    .await;
    assert_eq!(found, Some(session.clone()), "every field kept");
    assert_eq!(taken, Some(link), "taken once");
    assert_eq!(again, None);
    assert_eq!(still, None);
    let swept = write_ok(store, "sweep", |tx| {
        Box::pin(async move {
            let none = tx.delete_expired_help_tokens(t(999)).await?;
            let one = tx.delete_expired_help_tokens(t(1001)).await?;
            Ok((none, one, tx.find_help_token("session-1").await?))
        })
    })
    .await;
    assert_eq!(swept, (0, 1, None));

    // Revoking a customer's sign-ins: their visitor tokens and every Help
    // Center token naming them or their address, in their account only.
    let visitor = VisitorRecord {
        token_hash: "help-v".into(),
        account_id: "help-a".into(),
        channel_id: "help-a-ch".into(),
        customer_id: "help-a-cu".into(),
        created_at: t(5),
        last_seen_at: t(5),
    };
    let by_mail = HelpTokenRecord {
        customer_id: None,
        ..token("s-mail", HelpTokenKind::Session, 5000)
    };
    let other = HelpTokenRecord {
        email: Some("zed@example.com".into()),
        customer_id: Some("help-a-cu2".into()),
        ..token("s-other", HelpTokenKind::Session, 5000)
    };
    let own = token("s-own", HelpTokenKind::Session, 5000);
    let revoked = write_ok(store, "revoke", move |tx| {
        Box::pin(async move {
            tx.insert_visitor(&visitor).await?;
            for t in [&by_mail, &other, &own] {
                tx.insert_help_token(t).await?;
            }
            let foreign = tx
                .revoke_customer_tokens("help-b", "help-a-cu", Some("ann@example.com"))
                .await?;
            let n = tx
                .revoke_customer_tokens("help-a", "help-a-cu", Some("ann@example.com"))
                .await?;
            Ok((
                foreign,
                n,
                tx.find_visitor("help-v").await?.is_none(),
                tx.find_help_token("s-mail").await?.is_none(),
                tx.find_help_token("s-own").await?.is_none(),
                tx.find_help_token("s-other").await?.is_some(),
            ))
        })
    })
    .await;
    assert_eq!(revoked, (0, 3, true, true, true, true));
}

pub async fn attachments_follow_their_message(store: Arc<dyn Store>) {
    let store = &*store;
    let a = world(store, "att-a").await;
    world(store, "att-b").await;
    insert_cases(store, vec![a.case("ac-1", 1, 10), a.case("ac-2", 2, 20)]).await;
    let msgs = insert_messages(
        store,
        vec![
            a.message("am-1", "ac-1", 10, "photo"),
            a.message("am-2", "ac-1", 11, "and the invoice"),
        ],
    )
    .await;
    let file = |id: &str, message_id: &str, at: i64| AttachmentRecord {
        id: id.into(),
        account_id: "att-a".into(),
        message_id: message_id.into(),
        filename: format!("{id}.png"),
        content_type: "image/png".into(),
        size_bytes: 1234,
        sha256: "ab".repeat(32),
        created_at: t(at),
    };
    let (f1, f2) = (file("af-1", "am-1", 10), file("af-2", "am-2", 11));
    let (w1, w2, dup) = (f1.clone(), f2.clone(), f1.clone());
    write_ok(store, "insert attachments", move |tx| {
        Box::pin(async move {
            tx.insert_attachment(&w1).await?;
            tx.insert_attachment(&w2).await
        })
    })
    .await;
    assert_conflict(
        "same id twice",
        try_write(store, move |tx| {
            Box::pin(async move { tx.insert_attachment(&dup).await })
        })
        .await,
    );
    let (got, listed) = read_ok(store, "attachments", |tx| {
        Box::pin(async move {
            Ok((
                tx.get_attachment("att-a", "af-1").await?,
                tx.list_case_attachments("ac-1").await?,
            ))
        })
    })
    .await;
    assert_eq!(got, f1, "every field kept");
    assert_eq!(listed, [f1.clone(), f2.clone()]);
    assert_not_found(
        "another account's attachment",
        try_read(store, |tx| {
            Box::pin(async move { tx.get_attachment("att-b", "af-1").await })
        })
        .await,
    );
    // A split moves the second message, and its file goes with it.
    let moving = vec![msgs[1].id.clone()];
    let (left, right) = write_ok(store, "split", move |tx| {
        Box::pin(async move {
            tx.move_messages("ac-1", "ac-2", &moving).await?;
            Ok((
                tx.list_case_attachments("ac-1").await?,
                tx.list_case_attachments("ac-2").await?,
            ))
        })
    })
    .await;
    assert_eq!((left, right), (vec![f1], vec![f2]));
}
