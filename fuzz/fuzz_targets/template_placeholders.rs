//! Template texts with `{{customer.name | fallback}}` placeholders
//! (`casedesk_domain::templates`): arbitrary text as a template, rendered
//! with arbitrary values.
//!
//! Input: the template, then optionally the values customer.name,
//! customer.id, case.subject, agent.name, agent.email and channel.name,
//! each after a U+001F (unit separator); missing values are realistic
//! defaults, so a seed can be a plain template text.
//!
//! Properties: nothing panics; a text without `{{` renders as itself; what
//! is accepted when a template is saved renders when it is applied, whatever
//! the values.

#![no_main]

use casedesk_domain::templates::{
    Action, PlaceholderValues, TextTemplate, render, validate_template,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = input.split('\u{1f}');
    let text = parts.next().unwrap_or_default();
    let mut value = |default: &str| parts.next().unwrap_or(default).to_owned();
    let values = PlaceholderValues {
        customer_name: Some(value("Анна 🌷")).filter(|n| n != "-"),
        customer_id: value("tg-42"),
        case_subject: value("Where is my order?"),
        agent_name: value("Boris"),
        agent_email: value("boris@example.com"),
        channel_name: value("Telegram"),
        case_number: 1042,
    };

    let parsed = TextTemplate::parse(text);
    if let Ok(template) = &parsed {
        let out = template.render(&values);
        if !text.contains("{{") {
            assert_eq!(out, text, "a text without placeholders changed");
        }
        assert_eq!(render(text, &values).as_ref(), Ok(&out));
    }
    let saved = validate_template(text, &[]);
    if saved.is_ok() {
        assert!(parsed.is_ok(), "saved but does not parse: {text:?}");
    }
    // The same text as a rule's or a template's action.
    for action in [
        Action::SetSubject {
            subject: text.to_owned(),
        },
        Action::AddNote {
            text: text.to_owned(),
        },
        Action::SendReply {
            text: text.to_owned(),
        },
    ] {
        if action.validate().is_ok() {
            assert!(parsed.is_ok(), "{action:?} is valid but does not parse");
        }
    }
});
