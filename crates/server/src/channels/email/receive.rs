//! Store first, then read: a letter, from the MIME endpoint (or IMAP), is
//! kept raw in the attachments store and recorded under its key (its
//! Message-ID, or the hash of its bytes) before it is parsed. The same
//! letter arriving again, by any way, is the same record: stored once.
//! What it means is read later by the update worker ([`super::process`]),
//! in its sender's order.

use casedesk_store::{ChannelRecord, ChannelUpdate, StoreError, write};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::AppError;
use crate::usecases::attachments;

/// Where a stored letter's raw bytes are: the `payload` of its update.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    /// The raw letter's file in the attachments store.
    pub file: String,
    pub size: u64,
    /// How it came: `mime` (the endpoint) or `imap`.
    pub source: String,
}

/// What storing a letter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Its place in the channel's log (`GET /channels/{id}/updates`);
    /// `None` for a letter stored before.
    pub update_id: Option<i64>,
}

/// Records a letter the mailbox holds but this server does not keep (over
/// its size limit) as failed, with the reason, for admins to see; the
/// letter stays in the mailbox, unread. Recorded once per key.
pub async fn record_refused(
    app: &AppState,
    channel: &ChannelRecord,
    raw: &[u8],
    source: &str,
    reason: String,
) -> Result<(), StoreError> {
    let key = casedesk_mail::key(raw);
    let sender = casedesk_mail::letter::sender_address(raw).unwrap_or_default();
    let payload = serde_json::json!({ "source": source, "size": raw.len() }).to_string();
    let at = app.clock.now();
    let (channel_id, account_id) = (channel.id.clone(), channel.account_id.clone());
    write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let id = tx.next_update_id(&channel_id).await?;
            let mut update =
                ChannelUpdate::received(channel_id, account_id, id, sender, payload, at);
            update.key = Some(key);
            update.failed_at = Some(at);
            update.last_error = Some(reason);
            tx.insert_channel_update(&update).await.map(drop)
        })
    })
    .await
}

/// Keeps a raw letter and records it for processing; a letter stored
/// before (the same key) is not kept again.
pub async fn store_letter(
    app: &AppState,
    channel: &ChannelRecord,
    raw: Vec<u8>,
    source: &str,
) -> Result<Received, AppError> {
    let files = attachments::configured(app)?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::invalid_as("letter_empty", "the letter is empty"));
    }
    let key = casedesk_mail::key(&raw);
    let sender = casedesk_mail::letter::sender_address(&raw).unwrap_or_default();
    let size = raw.len() as u64;
    let file = files
        .keep_letter(&app.clock, &channel.account_id, raw)
        .await?;
    let payload = serde_json::to_string(&Stored {
        file: file.id.clone(),
        size,
        source: source.to_owned(),
    })
    .map_err(AppError::internal)?;
    let at = app.clock.now();
    let (channel_id, account_id) = (channel.id.clone(), channel.account_id.clone());
    let stored = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            // Letters have no id of their own: a new, higher one keeps a
            // sender's letters in the order they came.
            let id = tx.next_update_id(&channel_id).await?;
            let mut update =
                ChannelUpdate::received(channel_id, account_id, id, sender, payload, at);
            update.key = Some(key);
            Ok(tx.insert_channel_update(&update).await?.then_some(id))
        })
    })
    .await;
    match stored {
        Ok(Some(id)) => {
            app.updates_changed.notify_one();
            Ok(Received {
                update_id: Some(id),
            })
        }
        Ok(None) => {
            files.discard(&file).await;
            Ok(Received { update_id: None })
        }
        Err(e) => {
            files.discard(&file).await;
            Err(e.into())
        }
    }
}
