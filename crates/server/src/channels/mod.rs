//! Channels: adapters between the outside world and the use cases. Inbound,
//! each turns what arrives (a messenger's webhook event, a widget
//! visitor's post, a Telegram update, a letter) into a call of the inbound
//! use cases; outbound, each delivers what the outbox holds for it. The
//! `api` channel (a generic messenger webhook), the `widget` (the web
//! chat), `telegram` and `email` live here.
//!
//! What Telegram and e-mail deliver is stored raw first (`channel_updates`)
//! and processed later by the update worker through [`process`].

pub mod api;
pub mod email;
pub mod telegram;
pub mod widget;

use std::collections::HashMap;
use std::sync::Arc;

use casedesk_domain::{ChannelKind, Time};
use casedesk_store::{
    ChannelRecord, ChannelSecretRecord, ChannelUpdate, OutboxItem, StoreError, read,
};

use crate::AppState;
use crate::error::AppError;

/// How processing a stored update ended well.
#[derive(Debug, Default)]
pub struct Done {
    /// What an admin reading the update log should know (why it was
    /// ignored, that it was a duplicate, …).
    pub note: Option<String>,
    /// Later updates of the chat processed along with this one (an
    /// album's further parts).
    pub also: Vec<i64>,
}

impl Done {
    pub fn noted(note: impl Into<String>) -> Done {
        Done {
            note: Some(note.into()),
            also: Vec::new(),
        }
    }
}

/// Why processing a stored update failed.
#[derive(Debug)]
pub struct Failed {
    pub reason: String,
    /// Nothing will change by trying again (a letter that cannot be read):
    /// it is failed at once, kept for an admin, never retried in a loop.
    pub for_good: bool,
}

impl Failed {
    /// A failure worth trying again later (the network, the database).
    pub fn again(reason: impl Into<String>) -> Failed {
        Failed {
            reason: reason.into(),
            for_good: false,
        }
    }

    pub fn for_good(reason: impl Into<String>) -> Failed {
        Failed {
            reason: reason.into(),
            for_good: true,
        }
    }
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Failed {
        Failed::again(e.to_string())
    }
}

impl From<AppError> for Failed {
    fn from(e: AppError) -> Failed {
        Failed::again(e.message)
    }
}

/// A channel with what only the server sees of it.
pub struct Connected {
    pub channel: ChannelRecord,
    pub secret: ChannelSecretRecord,
}

/// The channel `channel_id` with its secrets; `None` when there is no such
/// channel or it has none (it is not a Telegram or e-mail channel).
pub async fn connected(app: &AppState, channel_id: &str) -> Result<Option<Connected>, StoreError> {
    let id = channel_id.to_owned();
    read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let Some(channel) = tx.find_channel(&id).await? else {
                return Ok(None);
            };
            Ok(tx
                .get_channel_secret(&id)
                .await?
                .map(|secret| Connected { channel, secret }))
        })
    })
    .await
}

/// The channels whose updates a round of the update worker processes,
/// each read once per round.
#[derive(Default)]
pub struct Round(tokio::sync::Mutex<HashMap<String, Option<Arc<Connected>>>>);

impl Round {
    async fn get(
        &self,
        app: &AppState,
        channel_id: &str,
    ) -> Result<Option<Arc<Connected>>, Failed> {
        let mut known = self.0.lock().await;
        if let Some(c) = known.get(channel_id) {
            return Ok(c.clone());
        }
        let found = connected(app, channel_id).await?.map(Arc::new);
        known.insert(channel_id.to_owned(), found.clone());
        Ok(found)
    }
}

/// Processes one stored update, by the channel it came to.
pub async fn process(
    app: &AppState,
    round: &Round,
    update: &ChannelUpdate,
) -> Result<Done, Failed> {
    let Some(c) = round.get(app, &update.channel_id).await? else {
        return Ok(Done::noted("the channel no longer exists"));
    };
    match c.channel.kind {
        ChannelKind::Telegram => {
            let bot = telegram::Bot {
                api: app.telegram.bot(&c.secret.secret),
                channel: c.channel.clone(),
                secret: c.secret.clone(),
            };
            telegram::process::process(app, &bot, update).await
        }
        ChannelKind::Email => email::process::process(app, &c, update).await,
        ChannelKind::Api | ChannelKind::Widget => {
            Ok(Done::noted("the channel takes no stored updates"))
        }
    }
}

/// How one attempt at an outbound delivery ended, whatever the channel.
#[derive(Debug)]
pub enum Attempt {
    Delivered,
    /// Worth trying again (the receiver, the network, the address rule).
    Failed(String),
    /// Worth trying again at this time, not before (the receiver said so).
    RetryAt(Time, String),
    /// Refused by the receiver for good (a customer who blocked the bot):
    /// given up, and the case gets a note saying why.
    Refused(String),
    /// Nowhere to send it: given up at once, the attempt not counted.
    Cancelled(String),
}

/// A channel an admin turned off takes nothing in: its webhook, widget,
/// MIME endpoint and bot webhook answer `409 channel_disabled` (the sender
/// may try again later), its bot and mailbox are not polled. Replies to
/// its existing cases still go out. A removed channel answers `404
/// channel_removed`: it is no more.
pub fn takes_in(channel: &ChannelRecord) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;
    if channel.removed_at.is_some() {
        return Err(AppError::new(
            axum::http::StatusCode::NOT_FOUND,
            "channel_removed",
            "this channel has been removed",
        ));
    }
    match channel.disabled_at {
        None => Ok(()),
        Some(_) => Err(AppError::conflict(
            "channel_disabled",
            "this channel is turned off; an admin can turn it on in Settings",
        )),
    }
}

/// One attempt at a queued delivery, by the channel it belongs to as the
/// channel is now.
pub async fn attempt(app: &AppState, item: &OutboxItem) -> Attempt {
    let channel_id = item.channel_id.clone();
    let channel = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.find_channel(&channel_id).await })
    })
    .await;
    let channel = match channel {
        Ok(Some(c)) if c.account_id == item.account_id => c,
        Ok(_) => return Attempt::Cancelled("the channel no longer exists".into()),
        Err(e) => return Attempt::Failed(e.to_string()),
    };
    match channel.kind {
        ChannelKind::Api => api::outbound::attempt(app, &channel, item).await,
        ChannelKind::Telegram => telegram::outbound::attempt(app, &channel, item).await,
        ChannelKind::Email => email::outbound::attempt(app, &channel, item).await,
        ChannelKind::Widget => {
            Attempt::Cancelled(format!("{} channels deliver no webhooks", channel.kind))
        }
    }
}
