//! casedesk's storage on PostgreSQL.
//!
//! This crate owns everything PostgreSQL-specific: the schema and its
//! migrations (`migrations/`), the SQL of every [`Tx`] query, how a unit of
//! work maps to a transaction, and how driver errors become neutral
//! [`StoreError`]s. It decides no rule of the helpdesk; the domain does.
//!
//! Concurrency is PostgreSQL's own: writes run in transactions at READ
//! COMMITTED, reads statement by statement (each statement sees what was
//! committed when it began, as it would inside such a transaction),
//! per-customer routing serializes on a `SELECT … FOR UPDATE` row lock of the
//! customer, and the scheduler's claims (deadlines, outbox) use
//! `FOR UPDATE SKIP LOCKED`, so several server processes can share one
//! database without firing a timer or delivering a message twice.
//!
//! [`Tx`]: casedesk_store::Tx

#![forbid(unsafe_code)]

mod reports;
mod tx;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use casedesk_store::{Job, JobOutput, Mode, Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};

use crate::tx::PgTx;

/// Connections of a store opened with [`PostgresStore::connect`].
const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// Connections of a throwaway test store: tests run in parallel against one
/// server, whose default limit is 100 connections.
const TEST_MAX_CONNECTIONS: u32 = 8;
/// How long a job waits for a connection before it is `Unavailable`. While
/// PostgreSQL is down the pool keeps trying to connect for this long, so it
/// is also how long a request waits before its 503: short enough for a
/// messenger's webhook to get the answer rather than time out (sqlx's
/// default of 30 s was not), long enough for a busy pool to free up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Batches of customer messages written at once ([`Store::parallel_writes`]).
const PARALLEL_WRITES: usize = 2;

/// How long a connection may sit idle in the pool and still be used
/// without a ping first.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// A casedesk store on a PostgreSQL database (or one schema of it).
pub struct PostgresStore {
    pool: PgPool,
    /// The schema every connection uses, when not the server's default.
    schema: Option<String>,
    /// Tests' stores clean up after themselves; see [`PostgresStore::drop_schema_on_close`].
    drop_schema_on_close: bool,
}

impl std::fmt::Debug for PostgresStore {
    // The pool's options hold the password; say only what a log needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects and runs the migrations. `url` is like
    /// `postgres://postgres@127.0.0.1:5432/casedesk`; a `schema=NAME` query
    /// parameter keeps every table in that schema (created when missing).
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let (url, schema) = split_schema_param(url);
        Self::connect_with_schema(&url, schema.as_deref(), DEFAULT_MAX_CONNECTIONS).await
    }

    /// Connects with at most `max_connections` connections and runs the
    /// migrations. With `schema`, every connection uses only that schema
    /// (lowercase letters, digits and `_`), created when missing.
    pub async fn connect_with_schema(
        url: &str,
        schema: Option<&str>,
        max_connections: u32,
    ) -> Result<PostgresStore, StoreError> {
        // Every statement planned with its values, never a generic plan
        // cached for the connection's life: a generic plan made while a table
        // was small (a new install, a burst after a restart) can pick any
        // index that starts with `account_id` for a lookup by id, and keep
        // walking the account's whole index on every call once the table has
        // grown (measured: 1,200 buffers and 6 ms per `UPDATE cases … WHERE
        // id = $1` at 20,000 cases, against 3 buffers; docs/benchmarks.md).
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?
            .options([("plan_cache_mode", "force_custom_plan")]);
        if let Some(schema) = schema {
            check_schema_name(schema)?;
            create_schema(&options, schema).await?;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx pings a connection when it goes back to the pool (and
            // drops it if that fails); pinging it again when it is taken
            // would cost every unit of work one more round trip. Only a
            // connection that sat idle, and may have died meanwhile (a
            // restarted server), is pinged before it is used.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(map_err)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e) => map_err(e),
                other => StoreError::Other(format!("migration failed: {other}")),
            })?;
        let mut tx = PgTx::new(pool.begin().await.map_err(map_err)?);
        let filled = casedesk_store::sql::fill_search_columns(&mut tx).await?;
        if let PgTx::Write(tx) = tx {
            tx.commit().await.map_err(map_err)?;
        }
        if filled > 0 {
            tracing::info!(filled, "filled the search columns of older rows");
        }
        Ok(PostgresStore {
            pool,
            schema: schema.map(str::to_owned),
            drop_schema_on_close: false,
        })
    }

    /// A store in a new, empty, migrated schema (`cd_test_…`) of the
    /// database at `url`. For tests: each gets its own database state while
    /// sharing one server. A "restarted" server reconnects to the same data
    /// with [`PostgresStore::connect_with_schema`] and [`PostgresStore::schema`].
    pub async fn connect_fresh_schema(url: &str) -> Result<PostgresStore, StoreError> {
        let (url, _) = split_schema_param(url);
        Self::connect_with_schema(
            &url,
            Some(&unique_schema_name("cd_test")),
            TEST_MAX_CONNECTIONS,
        )
        .await
    }

    /// Makes [`Store::close`] drop this store's schema with all its data:
    /// for a test store nothing will open again. Ignored without a schema.
    pub fn drop_schema_on_close(mut self) -> PostgresStore {
        self.drop_schema_on_close = self.schema.is_some();
        self
    }

    /// The schema this store works in, when it was given one.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn parallel_writes(&self) -> usize {
        // Measured with 2, 4 and 8 under wrk (docs/benchmarks.md, "Issue 16,
        // fifth step"): the same within noise; 2 keeps the pool free for the
        // rest.
        PARALLEL_WRITES
    }

    async fn run(&self, mode: Mode, job: Job) -> JobOutput {
        if mode == Mode::Read {
            let conn = self.pool.acquire().await.map_err(map_err)?;
            return job(&mut PgTx::Read(conn)).await;
        }
        let tx = self.pool.begin().await.map_err(map_err)?;
        let mut work = PgTx::new(tx);
        let output = job(&mut work).await;
        let PgTx::Write(tx) = work else {
            unreachable!("a write runs in a transaction")
        };
        match output {
            Ok(value) => {
                tx.commit().await.map_err(map_err)?;
                Ok(value)
            }
            Err(e) => {
                // The job's error matters more than a failed rollback, and a
                // connection that cannot roll back is closed by the pool.
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(e)
            }
        }
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        // VACUUM cannot run in a transaction: a plain statement on the pool.
        self.pool
            .execute("VACUUM (ANALYZE) case_events, cases, customers, messages")
            .await
            .map(drop)
            .map_err(map_err)
    }

    async fn close(&self) {
        if self.pool.is_closed() {
            return;
        }
        if let Some(schema) = self.schema.as_ref().filter(|_| self.drop_schema_on_close) {
            let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            if let Err(e) = self.pool.execute(drop.as_str()).await {
                tracing::warn!(error = %e, schema, "cannot drop test schema");
            }
        }
        self.pool.close().await;
    }
}

/// Maps a driver error to the neutral kinds the server understands.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                // unique_violation
                "23505" => StoreError::Conflict(db.message().to_owned()),
                // serialization_failure, deadlock_detected: the job is
                // `FnOnce`, so the caller decides whether to try again.
                "40001" | "40P01" => StoreError::Conflict(db.message().to_owned()),
                // connection exceptions, shutdown, too many connections
                c if c.starts_with("08") || c.starts_with("57P") || c == "53300" => {
                    StoreError::Unavailable(db.message().to_owned())
                }
                _ => StoreError::Other(format!("{} (SQLSTATE {code})", db.message())),
            }
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// Takes a `schema=NAME` parameter out of a URL, which the driver does not know.
fn split_schema_param(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_owned());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, schema)
}

/// Schema names go into SQL unquoted, so only plain ones are accepted.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let plain = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ok(())
    } else {
        Err(StoreError::Other(format!(
            "schema name `{schema}` must be lowercase letters, digits and `_`"
        )))
    }
}

async fn create_schema(options: &PgConnectOptions, schema: &str) -> Result<(), StoreError> {
    let mut conn = PgConnection::connect_with(options).await.map_err(map_err)?;
    let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
    let created = conn.execute(create.as_str()).await.map(|_| ());
    // Two processes creating the same schema at once race on the catalog.
    let created = match created {
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505") => Ok(()),
        other => other,
    };
    let closed = conn.close().await;
    created.map_err(map_err)?;
    closed.map_err(map_err)
}

/// `{prefix}_…`, unique within this process's lifetime (process id, a
/// counter and the clock) and plain enough to go into SQL unquoted.
pub(crate) fn unique_schema_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_param_is_taken_out_of_the_url() {
        assert_eq!(
            split_schema_param("postgres://u@h/db?schema=abc&sslmode=disable"),
            (
                "postgres://u@h/db?sslmode=disable".to_owned(),
                Some("abc".to_owned())
            )
        );
        assert_eq!(
            split_schema_param("postgres://u@h/db?schema=abc"),
            ("postgres://u@h/db".to_owned(), Some("abc".to_owned()))
        );
        assert_eq!(
            split_schema_param("postgres://u@h/db"),
            ("postgres://u@h/db".to_owned(), None)
        );
    }

    #[test]
    fn only_plain_schema_names_are_accepted() {
        assert!(check_schema_name("cd_test_1").is_ok());
        assert!(check_schema_name("Robert\"; DROP").is_err());
        assert!(check_schema_name("").is_err());
        assert!(check_schema_name("1abc").is_err());
    }
}
pub mod baseline;
