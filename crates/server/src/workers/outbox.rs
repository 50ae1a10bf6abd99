//! The outbox worker: claims the queued deliveries of agent and rule
//! replies, makes one attempt at each, and records the outcome: delivered,
//! due again after a backoff, or failed for good (a dead letter an admin
//! can redeliver).

use std::time::Duration;

use casedesk_store::{OutboxItem, OutboxOutcome, OutboxUpdate, StoreError, read, write};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{nap, stopping};
use crate::{App, AppState, webhook};

const OUTBOX_BATCH: i64 = 50;
const OUTBOX_LEASE_SECS: i64 = 60;
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

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
pub(super) async fn round(app: &AppState) -> Result<(), StoreError> {
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
        if let Err(e) = round(&app).await {
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
