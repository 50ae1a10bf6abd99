//! The SQLite backend of casedesk: the default, embedded, zero-setup store.
//!
//! SQLite allows one writer at a time, so this crate embraces it: a single
//! writer thread owns the write connection and runs write jobs in batches,
//! each job inside its own savepoint and the whole batch in one
//! `BEGIN IMMEDIATE` transaction (group commit). One fsync then covers many
//! jobs, which is what makes durable ingest fast, and running jobs one after
//! the other serializes routing decisions for free. Reads run on a small pool
//! of reader threads with their own connections (WAL lets them proceed while
//! the writer writes).
//!
//! It also copies a live database for backups ([`backup`]), with SQLite's
//! online backup API, since how to copy the file safely is SQLite's business.
//!
//! What it must not do: decide rules (jobs from the server do), or leak
//! `rusqlite` types through the [`Store`]/[`Tx`] interface.

#![forbid(unsafe_code)]

mod backup;
pub mod baseline;
mod migrate;
mod reports;
mod tx;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use casedesk_store::sql::Memo;
use casedesk_store::{Job, JobError, JobOutput, Mode, Store, StoreError, sql};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

pub use crate::backup::{BackupOptions, BackupReport, backup};
use crate::tx::SqliteTx;

/// How many queued write jobs one transaction may take.
const MAX_BATCH: usize = 512;

/// How large the WAL may grow before the writer checkpoints it itself.
/// Below it a checkpointer thread copies the WAL back into the database,
/// off the writer's path.
pub const WAL_CAP_BYTES: u64 = 64 << 20;
/// Least time between two of the checkpointer's checkpoints: each one
/// ends with an fsync of the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The writer's side of the checkpointer thread (docs/benchmarks.md,
/// "Issue 16, fourth step"). SQLite's own automatic checkpoint runs on the
/// writer, between its transactions, and took about 8 % of its time. The
/// checkpointer runs `PRAGMA wal_checkpoint(PASSIVE)` on its own
/// connection, at most every [`CHECKPOINT_EVERY`] while the writer
/// commits. A passive checkpoint cannot start the WAL over while the
/// writer keeps committing (the WAL starts over only when a write begins
/// with every frame copied back), so under sustained writes the WAL would
/// grow without end: past the cap the writer checkpoints itself, between
/// two transactions — a short copy when the checkpointer already copied
/// most frames — and its next transaction starts the WAL over.
///
/// The writer knows the WAL's length from its file: `journal_size_limit`
/// cuts the file back to the cap whenever the WAL starts over, so the
/// file is larger than the cap only while the WAL holds more than that.
///
/// A reader in the middle of a job holds back the frames after its
/// snapshot, so a checkpoint may leave the WAL unable to start over; the
/// writer then checks again only after another sixteenth of the cap, not
/// after every commit.
struct Checkpoints {
    nudge: std::sync::mpsc::SyncSender<()>,
    wal: PathBuf,
    cap_bytes: u64,
    /// The WAL file size past which the writer checkpoints next.
    next_at: u64,
}

impl Checkpoints {
    /// After a commit: wakes the checkpointer, and checkpoints here past
    /// the cap.
    fn committed(&mut self, conn: &Connection) {
        let _ = self.nudge.try_send(());
        let size = std::fs::metadata(&self.wal).map_or(0, |m| m.len());
        if size <= self.cap_bytes {
            self.next_at = self.cap_bytes;
        } else if size > self.next_at {
            if let Err(e) = checkpoint(conn) {
                tracing::warn!("the writer's WAL checkpoint failed: {e}");
            }
            self.next_at = size + self.cap_bytes / 16;
        }
    }
}

/// A passive checkpoint: copies what it can of the WAL into the database.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

fn checkpointer_loop(conn: Connection, nudges: std::sync::mpsc::Receiver<()>) {
    while nudges.recv().is_ok() {
        let started = Instant::now();
        if let Err(e) = checkpoint(&conn) {
            tracing::debug!("background WAL checkpoint failed: {e}");
        }
        thread::sleep(CHECKPOINT_EVERY.saturating_sub(started.elapsed()));
    }
}

struct Request {
    job: Job,
    reply: oneshot::Sender<JobOutput>,
}

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    /// One private in-memory database (reads then share the writer thread).
    Memory,
}

impl Location {
    /// Parses `sqlite://casedesk.db`, `sqlite:///abs/path.db`, `sqlite:relative.db`
    /// or `sqlite::memory:`.
    pub fn from_url(url: &str) -> Result<Location, StoreError> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::Other(format!("not a sqlite URL: {url}")))?;
        let path = rest.split('?').next().unwrap_or_default();
        match path {
            ":memory:" => Ok(Location::Memory),
            "" => Err(StoreError::Other(format!(
                "sqlite URL names no file: {url}"
            ))),
            p => Ok(Location::File(PathBuf::from(p))),
        }
    }
}

/// The SQLite [`Store`].
pub struct SqliteStore {
    writer: Mutex<Option<mpsc::Sender<Request>>>,
    readers: Mutex<Option<mpsc::Sender<Request>>>,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
}

impl SqliteStore {
    /// Opens (creating when missing) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Arc<SqliteStore>, StoreError> {
        Self::open_with_wal_cap(url, WAL_CAP_BYTES).await
    }

    /// [`SqliteStore::open`] with the WAL capped at `cap_bytes` before the
    /// writer checkpoints it itself (tests use a small cap).
    pub async fn open_with_wal_cap(
        url: &str,
        cap_bytes: u64,
    ) -> Result<Arc<SqliteStore>, StoreError> {
        let location = Location::from_url(url)?;
        tokio::task::spawn_blocking(move || Self::open_blocking(location, 2, cap_bytes))
            .await
            .map_err(|e| StoreError::Other(format!("open task failed: {e}")))?
    }

    fn open_blocking(
        location: Location,
        reader_count: usize,
        cap_bytes: u64,
    ) -> Result<Arc<SqliteStore>, StoreError> {
        let mut write_conn = open_connection(&location, false)?;
        migrate::run(&write_conn)?;
        fill_search_columns(&mut write_conn)?;

        let mut threads = Vec::new();
        let checkpoints = match &location {
            Location::Memory => None,
            Location::File(path) => {
                write_conn
                    .execute_batch(&format!(
                        "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {cap_bytes};"
                    ))
                    .map_err(tx::map_err)?;
                let conn = open_connection(&location, false)?;
                let (nudge, nudges) = std::sync::mpsc::sync_channel(1);
                threads.push(spawn_named("casedesk-sqlite-checkpointer", move || {
                    checkpointer_loop(conn, nudges)
                })?);
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                Some(Checkpoints {
                    nudge,
                    wal: PathBuf::from(wal),
                    cap_bytes,
                    next_at: cap_bytes,
                })
            }
        };
        let (write_tx, write_rx) = mpsc::channel::<Request>(4096);
        threads.push(spawn_named("casedesk-sqlite-writer", move || {
            writer_loop(write_conn, write_rx, checkpoints)
        })?);

        let readers = match &location {
            Location::Memory => None,
            Location::File(_) => {
                let (read_tx, read_rx) = mpsc::channel::<Request>(1024);
                let read_rx = Arc::new(Mutex::new(read_rx));
                for i in 0..reader_count {
                    let conn = open_connection(&location, true)?;
                    let rx = Arc::clone(&read_rx);
                    threads.push(spawn_named(
                        &format!("casedesk-sqlite-reader-{i}"),
                        move || reader_loop(conn, rx),
                    )?);
                }
                Some(read_tx)
            }
        };

        Ok(Arc::new(SqliteStore {
            writer: Mutex::new(Some(write_tx)),
            readers: Mutex::new(readers),
            threads: Mutex::new(threads),
        }))
    }

    fn sender(&self, mode: Mode) -> Option<mpsc::Sender<Request>> {
        let lock = |m: &Mutex<Option<mpsc::Sender<Request>>>| {
            m.lock().ok().and_then(|g| g.as_ref().cloned())
        };
        match mode {
            Mode::Read => lock(&self.readers).or_else(|| lock(&self.writer)),
            Mode::Write => lock(&self.writer),
        }
    }
}

fn spawn_named(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> Result<thread::JoinHandle<()>, StoreError> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| StoreError::Other(format!("cannot start {name}: {e}")))
}

fn open_connection(location: &Location, read_only: bool) -> Result<Connection, StoreError> {
    let conn = match location {
        Location::Memory => Connection::open_in_memory(),
        Location::File(path) => {
            let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
            flags |= if read_only {
                OpenFlags::SQLITE_OPEN_READ_ONLY
            } else {
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
            };
            Connection::open_with_flags(path, flags)
        }
    }
    .map_err(|e| StoreError::Unavailable(format!("cannot open SQLite database: {e}")))?;
    // FULL: a commit is on disk before the server acknowledges it, so a
    // 2xx survives kill -9 and power loss alike; group commit pays for it.
    let pragmas = if read_only {
        "PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;"
    } else {
        // temp_store = MEMORY keeps each job's savepoint journal off the
        // disk: it was a third of the writer's time (docs/benchmarks.md).
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;"
    };
    conn.execute_batch(pragmas).map_err(tx::map_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Fills the search columns of rows older than them, in one transaction.
fn fill_search_columns(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(tx::map_err)?;
    let filled =
        futures::executor::block_on(sql::fill_search_columns(&mut SqliteTx::new(conn, None)));
    let end = if filled.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end).map_err(tx::map_err)?;
    let filled = filled?;
    if filled > 0 {
        tracing::info!(filled, "filled the search columns of older rows");
    }
    Ok(())
}

/// Runs one job on `conn` to completion. The job's futures never wait on
/// anything but this connection, which answers synchronously.
fn run_job(conn: &mut Connection, memo: Option<&mut Memo>, job: Job) -> JobOutput {
    let mut tx = SqliteTx::new(conn, memo);
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(job(&mut tx))
    }))
    .unwrap_or_else(|_| {
        tracing::error!("a storage job panicked; its changes are rolled back");
        Err(JobError::Store(StoreError::Other(
            "storage job panicked".into(),
        )))
    })
}

fn writer_loop(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Request>,
    mut checkpoints: Option<Checkpoints>,
) {
    let mut memo = Memo::default();
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, &mut memo, batch);
        if let Some(c) = &mut checkpoints {
            c.committed(&conn);
        }
    }
    // The checkpointer stops when its nudges end.
    drop(checkpoints);
    if let Err(e) = conn.execute_batch("PRAGMA optimize;") {
        tracing::debug!("optimize on close failed: {e}");
    }
}

/// Runs a batch of write jobs in one transaction, each in its savepoint.
/// `memo` is forgotten whenever something is rolled back: a job may have
/// read back what it wrote.
fn run_batch(conn: &mut Connection, memo: &mut Memo, batch: Vec<Request>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = tx::map_err(e);
        for r in batch {
            let _ = r.reply.send(Err(JobError::Store(StoreError::Unavailable(
                err.to_string(),
            ))));
        }
        return;
    }
    let mut results = Vec::with_capacity(batch.len());
    let mut waiting = batch.into_iter();
    while let Some(r) = waiting.next() {
        let out = match conn.execute_batch("SAVEPOINT job") {
            Ok(()) => {
                let out = run_job(conn, Some(memo), r.job);
                let end = if out.is_ok() {
                    "RELEASE job"
                } else {
                    "ROLLBACK TO job; RELEASE job"
                };
                match conn.execute_batch(end) {
                    Ok(()) => out,
                    Err(e) => Err(JobError::Store(tx::map_err(e))),
                }
            }
            Err(e) => Err(JobError::Store(tx::map_err(e))),
        };
        if out.is_err() {
            memo.clear();
        }
        results.push((r.reply, out));
        // After some errors inside a statement (SQLITE_FULL, SQLITE_IOERR,
        // SQLITE_NOMEM) SQLite rolls the whole transaction back by itself:
        // the jobs done so far are undone, whatever they answered, and the
        // next ones would run outside the batch. None of them is stored.
        if conn.is_autocommit() {
            memo.clear();
            let msg = "SQLite rolled the write transaction back after an error (disk full?)";
            tracing::error!("{msg}");
            let replies = results.into_iter().map(|(reply, _)| reply);
            for reply in replies.chain(waiting.map(|r| r.reply)) {
                let _ = reply.send(Err(JobError::Store(StoreError::Unavailable(msg.into()))));
            }
            return;
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let msg = format!("commit failed: {e}");
        tracing::error!("{msg}");
        let _ = conn.execute_batch("ROLLBACK");
        memo.clear();
        for (reply, _) in results {
            let _ = reply.send(Err(JobError::Store(StoreError::Unavailable(msg.clone()))));
        }
        return;
    }
    for (reply, out) in results {
        let _ = reply.send(out);
    }
}

fn reader_loop(mut conn: Connection, rx: Arc<Mutex<mpsc::Receiver<Request>>>) {
    loop {
        let next = match rx.lock() {
            Ok(mut guard) => guard.blocking_recv(),
            Err(_) => return,
        };
        let Some(r) = next else { return };
        // One snapshot for the whole job.
        let out = match conn.execute_batch("BEGIN") {
            Ok(()) => {
                let out = run_job(&mut conn, None, r.job);
                let _ = conn.execute_batch("COMMIT");
                out
            }
            Err(e) => Err(JobError::Store(tx::map_err(e))),
        };
        let _ = r.reply.send(out);
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn run(&self, mode: Mode, job: Job) -> JobOutput {
        let closed = || JobError::Store(StoreError::Unavailable("the store is closed".into()));
        let sender = self.sender(mode).ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        let request = Request { job, reply };
        // The queue is bounded: when it is full the caller waits here,
        // which is the backpressure we want.
        sender.send(request).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    async fn close(&self) {
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        if let Ok(mut r) = self.readers.lock() {
            r.take();
        }
        let threads = self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite undoes the whole transaction by itself after some errors
    /// inside a statement (SQLITE_FULL when the disk is full; here a
    /// trigger's `RAISE(ROLLBACK)`, which does the same on purpose): no job
    /// of the batch may then be answered as if stored, and the jobs after
    /// it must not run outside the batch.
    #[test]
    fn a_batch_sqlite_rolled_back_answers_unavailable_to_every_job() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn =
            open_connection(&Location::File(dir.path().join("t.db")), false).expect("open");
        migrate::run(&conn).expect("migrate");
        conn.execute_batch(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON accounts WHEN NEW.id = 'boom' \
             BEGIN SELECT RAISE(ROLLBACK, 'boom'); END;",
        )
        .expect("trigger");
        let ids = ["before", "boom", "after"];
        let (batch, answers): (Vec<Request>, Vec<_>) = ids
            .iter()
            .map(|id| {
                let account = casedesk_store::AccountRecord {
                    id: (*id).to_owned(),
                    name: (*id).to_owned(),
                    settings: Default::default(),
                    time_zone: Default::default(),
                    business_hours: None,
                    assign_on_reply: true,
                    created_at: chrono::Utc::now(),
                };
                let job: Job = Box::new(move |tx| {
                    Box::pin(async move {
                        tx.insert_account(&account).await?;
                        Ok(Box::new(()) as Box<dyn std::any::Any + Send>)
                    })
                });
                let (reply, answer) = oneshot::channel();
                (Request { job, reply }, answer)
            })
            .unzip();
        run_batch(&mut conn, &mut Memo::default(), batch);
        for (id, answer) in ids.iter().zip(answers) {
            let out = answer.blocking_recv().expect("every job is answered");
            assert!(
                matches!(out, Err(JobError::Store(StoreError::Unavailable(_)))),
                "{id}: expected Unavailable"
            );
        }
        let stored: i64 = conn
            .query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))
            .expect("count");
        assert_eq!(stored, 0, "nothing of the batch is stored");
        assert!(conn.is_autocommit(), "no transaction is left open");
    }

    #[test]
    fn parses_urls() {
        assert_eq!(
            Location::from_url("sqlite://casedesk.db").unwrap(),
            Location::File("casedesk.db".into())
        );
        assert_eq!(
            Location::from_url("sqlite:///tmp/x.db?mode=rwc").unwrap(),
            Location::File("/tmp/x.db".into())
        );
        assert_eq!(
            Location::from_url("sqlite::memory:").unwrap(),
            Location::Memory
        );
        assert!(Location::from_url("postgres://x").is_err());
        assert!(Location::from_url("sqlite://").is_err());
    }
}
