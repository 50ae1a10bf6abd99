//! The Help Center, on both databases: sign-in by a mailed link (through a
//! real SMTP conversation with a fake server on loopback) or the widget's
//! link, the customer's own cases across channels, never notes, never
//! anyone else's, closing as the fourth way (R5) and the next message
//! starting a new case (R6 d), bad input and limits.

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;
use crate::smtp::{FakeSmtp, login_token};

on_both!(
    help_center_signs_in_by_mail_and_shows_own_cases_across_channels,
    linked_profiles_are_one_person_for_agents_and_the_help_center,
    help_center_close_is_the_customers_fourth_way,
    help_center_refuses_bad_input_and_strangers,
    widget_link_and_signed_email_open_the_help_center,
    an_agent_revokes_a_customers_sign_ins,
    limits_per_client_address_and_open_streams,
    idle_visitor_tokens_expire,
);

/// A server that mails through a fake SMTP server.
async fn with_mail(backend: Backend) -> (TestApp, FakeSmtp) {
    let smtp = FakeSmtp::start().await;
    let url = smtp.url.clone();
    let app = TestApp::spawn_with(backend, move |config, base| {
        config.smtp_url = Some(url);
        config.smtp_from = Some("Shop support <help@shop.example>".into());
        config.public_url = Some(base.to_owned());
    })
    .await;
    (app, smtp)
}

async fn account_id(app: &TestApp) -> String {
    s(&app.ok(Method::GET, "/api/v1/me", None).await["account_id"])
}

/// A Help Center call with an optional session cookie and CSRF token.
async fn h(
    app: &TestApp,
    method: Method,
    path: &str,
    session: Option<&str>,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = app
        .http
        .request(method, format!("{}/api/v1/help/{path}", app.base));
    if let Some(c) = session {
        req = req.header(COOKIE, format!("casedesk_help={c}"));
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("help request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, value)
}

/// Asks for a sign-in link with `body` (`{"email", "lang"?}`).
async fn ask_link(
    app: &TestApp,
    account: &str,
    body: Value,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    h(
        app,
        Method::POST,
        &format!("{account}/sign-in"),
        None,
        None,
        Some(body),
    )
    .await
}

/// Exchanges a link token for a session: (session cookie value, csrf).
async fn open_session(app: &TestApp, account: &str, token: &str) -> (String, String) {
    let (st, headers, me) = h(
        app,
        Method::POST,
        &format!("{account}/session"),
        None,
        None,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    let cookie = headers[SET_COOKIE].to_str().expect("ascii").to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/api/v1/help;"),
        "{cookie}"
    );
    let session = cookie
        .strip_prefix("casedesk_help=")
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned();
    (session, s(&me["csrf_token"]))
}

async fn set_email(app: &TestApp, customer_id: &str, email: Value) -> (StatusCode, Value) {
    app.call(
        Method::PATCH,
        &format!("/api/v1/customers/{customer_id}"),
        Some(json!({ "email": email })),
    )
    .await
}

/// A visitor API call from no particular page.
async fn widget(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, value) = app.widget_call(method, path, token, None, body).await;
    (status, value)
}

/// Signs in `email` by the mailed link: asks, reads the `n`-th mail.
async fn sign_in_by_mail(
    app: &TestApp,
    smtp: &FakeSmtp,
    account: &str,
    email: &str,
    n: usize,
) -> (String, String) {
    let (st, _, v) = ask_link(app, account, json!({"email": email, "lang": "en"})).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let mail = smtp.nth(n).await;
    let token = login_token(&mail);
    open_session(app, account, &token).await
}

fn case_ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| s(&c["id"]))
        .collect()
}

async fn help_center_signs_in_by_mail_and_shows_own_cases_across_channels(backend: Backend) {
    let (app, smtp) = with_mail(backend).await;
    let account = account_id(&app).await;
    // Ann writes in the messenger; an agent answers and leaves a note.
    let first = app.customer_says("ann", "m1", "my parcel is late").await;
    let case1 = s(&first["case_id"]);
    app.reply(&case1, "it ships tomorrow").await;
    app.note(&case1, "internal: courier is slow").await;
    let ann = s(&app.case(&case1).await["customer_id"]);
    // Bob is another customer of the same account.
    let bob_case = s(&app.customer_says("bob", "m2", "hello").await["case_id"]);
    let bob = s(&app.case(&bob_case).await["customer_id"]);
    assert_eq!(
        set_email(&app, &bob, json!("bob@example.com")).await.0,
        StatusCode::OK
    );

    // An address nobody has: the same answer, and no mail.
    let (st, _, unknown) = ask_link(&app, &account, json!({"email": "ann@example.com"})).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    // The agent gives Ann her address (normalized), then she asks again.
    let (st, c) = set_email(&app, &ann, json!("  Ann@Example.COM ")).await;
    assert_eq!(
        (st, s(&c["email"])),
        (StatusCode::OK, "ann@example.com".into()),
        "{c}"
    );
    assert_eq!(
        set_email(&app, &ann, json!("not an address")).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (st, _, known) = ask_link(&app, &account, json!({"email": "ANN@example.com"})).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(
        known, unknown,
        "known and unknown addresses get the same answer"
    );
    let mail = smtp.nth(1).await;
    assert_eq!(smtp.count(), 1, "no mail for the unknown address");
    assert_eq!(mail.to, ["ann@example.com"]);
    assert!(mail.data.contains("help@shop.example"), "{}", mail.data);
    assert!(
        mail.body()
            .contains(&format!("{}/help/{account}#login=", app.base)),
        "the link goes to the configured public address: {}",
        mail.body()
    );
    let token = login_token(&mail);
    let (session, csrf) = open_session(&app, &account, &token).await;
    // The link works once.
    let (st, _, v) = h(
        &app,
        Method::POST,
        &format!("{account}/session"),
        None,
        None,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(
        (st, s(&v["error"]["code"])),
        (StatusCode::UNAUTHORIZED, "bad_link".into())
    );

    let (st, _, me) = h(
        &app,
        Method::GET,
        &format!("{account}/me"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(s(&me["csrf_token"]), csrf);

    // A widget chat of Ann's, signed with her address by the shop: her
    // cases span both channels now; Bob's never show.
    let (ch, secret) = app.widget_channel(&[]).await;
    let hash = casedesk_server::channels::widget::user_hash(&secret, "shop-7\nann@example.com");
    let (st, v) = widget(
        &app,
        Method::POST,
        &format!("{ch}/visitors"),
        None,
        Some(json!({"user_id": "shop-7", "user_hash": hash, "email": "ann@example.com"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let visitor = s(&v["visitor_token"]);
    let (st, posted) = widget(
        &app,
        Method::POST,
        &format!("{ch}/messages"),
        Some(&visitor),
        Some(json!({"text": "and a question from the site"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{posted}");
    let case2 = s(&posted["message"]["case_id"]);
    let (_, _, list) = h(
        &app,
        Method::GET,
        &format!("{account}/cases"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(
        case_ids(&list),
        [case2.clone(), case1.clone()],
        "most recent first: {list}"
    );
    let kinds: Vec<_> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| s(&c["channel_kind"]))
        .collect();
    assert_eq!(kinds, ["widget", "api"]);

    // The case with its public messages only.
    let (st, _, detail) = h(
        &app,
        Method::GET,
        &format!("{account}/cases/{case1}"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{detail}");
    let texts: Vec<_> = detail["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| s(&m["text"]))
        .collect();
    assert_eq!(
        texts,
        ["my parcel is late", "it ships tomorrow"],
        "never notes"
    );
    assert_eq!(detail["messages"][1]["author"], "agent");
    assert_eq!(detail["case"]["status"], "open");
    // Bob's case is not there for Ann, by any path.
    for path in [
        format!("{account}/cases/{bob_case}"),
        format!("{account}/cases/{bob_case}/close"),
    ] {
        let method = if path.ends_with("close") {
            Method::POST
        } else {
            Method::GET
        };
        let (st, _, v) = h(&app, method, &path, Some(&session), Some(&csrf), None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    assert_eq!(app.case(&bob_case).await["status"], "open");

    // Signing out ends the session.
    let (st, _, _) = h(
        &app,
        Method::POST,
        &format!("{account}/sign-out"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "sign-out needs the CSRF token");
    let (st, headers, _) = h(
        &app,
        Method::POST,
        &format!("{account}/sign-out"),
        Some(&session),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(
        headers[SET_COOKIE]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    let (st, _, _) = h(
        &app,
        Method::GET,
        &format!("{account}/me"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn help_center_close_is_the_customers_fourth_way(backend: Backend) {
    let (app, smtp) = with_mail(backend).await;
    let account = account_id(&app).await;
    let first = app.customer_says("cat", "c1", "the app crashes").await;
    let case1 = s(&first["case_id"]);
    app.reply(&case1, "which version?").await;
    let cat = s(&app.case(&case1).await["customer_id"]);
    set_email(&app, &cat, json!("cat@example.com")).await;
    let (session, csrf) = sign_in_by_mail(&app, &smtp, &account, "cat@example.com", 1).await;
    let close = format!("{account}/cases/{case1}/close");
    let (st, _, v) = h(&app, Method::POST, &close, Some(&session), None, None).await;
    assert_eq!(
        (st, s(&v["error"]["code"])),
        (StatusCode::FORBIDDEN, "csrf".into())
    );
    let (st, _, v) = h(
        &app,
        Method::POST,
        &close,
        Some(&session),
        Some("wrong"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, _, closed) = h(
        &app,
        Method::POST,
        &close,
        Some(&session),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        closed["chat_state"], "finished",
        "an active chat is finished too"
    );
    let case = app.case(&case1).await;
    assert_eq!(
        (s(&case["status"]), s(&case["chat_state"])),
        ("closed".into(), "finished".into())
    );
    let events: Vec<_> = app
        .events(&case1)
        .await
        .iter()
        .map(|e| s(&e["kind"]))
        .collect();
    assert!(
        events.iter().any(|k| k == "closed_by_customer"),
        "{events:?}"
    );
    let (st, _, v) = h(
        &app,
        Method::POST,
        &close,
        Some(&session),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(
        (st, s(&v["error"]["code"])),
        (StatusCode::CONFLICT, "already_closed".into())
    );
    // Her next message starts a new case, chained to the closed one (R6 d).
    let next = app.customer_says("cat", "c2", "it crashes again").await;
    let case2 = s(&next["case_id"]);
    assert_ne!(case2, case1);
    assert_eq!(app.case(&case2).await["previous_case_id"], case1);
    assert_eq!(
        app.case(&case1).await["status"],
        "closed",
        "the closed case stays closed"
    );
    let (_, _, list) = h(
        &app,
        Method::GET,
        &format!("{account}/cases"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(case_ids(&list), [case2, case1]);
    app.stop().await;
}

async fn help_center_refuses_bad_input_and_strangers(backend: Backend) {
    let (app, smtp) = with_mail(backend).await;
    let account = account_id(&app).await;
    // `/help` of a one-company server is its Help Center; unknown ones are 404.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirect
        .get(format!("{}/help", app.base))
        .send()
        .await
        .expect("help");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        format!("/help/{account}").as_str()
    );
    let page = app
        .http
        .get(format!("{}/help/{account}", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("script-src 'self'")
    );
    let page = app
        .http
        .get(format!("{}/help/nope", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let (st, _, info) = h(&app, Method::GET, &account, None, None, None).await;
    assert_eq!(st, StatusCode::OK, "{info}");
    assert!(!s(&info["name"]).is_empty());
    let (st, _, _) = h(
        &app,
        Method::POST,
        "nope/sign-in",
        None,
        None,
        Some(json!({"email": "a@b.c"})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Bad bodies.
    let url = format!("{}/api/v1/help/{account}/sign-in", app.base);
    let resp = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![b'{', 0xff, b'}'])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    for body in [
        json!({"email": "nobody"}),
        json!({"email": 5}),
        json!({"email": "a@b.c", "extra": 1}),
    ] {
        let (st, _, v) = h(
            &app,
            Method::POST,
            &format!("{account}/sign-in"),
            None,
            None,
            Some(body.clone()),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    // Links: unknown, oversized, or of another Help Center.
    for token in ["", "00", &"f".repeat(5000)] {
        let (st, _, v) = h(
            &app,
            Method::POST,
            &format!("{account}/session"),
            None,
            None,
            Some(json!({"token": token})),
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    }
    let first = app.customer_says("dan", "d1", "hi").await;
    let dan = s(&app.case(&s(&first["case_id"])).await["customer_id"]);
    set_email(&app, &dan, json!("dan@example.com")).await;
    let (session, _) = sign_in_by_mail(&app, &smtp, &account, "dan@example.com", 1).await;
    for path in ["nope/me".to_owned(), "nope/cases".to_owned()] {
        let (st, _, _) = h(&app, Method::GET, &path, Some(&session), None, None).await;
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "a session is for its own Help Center: {path}"
        );
    }
    for cookie in [None, Some("garbage"), Some(&"a".repeat(300)[..])] {
        let (st, _, _) = h(
            &app,
            Method::GET,
            &format!("{account}/cases"),
            cookie,
            None,
            None,
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    // An agent's bearer token is not a Help Center session.
    let resp = app
        .http
        .get(format!("{}/api/v1/help/{account}/cases", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (st, _, _) = h(
        &app,
        Method::GET,
        &format!("{account}/cases/unknown-id"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Limits: three links per address per 15 minutes (dan has used one).
    for _ in 0..2 {
        let (st, _, _) = ask_link(&app, &account, json!({"email": "dan@example.com"})).await;
        assert_eq!(st, StatusCode::ACCEPTED);
    }
    let (st, headers, v) = ask_link(&app, &account, json!({"email": "dan@example.com"})).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(headers.contains_key("retry-after"));
    // An unknown address is limited alike (the limit tells nothing).
    for _ in 0..3 {
        ask_link(&app, &account, json!({"email": "eve@example.com"})).await;
    }
    let (st, _, _) = ask_link(&app, &account, json!({"email": "eve@example.com"})).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(smtp.nth(3).await.to, ["dan@example.com"]);
    assert_eq!(smtp.count(), 3, "no mail past the limit, none for eve");

    // A mailing server must know its public address (links never take the
    // request's Host header).
    let store = app.db.open().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let refused = casedesk_server::serve(
        listener,
        store,
        casedesk_server::Config {
            smtp_url: Some(smtp.url.clone()),
            ..Default::default()
        },
        async {},
    )
    .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("CASEDESK_PUBLIC_URL")),
        "{refused:?}"
    );
    app.stop().await;
}

async fn widget_link_and_signed_email_open_the_help_center(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let account = account_id(&app).await;
    let (ch, secret) = app.widget_channel(&[]).await;
    // An e-mail comes only signed, together with the user id.
    let only_id = casedesk_server::channels::widget::user_hash(&secret, "u-1");
    for (body, want) in [
        (
            json!({"user_id": "u-1", "user_hash": only_id, "email": "u1@example.com"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"email": "u1@example.com"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": "u-1", "user_hash": casedesk_server::channels::widget::user_hash(&secret, "u-1\nbad"), "email": "bad"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (st, v) = widget(
            &app,
            Method::POST,
            &format!("{ch}/visitors"),
            None,
            Some(body.clone()),
        )
        .await;
        assert_eq!(st, want, "{body}: {v}");
    }
    // Two anonymous visitors; each link opens only its own visitor's cases.
    let mut visitors = Vec::new();
    for text in ["first visitor", "second visitor"] {
        let token = app.new_visitor(&ch).await;
        let (st, posted) = widget(
            &app,
            Method::POST,
            &format!("{ch}/messages"),
            Some(&token),
            Some(json!({"text": text})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        visitors.push((token, s(&posted["message"]["case_id"])));
    }
    let (st, link) = widget(
        &app,
        Method::POST,
        &format!("{ch}/help-link"),
        Some(&visitors[0].0),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{link}");
    let url = s(&link["url"]);
    assert!(
        url.starts_with(&format!("{}/help/{account}#login=", app.base)),
        "{url}"
    );
    let token = url.rsplit("#login=").next().expect("token").to_owned();
    let (session, csrf) = open_session(&app, &account, &token).await;
    let (_, _, list) = h(
        &app,
        Method::GET,
        &format!("{account}/cases"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(case_ids(&list), [visitors[0].1.clone()]);
    let (st, _, _) = h(
        &app,
        Method::GET,
        &format!("{account}/cases/{}", visitors[1].1),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Closing in the Help Center; the visitor's next message is a new case.
    let (st, _, _) = h(
        &app,
        Method::POST,
        &format!("{account}/cases/{}/close", visitors[0].1),
        Some(&session),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (_, posted) = widget(
        &app,
        Method::POST,
        &format!("{ch}/messages"),
        Some(&visitors[0].0),
        Some(json!({"text": "one more thing"})),
    )
    .await;
    assert_eq!(s(&posted["outcome"]), "created", "{posted}");
    assert_ne!(s(&posted["message"]["case_id"]), visitors[0].1);
    // Without a visitor token there is no link.
    let (st, _) = widget(&app, Method::POST, &format!("{ch}/help-link"), None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// An agent revokes a customer's sign-ins: the widget token and the Help
/// Center session stop working at once; the history stays.
async fn an_agent_revokes_a_customers_sign_ins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let account = account_id(&app).await;
    let (ch, _) = app.widget_channel(&[]).await;
    let visitor = app.new_visitor(&ch).await;
    let (_, posted) = widget(
        &app,
        Method::POST,
        &format!("{ch}/messages"),
        Some(&visitor),
        Some(json!({"text": "hi"})),
    )
    .await;
    let case_id = s(&posted["message"]["case_id"]);
    let (_, link) = widget(
        &app,
        Method::POST,
        &format!("{ch}/help-link"),
        Some(&visitor),
        None,
    )
    .await;
    let token = s(&link["url"])
        .rsplit("#login=")
        .next()
        .expect("token")
        .to_owned();
    let (session, _) = open_session(&app, &account, &token).await;
    let customer = s(&app.case(&case_id).await["customer_id"]);
    let mut stream = app
        .http
        .get(format!("{}/api/v1/widget/{ch}/events", app.base))
        .bearer_auth(&visitor)
        .send()
        .await
        .expect("widget stream");
    assert_eq!(stream.status(), StatusCode::OK);
    let (st, v) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/customers/{customer}/sessions"),
            None,
        )
        .await;
    assert_eq!(
        (st, v["revoked"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{v}"
    );
    // The visitor's open event stream ends with the revocation.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the widget stream outlived its revoked token"
    );
    let (st, _) = widget(
        &app,
        Method::GET,
        &format!("{ch}/messages"),
        Some(&visitor),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _, _) = h(
        &app,
        Method::GET,
        &format!("{account}/cases"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.messages(&case_id).await.len(),
        1,
        "the conversation stays"
    );
    let (st, _) = app
        .call(Method::DELETE, "/api/v1/customers/nope/sessions", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// Behind a proxy, limits count each client address the proxy names; a
/// visitor holds at most eight event streams.
async fn limits_per_client_address_and_open_streams(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config, _| {
        config.client_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    let account = account_id(&app).await;
    let sign_in = |ip: &'static str, n: usize| {
        app.http
            .post(format!("{}/api/v1/help/{account}/sign-in", app.base))
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .json(&json!({ "email": format!("p{n}@example.com") }))
            .send()
    };
    for n in 0..20 {
        assert_eq!(
            sign_in("10.0.0.1", n).await.expect("send").status(),
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(
        sign_in("10.0.0.1", 99).await.expect("send").status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the 21st request of one address in 15 minutes"
    );
    assert_eq!(
        sign_in("10.0.0.2", 100).await.expect("send").status(),
        StatusCode::ACCEPTED,
        "another client behind the same proxy is not held back"
    );

    let (ch, _) = app.widget_channel(&[]).await;
    let token = app.new_visitor(&ch).await;
    let url = format!("{}/api/v1/widget/{ch}/events?token={token}", app.base);
    let mut streams = Vec::new();
    for _ in 0..8 {
        let resp = app.http.get(&url).send().await.expect("stream");
        assert_eq!(resp.status(), StatusCode::OK);
        streams.push(resp);
    }
    let resp = app.http.get(&url).send().await.expect("stream");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    drop(streams);
    app.stop().await;
}

/// A visitor token unused for 180 days stops working; one in use is kept
/// alive (its last-seen day is written at most daily).
async fn idle_visitor_tokens_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ch, _) = app.widget_channel(&[]).await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        tokens.push(app.new_visitor(&ch).await);
    }
    let hashes: Vec<String> = tokens
        .iter()
        .map(|t| casedesk_server::util::sha256_hex(t))
        .collect();
    let now = app.now();
    let (stale, used) = (hashes[0].clone(), hashes[1].clone());
    let store = app.db.open().await;
    casedesk_store::write::<_, casedesk_store::StoreError, _>(&*store, move |tx| {
        Box::pin(async move {
            tx.touch_visitor(&stale, now - chrono::Duration::days(181))
                .await?;
            tx.touch_visitor(&used, now - chrono::Duration::days(2))
                .await
        })
    })
    .await
    .expect("age the tokens");
    let (st, _) = widget(
        &app,
        Method::GET,
        &format!("{ch}/messages"),
        Some(&tokens[0]),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "idle for 181 days");
    let (st, _) = widget(
        &app,
        Method::GET,
        &format!("{ch}/messages"),
        Some(&tokens[1]),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "idle for 2 days");
    let used = hashes[1].clone();
    let seen = casedesk_store::read::<_, casedesk_store::StoreError, _>(&*store, move |tx| {
        Box::pin(async move { tx.find_visitor(&used).await })
    })
    .await
    .expect("visitor")
    .expect("found");
    assert!(
        now - seen.last_seen_at < chrono::Duration::hours(1),
        "use moved it"
    );
    store.close().await;
    app.stop().await;
}

async fn linked_profiles_are_one_person_for_agents_and_the_help_center(backend: Backend) {
    let (app, smtp) = with_mail(backend).await;
    let account = account_id(&app).await;
    // Ann writes from her messenger (no address known there) and, as
    // another profile, from the address the Help Center knows.
    let chat = s(&app.customer_says("ann-tg", "m1", "parcel late").await["case_id"]);
    let letter = s(&app.customer_says("ann-mail", "m2", "invoice?").await["case_id"]);
    let tg = s(&app.case(&chat).await["customer_id"]);
    let mail = s(&app.case(&letter).await["customer_id"]);
    assert_eq!(
        set_email(&app, &mail, json!("ann@example.com")).await.0,
        StatusCode::OK
    );

    let (st, linked) = app
        .call(
            Method::POST,
            &format!("/api/v1/customers/{tg}/links"),
            Some(json!({"customer_id": mail})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{linked}");
    assert_eq!(linked["linked"][0]["id"], mail.as_str());
    let person = s(&linked["person_id"]);
    let other = app
        .ok(Method::GET, &format!("/api/v1/customers/{mail}"), None)
        .await;
    assert_eq!(other["person_id"], person.as_str());
    assert_eq!(other["linked"][0]["id"], tg.as_str(), "both ways: {other}");

    // Signed in by her address, she sees the messenger case too.
    let (session, _) = sign_in_by_mail(&app, &smtp, &account, "ann@example.com", 1).await;
    let (st, _, list) = h(
        &app,
        Method::GET,
        &format!("{account}/cases"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let mut ids = case_ids(&list);
    ids.sort();
    let mut both = vec![chat.clone(), letter.clone()];
    both.sort();
    assert_eq!(ids, both);

    // Unlinked, the messenger profile is its own person again.
    let (st, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/customers/{tg}/links"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, _, list) = h(
        &app,
        Method::GET,
        &format!("{account}/cases"),
        Some(&session),
        None,
        None,
    )
    .await;
    assert_eq!(case_ids(&list), std::slice::from_ref(&letter));
    let other = app
        .ok(Method::GET, &format!("/api/v1/customers/{mail}"), None)
        .await;
    assert_eq!(other["linked"], json!([]));

    // Refusals.
    let (st, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/customers/{tg}/links"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "linked to none");
    for (body, want) in [
        (json!({"customer_id": tg}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"customer_id": "no-such-customer"}),
            StatusCode::NOT_FOUND,
        ),
        (json!({"customer": mail}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (st, v) = app
            .call(
                Method::POST,
                &format!("/api/v1/customers/{tg}/links"),
                Some(body),
            )
            .await;
        assert_eq!(st, want, "{v}");
    }
    app.stop().await;
}
