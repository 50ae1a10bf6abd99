//! Use cases of automation rules: saving them after checking them against
//! the account, and the dry run that shows which cases a rule would touch.
//! Running them is [`automation`](super::automation)'s job.

use casedesk_domain::rules::{
    Condition, Trigger, TriggerEvent, conditions_hold, validate_rule, validate_rule_parts,
    waiting_state_holds,
};
use casedesk_domain::{Action, AuthorType, ChatState, MessageKind};
use casedesk_store::{CaseFilter, CaseRecord, CaseSort, RuleRecord, Tx, read, write};

use super::automation::{arm_existing, case_facts};
use super::unit::not_found;
use crate::AppState;
use crate::error::AppError;
use crate::util::new_id;

/// At most this many rules per account.
pub const MAX_RULES: usize = 200;
/// Positions run within ±this: ample for ordering, and far inside the
/// integers every JSON client (and parser) holds exactly, however written.
pub const MAX_POSITION: i64 = 1_000_000_000;
/// How many of the most recently active cases a dry run looks at.
pub const DRY_RUN_CASES: i64 = 1000;

/// What a save sets.
#[derive(Debug, Clone)]
pub struct RuleInput {
    pub name: String,
    pub enabled: bool,
    pub trigger: Trigger,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

pub(crate) fn parse_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid_as(
            "rule_name_invalid",
            "rule name must be 1 to 100 characters without control characters",
        )
        .with(serde_json::json!({ "max": 100 })));
    }
    Ok(name.to_owned())
}

/// Checks a rule against the rules of rules (`422`) and the account: every
/// channel, label and agent it names must exist (`404`).
async fn check_rule(
    tx: &mut dyn Tx,
    account_id: &str,
    trigger: &Trigger,
    conditions: &[Condition],
    actions: &[Action],
) -> Result<(), AppError> {
    validate_rule(trigger, conditions, actions)?;
    check_references(tx, account_id, conditions, actions).await
}

/// Every channel, label and agent the conditions and actions name must be
/// the account's.
async fn check_references(
    tx: &mut dyn Tx,
    account_id: &str,
    conditions: &[Condition],
    actions: &[Action],
) -> Result<(), AppError> {
    let channels: Vec<String> = tx
        .list_channels(account_id)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    for c in conditions {
        if let Condition::ChannelIs { channel_ids } = c
            && let Some(missing) = channel_ids.iter().find(|id| !channels.contains(id))
        {
            return Err(AppError::unknown("channel", missing));
        }
        if let Some(label_id) = c.label_id() {
            tx.get_label(account_id, label_id)
                .await
                .map_err(AppError::unknown_or("label", label_id))?;
        }
    }
    super::templates::check_action_references(tx, account_id, actions).await
}

pub async fn create_rule(
    app: &AppState,
    account_id: String,
    input: RuleInput,
) -> Result<RuleRecord, AppError> {
    let name = parse_name(&input.name)?;
    let clock = app.clock.clone();
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            check_rule(
                tx,
                &account_id,
                &input.trigger,
                &input.conditions,
                &input.actions,
            )
            .await?;
            let existing = tx.list_rules(&account_id).await?;
            if existing.len() >= MAX_RULES {
                return Err(AppError::conflict(
                    "limit_reached",
                    format!("an account has at most {MAX_RULES} rules; delete one first"),
                ));
            }
            let at = clock.now();
            let rule = RuleRecord {
                id: new_id(),
                account_id,
                name,
                enabled: input.enabled,
                position: existing.iter().map(|r| r.position + 1).max().unwrap_or(1),
                trigger: input.trigger,
                conditions: input.conditions,
                actions: input.actions,
                created_at: at,
                updated_at: at,
            };
            tx.insert_rule(&rule).await?;
            arm_existing(tx, &rule, at).await?;
            Ok(rule)
        })
    })
    .await
}

/// A partial change of a rule.
#[derive(Debug, Clone, Default)]
pub struct RulePatch {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub position: Option<i64>,
    pub trigger: Option<Trigger>,
    pub conditions: Option<Vec<Condition>>,
    pub actions: Option<Vec<Action>>,
}

pub async fn update_rule(
    app: &AppState,
    account_id: String,
    rule_id: String,
    p: RulePatch,
) -> Result<RuleRecord, AppError> {
    let name = p.name.as_deref().map(parse_name).transpose()?;
    if p.position
        .is_some_and(|n| !(-MAX_POSITION..=MAX_POSITION).contains(&n))
    {
        return Err(AppError::invalid_as(
            "position_out_of_range",
            format!("position must be between -{MAX_POSITION} and {MAX_POSITION}"),
        )
        .with(serde_json::json!({ "min": -MAX_POSITION, "max": MAX_POSITION })));
    }
    // What the change says must fit together on its own (`422`); whether it
    // fits the parts of the rule it leaves alone is checked below (`409`).
    validate_rule_parts(
        p.trigger.as_ref(),
        p.conditions.as_deref(),
        p.actions.as_deref(),
    )?;
    let clock = app.clock.clone();
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut rule = tx
                .get_rule(&account_id, &rule_id)
                .await
                .map_err(not_found("rule"))?;
            let content_changed = name.is_some()
                || p.trigger.is_some()
                || p.conditions.is_some()
                || p.actions.is_some();
            let rearm = p.trigger.as_ref().is_some_and(|t| *t != rule.trigger)
                || p.enabled.is_some_and(|e| e != rule.enabled);
            if let Some(name) = name {
                rule.name = name;
            }
            if let Some(enabled) = p.enabled {
                rule.enabled = enabled;
            }
            if let Some(position) = p.position {
                rule.position = position;
            }
            if let Some(trigger) = p.trigger {
                rule.trigger = trigger;
            }
            if let Some(conditions) = p.conditions {
                rule.conditions = conditions;
            }
            if let Some(actions) = p.actions {
                rule.actions = actions;
            }
            // Turning a rule off, or moving a disabled one, never fails on
            // what it says (rules saved before a stricter check stay
            // manageable).
            if content_changed || rule.enabled {
                validate_rule(&rule.trigger, &rule.conditions, &rule.actions)
                    .map_err(AppError::rule_conflict)?;
                check_references(tx, &account_id, &rule.conditions, &rule.actions).await?;
            }
            let at = clock.now();
            rule.updated_at = at;
            tx.update_rule(&rule).await?;
            if rearm {
                arm_existing(tx, &rule, at).await?;
            }
            Ok(rule)
        })
    })
    .await
}

pub async fn delete_rule(
    app: &AppState,
    account_id: String,
    rule_id: String,
) -> Result<(), AppError> {
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.delete_rule(&account_id, &rule_id)
                .await
                .map_err(not_found("rule"))
        })
    })
    .await
}

/// The text of the case's last public message by `author`.
async fn last_text(
    tx: &mut dyn Tx,
    case: &CaseRecord,
    author: AuthorType,
) -> Result<Option<String>, AppError> {
    Ok(tx
        .list_messages(&case.account_id, &case.id)
        .await?
        .into_iter()
        .rev()
        .find(|m| m.kind == MessageKind::Message && m.author_type == author)
        .map(|m| m.text))
}

/// The event a dry run supposes for a case, or `None` when the trigger
/// could not be happening to it now.
async fn supposed_event(
    tx: &mut dyn Tx,
    trigger: &Trigger,
    case: &CaseRecord,
) -> Result<Option<TriggerEvent>, AppError> {
    let customer_last = case.state.last_public_author == Some(AuthorType::Customer);
    Ok(match trigger {
        Trigger::CaseCreated => Some(TriggerEvent::CaseCreated),
        Trigger::CustomerMessage => last_text(tx, case, AuthorType::Customer)
            .await?
            .map(|text| TriggerEvent::CustomerMessage { text }),
        Trigger::AgentReplied => last_text(tx, case, AuthorType::Agent)
            .await?
            .map(|text| TriggerEvent::AgentReplied { text }),
        Trigger::ChatFinished => (case.state.chat_state == Some(ChatState::Finished))
            .then_some(TriggerEvent::ChatFinished),
        Trigger::StatusChanged { to } => {
            to.is_none_or(|s| s == case.state.status)
                .then_some(TriggerEvent::StatusChanged {
                    to: case.state.status,
                })
        }
        Trigger::PendingFor { .. } | Trigger::OpenWithoutReply { .. } => {
            waiting_state_holds(trigger, case.state.status, customer_last).then(|| {
                TriggerEvent::TimerDue {
                    rule_id: String::new(),
                }
            })
        }
    })
}

/// The cases a rule would touch now, among the [`DRY_RUN_CASES`] most
/// recently active ones: those its trigger could concern (a time rule:
/// cases in its waiting state; a message trigger: the case's last such
/// message) whose conditions hold as the case is now. Changes nothing.
pub async fn dry_run(
    app: &AppState,
    account_id: String,
    trigger: Trigger,
    conditions: Vec<Condition>,
    actions: Vec<Action>,
) -> Result<(Vec<CaseRecord>, usize), AppError> {
    let clock = app.clock.clone();
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            check_rule(tx, &account_id, &trigger, &conditions, &actions).await?;
            let account = tx.get_account(&account_id).await?;
            let cases = tx
                .list_cases(
                    &account_id,
                    &CaseFilter {
                        sort: CaseSort::LastActivityAt,
                        limit: DRY_RUN_CASES,
                        ..CaseFilter::default()
                    },
                )
                .await?;
            let scanned = cases.len();
            let at = clock.now();
            let mut matched = Vec::new();
            for case in cases {
                let Some(event) = supposed_event(tx, &trigger, &case).await? else {
                    continue;
                };
                let customer = tx.get_customer(&account_id, &case.customer_id).await?;
                let facts = case_facts(tx, &case, &customer, &account, at).await?;
                if conditions_hold(&conditions, &facts, &event) {
                    matched.push(case);
                }
            }
            Ok((matched, scanned))
        })
    })
    .await
}
