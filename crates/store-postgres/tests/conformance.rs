//! The storage conformance suite on PostgreSQL.
//!
//! Needs a running server: `CASEDESK_TEST_DATABASE_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`. Each test works in its own new
//! schema. An unreachable server fails the tests; it never skips them.

use std::sync::Arc;

use casedesk_store::Store;
use casedesk_store_postgres::PostgresStore;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

async fn fresh_store() -> Arc<dyn Store> {
    let url =
        std::env::var("CASEDESK_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    match PostgresStore::connect_fresh_schema(&url).await {
        Ok(store) => Arc::new(store.drop_schema_on_close()),
        Err(e) => panic!(
            "cannot open a fresh PostgreSQL schema at {url}: {e}; \
             start PostgreSQL or set CASEDESK_TEST_DATABASE_URL"
        ),
    }
}

casedesk_store::conformance_tests!(fresh_store());

/// A `schema=` URL reaches the same data after a reconnect (a server
/// restart), and migrating an already migrated schema is a no-op.
#[tokio::test]
async fn reconnecting_to_a_schema_keeps_its_data() {
    let url =
        std::env::var("CASEDESK_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let schema = format!("cd_test_reconnect_{}", std::process::id());
    let with_schema = format!("{url}?schema={schema}");
    let store = PostgresStore::connect(&with_schema)
        .await
        .expect("connect with schema");
    assert_eq!(store.schema(), Some(schema.as_str()));
    casedesk_store::write::<_, casedesk_store::StoreError, _>(&store, |tx| {
        Box::pin(async move {
            let settings = casedesk_domain::AutoFinishSettings::default();
            let account = casedesk_store::AccountRecord {
                id: "acc".to_owned(),
                name: "Account".to_owned(),
                settings,
                time_zone: casedesk_domain::AccountTimeZone::default(),
                business_hours: None,
                assign_on_reply: true,
                created_at: casedesk_domain::Time::UNIX_EPOCH,
            };
            tx.insert_account(&account).await
        })
    })
    .await
    .expect("insert an account");
    store.close().await;
    let again = PostgresStore::connect(&with_schema)
        .await
        .expect("reconnect")
        .drop_schema_on_close();
    let count = casedesk_store::read::<_, casedesk_store::StoreError, _>(&again, |tx| {
        Box::pin(async move { tx.count_accounts().await })
    })
    .await
    .expect("count accounts");
    assert_eq!(count, 1, "the reconnected store sees the data");
    again.close().await;
}

#[tokio::test]
async fn search_columns_of_older_rows_are_filled_on_open() {
    let url =
        std::env::var("CASEDESK_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let schema = format!("cd_test_fill_{}", std::process::id());
    let with_schema = format!("{url}?schema={schema}");
    let store = PostgresStore::connect(&with_schema)
        .await
        .expect("connect with schema");
    casedesk_store::conformance::search_columns_of_older_rows_are_filled_on_open(
        Arc::new(store),
        |store| async move {
            store.close().await;
            let blank = format!(
                "UPDATE {schema}.cases SET subject_folded = NULL; \
                 UPDATE {schema}.messages SET text_folded = NULL;"
            );
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
                .await
                .expect("raw connection");
            sqlx::raw_sql(&blank)
                .execute(&mut conn)
                .await
                .expect("blank the search columns");
            let again = PostgresStore::connect(&with_schema)
                .await
                .expect("reconnect")
                .drop_schema_on_close();
            Arc::new(again) as Arc<dyn Store>
        },
    )
    .await;
}

/// Ready for a database distributed by account (Citus, docs/scaling.md):
/// every primary key, unique index and foreign key of the schema includes
/// `account_id`, read from PostgreSQL's catalog, so a table or key added
/// later without it fails here. The exceptions are named, with why.
#[tokio::test]
async fn every_key_includes_the_account() {
    /// `accounts` is distributed by its own `id`; `agents.email` is one
    /// login across accounts (a reference table under Citus);
    /// `limit_entries` counts addresses, not account data (a coordinator
    /// table); `_sqlx_migrations` is the migration log.
    const EXCEPTIONS: [&str; 4] = [
        "accounts_pkey",
        "agents_email_key",
        "limit_entries_pkey",
        "_sqlx_migrations_pkey",
    ];
    let url =
        std::env::var("CASEDESK_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let store = PostgresStore::connect_fresh_schema(&url)
        .await
        .expect("a fresh schema")
        .drop_schema_on_close();
    let schema = store.schema().expect("a test schema").to_owned();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("raw connection");
    // Unique indexes (primary keys and unique constraints among them) and
    // foreign keys, with the columns of the key on the referencing side.
    let keys: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT ic.relname::text, t.relname::text, \
                array_agg(a.attname::text ORDER BY a.attnum) \
         FROM pg_index i \
         JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey) \
         WHERE n.nspname = $1 AND i.indisunique \
         GROUP BY 1, 2 \
         UNION ALL \
         SELECT c.conname::text, t.relname::text, \
                array_agg(a.attname::text ORDER BY a.attnum) \
         FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (c.conkey) \
         WHERE n.nspname = $1 AND c.contype = 'f' \
         GROUP BY 1, 2",
    )
    .bind(&schema)
    .fetch_all(&mut conn)
    .await
    .expect("read the catalog");
    assert!(
        keys.len() > 40,
        "the catalog query sees the schema's keys: {keys:?}"
    );
    let without: Vec<String> = keys
        .iter()
        .filter(|(name, _, columns)| {
            !columns.iter().any(|c| c == "account_id") && !EXCEPTIONS.contains(&name.as_str())
        })
        .map(|(name, table, columns)| format!("{table}.{name} ({})", columns.join(", ")))
        .collect();
    assert!(
        without.is_empty(),
        "keys without account_id (Citus cannot check them on one node): {without:#?}"
    );
    // The foreign keys to another account table reference its account too.
    let references: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT c.conname::text, array_agg(a.attname::text) \
         FROM pg_constraint c \
         JOIN pg_namespace n ON n.oid = c.connamespace \
         JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = ANY (c.confkey) \
         WHERE n.nspname = $1 AND c.contype = 'f' AND c.confrelid <> $2::regclass \
         GROUP BY 1",
    )
    .bind(&schema)
    .bind(format!("{schema}.accounts"))
    .fetch_all(&mut conn)
    .await
    .expect("read the foreign keys");
    let stray: Vec<&String> = references
        .iter()
        .filter(|(_, columns)| !columns.iter().any(|c| c == "account_id"))
        .map(|(name, _)| name)
        .collect();
    assert!(
        stray.is_empty(),
        "foreign keys to a row of another account: {stray:?}"
    );
    store.close().await;
}
