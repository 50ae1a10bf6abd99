//! Importing history (issue 19) through the real API, on both databases:
//! a JSONL file split into the cases worked out by hand, its history in
//! the statistics of its own days, bad lines reported by number,
//! re-importing adding nothing, and the live chat going on from the
//! imported one.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use std::time::{Duration, Instant};

use crate::helpers::{Backend, Database, Process, TestApp, login_and_channel, s};
use crate::on_both;

on_both!(
    a_jsonl_history_becomes_the_cases_worked_out_by_hand,
    imports_refuse_bad_requests_and_fail_whole_on_an_unreadable_file,
    an_import_killed_midway_resumes_after_a_restart,
    the_command_line_uploads_a_file_and_follows_it_to_the_end,
);

/// Uploads `body` as an import of the app's channel and lets the worker
/// finish it; the import as `GET /imports/{id}` shows it then.
pub async fn import(app: &TestApp, format: &str, body: Vec<u8>) -> Value {
    let path = format!("/api/v1/channels/{}/import?format={format}", app.channel_id);
    let (st, started) = app.raw_bytes(Method::POST, &path, body).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{started}");
    app.run_due_work().await;
    app.ok(
        Method::GET,
        &format!("/api/v1/imports/{}", s(&started["id"])),
        None,
    )
    .await
}

fn line(id: &str, customer: &str, author: &str, at: &str, text: &str) -> String {
    let mut v = json!({
        "id": id,
        "customer": {"id": customer, "name": customer.to_uppercase()},
        "author": author,
        "at": at,
        "text": text,
    });
    if author == "agent" {
        v["agent"] = json!("Bob");
    }
    v.to_string()
}

fn history() -> Vec<u8> {
    [
        line(
            "a1",
            "ann",
            "customer",
            "2024-03-01T10:00:00Z",
            "Where is my order 1?",
        ),
        line(
            "a2",
            "ann",
            "agent",
            "2024-03-01T10:03:00Z",
            "It ships today",
        ),
        // Bob's lines out of order in the file.
        line("b2", "bob", "customer", "2024-03-01T11:00:00Z", "Anyone?"),
        line("a3", "ann", "customer", "2024-03-01T10:05:00Z", "Thanks"),
        "{not json".to_owned(),
        line("b1", "bob", "customer", "2024-03-01T10:59:00Z", "Hello"),
        line("x1", "ann", "robot", "2024-03-01T10:06:00Z", "beep"),
        // The next day: a new question, answered 20 minutes later (an
        // agent after a silence: the same chat).
        line(
            "a4",
            "ann",
            "customer",
            "2024-03-02T09:00:00Z",
            "New question: a refund?",
        ),
        line("a5", "ann", "agent", "2024-03-02T09:20:00Z", "Refunded"),
    ]
    .join("\n")
    .into_bytes()
}

fn cases_of<'a>(cases: &'a [Value], customer_id: &str) -> Vec<&'a Value> {
    let mut mine: Vec<&Value> = cases
        .iter()
        .filter(|c| c["customer_id"] == customer_id)
        .collect();
    mine.sort_by_key(|c| c["number"].as_i64());
    mine
}

async fn a_jsonl_history_becomes_the_cases_worked_out_by_hand(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let done = import(&app, "jsonl", history()).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["messages"], 7, "{done}");
    assert_eq!(done["cases"], 3, "{done}");
    assert_eq!(done["error_count"], 2, "{done}");
    let lines: Vec<i64> = done["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["line"].as_i64())
        .collect();
    assert_eq!(lines, [5, 7], "the bad JSON and the unknown author: {done}");

    let cases = app.list("include_merged=true").await;
    assert_eq!(cases.len(), 3);
    let ann_customer = {
        let first = cases
            .iter()
            .find(|c| c["subject"] == "Where is my order 1?")
            .expect("Ann's first case");
        s(&first["customer_id"])
    };
    let ann = cases_of(&cases, &ann_customer);
    assert_eq!(ann.len(), 2);
    let (first, second) = (ann[0], ann[1]);
    // 10:00–10:05, finished by the timer at 10:15, closed then.
    assert_eq!(first["status"], "closed", "{first}");
    assert_eq!(first["chat_state"], "finished");
    assert_eq!(first["created_at"], "2024-03-01T10:00:00.000000Z");
    assert_eq!(first["finished_at"], "2024-03-01T10:15:00.000000Z");
    assert_eq!(first["first_response_at"], "2024-03-01T10:03:00.000000Z");
    assert_eq!(first["message_count"], 3);
    assert_eq!(first["next_case_id"], second["id"]);
    // The latest: finished pending (the agent wrote last), not closed.
    assert_eq!(second["subject"], "New question: a refund?");
    assert_eq!(second["status"], "pending", "{second}");
    assert_eq!(second["chat_state"], "finished");
    assert_eq!(second["previous_case_id"], first["id"]);
    assert_eq!(second["message_count"], 2);
    let texts: Vec<Value> = app
        .messages(&s(&first["id"]))
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [
            json!("Where is my order 1?"),
            json!("It ships today"),
            json!("Thanks")
        ]
    );
    let bob = cases
        .iter()
        .find(|c| c["subject"] == "Hello")
        .expect("Bob's case, named by his earliest message");
    assert_eq!(bob["status"], "open", "the customer wrote last: {bob}");
    assert_eq!(bob["message_count"], 2);

    // The history carries the imported times, marked imported.
    let events = app.events(&s(&first["id"])).await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["created", "auto_finished", "updated"], "{events:?}");
    assert!(events.iter().all(|e| e["data"]["imported"] == done["id"]));
    assert_eq!(events[1]["actor"]["id"], "auto_finish");
    // So the statistics of those days fill in.
    let stats = app
        .ok(
            Method::GET,
            "/api/v1/stats?from=2024-03-01&to=2024-03-02&group_by=day",
            None,
        )
        .await;
    let total = &stats["total"];
    assert_eq!(total["cases_created"], 3, "{total}");
    assert_eq!(total["cases_auto_finished"], 3, "{total}");
    assert_eq!(total["cases_closed"], 1, "{total}");

    // Again: nothing new.
    let again = import(&app, "jsonl", history()).await;
    assert_eq!(again["state"], "done", "{again}");
    assert_eq!(
        (again["messages"].clone(), again["cases"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(again["skipped"], 7, "the messages imported before: {again}");
    assert_eq!(app.list("include_merged=true").await.len(), 3);

    // Live, Ann's next message reopens her latest imported chat (R6 c).
    let live = app
        .customer_says("ann", "live-1", "Still waiting for the refund")
        .await;
    assert_eq!(live["case_id"], second["id"], "{live}");
    assert_eq!(live["outcome"], "reopened");
}

async fn imports_refuse_bad_requests_and_fail_whole_on_an_unreadable_file(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let channel = app.channel_id.clone();
    for (path, status) in [
        (
            format!("/api/v1/channels/{channel}/import?format=xml"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/channels/{channel}/import"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/channels/nope/import?format=jsonl".to_owned(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (st, v) = app.raw_bytes(Method::POST, &path, b"{}".to_vec()).await;
        assert_eq!(st, status, "{path}: {v}");
    }
    let (st, _) = app
        .call(Method::GET, "/api/v1/imports/no-such-import", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // E-mail is one case per letter already.
    let mail = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(
                json!({"kind": "email", "name": "Mail", "address": "help@desk.example",
                "smtp": {"host": "127.0.0.1", "port": 25, "security": "none"}}),
            ),
        )
        .await;
    let (st, v) = app
        .raw_bytes(
            Method::POST,
            &format!("/api/v1/channels/{}/import?format=jsonl", s(&mail["id"])),
            history(),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "import_needs_chat_channel");

    // A Telegram export cut off in the middle: nothing of it is imported.
    let cut = br#"{"name": "Ann", "type": "personal_chat", "id": 42, "messages": [
 {"id": 1, "type": "message", "date": "2024-03-01T10:00:00", "date_unixtime": "1709287200", "from": "Ann", "from_id": "user42", "text": "Hello"},
 {"id": 2, "type": "message", "date": "2024-03-01T10:01:00", "date_unix"#;
    let failed = import(&app, "telegram", cut.to_vec()).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["failure"].as_str().is_some_and(|f| !f.is_empty()));
    assert_eq!(failed["messages"], 0);
    assert!(app.list("include_merged=true").await.is_empty());

    // Only admins import.
    app.ok(
        Method::POST,
        "/api/v1/agents",
        Some(json!({"email": "ada@example.com", "name": "Ada", "password": "agent-password"})),
    )
    .await;
    let token = app.login("ada@example.com", "agent-password").await;
    let (st, _) = app
        .raw(Method::GET, "/api/v1/imports", Some(&token), None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let listed = app.ok(Method::GET, "/api/v1/imports", None).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
}

/// `customers` customers, each writing `pairs` times two messages a minute
/// apart with 29 minutes between the pairs: one chat per pair with the
/// default auto-finish time (10 minutes).
fn big_history(customers: usize, pairs: usize) -> Vec<u8> {
    let start = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .expect("time")
        .to_utc();
    let mut out = String::new();
    for p in 0..pairs {
        for c in 0..customers {
            for (k, author) in [(0, "customer"), (1, "agent")] {
                let at = start + chrono::Duration::minutes((p * 30 + k) as i64);
                out.push_str(&line(
                    &format!("c{c}-p{p}-{k}"),
                    &format!("c{c}"),
                    author,
                    &at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "hello",
                ));
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

/// The import as the server at `base` shows it.
async fn import_at(http: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    let r = http
        .get(format!("{base}/api/v1/imports/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

/// kill -9 while the worker turns a large import into cases; the server
/// started again takes the import over once its lease ends and finishes
/// it from the next customer: every message and every case exactly once.
async fn an_import_killed_midway_resumes_after_a_restart(backend: Backend) {
    let db = Database::fresh(backend).await;
    let short_lease = |c: &mut std::process::Command| {
        c.env("CASEDESK_IMPORT_LEASE_SECONDS", "3");
    };
    let mut first = Process::start_with(&db, short_lease).await;
    let http = reqwest::Client::new();
    let (token, channel, _) = login_and_channel(&http, &first.base).await;
    let (customers, pairs) = (800, 3);
    let started = http
        .post(format!(
            "{}/api/v1/channels/{channel}/import?format=jsonl",
            first.base
        ))
        .bearer_auth(&token)
        .body(big_history(customers, pairs))
        .send()
        .await
        .expect("upload");
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let id = s(&started.json::<Value>().await.expect("json")["id"]);
    // Midway: some customers are cases already, not all.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = import_at(&http, &first.base, &token, &id).await;
        assert_ne!(now["state"], "done", "finished before the kill: {now}");
        if now["customers_done"].as_i64() >= Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "the import never started: {now}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.signal("KILL");
    first.wait(10);

    let second = Process::start_with(&db, short_lease).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = loop {
        let now = import_at(&http, &second.base, &token, &id).await;
        if now["state"] == "done" {
            break now;
        }
        assert_eq!(now["state"], "running", "{now}");
        assert!(Instant::now() < deadline, "not taken over: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let total = (customers * pairs * 2) as i64;
    assert_eq!(done["messages"], total, "{done}");
    assert_eq!(done["cases"], (customers * pairs) as i64, "{done}");
    assert_eq!(done["customers_done"], customers as i64, "{done}");
    assert_eq!(done["skipped"], 0, "{done}");
    // The history holds each case's creation once.
    let stats: Value = http
        .get(format!(
            "{}/api/v1/stats?from=2024-01-01&to=2024-01-01&group_by=channel",
            second.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(
        stats["total"]["cases_created"],
        (customers * pairs) as i64,
        "{stats}"
    );
}

/// `casedesk import` against the real binary's server: the file streamed,
/// the import followed to its end, a summary printed; a failed import (an
/// unreadable file) exits non-zero with the reason.
async fn the_command_line_uploads_a_file_and_follows_it_to_the_end(backend: Backend) {
    let db = Database::fresh(backend).await;
    let server = Process::start(&db).await;
    let http = reqwest::Client::new();
    let (_, channel, _) = login_and_channel(&http, &server.base).await;
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("history.jsonl");
    std::fs::write(&good, history()).expect("write");
    let bad = dir.path().join("cut.json");
    std::fs::write(
        &bad,
        b"{\"name\": \"Ann\", \"type\": \"personal_chat\", \"id\": 4",
    )
    .expect("write");
    let run = |file: &std::path::Path, format: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_casedesk"))
            .arg("import")
            .arg(file)
            .args([
                "--channel",
                &channel,
                "--format",
                format,
                "--server",
                &server.base,
            ])
            .env("CASEDESK_ADMIN_EMAIL", crate::helpers::ADMIN_EMAIL)
            .env("CASEDESK_ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD)
            .output()
            .expect("casedesk import runs")
    };
    let out = run(&good, "jsonl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(": done; 7 messages, 3 cases, 0 skipped, 2 bad records"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 5: "),
        "the bad lines are listed: {stderr}"
    );
    assert!(stderr.contains("sent "), "upload progress: {stderr}");

    let out = run(&bad, "telegram");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the import failed"), "{stderr}");
}
