//! Exactly once, one decision at a time, and what survives restarts.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Database, Process, Server, TestApp, login_and_channel, s,
};
use crate::on_both;

on_both!(
    concurrent_messages_after_a_closed_chat_make_one_case,
    concurrent_redeliveries_store_one_message,
    many_customers_at_once_keep_their_order_and_their_rules,
    deadlines_survive_a_restart_and_fire_once,
    sigterm_drains_and_exits_zero,
    a_log_that_cannot_be_written_changes_nothing,
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

/// Customer messages are routed in batches (usecases/inbound/batch.rs):
/// many customers writing at once, each sending message after message,
/// still get one case each with every message in the order sent, case
/// numbers that are never shared, and the account's rules run for every
/// message. A rule that is on makes no difference to the routing.
async fn many_customers_at_once_keep_their_order_and_their_rules(backend: Backend) {
    use futures::StreamExt;
    let app = TestApp::spawn(backend).await;
    let (st, v) = app
        .call(
            Method::POST,
            "/api/v1/rules",
            Some(json!({
                "name": "Tag every message",
                "trigger": {"type": "customer_message"},
                "conditions": [{"type": "message_contains", "text": "tag me"}],
                "actions": [{"type": "add_note", "text": "seen {{customer.name}}"}]
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (customers, messages) = (24, 4);
    let answers: Vec<Vec<Value>> = futures::stream::iter(0..customers)
        .map(|c| {
            let app = &app;
            async move {
                let mut answers = Vec::new();
                for m in 0..messages {
                    let text = if m == 1 {
                        format!("{c}-{m} tag me")
                    } else {
                        format!("{c}-{m}")
                    };
                    let (st, v) = app
                        .inbound(json!({"type": "message", "message_id": format!("{c}-{m}"),
                            "customer": {"id": format!("many-{c}"), "name": format!("N{c}")},
                            "text": text}))
                        .await;
                    assert_eq!(st, StatusCode::OK, "{v}");
                    answers.push(v);
                }
                answers
            }
        })
        .buffer_unordered(customers)
        .collect()
        .await;
    let mut numbers = std::collections::HashSet::new();
    for answers in &answers {
        let case_id = s(&answers[0]["case_id"]);
        assert_eq!(answers[0]["outcome"], "created", "{answers:?}");
        for a in &answers[1..] {
            assert_eq!(
                s(&a["case_id"]),
                case_id,
                "one case per customer: {answers:?}"
            );
            assert_eq!(a["outcome"], "appended");
        }
        assert!(
            numbers.insert(answers[0]["case_number"].clone()),
            "{answers:?}"
        );
        let stored = app.messages(&case_id).await;
        let sent: Vec<String> = answers.iter().map(|a| s(&a["message_id"])).collect();
        let customer: Vec<String> = stored
            .iter()
            .filter(|m| m["author"]["type"] == "customer")
            .map(|m| s(&m["id"]))
            .collect();
        assert_eq!(customer, sent, "stored in the order sent");
        let notes: Vec<&Value> = stored.iter().filter(|m| m["kind"] == "note").collect();
        assert_eq!(
            notes.len(),
            1,
            "the rule ran for its one message: {stored:?}"
        );
        assert!(s(&notes[0]["text"]).starts_with("seen N"), "{notes:?}");
        let case = app.case(&case_id).await;
        assert_eq!(case["message_count"], messages + 1, "{case}");
    }
    assert_eq!(numbers.len(), customers);
    app.stop().await;
}

async fn deadlines_survive_a_restart_and_fire_once(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    app.set_timers(2, 1).await;
    let id = s(&app.customer_says("sleepy", "z1", "anyone?").await["case_id"]);
    // Down while the deadline passes; the new server fires it by itself
    // as it starts. The clock stands still and nothing else runs the due
    // work, so only the server's first round at start can finish the chat.
    app.restart(Duration::from_secs(3)).await;
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let case = app
        .wait_case(&id, 20, |c| c["chat_state"] == "finished")
        .await;
    assert_eq!(case["status"], "open");
    // Another restart neither loses nor repeats it.
    app.restart(Duration::from_millis(200)).await;
    app.advance_and_run(Duration::from_millis(1500)).await;
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

/// A server whose log cannot be written (its disk is full: stderr is
/// `/dev/full`, every line logged at debug) goes on serving and storing:
/// a failed log line is lost, never a thread or the database writer.
async fn a_log_that_cannot_be_written_changes_nothing(backend: Backend) {
    let db = Database::fresh(backend).await;
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut p = Process::start_with(&db, |c| {
        c.env("CASEDESK_LOG", "debug").stderr(full);
    })
    .await;
    let http = reqwest::Client::new();
    let (token, channel, inbound_token) = login_and_channel(&http, &p.base).await;
    let mut case_id = String::new();
    for i in 0..20 {
        let r = http
            .post(format!("{}/api/v1/channels/{channel}/inbound", p.base))
            .bearer_auth(&inbound_token)
            .json(&json!({"type": "message", "message_id": format!("m{i}"),
                "customer": {"id": "full-disk"}, "text": format!("message {i}")}))
            .send()
            .await
            .expect("inbound");
        assert_eq!(r.status(), StatusCode::OK, "message {i}");
        let v: serde_json::Value = r.json().await.expect("json");
        case_id = s(&v["case_id"]);
    }
    let case: serde_json::Value = http
        .get(format!("{}/api/v1/cases/{case_id}", p.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("case")
        .json()
        .await
        .expect("json");
    assert_eq!(case["message_count"], 20, "{case}");
    assert!(p.running(), "the server is still up");
    p.signal("TERM");
    assert!(p.wait(30).success());
}

/// Runs the due work of both servers at once.
async fn both_run_due_work(app: &TestApp, second: &Server) {
    futures::future::join(app.run_due_work(), second.run_due_work()).await;
}

/// Two servers on one PostgreSQL database: every deadline fires exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_fire_each_deadline_once() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let second = Server::start(&app.db, &app.clock).await;
    app.set_timers(2, 1).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let r = app
            .customer_says(&format!("twin{i}"), &format!("twin{i}"), "hello")
            .await;
        ids.push(s(&r["case_id"]));
    }
    // Both servers' workers wake as the clock moves, and both run the due
    // work besides: they compete for every deadline.
    app.advance(Duration::from_secs(2));
    both_run_due_work(&app, &second).await;
    for id in &ids {
        let case = app.case(id).await;
        assert_eq!(case["chat_state"], "finished", "{case}");
    }
    // Give a late duplicate every chance to show up.
    app.advance(Duration::from_millis(1500));
    both_run_due_work(&app, &second).await;
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
    let second = Server::start(&app.db, &app.clock).await;
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
    app.advance(Duration::from_secs(1));
    both_run_due_work(&app, &second).await;
    for id in &ids {
        assert!(
            applied(&app.events(id).await) > 0,
            "case {id}: the rule never fired"
        );
    }
    // Give a late duplicate every chance to show up.
    app.advance(Duration::from_millis(1500));
    both_run_due_work(&app, &second).await;
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
    let mut stream = Events::open(&app).await;
    let id = s(&app.customer_says("w", "w1", "hello").await["case_id"]);
    let warned = |seen: &str| Events::has(seen, &id, "\"type\":\"case.auto_finish_warning\"");
    let finished = |seen: &str| Events::has(seen, &id, "\"chat_state\":\"finished\"");
    app.advance_and_run(Duration::from_millis(999)).await;
    let seen = stream.up_to_now(&app, "m1").await;
    assert!(!warned(&seen), "warned before 1 s: {seen}");
    app.advance_and_run(Duration::from_millis(1)).await;
    let seen = stream.up_to_now(&app, "m2").await;
    assert!(warned(&seen), "no warning at 1 s: {seen}");
    assert!(!finished(&seen), "finished at 1 s: {seen}");
    app.advance_and_run(Duration::from_millis(1999)).await;
    let seen = stream.up_to_now(&app, "m3").await;
    assert!(!finished(&seen), "finished before 3 s: {seen}");
    app.advance_and_run(Duration::from_millis(1)).await;
    let seen = stream.up_to_now(&app, "m4").await;
    assert!(finished(&seen), "not finished at 3 s: {seen}");
    app.stop().await;
}

/// An agent's open event stream and what it said so far.
struct Events {
    response: reqwest::Response,
    seen: String,
}

impl Events {
    async fn open(app: &TestApp) -> Events {
        let response = app
            .http
            .get(format!("{}/api/v1/events", app.base))
            .bearer_auth(&app.token)
            .send()
            .await
            .expect("stream");
        assert_eq!(response.status(), StatusCode::OK);
        Events {
            response,
            seen: String::new(),
        }
    }

    /// Everything the stream said up to now. A new customer `marker`
    /// writes, and the stream is read until their new case's event:
    /// notices are pushed in the order they happen, so whatever happened
    /// before the marker has been read.
    async fn up_to_now(&mut self, app: &TestApp, marker: &str) -> String {
        let case_id = s(&app.customer_says(marker, marker, marker).await["case_id"]);
        let mark = format!("\"case_id\":\"{case_id}\"");
        let read = tokio::time::timeout(Duration::from_secs(20), async {
            while !self.seen.contains(&mark) {
                match self.response.chunk().await {
                    Ok(Some(chunk)) => self.seen.push_str(&String::from_utf8_lossy(&chunk)),
                    _ => return false,
                }
            }
            true
        })
        .await;
        assert!(
            read.unwrap_or(false),
            "the marker never came: {}",
            self.seen
        );
        self.seen.clone()
    }

    /// Whether a notice about case `case_id` says `what`.
    fn has(seen: &str, case_id: &str, what: &str) -> bool {
        let case = format!("\"case_id\":\"{case_id}\"");
        seen.lines().any(|l| l.contains(&case) && l.contains(what))
    }
}
