//! How often a key (an address, a visitor, an agent's email) may do
//! something, and how many event streams it may hold open: the login
//! throttle, the widget's and Help Center's rate limits, the stream caps
//! (docs/security.md).
//!
//! Every limit is one rule: a key's entries each count until they expire,
//! and a new one is refused while `max` are live. A rate limit's hit
//! expires when it leaves its window; an open stream's entry when the
//! stream ends.
//!
//! One server counts in memory. Several servers (NATS configured) count
//! in the database too ([`casedesk_store::LimitTx`], an `UNLOGGED` table on
//! PostgreSQL), so that N servers do not allow N times the attempts. For
//! rate limits and streams the memory count stays in front as a first
//! gate: it holds only entries the database took, so when it refuses, the
//! database would have too, and a flood from one key is refused without
//! costing a statement. Failed logins, which an admin may forget, are
//! counted in one place only (memory alone, or the database alone), so
//! that unlocking an agent on one server unlocks them on all. A stream's
//! entry in the database is leased: the server holding the stream renews
//! it every [`RENEW_EVERY`], so the streams of a server that died stop
//! counting after [`LEASE`].
//!
//! Time is the app's clock (a test moves it to move a window on).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use casedesk_domain::Time;
use casedesk_store::{LimitEntries, LimitEntry, Store, StoreError, read, write};

use crate::clock::Clock;
use crate::error::AppError;
use crate::util::new_id;

/// How long the database counts an open stream of a server that stopped
/// renewing it (it was killed).
pub const LEASE: Duration = Duration::from_secs(90);
/// How often a server renews its open streams' leases.
pub const RENEW_EVERY: Duration = Duration::from_secs(30);
/// Expired entries deleted per unit of work.
const PRUNE_BATCH: i64 = 5_000;

/// Past this many keys in memory, keys without a live entry are forgotten,
/// at most once per [`PRUNE_EVERY`] so that hostile traffic does not make
/// every hit walk the whole map.
const PRUNE_ABOVE: usize = 100_000;
const PRUNE_EVERY: chrono::Duration = chrono::Duration::seconds(1);

/// How many hits a key may make in any window of time, and what a
/// refusal says.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub max: usize,
    pub window: Duration,
    pub refusal: &'static str,
}

/// The limits of one server; see the module documentation.
pub struct Limits {
    clock: Clock,
    local: Mutex<Local>,
    /// The database, when several servers share the limits.
    shared: Option<Arc<dyn Store>>,
    /// This server's open streams' entries in the database, renewed every
    /// [`RENEW_EVERY`].
    leases: Mutex<HashSet<String>>,
}

#[derive(Default)]
struct Local {
    keys: HashMap<String, Key>,
    /// When keys without a live entry were last forgotten.
    pruned_at: Option<Time>,
}

/// A key's live entries in memory: id and expiry.
#[derive(Default)]
struct Key {
    tag: Option<String>,
    entries: Vec<(String, Time)>,
    /// Until when the database refuses this rate limit's hits (several
    /// servers): refused here meanwhile, without a statement. Hits only
    /// expire, so no hit can be let through before then.
    blocked_until: Option<Time>,
}

impl Key {
    fn live(&self, now: Time) -> bool {
        self.entries.iter().any(|(_, expires)| *expires > now)
            || self.blocked_until.is_some_and(|until| until > now)
    }
}

impl Local {
    /// When a new entry of `key` could be let through, if not now: `max`
    /// entries are live (the first one's expiry), or the database refused
    /// until then.
    fn refusal(&mut self, key: &str, max: usize, now: Time) -> Option<Time> {
        let k = self.keys.get_mut(key)?;
        k.entries.retain(|(_, expires)| *expires > now);
        if let Some(until) = k.blocked_until.filter(|until| *until > now) {
            return Some(until);
        }
        if k.entries.len() < max {
            return None;
        }
        k.entries.iter().map(|(_, expires)| *expires).min()
    }

    /// Adds `entry` unless [`Local::refusal`] says otherwise, under one
    /// lock: concurrent requests never both take the last place.
    fn try_add(&mut self, entry: &LimitEntry, max: usize, now: Time) -> Result<(), Time> {
        match self.refusal(&entry.key, max, now) {
            Some(until) => Err(until),
            None => {
                self.add(entry, now);
                Ok(())
            }
        }
    }

    fn add(&mut self, entry: &LimitEntry, now: Time) {
        let due = self.pruned_at.is_none_or(|t| now - t >= PRUNE_EVERY);
        if self.keys.len() > PRUNE_ABOVE && due {
            self.keys.retain(|_, k| k.live(now));
            self.pruned_at = Some(now);
        }
        let key = self.keys.entry(entry.key.clone()).or_default();
        key.tag.clone_from(&entry.tag);
        key.entries.push((entry.id.clone(), entry.expires_at));
    }

    fn block(&mut self, key: &str, until: Time) {
        self.keys.entry(key.to_owned()).or_default().blocked_until = Some(until);
    }

    /// Removes one entry of `key` (a stream that ended), and the key with
    /// its last entry.
    fn remove(&mut self, key: &str, id: &str) {
        if let Some(k) = self.keys.get_mut(key) {
            k.entries.retain(|(e, _)| e != id);
            if k.entries.is_empty() && k.blocked_until.is_none() {
                self.keys.remove(key);
            }
        }
    }

    fn forget(&mut self, which: LimitEntries<'_>) {
        match which {
            LimitEntries::Key(key) => {
                self.keys.remove(key);
            }
            LimitEntries::Tag(tag) => self.keys.retain(|_, k| k.tag.as_deref() != Some(tag)),
            LimitEntries::Ids(ids) => {
                for k in self.keys.values_mut() {
                    k.entries.retain(|(id, _)| !ids.contains(id));
                }
            }
        }
    }
}

/// Seconds until `until`, at least one: the `Retry-After` of a refusal.
fn wait(until: Time, now: Time) -> u64 {
    (until - now)
        .num_milliseconds()
        .max(0)
        .unsigned_abs()
        .div_ceil(1000)
        .max(1)
}

/// A new entry of `key`, counting until `expires_at`.
fn entry(key: String, tag: Option<&str>, expires_at: Time) -> LimitEntry {
    LimitEntry {
        id: new_id(),
        key,
        tag: tag.map(str::to_owned),
        expires_at,
    }
}

/// Adds `entry` in the database unless `max` entries of its key are live
/// at `now`; refused, when one could be let through.
async fn take_shared(
    store: &dyn Store,
    entry: LimitEntry,
    max: usize,
    now: Time,
) -> Result<Option<Time>, AppError> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    Ok(write::<_, StoreError, _>(store, move |tx| {
        Box::pin(async move { tx.take_limit(&entry, max, now).await })
    })
    .await?)
}

impl Limits {
    /// Limits counted in memory, and in `shared` too when given (several
    /// servers).
    pub fn new(clock: Clock, shared: Option<Arc<dyn Store>>) -> Limits {
        Limits {
            clock,
            local: Mutex::default(),
            shared,
            leases: Mutex::default(),
        }
    }

    /// Whether the database counts too.
    pub fn shared(&self) -> bool {
        self.shared.is_some()
    }

    fn local(&self) -> Result<std::sync::MutexGuard<'_, Local>, AppError> {
        self.local.lock().map_err(AppError::internal)
    }

    /// Counts one hit of `key`; refuses it when `rate.max` hits already
    /// fell in the last `rate.window`.
    pub async fn hit(&self, key: &str, rate: &Rate) -> Result<(), AppError> {
        let now = self.clock.now();
        let window = chrono::Duration::from_std(rate.window).unwrap_or_default();
        let entry = entry(key.to_owned(), None, now + window);
        let refused = |until| AppError::too_many(rate.refusal, wait(until, now));
        let Some(store) = &self.shared else {
            return self
                .local()?
                .try_add(&entry, rate.max, now)
                .map_err(refused);
        };
        if let Some(until) = self.local()?.refusal(key, rate.max, now) {
            return Err(refused(until));
        }
        let taken = take_shared(&**store, entry.clone(), rate.max, now).await?;
        let mut local = self.local()?;
        match taken {
            Some(until) => {
                local.block(key, until);
                Err(refused(until))
            }
            None => {
                local.add(&entry, now);
                Ok(())
            }
        }
    }

    /// Refuses, saying `message`, when `key` has `max` live entries
    /// (failed logins), without counting one. Entries that can be
    /// forgotten ([`Limits::record`]) live in memory alone or, with
    /// several servers, in the database alone: an admin unlocking an agent
    /// on one server unlocks them on all.
    pub async fn check(&self, key: &str, max: usize, message: &str) -> Result<(), AppError> {
        let now = self.clock.now();
        let refused = match &self.shared {
            None => self.local()?.refusal(key, max, now),
            Some(store) => {
                let lookup = key.to_owned();
                let (live, first) = read::<_, StoreError, _>(&**store, move |tx| {
                    Box::pin(async move { tx.count_limit(&lookup, now).await })
                })
                .await?;
                first.filter(|_| usize::try_from(live).unwrap_or(usize::MAX) >= max)
            }
        };
        match refused {
            Some(until) => Err(AppError::too_many(message, wait(until, now))),
            None => Ok(()),
        }
    }

    /// Counts one entry of `key` for `window` whatever it holds (a failed
    /// login, refused by [`Limits::check`] before the next one), tagged
    /// with `tag` for [`Limits::forget`].
    pub async fn record(
        &self,
        key: &str,
        tag: Option<&str>,
        window: Duration,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let window = chrono::Duration::from_std(window).unwrap_or_default();
        let entry = entry(key.to_owned(), tag, now + window);
        match &self.shared {
            None => self.local()?.add(&entry, now),
            Some(store) => {
                take_shared(&**store, entry, usize::MAX, now).await?;
            }
        }
        Ok(())
    }

    /// Forgets the entries of a key or a tag, here and in the database.
    pub async fn forget(&self, which: LimitEntries<'_>) -> Result<(), AppError> {
        self.local()?.forget(which);
        if let Some(store) = &self.shared {
            let which = match which {
                LimitEntries::Key(k) => Owned::Key(k.to_owned()),
                LimitEntries::Tag(t) => Owned::Tag(t.to_owned()),
                LimitEntries::Ids(ids) => Owned::Ids(ids.to_vec()),
            };
            write::<_, StoreError, _>(&**store, move |tx| {
                Box::pin(async move { tx.delete_limit_entries(which.borrowed()).await })
            })
            .await?;
        }
        Ok(())
    }

    /// Takes a place for a new stream of `key` (`visitor:…`, `agent:…`), or
    /// 429 when it holds `max` open. The place is freed when the returned
    /// [`StreamPlace`] is dropped.
    pub async fn open_stream(
        self: &Arc<Self>,
        key: &str,
        max: usize,
    ) -> Result<StreamPlace, AppError> {
        let now = self.clock.now();
        let lease = chrono::Duration::from_std(LEASE).unwrap_or_default();
        let entry = entry(format!("stream:{key}"), None, now + lease);
        let id = entry.id.clone();
        // In memory the place lasts until the stream ends.
        let local = LimitEntry {
            expires_at: now + chrono::Duration::days(36_500),
            ..entry.clone()
        };
        let refused = || {
            AppError::too_many(
                format!("at most {max} event streams open at once; close a window or tab"),
                5,
            )
        };
        let place = StreamPlace {
            limits: Arc::clone(self),
            key: local.key.clone(),
            id: id.clone(),
        };
        let Some(store) = &self.shared else {
            self.local()?
                .try_add(&local, max, now)
                .map_err(|_| refused())?;
            return Ok(place);
        };
        if self.local()?.refusal(&local.key, max, now).is_some() {
            return Err(refused());
        }
        // A request cancelled between the commit and the lines below
        // leaves its entry to expire with its lease.
        if take_shared(&**store, entry, max, now).await?.is_some() {
            return Err(refused());
        }
        self.leases.lock().map_err(AppError::internal)?.insert(id);
        self.local()?.add(&local, now);
        Ok(place)
    }

    /// Renews this server's open streams' leases and deletes expired
    /// entries from the database (several servers; nothing to do alone).
    pub async fn upkeep(&self) -> Result<(), StoreError> {
        let Some(store) = &self.shared else {
            return Ok(());
        };
        let now = self.clock.now();
        let ids: Vec<String> = match self.leases.lock() {
            Ok(leases) => leases.iter().cloned().collect(),
            Err(_) => return Err(StoreError::Other("lease list poisoned".into())),
        };
        if !ids.is_empty() {
            let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
            write::<_, StoreError, _>(&**store, move |tx| {
                Box::pin(async move { tx.renew_limit_entries(&ids, until).await })
            })
            .await?;
        }
        loop {
            let pruned = write::<_, StoreError, _>(&**store, move |tx| {
                Box::pin(async move { tx.prune_limit_entries(now, PRUNE_BATCH).await })
            })
            .await?;
            if pruned < PRUNE_BATCH as u64 {
                return Ok(());
            }
        }
    }
}

/// [`LimitEntries`] that a unit of work can own.
enum Owned {
    Key(String),
    Tag(String),
    Ids(Vec<String>),
}

impl Owned {
    fn borrowed(&self) -> LimitEntries<'_> {
        match self {
            Owned::Key(k) => LimitEntries::Key(k),
            Owned::Tag(t) => LimitEntries::Tag(t),
            Owned::Ids(ids) => LimitEntries::Ids(ids),
        }
    }
}

/// One open stream's place; dropping it (the stream ended) frees it.
pub struct StreamPlace {
    limits: Arc<Limits>,
    key: String,
    id: String,
}

impl Drop for StreamPlace {
    fn drop(&mut self) {
        let ids = vec![std::mem::take(&mut self.id)];
        if let Ok(mut local) = self.limits.local.lock() {
            local.remove(&self.key, &ids[0]);
        }
        let Some(store) = self.limits.shared.clone() else {
            return;
        };
        let held = self
            .limits
            .leases
            .lock()
            .is_ok_and(|mut leases| leases.remove(&ids[0]));
        if !held {
            // Refused before the database took it: nothing to free there.
            return;
        }
        // Freed in the database at once where a runtime runs (it always
        // does while serving); otherwise the lease expires.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let freed = write::<_, StoreError, _>(&*store, move |tx| {
                    Box::pin(async move { tx.delete_limit_entries(LimitEntries::Ids(&ids)).await })
                })
                .await;
                if let Err(e) = freed {
                    tracing::info!("freeing a stream's place failed (its lease expires): {e}");
                }
            });
        }
    }
}

/// Renews leases and prunes expired entries every [`RENEW_EVERY`] until
/// the server stops (several servers only).
pub async fn upkeep_loop(app: crate::App) {
    if !app.limits.shared() {
        return;
    }
    let mut shutdown = app.shutdown.clone();
    loop {
        tokio::select! {
            () = tokio::time::sleep(RENEW_EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        if let Err(e) = app.limits.upkeep().await {
            tracing::warn!("renewing the open streams' leases failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn rate(max: usize, window: Duration, refusal: &'static str) -> Rate {
        Rate {
            max,
            window,
            refusal,
        }
    }

    fn limits() -> (Arc<Limits>, ManualClock) {
        let clock = ManualClock::starting_now();
        (
            Arc::new(Limits::new(Clock::from(clock.clone()), None)),
            clock,
        )
    }

    #[tokio::test]
    async fn hits_are_refused_past_the_maximum_until_the_first_leaves_the_window() {
        let (limits, clock) = limits();
        let window = Duration::from_secs(10);
        for _ in 0..3 {
            limits
                .hit("k", &rate(3, window, "slow down"))
                .await
                .expect("under the maximum");
            clock.advance(Duration::from_secs(2));
        }
        let refused = limits
            .hit("k", &rate(3, window, "slow down"))
            .await
            .expect_err("4th");
        assert_eq!(
            refused.retry_after,
            Some(4),
            "the first hit leaves the window in 4 s"
        );
        limits
            .hit("other", &rate(3, window, "slow down"))
            .await
            .expect("another key");
        clock.advance(Duration::from_secs(4));
        limits
            .hit("k", &rate(3, window, "slow down"))
            .await
            .expect("the first hit left the window");
    }

    #[tokio::test]
    async fn failures_are_checked_and_forgotten_by_tag() {
        let (limits, _clock) = limits();
        let window = Duration::from_secs(900);
        for ip in ["1.1.1.1", "2.2.2.2"] {
            for _ in 0..2 {
                limits
                    .record(&format!("login:{ip}:ann@x"), Some("ann@x"), window)
                    .await
                    .expect("recorded");
            }
        }
        limits
            .check("login:1.1.1.1:ann@x", 2, "locked")
            .await
            .expect_err("two failures");
        limits
            .check("login:1.1.1.1:bob@x", 2, "locked")
            .await
            .expect("another email");
        limits
            .forget(LimitEntries::Tag("ann@x"))
            .await
            .expect("forgotten");
        limits
            .check("login:2.2.2.2:ann@x", 2, "locked")
            .await
            .expect("unlocked everywhere");
    }

    /// A crowded map forgets keys by their own entries' expiry: a Help
    /// Center e-mail's 15 minutes are not cut short by the visitors'
    /// minute.
    #[tokio::test]
    async fn crowded_keys_are_forgotten_only_once_their_entries_expired() {
        let (limits, clock) = limits();
        let quarter = Duration::from_secs(15 * 60);
        limits
            .hit("mail", &rate(1, quarter, "later"))
            .await
            .expect("first mail");
        for i in 0..=PRUNE_ABOVE {
            let key = format!("visitors-ip:{i}");
            limits
                .hit(&key, &rate(1, Duration::from_secs(60), "wait"))
                .await
                .expect("a visitor");
        }
        clock.advance(Duration::from_secs(61));
        limits
            .hit("late", &rate(1, Duration::from_secs(60), "wait"))
            .await
            .expect("prunes");
        let kept = limits.local.lock().expect("lock").keys.len();
        assert_eq!(kept, 2, "the visitors' expired keys are forgotten");
        limits
            .hit("mail", &rate(1, quarter, "later"))
            .await
            .expect_err("the mail's quarter holds");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_hits_never_pass_the_maximum() {
        let (limits, _clock) = limits();
        let hits = (0..200).map(|_| {
            let limits = Arc::clone(&limits);
            tokio::spawn(async move {
                limits
                    .hit("k", &rate(10, Duration::from_secs(60), "wait"))
                    .await
                    .is_ok()
            })
        });
        let mut let_through = 0;
        for hit in hits {
            let_through += usize::from(hit.await.expect("hit task"));
        }
        assert_eq!(let_through, 10);
    }

    /// Several servers: once the database refused a key, this server
    /// refuses it without a statement until the window moves on.
    #[tokio::test]
    async fn a_database_refusal_is_remembered_until_the_window_moves() {
        let store: Arc<dyn Store> = casedesk_store_sqlite::SqliteStore::open("sqlite::memory:")
            .await
            .expect("store");
        let clock = ManualClock::starting_now();
        let server = || Limits::new(Clock::from(clock.clone()), Some(Arc::clone(&store)));
        let (first, other) = (server(), server());
        let ten_seconds = rate(3, Duration::from_secs(10), "wait");
        for _ in 0..3 {
            first
                .hit("k", &ten_seconds)
                .await
                .expect("under the maximum");
        }
        let refused = other
            .hit("k", &ten_seconds)
            .await
            .expect_err("the database refuses");
        assert_eq!(refused.retry_after, Some(10));
        store.close().await;
        let refused = other
            .hit("k", &ten_seconds)
            .await
            .expect_err("still refused");
        assert_eq!(
            refused.status,
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "refused from memory, not by a closed database: {}",
            refused.message
        );
        clock.advance(Duration::from_secs(10));
        let asked = other
            .hit("k", &ten_seconds)
            .await
            .expect_err("the store is closed");
        assert_ne!(
            asked.status,
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "after the window the database is asked again"
        );
    }

    #[tokio::test]
    async fn a_stream_place_is_freed_when_dropped() {
        let (limits, clock) = limits();
        let first = limits.open_stream("agent:a", 2).await.expect("1st");
        let _second = limits.open_stream("agent:a", 2).await.expect("2nd");
        limits
            .open_stream("agent:a", 2)
            .await
            .err()
            .expect("3rd refused");
        clock.advance(Duration::from_secs(86_400));
        limits
            .open_stream("agent:a", 2)
            .await
            .err()
            .expect("open streams do not expire");
        drop(first);
        let third = limits
            .open_stream("agent:a", 2)
            .await
            .expect("a place was freed");
        drop((_second, third));
        let keys = limits.local.lock().expect("lock").keys.len();
        assert_eq!(keys, 0, "a key without open streams is forgotten");
    }
}
