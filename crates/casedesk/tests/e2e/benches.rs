//! The benches of several servers run end to end, briefly: what they print
//! is what docs/scaling.md and docs/security.md quote, so a change that
//! breaks them fails here rather than in the next session's measurements.

use crate::helpers::postgres_url;
use crate::live::nats_url;

async fn bench(args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_casedesk"))
        .arg("bench")
        .args(args)
        .args(["--database-url", &postgres_url(), "--nats-url", &nats_url()])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("the bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bench {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_limits_measures_memory_postgres_and_nats_kv() {
    let out = bench(&["limits", "--hits", "200", "--concurrency", "4"]).await;
    for row in ["memory ", "PostgreSQL ", "NATS KV "] {
        let line = out
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no {row:?} row in:\n{out}"));
        assert!(
            line.contains("µs per hit") && line.contains("hits/s"),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_cluster_measures_ingest_and_live_latency() {
    let out = bench(&[
        "cluster",
        "--servers",
        "2",
        "--customers",
        "10",
        "--messages",
        "3",
        "--seconds",
        "0.5",
    ])
    .await;
    for phase in [
        "ingest through 1 server",
        "ingest through 2 servers",
        "live updates across servers",
    ] {
        assert!(out.contains(phase), "no {phase:?} in:\n{out}");
    }
}
