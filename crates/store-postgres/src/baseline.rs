//! The raw durable-commit rate of a PostgreSQL server: the yardstick
//! `casedesk bench ingest` compares the store with.
//!
//! One connection commits one single-row INSERT per transaction, one after
//! the other, with the server's own durability settings (the store changes
//! none of them): every commit waits for its WAL flush, which is what a
//! store pays per message when nothing else commits alongside.

use std::str::FromStr;
use std::time::{Duration, Instant};

use casedesk_store::StoreError;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

/// Commits single-row INSERTs, one per transaction, into a table of a new
/// scratch schema of the database at `url` for about `duration`; returns
/// commits per second. The scratch schema is dropped afterwards.
pub async fn single_row_commit_rate(url: &str, duration: Duration) -> Result<f64, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
    let mut conn = PgConnection::connect_with(&options).await.map_err(db_err)?;
    let schema = crate::unique_schema_name("cd_raw_baseline");
    conn.execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .map_err(db_err)?;
    let rate = measure(&mut conn, &schema, duration).await;
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
    conn: &mut PgConnection,
    schema: &str,
    duration: Duration,
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
    let insert =
        format!("INSERT INTO {schema}.raw_inserts (id, body, created_at) VALUES ($1, $2, $3)");
    let body = "Hello, I have a question about my order and would like to talk to someone.";
    let start = Instant::now();
    let mut commits: u64 = 0;
    while start.elapsed() < duration {
        // Outside a transaction block: each INSERT is its own transaction.
        sqlx::query(&insert)
            .bind(format!("{commits:016x}"))
            .bind(body)
            .bind(commits as i64)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        commits += 1;
    }
    Ok(commits as f64 / start.elapsed().as_secs_f64())
}

fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}
