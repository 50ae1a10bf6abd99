//! Exactly once, one decision at a time, and what survives restarts.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Database, Process, TestApp, login_and_channel, s,
};
use crate::on_both;

on_both!(
    concurrent_messages_after_a_closed_chat_make_one_case,
    concurrent_redeliveries_store_one_message,
    deadlines_survive_a_restart_and_fire_once,
    sigterm_drains_and_exits_zero,
);

async fn concurrent_messages_after_a_closed_chat_make_one_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Three customers, thirty messages each at once (faults.rs runs the
    // same with many more customers).
    crate::faults::burst_after_close(&app, 3, 30, 3).await;
    app.stop().await;
}

async fn concurrent_redeliveries_store_one_message(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sends = (0..20).map(|_| app.customer_says("dup", "same-id", "only once"));
    let results = futures::future::join_all(sends).await;
    let ids: std::collections::HashSet<_> = results.iter().map(|r| s(&r["message_id"])).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        results.iter().filter(|r| r["outcome"] == "created").count(),
        1
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r["outcome"] == "duplicate")
            .count(),
        19
    );
    let case = app.case(&s(&results[0]["case_id"])).await;
    assert_eq!(case["message_count"], 1);
    app.stop().await;
}

async fn deadlines_survive_a_restart_and_fire_once(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    app.set_timers(2, 1).await;
    let id = s(&app.customer_says("sleepy", "z1", "anyone?").await["case_id"]);
    // Down while the deadline passes; it fires within seconds of the start.
    app.restart(Duration::from_secs(3)).await;
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let started = std::time::Instant::now();
    let case = app
        .wait_case(&id, 5, |c| c["chat_state"] == "finished")
        .await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(case["status"], "open");
    // Another restart neither loses nor repeats it.
    app.restart(Duration::from_millis(200)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let events = app.events(&id).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e["kind"] == "auto_finished")
            .count(),
        1,
        "{events:?}"
    );
    app.stop().await;
}

async fn sigterm_drains_and_exits_zero(backend: Backend) {
    let db = Database::fresh(backend).await;
    let mut p = Process::start(&db).await;
    let http = reqwest::Client::new();
    let (token, _, _) = login_and_channel(&http, &p.base).await;
    // An open event stream must not hold the shutdown back.
    let stream = http
        .get(format!("{}/api/v1/events", p.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    p.signal("TERM");
    let status = p.wait(30);
    assert!(status.success(), "exit status {status}");
    drop(stream);
}

/// Two servers on one PostgreSQL database: every deadline fires exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_fire_each_deadline_once() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let second = crate::helpers::Server::start(&app.db).await;
    app.set_timers(2, 1).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let r = app
            .customer_says(&format!("twin{i}"), &format!("twin{i}"), "hello")
            .await;
        ids.push(s(&r["case_id"]));
    }
    for id in &ids {
        app.wait_case(id, 15, |c| c["chat_state"] == "finished")
            .await;
    }
    // Give a late duplicate every chance to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for id in &ids {
        let events = app.events(id).await;
        let fired = events
            .iter()
            .filter(|e| e["kind"] == "auto_finished")
            .count();
        assert_eq!(fired, 1, "case {id}: {events:?}");
    }
    second.stop().await;
    app.stop().await;
}

/// Automation: two servers on one database fire each rule timer once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_fire_each_rule_timer_once() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let second = crate::helpers::Server::start(&app.db).await;
    app.ok(
        Method::POST,
        "/api/v1/rules",
        Some(json!({
            "name": "Overdue note",
            "trigger": {"type": "open_without_reply", "seconds": 1},
            "actions": [{"type": "add_note", "text": "overdue"}]
        })),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let r = app
            .customer_says(&format!("rt{i}"), &format!("rt{i}"), "hello")
            .await;
        ids.push(s(&r["case_id"]));
    }
    let applied = |events: &[serde_json::Value]| {
        events
            .iter()
            .filter(|e| e["kind"] == "rule_applied")
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for id in &ids {
        while applied(&app.events(id).await) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "case {id}: the rule never fired"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for id in &ids {
        let events = app.events(id).await;
        assert_eq!(applied(&events), 1, "case {id}: {events:?}");
    }
    second.stop().await;
    app.stop().await;
}

/// R4: the warning is pushed ahead of the auto-finish, then the finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn warning_then_auto_finish_are_pushed_live() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.set_timers(3, 2).await;
    let mut stream = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("stream");
    let id = s(&app.customer_says("w", "w1", "hello").await["case_id"]);
    let started = std::time::Instant::now();
    let mut seen = String::new();
    let mut warned_at = None;
    let finished = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if warned_at.is_none() && seen.contains("event: case.auto_finish_warning") {
                warned_at = Some(started.elapsed());
            }
            if warned_at.is_some() && seen.matches("\"chat_state\":\"finished\"").count() > 0 {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(finished, "no warning then finish for {id}: {seen}");
    let warned_at = warned_at.expect("warned");
    assert!(
        warned_at >= Duration::from_millis(900) && warned_at < Duration::from_millis(2900),
        "the warning came {warned_at:?} after the message; expected about 1 s"
    );
    app.stop().await;
}
