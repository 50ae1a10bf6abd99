//! Connecting a bot: its token checked with `getMe` (nothing is saved for
//! a token Telegram refuses), kept apart from what the API shows, and the
//! bot pointed at the server's webhook or cleared for long polling; and
//! what an admin sees of a connected bot.

use axum::http::StatusCode;
use casedesk_domain::ChannelKind;
use casedesk_store::{ChannelRecord, ChannelSecretRecord, StoreError, UpdateState, read, write};
use casedesk_telegram::ApiError;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Mode, mode};
use crate::AppState;
use crate::error::AppError;
use crate::util::{new_id, new_secret};

/// Longest bot token taken (Telegram's are about 46 characters).
const MAX_TOKEN_CHARS: usize = 200;

/// What the server learned about the bot when it connected (kept with the
/// channel's secrets, shown to admins).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BotInfo {
    pub bot_id: i64,
    pub bot_username: Option<String>,
}

impl BotInfo {
    pub fn of(secret: &ChannelSecretRecord) -> BotInfo {
        serde_json::from_value(secret.settings.clone()).unwrap_or_default()
    }
}

/// A bot token as BotFather gives it: `<bot id>:<secret>`, nothing that
/// could change the path of a Bot API URL it becomes part of.
fn check_token(token: &str) -> Result<&str, AppError> {
    let token = token.trim();
    let well_formed = token.len() <= MAX_TOKEN_CHARS
        && token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    if !well_formed {
        return Err(AppError::invalid_as(
            "bot_token_malformed",
            "bot_token must be a token from @BotFather, like 123456789:AAH…",
        ));
    }
    Ok(token)
}

/// A Bot API failure while connecting, for the admin who asked.
pub fn api_error(e: ApiError) -> AppError {
    match e {
        ApiError::Unauthorized(_) => AppError::invalid_as(
            "bot_token_unknown",
            "bot_token: Telegram does not know this token; copy it again from @BotFather",
        ),
        ApiError::Unavailable(why) | ApiError::Protocol(why) => AppError::new(
            StatusCode::BAD_GATEWAY,
            "telegram_unavailable",
            format!("Telegram could not be reached; try again: {why}"),
        ),
        other => AppError::new(
            StatusCode::BAD_GATEWAY,
            "telegram_refused",
            other.to_string(),
        ),
    }
}

/// The `secret_token` Telegram sends with every webhook call: 64
/// characters of the alphabet it allows.
fn webhook_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut rng = rand::rng();
    (0..64)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Points the bot at the way this server receives: its webhook (with the
/// secret every call must carry), or no webhook, so that `getUpdates`
/// works.
pub async fn set_up_receiving(
    app: &AppState,
    api: &casedesk_telegram::BotApi,
    channel_id: &str,
    webhook_secret: &str,
) -> Result<(), ApiError> {
    match mode(app, channel_id) {
        Mode::Webhook(url) => api.set_webhook(&url, webhook_secret).await.map(drop),
        Mode::Polling => api.delete_webhook().await.map(drop),
    }
}

/// Creates a Telegram channel of the account for the bot with `token`:
/// checked with `getMe` first (a token Telegram refuses is a 422 and
/// nothing is saved), then the bot is set up to deliver to this server.
pub async fn connect(
    app: &AppState,
    account_id: &str,
    name: String,
    token: &str,
) -> Result<(ChannelRecord, BotInfo), AppError> {
    let token = check_token(token)?;
    let api = app.telegram.bot(token);
    let me = api.get_me().await.map_err(api_error)?;
    let at = app.clock.now();
    let channel = ChannelRecord {
        id: new_id(),
        account_id: account_id.to_owned(),
        kind: ChannelKind::Telegram,
        name,
        webhook_url: None,
        inbound_token: new_secret(),
        allowed_origins: Vec::new(),
        created_at: at,
        disabled_at: None,
        removed_at: None,
    };
    let info = BotInfo {
        bot_id: me.id,
        bot_username: me.username,
    };
    let secret = ChannelSecretRecord {
        channel_id: channel.id.clone(),
        account_id: account_id.to_owned(),
        secret: token.to_owned(),
        webhook_secret: webhook_secret(),
        settings: serde_json::to_value(&info).map_err(AppError::internal)?,
        created_at: at,
        updated_at: at,
    };
    set_up_receiving(app, &api, &channel.id, &secret.webhook_secret)
        .await
        .map_err(api_error)?;
    let (c, s) = (channel.clone(), secret);
    write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.insert_channel(&c).await?;
            tx.upsert_channel_secret(&s).await
        })
    })
    .await?;
    tracing::info!(channel = %channel.id, bot = ?info.bot_username, "Telegram bot connected");
    app.telegram_changed.notify_one();
    Ok((channel, info))
}

/// A connected bot as its admin sees it: who it is, how it receives, what
/// Telegram says of the webhook, and the updates waiting or given up on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub bot_id: i64,
    pub bot_username: Option<String>,
    /// `webhook` or `polling`.
    pub mode: String,
    /// Where Telegram posts updates (webhook mode).
    pub webhook_url: Option<String>,
    /// Telegram's count of updates not yet delivered to the webhook.
    pub pending_update_count: Option<i64>,
    /// Telegram's last failure to deliver to the webhook.
    pub last_error_message: Option<String>,
    /// When that was (RFC 3339).
    pub last_error_at: Option<String>,
    /// Why Telegram's view could not be read, if it could not.
    pub telegram_error: Option<String>,
    /// Updates stored and not yet processed.
    pub updates_pending: i64,
    /// Updates given up on (see `GET /channels/{id}/updates?state=failed`).
    pub updates_failed: i64,
}

/// How many updates a status counts at most.
const STATUS_COUNT_LIMIT: i64 = 1000;

pub async fn status(
    app: &AppState,
    account_id: &str,
    channel_id: &str,
) -> Result<Status, AppError> {
    let bot = super::bot(app, channel_id)
        .await?
        .filter(|b| b.channel.account_id == account_id && b.channel.removed_at.is_none())
        .ok_or_else(|| AppError::not_found("Telegram channel"))?;
    let (account, id) = (account_id.to_owned(), channel_id.to_owned());
    let (pending, failed) = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let count = |n: Vec<_>| n.len() as i64;
            let pending = tx
                .list_channel_updates(
                    &account,
                    &id,
                    Some(UpdateState::Pending),
                    STATUS_COUNT_LIMIT,
                )
                .await?;
            let failed = tx
                .list_channel_updates(&account, &id, Some(UpdateState::Failed), STATUS_COUNT_LIMIT)
                .await?;
            Ok((count(pending), count(failed)))
        })
    })
    .await?;
    let info = BotInfo::of(&bot.secret);
    let mode = mode(app, channel_id);
    let mut status = Status {
        bot_id: info.bot_id,
        bot_username: info.bot_username,
        mode: mode.as_str().to_owned(),
        webhook_url: None,
        pending_update_count: None,
        last_error_message: None,
        last_error_at: None,
        telegram_error: None,
        updates_pending: pending,
        updates_failed: failed,
    };
    if let Mode::Webhook(url) = mode {
        status.webhook_url = Some(url);
        match bot.api.get_webhook_info().await {
            Ok(w) => {
                status.pending_update_count = Some(w.pending_update_count);
                status.last_error_message = w.last_error_message;
                status.last_error_at = w
                    .last_error_date
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map(crate::util::rfc3339);
            }
            Err(e) => status.telegram_error = Some(e.to_string()),
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_botfathers_shape_and_nothing_else() {
        assert!(check_token("123456:AAH-abc_DEF").is_ok());
        assert_eq!(check_token(" 1:x ").ok(), Some("1:x"));
        for bad in [
            "",
            "123456",
            ":abc",
            "12a:abc",
            "1:",
            "1:abc/../getMe",
            "1:abc?x=1",
            "1:abc def",
            &format!("1:{}", "a".repeat(300)),
        ] {
            assert!(check_token(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn webhook_secrets_are_long_and_in_telegrams_alphabet() {
        let s = webhook_secret();
        assert_eq!(s.len(), 64);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_ne!(s, webhook_secret());
    }
}
