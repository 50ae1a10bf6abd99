//! Telegram Bot API updates (`casedesk_telegram::interpret`): arbitrary
//! bytes as the JSON body of a webhook call or one element of
//! `getUpdates`.
//!
//! Properties: nothing panics; whatever parses is interpreted; a message,
//! edit or reaction is keyed `"{chat id}:{message id}"` within its own
//! chat, and is a private chat's, from the person it names.

#![no_main]

use casedesk_telegram::types::Update;
use casedesk_telegram::{Inbound, interpret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(update) = serde_json::from_slice::<Update>(data) else {
        return;
    };
    let meaning = interpret(&update);
    let chat_key = meaning.chat_key();
    match &meaning {
        Inbound::Message(m) | Inbound::Edit(m) => {
            assert!(m.message_key.starts_with(&format!("{chat_key}:")));
            assert_eq!(m.chat_id.to_string(), chat_key);
            assert!(!m.text.is_empty() || !m.files.is_empty());
            assert!(!m.customer.external_id.is_empty());
        }
        Inbound::Reaction {
            message_key, emoji, ..
        } => {
            assert!(message_key.starts_with(&format!("{chat_key}:")));
            assert!(!emoji.is_empty());
        }
        Inbound::Ignored { reason, .. } => assert!(!reason.is_empty()),
    }
});
