//! Labels (the account's catalogue and labels on cases) and templates
//! (macros), and applying a template to a case.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use casedesk_domain::Role;
use casedesk_store::{StoreError, read};

use super::Json;
use super::cases::load_case;
use super::dto::*;
use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::usecases::templates::{self, TemplateInput, TemplatePatch};

fn is_admin(agent: &Agent) -> bool {
    agent.record.role == Role::Admin
}

#[utoipa::path(get, path = "/api/v1/labels", tag = "labels",
    responses((status = 200, body = ItemsDto<LabelDto>)))]
pub async fn list_labels(
    State(app): State<App>,
    agent: Agent,
) -> Result<axum::Json<ItemsDto<LabelDto>>, AppError> {
    let account_id = agent.account_id().to_owned();
    let labels = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.list_labels(&account_id).await })
    })
    .await?;
    Ok(axum::Json(ItemsDto {
        items: labels.iter().map(LabelDto::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/labels", tag = "labels", request_body = CreateLabel,
    responses((status = 201, body = LabelDto), (status = 403), (status = 409), (status = 422)))]
pub async fn create_label(
    State(app): State<App>,
    agent: Agent,
    Json(body): Json<CreateLabel>,
) -> Result<(StatusCode, axum::Json<LabelDto>), AppError> {
    agent.require_admin()?;
    let label = templates::create_label(
        &app,
        agent.account_id().to_owned(),
        &body.name,
        body.color.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(LabelDto::from(&label))))
}

#[utoipa::path(patch, path = "/api/v1/labels/{id}", tag = "labels",
    params(("id" = String, Path)), request_body = PatchLabel,
    responses((status = 200, body = LabelDto), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn patch_label(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<PatchLabel>,
) -> Result<axum::Json<LabelDto>, AppError> {
    agent.require_admin()?;
    let label = templates::update_label(
        &app,
        agent.account_id().to_owned(),
        id,
        body.name.as_deref(),
        body.color.as_ref().map(|c| c.as_deref()),
    )
    .await?;
    Ok(axum::Json(LabelDto::from(&label)))
}

#[utoipa::path(delete, path = "/api/v1/labels/{id}", tag = "labels",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted and taken off every case"), (status = 403), (status = 404),
        (status = 409, description = "A template or rule uses the label")))]
pub async fn delete_label(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    agent.require_admin()?;
    templates::delete_label(&app, agent.account_id().to_owned(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/labels", tag = "labels",
    params(("id" = String, Path)), request_body = CaseLabelRequest,
    responses((status = 200, body = CaseDto), (status = 404), (status = 409), (status = 422)))]
pub async fn add_case_label(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<CaseLabelRequest>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let case = templates::label_case(&app, agent.actor(), id, body.label_id, true).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}

#[utoipa::path(delete, path = "/api/v1/cases/{id}/labels/{label_id}", tag = "labels",
    params(("id" = String, Path), ("label_id" = String, Path)),
    responses((status = 200, body = CaseDto), (status = 404), (status = 409), (status = 422)))]
pub async fn remove_case_label(
    State(app): State<App>,
    agent: Agent,
    Path((id, label_id)): Path<(String, String)>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let case = templates::label_case(&app, agent.actor(), id, label_id, false).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}

#[utoipa::path(get, path = "/api/v1/templates", tag = "templates",
    responses((status = 200, body = ItemsDto<TemplateDto>,
        description = "Shared templates and the caller's personal ones, by name")))]
pub async fn list_templates(
    State(app): State<App>,
    agent: Agent,
) -> Result<axum::Json<ItemsDto<TemplateDto>>, AppError> {
    let account_id = agent.account_id().to_owned();
    let all = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.list_templates(&account_id).await })
    })
    .await?;
    Ok(axum::Json(ItemsDto {
        items: all
            .iter()
            .filter(|t| templates::visible_to(t, &agent.record.id))
            .map(TemplateDto::from)
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", request_body = CreateTemplate,
    responses((status = 201, body = TemplateDto), (status = 403),
        (status = 404, description = "An action names an agent or label the account does not have"),
        (status = 409, description = "The account's (or the agent's) templates are at the limit"),
        (status = 422)))]
pub async fn create_template(
    State(app): State<App>,
    agent: Agent,
    Json(body): Json<CreateTemplate>,
) -> Result<(StatusCode, axum::Json<TemplateDto>), AppError> {
    let input = TemplateInput {
        name: body.name,
        body: body.body,
        actions: body.actions,
    };
    let t = templates::create_template(&app, agent.actor(), is_admin(&agent), body.shared, input)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(TemplateDto::from(&t))))
}

#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates",
    params(("id" = String, Path)), responses((status = 200, body = TemplateDto), (status = 404)))]
pub async fn get_template(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<TemplateDto>, AppError> {
    let t = templates::get_template(&app, agent.actor(), id).await?;
    Ok(axum::Json(TemplateDto::from(&t)))
}

#[utoipa::path(patch, path = "/api/v1/templates/{id}", tag = "templates",
    params(("id" = String, Path)), request_body = PatchTemplate,
    responses((status = 200, body = TemplateDto), (status = 403),
        (status = 404, description = "No such template, or an action names an agent or label \
            the account does not have"),
        (status = 409, description = "The change would leave the template with neither a \
            reply text nor an action"),
        (status = 422)))]
pub async fn patch_template(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<PatchTemplate>,
) -> Result<axum::Json<TemplateDto>, AppError> {
    let patch = TemplatePatch {
        name: body.name,
        body: body.body,
        actions: body.actions,
        shared: body.shared,
    };
    let t = templates::update_template(&app, agent.actor(), is_admin(&agent), id, patch).await?;
    Ok(axum::Json(TemplateDto::from(&t)))
}

#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "templates",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_template(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    templates::delete_template(&app, agent.actor(), is_admin(&agent), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/apply-template", tag = "templates",
    params(("id" = String, Path)), request_body = ApplyTemplate,
    responses((status = 200, body = CaseDto, description = "The case after the reply and every action"),
        (status = 404), (status = 409), (status = 422)))]
pub async fn apply_template(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<ApplyTemplate>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let case = templates::apply_template(&app, agent.actor(), id, body.template_id).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}
