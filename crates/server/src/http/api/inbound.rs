//! `POST /api/v1/channels/{id}/inbound`: the webhook of `api` channels,
//! authenticated by the channel's inbound token; the event itself is the
//! channel's to read ([`crate::channels::api::inbound`]).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use casedesk_store::{ChannelRecord, StoreError, read};
use subtle::ConstantTimeEq;

use super::Json;
use super::dto::*;
use crate::App;
use crate::channels;
use crate::error::AppError;

/// The channel of the URL, if the bearer token is its inbound token
/// (checked in constant time, before any body is read).
pub async fn authenticated(parts: &mut Parts, app: &App) -> Result<ChannelRecord, AppError> {
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
            crate::channels::takes_in(&c)?;
            Ok(c)
        }
        // Same answer for an unknown channel and a wrong token.
        _ => Err(AppError::unauthorized("invalid channel or inbound token")),
    }
}

/// An `api` channel of the URL, if the bearer token is its inbound token.
pub struct InboundChannel(ChannelRecord);

impl axum::extract::FromRequestParts<App> for InboundChannel {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        match authenticated(parts, app).await {
            Ok(c) => {
                // A widget channel's secret signs its site's user ids; it
                // is no key to post as any customer.
                if c.kind == casedesk_domain::ChannelKind::Widget {
                    return Err(AppError::conflict(
                        "widget_channel",
                        "a widget channel takes messages from its widget, not the inbound webhook",
                    ));
                }
                if c.kind == casedesk_domain::ChannelKind::Telegram {
                    return Err(AppError::conflict(
                        "telegram_channel",
                        "a Telegram channel takes messages from its bot, not the inbound webhook",
                    ));
                }
                if c.kind == casedesk_domain::ChannelKind::Email {
                    return Err(AppError::conflict(
                        "email_channel",
                        "an e-mail channel takes letters at /inbound/mime, not the inbound webhook",
                    ));
                }
                Ok(InboundChannel(c))
            }
            Err(e) => Err(e),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/channels/{id}/inbound", tag = "channels",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "channel id")),
    request_body = InboundEvent,
    responses((status = 200, body = InboundResponse), (status = 401),
        (status = 404, description = "The channel has been removed (channel_removed)"),
        (status = 409, description = "The channel is a widget, Telegram or e-mail channel: its messages come from its widget, bot or mailbox; or it is turned off (channel_disabled)"),
        (status = 413), (status = 422),
        (status = 503, description = "Too many messages are waiting to be stored (busy); see Retry-After")))]
pub async fn inbound(
    State(app): State<App>,
    InboundChannel(channel): InboundChannel,
    Json(event): Json<InboundEvent>,
) -> Result<axum::Json<InboundResponse>, AppError> {
    let result = channels::api::receive(&app, channel, event).await?;
    Ok(axum::Json(InboundResponse {
        case_id: result.case_id,
        case_number: result.case_number,
        message_id: result.message_id,
        outcome: result.outcome.as_str().to_owned(),
    }))
}
