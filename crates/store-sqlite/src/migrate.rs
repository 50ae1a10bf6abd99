//! Embedded, ordered, run-once schema migrations, each checked against a
//! checksum of its SQL every time the database opens.
//!
//! `schema_migrations(version, name, applied_at, checksum)` records what
//! ran. A migration runs once, inside its own `BEGIN IMMEDIATE` transaction
//! with its row. Every missing one runs, not only those above the newest
//! applied: migrations written on parallel branches can land out of order
//! (0010 before 0009), as PostgreSQL's migrator (sqlx) also allows. The
//! checksum is the SHA-256 of the migration's SQL (line ends as `\n`); a
//! released migration whose file was changed afterwards no longer matches
//! the database it was applied to, and the database is refused rather than
//! left half way between two schemas, as sqlx refuses on PostgreSQL.
//!
//! Databases made before checksums were kept have rows without one: the
//! first open by this code adds the column and records the checksums of
//! the SQL it carries for them (it cannot know what ran then), and checks
//! them from then on.
//!
//! Why our own runner and not a library: `rusqlite_migration` keeps one
//! number in `PRAGMA user_version` (no record of which migrations ran, so a
//! migration that landed late could never run, and no checksums; its 2.x
//! needs rusqlite 0.40, the workspace has 0.32), and `refinery` refuses or
//! skips a versioned migration below the newest applied (the same late
//! landing), keeps its own history table (existing databases would need
//! adopting) and brings about 120 crates (`url` with ICU, `time`, `regex`,
//! `walkdir`, its proc macros) for what this file does in a page.

use casedesk_store::StoreError;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::tx::map_err;

/// One migration: `migrations/{version:04}_{name}.sql`.
#[derive(Debug)]
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

impl Migration {
    const fn new(version: i64, name: &'static str, sql: &'static str) -> Migration {
        Migration { version, name, sql }
    }

    /// SHA-256 of the SQL, hex. Line ends count as `\n`, so a checkout
    /// that turned them into `\r\n` builds the same checksums.
    fn checksum(&self) -> String {
        format!("{:x}", Sha256::digest(self.sql.replace("\r\n", "\n")))
    }
}

/// Each migration runs once, in order, inside its own transaction.
const MIGRATIONS: &[Migration] = &[
    Migration::new(1, "core", include_str!("../migrations/0001_core.sql")),
    Migration::new(
        2,
        "case_activity_index",
        include_str!("../migrations/0002_case_activity_index.sql"),
    ),
    Migration::new(3, "reports", include_str!("../migrations/0003_reports.sql")),
    Migration::new(
        4,
        "business_hours",
        include_str!("../migrations/0004_business_hours.sql"),
    ),
    Migration::new(
        5,
        "stats_keys",
        include_str!("../migrations/0005_stats_keys.sql"),
    ),
    Migration::new(
        6,
        "templates_rules",
        include_str!("../migrations/0006_templates_rules.sql"),
    ),
    Migration::new(7, "widget", include_str!("../migrations/0007_widget.sql")),
    Migration::new(
        8,
        "help_center",
        include_str!("../migrations/0008_help_center.sql"),
    ),
    Migration::new(
        9,
        "agent_access",
        include_str!("../migrations/0009_agent_access.sql"),
    ),
    Migration::new(
        10,
        "outbox_failed",
        include_str!("../migrations/0010_outbox_failed.sql"),
    ),
    Migration::new(
        11,
        "search_folded",
        include_str!("../migrations/0011_search_folded.sql"),
    ),
    Migration::new(
        12,
        "messenger",
        include_str!("../migrations/0012_messenger.sql"),
    ),
    Migration::new(
        13,
        "message_edits",
        include_str!("../migrations/0013_message_edits.sql"),
    ),
    Migration::new(
        14,
        "customer_language",
        include_str!("../migrations/0014_customer_language.sql"),
    ),
    Migration::new(15, "email", include_str!("../migrations/0015_email.sql")),
    Migration::new(
        16,
        "console",
        include_str!("../migrations/0016_console.sql"),
    ),
    Migration::new(
        17,
        "channel_removed",
        include_str!("../migrations/0017_channel_removed.sql"),
    ),
    Migration::new(
        18,
        "case_number_sequences",
        include_str!("../migrations/0018_case_number_sequences.sql"),
    ),
    Migration::new(
        19,
        "claim_order_indexes",
        include_str!("../migrations/0019_claim_order_indexes.sql"),
    ),
    Migration::new(
        20,
        "notices",
        include_str!("../migrations/0020_notices.sql"),
    ),
    Migration::new(
        21,
        "limit_entries",
        include_str!("../migrations/0021_limit_entries.sql"),
    ),
    Migration::new(
        22,
        "citus_keys",
        include_str!("../migrations/0022_citus_keys.sql"),
    ),
    Migration::new(
        23,
        "imports",
        include_str!("../migrations/0023_imports.sql"),
    ),
];

/// What `schema_migrations` says ran.
struct Applied {
    version: i64,
    checksum: String,
}

pub(crate) fn run(conn: &Connection) -> Result<(), StoreError> {
    run_list(conn, MIGRATIONS)
}

fn run_list(conn: &Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    prepare_history(conn, migrations)?;
    let applied = applied(conn)?;
    if let (Some(newest), Some(latest)) =
        (applied.iter().map(|a| a.version).max(), migrations.last())
        && newest > latest.version
    {
        return Err(StoreError::Other(format!(
            "the database schema is version {newest}, newer than this casedesk knows ({}); \
             upgrade casedesk",
            latest.version
        )));
    }
    verify(migrations, &applied)?;
    let versions: Vec<i64> = applied.iter().map(|a| a.version).collect();
    for m in pending(migrations, &versions) {
        apply(conn, m).map_err(|e| {
            StoreError::Other(format!("migration {} ({}) failed: {e}", m.version, m.name))
        })?;
    }
    Ok(())
}

/// Creates `schema_migrations`, or brings one from before checksums up to
/// date: adds the column and fills it for the rows without one.
fn prepare_history(conn: &Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(map_err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL,
             checksum TEXT)",
    )
    .map_err(map_err)?;
    let has_checksum: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('schema_migrations') \
             WHERE name = 'checksum')",
            [],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if !has_checksum {
        tx.execute_batch("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")
            .map_err(map_err)?;
    }
    let mut adopted = 0;
    {
        let mut fill = tx
            .prepare(
                "UPDATE schema_migrations SET checksum = ?2 \
                 WHERE version = ?1 AND checksum IS NULL",
            )
            .map_err(map_err)?;
        for m in migrations {
            adopted += fill
                .execute(params![m.version, m.checksum()])
                .map_err(map_err)?;
        }
    }
    tx.commit().map_err(map_err)?;
    if adopted > 0 {
        tracing::info!(
            migrations = adopted,
            "recorded the checksums of SQLite migrations applied before checksums were kept"
        );
    }
    Ok(())
}

fn applied(conn: &Connection) -> Result<Vec<Applied>, StoreError> {
    conn.prepare("SELECT version, COALESCE(checksum, '') FROM schema_migrations")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Applied {
                    version: r.get(0)?,
                    checksum: r.get(1)?,
                })
            })?
            .collect()
        })
        .map_err(map_err)
}

/// Refuses a database one of whose applied migrations no longer has the SQL
/// that ran (an edited migration file).
fn verify(migrations: &[Migration], applied: &[Applied]) -> Result<(), StoreError> {
    for m in migrations {
        let Some(a) = applied.iter().find(|a| a.version == m.version) else {
            continue;
        };
        let now = m.checksum();
        if a.checksum != now {
            return Err(StoreError::Other(format!(
                "SQLite migration {} ({}) was changed after it was applied to this database \
                 (checksum {} applied, {now} now); put the released migration back and write \
                 the change as a new migration",
                m.version, m.name, a.checksum
            )));
        }
    }
    Ok(())
}

/// Runs `m` and records it, in one transaction; skips it when another
/// process applied it since the list was read.
fn apply(conn: &Connection, m: &Migration) -> rusqlite::Result<()> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let done: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
        [m.version],
        |r| r.get(0),
    )?;
    if done {
        return Ok(());
    }
    tx.execute_batch(m.sql)?;
    tx.execute(
        "INSERT INTO schema_migrations (version, name, applied_at, checksum) \
         VALUES (?1, ?2, datetime('now'), ?3)",
        params![m.version, m.name, m.checksum()],
    )?;
    tx.commit()?;
    tracing::info!(
        version = m.version,
        name = m.name,
        "applied SQLite migration"
    );
    Ok(())
}

/// The migrations not applied yet, in order. Every missing one counts, not
/// only those above the newest applied (see the module doc).
fn pending<'m>(migrations: &'m [Migration], applied: &[i64]) -> Vec<&'m Migration> {
    migrations
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Migration = Migration::new(1, "a", "CREATE TABLE a (x INTEGER)");
    const B: Migration = Migration::new(2, "b", "CREATE TABLE b (x INTEGER)");
    const C: Migration = Migration::new(3, "c", "CREATE TABLE c (x INTEGER)");

    fn versions(conn: &Connection) -> Vec<(i64, String)> {
        conn.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("history")
    }

    #[test]
    fn a_migration_that_landed_late_still_runs() {
        let list = [
            Migration::new(8, "a", ""),
            Migration::new(9, "late", ""),
            Migration::new(10, "b", ""),
        ];
        let numbers = |p: Vec<&Migration>| p.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(numbers(pending(&list, &[8, 10])), [9]);
        assert_eq!(numbers(pending(&list, &[])), [8, 9, 10]);
        assert!(pending(&list, &[8, 9, 10]).is_empty());

        // And on a database: 3 was released before 2 landed.
        let conn = Connection::open_in_memory().expect("open");
        run_list(&conn, &[A, C]).expect("first");
        run_list(&conn, &[A, B, C]).expect("late one");
        let got: Vec<i64> = versions(&conn).into_iter().map(|v| v.0).collect();
        assert_eq!(got, [1, 2, 3]);
        conn.execute("INSERT INTO b VALUES (1)", [])
            .expect("b exists");
    }

    #[test]
    fn every_migration_is_recorded_with_the_checksum_of_its_sql() {
        let conn = Connection::open_in_memory().expect("open");
        run(&conn).expect("migrate");
        let history = versions(&conn);
        assert_eq!(history.len(), MIGRATIONS.len());
        for (m, (version, checksum)) in MIGRATIONS.iter().zip(&history) {
            assert_eq!(*version, m.version);
            assert_eq!(*checksum, m.checksum());
            assert_eq!(checksum.len(), 64);
        }
        run(&conn).expect("a second open changes nothing");
        assert_eq!(versions(&conn), history);
        let ordered = MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version);
        assert!(ordered, "versions are unique and in order");
    }

    #[test]
    fn line_ends_do_not_change_a_checksum() {
        let crlf = Migration::new(1, "a", "CREATE TABLE a (x INTEGER);\r\nSELECT 1;\r\n");
        let lf = Migration::new(1, "a", "CREATE TABLE a (x INTEGER);\nSELECT 1;\n");
        assert_eq!(crlf.checksum(), lf.checksum());
        assert_ne!(lf.checksum(), A.checksum());
    }

    /// A database the runner before checksums made: its history table has
    /// no checksum column. It opens, is brought up to date, and is checked
    /// from then on.
    #[test]
    fn a_database_from_before_checksums_opens_and_migrates() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (
                 version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .expect("old history");
        let (old, new) = MIGRATIONS.split_at(MIGRATIONS.len() - 1);
        for m in old {
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE; {}; INSERT INTO schema_migrations VALUES ({}, '{}', \
                 datetime('now')); COMMIT;",
                m.sql, m.version, m.name
            ))
            .expect("old runner");
        }
        run(&conn).expect("opens without a manual step");
        let history = versions(&conn);
        assert_eq!(history.len(), MIGRATIONS.len(), "{} ran", new[0].name);
        for (m, (_, checksum)) in MIGRATIONS.iter().zip(&history) {
            assert_eq!(*checksum, m.checksum(), "migration {}", m.version);
        }
        run(&conn).expect("and again");
    }

    #[test]
    fn a_migration_changed_after_it_was_applied_is_refused() {
        let conn = Connection::open_in_memory().expect("open");
        run_list(&conn, &[A, B]).expect("first");
        let edited = Migration::new(2, "b", "CREATE TABLE b (x INTEGER, y TEXT)");
        let err = run_list(&conn, &[A, edited, C]).expect_err("refused");
        let msg = err.to_string();
        assert!(msg.contains("migration 2 (b) was changed"), "{msg}");
        assert!(msg.contains(&B.checksum()), "{msg}");
        let got: Vec<i64> = versions(&conn).into_iter().map(|v| v.0).collect();
        assert_eq!(got, [1, 2], "nothing ran past the refusal");
        run_list(&conn, &[A, B, C]).expect("the released file back: opens");
    }

    #[test]
    fn a_database_newer_than_the_binary_is_refused() {
        let conn = Connection::open_in_memory().expect("open");
        run_list(&conn, &[A, B]).expect("first");
        let err = run_list(&conn, &[A]).expect_err("refused");
        assert!(
            err.to_string().contains("newer than this casedesk knows"),
            "{err}"
        );
    }
}
