//! The v1 JSON API: routes, extractors that answer bad input in the API's
//! error shape, and the OpenAPI document generated from the handlers.

mod accounts;
mod cases;
mod deliveries;
pub mod dto;
pub(crate) mod email;
mod export;
mod help;
mod imports;
mod inbound;
mod rules;
pub(crate) mod schema;
mod simulate;
mod stats;
pub(crate) mod stream;
mod telegram;
mod templates;
mod widget;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
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

/// Every operation documents the errors any request can get, so that the
/// document matches what the server answers: 400 and 422 for a path or
/// query that is not valid UTF-8 or holds NUL (and a query the handler
/// cannot read), 401 where a credential is needed, and for JSON bodies 400
/// (malformed), 413 (over 1 MiB), 415 (not JSON) and 422 (wrong shape).
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        let error_schema = utoipa::openapi::ObjectBuilder::new()
            .property(
                "error",
                utoipa::openapi::ObjectBuilder::new()
                    .property(
                        "code",
                        utoipa::openapi::Object::with_type(utoipa::openapi::Type::String),
                    )
                    .property(
                        "message",
                        utoipa::openapi::Object::with_type(utoipa::openapi::Type::String),
                    )
                    .required("code")
                    .required("message"),
            )
            .required("error")
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .schemas
            .insert("Error".into(), error_schema.into());
        let global_security = openapi.security.clone().unwrap_or_default();
        let add = |op: &mut Operation, status: &str, description: &str| {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| {
                    utoipa::openapi::ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::Ref::from_schema_name("Error")))
                                .build(),
                        )
                        .build()
                        .into()
                });
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add(
                    op,
                    "400",
                    "Bad request: malformed JSON or query, or a path or query that is not UTF-8",
                );
                add(op, "422", "Invalid input, e.g. text holding NUL");
                let security = op.security.as_ref().unwrap_or(&global_security);
                let public = security.iter().any(|s| {
                    serde_json::to_value(s)
                        .is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
                });
                if !public {
                    add(op, "401", "Missing, invalid or revoked credentials");
                }
                if op.request_body.is_some() {
                    add(op, "413", "The body is larger than allowed");
                    add(op, "415", "The body is not of the expected content type");
                }
            }
        }
    }
}

/// The v1 routes and their OpenAPI document, built from the same list so
/// that one cannot drift from the other.
pub fn router() -> (axum::Router<App>, utoipa::openapi::OpenApi) {
    let (routes, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::list_agents, accounts::create_agent))
        .routes(routes!(accounts::patch_agent, accounts::delete_agent))
        .routes(routes!(accounts::end_agent_sessions))
        .routes(routes!(accounts::set_agent_password))
        .routes(routes!(accounts::clear_login_throttle))
        .routes(routes!(accounts::list_channels, accounts::create_channel))
        .routes(routes!(accounts::patch_channel, accounts::remove_channel))
        .routes(routes!(deliveries::list_deliveries))
        .routes(routes!(deliveries::redeliver))
        .routes(routes!(telegram::webhook))
        .routes(routes!(telegram::status))
        .routes(routes!(telegram::list_updates))
        .routes(routes!(telegram::retry_update))
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
        .routes(routes!(email::inbound_mime))
        .routes(routes!(email::test_connection))
        .routes(routes!(email::letter_html))
        .routes(routes!(cases::list_cases))
        .routes(routes!(cases::queues))
        .routes(routes!(export::export_cases))
        .routes(routes!(stats::stats))
        .routes(routes!(simulate::auto_finish))
        .routes(routes!(imports::start))
        .routes(routes!(imports::list))
        .routes(routes!(imports::get))
        .routes(routes!(cases::get_case, cases::patch_case))
        .routes(routes!(cases::list_messages, cases::post_message))
        .routes(routes!(cases::list_events))
        .routes(routes!(cases::finish))
        .routes(routes!(cases::keep_active))
        .routes(routes!(cases::split))
        .routes(routes!(cases::move_messages))
        .routes(routes!(cases::topic_suggestion))
        .routes(routes!(cases::dismiss_topic))
        .routes(routes!(cases::undo_event))
        .routes(routes!(cases::merge_previous))
        .routes(routes!(cases::mark_read))
        .routes(routes!(cases::get_customer, cases::patch_customer))
        .routes(routes!(cases::link_customer, cases::unlink_customer))
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
        .split_for_parts();
    // After the routes: their operations are what it completes.
    utoipa::Modify::modify(&CommonErrors, &mut doc);
    schema::add_components(&mut doc);
    schema::forbid_nul(&mut doc);
    (routes, doc)
}

/// A JSON body whose rejections (syntax, types, size, content type) come
/// back in the API's error shape with the fitting status. A string holding
/// NUL (`\u0000`) is refused with 422 naming its field: PostgreSQL cannot
/// store it, and no text a person writes contains it, so both databases
/// refuse it alike here, before any use case sees it.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !json_content_type(req.headers()) {
            return Err(unsupported_media_type());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
                _ => json_invalid(StatusCode::BAD_REQUEST, e.body_text()),
            })?;
        json_body(&bytes).map(Json)
    }
}

/// A request body as [`Json`] reads it once its size and content type are
/// checked: parsed into `T`, then refused if any string in it holds NUL.
/// Public for the fuzz targets (`fuzz/`), which feed it arbitrary bytes.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let parsed = axum::Json::<T>::from_bytes(bytes).map_err(json_rejection)?;
    // Every body of the API is an object; serde would also read a struct
    // from an array of its fields (`[null, null]`).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::invalid_as(
            "json_not_object",
            "the body must be a JSON object",
        ));
    }
    if let Some(field) = crate::http::input::nul_in_json(bytes) {
        return Err(AppError::nul_character(
            &field,
            format!("`{field}` must not contain NUL characters (\\u0000)"),
        ));
    }
    Ok(parsed.0)
}

fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

fn payload_too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "request body is larger than 1 MiB",
    )
    .with(serde_json::json!({ "max_mib": 1 }))
}

fn unsupported_media_type() -> AppError {
    AppError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "expected a JSON body with Content-Type: application/json",
    )
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    let status = rejection.status();
    let text = rejection.body_text();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => unsupported_media_type(),
        StatusCode::UNPROCESSABLE_ENTITY => json_invalid(status, text),
        _ => json_invalid(StatusCode::BAD_REQUEST, text),
    }
}

/// `json_invalid`: a body that is not the JSON the call takes; `detail`
/// is the parser's English words (which field, which line).
fn json_invalid(status: StatusCode, detail: String) -> AppError {
    AppError::new(status, "json_invalid", detail.clone())
        .with(serde_json::json!({ "detail": detail }))
}

/// The address the request came from, when the server knows it: the
/// connection's peer, or behind a reverse proxy the last address the proxy
/// added to [`crate::Config::client_ip_header`].
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<App> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = app.client_ip_header.as_ref().and_then(|name| {
            parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .next_back()
        });
        Ok(ClientIp(forwarded.or(peer)))
    }
}

/// The key per-address limits count a client under: its IPv4 address, or
/// the /64 network of an IPv6 one (one subscriber's usual share, which
/// they could otherwise hop through).
pub(crate) fn client_key(ip: &ClientIp) -> String {
    match ip.0 {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
}

/// The `state` and `limit` of a channel's log (its deliveries, its
/// messenger updates): `state` one of `names` (read by `parse`; absent:
/// every state), `limit` 1 to 500, 100 by default. Refusals are 400.
pub(crate) fn log_query<T>(
    state: Option<&str>,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
    limit: Option<i64>,
) -> Result<(Option<T>, i64), AppError> {
    const DEFAULT_LIMIT: i64 = 100;
    const MAX_LIMIT: i64 = 500;
    let state = state
        .map(|s| parse(s).ok_or_else(|| AppError::unknown_value("state", s, names)))
        .transpose()?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::limit_out_of_range(MAX_LIMIT));
    }
    Ok((state, limit))
}

/// Channel `id` of the account; `404` for no such channel or another
/// account's.
pub(crate) async fn own_channel(
    tx: &mut dyn casedesk_store::Tx,
    account_id: &str,
    id: &str,
) -> Result<casedesk_store::ChannelRecord, AppError> {
    tx.find_channel(id)
        .await?
        .filter(|c| c.account_id == account_id && c.removed_at.is_none())
        .ok_or_else(|| AppError::not_found("channel"))
}

/// Query parameters, rejected with 400 in the API's error shape.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| {
                let detail = e.body_text();
                AppError::new(StatusCode::BAD_REQUEST, "query_invalid", detail.clone())
                    .with(serde_json::json!({ "detail": detail }))
            })
    }
}
