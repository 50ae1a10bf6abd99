//! The import worker: takes imports whose upload is staged (or whose
//! upload stopped with the server that received it) and works on them
//! ([`crate::usecases::import::work`]) under a lease that every customer
//! done renews, so a server that dies mid-import is taken over by another
//! (or by itself, restarted) from the next customer on.

use casedesk_store::{StoreError, write};

use super::{nap, stopping};
use crate::usecases::import::work;
use crate::{App, AppState};

/// One round: claims imports one at a time and works on each until none
/// is left.
pub(super) async fn round(app: &AppState) -> Result<(), StoreError> {
    let _round = app.rounds.imports.lock().await;
    while !stopping(app) {
        let now = app.clock.now();
        let until = now + app.import_lease;
        let claimed = write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.claim_imports(now, until, 1).await })
        })
        .await?;
        let Some(import) = claimed.into_iter().next() else {
            break;
        };
        let id = import.id.clone();
        if let Err(e) = work(app, import).await {
            // The lease runs out and the import is taken again from the
            // customer after the last one done.
            tracing::warn!(import = %id, code = e.code, "an import stopped: {}", e.message);
            break;
        }
    }
    Ok(())
}

pub async fn imports_loop(app: App) {
    while !stopping(&app) {
        if let Err(e) = round(&app).await {
            tracing::warn!("imports: {e}");
        }
        // Imports left by a server that died are due when their lease
        // ends; the nap is short enough to see them.
        nap(&app, None, &app.imports_changed).await;
    }
}
