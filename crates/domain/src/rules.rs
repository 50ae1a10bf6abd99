//! Automation rules: a trigger, conditions and actions, validated when a
//! rule is saved and evaluated against a case's facts when it may fire.
//!
//! The server decides *when* a trigger happened (a customer message, a
//! status change, a timer that came due) and gathers a case's [`CaseFacts`];
//! this module says whether a rule's trigger matches that event, whether
//! its conditions hold, and which combinations make no sense (an action that
//! does not fit its trigger). Running the actions is the server's job, with
//! the same rules as templates ([`crate::Action`]).

use serde::{Deserialize, Serialize};

use crate::templates::{Action, MAX_ACTIONS};
use crate::{ChatState, ParseError, Status};

/// Longest delay of a time trigger: a year.
pub const MAX_DELAY_SECONDS: i64 = 366 * 24 * 3600;
/// At most this many conditions in one rule.
pub const MAX_CONDITIONS: usize = 20;
/// How many rounds of rules a change may set off: the change's own
/// triggers are round 1; changes made by rules trigger at most two more
/// rounds, and every rule fires at most once per case in one change.
pub const MAX_ROUNDS: usize = 3;

/// What sets a rule off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A new case: a new chat, a new email case, a chat split off.
    CaseCreated,
    /// A public customer message arrived (new, appended or reopening).
    CustomerMessage,
    /// An agent sent a public reply.
    AgentReplied,
    /// An active chat was finished (by an agent, a template, a rule or the
    /// inactivity timer).
    ChatFinished,
    /// The status changed; with `to`, only changes to that status.
    StatusChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Status>,
    },
    /// The case has been `pending` for `seconds` without changing status.
    PendingFor {
        #[serde(deserialize_with = "crate::types::whole_number")]
        seconds: i64,
    },
    /// The case is `open` and the customer's last message has had no agent
    /// reply for `seconds`.
    OpenWithoutReply {
        #[serde(deserialize_with = "crate::types::whole_number")]
        seconds: i64,
    },
}

impl Trigger {
    /// The delay of a time trigger.
    pub fn delay_seconds(&self) -> Option<i64> {
        match self {
            Trigger::PendingFor { seconds } | Trigger::OpenWithoutReply { seconds } => {
                Some(*seconds)
            }
            _ => None,
        }
    }

    /// Whether the trigger comes with a message whose text conditions read.
    fn has_message(&self) -> bool {
        matches!(self, Trigger::CustomerMessage | Trigger::AgentReplied)
    }
}

/// Something that happened to a case in one change, which rules may react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerEvent {
    CaseCreated,
    CustomerMessage {
        text: String,
    },
    AgentReplied {
        text: String,
    },
    ChatFinished,
    StatusChanged {
        to: Status,
    },
    /// A time rule's timer came due (and its state still holds).
    TimerDue {
        rule_id: String,
    },
}

impl TriggerEvent {
    /// The events a change from `before` to `after` amounts to (a new case
    /// has no `before`: it is [`TriggerEvent::CaseCreated`], added by the
    /// caller).
    pub fn of_change(
        before: (Status, Option<ChatState>),
        after: (Status, Option<ChatState>),
    ) -> Vec<TriggerEvent> {
        let mut events = Vec::new();
        if before.1 == Some(ChatState::Active) && after.1 == Some(ChatState::Finished) {
            events.push(TriggerEvent::ChatFinished);
        }
        if before.0 != after.0 {
            events.push(TriggerEvent::StatusChanged { to: after.0 });
        }
        events
    }

    fn message_text(&self) -> Option<&str> {
        match self {
            TriggerEvent::CustomerMessage { text } | TriggerEvent::AgentReplied { text } => {
                Some(text)
            }
            _ => None,
        }
    }

    /// The name the history shows for the trigger.
    pub fn name(&self) -> &'static str {
        match self {
            TriggerEvent::CaseCreated => "case_created",
            TriggerEvent::CustomerMessage { .. } => "customer_message",
            TriggerEvent::AgentReplied { .. } => "agent_replied",
            TriggerEvent::ChatFinished => "chat_finished",
            TriggerEvent::StatusChanged { .. } => "status_changed",
            TriggerEvent::TimerDue { .. } => "timer",
        }
    }
}

/// A test on the case; all conditions of a rule must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The case's channel is one of these.
    ChannelIs {
        channel_ids: Vec<String>,
    },
    /// The case's status is one of these.
    StatusIs {
        statuses: Vec<Status>,
    },
    ChatStateIs {
        chat_state: ChatState,
    },
    HasLabel {
        label_id: String,
    },
    LacksLabel {
        label_id: String,
    },
    /// Case-insensitive, also beyond ASCII.
    SubjectContains {
        text: String,
    },
    /// The triggering message's text (message triggers only).
    MessageContains {
        text: String,
    },
    CustomerNameContains {
        text: String,
    },
    /// The customer's id in the channel (messenger id, address).
    CustomerIdIs {
        customer_id: String,
    },
    /// Inside the account's business hours (always, when it has none).
    InBusinessHours,
    OutsideBusinessHours,
}

/// What conditions look at, gathered by the server for one case at one
/// moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFacts {
    pub status: Option<Status>,
    pub chat_state: Option<ChatState>,
    pub channel_id: String,
    pub label_ids: Vec<String>,
    pub subject: String,
    pub customer_name: Option<String>,
    pub customer_id: String,
    /// `None` when the account has no business hours.
    pub in_business_hours: Option<bool>,
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

impl Condition {
    pub fn holds(&self, facts: &CaseFacts, event: &TriggerEvent) -> bool {
        match self {
            Condition::ChannelIs { channel_ids } => channel_ids.contains(&facts.channel_id),
            Condition::StatusIs { statuses } => facts.status.is_some_and(|s| statuses.contains(&s)),
            Condition::ChatStateIs { chat_state } => facts.chat_state == Some(*chat_state),
            Condition::HasLabel { label_id } => facts.label_ids.contains(label_id),
            Condition::LacksLabel { label_id } => !facts.label_ids.contains(label_id),
            Condition::SubjectContains { text } => contains(&facts.subject, text),
            Condition::MessageContains { text } => {
                event.message_text().is_some_and(|m| contains(m, text))
            }
            Condition::CustomerNameContains { text } => facts
                .customer_name
                .as_deref()
                .is_some_and(|n| contains(n, text)),
            Condition::CustomerIdIs { customer_id } => facts.customer_id == *customer_id,
            Condition::InBusinessHours => facts.in_business_hours.unwrap_or(true),
            Condition::OutsideBusinessHours => !facts.in_business_hours.unwrap_or(true),
        }
    }

    /// Ids of labels and channels the condition names, for the server to
    /// check against the account.
    pub fn label_id(&self) -> Option<&str> {
        match self {
            Condition::HasLabel { label_id } | Condition::LacksLabel { label_id } => Some(label_id),
            _ => None,
        }
    }

    /// Checks the condition, and against the rule's trigger when it is known.
    fn validate(&self, trigger: Option<&Trigger>) -> Result<(), ParseError> {
        let text_ok = |text: &str| {
            if text.trim().is_empty() || text.chars().count() > 500 {
                Err(ParseError::new(
                    "condition_text_length",
                    "the text to look for must be 1 to 500 characters",
                )
                .with("max", 500i64))
            } else {
                Ok(())
            }
        };
        match self {
            Condition::ChannelIs { channel_ids } if channel_ids.is_empty() => Err(ParseError::new(
                "condition_channels_empty",
                "channel_is needs at least one channel id",
            )),
            Condition::StatusIs { statuses } if statuses.is_empty() => Err(ParseError::new(
                "condition_statuses_empty",
                "status_is needs at least one status",
            )),
            Condition::MessageContains { .. } if trigger.is_some_and(|t| !t.has_message()) => {
                Err(ParseError::new(
                    "condition_needs_message",
                    "message_contains only fits the customer_message and agent_replied triggers",
                ))
            }
            Condition::SubjectContains { text }
            | Condition::MessageContains { text }
            | Condition::CustomerNameContains { text } => text_ok(text),
            Condition::CustomerIdIs { customer_id } if customer_id.trim().is_empty() => Err(
                ParseError::new("condition_customer_empty", "customer_id must not be empty"),
            ),
            _ => Ok(()),
        }
    }
}

/// A rule's trigger, conditions and actions as one valid whole.
pub fn validate_rule(
    trigger: &Trigger,
    conditions: &[Condition],
    actions: &[Action],
) -> Result<(), ParseError> {
    validate_rule_parts(Some(trigger), Some(conditions), Some(actions))
}

/// Checks the parts of a rule that are given against each other: a change
/// of a rule is refused for what it says itself, and separately when it
/// does not fit the parts of the rule it leaves as they are.
pub fn validate_rule_parts(
    trigger: Option<&Trigger>,
    conditions: Option<&[Condition]>,
    actions: Option<&[Action]>,
) -> Result<(), ParseError> {
    if let Some(seconds) = trigger.and_then(Trigger::delay_seconds)
        && !(1..=MAX_DELAY_SECONDS).contains(&seconds)
    {
        return Err(ParseError::new(
            "trigger_delay_out_of_range",
            format!("trigger: seconds must be between 1 and {MAX_DELAY_SECONDS}"),
        )
        .with("min", 1i64)
        .with("max", MAX_DELAY_SECONDS));
    }
    let conditions = conditions.unwrap_or_default();
    if conditions.len() > MAX_CONDITIONS {
        return Err(ParseError::new(
            "too_many_conditions",
            format!("a rule has at most {MAX_CONDITIONS} conditions"),
        )
        .with("max", MAX_CONDITIONS));
    }
    for (i, c) in conditions.iter().enumerate() {
        c.validate(trigger).map_err(|e| e.at("condition", i + 1))?;
    }
    let Some(actions) = actions else {
        return Ok(());
    };
    if actions.is_empty() {
        return Err(ParseError::new(
            "rule_without_actions",
            "a rule needs at least one action",
        ));
    }
    if actions.len() > MAX_ACTIONS {
        return Err(ParseError::new(
            "too_many_actions",
            format!("a rule has at most {MAX_ACTIONS} actions"),
        )
        .with("max", MAX_ACTIONS));
    }
    for (i, a) in actions.iter().enumerate() {
        a.validate().map_err(|e| e.at("action", i + 1))?;
        if let Some(e) = trigger.and_then(|t| contradiction(t, a)) {
            return Err(e.at("action", i + 1));
        }
    }
    Ok(())
}

/// Why `action` makes no sense in a rule set off by `trigger`, if it does not.
fn contradiction(trigger: &Trigger, action: &Action) -> Option<ParseError> {
    match (trigger, action) {
        (Trigger::CustomerMessage, Action::SplitOnTopicChange {}) => None,
        (_, Action::SplitOnTopicChange {}) => Some(ParseError::new(
            "split_needs_customer_message",
            "split_on_topic_change only fits the customer_message trigger: it judges the message that just arrived",
        )),
        (Trigger::AgentReplied, Action::SendReply { .. }) => Some(ParseError::new(
            "reply_on_agent_reply",
            "send_reply does not fit the agent_replied trigger: the agent just replied",
        )),
        (Trigger::ChatFinished, Action::FinishChat { .. }) => Some(ParseError::new(
            "finish_on_chat_finished",
            "finish_chat does not fit the chat_finished trigger: the chat is already finished",
        )),
        (
            Trigger::PendingFor { .. },
            Action::SetStatus {
                status: Status::Pending,
            },
        ) => Some(ParseError::new(
            "pending_on_pending_for",
            "set_status pending does not fit the pending_for trigger: the case is pending already",
        )),
        (Trigger::StatusChanged { to: Some(to) }, Action::SetStatus { status }) if to == status => {
            Some(ParseError::new(
                "status_to_itself",
                "set_status to the status that triggers the rule changes nothing",
            ))
        }
        _ => None,
    }
}

/// Whether a rule with `trigger` reacts to `event` (the timer of rule
/// `rule_id` only sets off that rule).
pub fn trigger_matches(trigger: &Trigger, rule_id: &str, event: &TriggerEvent) -> bool {
    match (trigger, event) {
        (Trigger::CaseCreated, TriggerEvent::CaseCreated)
        | (Trigger::CustomerMessage, TriggerEvent::CustomerMessage { .. })
        | (Trigger::AgentReplied, TriggerEvent::AgentReplied { .. })
        | (Trigger::ChatFinished, TriggerEvent::ChatFinished) => true,
        (Trigger::StatusChanged { to }, TriggerEvent::StatusChanged { to: new }) => {
            to.is_none_or(|t| t == *new)
        }
        (
            Trigger::PendingFor { .. } | Trigger::OpenWithoutReply { .. },
            TriggerEvent::TimerDue { rule_id: due },
        ) => due == rule_id,
        _ => false,
    }
}

/// Whether the state a time trigger waits for holds: pending, or open with
/// the customer having written last.
pub fn waiting_state_holds(trigger: &Trigger, status: Status, customer_wrote_last: bool) -> bool {
    match trigger {
        Trigger::PendingFor { .. } => status == Status::Pending,
        Trigger::OpenWithoutReply { .. } => status == Status::Open && customer_wrote_last,
        _ => false,
    }
}

/// Whether every condition holds.
pub fn conditions_hold(conditions: &[Condition], facts: &CaseFacts, event: &TriggerEvent) -> bool {
    conditions.iter().all(|c| c.holds(facts, event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> CaseFacts {
        CaseFacts {
            status: Some(Status::Open),
            chat_state: Some(ChatState::Active),
            channel_id: "ch1".into(),
            label_ids: vec!["vip".into()],
            subject: "Где мой ЗАКАЗ?".into(),
            customer_name: Some("Ann Lee".into()),
            customer_id: "tg-42".into(),
            in_business_hours: Some(false),
        }
    }

    fn msg(text: &str) -> TriggerEvent {
        TriggerEvent::CustomerMessage { text: text.into() }
    }

    #[test]
    fn conditions_read_the_case_and_the_message() {
        let f = facts();
        let e = msg("I want a REFUND");
        let holds = |c: Condition| c.holds(&f, &e);
        assert!(holds(Condition::ChannelIs {
            channel_ids: vec!["x".into(), "ch1".into()]
        }));
        assert!(!holds(Condition::ChannelIs {
            channel_ids: vec!["x".into()]
        }));
        assert!(holds(Condition::StatusIs {
            statuses: vec![Status::Open, Status::Pending]
        }));
        assert!(!holds(Condition::ChatStateIs {
            chat_state: ChatState::Finished
        }));
        assert!(holds(Condition::HasLabel {
            label_id: "vip".into()
        }));
        assert!(!holds(Condition::LacksLabel {
            label_id: "vip".into()
        }));
        assert!(holds(Condition::SubjectContains {
            text: "заказ".into()
        }));
        assert!(holds(Condition::MessageContains {
            text: "refund".into()
        }));
        assert!(
            !Condition::MessageContains {
                text: "refund".into()
            }
            .holds(&f, &TriggerEvent::CaseCreated),
            "no message, no match"
        );
        assert!(holds(Condition::CustomerNameContains {
            text: "ann".into()
        }));
        assert!(holds(Condition::CustomerIdIs {
            customer_id: "tg-42".into()
        }));
        assert!(holds(Condition::OutsideBusinessHours));
        assert!(!holds(Condition::InBusinessHours));
        let no_hours = CaseFacts {
            in_business_hours: None,
            ..facts()
        };
        assert!(
            Condition::InBusinessHours.holds(&no_hours, &e),
            "no schedule: always open"
        );
        assert!(conditions_hold(&[], &f, &e), "no conditions: always");
    }

    #[test]
    fn triggers_match_their_events() {
        let closed = TriggerEvent::StatusChanged { to: Status::Closed };
        assert!(trigger_matches(
            &Trigger::StatusChanged { to: None },
            "r",
            &closed
        ));
        assert!(trigger_matches(
            &Trigger::StatusChanged {
                to: Some(Status::Closed)
            },
            "r",
            &closed
        ));
        assert!(!trigger_matches(
            &Trigger::StatusChanged {
                to: Some(Status::Open)
            },
            "r",
            &closed
        ));
        assert!(trigger_matches(&Trigger::CustomerMessage, "r", &msg("hi")));
        assert!(!trigger_matches(&Trigger::CaseCreated, "r", &msg("hi")));
        let due = TriggerEvent::TimerDue {
            rule_id: "r1".into(),
        };
        assert!(trigger_matches(
            &Trigger::PendingFor { seconds: 5 },
            "r1",
            &due
        ));
        assert!(!trigger_matches(
            &Trigger::PendingFor { seconds: 5 },
            "r2",
            &due
        ));
        assert_eq!(
            TriggerEvent::of_change(
                (Status::Open, Some(ChatState::Active)),
                (Status::Closed, Some(ChatState::Finished))
            ),
            vec![TriggerEvent::ChatFinished, closed]
        );
        assert!(TriggerEvent::of_change((Status::Open, None), (Status::Open, None)).is_empty());
        assert!(waiting_state_holds(
            &Trigger::PendingFor { seconds: 1 },
            Status::Pending,
            false
        ));
        assert!(!waiting_state_holds(
            &Trigger::OpenWithoutReply { seconds: 1 },
            Status::Open,
            false
        ));
        assert!(waiting_state_holds(
            &Trigger::OpenWithoutReply { seconds: 1 },
            Status::Open,
            true
        ));
    }

    #[test]
    fn rules_refuse_what_does_not_fit() {
        let close = Action::SetStatus {
            status: Status::Closed,
        };
        assert!(
            validate_rule(
                &Trigger::PendingFor { seconds: 7200 },
                &[],
                std::slice::from_ref(&close)
            )
            .is_ok()
        );
        let err = |t: Trigger, c: Vec<Condition>, a: Vec<Action>| {
            validate_rule(&t, &c, &a).unwrap_err().message
        };
        assert!(
            err(
                Trigger::PendingFor { seconds: 0 },
                vec![],
                vec![close.clone()]
            )
            .contains("seconds")
        );
        assert!(err(Trigger::CaseCreated, vec![], vec![]).contains("at least one action"));
        assert!(
            err(
                Trigger::CaseCreated,
                vec![Condition::MessageContains { text: "x".into() }],
                vec![close.clone()]
            )
            .starts_with("condition 1: message_contains only fits")
        );
        assert!(
            err(
                Trigger::ChatFinished,
                vec![],
                vec![
                    close.clone(),
                    Action::FinishChat {
                        status: Status::Closed
                    }
                ]
            )
            .starts_with("action 2: finish_chat does not fit")
        );
        assert!(
            err(
                Trigger::AgentReplied,
                vec![],
                vec![Action::SendReply { text: "hi".into() }]
            )
            .contains("agent_replied")
        );
        assert!(
            err(
                Trigger::CaseCreated,
                vec![],
                vec![Action::SendReply {
                    text: "hi {{nope}}".into()
                }]
            )
            .contains("unknown placeholder")
        );
        assert!(
            err(
                Trigger::StatusChanged {
                    to: Some(Status::Closed)
                },
                vec![],
                vec![close]
            )
            .contains("changes nothing")
        );
        assert!(
            err(
                Trigger::CaseCreated,
                vec![Condition::StatusIs { statuses: vec![] }],
                vec![Action::SendReply { text: "hi".into() }]
            )
            .contains("at least one status")
        );
        let split = || vec![Action::SplitOnTopicChange {}];
        assert!(validate_rule(&Trigger::CustomerMessage, &[], &split()).is_ok());
        for trigger in [
            Trigger::CaseCreated,
            Trigger::AgentReplied,
            Trigger::ChatFinished,
            Trigger::PendingFor { seconds: 60 },
        ] {
            assert!(err(trigger, vec![], split()).contains("only fits the customer_message"));
        }
        assert_eq!(
            serde_json::from_value::<Action>(json!({"type": "split_on_topic_change"})).unwrap(),
            Action::SplitOnTopicChange {}
        );
        assert!(
            serde_json::from_value::<Action>(json!({"type": "split_on_topic_change", "x": 1}))
                .is_err()
        );
        let in_template = crate::templates::validate_template("", &split()).unwrap_err();
        assert_eq!(in_template.code, "template_split_on_topic");
    }

    #[test]
    fn rules_have_a_stable_json_form() {
        let trigger: Trigger =
            serde_json::from_value(json!({"type": "pending_for", "seconds": 2})).unwrap();
        assert_eq!(trigger, Trigger::PendingFor { seconds: 2 });
        let any: Trigger = serde_json::from_value(json!({"type": "status_changed"})).unwrap();
        assert_eq!(
            serde_json::to_value(&any).unwrap(),
            json!({"type": "status_changed"})
        );
        let actions: Vec<Action> = serde_json::from_value(json!([
            {"type": "send_reply", "text": "We are on it"},
            {"type": "set_status", "status": "closed"},
            {"type": "add_label", "label_id": "l1"}
        ]))
        .unwrap();
        assert_eq!(
            actions[0],
            Action::SendReply {
                text: "We are on it".into()
            }
        );
        assert_eq!(
            actions[1],
            Action::SetStatus {
                status: Status::Closed
            }
        );
        assert_eq!(
            serde_json::to_value(&actions).unwrap()[0],
            json!({"type": "send_reply", "text": "We are on it"})
        );
        let conditions: Vec<Condition> = serde_json::from_value(json!([
            {"type": "status_is", "statuses": ["open"]},
            {"type": "in_business_hours"}
        ]))
        .unwrap();
        assert_eq!(conditions.len(), 2);
        for bad in [
            json!({"type": "send_reply", "text": "x", "extra": 1}),
            json!({"type": "explode"}),
        ] {
            assert!(serde_json::from_value::<Action>(bad).is_err());
        }
        assert!(serde_json::from_value::<Trigger>(json!({"type": "pending_for"})).is_err());
    }
}
