//! `casedesk bench cluster`: N servers (default 3) in this process on one
//! fresh PostgreSQL schema, announcing changes to each other over NATS
//! (docs/scaling.md). It prints the ingest rate with the load spread over
//! 1, 2, … N of them, then the latency of live updates across servers: an
//! agent's event stream on the first server while messages go to the
//! others at half the maximum rate, from each message's request to its
//! `message.created` event on the stream (goal: p99 under 100 ms).
//!
//! The servers share this process and its cores with the load generator:
//! the rate with more servers shows what the database and NATS allow, not
//! what more machines would add.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casedesk_store::Store;
use casedesk_store_postgres::PostgresStore;
use clap::Args;
use rand::RngCore;
use serde_json::Value;

use super::{
    Api, BenchDb, BenchServer, DatabaseArg, Inbound, NatsArg, Spread, closed_loop, http_client,
    load_average, spread, wait_until_healthy,
};

#[derive(Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Servers on the database.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=8))]
    servers: u64,
    #[command(flatten)]
    nats: NatsArg,
    /// Customers of each ingest phase; each one's messages go to one chat
    /// through one server.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    customers: u64,
    /// Messages per customer in each ingest phase.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    messages: u64,
    /// Requests in flight at once, over all servers.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: u64,
    /// Length of the live-update phase, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
}

pub async fn run(args: ClusterArgs) -> Result<(), String> {
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return Err("--seconds must be above 0".into());
    }
    let db = BenchDb::new(&args.database)?;
    let BenchDb::Postgres(url) = &db else {
        return Err("bench cluster needs PostgreSQL: --database-url postgres://…".into());
    };
    println!(
        "casedesk bench cluster: {} servers on one PostgreSQL schema, NATS at {}; load average {}",
        args.servers,
        args.nats.url,
        load_average()
    );
    let schema = format!(
        "bench_{}_{:08x}",
        std::process::id(),
        rand::rng().next_u32()
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    let at = format!("{url}{sep}schema={schema}");
    let mut servers: Vec<BenchServer> = Vec::new();
    let mut started = Ok(());
    for i in 0..args.servers {
        let store = match PostgresStore::connect(&at).await {
            // The first server's store drops the schema when it closes.
            Ok(store) if i == 0 => Arc::new(store.drop_schema_on_close()) as Arc<dyn Store>,
            Ok(store) => Arc::new(store) as Arc<dyn Store>,
            Err(e) => {
                started = Err(e.to_string());
                break;
            }
        };
        let nats = args.nats.url.clone();
        match BenchServer::start_on(store, move |c| c.nats_url = Some(nats)).await {
            Ok(server) => {
                // One at a time: the first creates the admin.
                if let Err(e) = wait_until_healthy(&http_client()?, &server).await {
                    started = Err(e);
                }
                servers.push(server);
            }
            Err(e) => started = Err(e),
        }
        if started.is_err() {
            break;
        }
    }
    let result = match started {
        Ok(()) => measure(&servers, &args).await,
        Err(e) => Err(e),
    };
    // The first server last: its store drops the schema.
    while let Some(server) = servers.pop() {
        server.stop().await?;
    }
    result
}

async fn measure(servers: &[BenchServer], args: &ClusterArgs) -> Result<(), String> {
    let http = http_client()?;
    let api = Api::login(http.clone(), &servers[0]).await?;
    let first = api.create_channel().await?;
    let inbounds: Vec<Inbound> = servers
        .iter()
        .map(|s| Inbound {
            url: first.url.replacen(&servers[0].base, &s.base, 1),
            ..first.clone()
        })
        .collect();

    let mut max = 0.0;
    for k in 1..=servers.len() {
        let customers = (args.customers as usize / k).max(1);
        let concurrency = (args.concurrency as usize / k).max(1);
        let start = Instant::now();
        let loops = inbounds[..k].iter().enumerate().map(|(i, inbound)| {
            // Customer ids of their own per phase and server.
            let prefix: &'static str = Box::leak(format!("k{k}s{i}-").into_boxed_str());
            closed_loop(
                inbound,
                prefix,
                customers,
                args.messages as usize,
                concurrency,
            )
        });
        let done = futures::future::try_join_all(loops).await?;
        let elapsed = start.elapsed();
        let sent: usize = done.iter().map(|l| l.sent).sum();
        let mut latencies = Vec::new();
        for l in &done {
            l.tally.check(&format!("{k} servers"))?;
            latencies.extend(l.tally.latencies.iter().copied());
        }
        let rate = sent as f64 / elapsed.as_secs_f64();
        println!(
            "  ingest through {k} server{}: {sent} messages in {:.2} s = {rate:.0} messages/s, \
             latency {}",
            if k == 1 { "" } else { "s" },
            elapsed.as_secs_f64(),
            spread(&latencies)
        );
        max = rate;
    }
    live_latency(&http, &api, servers, &inbounds, max / 2.0, args.seconds).await
}

/// An agent's stream on the first server; messages at `rate` for
/// `seconds` through the others (through the first when it is alone).
async fn live_latency(
    http: &reqwest::Client,
    api: &Api,
    servers: &[BenchServer],
    inbounds: &[Inbound],
    rate: f64,
    seconds: f64,
) -> Result<(), String> {
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let response = http
        .get(format!("{}/api/v1/events", servers[0].base))
        .bearer_auth(&api.token)
        .send()
        .await
        .map_err(|e| format!("the event stream: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("the event stream: {}", response.status()));
    }
    let reader = {
        let arrived = Arc::clone(&arrived);
        tokio::spawn(async move {
            let mut response = response;
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if !block.contains("event: message.created") {
                        continue;
                    }
                    let data = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .collect::<String>();
                    let notice: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                    if let Some(id) = notice["data"]["message_id"].as_str()
                        && let Ok(mut arrived) = arrived.lock()
                    {
                        arrived.insert(id.to_owned(), Instant::now());
                    }
                }
            }
        })
    };
    let senders: Vec<Inbound> = if inbounds.len() > 1 {
        inbounds[1..].to_vec()
    } else {
        inbounds.to_vec()
    };
    let total = ((rate * seconds).round() as usize).max(1);
    let customers = ((rate * 0.05).ceil() as usize).clamp(1, total);
    let start = Instant::now() + Duration::from_millis(200);
    let tasks: Vec<_> = (0..total)
        .map(|i| {
            let inbound = senders[i % senders.len()].clone();
            tokio::spawn(async move {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                let sent = Instant::now();
                let customer = format!("live-{}", i % customers);
                let text = format!("live update {i}");
                inbound
                    .send(&customer, &format!("live-{i}"), &text)
                    .await
                    .map(|d| (d.message_id, sent))
            })
        })
        .collect();
    let mut sent_at = HashMap::new();
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.map_err(|e| format!("a sender failed: {e}"))? {
            Ok((id, at)) => {
                sent_at.insert(id, at);
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        reader.abort();
        return Err(format!(
            "{} live-phase messages failed, e.g. {}",
            errors.len(),
            errors[0]
        ));
    }
    let waited = Instant::now();
    loop {
        let all = arrived
            .lock()
            .map(|a| sent_at.keys().all(|id| a.contains_key(id)))
            .unwrap_or(false);
        if all || waited.elapsed() > Duration::from_secs(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reader.abort();
    let arrived = arrived.lock().map(|a| a.clone()).unwrap_or_default();
    let mut latencies = Vec::new();
    let mut missed = 0;
    for (id, sent) in &sent_at {
        match arrived.get(id) {
            Some(at) => latencies.push(at.saturating_duration_since(*sent)),
            None => missed += 1,
        }
    }
    let over = if inbounds.len() > 1 {
        "messages through the other servers"
    } else {
        "messages through the same server (only one)"
    };
    println!(
        "  live updates across servers at {rate:.0} messages/s (half the maximum) for \
         {seconds:.1} s, {over}, to an event stream on the first: {} messages, request to \
         event {}",
        sent_at.len(),
        Spread::of(latencies).map_or_else(|| "no samples".into(), |s| s.to_string())
    );
    if missed > 0 {
        return Err(format!(
            "{missed} acknowledged messages never reached the stream within 10 s"
        ));
    }
    Ok(())
}
