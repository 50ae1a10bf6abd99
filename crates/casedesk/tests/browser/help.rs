//! The Help Center as a customer meets it: opened from the chat widget's
//! "My requests" link in a new tab (signed in by that one-time link), where
//! they read and close their request, after which their next chat message
//! starts a new one (R5, R6 d); the sign-in form strangers see, in both
//! languages, with a used link; another customer's request by its id; and
//! the files of a request.

use std::time::Duration;

use fantoccini::wd::WindowHandle;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Browser, PATIENCE};
use crate::helpers::{TestApp, s};
use crate::widget::{
    HostSite, PHOTO, channel_cases, js_str, pairs, visitor_says, wait_widget, widget_channel,
    widget_click,
};

scenarios!(
    help_center_close_then_new_case,
    help_center_sign_in_form,
    help_center_isolation_in_browser,
    help_center_shows_files,
);

/// A customer's plain shop page with the widget snippet, served by a
/// [`HostSite`] on an origin of its own (the widget is cross-origin in
/// production too).
fn shop(app: &TestApp, channel_id: &str) -> HostSite {
    HostSite::start(vec![(
        "/",
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme shop</title></head>
<body><h1>Acme shop</h1>
<script src="{base}/widget.js" data-casedesk-channel="{channel_id}" async></script>
</body></html>"#,
            base = app.base
        ),
    )])
}

/// A widget API call as a visitor, the way the widget's page makes it.
async fn widget_api(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Value {
    let (status, _, value) = app
        .widget_call(
            Method::POST,
            path,
            token,
            Some("http://shop.example"),
            Some(body),
        )
        .await;
    assert!(status.is_success(), "POST {path}: {status} {value}");
    value
}

/// A new visitor of the channel who writes `text`: (visitor token, case id).
async fn visitor_with_case(app: &TestApp, channel_id: &str, text: &str) -> (String, String) {
    let visitor = widget_api(app, &format!("{channel_id}/visitors"), None, json!({})).await;
    let token = s(&visitor["visitor_token"]);
    let sent = widget_api(
        app,
        &format!("{channel_id}/messages"),
        Some(&token),
        json!({"text": text, "client_id": format!("c-{}", text.len())}),
    )
    .await;
    (token, s(&sent["message"]["case_id"]))
}

/// Uploads `bytes` to `path` (under /api/v1) with a bearer token; it must be stored.
async fn upload(app: &TestApp, path: &str, token: &str, bytes: &[u8]) -> Value {
    let (status, value) = app.upload(path, token, bytes.to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "POST {path}: {value}");
    value
}

// ------------------------------------------------------ help center helpers

/// Leaves one browser window (a failed scenario may have left more).
async fn single_window(b: &Browser) -> WindowHandle {
    let handles = b.client.windows().await.expect("window handles");
    for extra in handles.iter().skip(1) {
        b.client
            .switch_to_window(extra.clone())
            .await
            .expect("switch window");
        b.client.close_window().await.expect("close window");
    }
    b.client
        .switch_to_window(handles[0].clone())
        .await
        .expect("switch window");
    handles[0].clone()
}

/// Waits for a window that is not among `before`.
async fn new_window(b: &Browser, before: &[WindowHandle]) -> WindowHandle {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = b.client.windows().await.expect("window handles");
        if let Some(w) = now.into_iter().find(|w| !before.contains(w)) {
            return w;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new window opened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn switch_to(b: &Browser, window: &WindowHandle) {
    b.client
        .switch_to_window(window.clone())
        .await
        .expect("switch window");
}

/// The rows of the Help Center's list: (case id, number, status).
async fn help_rows(b: &Browser) -> Vec<(String, String, String)> {
    let v = b
        .js(
            "return [...document.querySelectorAll('#help-cases .help-case')]\
             .map(a => [a.dataset.caseId, a.dataset.number, a.dataset.status]);",
        )
        .await;
    v.as_array()
        .expect("an array")
        .iter()
        .map(|r| (s(&r[0]), s(&r[1]), s(&r[2])))
        .collect()
}

/// The conversation of the open request: (author, text), in screen order.
async fn help_transcript(b: &Browser) -> Vec<(String, String)> {
    let v = b
        .js(
            "return [...document.querySelectorAll('#help-case-view .help-message')]\
             .map(m => [m.dataset.author, m.querySelector('.help-bubble').textContent]);",
        )
        .await;
    v.as_array()
        .expect("an array")
        .iter()
        .map(|p| (s(&p[0]), s(&p[1])))
        .collect()
}

async fn fragment(b: &Browser) -> Option<String> {
    let url = b.client.current_url().await.expect("current url");
    url.fragment().map(str::to_owned)
}

// -------------------------------------------------------------- scenarios

async fn help_center_close_then_new_case(app: &TestApp, b: &Browser) {
    let widget_window = single_window(b).await;
    let channel = widget_channel(app, "Shop chat").await.id;
    let site = shop(app, &channel);
    b.client.goto(&site.url).await.expect("open the shop");
    widget_click(b, "#cd-launcher").await;
    // No visitor yet: nothing to show in the Help Center.
    wait_widget(
        b,
        "no Help Center link before the first message",
        "r.querySelector('.cd-foot').hidden",
    )
    .await;

    visitor_says(b, "Hello, where is my order?").await;
    let first = channel_cases(app, &channel, 1).await.remove(0);
    let first_id = s(&first["id"]);
    let first_number = first["number"].as_i64().expect("a case number");
    let reply = app.reply(&first_id, "It ships tomorrow.").await;
    wait_widget(
        b,
        "the agent's reply, live",
        &format!(
            "[...r.querySelectorAll('.cd-msg[data-author=agent]')].some(m => m.dataset.id === {})",
            js_str(&s(&reply["id"]))
        ),
    )
    .await;

    // "My requests" opens the Help Center in a new tab, already signed in.
    let before = b.client.windows().await.expect("window handles");
    widget_click(b, ".cd-help-link").await;
    let help_window = new_window(b, &before).await;
    switch_to(b, &help_window).await;
    b.wait_css("#help-cases .help-case").await;
    b.wait_css("#help-signout").await;
    assert_eq!(
        fragment(b).await.unwrap_or_default(),
        "",
        "the sign-in token is gone from the address bar"
    );
    assert_eq!(
        help_rows(b).await,
        [(
            first_id.clone(),
            first_number.to_string(),
            "open".to_owned()
        )]
    );
    let row = b
        .text(&format!(".help-case[data-case-id='{first_id}']"))
        .await;
    assert!(
        row.contains(&format!("#{first_number}"))
            && row.contains("Hello, where is my order?")
            && row.contains("Open")
            && row.contains("Active chat")
            && row.contains("Shop chat"),
        "{row}"
    );

    // The request: both messages, customer on the right.
    b.click(&format!(".help-case[data-case-id='{first_id}']"))
        .await;
    b.wait_css("#help-case-view").await;
    assert_eq!(
        fragment(b).await.unwrap_or_default(),
        format!("case={first_id}")
    );
    assert_eq!(
        help_transcript(b).await,
        pairs(&[
            ("customer", "Hello, where is my order?"),
            ("agent", "It ships tomorrow."),
        ])
    );
    let sides = b
        .js("return [...document.querySelectorAll('.help-message')]\
             .map(m => getComputedStyle(m).alignSelf);")
        .await;
    assert_eq!(sides, json!(["flex-end", "flex-start"]));
    assert_eq!(b.text("#help-case-status").await, "Open");

    // Closing asks first, in the page; "Keep it open" changes nothing.
    b.click("#help-close-case").await;
    b.click("#help-confirm-no").await;
    b.wait_gone("#help-confirm-yes").await;
    assert_eq!(app.case(&first_id).await["status"], "open");
    b.click("#help-close-case").await;
    b.click("#help-confirm-yes").await;
    b.wait_js(
        "the request shown closed",
        "document.querySelector('#help-case-status') && \
         document.querySelector('#help-case-status').dataset.status === 'closed'",
    )
    .await;
    assert_eq!(b.text("#help-case-status").await, "Closed");
    b.wait_text(
        ".help-closed-hint",
        "If you write to us again, a new request will be opened.",
    )
    .await;
    b.wait_gone("#help-close-case").await;

    // Closed by the customer, as the history says; the chat is over too.
    let closed = app.case(&first_id).await;
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(closed["chat_state"], "finished", "{closed}");
    let events = app.events(&first_id).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "closed_by_customer" && e["actor"]["type"] == "customer"),
        "{events:?}"
    );

    // Back in the shop's tab: the widget heard of it, and the visitor's
    // next message is a new request, linked to the closed one.
    switch_to(b, &widget_window).await;
    wait_widget(
        b,
        "End chat hidden for the closed case",
        "r.querySelector('#cd-end').hidden",
    )
    .await;
    visitor_says(b, "One more question").await;
    let cases = channel_cases(app, &channel, 2).await;
    let next = cases
        .iter()
        .find(|c| c["id"] != first_id.as_str())
        .expect("a new case");
    let next_id = s(&next["id"]);
    assert_eq!(next["number"], first_number + 1, "{next}");
    assert_eq!(next["previous_case_id"], first_id.as_str(), "{next}");
    assert_eq!(next["customer_id"], first["customer_id"], "{next}");
    assert_eq!(next["status"], "open", "{next}");
    assert_eq!(app.case(&first_id).await["status"], "closed");

    // The Help Center's list has both, the new one first.
    switch_to(b, &help_window).await;
    b.click(".help-back").await;
    b.wait_js(
        "two requests listed",
        "document.querySelectorAll('#help-cases .help-case').length === 2",
    )
    .await;
    assert_eq!(
        help_rows(b).await,
        [
            (next_id, (first_number + 1).to_string(), "open".to_owned()),
            (first_id, first_number.to_string(), "closed".to_owned()),
        ]
    );
    b.client
        .close_window()
        .await
        .expect("close the Help Center");
    switch_to(b, &widget_window).await;
    drop(site);
}

async fn help_center_sign_in_form(app: &TestApp, b: &Browser) {
    single_window(b).await;
    // `/help` of a one-company server is that company's Help Center.
    b.goto("/help").await;
    let url = b.client.current_url().await.expect("current url");
    let account_id = url
        .path()
        .strip_prefix("/help/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .unwrap_or_else(|| panic!("redirected to an account's Help Center, not {url}"))
        .to_owned();
    // The session cookie is sent to the Help Center's API only (its Path),
    // so WebDriver sees it, and deletes it, from a page there.
    b.goto(&format!("/api/v1/help/{account_id}")).await;
    b.client
        .delete_cookie("casedesk_help")
        .await
        .expect("forget any Help Center session");
    b.goto(&format!("/help/{account_id}")).await;
    let (status, info) = app
        .raw(
            Method::GET,
            &format!("/api/v1/help/{account_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let company = s(&info["name"]);
    b.wait_css("#help-signin-form").await;
    b.wait_text(".help-company", &company).await;
    assert!(
        s(&b.js("return document.title").await).contains(&company),
        "the company in the title"
    );
    assert_eq!(
        b.js("return document.querySelector('#help-signout') === null")
            .await,
        true
    );

    // Not an address: said at the field, nothing sent.
    b.type_into("#help-email", "not-an-address").await;
    b.click("#help-signin-submit").await;
    b.wait_text("#help-email-error", "name@example.com").await;
    assert_eq!(
        b.js("return document.querySelector('#help-email').getAttribute('aria-invalid')")
            .await,
        "true"
    );
    assert_eq!(
        b.js("return document.querySelector('#help-signin-sent') === null")
            .await,
        true
    );

    // An unknown and a known address get the same answer.
    let unknown = "nobody-here@example.com";
    let known = "help-known@example.com";
    let said = app
        .customer_says("help-center-known", "help-known-1", "My parcel is late")
        .await;
    let case = app.case(&s(&said["case_id"])).await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/customers/{}", s(&case["customer_id"])),
        Some(json!({"email": known})),
    )
    .await;
    let mut answers = Vec::new();
    for email in [unknown, known] {
        b.wait_css("#help-email")
            .await
            .clear()
            .await
            .expect("clear the field");
        b.type_into("#help-email", email).await;
        b.click("#help-signin-submit").await;
        let sent = b.text("#help-signin-sent").await;
        assert!(sent.contains(email), "{sent}");
        answers.push(sent.replace(email, "…"));
        b.wait_text("h1", "Check your mailbox").await;
        b.click(".help-textbutton").await;
        b.wait_css("#help-signin-form").await;
    }
    assert_eq!(answers[0], answers[1], "the same answer for both");

    // Russian, remembered across a reload.
    b.click("#help-lang").await;
    b.wait_text("h1", "Войдите, чтобы увидеть свои обращения")
        .await;
    b.wait_text("#help-signin-submit", "Прислать ссылку для входа")
        .await;
    assert_eq!(b.js("return document.documentElement.lang").await, "ru");
    b.client.refresh().await.expect("reload");
    b.wait_text("#help-signin-submit", "Прислать ссылку для входа")
        .await;

    // A bad link (the page already open): the error, the form, no token
    // left in the address bar.
    b.goto(&format!("/help/{account_id}#login=garbage")).await;
    b.wait_text("#help-error", "уже использована или устарела")
        .await;
    b.wait_css("#help-signin-form").await;
    assert_eq!(fragment(b).await, None);
    // Our own message follows the language switch.
    b.click("#help-lang").await;
    b.wait_text(
        "#help-error",
        "This sign-in link is used or expired — ask for a new one.",
    )
    .await;
    // And a bad link opened afresh, as from a mail.
    b.client.goto("about:blank").await.expect("leave");
    b.goto(&format!("/help/{account_id}#login=garbage")).await;
    b.wait_text("#help-error", "This sign-in link is used or expired")
        .await;
    b.wait_css("#help-signin-form").await;
    assert_eq!(fragment(b).await, None);
}

async fn help_center_isolation_in_browser(app: &TestApp, b: &Browser) {
    single_window(b).await;
    let channel = widget_channel(app, "Isolation chat").await.id;
    let hostile = r#"<img src=x onerror="window.__pwned=1">Order <b>42</b>"#;
    let (ann, ann_case) = visitor_with_case(app, &channel, hostile).await;
    let (_bob, bob_case) = visitor_with_case(app, &channel, "Bob's private question").await;
    let link = widget_api(app, &format!("{channel}/help-link"), Some(&ann), json!({})).await;
    let url = s(&link["url"]);
    assert!(url.contains("/help/") && url.contains("#login="), "{url}");

    // Ann sees her request only, its hostile subject as plain text.
    b.client.goto(&url).await.expect("open the link");
    b.wait_css("#help-cases .help-case").await;
    let rows = help_rows(b).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, ann_case);
    b.wait_text(".help-subject", "<img src=x").await;
    assert_eq!(
        b.js(
            "return [document.querySelectorAll('#help img, #help b').length, typeof window.__pwned]"
        )
        .await,
        json!([0, "undefined"])
    );

    // Bob's request by its id: not found, and nothing of it on the page.
    b.js(&format!(
        "location.hash = 'case=' + {}; return true",
        js_str(&bob_case)
    ))
    .await;
    b.wait_text("#help-error", "could not find this request")
        .await;
    assert_eq!(
        b.js("return document.querySelector('#help-case-view') === null")
            .await,
        true
    );
    let page = s(&b.js("return document.body.textContent").await);
    assert!(!page.contains("Bob's private question"), "{page}");

    // Her own by its id works, the text still text.
    b.js(&format!(
        "location.hash = 'case=' + {}; return true",
        js_str(&ann_case)
    ))
    .await;
    b.wait_css("#help-case-view").await;
    assert_eq!(help_transcript(b).await, pairs(&[("customer", hostile)]));
    assert_eq!(
        b.js(
            "return [document.querySelectorAll('#help img, #help b').length, typeof window.__pwned]"
        )
        .await,
        json!([0, "undefined"])
    );

    // Signing out ends the session for good; the used link no longer works.
    b.click("#help-signout").await;
    b.wait_css("#help-signin-form").await;
    b.client.refresh().await.expect("reload");
    b.wait_css("#help-signin-form").await;
    b.client.goto("about:blank").await.expect("leave");
    b.client.goto(&url).await.expect("the link again");
    b.wait_text("#help-error", "This sign-in link is used or expired")
        .await;
    b.wait_css("#help-signin-form").await;
}

async fn help_center_shows_files(app: &TestApp, b: &Browser) {
    single_window(b).await;
    let channel = widget_channel(app, "Files help chat").await.id;
    let visitor = widget_api(app, &format!("{channel}/visitors"), None, json!({})).await;
    let token = s(&visitor["visitor_token"]);
    let sent = upload(
        app,
        &format!("widget/{channel}/attachments?filename=broken.png&client_id=photo-1"),
        &token,
        PHOTO,
    )
    .await;
    let case_id = s(&sent["message"]["case_id"]);
    let pdf = b"%PDF-1.4\n% casedesk test invoice\n%%EOF\n";
    let reply = upload(
        app,
        &format!("cases/{case_id}/attachments?filename=invoice.pdf&text=Your%20invoice"),
        &app.token,
        pdf,
    )
    .await;
    let pdf_id = s(&reply["attachments"][0]["id"]);
    let link = widget_api(
        app,
        &format!("{channel}/help-link"),
        Some(&token),
        json!({}),
    )
    .await;

    b.client
        .goto(&s(&link["url"]))
        .await
        .expect("open the link");
    b.click(&format!(".help-case[data-case-id='{case_id}']"))
        .await;
    b.wait_css("#help-case-view").await;
    // The photo inline, from the Help Center's own address (its CSP allows
    // only same-origin images); its name is not said twice.
    b.wait_js(
        "the photo shown",
        "(i => !!i && i.complete && i.naturalWidth === 12)(document.querySelector('.help-att-img'))",
    )
    .await;
    let photo = b
        .js("const i = document.querySelector('.help-att-img'); \
             const m = i.closest('.help-message'); \
             return [m.dataset.author, i.alt, m.querySelector('.help-bubble').hidden, \
                     i.closest('a').target, new URL(i.src).pathname];")
        .await;
    let photo_id = s(&sent["message"]["attachments"][0]["id"]);
    let help_path = b.client.current_url().await.expect("url").path().to_owned();
    assert_eq!(
        photo,
        json!([
            "customer",
            "broken.png",
            true,
            "_blank",
            format!("/api/v1{help_path}/attachments/{photo_id}")
        ])
    );
    // The invoice: its caption, and a link with name and size that gets
    // the PDF with the session cookie.
    let file = b
        .js("const a = document.querySelector('.help-att-file'); \
             const m = a.closest('.help-message'); \
             return [m.dataset.author, m.querySelector('.help-bubble').textContent, \
                     a.querySelector('.help-att-name').textContent, \
                     a.querySelector('.help-att-size').textContent, a.getAttribute('download'), \
                     a.pathname.split('/').pop()];")
        .await;
    assert_eq!(
        file,
        json!([
            "agent",
            "Your invoice",
            "invoice.pdf",
            format!("{} B", pdf.len()),
            "invoice.pdf",
            pdf_id
        ])
    );
    b.js("window.__pdf = null; \
          fetch(document.querySelector('.help-att-file').href) \
            .then(r => r.text()).then(t => window.__pdf = t); return true;")
        .await;
    b.wait_js("the PDF fetched", "window.__pdf !== null").await;
    assert_eq!(
        b.js("return window.__pdf").await,
        json!(String::from_utf8_lossy(pdf))
    );
}
