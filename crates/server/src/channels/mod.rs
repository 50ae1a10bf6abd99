//! Channels: adapters between the outside world and the use cases. Inbound,
//! each turns what arrives (a messenger's webhook event, a widget
//! visitor's post) into a call of the inbound use cases; outbound, each
//! delivers what the outbox holds for it. The `api` channel (a generic
//! messenger webhook) and the `widget` (the web chat) live here; the
//! Telegram and e-mail adapters will too.

pub mod api;
pub mod widget;

/// How one attempt at an outbound delivery ended, whatever the channel.
#[derive(Debug)]
pub enum Attempt {
    Delivered,
    /// Worth trying again (the receiver, the network, the address rule).
    Failed(String),
    /// Nowhere to send it: given up at once, the attempt not counted.
    Cancelled(String),
}
