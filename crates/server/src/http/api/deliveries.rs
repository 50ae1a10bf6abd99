//! Outbound webhook deliveries of a channel (admins): what waits, what
//! arrived, what failed for good, and redelivering it.

use axum::extract::{Path, State};
use casedesk_store::{OutboxState, StoreError, read, write};

use super::dto::{DeliveryDto, DeliveryListQuery, ItemsDto};
use super::{Query, log_query, own_channel};
use crate::App;
use crate::auth::Agent;
use crate::error::AppError;

#[utoipa::path(get, path = "/api/v1/channels/{id}/deliveries", tag = "channels",
    params(("id" = String, Path), DeliveryListQuery),
    responses((status = 200, body = ItemsDto<DeliveryDto>,
        description = "The channel's webhook deliveries, newest first"),
        (status = 400), (status = 403), (status = 404)))]
pub async fn list_deliveries(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Query(q): Query<DeliveryListQuery>,
) -> Result<axum::Json<ItemsDto<DeliveryDto>>, AppError> {
    agent.require_admin()?;
    let (state, limit) = log_query(
        q.state.as_deref(),
        OutboxState::parse,
        &["pending", "delivered", "failed"],
        q.limit,
    )?;
    let account_id = agent.account_id().to_owned();
    let items = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            own_channel(tx, &account_id, &id).await?;
            Ok(tx.list_outbox(&account_id, &id, state, limit).await?)
        })
    })
    .await?;
    Ok(axum::Json(ItemsDto {
        items: items.iter().map(DeliveryDto::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/deliveries/{id}/redeliver", tag = "channels",
    params(("id" = String, Path)),
    responses((status = 200, body = DeliveryDto,
        description = "Queued again at once, its attempts starting over; it goes to the \
            channel's current webhook URL"),
        (status = 403), (status = 404),
        (status = 409, description = "It was delivered already")))]
pub async fn redeliver(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<DeliveryDto>, AppError> {
    agent.require_admin()?;
    let account_id = agent.account_id().to_owned();
    let already = || AppError::conflict("already_delivered", "the delivery was delivered already");
    let clock = app.clock.clone();
    let item = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let item = tx.get_outbox(&account_id, &id).await.map_err(|e| match e {
                StoreError::NotFound => AppError::not_found("delivery"),
                e => e.into(),
            })?;
            if item.state() == OutboxState::Delivered
                || !tx.requeue_outbox(&account_id, &id, clock.now()).await?
            {
                return Err(already());
            }
            Ok(tx.get_outbox(&account_id, &id).await?)
        })
    })
    .await?;
    app.outbox_changed.notify_one();
    Ok(axum::Json(DeliveryDto::from(&item)))
}
