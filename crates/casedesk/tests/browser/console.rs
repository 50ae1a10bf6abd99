//! The agent console (issue 20): the case's life in the conversation and
//! its History panel, a long chat opening at the newest message, queues
//! and assign-on-reply, friendly visitor names, errors in the agent's
//! language with a retry, drafts, keys and the palette, the End chat
//! dialog, and the phone layout.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Browser, keys};
use crate::helpers::{TestApp, s};
use crate::scenarios::{chat, open_case};
use crate::telegram::sign_in_as_admin;

scenarios!(
    case_life_in_thread_and_history,
    long_chat_opens_at_newest_with_reply_focused,
    queues_and_assign_on_reply,
    visitor_gets_a_friendly_name,
    lost_connection_retry_and_drafts,
    keys_palette_and_end_chat_dialog,
    russian_lines_errors_and_reactions,
    desktop_notifications_and_channel_rename,
    accessibility_scan_of_every_page,
);

/// The kinds of the thread's items in order: `message` or an event kind.
async fn thread_kinds(b: &Browser) -> Vec<String> {
    let v = b
        .js(
            "return [...document.querySelectorAll('[data-test=thread] > li')]\
             .map(li => li.dataset.test === 'event-line' ? li.dataset.kind : 'message')",
        )
        .await;
    v.as_array()
        .expect("array")
        .iter()
        .map(|k| k.as_str().expect("text").to_owned())
        .collect()
}

async fn case_life_in_thread_and_history(app: &TestApp, b: &Browser) {
    sign_in_as_admin(b).await;
    let id = chat(app, "life-1", "life-1a", "The printer is broken").await;
    app.reply(&id, "Have you tried turning it off and on?")
        .await;
    let (st, _) = app.finish(&id, "pending").await;
    assert!(st.is_success());
    let r = app.customer_says("life-1", "life-1b", "Still broken").await;
    assert_eq!(r["outcome"], "reopened");
    open_case(b, &id).await;
    // Where the chat ended and reopened is in the conversation, in order.
    assert_eq!(
        thread_kinds(b).await,
        [
            "message", "updated", "message", "finished", "reopened", "message"
        ],
        "customer, assigned by the reply, reply, ended, reopened, customer"
    );
    b.wait_text(
        "[data-test=event-line][data-kind=finished]",
        "Chat ended by You — pending",
    )
    .await;
    b.wait_text(
        "[data-test=event-line][data-kind=updated]",
        "You took the case by replying",
    )
    .await;
    b.wait_text(
        "[data-test=event-line][data-kind=reopened]",
        "Reopened by the customer",
    )
    .await;
    // The History panel: every event, who, before → after, when.
    b.click("[data-test=history-toggle]").await;
    b.wait_css("[data-test=history-list]").await;
    let kinds = b
        .js("return [...document.querySelectorAll('[data-test=history-item]')].map(e => e.dataset.kind)")
        .await;
    assert_eq!(
        kinds,
        json!(["reopened", "finished", "updated", "created"]),
        "newest first"
    );
    b.wait_text(
        "[data-test=history-item][data-kind=finished] [data-test=history-change][data-field=status]",
        "Status: open → pending",
    )
    .await;
    b.wait_text(
        "[data-test=history-item][data-kind=updated] [data-test=history-change][data-field=assignee_id]",
        "Assignee: none → admin",
    )
    .await;
    assert_eq!(
        b.js("return !!document.querySelector('[data-test=history-item] time[datetime]')")
            .await,
        true,
        "each event says when"
    );
    b.js("window.scrollTo(0, 0)").await;
    b.screenshot("docs-history").await;
    // The panel stays open across live reloads.
    app.customer_says("life-1", "life-1c", "Hello?").await;
    b.wait_text("[data-test=message-text]", "Hello?").await;
    assert_eq!(
        b.js("return document.querySelector('[data-test=history-panel]').open")
            .await,
        true
    );
    b.click("[data-test=history-toggle]").await;
    // Closed, the next message is a new case: it names the one before in
    // the conversation, and the contact's earlier cases are listed.
    let number = app.case(&id).await["number"].clone();
    let (st, _) = app.finish(&id, "closed").await;
    assert!(st.is_success());
    let next = chat(app, "life-1", "life-1d", "Now the scanner").await;
    assert_ne!(next, id);
    open_case(b, &next).await;
    b.wait_text(
        "[data-test=event-line][data-kind=created]",
        &format!("New case; the customer's previous one is #{number}"),
    )
    .await;
    b.wait_text("[data-test=earlier-case]", &format!("#{number}"))
        .await;
    b.wait_text("[data-test=earlier-case] [data-test=status]", "closed")
        .await;
}

async fn long_chat_opens_at_newest_with_reply_focused(app: &TestApp, b: &Browser) {
    let id = chat(app, "long-1", "long-1-0", "Message number 0").await;
    for i in 1..35 {
        app.customer_says(
            "long-1",
            &format!("long-1-{i}"),
            &format!("Message number {i}"),
        )
        .await;
    }
    b.goto("/#/active").await;
    open_case(b, &id).await;
    b.wait_text("[data-test=thread]", "Message number 34").await;
    // The newest message and the reply box are in view, the box focused,
    // the case's head still on screen.
    b.wait_js(
        "the page at its newest message",
        "(() => { const msgs = document.querySelectorAll('[data-test=message]'); \
           const last = msgs[msgs.length - 1].getBoundingClientRect(); \
           const reply = document.querySelector('[data-test=reply]'); \
           const r = reply.getBoundingClientRect(); \
           const head = document.querySelector('.case-header').getBoundingClientRect(); \
           return last.bottom <= innerHeight && r.bottom <= innerHeight && r.top >= 0 \
             && document.activeElement === reply && head.top >= 0 && head.bottom < innerHeight / 2; })()",
    )
    .await;
    assert!(
        b.js("return document.documentElement.scrollHeight > innerHeight * 1.5")
            .await
            == Value::Bool(true),
        "the chat is longer than the window"
    );
    // On a wide screen the contact is a column beside the conversation,
    // still in sight at its newest message; on a laptop it is under the
    // head.
    b.wait_text("[data-test=contact-panel] [data-test=customer-link]", "Ann")
        .await;
    let beside = "(() => { const p = document.querySelector('[data-test=contact-panel]').getBoundingClientRect(); \
           const t = document.querySelector('[data-test=thread]').getBoundingClientRect(); \
           return p.left >= t.right && p.top >= 0 && p.bottom <= innerHeight; })()";
    b.set_window(1600, 900).await;
    b.wait_js("the contact beside the thread", beside).await;
    b.screenshot("docs-contact").await;
    b.set_window(1100, 900).await;
    b.wait_js(
        "the contact under the head",
        "(() => { const p = document.querySelector('[data-test=contact-panel]').getBoundingClientRect(); \
           const t = document.querySelector('[data-test=thread]').getBoundingClientRect(); \
           return p.bottom <= t.top && p.left < t.right; })()",
    )
    .await;
    b.set_window(1280, 900).await;
}

async fn queues_and_assign_on_reply(app: &TestApp, b: &Browser) {
    let queues = app.ok(Method::GET, "/api/v1/cases/queues", None).await;
    let unassigned = queues["unassigned"].as_i64().expect("count");
    let mine = queues["mine"].as_i64().expect("count");
    let id = chat(app, "queue-1", "queue-1a", "Nobody's yet").await;
    b.goto("/#/active").await;
    let count = |q: &str| format!("[data-test=queue-{q}] [data-test=queue-count]");
    b.wait_text(&count("unassigned"), &(unassigned + 1).to_string())
        .await;
    // A reply from the page assigns the agent who wrote it.
    open_case(b, &id).await;
    b.type_into(
        "[data-test=reply]",
        &format!("On it{}{}", keys::CONTROL, keys::ENTER),
    )
    .await;
    b.wait_js(
        "the assignee select to show the replying agent",
        "document.querySelector('[data-test=assignee-select]').selectedOptions[0].textContent === 'admin'",
    )
    .await;
    b.wait_text(
        "[data-test=event-line][data-kind=updated]",
        "took the case by replying",
    )
    .await;
    assert_eq!(
        app.case(&id).await["assignee_id"],
        app.ok(Method::GET, "/api/v1/me", None).await["id"]
    );
    // The customer answers: the case is open and mine.
    app.customer_says("queue-1", "queue-1b", "Thanks, and another thing")
        .await;
    b.wait_text(&count("mine"), &(mine + 1).to_string()).await;
    // A chat that ends unanswered stays in sight under the active ones.
    let unanswered = chat(app, "queue-2", "queue-2a", "Anyone there?").await;
    let (st, _) = app.finish(&unanswered, "open").await;
    assert!(st.is_success());
    let item = format!("[data-test=unanswered-chat][data-case-id='{unanswered}']");
    b.wait_css(&item).await;
    b.wait_js(
        "the ended chat to leave the active list",
        &format!(
            "!document.querySelector(\"[data-test=active-chat][data-case-id='{unanswered}']\")"
        ),
    )
    .await;
    // The case list's queue tabs: Mine holds the case, with its count.
    b.click("[data-test=queue-mine]").await;
    b.wait_css("[data-test=tab-mine].current").await;
    b.wait_css(&format!("[data-test=case-rows] tr[data-case-id='{id}']"))
        .await;
    b.screenshot("docs-queues").await;
    b.click("[data-test=tab-unassigned]").await;
    b.wait_css(&format!(
        "[data-test=case-rows] tr[data-case-id='{unanswered}']"
    ))
    .await;
    b.wait_gone(&format!("[data-test=case-rows] tr[data-case-id='{id}']"))
        .await;
}

async fn visitor_gets_a_friendly_name(app: &TestApp, b: &Browser) {
    let (ch, _) = app.widget_channel(&[]).await;
    let visitor = app.new_visitor(&ch).await;
    let (st, v) = app
        .visitor_posts(
            &ch,
            &visitor,
            json!({"text": "Hi from the site", "client_id": "friendly-1",
                "page": "https://shop.example/pricing?utm=1"}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let case_id = s(&v["message"]["case_id"]);
    b.goto("/#/cases?q=from%20the%20site").await;
    let row = format!("[data-test=case-rows] tr[data-case-id='{case_id}']");
    b.wait_css(&row).await;
    b.wait_js(
        "the visitor's friendly name",
        &format!(
            "/^Visitor \\d{{4}}$/.test(document.querySelector(\"{row} .customer-name\").textContent)"
        ),
    )
    .await;
    let name = b.text(&format!("{row} .customer-name")).await;
    // The same name on the case page, never the raw id.
    open_case(b, &case_id).await;
    b.wait_text("[data-test=customer-link]", &name).await;
    assert!(
        !b.text("[data-test=customer-link]")
            .await
            .contains("visitor:")
    );
    // Where they wrote from, without the query.
    b.wait_text("[data-test=visitor-page]", "on shop.example/pricing")
        .await;
    assert!(!b.text("[data-test=visitor-page]").await.contains("utm"));
}

async fn lost_connection_retry_and_drafts(app: &TestApp, b: &Browser) {
    let first = chat(app, "draft-1", "draft-1a", "First chat").await;
    let second = chat(app, "draft-2", "draft-2a", "Second chat").await;
    // A draft stays with its case across navigation.
    open_case(b, &first).await;
    b.type_into("[data-test=reply]", "Half-written answer")
        .await;
    open_case(b, &second).await;
    assert_eq!(
        b.js("return document.querySelector('[data-test=reply]').value")
            .await,
        ""
    );
    open_case(b, &first).await;
    assert_eq!(
        b.js("return document.querySelector('[data-test=reply]').value")
            .await,
        "Half-written answer"
    );
    // The connection drops: the reply stays in the box, marked not sent,
    // in words, with a retry.
    b.js("window.__fetch = window.fetch; window.fetch = () => Promise.reject(new TypeError('Failed to fetch'));")
        .await;
    b.click("[data-test=send-reply]").await;
    b.wait_text(
        "[data-test=send-error]",
        "Reply not sent: No connection to the server",
    )
    .await;
    assert_eq!(
        b.js("return document.querySelector('[data-test=reply]').value")
            .await,
        "Half-written answer"
    );
    assert!(
        app.messages(&first)
            .await
            .iter()
            .all(|m| m["text"] != "Half-written answer")
    );
    b.js("window.fetch = window.__fetch;").await;
    b.click("[data-test=send-retry]").await;
    b.wait_text(
        ".msg.from-agent [data-test=message-text]",
        "Half-written answer",
    )
    .await;
    b.wait_gone("[data-test=send-error]").await;
    // Sent: the draft is gone.
    open_case(b, &second).await;
    open_case(b, &first).await;
    assert_eq!(
        b.js("return document.querySelector('[data-test=reply]').value")
            .await,
        ""
    );
}

async fn keys_palette_and_end_chat_dialog(app: &TestApp, b: &Browser) {
    let one = chat(app, "keys-1", "keys-1a", "Keys one").await;
    let two = chat(app, "keys-2", "keys-2a", "Keys two").await;
    let number_one = app.case(&one).await["number"].clone();
    b.goto("/#/active").await;
    b.wait_css(&format!("[data-test=active-chat][data-case-id='{two}']"))
        .await;
    open_case(b, &two).await;
    // Alt+J: the next chat of the sidebar (the newest first, so `one`).
    let reply = b.wait_css("[data-test=reply]").await;
    reply
        .send_keys(&format!("{}j", keys::ALT))
        .await
        .expect("Alt+J");
    b.wait_js(
        "the next chat",
        &format!("location.hash === '#/case/{one}'"),
    )
    .await;
    // Ctrl+K: the palette finds a chat by its number.
    let reply = b.wait_css("[data-test=reply]").await;
    reply
        .send_keys(&format!("{}k", keys::CONTROL))
        .await
        .expect("Ctrl+K");
    b.type_into("[data-test=palette-input]", "keys two").await;
    b.wait_text("[data-test=palette-item]", "Keys two").await;
    b.type_into("[data-test=palette-input]", &keys::ENTER.to_string())
        .await;
    b.wait_js(
        "the palette's chat",
        &format!("location.hash === '#/case/{two}'"),
    )
    .await;
    b.wait_gone("[data-test=dialog]").await;
    open_case(b, &one).await;
    b.wait_text("[data-test=case-number]", &format!("#{number_one}"))
        .await;
    // End chat: each status explained; "waiting on the customer" has the
    // focus; Esc gives the focus back to the reply box.
    b.click("[data-test=reply]").await;
    b.click("[data-test=end-chat]").await;
    b.wait_text(
        "[data-test=dialog]",
        "the next message comes back to this case",
    )
    .await;
    assert_eq!(
        b.js("return document.activeElement.dataset.test").await,
        "finish-pending"
    );
    let focused = b.wait_css("[data-test=finish-pending]").await;
    focused
        .send_keys(&keys::ESCAPE.to_string())
        .await
        .expect("Esc");
    b.wait_gone("[data-test=dialog]").await;
    assert_eq!(
        b.js("return document.activeElement.dataset.test").await,
        "end-chat",
        "the focus goes back where it was"
    );
    assert_eq!(app.case(&one).await["chat_state"], "active");
}

async fn russian_lines_errors_and_reactions(app: &TestApp, b: &Browser) {
    let id = chat(app, "ru-life", "ru-life-a", "Привет").await;
    app.react("ru-life", "ru-life-a", "👍").await;
    let (st, _) = app.finish(&id, "closed").await;
    assert!(st.is_success());
    b.goto("/#/active").await;
    b.wait_css("[data-test=lang]").await;
    b.js("const s = document.querySelector('[data-test=lang]'); s.value = 'ru'; s.dispatchEvent(new Event('change'));")
        .await;
    b.wait_text("nav [data-nav=cases]", "Обращения").await;
    open_case(b, &id).await;
    b.wait_text(
        "[data-test=event-line][data-kind=finished]",
        "Чат завершил(а) Вы — закрытое",
    )
    .await;
    // The reaction's note in the agent's words and time, not raw UTC.
    b.wait_text(
        ".msg-note [data-test=message-text]",
        "👍 реакция на сообщение от",
    )
    .await;
    assert!(
        !b.text(".msg-note [data-test=message-text]")
            .await
            .contains('Z'),
        "no raw UTC time"
    );
    // A refused action says why in Russian (the server's code translated).
    let (st, v) = app
        .call(Method::POST, &format!("/api/v1/cases/{id}/split"), None)
        .await;
    assert_eq!(st, reqwest::StatusCode::CONFLICT, "{v}");
    b.js(&format!(
        "import('/assets/app/api.js').then(m => m.api('POST', '/api/v1/cases/{id}/split')).catch(e => {{ window.__err = e.message; }})"
    ))
    .await;
    b.wait_js(
        "the translated error",
        "window.__err && window.__err.startsWith('Выделять нечего')",
    )
    .await;
    // An error with values: the sentence takes them from the error.
    b.js(
        "import('/assets/app/api.js').then(m => m.api('PATCH', '/api/v1/settings', \
          { chat_auto_finish_after_seconds: 0 })).catch(e => { window.__err2 = e.message; })",
    )
    .await;
    b.wait_js(
        "the translated error with its values",
        "window.__err2 === 'Каждое время должно быть от 1 до 31622400 секунд.'",
    )
    .await;
    b.js("const s = document.querySelector('[data-test=lang]'); s.value = 'en'; s.dispatchEvent(new Event('change'));")
        .await;
    b.wait_text("nav [data-nav=cases]", "Cases").await;
}

/// axe-core on every page of the app (and the login page, and a case at
/// phone width): no serious or critical WCAG 2.1 A/AA finding.
async fn accessibility_scan_of_every_page(app: &TestApp, b: &Browser) {
    sign_in_as_admin(b).await;
    let id = chat(app, "a11y", "a11y-1", "Is this page accessible?").await;
    app.reply(&id, "Let us check").await;
    app.note(&id, "An internal note").await;
    let label = app
        .ok(
            Method::POST,
            "/api/v1/labels",
            Some(json!({"name": "A11y check", "color": "#f5d90a"})),
        )
        .await;
    app.ok(
        Method::POST,
        &format!("/api/v1/cases/{id}/labels"),
        Some(json!({"label_id": label["id"]})),
    )
    .await;
    let customer = s(&app.case(&id).await["customer_id"]);
    let pages: Vec<(String, &str)> = vec![
        ("/#/active".into(), "[data-test=welcome]"),
        (format!("/#/case/{id}"), "[data-test=history-count]"),
        ("/#/cases".into(), "[data-test=case-rows] tr"),
        ("/#/cases?queue=mine".into(), "[data-test=tab-mine].current"),
        (
            format!("/#/customer/{customer}"),
            "[data-test=customer-name]",
        ),
        ("/#/reports".into(), "[data-test=figure-created]"),
        ("/#/templates".into(), "main h1"),
        ("/#/rules".into(), "main h1"),
        ("/#/settings".into(), "[data-test=after-seconds]"),
        ("/#/profile".into(), "[data-test=profile]"),
    ];
    let mut findings = Vec::new();
    for (path, ready) in &pages {
        b.goto(path).await;
        b.wait_css(ready).await;
        for f in b.accessibility_findings().await {
            findings.push(format!("{path}: {f}"));
        }
    }
    // The History panel open, and the case at phone width.
    b.goto(&format!("/#/case/{id}")).await;
    b.click("[data-test=history-toggle]").await;
    b.wait_css("[data-test=history-list]").await;
    for f in b.accessibility_findings().await {
        findings.push(format!("case with history: {f}"));
    }
    b.set_window(390, 844).await;
    b.wait_css("[data-test=reply]").await;
    let phone = b.accessibility_findings().await;
    b.set_window(1280, 900).await;
    findings.extend(phone.into_iter().map(|f| format!("case at 390 px: {f}")));
    // The login page.
    b.click("[data-test=logout]").await;
    b.wait_css("[data-test=login-form]").await;
    for f in b.accessibility_findings().await {
        findings.push(format!("login: {f}"));
    }
    sign_in_as_admin(b).await;
    assert!(
        findings.is_empty(),
        "accessibility findings:\n{}",
        findings.join("\n")
    );
}

/// The browser's notifications are stood in for by a recorder (headless
/// Chromium has no desktop), the page is made to look hidden: a new case
/// and a customer's message notify, an agent's own reply does not. Then a
/// channel renamed from Settings.
async fn desktop_notifications_and_channel_rename(app: &TestApp, b: &Browser) {
    b.goto("/#/active").await;
    b.wait_css("[data-test=queues]").await;
    b.js("localStorage.removeItem('casedesk.notify.asked'); \
          window.__notes = []; \
          window.Notification = class { \
            constructor(title, opts) { window.__notes.push(title); } \
            static get permission() { return window.__permission || 'default'; } \
            static requestPermission() { window.__permission = 'granted'; return Promise.resolve('granted'); } \
          };")
        .await;
    // The offer is drawn with the page: reload the frame around it.
    b.js("const s = document.querySelector('[data-test=lang]'); s.dispatchEvent(new Event('change'));")
        .await;
    b.click("[data-test=notify-enable]").await;
    b.wait_gone("[data-test=notify-offer]").await;
    assert_eq!(b.js("return Notification.permission").await, "granted");
    b.js("Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });")
        .await;
    let id = chat(app, "notify-1", "notify-1a", "Ping").await;
    let number = app.case(&id).await["number"].clone();
    b.wait_js(
        "a notification of the new case",
        &format!("window.__notes.includes('New case #{number}')"),
    )
    .await;
    app.reply(&id, "Pong").await;
    app.customer_says("notify-1", "notify-1b", "Thanks").await;
    b.wait_js(
        "a notification of the customer's message",
        &format!("window.__notes.includes('New message in #{number}')"),
    )
    .await;
    assert_eq!(
        b.js(&format!(
            "return window.__notes.filter(n => n === 'New message in #{number}').length"
        ))
        .await,
        1,
        "the agent's own reply notifies nobody"
    );
    b.js("delete document.hidden;").await;
    b.wait_gone("[data-test=notify-offer]").await;

    // Rename a channel from Settings: the new name shows on its cases.
    let channel = app.ok(Method::GET, "/api/v1/channels", None).await["items"][0].clone();
    let row = format!(".channel-item[data-id='{}']", s(&channel["id"]));
    b.goto("/#/settings").await;
    b.click(&format!("{row} [data-test=channel-rename]")).await;
    let input = b.wait_css("[data-test=channel-rename-input]").await;
    input.clear().await.expect("clear");
    input.send_keys("Shop messenger").await.expect("type");
    b.click("[data-test=channel-rename-save]").await;
    b.wait_text(&format!("{row} .channel-name"), "Shop messenger")
        .await;
    assert_eq!(
        app.ok(Method::GET, "/api/v1/channels", None).await["items"][0]["name"],
        "Shop messenger"
    );
    open_case(b, &id).await;
    b.wait_text("[data-test=case-channel]", "Shop messenger")
        .await;
    // Turned off after a question, and on again.
    b.goto("/#/settings").await;
    b.click(&format!("{row} [data-test=channel-disable]")).await;
    b.wait_text("[data-test=dialog]", "stops taking messages in")
        .await;
    b.click("[data-test=channel-disable-confirm]").await;
    b.wait_css(&format!("{row} [data-test=channel-off]")).await;
    let (st, v) = app
        .inbound(json!({"type": "message", "message_id": "while-off",
            "customer": {"id": "notify-1"}, "text": "Hello?"}))
        .await;
    assert_eq!(v["error"]["code"], "channel_disabled", "{st} {v}");
    b.click(&format!("{row} [data-test=channel-enable]")).await;
    b.wait_gone(&format!("{row} [data-test=channel-off]")).await;
    assert_eq!(
        app.ok(Method::GET, "/api/v1/channels", None).await["items"][0]["disabled"],
        false
    );
    app.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{}", s(&channel["id"])),
        Some(json!({"name": channel["name"]})),
    )
    .await;

    // A channel no longer used is removed after a question: it leaves
    // Settings, and its case keeps its name, marked removed.
    let old = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "api", "name": "Old line"})),
        )
        .await;
    let old_id = s(&old["id"]);
    let (st, v) = app
        .inbound_to(
            &old_id,
            &s(&old["inbound_token"]),
            json!({"type": "message", "message_id": "old-1",
                "customer": {"id": "old-customer"}, "text": "Via the old line"}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let old_case = s(&v["case_id"]);
    let old_row = format!(".channel-item[data-id='{old_id}']");
    // The page reads the channels when it loads.
    b.goto("/#/settings").await;
    b.js("location.reload()").await;
    b.wait_css(&old_row).await;
    b.click(&format!("{old_row} [data-test=channel-remove]"))
        .await;
    b.wait_text("[data-test=dialog]", "cannot be undone").await;
    b.click("[data-test=channel-remove-confirm]").await;
    b.wait_gone(&old_row).await;
    let listed = app.ok(Method::GET, "/api/v1/channels", None).await;
    let removed = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["id"] == old_id.as_str())
        .expect("still listed")
        .clone();
    assert_eq!(removed["removed"], true, "{removed}");
    open_case(b, &old_case).await;
    b.wait_text("[data-test=case-channel]", "Old line (removed)")
        .await;
}
