//! Outbound webhooks: the address rule, no redirects, the channel's current
//! URL, capped retries, dead letters and redelivery.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use casedesk_server::channels::api::webhook::Retry;

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    redirects_are_not_followed,
    webhook_addresses_are_checked_when_saved_and_when_delivering,
    deliveries_go_to_the_channels_current_url,
    exhausted_deliveries_fail_and_are_redelivered,
);

/// A webhook receiver on loopback. `/redirect` answers 302 to `/landing`;
/// every other path answers the current `status`. Every request is kept.
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
                h.lock().expect("lock").push((path.clone(), body));
                if path == "/redirect" {
                    return axum::http::Response::builder()
                        .status(302)
                        .header("location", "/landing")
                        .body(axum::body::Body::empty())
                        .expect("response");
                }
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
}

/// Past the backoff of any retry ([`Retry::MAX_DELAY`]).
const PAST_ANY_BACKOFF: Duration = Retry::MAX_DELAY;

/// A server whose deliveries are tried `max_attempts` times.
async fn spawn(backend: Backend, allow_private: bool, max_attempts: i64) -> TestApp {
    TestApp::spawn_with(backend, move |c, _| {
        c.webhook_allow_private = allow_private;
        c.webhook_retry = Some(Retry {
            max_attempts,
            ..Retry::default()
        });
    })
    .await
}

/// Makes the delivery attempts due now, then `retries` more, each after
/// its backoff.
async fn attempt_deliveries(app: &TestApp, retries: usize) {
    app.run_due_work().await;
    for _ in 0..retries {
        app.advance_and_run(PAST_ANY_BACKOFF).await;
    }
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
        .inbound_to(
            channel,
            token,
            json!({"type": "message", "message_id": format!("m{n}"),
                "customer": {"id": "cust"}, "text": "hello"}),
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

/// The delivery of `message_id`, which must be in `state`.
async fn delivery(app: &TestApp, channel: &str, message_id: &str, state: &str) -> Value {
    let found = deliveries(app, channel, state)
        .await
        .into_iter()
        .find(|d| d["message_id"] == message_id);
    match found {
        Some(d) => d,
        None => {
            let all = app
                .ok(
                    Method::GET,
                    &format!("/api/v1/channels/{channel}/deliveries"),
                    None,
                )
                .await;
            panic!("the delivery of {message_id} is not {state}: {all}")
        }
    }
}

async fn redirects_are_not_followed(backend: Backend) {
    let receiver = Receiver::start(200).await;
    let app = spawn(backend, true, 2).await;
    let ch = hooked_channel(&app, &receiver.url("/redirect")).await;
    let reply = reply_in(&app, &ch, 1).await;
    attempt_deliveries(&app, 1).await;
    let failed = delivery(&app, &ch.0, &reply, "failed").await;
    assert_eq!(failed["attempts"], 2, "{failed}");
    let error = s(&failed["last_error"]);
    assert!(
        error.contains("302") && error.contains("redirects are not followed"),
        "{error}"
    );
    assert_eq!(receiver.hits("/redirect"), 2, "one request per attempt");
    assert_eq!(
        receiver.hits("/landing"),
        0,
        "the redirect's target never gets a request"
    );
    app.stop().await;
}

async fn webhook_addresses_are_checked_when_saved_and_when_delivering(backend: Backend) {
    let receiver = Receiver::start(200).await;
    let app = spawn(backend, false, 2).await;
    let refused = |url: &str, rule: &'static str| {
        let url = url.to_owned();
        let app = &app;
        async move {
            let (st, v) = app
                .call(
                    Method::POST,
                    "/api/v1/channels",
                    Some(json!({"kind": "api", "name": "x", "webhook_url": url})),
                )
                .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "create {url}: {v}");
            let message = s(&v["error"]["message"]);
            assert!(message.contains(rule), "create {url}: {message}");
            let (st, v) = app
                .call(
                    Method::PATCH,
                    &format!("/api/v1/channels/{}", app.channel_id),
                    Some(json!({"webhook_url": url})),
                )
                .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "patch {url}: {v}");
            assert!(s(&v["error"]["message"]).contains(rule), "patch {url}: {v}");
        }
    };
    refused("http://169.254.169.254/latest/meta-data/", "link-local").await;
    refused("http://[::1]:5432/", "loopback").await;
    refused("http://2130706433/", "127.0.0.1 is a loopback address").await;
    refused("http://[::ffff:169.254.169.254]/", "link-local").await;
    refused(&receiver.url("/hook"), "CASEDESK_WEBHOOK_ALLOW_PRIVATE").await;
    let channels = app.ok(Method::GET, "/api/v1/channels", None).await;
    let items = channels["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "no channel was created: {channels}");
    assert_eq!(items[0]["webhook_url"], Value::Null, "nothing was saved");

    // A name is checked where it resolves: `localhost` is loopback.
    let by_name = receiver.url("/hook").replace("127.0.0.1", "localhost");
    let ch = hooked_channel(&app, &by_name).await;
    let reply = reply_in(&app, &ch, 1).await;
    attempt_deliveries(&app, 1).await;
    let failed = delivery(&app, &ch.0, &reply, "failed").await;
    let error = s(&failed["last_error"]);
    assert!(
        error.contains("localhost resolves to no address webhooks may use")
            && error.contains("CASEDESK_WEBHOOK_ALLOW_PRIVATE"),
        "{error}"
    );
    assert_eq!(receiver.hits("/hook"), 0, "no request reached loopback");
    app.stop().await;
}

async fn deliveries_go_to_the_channels_current_url(backend: Backend) {
    let old = Receiver::start(503).await;
    let new = Receiver::start(200).await;
    let app = spawn(backend, true, 100).await;
    let ch = hooked_channel(&app, &old.url("/hook")).await;
    let reply = reply_in(&app, &ch, 1).await;
    attempt_deliveries(&app, 0).await;
    assert_eq!(old.hits("/hook"), 1);
    app.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{}", ch.0),
        Some(json!({"webhook_url": new.url("/hook")})),
    )
    .await;
    attempt_deliveries(&app, 1).await;
    let delivered = delivery(&app, &ch.0, &reply, "delivered").await;
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
    let before = old.hits("/hook");
    let second = reply_in(&app, &ch, 2).await;
    attempt_deliveries(&app, 0).await;
    assert_eq!(old.hits("/hook"), before + 1);
    app.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{}", ch.0),
        Some(json!({"webhook_url": null})),
    )
    .await;
    attempt_deliveries(&app, 1).await;
    let cancelled = delivery(&app, &ch.0, &second, "failed").await;
    assert_eq!(
        cancelled["last_error"], "the channel has no webhook_url any more",
        "{cancelled}"
    );
    app.stop().await;
}

async fn exhausted_deliveries_fail_and_are_redelivered(backend: Backend) {
    let receiver = Receiver::start(500).await;
    let app = spawn(backend, true, 3).await;
    let ch = hooked_channel(&app, &receiver.url("/hook")).await;
    let reply = reply_in(&app, &ch, 1).await;
    attempt_deliveries(&app, 2).await;
    let failed = delivery(&app, &ch.0, &reply, "failed").await;
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert_eq!(
        failed["last_error"], "receiver answered 500 Internal Server Error",
        "{failed}"
    );
    for field in ["id", "created_at", "last_attempt_at", "failed_at"] {
        assert!(failed[field].is_string(), "{field}: {failed}");
    }
    attempt_deliveries(&app, 1).await;
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
    casedesk_server::auth::create_account(
        &*store,
        "Other",
        "boss@other.example",
        "password-two",
        app.now(),
    )
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
    attempt_deliveries(&app, 0).await;
    let delivered = delivery(&app, &ch.0, &reply, "delivered").await;
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
