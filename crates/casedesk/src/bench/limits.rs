//! `casedesk bench limits`: what one limit hit costs where several servers
//! share their limits (docs/security.md, "Limits across servers"), so that
//! the choice between the database and NATS KV rests on figures.
//!
//! Each hit is one sliding-window check-and-count of a key (at most 10 in
//! 10 s, every hit let through), first one after the other (the latency a
//! request pays), then from many tasks at once (what the store allows):
//!
//! - **memory**: the one-server default;
//! - **PostgreSQL**: casedesk's shared limits as the server runs them
//!   (an `UNLOGGED` table, an advisory lock per key; the memory gate in
//!   front lets every hit through here);
//! - **NATS KV**: the same rule on a JetStream key-value bucket (file
//!   storage, one value per key holding its hits' expiries): read the
//!   value and its revision, write it back only if the revision is
//!   unchanged, again on a conflict.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use casedesk_server::clock::Clock;
use casedesk_server::limits::{Limits, Rate};
use casedesk_store::Store;
use casedesk_store_postgres::PostgresStore;
use clap::Args;
use rand::RngCore;

use super::{BenchDb, DatabaseArg, NatsArg, Spread, load_average};

#[derive(Args)]
pub struct LimitsArgs {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    nats: NatsArg,
    /// Hits of each phase.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(100..))]
    hits: u64,
    /// Hits in flight at once in the concurrent phase.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
}

/// Hits per key: under the limit, so that every hit is let through and
/// written.
const HITS_PER_KEY: u64 = 5;
const MAX: usize = 10;
const WINDOW: Duration = Duration::from_secs(10);
const RATE: Rate = Rate {
    max: MAX,
    window: WINDOW,
    refusal: "refused",
};

/// One way of counting hits.
#[derive(Clone)]
enum Counter {
    Memory(Arc<Limits>),
    Postgres(Arc<Limits>),
    Kv(Arc<kv::Store>),
}

impl Counter {
    fn name(&self) -> &'static str {
        match self {
            Counter::Memory(_) => "memory",
            Counter::Postgres(_) => "PostgreSQL",
            Counter::Kv(_) => "NATS KV",
        }
    }

    async fn hit(&self, key: &str) -> Result<(), String> {
        match self {
            Counter::Memory(l) | Counter::Postgres(l) => {
                l.hit(key, &RATE).await.map_err(|e| e.message)
            }
            Counter::Kv(store) => kv_hit(store, key).await,
        }
    }
}

/// The sliding-window rule on a KV value of big-endian expiry
/// microseconds, written back under its revision.
async fn kv_hit(store: &kv::Store, key: &str) -> Result<(), String> {
    // KV keys allow only `[-/_=.a-zA-Z0-9]`; limit keys hold addresses and
    // e-mails.
    let key: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let key = key.as_str();
    for _ in 0..100 {
        let now = chrono::Utc::now().timestamp_micros();
        let entry = store.entry(key).await.map_err(|e| e.to_string())?;
        let mut live: Vec<i64> = entry
            .as_ref()
            .map(|e| {
                e.value
                    .chunks_exact(8)
                    .filter_map(|c| c.try_into().ok().map(i64::from_be_bytes))
                    .filter(|expires| *expires > now)
                    .collect()
            })
            .unwrap_or_default();
        if live.len() >= MAX {
            return Err("refused".into());
        }
        live.push(now + WINDOW.as_micros() as i64);
        let value: bytes::Bytes = live.iter().flat_map(|e| e.to_be_bytes()).collect();
        let written = match &entry {
            None => store
                .create(key, value)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Some(e) => store
                .update(key, value, e.revision)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        match written {
            Ok(()) => return Ok(()),
            // Another writer came first: read again.
            Err(e) if e.contains("wrong last sequence") || e.contains("already exists") => {}
            Err(e) => return Err(e),
        }
    }
    Err("100 conflicts in a row".into())
}

pub async fn run(args: LimitsArgs) -> Result<(), String> {
    let db = BenchDb::new(&args.database)?;
    let BenchDb::Postgres(url) = &db else {
        return Err("bench limits needs PostgreSQL: --database-url postgres://…".into());
    };
    println!(
        "casedesk bench limits: {} hits per phase ({HITS_PER_KEY} per key, at most {MAX} in {}s), \
         {} at once in the concurrent phase; NATS at {}; load average {}",
        args.hits,
        WINDOW.as_secs(),
        args.concurrency,
        args.nats.url,
        load_average()
    );
    let tag = format!("{}_{:08x}", std::process::id(), rand::rng().next_u32());
    let sep = if url.contains('?') { '&' } else { '?' };
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(&format!("{url}{sep}schema=bench_{tag}"))
            .await
            .map_err(|e| format!("PostgreSQL: {e}"))?
            .drop_schema_on_close(),
    );
    let nats = async_nats::connect(&args.nats.url)
        .await
        .map_err(|e| format!("NATS at {}: {e}", args.nats.url))?;
    let js = jetstream::new(nats);
    let bucket = format!("casedesk_bench_limits_{tag}");
    // The bucket's stream as `create_key_value` makes it: that call first
    // reads the account's JetStream limits, which this client cannot parse
    // from a NATS 2.9 server (Debian's).
    js.create_stream(jetstream::stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age: WINDOW * 2,
        storage: jetstream::stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("NATS KV bucket (is JetStream on?): {e}"))?;
    let kv = js
        .get_key_value(&bucket)
        .await
        .map_err(|e| format!("NATS KV bucket: {e}"))?;
    let counters = [
        Counter::Memory(Arc::new(Limits::new(Clock::System, None))),
        Counter::Postgres(Arc::new(Limits::new(
            Clock::System,
            Some(Arc::clone(&store)),
        ))),
        Counter::Kv(Arc::new(kv)),
    ];
    let result = measure(&args, &counters).await;
    let _ = js.delete_key_value(&bucket).await;
    store.close().await;
    result
}

async fn measure(args: &LimitsArgs, counters: &[Counter]) -> Result<(), String> {
    let mut baseline: Option<(f64, f64)> = None;
    for (round, counter) in counters.iter().enumerate() {
        // One after the other: each hit's latency.
        let serial = args.hits.min(5_000);
        let mut samples = Vec::with_capacity(serial as usize);
        let start = Instant::now();
        for i in 0..serial {
            let at = Instant::now();
            counter
                .hit(&format!("s{round}:{}", i / HITS_PER_KEY))
                .await?;
            samples.push(at.elapsed());
        }
        let per_hit = start.elapsed().as_secs_f64() / serial as f64;
        let spread = Spread::of(samples).ok_or("no hits")?;
        // Many at once: throughput.
        let start = Instant::now();
        let tasks: Vec<_> = (0..args.concurrency)
            .map(|t| {
                let (counter, hits, n) = (counter.clone(), args.hits, args.concurrency);
                tokio::spawn(async move {
                    let mut i = t;
                    while i < hits {
                        counter
                            .hit(&format!("c{round}:{}", i / HITS_PER_KEY))
                            .await?;
                        i += n;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        let rate = args.hits as f64 / start.elapsed().as_secs_f64();
        let (base_latency, base_rate) = *baseline.get_or_insert((per_hit, rate));
        println!(
            "{:<11} one at a time: {:>9.1} µs per hit ({spread}), {:>6.0}× memory's | \
             {} at once: {:>9.0} hits/s, {:.4}× memory's",
            counter.name(),
            per_hit * 1e6,
            per_hit / base_latency,
            args.concurrency,
            rate,
            rate / base_rate,
        );
    }
    Ok(())
}
