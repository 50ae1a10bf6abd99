//! The auto-finish policy simulator (issue 19) through the real API, on
//! both databases: figures for several candidate times over messages at
//! known times, worked out by hand; bad input refused; nothing changed.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    the_simulator_counts_the_chats_each_time_would_make,
    the_simulator_refuses_bad_input_and_agents,
);

const MINUTE: Duration = Duration::from_secs(60);

fn utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn simulate(app: &TestApp, query: &str) -> Value {
    app.ok(
        Method::GET,
        &format!("/api/v1/simulate/auto-finish?{query}"),
        None,
    )
    .await
}

fn item(v: &Value, minutes: i64) -> &Value {
    v["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["minutes"] == minutes))
        .unwrap_or_else(|| panic!("no item for {minutes} minutes: {v}"))
}

async fn the_simulator_counts_the_chats_each_time_would_make(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // 10:00 UTC tomorrow: the first hour stays on one calendar day.
    let now = app.now();
    let ten = (now.date_naive() + chrono::Duration::days(1))
        .and_hms_opt(10, 0, 0)
        .expect("a time")
        .and_utc();
    app.advance((ten - now).to_std().expect("ahead"));
    let start = app.now();
    // Ann: a question, an answer a minute later, a second question 30
    // minutes after the answer. Bob: a message, and one two days later.
    let ann = s(&app.customer_says("ann", "a1", "Where is my order?").await["case_id"]);
    app.advance(MINUTE);
    app.reply(&ann, "On its way").await;
    app.note(&ann, "notes are no activity").await;
    app.advance(MINUTE);
    app.customer_says("bob", "b1", "Hello").await;
    app.advance(29 * MINUTE);
    app.customer_says("ann", "a2", "And the invoice?").await;
    app.advance(2 * 24 * 60 * MINUTE);
    app.customer_says("bob", "b2", "Me again").await;
    let cases_before = app.list("").await.len();

    let period = format!(
        "from={}&to={}",
        utc(start - chrono::Duration::hours(1)),
        utc(app.now() + chrono::Duration::hours(1))
    );
    let v = simulate(&app, &format!("{period}&minutes=60,10")).await;
    assert_eq!(v["messages"], 5, "public messages only: {v}");
    assert_eq!(v["current_minutes"], 10.0);
    assert_eq!(v["time_zone"], "UTC");
    let ten = item(&v, 10);
    // Ann: two chats (29 min of silence), the second started 19 min after
    // the first finished: reopened within a day. Bob: two chats, days apart.
    assert_eq!(ten["cases"], 4, "{v}");
    assert_eq!(ten["customers"], 2);
    assert_eq!(ten["cases_per_customer"], 2.0);
    assert_eq!(ten["reopened_within_day_share"], 0.25);
    // Lengths 60, 0, 0, 0: the lower median.
    assert_eq!(ten["median_case_seconds"], 0);
    assert_eq!(ten["busiest_day_cases"], 3, "three started the first day");
    let hour = item(&v, 60);
    assert_eq!(hour["cases"], 3, "{v}");
    assert_eq!(hour["reopened_within_day_share"], 0.0);
    assert_eq!(v["items"][0]["minutes"], 10, "in increasing order");

    // A period that leaves Bob's second message out.
    let early = format!(
        "from={}&to={}&minutes=10",
        utc(start - chrono::Duration::hours(1)),
        utc(start + chrono::Duration::hours(1))
    );
    let v = simulate(&app, &early).await;
    assert_eq!(v["messages"], 4, "{v}");
    assert_eq!(item(&v, 10)["cases"], 3);
    // Read-only.
    assert_eq!(app.list("").await.len(), cases_before);
}

async fn the_simulator_refuses_bad_input_and_agents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (query, status, code) in [
        (
            "minutes=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "minutes_invalid",
        ),
        (
            "minutes=5,x",
            StatusCode::UNPROCESSABLE_ENTITY,
            "minutes_invalid",
        ),
        (
            "minutes=525601",
            StatusCode::UNPROCESSABLE_ENTITY,
            "minutes_invalid",
        ),
        (
            "minutes=1,2,3,4,5,6,7,8,9,10,11",
            StatusCode::UNPROCESSABLE_ENTITY,
            "minutes_invalid",
        ),
        (
            "from=2026-11-02&to=2026-11-01",
            StatusCode::UNPROCESSABLE_ENTITY,
            "period_reversed",
        ),
        ("from=yesterday", StatusCode::BAD_REQUEST, "time_invalid"),
    ] {
        let (st, v) = app
            .call(
                Method::GET,
                &format!("/api/v1/simulate/auto-finish?{query}"),
                None,
            )
            .await;
        assert_eq!(st, status, "{query}: {v}");
        assert_eq!(v["error"]["code"], code, "{query}: {v}");
    }
    // Nothing to read is no error: zeros.
    let v = simulate(&app, "minutes=5").await;
    assert_eq!(v["messages"], 0);
    assert_eq!(item(&v, 5)["cases"], 0);
    assert_eq!(item(&v, 5)["cases_per_customer"], 0.0);

    app.ok(
        Method::POST,
        "/api/v1/agents",
        Some(json!({"email": "ada@example.com", "name": "Ada", "password": "agent-password"})),
    )
    .await;
    let token = app.login("ada@example.com", "agent-password").await;
    let (st, _) = app
        .raw(
            Method::GET,
            "/api/v1/simulate/auto-finish",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a policy tool of admins");
    let (st, _) = app
        .raw(Method::GET, "/api/v1/simulate/auto-finish", None, None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}
