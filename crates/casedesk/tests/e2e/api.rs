//! The API contract: errors, auth, isolation, paging, OpenAPI, SSE, webhooks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, Backend, TestApp, s};
use crate::on_both;

on_both!(
    bad_input_gets_clear_errors_and_loses_nothing,
    accounts_are_isolated,
    roles_and_login_throttling,
    case_list_pages_with_a_cursor,
    openapi_lists_every_route,
    requests_the_document_allows_are_taken_and_conflicts_are_409,
    sse_streams_changes_of_the_own_account,
    webhook_replies_are_signed_and_retried,
);

async fn bad_input_gets_clear_errors_and_loses_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let inbound = format!("{}/api/v1/channels/{}/inbound", app.base, app.channel_id);
    let post = |body: Vec<u8>, ctype: &'static str| {
        app.http
            .post(&inbound)
            .bearer_auth(&app.inbound_token)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let error_of = |v: &Value| v["error"]["code"].as_str().map(str::to_owned);

    let r = post(b"{not json".to_vec(), "application/json")
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.expect("json error");
    assert!(error_of(&v).is_some(), "{v}");

    let r = post(
        b"{\"type\":\"message\",\"text\":5}".to_vec(),
        "application/json",
    )
    .await
    .expect("sent");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let mut invalid_utf8 =
        b"{\"type\":\"message\",\"message_id\":\"u1\",\"customer\":{\"id\":\"u\"},\"text\":\""
            .to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, b'"', b'}']);
    let r = post(invalid_utf8, "application/json").await.expect("sent");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let huge = json!({"type": "message", "message_id": "big", "customer": {"id": "u"},
        "text": "x".repeat(5 * 1024 * 1024)});
    let r = post(serde_json::to_vec(&huge).expect("json"), "application/json")
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = r.json().await.expect("json error");
    assert_eq!(v["error"]["code"], "payload_too_large");

    let r = post(b"{}".to_vec(), "text/plain").await.expect("sent");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (st, _) = app
        .inbound(
            json!({"type": "message", "message_id": "e1", "customer": {"id": "u"}, "text": "   "}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = app
        .inbound(
            json!({"type": "message", "message_id": "", "customer": {"id": "u"}, "text": "hi"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = app
        .inbound(json!({"type": "typing", "customer": {"id": "u"}}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // Hostile text is stored as it is; escaping is the renderer's job.
    let xss = "<script>alert(1)</script> \u{202e}RTL 😀";
    let r = app.customer_says("u", "x1", xss).await;
    assert_eq!(app.messages(&s(&r["case_id"])).await[0]["text"], xss);

    // Wrong inbound token or unknown channel: 401, nothing stored.
    let (st, _) = app
        .raw(Method::POST, &format!("/api/v1/channels/{}/inbound", app.channel_id), Some("wrong"),
            Some(json!({"type": "message", "message_id": "w1", "customer": {"id": "u"}, "text": "hi"})))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = app
        .raw(Method::POST, "/api/v1/channels/unknown/inbound", Some(&app.inbound_token),
            Some(json!({"type": "message", "message_id": "w2", "customer": {"id": "u"}, "text": "hi"})))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.list("").await.len(),
        1,
        "only the accepted message made a case"
    );
    assert_eq!(app.case(&s(&r["case_id"])).await["message_count"], 1);

    // Agent API: missing/invalid token, unknown ids, bad query, unknown route.
    let (st, v) = app.raw(Method::GET, "/api/v1/cases", None, None).await;
    assert_eq!(
        (st, error_of(&v).as_deref()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (st, _) = app
        .raw(Method::GET, "/api/v1/cases", Some("nope"), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = app
        .call(Method::GET, "/api/v1/cases/does-not-exist", None)
        .await;
    assert_eq!(
        (st, error_of(&v).as_deref()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (st, _) = app
        .call(Method::GET, "/api/v1/cases?status=bogus", None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = app
        .call(Method::GET, "/api/v1/cases?cursor=garbage", None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = app.call(Method::GET, "/api/v1/cases?limit=0", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, v) = app.call(Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!(
        (st, error_of(&v).as_deref()),
        (StatusCode::NOT_FOUND, Some("route_not_found"))
    );
    let (st, v) = app.call(Method::DELETE, "/api/v1/cases", None).await;
    assert_eq!(
        (st, error_of(&v).as_deref()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (st, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{}", s(&r["case_id"])),
            Some(json!({"statuss": "open"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );
    for bad in [
        json!({"chat_auto_finish_after_seconds": 0}),
        json!({"chat_auto_finish_warning_seconds": -5}),
    ] {
        let (st, _) = app.call(Method::PATCH, "/api/v1/settings", Some(bad)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (st, _) = app
        .call(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "api", "name": "x", "webhook_url": "ftp://x"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // The server is still fine.
    let (st, _) = app.raw(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    app.stop().await;
}

async fn accounts_are_isolated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.customer_says("i", "i1", "secret of account one").await;
    let case_id = s(&r["case_id"]);
    // A second account on the same server, made the way `casedesk admin` does.
    let store = app.db.open().await;
    casedesk_server::auth::create_account(
        &*store,
        "Other Co",
        "boss@other.example",
        "password-two",
        app.now(),
    )
    .await
    .expect("second account");
    store.close().await;
    let other = app.login("boss@other.example", "password-two").await;
    for path in [
        format!("/api/v1/cases/{case_id}"),
        format!("/api/v1/cases/{case_id}/messages"),
        format!("/api/v1/cases/{case_id}/events"),
    ] {
        let (st, _) = app.raw(Method::GET, &path, Some(&other), None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
    }
    for (path, body) in [
        (
            format!("/api/v1/cases/{case_id}/finish"),
            json!({"status": "closed"}),
        ),
        (
            format!("/api/v1/cases/{case_id}/messages"),
            json!({"text": "hi"}),
        ),
    ] {
        let (st, _) = app.raw(Method::POST, &path, Some(&other), Some(body)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
    }
    let (st, _) = app
        .raw(
            Method::PATCH,
            &format!("/api/v1/cases/{case_id}"),
            Some(&other),
            Some(json!({"subject": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, list) = app
        .raw(Method::GET, "/api/v1/cases", Some(&other), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["items"], json!([]));
    let (_, channels) = app
        .raw(Method::GET, "/api/v1/channels", Some(&other), None)
        .await;
    assert_eq!(channels["items"], json!([]));
    assert_eq!(app.case(&case_id).await["subject"], "secret of account one");
    app.stop().await;
}

async fn roles_and_login_throttling(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (st, agent) = app
        .call(
            Method::POST,
            "/api/v1/agents",
            Some(
                json!({"email": "Agent@Example.com", "name": "Ada", "password": "agent-password"}),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{agent}");
    assert_eq!(agent["role"], "agent");
    let (st, _) = app
        .call(
            Method::POST,
            "/api/v1/agents",
            Some(json!({"email": "agent@example.com", "password": "whatever1"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "emails are unique, case-insensitively"
    );
    let (st, _) = app
        .call(
            Method::POST,
            "/api/v1/agents",
            Some(json!({"email": "short@example.com", "password": "short"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let token = app.login("agent@example.com", "agent-password").await;
    let (st, v) = app
        .raw(
            Method::POST,
            "/api/v1/channels",
            Some(&token),
            Some(json!({"kind": "api", "name": "x"})),
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, _) = app
        .raw(
            Method::PATCH,
            "/api/v1/settings",
            Some(&token),
            Some(json!({"chat_auto_finish_after_seconds": 5})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = app
        .raw(Method::GET, "/api/v1/settings", Some(&token), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    // Logout revokes the token.
    let (st, _) = app
        .raw(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = app.raw(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Five wrong passwords, then even the right one waits.
    for _ in 0..5 {
        let (st, _) = app
            .raw(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": "wrong"})),
            )
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": ADMIN_EMAIL, "password": crate::helpers::ADMIN_PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    app.stop().await;
}

async fn case_list_pages_with_a_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 0..7 {
        app.customer_says(&format!("p{i}"), &format!("p{i}"), "hello")
            .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/v1/cases?limit=3&cursor={c}"),
            None => "/api/v1/cases?limit=3".into(),
        };
        let page = app.ok(Method::GET, &q, None).await;
        pages += 1;
        for c in page["items"].as_array().expect("items") {
            seen.push(c["number"].as_i64().expect("number"));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1], "newest first, each once");
    app.stop().await;
}

async fn openapi_lists_every_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (st, doc) = app
        .raw(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/agents"),
        ("post", "/api/v1/agents"),
        ("patch", "/api/v1/agents/{id}"),
        ("delete", "/api/v1/agents/{id}"),
        ("delete", "/api/v1/agents/{id}/sessions"),
        ("put", "/api/v1/agents/{id}/password"),
        ("delete", "/api/v1/agents/{id}/login-throttle"),
        ("get", "/api/v1/channels"),
        ("post", "/api/v1/channels"),
        ("post", "/api/v1/channels/{id}/inbound"),
        ("post", "/api/v1/channels/{id}/telegram/webhook"),
        ("post", "/api/v1/channels/{id}/inbound/mime"),
        ("post", "/api/v1/channels/{id}/email/test"),
        ("get", "/api/v1/letters/{message_id}/html"),
        ("get", "/api/v1/channels/{id}/telegram"),
        ("get", "/api/v1/channels/{id}/updates"),
        ("post", "/api/v1/channels/{id}/updates/{update_id}/retry"),
        ("get", "/api/v1/cases"),
        ("get", "/api/v1/cases/queues"),
        ("get", "/api/v1/cases/export"),
        ("get", "/api/v1/stats"),
        ("get", "/api/v1/cases/{id}"),
        ("patch", "/api/v1/cases/{id}"),
        ("get", "/api/v1/cases/{id}/messages"),
        ("post", "/api/v1/cases/{id}/messages"),
        ("get", "/api/v1/cases/{id}/events"),
        ("post", "/api/v1/cases/{id}/finish"),
        ("post", "/api/v1/cases/{id}/keep-active"),
        ("post", "/api/v1/cases/{id}/split"),
        ("post", "/api/v1/cases/{id}/move-messages"),
        ("get", "/api/v1/cases/{id}/topic-suggestion"),
        ("post", "/api/v1/cases/{id}/topic-suggestion/dismiss"),
        ("get", "/api/v1/simulate/auto-finish"),
        ("post", "/api/v1/channels/{id}/import"),
        ("get", "/api/v1/imports"),
        ("get", "/api/v1/imports/{id}"),
        ("post", "/api/v1/cases/{id}/events/{event_id}/undo"),
        ("post", "/api/v1/cases/{id}/merge-previous"),
        ("post", "/api/v1/cases/{id}/read"),
        ("get", "/api/v1/customers/{id}"),
        ("post", "/api/v1/auth/session"),
        ("get", "/api/v1/settings"),
        ("patch", "/api/v1/settings"),
        ("get", "/api/v1/events"),
        ("get", "/api/v1/labels"),
        ("post", "/api/v1/labels"),
        ("patch", "/api/v1/labels/{id}"),
        ("delete", "/api/v1/labels/{id}"),
        ("post", "/api/v1/cases/{id}/labels"),
        ("delete", "/api/v1/cases/{id}/labels/{label_id}"),
        ("get", "/api/v1/templates"),
        ("post", "/api/v1/templates"),
        ("get", "/api/v1/templates/{id}"),
        ("patch", "/api/v1/templates/{id}"),
        ("delete", "/api/v1/templates/{id}"),
        ("post", "/api/v1/cases/{id}/apply-template"),
        ("get", "/api/v1/rules"),
        ("post", "/api/v1/rules"),
        ("post", "/api/v1/rules/dry-run"),
        ("get", "/api/v1/rules/{id}"),
        ("patch", "/api/v1/rules/{id}"),
        ("delete", "/api/v1/rules/{id}"),
        ("patch", "/api/v1/channels/{id}"),
        ("delete", "/api/v1/channels/{id}"),
        ("get", "/api/v1/channels/{id}/deliveries"),
        ("post", "/api/v1/deliveries/{id}/redeliver"),
        ("post", "/api/v1/widget/{channel_id}/visitors"),
        ("get", "/api/v1/widget/{channel_id}/messages"),
        ("post", "/api/v1/widget/{channel_id}/messages"),
        ("post", "/api/v1/widget/{channel_id}/reactions"),
        ("get", "/api/v1/widget/{channel_id}/events"),
        ("post", "/api/v1/widget/{channel_id}/cases/{case_id}/close"),
        ("post", "/api/v1/widget/{channel_id}/help-link"),
        ("post", "/api/v1/widget/{channel_id}/attachments"),
        (
            "get",
            "/api/v1/widget/{channel_id}/attachments/{attachment_id}",
        ),
        ("patch", "/api/v1/customers/{id}"),
        ("post", "/api/v1/customers/{id}/links"),
        ("delete", "/api/v1/customers/{id}/links"),
        ("delete", "/api/v1/customers/{id}/sessions"),
        ("post", "/api/v1/cases/{id}/attachments"),
        ("get", "/api/v1/attachments/{id}"),
        ("get", "/api/v1/help/{account_id}"),
        ("post", "/api/v1/help/{account_id}/sign-in"),
        ("post", "/api/v1/help/{account_id}/session"),
        ("get", "/api/v1/help/{account_id}/me"),
        ("post", "/api/v1/help/{account_id}/sign-out"),
        ("get", "/api/v1/help/{account_id}/cases"),
        ("get", "/api/v1/help/{account_id}/cases/{case_id}"),
        ("post", "/api/v1/help/{account_id}/cases/{case_id}/close"),
        (
            "get",
            "/api/v1/help/{account_id}/attachments/{attachment_id}",
        ),
    ];
    let mut documented = Vec::new();
    for (path, ops) in paths {
        for method in ops.as_object().expect("operations").keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut want: Vec<_> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    want.sort();
    assert_eq!(documented, want, "the document and the contract differ");
    // Each operation documents the errors any request can get: bad text in
    // the path or query (400, 422), missing credentials where they are
    // needed (401), and for a body its size and type (413, 415).
    for (path, ops) in paths {
        for (method, op) in ops.as_object().expect("operations") {
            let has = |status: &str| op["responses"].get(status).is_some();
            assert!(has("400") && has("422"), "{method} {path}: 400/422");
            let public = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            assert!(public || has("401"), "{method} {path}: 401");
            if op.get("requestBody").is_some() {
                assert!(has("413") && has("415"), "{method} {path}: 413/415");
            }
        }
    }
    // Every documented operation is served: none answers route_not_found or 405.
    for (method, path) in &documented {
        if path == "/api/v1/events" {
            continue; // a stream; covered by its own test
        }
        let url = path.replace("{id}", "x");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let (st, v) = app.call(m, &url, Some(json!({}))).await;
        assert!(
            st != StatusCode::METHOD_NOT_ALLOWED && v["error"]["code"] != "route_not_found",
            "{method} {path} is documented but not served: {st} {v}"
        );
    }
    app.stop().await;
}

async fn sse_streams_changes_of_the_own_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut stream = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    // Another account's activity must not show up: it happens first, so
    // had it leaked it would be in the stream before this account's event.
    let store = app.db.open().await;
    casedesk_server::auth::create_account(
        &*store,
        "Other",
        "x@other.example",
        "password-x",
        app.now(),
    )
    .await
    .expect("account");
    store.close().await;
    let other = app.login("x@other.example", "password-x").await;
    let (st, channel) = app
        .raw(
            Method::POST,
            "/api/v1/channels",
            Some(&other),
            Some(json!({"kind": "api", "name": "Other's"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{channel}");
    let (st, elsewhere) = app
        .raw(
            Method::POST,
            &format!("/api/v1/channels/{}/inbound", s(&channel["id"])),
            Some(&s(&channel["inbound_token"])),
            Some(json!({"type": "message", "message_id": "o1",
                "customer": {"id": "other-customer"}, "text": "not yours"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{elsewhere}");
    let other_case = s(&elsewhere["case_id"]);
    let r = app.customer_says("sse", "sse1", "live!").await;
    let case_id = s(&r["case_id"]);
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: message.created") && seen.contains(&case_id) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(found, "no message.created event for {case_id}: {seen}");
    assert!(seen.contains("event: case.created"), "{seen}");
    assert!(
        !seen.contains(&other_case) && !seen.contains("other-customer"),
        "another account's event leaked: {seen}"
    );
    app.stop().await;
}

#[derive(Clone, Default)]
struct Receiver {
    calls: Arc<Mutex<Vec<(String, String)>>>,
}

async fn webhook_replies_are_signed_and_retried(backend: Backend) {
    use axum::http::HeaderMap;
    let receiver = Receiver::default();
    let r2 = receiver.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let r = r2.clone();
            async move {
                let sig = headers
                    .get("x-casedesk-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let mut calls = r.calls.lock().expect("lock");
                calls.push((sig, body));
                // The first delivery fails: the outbox must retry.
                if calls.len() == 1 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("receiver") });

    let app = TestApp::spawn(backend).await;
    let channel = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "api", "name": "Hooked", "webhook_url": hook})),
        )
        .await;
    let token = s(&channel["inbound_token"]);
    let (st, r) = app
        .raw(Method::POST, &format!("/api/v1/channels/{}/inbound", s(&channel["id"])), Some(&token),
            Some(json!({"type": "message", "message_id": "w1", "customer": {"id": "cust-9"}, "text": "hi"})))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let reply = app.reply(&s(&r["case_id"]), "Hello from support").await;
    let calls = || receiver.calls.lock().expect("lock").len();
    app.run_due_work().await;
    assert_eq!(calls(), 1, "the reply is delivered at once");
    // Retried after the first backoff (a second), not before.
    app.advance_and_run(Duration::from_millis(999)).await;
    assert_eq!(calls(), 1, "retried before its backoff");
    app.advance_and_run(Duration::from_millis(1)).await;
    assert_eq!(calls(), 2, "the webhook was not retried");
    app.advance_and_run(Duration::from_secs(3600)).await;
    let calls = receiver.calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 2, "delivered once acknowledged, not again");
    let (sig, body) = &calls[1];
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    assert_eq!(
        sig,
        &format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let payload: Value = serde_json::from_str(body).expect("json body");
    assert_eq!(payload["id"], reply["id"]);
    assert_eq!(payload["text"], "Hello from support");
    assert_eq!(payload["customer"]["id"], "cust-9");
    assert_eq!(calls[0].1, calls[1].1, "the retry carries the same body");
    // The customer's reaction to the reply, addressed by casedesk's id, works.
    let (st, noted) = app
        .raw(Method::POST, &format!("/api/v1/channels/{}/inbound", s(&channel["id"])), Some(&token),
            Some(json!({"type": "reaction", "customer": {"id": "cust-9"}, "target_message_id": payload["id"], "emoji": "🙏"})))
        .await;
    assert_eq!(
        (st, noted["outcome"].as_str()),
        (StatusCode::OK, Some("noted"))
    );
    app.stop().await;
}

/// What the OpenAPI document promises, held on both databases: a request
/// that fits its schema is taken (or answered 404/409 for what the schema
/// cannot know), one that does not is refused. Schemathesis checks the same
/// with generated requests (scripts/schemathesis).
async fn requests_the_document_allows_are_taken_and_conflicts_are_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let case = s(&app.customer_says("u1", "m1", "Hello").await["case_id"]);
    let call = |method: Method, path: String, body: Value| {
        let app = &app;
        async move { app.call(method, &path, Some(body)).await }
    };

    // Bodies are objects: serde would read `[null, null]` as a struct.
    let (st, v) = call(
        Method::PATCH,
        format!("/api/v1/cases/{case}"),
        json!([null, null]),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Whole numbers may be spelled as JSON Schema counts them: `60.0` is 60.
    let v = app
        .ok(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"chat_auto_finish_after_seconds": 600.0, "chat_auto_finish_warning_seconds": 60})),
        )
        .await;
    assert_eq!(v["chat_auto_finish_after_seconds"], 600);
    let (st, _) = call(
        Method::PATCH,
        "/api/v1/settings".into(),
        json!({"chat_auto_finish_after_seconds": 600.5}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.ok(Method::GET, "/api/v1/cases?limit=1.0", None).await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // An upload takes the parameters it documents, and no others.
    let upload = |query: &'static str| {
        let app = &app;
        let case = case.clone();
        async move {
            app.http
                .post(format!(
                    "{}/api/v1/cases/{case}/attachments?{query}",
                    app.base
                ))
                .bearer_auth(&app.token)
                .header("content-type", "application/octet-stream")
                .body("hello")
                .send()
                .await
                .expect("sent")
                .status()
        }
    };
    assert_eq!(
        upload("filename=a.txt&nope=1").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        upload("filename=a.txt&kind=note").await,
        StatusCode::CREATED
    );

    // An id the account does not have, in a body, is 404 like one in a path.
    let (st, v) = call(
        Method::PATCH,
        format!("/api/v1/cases/{case}"),
        json!({"assignee_id": "nobody"}),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no agent `nobody`"),
        "{v}"
    );

    // Allowed origins suit a widget channel; on another, they conflict with it.
    let (st, v) = call(
        Method::PATCH,
        format!("/api/v1/channels/{}", app.channel_id),
        json!({"allowed_origins": ["https://shop.example"]}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (st, v) = call(
        Method::POST,
        "/api/v1/channels".into(),
        json!({"kind": "api", "name": "x", "allowed_origins": ["https://shop.example"]}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Webhook URLs: the document's grammar, exactly.
    let (st, v) = call(
        Method::PATCH,
        format!("/api/v1/channels/{}", app.channel_id),
        json!({"webhook_url": " https://hooks.example:8443/in/casedesk?key=a%20b "}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["webhook_url"],
        "https://hooks.example:8443/in/casedesk?key=a%20b"
    );
    for bad in [
        "https://hooks.example*",
        "https://[::1]/",
        "https://hooks.example/#x",
        "",
    ] {
        let (st, v) = call(
            Method::PATCH,
            format!("/api/v1/channels/{}", app.channel_id),
            json!({"webhook_url": bad}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }

    // A template change that empties it by itself is invalid; one that
    // leaves it empty with what it keeps conflicts with the template.
    let t = app
        .ok(
            Method::POST,
            "/api/v1/templates",
            Some(json!({"name": "Thanks", "body": "Thanks!"})),
        )
        .await;
    let path = format!("/api/v1/templates/{}", s(&t["id"]));
    let (st, v) = call(
        Method::PATCH,
        path.clone(),
        json!({"body": " ", "actions": []}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = call(Method::PATCH, path.clone(), json!({"body": ""})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(app.ok(Method::GET, &path, None).await["body"], "Thanks!");

    // Likewise a rule: a trigger that contradicts the actions it comes with
    // is invalid; one that contradicts the actions the rule keeps conflicts.
    let rule = app
        .ok(
            Method::POST,
            "/api/v1/rules",
            Some(
                json!({"name": "Pend", "trigger": {"type": "customer_message"},
                "actions": [{"type": "set_status", "status": "pending"}]}),
            ),
        )
        .await;
    let path = format!("/api/v1/rules/{}", s(&rule["id"]));
    let (st, v) = call(
        Method::PATCH,
        path.clone(),
        json!({"trigger": {"type": "pending_for", "seconds": 60},
            "actions": [{"type": "set_status", "status": "pending"}]}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = call(
        Method::PATCH,
        path.clone(),
        json!({"trigger": {"type": "pending_for", "seconds": 60.0}}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let v = app
        .ok(
            Method::PATCH,
            &path,
            Some(json!({"trigger": {"type": "pending_for", "seconds": 60.0},
                "actions": [{"type": "set_status", "status": "closed"}]})),
        )
        .await;
    assert_eq!(v["trigger"], json!({"type": "pending_for", "seconds": 60}));
    // Positions are bounded (±10^9), also where a float would blur them.
    for position in [json!(1_000_000_001), json!(-9.223_372_036_854_776e18)] {
        let (st, v) = call(Method::PATCH, path.clone(), json!({"position": position})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{position}: {v}");
    }
    let v = app
        .ok(Method::PATCH, &path, Some(json!({"position": -1e9})))
        .await;
    assert_eq!(v["position"], -1_000_000_000);
    app.stop().await;
}
