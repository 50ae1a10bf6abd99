//! The storage interface of casedesk, shared by every backend.
//!
//! A backend implements [`Store`] (how a unit of work runs: its transaction,
//! its locking, its batching) and [`sql::Sql`] (statements and rows); the
//! queries inside one unit of work ([`Tx`], one trait per aggregate) are
//! written once, in [`sql`], for every backend. Use-case code in the server runs a closure against a `&mut dyn Tx`
//! through [`write`] or [`read`]; everything the closure does commits
//! together or not at all. The store never decides a rule: it loads and saves
//! records; the domain crate decides what changes.
//!
//! Errors are neutral ([`StoreError`]): no driver type leaks out of a backend.
//! The `conformance` feature exposes the suite every backend must pass.

#![forbid(unsafe_code)]

mod records;
pub mod sql;

#[cfg(feature = "conformance")]
pub mod conformance;

use std::any::Any;

use futures::future::BoxFuture;

pub use records::*;

/// What went wrong in storage, independent of the database behind it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key or a concurrent change refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is shutting down.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Other(String),
}

/// How a job failed: the store itself, or the job chose to abort (its own
/// error, carried through untouched). Either way nothing it wrote is kept.
pub enum JobError {
    Store(StoreError),
    Abort(Box<dyn Any + Send>),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Store(e)
    }
}

pub type JobOutput = Result<Box<dyn Any + Send>, JobError>;

/// A unit of work: runs against one transaction. A job awaits nothing but
/// its [`Tx`]: a backend may drive it outside the async runtime (SQLite runs
/// it on its writer thread). Callers lock the customer before anything else
/// they lock, so that jobs never wait on each other in a cycle; taking a
/// case number ([`Tx::next_case_number`]) locks nothing on PostgreSQL.
pub type Job = Box<dyn for<'t> FnOnce(&'t mut dyn Tx) -> BoxFuture<'t, JobOutput> + Send>;

/// Whether a unit of work may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    Write,
}

/// A storage backend.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Runs `job` in one transaction and commits it unless it failed. Write
    /// jobs that touch the same customer in the same channel never interleave
    /// (the job calls [`Tx::lock_customer`] first).
    async fn run(&self, mode: Mode, job: Job) -> JobOutput;

    /// How many writing units of work are worth running at once when the
    /// caller can batch its work into fewer (customer messages): one where
    /// a single writer commits what is queued (SQLite: one large unit of
    /// work commits faster than several small ones), more where
    /// transactions run side by side.
    fn parallel_writes(&self) -> usize {
        1
    }

    /// Stops background work and closes connections; later jobs fail with
    /// [`StoreError::Unavailable`].
    async fn close(&self);

    /// Brings the planner's knowledge up to date after a bulk load (the
    /// benchmarks' seeding). PostgreSQL: `VACUUM (ANALYZE)` of the large
    /// tables, which also sets the visibility map index-only scans need
    /// (autovacuum does the same in time on a live server). SQLite: nothing
    /// to do; its statistics queries name their indexes.
    async fn maintain(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

async fn run_typed<T, E, F>(store: &dyn Store, mode: Mode, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Tx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
{
    let job: Job = Box::new(move |tx| {
        Box::pin(async move {
            match f(tx).await {
                Ok(v) => Ok(Box::new(v) as Box<dyn Any + Send>),
                Err(e) => Err(JobError::Abort(Box::new(e))),
            }
        })
    });
    match store.run(mode, job).await {
        Ok(v) => Ok(*v
            .downcast::<T>()
            .map_err(|_| E::from(StoreError::Other("job output type mismatch".into())))?),
        Err(JobError::Store(e)) => Err(E::from(e)),
        Err(JobError::Abort(b)) => match b.downcast::<E>() {
            Ok(e) => Err(*e),
            Err(_) => Err(E::from(StoreError::Other("job error type mismatch".into()))),
        },
    }
}

/// Runs a writing unit of work and returns its result.
pub async fn write<T, E, F>(store: &dyn Store, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Tx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
{
    run_typed(store, Mode::Write, f).await
}

/// Runs a read-only unit of work and returns its result.
pub async fn read<T, E, F>(store: &dyn Store, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Tx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
{
    run_typed(store, Mode::Read, f).await
}

type R<T> = Result<T, StoreError>;

/// The queries of one unit of work, one trait per aggregate. Every query
/// that reads or changes account data is scoped by `account_id`, except the
/// few lookups that establish the account (login, inbound tokens) and the
/// scheduler's claims.
pub trait Tx:
    AccountTx
    + AgentTx
    + ChannelTx
    + MessengerTx
    + CaseTx
    + MessageTx
    + ScheduleTx
    + CatalogTx
    + ReportTx
    + LiveTx
    + LimitTx
    + ImportTx
{
}

impl<T> Tx for T where
    T: AccountTx
        + AgentTx
        + ChannelTx
        + MessengerTx
        + CaseTx
        + MessageTx
        + ScheduleTx
        + CatalogTx
        + ReportTx
        + LiveTx
        + LimitTx
        + ImportTx
{
}

/// Accounts and their settings.
#[async_trait::async_trait]
pub trait AccountTx: Send {
    async fn insert_account(&mut self, account: &AccountRecord) -> R<()>;
    async fn get_account(&mut self, account_id: &str) -> R<AccountRecord>;
    async fn count_accounts(&mut self) -> R<i64>;
    /// The ids of the first `limit` accounts, oldest first.
    async fn list_account_ids(&mut self, limit: i64) -> R<Vec<String>>;
    async fn update_account_settings(
        &mut self,
        account_id: &str,
        settings: casedesk_domain::AutoFinishSettings,
    ) -> R<()>;
    /// Takes the next human case number of the account (1, 2, …): unique
    /// and increasing. On SQLite without gaps; on PostgreSQL a unit of work
    /// that fails after taking one leaves a gap, and numbers are taken, not
    /// committed, in order (docs/rules.md).
    async fn next_case_number(&mut self, account_id: &str) -> R<i64>;
    /// Takes the account's next `n` case numbers at once, in increasing
    /// order, as [`Tx::next_case_number`] takes one.
    async fn next_case_numbers(&mut self, account_id: &str, n: usize) -> R<Vec<i64>>;
    async fn update_account_time_zone(
        &mut self,
        account_id: &str,
        time_zone: casedesk_domain::AccountTimeZone,
    ) -> R<()>;
    /// Whether an agent's reply to an unassigned case assigns it to them.
    async fn update_account_assign_on_reply(&mut self, account_id: &str, on: bool) -> R<()>;
    /// Sets (or with `None` clears) the account's business hours.
    async fn update_account_business_hours(
        &mut self,
        account_id: &str,
        hours: Option<&casedesk_domain::BusinessHours>,
    ) -> R<()>;
}

/// Agents and their login tokens.
#[async_trait::async_trait]
pub trait AgentTx: Send {
    async fn insert_agent(&mut self, agent: &AgentRecord) -> R<()>;
    async fn get_agent(&mut self, account_id: &str, agent_id: &str) -> R<AgentRecord>;
    /// Emails are unique across the server: login does not name an account.
    async fn find_agent_by_email(&mut self, email: &str) -> R<Option<AgentRecord>>;
    async fn list_agents(&mut self, account_id: &str) -> R<Vec<AgentRecord>>;
    async fn set_agent_password(&mut self, agent_id: &str, password_hash: &str) -> R<()>;
    /// Writes the agent's email, name, role, `disabled_at` and `deleted_at`
    /// (not the password).
    async fn update_agent(&mut self, agent: &AgentRecord) -> R<()>;
    /// Ends every login token and browser session of the agent; returns
    /// how many there were.
    async fn delete_agent_tokens(&mut self, agent_id: &str) -> R<u64>;
    async fn insert_token(&mut self, token: &TokenRecord) -> R<()>;
    async fn find_token(&mut self, token_hash: &str) -> R<Option<TokenRecord>>;
    async fn delete_token(&mut self, token_hash: &str) -> R<()>;
}

/// Channels and the people who write in them: customers (one identity per
/// channel), widget visitors and Help Center tokens.
#[async_trait::async_trait]
pub trait ChannelTx: Send {
    async fn insert_channel(&mut self, channel: &ChannelRecord) -> R<()>;
    /// Unscoped: the inbound endpoint finds the channel, then checks its token.
    async fn find_channel(&mut self, channel_id: &str) -> R<Option<ChannelRecord>>;
    async fn list_channels(&mut self, account_id: &str) -> R<Vec<ChannelRecord>>;
    /// Every account's channels of `kind` (the messenger workers' list).
    async fn list_channels_of_kind(
        &mut self,
        kind: casedesk_domain::ChannelKind,
    ) -> R<Vec<ChannelRecord>>;
    /// Changes a channel's name, webhook URL and allowed origins.
    async fn update_channel(&mut self, channel: &ChannelRecord) -> R<()>;
    /// Finds or creates the customer of `external_id` in the channel and
    /// locks it until the end of the unit of work: routing decisions for one
    /// customer in one channel happen one at a time.
    async fn upsert_customer_locked(&mut self, new: &CustomerRecord) -> R<CustomerRecord>;
    /// [`Tx::upsert_customer_locked`] for many customers (at most once each)
    /// in a few statements, locked in the order of their channel and
    /// external id; answered in the order given. `NotFound` when one's
    /// channel is not in its account.
    async fn upsert_customers_locked(&mut self, new: &[CustomerRecord]) -> R<Vec<CustomerRecord>>;
    async fn get_customer(&mut self, account_id: &str, customer_id: &str) -> R<CustomerRecord>;
    /// Locks an existing customer (agent actions on its cases).
    async fn lock_customer(&mut self, account_id: &str, customer_id: &str) -> R<CustomerRecord>;
    async fn set_customer_latest_case(
        &mut self,
        customer_id: &str,
        latest_case_id: Option<&str>,
    ) -> R<()>;
    /// Sets the latest case of many customers, `(customer_id, case_id)`.
    async fn set_customers_latest_cases(&mut self, latest: &[(String, String)]) -> R<()>;
    /// The host site's page a widget visitor last wrote from.
    async fn set_customer_page(&mut self, customer_id: &str, page: &str) -> R<()>;
    /// Sets (or clears) a customer's e-mail address.
    async fn set_customer_email(
        &mut self,
        account_id: &str,
        customer_id: &str,
        email: Option<&str>,
    ) -> R<()>;
    /// The account's customers with this e-mail address, in every channel.
    /// Links two of the account's customer profiles as one person (each
    /// with the profiles already linked to it); returns the person's id.
    /// `NotFound` when either is not the account's.
    async fn link_customers(
        &mut self,
        account_id: &str,
        customer_id: &str,
        other_id: &str,
    ) -> R<String>;
    /// Takes a profile out of its person; `false` when it was in none.
    async fn unlink_customer(&mut self, account_id: &str, customer_id: &str) -> R<bool>;
    /// The profiles of the customer's person: the customer and every
    /// profile linked to it, oldest first.
    async fn list_linked_customers(
        &mut self,
        account_id: &str,
        customer_id: &str,
    ) -> R<Vec<CustomerRecord>>;
    async fn list_customers_by_email(
        &mut self,
        account_id: &str,
        email: &str,
    ) -> R<Vec<CustomerRecord>>;
    async fn insert_visitor(&mut self, visitor: &VisitorRecord) -> R<()>;
    /// Records that the visitor token was used at `at`.
    async fn touch_visitor(&mut self, token_hash: &str, at: casedesk_domain::Time) -> R<()>;
    /// Unscoped: the widget endpoints find the visitor by token first.
    async fn find_visitor(&mut self, token_hash: &str) -> R<Option<VisitorRecord>>;
    async fn insert_help_token(&mut self, token: &HelpTokenRecord) -> R<()>;
    /// Unscoped, like [`Tx::find_visitor`]: found by token first.
    async fn find_help_token(&mut self, token_hash: &str) -> R<Option<HelpTokenRecord>>;
    /// Deletes the token and returns it, if it existed: of two concurrent
    /// takes of one token, only one gets it.
    async fn take_help_token(&mut self, token_hash: &str) -> R<Option<HelpTokenRecord>>;
    /// Deletes the widget visitor tokens of a customer and the Help Center
    /// tokens naming them or `email`; returns how many went.
    async fn revoke_customer_tokens(
        &mut self,
        account_id: &str,
        customer_id: &str,
        email: Option<&str>,
    ) -> R<u64>;
    /// Deletes every token that expired before `now`; returns how many.
    async fn delete_expired_help_tokens(&mut self, now: casedesk_domain::Time) -> R<u64>;
}

/// Messenger channels (Telegram): their secrets, the raw updates they
/// deliver (stored first, then processed in each chat's order) and the
/// long-polling lease that lets one server at a time poll a bot.
#[async_trait::async_trait]
pub trait MessengerTx: Send {
    /// Creates or replaces the channel's secrets.
    async fn upsert_channel_secret(&mut self, secret: &ChannelSecretRecord) -> R<()>;
    /// Unscoped: a webhook call names its channel first.
    async fn get_channel_secret(&mut self, channel_id: &str) -> R<Option<ChannelSecretRecord>>;
    /// Stores an update; `false` when this `(channel, update_id)`, or its
    /// `(channel, key)`, was stored before (a redelivery).
    async fn insert_channel_update(&mut self, update: &ChannelUpdate) -> R<bool>;
    /// An id for a new update of the channel that brings none of its own
    /// (a letter): above every update id the channel has.
    async fn next_update_id(&mut self, channel_id: &str) -> R<i64>;
    /// Up to `limit` due updates, each the earliest pending one of its chat,
    /// leased until `lease_until` (skipped by other processes meanwhile): no
    /// chat's updates are ever processed out of order or twice at once. A
    /// lease of `now` leaves them due.
    async fn claim_channel_updates(
        &mut self,
        now: casedesk_domain::Time,
        lease_until: casedesk_domain::Time,
        limit: i64,
    ) -> R<Vec<ChannelUpdate>>;
    async fn finish_channel_update(&mut self, finish: &UpdateFinish) -> R<()>;
    /// When the earliest pending update is due.
    async fn next_channel_update_at(&mut self) -> R<Option<casedesk_domain::Time>>;
    /// The pending updates of one chat after `after_update_id`, in order,
    /// at most `limit` (an album's further parts, joined to its first).
    async fn list_pending_chat_updates(
        &mut self,
        channel_id: &str,
        chat_key: &str,
        after_update_id: i64,
        limit: i64,
    ) -> R<Vec<ChannelUpdate>>;
    /// Makes a failed update of the account pending again, due at `now`,
    /// with no attempts; `false` when there is no such failed update.
    async fn requeue_channel_update(
        &mut self,
        account_id: &str,
        channel_id: &str,
        update_id: i64,
        now: casedesk_domain::Time,
    ) -> R<bool>;
    /// The channel's updates in `state` (any when `None`), newest first.
    async fn list_channel_updates(
        &mut self,
        account_id: &str,
        channel_id: &str,
        state: Option<UpdateState>,
        limit: i64,
    ) -> R<Vec<ChannelUpdate>>;
    /// Takes (or renews) the right to poll the channel's bot (or mailbox)
    /// until `until` for `holder`, unless another holder's lease runs past
    /// `now`; returns where to poll from when taken.
    async fn lease_channel_poll(
        &mut self,
        channel_id: &str,
        holder: &str,
        now: casedesk_domain::Time,
        until: casedesk_domain::Time,
    ) -> R<Option<PollPosition>>;
    /// Starts the channel's polling over at `next_offset` under a new
    /// `validity` (a mailbox whose UIDs were renumbered: UIDVALIDITY);
    /// `false` when `holder` no longer holds the lease.
    async fn reset_channel_poll(
        &mut self,
        channel_id: &str,
        holder: &str,
        validity: i64,
        next_offset: i64,
    ) -> R<bool>;
    /// Stores the next offset to poll from; `false` when `holder` no
    /// longer holds the lease (its updates are stored all the same).
    async fn save_channel_poll_offset(
        &mut self,
        channel_id: &str,
        holder: &str,
        next_offset: i64,
    ) -> R<bool>;
}

/// Cases and the labels on them.
#[async_trait::async_trait]
pub trait CaseTx: Send {
    async fn insert_case(&mut self, case: &CaseRecord) -> R<()>;
    /// Inserts many cases in a few statements.
    async fn insert_cases(&mut self, cases: &[CaseRecord]) -> R<()>;
    async fn get_case(&mut self, account_id: &str, case_id: &str) -> R<CaseRecord>;
    /// The account's cases of these ids that exist, in any order.
    async fn get_cases(&mut self, account_id: &str, case_ids: &[String]) -> R<Vec<CaseRecord>>;
    /// The account's case with this number (`[#1042]` in a subject).
    async fn find_case_by_number(&mut self, account_id: &str, number: i64)
    -> R<Option<CaseRecord>>;
    /// Saves `case`. Given the case as the database holds it now
    /// (`stored`: loaded or saved in this unit of work, changed since only
    /// in `case`), writes only the columns that differ — an index of `cases`
    /// is rewritten only when one of its columns is named — and nothing
    /// when none does; without it, every column but the case's identity.
    /// `NotFound` when a written case is not in its account.
    async fn update_case(&mut self, stored: Option<&CaseRecord>, case: &CaseRecord) -> R<()>;
    /// Locks the customers of these cases, in the one order of every unit
    /// of work that locks many customers (by channel, then external id,
    /// bytewise: an inbound batch locks its customers so), and returns the
    /// cases that exist as they are under the locks (any order). Unscoped:
    /// the scheduler's claims name cases of every account, so the caller
    /// checks each case's account against what it claimed.
    async fn lock_cases(&mut self, case_ids: &[String]) -> R<Vec<CaseRecord>>;
    /// Writes many cases (each at most once), each with the case as stored
    /// as [`Tx::update_case`] takes it, in a few statements: each names the
    /// columns that changed in any of its rows. `NotFound` when one of them
    /// does not exist.
    async fn update_cases(&mut self, cases: &[(Option<&CaseRecord>, &CaseRecord)]) -> R<()>;
    /// Makes the case's history count for `assignee_id`: statistics count
    /// events for a case's current assignee, so the use case that
    /// reassigns a case moves its events along in the same unit of work.
    async fn move_case_events(&mut self, case_id: &str, assignee_id: Option<&str>) -> R<()>;
    async fn list_cases(&mut self, account_id: &str, filter: &CaseFilter) -> R<Vec<CaseRecord>>;
    /// The console's queues for `agent_id` (see [`QueueCounts`]).
    async fn count_queues(&mut self, account_id: &str, agent_id: &str) -> R<QueueCounts>;
    /// Puts a label on a case; `false` when it was already there.
    async fn add_case_label(
        &mut self,
        account_id: &str,
        case_id: &str,
        label_id: &str,
        at: casedesk_domain::Time,
    ) -> R<bool>;
    /// Takes a label off a case; `false` when it was not there.
    async fn remove_case_label(&mut self, case_id: &str, label_id: &str) -> R<bool>;
    /// The labels of these cases as `(case_id, label)`, by case then name.
    async fn case_labels(
        &mut self,
        account_id: &str,
        case_ids: &[String],
    ) -> R<Vec<(String, LabelRecord)>>;
}

/// What a case holds: messages, reactions, attachments and history.
#[async_trait::async_trait]
pub trait MessageTx: Send {
    /// The stored message a channel already delivered under this id.
    async fn find_message_by_channel_id(
        &mut self,
        channel_id: &str,
        channel_message_id: &str,
    ) -> R<Option<MessageRecord>>;
    /// The stored messages that any of `channel_ids` delivered or sent
    /// under any of `channel_message_ids` (a letter's thread).
    async fn find_messages_by_channel_ids(
        &mut self,
        channel_ids: &[String],
        channel_message_ids: &[String],
    ) -> R<Vec<MessageRecord>>;
    /// The stored messages under any of `keys`, each a channel and the id
    /// the channel gave a message (a batch's redeliveries), by `seq`.
    async fn find_messages_by_channel_keys(
        &mut self,
        keys: &[(String, String)],
    ) -> R<Vec<MessageRecord>>;
    /// Records what a message that is a letter has beyond its text.
    async fn insert_letter(&mut self, letter: &LetterRecord) -> R<()>;
    /// The letters among a case's messages.
    async fn list_case_letters(&mut self, account_id: &str, case_id: &str) -> R<Vec<LetterRecord>>;
    /// The next message sequence number, used before insert to mark reopens.
    async fn next_message_seq(&mut self) -> R<i64>;
    /// The next `n` message sequence numbers, in increasing order.
    async fn next_message_seqs(&mut self, n: usize) -> R<Vec<i64>>;
    /// Inserts a message; its `seq` must come from [`Tx::next_message_seq`].
    /// A second message with the same channel message id is a `Conflict`.
    async fn insert_message(&mut self, message: &MessageRecord) -> R<()>;
    /// Inserts many messages as [`Tx::insert_message`] does, in a few
    /// statements.
    async fn insert_messages(&mut self, messages: &[MessageRecord]) -> R<()>;
    async fn get_message(&mut self, account_id: &str, message_id: &str) -> R<MessageRecord>;
    async fn list_messages(&mut self, account_id: &str, case_id: &str) -> R<Vec<MessageRecord>>;
    /// Moves the messages `ids` of `from_case` to `to_case` (which ones is
    /// the domain's `moves::messages_to_move`); returns how many moved.
    /// Ids of other cases are left alone.
    async fn move_messages(&mut self, from_case: &str, to_case: &str, ids: &[String]) -> R<u64>;
    /// Recounts a case's messages, its last public author and time, and its
    /// earliest public agent reply at or after `since` (its creation).
    async fn message_summary(
        &mut self,
        case_id: &str,
        since: casedesk_domain::Time,
    ) -> R<MessageSummary>;
    async fn insert_reaction(&mut self, reaction: &ReactionRecord) -> R<()>;
    async fn list_reactions(&mut self, case_id: &str) -> R<Vec<ReactionRecord>>;
    /// Public messages (kind `message`) of every case of the customer, in
    /// order, those with `seq > after_seq`, at most `limit`. Every write of
    /// a customer's messages takes its `seq` under the customer's lock, so
    /// one customer's messages commit in `seq` order and a reader that has
    /// seen `seq` never misses an earlier one later.
    async fn list_customer_messages(
        &mut self,
        account_id: &str,
        customer_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> R<Vec<MessageRecord>>;
    /// A customer's new text for their message (a messenger edit): the
    /// text, what searches compare, and `edited_at`. `NotFound` for no
    /// such message of the account.
    async fn edit_message_text(
        &mut self,
        account_id: &str,
        message_id: &str,
        text: &str,
        at: casedesk_domain::Time,
    ) -> R<()>;
    /// Records the channel's own id of a message casedesk sent (so that a
    /// reaction to it finds it).
    async fn set_message_channel_id(&mut self, message_id: &str, channel_message_id: &str)
    -> R<()>;
    async fn insert_attachment(&mut self, attachment: &AttachmentRecord) -> R<()>;
    async fn get_attachment(&mut self, account_id: &str, id: &str) -> R<AttachmentRecord>;
    /// The attachments of the messages now in `case_id`, oldest first.
    async fn list_case_attachments(&mut self, case_id: &str) -> R<Vec<AttachmentRecord>>;
    async fn insert_event(&mut self, event: &EventRecord) -> R<()>;
    /// Inserts many events in a few statements; `NotFound` when one names
    /// a case of its account that does not exist.
    async fn insert_events(&mut self, events: &[EventRecord]) -> R<()>;
    async fn list_events(&mut self, account_id: &str, case_id: &str) -> R<Vec<EventRecord>>;
    /// Changes what a history event counts as (an undone split no longer
    /// counts as one); `NotFound` for an event the account does not have.
    async fn set_event_kind(
        &mut self,
        account_id: &str,
        event_id: &str,
        kind: casedesk_domain::EventKind,
    ) -> R<()>;
    /// Replaces a history event's `data` (an action's record, completed once
    /// the rules it set off have run); `NotFound` as above.
    async fn set_event_data(
        &mut self,
        account_id: &str,
        event_id: &str,
        data: &serde_json::Value,
    ) -> R<()>;
}

/// Work due later: chat deadlines (R3/R4), rule timers and outbound
/// deliveries, claimed by whichever server runs it first.
#[async_trait::async_trait]
pub trait ScheduleTx: Send {
    async fn set_deadline(&mut self, deadline: &Deadline) -> R<()>;
    /// Sets many deadlines as [`Tx::set_deadline`] sets one, in one
    /// statement per few hundred.
    async fn set_deadlines(&mut self, deadlines: &[Deadline]) -> R<()>;
    async fn clear_deadlines(&mut self, case_id: &str) -> R<()>;
    async fn next_deadline_at(&mut self) -> R<Option<casedesk_domain::Time>>;
    /// Due deadlines, locked for this unit of work and skipped by other
    /// processes; the caller fires each and deletes it with [`Tx::delete_deadline`].
    async fn claim_due_deadlines(
        &mut self,
        now: casedesk_domain::Time,
        limit: i64,
    ) -> R<Vec<Deadline>>;
    async fn delete_deadline(&mut self, case_id: &str, kind: DeadlineKind) -> R<()>;
    /// Deletes these `(case, kind)` deadlines (those that exist).
    async fn delete_deadlines(&mut self, deadlines: &[(String, DeadlineKind)]) -> R<()>;
    async fn list_deadlines(&mut self, case_id: &str) -> R<Vec<Deadline>>;
    /// The deadlines of these cases, by case, then due time.
    async fn list_deadlines_of(&mut self, case_ids: &[String]) -> R<Vec<Deadline>>;
    /// Sets a case's timer of a rule. With `replace` false an existing timer
    /// is kept as it is (the wait started earlier).
    async fn set_rule_timer(&mut self, timer: &RuleTimer, replace: bool) -> R<()>;
    async fn delete_rule_timer(&mut self, case_id: &str, rule_id: &str) -> R<()>;
    /// Removes every timer of a rule (disabled, changed or deleted).
    async fn delete_rule_timers(&mut self, rule_id: &str) -> R<()>;
    async fn list_rule_timers(&mut self, case_id: &str) -> R<Vec<RuleTimer>>;
    async fn next_rule_timer_at(&mut self) -> R<Option<casedesk_domain::Time>>;
    /// Due rule timers, locked for this unit of work and skipped by other
    /// processes; the caller fires each and deletes it.
    async fn claim_due_rule_timers(
        &mut self,
        now: casedesk_domain::Time,
        limit: i64,
    ) -> R<Vec<RuleTimer>>;
    async fn insert_outbox(&mut self, item: &OutboxItem) -> R<()>;
    /// Leases up to `limit` due items until `lease_until`; another worker
    /// skips them meanwhile.
    async fn claim_outbox(
        &mut self,
        now: casedesk_domain::Time,
        lease_until: casedesk_domain::Time,
        limit: i64,
    ) -> R<Vec<OutboxItem>>;
    /// Records an attempt: delivered, due again at a time, or failed. A
    /// failed item is never claimed again unless requeued.
    async fn finish_outbox(&mut self, update: &OutboxUpdate) -> R<()>;
    /// When the earliest pending item is due (failed ones wait for nobody).
    async fn next_outbox_at(&mut self) -> R<Option<casedesk_domain::Time>>;
    /// The deliveries of a channel of the account in `state` (any when
    /// `None`), newest first, at most `limit`.
    async fn list_outbox(
        &mut self,
        account_id: &str,
        channel_id: &str,
        state: Option<OutboxState>,
        limit: i64,
    ) -> R<Vec<OutboxItem>>;
    async fn get_outbox(&mut self, account_id: &str, id: &str) -> R<OutboxItem>;
    /// The deliveries of the messages now in `case_id`, oldest first.
    async fn list_case_deliveries(&mut self, account_id: &str, case_id: &str)
    -> R<Vec<OutboxItem>>;
    /// How many replies written by no agent (rules) were delivered to the
    /// customer since `since`: the loop guard of automatic replies.
    async fn count_automatic_replies(
        &mut self,
        account_id: &str,
        customer_id: &str,
        since: casedesk_domain::Time,
    ) -> R<i64>;
    /// Queues an undelivered item of the account again, due at `now`, with
    /// no attempts and no longer failed. `false` when there is no such
    /// undelivered item (it was delivered meanwhile, or is not the
    /// account's).
    async fn requeue_outbox(
        &mut self,
        account_id: &str,
        id: &str,
        now: casedesk_domain::Time,
    ) -> R<bool>;
}

/// What admins define for an account: labels, templates and rules.
#[async_trait::async_trait]
pub trait CatalogTx: Send {
    /// A second label with the same name ignoring case is a `Conflict`.
    async fn insert_label(&mut self, label: &LabelRecord) -> R<()>;
    async fn list_labels(&mut self, account_id: &str) -> R<Vec<LabelRecord>>;
    async fn get_label(&mut self, account_id: &str, label_id: &str) -> R<LabelRecord>;
    /// Renames or recolours; `NotFound`, or `Conflict` on a taken name.
    async fn update_label(&mut self, label: &LabelRecord) -> R<()>;
    /// Deletes the label and takes it off every case.
    async fn delete_label(&mut self, account_id: &str, label_id: &str) -> R<()>;
    async fn insert_template(&mut self, template: &TemplateRecord) -> R<()>;
    /// Every template of the account, shared and personal, by name.
    async fn list_templates(&mut self, account_id: &str) -> R<Vec<TemplateRecord>>;
    async fn get_template(&mut self, account_id: &str, template_id: &str) -> R<TemplateRecord>;
    async fn update_template(&mut self, template: &TemplateRecord) -> R<()>;
    async fn delete_template(&mut self, account_id: &str, template_id: &str) -> R<()>;
    async fn insert_rule(&mut self, rule: &RuleRecord) -> R<()>;
    /// The account's rules by position, then creation.
    async fn list_rules(&mut self, account_id: &str) -> R<Vec<RuleRecord>>;
    async fn get_rule(&mut self, account_id: &str, rule_id: &str) -> R<RuleRecord>;
    async fn update_rule(&mut self, rule: &RuleRecord) -> R<()>;
    /// Deletes the rule and its timers.
    async fn delete_rule(&mut self, account_id: &str, rule_id: &str) -> R<()>;
}

/// The feed of change notices live clients are sent (docs/live.md): each
/// account's notices in the order of their [`Cursor`]s, kept a while.
#[async_trait::async_trait]
pub trait LiveTx: Send {
    /// Writes notices with the unit of work; returns each one's account
    /// and place, in the order given.
    async fn insert_notices(&mut self, notices: &[NoticeRecord]) -> R<Vec<(String, Cursor)>>;
    /// Up to `limit` notices of the account after `after`, in order: only
    /// those whose places are final (no notice written by a unit of work
    /// still running can come before them).
    async fn list_notices(
        &mut self,
        account_id: &str,
        after: Cursor,
        limit: i64,
    ) -> R<Vec<NoticeRecord>>;
    /// The place of the account's last final notice
    /// ([`LiveTx::list_notices`]); `Cursor::default()` when it has none.
    async fn last_notice(&mut self, account_id: &str) -> R<Cursor>;
    /// Whether the account still keeps the notice at `at`.
    async fn has_notice(&mut self, account_id: &str, at: Cursor) -> R<bool>;
    /// Deletes up to `limit` of the oldest notices written before
    /// `before`, always keeping the newest; returns how many.
    async fn prune_notices(&mut self, before: casedesk_domain::Time, limit: i64) -> R<u64>;
}

/// What counts against the limits several servers share (docs/security.md):
/// entries of a key (a rate limit's hits, open event streams), each
/// counting until it expires.
#[async_trait::async_trait]
pub trait LimitTx: Send {
    /// Adds `entry` unless its key already has `max` entries live at
    /// `now`; then returns when the first of those expires. Units of work
    /// taking entries of one key take turns, so that several servers
    /// never let `max + 1` through together.
    async fn take_limit(
        &mut self,
        entry: &LimitEntry,
        max: i64,
        now: casedesk_domain::Time,
    ) -> R<Option<casedesk_domain::Time>>;
    /// How many of `key`'s entries are live at `now`, and when the first
    /// of them expires.
    async fn count_limit(
        &mut self,
        key: &str,
        now: casedesk_domain::Time,
    ) -> R<(i64, Option<casedesk_domain::Time>)>;
    /// Moves the expiry of the entries `ids` (a server's open streams) to
    /// `expires_at`; returns how many there still were.
    async fn renew_limit_entries(
        &mut self,
        ids: &[String],
        expires_at: casedesk_domain::Time,
    ) -> R<u64>;
    /// Deletes the entries selected; returns how many.
    async fn delete_limit_entries(&mut self, which: LimitEntries<'_>) -> R<u64>;
    /// Deletes up to `limit` entries expired at `now`; returns how many.
    async fn prune_limit_entries(&mut self, now: casedesk_domain::Time, limit: i64) -> R<u64>;
}

/// History imports: an uploaded file's messages, staged as [`ImportRow`]s,
/// then turned into cases one customer per unit of work by a worker
/// holding the import's lease; the [`ImportRecord`] remembers the last
/// customer done, where a crash resumes.
#[async_trait::async_trait]
pub trait ImportTx: Send {
    async fn insert_import(&mut self, import: &ImportRecord) -> R<()>;
    /// `NotFound` when it is not the account's.
    async fn get_import(&mut self, account_id: &str, id: &str) -> R<ImportRecord>;
    /// Writes every field but `id`, `account_id`, `channel_id`, `format`
    /// and `created_at`; `NotFound` when there is no such import.
    async fn update_import(&mut self, import: &ImportRecord) -> R<()>;
    /// Stages rows, a few hundred per statement; a row whose
    /// `(import_id, n)` is staged already is left as it is. `NotFound`
    /// when a row's import does not exist.
    async fn stage_import_rows(&mut self, rows: &[ImportRow]) -> R<()>;
    /// The distinct customer ids of the import's rows after `after`
    /// (exclusive), in order (bytewise, as Rust compares strings), at most
    /// `limit`.
    async fn import_customers(
        &mut self,
        import_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> R<Vec<String>>;
    /// One customer's rows in `(at, n)` order, those after the row
    /// `after` = `(at, n)` (exclusive), at most `limit`.
    async fn import_rows(
        &mut self,
        import_id: &str,
        customer_id: &str,
        after: Option<(casedesk_domain::Time, i64)>,
        limit: usize,
    ) -> R<Vec<ImportRow>>;
    /// Takes, oldest first and at most `limit`, the imports in state
    /// `splitting` whose lease is unset or expired at `now`, and those
    /// still `receiving` whose lease expired (an upload cut off by a
    /// crash: the caller marks them failed), leasing them until `until`;
    /// returns them so leased. Of several servers claiming at once, each
    /// import is taken by one.
    async fn claim_imports(
        &mut self,
        now: casedesk_domain::Time,
        until: casedesk_domain::Time,
        limit: usize,
    ) -> R<Vec<ImportRecord>>;
    /// Deletes the import's staged rows; returns how many.
    async fn delete_import_rows(&mut self, import_id: &str) -> R<u64>;
    /// The account's imports, newest first, at most `limit`.
    async fn list_imports(&mut self, account_id: &str, limit: usize) -> R<Vec<ImportRecord>>;
}

/// What [`ReportTx::simulation_messages`] read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SimulationMessages {
    /// `(conversation, Unix seconds, written by the customer)`, in no
    /// particular order; a conversation is one customer (of one channel),
    /// numbered from 0.
    pub messages: Vec<(u32, i64, bool)>,
    pub conversations: u32,
    /// Whether these are all of the period's messages (at most `max`).
    pub complete: bool,
}

/// Reports (R15 statistics, R16 export) and the benchmarks' bulk load.
#[async_trait::async_trait]
pub trait ReportTx: Send {
    /// Gathers a period's statistics facts, keyed by `q.grouping`, for cases
    /// matching the filters:
    /// - `events`: history events with `created_at` in the period, counted
    ///   per key, kind and [`EventFacts`](casedesk_domain::stats::EventFacts)
    ///   (what their changes set);
    /// - `samples`: for cases created in the period (keyed by creation
    ///   time), `(created_at, first_response_at)` when answered and
    ///   `message_count` unless merged away; for each event of the period
    ///   whose changes set the status to closed, `(the case's created_at,
    ///   the event's time)` (keyed by the event's time);
    /// - `active_now`: active, unmerged chats now per agent or channel (none
    ///   for time buckets), and their total.
    async fn stats(
        &mut self,
        account_id: &str,
        q: &StatsQuery,
    ) -> R<casedesk_domain::stats::StatsInput>;
    /// A page of [`Tx::list_cases`] with the names an export shows.
    async fn export_cases(&mut self, account_id: &str, filter: &CaseFilter) -> R<Vec<ExportRow>>;
    /// The policy simulator's input: the public customer and agent
    /// messages of `[from, to)` on the account's chat channels (not
    /// e-mail), read as they come; at most `max` (more makes
    /// [`SimulationMessages::complete`] false).
    async fn simulation_messages(
        &mut self,
        account_id: &str,
        from: casedesk_domain::Time,
        to: casedesk_domain::Time,
        max: usize,
    ) -> R<SimulationMessages>;
    /// Benchmarks only: inserts many rows at once.
    async fn seed_bulk(&mut self, batch: &SeedBatch) -> R<()>;
}
