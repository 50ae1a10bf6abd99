//! Guarantees that only show when units of work run at the same time.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use casedesk_domain::Time;

use super::fixtures::*;
use super::scheduling::deadline;
use crate::{CaseFilter, Deadline, DeadlineKind, Store, StoreError, write};

/// Long enough for any honest store, short enough that a deadlock fails.
const PATIENCE: Duration = Duration::from_secs(120);

pub(crate) async fn within<T>(what: &str, work: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, work).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {PATIENCE:?}: a deadlock?"),
    }
}

pub async fn concurrent_deadline_claims_never_overlap(store: Arc<dyn Store>) {
    let w = world(&*store, "acc-a").await;
    let cases: Vec<_> = (1..=20)
        .map(|i| w.case(&format!("c{i:02}"), i, 0))
        .collect();
    insert_cases(&*store, cases).await;
    let mut all = Vec::new();
    for i in 1..=20 {
        all.push(deadline(&w, &format!("c{i:02}"), DeadlineKind::Warn, i));
        all.push(deadline(
            &w,
            &format!("c{i:02}"),
            DeadlineKind::Finish,
            i + 30,
        ));
    }
    let stored = all.clone();
    write_ok(&*store, "set deadlines", move |tx| {
        Box::pin(async move {
            for d in &stored {
                tx.set_deadline(d).await?;
            }
            Ok(())
        })
    })
    .await;

    let workers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(fire_until_none(Arc::clone(&store))))
        .collect();
    let mut fired = Vec::new();
    for worker in within("two deadline workers", futures::future::join_all(workers)).await {
        fired.extend(worker.expect("a deadline worker panicked"));
    }
    let keys = |ds: &[Deadline]| {
        ds.iter()
            .map(|d| (d.case_id.clone(), d.kind.as_str()))
            .collect::<Vec<_>>()
    };
    let unique: HashSet<_> = keys(&fired).into_iter().collect();
    assert_eq!(
        unique.len(),
        fired.len(),
        "a deadline was claimed twice: {:?}",
        keys(&fired)
    );
    assert_eq!(
        unique,
        keys(&all).into_iter().collect(),
        "every deadline was claimed once"
    );
    let next = read_ok(&*store, "next deadline", |tx| {
        Box::pin(async move { tx.next_deadline_at().await })
    })
    .await;
    assert_eq!(next, None, "every claimed deadline was deleted");
}

/// A scheduler's loop: claim a few, "fire" them slowly, delete them.
async fn fire_until_none(store: Arc<dyn Store>) -> Vec<Deadline> {
    let now: Time = t(1_000);
    let mut fired = Vec::new();
    loop {
        let batch = write_ok(&*store, "claim and delete deadlines", move |tx| {
            Box::pin(async move {
                let claimed = tx.claim_due_deadlines(now, 3).await?;
                std::thread::sleep(Duration::from_millis(5)); // jobs may only await their Tx
                for d in &claimed {
                    tx.delete_deadline(&d.case_id, d.kind).await?;
                }
                Ok(claimed)
            })
        })
        .await;
        if batch.is_empty() {
            return fired;
        }
        fired.extend(batch);
    }
}

/// One inbound message of a customer, routed the way the server does it:
/// lock the customer, pick or create its chat, store the message.
async fn route_message(
    store: Arc<dyn Store>,
    w: World,
    external_id: String,
    i: usize,
) -> Result<(), StoreError> {
    write(&*store, move |tx| {
        Box::pin(async move {
            let identity = customer(
                &format!("{external_id}-try-{i}"),
                &w.account_id,
                &w.channel_id,
                &external_id,
            );
            let customer = tx.upsert_customer_locked(&identity).await?;
            let case_id = match customer.latest_case_id.clone() {
                Some(id) => id,
                None => {
                    // Give a racing job every chance to decide the same.
                    std::thread::sleep(Duration::from_millis(3)); // jobs may only await their Tx
                    let number = tx.next_case_number(&w.account_id).await?;
                    let mut case = w.case(&format!("case-{number}"), number, 10);
                    case.customer_id = customer.id.clone();
                    tx.insert_case(&case).await?;
                    tx.set_customer_latest_case(&customer.id, Some(&case.id))
                        .await?;
                    case.id
                }
            };
            let mut message = w.message(&format!("{external_id}-m{i}"), &case_id, 20, "hello?");
            message.author_id = Some(customer.id.clone());
            message.seq = tx.next_message_seq().await?;
            tx.insert_message(&message).await
        })
    })
    .await
}

pub async fn concurrent_messages_of_one_customer_make_one_case(store: Arc<dyn Store>) {
    const MESSAGES: usize = 30;
    let w = world(&*store, "acc-a").await;
    for round in 1..=3 {
        let external_id = format!("burst-{round}");
        if round > 1 {
            // A known customer without a chat: only the row lock keeps the
            // jobs from all seeing "no case yet" (a new one is also
            // serialized by its own insert, which round 1 covers).
            let known = customer(
                &format!("{external_id}-known"),
                &w.account_id,
                &w.channel_id,
                &external_id,
            );
            write_ok(&*store, "create the customer", move |tx| {
                Box::pin(async move { tx.upsert_customer_locked(&known).await.map(drop) })
            })
            .await;
        }
        let jobs: Vec<_> = (0..MESSAGES)
            .map(|i| {
                tokio::spawn(route_message(
                    Arc::clone(&store),
                    w.clone(),
                    external_id.clone(),
                    i,
                ))
            })
            .collect();
        for (i, job) in within("30 concurrent messages", futures::future::join_all(jobs))
            .await
            .into_iter()
            .enumerate()
        {
            if let Err(e) = job.expect("a routing job panicked") {
                panic!("round {round}: message {i} of one customer failed: {e}");
            }
        }
        let (account_id, channel_id) = (w.account_id.clone(), w.channel_id.clone());
        let (found, cases, counts) = write_ok(&*store, "read the burst", move |tx| {
            Box::pin(async move {
                let probe = customer("probe", &account_id, &channel_id, &external_id);
                let found = tx.upsert_customer_locked(&probe).await?;
                let filter = CaseFilter {
                    customer_id: Some(found.id.clone()),
                    limit: 100,
                    ..CaseFilter::default()
                };
                let cases = tx.list_cases(&account_id, &filter).await?;
                let mut counts = Vec::new();
                for case in &cases {
                    counts.push(tx.list_messages(&account_id, &case.id).await?.len());
                }
                Ok((found, cases, counts))
            })
        })
        .await;
        let numbers: Vec<i64> = cases.iter().map(|c| c.number).collect();
        assert_eq!(
            cases.len(),
            1,
            "round {round}: concurrent messages of one customer made the cases {numbers:?}"
        );
        assert_eq!(
            counts,
            [MESSAGES],
            "round {round}: the customer's one case holds every message"
        );
        assert_eq!(
            found.latest_case_id.as_ref(),
            Some(&cases[0].id),
            "round {round}: the case is the customer's latest"
        );
        assert_eq!(
            cases[0].number, round as i64,
            "round {round}: case numbers stay sequential"
        );
    }
}
