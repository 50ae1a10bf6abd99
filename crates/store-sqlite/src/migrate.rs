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
        9,
        "agent_access",
        include_str!("../migrations/0009_agent_access.sql"),
    ),
    (
        10,
        "outbox_failed",
        include_str!("../migrations/0010_outbox_failed.sql"),
    ),
    (
        11,
        "search_folded",
        include_str!("../migrations/0011_search_folded.sql"),
    ),
    (
        12,
        "messenger",
        include_str!("../migrations/0012_messenger.sql"),
    ),
];

pub(crate) fn run(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .map_err(map_err)?;
    let applied: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(map_err)?;
    if let (Some(&newest), Some(&(latest, _, _))) = (applied.iter().max(), MIGRATIONS.last())
        && newest > latest
    {
        return Err(StoreError::Other(format!(
            "the database schema is version {newest}, newer than this casedesk knows ({latest}); \
             upgrade casedesk"
        )));
    }
    for &(version, name, sql) in pending(MIGRATIONS, &applied) {
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

/// The migrations not applied yet, in order. Every missing one counts, not
/// only those above the newest applied: migrations written on parallel
/// branches can land out of order (0010 before 0009), as PostgreSQL's
/// migrator also allows.
fn pending<'m>(
    migrations: &'m [(i64, &'m str, &'m str)],
    applied: &[i64],
) -> Vec<&'m (i64, &'m str, &'m str)> {
    migrations
        .iter()
        .filter(|m| !applied.contains(&m.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_that_landed_late_still_runs() {
        let list = [(8, "a", ""), (9, "late", ""), (10, "b", "")];
        let versions = |p: Vec<&(i64, &str, &str)>| p.iter().map(|m| m.0).collect::<Vec<_>>();
        assert_eq!(versions(pending(&list, &[8, 10])), [9]);
        assert_eq!(versions(pending(&list, &[])), [8, 9, 10]);
        assert!(pending(&list, &[8, 9, 10]).is_empty());
    }
}
