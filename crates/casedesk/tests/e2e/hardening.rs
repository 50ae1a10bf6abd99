//! Hostile and clumsy clients (issue 21): text the databases cannot hold,
//! logins that would exhaust memory or lock people out, sessions that must
//! end, streams and connections that must not pile up, leftovers of a
//! crash.

use std::time::Duration;

use casedesk_server::clock::ManualClock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Database, Server, TestApp, s};
use crate::on_both;

on_both!(
    nul_and_bad_utf8_are_refused_alike,
    logins_are_throttled_per_address_and_email,
    parallel_logins_stay_within_a_fixed_memory,
    ending_sessions_disabling_and_deleting_agents,
    agent_event_streams_are_capped_and_end_with_the_session,
    idle_and_slow_connections_are_cut_off,
    abandoned_uploads_are_swept_at_start,
    mailed_links_never_come_from_the_host_header,
);

fn field_error(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn nul_and_bad_utf8_are_refused_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let case = app.customer_says("ann", "m1", "hello").await;
    let case_id = s(&case["case_id"]);
    let nul = "a\u{0}b";
    // Unauthenticated and authenticated bodies alike: 422 naming the field.
    let (st, v) = app
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": nul, "password": "whatever-long"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(field_error(&v).contains("`email`"), "{v}");
    for (body, field) in [
        (
            json!({"type": "message", "message_id": "m2", "customer": {"id": "ann"}, "text": nul}),
            "`text`",
        ),
        (
            json!({"type": "message", "message_id": "m3", "customer": {"id": nul}, "text": "x"}),
            "`customer.id`",
        ),
        (
            json!({"type": "message", "message_id": nul, "customer": {"id": "ann"}, "text": "x"}),
            "`message_id`",
        ),
        (
            json!({"type": "reaction", "customer": {"id": "ann"}, "target_message_id": "m1", "emoji": nul}),
            "`emoji`",
        ),
    ] {
        let (st, v) = app.inbound(body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(field_error(&v).contains(field), "{field}: {v}");
    }
    for (method, path, body, field) in [
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/messages"),
            json!({"text": nul, "kind": "reply"}),
            "`text`",
        ),
        (
            Method::PATCH,
            format!("/api/v1/cases/{case_id}"),
            json!({"subject": nul}),
            "`subject`",
        ),
        (
            Method::POST,
            "/api/v1/channels".to_owned(),
            json!({"kind": "api", "name": nul}),
            "`name`",
        ),
        (
            Method::POST,
            "/api/v1/agents".to_owned(),
            json!({"email": "x@example.com", "name": nul, "password": "long-enough"}),
            "`name`",
        ),
    ] {
        let (st, v) = app.call(method, &path, Some(body)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert!(field_error(&v).contains(field), "{path}: {v}");
    }
    // The widget and the Help Center, unauthenticated.
    let (ch, _) = app.widget_channel(&[]).await;
    let visitor = app.new_visitor(&ch).await;
    let (st, v) = app.visitor_posts(&ch, &visitor, json!({"text": nul})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let me = app.ok(Method::GET, "/api/v1/me", None).await;
    let (st, v) = app
        .raw(
            Method::POST,
            &format!("/api/v1/help/{}/sign-in", s(&me["account_id"])),
            None,
            Some(json!({"email": nul})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // NUL in the query and in a path id; invalid UTF-8 in the query.
    let (st, v) = app.call(Method::GET, "/api/v1/cases?q=a%00b", None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(field_error(&v).contains("`q`"), "{v}");
    let (st, v) = app.call(Method::GET, "/api/v1/cases/ab%00cd", None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = app.call(Method::GET, "/api/v1/cases?q=%FF%FE", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(field_error(&v).contains("UTF-8"), "{v}");
    // A backslash followed by the letters u0000 is ordinary text.
    let (st, v) = app
        .inbound(
            json!({"type": "message", "message_id": "m4", "customer": {"id": "ann"},
            "text": "C:\\u0000 is a path"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // Nothing was lost or half-stored: the case holds the two good messages.
    let texts: Vec<String> = app
        .messages(&case_id)
        .await
        .iter()
        .map(|m| s(&m["text"]))
        .collect();
    assert_eq!(texts, ["hello", "C:\\u0000 is a path"]);
    app.stop().await;
}

/// A login from `client` (as a proxy reports it in X-Forwarded-For).
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> StatusCode {
    app.http
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", client)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login sent")
        .status()
}

async fn logins_are_throttled_per_address_and_email(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config, _| {
        config.client_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    let admin = app.ok(Method::GET, "/api/v1/me", None).await;
    // An attacker at 203.0.113.9 fails five times on the admin's e-mail.
    for _ in 0..5 {
        let st = login_from(&app, "203.0.113.9", ADMIN_EMAIL, "wrong-password").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_from(&app, "203.0.113.9", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address is throttled for this e-mail"
    );
    // The admin, at their own address, still gets in.
    assert_eq!(
        login_from(&app, "198.51.100.7", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::OK
    );
    // One address trying many e-mails is throttled whatever the e-mail.
    for i in 0..20 {
        let st = login_from(
            &app,
            "192.0.2.50",
            &format!("guess{i}@example.com"),
            "nope-nope",
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    assert_eq!(
        login_from(&app, "192.0.2.50", "another@example.com", "nope-nope").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // IPv6 clients count by their /64.
    for i in 0..20 {
        let ip = format!("2001:db8:1:2::{i:x}");
        login_from(&app, &ip, &format!("v6-{i}@example.com"), "nope-nope").await;
    }
    assert_eq!(
        login_from(&app, "2001:db8:1:2::ffff", "v6@example.com", "nope-nope").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // An admin clears the throttle on the agent's e-mail.
    let (st, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/agents/{}/login-throttle", s(&admin["id"])),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        login_from(&app, "203.0.113.9", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::OK
    );
    app.stop().await;
}

/// Peak resident memory of this process (the test binary holds the server).
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

async fn parallel_logins_stay_within_a_fixed_memory(backend: Backend) {
    // Each login from its own address, so that the per-address throttle
    // does not turn them away before they reach the hashing pool.
    let app = TestApp::spawn_with(backend, |config, _| {
        config.client_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    let before = peak_rss_bytes();
    // Each argon2 hash holds ~19 MiB: 300 at once were 5+ GiB before the
    // hashing pool; now a few run at a time and the rest wait or are told
    // to retry.
    let logins = (0..300).map(|i| {
        let http = app.http.clone();
        let url = format!("{}/api/v1/auth/login", app.base);
        async move {
            let r = http
                .post(url)
                .header("x-forwarded-for", format!("10.{}.{}.1", i / 250, i % 250))
                .json(&json!({"email": format!("nobody{i}@example.com"), "password": "wrong-password"}))
                .send()
                .await
                .expect("login sent");
            let retry = r.headers().contains_key("retry-after");
            (r.status(), retry)
        }
    });
    let answers = futures::future::join_all(logins).await;
    for (status, retry) in &answers {
        assert!(
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(status),
            "{status}"
        );
        if *status != StatusCode::UNAUTHORIZED {
            assert!(retry, "{status} without Retry-After");
        }
    }
    assert!(
        answers
            .iter()
            .any(|(st, _)| *st == StatusCode::SERVICE_UNAVAILABLE),
        "300 logins at once overflow the hashing queue"
    );
    // Two hashing threads, each reusing its ~19 MiB: a few tens of MiB,
    // with room for the tests running beside this one.
    let grown = peak_rss_bytes().saturating_sub(before);
    assert!(grown < 384 << 20, "peak memory grew by {} MiB", grown >> 20);
    // The server still answers logins.
    assert_eq!(
        login_from(&app, "192.0.2.1", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::OK
    );
    app.stop().await;
}

async fn ending_sessions_disabling_and_deleting_agents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let agent = app
        .ok(
            Method::POST,
            "/api/v1/agents",
            Some(json!({"email": "ada@example.com", "name": "Ada", "password": "first-password"})),
        )
        .await;
    let id = s(&agent["id"]);
    let me = |token: String| {
        let app = &app;
        async move {
            app.raw(Method::GET, "/api/v1/me", Some(&token), None)
                .await
                .0
        }
    };
    // A new password ends every token the agent had.
    let (a, b) = (
        app.login("ada@example.com", "first-password").await,
        app.login("ada@example.com", "first-password").await,
    );
    let v = app
        .ok(
            Method::PUT,
            &format!("/api/v1/agents/{id}/password"),
            Some(json!({"password": "second-password"})),
        )
        .await;
    assert_eq!(v["ended_sessions"], 2);
    assert_eq!(me(a).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(b).await, StatusCode::UNAUTHORIZED);
    // An agent may set their own password, knowing the current one, and
    // not another's.
    let c = app.login("ada@example.com", "second-password").await;
    let admin_id = s(&app.ok(Method::GET, "/api/v1/me", None).await["id"]);
    let (st, _) = app
        .raw(
            Method::PUT,
            &format!("/api/v1/agents/{admin_id}/password"),
            Some(&c),
            Some(json!({"password": "taken-over!"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let own = format!("/api/v1/agents/{id}/password");
    for current in [None, Some("not-my-password")] {
        let (st, v) = app
            .raw(
                Method::PUT,
                &own,
                Some(&c),
                Some(json!({"password": "taken-over!", "current_password": current})),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    }
    let (st, v) = app
        .raw(
            Method::PUT,
            &own,
            Some(&c),
            Some(json!({"password": "third-password", "current_password": "second-password"})),
        )
        .await;
    assert_eq!(
        (st, v["ended_sessions"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{v}"
    );
    assert_eq!(
        me(c).await,
        StatusCode::UNAUTHORIZED,
        "the own session ends too"
    );
    app.ok(
        Method::PUT,
        &own,
        Some(json!({"password": "second-password"})),
    )
    .await;
    let c = app.login("ada@example.com", "second-password").await;
    // The admin ends the agent's sessions.
    let v = app
        .ok(
            Method::DELETE,
            &format!("/api/v1/agents/{id}/sessions"),
            None,
        )
        .await;
    assert_eq!(v["ended_sessions"], 1);
    assert_eq!(me(c).await, StatusCode::UNAUTHORIZED);
    // Disabled: no login, no session; enabled again: both work.
    let d = app.login("ada@example.com", "second-password").await;
    let v = app
        .ok(
            Method::PATCH,
            &format!("/api/v1/agents/{id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(v["disabled"], true);
    assert_eq!(me(d).await, StatusCode::UNAUTHORIZED);
    let (st, v) = app
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "second-password"})),
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("agent_disabled"))
    );
    app.ok(
        Method::PATCH,
        &format!("/api/v1/agents/{id}"),
        Some(json!({"disabled": false})),
    )
    .await;
    let e = app.login("ada@example.com", "second-password").await;
    assert_eq!(me(e.clone()).await, StatusCode::OK);
    // An admin cannot lock themselves out.
    for (method, body) in [
        (Method::PATCH, Some(json!({"disabled": true}))),
        (Method::PATCH, Some(json!({"role": "agent"}))),
        (Method::DELETE, None),
    ] {
        let (st, v) = app
            .call(method, &format!("/api/v1/agents/{admin_id}"), body)
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{v}");
    }
    // Deleted: gone from the list, signed out, the e-mail free again.
    let (st, _) = app
        .call(Method::DELETE, &format!("/api/v1/agents/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(me(e).await, StatusCode::UNAUTHORIZED);
    let listed = app.ok(Method::GET, "/api/v1/agents", None).await;
    assert!(
        listed["items"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["id"] != id.as_str())),
        "{listed}"
    );
    let (st, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/agents/{id}"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let again = app
        .ok(
            Method::POST,
            "/api/v1/agents",
            Some(json!({"email": "ada@example.com", "password": "third-password"})),
        )
        .await;
    assert_ne!(again["id"], id.as_str());
    app.stop().await;
}

/// Opens the agent event stream with `token`; the response once headers came.
async fn open_stream(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("stream request")
}

async fn agent_event_streams_are_capped_and_end_with_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.ok(
        Method::POST,
        "/api/v1/agents",
        Some(json!({"email": "bo@example.com", "password": "bo-password"})),
    )
    .await;
    let token = app.login("bo@example.com", "bo-password").await;
    let mut open = Vec::new();
    for _ in 0..16 {
        let r = open_stream(&app, &token).await;
        assert_eq!(r.status(), StatusCode::OK);
        open.push(r);
    }
    let r = open_stream(&app, &token).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    // Closing one frees its place.
    drop(open.pop());
    let mut freed = None;
    for _ in 0..50 {
        let r = open_stream(&app, &token).await;
        if r.status() == StatusCode::OK {
            freed = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed.is_some(), "a closed stream never gave its place back");
    // Logging out ends this login's open streams at once (well before the
    // periodic check).
    let mut stream = open.pop().expect("an open stream");
    let (st, _) = app
        .raw(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived its session");
    app.stop().await;
}

async fn idle_and_slow_connections_are_cut_off(backend: Backend) {
    let db = Database::fresh(backend).await;
    let server = Server::start_with(&db, &ManualClock::starting_now().into(), |config, _| {
        config.limits.max_connections = 4;
        config.limits.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // Four clients hold every slot: one says nothing, three send half a
    // request's headers.
    let mut idle = Vec::new();
    for i in 0..4 {
        let mut c = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        if i > 0 {
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("write");
        }
        idle.push(c);
    }
    // The server closes each of them by itself.
    for mut c in idle {
        let mut buf = [0u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match c.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "an idle connection was held open");
    }
    // And then serves others.
    let r = reqwest::get(format!("{}/healthz", server.base))
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
    server.stop().await;
}

async fn abandoned_uploads_are_swept_at_start(backend: Backend) {
    let db = Database::fresh(backend).await;
    let tmp = db.files.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    let abandoned = tmp.join("cut-off-upload");
    std::fs::write(&abandoned, b"half a file").expect("write");
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&abandoned)
        .and_then(|f| f.set_modified(old))
        .expect("age the file");
    let in_flight = tmp.join("uploading-elsewhere");
    std::fs::write(&in_flight, b"being written").expect("write");
    let server = Server::start(&db, &ManualClock::starting_now().into()).await;
    // The listener is bound already: this waits until the server serves.
    let r = reqwest::get(format!("{}/healthz", server.base))
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!abandoned.exists(), "a crash's partial upload was kept");
    assert!(in_flight.exists(), "a fresh upload was removed");
    server.stop().await;
}

/// What the servers of this test binary log, for the tests that read it.
static LOG: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut log) = LOG.lock() {
            log.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_mail_log() {
    // Once per process; the second backend's run finds it installed.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "casedesk_server::workers::mail=info",
        ))
        .with_writer(|| LogWriter)
        .with_ansi(false)
        .try_init();
}

async fn mailed_links_never_come_from_the_host_header(backend: Backend) {
    capture_mail_log();
    // No public URL and no SMTP server: the sign-in mail goes to the log.
    let app = TestApp::spawn(backend).await;
    let email = format!("host-{}@example.com", backend_name(backend));
    let case = app.customer_says("hosted", "h1", "hello").await;
    let customer = s(&app.case(&s(&case["case_id"])).await["customer_id"]);
    app.ok(
        Method::PATCH,
        &format!("/api/v1/customers/{customer}"),
        Some(json!({"email": email})),
    )
    .await;
    let account = s(&app.ok(Method::GET, "/api/v1/me", None).await["account_id"]);
    let r = app
        .http
        .post(format!("{}/api/v1/help/{account}/sign-in", app.base))
        .header("host", "evil.example")
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": email}))
        .send()
        .await
        .expect("sign-in sent");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mut mail = String::new();
    for _ in 0..100 {
        let log = String::from_utf8_lossy(&LOG.lock().map(|l| l.clone()).unwrap_or_default())
            .into_owned();
        // The event's message (the mail) comes before its fields.
        if let Some(at) = log.find(&format!("to={email}")) {
            let start = log[..at].rfind("no SMTP server configured").unwrap_or(0);
            mail = log[start..at].to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(mail.contains("#login="), "no sign-in mail logged: {mail}");
    assert!(!mail.contains("evil.example"), "{mail}");
    assert!(
        mail.contains(&format!("{}/help/{account}#login=", app.base)),
        "the link is on the server's own address: {mail}"
    );
    app.stop().await;
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}
