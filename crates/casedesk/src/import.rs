//! `casedesk import`: uploads a history file to a running server
//! (`POST /api/v1/channels/{id}/import`) and follows the import to its
//! end, printing progress on standard error: the bytes sent, then the
//! customers whose messages are cases already. The server does the work
//! (docs/import.md); this only streams the file and watches.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};

#[derive(Args)]
pub struct ImportArgs {
    /// The history file: Telegram Desktop's result.json, or JSONL.
    file: PathBuf,
    /// The channel the history belongs to (its id).
    #[arg(long)]
    channel: String,
    /// `telegram` or `jsonl`.
    #[arg(long)]
    format: String,
    /// The server to import into.
    #[arg(long, env = "CASEDESK_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An admin's e-mail; the password is read from CASEDESK_ADMIN_PASSWORD.
    #[arg(long, env = "CASEDESK_ADMIN_EMAIL")]
    email: String,
    #[arg(long, env = "CASEDESK_ADMIN_PASSWORD", hide_env_values = true)]
    password: String,
}

/// How often progress is printed.
const EVERY: Duration = Duration::from_millis(500);

pub async fn run(args: ImportArgs) -> Result<(), String> {
    let file = tokio::fs::File::open(&args.file)
        .await
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| format!("{}: {e}", args.file.display()))?
        .len();
    let base = args.server.trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let login: Value = answer(
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "email": args.email, "password": args.password }))
            .send()
            .await,
    )
    .await?;
    let token = login["token"]
        .as_str()
        .ok_or("the server did not answer the login with a token")?
        .to_owned();

    // The file as it is read, with the bytes sent so far shown.
    let mut sent = 0u64;
    let mut shown = Instant::now();
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 << 10).map(move |chunk| {
        if let Ok(bytes) = &chunk {
            sent += bytes.len() as u64;
            if shown.elapsed() >= EVERY || sent == size {
                shown = Instant::now();
                eprint!(
                    "\rcasedesk import: sent {:.1} of {:.1} MB ({:.0} %)   ",
                    sent as f64 / 1e6,
                    size as f64 / 1e6,
                    100.0 * sent as f64 / size.max(1) as f64
                );
            }
        }
        chunk
    });
    let started: Value = answer(
        http.post(format!(
            "{base}/api/v1/channels/{}/import?format={}",
            args.channel, args.format
        ))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await,
    )
    .await?;
    eprintln!();
    let id = started["id"]
        .as_str()
        .ok_or("the server did not name the import")?
        .to_owned();
    let mut import = started;
    while import["state"] == "running" {
        eprint!(
            "\rcasedesk import: {} of {} messages read are cases of {} customers: {} messages, {} cases   ",
            import["messages"],
            import["staged"],
            import["customers_done"],
            import["messages"],
            import["cases"]
        );
        tokio::time::sleep(EVERY).await;
        import = answer(
            http.get(format!("{base}/api/v1/imports/{id}"))
                .bearer_auth(&token)
                .send()
                .await,
        )
        .await?;
    }
    eprintln!();
    for e in import["errors"].as_array().into_iter().flatten().take(20) {
        eprintln!(
            "  line {}: {}",
            e["line"],
            e["message"].as_str().unwrap_or("")
        );
    }
    let summary = format!(
        "import {id}: {}; {} messages, {} cases, {} skipped, {} bad records",
        import["state"].as_str().unwrap_or("?"),
        import["messages"],
        import["cases"],
        import["skipped"],
        import["error_count"]
    );
    println!("casedesk {summary}");
    match import["state"].as_str() {
        Some("done") => Ok(()),
        _ => Err(format!(
            "the import failed: {}",
            import["failure"].as_str().unwrap_or("no reason given")
        )),
    }
}

/// A response's JSON, or the server's error in words.
async fn answer(response: Result<reqwest::Response, reqwest::Error>) -> Result<Value, String> {
    let response = response.map_err(|e| format!("the server did not answer: {e}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("the server's answer is not JSON ({status}): {e}"))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!(
            "{status}: {}",
            body["error"]["message"].as_str().unwrap_or("no message")
        ))
    }
}
