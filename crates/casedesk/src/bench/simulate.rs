//! `casedesk bench simulate`: the auto-finish policy simulator
//! (`GET /api/v1/simulate/auto-finish`) over a large history, against the
//! bare store read of the same messages (no HTTP, no sorting, no
//! counting) measured in the same run: the ratio is what the simulation
//! costs on top of reading its input.
//!
//! Starts a server on a fresh database, seeds `--messages` public messages
//! of customers and agents straight through the store (one case per
//! customer: the simulator reads messages, not cases), spread over the
//! last 30 days with the gaps of real chats (mostly a minute or two, now
//! and then hours or days), then asks for five candidate times three
//! times and prints the median, the process's peak RSS during the runs
//! and what the simulation found.

use std::time::{Duration, Instant};

use casedesk_domain::{AuthorType, CaseState, ChannelKind, MessageKind, Time};
use casedesk_store::{
    CaseRecord, ChannelRecord, CustomerRecord, MessageRecord, SeedBatch, StoreError, read, write,
};
use clap::Args;
use rand::Rng;

use super::{Api, BenchDb, BenchServer, DatabaseArg, admin_account, http_client, with_server};

#[derive(Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Public messages to seed over the last 30 days.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    messages: u64,
}

/// Messages per customer, on average.
const PER_CUSTOMER: usize = 20;
/// Customers per seeding write job.
const SEED_BATCH: usize = 500;
const RUNS: usize = 3;

pub async fn run(args: SimulateArgs) -> Result<(), String> {
    let db = BenchDb::new(&args.database)?;
    println!(
        "casedesk bench simulate: {}; {} messages",
        db.describe(),
        args.messages
    );
    with_server(&db, async |server| simulate_on(server, &args).await).await
}

async fn simulate_on(server: &BenchServer, args: &SimulateArgs) -> Result<(), String> {
    let api = Api::login(http_client()?, server).await?;
    let account_id = admin_account(&*server.store).await?;
    let started = Instant::now();
    let now = super::now();
    let seeded = seed(server, &account_id, args.messages as usize, now).await?;
    println!(
        "  seeded {seeded} messages of {} customers in {:.1} s",
        seeded.div_ceil(PER_CUSTOMER),
        started.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    server
        .store
        .maintain()
        .await
        .map_err(|e| format!("maintenance after seeding: {e}"))?;
    println!(
        "  maintenance after seeding: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let period = format!(
        "from={}&to={}",
        (now - chrono::Duration::days(31)).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let simulate = format!("/api/v1/simulate/auto-finish?{period}&minutes=5,10,30,60,1440");
    let from = now - chrono::Duration::days(31);
    let to = now + chrono::Duration::hours(1);
    let mut reads = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let (account, t) = (account_id.clone(), Instant::now());
        let read = read::<_, StoreError, _>(&*server.store, move |tx| {
            Box::pin(async move { tx.simulation_messages(&account, from, to, usize::MAX).await })
        })
        .await
        .map_err(|e| e.to_string())?;
        reads.push(t.elapsed());
        if read.messages.len() != seeded {
            return Err(format!("the store read {} messages", read.messages.len()));
        }
    }
    reads.sort();
    let read_took = reads[RUNS / 2];
    super::reports::reset_peak_rss();
    let before = super::reports::peak_rss_kib().unwrap_or(0);
    let (took, answer) = timed(&api, &simulate).await?;
    let peak = super::reports::peak_rss_kib().unwrap_or(0);
    println!(
        "  simulate 5 times over {} messages: median {:.2} s; the bare store read of them: median {:.2} s; ratio {:.2}×",
        answer["messages"],
        took.as_secs_f64(),
        read_took.as_secs_f64(),
        took.as_secs_f64() / read_took.as_secs_f64().max(1e-6)
    );
    println!(
        "  peak RSS during the simulations: {} MiB (before: {} MiB)",
        peak / 1024,
        before / 1024
    );
    for item in answer["items"].as_array().into_iter().flatten() {
        println!(
            "  {:>5} min: {:>8} cases, {:.2} per customer, {:>5.1} % went on within a day, median {:>7} s, {:.0} a day (busiest {})",
            item["minutes"],
            item["cases"],
            item["cases_per_customer"].as_f64().unwrap_or(0.0),
            item["reopened_within_day_share"].as_f64().unwrap_or(0.0) * 100.0,
            item["median_case_seconds"],
            item["cases_per_day"].as_f64().unwrap_or(0.0),
            item["busiest_day_cases"],
        );
    }
    if answer["messages"].as_u64() != Some(seeded as u64) {
        return Err(format!(
            "the simulator read {} messages, {seeded} were seeded",
            answer["messages"]
        ));
    }
    Ok(())
}

/// The median time of [`RUNS`] requests, and the last answer.
async fn timed(api: &Api, path: &str) -> Result<(Duration, serde_json::Value), String> {
    let mut times = Vec::with_capacity(RUNS);
    let mut answer = serde_json::Value::Null;
    for _ in 0..RUNS {
        let t = Instant::now();
        answer = api.get(path).await?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times[RUNS / 2], answer))
}

fn id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:012}")
}

/// A gap between two messages of a conversation, in seconds: mostly a
/// minute or two, sometimes a quarter of an hour, now and then hours or days.
fn gap(rng: &mut impl Rng) -> i64 {
    match rng.random_range(0..100) {
        0..70 => rng.random_range(5..180),
        70..85 => rng.random_range(180..1800),
        85..95 => rng.random_range(1800..6 * 3600),
        _ => rng.random_range(6 * 3600..5 * 86_400),
    }
}

/// Seeds `messages` messages (all of them within the last 30 days);
/// returns how many.
async fn seed(
    server: &BenchServer,
    account_id: &str,
    messages: usize,
    now: Time,
) -> Result<usize, String> {
    let channel = ChannelRecord {
        allowed_origins: Vec::new(),
        id: id("channel", 0),
        account_id: account_id.to_owned(),
        kind: ChannelKind::Api,
        name: "Messenger".into(),
        webhook_url: None,
        inbound_token: id("token", 0),
        created_at: now,
        disabled_at: None,
        removed_at: None,
    };
    let c = channel.clone();
    write::<_, StoreError, _>(&*server.store, move |tx| {
        Box::pin(async move { tx.insert_channel(&c).await })
    })
    .await
    .map_err(|e| e.to_string())?;

    let customers = messages.div_ceil(PER_CUSTOMER);
    let mut left = messages;
    let mut first = 0;
    while first < customers {
        let n = SEED_BATCH.min(customers - first);
        let (batch, rows) = customers_batch(account_id, &channel, first, n, &mut left, now);
        first += n;
        write::<_, StoreError, _>(&*server.store, move |tx| {
            Box::pin(async move {
                tx.seed_bulk(&batch).await?;
                let seqs = tx.next_message_seqs(rows.len()).await?;
                let rows: Vec<MessageRecord> = rows
                    .into_iter()
                    .zip(seqs)
                    .map(|(mut m, seq)| {
                        m.seq = seq;
                        m
                    })
                    .collect();
                for chunk in rows.chunks(1000) {
                    tx.insert_messages(chunk).await?;
                }
                Ok(())
            })
        })
        .await
        .map_err(|e| format!("seeding failed: {e}"))?;
    }
    Ok(messages - left)
}

/// `n` customers with a case each and up to [`PER_CUSTOMER`] messages
/// each, taken from `left`.
fn customers_batch(
    account: &str,
    channel: &ChannelRecord,
    first: usize,
    n: usize,
    left: &mut usize,
    now: Time,
) -> (SeedBatch, Vec<MessageRecord>) {
    let mut rng = rand::rng();
    let mut batch = SeedBatch::default();
    let mut rows = Vec::new();
    let month = 30 * 86_400;
    for i in first..first + n {
        let count = PER_CUSTOMER.min(*left);
        *left -= count;
        let customer_id = id("cu", i);
        let case_id = id("case", i);
        // The conversation's gaps, fitted into the last 30 days.
        let gaps: Vec<i64> = (1..count).map(|_| gap(&mut rng)).collect();
        let span: i64 = gaps.iter().sum::<i64>().min(month - 1);
        let start = now - chrono::Duration::seconds(rng.random_range(span..month).max(1));
        let mut at = start;
        let mut from_customer = true;
        for k in 0..count {
            if k > 0 {
                at = (at + chrono::Duration::seconds(gaps[k - 1])).min(now);
                from_customer = rng.random_range(0..100) < 55;
            }
            rows.push(MessageRecord {
                id: format!("{case_id}-m{k}"),
                account_id: account.to_owned(),
                case_id: case_id.clone(),
                seq: 0,
                kind: MessageKind::Message,
                author_type: if from_customer {
                    AuthorType::Customer
                } else {
                    AuthorType::Agent
                },
                author_id: Some(if from_customer {
                    customer_id.clone()
                } else {
                    "agent".to_owned()
                }),
                text: "bench".to_owned(),
                created_at: at,
                channel_id: channel.id.clone(),
                channel_message_id: None,
                reacted_message_id: None,
                edited_at: None,
            });
        }
        batch.customers.push(CustomerRecord {
            id: customer_id.clone(),
            account_id: account.to_owned(),
            channel_id: channel.id.clone(),
            external_id: customer_id.clone(),
            name: None,
            email: None,
            latest_case_id: Some(case_id.clone()),
            created_at: start,
            language: None,
            person_id: None,
            page: None,
        });
        batch.cases.push(CaseRecord {
            id: case_id,
            account_id: account.to_owned(),
            number: i as i64 + 1,
            channel_id: channel.id.clone(),
            customer_id,
            subject: "bench".to_owned(),
            state: CaseState::new_case(ChannelKind::Api),
            assignee_id: None,
            created_at: start,
            updated_at: at,
            last_activity_at: at,
            previous_case_id: None,
            next_case_id: None,
            merged_into_id: None,
            message_count: count as i64,
            unread: false,
            first_response_at: None,
        });
    }
    (batch, rows)
}
