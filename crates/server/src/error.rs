//! The one error type of the HTTP layer and its one mapping to responses.
//!
//! Handlers and use cases return [`AppError`]; storage and rule errors
//! convert into it. 4xx errors carry a stable `code` and a message meant for
//! the API user, and where the message holds values (a limit, a field) the
//! same values as `params`, so a client can say it in its own words; 5xx
//! details are logged and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use casedesk_domain::moves::{MAX_SELECTED, MoveError};
use casedesk_domain::{ParseError, RuleError};
use casedesk_store::StoreError;
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    /// The values the message names (`{"max": 200}`), for clients that
    /// word the error themselves.
    pub params: Option<serde_json::Value>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            params: None,
        }
    }

    /// A well-formed request with a bad value (`422`) under its own code.
    pub fn invalid_as(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// The same error with the values its message names.
    pub fn with(self, params: serde_json::Value) -> Self {
        AppError {
            params: Some(params),
            ..self
        }
    }

    /// 400 `unknown_value`: a query parameter `name` that is none of the
    /// `allowed` words.
    pub fn unknown_value(name: &str, value: &str, allowed: &[&str]) -> Self {
        let allowed = allowed.join(", ");
        Self::new(
            StatusCode::BAD_REQUEST,
            "unknown_value",
            format!("unknown {name} `{value}`; use one of: {allowed}"),
        )
        .with(serde_json::json!({ "name": name, "value": value, "allowed": allowed }))
    }

    /// 400 `limit_out_of_range`: a page size outside `1..=max`.
    pub fn limit_out_of_range(max: i64) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "limit_out_of_range",
            format!("limit must be between 1 and {max}"),
        )
        .with(serde_json::json!({ "min": 1, "max": max }))
    }

    /// 422 `field_not_for_kind`: a field the kind of channel does not take.
    pub fn field_not_for_kind(field: &str, kind: &str, message: impl Into<String>) -> Self {
        Self::invalid_as("field_not_for_kind", message)
            .with(serde_json::json!({ "field": field, "kind": kind }))
    }

    /// 422 `field_required`: a field the kind of channel needs.
    pub fn field_required(field: &str, message: impl Into<String>) -> Self {
        Self::invalid_as("field_required", message).with(serde_json::json!({ "field": field }))
    }

    /// 422 `field_length`: a text field outside `min..=max` characters.
    pub fn field_length(field: &str, min: usize, max: usize, message: impl Into<String>) -> Self {
        Self::invalid_as("field_length", message)
            .with(serde_json::json!({ "field": field, "min": min, "max": max }))
    }

    /// 422 `nul_character`: a NUL in a text the server would store or match.
    pub fn nul_character(field: &str, message: impl Into<String>) -> Self {
        Self::invalid_as("nul_character", message).with(serde_json::json!({ "field": field }))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// `404 not_found`, naming `what` (`"case"`, `"template"`, …) in its
    /// `params` too.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
        .with(serde_json::json!({ "what": what }))
    }

    /// A request that names an agent, label or channel (in its body or
    /// query) the account does not have: `404`, as an unknown id in the
    /// path is. The message names what is missing.
    pub fn unknown(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} `{id}` in this account"),
        )
        .with(serde_json::json!({ "what": what, "id": id }))
    }

    /// [`StoreError::NotFound`] of a looked-up reference as [`AppError::unknown`];
    /// any other store error as itself.
    pub fn unknown_or<'a>(
        what: &'static str,
        id: &'a str,
    ) -> impl FnOnce(StoreError) -> AppError + 'a {
        move |e| match e {
            StoreError::NotFound => AppError::unknown(what, id),
            other => other.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn too_many(message: impl Into<String>, retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    /// The same error, telling the client when to retry.
    pub fn retry_after(self, secs: u64) -> Self {
        AppError {
            retry_after: Some(secs),
            ..self
        }
    }

    /// A failure that is ours, not the caller's: logged in full, answered vaguely.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a serde_json::Value>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                params: self.params.as_ref(),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::not_found("resource"),
            StoreError::Conflict(detail) => {
                tracing::info!("storage conflict: {detail}");
                AppError::conflict("conflict", "the change conflicts with existing data")
            }
            StoreError::Unavailable(detail) => {
                tracing::error!("storage unavailable: {detail}");
                AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage is unavailable, try again",
                )
            }
            StoreError::Other(detail) => AppError::internal(detail),
        }
    }
}

impl From<RuleError> for AppError {
    fn from(e: RuleError) -> Self {
        let code = match e {
            RuleError::NotAChat => "not_a_chat",
            RuleError::AlreadyFinished => "already_finished",
            RuleError::NotActive => "not_active",
            RuleError::SplitUnavailable => "split_unavailable",
            RuleError::NoPreviousChat => "no_previous_chat",
            RuleError::Merged => "merged",
            RuleError::PreviousMerged => "previous_merged",
        };
        AppError::conflict(code, e.to_string())
    }
}

/// A selection of messages that cannot move: 422, it never could.
impl From<MoveError> for AppError {
    fn from(e: MoveError) -> Self {
        let code = match e {
            MoveError::NothingSelected => "nothing_selected",
            MoveError::TooMany => "too_many_messages",
            MoveError::NotInCase(_) => "message_not_in_case",
            MoveError::WouldEmpty => "would_empty_case",
        };
        let error = AppError::invalid_as(code, e.to_string());
        match e {
            MoveError::NotInCase(id) => error.with(serde_json::json!({ "message_id": id })),
            MoveError::TooMany => error.with(serde_json::json!({ "max": MAX_SELECTED })),
            _ => error,
        }
    }
}

impl AppError {
    /// A change to a rule that does not fit the parts of it left alone:
    /// 409 `rule_conflict`, naming what does not fit as `params.cause`
    /// (the code it would have alone) with that error's values.
    pub fn rule_conflict(e: ParseError) -> Self {
        let cause = AppError::from(e);
        let mut params = cause.params.unwrap_or_else(|| serde_json::json!({}));
        params["cause"] = cause.code.into();
        AppError::conflict(
            "rule_conflict",
            format!(
                "the change does not fit the rest of the rule: {}",
                cause.message
            ),
        )
        .with(params)
    }
}

/// A value the domain refuses: 422 with the domain's code and values.
impl From<ParseError> for AppError {
    fn from(e: ParseError) -> Self {
        let error = AppError::invalid_as(e.code, e.message);
        if e.params.is_empty() {
            return error;
        }
        error.with(serde_json::Value::Object(e.params))
    }
}

/// Unknown routes answer in the same JSON shape as every other error.
pub async fn route_not_found() -> AppError {
    AppError::new(StatusCode::NOT_FOUND, "route_not_found", "no such route")
}
