//! `GET /simulate/auto-finish` (issue 19): what other auto-finish times
//! would have made of the account's own messages of a period — how many
//! cases, per customer, how many chats the customer went on with within a
//! day, how long they were and how many a day. Read-only.
//!
//! The store reads the period's public messages as small tuples; the
//! domain (`casedesk_domain::simulate`) splits each customer's messages
//! into chats with the same rule the retro-split of an import follows, for
//! every candidate time in one pass. docs/reports.md explains each figure.

use axum::extract::State;
use casedesk_domain::simulate::{Figures, MAX_CANDIDATES, Simulator};
use casedesk_domain::{AccountTimeZone, Time};
use casedesk_store::read;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Query;
use super::stats::period;
use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::util::rfc3339;

/// The most messages one simulation reads (a longer period is refused).
pub const MAX_SIMULATED_MESSAGES: usize = 5_000_000;
/// The longest candidate time: a year, in minutes.
pub const MAX_MINUTES: i64 = 525_600;
const DEFAULT_MINUTES: &[i64] = &[5, 10, 30, 60, 1440];

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SimulateParams {
    /// Start of the period: RFC 3339, or a date `YYYY-MM-DD` (the start of
    /// that day in the account's time zone). Default: 29 days before today.
    #[param(schema_with = super::schema::period_bound)]
    pub from: Option<String>,
    /// End of the period (exclusive): RFC 3339, or a date meaning the end
    /// of that day. Default: now.
    #[param(schema_with = super::schema::period_bound)]
    pub to: Option<String>,
    /// Candidate auto-finish times in minutes, comma-separated (1 to
    /// 525600, at most 10). Default `5,10,30,60,1440`.
    #[param(schema_with = super::schema::minutes_list)]
    pub minutes: Option<String>,
}

/// What one candidate time would have given.
#[derive(Serialize, ToSchema)]
pub struct SimulatedDto {
    pub minutes: i64,
    /// Chats (cases) the period's messages would have made.
    pub cases: u64,
    /// Customers who wrote or were written to in the period.
    pub customers: u64,
    pub cases_per_customer: f64,
    /// Share of the chats after which the same customer wrote again less
    /// than a day after the chat finished (0 to 1).
    pub reopened_within_day_share: f64,
    /// Median chat length, first to last message, in seconds.
    pub median_case_seconds: i64,
    /// The agents' load: chats started per day of the period, the mean and
    /// the busiest day (days in the account's time zone).
    pub cases_per_day: f64,
    pub busiest_day_cases: u64,
}

impl From<Figures> for SimulatedDto {
    fn from(f: Figures) -> Self {
        SimulatedDto {
            minutes: f.after_seconds / 60,
            cases: f.cases,
            customers: f.customers,
            cases_per_customer: f.cases_per_customer,
            reopened_within_day_share: f.reopened_within_day_share,
            median_case_seconds: f.median_case_seconds,
            cases_per_day: f.cases_per_day,
            busiest_day_cases: f.busiest_day_cases,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SimulationDto {
    pub from: String,
    pub to: String,
    pub time_zone: String,
    /// The account's auto-finish time now, in minutes (may be fractional).
    pub current_minutes: f64,
    /// Public messages of customers and agents the simulation read.
    pub messages: usize,
    pub items: Vec<SimulatedDto>,
}

/// The candidate times: `5,10,60` → `[5, 10, 60]`, each once, in order.
fn parse_minutes(text: Option<&str>) -> Result<Vec<i64>, AppError> {
    let Some(text) = text else {
        return Ok(DEFAULT_MINUTES.to_vec());
    };
    let invalid = || {
        AppError::invalid_as(
            "minutes_invalid",
            format!(
                "minutes must be 1 to {MAX_CANDIDATES} whole numbers from 1 to {MAX_MINUTES}, \
                 comma-separated (5,10,60), got `{text}`"
            ),
        )
        .with(serde_json::json!({ "max": MAX_CANDIDATES, "max_minutes": MAX_MINUTES }))
    };
    let mut out: Vec<i64> = Vec::new();
    for part in text.split(',') {
        let m: i64 = part.trim().parse().map_err(|_| invalid())?;
        if !(1..=MAX_MINUTES).contains(&m) {
            return Err(invalid());
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.is_empty() || out.len() > MAX_CANDIDATES {
        return Err(invalid());
    }
    out.sort_unstable();
    Ok(out)
}

/// Calendar days of `[from, to)` in `tz`, at least one.
fn days_of(from: Time, to: Time, tz: AccountTimeZone) -> i64 {
    let last = tz.date_of(to - chrono::Duration::microseconds(1));
    (last - tz.date_of(from)).num_days() + 1
}

#[utoipa::path(get, path = "/api/v1/simulate/auto-finish", tag = "reports",
    params(SimulateParams),
    responses((status = 200, body = SimulationDto), (status = 400), (status = 401),
        (status = 403), (status = 422)))]
pub async fn auto_finish(
    State(app): State<App>,
    agent: Agent,
    Query(p): Query<SimulateParams>,
) -> Result<axum::Json<SimulationDto>, AppError> {
    agent.require_admin()?;
    let minutes = parse_minutes(p.minutes.as_deref())?;
    let account_id = agent.account_id().to_owned();
    let clock = app.clock.clone();
    let (read, tz, current, from, to) = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let account = tx.get_account(&account_id).await?;
            let tz = account.time_zone;
            let (from, to) = period(p.from.as_deref(), p.to.as_deref(), tz, clock.now())?;
            let read = tx
                .simulation_messages(&account_id, from, to, MAX_SIMULATED_MESSAGES)
                .await?;
            Ok((read, tz, account.settings.after_seconds(), from, to))
        })
    })
    .await?;
    if !read.complete {
        return Err(AppError::invalid_as(
            "period_too_large",
            format!(
                "the period holds more than {MAX_SIMULATED_MESSAGES} messages; choose a shorter one"
            ),
        )
        .with(serde_json::json!({ "max": MAX_SIMULATED_MESSAGES })));
    }
    let days = days_of(from, to, tz);
    let messages = read.messages.len();
    // Sorting and counting a million tuples is CPU work: off the runtime.
    let items = tokio::task::spawn_blocking(move || {
        let mut rows = read.messages;
        rows.sort_unstable();
        let seconds: Vec<i64> = minutes.iter().map(|m| m * 60).collect();
        let mut sim = Simulator::new(&seconds, tz, days);
        let mut current = None;
        for (conversation, at, from_customer) in rows {
            if current != Some(conversation) {
                sim.next_conversation();
                current = Some(conversation);
            }
            sim.message(at, from_customer);
        }
        sim.finish()
    })
    .await
    .map_err(AppError::internal)?;
    Ok(axum::Json(SimulationDto {
        from: rfc3339(from),
        to: rfc3339(to),
        time_zone: tz.name().to_owned(),
        current_minutes: current as f64 / 60.0,
        messages,
        items: items.into_iter().map(SimulatedDto::from).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_whole_numbers_in_range_each_once_in_order() {
        assert_eq!(parse_minutes(None).unwrap(), DEFAULT_MINUTES);
        assert_eq!(parse_minutes(Some("60, 5,5")).unwrap(), [5, 60]);
        for bad in [
            "",
            "0",
            "x",
            "5,,6",
            "525601",
            "1.5",
            "1,2,3,4,5,6,7,8,9,10,11",
            "-5",
        ] {
            let e = parse_minutes(Some(bad)).unwrap_err();
            assert_eq!(e.code, "minutes_invalid", "{bad}");
        }
    }

    #[test]
    fn days_are_calendar_days_of_the_account() {
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let utc = AccountTimeZone::default();
        assert_eq!(
            days_of(t("2026-11-01T00:00:00Z"), t("2026-11-02T00:00:00Z"), utc),
            1
        );
        assert_eq!(
            days_of(t("2026-11-01T00:00:00Z"), t("2026-11-02T00:00:01Z"), utc),
            2
        );
        assert_eq!(
            days_of(t("2026-11-01T10:00:00Z"), t("2026-11-01T11:00:00Z"), utc),
            1
        );
    }
}
