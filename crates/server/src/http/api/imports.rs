//! Importing history (issue 19): `POST /channels/{id}/import` takes the
//! file as the body and stages it while it arrives; the import worker
//! turns it into cases. `GET /imports/{id}` follows one, `GET /imports`
//! lists the latest. Admins only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use casedesk_store::{ImportRecord, ImportState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Query;
use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::import::Format;
use crate::usecases::import;
use crate::util::rfc3339;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `telegram` (Telegram Desktop's `result.json`) or `jsonl`.
    pub format: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportErrorDto {
    pub line: i64,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportDto {
    pub id: String,
    pub channel_id: String,
    pub format: String,
    /// `running` (receiving or splitting), `done` or `failed`.
    pub state: String,
    /// Where a running import is: `receiving` (the upload) or `splitting`.
    pub phase: String,
    /// Messages stored (not counting those imported before).
    pub messages: i64,
    pub cases: i64,
    /// Records left out on purpose: service messages, chats that are no
    /// conversation with a customer, messages imported before.
    pub skipped: i64,
    /// The first 1,000 records that could not be read.
    pub errors: Vec<ImportErrorDto>,
    pub error_count: i64,
    /// Messages read from the file and waiting to be split.
    pub staged: i64,
    /// Customers whose messages are cases already.
    pub customers_done: i64,
    pub failure: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ImportRecord> for ImportDto {
    fn from(i: ImportRecord) -> Self {
        let state = match i.state {
            ImportState::Receiving | ImportState::Splitting => "running",
            ImportState::Done => "done",
            ImportState::Failed => "failed",
        };
        ImportDto {
            id: i.id,
            channel_id: i.channel_id,
            format: i.format,
            state: state.to_owned(),
            phase: i.state.as_str().to_owned(),
            messages: i.messages,
            cases: i.cases,
            skipped: i.skipped,
            errors: i
                .errors
                .into_iter()
                .map(|e| ImportErrorDto {
                    line: e.line,
                    message: e.message,
                })
                .collect(),
            error_count: i.error_count,
            staged: i.staged,
            customers_done: i.customers_done,
            failure: i.failure,
            created_at: rfc3339(i.created_at),
            updated_at: rfc3339(i.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportListDto {
    pub items: Vec<ImportDto>,
}

/// The file's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImportFile(#[allow(dead_code)] Vec<u8>);

#[utoipa::path(post, path = "/api/v1/channels/{id}/import", tag = "imports",
    params(("id" = String, Path), ImportParams),
    request_body(content = ImportFile, content_type = "application/octet-stream",
        description = "The history file: Telegram Desktop's result.json, or JSONL (docs/import.md)"),
    responses((status = 202, body = ImportDto,
            description = "Received: the import goes on in the background (or failed: see `failure`)"),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 413),
        (status = 422)))]
pub async fn start(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Query(p): Query<ImportParams>,
    body: axum::body::Body,
) -> Result<(StatusCode, axum::Json<ImportDto>), AppError> {
    agent.require_admin()?;
    let format: Format = p
        .format
        .parse()
        .map_err(|_| AppError::unknown_value("format", &p.format, &["telegram", "jsonl"]))?;
    let who = agent.actor();
    let import = import::receive(&app, &who, id, format, body.into_data_stream()).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(ImportDto::from(import))))
}

#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports",
    params(("id" = String, Path)),
    responses((status = 200, body = ImportDto), (status = 401), (status = 403), (status = 404)))]
pub async fn get(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<ImportDto>, AppError> {
    agent.require_admin()?;
    let import = import::get(&app, agent.account_id().to_owned(), id).await?;
    Ok(axum::Json(ImportDto::from(import)))
}

#[utoipa::path(get, path = "/api/v1/imports", tag = "imports",
    responses((status = 200, body = ImportListDto), (status = 401), (status = 403)))]
pub async fn list(
    State(app): State<App>,
    agent: Agent,
) -> Result<axum::Json<ImportListDto>, AppError> {
    agent.require_admin()?;
    let items = import::list(&app, agent.account_id().to_owned()).await?;
    Ok(axum::Json(ImportListDto {
        items: items.into_iter().map(ImportDto::from).collect(),
    }))
}
