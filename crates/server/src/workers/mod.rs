//! Background work with durable state, each a loop that claims what is
//! due and hands it to a use case or a channel: chat deadlines and rule
//! timers ([`timers`]), the outbound delivery outbox ([`outbox`]), the
//! sweep of abandoned uploads ([`sweep`]), the live feed's pruning
//! ([`feed`]); and outgoing mail ([`mail`]),
//! sent in the background of the request that asked for it.
//!
//! The loops sleep until their next due time (read from an index), a
//! [`Notify`](tokio::sync::Notify) from a commit that changed it, or at most
//! [`MAX_SLEEP`] so that work queued by another server process on the same
//! database is picked up too. Correctness never depends on the sleeping:
//! each deadline is re-checked under the customer's lock when it fires, and
//! outbox items are leased. Outbox items are tried a limited number of
//! times ([`Retry`](crate::channels::api::webhook::Retry)) and then kept as failed until
//! an admin redelivers them.
//!
//! "Due" is by the app's [`Clock`](crate::clock::Clock). Under a manual
//! clock the loops sleep until the clock is moved, never on wall-clock
//! time, and [`AppState::run_due_work`] runs everything due at the clock's
//! time to completion: with one round of each worker at a time, work that a
//! loop started is finished when it returns, so a test sees the same state
//! whichever of the two did it.

pub mod feed;
pub mod imap;
pub mod imports;
pub mod mail;
pub mod outbox;
pub mod polling;
pub mod sweep;
pub mod timers;
pub mod updates;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use casedesk_domain::Time;
use casedesk_store::StoreError;

use crate::AppState;

const MAX_SLEEP: Duration = Duration::from_secs(1);

/// The rounds of the workers in this process: a round holds its lock from
/// claiming work to recording what became of it.
#[derive(Default)]
pub(crate) struct Rounds {
    timers: tokio::sync::Mutex<()>,
    outbox: tokio::sync::Mutex<()>,
    updates: tokio::sync::Mutex<()>,
    imports: tokio::sync::Mutex<()>,
    /// One poll of a bot at a time, by channel id.
    polls: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Told when a bot is turned off: its poll under way is dropped.
    stops: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Notify>>>,
}

impl Rounds {
    /// The lock of polling channel `channel_id`'s bot in this process.
    fn poll_lock(&self, channel_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut polls = self.polls.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(polls.entry(channel_id.to_owned()).or_default())
    }

    /// What stops channel `channel_id`'s poll under way in this process.
    fn poll_stop(&self, channel_id: &str) -> Arc<tokio::sync::Notify> {
        let mut stops = self.stops.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(stops.entry(channel_id.to_owned()).or_default())
    }
}

impl AppState {
    /// A bot was turned off: a poll of it under way in this process is
    /// dropped before it stores anything (its offset is saved only after
    /// storing, so Telegram keeps what it had for when the bot is on
    /// again), and no new one starts (the lease is taken only while the
    /// channel is on).
    pub fn stop_polling(&self, channel_id: &str) {
        self.rounds.poll_stop(channel_id).notify_waiters();
    }

    /// What `channel` takes in changed (its mailbox, turned off or on,
    /// removed): the IMAP and bot supervisors look again, and a poll of it
    /// under way stops if it is off now.
    pub fn intake_changed(&self, channel: &casedesk_store::ChannelRecord) {
        self.mailboxes_changed.notify_one();
        self.telegram_changed.notify_one();
        if channel.disabled_at.is_some() {
            self.stop_polling(&channel.id);
        }
    }

    /// Runs the work due at the clock's current time to completion: a poll
    /// of each polled bot (without waiting), a fetch of each IMAP mailbox,
    /// chat deadlines, rule timers,
    /// messenger updates, then outbound deliveries (which the others may
    /// queue), each after any round of its worker already under way.
    /// For tests, which move a [`ManualClock`](crate::clock::ManualClock)
    /// and then call this instead of waiting for the workers.
    pub async fn run_due_work(&self) -> Result<(), StoreError> {
        polling::round(self).await?;
        imap::round(self).await?;
        while timers::round(self).await? {}
        updates::round(self).await?;
        imports::round(self).await?;
        feed::round(self).await?;
        self.limits.upkeep().await?;
        outbox::round(self).await
    }
}

/// Delay before retry number `attempts` (1, 2, 4, … seconds, at most an hour).
pub fn backoff(attempts: i64) -> chrono::Duration {
    let exp = attempts.clamp(1, 13) - 1;
    chrono::Duration::seconds((1i64 << exp).min(3600))
}

/// Waits until `until`, a notification, or shutdown; whichever comes first.
async fn nap(app: &AppState, until: Option<Time>, notify: &tokio::sync::Notify) {
    let mut shutdown = app.shutdown.clone();
    tokio::select! {
        _ = app.clock.sleep_until(until, MAX_SLEEP) => {}
        _ = notify.notified() => {}
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
}

fn stopping(app: &AppState) -> bool {
    *app.shutdown.borrow()
}

/// `by` from now, by the app's clock.
fn later(app: &AppState, by: Duration) -> Time {
    app.clock.now() + chrono::Duration::from_std(by).unwrap_or_default()
}

/// Waits `by` by the app's clock (naps are at most a second long), or
/// until the server stops.
async fn pause(app: &AppState, by: Duration, idle: &tokio::sync::Notify) {
    let until = later(app, by);
    while !stopping(app) && app.clock.now() < until {
        nap(app, Some(until), idle).await;
    }
}

/// Lets go of this process's poll lease of a channel (a bot, a mailbox),
/// so that another server (or this one, restarted) takes over at once.
async fn release_lease(app: &AppState, channel_id: String) {
    let (holder, now) = (app.telegram.holder.clone(), app.clock.now());
    let released = casedesk_store::write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.lease_channel_poll(&channel_id, &holder, now, now)
                .await
                .map(drop)
        })
    })
    .await;
    if let Err(e) = released {
        tracing::warn!("releasing a poll lease: {e}");
    }
}
