//! The Telegram Bot API as casedesk speaks it, apart from the server so
//! that it can be read, fuzzed and tested alone:
//!
//! - [`types`]: the parts of the Bot API's objects casedesk reads;
//! - [`client`]: calls to a Bot API server (the official one, a self-hosted
//!   one, or the test suite's fake), with the bot token kept out of every
//!   error and log line;
//! - [`inbound`]: what an update means for a helpdesk — a customer message
//!   with its files, an edit, a reaction, or something ignored and why;
//! - `fake` (feature `fake`): a fake Bot API server on loopback for tests.

#![forbid(unsafe_code)]

pub mod client;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod inbound;
pub mod types;

pub use client::{ApiError, BotApi};
pub use inbound::{Inbound, interpret};
