//! E-mail channels fetching from a real IMAP server: Debian's Dovecot,
//! started on loopback by `scripts/test` (scripts/imap-server), with a
//! mailbox of its own per test. Letters are put into it with IMAP APPEND.

use std::time::Duration;

use futures::TryStreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    letters_come_from_imap_once_across_a_restart,
    a_mailbox_that_cannot_be_read_says_why,
);

const PASSWORD: &str = "imap-test-password";

/// The test IMAP server: `CASEDESK_TEST_IMAP` (host:port), which
/// `scripts/test` sets after starting Dovecot. Never skipped.
fn server() -> (String, u16) {
    let at = std::env::var("CASEDESK_TEST_IMAP").unwrap_or_else(|_| {
        panic!(
            "CASEDESK_TEST_IMAP is not set: the e-mail tests need an IMAP server; run \
             scripts/test, which starts Dovecot (scripts/imap-server start)"
        )
    });
    let (host, port) = at
        .rsplit_once(':')
        .expect("CASEDESK_TEST_IMAP is host:port");
    (host.to_owned(), port.parse().expect("a port"))
}

/// A mailbox of this test's own on the IMAP server.
struct TestMailbox {
    user: String,
}

type Session = async_imap::Session<tokio::net::TcpStream>;

impl TestMailbox {
    fn new() -> TestMailbox {
        TestMailbox {
            user: format!("t{}", casedesk_server::util::new_id()),
        }
    }

    async fn session(&self) -> Session {
        let (host, port) = server();
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .expect("the test IMAP server answers");
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.expect("greeting");
        client
            .login(&self.user, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("login")
    }

    /// Puts a letter into the INBOX, as delivery would (`seen`: as if read).
    async fn deliver(&self, raw: &str, seen: bool) {
        let mut s = self.session().await;
        s.append("INBOX", seen.then_some("(\\Seen)"), None, raw.as_bytes())
            .await
            .expect("append");
        s.logout().await.expect("logout");
    }

    /// The UIDs of letters marked read.
    async fn seen(&self) -> Vec<u32> {
        let mut s = self.session().await;
        s.select("INBOX").await.expect("select");
        let fetched: Vec<_> = s
            .uid_fetch("1:*", "(UID FLAGS)")
            .await
            .expect("fetch")
            .try_collect()
            .await
            .expect("fetched");
        let seen = fetched
            .iter()
            .filter(|f| f.flags().any(|fl| fl == async_imap::types::Flag::Seen))
            .filter_map(|f| f.uid)
            .collect();
        s.logout().await.expect("logout");
        seen
    }
}

fn letter(id: &str, subject: &str, body: &str) -> String {
    format!(
        "From: Ann Lee <ann@shop.example>\r\nTo: support@desk.example\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

async fn email_channel(app: &TestApp, imap: Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/api/v1/channels",
        Some(
            json!({"kind": "email", "name": "Support", "address": "support@desk.example",
                    "imap": imap}),
        ),
    )
    .await
}

async fn subjects(app: &TestApp, channel: &str) -> Vec<String> {
    app.list(&format!("channel_id={channel}&sort=created_at&order=asc"))
        .await
        .iter()
        .map(|c| s(&c["subject"]))
        .collect()
}

async fn letters_come_from_imap_once_across_a_restart(backend: Backend) {
    let (host, port) = server();
    let mailbox = TestMailbox::new();
    // Read before casedesk was connected: left alone. Unread: fetched.
    mailbox
        .deliver(&letter("old@shop.example", "Old news", "done"), true)
        .await;
    mailbox
        .deliver(&letter("a@shop.example", "Kettle", "It leaks."), false)
        .await;
    let mut app = TestApp::spawn(backend).await;
    let (status, channel) = email_channel(
        &app,
        json!({"host": host, "port": port, "security": "none", "user": mailbox.user,
               "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    assert_eq!(channel["email"]["imap"]["folder"], "INBOX");
    assert!(!channel.to_string().contains(PASSWORD), "{channel}");
    let id = s(&channel["id"]);
    let token = s(&channel["inbound_token"]);
    app.run_due_work().await;
    assert_eq!(subjects(&app, &id).await, ["Kettle"]);
    assert_eq!(mailbox.seen().await, [1, 2], "marked read once stored");

    // The same letter through the MIME endpoint as well: one message.
    let resp = app
        .http
        .post(format!("{}/api/v1/channels/{id}/inbound/mime", app.base))
        .bearer_auth(&token)
        .body(letter("a@shop.example", "Kettle", "It leaks."))
        .send()
        .await
        .expect("posted");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "duplicate");

    // One letter before a restart, one while the server is down.
    mailbox
        .deliver(&letter("b@shop.example", "Invoice", "Where?"), false)
        .await;
    app.run_due_work().await;
    app.restart(Duration::from_secs(60)).await;
    mailbox
        .deliver(&letter("c@shop.example", "Refund", "Please."), false)
        .await;
    app.run_due_work().await;
    app.run_due_work().await;
    assert_eq!(
        subjects(&app, &id).await,
        ["Kettle", "Invoice", "Refund"],
        "nothing missed, nothing repeated"
    );
    assert_eq!(mailbox.seen().await, [1, 2, 3, 4]);
    let updates = app
        .ok(Method::GET, &format!("/api/v1/channels/{id}/updates"), None)
        .await;
    assert_eq!(
        updates["items"].as_array().map(Vec::len),
        Some(3),
        "each letter stored once: {updates}"
    );
    app.stop().await;
}

async fn a_mailbox_that_cannot_be_read_says_why(backend: Backend) {
    let (host, port) = server();
    let app = TestApp::spawn(backend).await;
    let (status, channel) = email_channel(
        &app,
        json!({"host": host, "port": port, "security": "none", "user": "nobody-here",
               "password": "wrong"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let id = s(&channel["id"]);
    let (status, tested) = app
        .call(
            Method::POST,
            &format!("/api/v1/channels/{id}/email/test"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(tested["imap"]["ok"], false);
    assert!(
        s(&tested["imap"]["error"]).contains("refused the user or password"),
        "{tested}"
    );
    assert_eq!(tested["smtp"], Value::Null, "no SMTP server to test");

    // The admin fixes the login; a later change without the password keeps it.
    let mailbox = TestMailbox::new();
    mailbox
        .deliver(&letter("fixed@shop.example", "Fixed", "hello"), false)
        .await;
    for imap in [
        json!({"host": host, "port": port, "security": "none", "user": mailbox.user,
               "password": PASSWORD}),
        json!({"host": host, "port": port, "security": "none", "user": mailbox.user}),
    ] {
        let (status, patched) = app
            .call(
                Method::PATCH,
                &format!("/api/v1/channels/{id}"),
                Some(json!({ "imap": imap })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["email"]["imap"]["user"], mailbox.user.as_str());
        assert!(!patched.to_string().contains(PASSWORD));
        let (_, tested) = app
            .call(
                Method::POST,
                &format!("/api/v1/channels/{id}/email/test"),
                None,
            )
            .await;
        assert_eq!(tested["imap"]["ok"], true, "{tested}");
    }
    app.run_due_work().await;
    assert_eq!(
        subjects(&app, &id).await,
        ["Fixed"],
        "fetched with the new login"
    );
    let (status, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{}", app.channel_id),
            Some(json!({"address": "x@y.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "not an e-mail channel: {v}");
    let (status, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{id}"),
            Some(json!({"webhook_url": "https://hooks.example/x"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{id}"),
            Some(json!({"imap": null, "address": "Help@Desk.Example"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["email"]["imap"], Value::Null);
    assert_eq!(v["email"]["address"], "help@desk.example");
    // Nothing there at all: the connection is what fails.
    let (_, closed) = email_channel(
        &app,
        json!({"host": "127.0.0.1", "port": 9, "security": "none", "user": "u",
               "password": "p"}),
    )
    .await;
    let (_, tested) = app
        .call(
            Method::POST,
            &format!("/api/v1/channels/{}/email/test", s(&closed["id"])),
            None,
        )
        .await;
    assert!(
        s(&tested["imap"]["error"]).contains("could not be reached"),
        "{tested}"
    );
    // A folder that does not exist.
    let mailbox = TestMailbox::new();
    let (_, wrong_folder) = email_channel(
        &app,
        json!({"host": host, "port": port, "security": "none", "user": mailbox.user,
               "password": PASSWORD, "folder": "Nowhere"}),
    )
    .await;
    let (_, tested) = app
        .call(
            Method::POST,
            &format!("/api/v1/channels/{}/email/test", s(&wrong_folder["id"])),
            None,
        )
        .await;
    assert!(s(&tested["imap"]["error"]).contains("folder"), "{tested}");
    app.stop().await;
}
