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
