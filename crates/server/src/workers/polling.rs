//! Messenger bots, kept receiving: a bot of a server with a public
//! `https://` address has its webhook registered (again at every start,
//! so a changed address or secret takes effect); any other bot is polled
//! with `getUpdates`. One server at a time polls a bot: each poll renews a
//! lease in the database, and the offset (which confirms what was
//! received) is saved there only after the updates are stored, so a
//! restart neither loses nor repeats an update.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use casedesk_domain::ChannelKind;
use casedesk_store::{StoreError, read, write};
use casedesk_telegram::ApiError;

use super::{later, nap, pause, release_lease, stopping};
use crate::channels::telegram::connect::set_up_receiving;
use crate::channels::telegram::receive::store_update;
use crate::channels::telegram::{Bot, Mode, bot, mode};
use crate::{App, AppState};

/// How often the list of bots is read again (a new one is also announced
/// by [`AppState::telegram_changed`]).
const RELIST: Duration = Duration::from_secs(30);
/// A lease outlives the poll it was taken for by this much.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

#[derive(Debug)]
enum PollError {
    /// Another server polls this bot.
    Held,
    /// The bot was turned off while it was being polled.
    Stopped,
    Api(ApiError),
    Store(StoreError),
}

impl From<StoreError> for PollError {
    fn from(e: StoreError) -> PollError {
        PollError::Store(e)
    }
}

impl From<ApiError> for PollError {
    fn from(e: ApiError) -> PollError {
        PollError::Api(e)
    }
}

/// Takes the bot's lease and asks for its updates from the stored offset,
/// waiting up to `wait`; stores each, then moves the offset past them.
/// Returns how many came.
async fn poll_once(app: &AppState, bot: &Bot, wait: Duration) -> Result<usize, PollError> {
    let (channel_id, holder) = (bot.channel.id.clone(), app.telegram.holder.clone());
    let (now, until) = (app.clock.now(), later(app, wait + LEASE_MARGIN));
    // The lease is taken only while the channel is on: a bot turned off
    // since this poller last looked is not asked again.
    let offset = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let on = tx
                .find_channel(&channel_id)
                .await?
                .is_some_and(|c| c.disabled_at.is_none());
            if !on {
                return Ok(None);
            }
            tx.lease_channel_poll(&channel_id, &holder, now, until)
                .await
        })
    })
    .await?
    .ok_or(PollError::Held)?
    .next_offset;
    let updates = bot.api.get_updates_raw(offset, wait).await?;
    let mut next = offset;
    for update in &updates {
        let Some(id) = update.get("update_id").and_then(serde_json::Value::as_i64) else {
            tracing::warn!(channel = %bot.channel.id, "getUpdates gave an update without update_id");
            continue;
        };
        let raw = serde_json::to_vec(update).map_err(|e| StoreError::Other(e.to_string()))?;
        store_update(app, &bot.channel, &raw).await?;
        next = next.max(id.saturating_add(1));
    }
    if next != offset {
        let (channel_id, holder) = (bot.channel.id.clone(), app.telegram.holder.clone());
        write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move {
                tx.save_channel_poll_offset(&channel_id, &holder, next)
                    .await
            })
        })
        .await?;
    }
    Ok(updates.len())
}

/// Polls one bot without waiting, after any poll of it under way in this
/// process; a bot another server holds is left to it.
async fn poll_now(app: &AppState, bot: &Bot) -> Result<usize, PollError> {
    let lock = app.rounds.poll_lock(&bot.channel.id);
    let _held = lock.lock().await;
    poll_once(app, bot, Duration::ZERO).await
}

/// One round of polling for [`AppState::run_due_work`]: every polled bot
/// once, without waiting for updates.
pub(super) async fn round(app: &AppState) -> Result<(), StoreError> {
    let channels = read::<_, StoreError, _>(&*app.store, |tx| {
        Box::pin(async move { tx.list_channels_of_kind(ChannelKind::Telegram).await })
    })
    .await?;
    for channel in channels {
        if mode(app, &channel.id) != Mode::Polling {
            continue;
        }
        let Some(bot) = bot(app, &channel.id).await? else {
            continue;
        };
        match poll_now(app, &bot).await {
            Ok(_) | Err(PollError::Held | PollError::Stopped) => {}
            Err(PollError::Store(e)) => return Err(e),
            Err(PollError::Api(e)) => {
                tracing::warn!(channel = %channel.id, "polling Telegram: {e}")
            }
        }
    }
    Ok(())
}

/// Keeps polling one bot until the server stops, then lets go of its lease.
async fn channel_loop(app: App, channel_id: String) {
    // Woken by the clock or shutdown only: the supervisor's notification
    // is the supervisor's.
    let idle = tokio::sync::Notify::new();
    let mut cleared = false;
    let mut failures: u32 = 0;
    while !stopping(&app) {
        let bot = match bot(&app, &channel_id).await {
            Ok(Some(b)) if b.channel.disabled_at.is_none() => b,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(channel = %channel_id, "polling: {e}");
                pause(&app, Duration::from_secs(5), &idle).await;
                continue;
            }
        };
        // A webhook left from an earlier address makes getUpdates fail.
        if !cleared {
            match bot.api.delete_webhook().await {
                Ok(_) => cleared = true,
                Err(e) => tracing::warn!(channel = %channel_id, "deleteWebhook: {e}"),
            }
        }
        let started = Instant::now();
        let stop = app.rounds.poll_stop(&channel_id);
        let polled = {
            let lock = app.rounds.poll_lock(&channel_id);
            let _held = lock.lock().await;
            let mut shutdown = app.shutdown.clone();
            tokio::select! {
                biased;
                _ = stop.notified() => Some(Err(PollError::Stopped)),
                r = poll_once(&app, &bot, app.telegram.poll_wait) => Some(r),
                _ = shutdown.wait_for(|stop| *stop) => None,
            }
        };
        let wait = match polled {
            None => break,
            // Turned off: the top of the loop sees it and ends.
            Some(Err(PollError::Stopped)) => continue,
            Some(Ok(n)) => {
                failures = 0;
                if n > 0 || started.elapsed() >= Duration::from_secs(1) {
                    continue;
                }
                Duration::from_secs(1)
            }
            Some(Err(PollError::Held)) => Duration::from_secs(5),
            Some(Err(e)) => {
                failures = failures.saturating_add(1);
                tracing::warn!(channel = %channel_id, failures, "polling Telegram: {e:?}");
                // 409: a webhook was set meanwhile (another install, a
                // change of address); clear it again before the next poll.
                if matches!(&e, PollError::Api(ApiError::Refused(why)) if why.contains("Conflict"))
                {
                    cleared = false;
                }
                match e {
                    PollError::Api(ApiError::RetryAfter(s)) => {
                        Duration::from_secs(s.clamp(1, 3600))
                    }
                    _ => Duration::from_secs(1u64 << failures.min(6)),
                }
            }
        };
        pause(&app, wait, &idle).await;
    }
    release_lease(&app, channel_id).await;
}

/// Registers a bot's webhook, trying again until Telegram takes it.
async fn webhook_loop(app: App, channel_id: String) {
    let idle = tokio::sync::Notify::new();
    let mut failures: u32 = 0;
    while !stopping(&app) {
        let registered = match bot(&app, &channel_id).await {
            Ok(Some(bot)) => {
                set_up_receiving(&app, &bot.api, &channel_id, &bot.secret.webhook_secret)
                    .await
                    .map_err(|e| e.to_string())
            }
            Ok(None) => return,
            Err(e) => Err(e.to_string()),
        };
        match registered {
            Ok(()) => return,
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(channel = %channel_id, failures, "setWebhook: {e}");
                pause(&app, Duration::from_secs(1u64 << failures.min(8)), &idle).await;
            }
        }
    }
}

/// Starts receiving for every Telegram bot, and for each one connected
/// later, until the server stops.
pub async fn poll_loop(app: App) {
    let mut tasks: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    while !stopping(&app) {
        let channels = read::<_, StoreError, _>(&*app.store, |tx| {
            Box::pin(async move { tx.list_channels_of_kind(ChannelKind::Telegram).await })
        })
        .await;
        match channels {
            Ok(channels) => {
                // A bot turned off ends its task; turned on again, it gets
                // a new one.
                tasks.retain(|_, t| !t.is_finished());
                for channel in channels {
                    if channel.disabled_at.is_some() || tasks.contains_key(&channel.id) {
                        continue;
                    }
                    let task = match mode(&app, &channel.id) {
                        Mode::Polling => {
                            tokio::spawn(channel_loop(app.clone(), channel.id.clone()))
                        }
                        Mode::Webhook(_) => {
                            tokio::spawn(webhook_loop(app.clone(), channel.id.clone()))
                        }
                    };
                    tasks.insert(channel.id, task);
                }
            }
            Err(e) => tracing::warn!("listing Telegram channels: {e}"),
        }
        nap(&app, Some(later(&app, RELIST)), &app.telegram_changed).await;
    }
    for task in tasks.into_values() {
        let _ = task.await;
    }
}
