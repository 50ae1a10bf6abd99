//! The e-mail channel in the agent UI: an admin adds a mailbox in Settings
//! with an SMTP server (the API's refusal shown on the way) and gets the
//! address raw letters go to; a letter posted there shows in its case with
//! its subject, sender and other recipients, as text; a machine's answer
//! joins it marked automatic; the agent's reply leaves by SMTP (a loopback
//! receiver) and shows as sent; a letter that cannot be read is listed in
//! Settings with the reason. A letter's HTML body shows on request in a
//! frame sandboxed without script and without the app's origin: what it
//! holds runs nothing and reaches nothing of the app. A letter's quoted
//! history and signature are folded behind a toggle that shows them. A
//! letter's sender is linked, on the case page, with the same person's
//! profile in an api channel, and unlinked again. A mailbox added with
//! IMAP and SMTP servers nobody answers at has its connection tested from
//! Settings, and each server's failure is said in plain words.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Browser;
use crate::helpers::{TestApp, s};
use crate::scenarios::wait_for;
use crate::smtp::FakeSmtp;
use crate::telegram::sign_in_as_admin;

scenarios!(
    email_channel_added_and_letter_shown,
    letter_html_shown_sandboxed,
    letter_quoted_history_folded,
    profiles_linked_and_unlinked,
    mailbox_connection_tested,
);

const OUR_ADDRESS: &str = "support@desk.example";

/// A plain-text letter to the channel's address; `extra` holds further
/// header lines.
fn letter(message_id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: Vera Lind <vera@shop.example>\r\nTo: {OUR_ADDRESS}, orders@shop.example\r\n\
         Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

/// Posts a raw letter to `url` as a provider's inbound webhook would, and
/// has the server read it.
async fn post_letter(app: &TestApp, url: &str, token: &str, raw: String) {
    let resp = app
        .http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .expect("posted");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.run_due_work().await;
}

async fn email_channel_added_and_letter_shown(app: &TestApp, b: &Browser) {
    let smtp = FakeSmtp::start().await;
    let port = smtp.url.rsplit(':').next().expect("the SMTP port");
    sign_in_as_admin(b).await;
    b.goto("/#/settings").await;
    b.wait_css("[data-test=channel-kind]").await;
    b.js(
        "const k = document.querySelector('#channel-kind'); k.value = 'email'; \
          k.dispatchEvent(new Event('change')); return true;",
    )
    .await;
    b.type_into("[data-test=channel-name]", "Shop mail").await;
    b.type_into("[data-test=channel-address]", OUR_ADDRESS)
        .await;
    // What the API refuses, it says next to the form.
    b.type_into("[data-test=smtp-host]", "smtp://desk.example")
        .await;
    b.click("[data-test=create-channel]").await;
    b.wait_text("[data-test=channel-error]", "smtp.host must be a host name")
        .await;
    let host = b.wait_css("[data-test=smtp-host]").await;
    host.clear().await.expect("clear");
    host.send_keys("127.0.0.1").await.expect("type");
    b.type_into("[data-test=smtp-port]", port).await;
    b.js(
        "const k = document.querySelector('#smtp-security'); k.value = 'none'; \
          k.dispatchEvent(new Event('change')); return true;",
    )
    .await;
    b.click("[data-test=create-channel]").await;

    // The inbound token once, and where raw letters go.
    let token = b
        .text("[data-test=token-box] [data-test=inbound-token]")
        .await;
    assert_eq!(token.len(), 64, "{token}");
    let mime_url = b.text("[data-test=token-box] [data-test=mime-url]").await;
    assert!(
        mime_url.starts_with(&app.base) && mime_url.ends_with("/inbound/mime"),
        "{mime_url}"
    );
    let item = ".channel-item[data-kind=email]";
    b.wait_text(&format!("{item} [data-test=mailbox-address]"), OUR_ADDRESS)
        .await;
    b.wait_text(
        &format!("{item} [data-test=smtp-server]"),
        &format!("127.0.0.1:{port}"),
    )
    .await;
    b.wait_text(&format!("{item} [data-test=mime-url]"), &mime_url)
        .await;
    let channel_id = mime_url
        .rsplit('/')
        .nth(2)
        .expect("the channel id in the URL")
        .to_owned();

    // A customer's letter, with markup in its text, and an out-of-office
    // answer to it from the customer's side.
    post_letter(
        app,
        &mime_url,
        &token,
        letter(
            "browser-1@shop.example",
            "Kettle arrived broken",
            "",
            "The lid <b>cracked</b> in transit.",
        ),
    )
    .await;
    let search = format!("channel_id={channel_id}");
    wait_for("the letter's case", || async {
        app.list(&search).await.len()
    })
    .await;
    let case_id = s(&app.list(&search).await[0]["id"]);
    post_letter(
        app,
        &mime_url,
        &token,
        letter(
            "browser-2@shop.example",
            "Out of office: Kettle arrived broken",
            "In-Reply-To: <browser-1@shop.example>\r\nAuto-Submitted: auto-replied\r\n",
            "I am away until Monday.",
        ),
    )
    .await;
    wait_for("the automatic answer in the case", || async {
        app.messages(&case_id).await.len() >= 2
    })
    .await;

    let messages = app.messages(&case_id).await;
    let shown = |automatic: bool| {
        messages
            .iter()
            .find(|m| m["letter"]["automatic"].is_string() == automatic)
            .map(|m| format!("[data-message-id='{}']", s(&m["id"])))
            .expect("the letter")
    };
    let (first, answer) = (shown(false), shown(true));
    let quoted = |css: String| serde_json::to_string(&css).expect("json");
    b.goto(&format!("/#/case/{case_id}")).await;
    b.wait_text(
        &format!("{first} [data-test=letter-subject]"),
        "Kettle arrived broken",
    )
    .await;
    b.wait_text(
        &format!("{first} [data-test=letter-from]"),
        "vera@shop.example",
    )
    .await;
    b.wait_text(
        &format!("{first} [data-test=letter-recipients]"),
        "orders@shop.example",
    )
    .await;
    b.wait_text(
        &format!("{first} [data-test=message-text]"),
        "The lid <b>cracked</b> in transit.",
    )
    .await;
    let marked = b
        .js(&format!(
            "return !document.querySelector({}) && !document.querySelector({})",
            quoted(format!("{first} [data-test=message-text] b")),
            quoted(format!("{first} [data-test=letter-automatic]")),
        ))
        .await;
    assert_eq!(
        marked, true,
        "text as text, and the customer's letter is no machine's"
    );
    let badge = format!("{answer} [data-test=letter-automatic]");
    b.wait_text(&badge, "automatic").await;
    let why = b
        .js(&format!(
            "return document.querySelector({}).title",
            quoted(badge)
        ))
        .await;
    assert!(
        why.as_str().is_some_and(|w| w.contains("Auto-Submitted")),
        "{why}"
    );

    // The agent's reply leaves by SMTP and shows as sent.
    b.type_into("[data-test=reply]", "A new kettle leaves today")
        .await;
    b.click("[data-test=send-reply]").await;
    b.wait_text(".msg.from-agent [data-test=delivery]", "sent")
        .await;
    let mail = smtp.nth(1).await;
    assert!(
        mail.to.iter().any(|to| to == "vera@shop.example"),
        "{:?}",
        mail.to
    );
    assert!(
        mail.data.contains("A new kettle leaves today"),
        "{}",
        mail.data
    );
    let case: Value = app
        .ok(Method::GET, &format!("/api/v1/cases/{case_id}"), None)
        .await;
    assert_eq!(case["subject"], "Kettle arrived broken");
    app.finish(&case_id, "closed").await;

    // A letter that cannot be read shows in Settings with the reason.
    post_letter(
        app,
        &mime_url,
        &token,
        "Subject: no sender here\r\n\r\nWho wrote this?\r\n".to_owned(),
    )
    .await;
    b.goto("/#/settings").await;
    b.wait_text(
        &format!("{item} [data-test=failed-updates]"),
        "Letters that could not be read",
    )
    .await;
    b.wait_text(
        &format!("{item} [data-test=failed-update]"),
        "no sender address",
    )
    .await;
}

/// A letter with a plain-text and an HTML alternative; the HTML tries
/// script, an event handler and a tracking image.
fn html_letter(to: &str) -> String {
    format!(
        "From: Vera Lind <vera@shop.example>\r\nTo: {to}\r\nSubject: Formatted\r\n\
         Message-ID: <browser-html@shop.example>\r\nDate: Sun, 6 Dec 2026 11:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello formatted\r\n\
         --b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <p id=\"hello\">Hello <b>formatted</b></p>\
         <script>top.document.title='pwned-script'</script>\
         <img src=\"x\" onerror=\"top.document.title='pwned-onerror'\">\
         <img src=\"https://tracker.invalid/open.gif\">\r\n--b1--\r\n"
    )
}

async fn letter_html_shown_sandboxed(app: &TestApp, b: &Browser) {
    let address = "formatted@desk.example";
    let channel: Value = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "email", "name": "Formatted mail", "address": address})),
        )
        .await;
    let mime_url = s(&channel["email"]["inbound_mime_url"]);
    let token = s(&channel["inbound_token"]);
    post_letter(app, &mime_url, &token, html_letter(address)).await;
    let search = format!("channel_id={}", s(&channel["id"]));
    wait_for("the letter's case", || async {
        app.list(&search).await.len()
    })
    .await;
    let case_id = s(&app.list(&search).await[0]["id"]);
    let messages = app.messages(&case_id).await;
    assert_eq!(messages[0]["letter"]["has_html"], true, "{messages:?}");
    let letter = format!("[data-message-id='{}']", s(&messages[0]["id"]));

    sign_in_as_admin(b).await;
    b.goto(&format!("/#/case/{case_id}")).await;
    b.click(&format!("{letter} [data-test=show-formatted]"))
        .await;
    let frame_css = format!("{letter} [data-test=letter-frame]");
    let frame = b.wait_css(&frame_css).await;
    // The server left the tracking image out and says so.
    let remote = format!("{letter} [data-test=load-remote-images]");
    b.wait_text(&remote, "Load remote images (1)").await;

    // Inside the frame: the formatting, and none of the script.
    frame.enter_frame().await.expect("into the frame");
    b.wait_text("body", "Hello formatted").await;
    let inert = b
        .js("return !!document.querySelector('p b') && !document.querySelector('script, [onerror]')")
        .await;
    b.client
        .enter_parent_frame()
        .await
        .expect("back to the app");
    assert_eq!(inert, true, "bold kept, script and handlers gone");

    // From the app, the frame is another origin: nothing in it is reachable.
    let quoted = serde_json::to_string(&frame_css).expect("json");
    let sealed = b
        .js(&format!(
            "const f = document.querySelector({quoted}); \
             let blocked = false; try {{ f.contentWindow.document; }} catch (e) {{ blocked = true; }} \
             const sandbox = f.getAttribute('sandbox'); \
             return f.contentDocument === null && blocked \
               && !sandbox.includes('allow-scripts') && !sandbox.includes('allow-same-origin');"
        ))
        .await;
    assert_eq!(sealed, true, "the frame is sandboxed away from the app");
    let title = b.js("return document.title").await;
    assert!(
        title.as_str().is_some_and(|t| !t.contains("pwned")),
        "{title}"
    );

    // Remote images on request: the frame loads again asking for them.
    b.click(&remote).await;
    b.wait_js(
        "the frame with remote images",
        &format!("document.querySelector({quoted}).src.endsWith('?remote_images=true')"),
    )
    .await;
    b.wait_gone(&remote).await;
    b.click(&format!("{letter} [data-test=show-formatted]"))
        .await;
    b.wait_gone(&frame_css).await;
}

/// A new e-mail channel at `address`: its id, raw-letter URL and token.
async fn mail_channel(app: &TestApp, name: &str, address: &str) -> (String, String, String) {
    let channel: Value = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "email", "name": name, "address": address})),
        )
        .await;
    (
        s(&channel["id"]),
        s(&channel["email"]["inbound_mime_url"]),
        s(&channel["inbound_token"]),
    )
}

/// Posts a plain-text letter to a new channel at `address`; returns the
/// case it opened.
async fn letter_in_new_channel(
    app: &TestApp,
    name: &str,
    address: &str,
    id: &str,
    body: &str,
) -> String {
    let (channel_id, mime_url, token) = mail_channel(app, name, address).await;
    let raw = format!(
        "From: Vera Lind <vera@shop.example>\r\nTo: {address}\r\nSubject: {name}\r\n\
         Message-ID: <{id}>\r\nDate: Sun, 6 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    );
    post_letter(app, &mime_url, &token, raw).await;
    let search = format!("channel_id={channel_id}");
    wait_for("the letter's case", || async {
        app.list(&search).await.len()
    })
    .await;
    s(&app.list(&search).await[0]["id"])
}

async fn letter_quoted_history_folded(app: &TestApp, b: &Browser) {
    let case_id = letter_in_new_channel(
        app,
        "Folded mail",
        "folded@desk.example",
        "browser-folded@shop.example",
        "Thanks, the new kettle works.\r\n\r\n\
         On Sun, 6 Dec 2026 at 10:00, Desk <folded@desk.example> wrote:\r\n\
         > A new kettle leaves today.\r\n>\r\n> Desk\r\n\r\n\
         -- \r\nVera Lind\r\nShop Example\r\n",
    )
    .await;
    let messages = app.messages(&case_id).await;
    let text = s(&messages[0]["text"]);
    assert!(
        text.contains("> A new kettle") && text.contains("Shop Example"),
        "{text:?}"
    );
    let letter = format!("[data-message-id='{}']", s(&messages[0]["id"]));
    let shown = serde_json::to_string(&format!("{letter} [data-test=message-text]")).expect("json");
    let toggle = format!("{letter} [data-test=fold-toggle]");

    sign_in_as_admin(b).await;
    b.goto(&format!("/#/case/{case_id}")).await;
    b.wait_text(
        &format!("{letter} [data-test=message-text]"),
        "Thanks, the new kettle works.",
    )
    .await;
    let folded = b
        .js(&format!(
            "return document.querySelector({shown}).textContent"
        ))
        .await;
    assert_eq!(
        folded, "Thanks, the new kettle works.",
        "history and signature folded"
    );
    let expanded = |yes: bool| format!("{toggle}[aria-expanded='{yes}']");
    b.wait_css(&expanded(false)).await;

    // The toggle shows the letter's text exactly, and folds it again.
    b.click(&toggle).await;
    b.wait_css(&expanded(true)).await;
    let whole = b
        .js(&format!(
            "return document.querySelector({shown}).textContent"
        ))
        .await;
    assert_eq!(whole, Value::String(text), "the letter as it came");
    b.click(&toggle).await;
    b.wait_css(&expanded(false)).await;
    b.wait_js(
        "the letter folded again",
        &format!("document.querySelector({shown}).textContent === 'Thanks, the new kettle works.'"),
    )
    .await;
}

async fn profiles_linked_and_unlinked(app: &TestApp, b: &Browser) {
    // One person: Vera on an api channel's bridge, and Vera by e-mail.
    let bridge: Value = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "api", "name": "Linking bridge"})),
        )
        .await;
    let (st, r) = app
        .raw(
            Method::POST,
            &format!("/api/v1/channels/{}/inbound", s(&bridge["id"])),
            Some(&s(&bridge["inbound_token"])),
            Some(json!({"type": "message", "message_id": "link-1",
                "customer": {"id": "vera-on-bridge", "name": "Vera on the bridge"},
                "text": "Is my kettle on its way?"})),
        )
        .await;
    assert!(st.is_success(), "{r}");
    let bridge_case = s(&r["case_id"]);
    let bridge_vera = s(&app.case(&bridge_case).await["customer_id"]);
    let mail_case = letter_in_new_channel(
        app,
        "Linking mail",
        "linking@desk.example",
        "browser-linking@shop.example",
        "Writing about my kettle as well.\r\n",
    )
    .await;
    let mail_vera = s(&app.case(&mail_case).await["customer_id"]);
    let person = |id: String| async move {
        app.ok(Method::GET, &format!("/api/v1/customers/{id}"), None)
            .await
    };

    sign_in_as_admin(b).await;
    b.goto(&format!("/#/case/{bridge_case}")).await;
    b.wait_css("[data-test=case-number]").await;
    b.wait_gone("[data-test=unlink-profile]").await;
    // A profile linked with itself: the API's refusal, by the form.
    b.click("[data-test=link-profile]").await;
    b.type_into("[data-test=link-profile-input]", &bridge_vera)
        .await;
    b.click("[data-test=link-profile-save]").await;
    b.wait_text(
        "[data-test=link-profile-error]",
        "cannot be linked with itself",
    )
    .await;
    let input = b.wait_css("[data-test=link-profile-input]").await;
    input.clear().await.expect("clear");
    // The other profile's page address will do as well as its id.
    input
        .send_keys(&format!("{}/#/customer/{mail_vera}", app.base))
        .await
        .expect("type");
    b.click("[data-test=link-profile-save]").await;

    let linked = format!("[data-test=linked-profile][data-customer-id='{mail_vera}']");
    b.wait_text(
        &format!("{linked} [data-test=linked-profile-cases]"),
        "Vera Lind",
    )
    .await;
    b.wait_text(
        &format!("{linked} [data-test=linked-profile-channel]"),
        "Linking mail",
    )
    .await;
    b.wait_gone("[data-test=link-profile-input]").await;
    let href = b
        .js(&format!(
            "return document.querySelector({}).getAttribute('href')",
            serde_json::to_string(&format!("{linked} [data-test=linked-profile-latest]"))
                .expect("json")
        ))
        .await;
    assert_eq!(href, Value::String(format!("#/case/{mail_case}")));
    let vera = person(bridge_vera.clone()).await;
    assert!(vera["person_id"].is_string(), "{vera}");
    assert_eq!(
        vera["linked"][0]["id"],
        Value::String(mail_vera.clone()),
        "{vera}"
    );

    // The e-mail profile's page shows the bridge's profile.
    b.goto(&format!("/#/customer/{mail_vera}")).await;
    b.wait_text(
        &format!("[data-test=linked-profile][data-customer-id='{bridge_vera}']"),
        "Vera on the bridge",
    )
    .await;
    b.wait_text("[data-test=customer-id]", &mail_vera).await;

    // Unlinked from the case page: the profile stands alone again.
    b.goto(&format!("/#/case/{bridge_case}")).await;
    b.click("[data-test=unlink-profile]").await;
    b.wait_gone(&linked).await;
    b.wait_gone("[data-test=unlink-profile]").await;
    let vera = person(bridge_vera).await;
    assert!(vera["person_id"].is_null(), "{vera}");
    assert_eq!(vera["linked"], json!([]), "{vera}");
}

/// Picks `value` in the `<select>` with the id `id`, as a person would.
async fn choose(b: &Browser, id: &str, value: &str) {
    b.js(&format!(
        "const k = document.getElementById('{id}'); k.value = '{value}'; \
          k.dispatchEvent(new Event('change')); return true;"
    ))
    .await;
}

async fn mailbox_connection_tested(app: &TestApp, b: &Browser) {
    sign_in_as_admin(b).await;
    b.goto("/#/settings").await;
    b.wait_css("[data-test=channel-kind]").await;
    choose(b, "channel-kind", "email").await;
    b.type_into("[data-test=channel-name]", "Probe mail").await;
    b.type_into("[data-test=channel-address]", "probe@desk.example")
        .await;
    // Port 9 (discard) on the loopback: nothing listens there.
    b.type_into("[data-test=imap-host]", "127.0.0.1").await;
    b.type_into("[data-test=imap-port]", "9").await;
    choose(b, "imap-security", "none").await;
    b.type_into("[data-test=imap-user]", "probe").await;
    b.type_into("[data-test=imap-password]", "secret").await;
    b.type_into("[data-test=smtp-host]", "127.0.0.1").await;
    b.type_into("[data-test=smtp-port]", "9").await;
    choose(b, "smtp-security", "none").await;
    b.click("[data-test=create-channel]").await;
    b.wait_css("[data-test=token-box] [data-test=inbound-token]")
        .await;

    let channels: Value = app.ok(Method::GET, "/api/v1/channels", None).await;
    let channel = channels["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["name"] == "Probe mail"))
        .expect("the new channel")
        .clone();
    let imap = &channel["email"]["imap"];
    let fetched = format!(
        "{}@{}:{} {}",
        s(&imap["user"]),
        s(&imap["host"]),
        imap["port"],
        s(&imap["folder"])
    );
    assert_eq!(fetched, "probe@127.0.0.1:9 INBOX", "{channel}");
    let item = format!(".channel-item[data-id='{}']", s(&channel["id"]));
    b.wait_text(
        &format!("{item} [data-test=imap-server]"),
        "letters fetched from probe@127.0.0.1:9 INBOX",
    )
    .await;

    // Out from under the sticky top bar, as a person would scroll.
    let button = format!("{item} [data-test=test-connection]");
    let quoted = serde_json::to_string(&button).expect("json");
    b.js(&format!(
        "document.querySelector({quoted}).scrollIntoView({{block: 'center'}}); return true;"
    ))
    .await;
    b.click(&button).await;
    b.wait_text(
        &format!("{item} [data-test=test-imap]"),
        "✗ IMAP: the IMAP server could not be reached",
    )
    .await;
    b.wait_text(&format!("{item} [data-test=test-smtp]"), "✗ SMTP: ")
        .await;
    let idle = b
        .js(&format!(
            "const t = document.querySelector({quoted}); \
             return !t.disabled && !t.hasAttribute('aria-busy')"
        ))
        .await;
    assert_eq!(idle, true, "the button is ready again");
}
