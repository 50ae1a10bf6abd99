//! The WAL under sustained writes: a checkpointer thread copies it back
//! into the database off the writer's path, and past its cap the writer
//! checkpoints itself, so the WAL file stays bounded however long the
//! writes go on, and nothing written is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use casedesk_store::{LimitEntry, Store, StoreError, read, write};
use casedesk_store_sqlite::SqliteStore;

/// 1 MiB.
const CAP_BYTES: u64 = 1 << 20;
const TASKS: usize = 16;
const JOBS_PER_TASK: usize = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wal_stays_bounded_under_sustained_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wal.db");
    let wal = dir.path().join("wal.db-wal");
    let store: Arc<dyn Store> =
        SqliteStore::open_with_wal_cap(&format!("sqlite://{}", db.display()), CAP_BYTES)
            .await
            .expect("open");
    let largest = Arc::new(AtomicU64::new(0));
    // Sixteen writers at once keep the writer busy with batch after batch:
    // the checkpointer alone would never see the WAL fully copied at the
    // start of a write, the only moment it can start over.
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (store, largest, wal) = (Arc::clone(&store), Arc::clone(&largest), wal.clone());
            tokio::spawn(async move {
                for j in 0..JOBS_PER_TASK {
                    // About a page of key per entry, in the table and its index.
                    let entry = LimitEntry {
                        id: format!("{t}-{j}"),
                        key: format!("{t}-{j}-{}", "k".repeat(3000)),
                        tag: None,
                        expires_at: casedesk_domain::Time::MAX_UTC,
                    };
                    write::<_, StoreError, _>(&*store, move |tx| {
                        Box::pin(async move {
                            tx.take_limit(&entry, 10, casedesk_domain::Time::UNIX_EPOCH)
                                .await
                        })
                    })
                    .await
                    .expect("an entry written");
                    let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                    largest.fetch_max(size, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer task");
    }
    let written = (TASKS * JOBS_PER_TASK) as i64;
    let kept = read::<_, StoreError, _>(&*store, |tx| {
        Box::pin(async move {
            let mut n = 0;
            for t in 0..TASKS {
                let key = format!("{t}-0-{}", "k".repeat(3000));
                n += tx
                    .count_limit(&key, casedesk_domain::Time::UNIX_EPOCH)
                    .await?
                    .0;
            }
            Ok(n)
        })
    })
    .await
    .expect("counted");
    assert_eq!(kept, TASKS as i64, "every task's first entry is kept");
    let db_size = std::fs::metadata(&db).expect("database file").len();
    let largest = largest.load(Ordering::Relaxed);
    // About three pages per entry went through the WAL: ~47 MiB in all.
    assert!(
        db_size > written as u64 * 4096,
        "the entries were copied into the database file ({db_size} bytes)"
    );
    // A batch of up to sixteen entries may take the WAL past the cap
    // before the writer checkpoints.
    assert!(
        largest <= 2 * CAP_BYTES,
        "the WAL grew to {largest} bytes, past twice its cap of {CAP_BYTES}"
    );
    store.close().await;
}
