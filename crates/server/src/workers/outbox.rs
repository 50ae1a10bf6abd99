//! The outbox worker: claims the queued deliveries of agent and rule
//! replies, makes one attempt at each, and records the outcome: delivered,
//! due again after a backoff, or failed for good (a dead letter an admin
//! can redeliver).

use casedesk_store::{OutboxItem, OutboxOutcome, OutboxUpdate, StoreError, read, write};
use futures::StreamExt;

use super::{nap, stopping};
use crate::channels::{self, Attempt};
use crate::events::Logged;
use crate::{App, AppState};

const OUTBOX_BATCH: i64 = 50;
const OUTBOX_LEASE_SECS: i64 = 60;

/// Makes one attempt and records it: delivered, due again after the
/// backoff, or failed for good (a dead letter an admin can redeliver).
async fn deliver(app: &AppState, item: OutboxItem) {
    let result = channels::attempt(app, &item).await;
    let at = app.clock.now();
    let mut refused = None;
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
        Attempt::RetryAt(when, error) => {
            let attempts = item.attempts + 1;
            let outcome = match app.webhook_retry.delay_after(attempts) {
                Some(_) => OutboxOutcome::Retry(when.max(at)),
                None => OutboxOutcome::Failed,
            };
            (attempts, outcome, Some(error))
        }
        Attempt::Refused(error) => {
            refused = Some(error.clone());
            (item.attempts + 1, OutboxOutcome::Failed, Some(error))
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
    let state = match update.outcome {
        OutboxOutcome::Delivered => Some("delivered"),
        OutboxOutcome::Failed => Some("failed"),
        _ => None,
    };
    let (account, message_id) = (item.account_id.clone(), item.message_id.clone());
    let saved = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.finish_outbox(&update).await?;
            // The case page shows each reply's delivery: tell it the end.
            let Some(state) = state else {
                return Ok(Logged::default());
            };
            let message = tx.get_message(&account, &message_id).await?;
            let case = tx.get_case(&account, &message.case_id).await?;
            let updated = crate::usecases::unit::notice(
                &case,
                "message.updated",
                serde_json::json!({ "message_id": message_id, "delivery": state }),
            );
            crate::events::log(tx, vec![updated], at).await
        })
    })
    .await;
    match saved {
        Ok(logged) => app.after_commit(logged, false),
        Err(e) => {
            // The lease runs out and the item is tried again: at least once.
            tracing::warn!(delivery = %item.id, "recording a delivery failed: {e}");
            return;
        }
    }
    if let Some(reason) = refused {
        let noted = crate::usecases::messages::note_undelivered(
            app,
            &item.account_id,
            &item.message_id,
            &reason,
        )
        .await;
        if let Err(e) = noted {
            tracing::warn!(delivery = %item.id, "noting a refused delivery in its case: {}", e.message);
        }
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
