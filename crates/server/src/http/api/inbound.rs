//! The generic messenger webhook of `api` channels.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use casedesk_store::{ChannelRecord, StoreError, read};
use subtle::ConstantTimeEq;

use super::Json;
use super::dto::*;
use crate::App;
use crate::cases::{self, InboundMessage, InboundReaction};
use crate::error::AppError;

/// The channel of the URL, if the bearer token is its inbound token.
pub struct InboundChannel(ChannelRecord);

impl axum::extract::FromRequestParts<App> for InboundChannel {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        let token = crate::auth::bearer(parts)
            .ok_or_else(|| AppError::unauthorized("missing bearer inbound token"))?
            .to_owned();
        let Path(id) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(|_| AppError::not_found("channel"))?;
        let channel = read::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.find_channel(&id).await })
        })
        .await?;
        match channel {
            Some(c) if bool::from(c.inbound_token.as_bytes().ct_eq(token.as_bytes())) => {
                // A widget channel's secret signs its site's user ids; it
                // is no key to post as any customer.
                if c.kind == casedesk_domain::ChannelKind::Widget {
                    return Err(AppError::conflict(
                        "widget_channel",
                        "a widget channel takes messages from its widget, not the inbound webhook",
                    ));
                }
                Ok(InboundChannel(c))
            }
            // Same answer for an unknown channel and a wrong token.
            _ => Err(AppError::unauthorized("invalid channel or inbound token")),
        }
    }
}

/// Longest id of a message or customer a channel may send.
pub(super) const MAX_ID_CHARS: usize = 256;

pub(super) fn check_id(what: &str, id: &str) -> Result<(), AppError> {
    if id.trim().is_empty() || id.chars().count() > MAX_ID_CHARS {
        return Err(AppError::invalid(format!(
            "{what} must be 1 to {MAX_ID_CHARS} characters, not all white space"
        )));
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
                    text,
                    attachment: None,
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

#[utoipa::path(post, path = "/api/v1/channels/{id}/inbound", tag = "channels",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "channel id")),
    request_body = InboundEvent,
    responses((status = 200, body = InboundResponse), (status = 401), (status = 404),
        (status = 409, description = "The channel is a widget channel: its messages come from its widget"),
        (status = 413), (status = 422)))]
pub async fn inbound(
    State(app): State<App>,
    InboundChannel(channel): InboundChannel,
    Json(event): Json<InboundEvent>,
) -> Result<axum::Json<InboundResponse>, AppError> {
    let result = match Inbound::try_from(event)? {
        Inbound::Message(m) => cases::receive_message(&app, channel, m).await?,
        Inbound::Reaction(r) => cases::receive_reaction(&app, channel, r).await?,
    };
    Ok(axum::Json(InboundResponse {
        case_id: result.case_id,
        case_number: result.case_number,
        message_id: result.message_id,
        outcome: result.outcome.as_str().to_owned(),
    }))
}
