//! E-mail: letters stored once under their key, found again by the
//! Message-IDs a reply names, and a case found by its number.

use std::sync::Arc;

use super::fixtures::*;
use crate::{ChannelUpdate, LetterRecord, Store};

pub async fn letters_are_stored_once_and_found_by_their_thread(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let other = world(store, "acc-b").await;
    let letter = |id: i64, key: &str| {
        let mut u = ChannelUpdate::received(
            w.channel_id.clone(),
            w.account_id.clone(),
            id,
            s("ann@shop.example"),
            s("{}"),
            t(1),
        );
        u.key = Some(key.to_owned());
        u
    };
    let (first, again, next) = (
        letter(1, "m1@shop.example"),
        letter(2, "m1@shop.example"),
        letter(3, "m2@shop.example"),
    );
    let (untyped_a, untyped_b) = (
        ChannelUpdate::received(
            w.channel_id.clone(),
            w.account_id.clone(),
            4,
            s(""),
            s("{}"),
            t(1),
        ),
        ChannelUpdate::received(
            w.channel_id.clone(),
            w.account_id.clone(),
            5,
            s(""),
            s("{}"),
            t(1),
        ),
    );
    let stored = write_ok(store, "store letters", move |tx| {
        Box::pin(async move {
            let mut stored = Vec::new();
            for u in [&first, &again, &next, &untyped_a, &untyped_b] {
                stored.push(tx.insert_channel_update(u).await?);
            }
            Ok(stored)
        })
    })
    .await;
    assert_eq!(
        stored,
        [true, false, true, true, true],
        "the same key twice is one letter; updates without a key never conflict"
    );
    let (channel, account) = (w.channel_id.clone(), w.account_id.clone());
    let (a, b) = write_ok(store, "new update ids", move |tx| {
        Box::pin(async move {
            let a = tx.next_update_id(&channel).await?;
            let mut u = ChannelUpdate::received(channel.clone(), account, a, s(""), s("{}"), t(2));
            u.key = Some(s("m3@shop.example"));
            tx.insert_channel_update(&u).await?;
            Ok((a, tx.next_update_id(&channel).await?))
        })
    })
    .await;
    assert!(
        a > 5 && b > a,
        "above every id the channel has: {a}, then {b}"
    );

    let (wc, oc) = (w.clone(), other.clone());
    write_ok(store, "messages and a letter", move |tx| {
        Box::pin(async move {
            for (world, case_id, number) in [(&wc, "case-1", 7), (&oc, "case-2", 7)] {
                tx.insert_case(&world.case(case_id, number, 1)).await?;
                let mut m = world.message(&format!("{case_id}-m"), case_id, 2, "hello");
                m.channel_message_id = Some(s("m1@shop.example"));
                m.seq = tx.next_message_seq().await?;
                tx.insert_message(&m).await?;
            }
            let mut reply = wc.reply("case-1-r", "case-1", 3, "answer");
            reply.channel_message_id = Some(s("ours-1@desk.example"));
            reply.seq = tx.next_message_seq().await?;
            tx.insert_message(&reply).await?;
            tx.insert_letter(&LetterRecord {
                message_id: s("case-1-m"),
                account_id: wc.account_id.clone(),
                subject: s("Order"),
                from_address: s("ann@shop.example"),
                recipients: vec![s("support@desk.example"), s("bob@x.example")],
                html: Some(s("<p>hello</p>")),
                automatic: None,
                raw_file: Some(s("raw-1")),
                created_at: t(2),
            })
            .await
        })
    })
    .await;

    let channel = w.channel_id.clone();
    let found = read_ok(store, "find by thread", move |tx| {
        Box::pin(async move {
            tx.find_messages_by_channel_ids(
                &[channel],
                &[
                    s("nothing@x"),
                    s("ours-1@desk.example"),
                    s("m1@shop.example"),
                ],
            )
            .await
        })
    })
    .await;
    assert_eq!(
        found.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["case-1-m", "case-1-r"],
        "the channel's messages under any of the ids, oldest first; another account's never"
    );
    let none = read_ok(store, "find nothing", |tx| {
        Box::pin(async move {
            tx.find_messages_by_channel_ids(&[], &[s("m1@shop.example")])
                .await
        })
    })
    .await;
    assert!(none.is_empty());

    let (account, other_account) = (w.account_id.clone(), other.account_id.clone());
    let (mine, theirs, missing, letters) = read_ok(store, "cases by number", move |tx| {
        Box::pin(async move {
            Ok((
                tx.find_case_by_number(&account, 7).await?,
                tx.find_case_by_number(&other_account, 7).await?,
                tx.find_case_by_number(&account, 8).await?,
                tx.list_case_letters(&account, "case-1").await?,
            ))
        })
    })
    .await;
    assert_eq!(mine.map(|c| c.id).as_deref(), Some("case-1"));
    assert_eq!(theirs.map(|c| c.id).as_deref(), Some("case-2"));
    assert!(missing.is_none());
    assert_eq!(letters.len(), 1, "only messages that are letters have one");
    assert_eq!(
        letters[0].recipients,
        [s("support@desk.example"), s("bob@x.example")]
    );
    assert_eq!(letters[0].html.as_deref(), Some("<p>hello</p>"));
}

pub async fn one_persons_profiles_link_and_unlink(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let other = world(store, "acc-b").await;
    let (acc, ch) = (w.account_id.clone(), w.channel_id.clone());
    write_ok(store, "two more profiles", move |tx| {
        Box::pin(async move {
            for (id, ext) in [("cu-tg", "tg-1"), ("cu-web", "web-1")] {
                tx.upsert_customer_locked(&customer(id, &acc, &ch, ext))
                    .await?;
            }
            Ok(())
        })
    })
    .await;
    let linked = |id: &'static str| {
        let acc = w.account_id.clone();
        async move {
            read_ok(store, "linked", move |tx| {
                Box::pin(async move { tx.list_linked_customers(&acc, id).await })
            })
            .await
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
        }
    };
    let main = w.customer_id.clone();
    assert_eq!(linked("cu-tg").await, ["cu-tg"], "alone before any link");
    let (acc, m) = (w.account_id.clone(), main.clone());
    let (first, second) = write_ok(store, "link", move |tx| {
        Box::pin(async move {
            let first = tx.link_customers(&acc, &m, "cu-tg").await?;
            let second = tx.link_customers(&acc, "cu-web", "cu-tg").await?;
            Ok((first, second))
        })
    })
    .await;
    assert_eq!(first, second, "one person");
    let mut all = vec![main.clone(), s("cu-tg"), s("cu-web")];
    all.sort();
    let mut got = linked("cu-web").await;
    got.sort();
    assert_eq!(got, all);
    let acc = w.account_id.clone();
    let (unlinked, again) = write_ok(store, "unlink", move |tx| {
        Box::pin(async move {
            Ok((
                tx.unlink_customer(&acc, "cu-tg").await?,
                tx.unlink_customer(&acc, "cu-tg").await?,
            ))
        })
    })
    .await;
    assert!(unlinked && !again);
    assert_eq!(linked("cu-tg").await, ["cu-tg"]);
    let mut rest = linked("cu-web").await;
    rest.sort();
    let mut want = vec![main.clone(), s("cu-web")];
    want.sort();
    assert_eq!(rest, want);
    let (acc, theirs) = (w.account_id.clone(), other.customer_id.clone());
    assert_not_found(
        "another account's profile",
        try_write(store, move |tx| {
            Box::pin(async move { tx.link_customers(&acc, "cu-web", &theirs).await })
        })
        .await,
    );
}

pub async fn automatic_replies_to_a_customer_are_counted(store: Arc<dyn Store>) {
    use crate::{OutboxItem, OutboxOutcome, OutboxUpdate};
    use casedesk_domain::AuthorType;
    let store = &*store;
    let w = world(store, "acc-a").await;
    let other = world(store, "acc-b").await;
    let (wc, oc) = (w.clone(), other.clone());
    write_ok(store, "replies and their deliveries", move |tx| {
        Box::pin(async move {
            for (world, case_id) in [(&wc, "case-1"), (&oc, "case-2")] {
                tx.insert_case(&world.case(case_id, 1, 1)).await?;
                for (n, (author, delivered_at)) in [
                    (AuthorType::System, Some(10)),
                    (AuthorType::System, Some(20)),
                    (AuthorType::System, None),
                    (AuthorType::Agent, Some(20)),
                ]
                .into_iter()
                .enumerate()
                {
                    let mut m = world.reply(&format!("{case_id}-m{n}"), case_id, 2, "auto");
                    m.author_type = author;
                    m.seq = tx.next_message_seq().await?;
                    tx.insert_message(&m).await?;
                    let id = format!("{case_id}-o{n}");
                    tx.insert_outbox(&OutboxItem::queued(
                        id.clone(),
                        world.account_id.clone(),
                        world.channel_id.clone(),
                        m.id.clone(),
                        s("email"),
                        s("{}"),
                        t(2),
                    ))
                    .await?;
                    if let Some(at) = delivered_at {
                        tx.finish_outbox(&OutboxUpdate {
                            id,
                            attempts: 1,
                            outcome: OutboxOutcome::Delivered,
                            last_error: None,
                            now: t(at),
                        })
                        .await?;
                    }
                }
            }
            Ok(())
        })
    })
    .await;
    let (acc, cu) = (w.account_id.clone(), w.customer_id.clone());
    let counts = read_ok(store, "count", move |tx| {
        Box::pin(async move {
            Ok((
                tx.count_automatic_replies(&acc, &cu, t(5)).await?,
                tx.count_automatic_replies(&acc, &cu, t(15)).await?,
                tx.count_automatic_replies(&acc, &cu, t(25)).await?,
            ))
        })
    })
    .await;
    assert_eq!(
        counts,
        (2, 1, 0),
        "delivered rule replies since then; not an agent's, not undelivered, not another account's"
    );
}
