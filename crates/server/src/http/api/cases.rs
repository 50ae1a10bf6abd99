//! The case list, a case, its messages and history, and the agent actions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use casedesk_domain::Subject;
use casedesk_store::{CaseFilter, CaseSort, SortOrder, StoreError, read, write};

use super::dto::*;
use super::{Json, Query};
use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::usecases::agent_actions::{self, CasePatch};
use crate::usecases::lifecycle;
use crate::usecases::messages::AgentMessageKind;
use crate::usecases::unit::not_found;
use crate::usecases::{topics, undo};

/// A cursor is `<sort><order><sort time micros>_<id>` of the last case of a
/// page, e.g. `cd1700000000000000_0190…`: the sort and order it was made for
/// are part of it, so it cannot be replayed against another order.
fn cursor_prefix(sort: CaseSort, order: SortOrder) -> &'static str {
    match (sort, order) {
        (CaseSort::CreatedAt, SortOrder::Desc) => "cd",
        (CaseSort::CreatedAt, SortOrder::Asc) => "ca",
        (CaseSort::LastActivityAt, SortOrder::Desc) => "ad",
        (CaseSort::LastActivityAt, SortOrder::Asc) => "aa",
    }
}

fn parse_cursor(
    cursor: &str,
    sort: CaseSort,
    order: SortOrder,
) -> Result<(casedesk_domain::Time, String), AppError> {
    let refuse = |message| AppError::new(StatusCode::BAD_REQUEST, "cursor_invalid", message);
    let bad = || refuse("cursor is not one this server gave out");
    let rest = cursor
        .strip_prefix(cursor_prefix(sort, order))
        .ok_or_else(|| {
            refuse("cursor belongs to another sort or order; start from the first page")
        })?;
    let (micros, id) = rest.split_once('_').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

#[utoipa::path(get, path = "/api/v1/cases/queues", tag = "cases",
    responses((status = 200, body = QueuesDto)))]
pub async fn queues(
    State(app): State<App>,
    agent: Agent,
) -> Result<axum::Json<QueuesDto>, AppError> {
    let account_id = agent.account_id().to_owned();
    let agent_id = agent.record.id.clone();
    let q = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.count_queues(&account_id, &agent_id).await })
    })
    .await?;
    Ok(axum::Json(QueuesDto {
        mine: q.mine,
        unassigned: q.unassigned,
        open: q.open,
        pending: q.pending,
    }))
}

#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseListQuery),
    responses((status = 200, body = CaseListDto), (status = 400)))]
pub async fn list_cases(
    State(app): State<App>,
    agent: Agent,
    Query(q): Query<CaseListQuery>,
) -> Result<axum::Json<CaseListDto>, AppError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::limit_out_of_range(200));
    }
    let sort = match q.sort {
        Some(CaseSortParam::CreatedAt) | None => CaseSort::CreatedAt,
        Some(CaseSortParam::LastActivityAt) => CaseSort::LastActivityAt,
    };
    let order = match q.order {
        Some(OrderParam::Asc) => SortOrder::Asc,
        Some(OrderParam::Desc) | None => SortOrder::Desc,
    };
    let filter = CaseFilter {
        status: q.status,
        chat_state: q.chat_state,
        channel_id: q.channel_id,
        customer_id: q.customer_id,
        assignee_id: q.assignee_id,
        unassigned: q.unassigned.unwrap_or(false),
        label_id: q.label_id.filter(|s| !s.is_empty()),
        q: q.q.filter(|s| !s.trim().is_empty()),
        include_merged: false,
        sort,
        order,
        cursor: q
            .cursor
            .as_deref()
            .map(|c| parse_cursor(c, sort, order))
            .transpose()?,
        // One extra row tells whether another page follows.
        limit: limit + 1,
    };
    let account_id = agent.account_id().to_owned();
    let (mut rows, deadlines, labels) = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut rows = tx.list_cases(&account_id, &filter).await?;
            rows.truncate(limit as usize + 1);
            // Only active chats have timers; the live list shows their
            // warnings (R4). One small indexed read per active chat.
            let mut deadlines = Vec::new();
            for c in rows.iter().take(limit as usize) {
                if c.state.is_active_chat() {
                    deadlines.extend(tx.list_deadlines(&c.id).await?);
                }
            }
            let ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
            let labels = tx.case_labels(&account_id, &ids).await?;
            Ok((rows, deadlines, labels))
        })
    })
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more.then(|| rows.last()).flatten().map(|c| {
        let prefix = cursor_prefix(sort, order);
        format!("{prefix}{}_{}", sort.key(c).timestamp_micros(), c.id)
    });
    let list = CaseListDto {
        items: rows
            .iter()
            .map(|c| {
                let own: Vec<_> = deadlines
                    .iter()
                    .filter(|d| d.case_id == c.id)
                    .cloned()
                    .collect();
                CaseDto::new(c, &own, &labels)
            })
            .collect(),
        next_cursor,
    };
    Ok(axum::Json(list))
}

pub(super) async fn load_case(
    app: &App,
    account_id: String,
    case_id: String,
) -> Result<CaseDto, AppError> {
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let case = tx
                .get_case(&account_id, &case_id)
                .await
                .map_err(not_found("case"))?;
            let deadlines = tx.list_deadlines(&case.id).await?;
            let labels = tx
                .case_labels(&account_id, std::slice::from_ref(&case.id))
                .await?;
            Ok(CaseDto::new(&case, &deadlines, &labels))
        })
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = String, Path)), responses((status = 200, body = CaseDto), (status = 404)))]
pub async fn get_case(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<CaseDto>, AppError> {
    Ok(axum::Json(
        load_case(&app, agent.account_id().to_owned(), id).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = String, Path)),
    request_body = PatchCase,
    responses((status = 200, body = CaseDto), (status = 404), (status = 409), (status = 422)))]
pub async fn patch_case(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<PatchCase>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let patch = CasePatch {
        subject: body.subject.as_deref().map(Subject::parse).transpose()?,
        status: body.status,
        assignee_id: body.assignee_id,
    };
    let case = agent_actions::patch(&app, agent.actor(), id, patch).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/messages", tag = "cases",
    params(("id" = String, Path)),
    responses((status = 200, body = ItemsDto<MessageDto>), (status = 404)))]
pub async fn list_messages(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<ItemsDto<MessageDto>>, AppError> {
    let account_id = agent.account_id().to_owned();
    let items = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.get_case(&account_id, &id)
                .await
                .map_err(not_found("case"))?;
            let messages = tx.list_messages(&account_id, &id).await?;
            let reactions = tx.list_reactions(&id).await?;
            let files = tx.list_case_attachments(&id).await?;
            let deliveries = tx.list_case_deliveries(&account_id, &id).await?;
            let letters = tx.list_case_letters(&account_id, &id).await?;
            Ok(messages
                .iter()
                .map(|m| {
                    let mut dto = MessageDto::new(m, &reactions, &files, &deliveries);
                    dto.letter = letters
                        .iter()
                        .find(|l| l.message_id == m.id)
                        .map(LetterDto::from);
                    dto
                })
                .collect())
        })
    })
    .await?;
    Ok(axum::Json(ItemsDto { items }))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/messages", tag = "cases",
    params(("id" = String, Path)), request_body = PostMessage,
    responses((status = 201, body = MessageDto), (status = 404), (status = 409), (status = 422)))]
pub async fn post_message(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<PostMessage>,
) -> Result<(StatusCode, axum::Json<MessageDto>), AppError> {
    let kind = match body.kind {
        Some(PostKind::Note) => AgentMessageKind::Note,
        Some(PostKind::Reply) | None => AgentMessageKind::Reply,
    };
    let message = agent_actions::post_agent_message(
        &app,
        agent.actor(),
        id,
        kind,
        body.text,
        None,
        body.reply_to_message_id,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(MessageDto::new(&message, &[], &[], &[])),
    ))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/events", tag = "cases",
    params(("id" = String, Path)),
    responses((status = 200, body = ItemsDto<EventDto>), (status = 404)))]
pub async fn list_events(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<ItemsDto<EventDto>>, AppError> {
    let account_id = agent.account_id().to_owned();
    let events = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.get_case(&account_id, &id)
                .await
                .map_err(not_found("case"))?;
            Ok(tx.list_events(&account_id, &id).await?)
        })
    })
    .await?;
    Ok(axum::Json(ItemsDto {
        items: events.iter().map(EventDto::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/finish", tag = "cases",
    params(("id" = String, Path)), request_body = FinishRequest,
    responses((status = 200, body = CaseDto), (status = 404), (status = 409)))]
pub async fn finish(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<FinishRequest>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let case = agent_actions::finish(&app, agent.actor(), id, body.status).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/keep-active", tag = "cases",
    params(("id" = String, Path)),
    responses((status = 200, body = CaseDto), (status = 404), (status = 409)))]
pub async fn keep_active(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let case = agent_actions::keep_active(&app, agent.actor(), id).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/split", tag = "cases",
    params(("id" = String, Path)),
    responses((status = 201, body = CaseDto, description = "the new case"), (status = 404), (status = 409)))]
pub async fn split(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<(StatusCode, axum::Json<CaseDto>), AppError> {
    let case = lifecycle::split(&app, agent.actor(), id).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(load_case(&app, case.account_id, case.id).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/move-messages", tag = "cases",
    params(("id" = String, Path)), request_body = MoveMessagesRequest,
    responses(
        (status = 200, body = CaseDto, description = "the case the messages moved to"),
        (status = 201, body = CaseDto, description = "the new case they moved to"),
        (status = 404), (status = 409), (status = 422)))]
pub async fn move_messages(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<MoveMessagesRequest>,
) -> Result<(StatusCode, axum::Json<CaseDto>), AppError> {
    let (to, status) = match body.to.as_str() {
        "new" => (lifecycle::MoveTarget::New, StatusCode::CREATED),
        _ => (lifecycle::MoveTarget::Case(body.to), StatusCode::OK),
    };
    let case =
        lifecycle::move_messages(&app, agent.actor(), id, Some(body.message_ids), to).await?;
    Ok((
        status,
        axum::Json(load_case(&app, case.account_id, case.id).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/topic-suggestion", tag = "cases",
    params(("id" = String, Path)),
    responses((status = 200, body = TopicSuggestionDto), (status = 404)))]
pub async fn topic_suggestion(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<TopicSuggestionDto>, AppError> {
    let found = topics::suggestion(&app, agent.account_id().to_owned(), id).await?;
    Ok(axum::Json(TopicSuggestionDto {
        suggestion: found.map(SuggestionDto::from),
    }))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/topic-suggestion/dismiss", tag = "cases",
    params(("id" = String, Path)), request_body = DismissTopicRequest,
    responses((status = 204, description = "the case no longer suggests it"), (status = 404), (status = 422)))]
pub async fn dismiss_topic(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<DismissTopicRequest>,
) -> Result<StatusCode, AppError> {
    topics::dismiss(&app, agent.actor(), id, body.message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/events/{event_id}/undo", tag = "cases",
    params(("id" = String, Path), ("event_id" = String, Path)),
    responses((status = 200, body = CaseDto, description = "the case, as it is after the undo"),
        (status = 404), (status = 409)))]
pub async fn undo_event(
    State(app): State<App>,
    agent: Agent,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let case = undo::undo(&app, agent.actor(), id, event_id).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/merge-previous", tag = "cases",
    params(("id" = String, Path)),
    responses((status = 200, body = CaseDto, description = "the previous case"), (status = 404), (status = 409)))]
pub async fn merge_previous(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let case = lifecycle::merge_with_previous(&app, agent.actor(), id).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/read", tag = "cases",
    params(("id" = String, Path)),
    responses((status = 200, body = CaseDto, description = "the case, no longer unread"), (status = 404)))]
pub async fn mark_read(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<CaseDto>, AppError> {
    let case = agent_actions::mark_read(&app, agent.actor(), id).await?;
    Ok(axum::Json(load_case(&app, case.account_id, case.id).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path)),
    responses((status = 200, body = CustomerDto), (status = 404)))]
pub async fn get_customer(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<CustomerDto>, AppError> {
    let account_id = agent.account_id().to_owned();
    let (customer, profiles) = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let customer = tx
                .get_customer(&account_id, &id)
                .await
                .map_err(not_found("customer"))?;
            let profiles = tx.list_linked_customers(&account_id, &id).await?;
            Ok((customer, profiles))
        })
    })
    .await?;
    Ok(axum::Json(CustomerDto::with_linked(&customer, &profiles)))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/links", tag = "customers",
    params(("id" = String, Path)), request_body = LinkCustomer,
    responses((status = 200, body = CustomerDto,
        description = "Linked: one person with the other profile (and the profiles linked to either); the case page and the Help Center show the person's cases across channels"),
        (status = 404, description = "Either profile is not the account's"),
        (status = 422, description = "A profile linked to itself")))]
pub async fn link_customer(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<LinkCustomer>,
) -> Result<axum::Json<CustomerDto>, AppError> {
    if body.customer_id == id {
        return Err(AppError::invalid_as(
            "link_to_itself",
            "customer_id must be another profile",
        ));
    }
    let account_id = agent.account_id().to_owned();
    let (customer, profiles) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.link_customers(&account_id, &id, &body.customer_id)
                .await
                .map_err(not_found("customer"))?;
            let customer = tx.get_customer(&account_id, &id).await?;
            let profiles = tx.list_linked_customers(&account_id, &id).await?;
            Ok((customer, profiles))
        })
    })
    .await?;
    Ok(axum::Json(CustomerDto::with_linked(&customer, &profiles)))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/links", tag = "customers",
    params(("id" = String, Path)),
    responses((status = 204, description = "The profile is its own person again"),
        (status = 404, description = "No such profile of the account, or it is linked to none")))]
pub async fn unlink_customer(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let account_id = agent.account_id().to_owned();
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            if tx.unlink_customer(&account_id, &id).await? {
                Ok(())
            } else {
                Err(AppError::not_found("linked customer"))
            }
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path)), request_body = PatchCustomer,
    responses((status = 200, body = CustomerDto,
        description = "The e-mail signs the customer in to the Help Center, where they see their cases of every channel with that address"),
        (status = 404), (status = 422)))]
pub async fn patch_customer(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<PatchCustomer>,
) -> Result<axum::Json<CustomerDto>, AppError> {
    let account_id = agent.account_id().to_owned();
    let email = match body.email {
        Some(Some(e)) if !e.trim().is_empty() => Some(Some(crate::auth::normalize_email(&e)?)),
        Some(_) => Some(None),
        None => None,
    };
    let customer = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            if let Some(email) = &email {
                tx.set_customer_email(&account_id, &id, email.as_deref())
                    .await
                    .map_err(not_found("customer"))?;
            }
            tx.get_customer(&account_id, &id)
                .await
                .map_err(not_found("customer"))
        })
    })
    .await?;
    Ok(axum::Json(CustomerDto::from(&customer)))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/attachments", tag = "cases",
    params(("id" = String, Path), AttachmentUploadQuery),
    request_body(content = FileBytes, content_type = "application/octet-stream",
        description = "The file's bytes (its type is sniffed from them)"),
    responses((status = 201, body = MessageDto, description = "A reply (or note) carrying the file"),
        (status = 404), (status = 409),
        (status = 413, description = "larger than the limit (10 MiB by default)"),
        (status = 415, description = "not an accepted kind of file"),
        (status = 503, description = "attachments are not configured")))]
pub async fn post_attachment(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
    Query(q): Query<AttachmentUploadQuery>,
    body: axum::body::Body,
) -> Result<(StatusCode, axum::Json<MessageDto>), AppError> {
    let kind = match q.kind {
        Some(PostKind::Note) => AgentMessageKind::Note,
        Some(PostKind::Reply) | None => AgentMessageKind::Reply,
    };
    let files = crate::usecases::attachments::configured(&app)?;
    let caption = crate::usecases::attachments::check_caption(q.text)?;
    // The case must take messages before a byte is stored.
    let (account_id, case_id) = (agent.account_id().to_owned(), id.clone());
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let case = tx
                .get_case(&account_id, &case_id)
                .await
                .map_err(not_found("case"))?;
            if case.state.merged {
                return Err(AppError::from(casedesk_domain::RuleError::Merged));
            }
            Ok(())
        })
    })
    .await?;
    let file = files
        .receive(&app.clock, agent.account_id(), q.filename.as_deref(), body)
        .await?;
    let text = caption.unwrap_or_else(|| file.filename.clone());
    let posted = agent_actions::post_agent_message(
        &app,
        agent.actor(),
        id,
        kind,
        text,
        Some(file.clone()),
        None,
    )
    .await;
    let message = match posted {
        Ok(m) => m,
        Err(e) => {
            files.discard(&file).await;
            return Err(e);
        }
    };
    let stored = casedesk_store::AttachmentRecord {
        message_id: message.id.clone(),
        ..file
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(MessageDto::new(&message, &[], &[stored], &[])),
    ))
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "cases",
    params(("id" = String, Path)),
    responses((status = 200, description = "The file (images inline, others as downloads)"),
        (status = 404), (status = 410, description = "the file is no longer stored")))]
pub async fn get_attachment(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::response::Response, AppError> {
    crate::usecases::attachments::serve_to_agent(&app, agent.account_id(), &id).await
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/sessions", tag = "customers",
    params(("id" = String, Path)),
    responses((status = 200, description = "`{\"revoked\": n}`: the customer's widget visitor tokens and Help Center links and sessions (by customer or e-mail) no longer work"),
        (status = 404)))]
pub async fn revoke_sessions(
    State(app): State<App>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<axum::Json<serde_json::Value>, AppError> {
    let account_id = agent.account_id().to_owned();
    let subject = format!("customer:{id}");
    let revoked = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let customer = tx
                .get_customer(&account_id, &id)
                .await
                .map_err(not_found("customer"))?;
            Ok(tx
                .revoke_customer_tokens(&account_id, &customer.id, customer.email.as_deref())
                .await?)
        })
    })
    .await?;
    app.revoke(subject);
    tracing::info!(revoked, "customer sign-ins revoked");
    Ok(axum::Json(serde_json::json!({ "revoked": revoked })))
}
