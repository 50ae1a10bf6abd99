//! Limits several servers share (docs/security.md, "Limits across
//! servers"): with NATS configured, two servers on one PostgreSQL count
//! failed logins, widget messages and open event streams together, so that
//! a client gets no more by spreading its requests over them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::live::nats_url;

fn clustered(config: &mut casedesk_server::Config, _: &str) {
    config.nats_url = Some(nats_url());
}

async fn post_as_visitor(
    http: &reqwest::Client,
    base: &str,
    ch: &str,
    token: &str,
    text: &str,
) -> (StatusCode, Option<String>) {
    let resp = http
        .post(format!("{base}/api/v1/widget/{ch}/messages"))
        .bearer_auth(token)
        .json(&json!({ "text": text }))
        .send()
        .await
        .expect("visitor message sent");
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (resp.status(), retry)
}

async fn login_at(http: &reqwest::Client, base: &str, email: &str, password: &str) -> StatusCode {
    http.post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login sent")
        .status()
}

async fn open_stream(base: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .expect("stream request sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_visitors_messages_count_on_every_server() {
    let app = TestApp::spawn_with(Backend::Postgres, clustered).await;
    let other = Server::start_with(&app.db, &app.clock, clustered).await;
    let (ch, _) = app.widget_channel(&[]).await;
    let visitor = app.new_visitor(&ch).await;
    for i in 0..10 {
        let (st, _) = post_as_visitor(&app.http, &app.base, &ch, &visitor, &format!("m{i}")).await;
        assert_eq!(
            st,
            StatusCode::CREATED,
            "message {i} of 10 on the first server"
        );
    }
    let (st, retry) = post_as_visitor(&app.http, &other.base, &ch, &visitor, "eleventh").await;
    assert_eq!(
        st,
        StatusCode::TOO_MANY_REQUESTS,
        "the 11th in 10 s, on the other server"
    );
    assert_eq!(
        retry.as_deref(),
        Some("10"),
        "Retry-After: when the first leaves the window"
    );
    let cases = app.list("").await;
    assert_eq!(cases.len(), 1, "one case");
    let case = s(&cases[0]["id"]);
    assert_eq!(
        app.messages(&case).await.len(),
        10,
        "the refused message was not taken"
    );

    app.advance(Duration::from_secs(10));
    let (st, _) = post_as_visitor(&app.http, &other.base, &ch, &visitor, "later").await;
    assert_eq!(st, StatusCode::CREATED, "the window moved on");
    other.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_logins_on_one_server_lock_the_pair_on_another() {
    let app = TestApp::spawn_with(Backend::Postgres, clustered).await;
    let other = Server::start_with(&app.db, &app.clock, clustered).await;
    let (ada, _) = app.new_agent("ada@example.com").await;
    for i in 0..5 {
        let st = login_at(&app.http, &app.base, "ada@example.com", "wrong").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    assert_eq!(
        login_at(&app.http, &other.base, "ada@example.com", "agent-password").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the other server refuses even the right password"
    );
    // An admin unlocking Ada on the other server unlocks her everywhere.
    let resp = app
        .http
        .delete(format!("{}/api/v1/agents/{ada}/login-throttle", other.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("unlock");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        login_at(&app.http, &app.base, "ada@example.com", "agent-password").await,
        StatusCode::OK
    );
    other.stop().await;
    app.stop().await;
}

/// Two servers with NATS on one PostgreSQL, an agent's token, and the
/// agent's 16 event streams (the most an agent may hold) open on the
/// first server (`on_first`) or the other.
async fn sixteen_streams(on_first: bool) -> (TestApp, Server, String, Vec<reqwest::Response>) {
    let app = TestApp::spawn_with(Backend::Postgres, clustered).await;
    let other = Server::start_with(&app.db, &app.clock, clustered).await;
    let (_, token) = app.new_agent("ada@example.com").await;
    let base = if on_first { &app.base } else { &other.base };
    let mut open = Vec::new();
    for i in 0..16 {
        let stream = open_stream(base, &token).await;
        assert_eq!(stream.status(), StatusCode::OK, "stream {i} of 16");
        open.push(stream);
    }
    (app, other, token, open)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agents_open_streams_count_on_every_server_while_renewed() {
    let (app, other, token, mut open) = sixteen_streams(true).await;
    let refused = open_stream(&other.base, &token).await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a 17th on the other server"
    );

    // Past the lease, the first server's renewal keeps its streams counted.
    app.advance(Duration::from_secs(91));
    app.run_due_work().await;
    let refused = open_stream(&other.base, &token).await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "renewed leases still count"
    );

    // A stream that ends frees its place for the other server.
    drop(open.pop());
    let freed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let stream = open_stream(&other.base, &token).await;
            if stream.status() == StatusCode::OK {
                return stream;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the ended stream's place is free on the other server");
    drop(freed);
    drop(open);
    other.stop().await;
    app.stop().await;
}

/// A server that stopped renewing (here: one whose streams' leases ran
/// out while it did no upkeep) holds no places once they expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_a_server_does_not_renew_expire() {
    let (app, other, token, open) = sixteen_streams(false).await;
    assert_eq!(
        open_stream(&app.base, &token).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The other server's leases run out unrenewed; the first server's
    // upkeep prunes them.
    app.advance(Duration::from_secs(91));
    app.run_due_work().await;
    let stream = open_stream(&app.base, &token).await;
    assert_eq!(
        stream.status(),
        StatusCode::OK,
        "expired leases no longer count"
    );
    drop(stream);
    drop(open);
    other.stop().await;
    app.stop().await;
}
