//! Scoping, numbering, the case list, moving messages and summaries.

use std::collections::HashSet;
use std::sync::Arc;

use casedesk_domain::search::SearchText;
use casedesk_domain::{Actor, AuthorType, ChatState, MessageKind, Status};

use super::fixtures::*;
use crate::{CaseFilter, CaseSort, EventRecord, MessageSummary, SortOrder, Store, StoreError};

pub async fn account_isolation(store: Arc<dyn Store>) {
    let store = &*store;
    let a = world(store, "acc-a").await;
    world(store, "acc-b").await;
    insert_cases(store, vec![a.case("case-a", 1, 10)]).await;
    insert_messages(store, vec![a.message("m-a", "case-a", 10, "secret")]).await;
    let agent = agent("ag-a", "acc-a", "a@example.com");
    let event = EventRecord {
        id: s("ev-a"),
        account_id: s("acc-a"),
        case_id: s("case-a"),
        kind: casedesk_domain::EventKind::Created,
        actor: Actor::System(s("test")),
        changes: vec![],
        data: serde_json::Value::Null,
        created_at: t(10),
    };
    write_ok(store, "insert agent and event", move |tx| {
        Box::pin(async move {
            tx.insert_agent(&agent).await?;
            tx.insert_event(&event).await
        })
    })
    .await;

    let refused = read_ok(store, "reads through another account", |tx| {
        Box::pin(async move {
            Ok([
                ("get_case", tx.get_case("acc-b", "case-a").await.err()),
                ("get_message", tx.get_message("acc-b", "m-a").await.err()),
                (
                    "get_customer",
                    tx.get_customer("acc-b", "acc-a-cu").await.err(),
                ),
                ("get_agent", tx.get_agent("acc-b", "ag-a").await.err()),
            ])
        })
    })
    .await;
    for (what, error) in refused {
        assert!(
            matches!(error, Some(StoreError::NotFound)),
            "{what} through another account must be NotFound, got {error:?}"
        );
    }
    assert_not_found(
        "lock_customer through another account",
        try_write(store, |tx| {
            Box::pin(async move { tx.lock_customer("acc-b", "acc-a-cu").await })
        })
        .await,
    );

    let lists = |account: &'static str| async move {
        read_ok(store, "lists of one account", move |tx| {
            Box::pin(async move {
                let filter = CaseFilter {
                    limit: 100,
                    include_merged: true,
                    ..CaseFilter::default()
                };
                Ok([
                    tx.list_cases(account, &filter).await?.len(),
                    tx.list_messages(account, "case-a").await?.len(),
                    tx.list_events(account, "case-a").await?.len(),
                    tx.list_channels(account).await?.len(),
                    tx.list_agents(account).await?.len(),
                ])
            })
        })
        .await
    };
    let names = "cases, messages, events, channels, agents";
    assert_eq!(
        lists("acc-a").await,
        [1, 1, 1, 1, 1],
        "the owner sees its {names}"
    );
    assert_eq!(
        lists("acc-b").await,
        [0, 0, 0, 1, 0],
        "another account sees none of the {names} (but its own channel)"
    );
}

pub async fn case_numbers_are_sequential_per_account(store: Arc<dyn Store>) {
    let store = &*store;
    world(store, "acc-a").await;
    world(store, "acc-b").await;
    let take = |account: &'static str| async move {
        write_ok(store, "next case number", move |tx| {
            Box::pin(async move { tx.next_case_number(account).await })
        })
        .await
    };
    assert_eq!(
        [
            take("acc-a").await,
            take("acc-a").await,
            take("acc-a").await
        ],
        [1, 2, 3]
    );
    assert_eq!(
        [take("acc-b").await, take("acc-b").await],
        [1, 2],
        "numbers are per account"
    );
    let in_one_job = write_ok(store, "two numbers in one job", |tx| {
        Box::pin(async move {
            Ok([
                tx.next_case_number("acc-a").await?,
                tx.next_case_number("acc-a").await?,
            ])
        })
    })
    .await;
    assert_eq!(
        in_one_job,
        [4, 5],
        "numbers taken in one job are consecutive"
    );
}

/// Six cases over two channels and two customers, newest last.
async fn filter_world(store: &dyn Store) -> World {
    let w = world(store, "acc-a").await;
    let second_customer = customer("cu-2", "acc-a", "acc-a-ch2", "ext-2");
    let ch = channel("acc-a-ch2", "acc-a");
    write_ok(store, "second channel and customer", move |tx| {
        Box::pin(async move {
            tx.insert_channel(&ch).await?;
            tx.upsert_customer_locked(&second_customer).await.map(drop)
        })
    })
    .await;
    let mut cases: Vec<_> = (1..=6)
        .map(|i| w.case(&format!("c{i}"), i, i * 10))
        .collect();
    cases[1].state.status = Status::Pending;
    cases[2].state.status = Status::Closed;
    cases[2].state.chat_state = Some(ChatState::Finished);
    cases[3].state.chat_state = Some(ChatState::Finished);
    cases[4].channel_id = s("acc-a-ch2");
    cases[4].customer_id = s("cu-2");
    cases[5].assignee_id = Some(s("ag-1"));
    cases[5].state.chat_state = None;
    insert_cases(store, cases).await;
    w
}

pub async fn list_cases_filters(store: Arc<dyn Store>) {
    let store = &*store;
    let w = filter_world(store).await;
    let ids = |list: &[&str]| list.iter().map(|x| s(x)).collect::<Vec<_>>();
    let check = |what: &'static str, filter: CaseFilter, expected: Vec<String>| async move {
        assert_eq!(
            list_case_ids(store, "acc-a", filter).await,
            expected,
            "list_cases {what}"
        );
    };
    check(
        "without filters, newest first",
        w.filter(),
        ids(&["c6", "c5", "c4", "c3", "c2", "c1"]),
    )
    .await;
    check(
        "by status",
        CaseFilter {
            status: Some(Status::Open),
            ..w.filter()
        },
        ids(&["c6", "c5", "c4", "c1"]),
    )
    .await;
    check(
        "by status pending",
        CaseFilter {
            status: Some(Status::Pending),
            ..w.filter()
        },
        ids(&["c2"]),
    )
    .await;
    check(
        "by chat state",
        CaseFilter {
            chat_state: Some(ChatState::Finished),
            ..w.filter()
        },
        ids(&["c4", "c3"]),
    )
    .await;
    check(
        "by active chat state",
        CaseFilter {
            chat_state: Some(ChatState::Active),
            ..w.filter()
        },
        ids(&["c5", "c2", "c1"]),
    )
    .await;
    check(
        "by channel",
        CaseFilter {
            channel_id: Some(s("acc-a-ch2")),
            ..w.filter()
        },
        ids(&["c5"]),
    )
    .await;
    check(
        "by customer",
        CaseFilter {
            customer_id: Some(s("acc-a-cu")),
            ..w.filter()
        },
        ids(&["c6", "c4", "c3", "c2", "c1"]),
    )
    .await;
    check(
        "by assignee",
        CaseFilter {
            assignee_id: Some(s("ag-1")),
            ..w.filter()
        },
        ids(&["c6"]),
    )
    .await;
    check(
        "unassigned",
        CaseFilter {
            unassigned: true,
            ..w.filter()
        },
        ids(&["c5", "c4", "c3", "c2", "c1"]),
    )
    .await;
    // The console's queues count the same cases as these filters list.
    let queues = |agent: &'static str| async move {
        read_ok(store, "queue counts", move |tx| {
            Box::pin(async move { tx.count_queues("acc-a", agent).await })
        })
        .await
    };
    assert_eq!(
        queues("ag-1").await,
        crate::QueueCounts {
            mine: 1,
            unassigned: 3,
            open: 4,
            pending: 1
        }
    );
    assert_eq!(queues("ag-2").await.mine, 0, "another agent's queue");
    let combined = CaseFilter {
        status: Some(Status::Open),
        customer_id: Some(s("acc-a-cu")),
        chat_state: Some(ChatState::Active),
        ..w.filter()
    };
    check("with several filters at once", combined, ids(&["c1"])).await;
    check(
        "with a limit",
        CaseFilter {
            limit: 2,
            ..w.filter()
        },
        ids(&["c6", "c5"]),
    )
    .await;
}

pub async fn list_cases_search(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let mut cases: Vec<_> = (1..=5)
        .map(|i| w.case(&format!("c{i}"), i, i * 10))
        .collect();
    cases[0].subject = s("Refund for order 77");
    cases[1].subject = s("Delivery");
    cases[2].subject = s("Discount");
    cases[3].subject = s("Coupon");
    cases[4].subject = s("snake_case question");
    insert_cases(store, cases).await;
    insert_messages(
        store,
        vec![
            w.message("m1", "c2", 20, "Where is my PARCEL?"),
            w.message("m2", "c2", 21, "the parcel is late"),
            w.message("m3", "c3", 30, "is there a 50% discount?"),
            w.message("m4", "c4", 40, "500 discount please"),
            w.reply("m5", "c4", 41, "agent text: snakeXcase"),
        ],
    )
    .await;
    let search = |q: &'static str| async move {
        let filter = CaseFilter {
            q: Some(s(q)),
            limit: 100,
            ..CaseFilter::default()
        };
        list_case_ids(store, "acc-a", filter).await
    };
    assert_eq!(
        search("REFUND").await,
        vec![s("c1")],
        "q matches the subject case-insensitively"
    );
    assert_eq!(
        search("parcel").await,
        vec![s("c2")],
        "q matches message text case-insensitively, once per case"
    );
    assert_eq!(
        search("  Parcel\t").await,
        vec![s("c2")],
        "q is trimmed before it is matched"
    );
    assert_eq!(
        search("50%").await,
        vec![s("c3")],
        "a % in q matches only a literal %"
    );
    assert_eq!(
        search("%").await,
        vec![s("c3")],
        "a lone % matches only a literal %"
    );
    assert_eq!(
        search("e_c").await,
        vec![s("c5")],
        "an _ in q matches only a literal _"
    );
    assert_eq!(
        search("discount").await,
        vec![s("c4"), s("c3")],
        "q over subject and messages"
    );
    assert!(
        search("nothing like this").await.is_empty(),
        "q without matches"
    );
    let narrowed = CaseFilter {
        q: Some(s("discount")),
        status: Some(Status::Open),
        cursor: Some((t(40), s("c4"))),
        limit: 100,
        ..CaseFilter::default()
    };
    assert_eq!(
        list_case_ids(store, "acc-a", narrowed).await,
        vec![s("c3")],
        "q combines with other filters"
    );
}

/// What a search finds is the domain's definition
/// ([`SearchText::matches`] over the subject and every message but the
/// system's own lines), on every database, whatever its locale: Cyrillic
/// and Greek fold letter by letter, `q` is trimmed, a renamed subject is
/// found by its new name only.
pub async fn list_cases_search_is_the_domains(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    let subjects = [
        ("c1", "Заказ ЁЛКА №7"),
        ("c2", "Delivery"),
        ("c3", "ΟΔΟΣ"),
        ("c4", "Chat"),
    ];
    let cases: Vec<_> = subjects
        .iter()
        .zip(1..)
        .map(|(&(id, subject), i)| {
            let mut case = w.case(id, i, i * 10);
            case.subject = s(subject);
            case
        })
        .collect();
    insert_cases(store, cases).await;
    let mut system = w.reply("m3", "c4", 41, "Chat finished by the timer");
    system.kind = MessageKind::System;
    system.author_type = AuthorType::System;
    system.author_id = None;
    let messages = vec![
        w.message("m1", "c2", 20, "ГДЕ МОЯ ПОСЫЛКА?"),
        w.reply("m2", "c2", 21, "Посылка в пути"),
        system,
        w.message("m4", "c4", 40, "Ich heiße GRÜN"),
    ];
    insert_messages(store, messages.clone()).await;
    // A subject changed later is searched as it is now.
    let mut renamed = get_case(store, "acc-a", "c2").await;
    renamed.subject = s("Доставка");
    update_case(store, renamed).await;
    let subject_of = |id: &str| match id {
        "c2" => "Доставка",
        other => subjects
            .iter()
            .find(|(c, _)| *c == other)
            .map_or("", |c| c.1),
    };
    for q in [
        "ёлка",
        "ЗАКАЗ",
        " посылка ",
        "ПОСЫЛКА",
        "οδος",
        "ΟδΟΣ",
        "grün",
        "heiße",
        "finished",
        "timer",
        "delivery",
        "ДОСТАВКА",
        "№7",
    ] {
        let needle = SearchText::parse(q).expect("a search text");
        let expected: Vec<String> = ["c4", "c3", "c2", "c1"]
            .into_iter()
            .filter(|id| {
                needle.matches(subject_of(id))
                    || messages.iter().any(|m| {
                        m.case_id == *id && m.kind != MessageKind::System && needle.matches(&m.text)
                    })
            })
            .map(s)
            .collect();
        let filter = CaseFilter {
            q: Some(s(q)),
            limit: 100,
            ..CaseFilter::default()
        };
        assert_eq!(
            list_case_ids(store, "acc-a", filter).await,
            expected,
            "search {q:?}"
        );
    }
    // The oracle above is not vacuous: these are the answers it gives.
    let found = |q: &'static str| async move {
        let filter = CaseFilter {
            q: Some(s(q)),
            limit: 100,
            ..CaseFilter::default()
        };
        list_case_ids(store, "acc-a", filter).await
    };
    assert_eq!(found("ёлка").await, vec![s("c1")], "Cyrillic ignores case");
    assert_eq!(
        found(" посылка ").await,
        vec![s("c2")],
        "trimmed, in messages"
    );
    assert_eq!(found("ΟδΟΣ").await, vec![s("c3")], "Greek ignores case");
    assert_eq!(
        found("delivery").await,
        Vec::<String>::new(),
        "the old subject"
    );
    assert_eq!(
        found("finished").await,
        Vec::<String>::new(),
        "system messages are not searched"
    );
}

/// Rows written before the search columns existed (their folded columns
/// `NULL`) are found once the store opens again: `blank_and_reopen` closes
/// `store`, sets every `subject_folded` and `text_folded` to `NULL` behind
/// its back, and opens the same database again.
pub async fn search_columns_of_older_rows_are_filled_on_open<F, Fut>(
    store: Arc<dyn Store>,
    blank_and_reopen: F,
) where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = Arc<dyn Store>>,
{
    let w = world(&*store, "acc-a").await;
    let mut case = w.case("c1", 1, 10);
    case.subject = s("Возврат");
    insert_cases(&*store, vec![case, w.case("c2", 2, 20)]).await;
    insert_messages(&*store, vec![w.message("m1", "c2", 20, "Где ПОСЫЛКА?")]).await;
    let store = blank_and_reopen(store).await;
    let search = |q: &str| CaseFilter {
        q: Some(s(q)),
        limit: 100,
        ..CaseFilter::default()
    };
    assert_eq!(
        list_case_ids(&*store, "acc-a", search("возврат")).await,
        vec![s("c1")],
        "an older subject is searchable"
    );
    assert_eq!(
        list_case_ids(&*store, "acc-a", search("посылка")).await,
        vec![s("c2")],
        "an older message is searchable"
    );
    store.close().await;
}

pub async fn list_cases_paging_and_merged(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    // Three cases share each creation time: ties are broken by id.
    let mut cases: Vec<_> = (0..25)
        .map(|i| w.case(&format!("case-{:02}", (i * 7) % 25), i + 1, i / 3))
        .collect();
    cases[4].merged_into_id = Some(s("case-00"));
    cases[4].state.merged = true;
    let merged_id = cases[4].id.clone();
    let mut expected = cases.clone();
    expected.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let expected: Vec<String> = expected.into_iter().map(|c| c.id).collect();
    insert_cases(store, cases).await;

    let all = list_case_ids(
        store,
        "acc-a",
        CaseFilter {
            include_merged: true,
            ..w.filter()
        },
    )
    .await;
    assert_eq!(
        all, expected,
        "list_cases orders by (created_at DESC, id DESC)"
    );
    let visible = list_case_ids(store, "acc-a", w.filter()).await;
    let without_merged: Vec<String> = expected
        .iter()
        .filter(|id| **id != merged_id)
        .cloned()
        .collect();
    assert_eq!(
        visible, without_merged,
        "merged cases are hidden unless asked for"
    );

    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let filter = CaseFilter {
            include_merged: true,
            limit: 4,
            cursor: before.clone(),
            ..CaseFilter::default()
        };
        let page = read_ok(store, "list a page", |tx| {
            Box::pin(async move { tx.list_cases("acc-a", &filter).await })
        })
        .await;
        assert!(page.len() <= 4, "a page holds at most `limit` cases");
        let Some(last) = page.last() else { break };
        before = Some((last.created_at, last.id.clone()));
        paged.extend(page.into_iter().map(|c| c.id));
        assert!(paged.len() <= 25, "paging does not end: {paged:?}");
    }
    let unique: HashSet<&String> = paged.iter().collect();
    assert_eq!(
        unique.len(),
        paged.len(),
        "paging returned a case twice: {paged:?}"
    );
    assert_eq!(
        paged, expected,
        "paging with `cursor` yields every case exactly once, in order"
    );
}

pub async fn move_messages_moves_exactly_the_given_ids(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    insert_cases(
        store,
        vec![
            w.case("from", 1, 0),
            w.case("to", 2, 0),
            w.case("other", 3, 0),
        ],
    )
    .await;
    let mut messages = vec![
        w.message("m1", "from", 1, "before the reopen"),
        w.message("m2", "from", 2, "reopened the chat"),
        w.reaction_note("n1", "from", 3, "m1"),
        w.reply("m3", "from", 4, "agent answer"),
        w.reaction_note("n3", "from", 5, "m3"),
        w.message("o1", "other", 6, "another case's message"),
    ];
    // More than one statement's worth of ids (ROWS_PER_STATEMENT is 200).
    messages.extend((0..450).map(|i| w.message(&format!("bulk{i:03}"), "from", 10 + i, "bulk")));
    insert_messages(store, messages).await;
    let moved = write_ok(store, "move messages", |tx| {
        Box::pin(async move {
            let mut ids = vec![s("m2"), s("m3"), s("n3"), s("o1"), s("missing")];
            ids.extend((0..450).map(|i| format!("bulk{i:03}")));
            tx.move_messages("from", "to", &ids).await
        })
    })
    .await;
    assert_eq!(moved, 453, "only the ids the case holds moved");
    assert_eq!(
        message_ids(store, "acc-a", "from").await,
        vec![s("m1"), s("n1")],
        "the rest stays"
    );
    let to = message_ids(store, "acc-a", "to").await;
    assert_eq!(to.len(), 453);
    assert_eq!(&to[..3], &[s("m2"), s("m3"), s("n3")], "in time order");
    assert_eq!(
        message_ids(store, "acc-a", "other").await,
        vec![s("o1")],
        "another case's message named by mistake stays there"
    );
    let moved = write_ok(store, "nothing named", |tx| {
        Box::pin(async move { tx.move_messages("from", "to", &[]).await })
    })
    .await;
    assert_eq!(moved, 0);
}

pub async fn message_summary(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    insert_cases(store, vec![w.case("c1", 1, 0)]).await;
    let summary = || async move {
        read_ok(store, "message summary", |tx| {
            Box::pin(async move { tx.message_summary("c1", t(2)).await })
        })
        .await
    };
    assert_eq!(
        summary().await,
        MessageSummary::default(),
        "summary of a case without messages"
    );
    let mut system = w.message("sys", "c1", 0, "chat started");
    system.kind = MessageKind::System;
    system.author_type = AuthorType::System;
    let mut note = w.reply("note", "c1", 9, "internal");
    note.kind = MessageKind::Note;
    insert_messages(
        store,
        vec![
            system,
            w.message("first", "c1", 1, "my first question"),
            w.reply("answer", "c1", 5, "an answer"),
            note,
            w.message("later", "c1", 3, "a later question"),
            w.reaction_note("reaction", "c1", 10, "answer"),
        ],
    )
    .await;
    let expected = MessageSummary {
        message_count: 6,
        last_public_author: Some(AuthorType::Agent),
        last_public_at: Some(t(5)),
        first_customer_text: Some(s("my first question")),
        first_agent_reply_at: Some(t(5)),
    };
    assert_eq!(
        summary().await,
        expected,
        "notes and system lines are not public messages"
    );
    insert_messages(
        store,
        vec![w.message("tie", "c1", 5, "same second as the answer")],
    )
    .await;
    let expected = MessageSummary {
        message_count: 7,
        last_public_author: Some(AuthorType::Customer),
        ..expected
    };
    assert_eq!(
        summary().await,
        expected,
        "at the same time the later message (by seq) is last"
    );
    let later = read_ok(store, "summary since after the reply", |tx| {
        Box::pin(async move { tx.message_summary("c1", t(6)).await })
    })
    .await;
    assert_eq!(
        later.first_agent_reply_at, None,
        "a reply before the case's creation is no response of it"
    );
}

pub async fn list_cases_sorted_and_paged_by_each_order(store: Arc<dyn Store>) {
    let store = &*store;
    let w = world(store, "acc-a").await;
    // Creation and activity orders differ, and both have ties broken by id.
    let cases: Vec<_> = (0..13)
        .map(|i| {
            let mut c = w.case(&format!("case-{:02}", (i * 5) % 13), i + 1, i / 2);
            c.last_activity_at = t(100 - (i % 4) * 10);
            c
        })
        .collect();
    insert_cases(store, cases.clone()).await;
    for sort in [CaseSort::CreatedAt, CaseSort::LastActivityAt] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let mut expected = cases.clone();
            expected.sort_by(|a, b| (sort.key(a), &a.id).cmp(&(sort.key(b), &b.id)));
            if order == SortOrder::Desc {
                expected.reverse();
            }
            let expected: Vec<String> = expected.into_iter().map(|c| c.id).collect();
            let mut paged = Vec::new();
            let mut cursor = None;
            loop {
                let filter = CaseFilter {
                    sort,
                    order,
                    limit: 3,
                    cursor: cursor.clone(),
                    ..CaseFilter::default()
                };
                let page = read_ok(store, "list a sorted page", |tx| {
                    Box::pin(async move { tx.list_cases("acc-a", &filter).await })
                })
                .await;
                let Some(last) = page.last() else { break };
                cursor = Some((sort.key(last), last.id.clone()));
                paged.extend(page.into_iter().map(|c| c.id));
                assert!(paged.len() <= 13, "paging does not end: {paged:?}");
            }
            assert_eq!(
                paged, expected,
                "paging by {sort:?} {order:?} yields every case once, in order"
            );
        }
    }
}
