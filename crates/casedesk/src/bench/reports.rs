//! `casedesk bench reports`: statistics query times and export throughput
//! on a large history.
//!
//! Starts a server on a fresh database (which creates the admin), then
//! seeds `--cases` cases with realistic histories straight through the
//! store in large batches ([`casedesk_store::Tx::seed_bulk`]; going through
//! HTTP would measure ingest, not reports). Then it times
//! `GET /api/v1/stats` for every grouping over the whole year and over the
//! last 30 days, and downloads the full CSV and XLSX exports, printing rows
//! per second and the process's peak RSS during each (VmHWM, reset before
//! each export through /proc/self/clear_refs).

use std::time::Instant;

use casedesk_domain::{Actor, AuthorType, CaseState, ChannelKind, EventKind, Role, Status, Time};
use casedesk_store::{
    AgentRecord, CaseRecord, ChannelRecord, CustomerRecord, EventRecord, SeedBatch, StoreError,
    write,
};
use clap::Args;
use rand::Rng;
use serde_json::json;

use super::{Api, BenchDb, BenchServer, DatabaseArg, admin_account, http_client, with_server};

#[derive(Args)]
pub struct ReportsArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Cases to seed (spread over the last 365 days).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    cases: u64,
}

const AGENTS: usize = 10;
const CHANNELS: usize = 3;
/// Cases per seeding write job.
const SEED_BATCH: usize = 5000;

pub async fn run(args: ReportsArgs) -> Result<(), String> {
    let db = BenchDb::new(&args.database)?;
    println!(
        "casedesk bench reports: {}; {} cases",
        db.describe(),
        args.cases
    );
    with_server(&db, async |server| reports_on(server, &args).await).await
}

async fn reports_on(server: &BenchServer, args: &ReportsArgs) -> Result<(), String> {
    let api = Api::login(http_client()?, server).await?;
    let account_id = admin_account(&*server.store).await?;
    let started = Instant::now();
    let seeded = seed(server, &account_id, args.cases as usize).await?;
    println!(
        "  seeded {} cases and {} history events in {:.1} s",
        seeded.0,
        seeded.1,
        started.elapsed().as_secs_f64()
    );
    // A live server's autovacuum would have done this by the time anyone
    // asks for a year of statistics; right after a bulk load it has not.
    let t = Instant::now();
    server
        .store
        .maintain()
        .await
        .map_err(|e| format!("maintenance after seeding: {e}"))?;
    println!(
        "  maintenance after seeding ({}): {:.1} s",
        if server.store.backend() == "postgres" {
            "VACUUM (ANALYZE)"
        } else {
            "none needed"
        },
        t.elapsed().as_secs_f64()
    );
    let tz = json!({ "time_zone": "Europe/Berlin" });
    api.call(reqwest::Method::PATCH, "/api/v1/settings", Some(tz))
        .await?;

    let year_from = (super::now() - chrono::Duration::days(365)).format("%Y-%m-%d");
    for (period, from) in [
        ("365 days", format!("&from={year_from}")),
        ("30 days", String::new()),
    ] {
        for group in ["day", "week", "agent", "channel"] {
            let path = format!("/api/v1/stats?group_by={group}{from}");
            let t = Instant::now();
            let answer = api.get(&path).await?;
            let took = t.elapsed();
            let total = &answer["total"];
            println!(
                "  stats {period:>8} by {group:<7}: {:>8.1} ms  ({} groups; created {}, finished {}, closed {}, reopened {}, split {}, merged {})",
                took.as_secs_f64() * 1000.0,
                answer["groups"].as_array().map_or(0, Vec::len),
                total["cases_created"],
                total["cases_finished"],
                total["cases_closed"],
                total["cases_reopened"],
                total["cases_split"],
                total["cases_merged"],
            );
        }
    }
    for format in ["csv", "xlsx"] {
        reset_peak_rss();
        let before = peak_rss_kib();
        let t = Instant::now();
        let url = format!("{}/api/v1/cases/export?format={format}", api.base);
        let mut response = api
            .http
            .get(&url)
            .bearer_auth(&api.token)
            .send()
            .await
            .map_err(|e| format!("export {format}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("export {format}: {}", response.status()));
        }
        let first_byte = t.elapsed();
        let mut bytes = 0usize;
        let mut lines = 0usize;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("export {format}: {e}"))?
        {
            bytes += chunk.len();
            if format == "csv" {
                lines += chunk.iter().filter(|&&b| b == b'\n').count();
            }
        }
        let took = t.elapsed().as_secs_f64();
        let rows = if format == "csv" {
            lines.saturating_sub(1)
        } else {
            seeded.2
        };
        println!(
            "  export {format:<4}: {rows} rows, {:.1} MB in {took:.1} s = {:.0} rows/s (first byte after {:.2} s); peak RSS {} MiB (before: {} MiB)",
            bytes as f64 / 1e6,
            rows as f64 / took,
            first_byte.as_secs_f64(),
            peak_rss_kib().unwrap_or(0) / 1024,
            before.unwrap_or(0) / 1024,
        );
        if format == "csv" && rows != seeded.2 {
            return Err(format!(
                "the CSV has {rows} rows, {} listed cases expected",
                seeded.2
            ));
        }
    }
    Ok(())
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0); ignored elsewhere.
pub(super) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(super) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:012}")
}

/// Returns (cases, events, listed cases — i.e. not merged away).
async fn seed(
    server: &BenchServer,
    account_id: &str,
    cases: usize,
) -> Result<(usize, usize, usize), String> {
    let now = super::now();
    let account = account_id.to_owned();
    let agents: Vec<AgentRecord> = (0..AGENTS)
        .map(|i| AgentRecord {
            id: id("agent", i),
            account_id: account.clone(),
            email: format!("agent{i}@bench.example"),
            name: format!("Agent {i}"),
            role: Role::Agent,
            password_hash: "!".into(),
            created_at: now,
            disabled_at: None,
            deleted_at: None,
        })
        .collect();
    let channels: Vec<ChannelRecord> = (0..CHANNELS)
        .map(|i| ChannelRecord {
            allowed_origins: Vec::new(),
            id: id("channel", i),
            account_id: account.clone(),
            kind: ChannelKind::Api,
            name: format!("Messenger {i}"),
            webhook_url: None,
            inbound_token: id("token", i),
            created_at: now,
            disabled_at: None,
            removed_at: None,
        })
        .collect();
    let (a, c) = (agents.clone(), channels.clone());
    write::<_, StoreError, _>(&*server.store, move |tx| {
        Box::pin(async move {
            for agent in &a {
                tx.insert_agent(agent).await?;
            }
            for channel in &c {
                tx.insert_channel(channel).await?;
            }
            Ok(())
        })
    })
    .await
    .map_err(|e| e.to_string())?;

    let mut number = 0i64;
    let (mut total_cases, mut total_events, mut listed) = (0, 0, 0);
    let mut done = 0usize;
    while done < cases {
        let n = SEED_BATCH.min(cases - done);
        let batch = history_batch(&account, done, n, &mut number, now, &agents, &channels);
        total_cases += batch.cases.len();
        total_events += batch.events.len();
        listed += batch
            .cases
            .iter()
            .filter(|c| c.merged_into_id.is_none())
            .count();
        done += n;
        write::<_, StoreError, _>(&*server.store, move |tx| {
            Box::pin(async move { tx.seed_bulk(&batch).await })
        })
        .await
        .map_err(|e| format!("seeding failed: {e}"))?;
    }
    Ok((total_cases, total_events, listed))
}

struct Hist<'a> {
    account: &'a str,
    events: Vec<EventRecord>,
    seq: usize,
}

impl Hist<'_> {
    fn record(
        &mut self,
        case: &CaseRecord,
        kind: EventKind,
        actor: Actor,
        changes: Vec<casedesk_domain::Change>,
        at: Time,
    ) {
        self.seq += 1;
        self.events.push(EventRecord {
            id: format!("{}-e{}", case.id, self.seq),
            account_id: self.account.to_owned(),
            case_id: case.id.clone(),
            kind,
            actor,
            changes,
            data: json!({}),
            created_at: at,
        });
    }
}

/// `n` customers' chats (one customer each, sometimes two chats), with
/// the histories the use cases would record.
fn history_batch(
    account: &str,
    first: usize,
    n: usize,
    number: &mut i64,
    now: Time,
    agents: &[AgentRecord],
    channels: &[ChannelRecord],
) -> SeedBatch {
    let mut rng = rand::rng();
    let mut h = Hist {
        account,
        events: Vec::with_capacity(n * 4),
        seq: 0,
    };
    let mut customers = Vec::with_capacity(n);
    let mut cases: Vec<CaseRecord> = Vec::with_capacity(n + n / 10);
    let secs = |s: i64| chrono::Duration::seconds(s);
    for i in first..first + n {
        let channel = &channels[i % channels.len()];
        let customer_id = id("cu", i);
        let created = now - secs(rng.random_range(600..365 * 86_400));
        let assignee = (rng.random_range(0..10) > 0)
            .then(|| agents[rng.random_range(0..agents.len())].id.clone());
        *number += 1;
        let mut case = CaseRecord {
            id: id("case", i),
            account_id: account.to_owned(),
            number: *number,
            channel_id: channel.id.clone(),
            customer_id: customer_id.clone(),
            subject: format!(
                "Question {i} about order #{}",
                rng.random_range(1000..99_999)
            ),
            state: CaseState::new_case(ChannelKind::Api),
            assignee_id: assignee,
            created_at: created,
            updated_at: created,
            last_activity_at: created,
            previous_case_id: None,
            next_case_id: None,
            merged_into_id: None,
            message_count: rng.random_range(1..20),
            unread: false,
            first_response_at: None,
        };
        h.record(
            &case,
            EventKind::Created,
            Actor::Customer(customer_id.clone()),
            vec![],
            created,
        );
        let replied = created + secs(rng.random_range(20..3 * 3600));
        let roll = rng.random_range(0..100);
        let agent = Actor::Agent(
            case.assignee_id
                .clone()
                .unwrap_or_else(|| agents[0].id.clone()),
        );
        let mut extra: Option<CaseRecord> = None;
        if roll < 3 && created > now - secs(86_400) {
            // still active
        } else if roll < 60 {
            case.first_response_at = Some(replied);
            let at = replied + secs(rng.random_range(60..86_400));
            let ch = case.state.finish(Status::Closed, at).unwrap_or_default();
            h.record(&case, EventKind::Finished, agent, ch, at);
        } else if roll < 80 {
            case.state.last_public_author = Some(AuthorType::Agent);
            case.first_response_at = Some(replied);
            let at = replied + secs(600);
            let ch = case.state.auto_finish(at).unwrap_or_default();
            h.record(
                &case,
                EventKind::AutoFinished,
                Actor::System("auto_finish".into()),
                ch,
                at,
            );
        } else if roll < 92 {
            // Finished pending, reopened by the customer, then split.
            case.first_response_at = Some(replied);
            let fin = replied + secs(300);
            let ch = case.state.finish(Status::Pending, fin).unwrap_or_default();
            h.record(&case, EventKind::Finished, agent.clone(), ch, fin);
            let reopen = fin + secs(rng.random_range(3600..5 * 86_400));
            let ch = case.state.reopen_by_customer(1, reopen);
            h.record(
                &case,
                EventKind::Reopened,
                Actor::Customer(customer_id.clone()),
                ch,
                reopen,
            );
            if roll < 88 {
                let split_at = reopen + secs(120);
                if let Ok(plan) = case.state.split() {
                    *number += 1;
                    let mut new_case = CaseRecord {
                        id: id("split", i),
                        number: *number,
                        state: CaseState::new_case(ChannelKind::Api),
                        created_at: split_at,
                        updated_at: split_at,
                        last_activity_at: split_at,
                        previous_case_id: Some(case.id.clone()),
                        first_response_at: Some(split_at + secs(rng.random_range(20..1800))),
                        message_count: rng.random_range(1..8),
                        ..case.clone()
                    };
                    case.next_case_id = Some(new_case.id.clone());
                    h.record(
                        &case,
                        EventKind::Split,
                        agent.clone(),
                        plan.original_changes,
                        split_at,
                    );
                    h.record(
                        &new_case,
                        EventKind::Created,
                        agent.clone(),
                        vec![],
                        split_at,
                    );
                    let at = split_at + secs(3600);
                    let ch = new_case
                        .state
                        .finish(Status::Closed, at)
                        .unwrap_or_default();
                    h.record(&new_case, EventKind::Finished, agent, ch, at);
                    extra = Some(new_case);
                }
            } else {
                let at = reopen + secs(900);
                let ch = case
                    .state
                    .set_status(Status::Closed, at)
                    .unwrap_or_default();
                h.record(&case, EventKind::Updated, agent, ch, at);
            }
        } else {
            // Closed, a new chat after it, merged back by the agent.
            case.first_response_at = Some(replied);
            let at = replied + secs(600);
            let ch = case.state.finish(Status::Closed, at).unwrap_or_default();
            h.record(&case, EventKind::Finished, agent.clone(), ch, at);
            let later = at + secs(rng.random_range(60..86_400));
            *number += 1;
            let mut current = CaseRecord {
                id: id("merged", i),
                number: *number,
                state: CaseState::new_case(ChannelKind::Api),
                created_at: later,
                updated_at: later,
                last_activity_at: later,
                previous_case_id: Some(case.id.clone()),
                first_response_at: None,
                message_count: 0,
                ..case.clone()
            };
            h.record(
                &current,
                EventKind::Created,
                Actor::Customer(customer_id.clone()),
                vec![],
                later,
            );
            let merge_at = later + secs(300);
            if let Ok(plan) = current
                .state
                .merge_into_previous(&mut case.state, true, merge_at)
            {
                current.merged_into_id = Some(case.id.clone());
                h.record(
                    &current,
                    EventKind::Merged,
                    agent.clone(),
                    plan.current_changes,
                    merge_at,
                );
                h.record(
                    &case,
                    EventKind::MergedIn,
                    agent.clone(),
                    plan.previous_changes,
                    merge_at,
                );
                let at = merge_at + secs(1800);
                let ch = case.state.finish(Status::Closed, at).unwrap_or_default();
                h.record(&case, EventKind::Finished, agent, ch, at);
            }
            extra = Some(current);
        }
        let latest = extra
            .as_ref()
            .filter(|e| e.merged_into_id.is_none())
            .map_or(&case, |e| e);
        customers.push(CustomerRecord {
            id: customer_id,
            account_id: account.to_owned(),
            channel_id: channel.id.clone(),
            external_id: format!("ext-{i}"),
            name: Some(format!("Customer {i}")),
            email: None,
            latest_case_id: Some(latest.id.clone()),
            created_at: created,
            language: None,
            person_id: None,
            page: None,
        });
        cases.push(case);
        cases.extend(extra);
    }
    SeedBatch {
        customers,
        cases,
        events: h.events,
    }
}
