//! Automation rules: admins manage them; every agent may read them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use casedesk_store::{StoreError, read};

use super::Json;
use super::dto::*;
use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::usecases::rules::{self, RuleInput, RulePatch};

#[utoipa::path(get, path = "/api/v1/rules", tag = "rules",
    responses((status = 200, body = ItemsDto<RuleDto>, description = "In the order they run")))]
pub async fn list_rules(
    State(app): State<App>,
    agent: Agent,
) -> Result<axum::Json<ItemsDto<RuleDto>>, AppError> {
    let account_id = agent.account_id().to_owned();
    let all = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.list_rules(&account_id).await })
    })
    .await?;
    Ok(axum::Json(ItemsDto {
        items: all.iter().map(RuleDto::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/rules", tag = "rules", request_body = CreateRule,
    responses((status = 201, body = RuleDto), (status = 403),
        (status = 404, description = "The rule names a channel, label or agent the account does \
            not have"),
        (status = 409, description = "The account has as many rules as it may"),
        (status = 422)))]
pub async fn create_rule(
    State(app): State<App>,
    agent: Agent,
    Json(body): Json<CreateRule>,
) -> Result<(StatusCode, axum::Json<RuleDto>), AppError> {
    agent.require_admin()?;
    let input = RuleInput {
        name: body.name,
        enabled: body.enabled.unwrap_or(true),
        trigger: body.trigger,
        conditions: body.conditions,
        actions: body.actions,
    };
    let rule = rules::create_rule(&app, agent.account_id().to_owned(), input).await?;
    Ok((StatusCode::CREATED, axum::Json(RuleDto::from(&rule))))
}

#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path)), responses((status = 200, body = RuleDto), (status = 404)))]
pub async fn get_rule(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<RuleDto>, AppError> {
    let account_id = agent.account_id().to_owned();
    let rule = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.get_rule(&account_id, &id)
                .await
                .map_err(crate::usecases::unit::not_found("rule"))
        })
    })
    .await?;
    Ok(axum::Json(RuleDto::from(&rule)))
}

#[utoipa::path(patch, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path)), request_body = PatchRule,
    responses((status = 200, body = RuleDto), (status = 403),
        (status = 404, description = "No such rule, or it would name a channel, label or agent \
            the account does not have"),
        (status = 409, description = "The change does not fit the parts of the rule it leaves \
            as they are (e.g. a trigger that makes one of its actions pointless)"),
        (status = 422)))]
pub async fn patch_rule(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<PatchRule>,
) -> Result<axum::Json<RuleDto>, AppError> {
    agent.require_admin()?;
    let patch = RulePatch {
        name: body.name,
        enabled: body.enabled,
        position: body.position,
        trigger: body.trigger,
        conditions: body.conditions,
        actions: body.actions,
    };
    let rule = rules::update_rule(&app, agent.account_id().to_owned(), id, patch).await?;
    Ok(axum::Json(RuleDto::from(&rule)))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_rule(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    agent.require_admin()?;
    rules::delete_rule(&app, agent.account_id().to_owned(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/rules/dry-run", tag = "rules", request_body = DryRunRule,
    responses((status = 200, body = DryRunDto,
        description = "The cases the rule would touch now; nothing changes"),
        (status = 403),
        (status = 404, description = "The rule names a channel, label or agent the account does \
            not have"),
        (status = 422)))]
pub async fn dry_run(
    State(app): State<App>,
    agent: Agent,
    Json(body): Json<DryRunRule>,
) -> Result<axum::Json<DryRunDto>, AppError> {
    agent.require_admin()?;
    let (cases, scanned) = rules::dry_run(
        &app,
        agent.account_id().to_owned(),
        body.trigger,
        body.conditions,
        body.actions,
    )
    .await?;
    Ok(axum::Json(DryRunDto {
        cases: cases
            .iter()
            .map(|c| DryRunCase {
                id: c.id.clone(),
                number: c.number,
                subject: c.subject.clone(),
                status: c.state.status.to_string(),
                chat_state: c.state.chat_state.map(|s| s.to_string()),
            })
            .collect(),
        scanned,
    }))
}
