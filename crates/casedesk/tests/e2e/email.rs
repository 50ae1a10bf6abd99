//! The e-mail channel through the real server, on both databases: raw
//! letters posted to the MIME endpoint become cases by R14 (threads by
//! In-Reply-To and by Outlook's References alone, the `[#n]` tag only from
//! the case's customer), each letter stored once, machine-sent mail kept
//! but opening nothing and answered by no rule, broken letters kept and
//! reported once; replies leave by SMTP (a loopback receiver) with their
//! threading headers and files.

use casedesk_mail::Letter;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;
use crate::smtp::FakeSmtp;

on_both!(
    a_letter_becomes_a_case_and_replies_thread_both_ways,
    the_case_tag_counts_only_from_the_cases_customer,
    machine_mail_opens_nothing_and_no_rule_answers_it,
    a_runaway_exchange_stops_at_the_hourly_limit,
    broken_letters_are_kept_and_reported_once,
    files_come_and_go_with_letters,
    the_mime_endpoint_refuses_what_it_must,
);

const OUR_ADDRESS: &str = "support@desk.example";

/// A server with an e-mail channel whose replies go to a loopback SMTP
/// receiver.
struct Mailbox {
    app: TestApp,
    smtp: FakeSmtp,
    channel: String,
    token: String,
}

impl Mailbox {
    async fn start(backend: Backend) -> Mailbox {
        let smtp = FakeSmtp::start().await;
        let app = TestApp::spawn(backend).await;
        let port: u16 = smtp
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("smtp port");
        let (status, channel) = app
            .call(
                Method::POST,
                "/api/v1/channels",
                Some(json!({
                    "kind": "email",
                    "name": "Shop support",
                    "address": " Support@Desk.Example ",
                    "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{channel}");
        assert_eq!(channel["email"]["address"], OUR_ADDRESS);
        assert_eq!(channel["email"]["smtp"]["password_set"], false);
        let id = s(&channel["id"]);
        assert!(
            s(&channel["email"]["inbound_mime_url"])
                .ends_with(&format!("/api/v1/channels/{id}/inbound/mime"))
        );
        Mailbox {
            token: s(&channel["inbound_token"]),
            channel: id,
            app,
            smtp,
        }
    }

    /// Posts a raw letter as a provider's webhook would.
    async fn post(&self, raw: &str) -> (StatusCode, Value) {
        self.post_as(&self.channel, &self.token, raw.as_bytes().to_vec())
            .await
    }

    async fn post_as(&self, channel: &str, token: &str, raw: Vec<u8>) -> (StatusCode, Value) {
        let resp = self
            .app
            .http
            .post(format!(
                "{}/api/v1/channels/{channel}/inbound/mime",
                self.app.base
            ))
            .bearer_auth(token)
            .header("content-type", "message/rfc822")
            .body(raw)
            .send()
            .await
            .expect("posted");
        let status = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Posts a letter and has the worker read it.
    async fn deliver(&self, raw: &str) {
        let (status, body) = self.post(raw).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        self.app.run_due_work().await;
    }

    async fn cases(&self) -> Vec<Value> {
        self.app
            .list(&format!(
                "channel_id={}&sort=created_at&order=asc&include_merged=true",
                self.channel
            ))
            .await
    }

    /// A rule that answers every customer letter.
    async fn acknowledge_every_letter(&self) {
        let (status, rule) = self
            .app
            .call(
                Method::POST,
                "/api/v1/rules",
                Some(json!({
                    "name": "Acknowledge",
                    "trigger": {"type": "customer_message"},
                    "conditions": [],
                    "actions": [{"type": "send_reply", "text": "We got your letter."}]
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{rule}");
    }

    async fn updates(&self, state: &str) -> Vec<Value> {
        self.app.channel_updates(&self.channel, state).await
    }

    /// The `n`-th letter sent (1-based), read back.
    async fn sent(&self, n: usize) -> (Vec<String>, Letter, String) {
        let mail = self.smtp.nth(n).await;
        let letter = Letter::parse(mail.data.as_bytes()).expect("a letter we can read");
        (mail.to.clone(), letter, mail.data)
    }
}

/// A plain-text letter; `extra` holds further header lines.
fn letter(from: &str, message_id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: {OUR_ADDRESS}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

const ANN: &str = "Ann Lee <ann@shop.example>";

fn header_of<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim())
}

async fn a_letter_becomes_a_case_and_replies_thread_both_ways(backend: Backend) {
    let m = Mailbox::start(backend).await;
    let first = letter(
        ANN,
        "k1@shop.example",
        "Re: Fwd: Broken kettle",
        "",
        "It leaks.",
    );
    let (status, body) = m.post(&first).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::ACCEPTED, Some("stored"))
    );
    let (status, again) = m.post(&first).await;
    assert_eq!(
        (status, again["status"].as_str(), &again["update_id"]),
        (StatusCode::ACCEPTED, Some("duplicate"), &Value::Null),
        "the same letter twice is stored once"
    );
    m.app.run_due_work().await;
    let cases = m.cases().await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0];
    let case_id = s(&case["id"]);
    assert_eq!(case["subject"], "Broken kettle", "without Re:/Fwd:");
    assert_eq!(case["status"], "open");
    assert_eq!(case["chat_state"], Value::Null, "a letter is no chat");
    let messages = m.app.messages(&case_id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "It leaks.");
    assert_eq!(messages[0]["letter"]["subject"], "Re: Fwd: Broken kettle");
    assert_eq!(messages[0]["letter"]["from"], "ann@shop.example");
    let customer = m
        .app
        .ok(
            Method::GET,
            &format!("/api/v1/customers/{}", s(&case["customer_id"])),
            None,
        )
        .await;
    assert_eq!(customer["email"], "ann@shop.example");
    assert_eq!(customer["name"], "Ann Lee");

    // The reply goes out by SMTP as a letter of the thread.
    let reply = m.app.reply(&case_id, "We will send a new one.").await;
    m.app.run_due_work().await;
    let (to, sent, raw) = m.sent(1).await;
    assert_eq!(to, ["ann@shop.example"]);
    let number = case["number"].as_i64().expect("number");
    assert_eq!(sent.subject, format!("Re: [#{number}] Broken kettle"));
    assert_eq!(sent.from.address, OUR_ADDRESS);
    assert_eq!(sent.text, "We will send a new one.");
    assert!(sent.html.is_some(), "text and HTML alternatives");
    assert_eq!(sent.thread_ids, ["k1@shop.example"]);
    assert_eq!(header_of(&raw, "In-Reply-To"), Some("<k1@shop.example>"));
    assert_eq!(header_of(&raw, "Auto-Submitted"), None, "a person's reply");
    let ours = sent.message_id.clone().expect("a Message-ID");
    assert!(ours.ends_with("@desk.example"), "{ours}");
    assert!(
        ours.starts_with(&s(&reply["id"])),
        "chosen when the reply was saved: {ours}"
    );
    let listed = m.app.messages(&case_id).await;
    assert_eq!(listed[1]["channel_message_id"], ours.as_str());
    assert_eq!(listed[1]["delivery"]["state"], "delivered");

    // Her answer threads by In-Reply-To into the same case.
    m.deliver(&letter(
        ANN,
        "k2@shop.example",
        "Re: [#1] Broken kettle",
        &format!("In-Reply-To: <{ours}>\r\nReferences: <k1@shop.example> <{ours}>\r\n"),
        "Thanks!",
    ))
    .await;
    assert_eq!(m.cases().await.len(), 1);
    assert_eq!(m.app.messages(&case_id).await.len(), 3);

    // Closed, then an Outlook reply carrying only References (and no tag):
    // it joins the case and opens it again.
    m.app
        .ok(
            Method::PATCH,
            &format!("/api/v1/cases/{case_id}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    m.deliver(&letter(
        ANN,
        "k3@shop.example",
        "AW: Kettle",
        &format!("References: <{ours}>\r\n"),
        "It leaks again.",
    ))
    .await;
    let cases = m.cases().await;
    assert_eq!(cases.len(), 1, "joined, not a new case: {cases:?}");
    assert_eq!(cases[0]["status"], "open", "a closed case is open again");
    let reopened = m.app.events(&case_id).await;
    assert!(
        reopened.iter().any(|e| e["kind"] == "reopened"),
        "{reopened:?}"
    );

    // A CC'd colleague answering the thread joins it too.
    m.deliver(&letter(
        "Bob <bob@shop.example>",
        "b1@shop.example",
        "Re: Broken kettle",
        "In-Reply-To: <k3@shop.example>\r\n",
        "Same here.",
    ))
    .await;
    assert_eq!(m.cases().await.len(), 1);

    // A new letter without a thread is a case of its own.
    m.deliver(&letter(
        ANN,
        "k4@shop.example",
        "Invoice",
        "",
        "Where is my invoice?",
    ))
    .await;
    let cases = m.cases().await;
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[1]["subject"], "Invoice");
    m.app.stop().await;
}

async fn the_case_tag_counts_only_from_the_cases_customer(backend: Backend) {
    let m = Mailbox::start(backend).await;
    m.deliver(&letter(ANN, "t1@shop.example", "Order 77", "", "Status?"))
        .await;
    let case = m.cases().await[0].clone();
    let number = case["number"].as_i64().expect("number");
    // Mallory quotes Ann's case number: a case of her own.
    m.deliver(&letter(
        "mallory@evil.example",
        "x1@evil.example",
        &format!("Re: [#{number}] Order 77"),
        "",
        "Let me in.",
    ))
    .await;
    let cases = m.cases().await;
    assert_eq!(cases.len(), 2, "another sender's tag opens a new case");
    assert_eq!(m.app.messages(&s(&case["id"])).await.len(), 1);
    // Ann's own letter with the tag and no headers joins her case.
    m.deliver(&letter(
        "ANN@Shop.Example",
        "t2@shop.example",
        &format!("[#{number}] Order 77 again"),
        "",
        "Any news?",
    ))
    .await;
    assert_eq!(m.cases().await.len(), 2);
    assert_eq!(m.app.messages(&s(&case["id"])).await.len(), 2);
    m.app.stop().await;
}

async fn machine_mail_opens_nothing_and_no_rule_answers_it(backend: Backend) {
    let m = Mailbox::start(backend).await;
    m.acknowledge_every_letter().await;
    m.deliver(&letter(
        ANN,
        "a1@shop.example",
        "Refund",
        "",
        "Please refund.",
    ))
    .await;
    let case_id = s(&m.cases().await[0]["id"]);
    let (_, ack, raw) = m.sent(1).await;
    assert_eq!(ack.text, "We got your letter.");
    assert_eq!(
        header_of(&raw, "Auto-Submitted"),
        Some("auto-replied"),
        "a rule's reply says it is automatic"
    );
    let ack_id = ack.message_id.expect("id");
    m.app
        .ok(
            Method::PATCH,
            &format!("/api/v1/cases/{case_id}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    // Her out-of-office answers the acknowledgement.
    m.deliver(&letter(
        ANN,
        "oof1@shop.example",
        "Automatic reply: Refund",
        &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{ack_id}>\r\n"),
        "I am away until Monday.",
    ))
    .await;
    // A bounce with no thread at all.
    m.deliver(&letter(
        "MAILER-DAEMON@mx.shop.example",
        "bounce1@mx.shop.example",
        "Undelivered Mail Returned to Sender",
        "",
        "The mail system could not deliver.",
    ))
    .await;
    let cases = m.cases().await;
    assert_eq!(
        cases[0]["status"], "closed",
        "an out-of-office reply opens nothing"
    );
    let messages = m.app.messages(&case_id).await;
    let oof = messages.last().expect("the out-of-office reply is kept");
    assert_eq!(oof["text"], "I am away until Monday.");
    assert!(
        s(&oof["letter"]["automatic"]).contains("auto-replied"),
        "{oof}"
    );
    assert_eq!(cases.len(), 2, "the bounce is kept as a case of its own");
    m.app.run_due_work().await;
    assert_eq!(m.smtp.count(), 1, "no rule answered a machine");
    m.app.stop().await;
}

async fn broken_letters_are_kept_and_reported_once(backend: Backend) {
    let m = Mailbox::start(backend).await;
    let (status, stored) = m
        .post("Subject: no sender here\r\n\r\nWho wrote this?\r\n")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stored}");
    let (status, _) = m
        .post_as(
            &m.channel,
            &m.token,
            b"\xff\xfe\x00 not mail at all".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    m.app.run_due_work().await;
    let failed = m.updates("failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    let reasons: Vec<String> = failed.iter().map(|u| s(&u["last_error"])).collect();
    assert!(
        reasons.iter().all(|r| r.contains("no sender address")),
        "{reasons:?}"
    );
    assert!(
        failed.iter().all(|u| u["attempts"] == 1),
        "failed at once: {failed:?}"
    );
    assert!(failed.iter().all(|u| s(&u["key"]).starts_with("sha256:")));
    // Nothing reads them again, however much time passes.
    m.app
        .advance_and_run(std::time::Duration::from_secs(3600))
        .await;
    let later = m.updates("failed").await;
    assert!(later.iter().all(|u| u["attempts"] == 1), "{later:?}");
    assert!(m.cases().await.is_empty());
    m.app.stop().await;
}

async fn files_come_and_go_with_letters(backend: Backend) {
    let m = Mailbox::start(backend).await;
    let raw = format!(
        "From: {ANN}\r\nTo: {OUR_ADDRESS}\r\nSubject: Label\r\nMessage-ID: <f1@shop.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See <b>the label</b></p>\
         <script>alert(1)</script><img src=x onerror=\"alert(2)\">\
         <img src=\"https://track.example/open.gif\"><img src=\"cid:logo@shop\" alt=\"logo\">\r\n\
         --b1\r\nContent-Type: image/png\r\nContent-ID: <logo@shop>\r\n\
         Content-Disposition: inline; filename=\"logo.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b1\r\n\
         Content-Type: application/pdf; name=\"label.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"label.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSBsYWJlbA==\r\n--b1--\r\n"
    );
    m.deliver(&raw).await;
    let case_id = s(&m.cases().await[0]["id"]);
    let messages = m.app.messages(&case_id).await;
    let first = &messages[0];
    assert!(s(&first["text"]).contains("the label"), "{first}");
    assert!(
        !s(&first["text"]).contains("<script"),
        "the text is the HTML's text: {first}"
    );
    assert_eq!(first["letter"]["has_html"], true);

    // The HTML body is shown sanitized, in a sandbox, remote images held back.
    let shown = m
        .app
        .http
        .get(format!(
            "{}/api/v1/letters/{}/html",
            m.app.base,
            s(&first["id"])
        ))
        .bearer_auth(&m.app.token)
        .send()
        .await
        .expect("html");
    assert_eq!(shown.status(), StatusCode::OK);
    let csp = shown.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.starts_with("sandbox") && !csp.contains("allow-scripts"),
        "{csp}"
    );
    assert!(
        !csp.contains("https:"),
        "no remote images by default: {csp}"
    );
    assert_eq!(shown.headers()["x-casedesk-remote-images"], "1");
    let html = shown.text().await.expect("text");
    assert!(html.contains("<b>the label</b>"), "{html}");
    for inert in ["<script", "onerror", "track.example"] {
        assert!(!html.contains(inert), "{inert} in {html}");
    }
    assert!(
        html.contains("src=\"data:image/png;base64,iVBORw0KGgo=\""),
        "cid image inlined: {html}"
    );
    let allowed = m
        .app
        .http
        .get(format!(
            "{}/api/v1/letters/{}/html?remote_images=true",
            m.app.base,
            s(&first["id"])
        ))
        .bearer_auth(&m.app.token)
        .send()
        .await
        .expect("html");
    assert!(
        allowed.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("https:")
    );
    assert!(
        allowed
            .text()
            .await
            .expect("text")
            .contains("https://track.example/open.gif")
    );
    let (status, _) = m
        .app
        .call(Method::GET, "/api/v1/letters/no-such-message/html", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let file = first["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .find(|f| f["filename"] == "label.pdf")
        .expect("the PDF");
    assert_eq!(file["filename"], "label.pdf");
    assert_eq!(file["content_type"], "application/pdf");
    let got = m
        .app
        .http
        .get(format!(
            "{}/api/v1/attachments/{}",
            m.app.base,
            s(&file["id"])
        ))
        .bearer_auth(&m.app.token)
        .send()
        .await
        .expect("file");
    assert_eq!(
        got.bytes().await.expect("bytes").as_ref(),
        b"%PDF-1.4\n% label"
    );

    // A reply with a file goes out with it.
    let upload = m
        .app
        .upload(
            &format!("cases/{case_id}/attachments?filename=invoice.pdf&text=Your+invoice"),
            &m.app.token.clone(),
            b"%PDF-1.4 invoice".to_vec(),
        )
        .await;
    assert_eq!(upload.0, StatusCode::CREATED, "{}", upload.1);
    m.app.run_due_work().await;
    let (_, sent, _) = m.sent(1).await;
    assert_eq!(sent.text, "Your invoice");
    assert_eq!(sent.files.len(), 1);
    assert_eq!(sent.files[0].filename, "invoice.pdf");
    assert_eq!(sent.files[0].bytes, b"%PDF-1.4 invoice");
    m.app.stop().await;
}

async fn the_mime_endpoint_refuses_what_it_must(backend: Backend) {
    let m = Mailbox::start(backend).await;
    let raw = letter(ANN, "r1@shop.example", "Hi", "", "Hello").into_bytes();
    let (status, _) = m.post_as(&m.channel, "wrong-token", raw.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = m
        .post_as(&m.app.channel_id, &m.app.inbound_token, raw.clone())
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an api channel takes no letters: {body}"
    );
    let (status, body) = m
        .app
        .raw(
            Method::POST,
            &format!("/api/v1/channels/{}/inbound", m.channel),
            Some(&m.token.clone()),
            Some(
                json!({"type": "message", "message_id": "1", "customer": {"id": "a"}, "text": "x"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = m.post_as(&m.channel, &m.token, b"  \r\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = m.post_as(&m.channel, &m.token, vec![b'a'; 16 << 20]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    for (body, what) in [
        (json!({"kind": "email", "name": "Mail"}), "no address"),
        (
            json!({"kind": "email", "name": "Mail", "address": "not-an-address"}),
            "bad address",
        ),
        (
            json!({"kind": "api", "name": "Api", "address": "a@b.example"}),
            "address on api",
        ),
        (
            json!({"kind": "email", "name": "Mail", "address": "a@b.example",
                   "smtp": {"host": "smtp.x/evil"}}),
            "bad host",
        ),
        (
            json!({"kind": "email", "name": "Mail", "address": "a@b.example",
                   "smtp": {"host": "smtp.b.example", "password": "p"}}),
            "password without user",
        ),
    ] {
        let (status, v) = m
            .app
            .call(Method::POST, "/api/v1/channels", Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {v}");
    }
    let (status, created) = m
        .app
        .call(
            Method::POST,
            "/api/v1/channels",
            Some(
                json!({"kind": "email", "name": "Billing", "address": "billing@desk.example",
                "smtp": {"host": "smtp.desk.example", "port": 465, "user": "desk",
                         "password": "smtp-secret-123"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["email"]["smtp"]["password_set"], true);
    assert_eq!(
        created["email"]["smtp"]["security"], "tls",
        "port 465 means TLS"
    );
    assert!(
        !created.to_string().contains("smtp-secret-123"),
        "{created}"
    );
    let listed = m.app.ok(Method::GET, "/api/v1/channels", None).await;
    assert!(
        !listed.to_string().contains("smtp-secret-123"),
        "never shown"
    );
    let billing = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["name"] == "Billing")
        .cloned()
        .expect("the e-mail channel is listed");
    assert_eq!(billing["email"]["smtp"]["host"], "smtp.desk.example");
    assert_eq!(billing["email"]["smtp"]["user"], "desk");
    assert_eq!(billing["email"]["smtp"]["password_set"], true);
    assert_eq!(billing["inbound_token"], Value::Null);
    m.app.stop().await;
}

async fn a_runaway_exchange_stops_at_the_hourly_limit(backend: Backend) {
    use casedesk_server::channels::email::outbound::MAX_AUTOMATIC_PER_HOUR;
    let m = Mailbox::start(backend).await;
    m.acknowledge_every_letter().await;
    // A robot that does not mark its mail as automatic writes again and again.
    let sent = MAX_AUTOMATIC_PER_HOUR as usize;
    for i in 0..sent + 2 {
        m.deliver(&letter(
            "robot@shop.example",
            &format!("r{i}@shop.example"),
            &format!("Ticket {i}"),
            "",
            "Your request was received.",
        ))
        .await;
    }
    m.smtp.nth(sent).await;
    assert_eq!(
        m.smtp.count(),
        sent,
        "at most {sent} automatic replies an hour"
    );
    let failed = m
        .app
        .ok(
            Method::GET,
            &format!("/api/v1/channels/{}/deliveries?state=failed", m.channel),
            None,
        )
        .await;
    let reasons: Vec<String> = failed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| s(&d["last_error"]))
        .collect();
    assert_eq!(reasons.len(), 2, "{failed}");
    assert!(
        reasons.iter().all(|r| r.contains("loop guard")),
        "{reasons:?}"
    );
    // An hour later the customer is answered again.
    m.app.advance(std::time::Duration::from_secs(3601));
    m.deliver(&letter(
        "robot@shop.example",
        "r-late@shop.example",
        "Later",
        "",
        "Again.",
    ))
    .await;
    m.smtp.nth(sent + 1).await;
    m.app.stop().await;
}
