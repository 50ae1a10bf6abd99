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
    request_body(content = super::dto::FileBytes, content_type = "application/octet-stream",
        description = "One raw RFC 5322 letter, as received; any Content-Type is taken \
            (`message/rfc822` is usual)"),
    responses((status = 202, body = MimeResponse, description = "Stored; read by the update worker"),
        (status = 401),
        (status = 404, description = "The channel has been removed (channel_removed)"),
        (status = 409, description = "Not an e-mail channel, or turned off (channel_disabled)"),
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

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LetterHtmlQuery {
    /// Show remote images too (they tell the sender the letter was read).
    pub remote_images: Option<bool>,
}

/// The header telling how many remote images were left out.
pub const REMOTE_IMAGES_HEADER: &str = "x-casedesk-remote-images";

#[utoipa::path(get, path = "/api/v1/letters/{message_id}/html", tag = "cases",
    params(("message_id" = String, Path), LetterHtmlQuery),
    responses((status = 200, content_type = "text/html",
        description = "The letter's HTML body, sanitized, in a document sandboxed without \
            script; `X-Casedesk-Remote-Images` says how many remote images were left out"),
        (status = 404, description = "No such letter, or it has no HTML body"),
        (status = 503, description = "This server keeps no attachments, where letters are kept")))]
pub async fn letter_html(
    State(app): State<App>,
    agent: Agent,
    Path(message_id): Path<String>,
    super::Query(q): super::Query<LetterHtmlQuery>,
) -> Result<axum::response::Response, AppError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let files = attachments::configured(&app)?;
    let account_id = agent.account_id().to_owned();
    let id = message_id.clone();
    let letter = casedesk_store::read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let message = tx
                .get_message(&account_id, &id)
                .await
                .map_err(|_| AppError::not_found("letter"))?;
            Ok(tx
                .list_case_letters(&account_id, &message.case_id)
                .await?
                .into_iter()
                .find(|l| l.message_id == message.id))
        })
    })
    .await?
    .ok_or_else(|| AppError::not_found("letter"))?;
    let no_html = || AppError::not_found("HTML body of the letter");
    let html = letter.html.as_deref().ok_or_else(no_html)?;
    // Inline images come from the raw letter, kept as it arrived.
    let inline = match &letter.raw_file {
        Some(raw) => match files.read_file(&letter.account_id, raw).await {
            Ok(bytes) => casedesk_mail::Letter::parse(&bytes)
                .map(|l| casedesk_mail::html::inline_images(&l))
                .unwrap_or_default(),
            Err(_) => Default::default(),
        },
        None => Default::default(),
    };
    let remote = q.remote_images.unwrap_or(false);
    let shown = casedesk_mail::html::sanitize(html, &inline, remote);
    let csp = format!(
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; \
         img-src data:{}; style-src 'unsafe-inline'; frame-ancestors 'self'",
        if remote { " https: http:" } else { "" }
    );
    let mut response = casedesk_mail::html::document(&shown.html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(REMOTE_IMAGES_HEADER, HeaderValue::from(shown.remote_images));
    Ok(response)
}
