//! The Telegram channel: a bot connected by its token ([`connect`]), its
//! updates stored raw before anything else happens ([`receive`], from the
//! webhook or from long polling) and then processed in each chat's order
//! ([`process`]) by the update worker; replies leave through the outbox
//! ([`outbound`]). The Bot API itself is spoken by `casedesk-telegram`.
//!
//! How a bot receives is decided by the server's address: with an
//! `https://` public URL Telegram posts to the channel's webhook, otherwise
//! the server polls (`getUpdates`), one server per bot at a time.

pub mod connect;
pub mod outbound;
pub mod process;
pub mod receive;

use std::time::Duration;

use casedesk_domain::ChannelKind;
use casedesk_store::{ChannelRecord, ChannelSecretRecord, StoreError};
use casedesk_telegram::BotApi;

use crate::AppState;

/// How long a new update waits before it is processed. Telegram posts up
/// to 40 updates of a bot at once, in any order, and an album's parts one
/// by one; within this time a chat's earlier updates and the rest of an
/// album have arrived too.
pub const SETTLE: Duration = Duration::from_secs(2);

/// How long a `getUpdates` call waits for updates by default.
pub const DEFAULT_POLL_WAIT: Duration = Duration::from_secs(25);

/// The `url` of a Telegram reply in the outbox: it goes to the customer's
/// chat through the channel's bot, not to an address.
pub const OUTBOX_TARGET: &str = "telegram";

/// The server's side of Telegram: where the Bot API is and how to call it.
pub struct Telegram {
    api_url: String,
    http: reqwest::Client,
    /// How long a `getUpdates` call waits for updates (long polling).
    pub poll_wait: Duration,
    /// This process, as the holder of poll leases.
    pub holder: String,
}

impl Telegram {
    /// The Bot API at `api_url` (the official one when unset).
    pub fn new(api_url: Option<&str>, poll_wait: Option<Duration>) -> Result<Telegram, String> {
        let api_url = api_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(casedesk_telegram::client::OFFICIAL_API_URL);
        let parsed = reqwest::Url::parse(api_url)
            .map_err(|e| format!("CASEDESK_TELEGRAM_API_URL `{api_url}`: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(format!(
                "CASEDESK_TELEGRAM_API_URL `{api_url}` must be an http(s) URL like {}",
                casedesk_telegram::client::OFFICIAL_API_URL
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("casedesk/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("Telegram client: {e}"))?;
        Ok(Telegram {
            api_url: api_url.trim_end_matches('/').to_owned(),
            http,
            poll_wait: poll_wait.unwrap_or(DEFAULT_POLL_WAIT),
            holder: crate::util::new_id(),
        })
    }

    /// The bot with `token`.
    pub fn bot(&self, token: &str) -> BotApi {
        BotApi::new(self.http.clone(), &self.api_url, token)
    }
}

/// How a channel's bot receives its updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Telegram posts them to this address.
    Webhook(String),
    /// The server asks for them.
    Polling,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Webhook(_) => "webhook",
            Mode::Polling => "polling",
        }
    }
}

/// Webhook when the server has an `https://` public address (Telegram
/// posts only to those), long polling otherwise.
pub fn mode(app: &AppState, channel_id: &str) -> Mode {
    match app.public_url.as_deref() {
        Some(base) if base.starts_with("https://") => Mode::Webhook(format!(
            "{base}/api/v1/channels/{channel_id}/telegram/webhook"
        )),
        _ => Mode::Polling,
    }
}

/// A Telegram channel with its secrets and its bot.
pub struct Bot {
    pub channel: ChannelRecord,
    pub secret: ChannelSecretRecord,
    pub api: BotApi,
}

/// The bot of Telegram channel `channel_id`; `None` when there is no such
/// channel (or it is not a connected Telegram channel).
pub async fn bot(app: &AppState, channel_id: &str) -> Result<Option<Bot>, StoreError> {
    let found = crate::channels::connected(app, channel_id).await?;
    Ok(found
        .filter(|c| c.channel.kind == ChannelKind::Telegram)
        .map(|c| Bot {
            api: app.telegram.bot(&c.secret.secret),
            channel: c.channel,
            secret: c.secret,
        }))
}

/// The chat a customer of a Telegram channel writes in: their user id,
/// which is the id of their private chat with the bot.
pub fn chat_id(external_id: &str) -> Option<i64> {
    external_id.parse().ok()
}
