//! The raw durable-commit rate of a PostgreSQL server: the yardstick
//! `casedesk bench ingest` compares the store with.
//!
//! Each of `clients` connections commits one single-row INSERT per
//! transaction, one after the other, with the server's own durability
//! settings (the store changes none of them): every commit waits for its WAL
//! flush. One client is what a store pays per message when nothing else
//! commits alongside; 16 (pgbench's usual figure) is what the server does
//! when many connections commit at once and PostgreSQL flushes their
//! commits together, the yardstick for a store that uses many connections.

use std::str::FromStr;
use std::time::{Duration, Instant};

use casedesk_store::StoreError;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

/// Commits single-row INSERTs, one per transaction, from `clients`
/// connections at once into a table of a new scratch schema of the database
/// at `url` for about `duration`; returns commits per second, all clients
/// together. The scratch schema is dropped afterwards.
pub async fn single_row_commit_rate(
    url: &str,
    duration: Duration,
    clients: usize,
) -> Result<f64, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
    let mut conn = PgConnection::connect_with(&options).await.map_err(db_err)?;
    let schema = crate::unique_schema_name("cd_raw_baseline");
    conn.execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .map_err(db_err)?;
    let rate = measure(&options, &mut conn, &schema, duration, clients.max(1)).await;
    let dropped = conn
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await
        .map(drop);
    let closed = conn.close().await;
    let rate = rate?;
    dropped.map_err(db_err)?;
    closed.map_err(db_err)?;
    Ok(rate)
}

async fn measure(
    options: &PgConnectOptions,
    conn: &mut PgConnection,
    schema: &str,
    duration: Duration,
    clients: usize,
) -> Result<f64, StoreError> {
    // Shaped like a small message row: a text key and a body.
    conn.execute(
        format!(
            "CREATE TABLE {schema}.raw_inserts \
             (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at BIGINT NOT NULL)"
        )
        .as_str(),
    )
    .await
    .map_err(db_err)?;
    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        conns.push(PgConnection::connect_with(options).await.map_err(db_err)?);
    }
    let insert =
        format!("INSERT INTO {schema}.raw_inserts (id, body, created_at) VALUES ($1, $2, $3)");
    let start = Instant::now();
    let counts = futures::future::try_join_all(
        conns
            .iter_mut()
            .enumerate()
            .map(|(client, c)| commit_until(c, &insert, client, start, duration)),
    )
    .await;
    let elapsed = start.elapsed();
    for c in conns {
        c.close().await.map_err(db_err)?;
    }
    Ok(counts?.iter().sum::<u64>() as f64 / elapsed.as_secs_f64())
}

/// One client's commits, one INSERT each, until `duration` has passed.
async fn commit_until(
    conn: &mut PgConnection,
    insert: &str,
    client: usize,
    start: Instant,
    duration: Duration,
) -> Result<u64, StoreError> {
    let body = "Hello, I have a question about my order and would like to talk to someone.";
    let mut commits: u64 = 0;
    while start.elapsed() < duration {
        // Outside a transaction block: each INSERT is its own transaction.
        sqlx::query(insert)
            .bind(format!("{client:04x}{commits:012x}"))
            .bind(body)
            .bind(commits as i64)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        commits += 1;
    }
    Ok(commits)
}

fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}
