//! The attachments directory's upkeep: partial uploads a client abandoned
//! are removed from its `tmp`.

use crate::App;

/// Sweeps partial uploads abandoned in the attachments' `tmp` (at start,
/// then every [`TMP_ABANDONED_AFTER`](crate::usecases::attachments::TMP_ABANDONED_AFTER)).
pub async fn tmp_loop(app: App) {
    let Some(files) = app.files.as_ref() else {
        return;
    };
    let mut shutdown = app.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(crate::usecases::attachments::TMP_ABANDONED_AFTER) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        files.sweep_tmp();
    }
}
