//! `GET /stats` (R15): case statistics per day, week, agent or channel.
//!
//! The store gathers facts from the case history; the domain
//! (`casedesk_domain::stats`) decides what each counter means, buckets days
//! and weeks in the account's time zone and computes the distributions.
//! docs/reports.md defines every figure.

use std::collections::HashMap;

use axum::extract::State;
use casedesk_domain::stats::{
    self, Distribution, GroupFigures, GroupKey, Grouping, TimeBucket, time_buckets,
};
use casedesk_domain::{AccountTimeZone, Role, Time};
use casedesk_store::{StatsGrouping, StatsQuery, read};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Query;
use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::util::rfc3339;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Start of the period: RFC 3339, or a date `YYYY-MM-DD` meaning the
    /// start of that day in the account's time zone. Default: 29 days before today.
    #[param(schema_with = super::schema::period_bound)]
    pub from: Option<String>,
    /// End of the period (exclusive): RFC 3339, or a date meaning the end of
    /// that day (inclusive day). Default: now.
    #[param(schema_with = super::schema::period_bound)]
    pub to: Option<String>,
    /// `day` (default), `week` (ISO, Monday first), `agent` or `channel`.
    #[param(schema_with = super::schema::group_by)]
    pub group_by: Option<String>,
    pub channel_id: Option<String>,
    /// Only cases assigned to this agent. Agents (not admins) always get
    /// their own figures.
    pub agent_id: Option<String>,
}

/// Mean, median and 90th percentile (nearest rank); `null` without values.
#[derive(Serialize, ToSchema)]
pub struct DistributionDto {
    pub count: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl From<Distribution> for DistributionDto {
    fn from(d: Distribution) -> Self {
        DistributionDto {
            count: d.count,
            mean: d.mean,
            median: d.median,
            p90: d.p90,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FiguresDto {
    /// `created` history events: new chats and cases, including split-off ones.
    pub cases_created: i64,
    /// Chats that left the active list (agent, auto-finish, closing an active chat).
    pub cases_finished: i64,
    /// Of `cases_finished`, by the inactivity timer.
    pub cases_auto_finished: i64,
    /// Status changes to `closed`.
    pub cases_closed: i64,
    /// Finished chats reopened by a customer message.
    pub cases_reopened: i64,
    /// Finished chats made active again by an agent reply.
    pub cases_reactivated: i64,
    pub cases_split: i64,
    pub cases_merged: i64,
    /// Message count of the cases created in the period (merged ones excluded).
    pub messages_per_case: DistributionDto,
    /// Seconds from creation to the first agent reply, cases created in the
    /// period (business seconds when the account has business hours).
    pub first_response_seconds: DistributionDto,
    /// Seconds from creation to each close in the period (business seconds
    /// when the account has business hours).
    pub resolution_seconds: DistributionDto,
    /// Active chats right now; `null` for day and week groups.
    pub active_chats_now: Option<i64>,
}

impl From<GroupFigures> for FiguresDto {
    fn from(f: GroupFigures) -> Self {
        let c = f.counters;
        FiguresDto {
            cases_created: c.created,
            cases_finished: c.finished,
            cases_auto_finished: c.auto_finished,
            cases_closed: c.closed,
            cases_reopened: c.reopened,
            cases_reactivated: c.reactivated,
            cases_split: c.split,
            cases_merged: c.merged,
            messages_per_case: f.messages_per_case.into(),
            first_response_seconds: f.first_response.into(),
            resolution_seconds: f.resolution.into(),
            active_chats_now: f.active_now,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatsGroupDto {
    /// The local date (`2026-11-23`), ISO week (`2026-W48`), agent id
    /// (`null`: unassigned) or channel id.
    pub key: Option<String>,
    /// What to show: the date or week, the agent's or channel's name.
    pub label: String,
    /// The bucket's start and end (RFC 3339) for day and week groups.
    pub start: Option<String>,
    pub end: Option<String>,
    #[serde(flatten)]
    pub figures: FiguresDto,
}

#[derive(Serialize, ToSchema)]
pub struct StatsDto {
    pub from: String,
    pub to: String,
    /// `day`, `week`, `agent` or `channel`.
    pub group_by: String,
    pub time_zone: String,
    /// `true`: first-response and resolution seconds count only the
    /// account's business hours; `false`: calendar time.
    pub business_hours: bool,
    pub channel_id: Option<String>,
    pub agent_id: Option<String>,
    pub groups: Vec<StatsGroupDto>,
    /// All groups together.
    pub total: FiguresDto,
}

fn parse_grouping(s: Option<&str>) -> Result<Grouping, AppError> {
    match s.unwrap_or("day") {
        "day" => Ok(Grouping::Day),
        "week" => Ok(Grouping::Week),
        "agent" => Ok(Grouping::Agent),
        "channel" => Ok(Grouping::Channel),
        other => Err(AppError::unknown_value(
            "group_by",
            other,
            &["day", "week", "agent", "channel"],
        )),
    }
}

/// A report's period from its `from` and `to` parameters: by default the
/// 30 days up to `now`; `422 period_reversed` unless `from` is before `to`.
pub(super) fn period(
    from: Option<&str>,
    to: Option<&str>,
    tz: AccountTimeZone,
    now: Time,
) -> Result<(Time, Time), AppError> {
    let to = match to {
        Some(s) => parse_time("to", s, tz, true)?,
        None => now,
    };
    let from = match from {
        Some(s) => parse_time("from", s, tz, false)?,
        None => tz.start_of_day(tz.date_of(to) - chrono::Duration::days(29)),
    };
    if from >= to {
        return Err(AppError::invalid_as(
            "period_reversed",
            "`from` must be before `to`",
        ));
    }
    Ok((from, to))
}

/// An RFC 3339 instant, or a local date: its start, or for `end` the start
/// of the next day.
fn parse_time(name: &str, s: &str, tz: AccountTimeZone, end: bool) -> Result<Time, AppError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if end => d
            .succ_opt()
            .map(|d| tz.start_of_day(d))
            .ok_or_else(|| bad_time(name, s)),
        Ok(d) => Ok(tz.start_of_day(d)),
        Err(_) => Err(bad_time(name, s)),
    }
}

fn bad_time(name: &str, s: &str) -> AppError {
    AppError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "time_invalid",
        format!(
            "{name} must be an RFC 3339 time (2026-11-01T00:00:00Z) or a date (2026-11-01), \
             got `{s}`"
        ),
    )
    .with(serde_json::json!({ "name": name, "value": s }))
}

#[utoipa::path(get, path = "/api/v1/stats", tag = "reports", params(StatsParams),
    responses((status = 200, body = StatsDto), (status = 400), (status = 403), (status = 422)))]
pub async fn stats(
    State(app): State<App>,
    agent: Agent,
    Query(p): Query<StatsParams>,
) -> Result<axum::Json<StatsDto>, AppError> {
    let grouping = parse_grouping(p.group_by.as_deref())?;
    let agent_id = if agent.record.role == Role::Admin {
        p.agent_id.filter(|a| !a.is_empty())
    } else {
        match p.agent_id.as_deref() {
            Some(id) if !id.is_empty() && id != agent.record.id => {
                return Err(AppError::forbidden(
                    "agents see only their own figures; leave agent_id out or use your own id",
                ));
            }
            _ => Some(agent.record.id.clone()),
        }
    };
    let channel_id = p.channel_id.filter(|c| !c.is_empty());
    let account_id = agent.account_id().to_owned();

    let clock = app.clock.clone();
    let (figures, tz, from, to, buckets, names) = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let account = tx.get_account(&account_id).await?;
            let tz = account.time_zone;
            let (from, to) = period(p.from.as_deref(), p.to.as_deref(), tz, clock.now())?;
            let agents = tx.list_agents(&account_id).await?;
            let channels = tx.list_channels(&account_id).await?;
            let mut names: HashMap<GroupKey, String> = HashMap::new();
            for a in &agents {
                names.insert(GroupKey::Agent(Some(a.id.clone())), a.name.clone());
            }
            names.insert(GroupKey::Agent(None), "Unassigned".to_owned());
            for c in &channels {
                names.insert(GroupKey::Channel(c.id.clone()), c.name.clone());
            }
            let buckets: Vec<TimeBucket> = match grouping {
                Grouping::Day | Grouping::Week => time_buckets(from, to, tz, grouping)?,
                Grouping::Agent | Grouping::Channel => Vec::new(),
            };
            // Keys listed even without data: every bucket, every agent
            // (or the one asked for), every channel (or the one asked for).
            let listed: Vec<GroupKey> = match grouping {
                Grouping::Day | Grouping::Week => {
                    (0..buckets.len()).map(GroupKey::Bucket).collect()
                }
                Grouping::Agent => match &agent_id {
                    Some(id) => vec![GroupKey::Agent(Some(id.clone()))],
                    None => agents
                        .iter()
                        .map(|a| GroupKey::Agent(Some(a.id.clone())))
                        .collect(),
                },
                Grouping::Channel => channels
                    .iter()
                    .filter(|c| channel_id.as_ref().is_none_or(|id| *id == c.id))
                    .map(|c| GroupKey::Channel(c.id.clone()))
                    .collect(),
            };
            let store_grouping = match grouping {
                Grouping::Day | Grouping::Week => {
                    StatsGrouping::Buckets(buckets.iter().map(|b| (b.start, b.end)).collect())
                }
                Grouping::Agent => StatsGrouping::Agent,
                Grouping::Channel => StatsGrouping::Channel,
            };
            let q = StatsQuery {
                from,
                to,
                grouping: store_grouping,
                channel_id: channel_id.clone(),
                agent_id: agent_id.clone(),
            };
            let input = tx.stats(&account_id, &q).await?;
            Ok((
                (input, listed, account.business_hours),
                tz,
                from,
                to,
                buckets,
                (names, channel_id, agent_id),
            ))
        })
    })
    .await?;
    let (names, channel_id, agent_id) = names;
    let (input, listed, business_hours) = figures;
    // Outside the read job: business time can take a while on many cases.
    let is_time = matches!(grouping, Grouping::Day | Grouping::Week);
    let (groups, total) = stats::compute(
        input,
        &listed,
        is_time,
        business_hours.as_ref().map(|h| (h, tz)),
    );
    let groups = groups
        .into_iter()
        .map(|(key, f)| {
            let (key, label, start, end) = match key {
                GroupKey::Bucket(i) => {
                    let b = buckets.get(i);
                    (
                        b.map(|b| {
                            if grouping == Grouping::Week {
                                b.label.clone()
                            } else {
                                b.date.to_string()
                            }
                        }),
                        b.map(|b| b.label.clone()).unwrap_or_default(),
                        b.map(|b| rfc3339(b.start)),
                        b.map(|b| rfc3339(b.end)),
                    )
                }
                k @ (GroupKey::Agent(_) | GroupKey::Channel(_)) => {
                    let label = names.get(&k).cloned();
                    let id = match k {
                        GroupKey::Agent(id) => id,
                        GroupKey::Channel(id) => Some(id),
                        GroupKey::Bucket(_) => None,
                    };
                    let label = label.or_else(|| id.clone()).unwrap_or_default();
                    (id, label, None, None)
                }
            };
            StatsGroupDto {
                key,
                label,
                start,
                end,
                figures: f.into(),
            }
        })
        .collect();
    Ok(axum::Json(StatsDto {
        from: rfc3339(from),
        to: rfc3339(to),
        group_by: match grouping {
            Grouping::Day => "day",
            Grouping::Week => "week",
            Grouping::Agent => "agent",
            Grouping::Channel => "channel",
        }
        .to_owned(),
        time_zone: tz.name().to_owned(),
        business_hours: business_hours.is_some(),
        channel_id,
        agent_id,
        groups,
        total: total.into(),
    }))
}
