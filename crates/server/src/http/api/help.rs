//! The Help Center's API: what a customer's browser calls from `/help/{account_id}`,
//! same-origin, with the Help Center session cookie (see [`crate::usecases::help`]).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use casedesk_domain::AuthorType;
use casedesk_store::{AttachmentRecord, CaseRecord, MessageRecord, StoreError, read};
use subtle::ConstantTimeEq;

use super::Json;
use super::dto::*;
use crate::App;
use crate::auth::{self, CSRF_HEADER};
use crate::error::AppError;
use crate::limits::Rate;
use crate::usecases::help::{self, HelpCase, Lang, Person};
use crate::util::{opt_rfc3339, rfc3339};

/// The HttpOnly cookie of a Help Center session, sent only to its API.
pub const HELP_COOKIE: &str = "casedesk_help";
const HELP_API: &str = "/api/v1/help";
/// Sign-in mails per address.
const SIGN_IN_PER_EMAIL: Rate = Rate {
    max: 3,
    window: Duration::from_secs(15 * 60),
    refusal: "a sign-in link was sent to this address a moment ago; \
              check the mailbox or try again later",
};
/// Sign-in requests per client address.
const SIGN_IN_PER_CLIENT: Rate = Rate {
    max: 20,
    window: Duration::from_secs(15 * 60),
    refusal: "too many sign-in requests; try again later",
};
/// Link exchanges per client address.
const SESSIONS_PER_CLIENT: Rate = Rate {
    max: 30,
    window: Duration::from_secs(60),
    refusal: "too many sign-in attempts; try again in a minute",
};

fn session_of(headers: &HeaderMap) -> Option<&str> {
    auth::cookie(headers, HELP_COOKIE)
}

async fn signed_in(app: &App, account_id: &str, headers: &HeaderMap) -> Result<Person, AppError> {
    help::person_of(app, account_id, session_of(headers)).await
}

/// A state-changing call must echo the session's CSRF token (`/me` gives it).
fn check_csrf(headers: &HeaderMap) -> Result<(), AppError> {
    let expected = session_of(headers)
        .map(auth::csrf_token)
        .unwrap_or_default();
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if expected.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "missing or wrong X-CSRF-Token header",
        ));
    }
    Ok(())
}

fn session_cookie(headers: &HeaderMap, token: &str) -> HeaderValue {
    let max_age = help::SESSION_TTL.num_seconds();
    let secure = auth::secure_attr(headers);
    let cookie = format!(
        "{HELP_COOKIE}={token}; Path={HELP_API}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(headers: &HeaderMap) -> HeaderValue {
    let secure = auth::secure_attr(headers);
    HeaderValue::from_str(&format!(
        "{HELP_COOKIE}=; Path={HELP_API}; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn case_dto(c: &HelpCase) -> HelpCaseDto {
    let case: &CaseRecord = &c.case;
    HelpCaseDto {
        id: case.id.clone(),
        number: case.number,
        subject: case.subject.clone(),
        status: case.state.status.to_string(),
        chat_state: case.state.chat_state.map(|s| s.to_string()),
        channel_kind: c.channel.as_ref().map(|ch| ch.kind.to_string()),
        channel_name: c.channel.as_ref().map(|ch| ch.name.clone()),
        created_at: rfc3339(case.created_at),
        last_activity_at: rfc3339(case.last_activity_at),
        closed_at: opt_rfc3339(case.state.closed_at),
    }
}

fn message_dto(m: &MessageRecord, files: &[AttachmentRecord]) -> HelpMessageDto {
    HelpMessageDto {
        id: m.id.clone(),
        author: match m.author_type {
            AuthorType::Customer => "customer",
            AuthorType::Agent => "agent",
            AuthorType::System => "system",
        }
        .to_owned(),
        text: m.text.clone(),
        created_at: rfc3339(m.created_at),
        attachments: AttachmentDto::of(&m.id, files),
    }
}

async fn me_dto(app: &App, person: &Person, session: &str) -> Result<HelpMeDto, AppError> {
    let account_name = help::account_name(app, &person.account_id).await?;
    let name = match &person.customer_id {
        Some(id) => {
            let (account_id, id) = (person.account_id.clone(), id.clone());
            read::<_, StoreError, _>(&*app.store, move |tx| {
                Box::pin(async move { tx.get_customer(&account_id, &id).await })
            })
            .await
            .ok()
            .and_then(|c| c.name)
        }
        None => None,
    };
    Ok(HelpMeDto {
        account_id: person.account_id.clone(),
        account_name,
        email: person.email.clone(),
        name,
        csrf_token: auth::csrf_token(session),
    })
}

#[utoipa::path(get, path = "/api/v1/help/{account_id}", tag = "help", security(()),
    params(("account_id" = String, Path)),
    responses((status = 200, body = HelpInfoDto), (status = 404)))]
pub async fn info(
    State(app): State<App>,
    Path(account_id): Path<String>,
) -> Result<axum::Json<HelpInfoDto>, AppError> {
    let name = help::account_name(&app, &account_id).await?;
    Ok(axum::Json(HelpInfoDto { account_id, name }))
}

#[utoipa::path(post, path = "/api/v1/help/{account_id}/sign-in", tag = "help", security(()),
    params(("account_id" = String, Path)), request_body = HelpSignIn,
    responses((status = 202,
        description = "The same answer whether or not the address is known: when some customer of the account has it, a one-time sign-in link (15 minutes) is mailed to it"),
        (status = 404, description = "no such help center"), (status = 422),
        (status = 429, description = "3 links per address, 20 requests per client address, per 15 minutes")))]
pub async fn sign_in(
    State(app): State<App>,
    Path(account_id): Path<String>,
    ip: super::ClientIp,
    headers: HeaderMap,
    Json(body): Json<HelpSignIn>,
) -> Result<Response, AppError> {
    let email = auth::normalize_email(&body.email)?;
    let client = format!("help-ip:{}", super::client_key(&ip));
    app.limits.hit(&client, &SIGN_IN_PER_CLIENT).await?;
    let mailbox = format!("help-mail:{account_id}:{email}");
    app.limits.hit(&mailbox, &SIGN_IN_PER_EMAIL).await?;
    let lang = Lang::parse(
        body.lang
            .as_deref()
            .or_else(|| headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()),
    );
    // Never the request's Host header: whoever asks for a link could point
    // the mailed address at their own site.
    let base = app
        .public_url
        .clone()
        .unwrap_or_else(|| app.listen_url.clone());
    help::request_link(&app, &account_id, email, &base, lang).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({
            "message": "if this address has requests here, a sign-in link is on its way"
        })),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/help/{account_id}/session", tag = "help", security(()),
    params(("account_id" = String, Path)), request_body = HelpOpenSession,
    responses((status = 200, body = HelpMeDto,
        description = "Signed in: sets the HttpOnly `casedesk_help` session cookie (30 days); the link is used up"),
        (status = 401, description = "unknown, used or expired link"), (status = 429)))]
pub async fn open_session(
    State(app): State<App>,
    Path(account_id): Path<String>,
    ip: super::ClientIp,
    headers: HeaderMap,
    Json(body): Json<HelpOpenSession>,
) -> Result<Response, AppError> {
    let client = format!("help-session:{}", super::client_key(&ip));
    app.limits.hit(&client, &SESSIONS_PER_CLIENT).await?;
    let (session, person) = help::open_session(&app, &account_id, body.token.trim()).await?;
    let me = me_dto(&app, &person, &session).await?;
    let mut response = axum::Json(me).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&headers, &session));
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/help/{account_id}/me", tag = "help", security(()),
    params(("account_id" = String, Path)),
    responses((status = 200, body = HelpMeDto), (status = 401)))]
pub async fn me(
    State(app): State<App>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Result<axum::Json<HelpMeDto>, AppError> {
    let person = signed_in(&app, &account_id, &headers).await?;
    let session = session_of(&headers).unwrap_or_default();
    Ok(axum::Json(me_dto(&app, &person, session).await?))
}

#[utoipa::path(post, path = "/api/v1/help/{account_id}/sign-out", tag = "help", security(()),
    params(("account_id" = String, Path)),
    responses((status = 204, description = "The session is ended and its cookie cleared"),
        (status = 401), (status = 403, description = "missing X-CSRF-Token")))]
pub async fn sign_out(
    State(app): State<App>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let person = signed_in(&app, &account_id, &headers).await?;
    check_csrf(&headers)?;
    help::sign_out(&app, &person).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(&headers));
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/help/{account_id}/cases", tag = "help", security(()),
    params(("account_id" = String, Path)),
    responses((status = 200, body = ItemsDto<HelpCaseDto>,
        description = "The person's cases across channels, most recently active first"),
        (status = 401)))]
pub async fn list_cases(
    State(app): State<App>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Result<axum::Json<ItemsDto<HelpCaseDto>>, AppError> {
    let person = signed_in(&app, &account_id, &headers).await?;
    let cases = help::cases_of(&app, &person).await?;
    Ok(axum::Json(ItemsDto {
        items: cases.iter().map(case_dto).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/help/{account_id}/cases/{case_id}", tag = "help",
    security(()), params(("account_id" = String, Path), ("case_id" = String, Path)),
    responses((status = 200, body = HelpCaseDetailDto, description = "The case and its public messages (never notes)"),
        (status = 401), (status = 404, description = "not one of the person's cases")))]
pub async fn get_case(
    State(app): State<App>,
    Path((account_id, case_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::Json<HelpCaseDetailDto>, AppError> {
    let person = signed_in(&app, &account_id, &headers).await?;
    let (case, messages, files) = help::case_of(&app, &person, &case_id).await?;
    Ok(axum::Json(HelpCaseDetailDto {
        case: case_dto(&case),
        messages: messages.iter().map(|m| message_dto(m, &files)).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/help/{account_id}/cases/{case_id}/close", tag = "help",
    security(()), params(("account_id" = String, Path), ("case_id" = String, Path)),
    responses((status = 200, body = HelpCaseDto,
        description = "Closed by the customer (R5): a chat is finished too; their next message starts a new case"),
        (status = 401), (status = 403, description = "missing X-CSRF-Token"),
        (status = 404, description = "not one of the person's cases"),
        (status = 409, description = "already closed")))]
pub async fn close_case(
    State(app): State<App>,
    Path((account_id, case_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::Json<HelpCaseDto>, AppError> {
    let person = signed_in(&app, &account_id, &headers).await?;
    check_csrf(&headers)?;
    let case = help::close(&app, &person, &case_id).await?;
    let channel_id = case.channel_id.clone();
    let channel = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.find_channel(&channel_id).await })
    })
    .await?;
    Ok(axum::Json(case_dto(&HelpCase { case, channel })))
}

#[utoipa::path(get, path = "/api/v1/help/{account_id}/attachments/{attachment_id}", tag = "help",
    security(()), params(("account_id" = String, Path), ("attachment_id" = String, Path)),
    responses((status = 200, description = "The file (images inline, others as downloads)"),
        (status = 401), (status = 404, description = "not a file of the person's public messages")))]
pub async fn get_attachment(
    State(app): State<App>,
    Path((account_id, attachment_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let person = signed_in(&app, &account_id, &headers).await?;
    let ids = help::customer_ids(&app, &person).await?;
    crate::usecases::attachments::serve_to_customers(&app, &account_id, &ids, &attachment_id).await
}
