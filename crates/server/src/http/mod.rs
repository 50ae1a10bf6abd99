//! The HTTP edge: the v1 JSON API ([`api`]), the web front ends
//! ([`web`]), the checks every request passes before a handler sees it
//! ([`input`], body size, [`cors`]), the URL grammar and building ([`urls`]),
//! and the listener ([`listen`]). Handlers turn requests into use-case or
//! channel calls and answers; they decide no rule themselves.

pub mod api;
pub mod cors;
pub(crate) mod input;
pub mod listen;
pub(crate) mod urls;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::App;
use crate::error::{self, AppError};
use crate::usecases::attachments;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Largest oversized body read to its end before answering 413.
const MAX_DRAIN_BYTES: u64 = 16 << 20;

async fn healthz() -> &'static str {
    "ok"
}

async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// Answers 413 to a request whose declared length is over the limit, after
/// reading (and dropping) up to [`MAX_DRAIN_BYTES`] of its body: closing the
/// connection on an unread body resets it, and the client would never see
/// the answer.
async fn reject_oversized(
    axum::extract::State(app): axum::extract::State<App>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // File uploads stream their body to disk under their own limit (with
    // no attachments directory, the handler answers why).
    let post = req.method() == axum::http::Method::POST;
    let path = req.uri().path();
    // Raw letters likewise, under the larger limit of a letter.
    let limit = match &app.files {
        Some(files) if post && path.ends_with("/attachments") => Some(files.max_bytes),
        Some(files) if post && path.ends_with("/inbound/mime") => Some(files.max_letter_bytes()),
        // A history file is parsed as it arrives, under its own limit.
        _ if post && path.ends_with("/import") => Some(crate::usecases::import::MAX_IMPORT_BYTES),
        None if post && (path.ends_with("/attachments") || path.ends_with("/inbound/mime")) => {
            return next.run(req).await;
        }
        _ => None,
    };
    let max = limit.unwrap_or(MAX_BODY_BYTES as u64);
    match declared {
        Some(len) if len > max => {
            if len <= MAX_DRAIN_BYTES {
                let drain = axum::body::to_bytes(req.into_body(), MAX_DRAIN_BYTES as usize);
                let _ = tokio::time::timeout(std::time::Duration::from_secs(10), drain).await;
            }
            match limit {
                Some(max) => attachments::too_large(max).into_response(),
                None => AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is larger than 1 MiB",
                )
                .into_response(),
            }
        }
        _ => next.run(req).await,
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    AppError::internal("a request handler panicked").into_response()
}

/// The whole HTTP application.
pub fn router(app: App) -> Router {
    let (api, openapi) = api::router();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .merge(web::router())
        .route("/healthz", get(healthz))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = Arc::clone(&openapi);
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(input::check_uri))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            reject_oversized,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            cors::widget,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}
