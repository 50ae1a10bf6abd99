//! The `api` channel, a generic messenger's webhook: its events come in
//! ([`inbound`]) and agent replies go out, signed, to the channel's
//! `webhook_url` ([`outbound`]) under the address rules of [`webhook`].

pub mod inbound;
pub mod outbound;
pub mod webhook;

pub use inbound::{Inbound, InboundEvent, receive};
