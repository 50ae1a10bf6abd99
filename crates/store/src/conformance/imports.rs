//! History imports: an import's progress round-trips in its account, its
//! staged rows are kept once and read back one customer at a time, and a
//! worker's lease gives each import to one worker at a time.

use std::collections::HashSet;
use std::sync::Arc;

use casedesk_domain::Time;

use super::concurrency::within;
use super::fixtures::*;
use crate::{ImportError, ImportRecord, ImportRow, ImportState, Store};

fn import(w: &World, id: &str, state: ImportState, created: i64) -> ImportRecord {
    ImportRecord {
        id: id.to_owned(),
        account_id: w.account_id.clone(),
        channel_id: w.channel_id.clone(),
        format: "telegram".to_owned(),
        state,
        messages: 0,
        cases: 0,
        skipped: 0,
        error_count: 0,
        errors: Vec::new(),
        staged: 0,
        customers_done: 0,
        last_customer: None,
        failure: None,
        lease_until: None,
        created_at: t(created),
        updated_at: t(created),
    }
}

fn row(import_id: &str, n: i64, customer: &str, at: i64, text: &str) -> ImportRow {
    ImportRow {
        import_id: import_id.to_owned(),
        n,
        line: n,
        customer_id: customer.to_owned(),
        customer_name: None,
        source_id: format!("src-{n}"),
        from_customer: true,
        agent_name: None,
        at: t(at),
        text: text.to_owned(),
        attachment: None,
    }
}

async fn insert(store: &dyn Store, imports: Vec<ImportRecord>) {
    write_ok(store, "insert imports", move |tx| {
        Box::pin(async move {
            for i in &imports {
                tx.insert_import(i).await?;
            }
            Ok(())
        })
    })
    .await;
}

async fn get(store: &dyn Store, account_id: &str, id: &str) -> ImportRecord {
    let (account_id, id) = (s(account_id), s(id));
    read_ok(store, "get an import", move |tx| {
        Box::pin(async move { tx.get_import(&account_id, &id).await })
    })
    .await
}

async fn stage(store: &dyn Store, rows: Vec<ImportRow>) {
    write_ok(store, "stage import rows", move |tx| {
        Box::pin(async move { tx.stage_import_rows(&rows).await })
    })
    .await;
}

async fn customers(store: &dyn Store, after: Option<&str>, limit: usize) -> Vec<String> {
    let after = after.map(s);
    read_ok(store, "list an import's customers", move |tx| {
        Box::pin(async move { tx.import_customers("imp", after.as_deref(), limit).await })
    })
    .await
}

/// `(n, text)` of a customer's rows of import `imp`.
async fn rows_of(
    store: &dyn Store,
    customer: &str,
    after: Option<(Time, i64)>,
    limit: usize,
) -> Vec<(i64, String)> {
    let customer = s(customer);
    let rows = read_ok(store, "read a customer's rows", move |tx| {
        Box::pin(async move { tx.import_rows("imp", &customer, after, limit).await })
    })
    .await;
    rows.into_iter().map(|r| (r.n, r.text)).collect()
}

async fn claim(store: &dyn Store, now: i64, until: i64, limit: usize) -> Vec<String> {
    let claimed = write_ok(store, "claim imports", move |tx| {
        Box::pin(async move { tx.claim_imports(t(now), t(until), limit).await })
    })
    .await;
    for i in &claimed {
        assert_eq!(i.lease_until, Some(t(until)), "{} comes back leased", i.id);
    }
    claimed.into_iter().map(|i| i.id).collect()
}

pub async fn imports_round_trip_in_their_account(store: Arc<dyn Store>) {
    let db = &*store;
    let a = world(db, "acc-a").await;
    let b = world(db, "acc-b").await;
    let first = import(&a, "imp-1", ImportState::Receiving, 10);
    insert(db, vec![first.clone()]).await;
    assert_eq!(
        get(db, "acc-a", "imp-1").await,
        first,
        "a new import reads back"
    );

    let changed = ImportRecord {
        // Identity, file and creation are kept whatever the record says.
        channel_id: "elsewhere".to_owned(),
        format: "other".to_owned(),
        created_at: t(99),
        state: ImportState::Splitting,
        messages: 120,
        cases: 7,
        skipped: 3,
        error_count: 1002,
        errors: vec![
            ImportError {
                line: 4,
                message: "нет поля \"from\" в записи".to_owned(),
            },
            ImportError {
                line: 5,
                message: "bad 'quote' \\ and \"double\"".to_owned(),
            },
        ],
        staged: 130,
        customers_done: 2,
        last_customer: Some("user123".to_owned()),
        failure: Some("диск полон".to_owned()),
        lease_until: Some(t_micros(40, 123_457)),
        updated_at: t_micros(20, 1),
        ..first.clone()
    };
    let saved = changed.clone();
    write_ok(db, "update an import", move |tx| {
        Box::pin(async move { tx.update_import(&saved).await })
    })
    .await;
    let expected = ImportRecord {
        channel_id: first.channel_id.clone(),
        format: first.format.clone(),
        created_at: first.created_at,
        ..changed.clone()
    };
    assert_eq!(
        get(db, "acc-a", "imp-1").await,
        expected,
        "every field is written"
    );

    let cleared = ImportRecord {
        state: ImportState::Failed,
        last_customer: None,
        failure: None,
        lease_until: None,
        errors: Vec::new(),
        ..expected.clone()
    };
    let saved = cleared.clone();
    write_ok(db, "clear an import's optional fields", move |tx| {
        Box::pin(async move { tx.update_import(&saved).await })
    })
    .await;
    assert_eq!(get(db, "acc-a", "imp-1").await, cleared, "and cleared");

    assert_not_found(
        "another account's import",
        try_read(db, |tx| {
            Box::pin(async move { tx.get_import("acc-b", "imp-1").await })
        })
        .await,
    );
    let foreign = ImportRecord {
        account_id: "acc-b".to_owned(),
        ..cleared.clone()
    };
    assert_not_found(
        "an update of another account's import",
        try_write(db, move |tx| {
            Box::pin(async move { tx.update_import(&foreign).await })
        })
        .await,
    );
    assert_eq!(get(db, "acc-a", "imp-1").await, cleared, "left as it was");

    insert(
        db,
        vec![
            import(&a, "imp-3", ImportState::Done, 30),
            import(&a, "imp-2", ImportState::Done, 20),
            import(&b, "imp-b", ImportState::Done, 40),
        ],
    )
    .await;
    let listed = |limit: usize| {
        read_ok(db, "list imports", move |tx| {
            Box::pin(async move { tx.list_imports("acc-a", limit).await })
        })
    };
    let ids = |imports: Vec<ImportRecord>| imports.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(
        ids(listed(10).await),
        ["imp-3", "imp-2", "imp-1"],
        "the account's imports, newest first"
    );
    assert_eq!(ids(listed(2).await), ["imp-3", "imp-2"], "at most `limit`");
}

pub async fn import_rows_are_staged_once_and_read_by_customer(store: Arc<dyn Store>) {
    let db = &*store;
    let w = world(db, "acc-a").await;
    insert(db, vec![import(&w, "imp", ImportState::Receiving, 0)]).await;

    let mut full = row("imp", 1, "bob", 50, "привет, \"Боб\"");
    full.customer_name = Some("Боб".to_owned());
    full.from_customer = false;
    full.agent_name = Some("Анна".to_owned());
    full.attachment = Some("photos/1.jpg".to_owned());
    full.at = t_micros(50, 999_999);
    stage(
        db,
        vec![
            full.clone(),
            row("imp", 2, "alice", 10, "a-10"),
            row("imp", 3, "Carol", 5, "c-5"),
            row("imp", 4, "alice", 10, "a-10 again"),
            // The same n twice in one call: the first is kept.
            row("imp", 5, "alice", 5, "a-5"),
            row("imp", 5, "alice", 1, "not kept"),
        ],
    )
    .await;
    // Staged again (a resumed upload), with other contents: kept as first.
    stage(
        db,
        vec![
            row("imp", 2, "alice", 99, "changed"),
            row("imp", 6, "alice", 10, "a-10 third"),
            row("imp", 7, "alice", 20, "a-20"),
        ],
    )
    .await;
    assert_not_found(
        "rows of no import",
        try_write(db, |tx| {
            Box::pin(async move {
                tx.stage_import_rows(&[row("missing", 1, "x", 0, "x")])
                    .await
            })
        })
        .await,
    );

    let bob = read_ok(db, "read bob's row", |tx| {
        Box::pin(async move { tx.import_rows("imp", "bob", None, 10).await })
    })
    .await;
    assert_eq!(bob, [full], "every field of a row reads back");

    // Bytewise, as Rust orders them, whatever the database's collation.
    assert_eq!(
        customers(db, None, 2).await,
        ["Carol", "alice"],
        "in order, at most 2"
    );
    assert_eq!(
        customers(db, Some("alice"), 2).await,
        ["bob"],
        "then after alice"
    );
    assert!(customers(db, Some("bob"), 2).await.is_empty(), "then none");
    assert_eq!(
        customers(db, None, 10).await,
        ["Carol", "alice", "bob"],
        "each customer once"
    );

    let alice = [
        (5, "a-5"),
        (2, "a-10"),
        (4, "a-10 again"),
        (6, "a-10 third"),
        (7, "a-20"),
    ]
    .map(|(n, text)| (n, text.to_owned()));
    assert_eq!(
        rows_of(db, "alice", None, 10).await,
        alice,
        "by time, then position on a tie"
    );
    assert_eq!(
        rows_of(db, "alice", None, 2).await,
        alice[..2],
        "a first page"
    );
    assert_eq!(
        rows_of(db, "alice", Some((t(10), 2)), 2).await,
        alice[2..4],
        "after a row that ties on time with the next ones"
    );
    assert_eq!(
        rows_of(db, "alice", Some((t(10), 6)), 2).await,
        alice[4..],
        "the last page"
    );
    assert!(rows_of(db, "alice", Some((t(20), 7)), 2).await.is_empty());
    assert!(rows_of(db, "nobody", None, 2).await.is_empty());

    let deleted = write_ok(db, "delete the staged rows", |tx| {
        Box::pin(async move { tx.delete_import_rows("imp").await })
    })
    .await;
    assert_eq!(deleted, 7, "every staged row, once each");
    assert!(customers(db, None, 10).await.is_empty(), "none left");
}

pub async fn imports_are_claimed_by_one_worker_at_a_time(store: Arc<dyn Store>) {
    let db = &*store;
    let w = world(db, "acc-a").await;
    let leased = |mut i: ImportRecord, until: i64| {
        i.lease_until = Some(t(until));
        i
    };
    insert(
        db,
        vec![
            import(&w, "split", ImportState::Splitting, 2),
            import(&w, "done", ImportState::Done, 0),
            import(&w, "failed", ImportState::Failed, 0),
            // An upload in progress: held by its lease; without one (not
            // yet leased) it is never taken either.
            leased(import(&w, "upload", ImportState::Receiving, 1), 500),
            import(&w, "fresh-upload", ImportState::Receiving, 1),
            leased(import(&w, "held", ImportState::Splitting, 3), 500),
        ],
    )
    .await;
    assert_eq!(
        claim(db, 100, 200, 10).await,
        ["split"],
        "a splitting import is taken"
    );
    assert!(
        claim(db, 150, 250, 10).await.is_empty(),
        "and not again while its lease lasts"
    );
    assert_eq!(
        get(db, "acc-a", "split").await.lease_until,
        Some(t(200)),
        "the lease is stored"
    );
    assert_eq!(
        claim(db, 200, 300, 10).await,
        ["split"],
        "taken again once its lease ended"
    );
    assert_eq!(
        claim(db, 600, 700, 10).await,
        ["upload", "split", "held"],
        "a cut-off upload too, oldest first; never a finished one"
    );
    assert!(claim(db, 650, 750, 10).await.is_empty());
    assert_eq!(
        claim(db, 800, 900, 2).await,
        ["upload", "split"],
        "at most `limit`"
    );

    // Several workers at once: each import is taken by one.
    let many: Vec<ImportRecord> = (0..12)
        .map(|i| {
            import(
                &w,
                &format!("many-{i:02}"),
                ImportState::Splitting,
                1000 + i,
            )
        })
        .collect();
    insert(db, many).await;
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut taken = Vec::new();
                loop {
                    let batch = claim(&*store, 2000, 3000, 2).await;
                    if batch.is_empty() {
                        return taken;
                    }
                    taken.extend(batch);
                }
            })
        })
        .collect();
    let mut taken = Vec::new();
    for worker in within("four import claimers", futures::future::join_all(workers)).await {
        taken.extend(worker.expect("an import claimer panicked"));
    }
    let unique: HashSet<&String> = taken.iter().collect();
    assert_eq!(
        unique.len(),
        taken.len(),
        "an import was taken twice: {taken:?}"
    );
    assert_eq!(
        taken.len(),
        12 + 3,
        "the twelve new ones and the three whose leases ended: {taken:?}"
    );
}
