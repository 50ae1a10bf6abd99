//! The update worker: claims the messenger updates that are due (each the
//! earliest pending one of its chat, so a chat's updates are processed in
//! order and never two at once), processes each, and records the outcome:
//! processed (with a note when it was ignored), due again after a backoff,
//! or failed for good, kept with its error for an admin to read and retry.

use casedesk_store::{ChannelUpdate, StoreError, UpdateFinish, UpdateOutcome, read, write};
use futures::StreamExt;

use super::{backoff, nap, stopping};
use crate::channels::{self, Done, Failed, Round};
use crate::{App, AppState};

/// Updates claimed at once: at most one per chat, so as many chats.
const BATCH: i64 = 256;
/// Updates processed at once (their chats' customers differ).
const CONCURRENCY: usize = 16;
/// Long enough for an album's files to be fetched; after it another
/// server may take the update over.
const LEASE_SECS: i64 = 300;
/// Tries of one update before it is given up on (the last about 8 minutes
/// after the first).
pub const MAX_ATTEMPTS: i64 = 10;

/// What to record of one processed update.
fn finishes(
    update: &ChannelUpdate,
    result: Result<Done, Failed>,
    now: casedesk_domain::Time,
) -> Vec<UpdateFinish> {
    let attempts = update.attempts + 1;
    let finish = |update_id, outcome, last_error| UpdateFinish {
        channel_id: update.channel_id.clone(),
        update_id,
        attempts,
        outcome,
        last_error,
        now,
    };
    match result {
        Ok(done) => std::iter::once(finish(
            update.update_id,
            UpdateOutcome::Processed,
            done.note,
        ))
        .chain(done.also.into_iter().map(|id| {
            finish(
                id,
                UpdateOutcome::Processed,
                Some(format!(
                    "joined to the album of update {}",
                    update.update_id
                )),
            )
        }))
        .collect(),
        Err(Failed {
            reason: error,
            for_good,
        }) => {
            let outcome = if for_good || attempts >= MAX_ATTEMPTS {
                tracing::warn!(channel = %update.channel_id, update = update.update_id,
                    attempts, "an update failed for good: {error}");
                UpdateOutcome::Failed
            } else {
                tracing::info!(channel = %update.channel_id, update = update.update_id,
                    attempts, "an update failed: {error}");
                UpdateOutcome::Retry(now + backoff(attempts))
            };
            let error: String = error.chars().take(500).collect();
            vec![finish(update.update_id, outcome, Some(error))]
        }
    }
}

async fn handle(app: &AppState, round: &Round, update: ChannelUpdate) {
    let result = channels::process(app, round, &update).await;
    let finished = finishes(&update, result, app.clock.now());
    let saved = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            for f in &finished {
                tx.finish_channel_update(f).await?;
            }
            Ok(())
        })
    })
    .await;
    if let Err(e) = saved {
        // The lease runs out and the update is processed again; what it
        // stored is keyed, so it is not stored twice.
        tracing::warn!(channel = %update.channel_id, update = update.update_id,
            "recording a processed update failed: {e}");
    }
}

/// One round of the update worker: claims and processes due updates until
/// none is left.
pub(super) async fn round(app: &AppState) -> Result<(), StoreError> {
    let _round = app.rounds.updates.lock().await;
    while !stopping(app) {
        let at = app.clock.now();
        let lease = at + chrono::Duration::seconds(LEASE_SECS);
        let claimed = write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.claim_channel_updates(at, lease, BATCH).await })
        })
        .await?;
        if claimed.is_empty() {
            break;
        }
        let round = Round::default();
        futures::stream::iter(claimed)
            .for_each_concurrent(CONCURRENCY, |u| handle(app, &round, u))
            .await;
    }
    Ok(())
}

pub async fn updates_loop(app: App) {
    while !stopping(&app) {
        if let Err(e) = round(&app).await {
            tracing::warn!("updates: {e}");
        }
        let next = read::<_, StoreError, _>(&*app.store, |tx| {
            Box::pin(async move { tx.next_channel_update_at().await })
        })
        .await
        .unwrap_or(None);
        nap(&app, next, &app.updates_changed).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_updates_back_off_and_are_given_up_after_ten_tries() {
        let now = casedesk_domain::Time::from_timestamp(1_700_000_000, 0).expect("time");
        let mut u =
            ChannelUpdate::received("c".into(), "a".into(), 7, "42".into(), "{}".into(), now);
        let f = finishes(&u, Err(Failed::again("down")), now);
        assert_eq!(
            f[0].outcome,
            UpdateOutcome::Retry(now + chrono::Duration::seconds(1))
        );
        u.attempts = 3;
        let f = finishes(&u, Err(Failed::again("down")), now);
        assert_eq!(
            f[0].outcome,
            UpdateOutcome::Retry(now + chrono::Duration::seconds(8))
        );
        u.attempts = MAX_ATTEMPTS - 1;
        let f = finishes(&u, Err(Failed::again("down")), now);
        assert_eq!(f[0].outcome, UpdateOutcome::Failed);
        assert_eq!(f[0].last_error.as_deref(), Some("down"));
        let done = Done {
            note: None,
            also: vec![8, 9],
        };
        let f = finishes(&u, Ok(done), now);
        assert_eq!(
            f.iter()
                .map(|f| (f.update_id, f.outcome))
                .collect::<Vec<_>>(),
            [
                (7, UpdateOutcome::Processed),
                (8, UpdateOutcome::Processed),
                (9, UpdateOutcome::Processed)
            ]
        );
    }
}
