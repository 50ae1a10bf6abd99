//! E-mail channels' IMAP mailboxes, kept fetched: one server at a time
//! holds a mailbox (the poll lease of `channel_polls`), fetches the
//! letters above the stored UID without marking them read, stores each
//! raw ([`store_letter`]), and only then marks them `\Seen` and moves the
//! stored UID past them. A restart therefore neither misses nor repeats a
//! letter, and a letter fetched twice (after an error between storing and
//! marking) is the same letter by its key. Between fetches the connection
//! waits in IDLE, re-issued every [`IDLE_FOR`] (servers end IDLE after 29
//! minutes at the earliest); a server without IDLE is polled every
//! [`POLL_EVERY`].
//!
//! Where a mailbox starts: at its first unread letter (or, with none, at
//! the next UID), when it is first connected and whenever the server
//! renumbers the folder (a new UIDVALIDITY).

use std::collections::HashMap;
use std::time::Duration;

use casedesk_domain::ChannelKind;
use casedesk_store::{ChannelRecord, StoreError, read, write};

use super::{later, nap, pause, release_lease, stopping};
use crate::channels::email::imap::{self, FETCH_BATCH, ImapError, Session};
use crate::channels::email::receive::{record_refused, store_letter};
use crate::channels::email::{Imap, Secrets, Settings};
use crate::{App, AppState};

/// How long one IDLE lasts before it is issued again.
pub const IDLE_FOR: Duration = Duration::from_secs(5 * 60);
/// How often a server without IDLE is asked for new letters.
pub const POLL_EVERY: Duration = Duration::from_secs(60);
/// A lease outlives the wait it was taken for by this much.
const LEASE_MARGIN: Duration = Duration::from_secs(60);
/// How often the list of mailboxes is read again (a new one is also
/// announced by [`AppState::mailboxes_changed`]).
const RELIST: Duration = Duration::from_secs(30);

/// An e-mail channel's IMAP mailbox and its password.
struct Mailbox {
    channel: ChannelRecord,
    imap: Imap,
    password: String,
}

async fn mailbox(app: &AppState, channel_id: &str) -> Result<Option<Mailbox>, StoreError> {
    let Some(c) = crate::channels::connected(app, channel_id).await? else {
        return Ok(None);
    };
    if c.channel.kind != ChannelKind::Email || c.channel.disabled_at.is_some() {
        return Ok(None);
    }
    let Some(imap) = Settings::of(&c.secret).and_then(|s| s.imap) else {
        return Ok(None);
    };
    let password = Secrets::of(&c.secret).imap_password.unwrap_or_default();
    Ok(Some(Mailbox {
        channel: c.channel,
        imap,
        password,
    }))
}

#[derive(Debug)]
enum SyncError {
    /// Another server holds this mailbox.
    Held,
    Imap(ImapError),
    Store(StoreError),
}

impl From<ImapError> for SyncError {
    fn from(e: ImapError) -> SyncError {
        SyncError::Imap(e)
    }
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> SyncError {
        SyncError::Store(e)
    }
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncError::Held => f.write_str("another server holds this mailbox"),
            SyncError::Imap(e) => e.fmt(f),
            SyncError::Store(e) => e.fmt(f),
        }
    }
}

/// Where a new position starts: the first unread letter, else the next UID.
async fn first_position(
    session: &mut Session,
    folder: &async_imap::types::Mailbox,
) -> Result<i64, ImapError> {
    let unseen = session
        .uid_search("UNSEEN")
        .await
        .map_err(|e| ImapError::Protocol(e.to_string()))?;
    Ok(match unseen.into_iter().min() {
        Some(uid) => i64::from(uid),
        None => i64::from(folder.uid_next.unwrap_or(1)),
    })
}

/// Takes (or renews) the mailbox's lease for `hold` and fetches what
/// arrived: each letter stored, then marked read, then the position moved
/// past it. Returns how many letters came.
async fn sync(
    app: &AppState,
    mb: &Mailbox,
    session: &mut Session,
    folder: &async_imap::types::Mailbox,
    hold: Duration,
) -> Result<usize, SyncError> {
    let (channel_id, holder) = (mb.channel.id.clone(), app.telegram.holder.clone());
    let (now, until) = (app.clock.now(), later(app, hold + LEASE_MARGIN));
    let position = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.lease_channel_poll(&channel_id, &holder, now, until)
                .await
        })
    })
    .await?
    .ok_or(SyncError::Held)?;
    let validity = i64::from(folder.uid_validity.unwrap_or(0));
    let mut next = position.next_offset;
    if position.validity != Some(validity) {
        next = first_position(session, folder).await?;
        let (channel_id, holder) = (mb.channel.id.clone(), app.telegram.holder.clone());
        write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move {
                tx.reset_channel_poll(&channel_id, &holder, validity, next)
                    .await
            })
        })
        .await?;
    }
    let mut count = 0;
    loop {
        let from = u32::try_from(next.max(1)).unwrap_or(u32::MAX);
        let uids = imap::new_uids(session, from, FETCH_BATCH).await?;
        if uids.is_empty() {
            return Ok(count);
        }
        let letters = imap::fetch(session, &uids).await?;
        let limit = app.files.as_ref().map(|f| f.max_letter_bytes());
        let mut stored = Vec::new();
        for (uid, raw) in letters {
            if let Some(limit) = limit.filter(|l| raw.len() as u64 > *l) {
                // Kept unread in the mailbox for a person to read.
                let why = crate::usecases::attachments::too_large(limit).message;
                tracing::warn!(channel = %mb.channel.id, uid, "a letter over the size limit: {why}");
                record_refused(app, &mb.channel, &raw, "imap", why).await?;
            } else {
                store_letter(app, &mb.channel, raw, "imap")
                    .await
                    .map_err(|e| SyncError::Store(StoreError::Other(e.message)))?;
                stored.push(uid);
            }
            next = next.max(i64::from(uid) + 1);
            count += 1;
        }
        imap::mark_seen(session, &stored).await?;
        // Past what was fetched, even letters the server did not give
        // (deleted meanwhile).
        next = next.max(uids.iter().map(|u| i64::from(*u) + 1).max().unwrap_or(next));
        let (channel_id, holder) = (mb.channel.id.clone(), app.telegram.holder.clone());
        write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move {
                tx.save_channel_poll_offset(&channel_id, &holder, next)
                    .await
            })
        })
        .await?;
    }
}

/// Opens the mailbox and fetches once, under this process's lock of it.
async fn fetch_once(app: &AppState, mb: &Mailbox) -> Result<usize, SyncError> {
    let lock = app.rounds.poll_lock(&mb.channel.id);
    let _held = lock.lock().await;
    let (mut session, folder) = imap::open(&mb.imap, &mb.password).await?;
    let result = sync(app, mb, &mut session, &folder, Duration::ZERO).await;
    let _ = session.logout().await;
    result
}

/// Every e-mail channel with an IMAP mailbox.
async fn mailbox_channels(app: &AppState) -> Result<Vec<ChannelRecord>, StoreError> {
    read::<_, StoreError, _>(&*app.store, |tx| {
        Box::pin(async move { tx.list_channels_of_kind(ChannelKind::Email).await })
    })
    .await
}

/// One round for [`AppState::run_due_work`]: every mailbox fetched once.
pub(super) async fn round(app: &AppState) -> Result<(), StoreError> {
    for channel in mailbox_channels(app).await? {
        let Some(mb) = mailbox(app, &channel.id).await? else {
            continue;
        };
        match fetch_once(app, &mb).await {
            Ok(_) | Err(SyncError::Held) => {}
            Err(SyncError::Store(e)) => return Err(e),
            Err(e) => tracing::warn!(channel = %channel.id, "IMAP: {e}"),
        }
    }
    Ok(())
}

/// Waits for the server to announce a change (IDLE) or for [`IDLE_FOR`];
/// polls every [`POLL_EVERY`] when the server has no IDLE. The session
/// comes back for the next fetch.
async fn wait_for_mail(
    app: &AppState,
    session: Session,
    idle: &tokio::sync::Notify,
) -> Result<Session, ImapError> {
    let mut session = session;
    let has_idle = session
        .capabilities()
        .await
        .map_err(|e| ImapError::Protocol(e.to_string()))?
        .has_str("IDLE");
    if !has_idle {
        pause(app, POLL_EVERY, idle).await;
        return Ok(session);
    }
    let mut handle = session.idle();
    handle
        .init()
        .await
        .map_err(|e| ImapError::Protocol(e.to_string()))?;
    {
        let (wait, _stop) = handle.wait_with_timeout(IDLE_FOR);
        let mut shutdown = app.shutdown.clone();
        tokio::select! {
            r = wait => { r.map_err(|e| ImapError::Protocol(e.to_string()))?; }
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }
    handle
        .done()
        .await
        .map_err(|e| ImapError::Protocol(e.to_string()))
}

/// Keeps one mailbox fetched until the server stops, then lets go of it.
async fn channel_loop(app: App, channel_id: String) {
    let idle = tokio::sync::Notify::new();
    let mut failures: u32 = 0;
    'connect: while !stopping(&app) {
        let mb = match mailbox(&app, &channel_id).await {
            Ok(Some(mb)) => mb,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(channel = %channel_id, "IMAP: {e}");
                pause(&app, Duration::from_secs(5), &idle).await;
                continue;
            }
        };
        let (mut session, mut folder) = match imap::open(&mb.imap, &mb.password).await {
            Ok(open) => open,
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(channel = %channel_id, failures, "IMAP: {e}");
                pause(&app, Duration::from_secs(1u64 << failures.min(8)), &idle).await;
                continue;
            }
        };
        while !stopping(&app) {
            let synced = {
                let lock = app.rounds.poll_lock(&channel_id);
                let _held = lock.lock().await;
                sync(&app, &mb, &mut session, &folder, IDLE_FOR).await
            };
            match synced {
                Ok(_) => failures = 0,
                Err(SyncError::Held) => {
                    let _ = session.logout().await;
                    pause(&app, Duration::from_secs(30), &idle).await;
                    continue 'connect;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(channel = %channel_id, failures, "IMAP: {e}");
                    let _ = session.logout().await;
                    pause(&app, Duration::from_secs(1u64 << failures.min(8)), &idle).await;
                    continue 'connect;
                }
            }
            session = match wait_for_mail(&app, session, &idle).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::info!(channel = %channel_id, "IMAP connection ended: {e}");
                    continue 'connect;
                }
            };
            // The folder's state may have changed (a new UIDVALIDITY).
            folder = match session.select(&mb.imap.folder).await {
                Ok(f) => f,
                Err(e) => {
                    tracing::info!(channel = %channel_id, "IMAP: {e}");
                    continue 'connect;
                }
            };
        }
        let _ = session.logout().await;
    }
    release_lease(&app, channel_id).await;
}

/// A mailbox's fetching task, and the settings it was started with.
struct Task {
    handle: tokio::task::JoinHandle<()>,
    imap: Imap,
    password: String,
}

/// Keeps every IMAP mailbox fetched, each one connected later too, and
/// starts a mailbox's fetching again when an admin changes its settings
/// (what the stopped task stored but did not mark read is fetched again
/// and known by its key), until the server stops.
pub async fn imap_loop(app: App) {
    let mut tasks: HashMap<String, Task> = HashMap::new();
    while !stopping(&app) {
        match mailbox_channels(&app).await {
            Ok(channels) => {
                tasks.retain(|_, t| !t.handle.is_finished());
                for channel in channels {
                    let mb = match mailbox(&app, &channel.id).await {
                        Ok(mb) => mb,
                        Err(e) => {
                            tracing::warn!("IMAP mailboxes: {e}");
                            continue;
                        }
                    };
                    let current = tasks.get(&channel.id);
                    let same = match (&mb, current) {
                        (Some(mb), Some(t)) => mb.imap == t.imap && mb.password == t.password,
                        (None, None) => true,
                        _ => false,
                    };
                    if same {
                        continue;
                    }
                    if let Some(old) = tasks.remove(&channel.id) {
                        old.handle.abort();
                    }
                    if let Some(mb) = mb {
                        let handle = tokio::spawn(channel_loop(app.clone(), channel.id.clone()));
                        tasks.insert(
                            channel.id,
                            Task {
                                handle,
                                imap: mb.imap,
                                password: mb.password,
                            },
                        );
                    }
                }
            }
            Err(e) => tracing::warn!("listing e-mail channels: {e}"),
        }
        nap(&app, Some(later(&app, RELIST)), &app.mailboxes_changed).await;
    }
    for task in tasks.into_values() {
        let _ = task.handle.await;
    }
}
