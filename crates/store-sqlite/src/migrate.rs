//! Embedded, ordered, run-once schema migrations.

use casedesk_store::StoreError;
use rusqlite::Connection;

use crate::tx::map_err;

/// Each migration runs once, in order, inside its own transaction.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "core", include_str!("../migrations/0001_core.sql")),
    (
        2,
        "case_activity_index",
        include_str!("../migrations/0002_case_activity_index.sql"),
    ),
    (3, "reports", include_str!("../migrations/0003_reports.sql")),
    (
        4,
        "business_hours",
        include_str!("../migrations/0004_business_hours.sql"),
    ),
    (
        5,
        "stats_keys",
        include_str!("../migrations/0005_stats_keys.sql"),
    ),
    (
        6,
        "templates_rules",
        include_str!("../migrations/0006_templates_rules.sql"),
    ),
    (7, "widget", include_str!("../migrations/0007_widget.sql")),
    (
        8,
        "help_center",
        include_str!("../migrations/0008_help_center.sql"),
    ),
    (
        10,
        "outbox_failed",
        include_str!("../migrations/0010_outbox_failed.sql"),
    ),
];

pub(crate) fn run(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .map_err(map_err)?;
    let applied: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if let Some(&(latest, _, _)) = MIGRATIONS.last()
        && applied > latest
    {
        return Err(StoreError::Other(format!(
            "the database schema is version {applied}, newer than this casedesk knows ({latest}); \
             upgrade casedesk"
        )));
    }
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; INSERT INTO schema_migrations VALUES ({version}, '{name}', \
             datetime('now')); COMMIT;"
        ))
        .map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            StoreError::Other(format!("migration {version} ({name}) failed: {e}"))
        })?;
        tracing::info!(version, name, "applied SQLite migration");
    }
    Ok(())
}
