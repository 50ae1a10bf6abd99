//! The use cases: each is one unit of work over the store that loads what
//! the rules need, lets the domain decide, saves the result with its
//! history events and timers, and returns the notices to publish once
//! committed. HTTP handlers, channels and workers call them; they call no
//! one above them.

pub mod actions;
pub mod agent_actions;
pub mod attachments;
pub mod automation;
pub mod deadlines;
pub mod help;
pub mod import;
pub mod inbound;
pub mod lifecycle;
pub mod messages;
pub mod rules;
pub mod templates;
pub mod topics;
pub mod undo;
pub mod unit;

/// An e-mail a use case asks to be sent; the mail worker sends it in the
/// background.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}
