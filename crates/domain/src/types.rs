//! Value types with constructors that refuse bad values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that could not be parsed into one of the domain's types: a
/// stable `code` and the values it names (`params`) for clients that word
/// the error themselves, and the English `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub code: &'static str,
    pub message: String,
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl ParseError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ParseError {
            code,
            message: message.into(),
            params: serde_json::Map::new(),
        }
    }

    /// The same error naming one more value.
    pub fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(name.to_owned(), value.into());
        self
    }

    /// The same error found in the `n`-th (from 1) `part` of a list, such
    /// as a rule's second condition: "condition 2: …", `{"condition": 2}`.
    pub fn at(self, part: &'static str, n: usize) -> Self {
        ParseError {
            message: format!("{part} {n}: {}", self.message),
            ..self
        }
        .with(part, n)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(ParseError::new("unknown_value", format!(
                        concat!("unknown ", stringify!($name), " `{}`; expected one of: {}"),
                        other,
                        [$($text),+].join(", ")
                    )).with("value", other).with("allowed", [$($text),+].join(", "))),
                }
            }
        }
    };
}

string_enum!(
    /// Whether someone must act on a case.
    Status { Open => "open", Pending => "pending", Closed => "closed" }
);
string_enum!(
    /// Whether a chat is in the live list (`active`) or with the cases (`finished`).
    /// Only chats have it; an email case has none.
    ChatState { Active => "active", Finished => "finished" }
);
string_enum!(
    /// What a channel connects to.
    ChannelKind { Api => "api", Widget => "widget", Telegram => "telegram", Email => "email" }
);
string_enum!(
    /// Who wrote a message.
    AuthorType { Customer => "customer", Agent => "agent", System => "system" }
);
string_enum!(
    /// Public message, internal note or a system event line.
    MessageKind { Message => "message", Note => "note", System => "system" }
);
string_enum!(
    /// What happened to a case, as its history records it. Statistics
    /// count events by kind (`stats::Counters::add` names every one).
    EventKind {
        Created => "created",
        Updated => "updated",
        Finished => "finished",
        AutoFinished => "auto_finished",
        ClosedByCustomer => "closed_by_customer",
        KeptActive => "kept_active",
        LabelsChanged => "labels_changed",
        Reopened => "reopened",
        Reactivated => "reactivated",
        Split => "split",
        Merged => "merged",
        MergedIn => "merged_in",
        Linked => "linked",
        Reaction => "reaction",
        TemplateApplied => "template_applied",
        RuleApplied => "rule_applied",
        MessageEdited => "message_edited",
        MessagesMoved => "messages_moved",
        TopicDismissed => "topic_dismissed",
        Undone => "undone",
        Redone => "redone",
        SplitUndone => "split_undone",
        MergedUndone => "merged_undone",
        CreatedUndone => "created_undone",
    }
);
string_enum!(
    /// A field of a case whose change the history records.
    Field {
        Status => "status",
        ClosedAt => "closed_at",
        ChatState => "chat_state",
        FinishedAt => "finished_at",
        Merged => "merged",
        Subject => "subject",
        AssigneeId => "assignee_id",
        NextCaseId => "next_case_id",
        Label => "label",
    }
);
string_enum!(
    /// What an agent may do in their account.
    Role { Admin => "admin", Agent => "agent" }
);

impl ChannelKind {
    /// Chat channels keep one conversation per customer and split it into
    /// chats (R6); email makes a case per thread (R14).
    pub fn is_chat(self) -> bool {
        !matches!(self, ChannelKind::Email)
    }
}

/// Who made a change, as the case history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Agent(String),
    Customer(String),
    /// The server itself; the string says why (`auto_finish`, …).
    System(String),
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Agent(_) => "agent",
            Actor::Customer(_) => "customer",
            Actor::System(_) => "system",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Actor::Agent(id) | Actor::Customer(id) | Actor::System(id) => id,
        }
    }

    pub fn from_parts(kind: &str, id: String) -> Result<Actor, ParseError> {
        match kind {
            "agent" => Ok(Actor::Agent(id)),
            "customer" => Ok(Actor::Customer(id)),
            "system" => Ok(Actor::System(id)),
            other => Err(
                ParseError::new("unknown_value", format!("unknown actor type `{other}`"))
                    .with("value", other)
                    .with("allowed", "agent, customer, system"),
            ),
        }
    }
}

/// The R3/R4 timers of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoFinishSettings {
    after_seconds: i64,
    warning_seconds: i64,
}

impl Default for AutoFinishSettings {
    fn default() -> Self {
        AutoFinishSettings {
            after_seconds: 600,
            warning_seconds: 60,
        }
    }
}

impl AutoFinishSettings {
    /// Both values are seconds and at least 1. A warning longer than the
    /// inactivity period is allowed: the chat is then highlighted from the start.
    /// The longest either period may be: a year.
    pub const MAX_SECONDS: i64 = 366 * 24 * 3600;

    pub fn new(after_seconds: i64, warning_seconds: i64) -> Result<Self, ParseError> {
        const MAX: i64 = AutoFinishSettings::MAX_SECONDS;
        for (name, v) in [
            ("chat_auto_finish_after_seconds", after_seconds),
            ("chat_auto_finish_warning_seconds", warning_seconds),
        ] {
            if !(1..=MAX).contains(&v) {
                return Err(ParseError::new(
                    "timer_out_of_range",
                    format!("{name} must be between 1 and {MAX} seconds, got {v}"),
                )
                .with("field", name)
                .with("min", 1i64)
                .with("max", MAX));
            }
        }
        Ok(AutoFinishSettings {
            after_seconds,
            warning_seconds,
        })
    }

    pub fn after_seconds(self) -> i64 {
        self.after_seconds
    }

    pub fn warning_seconds(self) -> i64 {
        self.warning_seconds
    }

    /// When an active chat last active at `activity` warns and finishes.
    pub fn deadlines(self, activity: crate::Time) -> (crate::Time, crate::Time) {
        let finish_at = activity + chrono::Duration::seconds(self.after_seconds);
        let warn_at = (finish_at - chrono::Duration::seconds(self.warning_seconds)).max(activity);
        (warn_at, finish_at)
    }
}

/// A case subject: trimmed, non-empty, at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    pub const MAX_CHARS: usize = 255;

    /// A subject an agent typed: refused when empty or too long.
    pub fn parse(text: &str) -> Result<Subject, ParseError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ParseError::new(
                "subject_empty",
                "subject must not be empty",
            ));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(ParseError::new(
                "subject_too_long",
                format!("subject must be at most {} characters", Self::MAX_CHARS),
            )
            .with("max", Self::MAX_CHARS));
        }
        Ok(Subject(trimmed.to_owned()))
    }

    /// The default subject of a chat (R13): the first customer message on one
    /// line, cut to the maximum length at a character boundary.
    pub fn from_first_message(text: &str) -> Subject {
        let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut cut: String = one_line.chars().take(Self::MAX_CHARS).collect();
        if one_line.chars().count() > Self::MAX_CHARS {
            cut.pop();
            cut.push('…');
        }
        if cut.is_empty() {
            cut.push_str("(no text)");
        }
        Subject(cut)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_refuse_unknown_values() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
        }
        let err = "solved".parse::<Status>().unwrap_err();
        assert!(err.message.contains("open, pending, closed"), "{err}");
        assert!(!ChannelKind::Email.is_chat());
        assert!(ChannelKind::Widget.is_chat());
    }

    #[test]
    fn settings_refuse_zero_and_compute_deadlines() {
        assert!(AutoFinishSettings::new(0, 60).is_err());
        assert!(AutoFinishSettings::new(600, 0).is_err());
        let s = AutoFinishSettings::new(600, 60).unwrap();
        let t = chrono::DateTime::from_timestamp(1_000_000, 0).unwrap();
        let (warn, finish) = s.deadlines(t);
        assert_eq!((finish - t).num_seconds(), 600);
        assert_eq!((finish - warn).num_seconds(), 60);
        let (warn, _) = AutoFinishSettings::new(5, 60).unwrap().deadlines(t);
        assert_eq!(warn, t, "warning never starts before the activity");
    }

    #[test]
    fn subject_defaults_to_first_message_trimmed() {
        assert_eq!(
            Subject::from_first_message("  Hello\n  there  ").as_str(),
            "Hello there"
        );
        let long = "я".repeat(400);
        let s = Subject::from_first_message(&long);
        assert_eq!(s.as_str().chars().count(), Subject::MAX_CHARS);
        assert!(s.as_str().ends_with('…'));
        assert_eq!(Subject::from_first_message("   ").as_str(), "(no text)");
        assert!(Subject::parse("  ").is_err());
        assert!(Subject::parse(&"x".repeat(256)).is_err());
        assert_eq!(Subject::parse(" Refund ").unwrap().as_str(), "Refund");
    }
}

/// Serde helper for whole numbers in JSON and query strings: `5`, and also
/// `5.0` or `"5"`, which JSON Schema (and so the OpenAPI document) counts as
/// the integer 5. Fractions and numbers beyond `i64` are refused, and so
/// are floats beyond ±(2^53 − 1): past that a float no longer tells which
/// integer was written (`-9223372036854775809` reads as `i64::MIN`). Fields
/// that take it keep far smaller bounds, where parsing is exact too.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number")
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            if v.fract() == 0.0 && v.abs() <= MAX_EXACT_WHOLE_FLOAT as f64 {
                // Whole and within ±2^53: the cast is exact.
                Ok(v as i64)
            } else {
                Err(E::custom(format!("{v} is not a whole number")))
            }
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
            match v.parse::<i64>() {
                Ok(n) => Ok(n),
                Err(_) => v
                    .parse::<f64>()
                    .map_err(|_| E::custom(format!("`{v}` is not a whole number")))
                    .and_then(|f| self.visit_f64(f)),
            }
        }
    }
    d.deserialize_any(Whole)
}

/// The largest whole number a float holds exactly, with every smaller one
/// (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_EXACT_WHOLE_FLOAT: i64 = (1 << 53) - 1;

/// [`whole_number`] of an optional field (`null` or absent is `None`).
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "whole_number")] i64);
    Option::<Wrapped>::deserialize(d).map(|w| w.map(|Wrapped(n)| n))
}

#[cfg(test)]
mod whole_number_tests {
    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct N {
        #[serde(default, deserialize_with = "optional_whole_number")]
        n: Option<i64>,
    }

    #[test]
    fn whole_numbers_in_any_spelling() {
        let n = |json: &str| serde_json::from_str::<N>(json).map(|v| v.n).ok();
        assert_eq!(n(r#"{"n": 5}"#), Some(Some(5)));
        assert_eq!(n(r#"{"n": 5.0}"#), Some(Some(5)));
        assert_eq!(n(r#"{"n": -2e3}"#), Some(Some(-2000)));
        assert_eq!(n(r#"{"n": null}"#), Some(None));
        assert_eq!(n(r#"{}"#), Some(None));
        assert_eq!(n(r#"{"n": 5.5}"#), None);
        assert_eq!(n(r#"{"n": 9223372036854775808}"#), None);
        assert_eq!(n(r#"{"n": 9.3e18}"#), None);
        assert_eq!(n(r#"{"n": -9223372036854775808}"#), Some(Some(i64::MIN)));
        assert_eq!(n(r#"{"n": -9223372036854775809}"#), None);
        assert_eq!(n(r#"{"n": 1e15}"#), Some(Some(1_000_000_000_000_000)));
        assert_eq!(n(r#"{"n": 1e16}"#), None);
        assert_eq!(n(r#"{"n": true}"#), None);
    }
}
