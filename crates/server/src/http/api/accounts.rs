//! Login, agents, channels and account settings.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use casedesk_domain::{AccountTimeZone, AutoFinishSettings, BusinessHours, ChannelKind, Role};
use casedesk_store::{AccountRecord, AgentRecord, ChannelRecord, StoreError, read, write};

use super::Json;
use super::dto::*;
use crate::App;
use crate::auth::{self, Agent};
use crate::error::AppError;
use crate::http::input::display_name;
use crate::util::{new_id, new_secret};

/// Checks the password and returns a new login token with its agent.
async fn login_agent(
    app: &App,
    ip: &super::ClientIp,
    body: LoginRequest,
) -> Result<(String, AgentRecord), AppError> {
    let client = super::client_key(ip);
    let token = auth::login(app, &client, &body.email, body.password).await?;
    let email = auth::normalize_email(&body.email)?;
    let agent = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.find_agent_by_email(&email)
                .await?
                .ok_or_else(|| AppError::unauthorized("agent was removed"))
        })
    })
    .await?;
    Ok((token, agent))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401),
        (status = 403, description = "The agent is disabled"),
        (status = 429, description = "Too many failed logins from this address"),
        (status = 503, description = "Too many sign-ins at once; retry after `Retry-After`")))]
pub async fn login(
    State(app): State<App>,
    ip: super::ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<axum::Json<LoginResponse>, AppError> {
    let (token, agent) = login_agent(&app, &ip, body).await?;
    Ok(axum::Json(LoginResponse {
        token,
        agent: AgentDto::from(&agent),
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth", security(()),
    request_body = LoginRequest,
    responses((status = 200, body = SessionResponse,
        description = "Sets the HttpOnly `casedesk_session` cookie and the script-readable \
            `casedesk_csrf` cookie. State-changing requests authenticated by the cookie must \
            send the CSRF token in `X-CSRF-Token`; bearer-token requests need none."),
        (status = 401), (status = 403), (status = 429), (status = 503)))]
pub async fn create_session(
    State(app): State<App>,
    ip: super::ClientIp,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<impl IntoResponse, AppError> {
    let (token, agent) = login_agent(&app, &ip, body).await?;
    let [session, csrf] = auth::session_cookies(&headers, &token);
    Ok((
        AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, csrf)]),
        axum::Json(SessionResponse {
            csrf_token: auth::csrf_token(&token),
            agent: AgentDto::from(&agent),
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "The token is revoked and session cookies are cleared"),
        (status = 401), (status = 403)))]
pub async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    agent: Agent,
) -> Result<impl IntoResponse, AppError> {
    auth::logout(&app, agent.token_hash).await?;
    app.revoke(format!("agent:{}", agent.record.id));
    let [session, csrf] = auth::clear_session_cookies(&headers);
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, csrf)]),
    ))
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = AgentDto), (status = 401)))]
pub async fn me(agent: Agent) -> axum::Json<AgentDto> {
    axum::Json(AgentDto::from(&agent.record))
}

#[utoipa::path(get, path = "/api/v1/agents", tag = "agents",
    responses((status = 200, body = ItemsDto<AgentDto>)))]
pub async fn list_agents(
    State(app): State<App>,
    agent: Agent,
) -> Result<axum::Json<ItemsDto<AgentDto>>, AppError> {
    let account_id = agent.account_id().to_owned();
    let agents = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.list_agents(&account_id).await })
    })
    .await?;
    Ok(axum::Json(ItemsDto {
        items: agents
            .iter()
            .filter(|a| a.deleted_at.is_none())
            .map(AgentDto::from)
            .collect(),
    }))
}

/// Loads an agent of the admin's account (deleted ones are gone), applies
/// `change` and writes it back, ending the agent's sessions when `change`
/// says so; in one unit of work.
async fn change_agent(
    app: &App,
    admin: &Agent,
    id: String,
    change: impl FnOnce(&mut AgentRecord) -> Result<bool, AppError> + Send + 'static,
) -> Result<(AgentRecord, u64), AppError> {
    admin.require_admin()?;
    let account_id = admin.account_id().to_owned();
    let admin_id = admin.record.id.clone();
    let (agent, ended) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut agent = match tx.get_agent(&account_id, &id).await {
                Ok(a) if a.deleted_at.is_none() => a,
                Ok(_) | Err(StoreError::NotFound) => return Err(AppError::not_found("agent")),
                Err(e) => return Err(e.into()),
            };
            let before = agent.clone();
            let end_sessions = change(&mut agent)?;
            if agent.id == admin_id && (!agent.active() || agent.role != Role::Admin) {
                return Err(AppError::conflict(
                    "own_account",
                    "admins cannot disable, delete or demote themselves; ask another admin",
                ));
            }
            if agent != before {
                tx.update_agent(&agent).await?;
            }
            let ended = if end_sessions {
                tx.delete_agent_tokens(&agent.id).await?
            } else {
                0
            };
            Ok((agent, ended))
        })
    })
    .await?;
    app.revoke(format!("agent:{}", agent.id));
    Ok((agent, ended))
}

#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents",
    params(("id" = String, Path)), request_body = PatchAgent,
    responses((status = 200, body = AgentDto,
        description = "Disabling ends every session of the agent at once"),
        (status = 403), (status = 404),
        (status = 409, description = "An admin cannot disable or demote themselves"),
        (status = 422)))]
pub async fn patch_agent(
    State(app): State<App>,
    admin: Agent,
    Path(id): Path<String>,
    Json(body): Json<PatchAgent>,
) -> Result<axum::Json<AgentDto>, AppError> {
    let name = body.name.as_deref().map(display_name).transpose()?;
    let at = app.clock.now();
    let (agent, _) = change_agent(&app, &admin, id, move |a| {
        if let Some(name) = name {
            a.name = name;
        }
        if let Some(role) = body.role {
            a.role = role;
        }
        match body.disabled {
            Some(true) if a.disabled_at.is_none() => {
                a.disabled_at = Some(at);
                Ok(true)
            }
            Some(false) => {
                a.disabled_at = None;
                Ok(false)
            }
            _ => Ok(false),
        }
    })
    .await?;
    Ok(axum::Json(AgentDto::from(&agent)))
}

#[utoipa::path(delete, path = "/api/v1/agents/{id}", tag = "agents",
    params(("id" = String, Path)),
    responses((status = 204, description = "The agent can never sign in again and is no longer \
        listed; their sessions end, their e-mail is free for a new agent, and the history keeps \
        their name. Cases assigned to them stay assigned: reassign them from the case list."),
        (status = 403), (status = 404),
        (status = 409, description = "An admin cannot delete themselves")))]
pub async fn delete_agent(
    State(app): State<App>,
    admin: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let at = app.clock.now();
    change_agent(&app, &admin, id, move |a| {
        a.deleted_at = Some(at);
        a.disabled_at.get_or_insert(at);
        a.email = format!("deleted-{}@deleted.invalid", a.id);
        Ok(true)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/agents/{id}/sessions", tag = "agents",
    params(("id" = String, Path)),
    responses((status = 200, body = EndedSessions,
        description = "Every login token and browser session of the agent is ended"),
        (status = 403), (status = 404)))]
pub async fn end_agent_sessions(
    State(app): State<App>,
    admin: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<EndedSessions>, AppError> {
    let (_, ended_sessions) = change_agent(&app, &admin, id, |_| Ok(true)).await?;
    Ok(axum::Json(EndedSessions { ended_sessions }))
}

#[utoipa::path(put, path = "/api/v1/agents/{id}/password", tag = "agents",
    params(("id" = String, Path)), request_body = SetPassword,
    responses((status = 200, body = EndedSessions,
        description = "The new password is set, every session of the agent (the caller's own \
            too, when it is their own password) is ended, and failed logins counted against \
            the agent's e-mail are forgotten"),
        (status = 403, description = "Agents may set only their own password, and need their \
            current one for it"),
        (status = 404), (status = 422), (status = 429)))]
pub async fn set_agent_password(
    State(app): State<App>,
    caller: Agent,
    ip: super::ClientIp,
    Path(id): Path<String>,
    Json(body): Json<SetPassword>,
) -> Result<axum::Json<EndedSessions>, AppError> {
    auth::check_password_strength(&body.password)?;
    if caller.record.id == id {
        let current = body.current_password.clone().unwrap_or_default();
        let client = super::client_key(&ip);
        auth::check_password(&app, &client, &caller.record.email, current)
            .await
            .map_err(|e| match e.status {
                StatusCode::UNAUTHORIZED => {
                    AppError::forbidden("the current password is wrong or missing")
                }
                _ => e,
            })?;
    } else {
        caller.require_admin()?;
    }
    let account_id = caller.account_id().to_owned();
    let lookup = id.clone();
    let email = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            match tx.get_agent(&account_id, &lookup).await {
                Ok(a) if a.deleted_at.is_none() => Ok(a.email),
                Ok(_) | Err(StoreError::NotFound) => Err(AppError::not_found("agent")),
                Err(e) => Err(e.into()),
            }
        })
    })
    .await?;
    let ended_sessions = auth::reset_password(&*app.store, &email, &body.password).await?;
    auth::clear_failures(&app, &email).await?;
    app.revoke(format!("agent:{id}"));
    Ok(axum::Json(EndedSessions { ended_sessions }))
}

#[utoipa::path(delete, path = "/api/v1/agents/{id}/login-throttle", tag = "agents",
    params(("id" = String, Path)),
    responses((status = 204, description = "Failed logins counted against the agent's e-mail \
        (from every address) are forgotten, so they can sign in at once"),
        (status = 403), (status = 404)))]
pub async fn clear_login_throttle(
    State(app): State<App>,
    admin: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let (agent, _) = change_agent(&app, &admin, id, |_| Ok(false)).await?;
    auth::clear_failures(&app, &agent.email).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = CreateAgent,
    responses((status = 201, body = AgentDto), (status = 403), (status = 409), (status = 422)))]
pub async fn create_agent(
    State(app): State<App>,
    agent: Agent,
    Json(body): Json<CreateAgent>,
) -> Result<(StatusCode, axum::Json<AgentDto>), AppError> {
    agent.require_admin()?;
    let created = auth::create_agent(
        &*app.store,
        agent.account_id(),
        &body.email,
        body.name.as_deref(),
        body.role.unwrap_or(Role::Agent),
        &body.password,
        app.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(AgentDto::from(&created))))
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels",
    responses((status = 200, body = ItemsDto<ChannelDto>)))]
pub async fn list_channels(
    State(app): State<App>,
    agent: Agent,
    headers: HeaderMap,
) -> Result<axum::Json<ItemsDto<ChannelDto>>, AppError> {
    let account_id = agent.account_id().to_owned();
    let channels = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut listed = Vec::new();
            for c in tx.list_channels(&account_id).await? {
                let secret = match c.kind {
                    ChannelKind::Telegram | ChannelKind::Email => {
                        tx.get_channel_secret(&c.id).await?
                    }
                    _ => None,
                };
                listed.push((c, secret));
            }
            Ok(listed)
        })
    })
    .await?;
    Ok(axum::Json(ItemsDto {
        items: channels
            .iter()
            .map(|(c, secret)| {
                let mut dto = channel_dto(&app, c, false, &headers);
                if let Some(secret) = secret {
                    connected_dto(&app, &mut dto, c, secret, &headers);
                }
                dto
            })
            .collect(),
    }))
}

/// What a Telegram or e-mail channel shows of its secrets' record.
fn connected_dto(
    app: &App,
    dto: &mut ChannelDto,
    c: &ChannelRecord,
    secret: &casedesk_store::ChannelSecretRecord,
    headers: &HeaderMap,
) {
    match c.kind {
        ChannelKind::Telegram => {
            let bot = crate::channels::telegram::connect::BotInfo::of(secret);
            dto.telegram = Some(telegram_dto(app, &c.id, &bot));
        }
        ChannelKind::Email => {
            use crate::channels::email::{Secrets, Settings};
            dto.email = Settings::of(secret)
                .map(|s| email_dto(app, &c.id, &s, &Secrets::of(secret), headers));
        }
        ChannelKind::Api | ChannelKind::Widget => {}
    }
}

fn email_dto(
    app: &App,
    channel_id: &str,
    settings: &crate::channels::email::Settings,
    secrets: &crate::channels::email::Secrets,
    headers: &HeaderMap,
) -> EmailDto {
    EmailDto::new(
        settings,
        secrets,
        format!(
            "{}/api/v1/channels/{channel_id}/inbound/mime",
            crate::http::urls::public_base(app, headers)
        ),
    )
}

fn telegram_dto(
    app: &App,
    channel_id: &str,
    bot: &crate::channels::telegram::connect::BotInfo,
) -> TelegramBotDto {
    TelegramBotDto {
        bot_id: bot.bot_id,
        bot_username: bot.bot_username.clone(),
        mode: crate::channels::telegram::mode(app, channel_id)
            .as_str()
            .to_owned(),
    }
}

/// The URL as it will be used; an IP-literal host must pass the address
/// rule now (a host name is checked on every lookup when delivering).
fn check_webhook_url(app: &App, url: &str) -> Result<String, AppError> {
    // The address rule first: its refusal names the rule, also for an IP
    // literal the URL grammar below does not take.
    let checked = crate::channels::api::webhook::check_url(url, app.webhook_allow_private)
        .map_err(|why| {
            AppError::invalid_as("webhook_url_invalid", format!("webhook_url: {why}"))
        })?;
    if !crate::http::urls::is_webhook_url(url) {
        return Err(AppError::invalid_as(
            "webhook_url_invalid",
            "webhook_url must be an http(s) URL like https://hooks.example/casedesk",
        ));
    }
    Ok(checked.to_string())
}

#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", request_body = CreateChannel,
    responses((status = 201, body = ChannelDto, description = "The inbound_token is shown only here"),
        (status = 403),
        (status = 422, description = "Invalid input, or a bot token Telegram does not know"),
        (status = 502, description = "Telegram could not be reached, or refused to set the bot up")))]
pub async fn create_channel(
    State(app): State<App>,
    agent: Agent,
    headers: HeaderMap,
    Json(body): Json<CreateChannel>,
) -> Result<(StatusCode, axum::Json<ChannelDto>), AppError> {
    agent.require_admin()?;
    let name = display_name(&body.name)?;
    if body.kind != ChannelKind::Email
        && (body.address.is_some() || body.smtp.is_some() || body.imap.is_some())
    {
        return Err(AppError::field_not_for_kind(
            "address, smtp, imap",
            body.kind.as_str(),
            "address, smtp and imap are for e-mail channels",
        ));
    }
    if body.kind == ChannelKind::Email {
        if body.webhook_url.is_some()
            || body.bot_token.is_some()
            || !body.allowed_origins.is_empty()
        {
            return Err(AppError::field_not_for_kind(
                "webhook_url, allowed_origins",
                "email",
                "an e-mail channel takes address, smtp and imap: it replies by mail",
            ));
        }
        let address = body.address.as_deref().ok_or_else(|| {
            AppError::field_required("address", "an e-mail channel needs its address")
        })?;
        let (channel, settings, secrets) = crate::channels::email::connect::connect(
            &app,
            agent.account_id(),
            name,
            address,
            body.smtp,
            body.imap,
        )
        .await?;
        let mut dto = channel_dto(&app, &channel, true, &headers);
        dto.email = Some(email_dto(&app, &channel.id, &settings, &secrets, &headers));
        return Ok((StatusCode::CREATED, axum::Json(dto)));
    }
    if body.kind != ChannelKind::Widget && !body.allowed_origins.is_empty() {
        return Err(AppError::field_not_for_kind(
            "allowed_origins",
            body.kind.as_str(),
            "allowed_origins is for widget channels",
        ));
    }
    if body.kind == ChannelKind::Telegram {
        if body.webhook_url.is_some() {
            return Err(AppError::field_not_for_kind(
                "webhook_url",
                "telegram",
                "webhook_url is for api channels: a Telegram channel replies through its bot",
            ));
        }
        let token = body.bot_token.as_deref().ok_or_else(|| {
            AppError::field_required("bot_token", "a Telegram channel needs its bot_token")
        })?;
        let (channel, info) =
            crate::channels::telegram::connect::connect(&app, agent.account_id(), name, token)
                .await?;
        let mut dto = channel_dto(&app, &channel, true, &headers);
        dto.telegram = Some(telegram_dto(&app, &channel.id, &info));
        return Ok((StatusCode::CREATED, axum::Json(dto)));
    }
    if body.bot_token.is_some() {
        return Err(AppError::field_not_for_kind(
            "bot_token",
            body.kind.as_str(),
            "bot_token is for Telegram channels",
        ));
    }
    let allowed_origins = crate::http::urls::parse_origins(&body.allowed_origins)?;
    let webhook_url = body
        .webhook_url
        .as_deref()
        .map(|u| check_webhook_url(&app, u))
        .transpose()?;
    let channel = ChannelRecord {
        id: new_id(),
        account_id: agent.account_id().to_owned(),
        kind: body.kind,
        name,
        webhook_url,
        inbound_token: new_secret(),
        allowed_origins,
        created_at: app.clock.now(),
        disabled_at: None,
        removed_at: None,
    };
    let c = channel.clone();
    write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.insert_channel(&c).await })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(channel_dto(&app, &channel, true, &headers)),
    ))
}

fn channel_dto(app: &App, c: &ChannelRecord, show_token: bool, headers: &HeaderMap) -> ChannelDto {
    let mut dto = ChannelDto::new(c, show_token);
    if c.kind == ChannelKind::Widget {
        dto.snippet = Some(format!(
            "<script src=\"{}/widget.js\" data-casedesk-channel=\"{}\" async></script>",
            crate::http::urls::public_base(app, headers),
            c.id
        ));
    }
    dto
}

#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "channels",
    params(("id" = String, Path)), request_body = PatchChannel,
    responses((status = 200, body = ChannelDto), (status = 403), (status = 404),
        (status = 409, description = "allowed_origins on a channel that is not a widget, webhook_url on a Telegram or e-mail channel, address, smtp or imap on one that is not an e-mail channel,"),
        (status = 422)))]
pub async fn patch_channel(
    State(app): State<App>,
    agent: Agent,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<PatchChannel>,
) -> Result<axum::Json<ChannelDto>, AppError> {
    agent.require_admin()?;
    let name = body.name.as_deref().map(display_name).transpose()?;
    let webhook_url = body
        .webhook_url
        .map(|u| u.as_deref().map(|u| check_webhook_url(&app, u)).transpose())
        .transpose()?;
    let origins = body
        .allowed_origins
        .as_deref()
        .map(crate::http::urls::parse_origins)
        .transpose()?;
    let mail_change = crate::channels::email::connect::Change {
        address: body.address,
        smtp: body.smtp,
        imap: body.imap,
    };
    let account_id = agent.account_id().to_owned();
    let now = app.clock.now();
    let (channel, secret, receiving_changed) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut channel = super::own_channel(tx, &account_id, &id).await?;
            if let Some(name) = name {
                channel.name = name;
            }
            if let Some(url) = webhook_url {
                if channel.kind == ChannelKind::Telegram && url.is_some() {
                    return Err(AppError::conflict(
                        "telegram_channel",
                        "a Telegram channel replies through its bot, not a webhook_url",
                    ));
                }
                if channel.kind == ChannelKind::Email && url.is_some() {
                    return Err(AppError::conflict(
                        "email_channel",
                        "an e-mail channel replies by mail, not a webhook_url",
                    ));
                }
                channel.webhook_url = url;
            }
            let mut secret = tx.get_channel_secret(&channel.id).await?;
            let mut imap_changed = false;
            if !mail_change.is_empty() {
                use crate::channels::email::{Secrets, Settings};
                let stored = secret
                    .as_mut()
                    .filter(|_| channel.kind == ChannelKind::Email)
                    .ok_or_else(|| {
                        AppError::conflict(
                            "not_an_email_channel",
                            "address, smtp and imap are for e-mail channels",
                        )
                    })?;
                let mut settings = Settings::of(stored)
                    .ok_or_else(|| AppError::internal("an e-mail channel without its settings"))?;
                let mut secrets = Secrets::of(stored);
                imap_changed = mail_change.apply(&mut settings, &mut secrets)?;
                stored.settings = serde_json::to_value(&settings).map_err(AppError::internal)?;
                stored.secret = serde_json::to_string(&secrets).map_err(AppError::internal)?;
                stored.updated_at = now;
                tx.upsert_channel_secret(stored).await?;
            }
            if let Some(origins) = origins {
                // Fine for some channel, not for this one: a conflict with
                // the channel, not bad input.
                if channel.kind != ChannelKind::Widget && !origins.is_empty() {
                    return Err(AppError::conflict(
                        "not_a_widget_channel",
                        "allowed_origins is for widget channels",
                    ));
                }
                channel.allowed_origins = origins;
            }
            let mut switched = false;
            if let Some(off) = body.disabled
                && off != channel.disabled_at.is_some()
            {
                channel.disabled_at = off.then_some(now);
                switched = true;
            }
            tx.update_channel(&channel).await?;
            Ok((channel, secret, imap_changed || switched))
        })
    })
    .await?;
    if receiving_changed {
        app.intake_changed(&channel);
    }
    let mut dto = channel_dto(&app, &channel, false, &headers);
    if let Some(secret) = &secret {
        connected_dto(&app, &mut dto, &channel, secret, &headers);
    }
    Ok(axum::Json(dto))
}

#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "channels",
    params(("id" = String, Path)),
    responses((status = 204, description = "The channel is removed: turned off for good (its \
        webhook, widget, MIME endpoint and bot webhook answer 404 channel_removed; its bot and \
        mailbox are no longer polled), hidden in Settings and in the rule editor's choices. \
        Its own calls (PATCH, DELETE, its deliveries, updates and bot status) answer 404 from \
        then on. Its cases, customers and history stay, still naming it, and GET /channels \
        lists it with removed: true so they do."),
        (status = 403), (status = 404)))]
pub async fn remove_channel(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    agent.require_admin()?;
    let account_id = agent.account_id().to_owned();
    let now = app.clock.now();
    let channel = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut channel = super::own_channel(tx, &account_id, &id).await?;
            channel.removed_at = Some(now);
            channel.disabled_at.get_or_insert(now);
            tx.update_channel(&channel).await?;
            Ok(channel)
        })
    })
    .await?;
    app.intake_changed(&channel);
    Ok(StatusCode::NO_CONTENT)
}

fn settings_dto(account: &AccountRecord) -> SettingsDto {
    SettingsDto {
        chat_auto_finish_after_seconds: account.settings.after_seconds(),
        chat_auto_finish_warning_seconds: account.settings.warning_seconds(),
        time_zone: account.time_zone.name().to_owned(),
        business_hours: account
            .business_hours
            .as_ref()
            .and_then(|h| serde_json::to_value(h).ok()),
        assign_on_reply: account.assign_on_reply,
    }
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings",
    responses((status = 200, body = SettingsDto)))]
pub async fn get_settings(
    State(app): State<App>,
    agent: Agent,
) -> Result<axum::Json<SettingsDto>, AppError> {
    let account_id = agent.account_id().to_owned();
    let account = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.get_account(&account_id).await })
    })
    .await?;
    Ok(axum::Json(settings_dto(&account)))
}

#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", request_body = PatchSettings,
    responses((status = 200, body = SettingsDto), (status = 403), (status = 422)))]
pub async fn patch_settings(
    State(app): State<App>,
    agent: Agent,
    Json(body): Json<PatchSettings>,
) -> Result<axum::Json<SettingsDto>, AppError> {
    agent.require_admin()?;
    let account_id = agent.account_id().to_owned();
    let time_zone = body
        .time_zone
        .as_deref()
        .map(str::parse::<AccountTimeZone>)
        .transpose()?;
    // `Some(None)`: cleared; `Some(Some(_))`: set; `None`: left alone.
    let business_hours: Option<Option<BusinessHours>> = body
        .business_hours
        .clone()
        .map(|v| v.map(BusinessHours::from_json).transpose())
        .transpose()?;
    let account = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let current = tx.get_account(&account_id).await?.settings;
            let settings = AutoFinishSettings::new(
                body.chat_auto_finish_after_seconds
                    .unwrap_or(current.after_seconds()),
                body.chat_auto_finish_warning_seconds
                    .unwrap_or(current.warning_seconds()),
            )?;
            tx.update_account_settings(&account_id, settings).await?;
            if let Some(tz) = time_zone {
                tx.update_account_time_zone(&account_id, tz).await?;
            }
            if let Some(h) = business_hours {
                tx.update_account_business_hours(&account_id, h.as_ref())
                    .await?;
            }
            if let Some(on) = body.assign_on_reply {
                tx.update_account_assign_on_reply(&account_id, on).await?;
            }
            Ok(tx.get_account(&account_id).await?)
        })
    })
    .await?;
    Ok(axum::Json(settings_dto(&account)))
}
