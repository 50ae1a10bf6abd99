//! Change notices for live clients (server-sent events), across servers.
//!
//! A use case makes a [`Notice`] for each change a live client should
//! hear of and writes it into the account's feed with its unit of work
//! ([`log`]); after the commit it [`announces`](Hub::announce) the places
//! it wrote. The [`Hub`] of each server reads an account's feed in order
//! of place while some client of that account listens, and hands every
//! notice to those clients; an announcement only says "read again", from
//! this server or, over NATS ([`nats`]), from another. Whatever a server
//! misses (a lost announcement, a slow client, NATS away for a while) it
//! reads from the feed by place, so no client misses a notice or hears
//! one twice; docs/live.md.

pub mod nats;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use casedesk_domain::Time;
use casedesk_store::{Cursor, NoticeRecord, Store, StoreError, Tx};
use tokio::sync::{Notify, broadcast, mpsc, watch};

/// A change a live client should hear of, made by a use case.
#[derive(Debug, Clone)]
pub struct Notice {
    pub account_id: String,
    /// Whose case it is: a widget visitor hears of their own cases only.
    pub customer_id: String,
    /// `case.created`, `case.updated`, `message.created`, `message.updated`,
    /// `case.auto_finish_warning`.
    pub kind: &'static str,
    pub case_id: String,
    pub case_number: i64,
    pub data: serde_json::Value,
}

/// What a unit of work wrote into the feeds: the last place in each
/// account's, announced after the commit ([`Hub::announce`]). Only
/// [`log`] makes one, so a notice cannot be announced without being
/// written.
#[must_use = "announce it after the commit"]
#[derive(Debug, Default)]
pub struct Logged {
    last: Vec<(String, Cursor)>,
}

/// Writes `notices` into their accounts' feeds, in the unit of work that
/// made them.
pub async fn log(tx: &mut dyn Tx, notices: Vec<Notice>, at: Time) -> Result<Logged, StoreError> {
    if notices.is_empty() {
        return Ok(Logged::default());
    }
    let records: Vec<NoticeRecord> = notices
        .into_iter()
        .map(|n| NoticeRecord {
            cursor: Cursor::default(),
            account_id: n.account_id,
            customer_id: n.customer_id,
            case_id: n.case_id,
            case_number: n.case_number,
            kind: n.kind.to_owned(),
            data: n.data,
            created_at: at,
        })
        .collect();
    let mut last: Vec<(String, Cursor)> = Vec::new();
    for (account, at) in tx.insert_notices(&records).await? {
        match last.iter_mut().find(|(a, _)| *a == account) {
            Some((_, c)) => *c = (*c).max(at),
            None => last.push((account, at)),
        }
    }
    Ok(Logged { last })
}

/// A notice as the hub hands it out: with the place the hub read before
/// it, so that a client that did not get everything up to there (it fell
/// behind, or joined later than the hub's last read) knows to read the
/// gap from the feed.
#[derive(Debug)]
pub struct Delivered {
    pub prev: Cursor,
    pub notice: NoticeRecord,
}

/// Notices read at once from a feed.
pub const PAGE: i64 = 500;
/// How often a listened-to feed is read without an announcement, unless
/// configured ([`Config::live_poll`](crate::Config::live_poll)): what
/// brings another server's notices when an announcement was lost.
pub const POLL: Duration = Duration::from_secs(2);
/// How long a feed may hold a committed notice back (a unit of work that
/// began writing before it is still running) before the hub says so in
/// the log.
const HELD_BACK_WARNING: Duration = Duration::from_secs(10);

/// The feeds this server reads: one reader per account with listeners.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    store: Arc<dyn Store>,
    /// How often a listened-to feed is read without an announcement.
    poll: Duration,
    shutdown: watch::Receiver<bool>,
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
    /// Announcements for the other servers ([`nats`]), when configured.
    outside: std::sync::OnceLock<mpsc::Sender<Outgoing>>,
    /// Whose credentials were just revoked (`agent:{id}`, `customer:{id}`):
    /// their open event streams end at once.
    revoked: broadcast::Sender<String>,
}

/// What a server tells the others ([`nats`]).
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// An account's feed grew up to this place.
    Place(String, Cursor),
    /// A subject's credentials were revoked.
    Revoked(String),
}

/// One account's feed as this server reads it.
struct Feed {
    out: broadcast::Sender<Arc<Delivered>>,
    /// Poked by announcements.
    wake: Notify,
    /// The highest place announced: the reader reads until it has passed
    /// it (a unit of work still running may hold it back for a while).
    target: Mutex<Cursor>,
}

impl Hub {
    /// The hub of a server on `store`, reading each listened-to feed at
    /// least every `poll`.
    pub fn new(
        store: Arc<dyn Store>,
        poll: Duration,
        revoked: broadcast::Sender<String>,
        shutdown: watch::Receiver<bool>,
    ) -> Hub {
        Hub {
            inner: Arc::new(HubInner {
                store,
                poll,
                revoked,
                shutdown,
                feeds: Mutex::new(HashMap::new()),
                outside: std::sync::OnceLock::new(),
            }),
        }
    }

    fn feeds(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Feed>>> {
        self.inner.feeds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After a commit: this server's readers of the accounts read again,
    /// and so do the other servers' ([`nats`]).
    pub fn announce(&self, logged: Logged) {
        for (account, at) in logged.last {
            self.nudge(&account, at);
            // The other servers read within [`POLL`] anyway.
            self.tell_others(Outgoing::Place(account, at));
        }
    }

    /// The credentials of `subject` (`agent:{id}`, `customer:{id}`) were
    /// revoked: the streams opened with them end at once, on this server
    /// and on the others (which would otherwise notice within
    /// [`Config::credential_recheck`](crate::Config::credential_recheck)).
    pub fn revoke(&self, subject: String) {
        let _ = self.inner.revoked.send(subject.clone());
        self.tell_others(Outgoing::Revoked(subject));
    }

    /// Another server revoked `subject`'s credentials.
    pub(crate) fn revoked_elsewhere(&self, subject: String) {
        let _ = self.inner.revoked.send(subject);
    }

    fn tell_others(&self, what: Outgoing) {
        if let Some(outside) = self.inner.outside.get()
            && outside.try_send(what).is_err()
        {
            tracing::debug!("NATS announcements are backed up; one was dropped");
        }
    }

    /// The reader of `account_id`'s feed (if this server has one) reads
    /// until it has passed `at`.
    pub fn nudge(&self, account_id: &str, at: Cursor) {
        if let Some(feed) = self.feeds().get(account_id) {
            {
                let mut target = feed.target.lock().unwrap_or_else(|e| e.into_inner());
                *target = (*target).max(at);
            }
            feed.wake.notify_one();
        }
    }

    /// Every reader reads again (after NATS was away or dropped
    /// announcements).
    pub fn nudge_all(&self) {
        for feed in self.feeds().values() {
            feed.wake.notify_one();
        }
    }

    /// Notices of `account_id` from now on, each with the place read
    /// before it; starts the account's reader if there is none.
    pub fn subscribe(&self, account_id: &str) -> broadcast::Receiver<Arc<Delivered>> {
        let mut feeds = self.feeds();
        if let Some(feed) = feeds.get(account_id) {
            return feed.out.subscribe();
        }
        let (out, rx) = broadcast::channel(1024);
        let feed = Arc::new(Feed {
            out,
            wake: Notify::new(),
            target: Mutex::new(Cursor::default()),
        });
        feeds.insert(account_id.to_owned(), Arc::clone(&feed));
        tokio::spawn(read_feed(self.clone(), account_id.to_owned(), feed));
        rx
    }

    /// The store the feeds are read from.
    fn store(&self) -> &dyn Store {
        &*self.inner.store
    }

    fn stopping(&self) -> bool {
        *self.inner.shutdown.borrow()
    }
}

/// Reads `account_id`'s feed in order while someone listens: hands out
/// every notice past the last one, then waits for an announcement (or
/// [`POLL`]); ends when the last listener has gone.
async fn read_feed(hub: Hub, account_id: String, feed: Arc<Feed>) {
    let mut shutdown = hub.inner.shutdown.clone();
    let mut at: Option<Cursor> = None;
    let mut held_since: Option<std::time::Instant> = None;
    let mut retry = Duration::from_millis(5);
    loop {
        match read_on(&hub, &account_id, &feed, &mut at).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(account = %account_id, "reading the live feed failed: {e}"),
        }
        let target = *feed.target.lock().unwrap_or_else(|e| e.into_inner());
        let behind = at.is_none_or(|at| at < target);
        let wait = if behind {
            // Announced but not yet final: a unit of work that began
            // writing earlier is still running. Read again soon.
            let since = *held_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() > HELD_BACK_WARNING {
                tracing::warn!(
                    account = %account_id,
                    "live updates are held back: a database transaction that began writing \
                     before them has been running for over {HELD_BACK_WARNING:?} \
                     (docs/live.md)"
                );
                held_since = Some(std::time::Instant::now());
            }
            retry = (retry * 2).min(Duration::from_millis(200));
            retry
        } else {
            held_since = None;
            retry = Duration::from_millis(5);
            hub.inner.poll
        };
        tokio::select! {
            () = feed.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let mut feeds = hub.feeds();
        if feed.out.receiver_count() == 0 || hub.stopping() {
            if feeds
                .get(&account_id)
                .is_some_and(|f| Arc::ptr_eq(f, &feed))
            {
                feeds.remove(&account_id);
            }
            return;
        }
    }
}

/// One round of [`read_feed`]: where it starts (the feed's last final
/// notice) if it has no place yet, then every final notice after it.
async fn read_on(
    hub: &Hub,
    account_id: &str,
    feed: &Feed,
    at: &mut Option<Cursor>,
) -> Result<(), StoreError> {
    let mut place = match *at {
        Some(place) => place,
        None => {
            let start = last_notice(hub.store(), account_id).await?;
            *at = Some(start);
            start
        }
    };
    loop {
        let page = list_notices(hub.store(), account_id, place, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        for notice in page {
            let prev = place;
            place = notice.cursor;
            *at = Some(place);
            // No listener left is not an error: the loop ends next round.
            let _ = feed.out.send(Arc::new(Delivered { prev, notice }));
        }
        if !full {
            return Ok(());
        }
    }
}

/// The place of the account's last final notice.
pub async fn last_notice(store: &dyn Store, account_id: &str) -> Result<Cursor, StoreError> {
    let account_id = account_id.to_owned();
    casedesk_store::read(store, move |tx| {
        Box::pin(async move { tx.last_notice(&account_id).await })
    })
    .await
}

/// Up to `limit` final notices of the account after `after`.
pub async fn list_notices(
    store: &dyn Store,
    account_id: &str,
    after: Cursor,
    limit: i64,
) -> Result<Vec<NoticeRecord>, StoreError> {
    let account_id = account_id.to_owned();
    casedesk_store::read(store, move |tx| {
        Box::pin(async move { tx.list_notices(&account_id, after, limit).await })
    })
    .await
}

/// Whether the account still keeps the notice at `at`.
pub async fn has_notice(
    store: &dyn Store,
    account_id: &str,
    at: Cursor,
) -> Result<bool, StoreError> {
    let account_id = account_id.to_owned();
    casedesk_store::read(store, move |tx| {
        Box::pin(async move { tx.has_notice(&account_id, at).await })
    })
    .await
}
