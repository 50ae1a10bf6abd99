//! The web chat widget's API: what a visitor's browser calls, cross-origin
//! (see [`crate::http::cors`]), with a visitor token instead of an agent's.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use casedesk_domain::{AuthorType, MessageKind};
use casedesk_store::{
    AttachmentRecord, CustomerRecord, MessageRecord, ReactionRecord, StoreError, read, write,
};
use futures::Stream;
use serde_json::json;

use super::dto::*;
use super::{Json, Query};
use crate::App;
use crate::channels::widget::{self, VisitorClaim, client_id};
use crate::error::AppError;
use crate::limits::Rate;
use crate::usecases::agent_actions;
use crate::usecases::unit::check_text;

/// Most messages one `GET …/messages` returns; the widget asks again.
const PAGE: i64 = 500;
/// Help Center links one visitor may ask for.
const HELP_LINKS: Rate = Rate {
    max: 10,
    window: Duration::from_secs(60),
    refusal: "too many Help Center links at once; wait a moment",
};
/// New visitors per client address.
const VISITORS_PER_CLIENT: Rate = Rate {
    max: 60,
    window: Duration::from_secs(60),
    refusal: "too many new chats from this address; wait a minute",
};
/// New visitors per channel (a flood of sessions is refused).
const VISITORS_PER_CHANNEL: Rate = Rate {
    max: 120,
    window: Duration::from_secs(60),
    refusal: "too many new chats at once; wait a moment",
};

fn bearer_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn author(m: &MessageRecord) -> &'static str {
    match m.author_type {
        AuthorType::Customer => "customer",
        AuthorType::Agent => "agent",
        AuthorType::System => "system",
    }
}

/// The visitor's conversation after `after_seq`, as the widget shows it.
async fn conversation(
    app: &App,
    customer: &CustomerRecord,
    after_seq: i64,
) -> Result<Vec<WidgetMessageDto>, AppError> {
    let (account_id, customer_id) = (customer.account_id.clone(), customer.id.clone());
    let (messages, numbers, reactions, files) = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let messages = tx
                .list_customer_messages(&account_id, &customer_id, after_seq, PAGE)
                .await?;
            let cases: HashSet<String> = messages.iter().map(|m| m.case_id.clone()).collect();
            let mut numbers = HashMap::new();
            let mut reactions: Vec<ReactionRecord> = Vec::new();
            let mut files: Vec<AttachmentRecord> = Vec::new();
            for case_id in cases {
                let case = tx.get_case(&account_id, &case_id).await?;
                numbers.insert(case_id.clone(), case.number);
                reactions.extend(tx.list_reactions(&case_id).await?);
                files.extend(tx.list_case_attachments(&case_id).await?);
            }
            Ok((messages, numbers, reactions, files))
        })
    })
    .await?;
    Ok(messages
        .iter()
        .map(|m| WidgetMessageDto {
            id: m.id.clone(),
            case_id: m.case_id.clone(),
            case_number: numbers.get(&m.case_id).copied().unwrap_or_default(),
            author: author(m).to_owned(),
            text: m.text.clone(),
            created_at: crate::util::rfc3339(m.created_at),
            reactions: reactions
                .iter()
                .filter(|r| r.message_id == m.id)
                .map(|r| r.emoji.clone())
                .collect(),
            attachments: AttachmentDto::of(&m.id, &files),
        })
        .collect())
}

#[utoipa::path(post, path = "/api/v1/widget/{channel_id}/visitors", tag = "widget", security(()),
    params(("channel_id" = String, Path)), request_body = CreateVisitor,
    responses((status = 201, body = VisitorDto), (status = 401, description = "bad user_hash"),
        (status = 403, description = "the page's origin is not allowed"), (status = 404),
        (status = 409, description = "The channel is turned off (channel_disabled)"), (status = 429)))]
pub async fn create_visitor(
    State(app): State<App>,
    Path(channel_id): Path<String>,
    ip: super::ClientIp,
    Json(body): Json<CreateVisitor>,
) -> Result<(StatusCode, axum::Json<VisitorDto>), AppError> {
    let channel = widget::widget_channel(&app, &channel_id).await?;
    let client = format!("visitors-ip:{}", super::client_key(&ip));
    app.limits.hit(&client, &VISITORS_PER_CLIENT).await?;
    let channel_key = format!("visitors:{}", channel.id);
    app.limits.hit(&channel_key, &VISITORS_PER_CHANNEL).await?;
    let claim = VisitorClaim {
        user_id: body.user_id,
        user_hash: body.user_hash,
        name: body.name,
        email: body.email,
    };
    let (token, customer) = widget::create_visitor(&app, channel, claim).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(VisitorDto {
            visitor_token: token,
            name: customer.name,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/widget/{channel_id}/messages", tag = "widget", security(()),
    params(("channel_id" = String, Path), WidgetMessagesQuery),
    responses((status = 200, body = ItemsDto<WidgetMessageDto>,
        description = "The visitor's public conversation across their cases, oldest first, at most 500"),
        (status = 400), (status = 401),
        (status = 404, description = "`after` is not a message of the visitor's conversation")))]
pub async fn list_messages(
    State(app): State<App>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<WidgetMessagesQuery>,
) -> Result<axum::Json<ItemsDto<WidgetMessageDto>>, AppError> {
    let (_, customer) =
        widget::visitor_of(&app, &channel_id, bearer_of(&headers).as_deref()).await?;
    let after_seq = match q.after.filter(|a| !a.is_empty()) {
        None => 0,
        Some(id) => {
            let (account_id, customer_id) = (customer.account_id.clone(), customer.id.clone());
            read::<_, AppError, _>(&*app.store, move |tx| {
                Box::pin(async move {
                    // Another customer's message is as unknown as a made-up id.
                    let bad = || AppError::unknown("message", &id);
                    let m = tx
                        .get_message(&account_id, &id)
                        .await
                        .map_err(AppError::unknown_or("message", &id))?;
                    let case = tx.get_case(&account_id, &m.case_id).await?;
                    if case.customer_id != customer_id || m.kind != MessageKind::Message {
                        return Err(bad());
                    }
                    Ok(m.seq)
                })
            })
            .await?
        }
    };
    Ok(axum::Json(ItemsDto {
        items: conversation(&app, &customer, after_seq).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/widget/{channel_id}/messages", tag = "widget", security(()),
    params(("channel_id" = String, Path)), request_body = WidgetPostMessage,
    responses((status = 201, body = WidgetPosted), (status = 401), (status = 404, description = "The channel has been removed (channel_removed)"),
        (status = 409, description = "The channel is turned off (channel_disabled)"), (status = 422),
        (status = 429, description = "more than 10 messages in 10 s; see Retry-After"),
        (status = 503, description = "Too many messages are waiting to be stored (busy); see Retry-After")))]
pub async fn post_message(
    State(app): State<App>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<WidgetPostMessage>,
) -> Result<(StatusCode, axum::Json<WidgetPosted>), AppError> {
    let (_, customer) =
        widget::visitor_of(&app, &channel_id, bearer_of(&headers).as_deref()).await?;
    check_text(&body.text)?;
    let client_id = client_id(body.client_id)?;
    widget::count_message(&app, &customer.id).await?;
    let posted = post_as_visitor(&app, &channel_id, &customer, client_id, body.text, None).await?;
    if let Some(page) = body.page.as_deref().and_then(widget::page_of)
        && customer.page.as_deref() != Some(page.as_str())
    {
        let id = customer.id.clone();
        write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.set_customer_page(&id, &page).await })
        })
        .await?;
    }
    Ok((StatusCode::CREATED, axum::Json(posted)))
}

/// A visitor's message (with a stored file, maybe), routed by R6; a file
/// of a message already received (same client id) is not kept twice.
async fn post_as_visitor(
    app: &App,
    channel_id: &str,
    customer: &CustomerRecord,
    client_id: String,
    text: String,
    attachment: Option<AttachmentRecord>,
) -> Result<WidgetPosted, AppError> {
    let result =
        widget::receive_message(app, channel_id, customer, client_id, text, attachment).await?;
    let (message, files) = read::<_, StoreError, _>(&*app.store, {
        let (account_id, id, case_id) = (
            customer.account_id.clone(),
            result.message_id.clone(),
            result.case_id.clone(),
        );
        move |tx| {
            Box::pin(async move {
                Ok((
                    tx.get_message(&account_id, &id).await?,
                    tx.list_case_attachments(&case_id).await?,
                ))
            })
        }
    })
    .await?;
    let dto = WidgetMessageDto {
        id: message.id.clone(),
        case_id: result.case_id,
        case_number: result.case_number,
        author: author(&message).to_owned(),
        text: message.text,
        created_at: crate::util::rfc3339(message.created_at),
        reactions: Vec::new(),
        attachments: AttachmentDto::of(&message.id, &files),
    };
    Ok(WidgetPosted {
        message: dto,
        outcome: result.outcome.as_str().to_owned(),
    })
}

#[utoipa::path(post, path = "/api/v1/widget/{channel_id}/attachments", tag = "widget", security(()),
    params(("channel_id" = String, Path), AttachmentUploadQuery),
    request_body(content = FileBytes, content_type = "application/octet-stream",
        description = "The file's bytes (its type is sniffed from them)"),
    responses((status = 201, body = WidgetPosted, description = "A message carrying the file, routed like any message (R6)"),
        (status = 401), (status = 413, description = "larger than the limit (10 MiB by default)"),
        (status = 415, description = "not an accepted kind of file"), (status = 404, description = "The channel has been removed (channel_removed)"),
        (status = 409, description = "The channel is turned off (channel_disabled)"), (status = 429),
        (status = 503, description = "attachments are not configured")))]
pub async fn post_attachment(
    State(app): State<App>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<AttachmentUploadQuery>,
    body: axum::body::Body,
) -> Result<(StatusCode, axum::Json<WidgetPosted>), AppError> {
    let (_, customer) =
        widget::visitor_of(&app, &channel_id, bearer_of(&headers).as_deref()).await?;
    let client_id = client_id(q.client_id)?;
    widget::count_message(&app, &customer.id).await?;
    let files = crate::usecases::attachments::configured(&app)?;
    let caption = crate::usecases::attachments::check_caption(q.text)?;
    let file = files
        .receive(
            &app.clock,
            &customer.account_id,
            q.filename.as_deref(),
            body,
        )
        .await?;
    let text = caption.unwrap_or_else(|| file.filename.clone());
    let posted = post_as_visitor(&app, &channel_id, &customer, client_id, text, Some(file)).await?;
    Ok((StatusCode::CREATED, axum::Json(posted)))
}

#[utoipa::path(get, path = "/api/v1/widget/{channel_id}/attachments/{attachment_id}", tag = "widget",
    security(()), params(("channel_id" = String, Path), ("attachment_id" = String, Path)),
    responses((status = 200, description = "The file (images inline, others as downloads)"),
        (status = 401), (status = 404, description = "not a file of the visitor's public messages")))]
pub async fn get_attachment(
    State(app): State<App>,
    Path((channel_id, attachment_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::response::Response, AppError> {
    let (_, customer) =
        widget::visitor_of(&app, &channel_id, bearer_of(&headers).as_deref()).await?;
    let ids = std::iter::once(customer.id.clone()).collect();
    crate::usecases::attachments::serve_to_customers(
        &app,
        &customer.account_id,
        &ids,
        &attachment_id,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/widget/{channel_id}/reactions", tag = "widget", security(()),
    params(("channel_id" = String, Path)), request_body = WidgetReaction,
    responses((status = 200, description = "The reaction became a note of the reacted message's case (R10)"),
        (status = 401), (status = 404), (status = 409, description = "The channel is turned off (channel_disabled)"), (status = 422), (status = 429)))]
pub async fn react(
    State(app): State<App>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<WidgetReaction>,
) -> Result<axum::Json<serde_json::Value>, AppError> {
    let (_, customer) =
        widget::visitor_of(&app, &channel_id, bearer_of(&headers).as_deref()).await?;
    widget::count_message(&app, &customer.id).await?;
    let result =
        widget::receive_reaction(&app, &channel_id, customer, body.message_id, body.emoji).await?;
    Ok(axum::Json(
        json!({ "case_id": result.case_id, "note_id": result.message_id }),
    ))
}

#[utoipa::path(get, path = "/api/v1/widget/{channel_id}/events", tag = "widget", security(()),
    params(("channel_id" = String, Path), WidgetEventsQuery),
    responses((status = 200, content_type = "text/event-stream",
        description = "`message` {message_id, case_id} when a public message is added to one of the visitor's cases, `case` {case_id, status, chat_state} on their changes, each with an `id` to resume after (`Last-Event-ID`, or `last_event_id`); `resync` when the stream fell behind or cannot resume: then fetch messages after the last one seen"),
        (status = 400, description = "`Last-Event-ID` is not an id this stream sent (invalid_last_event_id)"),
        (status = 401)))]
pub async fn events(
    State(app): State<App>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<WidgetEventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let token = q.token.or_else(|| bearer_of(&headers));
    let (_, customer) = widget::visitor_of(&app, &channel_id, token.as_deref()).await?;
    let resume = super::stream::resume_after(&headers, q.last_event_id.as_deref())?;
    // The stream holds its place among the visitor's streams until it ends.
    let slot = app
        .limits
        .open_stream(
            &format!("visitor:{}", customer.id),
            super::stream::MAX_STREAMS,
        )
        .await?;
    let (check, token) = (App::clone(&app), token.unwrap_or_default());
    let revoked = super::stream::until_revoked(
        App::clone(&app),
        format!("customer:{}", customer.id),
        move || {
            let (app, channel_id, token) = (App::clone(&check), channel_id.clone(), token.clone());
            async move {
                match widget::visitor_of(&app, &channel_id, Some(&token)).await {
                    Ok(_) => Some(true),
                    Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => Some(false),
                    Err(_) => None,
                }
            }
        },
    );
    let (account_id, customer_id) = (customer.account_id, customer.id);
    super::stream::notice_events(
        &app,
        account_id,
        resume,
        move |n: &casedesk_store::NoticeRecord| {
            let _ = &slot;
            if n.customer_id != customer_id {
                return None;
            }
            match n.kind.as_str() {
                // Notes are for agents: the visitor never hears of them.
                "message.created" if n.data["kind"] != "note" => Event::default()
                    .event("message")
                    .json_data(json!({
                        "message_id": n.data["message_id"],
                        "case_id": n.case_id,
                    }))
                    .ok(),
                "case.created" | "case.updated" => Event::default()
                    .event("case")
                    .json_data(json!({
                        "case_id": n.case_id,
                        "status": n.data["status"],
                        "chat_state": n.data["chat_state"],
                    }))
                    .ok(),
                _ => None,
            }
        },
        revoked,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/widget/{channel_id}/cases/{case_id}/close", tag = "widget",
    security(()), params(("channel_id" = String, Path), ("case_id" = String, Path)),
    responses((status = 200, body = WidgetCaseDto,
        description = "Closed by the customer (R5): a chat is finished too; the next message starts a new case"),
        (status = 401), (status = 404, description = "not one of the visitor's cases"), (status = 409)))]
pub async fn close_case(
    State(app): State<App>,
    Path((channel_id, case_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::Json<WidgetCaseDto>, AppError> {
    let (_, customer) =
        widget::visitor_of(&app, &channel_id, bearer_of(&headers).as_deref()).await?;
    let case =
        agent_actions::close_by_customer(&app, customer.account_id, customer.id, case_id).await?;
    Ok(axum::Json(WidgetCaseDto {
        case_id: case.id,
        case_number: case.number,
        status: case.state.status.to_string(),
        chat_state: case.state.chat_state.map(|s| s.to_string()),
    }))
}

#[utoipa::path(post, path = "/api/v1/widget/{channel_id}/help-link", tag = "widget",
    security(()), params(("channel_id" = String, Path)),
    responses((status = 200, body = HelpLinkDto,
        description = "A one-time link (15 minutes) that opens the Help Center signed in as this visitor"),
        (status = 401), (status = 429)))]
pub async fn help_link(
    State(app): State<App>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
) -> Result<axum::Json<HelpLinkDto>, AppError> {
    let (_, customer) =
        widget::visitor_of(&app, &channel_id, bearer_of(&headers).as_deref()).await?;
    let key = format!("help-link:{}", customer.id);
    app.limits.hit(&key, &HELP_LINKS).await?;
    let token = crate::usecases::help::link_for_customer(&app, &customer).await?;
    let base = crate::http::urls::public_base(&app, &headers);
    Ok(axum::Json(HelpLinkDto {
        url: format!(
            "{}#login={token}",
            crate::usecases::help::help_url(&base, &customer.account_id)
        ),
    }))
}
