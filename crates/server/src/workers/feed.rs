//! The live feed's upkeep: notices are kept [`KEPT_FOR`] for clients that
//! reconnect (docs/live.md), then deleted, oldest first, in batches.

use std::time::Duration;

use casedesk_store::{StoreError, write};

use crate::{App, AppState};

/// How long the feed keeps a notice: a client away longer loads afresh
/// (`resync`).
pub const KEPT_FOR: Duration = Duration::from_secs(3600);
/// How often the feed is pruned.
const EVERY: Duration = Duration::from_secs(60);
/// Notices deleted per unit of work.
const BATCH: i64 = 5_000;

pub async fn prune_loop(app: App) {
    let mut shutdown = app.shutdown.clone();
    loop {
        if let Err(e) = round(&app).await {
            // Another server pruning the same rows, or the database away:
            // the next round does it.
            tracing::info!("pruning the live feed failed: {e}");
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// Deletes the notices older than [`KEPT_FOR`] by the app's clock.
pub async fn round(app: &AppState) -> Result<(), StoreError> {
    let before = app.clock.now() - chrono::Duration::from_std(KEPT_FOR).unwrap_or_default();
    loop {
        let pruned = write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.prune_notices(before, BATCH).await })
        })
        .await?;
        if pruned < BATCH as u64 {
            return Ok(());
        }
    }
}
