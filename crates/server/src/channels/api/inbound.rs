//! The `api` channel's inbound side: a messenger's webhook event as it
//! arrives, checked, and handed to the inbound use cases (R6 for a
//! message, R10 for a reaction).

use casedesk_store::ChannelRecord;
use serde::{Deserialize, Deserializer};

use crate::AppState;
use crate::error::AppError;
use crate::usecases::inbound::{self, InboundMessage, InboundReaction, InboundResult};

/// A JSON object as `T`: serde also reads a struct from an array of its
/// fields, which the document does not allow.
fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    T::deserialize(serde_json::Value::Object(map)).map_err(serde::de::Error::custom)
}

/// The customer of an inbound event. Fields beyond these are ignored.
#[derive(Deserialize)]
pub struct InboundCustomer {
    pub id: String,
    pub name: Option<String>,
}

/// A customer event from a messenger. Its schema (in the OpenAPI document,
/// `InboundEvent`) says so too: fields beyond these are ignored (a
/// messenger may send more than casedesk reads).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboundEvent {
    Message {
        /// The channel's own message id: the idempotency key.
        message_id: String,
        #[serde(deserialize_with = "object")]
        customer: InboundCustomer,
        text: String,
        /// When the customer sent it, if the channel knows; informational.
        sent_at: Option<String>,
    },
    Reaction {
        #[serde(deserialize_with = "object")]
        customer: InboundCustomer,
        /// The channel's id of a customer message, or casedesk's id of an agent reply.
        target_message_id: String,
        emoji: String,
    },
}

/// Longest id of a message or customer a channel may send.
pub const MAX_ID_CHARS: usize = 256;

pub fn check_id(what: &str, id: &str) -> Result<(), AppError> {
    if id.trim().is_empty() || id.chars().count() > MAX_ID_CHARS {
        return Err(AppError::field_length(
            what,
            1,
            MAX_ID_CHARS,
            format!("{what} must be 1 to {MAX_ID_CHARS} characters, not all white space"),
        ));
    }
    Ok(())
}

/// A webhook event as the use cases take it: its ids checked, the
/// customer's name trimmed and cut to 200 characters (blank is no name).
/// The texts and emoji are checked by the use cases, for every channel.
pub enum Inbound {
    Message(InboundMessage),
    Reaction(InboundReaction),
}

impl TryFrom<InboundEvent> for Inbound {
    type Error = AppError;

    fn try_from(event: InboundEvent) -> Result<Inbound, AppError> {
        Ok(match event {
            InboundEvent::Message {
                message_id,
                customer,
                text,
                sent_at: _,
            } => {
                check_id("message_id", &message_id)?;
                check_id("customer.id", &customer.id)?;
                Inbound::Message(InboundMessage {
                    message_id,
                    customer_id: customer.id,
                    customer_name: customer
                        .name
                        .map(|n| n.trim().chars().take(200).collect::<String>())
                        .filter(|n| !n.is_empty()),
                    customer_language: None,
                    text,
                    attachments: Vec::new(),
                })
            }
            InboundEvent::Reaction {
                customer,
                target_message_id,
                emoji,
            } => {
                check_id("target_message_id", &target_message_id)?;
                check_id("customer.id", &customer.id)?;
                Inbound::Reaction(InboundReaction {
                    customer_id: customer.id,
                    target_message_id,
                    emoji,
                })
            }
        })
    }
}

/// Routes one event of the channel: a message by R6, a reaction by R10.
pub async fn receive(
    app: &AppState,
    channel: ChannelRecord,
    event: InboundEvent,
) -> Result<InboundResult, AppError> {
    match Inbound::try_from(event)? {
        Inbound::Message(m) => inbound::receive_message(app, channel, m).await,
        Inbound::Reaction(r) => inbound::receive_reaction(app, channel, r).await,
    }
}
