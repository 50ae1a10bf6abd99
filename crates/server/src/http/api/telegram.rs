//! Telegram channels: the webhook Telegram posts updates to (checked by
//! the secret it was given, in constant time, before the body is read),
//! and for admins the bot's status and the channel's update log, with a
//! way to retry an update that failed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use casedesk_store::{ChannelRecord, UpdateState, read, write};
use subtle::ConstantTimeEq;

use super::dto::{ChannelUpdateDto, ItemsDto, UpdateListQuery};
use super::{Query, log_query, own_channel};
use crate::App;
use crate::auth::Agent;
use crate::channels::telegram::{connect, receive};
use crate::error::AppError;

/// The header Telegram puts the webhook's `secret_token` in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The Telegram channel of the URL, if the call carries its secret.
pub struct WebhookChannel(ChannelRecord);

impl axum::extract::FromRequestParts<App> for WebhookChannel {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        let refused = || AppError::unauthorized("invalid channel or secret token");
        let given = parts
            .headers
            .get(SECRET_HEADER)
            .map(|v| v.as_bytes().to_vec())
            .ok_or_else(refused)?;
        let Path(id) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(|_| refused())?;
        // `bot` is `None` for an unknown channel and one of another kind.
        match crate::channels::telegram::bot(app, &id).await? {
            Some(bot) if bool::from(bot.secret.webhook_secret.as_bytes().ct_eq(&given)) => {
                crate::channels::takes_in(&bot.channel)?;
                Ok(WebhookChannel(bot.channel))
            }
            // Same answer for an unknown channel and a wrong secret.
            _ => Err(refused()),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/channels/{id}/telegram/webhook", tag = "channels",
    security(()),
    params(("id" = String, Path, description = "channel id"),
        ("X-Telegram-Bot-Api-Secret-Token" = String, Header,
            description = "The secret casedesk gave Telegram with setWebhook")),
    request_body(content = Object, description = "A Telegram Update, stored as it is"),
    responses((status = 200, description = "Stored (or stored before): Telegram may forget it"),
        (status = 401, description = "Unknown channel or wrong secret"),
        (status = 404, description = "The channel has been removed (channel_removed)"),
        (status = 409, description = "The channel is turned off (channel_disabled): Telegram retries")))]
pub async fn webhook(
    State(app): State<App>,
    WebhookChannel(channel): WebhookChannel,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    // Whatever the update holds, it is kept and acknowledged: an update
    // casedesk cannot read is an admin's to look at, not Telegram's to
    // send again and again.
    receive::store_update(&app, &channel, &body).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/api/v1/channels/{id}/telegram", tag = "channels",
    params(("id" = String, Path)),
    responses((status = 200, body = connect::Status), (status = 403), (status = 404)))]
pub async fn status(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<connect::Status>, AppError> {
    agent.require_admin()?;
    Ok(axum::Json(
        connect::status(&app, agent.account_id(), &id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}/updates", tag = "channels",
    params(("id" = String, Path), UpdateListQuery),
    responses((status = 200, body = ItemsDto<ChannelUpdateDto>,
        description = "The updates the channel's messenger delivered, newest first"),
        (status = 400), (status = 403), (status = 404)))]
pub async fn list_updates(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Query(q): Query<UpdateListQuery>,
) -> Result<axum::Json<ItemsDto<ChannelUpdateDto>>, AppError> {
    agent.require_admin()?;
    let (state, limit) = log_query(
        q.state.as_deref(),
        UpdateState::parse,
        &["pending", "processed", "failed"],
        q.limit,
    )?;
    let account_id = agent.account_id().to_owned();
    let items = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            own_channel(tx, &account_id, &id).await?;
            Ok(tx
                .list_channel_updates(&account_id, &id, state, limit)
                .await?)
        })
    })
    .await?;
    Ok(axum::Json(ItemsDto {
        items: items.iter().map(ChannelUpdateDto::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/channels/{id}/updates/{update_id}/retry", tag = "channels",
    params(("id" = String, Path), ("update_id" = i64, Path)),
    responses((status = 204, description = "Pending again, processed in its chat's order"),
        (status = 403), (status = 404, description = "No such channel, or no failed update of it with this id")))]
pub async fn retry_update(
    State(app): State<App>,
    agent: Agent,
    Path((id, update_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    agent.require_admin()?;
    // Read here, so that a number out of range is the API's 404 like any
    // unknown update, not the router's plain-text refusal.
    let update_id: i64 = update_id
        .parse()
        .map_err(|_| AppError::not_found("failed update"))?;
    let account_id = agent.account_id().to_owned();
    let now = app.clock.now();
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            own_channel(tx, &account_id, &id).await?;
            if tx
                .requeue_channel_update(&account_id, &id, update_id, now)
                .await?
            {
                Ok(())
            } else {
                Err(AppError::not_found("failed update"))
            }
        })
    })
    .await?;
    app.updates_changed.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
