//! The `casedesk` binary's library half: choosing the storage backend from a
//! database URL, backup and restore of a SQLite installation, the
//! history import's command line, the benchmark programs and the evaluations of judgements. Kept in a library
//! so the end-to-end tests start servers exactly the way the binary does.

#![forbid(unsafe_code)]

pub mod backup;
pub mod bench;
pub mod eval;
pub mod import;

use std::sync::Arc;

use casedesk_store::{Store, StoreError};

/// Opens the backend the URL names.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        let store: Arc<dyn Store> = casedesk_store_sqlite::SqliteStore::open(url).await?;
        Ok(store)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            casedesk_store_postgres::PostgresStore::connect(url).await?,
        ))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL `{url}`: use sqlite://FILE or postgres://…"
        )))
    }
}
