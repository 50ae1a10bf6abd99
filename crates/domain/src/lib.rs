//! The rules of casedesk (SPEC.md R1–R13) as plain data and pure functions.
//!
//! This crate owns *what happens* to a case: which case a customer message
//! goes to, what finishing, closing, reopening, splitting and merging change,
//! and which status an auto-finished chat gets. It never does IO: no clock
//! (every function that needs the time takes `now`), no database, no HTTP.
//! The server loads a [`CaseState`] (and its message [`Tally`]) from the
//! store, asks this crate what to do, and persists the answer together with
//! the [`Change`]s it returns, which become the case history.

#![forbid(unsafe_code)]

pub mod business_hours;
mod case;
pub mod email;
pub mod moves;
pub mod retro;
pub mod rules;
pub mod search;
pub mod simulate;
pub mod stats;
mod tally;
pub mod templates;
pub mod topic;
mod types;

pub use business_hours::BusinessHours;
pub use case::{
    CaseState, Change, MergePlan, Reopen, Routing, RuleError, SplitPlan, auto_finish_status,
    route_customer_message,
};
pub use stats::AccountTimeZone;
pub use tally::{Recount, Tally, Wrote};
pub use templates::{Action, LabelName};
pub use types::{
    Actor, AuthorType, AutoFinishSettings, ChannelKind, ChatState, EventKind, Field,
    MAX_EXACT_WHOLE_FLOAT, MessageKind, ParseError, Role, Status, Subject, optional_whole_number,
    whole_number,
};

/// Times in casedesk are UTC instants.
pub type Time = chrono::DateTime<chrono::Utc>;
