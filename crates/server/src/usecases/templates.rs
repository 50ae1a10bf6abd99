//! Use cases of labels and templates (macros): the label catalogue, labels
//! on cases, saving templates after validating them against the account,
//! and applying a template — its reply and every action — as one change.

use casedesk_domain::rules::TriggerEvent;
use casedesk_domain::templates::{
    parse_color, parse_template_name, render, template_is_empty, validate_template_parts,
};
use casedesk_domain::{Action, EventKind, LabelName};
use casedesk_store::{LabelRecord, StoreError, TemplateRecord, Tx, write};
use serde_json::json;

use super::actions::{ActionRun, change_label, placeholder_values, run_actions};
use super::agent_actions::change_case;
use super::automation;
use super::messages::{AgentMessageKind, Writer, add_agent_message};
use super::unit::{
    AgentActor, case_notice, check_text, lock_case, not_found, record, reschedule, settings_of,
};
use crate::AppState;
use crate::error::AppError;
use crate::events::log;
use crate::util::new_id;

/// At most this many labels per account.
pub const MAX_LABELS: usize = 500;
/// At most this many shared templates per account, and personal ones per agent.
pub const MAX_TEMPLATES: usize = 1000;

fn taken(name: &str) -> impl Fn(StoreError) -> AppError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => AppError::conflict(
            "label_exists",
            format!("a label named `{name}` already exists"),
        ),
        other => other.into(),
    }
}

// ---------------------------------------------------------------- labels

pub async fn create_label(
    app: &AppState,
    account_id: String,
    name: &str,
    color: Option<&str>,
) -> Result<LabelRecord, AppError> {
    let name = LabelName::parse(name)?;
    let color = color.map(parse_color).transpose()?;
    let label = LabelRecord {
        id: new_id(),
        account_id,
        name: name.into_string(),
        color,
        created_at: app.clock.now(),
    };
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            if tx.list_labels(&label.account_id).await?.len() >= MAX_LABELS {
                return Err(AppError::conflict(
                    "limit_reached",
                    format!("an account has at most {MAX_LABELS} labels; delete one first"),
                ));
            }
            tx.insert_label(&label).await.map_err(taken(&label.name))?;
            Ok(label)
        })
    })
    .await
}

pub async fn update_label(
    app: &AppState,
    account_id: String,
    label_id: String,
    name: Option<&str>,
    color: Option<Option<&str>>,
) -> Result<LabelRecord, AppError> {
    let name = name.map(LabelName::parse).transpose()?;
    let color = color.map(|c| c.map(parse_color).transpose()).transpose()?;
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut label = tx
                .get_label(&account_id, &label_id)
                .await
                .map_err(not_found("label"))?;
            if let Some(name) = name {
                label.name = name.into_string();
            }
            if let Some(color) = color {
                label.color = color;
            }
            tx.update_label(&label).await.map_err(taken(&label.name))?;
            Ok(label)
        })
    })
    .await
}

pub async fn delete_label(
    app: &AppState,
    account_id: String,
    label_id: String,
) -> Result<(), AppError> {
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.get_label(&account_id, &label_id)
                .await
                .map_err(not_found("label"))?;
            let users = label_users(tx, &account_id, &label_id).await?;
            if !users.is_empty() {
                return Err(AppError::conflict(
                    "label_in_use",
                    format!(
                        "the label is used by {}; change or delete them first",
                        users.join(", ")
                    ),
                ));
            }
            tx.delete_label(&account_id, &label_id).await?;
            Ok(())
        })
    })
    .await
}

/// The templates and rules whose actions or conditions name the label.
async fn label_users(
    tx: &mut dyn Tx,
    account_id: &str,
    label_id: &str,
) -> Result<Vec<String>, AppError> {
    let names = |a: &Action| match a {
        Action::AddLabel { label_id: l } | Action::RemoveLabel { label_id: l } => l == label_id,
        _ => false,
    };
    let mut users: Vec<String> = tx
        .list_templates(account_id)
        .await?
        .into_iter()
        .filter(|t| t.actions.iter().any(names))
        .map(|t| format!("template `{}`", t.name))
        .collect();
    users.extend(
        tx.list_rules(account_id)
            .await?
            .into_iter()
            .filter(|r| {
                r.actions.iter().any(names)
                    || r.conditions.iter().any(|c| c.label_id() == Some(label_id))
            })
            .map(|r| format!("rule `{}`", r.name)),
    );
    Ok(users)
}

/// Puts a label on a case or takes it off; the history records it. Doing
/// what is already done changes nothing (and records nothing).
pub async fn label_case(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    label_id: String,
    add: bool,
) -> Result<casedesk_store::CaseRecord, AppError> {
    let account_id = who.account_id.clone();
    change_case(
        app,
        who.account_id.clone(),
        who.actor(),
        case_id,
        EventKind::LabelsChanged,
        move |case, tx, at| {
            Box::pin(async move {
                if case.state.merged {
                    return Err(AppError::from(casedesk_domain::RuleError::Merged));
                }
                let change = change_label(tx, &account_id, &case.id, &label_id, add, at).await?;
                Ok(change.into_iter().collect())
            })
        },
    )
    .await
}

// ---------------------------------------------------------------- templates

/// What an agent may see and use: shared templates and their own.
pub fn visible_to(t: &TemplateRecord, agent_id: &str) -> bool {
    t.owner_id.as_deref().is_none_or(|o| o == agent_id)
}

/// Whether an agent may change a template: their own, or a shared one if
/// they are an admin.
fn may_edit(t: &TemplateRecord, agent_id: &str, is_admin: bool) -> bool {
    match t.owner_id.as_deref() {
        Some(owner) => owner == agent_id,
        None => is_admin,
    }
}

/// The template fields a save sets.
#[derive(Debug, Clone)]
pub struct TemplateInput {
    pub name: String,
    pub body: String,
    pub actions: Vec<Action>,
}

/// Checks a template against the rules (`422`) and the account: every
/// agent and label its actions name must exist (`404`). Whether it does
/// anything at all is the caller's to check ([`template_is_empty`]).
async fn check_template(
    tx: &mut dyn Tx,
    account_id: &str,
    input: &TemplateInput,
) -> Result<String, AppError> {
    let name = parse_template_name(&input.name)?;
    validate_template_parts(&input.body, &input.actions)?;
    check_action_references(tx, account_id, &input.actions).await?;
    Ok(name)
}

/// Every agent and label the `actions` of a template or rule name exists in
/// the account (else [`AppError::unknown_or`]).
pub(crate) async fn check_action_references(
    tx: &mut dyn Tx,
    account_id: &str,
    actions: &[Action],
) -> Result<(), AppError> {
    for action in actions {
        match action {
            Action::Assign {
                agent_id: Some(agent_id),
            } => {
                tx.get_agent(account_id, agent_id)
                    .await
                    .map_err(AppError::unknown_or("agent", agent_id))?;
            }
            Action::AddLabel { label_id } | Action::RemoveLabel { label_id } => {
                tx.get_label(account_id, label_id)
                    .await
                    .map_err(AppError::unknown_or("label", label_id))?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn empty_template() -> AppError {
    AppError::invalid_as(
        "template_empty",
        "a template needs a reply text or at least one action",
    )
}

pub async fn create_template(
    app: &AppState,
    who: AgentActor,
    is_admin: bool,
    shared: Option<bool>,
    input: TemplateInput,
) -> Result<TemplateRecord, AppError> {
    let shared = shared.unwrap_or(is_admin);
    if shared && !is_admin {
        return Err(AppError::forbidden(
            "only admins may create shared templates; agents create personal ones",
        ));
    }
    let clock = app.clock.clone();
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let name = check_template(tx, &who.account_id, &input).await?;
            if template_is_empty(&input.body, &input.actions) {
                return Err(empty_template());
            }
            // Shared and each agent's personal templates count apart, so
            // one agent's collection never blocks the team's.
            let owner = (!shared).then(|| who.agent_id.clone());
            let same_owner = tx
                .list_templates(&who.account_id)
                .await?
                .into_iter()
                .filter(|t| t.owner_id == owner)
                .count();
            if same_owner >= MAX_TEMPLATES {
                return Err(AppError::conflict(
                    "limit_reached",
                    format!(
                        "at most {MAX_TEMPLATES} shared templates, and as many personal ones \
                         per agent; delete one first"
                    ),
                ));
            }
            let at = clock.now();
            let template = TemplateRecord {
                id: new_id(),
                account_id: who.account_id.clone(),
                owner_id: (!shared).then(|| who.agent_id.clone()),
                name,
                body: input.body,
                actions: input.actions,
                created_at: at,
                updated_at: at,
            };
            tx.insert_template(&template).await?;
            Ok(template)
        })
    })
    .await
}

/// Loads a template the agent may see; others' personal ones are `404`.
async fn visible_template(
    tx: &mut dyn Tx,
    who: &AgentActor,
    template_id: &str,
) -> Result<TemplateRecord, AppError> {
    let t = tx
        .get_template(&who.account_id, template_id)
        .await
        .map_err(not_found("template"))?;
    if visible_to(&t, &who.agent_id) {
        Ok(t)
    } else {
        Err(AppError::not_found("template"))
    }
}

/// A partial change of a template.
#[derive(Debug, Clone, Default)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub body: Option<String>,
    pub actions: Option<Vec<Action>>,
    pub shared: Option<bool>,
}

pub async fn update_template(
    app: &AppState,
    who: AgentActor,
    is_admin: bool,
    template_id: String,
    p: TemplatePatch,
) -> Result<TemplateRecord, AppError> {
    let clock = app.clock.clone();
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut t = visible_template(tx, &who, &template_id).await?;
            if !may_edit(&t, &who.agent_id, is_admin) {
                return Err(AppError::forbidden(
                    "only admins may change shared templates",
                ));
            }
            if let Some(shared) = p.shared.filter(|s| *s != t.owner_id.is_none()) {
                if !is_admin {
                    return Err(AppError::forbidden("only admins may share templates"));
                }
                t.owner_id = (!shared).then(|| t.owner_id.clone().unwrap_or(who.agent_id.clone()));
            }
            // A change that empties the template on its own is invalid
            // (`422`); one that leaves it empty with what it keeps, a
            // conflict with the template as it is (`409`).
            let empties = p.body.as_deref().is_some_and(|b| b.trim().is_empty())
                && p.actions.as_ref().is_some_and(Vec::is_empty);
            let input = TemplateInput {
                name: p.name.unwrap_or(t.name.clone()),
                body: p.body.unwrap_or(t.body.clone()),
                actions: p.actions.unwrap_or(t.actions.clone()),
            };
            t.name = check_template(tx, &who.account_id, &input).await?;
            if empties {
                return Err(empty_template());
            }
            if template_is_empty(&input.body, &input.actions) {
                return Err(AppError::conflict(
                    "template_empty",
                    "the template would have neither a reply text nor an action",
                ));
            }
            t.body = input.body;
            t.actions = input.actions;
            t.updated_at = clock.now();
            tx.update_template(&t).await?;
            Ok(t)
        })
    })
    .await
}

pub async fn delete_template(
    app: &AppState,
    who: AgentActor,
    is_admin: bool,
    template_id: String,
) -> Result<(), AppError> {
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let t = visible_template(tx, &who, &template_id).await?;
            if !may_edit(&t, &who.agent_id, is_admin) {
                return Err(AppError::forbidden(
                    "only admins may delete shared templates",
                ));
            }
            tx.delete_template(&who.account_id, &t.id).await?;
            Ok(())
        })
    })
    .await
}

pub async fn get_template(
    app: &AppState,
    who: AgentActor,
    template_id: String,
) -> Result<TemplateRecord, AppError> {
    casedesk_store::read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move { visible_template(tx, &who, &template_id).await })
    })
    .await
}

/// Applies a template to a case as one change: the rendered reply first
/// (delivered like any agent reply, R2), then each action in order. A
/// template that closes or finishes an active chat finishes it (R1, R2);
/// "finish chat" on a chat that is not active only sets the status. The
/// history gets one `template_applied` event naming the template, with
/// every field it changed; automation rules then react to the change.
/// Nothing is kept if any step is refused.
pub async fn apply_template(
    app: &AppState,
    who: AgentActor,
    case_id: String,
    template_id: String,
) -> Result<casedesk_store::CaseRecord, AppError> {
    let clock = app.clock.clone();
    let (case, notices, queued) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let template = visible_template(tx, &who, &template_id).await?;
            let (mut case, customer) = lock_case(tx, &who.account_id, &case_id).await?;
            if case.state.merged {
                return Err(AppError::from(casedesk_domain::RuleError::Merged));
            }
            let before = case.state.clone();
            let values = placeholder_values(tx, &case, &customer, Some(&who.agent_id)).await?;
            let mut run = ActionRun::default();
            let mut reply = None;
            if !template.body.trim().is_empty() {
                let text = render(&template.body, &values)?;
                check_text(&text)?;
                let posted = add_agent_message(
                    tx,
                    &who,
                    &mut case,
                    &customer,
                    AgentMessageKind::Reply,
                    text.clone(),
                    at,
                )
                .await?;
                reply = Some((posted.message.id, text));
                run.absorb(posted.notices, posted.queued);
            }
            let was_active = case.state.is_active_chat();
            let writer = Writer::Agent(who.clone());
            let done = run_actions(
                tx,
                &writer,
                &mut case,
                &customer,
                &template.actions,
                &values,
                false,
                at,
            )
            .await?;
            run.absorb(done.notices, done.queued);
            case.updated_at = at;
            tx.update_case(None, &case).await?;
            if was_active != case.state.is_active_chat() {
                let settings = settings_of(tx, &who.account_id).await?;
                reschedule(tx, &case, settings, case.last_activity_at).await?;
            }
            record(
                tx,
                &case,
                EventKind::TemplateApplied,
                &who.actor(),
                done.changes,
                json!({
                    "template_id": template.id,
                    "template_name": template.name,
                    "reply_message_id": reply.as_ref().map(|r| &r.0),
                    "message_ids": done.message_ids,
                }),
                at,
            )
            .await?;
            run.notices.push(case_notice(&case));
            let mut events = Vec::new();
            if let Some((_, text)) = reply {
                events.push(TriggerEvent::AgentReplied { text });
            }
            let rules =
                automation::after_change(tx, &case.id, &who.account_id, Some(before), events, at)
                    .await?;
            run.absorb(rules.notices, rules.queued);
            let case = tx.get_case(&who.account_id, &case.id).await?;
            Ok((case, log(tx, run.notices, at).await?, run.queued))
        })
    })
    .await?;
    app.after_change_commit(notices, queued);
    Ok(case)
}
