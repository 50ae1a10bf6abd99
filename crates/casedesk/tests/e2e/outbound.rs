//! Outbound webhooks: the channel's current URL, capped retries, dead
//! letters and redelivery.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    deliveries_go_to_the_channels_current_url,
    exhausted_deliveries_fail_and_are_redelivered,
);

/// A webhook receiver on loopback: answers the current `status`. Every
/// request is kept.
#[derive(Clone)]
struct Receiver {
    base: String,
    status: Arc<AtomicU16>,
    hits: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let status = Arc::new(AtomicU16::new(status));
        let hits: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (st, h) = (Arc::clone(&status), Arc::clone(&hits));
        let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (st, h) = (Arc::clone(&st), Arc::clone(&h));
            async move {
                let path = req.uri().path().to_owned();
                let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                    .await
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                h.lock().expect("lock").push((path, body));
                axum::http::Response::builder()
                    .status(st.load(Ordering::SeqCst))
                    .body(axum::body::Body::empty())
                    .expect("response")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, router).await.expect("receiver") });
        Receiver { base, status, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn hits(&self, path: &str) -> usize {
        let hits = self.hits.lock().expect("lock");
        hits.iter().filter(|(p, _)| p == path).count()
    }

    async fn wait_hits(&self, path: &str, n: usize) {
        wait_until(&format!("{n} requests to {path}"), || async {
            self.hits(path) >= n
        })
        .await;
    }
}

/// Polls `cond` every 50 ms for up to 20 s.
async fn wait_until<F, Fut>(what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "never saw {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server whose deliveries are tried `max_attempts` times, 50 ms apart
/// at first, so that no test waits on real backoff.
async fn spawn(backend: Backend, max_attempts: i64) -> TestApp {
    TestApp::spawn_with(backend, move |c, _| {
        c.webhook_retry = Some(casedesk_server::webhook::Retry {
            max_attempts,
            first_delay: Duration::from_millis(50),
        });
    })
    .await
}

/// An `api` channel with a webhook: its id and inbound token.
async fn hooked_channel(app: &TestApp, url: &str) -> (String, String) {
    let v = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "api", "name": "Hooked", "webhook_url": url})),
        )
        .await;
    (s(&v["id"]), s(&v["inbound_token"]))
}

/// A customer message in the channel and an agent reply to it: the reply's
/// id, which its delivery carries.
async fn reply_in(app: &TestApp, (channel, token): &(String, String), n: u32) -> String {
    let (st, r) = app
        .raw(
            Method::POST,
            &format!("/api/v1/channels/{channel}/inbound"),
            Some(token),
            Some(json!({"type": "message", "message_id": format!("m{n}"),
                "customer": {"id": "cust"}, "text": "hello"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    s(&app.reply(&s(&r["case_id"]), &format!("reply {n}")).await["id"])
}

async fn deliveries(app: &TestApp, channel: &str, state: &str) -> Vec<Value> {
    let v = app
        .ok(
            Method::GET,
            &format!("/api/v1/channels/{channel}/deliveries?state={state}"),
            None,
        )
        .await;
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the delivery of `message_id` is in `state`; returns it.
async fn wait_delivery(app: &TestApp, channel: &str, message_id: &str, state: &str) -> Value {
    let found = Mutex::new(Value::Null);
    wait_until(&format!("the delivery of {message_id} {state}"), || async {
        let items = deliveries(app, channel, state).await;
        match items.into_iter().find(|d| d["message_id"] == message_id) {
            Some(d) => {
                *found.lock().expect("lock") = d;
                true
            }
            None => false,
        }
    })
    .await;
    found.into_inner().expect("lock")
}

async fn deliveries_go_to_the_channels_current_url(backend: Backend) {
    let old = Receiver::start(503).await;
    let new = Receiver::start(200).await;
    let app = spawn(backend, 100).await;
    let ch = hooked_channel(&app, &old.url("/hook")).await;
    let reply = reply_in(&app, &ch, 1).await;
    old.wait_hits("/hook", 1).await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{}", ch.0),
        Some(json!({"webhook_url": new.url("/hook")})),
    )
    .await;
    let delivered = wait_delivery(&app, &ch.0, &reply, "delivered").await;
    assert_eq!(new.hits("/hook"), 1, "{delivered}");
    let body: Value = {
        let hits = new.hits.lock().expect("lock");
        serde_json::from_str(&hits[0].1).expect("json body")
    };
    assert_eq!(body["id"], reply.as_str());

    // Without a webhook URL a waiting delivery has nowhere to go: it fails
    // at once with the reason, and is not retried.
    app.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{}", ch.0),
        Some(json!({"webhook_url": old.url("/hook")})),
    )
    .await;
    let second = reply_in(&app, &ch, 2).await;
    let before = old.hits("/hook");
    old.wait_hits("/hook", before + 1).await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{}", ch.0),
        Some(json!({"webhook_url": null})),
    )
    .await;
    let cancelled = wait_delivery(&app, &ch.0, &second, "failed").await;
    assert_eq!(
        cancelled["last_error"], "the channel has no webhook_url any more",
        "{cancelled}"
    );
    app.stop().await;
}

async fn exhausted_deliveries_fail_and_are_redelivered(backend: Backend) {
    let receiver = Receiver::start(500).await;
    let app = spawn(backend, 3).await;
    let ch = hooked_channel(&app, &receiver.url("/hook")).await;
    let reply = reply_in(&app, &ch, 1).await;
    let failed = wait_delivery(&app, &ch.0, &reply, "failed").await;
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert_eq!(
        failed["last_error"], "receiver answered 500 Internal Server Error",
        "{failed}"
    );
    for field in ["id", "created_at", "last_attempt_at", "failed_at"] {
        assert!(failed[field].is_string(), "{field}: {failed}");
    }
    assert_eq!(
        receiver.hits("/hook"),
        3,
        "a failed delivery is not retried"
    );
    assert!(deliveries(&app, &ch.0, "pending").await.is_empty());
    let id = s(&failed["id"]);
    let redeliver = format!("/api/v1/deliveries/{id}/redeliver");

    // Only admins of the account see and redeliver.
    let store = app.db.open().await;
    casedesk_server::auth::create_account(&*store, "Other", "boss@other.example", "password-two")
        .await
        .expect("second account");
    store.close().await;
    let other = app.login("boss@other.example", "password-two").await;
    let list = format!("/api/v1/channels/{}/deliveries", ch.0);
    let (st, _) = app.raw(Method::GET, &list, Some(&other), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = app.raw(Method::POST, &redeliver, Some(&other), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    app.ok(
        Method::POST,
        "/api/v1/agents",
        Some(json!({"email": "agent@example.com", "password": "agent-password"})),
    )
    .await;
    let agent = app.login("agent@example.com", "agent-password").await;
    let (st, _) = app.raw(Method::GET, &list, Some(&agent), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = app.raw(Method::POST, &redeliver, Some(&agent), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = app
        .call(Method::GET, &format!("{list}?state=lost"), None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

    receiver.answer(200);
    let queued = app.ok(Method::POST, &redeliver, None).await;
    assert_eq!(queued["id"], id.as_str());
    assert_eq!(queued["attempts"], 0, "{queued}");
    let delivered = wait_delivery(&app, &ch.0, &reply, "delivered").await;
    assert_eq!(delivered["attempts"], 1, "{delivered}");
    assert_eq!(receiver.hits("/hook"), 4, "sent once more");
    assert!(deliveries(&app, &ch.0, "failed").await.is_empty());
    let (st, v) = app.call(Method::POST, &redeliver, None).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_delivered"))
    );
    app.stop().await;
}
