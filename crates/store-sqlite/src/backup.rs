//! A consistent copy of a live casedesk database, with SQLite's online
//! backup API.
//!
//! The copy is taken from one read snapshot: the source connection opens a
//! read transaction first and keeps it until the last page is copied, so
//! the backup steps never restart however much the server writes meanwhile
//! (SQLite restarts a backup whose source changed between steps only when
//! each step takes a fresh snapshot). In WAL mode a reader never blocks the
//! writer; the server's checkpoints merely cannot move past the snapshot
//! until the copy is done. Stepping in chunks with a pause in between keeps
//! the disk shared with the server instead of saturating it.
//!
//! The copy is written next to its final name (`….partial`), checked,
//! switched out of WAL mode so that it is one self-contained file, synced,
//! and only then renamed into place: a file under the final name is always
//! a complete backup.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use casedesk_store::StoreError;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::tx::map_err;

/// How the copy steps through the database.
#[derive(Debug, Clone, Copy)]
pub struct BackupOptions {
    /// Pages copied per step (4 KiB each by default: 1024 pages = 4 MiB).
    pub pages_per_step: i32,
    /// Pause between steps, leaving the disk to the server for a moment.
    pub pause: Duration,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            pages_per_step: 1024,
            pause: Duration::from_millis(2),
        }
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Size of the copy in bytes.
    pub bytes: u64,
    pub pages: u64,
    /// Steps taken (each at most `pages_per_step` pages).
    pub steps: u64,
    /// Rows in the snapshot that was copied.
    pub cases: i64,
    pub messages: i64,
    pub attachments: i64,
    pub schema_version: i64,
    pub elapsed: Duration,
}

/// Copies the casedesk database at `source` to the new file `dest`, while
/// a server may keep using `source`. Refuses when `dest` exists, and when
/// `source` is missing or is not a casedesk database.
pub fn backup(
    source: &Path,
    dest: &Path,
    options: BackupOptions,
) -> Result<BackupReport, StoreError> {
    let started = Instant::now();
    if !source.is_file() {
        return Err(StoreError::Other(format!(
            "no SQLite database at {}",
            source.display()
        )));
    }
    if dest.exists() {
        return Err(StoreError::Other(format!(
            "{} already exists; a backup never overwrites a file",
            dest.display()
        )));
    }
    let partial = partial_name(dest);
    remove_if_present(&partial)?;
    let copied = copy_snapshot(source, &partial, options).and_then(|mut report| {
        finish_copy(&partial, dest)?;
        report.elapsed = started.elapsed();
        Ok(report)
    });
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    copied
}

fn partial_name(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(path, e)),
        _ => Ok(()),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Other(format!("{}: {e}", path.display()))
}

/// Copies one read snapshot of `source` into the new database `partial`
/// and checks the copy.
fn copy_snapshot(
    source: &Path,
    partial: &Path,
    options: BackupOptions,
) -> Result<BackupReport, StoreError> {
    // Read-write without CREATE: a missing file is an error, not a new
    // database, and a WAL database needs its -shm file even for reading.
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(map_err)?;
    src.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON; BEGIN")
        .map_err(map_err)?;
    // The first read fixes the snapshot; the counts describe exactly it.
    let schema_version: i64 = src
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| {
            StoreError::Other(format!(
                "{} is not a casedesk database: {e}",
                source.display()
            ))
        })?;
    let count = |table: &str| -> Result<i64, StoreError> {
        src.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(map_err)
    };
    let (cases, messages, attachments) =
        (count("cases")?, count("messages")?, count("attachments")?);

    let mut dst = Connection::open(partial).map_err(map_err)?;
    let steps = {
        let copy = Backup::new(&src, &mut dst).map_err(map_err)?;
        let mut steps = 0u64;
        loop {
            steps += 1;
            match copy.step(options.pages_per_step).map_err(map_err)? {
                StepResult::Done => break,
                // More pages, or the destination was briefly locked: go on
                // after the pause.
                _ => std::thread::sleep(options.pause),
            }
        }
        steps
    };
    src.execute_batch("COMMIT").map_err(map_err)?;
    drop(src);

    // One self-contained file: no -wal or -shm to forget when copying it.
    let mode: String = dst
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(map_err)?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StoreError::Other(format!(
            "the copy stayed in journal mode {mode}"
        )));
    }
    let check: String = dst
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(map_err)?;
    if check != "ok" {
        return Err(StoreError::Other(format!(
            "the copy failed its check: {check}"
        )));
    }
    let pages: i64 = dst
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(map_err)?;
    dst.close().map_err(|(_, e)| map_err(e))?;
    let bytes = std::fs::metadata(partial)
        .map_err(|e| io_err(partial, e))?
        .len();
    Ok(BackupReport {
        bytes,
        pages: u64::try_from(pages).unwrap_or_default(),
        steps,
        cases,
        messages,
        attachments,
        schema_version,
        elapsed: Duration::ZERO,
    })
}

/// Syncs the copy and gives it its final name, durably.
fn finish_copy(partial: &Path, dest: &Path) -> Result<(), StoreError> {
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(partial, e))?;
    std::fs::rename(partial, dest).map_err(|e| io_err(dest, e))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A directory opened for reading can be synced on Unix; elsewhere
        // the rename is as durable as the platform makes it.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, SqliteStore};
    use casedesk_store::Store;

    fn conn(path: &Path) -> Connection {
        Connection::open(path).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn copies_a_migrated_database_into_one_checked_file() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("casedesk.db");
        let store = SqliteStore::open(&format!("sqlite://{}", source.display()))
            .await
            .unwrap();
        let dest = dir.path().join("copy.db");
        let report = backup(
            &source,
            &dest,
            BackupOptions {
                pages_per_step: 1,
                pause: Duration::ZERO,
            },
        )
        .unwrap();
        store.close().await;
        assert!(report.steps > 1, "one page per step: {report:?}");
        assert_eq!(report.cases, 0);
        assert!(report.schema_version >= 8);
        assert_eq!(report.bytes, std::fs::metadata(&dest).unwrap().len());
        assert!(!partial_name(&dest).exists());
        assert!(!dir.path().join("copy.db-wal").exists());
        let mode: String = conn(&dest)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        assert!(matches!(
            Location::from_url(&format!("sqlite://{}", dest.display())),
            Ok(Location::File(_))
        ));
    }

    #[test]
    fn refuses_missing_sources_foreign_files_and_existing_targets() {
        let dir = tempfile::tempdir().unwrap();
        let opts = BackupOptions::default();
        let missing = dir.path().join("missing.db");
        let err = backup(&missing, &dir.path().join("a.db"), opts).unwrap_err();
        assert!(err.to_string().contains("no SQLite database"), "{err}");
        assert!(!missing.exists(), "a backup never creates its source");

        let foreign = dir.path().join("foreign.db");
        conn(&foreign)
            .execute_batch("CREATE TABLE t (x INTEGER)")
            .unwrap();
        let err = backup(&foreign, &dir.path().join("b.db"), opts).unwrap_err();
        assert!(err.to_string().contains("not a casedesk database"), "{err}");
        assert!(!dir.path().join("b.db").exists());
        assert!(!dir.path().join("b.db.partial").exists());

        let taken = dir.path().join("taken.db");
        std::fs::write(&taken, b"keep me").unwrap();
        let err = backup(&foreign, &taken, opts).unwrap_err();
        assert!(err.to_string().contains("never overwrites"), "{err}");
        assert_eq!(std::fs::read(&taken).unwrap(), b"keep me");
    }
}
