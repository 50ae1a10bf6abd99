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
    acknowledged_messages_survive_kill_9,
    sigterm_drains_and_exits_zero,
);

async fn concurrent_messages_after_a_closed_chat_make_one_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for round in 0..3 {
        let customer = format!("burst{round}");
        let first = app
            .customer_says(&customer, &format!("{customer}-0"), "first")
            .await;
        let (st, _) = app
            .call(
                Method::PATCH,
                &format!("/api/v1/cases/{}", s(&first["case_id"])),
                Some(json!({"status": "closed"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let sends = (1..=30).map(|i| {
            let app = &app;
            let customer = customer.clone();
            async move {
                app.customer_says(
                    &customer,
                    &format!("{customer}-{i}"),
                    &format!("message {i}"),
                )
                .await
            }
        });
        let results = futures::future::join_all(sends).await;
        let mut case_ids: Vec<_> = results.iter().map(|r| s(&r["case_id"])).collect();
        case_ids.sort();
        case_ids.dedup();
        assert_eq!(
            case_ids.len(),
            1,
            "round {round}: one routing decision, one new case: {case_ids:?}"
        );
        assert_ne!(case_ids[0], s(&first["case_id"]));
        let created = results.iter().filter(|r| r["outcome"] == "created").count();
        assert_eq!(created, 1, "round {round}");
        let case = app.case(&case_ids[0]).await;
        assert_eq!(case["message_count"], 30);
        assert_eq!(case["previous_case_id"], first["case_id"]);
        assert_eq!(app.messages(&case_ids[0]).await.len(), 30);
    }
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

async fn acknowledged_messages_survive_kill_9(backend: Backend) {
    let db = Database::fresh(backend).await;
    let mut p = Process::start(&db).await;
    let http = reqwest::Client::new();
    let (_, channel, inbound) = login_and_channel(&http, &p.base).await;
    let url = format!("{}/api/v1/channels/{channel}/inbound", p.base);
    // Keep writing from several tasks; kill -9 in the middle of it.
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (http, url, inbound) = (http.clone(), url.clone(), inbound.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..10_000 {
                let id = format!("w{w}-{i}");
                let r = http
                    .post(&url)
                    .bearer_auth(&inbound)
                    .json(&json!({"type": "message", "message_id": id, "customer": {"id": format!("k{w}")}, "text": "x"}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => acked.push(id),
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    p.signal("KILL");
    p.wait(10);
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("writer"));
    }
    assert!(acked.len() > 20, "the writers barely ran: {}", acked.len());

    let p2 = Process::start(&db).await;
    let (token, _, _) = {
        let v: serde_json::Value = http
            .post(format!("{}/api/v1/auth/login", p2.base))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        (s(&v["token"]), (), ())
    };
    let url2 = format!("{}/api/v1/channels/{channel}/inbound", p2.base);
    // Redelivering every acknowledged message: each is already stored.
    for id in &acked {
        let w = id
            .split('-')
            .next()
            .unwrap_or_default()
            .trim_start_matches('w')
            .to_owned();
        let r: serde_json::Value = http
            .post(&url2)
            .bearer_auth(&inbound)
            .json(&json!({"type": "message", "message_id": id, "customer": {"id": format!("k{w}")}, "text": "x"}))
            .send()
            .await
            .expect("redelivery")
            .json()
            .await
            .expect("json");
        assert_eq!(
            r["outcome"], "duplicate",
            "acknowledged message {id} was lost"
        );
    }
    let list: serde_json::Value = http
        .get(format!("{}/api/v1/cases?limit=200", p2.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(8),
        "one chat per customer"
    );
    let mut p2 = p2;
    p2.signal("TERM");
    assert!(p2.wait(30).success());
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
