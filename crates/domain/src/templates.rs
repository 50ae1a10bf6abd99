//! Templates (macros), labels and the actions a template runs on a case:
//! what is a valid template, and how its placeholders are filled in.
//!
//! A template is a reply text with placeholders (`Hello {{customer.name}}`)
//! and a list of [`Action`]s. Both are validated when the template is saved
//! (an unknown placeholder or a bad action is refused then, not when an
//! agent applies it); applying it is the server's job, which runs the reply
//! and the actions as one change using the rules in [`crate::CaseState`].

use serde::{Deserialize, Serialize};

use crate::{ParseError, Status, Subject};

/// A label's name: trimmed, 1 to 50 characters, no control characters.
/// Two labels of an account may not have the same name ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelName(String);

impl LabelName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(text: &str) -> Result<LabelName, ParseError> {
        let name = text.trim();
        if name.is_empty() {
            return Err(Self::invalid("label name must not be empty"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(Self::invalid(format!(
                "label name must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(Self::invalid(
                "label name must not contain control characters",
            ));
        }
        Ok(LabelName(name.to_owned()))
    }

    fn invalid(message: impl Into<String>) -> ParseError {
        ParseError::new("label_name_invalid", message).with("max", Self::MAX_CHARS)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on: [`label_key`].
    pub fn folded(&self) -> String {
        label_key(&self.0)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What makes two label names the same: Unicode lower case. The store
/// keeps it in a unique column.
pub fn label_key(name: &str) -> String {
    name.to_lowercase()
}

/// A label colour, `#rrggbb` (stored lower case).
pub fn parse_color(text: &str) -> Result<String, ParseError> {
    let hex = text.strip_prefix('#').unwrap_or("");
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(format!("#{}", hex.to_ascii_lowercase()))
    } else {
        Err(ParseError::new(
            "color_invalid",
            format!("color `{text}` is not a colour like #1f8a70"),
        )
        .with("value", text))
    }
}

/// A template's name: trimmed, 1 to 100 characters.
pub fn parse_template_name(text: &str) -> Result<String, ParseError> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ParseError::new(
            "template_name_invalid",
            "template name must be 1 to 100 characters without control characters",
        )
        .with("max", 100i64));
    }
    Ok(name.to_owned())
}

/// What a template does to a case besides its reply, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// R1/R5: closing an active chat finishes it too.
    SetStatus {
        status: Status,
    },
    /// R2: finish the active chat with a status; on a chat that is not
    /// active (or an email case) only the status is set.
    FinishChat {
        status: Status,
    },
    /// `agent_id: null` unassigns.
    Assign {
        agent_id: Option<String>,
    },
    /// Placeholders allowed; the result must be a valid [`Subject`].
    SetSubject {
        subject: String,
    },
    /// An internal note; placeholders allowed.
    AddNote {
        text: String,
    },
    AddLabel {
        label_id: String,
    },
    RemoveLabel {
        label_id: String,
    },
    /// Rules only (a template's reply is its text): a public reply sent by
    /// casedesk itself; placeholders allowed. It is not an agent's first
    /// response and does not decide who wrote last (R3).
    SendReply {
        text: String,
    },
    /// Rules only, trigger `customer_message`, off unless a rule has it:
    /// when the customer's message starts a new question
    /// ([`crate::topic`]), it and what follows move to a new case, as when
    /// an agent accepts the case page's suggestion. The server does it
    /// after the message is stored, as a change of its own.
    SplitOnTopicChange {},
}

impl Action {
    /// Checks what can be checked without the database: texts and their
    /// placeholders. Agents and labels are checked by the server.
    pub fn validate(&self) -> Result<(), ParseError> {
        match self {
            Action::SetSubject { subject } => {
                TextTemplate::parse(subject)?;
                if !subject.contains("{{") {
                    Subject::parse(subject)?;
                }
                if subject.trim().is_empty() {
                    return Err(ParseError::new(
                        "subject_empty",
                        "set_subject: subject must not be empty",
                    ));
                }
                Ok(())
            }
            Action::AddNote { text } | Action::SendReply { text } => {
                if text.trim().is_empty() {
                    return Err(ParseError::new("text_empty", "the text must not be empty"));
                }
                if text.chars().count() > MAX_TEMPLATE_TEXT {
                    return Err(ParseError::new(
                        "text_too_long",
                        format!("the text must be at most {MAX_TEMPLATE_TEXT} characters"),
                    )
                    .with("max", MAX_TEMPLATE_TEXT));
                }
                TextTemplate::parse(text).map(drop)
            }
            Action::AddLabel { label_id } | Action::RemoveLabel { label_id }
                if label_id.trim().is_empty() =>
            {
                Err(ParseError::new(
                    "label_missing",
                    "label_id must not be empty",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// At most this many actions in one template.
pub const MAX_ACTIONS: usize = 20;
/// Longest template text (reply or note), in characters.
pub const MAX_TEMPLATE_TEXT: usize = 20_000;

/// Checks a template's reply text and actions as a whole.
pub fn validate_template(body: &str, actions: &[Action]) -> Result<(), ParseError> {
    validate_template_parts(body, actions)?;
    if template_is_empty(body, actions) {
        return Err(ParseError::new(
            "template_empty",
            "a template needs a reply text or at least one action",
        ));
    }
    Ok(())
}

/// Whether a template would do nothing: no reply text and no action.
pub fn template_is_empty(body: &str, actions: &[Action]) -> bool {
    body.trim().is_empty() && actions.is_empty()
}

/// Checks a template's reply text and each of its actions, but not that
/// it does something ([`template_is_empty`]): a change of a template is
/// refused for what it says itself, and separately when it would leave
/// the template empty.
pub fn validate_template_parts(body: &str, actions: &[Action]) -> Result<(), ParseError> {
    if body.chars().count() > MAX_TEMPLATE_TEXT {
        return Err(ParseError::new(
            "text_too_long",
            format!("template text must be at most {MAX_TEMPLATE_TEXT} characters"),
        )
        .with("max", MAX_TEMPLATE_TEXT));
    }
    TextTemplate::parse(body)?;
    if actions.len() > MAX_ACTIONS {
        return Err(ParseError::new(
            "too_many_actions",
            format!("a template has at most {MAX_ACTIONS} actions"),
        )
        .with("max", MAX_ACTIONS));
    }
    for (i, a) in actions.iter().enumerate() {
        a.validate().map_err(|e| e.at("action", i + 1))?;
        if matches!(a, Action::SendReply { .. }) {
            return Err(ParseError::new(
                "template_send_reply",
                "send_reply is for automation rules; a template's reply is its text",
            )
            .at("action", i + 1));
        }
        if matches!(a, Action::SplitOnTopicChange {}) {
            return Err(ParseError::new(
                "template_split_on_topic",
                "split_on_topic_change is for automation rules: an agent splits by selecting messages",
            )
            .at("action", i + 1));
        }
    }
    Ok(())
}

/// The placeholders a template text may use.
pub const PLACEHOLDERS: &[&str] = &[
    "customer.name",
    "customer.id",
    "case.number",
    "case.subject",
    "agent.name",
    "agent.email",
    "channel.name",
];

/// The values placeholders are filled with when a template is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceholderValues {
    pub customer_name: Option<String>,
    /// The customer as the channel knows them (messenger id, address).
    pub customer_id: String,
    pub case_number: i64,
    pub case_subject: String,
    pub agent_name: String,
    pub agent_email: String,
    pub channel_name: String,
}

impl PlaceholderValues {
    fn get(&self, name: &str) -> Option<String> {
        let v = match name {
            "customer.name" => self.customer_name.clone()?,
            "customer.id" => self.customer_id.clone(),
            "case.number" => self.case_number.to_string(),
            "case.subject" => self.case_subject.clone(),
            "agent.name" => self.agent_name.clone(),
            "agent.email" => self.agent_email.clone(),
            "channel.name" => self.channel_name.clone(),
            _ => return None,
        };
        (!v.trim().is_empty()).then_some(v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// `{{ name | fallback }}`: the fallback is used when the value is
    /// missing or empty (a customer without a name).
    Slot {
        name: String,
        fallback: String,
    },
}

/// A text with `{{placeholder}}` slots, parsed once and refused when it
/// names an unknown placeholder or leaves a `{{` unclosed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTemplate(Vec<Piece>);

impl TextTemplate {
    pub fn parse(text: &str) -> Result<TextTemplate, ParseError> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| {
                ParseError::new(
                    "placeholder_unclosed",
                    "a `{{` placeholder is not closed with `}}`",
                )
            })?;
            let inner = &after[..close];
            let (name, fallback) = match inner.split_once('|') {
                Some((n, f)) => (n.trim(), f.trim()),
                None => (inner.trim(), ""),
            };
            if !PLACEHOLDERS.contains(&name) {
                let known = PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{{{p}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ParseError::new(
                    "placeholder_unknown",
                    format!("unknown placeholder `{{{{{name}}}}}`; known: {known}"),
                )
                .with("name", name)
                .with("known", known));
            }
            pieces.push(Piece::Slot {
                name: name.to_owned(),
                fallback: fallback.to_owned(),
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(TextTemplate(pieces))
    }

    pub fn render(&self, values: &PlaceholderValues) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot { name, fallback } => {
                    out.push_str(&values.get(name).unwrap_or_else(|| fallback.clone()))
                }
            }
        }
        out
    }
}

/// Parses and renders in one step; for texts validated when saved, a parse
/// error here means the stored template predates a rule and is reported.
pub fn render(text: &str, values: &PlaceholderValues) -> Result<String, ParseError> {
    Ok(TextTemplate::parse(text)?.render(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> PlaceholderValues {
        PlaceholderValues {
            customer_name: Some("Ann".into()),
            customer_id: "tg-42".into(),
            case_number: 1042,
            case_subject: "Where is my order?".into(),
            agent_name: "Boris".into(),
            agent_email: "boris@example.com".into(),
            channel_name: "Telegram".into(),
        }
    }

    #[test]
    fn placeholders_are_filled_with_fallbacks_for_missing_values() {
        let t = TextTemplate::parse(
            "Hi {{customer.name}}, case #{{ case.number }} ({{case.subject}}) — {{agent.name}} of {{channel.name}}",
        )
        .unwrap();
        assert_eq!(
            t.render(&values()),
            "Hi Ann, case #1042 (Where is my order?) — Boris of Telegram"
        );
        let t = TextTemplate::parse("Hello {{customer.name | there}}!").unwrap();
        assert_eq!(t.render(&values()), "Hello Ann!");
        let nameless = PlaceholderValues {
            customer_name: None,
            ..values()
        };
        assert_eq!(t.render(&nameless), "Hello there!");
        let blank = PlaceholderValues {
            customer_name: Some("  ".into()),
            ..values()
        };
        assert_eq!(t.render(&blank), "Hello there!");
        assert_eq!(
            TextTemplate::parse("{{customer.name}}")
                .unwrap()
                .render(&nameless),
            ""
        );
        // Texts without slots, single braces and non-ASCII survive as they are.
        assert_eq!(
            render("Спасибо { за } ожидание", &values()).unwrap(),
            "Спасибо { за } ожидание"
        );
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_refused() {
        let e = TextTemplate::parse("Hi {{customer.nmae}}").unwrap_err();
        assert!(
            e.message
                .contains("unknown placeholder `{{customer.nmae}}`"),
            "{e}"
        );
        assert!(
            e.message.contains("{{customer.name}}"),
            "lists the known ones: {e}"
        );
        let e = TextTemplate::parse("Hi {{customer.name").unwrap_err();
        assert!(e.message.contains("not closed"), "{e}");
        assert!(TextTemplate::parse("{{}}").is_err());
    }

    #[test]
    fn templates_need_text_or_actions_and_valid_actions() {
        assert!(validate_template("", &[]).is_err());
        assert!(validate_template("  ", &[]).is_err());
        assert!(validate_template("Thanks!", &[]).is_ok());
        let close = Action::SetStatus {
            status: Status::Closed,
        };
        assert!(validate_template("", std::slice::from_ref(&close)).is_ok());
        let too_many = vec![close; MAX_ACTIONS + 1];
        assert!(validate_template("x", &too_many).is_err());
        let e = validate_template(
            "x",
            &[
                Action::FinishChat {
                    status: Status::Pending,
                },
                Action::AddNote {
                    text: "{{nope}}".into(),
                },
            ],
        )
        .unwrap_err();
        assert!(e.message.starts_with("action 2:"), "{e}");
        // A client words it from the code and the values: which action,
        // which placeholder.
        assert_eq!(e.code, "placeholder_unknown");
        assert_eq!(e.params["action"], 2, "{e:?}");
        assert_eq!(e.params["name"], "nope", "{e:?}");
        assert!(
            validate_template(
                "x",
                &[Action::SetSubject {
                    subject: "  ".into()
                }]
            )
            .is_err()
        );
        assert!(
            validate_template(
                "x",
                &[Action::SetSubject {
                    subject: "y".repeat(300)
                }]
            )
            .is_err()
        );
        assert!(validate_template(&"x".repeat(MAX_TEMPLATE_TEXT + 1), &[]).is_err());
    }

    #[test]
    fn actions_have_a_stable_json_form() {
        let json = serde_json::json!([
            {"type": "set_status", "status": "closed"},
            {"type": "finish_chat", "status": "pending"},
            {"type": "assign", "agent_id": null},
            {"type": "set_subject", "subject": "Refund #{{case.number}}"},
            {"type": "add_note", "text": "macro used"},
            {"type": "add_label", "label_id": "l1"},
            {"type": "remove_label", "label_id": "l2"}
        ]);
        let actions: Vec<Action> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(actions.len(), 7);
        assert_eq!(serde_json::to_value(&actions).unwrap(), json);
        for bad in [
            serde_json::json!({"type": "set_status", "status": "solved"}),
            serde_json::json!({"type": "explode"}),
            serde_json::json!({"type": "set_status", "status": "open", "extra": 1}),
        ] {
            assert!(serde_json::from_value::<Action>(bad).is_err());
        }
    }

    #[test]
    fn label_names_and_colors() {
        assert_eq!(LabelName::parse("  VIP ").unwrap().as_str(), "VIP");
        assert_eq!(LabelName::parse("Возврат").unwrap().folded(), "возврат");
        assert!(LabelName::parse(" ").is_err());
        assert!(LabelName::parse(&"x".repeat(51)).is_err());
        assert!(LabelName::parse("a\u{0}b").is_err());
        assert_eq!(parse_color("#1F8A70").unwrap(), "#1f8a70");
        for bad in ["1f8a70", "#1f8a7", "#zzzzzz", "red"] {
            assert!(parse_color(bad).is_err(), "{bad}");
        }
        assert!(parse_template_name(" Refund ").is_ok());
        assert!(parse_template_name("").is_err());
    }
}
