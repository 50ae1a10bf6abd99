//! The v1 JSON API: routes, extractors that answer bad input in the API's
//! error shape, and the OpenAPI document generated from the handlers.

mod accounts;
mod cases;
mod deliveries;
pub mod dto;
mod export;
mod help;
mod inbound;
mod rules;
mod stats;
mod stream;
mod templates;
mod widget;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::error::AppError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "casedesk API",
        version = "1",
        description = "Cases from chats and email. Errors are `{\"error\": {\"code\", \"message\"}}`; times are RFC 3339 UTC; ids are opaque strings."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The v1 routes and their OpenAPI document, built from the same list so
/// that one cannot drift from the other.
pub fn router() -> (axum::Router<App>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::list_agents, accounts::create_agent))
        .routes(routes!(accounts::list_channels, accounts::create_channel))
        .routes(routes!(accounts::patch_channel))
        .routes(routes!(deliveries::list_deliveries))
        .routes(routes!(deliveries::redeliver))
        .routes(routes!(widget::create_visitor))
        .routes(routes!(widget::list_messages, widget::post_message))
        .routes(routes!(widget::react))
        .routes(routes!(widget::events))
        .routes(routes!(widget::close_case))
        .routes(routes!(widget::help_link))
        .routes(routes!(widget::post_attachment))
        .routes(routes!(widget::get_attachment))
        .routes(routes!(help::get_attachment))
        .routes(routes!(cases::post_attachment))
        .routes(routes!(cases::get_attachment))
        .routes(routes!(cases::revoke_sessions))
        .routes(routes!(help::info))
        .routes(routes!(help::sign_in))
        .routes(routes!(help::open_session))
        .routes(routes!(help::me))
        .routes(routes!(help::sign_out))
        .routes(routes!(help::list_cases))
        .routes(routes!(help::get_case))
        .routes(routes!(help::close_case))
        .routes(routes!(accounts::get_settings, accounts::patch_settings))
        .routes(routes!(inbound::inbound))
        .routes(routes!(cases::list_cases))
        .routes(routes!(export::export_cases))
        .routes(routes!(stats::stats))
        .routes(routes!(cases::get_case, cases::patch_case))
        .routes(routes!(cases::list_messages, cases::post_message))
        .routes(routes!(cases::list_events))
        .routes(routes!(cases::finish))
        .routes(routes!(cases::keep_active))
        .routes(routes!(cases::split))
        .routes(routes!(cases::merge_previous))
        .routes(routes!(cases::mark_read))
        .routes(routes!(cases::get_customer, cases::patch_customer))
        .routes(routes!(templates::list_labels, templates::create_label))
        .routes(routes!(templates::patch_label, templates::delete_label))
        .routes(routes!(templates::add_case_label))
        .routes(routes!(templates::remove_case_label))
        .routes(routes!(
            templates::list_templates,
            templates::create_template
        ))
        .routes(routes!(
            templates::get_template,
            templates::patch_template,
            templates::delete_template
        ))
        .routes(routes!(templates::apply_template))
        .routes(routes!(rules::list_rules, rules::create_rule))
        .routes(routes!(rules::dry_run))
        .routes(routes!(
            rules::get_rule,
            rules::patch_rule,
            rules::delete_rule
        ))
        .routes(routes!(accounts::create_session))
        .routes(routes!(stream::events))
        .split_for_parts()
}

/// A JSON body whose rejections (syntax, types, size, content type) come
/// back in the API's error shape with the fitting status.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    let status = rejection.status();
    let text = rejection.body_text();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
            status,
            "payload_too_large",
            "request body is larger than 1 MiB",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::new(
            status,
            "unsupported_media_type",
            "expected a JSON body with Content-Type: application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => AppError::invalid(text),
        _ => AppError::bad_request(text),
    }
}

/// Query parameters, rejected with 400 in the API's error shape.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| AppError::bad_request(e.body_text()))
    }
}
