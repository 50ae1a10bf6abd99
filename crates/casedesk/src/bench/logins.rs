//! `casedesk bench logins`: bursts of parallel wrong logins, each from its
//! own client address (so the per-address throttle does not turn them away
//! before they reach the hashing pool), and the process's resident memory
//! after each burst against its memory after a single login: the baseline
//! measured in the same run. A ratio near 1 means memory stays flat however
//! many logins arrive at once.

use std::collections::BTreeMap;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::{BenchDb, BenchServer, DatabaseArg, http_client, load_average, wait_until_healthy};

#[derive(Args)]
pub struct LoginsArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Wrong logins sent at once in each burst.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    parallel: u64,
    /// Bursts, one after the other.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    rounds: u64,
}

/// Resident and peak memory of this process, in KiB (`/proc/self/status`).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

pub async fn run(args: LoginsArgs) -> Result<(), String> {
    let db = BenchDb::new(&args.database)?;
    println!(
        "casedesk bench logins: {}; {} bursts of {} parallel wrong logins; load average {}",
        db.describe(),
        args.rounds,
        args.parallel,
        load_average()
    );
    let server = BenchServer::start_with(&db, |config| {
        config.client_ip_header = Some("X-Forwarded-For".into());
    })
    .await?;
    let result = bursts(&server, &args).await;
    let stopped = server.stop().await;
    result?;
    stopped
}

async fn bursts(server: &BenchServer, args: &LoginsArgs) -> Result<(), String> {
    let http = http_client()?;
    wait_until_healthy(&http, server).await?;
    let url = format!("{}/api/v1/auth/login", server.base);
    let login = |i: u64, round: u64| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            // 10.r.x.y: a distinct address per request of a round.
            let ip = format!("10.{}.{}.{}", round % 256, (i / 250) % 256, i % 250 + 1);
            http.post(url)
                .header("x-forwarded-for", ip)
                .json(&json!({"email": format!("nobody{i}@bench.example"), "password": "wrong-password"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| format!("login request failed: {e}"))
        }
    };
    login(0, 255).await?;
    let (baseline, _) = memory_kib();
    println!("  after one login: resident {}", mib(baseline));
    let mut peak = 0;
    for round in 0..args.rounds {
        let started = Instant::now();
        let answers = futures::future::join_all((0..args.parallel).map(|i| login(i, round))).await;
        let mut by_status = BTreeMap::new();
        for answer in answers {
            *by_status.entry(answer?).or_insert(0u64) += 1;
        }
        if let Some(bad) = by_status.keys().find(|s| ![401, 429, 503].contains(*s)) {
            return Err(format!("a login answered {bad}: {by_status:?}"));
        }
        let (rss, hwm) = memory_kib();
        peak = peak.max(hwm);
        println!(
            "  burst {}: {:.2} s, answers {:?}, resident {}, peak so far {}",
            round + 1,
            started.elapsed().as_secs_f64(),
            by_status,
            mib(rss),
            mib(hwm)
        );
    }
    println!(
        "  peak / after one login: {:.2}× ({} / {}); unbounded hashing would need about {} for one burst",
        peak as f64 / baseline.max(1) as f64,
        mib(peak),
        mib(baseline),
        mib(args.parallel * 19 * 1024)
    );
    Ok(())
}
