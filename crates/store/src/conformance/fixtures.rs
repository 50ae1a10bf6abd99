//! Records and helpers the conformance cases build on.

use casedesk_domain::{
    AuthorType, AutoFinishSettings, CaseState, ChannelKind, MessageKind, Role, Time,
};
use futures::future::BoxFuture;

use crate::{
    AccountRecord, AgentRecord, CaseFilter, CaseRecord, ChannelRecord, CustomerRecord,
    MessageRecord, Store, StoreError, Tx, read, write,
};

/// A whole-second instant `secs` after a fixed origin.
pub(crate) fn t(secs: i64) -> Time {
    Time::from_timestamp(1_700_000_000 + secs, 0).expect("test time in range")
}

/// An instant with microseconds, the precision every backend must keep.
pub(crate) fn t_micros(secs: i64, micros: i64) -> Time {
    t(secs) + chrono::Duration::microseconds(micros)
}

/// Runs a write job that must succeed.
pub(crate) async fn write_ok<T, F>(store: &dyn Store, what: &str, job: F) -> T
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Tx) -> BoxFuture<'t, Result<T, StoreError>> + Send + 'static,
{
    match write(store, job).await {
        Ok(v) => v,
        Err(e) => panic!("{} store: {what} failed: {e}", store.backend()),
    }
}

/// Runs a read job that must succeed.
pub(crate) async fn read_ok<T, F>(store: &dyn Store, what: &str, job: F) -> T
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Tx) -> BoxFuture<'t, Result<T, StoreError>> + Send + 'static,
{
    match read(store, job).await {
        Ok(v) => v,
        Err(e) => panic!("{} store: {what} failed: {e}", store.backend()),
    }
}

/// Asserts that a result is the given kind of store error.
pub(crate) fn assert_not_found<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

pub(crate) fn assert_conflict<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected Conflict, got {other:?}"),
    }
}

pub(crate) fn account(id: &str) -> AccountRecord {
    AccountRecord {
        id: id.to_owned(),
        name: format!("Account {id}"),
        settings: AutoFinishSettings::default(),
        time_zone: casedesk_domain::AccountTimeZone::default(),
        business_hours: None,
        assign_on_reply: true,
        created_at: t_micros(0, 250_001),
    }
}

pub(crate) fn agent(id: &str, account_id: &str, email: &str) -> AgentRecord {
    AgentRecord {
        id: id.to_owned(),
        account_id: account_id.to_owned(),
        email: email.to_owned(),
        name: format!("Agent {id}"),
        role: Role::Agent,
        password_hash: format!("hash-of-{id}"),
        created_at: t(1),
        disabled_at: None,
        deleted_at: None,
    }
}

pub(crate) fn channel(id: &str, account_id: &str) -> ChannelRecord {
    ChannelRecord {
        id: id.to_owned(),
        account_id: account_id.to_owned(),
        kind: ChannelKind::Api,
        name: format!("Channel {id}"),
        webhook_url: Some(format!("https://example.com/hooks/{id}")),
        inbound_token: format!("token-{id}"),
        allowed_origins: vec!["https://shop.example".into()],
        created_at: t(2),
        disabled_at: None,
        removed_at: None,
    }
}

pub(crate) fn customer(
    id: &str,
    account_id: &str,
    channel_id: &str,
    external_id: &str,
) -> CustomerRecord {
    CustomerRecord {
        id: id.to_owned(),
        account_id: account_id.to_owned(),
        channel_id: channel_id.to_owned(),
        external_id: external_id.to_owned(),
        name: Some(format!("Customer {external_id}")),
        email: None,
        latest_case_id: None,
        created_at: t(3),
        language: None,
        person_id: None,
        page: None,
    }
}

/// An account with one channel and one customer in it.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub account_id: String,
    pub channel_id: String,
    pub customer_id: String,
}

impl World {
    /// A new active chat of the world's customer, created `at` seconds in.
    pub fn case(&self, id: &str, number: i64, at: i64) -> CaseRecord {
        CaseRecord {
            id: id.to_owned(),
            account_id: self.account_id.clone(),
            number,
            channel_id: self.channel_id.clone(),
            customer_id: self.customer_id.clone(),
            subject: format!("Subject of {id}"),
            state: CaseState::new_case(ChannelKind::Api),
            assignee_id: None,
            created_at: t(at),
            updated_at: t(at),
            last_activity_at: t(at),
            previous_case_id: None,
            next_case_id: None,
            merged_into_id: None,
            message_count: 0,
            unread: false,
            first_response_at: None,
        }
    }

    /// A public customer message; its `seq` is set when inserted.
    pub fn message(&self, id: &str, case_id: &str, at: i64, text: &str) -> MessageRecord {
        MessageRecord {
            id: id.to_owned(),
            account_id: self.account_id.clone(),
            case_id: case_id.to_owned(),
            seq: 0,
            kind: MessageKind::Message,
            author_type: AuthorType::Customer,
            author_id: Some(self.customer_id.clone()),
            text: text.to_owned(),
            created_at: t(at),
            channel_id: self.channel_id.clone(),
            channel_message_id: Some(format!("ext-{id}")),
            reacted_message_id: None,
            edited_at: None,
        }
    }

    /// A public agent reply (no channel message id).
    pub fn reply(&self, id: &str, case_id: &str, at: i64, text: &str) -> MessageRecord {
        MessageRecord {
            author_type: AuthorType::Agent,
            author_id: Some(format!("{}-agent", self.account_id)),
            channel_message_id: None,
            ..self.message(id, case_id, at, text)
        }
    }

    /// A customer reaction note on `reacted`.
    pub fn reaction_note(&self, id: &str, case_id: &str, at: i64, reacted: &str) -> MessageRecord {
        MessageRecord {
            kind: MessageKind::Note,
            channel_message_id: None,
            reacted_message_id: Some(reacted.to_owned()),
            edited_at: None,
            ..self.message(id, case_id, at, "👍")
        }
    }

    pub fn filter(&self) -> CaseFilter {
        CaseFilter {
            limit: 100,
            ..CaseFilter::default()
        }
    }
}

/// Inserts an account named `name` with a channel and a customer.
pub(crate) async fn world(store: &dyn Store, name: &str) -> World {
    let w = World {
        account_id: name.to_owned(),
        channel_id: format!("{name}-ch"),
        customer_id: format!("{name}-cu"),
    };
    let (acc, ch, cu) = (
        account(&w.account_id),
        channel(&w.channel_id, &w.account_id),
        customer(
            &w.customer_id,
            &w.account_id,
            &w.channel_id,
            &format!("{name}-ext"),
        ),
    );
    write_ok(store, "seed an account, channel and customer", move |tx| {
        Box::pin(async move {
            tx.insert_account(&acc).await?;
            tx.insert_channel(&ch).await?;
            tx.upsert_customer_locked(&cu).await?;
            Ok(())
        })
    })
    .await;
    w
}

pub(crate) async fn insert_cases(store: &dyn Store, cases: Vec<CaseRecord>) {
    write_ok(store, "insert cases", move |tx| {
        Box::pin(async move {
            for case in &cases {
                tx.insert_case(case).await?;
            }
            Ok(())
        })
    })
    .await;
}

/// Inserts messages in the given order, each with the next sequence number.
pub(crate) async fn insert_messages(
    store: &dyn Store,
    messages: Vec<MessageRecord>,
) -> Vec<MessageRecord> {
    write_ok(store, "insert messages", move |tx| {
        Box::pin(async move {
            let mut stored = Vec::with_capacity(messages.len());
            for mut message in messages {
                message.seq = tx.next_message_seq().await?;
                tx.insert_message(&message).await?;
                stored.push(message);
            }
            Ok(stored)
        })
    })
    .await
}

pub(crate) async fn list_case_ids(
    store: &dyn Store,
    account_id: &str,
    filter: CaseFilter,
) -> Vec<String> {
    let account_id = account_id.to_owned();
    let cases = read_ok(store, "list cases", move |tx| {
        Box::pin(async move { tx.list_cases(&account_id, &filter).await })
    })
    .await;
    cases.into_iter().map(|c| c.id).collect()
}

pub(crate) async fn get_case(store: &dyn Store, account_id: &str, case_id: &str) -> CaseRecord {
    let (account_id, case_id) = (account_id.to_owned(), case_id.to_owned());
    read_ok(store, "get case", move |tx| {
        Box::pin(async move { tx.get_case(&account_id, &case_id).await })
    })
    .await
}

pub(crate) async fn update_case(store: &dyn Store, case: CaseRecord) {
    write_ok(store, "update case", move |tx| {
        Box::pin(async move {
            let stored = tx.get_case(&case.account_id, &case.id).await?;
            tx.update_case(Some(&stored), &case).await
        })
    })
    .await;
}

pub(crate) async fn message_ids(store: &dyn Store, account_id: &str, case_id: &str) -> Vec<String> {
    let (account_id, case_id) = (account_id.to_owned(), case_id.to_owned());
    let messages = read_ok(store, "list messages", move |tx| {
        Box::pin(async move { tx.list_messages(&account_id, &case_id).await })
    })
    .await;
    messages.into_iter().map(|m| m.id).collect()
}

/// Runs one fallible read and hands back its raw result.
pub(crate) async fn try_read<T, F>(store: &dyn Store, job: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Tx) -> BoxFuture<'t, Result<T, StoreError>> + Send + 'static,
{
    read(store, job).await
}

/// Runs one fallible write and hands back its raw result.
pub(crate) async fn try_write<T, F>(store: &dyn Store, job: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Tx) -> BoxFuture<'t, Result<T, StoreError>> + Send + 'static,
{
    write(store, job).await
}

/// Owned copies of strings for moving into a job.
pub(crate) fn s(text: &str) -> String {
    text.to_owned()
}
