//! The embeddable web chat widget as a visitor meets it: a customer's site
//! on another origin (a tiny HTTP server in the test) carries the one-line
//! snippet, and the widget talks to casedesk cross-origin, as it would in
//! production. Everything the widget draws lives in a shadow root, reached
//! through WebDriver's shadow-root commands and `window.casedeskWidget.root`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fantoccini::Locator;
use fantoccini::elements::Element;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::harness::{Browser, PATIENCE, keys};
use crate::helpers::{TestApp, s};

scenarios!(
    widget_chat_live_reply_reaction_and_new_case_after_close,
    widget_keeps_the_conversation_across_reload_and_catches_up,
    widget_reconnects_after_a_network_drop_and_catches_up,
    widget_identified_user_on_two_devices,
    widget_sending_too_fast_keeps_the_text,
    widget_on_a_site_not_allowed_marks_the_message_not_sent,
    widget_visitor_ends_the_chat,
    widget_visitor_sends_and_receives_files,
);

/// WebDriver's Escape key.
const ESCAPE: char = '\u{E00C}';

// ------------------------------------------------------------ the host site

/// A customer's web site: a static HTTP server on its own port, so the
/// widget runs on an origin other than casedesk's. Unknown paths are 404.
pub(crate) struct HostSite {
    pub(crate) url: String,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostSite {
    pub(crate) fn start(pages: Vec<(&'static str, String)>) -> HostSite {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the host site");
        let addr = listener.local_addr().expect("host site address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let pages = Arc::new(pages);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let pages = pages.clone();
                // One thread per connection: a browser's idle speculative
                // connection must not hold the next page back.
                std::thread::spawn(move || answer(stream, &pages));
            }
        });
        HostSite {
            url: format!("http://{addr}"),
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HostSite {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut stream: TcpStream, pages: &[(&'static str, String)]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 2048];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or(target);
    let (status, body) = match pages.iter().find(|(p, _)| *p == path) {
        Some((_, html)) => ("200 OK", html.as_str()),
        None => ("404 Not Found", "not found"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// A shop page with the snippet. Its stylesheet is deliberately hostile:
/// the widget's shadow root must keep its own look and stay visible.
fn shop_page(app: &TestApp, channel_id: &str, html_lang: &str, attributes: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<title>Acme shop</title>
<style>
  * {{ font-family: "Comic Sans MS", cursive !important; }}
  body {{ color: red; font-size: 31px; line-height: 3; text-align: right; }}
  div, button, textarea, p {{ display: none !important; }}
</style>
</head>
<body>
<h1>Acme shop</h1>
<script src="{base}/widget.js" data-casedesk-channel="{channel_id}" {attributes} async></script>
</body>
</html>"#,
        base = app.base
    )
}

// ---------------------------------------------------------------- helpers

pub(crate) struct WidgetChannel {
    pub(crate) id: String,
    /// The channel secret: the key of identified users' hashes.
    secret: String,
}

pub(crate) async fn widget_channel(app: &TestApp, name: &str) -> WidgetChannel {
    widget_channel_for(app, name, &[]).await
}

async fn widget_channel_for(app: &TestApp, name: &str, origins: &[&str]) -> WidgetChannel {
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "widget", "name": name, "allowed_origins": origins})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    WidgetChannel {
        id: s(&body["id"]),
        secret: s(&body["inbound_token"]),
    }
}

/// What the host site's backend computes: hex HMAC-SHA256 of the user id.
fn user_hash(secret: &str, user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A JS expression evaluated with `r` bound to the widget's shadow root
/// (false while the widget has not started).
fn in_widget(expr: &str) -> String {
    format!(
        "(() => {{ const w = window.casedeskWidget; const r = w && w.root; \
         return !!r && ({expr}); }})()"
    )
}

pub(crate) fn js_str(v: &str) -> String {
    serde_json::to_string(v).expect("json")
}

pub(crate) async fn wait_widget(b: &Browser, what: &str, expr: &str) {
    b.wait_js(what, &in_widget(expr)).await;
}

/// Runs `body` (statements ending in `return …`) with `r` bound to the root.
async fn widget_js(b: &Browser, body: &str) -> Value {
    b.js(&format!("const r = window.casedeskWidget.root; {body}"))
        .await
}

/// A visible element inside the shadow root, through WebDriver's own
/// shadow-root support, so clicks and keys are real input events.
pub(crate) async fn widget_el(b: &Browser, css: &str) -> Element {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(host) = b.client.find(Locator::Css("casedesk-widget")).await
            && let Ok(root) = host.shadow_root().await
            && let Ok(el) = root.find(Locator::Css(css)).await
            && el.is_displayed().await.unwrap_or(false)
        {
            return el;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for a visible {css} in the widget"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn widget_click(b: &Browser, css: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match widget_el(b, css).await.click().await {
            Ok(()) => return,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("retrying a click on {css}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("click {css} in the widget: {e}"),
        }
    }
}

async fn widget_type(b: &Browser, css: &str, text: &str) {
    widget_el(b, css)
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css} in the widget: {e}"));
}

/// Opens the site and waits for the widget's launcher.
async fn visit(b: &Browser, url: &str) {
    b.client.goto(url).await.expect("open the host site");
    widget_el(b, "#cd-launcher").await;
}

async fn open_panel(b: &Browser) {
    widget_click(b, "#cd-launcher").await;
    widget_el(b, "#cd-panel").await;
    wait_widget(
        b,
        "the focus in the message field",
        "r.activeElement && r.activeElement.id === 'cd-input'",
    )
    .await;
}

/// Writes a message as the visitor (Enter sends) and waits until the server
/// confirmed it; returns its id.
pub(crate) async fn visitor_says(b: &Browser, text: &str) -> String {
    widget_type(b, "#cd-input", &format!("{text}{}", keys::ENTER)).await;
    let q = js_str(text);
    wait_widget(
        b,
        &format!("{text:?} stored"),
        &format!(
            "[...r.querySelectorAll('.cd-msg[data-author=customer][data-id]')]\
             .some(m => m.querySelector('.cd-bubble').textContent === {q})"
        ),
    )
    .await;
    let id = widget_js(
        b,
        &format!(
            "return [...r.querySelectorAll('.cd-msg[data-author=customer][data-id]')]\
             .filter(m => m.querySelector('.cd-bubble').textContent === {q}).pop().dataset.id;"
        ),
    )
    .await;
    s(&id)
}

/// Waits until the widget shows the message with this id and text.
async fn wait_message(b: &Browser, id: &str, author: &str, text: &str) {
    let (id_q, text_q) = (js_str(id), js_str(text));
    wait_widget(
        b,
        &format!("{author} message {text:?} in the widget"),
        &format!(
            "[...r.querySelectorAll('.cd-msg[data-author={author}]')]\
             .some(m => m.dataset.id === {id_q} && m.querySelector('.cd-bubble').textContent === {text_q})"
        ),
    )
    .await;
}

/// Customer and agent messages as the widget lists them, in screen order.
async fn widget_transcript(b: &Browser) -> Vec<(String, String)> {
    let v = widget_js(
        b,
        "return [...r.querySelectorAll('.cd-msg')]\
         .filter(m => m.dataset.author !== 'system')\
         .map(m => [m.dataset.author, m.querySelector('.cd-bubble').textContent]);",
    )
    .await;
    v.as_array()
        .expect("an array")
        .iter()
        .map(|pair| (s(&pair[0]), s(&pair[1])))
        .collect()
}

pub(crate) fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, t)| ((*a).to_owned(), (*t).to_owned()))
        .collect()
}

/// Polls the case list of a channel until it holds `count` cases.
pub(crate) async fn channel_cases(app: &TestApp, channel_id: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let cases = app.list(&format!("channel_id={channel_id}")).await;
        if cases.len() == count {
            return cases;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {count} cases in the widget channel, have {}: {cases:?}",
            cases.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["kind"] == "message")
        .map(|m| s(&m["text"]))
        .collect()
}

/// A 12×8 PNG (one blue), small enough to read here whole.
pub const PHOTO: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x0c\x00\x00\x00\x08\x08\x02\x00\x00\x00\
    \x42\x86\x89\xa6\x00\x00\x00\x11IDAT\x78\xda\x63\x50\x4d\x7e\x4d\x10\x31\x8c\x2a\x02\x00\x2a\x18\x8b\x21\
    \xb8\x98\x3d\x2b\x00\x00\x00\x00IEND\xae\x42\x60\x82";

/// Picks `path` in the widget's file input, as the visitor's file dialog
/// would: chromedriver sets a file input's files from the keys sent to it,
/// hidden (the paperclip stands in for it) and in a shadow root alike.
async fn visitor_attaches(b: &Browser, path: &Path) {
    let host = b
        .client
        .find(Locator::Css("casedesk-widget"))
        .await
        .expect("the widget");
    let root = host.shadow_root().await.expect("the widget's shadow root");
    let input = root
        .find(Locator::Css(".cd-file"))
        .await
        .expect("the widget's file input");
    input
        .send_keys(&path.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("pick {} in the widget: {e}", path.display()));
}

/// An agent's reply carrying a file, through the API.
async fn agent_sends_file(app: &TestApp, case_id: &str, filename: &str, bytes: &[u8]) -> Value {
    let path = format!("cases/{case_id}/attachments?filename={filename}");
    let (status, body) = app.upload(&path, &app.token, bytes.to_vec()).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    body
}

async fn unread_dot_shown(b: &Browser) -> bool {
    widget_js(b, "return !r.querySelector('.cd-dot').hidden;").await == Value::Bool(true)
}

// -------------------------------------------------------------- scenarios

async fn widget_chat_live_reply_reaction_and_new_case_after_close(app: &TestApp, b: &Browser) {
    let channel = widget_channel(app, "Site chat").await;
    let site = HostSite::start(vec![("/", shop_page(app, &channel.id, "en", ""))]);
    visit(b, &site.url).await;

    // The host page's hostile stylesheet reaches neither the launcher nor
    // the panel's text.
    let look = widget_js(
        b,
        "const s = getComputedStyle(r.querySelector('.cd')); \
         return [s.fontSize, s.color, s.fontFamily];",
    )
    .await;
    assert_eq!(look[0], "14px", "{look}");
    assert_eq!(look[1], "rgb(31, 35, 40)", "{look}");
    assert!(!s(&look[2]).contains("Comic"), "{look}");
    // Nothing is asked of the server before the visitor writes.
    assert_eq!(
        b.js("return Object.keys(localStorage).filter(k => k.startsWith('casedesk:')).length")
            .await,
        0
    );

    open_panel(b).await;
    let panel = widget_js(
        b,
        "const p = r.querySelector('#cd-panel'); \
         return [p.getAttribute('role'), p.querySelector('.cd-title').textContent, \
                 r.querySelector('#cd-launcher').getAttribute('aria-expanded')];",
    )
    .await;
    assert_eq!(panel, json!(["dialog", "Chat with us", "true"]));
    // On a phone the panel fills the page, none of it under the scrollbar.
    b.set_window(390, 844).await;
    let fits = widget_js(
        b,
        "const p = r.querySelector('#cd-panel').getBoundingClientRect(); \
         return p.left >= 0 && p.right <= document.documentElement.clientWidth && p.width > 300;",
    )
    .await;
    b.set_window(1280, 900).await;
    assert_eq!(fits, true, "the widget fits a phone");
    // Escape closes, the launcher opens again.
    widget_type(b, "#cd-input", &ESCAPE.to_string()).await;
    wait_widget(b, "the panel closed", "r.querySelector('#cd-panel').hidden").await;
    open_panel(b).await;

    // a) The first message: a new active chat in the widget channel.
    let hello = visitor_says(b, "Hello from the site").await;
    let cases = channel_cases(app, &channel.id, 1).await;
    let first = &cases[0];
    let first_id = s(&first["id"]);
    assert_eq!(first["chat_state"], "active", "{first}");
    assert_eq!(first["status"], "open", "{first}");
    assert_eq!(first["subject"], "Hello from the site", "{first}");
    let stored = app.messages(&first_id).await;
    assert_eq!(texts(&stored), ["Hello from the site"]);
    assert_eq!(s(&stored[0]["id"]), hello, "the widget shows the stored id");
    assert_eq!(stored[0]["author"]["type"], "customer");

    // The agent's reply appears live, without a reload.
    b.js("window.__notReloaded = true").await;
    let reply = app.reply(&first_id, "Hi! How can we help?").await;
    let reply_id = s(&reply["id"]);
    wait_message(b, &reply_id, "agent", "Hi! How can we help?").await;
    assert_eq!(b.js("return window.__notReloaded === true").await, true);

    // R10: a reaction to the reply is a note in its case and shows on it.
    let reply_css = format!(".cd-msg[data-id='{reply_id}']");
    widget_click(b, &format!("{reply_css} .cd-react")).await;
    widget_click(b, ".cd-emoji[data-emoji='👍']").await;
    wait_widget(
        b,
        "👍 under the reply",
        &format!("r.querySelector(\"{reply_css} .cd-reactions\").textContent.includes('👍')"),
    )
    .await;
    wait_widget(b, "the picker closed", "!r.querySelector('.cd-picker')").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let messages = app.messages(&first_id).await;
        let on_reply = messages
            .iter()
            .find(|m| m["id"] == reply_id.as_str())
            .is_some_and(|m| m["reactions"].to_string().contains('👍'));
        let note = messages.iter().any(|m| {
            m["kind"] == "note"
                && m["author"]["type"] == "customer"
                && m["reacted_message_id"] == reply_id.as_str()
                && s(&m["text"]).contains('👍')
        });
        if on_reply && note {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reaction note for the reply: {messages:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // R6 d: after the agent closes the chat the visitor simply writes on,
    // and the agent side gets a new chat linked to the closed one.
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{first_id}"),
        Some(json!({"status": "closed"})),
    )
    .await;
    visitor_says(b, "One more question").await;
    let cases = channel_cases(app, &channel.id, 2).await;
    let second = cases
        .iter()
        .find(|c| c["id"] != first_id.as_str())
        .expect("a new case");
    let second_id = s(&second["id"]);
    assert_ne!(second["number"], first["number"], "{second}");
    assert_eq!(second["previous_case_id"], first_id.as_str(), "{second}");
    assert_eq!(second["chat_state"], "active", "{second}");
    assert_eq!(
        texts(&app.messages(&second_id).await),
        ["One more question"]
    );
    assert_eq!(app.case(&first_id).await["status"], "closed");

    // The visitor sees one conversation across both cases.
    let reply2 = app.reply(&second_id, "Sure, ask away.").await;
    wait_message(b, &s(&reply2["id"]), "agent", "Sure, ask away.").await;
    assert_eq!(
        widget_transcript(b).await,
        pairs(&[
            ("customer", "Hello from the site"),
            ("agent", "Hi! How can we help?"),
            ("customer", "One more question"),
            ("agent", "Sure, ask away."),
        ])
    );

    // A reply while the panel is closed lights the launcher's dot.
    widget_click(b, ".cd-close").await;
    wait_widget(b, "the panel closed", "r.querySelector('#cd-panel').hidden").await;
    assert!(!unread_dot_shown(b).await);
    let reply3 = app.reply(&second_id, "Are you still there?").await;
    wait_widget(b, "the unread dot", "!r.querySelector('.cd-dot').hidden").await;
    open_panel(b).await;
    wait_message(b, &s(&reply3["id"]), "agent", "Are you still there?").await;
    assert!(!unread_dot_shown(b).await);
    // The reaction to the closed case's reply is still on it.
    assert_eq!(
        widget_js(
            b,
            &format!("return r.querySelector(\"{reply_css} .cd-reactions\").textContent;")
        )
        .await,
        "👍"
    );
    drop(site);
}

async fn widget_keeps_the_conversation_across_reload_and_catches_up(app: &TestApp, b: &Browser) {
    let channel = widget_channel(app, "Reload chat").await;
    let site = HostSite::start(vec![("/", shop_page(app, &channel.id, "en", ""))]);
    visit(b, &site.url).await;
    open_panel(b).await;
    widget_el(b, ".cd-empty").await;
    visitor_says(b, "Has my order shipped?").await;
    let case_id = s(&channel_cases(app, &channel.id, 1).await[0]["id"]);
    let reply = app.reply(&case_id, "Let me check.").await;
    wait_message(b, &s(&reply["id"]), "agent", "Let me check.").await;
    let before = widget_transcript(b).await;
    assert_eq!(
        before,
        pairs(&[
            ("customer", "Has my order shipped?"),
            ("agent", "Let me check."),
        ])
    );

    // A reload keeps the visitor (the token is in the site's localStorage)
    // and so the conversation.
    let kept = b
        .js("return Object.keys(localStorage).filter(k => k.startsWith('casedesk:')).length")
        .await;
    assert_eq!(kept, 1);
    b.client.refresh().await.expect("reload");
    visit(b, &site.url).await;
    open_panel(b).await;
    wait_widget(
        b,
        "the history",
        "r.querySelectorAll('.cd-msg').length >= 2",
    )
    .await;
    assert_eq!(widget_transcript(b).await, before);
    wait_widget(
        b,
        "the empty hint gone",
        "r.querySelector('.cd-empty').hidden",
    )
    .await;

    // The page is gone while the agent replies twice; on return both
    // replies are there once each, announced by the dot.
    b.client.goto("about:blank").await.expect("leave the site");
    app.reply(&case_id, "It left the warehouse today.").await;
    app.reply(
        &case_id,
        "Tracking: https://track.example/123 <b>not bold</b>",
    )
    .await;
    visit(b, &site.url).await;
    wait_widget(b, "the unread dot", "!r.querySelector('.cd-dot').hidden").await;
    open_panel(b).await;
    wait_widget(
        b,
        "the caught-up replies",
        "r.querySelectorAll('.cd-msg').length >= 4",
    )
    .await;
    let caught_up = pairs(&[
        ("customer", "Has my order shipped?"),
        ("agent", "Let me check."),
        ("agent", "It left the warehouse today."),
        (
            "agent",
            "Tracking: https://track.example/123 <b>not bold</b>",
        ),
    ]);
    assert_eq!(widget_transcript(b).await, caught_up);
    assert!(!unread_dot_shown(b).await);
    // Text stays text; a link is a link to where it says.
    let markup = widget_js(
        b,
        "const last = [...r.querySelectorAll('.cd-msg[data-author=agent] .cd-bubble')].pop(); \
         return [last.querySelectorAll('b').length, \
                 [...last.querySelectorAll('a')].map(a => a.href + ' ' + a.rel)];",
    )
    .await;
    assert_eq!(
        markup,
        json!([
            0,
            ["https://track.example/123 noopener noreferrer nofollow"]
        ])
    );

    // Live again after the reload: one more reply and one more visitor
    // message, still without duplicates.
    let live = app.reply(&case_id, "Anything else?").await;
    wait_message(b, &s(&live["id"]), "agent", "Anything else?").await;
    visitor_says(b, "No, thanks!").await;
    // Fetches run one after another, so once this reply shows, any copy of
    // the visitor's message the feed could bring has shown too.
    let bye = app.reply(&case_id, "Bye!").await;
    wait_message(b, &s(&bye["id"]), "agent", "Bye!").await;
    let mut expected = caught_up;
    expected.extend(pairs(&[
        ("agent", "Anything else?"),
        ("customer", "No, thanks!"),
        ("agent", "Bye!"),
    ]));
    assert_eq!(widget_transcript(b).await, expected);
    let ids = widget_js(
        b,
        "const ids = [...r.querySelectorAll('.cd-msg')].map(m => m.dataset.id); \
         return [ids.length, new Set(ids).size];",
    )
    .await;
    assert_eq!(ids[0], ids[1], "each message once: {ids}");
    // All of it is one chat on the agent side.
    assert_eq!(channel_cases(app, &channel.id, 1).await.len(), 1);
    drop(site);
}

/// Makes the page's network fail on demand, as a dropped connection does:
/// `window.__offline` fails every fetch; `window.__streams` are the event
/// streams the widget opened.
const NETWORK_SWITCH: &str = "
    window.__offline = false;
    window.__streams = [];
    const realFetch = window.fetch;
    window.fetch = (...args) => window.__offline
        ? Promise.reject(new TypeError('offline')) : realFetch(...args);
    window.EventSource = class extends window.EventSource {
        constructor(url) { super(url); window.__streams.push(this); }
    };
    return true;";

async fn widget_reconnects_after_a_network_drop_and_catches_up(app: &TestApp, b: &Browser) {
    let channel = widget_channel(app, "Flaky chat").await;
    let site = HostSite::start(vec![("/", shop_page(app, &channel.id, "en", ""))]);
    visit(b, &site.url).await;
    b.js(NETWORK_SWITCH).await;
    open_panel(b).await;
    visitor_says(b, "Are you there?").await;
    let case_id = s(&channel_cases(app, &channel.id, 1).await[0]["id"]);
    b.wait_js(
        "the event stream open",
        "window.__streams.length === 1 && window.__streams[0].readyState === 1",
    )
    .await;

    // The connection drops: the stream fails and so does every fetch.
    b.js(
        "window.__offline = true; const es = window.__streams[0]; es.close(); \
          es.dispatchEvent(new Event('error')); return true;",
    )
    .await;
    wait_widget(
        b,
        "the reconnecting line",
        "r.querySelector('.cd-status').textContent === 'Reconnecting…'",
    )
    .await;
    let first = app.reply(&case_id, "Yes, I am here.").await;
    let second = app.reply(&case_id, "Hello?").await;

    // Back online: a new stream, the missed replies once each, the line gone.
    b.js("window.__offline = false; return true;").await;
    wait_message(b, &s(&second["id"]), "agent", "Hello?").await;
    wait_message(b, &s(&first["id"]), "agent", "Yes, I am here.").await;
    wait_widget(
        b,
        "the reconnecting line gone",
        "r.querySelector('.cd-status').textContent === ''",
    )
    .await;
    b.wait_js(
        "a new event stream",
        "window.__streams.length >= 2 && window.__streams.at(-1).readyState === 1",
    )
    .await;
    assert_eq!(
        widget_transcript(b).await,
        pairs(&[
            ("customer", "Are you there?"),
            ("agent", "Yes, I am here."),
            ("agent", "Hello?"),
        ])
    );
    // And live again on the new stream.
    let third = app.reply(&case_id, "Good, you are back.").await;
    wait_message(b, &s(&third["id"]), "agent", "Good, you are back.").await;
    drop(site);
}

async fn widget_identified_user_on_two_devices(app: &TestApp, b: &Browser) {
    let channel = widget_channel(app, "Shop account chat").await;
    let user = "shop-user-4711";
    let hash = user_hash(&channel.secret, user);
    let identified = format!(
        r#"data-casedesk-user-id="{user}" data-casedesk-user-hash="{hash}" data-casedesk-user-name="Anna Petrova""#
    );
    let forged = format!(
        r#"data-casedesk-user-id="{user}" data-casedesk-user-hash="{}""#,
        user_hash("not the secret", user)
    );
    let site = HostSite::start(vec![
        ("/", shop_page(app, &channel.id, "ru", &identified)),
        ("/forged", shop_page(app, &channel.id, "en", &forged)),
        (
            "/en",
            shop_page(
                app,
                &channel.id,
                "ru",
                &format!("{identified} data-casedesk-lang=\"en\""),
            ),
        ),
    ]);

    // The page's <html lang="ru"> picks Russian.
    visit(b, &site.url).await;
    open_panel(b).await;
    assert_eq!(
        widget_js(b, "return r.querySelector('.cd-title').textContent;").await,
        "Напишите нам"
    );
    visitor_says(b, "Здравствуйте, это Анна").await;
    let case = channel_cases(app, &channel.id, 1).await.remove(0);
    let case_id = s(&case["id"]);
    let customer = app
        .ok(
            Method::GET,
            &format!("/api/v1/customers/{}", s(&case["customer_id"])),
            None,
        )
        .await;
    assert_eq!(customer["name"], "Anna Petrova", "{customer}");
    let reply = app.reply(&case_id, "Здравствуйте, Анна!").await;
    wait_message(b, &s(&reply["id"]), "agent", "Здравствуйте, Анна!").await;

    // Another device: nothing stored, the same user id and hash, so the
    // same customer and the whole conversation.
    b.js("localStorage.clear(); return true").await;
    visit(b, &format!("{}/en", site.url)).await;
    open_panel(b).await;
    assert_eq!(
        widget_js(b, "return r.querySelector('.cd-title').textContent;").await,
        "Chat with us",
        "data-casedesk-lang wins over <html lang>"
    );
    wait_widget(
        b,
        "the history on the new device",
        "r.querySelectorAll('.cd-msg').length >= 2",
    )
    .await;
    let history = pairs(&[
        ("customer", "Здравствуйте, это Анна"),
        ("agent", "Здравствуйте, Анна!"),
    ]);
    assert_eq!(widget_transcript(b).await, history);
    visitor_says(b, "Пишу с телефона").await;
    let cases = channel_cases(app, &channel.id, 1).await;
    assert_eq!(s(&cases[0]["id"]), case_id, "the same customer's chat");
    assert_eq!(
        texts(&app.messages(&case_id).await),
        [
            "Здравствуйте, это Анна",
            "Здравствуйте, Анна!",
            "Пишу с телефона"
        ]
    );

    // A forged hash for the same user id gets none of it: the visitor chats
    // anonymously, as someone else.
    visit(b, &format!("{}/forged", site.url)).await;
    open_panel(b).await;
    widget_el(b, ".cd-empty").await;
    assert_eq!(widget_transcript(b).await, Vec::<(String, String)>::new());
    visitor_says(b, "Who am I?").await;
    let cases = channel_cases(app, &channel.id, 2).await;
    let other = cases
        .iter()
        .find(|c| c["id"] != case_id.as_str())
        .expect("a second case");
    assert_ne!(other["customer_id"], case["customer_id"], "{other}");
    assert_eq!(
        widget_transcript(b).await,
        pairs(&[("customer", "Who am I?")])
    );
    drop(site);
}

async fn widget_sending_too_fast_keeps_the_text(app: &TestApp, b: &Browser) {
    let channel = widget_channel(app, "Busy chat").await;
    let site = HostSite::start(vec![("/", shop_page(app, &channel.id, "en", ""))]);
    visit(b, &site.url).await;
    open_panel(b).await;
    visitor_says(b, "message 1").await;
    for i in 2..=10 {
        widget_type(b, "#cd-input", &format!("message {i}{}", keys::ENTER)).await;
    }
    wait_widget(
        b,
        "ten messages stored",
        "r.querySelectorAll('.cd-msg[data-author=customer][data-id]').length === 10",
    )
    .await;
    // The eleventh within ten seconds is refused: a notice, and the text
    // is back in the field, not lost.
    widget_type(b, "#cd-input", &format!("one too many{}", keys::ENTER)).await;
    wait_widget(
        b,
        "the too-fast notice",
        "r.querySelector('.cd-status').textContent.includes('too fast')",
    )
    .await;
    assert_eq!(
        widget_js(b, "return r.querySelector('#cd-input').value;").await,
        "one too many"
    );
    let shown = widget_transcript(b).await;
    assert_eq!(
        shown.len(),
        10,
        "the refused message is not shown: {shown:?}"
    );
    let case_id = s(&channel_cases(app, &channel.id, 1).await[0]["id"]);
    assert_eq!(texts(&app.messages(&case_id).await).len(), 10);
    drop(site);
}

async fn widget_on_a_site_not_allowed_marks_the_message_not_sent(app: &TestApp, b: &Browser) {
    let channel = widget_channel_for(app, "Shop only", &["https://shop.example"]).await;
    let site = HostSite::start(vec![("/", shop_page(app, &channel.id, "en", ""))]);
    visit(b, &site.url).await;
    open_panel(b).await;
    widget_type(b, "#cd-input", &format!("Can you hear me?{}", keys::ENTER)).await;
    // The server refuses this origin: after its retries the widget says so
    // instead of pretending.
    wait_widget(
        b,
        "the message marked not sent",
        "r.querySelector('.cd-msg.cd-failed .cd-retry')",
    )
    .await;
    assert_eq!(channel_cases(app, &channel.id, 0).await.len(), 0);
    // The admin allows the site; the visitor retries and it is stored once.
    app.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{}", channel.id),
        Some(json!({"allowed_origins": [site.url]})),
    )
    .await;
    widget_click(b, ".cd-retry").await;
    wait_widget(
        b,
        "the message sent",
        "r.querySelector('.cd-msg[data-author=customer][data-id]') && !r.querySelector('.cd-failed')",
    )
    .await;
    let case_id = s(&channel_cases(app, &channel.id, 1).await[0]["id"]);
    assert_eq!(texts(&app.messages(&case_id).await), ["Can you hear me?"]);
    let reply = app.reply(&case_id, "Loud and clear.").await;
    wait_message(b, &s(&reply["id"]), "agent", "Loud and clear.").await;
    drop(site);
}

async fn widget_visitor_ends_the_chat(app: &TestApp, b: &Browser) {
    let channel = widget_channel(app, "Ending chat").await;
    let site = HostSite::start(vec![("/", shop_page(app, &channel.id, "en", ""))]);
    visit(b, &site.url).await;
    open_panel(b).await;
    // Nothing to end before the visitor has written.
    assert_eq!(
        widget_js(b, "return r.querySelector('#cd-end').hidden;").await,
        true
    );
    visitor_says(b, "Where is my parcel?").await;
    let case_id = s(&channel_cases(app, &channel.id, 1).await[0]["id"]);
    let reply = app.reply(&case_id, "It arrives tomorrow.").await;
    wait_message(b, &s(&reply["id"]), "agent", "It arrives tomorrow.").await;

    // End chat asks first, inside the panel; No leaves the chat as it was.
    widget_click(b, "#cd-end").await;
    widget_el(b, "#cd-end-yes").await;
    assert_eq!(
        widget_js(b, "return r.querySelector('.cd-confirm').textContent;").await,
        "End this chat?YesNo"
    );
    widget_click(b, "#cd-end-no").await;
    wait_widget(
        b,
        "the confirm row gone",
        "r.querySelector('.cd-confirm').hidden",
    )
    .await;
    assert_eq!(app.case(&case_id).await["status"], "open");

    widget_click(b, "#cd-end").await;
    widget_click(b, "#cd-end-yes").await;
    wait_widget(
        b,
        "the chat-ended line",
        "r.querySelector('.cd-ended') && \
         r.querySelector('.cd-ended').textContent === 'Chat ended. Write to start a new one.'",
    )
    .await;
    wait_widget(
        b,
        "End chat hidden",
        "r.querySelector('#cd-end').hidden && r.querySelector('.cd-confirm').hidden",
    )
    .await;
    assert_eq!(
        widget_js(b, "return r.querySelector('.cd-status').textContent;").await,
        ""
    );

    // The customer closed their own case: closed, the chat finished, and
    // the history says who did it.
    let closed = app.case(&case_id).await;
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(closed["chat_state"], "finished", "{closed}");
    let events = app.events(&case_id).await;
    let last = events.last().expect("an event");
    assert_eq!(last["kind"], "closed_by_customer", "{last}");
    assert_eq!(last["actor"]["type"], "customer", "{last}");

    // The visitor writes again: a new case linked to the closed one, and
    // End chat is back for it.
    visitor_says(b, "One more thing").await;
    let cases = channel_cases(app, &channel.id, 2).await;
    let next = cases
        .iter()
        .find(|c| c["id"] != case_id.as_str())
        .expect("a new case");
    let next_id = s(&next["id"]);
    assert_eq!(next["previous_case_id"], case_id.as_str(), "{next}");
    assert_eq!(next["status"], "open", "{next}");
    assert_eq!(next["chat_state"], "active", "{next}");
    assert_eq!(texts(&app.messages(&next_id).await), ["One more thing"]);
    assert_eq!(app.case(&case_id).await["status"], "closed");
    widget_el(b, "#cd-end").await;

    // One list in the widget: both cases, the line between them.
    let reply2 = app.reply(&next_id, "Go ahead.").await;
    wait_message(b, &s(&reply2["id"]), "agent", "Go ahead.").await;
    assert_eq!(
        widget_transcript(b).await,
        pairs(&[
            ("customer", "Where is my parcel?"),
            ("agent", "It arrives tomorrow."),
            ("customer", "One more thing"),
            ("agent", "Go ahead."),
        ])
    );
    let order = widget_js(
        b,
        "return [...r.querySelectorAll('.cd-msg')].map(m => \
         m.classList.contains('cd-ended') ? 'ended' : m.dataset.case);",
    )
    .await;
    assert_eq!(
        order,
        json!([case_id, case_id, "ended", next_id, next_id]),
        "the ended line between the two cases"
    );
    drop(site);
}

async fn widget_visitor_sends_and_receives_files(app: &TestApp, b: &Browser) {
    let channel = widget_channel(app, "Files chat").await;
    let site = HostSite::start(vec![("/", shop_page(app, &channel.id, "en", ""))]);
    let files = tempfile::tempdir().expect("a folder for the visitor's files");
    visit(b, &site.url).await;
    open_panel(b).await;
    widget_el(b, ".cd-attach").await;
    let accept = s(&widget_js(b, "return r.querySelector('.cd-file').accept;").await);
    assert!(
        ["image/png", "application/pdf", ".docx", ".zip", "text/csv"]
            .iter()
            .all(|kind| accept.contains(kind)),
        "the picker offers what the server takes: {accept}"
    );

    // The visitor's first message is a photo: it starts the chat, and its
    // thumbnail is the image itself, fetched with the visitor's token.
    let photo = files.path().join("damage.png");
    std::fs::write(&photo, PHOTO).expect("write the photo");
    visitor_attaches(b, &photo).await;
    let thumb = ".cd-msg[data-author=customer][data-id] .cd-att-img";
    wait_widget(
        b,
        "the photo's thumbnail, loaded",
        &format!("(i => !!i && i.complete && i.naturalWidth === 12)(r.querySelector('{thumb}'))"),
    )
    .await;
    let shown = widget_js(
        b,
        &format!(
            "const m = r.querySelector('{thumb}').closest('.cd-msg'); \
             const a = m.querySelector('.cd-att-open'); \
             return [m.dataset.id, m.querySelector('.cd-bubble').hidden, a.target, \
                     a.href.startsWith('blob:'), r.querySelector('{thumb}').alt];"
        ),
    )
    .await;
    let case_id = s(&channel_cases(app, &channel.id, 1).await[0]["id"]);
    let stored = app.messages(&case_id).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        shown,
        json!([s(&stored[0]["id"]), true, "_blank", true, "damage.png"])
    );
    assert_eq!(stored[0]["author"]["type"], "customer");
    assert_eq!(
        stored[0]["text"], "damage.png",
        "the file's name is its text"
    );
    let file = &stored[0]["attachments"][0];
    assert_eq!(file["filename"], "damage.png", "{file}");
    assert_eq!(file["content_type"], "image/png", "{file}");
    assert_eq!(file["size_bytes"], PHOTO.len(), "{file}");
    let resp = app
        .http
        .get(format!(
            "{}/api/v1/attachments/{}",
            app.base,
            s(&file["id"])
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("the agent downloads the photo");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    assert_eq!(resp.bytes().await.expect("the bytes").as_ref(), PHOTO);

    // A click on the thumbnail opens the full image in a new tab.
    let before = b.client.windows().await.expect("window handles");
    widget_click(b, ".cd-att-open").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let tab = loop {
        let now = b.client.windows().await.expect("window handles");
        if let Some(w) = now.into_iter().find(|w| !before.contains(w)) {
            break w;
        }
        assert!(tokio::time::Instant::now() < deadline, "no new tab opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    b.client
        .switch_to_window(tab)
        .await
        .expect("switch to the tab");
    b.wait_js(
        "the full image in the tab",
        "location.protocol === 'blob:' && document.images.length === 1 \
         && document.images[0].naturalWidth === 12",
    )
    .await;
    b.client.close_window().await.expect("close the tab");
    b.client
        .switch_to_window(before[0].clone())
        .await
        .expect("back to the shop");

    // The agent answers with a PDF: a file chip, live, downloaded on click.
    let pdf = b"%PDF-1.4\n% casedesk test invoice\n%%EOF\n";
    let reply = agent_sends_file(app, &case_id, "invoice.pdf", pdf).await;
    let reply_id = s(&reply["id"]);
    let chip = format!(".cd-msg[data-author=agent][data-id='{reply_id}'] .cd-att-file");
    wait_widget(
        b,
        "the invoice's chip, live",
        &format!("r.querySelector(\"{chip}\")"),
    )
    .await;
    let label = widget_js(
        b,
        &format!(
            "const c = r.querySelector(\"{chip}\"); \
             return [c.querySelector('.cd-att-name').textContent, c.querySelector('.cd-att-size').textContent];"
        ),
    )
    .await;
    assert_eq!(label, json!(["invoice.pdf", format!("{} B", pdf.len())]));
    // The browser's download is stood in for: the link the widget clicks
    // is caught, and its blob read back.
    b.js("window.__downloads = []; \
          const click = HTMLAnchorElement.prototype.click; \
          HTMLAnchorElement.prototype.click = function () { \
            if (!this.download) return click.call(this); \
            const name = this.download; \
            fetch(this.href).then(r => r.text()).then(t => window.__downloads.push([name, t])); \
          }; return true;")
        .await;
    widget_click(b, &chip).await;
    b.wait_js("the invoice downloaded", "window.__downloads.length === 1")
        .await;
    assert_eq!(
        b.js("return window.__downloads[0]").await,
        json!(["invoice.pdf", String::from_utf8_lossy(pdf)])
    );

    // Files the server would refuse are told so, and make no message: one
    // too large is stopped here, an executable by the server.
    let customer_messages = "r.querySelectorAll('.cd-msg[data-author=customer]').length";
    let big = files.path().join("scan.pdf");
    let mut too_big = b"%PDF-1.4\n".to_vec();
    too_big.resize(10 * 1024 * 1024 + 1, b' ');
    std::fs::write(&big, too_big).expect("write the large file");
    visitor_attaches(b, &big).await;
    wait_widget(
        b,
        "the too-large notice",
        "r.querySelector('.cd-status').textContent === 'The file is too large (at most 10 MB).'",
    )
    .await;
    assert_eq!(
        widget_js(b, &format!("return {customer_messages};")).await,
        1
    );
    let exe = files.path().join("setup.exe");
    std::fs::write(
        &exe,
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",
    )
    .expect("write the executable");
    visitor_attaches(b, &exe).await;
    wait_widget(
        b,
        "the not-accepted notice",
        "r.querySelector('.cd-status').textContent.startsWith('This kind of file is not accepted.')",
    )
    .await;
    assert_eq!(
        widget_js(b, &format!("return {customer_messages};")).await,
        1
    );
    assert_eq!(
        app.messages(&case_id).await.len(),
        2,
        "no message for either"
    );

    // After a reload both files come back from the history.
    b.client.refresh().await.expect("reload");
    widget_el(b, "#cd-launcher").await;
    open_panel(b).await;
    wait_widget(
        b,
        "both files after the reload",
        &format!(
            "(i => !!i && i.naturalWidth === 12)(r.querySelector('{thumb}')) \
             && r.querySelector(\"{chip}\")"
        ),
    )
    .await;
    drop(site);
}
