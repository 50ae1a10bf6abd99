//! The inbound webhook (`POST /api/v1/channels/{id}/inbound`): arbitrary
//! bytes as its body, through the server's own JSON body parsing (syntax,
//! shape, the NUL refusal) and then the checks the handler and the use
//! cases apply before anything reaches the store.
//!
//! Properties: nothing panics; bad input is a 400 or 422, never a 5xx; a
//! body that is accepted holds no NUL in any field; the checked values keep
//! the limits the store relies on.

#![no_main]

use casedesk_server::channels::api::{Inbound, InboundEvent};
use casedesk_server::error::AppError;
use casedesk_server::http::api::json_body;
use casedesk_server::usecases::inbound::check_emoji;
use casedesk_server::usecases::unit::check_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let event = match json_body::<InboundEvent>(body) {
        Ok(event) => event,
        Err(e) => return refused(&e),
    };
    let fields: Vec<&str> = match &event {
        InboundEvent::Message {
            message_id,
            customer,
            text,
            sent_at,
        } => [message_id, &customer.id, text]
            .into_iter()
            .chain(customer.name.as_ref())
            .chain(sent_at.as_ref())
            .map(String::as_str)
            .collect(),
        InboundEvent::Reaction {
            customer,
            target_message_id,
            emoji,
        } => [&customer.id, target_message_id, emoji]
            .into_iter()
            .chain(customer.name.as_ref())
            .map(String::as_str)
            .collect(),
    };
    assert!(
        fields.iter().all(|f| !f.contains('\0')),
        "an accepted body holds NUL: {fields:?}"
    );
    match Inbound::try_from(event) {
        Err(e) => refused(&e),
        Ok(Inbound::Message(m)) => {
            for id in [&m.message_id, &m.customer_id] {
                assert!(
                    !id.trim().is_empty() && id.chars().count() <= 256,
                    "id {id:?}"
                );
            }
            if let Some(name) = &m.customer_name {
                assert!(!name.is_empty() && name.chars().count() <= 200, "{name:?}");
            }
            if let Err(e) = check_text(&m.text) {
                refused(&e);
            }
        }
        Ok(Inbound::Reaction(r)) => {
            for id in [&r.target_message_id, &r.customer_id] {
                assert!(
                    !id.trim().is_empty() && id.chars().count() <= 256,
                    "id {id:?}"
                );
            }
            match check_emoji(&r.emoji) {
                Ok(emoji) => assert!(
                    !emoji.is_empty() && emoji.chars().count() <= 16 && emoji.trim() == emoji,
                    "{emoji:?}"
                ),
                Err(e) => refused(&e),
            }
        }
    }
});

/// Input the server refuses is the client's fault, said in a message.
fn refused(e: &AppError) {
    assert!(
        matches!(e.status.as_u16(), 400 | 422),
        "{} {}: {}",
        e.status,
        e.code,
        e.message
    );
    assert!(!e.message.is_empty());
}
