//! Store first, then process: an update, from the webhook or from long
//! polling, is saved raw and unique on `(channel, update_id)` before
//! anything is done with it, and acknowledged. What it means is read later
//! by the update worker ([`super::process`]), so an update casedesk cannot
//! read, or one whose processing fails, is kept with its error and never
//! answered with an error status (Telegram would resend it forever).

use casedesk_store::{ChannelRecord, ChannelUpdate, StoreError, write};
use casedesk_telegram::types::Update;
use sha2::{Digest, Sha256};

use super::SETTLE;
use crate::AppState;

/// The chat key of updates that name no chat (unreadable ones among
/// them): they form a queue of their own.
const NO_CHAT: &str = "";

/// `update_id` and chat of a raw update. One that is not even JSON with an
/// `update_id` is keyed by its bytes' hash (negative, never a Telegram
/// id), so that it is stored once however often it comes.
fn key(raw: &[u8]) -> (i64, String) {
    if let Ok(update) = serde_json::from_slice::<Update>(raw) {
        let chat = casedesk_telegram::interpret(&update).chat_key();
        return (update.update_id, chat);
    }
    let id = serde_json::from_slice::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("update_id").and_then(serde_json::Value::as_i64));
    match id {
        Some(id) => (id, NO_CHAT.to_owned()),
        None => {
            let digest = Sha256::digest(raw);
            let mut first = [0u8; 8];
            first.copy_from_slice(&digest[..8]);
            let n = i64::from_be_bytes(first) & i64::MAX;
            (-n.max(1), NO_CHAT.to_owned())
        }
    }
}

/// Stores one update as it arrived, due for processing after [`SETTLE`];
/// `false` when it was stored before (a redelivery).
pub async fn store_update(
    app: &AppState,
    channel: &ChannelRecord,
    raw: &[u8],
) -> Result<bool, StoreError> {
    let (update_id, chat_key) = key(raw);
    let at = app.clock.now();
    let mut update = ChannelUpdate::received(
        channel.id.clone(),
        channel.account_id.clone(),
        update_id,
        chat_key,
        String::from_utf8_lossy(raw).into_owned(),
        at,
    );
    update.next_attempt_at = at + chrono::Duration::from_std(SETTLE).unwrap_or_default();
    let stored = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.insert_channel_update(&update).await })
    })
    .await?;
    if stored {
        app.updates_changed.notify_one();
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_keyed_by_id_and_chat_even_when_unreadable() {
        let private = br#"{"update_id": 9, "message": {"message_id": 1, "date": 0,
            "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "first_name": "A"},
            "text": "hi"}}"#;
        assert_eq!(key(private), (9, "42".to_owned()));
        assert_eq!(
            key(br#"{"update_id": 10, "message": "not an object"}"#),
            (10, NO_CHAT.to_owned())
        );
        let (id, chat) = key(b"\xff\xfe not json");
        assert!(id < 0, "a hash key is never a Telegram id");
        assert_eq!(chat, NO_CHAT);
        assert_eq!(
            key(b"\xff\xfe not json").0,
            id,
            "the same bytes, the same key"
        );
        assert_ne!(key(b"other").0, id);
    }
}
