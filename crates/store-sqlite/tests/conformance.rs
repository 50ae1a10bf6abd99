//! The storage conformance suite on SQLite: each test gets a new database
//! file in its own temporary directory.

use std::sync::Arc;

use casedesk_store::Store;
use casedesk_store_sqlite::SqliteStore;

async fn fresh_store() -> Arc<dyn Store> {
    // Leaked on purpose: the directory must outlive the store, and the test
    // process is short-lived.
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let url = format!("sqlite://{}", dir.join("conformance.db").display());
    SqliteStore::open(&url).await.expect("open SQLite store")
}

casedesk_store::conformance_tests!(fresh_store());

#[tokio::test]
async fn in_memory_database_works_through_the_writer() {
    let store: Arc<dyn Store> = SqliteStore::open("sqlite::memory:").await.expect("memory");
    casedesk_store::conformance::case_numbers_are_sequential_per_account(store).await;
}

#[tokio::test]
async fn search_columns_of_older_rows_are_filled_on_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("older.db");
    let url = format!("sqlite://{}", path.display());
    let store: Arc<dyn Store> = SqliteStore::open(&url).await.expect("open");
    casedesk_store::conformance::search_columns_of_older_rows_are_filled_on_open(
        store,
        |store| async move {
            store.close().await;
            let conn = rusqlite::Connection::open(&path).expect("raw connection");
            conn.execute_batch(
                "UPDATE cases SET subject_folded = NULL; UPDATE messages SET text_folded = NULL;",
            )
            .expect("blank the search columns");
            drop(conn);
            SqliteStore::open(&url).await.expect("reopen") as Arc<dyn Store>
        },
    )
    .await;
}
