//! E-mail channels: the MIME endpoint, where a provider's inbound webhook
//! or an MTA pipe posts raw letters (bearer: the channel's inbound token,
//! checked before the body is read). A letter is stored raw and answered
//! at once; it becomes a case (or joins one) when the update worker reads
//! it.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use casedesk_domain::ChannelKind;
use casedesk_store::ChannelRecord;
use serde::Serialize;
use utoipa::ToSchema;

use super::inbound::authenticated;
use crate::App;
use crate::auth::Agent;
use crate::channels::email::{connect, receive};
use crate::error::AppError;
use crate::usecases::attachments;

/// An e-mail channel of the URL, if the bearer token is its inbound token.
pub struct MimeChannel(ChannelRecord);

impl axum::extract::FromRequestParts<App> for MimeChannel {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        let c = authenticated(parts, app).await?;
        if c.kind != ChannelKind::Email {
            return Err(AppError::conflict(
                "not_an_email_channel",
                "only e-mail channels take raw letters; post messages to /inbound",
            ));
        }
        Ok(MimeChannel(c))
    }
}

/// A stored letter.
#[derive(Serialize, ToSchema)]
pub struct MimeResponse {
    /// `stored`, or `duplicate` for a letter stored before (its
    /// Message-ID, or its bytes without one).
    pub status: String,
    /// Its place in the channel's log (`GET /channels/{id}/updates`);
    /// `null` for a duplicate.
    pub update_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/channels/{id}/inbound/mime", tag = "channels",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "channel id")),
    request_body(content = String, content_type = "message/rfc822",
        description = "One raw RFC 5322 letter, as received"),
    responses((status = 202, body = MimeResponse, description = "Stored; read by the update worker"),
        (status = 401), (status = 409, description = "Not an e-mail channel"),
        (status = 413), (status = 422, description = "An empty body"),
        (status = 503, description = "This server keeps no attachments, where letters are kept")))]
pub async fn inbound_mime(
    State(app): State<App>,
    MimeChannel(channel): MimeChannel,
    body: Body,
) -> Result<(StatusCode, axum::Json<MimeResponse>), AppError> {
    let files = attachments::configured(&app)?;
    let limit = files.max_letter_bytes();
    let raw = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|_| attachments::too_large(limit))?;
    let received = receive::store_letter(&app, &channel, raw.to_vec(), "mime").await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(MimeResponse {
            status: match received.update_id {
                Some(_) => "stored",
                None => "duplicate",
            }
            .to_owned(),
            update_id: received.update_id,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/channels/{id}/email/test", tag = "channels",
    params(("id" = String, Path)),
    responses((status = 200, body = connect::Tested,
        description = "Each server connected to (IMAP: logged in, folder opened), or what failed"),
        (status = 403), (status = 404, description = "No such e-mail channel")))]
pub async fn test_connection(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<connect::Tested>, AppError> {
    agent.require_admin()?;
    Ok(axum::Json(
        connect::test(&app, agent.account_id(), &id).await?,
    ))
}
