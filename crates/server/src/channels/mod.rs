//! Channels: adapters between the outside world and the use cases. Inbound,
//! each turns what arrives (a messenger's webhook event, a widget
//! visitor's post, a Telegram update) into a call of the inbound use
//! cases; outbound, each delivers what the outbox holds for it. The `api`
//! channel (a generic messenger webhook), the `widget` (the web chat) and
//! `telegram` live here; the e-mail adapter will too.

pub mod api;
pub mod telegram;
pub mod widget;

use casedesk_domain::{ChannelKind, Time};
use casedesk_store::{OutboxItem, StoreError, read};

use crate::AppState;

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
        ChannelKind::Widget | ChannelKind::Email => {
            Attempt::Cancelled(format!("{} channels deliver no webhooks", channel.kind))
        }
    }
}
