//! Every record type comes back as it was stored; failed jobs leave nothing.

use std::sync::Arc;

use casedesk_domain::{
    Actor, AuthorType, AutoFinishSettings, ChannelKind, ChatState, MessageKind, Reopen, Status,
};
use casedesk_domain::{CaseState, Change};

use super::fixtures::*;
use crate::{EventRecord, ReactionRecord, Store, StoreError, TokenRecord, write};

pub async fn accounts_agents_and_tokens_round_trip(store: Arc<dyn Store>) {
    let store = &*store;
    let n = read_ok(store, "count accounts", |tx| {
        Box::pin(async move { tx.count_accounts().await })
    })
    .await;
    assert_eq!(n, 0, "a fresh store has no accounts");

    let (a, mut b) = (account("acc-a"), account("acc-b"));
    b.business_hours = Some(
        serde_json::from_str(
            r#"{"mon":[["09:00","12:30"],["13:30","18:00"]],"sat":[["10:00","24:00"]]}"#,
        )
        .expect("valid hours"),
    );
    let (a2, b2) = (a.clone(), b.clone());
    write_ok(store, "insert accounts", move |tx| {
        Box::pin(async move {
            tx.insert_account(&a2).await?;
            tx.insert_account(&b2).await
        })
    })
    .await;
    let (got, n) = read_ok(store, "get account", |tx| {
        Box::pin(async move { Ok((tx.get_account("acc-a").await?, tx.count_accounts().await?)) })
    })
    .await;
    assert_eq!(got, a, "account round trip (times keep microseconds)");
    assert_eq!(n, 2);
    let got_b = read_ok(store, "get account b", |tx| {
        Box::pin(async move { tx.get_account("acc-b").await })
    })
    .await;
    assert_eq!(got_b, b, "business hours round trip");
    assert_not_found(
        "get_account of an unknown id",
        try_read(store, |tx| {
            Box::pin(async move { tx.get_account("nope").await })
        })
        .await,
    );

    let settings = AutoFinishSettings::new(120, 30).expect("valid settings");
    let got = write_ok(store, "update settings", move |tx| {
        Box::pin(async move {
            tx.update_account_settings("acc-a", settings).await?;
            tx.get_account("acc-a").await
        })
    })
    .await;
    assert_eq!(got.settings, settings, "settings were updated");
    let other = read_ok(store, "get account b", |tx| {
        Box::pin(async move { tx.get_account("acc-b").await })
    })
    .await;
    assert_eq!(
        other, b,
        "updating one account's settings leaves another alone"
    );

    agents_round_trip(store).await;
    tokens_round_trip(store).await;
}

async fn agents_round_trip(store: &dyn Store) {
    let first = agent("ag-2", "acc-a", "first@example.com");
    let mut second = agent("ag-1", "acc-a", "second@example.com");
    second.role = casedesk_domain::Role::Admin;
    second.created_at = t(5);
    let (f, s2) = (first.clone(), second.clone());
    write_ok(store, "insert agents", move |tx| {
        Box::pin(async move {
            tx.insert_agent(&f).await?;
            tx.insert_agent(&s2).await
        })
    })
    .await;
    let (got, by_email, missing, listed, other_account) = read_ok(store, "read agents", |tx| {
        Box::pin(async move {
            Ok((
                tx.get_agent("acc-a", "ag-2").await?,
                tx.find_agent_by_email("second@example.com").await?,
                tx.find_agent_by_email("nobody@example.com").await?,
                tx.list_agents("acc-a").await?,
                tx.list_agents("acc-b").await?,
            ))
        })
    })
    .await;
    assert_eq!(got, first, "agent round trip");
    assert_eq!(by_email, Some(second.clone()), "find_agent_by_email");
    assert_eq!(missing, None, "find_agent_by_email of an unknown email");
    assert_eq!(
        listed,
        vec![first.clone(), second],
        "list_agents in creation order"
    );
    assert!(other_account.is_empty(), "list_agents is scoped by account");
    assert_not_found(
        "get_agent with another account",
        try_read(store, |tx| {
            Box::pin(async move { tx.get_agent("acc-b", "ag-2").await })
        })
        .await,
    );

    let twin = agent("ag-3", "acc-b", "first@example.com");
    assert_conflict(
        "an agent with an email already used (in any account)",
        try_write(store, move |tx| {
            Box::pin(async move { tx.insert_agent(&twin).await })
        })
        .await,
    );
    let got = write_ok(store, "set password", |tx| {
        Box::pin(async move {
            tx.set_agent_password("ag-2", "new-hash").await?;
            tx.get_agent("acc-a", "ag-2").await
        })
    })
    .await;
    assert_eq!(got.password_hash, "new-hash", "set_agent_password");

    let mut changed = got.clone();
    changed.name = s("Renamed");
    changed.email = s("moved@example.com");
    changed.role = casedesk_domain::Role::Admin;
    changed.disabled_at = Some(t_micros(20, 3));
    changed.deleted_at = Some(t(21));
    let stored = changed.clone();
    let (read_back, old_email) = write_ok(store, "update agent", move |tx| {
        Box::pin(async move {
            tx.update_agent(&stored).await?;
            Ok((
                tx.get_agent("acc-a", "ag-2").await?,
                tx.find_agent_by_email("first@example.com").await?,
            ))
        })
    })
    .await;
    assert_eq!(
        read_back, changed,
        "update_agent writes every field but the password"
    );
    assert!(
        !read_back.active(),
        "a disabled or deleted agent is not active"
    );
    assert_eq!(old_email, None, "the old e-mail is free");
    let mut ghost = changed.clone();
    ghost.id = s("no-such-agent");
    assert_not_found(
        "update_agent of an unknown id",
        try_write(store, move |tx| {
            Box::pin(async move { tx.update_agent(&ghost).await })
        })
        .await,
    );
    let restored = got.clone();
    write_ok(store, "restore agent", move |tx| {
        Box::pin(async move { tx.update_agent(&restored).await })
    })
    .await;
}

async fn tokens_round_trip(store: &dyn Store) {
    let token = TokenRecord {
        token_hash: s("abc123"),
        account_id: s("acc-a"),
        agent_id: s("ag-2"),
        created_at: t(10),
        expires_at: t_micros(86_400, 7),
    };
    let stored = token.clone();
    let (found, missing) = write_ok(store, "insert token", move |tx| {
        Box::pin(async move {
            tx.insert_token(&stored).await?;
            Ok((tx.find_token("abc123").await?, tx.find_token("zzz").await?))
        })
    })
    .await;
    assert_eq!(found.as_ref(), Some(&token), "token round trip");
    assert_eq!(missing, None, "find_token of an unknown hash");
    let after = write_ok(store, "delete token", |tx| {
        Box::pin(async move {
            tx.delete_token("abc123").await?;
            tx.find_token("abc123").await
        })
    })
    .await;
    assert_eq!(after, None, "a deleted token is gone");

    let tokens: Vec<TokenRecord> = ["t1", "t2", "t3"]
        .iter()
        .map(|h| TokenRecord {
            token_hash: s(h),
            agent_id: s(if *h == "t3" { "ag-1" } else { "ag-2" }),
            ..token.clone()
        })
        .collect();
    let (ended, left, other) = write_ok(store, "delete agent tokens", move |tx| {
        Box::pin(async move {
            for t in &tokens {
                tx.insert_token(t).await?;
            }
            let ended = tx.delete_agent_tokens("ag-2").await?;
            Ok((
                ended,
                tx.find_token("t1").await?,
                tx.find_token("t3").await?,
            ))
        })
    })
    .await;
    assert_eq!(ended, 2, "delete_agent_tokens counts what it ended");
    assert_eq!(left, None, "the agent's tokens are gone");
    assert!(other.is_some(), "another agent's token stays");
}

pub async fn channels_and_customers_round_trip(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let other = world(store, "acc-b").await;
    let mut email = channel("acc-a-mail", "acc-a");
    email.kind = ChannelKind::Email;
    email.webhook_url = None;
    let stored = email.clone();
    let (found, missing, listed, listed_b) = write_ok(store, "channels", move |tx| {
        Box::pin(async move {
            tx.insert_channel(&stored).await?;
            Ok((
                tx.find_channel("acc-a-mail").await?,
                tx.find_channel("nope").await?,
                tx.list_channels("acc-a").await?,
                tx.list_channels("acc-b").await?,
            ))
        })
    })
    .await;
    assert_eq!(found, Some(email.clone()), "channel round trip");
    assert_eq!(missing, None, "find_channel of an unknown id");
    assert_eq!(
        listed,
        vec![channel("acc-a-ch", "acc-a"), email],
        "list_channels in creation order"
    );
    assert_eq!(listed_b.len(), 1, "list_channels is scoped by account");

    customers_upsert(store, &w).await;
    customers_latest_case(store, &w, &other).await;
}

async fn customers_upsert(store: &dyn Store, w: &World) {
    let mut expected = customer(&w.customer_id, &w.account_id, &w.channel_id, "acc-a-ext");
    let mut again = customer("another-id", &w.account_id, &w.channel_id, "acc-a-ext");
    again.created_at = t(99);
    let got = write_ok(store, "upsert an existing customer", move |tx| {
        Box::pin(async move { tx.upsert_customer_locked(&again).await })
    })
    .await;
    assert_eq!(
        got.id, w.customer_id,
        "upsert of a known identity returns the stored customer"
    );
    assert_eq!(
        got.created_at, expected.created_at,
        "upsert keeps the stored customer"
    );
    // A messenger that reports the customer's language: kept, and changed
    // when it reports another; a message without one keeps it.
    for (reported, kept) in [
        (Some("ru"), "ru"),
        (Some("pt-br"), "pt-br"),
        (None, "pt-br"),
    ] {
        let mut said = customer("yet-another", &w.account_id, &w.channel_id, "acc-a-ext");
        said.language = reported.map(str::to_owned);
        let got = write_ok(store, "upsert with a language", move |tx| {
            Box::pin(async move { tx.upsert_customer_locked(&said).await })
        })
        .await;
        assert_eq!(got.language.as_deref(), Some(kept), "after {reported:?}");
    }
    let (acc, id) = (w.account_id.clone(), w.customer_id.clone());
    let read_back = read_ok(store, "customer's language", move |tx| {
        Box::pin(async move { tx.get_customer(&acc, &id).await })
    })
    .await;
    assert_eq!(read_back.language.as_deref(), Some("pt-br"));
    expected.language = Some("pt-br".into());
    // The identity named through another account finds nothing and changes
    // nothing.
    let mut foreign = customer("cu-foreign", "acc-b", &w.channel_id, "acc-a-ext");
    foreign.name = Some("Mallory".into());
    foreign.language = Some("xx".into());
    assert_not_found(
        "upsert of a known identity through another account",
        try_write(store, move |tx| {
            Box::pin(async move { tx.upsert_customer_locked(&foreign).await })
        })
        .await,
    );
    let mut elsewhere = customer("cu-mail", &w.account_id, "acc-a-mail", "acc-a-ext");
    elsewhere.name = None;
    elsewhere.language = Some("en".into());
    let stored = elsewhere.clone();
    let got = write_ok(
        store,
        "upsert the same external id in another channel",
        move |tx| Box::pin(async move { tx.upsert_customer_locked(&stored).await }),
    )
    .await;
    assert_eq!(
        got, elsewhere,
        "an identity is per channel: a new customer round trips"
    );
    let (acc, id) = (w.account_id.clone(), w.customer_id.clone());
    let (got, locked) = write_ok(store, "get and lock customer", move |tx| {
        Box::pin(async move {
            Ok((
                tx.get_customer(&acc, &id).await?,
                tx.lock_customer(&acc, &id).await?,
            ))
        })
    })
    .await;
    assert_eq!(got, expected, "customer round trip");
    assert_eq!(locked, expected, "lock_customer returns the customer");
    assert_not_found(
        "lock_customer of an unknown id",
        try_write(store, |tx| {
            Box::pin(async move { tx.lock_customer("acc-a", "nope").await })
        })
        .await,
    );
}

async fn customers_latest_case(store: &dyn Store, w: &World, other: &World) {
    insert_cases(store, vec![w.case("case-1", 1, 10)]).await;
    let (acc, id) = (w.account_id.clone(), w.customer_id.clone());
    let (set, cleared) = write_ok(store, "set latest case", move |tx| {
        Box::pin(async move {
            tx.set_customer_latest_case(&id, Some("case-1")).await?;
            let set = tx.get_customer(&acc, &id).await?;
            tx.set_customer_latest_case(&id, None).await?;
            Ok((set, tx.get_customer(&acc, &id).await?))
        })
    })
    .await;
    assert_eq!(
        set.latest_case_id.as_deref(),
        Some("case-1"),
        "set_customer_latest_case"
    );
    assert_eq!(
        cleared.latest_case_id, None,
        "set_customer_latest_case(None)"
    );
    let (acc_b, id) = (other.account_id.clone(), w.customer_id.clone());
    assert_not_found(
        "get_customer with another account",
        try_read(store, move |tx| {
            Box::pin(async move { tx.get_customer(&acc_b, &id).await })
        })
        .await,
    );
}

pub async fn cases_round_trip_every_state_field(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let other = world(store, "acc-b").await;
    let fresh = w.case("case-1", 1, 10);
    let previous = w.case("case-0", 2, 5);
    let mut email = w.case("case-mail", 3, 12);
    email.state = CaseState::new_case(ChannelKind::Email);
    insert_cases(store, vec![fresh.clone(), previous, email.clone()]).await;
    assert_eq!(
        get_case(store, "acc-a", "case-1").await,
        fresh,
        "a new chat round trips"
    );
    assert_eq!(
        get_case(store, "acc-a", "case-mail").await,
        email,
        "a case without chat state round trips"
    );

    let mut changed = fresh.clone();
    changed.subject = s("Где мой заказ? 100% срочно");
    changed.state = CaseState {
        status: Status::Pending,
        chat_state: Some(ChatState::Active),
        finished_at: None,
        closed_at: Some(t_micros(30, 1)),
        reopen: Some(Reopen {
            from_seq: 42,
            status_before: Status::Pending,
            finished_at_before: Some(t_micros(20, 999_999)),
        }),
        last_public_author: Some(AuthorType::Agent),
        merged: false,
    };
    changed.assignee_id = Some(s("ag-1"));
    changed.updated_at = t(40);
    changed.last_activity_at = t_micros(41, 5);
    changed.previous_case_id = Some(s("case-0"));
    changed.next_case_id = Some(s("case-2"));
    changed.message_count = 7;
    changed.unread = true;
    changed.first_response_at = Some(t(15));
    update_case(store, changed.clone()).await;
    assert_eq!(
        get_case(store, "acc-a", "case-1").await,
        changed,
        "every updated field round trips"
    );

    changed.state.reopen = Some(Reopen {
        from_seq: 43,
        status_before: Status::Open,
        finished_at_before: None,
    });
    changed.state.chat_state = Some(ChatState::Finished);
    changed.state.finished_at = Some(t(50));
    update_case(store, changed.clone()).await;
    assert_eq!(
        get_case(store, "acc-a", "case-1").await,
        changed,
        "a reopen without finished_at round trips"
    );

    changed.state.reopen = None;
    changed.state.merged = true;
    changed.merged_into_id = Some(s("case-0"));
    changed.state.last_public_author = Some(AuthorType::Customer);
    update_case(store, changed.clone()).await;
    assert_eq!(
        get_case(store, "acc-a", "case-1").await,
        changed,
        "a merged case round trips"
    );

    case_write_errors(store, &w, &other, changed).await;
}

async fn case_write_errors(store: &dyn Store, w: &World, other: &World, case: crate::CaseRecord) {
    // It changes a column too: given the stored case, an update that
    // changes nothing writes nothing, and so finds nothing missing.
    let mut foreign = case.clone();
    foreign.account_id = other.account_id.clone();
    foreign.subject = s("through another account");
    let loaded = case.clone();
    assert_not_found(
        "update_case through another account",
        try_write(store, move |tx| {
            Box::pin(async move { tx.update_case(Some(&loaded), &foreign).await })
        })
        .await,
    );
    let mut ghost = case.clone();
    ghost.id = s("no-such-case");
    assert_not_found(
        "update_case of an unknown case",
        try_write(store, move |tx| {
            Box::pin(async move { tx.update_case(None, &ghost).await })
        })
        .await,
    );
    let twin = w.case("case-twin", case.number, 60);
    assert_conflict(
        "a second case with a number already used in the account",
        try_write(store, move |tx| {
            Box::pin(async move { tx.insert_case(&twin).await })
        })
        .await,
    );
    assert_eq!(
        get_case(store, "acc-a", "case-1").await,
        case,
        "failed writes changed nothing"
    );
}

pub async fn messages_reactions_and_events_round_trip(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    insert_cases(store, vec![w.case("case-1", 1, 0), w.case("case-2", 2, 0)]).await;
    let mut late_stamp = w.message("m-b", "case-1", 5, "sent earlier, arrived later");
    late_stamp.created_at = t_micros(5, 123_456);
    let mut system = w.message("m-c", "case-1", 10, "chat finished");
    system.kind = MessageKind::System;
    system.author_type = AuthorType::System;
    system.author_id = None;
    system.channel_message_id = None;
    let stored = insert_messages(
        store,
        vec![
            w.message("m-a", "case-1", 10, "hello"),
            late_stamp,
            system,
            w.reply("m-d", "case-1", 11, "hi, how can I help?"),
            w.reply("m-e", "case-1", 11, "second reply without channel id"),
        ],
    )
    .await;
    assert!(
        stored.windows(2).all(|p| p[0].seq < p[1].seq),
        "next_message_seq increases: {:?}",
        stored.iter().map(|m| m.seq).collect::<Vec<_>>()
    );
    let (listed, got, by_channel, unknown) = read_ok(store, "read messages", |tx| {
        Box::pin(async move {
            Ok((
                tx.list_messages("acc-a", "case-1").await?,
                tx.get_message("acc-a", "m-d").await?,
                tx.find_message_by_channel_id("acc-a-ch", "ext-m-a").await?,
                tx.find_message_by_channel_id("acc-a-ch", "ext-nope")
                    .await?,
            ))
        })
    })
    .await;
    let order = [1, 0, 2, 3, 4].map(|i| stored[i].clone()).to_vec();
    assert_eq!(listed, order, "list_messages orders by (created_at, seq)");
    assert_eq!(got, stored[3], "get_message round trip");
    assert_eq!(
        by_channel,
        Some(stored[0].clone()),
        "find_message_by_channel_id"
    );
    assert_eq!(unknown, None, "find_message_by_channel_id of an unknown id");

    duplicate_channel_message(store, &w).await;
    reactions_round_trip(store, &w).await;
    events_round_trip(store, &w).await;
}

async fn duplicate_channel_message(store: &dyn Store, w: &World) {
    let mut dup = w.message("m-dup", "case-2", 20, "redelivered");
    dup.channel_message_id = Some(s("ext-m-a"));
    let result = try_write(store, move |tx| {
        Box::pin(async move {
            dup.seq = tx.next_message_seq().await?;
            tx.insert_message(&dup).await
        })
    })
    .await;
    assert_conflict("a second message with the same channel message id", result);
    assert_not_found(
        "the refused duplicate",
        try_read(store, |tx| {
            Box::pin(async move { tx.get_message("acc-a", "m-dup").await })
        })
        .await,
    );
    assert!(
        message_ids(store, "acc-a", "case-2").await.is_empty(),
        "nothing stored for the duplicate"
    );
    let mut other_channel = w.message("m-other", "case-2", 20, "same id, other channel");
    other_channel.channel_message_id = Some(s("ext-m-a"));
    other_channel.channel_id = s("acc-a-ch2");
    let ch = channel("acc-a-ch2", "acc-a");
    write_ok(
        store,
        "same channel message id in another channel",
        move |tx| {
            Box::pin(async move {
                tx.insert_channel(&ch).await?;
                other_channel.seq = tx.next_message_seq().await?;
                tx.insert_message(&other_channel).await
            })
        },
    )
    .await;
}

async fn reactions_round_trip(store: &dyn Store, w: &World) {
    let notes = insert_messages(store, vec![w.reaction_note("n-1", "case-1", 12, "m-d")]).await;
    let reaction = ReactionRecord {
        id: s("r-1"),
        account_id: w.account_id.clone(),
        message_id: s("m-d"),
        customer_id: w.customer_id.clone(),
        emoji: s("👍"),
        note_id: s("n-1"),
        created_at: t(12),
    };
    let stored = reaction.clone();
    let (listed, elsewhere, note) = write_ok(store, "reactions", move |tx| {
        Box::pin(async move {
            tx.insert_reaction(&stored).await?;
            Ok((
                tx.list_reactions("case-1").await?,
                tx.list_reactions("case-2").await?,
                tx.get_message("acc-a", "n-1").await?,
            ))
        })
    })
    .await;
    assert_eq!(
        listed,
        vec![reaction],
        "list_reactions of the case holding the message"
    );
    assert!(elsewhere.is_empty(), "list_reactions of another case");
    assert_eq!(
        note, notes[0],
        "a reaction note round trips with its reacted message id"
    );
}

async fn events_round_trip(store: &dyn Store, w: &World) {
    let event = |id: &str, actor: Actor, changes: Vec<Change>| EventRecord {
        id: s(id),
        account_id: w.account_id.clone(),
        case_id: s("case-1"),
        kind: casedesk_domain::EventKind::Finished,
        actor,
        changes,
        data: serde_json::json!({"status": "pending", "nested": [1, "two", null]}),
        created_at: t(30),
    };
    let change = Change {
        field: casedesk_domain::Field::Status,
        before: Some(s("open")),
        after: Some(s("pending")),
    };
    let cleared = Change {
        field: casedesk_domain::Field::FinishedAt,
        before: None,
        after: None,
    };
    let first = event("ev-b", Actor::Agent(s("ag-1")), vec![change, cleared]);
    let mut second = event("ev-a", Actor::System(s("auto_finish")), vec![]);
    second.data = serde_json::Value::Null;
    let third = event("ev-c", Actor::Customer(w.customer_id.clone()), vec![]);
    let expected = vec![first.clone(), second.clone(), third.clone()];
    let listed = write_ok(store, "events", move |tx| {
        Box::pin(async move {
            tx.insert_event(&first).await?;
            tx.insert_event(&second).await?;
            tx.insert_event(&third).await?;
            tx.list_events("acc-a", "case-1").await
        })
    })
    .await;
    assert_eq!(
        listed, expected,
        "list_events in insertion order with actor, changes and data"
    );
    // An undo renames what an event counts as and completes its data.
    let data = serde_json::json!({"action": {"id": "x", "message_ids": ["m1"]}});
    let (listed, elsewhere) = write_ok(store, "event kind and data", {
        let data = data.clone();
        move |tx| {
            Box::pin(async move {
                tx.set_event_kind("acc-a", "ev-b", casedesk_domain::EventKind::SplitUndone)
                    .await?;
                tx.set_event_data("acc-a", "ev-b", &data).await?;
                let elsewhere = (
                    tx.set_event_kind("acc-other", "ev-b", casedesk_domain::EventKind::Split)
                        .await,
                    tx.set_event_data("acc-a", "ev-missing", &data).await,
                );
                Ok((tx.list_events("acc-a", "case-1").await?, elsewhere))
            })
        }
    })
    .await;
    assert_eq!(listed[0].kind, casedesk_domain::EventKind::SplitUndone);
    assert_eq!(listed[0].data, data);
    assert_eq!(listed[1], expected[1], "other events untouched");
    assert!(
        matches!(
            elsewhere,
            (Err(StoreError::NotFound), Err(StoreError::NotFound))
        ),
        "another account's or a missing event: {elsewhere:?}"
    );
}

pub async fn failed_job_rolls_back(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let case = w.case("case-1", 1, 10);
    let message = w.message("m-1", "case-1", 10, "hello");
    let result = write::<(), StoreError, _>(store, move |tx| {
        Box::pin(async move {
            tx.next_case_number("acc-a").await?;
            tx.insert_case(&case).await?;
            tx.insert_account(&account("acc-new")).await?;
            let mut message = message;
            message.seq = tx.next_message_seq().await?;
            tx.insert_message(&message).await?;
            tx.set_customer_latest_case("acc-a-cu", Some("case-1"))
                .await?;
            Err(StoreError::Other(s("the job changed its mind")))
        })
    })
    .await;
    assert!(
        matches!(result, Err(StoreError::Other(ref m)) if m == "the job changed its mind"),
        "the job's own error comes back: {result:?}"
    );
    assert_rolled_back(store).await;

    // A store error in the middle of a job undoes its earlier writes too.
    let case = w.case("case-1", 1, 10);
    let result = try_write(store, move |tx| {
        Box::pin(async move {
            tx.insert_case(&case).await?;
            tx.insert_account(&account("acc-a")).await
        })
    })
    .await;
    assert_conflict("inserting an existing account", result);
    assert_rolled_back(store).await;

    // A job's own error type travels through untouched.
    #[derive(Debug)]
    enum Refusal {
        Store(StoreError),
        Rule(&'static str),
    }
    impl From<StoreError> for Refusal {
        fn from(e: StoreError) -> Self {
            Refusal::Store(e)
        }
    }
    let case = w.case("case-1", 1, 10);
    let result = write::<(), Refusal, _>(store, move |tx| {
        Box::pin(async move {
            tx.insert_case(&case).await?;
            Err(Refusal::Rule("split unavailable"))
        })
    })
    .await;
    match result {
        Err(Refusal::Rule(why)) => assert_eq!(why, "split unavailable"),
        Err(Refusal::Store(e)) => panic!("the job's own error became a store error: {e}"),
        Ok(()) => panic!("a failed job reported success"),
    }
    assert_rolled_back(store).await;
    let number = write_ok(store, "next case number", |tx| {
        Box::pin(async move { tx.next_case_number("acc-a").await })
    })
    .await;
    // SQLite's counter is rolled back with the job; PostgreSQL's sequence
    // is not (so that new cases never wait for each other's commits): the
    // number the job took is a gap, never given out again.
    assert!(
        number == 1 || number == 2,
        "a rolled-back job uses up at most the number it took: {number}"
    );
}

async fn assert_rolled_back(store: &dyn Store) {
    let (accounts, case, customer, message) = read_ok(store, "read after rollback", |tx| {
        Box::pin(async move {
            Ok((
                tx.count_accounts().await?,
                tx.get_case("acc-a", "case-1").await.err(),
                tx.get_customer("acc-a", "acc-a-cu").await?,
                tx.get_message("acc-a", "m-1").await.err(),
            ))
        })
    })
    .await;
    assert_eq!(
        accounts, 1,
        "the account inserted by the failed job is gone"
    );
    assert!(
        matches!(case, Some(StoreError::NotFound)),
        "the case inserted by the failed job is gone"
    );
    assert!(
        matches!(message, Some(StoreError::NotFound)),
        "the message inserted by the failed job is gone"
    );
    assert_eq!(
        customer.latest_case_id, None,
        "the customer update of the failed job is gone"
    );
}

pub async fn closed_store_is_unavailable(store: Arc<dyn Store>) {
    world(&*store, "acc-a").await;
    store.close().await;
    let result = try_read(&*store, |tx| {
        Box::pin(async move { tx.count_accounts().await })
    })
    .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "a job after close must fail with Unavailable, got {result:?}"
    );
}

/// What routing reads — the customer by their channel identity, their
/// latest case — is what was committed, even where a backend remembers it
/// between units of work (SQLite's writer): a failed unit of work's changes,
/// read back before it failed, are gone; committed ones are seen, whether
/// the case was saved column by column or whole, and whichever query
/// changed the customer.
pub async fn routing_reads_what_was_committed(store: Arc<dyn Store>) {
    use crate::{CaseRecord, CustomerRecord, Tx};
    type Routing = (CustomerRecord, Option<CaseRecord>);
    fn routing(tx: &mut dyn Tx) -> futures::future::BoxFuture<'_, Result<Routing, StoreError>> {
        Box::pin(async move {
            let key = customer("rt-a-cu", "rt-a", "rt-a-ch", "rt-a-ext");
            let customer = tx.upsert_customer_locked(&key).await?;
            let latest = match &customer.latest_case_id {
                Some(id) => Some(tx.get_case("rt-a", id).await?),
                None => None,
            };
            Ok((customer, latest))
        })
    }
    let store = &*store;
    let w = world(store, "rt-a").await;
    let case = w.case("rt-1", 1, 10);
    let opened = case.clone();
    write_ok(store, "open a case", move |tx| {
        Box::pin(async move {
            tx.upsert_customer_locked(&customer("x", "rt-a", "rt-a-ch", "rt-a-ext"))
                .await?;
            tx.insert_case(&opened).await?;
            tx.set_customer_latest_case("rt-a-cu", Some("rt-1")).await
        })
    })
    .await;
    let (cu, latest) = write_ok(store, "route", routing).await;
    assert_eq!(cu.latest_case_id.as_deref(), Some("rt-1"));
    assert_eq!(latest.as_ref(), Some(&case));

    let mut changed = case.clone();
    changed.message_count = 5;
    changed.last_activity_at = t(20);
    let (stored, attempt) = (case.clone(), changed.clone());
    let failed = try_write(store, move |tx| {
        Box::pin(async move {
            tx.update_case(Some(&stored), &attempt).await?;
            tx.set_customer_latest_case("rt-a-cu", None).await?;
            let mut renamed = customer("x", "rt-a", "rt-a-ch", "rt-a-ext");
            renamed.name = Some(s("Renamed"));
            let cu = tx.upsert_customer_locked(&renamed).await?;
            assert_eq!(tx.get_case("rt-a", "rt-1").await?, attempt, "read back");
            assert_eq!(cu.name.as_deref(), Some("Renamed"), "read back");
            Err::<(), _>(StoreError::Other(s("changed its mind")))
        })
    })
    .await;
    assert!(failed.is_err());
    let (cu, latest) = write_ok(store, "route after a rollback", routing).await;
    assert_eq!(
        cu.latest_case_id.as_deref(),
        Some("rt-1"),
        "the latest case a failed unit of work cleared is still the latest"
    );
    assert_eq!(
        cu.name.as_deref(),
        Some("Customer rt-a-ext"),
        "the name a failed unit of work gave is gone"
    );
    assert_eq!(
        latest.as_ref(),
        Some(&case),
        "the case a failed unit of work changed is as committed"
    );

    let (stored, saved) = (case.clone(), changed.clone());
    write_ok(store, "save column by column", move |tx| {
        Box::pin(async move { tx.update_case(Some(&stored), &saved).await })
    })
    .await;
    let (_, latest) = write_ok(store, "route", routing).await;
    assert_eq!(latest.as_ref(), Some(&changed), "a saved change is read");

    let mut whole = changed.clone();
    whole.subject = s("Saved whole");
    let saved = whole.clone();
    write_ok(store, "save whole", move |tx| {
        Box::pin(async move { tx.update_case(None, &saved).await })
    })
    .await;
    let (_, latest) = write_ok(store, "route", routing).await;
    assert_eq!(latest.as_ref(), Some(&whole), "a case saved whole is read");

    write_ok(store, "e-mail", |tx| {
        Box::pin(async move {
            tx.set_customer_email("rt-a", "rt-a-cu", Some("a@example.com"))
                .await
        })
    })
    .await;
    let (cu, _) = write_ok(store, "route", routing).await;
    assert_eq!(
        cu.email.as_deref(),
        Some("a@example.com"),
        "a customer changed by another query is read as changed"
    );
}

/// The queries a batch of customer messages uses: many customers locked,
/// cases and messages written and read, numbers taken, at once.
pub async fn many_customers_cases_and_messages_at_once(store: Arc<dyn Store>) {
    use crate::{CaseRecord, CustomerRecord};
    let store = &*store;
    let w = world(store, "bt").await;
    let other = world(store, "bt-o").await;

    // Locked in one statement, answered in the order given; the existing
    // customer keeps its id and name.
    let mut known = customer("ignored", "bt", "bt-ch", "bt-ext");
    known.name = None;
    let batch = vec![
        customer("bt-n-b", "bt", "bt-ch", "b-ext"),
        known,
        customer("bt-n-a", "bt", "bt-ch", "a-ext"),
    ];
    let again = batch.clone();
    let customers: Vec<CustomerRecord> = write_ok(store, "upsert many", move |tx| {
        Box::pin(async move { tx.upsert_customers_locked(&batch).await })
    })
    .await;
    let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["bt-n-b", "bt-cu", "bt-n-a"], "in the order given");
    assert_eq!(customers[1].name.as_deref(), Some("Customer bt-ext"));
    let customers: Vec<CustomerRecord> = write_ok(store, "upsert the same again", move |tx| {
        Box::pin(async move { tx.upsert_customers_locked(&again).await })
    })
    .await;
    let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["bt-n-b", "bt-cu", "bt-n-a"], "no customer twice");
    assert_not_found(
        "a customer through another account's channel",
        try_write(store, |tx| {
            Box::pin(async move {
                let batch = [
                    customer("bt-n-c", "bt", "bt-ch", "c-ext"),
                    customer("bt-n-d", "bt", "bt-o-ch", "d-ext"),
                ];
                tx.upsert_customers_locked(&batch).await
            })
        })
        .await,
    );

    let (numbers, next) = write_ok(store, "case numbers", |tx| {
        Box::pin(async move {
            let numbers = tx.next_case_numbers("bt", 3).await?;
            Ok((numbers, tx.next_case_number("bt").await?))
        })
    })
    .await;
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(next, 4);

    let (c1, c2, stray) = (
        w.case("bt-1", 1, 10),
        w.case("bt-2", 2, 10),
        other.case("bt-o-1", 1, 10),
    );
    let (m1, m2) = (
        w.message("bt-m1", "bt-1", 11, "один"),
        w.message("bt-m2", "bt-2", 11, "two"),
    );
    let cases = vec![c1.clone(), c2.clone()];
    let (messages, stray2) = (vec![m1, m2], stray.clone());
    let seqs: Vec<i64> = write_ok(store, "insert many", move |tx| {
        Box::pin(async move {
            tx.insert_cases(&cases).await?;
            tx.insert_cases(std::slice::from_ref(&stray2)).await?;
            let seqs = tx.next_message_seqs(2).await?;
            let messages: Vec<_> = messages
                .into_iter()
                .zip(&seqs)
                .map(|(m, &seq)| crate::MessageRecord { seq, ..m })
                .collect();
            tx.insert_messages(&messages).await?;
            Ok(seqs)
        })
    })
    .await;
    assert!(seqs[0] < seqs[1], "increasing: {seqs:?}");
    let next: i64 = write_ok(store, "seq after", |tx| {
        Box::pin(async move { tx.next_message_seq().await })
    })
    .await;
    assert!(next > seqs[1], "{next} after {seqs:?}");
    assert_eq!(message_ids(store, "bt", "bt-1").await, ["bt-m1"]);
    assert_eq!(message_ids(store, "bt", "bt-2").await, ["bt-m2"]);
    assert_conflict(
        "a channel message id twice",
        try_write(store, |tx| {
            Box::pin(async move {
                let w = World {
                    account_id: s("bt"),
                    channel_id: s("bt-ch"),
                    customer_id: s("bt-cu"),
                };
                let seqs = tx.next_message_seqs(1).await?;
                let again = crate::MessageRecord {
                    id: s("bt-m3"),
                    seq: seqs[0],
                    channel_message_id: Some(s("ext-bt-m1")),
                    ..w.message("bt-m3", "bt-1", 12, "again")
                };
                tx.insert_messages(&[again]).await
            })
        })
        .await,
    );

    // A batch's redeliveries: its own (channel, id) pairs, any number of
    // channels and keys (more than one statement's worth), each message
    // once, by seq; the same id through another channel is not one.
    let mut keys: Vec<(String, String)> = (0..450)
        .map(|i| (format!("bt-ch-{}", i % 150), format!("ext-bt-m{i}")))
        .collect();
    keys.push((s("bt-ch"), s("ext-bt-m2")));
    keys.push((s("bt-o-ch"), s("ext-bt-m1")));
    keys.push((s("bt-ch"), s("ext-bt-m1")));
    keys.push((s("bt-ch"), s("ext-bt-m2")));
    let found: Vec<crate::MessageRecord> = read_ok(store, "redeliveries", move |tx| {
        Box::pin(async move { tx.find_messages_by_channel_keys(&keys).await })
    })
    .await;
    let found: Vec<&str> = found.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(found, ["bt-m1", "bt-m2"]);

    let ids = vec![s("bt-2"), s("bt-1"), s("missing"), s("bt-o-1")];
    let mut read: Vec<CaseRecord> = read_ok(store, "get many", move |tx| {
        Box::pin(async move { tx.get_cases("bt", &ids).await })
    })
    .await;
    read.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        read,
        [c1.clone(), c2.clone()],
        "the account's cases that exist"
    );

    let mut changed = c1.clone();
    changed.message_count = 4;
    changed.unread = true;
    let (stored, saved, same) = (c1.clone(), changed.clone(), c2.clone());
    write_ok(store, "update many with their stored rows", move |tx| {
        Box::pin(async move {
            tx.update_cases(&[(Some(&stored), &saved), (Some(&same), &same)])
                .await?;
            tx.set_customers_latest_cases(&[(s("bt-cu"), s("bt-1")), (s("bt-n-b"), s("bt-2"))])
                .await
        })
    })
    .await;
    assert_eq!(get_case(store, "bt", "bt-1").await, changed);
    assert_eq!(get_case(store, "bt", "bt-2").await, c2);
    let latest: Vec<Option<String>> = read_ok(store, "latest cases", |tx| {
        Box::pin(async move {
            let a = tx.get_customer("bt", "bt-cu").await?;
            let b = tx.get_customer("bt", "bt-n-b").await?;
            Ok(vec![a.latest_case_id, b.latest_case_id])
        })
    })
    .await;
    assert_eq!(latest, [Some(s("bt-1")), Some(s("bt-2"))]);
}
