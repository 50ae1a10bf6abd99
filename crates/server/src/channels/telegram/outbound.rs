//! A queued reply sent to the customer's Telegram chat: its text with
//! `sendMessage` (as a reply to the customer's message it names), its files
//! with `sendPhoto`/`sendDocument`. Telegram's answers decide what the
//! outbox does next: a 429 waits the `retry_after` it gives, a 403 (the
//! customer blocked the bot) stops for good with a note in the case.

use casedesk_domain::Time;
use casedesk_store::{AttachmentRecord, ChannelRecord, OutboxItem, StoreError, read, write};
use casedesk_telegram::ApiError;
use casedesk_telegram::client::FileKind;
use serde::Deserialize;

use super::{bot, chat_id};
use crate::AppState;
use crate::channels::Attempt;

/// Longest text of one Telegram message; longer replies go in parts.
const MAX_MESSAGE_CHARS: usize = 4096;
/// Longest caption of a file.
const MAX_CAPTION_CHARS: usize = 1024;
/// Largest photo `sendPhoto` takes; larger images go as documents.
const MAX_PHOTO_BYTES: i64 = 10 * 1024 * 1024;

/// The parts of a queued reply's body this channel reads (the `api`
/// channel's body, docs/api.md "Outbound").
#[derive(Deserialize)]
struct Body {
    customer: BodyCustomer,
    text: String,
    /// The channel's id of the customer's message this replies to
    /// (`chat:message`).
    #[serde(default)]
    reply_to_channel_message_id: Option<String>,
}

#[derive(Deserialize)]
struct BodyCustomer {
    id: String,
}

/// `text` in parts of at most [`MAX_MESSAGE_CHARS`] characters.
fn parts(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(MAX_MESSAGE_CHARS)
        .map(|c| c.iter().collect())
        .collect()
}

/// The Telegram message id of a stored message's channel id (`chat:msg`).
fn telegram_message_id(channel_message_id: &str) -> Option<i64> {
    channel_message_id.rsplit_once(':')?.1.parse().ok()
}

/// What an attempt's failure means for the outbox.
fn failed(e: ApiError, now: Time) -> Attempt {
    match e {
        ApiError::RetryAfter(secs) => Attempt::RetryAt(
            now + chrono::Duration::seconds(secs.clamp(1, 3600) as i64),
            format!("Telegram asked to wait {secs} s (429)"),
        ),
        ApiError::Forbidden(why) => Attempt::Refused(format!(
            "Telegram refused: the customer blocked the bot or left the chat ({why})"
        )),
        ApiError::Unauthorized(why) => Attempt::Failed(format!(
            "the bot token no longer works; connect the bot again ({why})"
        )),
        ApiError::Refused(why) => Attempt::Cancelled(format!("Telegram refused the reply: {why}")),
        other => Attempt::Failed(other.to_string()),
    }
}

/// The files of the reply.
async fn files_of(app: &AppState, item: &OutboxItem) -> Result<Vec<AttachmentRecord>, StoreError> {
    let (account, id) = (item.account_id.clone(), item.message_id.clone());
    read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let message = tx.get_message(&account, &id).await?;
            Ok(tx
                .list_case_attachments(&message.case_id)
                .await?
                .into_iter()
                .filter(|a| a.message_id == message.id)
                .collect())
        })
    })
    .await
}

/// Sends one queued reply through the channel's bot.
pub async fn attempt(app: &AppState, channel: &ChannelRecord, item: &OutboxItem) -> Attempt {
    let now = app.clock.now();
    let bot = match bot(app, &channel.id).await {
        Ok(Some(b)) => b,
        Ok(None) => return Attempt::Cancelled("the bot is no longer connected".into()),
        Err(e) => return Attempt::Failed(e.to_string()),
    };
    let body: Body = match serde_json::from_str(&item.body) {
        Ok(b) => b,
        Err(e) => return Attempt::Cancelled(format!("unreadable delivery: {e}")),
    };
    let Some(chat) = chat_id(&body.customer.id) else {
        return Attempt::Cancelled(format!(
            "`{}` is no Telegram chat",
            body.customer.id.chars().take(64).collect::<String>()
        ));
    };
    let reply_to = body
        .reply_to_channel_message_id
        .as_deref()
        .and_then(telegram_message_id);
    let files = match files_of(app, item).await {
        Ok(f) => f,
        Err(e) => return Attempt::Failed(e.to_string()),
    };
    let text = body.text.trim();
    let caption_fits = !files.is_empty() && text.chars().count() <= MAX_CAPTION_CHARS;
    let mut first_sent = None;
    if !caption_fits && !text.is_empty() {
        for (i, part) in parts(text).iter().enumerate() {
            let reply = if i == 0 { reply_to } else { None };
            match bot.api.send_message(chat, part, reply).await {
                Ok(m) => {
                    first_sent.get_or_insert(m.message_id);
                }
                Err(e) => return failed(e, now),
            }
        }
    }
    if let Some(store) = &app.files {
        for (i, file) in files.iter().enumerate() {
            let bytes = match store.read(file).await {
                Ok(b) => b,
                Err(e) => return Attempt::Failed(e.message),
            };
            let photo = matches!(file.content_type.as_str(), "image/jpeg" | "image/png")
                && file.size_bytes <= MAX_PHOTO_BYTES;
            let kind = if photo {
                FileKind::Photo
            } else {
                FileKind::Document
            };
            let caption = (i == 0 && caption_fits && !text.is_empty()).then_some(text);
            match bot
                .api
                .send_file(chat, kind, &file.filename, bytes, caption)
                .await
            {
                Ok(m) => {
                    first_sent.get_or_insert(m.message_id);
                }
                Err(e) => return failed(e, now),
            }
        }
    }
    if let Some(sent) = first_sent {
        // A reaction of the customer to this reply finds it by this id.
        let (id, key) = (item.message_id.clone(), format!("{chat}:{sent}"));
        let saved = write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.set_message_channel_id(&id, &key).await })
        })
        .await;
        if let Err(e) = saved {
            tracing::warn!(message = %item.message_id, "recording the Telegram id of a reply: {e}");
        }
    }
    Attempt::Delivered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_replies_go_in_parts_of_4096_characters() {
        assert_eq!(parts("hi"), ["hi"]);
        let long = "я".repeat(4096 * 2 + 5);
        let p = parts(&long);
        assert_eq!(
            p.iter().map(|s| s.chars().count()).collect::<Vec<_>>(),
            [4096, 4096, 5]
        );
        assert!(parts("").is_empty());
    }

    #[test]
    fn failures_say_what_the_outbox_does() {
        let now = Time::from_timestamp(1_700_000_000, 0).expect("time");
        assert!(matches!(
            failed(ApiError::RetryAfter(30), now),
            Attempt::RetryAt(at, _) if at == now + chrono::Duration::seconds(30)
        ));
        assert!(matches!(
            failed(ApiError::Forbidden("blocked".into()), now),
            Attempt::Refused(_)
        ));
        assert!(matches!(
            failed(ApiError::Unavailable("down".into()), now),
            Attempt::Failed(_)
        ));
        assert_eq!(telegram_message_id("42:1001"), Some(1001));
        assert_eq!(telegram_message_id("-100:7"), Some(7));
        assert_eq!(telegram_message_id("widget:x"), None);
    }
}
