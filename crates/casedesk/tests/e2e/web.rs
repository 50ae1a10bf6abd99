//! What the web UI relies on: browser sessions with CSRF protection, the
//! UI's pages and assets, sorting the case list, customers and read marks.

use std::time::Duration;

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, s};
use crate::on_both;

on_both!(
    cookie_session_with_csrf,
    ui_pages_and_assets_are_served,
    case_list_sorts_and_pages_by_each_order,
    customers_and_read_marks,
);

/// Logs in for a browser session; returns (session token, csrf token).
async fn browser_login(app: &TestApp) -> (String, String) {
    let resp = app
        .http
        .post(format!("{}/api/v1/auth/session", app.base))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookies: Vec<String> = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("casedesk_session="))
        .expect("session cookie set");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(
            session.contains(attr),
            "session cookie has {attr}: {session}"
        );
    }
    assert!(
        !session.contains("Secure"),
        "plain http gets no Secure flag"
    );
    let csrf_cookie = cookies
        .iter()
        .find(|c| c.starts_with("casedesk_csrf="))
        .expect("csrf cookie set");
    assert!(
        !csrf_cookie.contains("HttpOnly"),
        "scripts must read the csrf cookie"
    );
    let value = |c: &str| {
        c.split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
            .map(|(_, v)| v.to_owned())
    };
    let token = value(session).expect("session value");
    let csrf = value(csrf_cookie).expect("csrf value");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(s(&body["csrf_token"]), csrf, "body and cookie agree");
    assert_eq!(s(&body["agent"]["email"]), ADMIN_EMAIL);
    (token, csrf)
}

async fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    session: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Vec<String>) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.base))
        .header(COOKIE, format!("other=1; casedesk_session={session}"));
    if let Some(c) = csrf {
        req = req.header("X-CSRF-Token", c);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status();
    let cookies = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, value, cookies)
}

async fn cookie_session_with_csrf(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.customer_says("web1", "web1", "hello").await;
    let case_id = s(&r["case_id"]);
    let (session, csrf) = browser_login(&app).await;

    // Reads need only the cookie.
    let (st, me, _) = with_cookie(&app, Method::GET, "/api/v1/me", &session, None, None).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(s(&me["email"]), ADMIN_EMAIL);

    // A state change with the cookie but without the CSRF token is refused,
    // and so is one with a wrong token; nothing changes.
    let patch = json!({"subject": "changed by a forged request"});
    let path = format!("/api/v1/cases/{case_id}");
    for bad in [None, Some("0000"), Some("")] {
        let (st, v, _) = with_cookie(
            &app,
            Method::PATCH,
            &path,
            &session,
            bad,
            Some(patch.clone()),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
        assert_eq!(v["error"]["code"], "csrf");
    }
    // Another session's token does not fit this session.
    let (_, other_csrf) = browser_login(&app).await;
    let (st, _, _) = with_cookie(
        &app,
        Method::PATCH,
        &path,
        &session,
        Some(&other_csrf),
        Some(patch.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(s(&app.case(&case_id).await["subject"]), "hello");

    // With the token it works.
    let (st, v, _) = with_cookie(
        &app,
        Method::PATCH,
        &path,
        &session,
        Some(&csrf),
        Some(patch),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(s(&v["subject"]), "changed by a forged request");

    // Bearer calls stay exempt, even with a stray cookie.
    let (st, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{case_id}/keep-active"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // A bad session cookie is a 401, not a 403.
    let (st, v, _) = with_cookie(&app, Method::GET, "/api/v1/me", "nonsense", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");

    // Logout needs the token too, revokes the session and clears both cookies.
    let (st, _, _) = with_cookie(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        &session,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, cookies) = with_cookie(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        &session,
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for name in ["casedesk_session=;", "casedesk_csrf=;"] {
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with(name) && c.contains("Max-Age=0")),
            "{name} cleared: {cookies:?}"
        );
    }
    let (st, _, _) = with_cookie(&app, Method::GET, "/api/v1/me", &session, None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Behind a TLS proxy the cookies are Secure.
    let resp = app
        .http
        .post(format!("{}/api/v1/auth/session", app.base))
        .header("X-Forwarded-Proto", "https")
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert!(
        resp.headers()
            .get_all(SET_COOKIE)
            .iter()
            .all(|c| c.to_str().is_ok_and(|c| c.contains("; Secure")))
    );
    // Wrong passwords get no cookie.
    let resp = app
        .http
        .post(format!("{}/api/v1/auth/session", app.base))
        .json(&json!({"email": ADMIN_EMAIL, "password": "wrong password"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().get(SET_COOKIE).is_none());
    app.stop().await;
}

async fn ui_pages_and_assets_are_served(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/login", "text/html; charset=utf-8"),
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let resp = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers().clone();
        assert_eq!(h["content-type"], content_type, "{path}");
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let etag = h["etag"].to_str().expect("etag").to_owned();
        if path == "/" {
            let csp = h["content-security-policy"].to_str().expect("csp");
            assert!(csp.contains("script-src 'self'"), "{csp}");
            let html = resp.text().await.expect("html");
            assert!(html.contains("/assets/app.js"));
        }
        let again = app
            .http
            .get(format!("{}{path}", app.base))
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("sent");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let (st, v) = app.raw(Method::GET, "/assets/nope.js", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
    let (st, _) = app.raw(Method::GET, "/assets/index.html", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn case_list_sorts_and_pages_by_each_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A second between changes: the clock stands still otherwise, and the
    // orders are by time.
    let mut ids = Vec::new();
    for i in 0..5 {
        app.advance(Duration::from_secs(1));
        let r = app
            .customer_says(&format!("sort{i}"), &format!("sort{i}"), "hi")
            .await;
        ids.push(s(&r["case_id"]));
    }
    // Activity order differs from creation order: #2 then #4 become the
    // most recently active.
    app.advance(Duration::from_secs(1));
    app.customer_says("sort1", "sort1b", "again").await;
    app.advance(Duration::from_secs(1));
    app.customer_says("sort3", "sort3b", "again").await;
    let numbers = |items: &[Value]| -> Vec<i64> {
        items
            .iter()
            .map(|c| c["number"].as_i64().expect("number"))
            .collect()
    };
    let all_pages = |query: &'static str| {
        let app = &app;
        async move {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let q = match &cursor {
                    Some(c) => format!("/api/v1/cases?{query}&limit=2&cursor={c}"),
                    None => format!("/api/v1/cases?{query}&limit=2"),
                };
                let page = app.ok(Method::GET, &q, None).await;
                seen.extend(numbers(page["items"].as_array().expect("items")));
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            seen
        }
    };
    assert_eq!(
        all_pages("sort=created_at&order=desc").await,
        [5, 4, 3, 2, 1]
    );
    assert_eq!(all_pages("order=asc").await, [1, 2, 3, 4, 5]);
    assert_eq!(
        all_pages("sort=last_activity_at").await,
        [4, 2, 5, 3, 1],
        "most recently active first"
    );
    assert_eq!(
        all_pages("sort=last_activity_at&order=asc").await,
        [1, 3, 5, 2, 4]
    );
    // Active chats in the list carry their timers (the live list shows R4).
    let active = app.list("chat_state=active&limit=10").await;
    assert_eq!(active.len(), 5);
    for c in &active {
        assert!(c["auto_finish_at"].is_string(), "{c}");
        assert!(c["auto_finish_warning_at"].is_string(), "{c}");
    }
    // Bad sort values and a cursor of another order are refused clearly.
    let (st, v) = app
        .call(Method::GET, "/api/v1/cases?sort=subject", None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, _) = app.call(Method::GET, "/api/v1/cases?order=up", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let page = app.ok(Method::GET, "/api/v1/cases?limit=2", None).await;
    let cursor = s(&page["next_cursor"]);
    let (st, v) = app
        .call(
            Method::GET,
            &format!("/api/v1/cases?limit=2&order=asc&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("another sort"),
        "{v}"
    );
    app.stop().await;
}

async fn customers_and_read_marks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, r) = app
        .inbound(json!({"type": "message", "message_id": "cu1",
            "customer": {"id": "ext-42", "name": "Zoë ⟨Q⟩"}, "text": "hi"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let case = app.case(&s(&r["case_id"])).await;
    assert_eq!(case["unread"], true);
    let customer = app
        .ok(
            Method::GET,
            &format!("/api/v1/customers/{}", s(&case["customer_id"])),
            None,
        )
        .await;
    assert_eq!(s(&customer["name"]), "Zoë ⟨Q⟩");
    assert_eq!(s(&customer["external_id"]), "ext-42");
    assert_eq!(s(&customer["channel_id"]), app.channel_id);
    assert_eq!(customer["latest_case_id"], case["id"]);
    let (st, v) = app.call(Method::GET, "/api/v1/customers/nope", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");

    // Reading clears the marker without touching the history or updated_at.
    let events_before = app.events(&s(&case["id"])).await.len();
    let read = app
        .ok(
            Method::POST,
            &format!("/api/v1/cases/{}/read", s(&case["id"])),
            None,
        )
        .await;
    assert_eq!(read["unread"], false);
    assert_eq!(read["updated_at"], case["updated_at"]);
    assert_eq!(app.events(&s(&case["id"])).await.len(), events_before);
    // A new customer message marks it unread again.
    app.customer_says("ext-42", "cu2", "more").await;
    assert_eq!(app.case(&s(&case["id"])).await["unread"], true);
    let (st, _) = app
        .call(Method::POST, "/api/v1/cases/nope/read", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Other accounts see neither the customer nor the case.
    let store = app.db.open().await;
    casedesk_server::auth::create_account(
        &*store,
        "Other",
        "y@other.example",
        "password-y",
        app.now(),
    )
    .await
    .expect("account");
    store.close().await;
    let other = app.login("y@other.example", "password-y").await;
    let (st, _) = app
        .raw(
            Method::GET,
            &format!("/api/v1/customers/{}", s(&case["customer_id"])),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = app
        .raw(
            Method::POST,
            &format!("/api/v1/cases/{}/read", s(&case["id"])),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    app.stop().await;
}
