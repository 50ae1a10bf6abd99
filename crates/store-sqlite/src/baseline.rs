//! The raw durable-commit rate of SQLite on this machine: the yardstick
//! `casedesk bench ingest` compares the store's group commit with.
//!
//! It opens its scratch database exactly like the store opens its writer
//! (WAL, `synchronous = FULL`, same pragmas), then commits one single-row
//! INSERT per transaction, one after the other: every commit waits for its
//! own fsync, which is what a store without group commit would pay per
//! message.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use casedesk_store::StoreError;
use rusqlite::params;

use crate::tx::map_err;
use crate::{Location, open_connection};

/// Commits single-row INSERTs, one per transaction, into a new scratch
/// database at `path` for about `duration`; returns commits per second.
///
/// `path` must not exist yet: the scratch file and its WAL are removed
/// afterwards, so this never touches a real database.
pub async fn single_row_commit_rate(path: &Path, duration: Duration) -> Result<f64, StoreError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        if path.exists() {
            return Err(StoreError::Other(format!(
                "{} already exists; the baseline needs a scratch file",
                path.display()
            )));
        }
        let rate = measure(&path, duration);
        remove_scratch(&path);
        rate
    })
    .await
    .map_err(|e| StoreError::Other(format!("baseline task failed: {e}")))?
}

fn measure(path: &Path, duration: Duration) -> Result<f64, StoreError> {
    let conn = open_connection(&Location::File(path.to_owned()), false)?;
    // Shaped like a small message row: a text key and a body.
    conn.execute_batch(
        "CREATE TABLE raw_inserts (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at INTEGER NOT NULL)",
    )
    .map_err(map_err)?;
    let mut insert = conn
        .prepare("INSERT INTO raw_inserts (id, body, created_at) VALUES (?1, ?2, ?3)")
        .map_err(map_err)?;
    let body = "Hello, I have a question about my order and would like to talk to someone.";
    let start = Instant::now();
    let mut commits: u64 = 0;
    while start.elapsed() < duration {
        // Autocommit: each INSERT is its own durable transaction.
        insert
            .execute(params![format!("{commits:016x}"), body, commits as i64])
            .map_err(map_err)?;
        commits += 1;
    }
    Ok(commits as f64 / start.elapsed().as_secs_f64())
}

fn remove_scratch(path: &Path) {
    let mut files = vec![path.to_owned()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    for file in files {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot remove {}: {e}", file.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn measures_and_cleans_up() {
        let dir =
            std::env::temp_dir().join(format!("casedesk-baseline-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test dir");
        let path = dir.join("raw.db");
        let rate = single_row_commit_rate(&path, Duration::from_millis(100))
            .await
            .expect("baseline runs");
        assert!(rate > 0.0);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).expect("remove test dir");
    }

    #[tokio::test]
    async fn refuses_an_existing_file() {
        let dir =
            std::env::temp_dir().join(format!("casedesk-baseline-exists-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test dir");
        let path = dir.join("taken.db");
        std::fs::write(&path, b"not yours").expect("write file");
        assert!(
            single_row_commit_rate(&path, Duration::from_millis(10))
                .await
                .is_err()
        );
        assert_eq!(
            std::fs::read(&path).expect("file still there"),
            b"not yours"
        );
        std::fs::remove_dir_all(&dir).expect("remove test dir");
    }
}
