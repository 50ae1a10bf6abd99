//! `casedesk bench ingest --channel telegram`: customer messages as
//! Telegram updates posted to a bot's webhook, the way Telegram delivers
//! them (each chat's updates in order, many chats at once). The webhook
//! stores each update and answers at once; the update worker routes them
//! after the settle time. Measured: how fast the webhook takes updates,
//! and how long until every one is a message in its case.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casedesk_domain::ChannelKind;
use casedesk_store::{ChannelRecord, ChannelSecretRecord, StoreError, UpdateState, read, write};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{
    Api, BenchDb, BenchServer, CpuMeter, IngestArgs, IngestFigures, http_client, message_text, now,
    spread, with_server_configured,
};

const SECRET: &str = "bench-webhook-secret";
/// Telegram user (and private chat) ids of the bench's customers start here.
const FIRST_CHAT: i64 = 1_000_000;

/// A bot channel made in the store: connecting one through the API would
/// ask Telegram (`getMe`), and the bench never leaves the machine.
async fn bot_channel(server: &BenchServer, account_id: &str) -> Result<String, String> {
    let at = now();
    let channel = ChannelRecord {
        id: format!("bench-bot-{:08x}", rand::random::<u32>()),
        account_id: account_id.to_owned(),
        kind: ChannelKind::Telegram,
        name: "bench bot".into(),
        webhook_url: None,
        inbound_token: "unused".into(),
        allowed_origins: Vec::new(),
        created_at: at,
        disabled_at: None,
        removed_at: None,
    };
    let secret = ChannelSecretRecord {
        channel_id: channel.id.clone(),
        account_id: account_id.to_owned(),
        secret: "1:bench".into(),
        webhook_secret: SECRET.into(),
        settings: json!({"bot_id": 1, "bot_username": "bench_bot"}),
        created_at: at,
        updated_at: at,
    };
    let id = channel.id.clone();
    write::<_, StoreError, _>(&*server.store, move |tx| {
        Box::pin(async move {
            tx.insert_channel(&channel).await?;
            tx.upsert_channel_secret(&secret).await
        })
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(id)
}

fn update(update_id: i64, chat: i64, message_id: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {
        "message_id": message_id, "date": 1_700_000_000,
        "chat": {"id": chat, "type": "private", "first_name": "Bench"},
        "from": {"id": chat, "is_bot": false, "first_name": "Bench", "last_name": format!("{chat}")},
        "text": text}})
}

/// Posts every customer's updates, each customer's in order, `concurrency`
/// customers at a time; returns each post's latency.
async fn post_all(
    url: &str,
    customers: usize,
    messages: usize,
    concurrency: usize,
) -> Result<Vec<Duration>, String> {
    let http = http_client()?;
    let queue: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new((0..customers).collect()));
    let workers: Vec<JoinHandle<Result<Vec<Duration>, String>>> = (0..concurrency.min(customers))
        .map(|_| {
            let (http, queue, url) = (http.clone(), Arc::clone(&queue), url.to_owned());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while let Some(c) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                    for n in 0..messages {
                        let id = (c * messages + n + 1) as i64;
                        let body =
                            update(id, FIRST_CHAT + c as i64, n as i64 + 1, &message_text(c, n));
                        let sent = Instant::now();
                        let response = http
                            .post(&url)
                            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                            .json(&body)
                            .send()
                            .await
                            .map_err(|e| format!("update {id}: {e}"))?;
                        if !response.status().is_success() {
                            return Err(format!("update {id}: {}", response.status()));
                        }
                        latencies.push(sent.elapsed());
                    }
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.map_err(|e| format!("a sender failed: {e}"))??);
    }
    Ok(latencies)
}

/// Waits until no update of the channel is pending; the failed ones.
async fn processed(server: &BenchServer, account: &str, channel: &str) -> Result<usize, String> {
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let (a, c) = (account.to_owned(), channel.to_owned());
        let (pending, failed) = read::<_, StoreError, _>(&*server.store, move |tx| {
            Box::pin(async move {
                let pending = tx
                    .list_channel_updates(&a, &c, Some(UpdateState::Pending), 1)
                    .await?;
                let failed = tx
                    .list_channel_updates(&a, &c, Some(UpdateState::Failed), 1000)
                    .await?;
                Ok((pending.len(), failed.len()))
            })
        })
        .await
        .map_err(|e| e.to_string())?;
        if pending == 0 {
            return Ok(failed);
        }
        if Instant::now() > deadline {
            return Err("updates still pending after 30 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(super) async fn ingest(db: &BenchDb, args: &IngestArgs) -> Result<IngestFigures, String> {
    if args.rules > 0 || args.rate.is_some() {
        return Err("--rules and --rate are for --channel api".into());
    }
    // Webhook mode (an https public URL); the Bot API address is one where
    // nothing listens, so registering the webhook fails on loopback and
    // nothing leaves the machine.
    let tweak = |c: &mut casedesk_server::Config| {
        c.public_url = Some("https://bench.invalid".into());
        c.telegram_api_url = Some("http://127.0.0.1:9".into());
    };
    with_server_configured(db, tweak, async |server| {
        let api = Api::login(http_client()?, server).await?;
        let me = api.get("/api/v1/me").await?;
        let account = me
            .get("account_id")
            .and_then(Value::as_str)
            .ok_or("no account id in /me")?
            .to_owned();
        let channel = bot_channel(server, &account).await?;
        let url = format!("{}/api/v1/channels/{channel}/telegram/webhook", server.base);
        let (customers, messages) = (args.customers as usize, args.messages as usize);
        let total = customers * messages;
        let meter = CpuMeter::start();
        let start = Instant::now();
        let latencies = post_all(&url, customers, messages, args.concurrency as usize).await?;
        let accepted = start.elapsed();
        let failed = processed(server, &account, &channel).await?;
        let done = start.elapsed();
        let cpu = meter.report(total, "update");
        println!(
            "  webhook: {total} updates taken in {:.3} s = {:.0} updates/s, latency {}",
            accepted.as_secs_f64(),
            total as f64 / accepted.as_secs_f64(),
            spread(&latencies)
        );
        let settle = casedesk_server::channels::telegram::SETTLE;
        let working = done.saturating_sub(settle);
        let per_second = total as f64 / working.as_secs_f64();
        println!(
            "  processed: every update a message after {:.3} s ({:.1} s of it the settle time \
             of the last ones) = {per_second:.0} messages/s without it",
            done.as_secs_f64(),
            settle.as_secs_f64()
        );
        if let Some(cpu) = cpu {
            println!("    {cpu}");
        }
        let cases = api.all_cases(&format!("channel_id={channel}")).await?;
        let stored: u64 = cases
            .iter()
            .map(|c| c.get("message_count").and_then(Value::as_u64).unwrap_or(0))
            .sum();
        println!(
            "  check: {} cases for {customers} chats, {stored} messages of {total} updates, \
             {failed} failed",
            cases.len()
        );
        if cases.len() != customers || stored as usize != total || failed > 0 {
            return Err("not every update became one message in its chat's one case".into());
        }
        Ok(IngestFigures {
            messages_per_second: per_second,
        })
    })
    .await
}
