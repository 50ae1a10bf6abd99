//! Background work with durable state: chat deadlines (R3/R4), the timers
//! of time-based automation rules, and the outbound webhook outbox.
//!
//! Both loops sleep until their next due time (read from an index), a
//! [`Notify`](tokio::sync::Notify) from a commit that changed it, or at most
//! [`MAX_SLEEP`] so that work queued by another server process on the same
//! database is picked up too. Correctness never depends on the sleeping:
//! each deadline is re-checked under the customer's lock when it fires, and
//! outbox items are leased. Outbox items are tried a limited number of
//! times ([`webhook::Retry`]) and then kept as failed until an admin
//! redelivers them.
//!
//! "Due" is by the app's [`Clock`](crate::clock::Clock). Under a manual
//! clock the loops sleep until the clock is moved, never on wall-clock
//! time, and [`AppState::run_due_work`] runs everything due at the clock's
//! time to completion: with one round of each worker at a time, work that a
//! loop started is finished when it returns, so a test sees the same state
//! whichever of the two did it.

use std::time::Duration;

use casedesk_domain::Time;
use casedesk_store::{Deadline, OutboxItem, OutboxOutcome, OutboxUpdate, StoreError, read, write};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::cases::{Fired, fire_deadlines};
use crate::{App, AppState, webhook};

const MAX_SLEEP: Duration = Duration::from_secs(1);
const DEADLINE_BATCH: i64 = 1000;
/// Deadlines fired per unit of work, and such units in flight.
const FIRE_BATCH: usize = 100;
const FIRE_JOBS_IN_FLIGHT: usize = 16;
const OUTBOX_BATCH: i64 = 50;
const OUTBOX_LEASE_SECS: i64 = 60;
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The rounds of the workers in this process: a round holds its lock from
/// claiming work to recording what became of it.
#[derive(Default)]
pub(crate) struct Rounds {
    deadlines: tokio::sync::Mutex<()>,
    outbox: tokio::sync::Mutex<()>,
}

impl AppState {
    /// Runs the work due at the clock's current time to completion: chat
    /// deadlines, rule timers, then webhook deliveries (which the first two
    /// may queue), each after any round of its worker already under way.
    /// For tests, which move a [`ManualClock`](crate::clock::ManualClock)
    /// and then call this instead of waiting for the workers.
    pub async fn run_due_work(&self) -> Result<(), StoreError> {
        while deadline_round(self).await? {}
        outbox_round(self).await
    }
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

/// Fires every due deadline; returns how many chats it finished.
pub async fn fire_due_deadlines(app: &AppState) -> Result<usize, StoreError> {
    let mut finished = 0;
    loop {
        let at = app.clock.now();
        let due: Vec<Deadline> = write(&*app.store, move |tx| {
            Box::pin(async move { tx.claim_due_deadlines(at, DEADLINE_BATCH).await })
        })
        .await?;
        let n = due.len();
        let batches: Vec<Vec<Deadline>> =
            due.chunks(FIRE_BATCH).map(<[Deadline]>::to_vec).collect();
        let results: Vec<Vec<Fired>> = futures::stream::iter(batches)
            .map(|batch| fire_batch(app, batch))
            .buffer_unordered(FIRE_JOBS_IN_FLIGHT)
            .collect()
            .await;
        let fired: Vec<Fired> = results.into_iter().flatten().collect();
        finished += fired.iter().filter(|f| **f == Fired::Finished).count();
        // Nothing fired (every one failed): wait for the next round rather
        // than spin on the same deadlines.
        if (n as i64) < DEADLINE_BATCH || fired.is_empty() || stopping(app) {
            return Ok(finished);
        }
    }
}

/// Fires a batch in one unit of work; when that fails (a deadlock with
/// another server, one bad case) each deadline is tried on its own, so one
/// failure never holds the others back.
async fn fire_batch(app: &AppState, batch: Vec<Deadline>) -> Vec<Fired> {
    match fire_deadlines(app, batch.clone()).await {
        Ok(fired) => fired,
        Err(e) => {
            tracing::info!(
                "a batch of chat deadlines failed ({}); firing one by one",
                e.message
            );
            let mut fired = Vec::new();
            for d in batch {
                match fire_deadlines(app, vec![d]).await {
                    Ok(f) => fired.extend(f),
                    Err(e) => tracing::warn!("firing a chat deadline failed: {}", e.message),
                }
            }
            fired
        }
    }
}

/// One round of the deadline worker: every due chat deadline, then one
/// pass of due rule timers. Returns whether rule timers may still be due
/// (a pass takes a bounded number, so that a burst of them takes turns
/// with the chat deadlines).
async fn deadline_round(app: &AppState) -> Result<bool, StoreError> {
    let _round = app.rounds.deadlines.lock().await;
    let deadlines = fire_due_deadlines(app).await;
    if let Err(e) = &deadlines {
        tracing::warn!("chat deadlines: {e}");
    }
    let timers = crate::automation::fire_due_rule_timers(app).await;
    if let Err(e) = &timers {
        tracing::warn!("rule timers: {e}");
    }
    deadlines?;
    timers
}

/// Chat deadlines (R3/R4) and the timers of time-based automation rules:
/// one loop, sleeping until the earlier of the two next due times.
pub async fn deadline_loop(app: App) {
    while !stopping(&app) {
        // Errors are logged by the round; the next round tries again.
        let _ = deadline_round(&app).await;
        let next = read::<_, StoreError, _>(&*app.store, |tx| {
            Box::pin(async move {
                let deadline = tx.next_deadline_at().await?;
                let rule = tx.next_rule_timer_at().await?;
                Ok(deadline.into_iter().chain(rule).min())
            })
        })
        .await
        .unwrap_or(None);
        nap(&app, next, &app.timers).await;
    }
}

/// Sweeps partial uploads abandoned in the attachments' `tmp` (at start,
/// then every [`TMP_ABANDONED_AFTER`](crate::attachments::TMP_ABANDONED_AFTER)).
pub async fn tmp_sweep_loop(app: App) {
    let Some(files) = app.files.as_ref() else {
        return;
    };
    let mut shutdown = app.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(crate::attachments::TMP_ABANDONED_AFTER) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        files.sweep_tmp();
    }
}

/// Delay before retry number `attempts` (1, 2, 4, … seconds, at most an hour).
pub fn backoff(attempts: i64) -> chrono::Duration {
    let exp = attempts.clamp(1, 13) - 1;
    chrono::Duration::seconds((1i64 << exp).min(3600))
}

/// `sha256=<hex>` of the body keyed with the channel's inbound token.
pub fn signature(key: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How one attempt at a delivery ended.
enum Attempt {
    Delivered,
    /// Worth trying again (the receiver, the network, the address rule).
    Failed(String),
    /// Nowhere to send it: given up at once, the attempt not counted.
    Cancelled(String),
}

/// POSTs a delivery to the channel's URL as it is now, not as it was when
/// the reply was queued: an admin who fixes a wrong URL fixes what is
/// waiting too.
async fn attempt(app: &AppState, item: &OutboxItem) -> Attempt {
    let channel_id = item.channel_id.clone();
    let channel = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.find_channel(&channel_id).await })
    })
    .await;
    let channel = match channel {
        Ok(Some(c)) if c.account_id == item.account_id => c,
        Ok(_) => return Attempt::Cancelled("the channel no longer exists".into()),
        Err(e) => return Attempt::Failed(e.to_string()),
    };
    let Some(url) = channel.webhook_url.as_deref() else {
        return Attempt::Cancelled("the channel has no webhook_url any more".into());
    };
    // An IP literal never reaches the client's resolver: check it here, as
    // the setting may have changed since the URL was saved.
    let url = match webhook::check_url(url, app.webhook_allow_private) {
        Ok(url) => url,
        Err(why) => return Attempt::Failed(format!("webhook_url {url}: {why}")),
    };
    let sent = app
        .http
        .post(url)
        .timeout(DELIVERY_TIMEOUT)
        .header("content-type", "application/json")
        .header(
            "x-casedesk-signature",
            signature(&channel.inbound_token, &item.body),
        )
        .header("x-casedesk-delivery", &item.id)
        .body(item.body.clone())
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return Attempt::Failed(webhook::error_chain(&e)),
    };
    let status = response.status();
    if status.is_success() {
        Attempt::Delivered
    } else if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(|l| format!(" to {l}"))
            .unwrap_or_default();
        Attempt::Failed(format!(
            "receiver answered {status}{to}: redirects are not followed; set webhook_url to the \
             final address"
        ))
    } else {
        Attempt::Failed(format!("receiver answered {status}"))
    }
}

/// Makes one attempt and records it: delivered, due again after the
/// backoff, or failed for good (a dead letter an admin can redeliver).
async fn deliver(app: &AppState, item: OutboxItem) {
    let result = attempt(app, &item).await;
    let at = app.clock.now();
    let (attempts, outcome, error) = match result {
        Attempt::Delivered => (item.attempts + 1, OutboxOutcome::Delivered, None),
        Attempt::Failed(error) => {
            let attempts = item.attempts + 1;
            let outcome = match app.webhook_retry.delay_after(attempts) {
                Some(delay) => OutboxOutcome::Retry(at + delay),
                None => OutboxOutcome::Failed,
            };
            (attempts, outcome, Some(error))
        }
        Attempt::Cancelled(error) => (item.attempts, OutboxOutcome::Failed, Some(error)),
    };
    match (&outcome, &error) {
        (OutboxOutcome::Failed, Some(e)) => {
            tracing::warn!(delivery = %item.id, attempts, "webhook delivery failed for good: {e}")
        }
        (_, Some(e)) => {
            tracing::info!(delivery = %item.id, attempts, "webhook delivery failed: {e}")
        }
        _ => {}
    }
    let update = OutboxUpdate {
        id: item.id.clone(),
        attempts,
        outcome,
        last_error: error.map(|e| e.chars().take(500).collect()),
        now: at,
    };
    let saved = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.finish_outbox(&update).await })
    })
    .await;
    if let Err(e) = saved {
        // The lease runs out and the item is tried again: at least once.
        tracing::warn!(delivery = %item.id, "recording a delivery failed: {e}");
    }
}

/// One round of the outbox worker: claims and makes the due deliveries
/// until none is left (an attempt that fails is due again later, so the
/// round ends).
async fn outbox_round(app: &AppState) -> Result<(), StoreError> {
    let _round = app.rounds.outbox.lock().await;
    while !stopping(app) {
        let at = app.clock.now();
        let lease = at + chrono::Duration::seconds(OUTBOX_LEASE_SECS);
        let items = write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.claim_outbox(at, lease, OUTBOX_BATCH).await })
        })
        .await?;
        if items.is_empty() {
            break;
        }
        futures::stream::iter(items)
            .for_each_concurrent(8, |item| deliver(app, item))
            .await;
    }
    Ok(())
}

pub async fn outbox_loop(app: App) {
    while !stopping(&app) {
        if let Err(e) = outbox_round(&app).await {
            tracing::warn!("outbox: {e}");
        }
        let next = read::<_, StoreError, _>(&*app.store, |tx| {
            Box::pin(async move { tx.next_outbox_at().await })
        })
        .await
        .unwrap_or(None);
        nap(&app, next, &app.outbox_changed).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
