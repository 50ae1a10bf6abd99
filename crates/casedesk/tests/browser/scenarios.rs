//! What an agent does in the UI, one scenario per point of the issue. Each
//! uses its own customers, so scenarios do not depend on one another except
//! for the login, which comes first.

use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Browser, keys};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, s};

pub type Scenario = for<'a> fn(&'a TestApp, &'a Browser) -> BoxFuture<'a, ()>;

scenarios!(
    log_in,
    docs_screenshots,
    reports_page_and_export,
    simulator_panel,
    message_appears_live_in_active_list,
    finish_with_each_status,
    reply_note_and_reaction,
    split_new_messages,
    split_link_disappears_once_finished,
    show_hide_previous_and_merge,
    chain_links,
    subject_edit_reflected_in_list,
    hostile_content_renders_as_text,
    case_list_filters_and_customer_page,
    russian_labels,
    phone_width,
    admin_settings,
    agent_access_admin,
    failed_webhook_delivery_redelivered,
    auto_finish_warning_and_keep_active,
    apply_template_from_chat_page,
    labels_on_case_and_list_filter,
    templates_page_create_and_edit,
    labels_admin_on_settings,
    rules_page_create_dry_run_and_fire,
    rules_page_validation_and_reorder,
    widget_channel_admin,
    customer_email_on_case_page,
    agent_sends_and_sees_files,
    log_out,
    agent_without_admin_rights,
);

/// A customer message; returns the case id.
pub(crate) async fn chat(app: &TestApp, customer: &str, message_id: &str, text: &str) -> String {
    s(&app.customer_says(customer, message_id, text).await["case_id"])
}

/// Opens a case and waits until it is drawn, its history too.
pub(crate) async fn open_case(b: &Browser, id: &str) {
    b.goto(&format!("/#/case/{id}")).await;
    b.wait_js(
        "the case page",
        &format!(
            "location.hash === '#/case/{id}' && document.querySelector('[data-test=case-number]') \
             && document.querySelector('[data-test=history-count]').textContent !== ''"
        ),
    )
    .await;
}

fn active_item(id: &str) -> String {
    format!("[data-test=active-chat][data-case-id='{id}']")
}

async fn log_in(_app: &TestApp, b: &Browser) {
    b.goto("/").await;
    // Not logged in: the login form, also at /login.
    b.wait_css("[data-test=login-form]").await;
    b.goto("/login").await;
    b.type_into("[data-test=email]", ADMIN_EMAIL).await;
    b.type_into("[data-test=password]", "not the password")
        .await;
    b.click("[data-test=sign-in]").await;
    // The server's error code, in the page's words.
    b.wait_text("[data-test=login-error]", "Wrong e-mail or password.")
        .await;
    let password = b.wait_css("[data-test=password]").await;
    password.clear().await.expect("clear");
    password.send_keys(ADMIN_PASSWORD).await.expect("type");
    b.click("[data-test=sign-in]").await;
    b.wait_css("[data-test=logout]").await;
    b.wait_text("[data-test=profile-link]", "admin").await;
    // The session cookie is HttpOnly: scripts see only the CSRF cookie.
    let cookies = b.js("return document.cookie").await;
    let cookies = cookies.as_str().expect("string");
    assert!(cookies.contains("casedesk_csrf="), "{cookies}");
    assert!(!cookies.contains("casedesk_session"), "{cookies}");
    // The profile page.
    b.click("[data-test=profile-link]").await;
    b.wait_text("[data-test=profile]", ADMIN_EMAIL).await;
}

async fn message_appears_live_in_active_list(app: &TestApp, b: &Browser) {
    b.goto("/#/active").await;
    b.wait_css("[data-test=active-list]").await;
    b.js("window.__notReloaded = true").await;
    let id = chat(app, "live-1", "live-1", "Where is my parcel?").await;
    let item = active_item(&id);
    b.wait_text(
        &format!("{item} [data-test=subject]"),
        "Where is my parcel?",
    )
    .await;
    b.wait_css(&format!("{item} [data-test=unread]")).await;
    b.wait_text(&format!("{item} [data-test=ago]"), "now").await;
    assert_eq!(
        b.js("return window.__notReloaded === true").await,
        true,
        "the list updated without a reload"
    );
    // Opening the chat marks it read, in the list too.
    b.click(&format!("{item} a")).await;
    b.wait_text("[data-test=message-text]", "Where is my parcel?")
        .await;
    b.wait_gone(&format!("{item} [data-test=unread]")).await;
    assert_eq!(app.case(&id).await["unread"], false);
}

async fn finish_with_each_status(app: &TestApp, b: &Browser) {
    for status in ["open", "pending", "closed"] {
        let id = chat(
            app,
            &format!("fin-{status}"),
            &format!("fin-{status}"),
            "help",
        )
        .await;
        open_case(b, &id).await;
        b.wait_css(&active_item(&id)).await;
        if status == "closed" {
            // The keyboard shortcut opens the same dialog.
            let reply = b.wait_css("[data-test=reply]").await;
            reply
                .send_keys(&format!("{}{}e", keys::ALT, keys::SHIFT))
                .await
                .expect("shortcut");
        } else {
            b.click("[data-test=end-chat]").await;
        }
        b.click(&format!("[data-test=finish-{status}]")).await;
        b.wait_css("[data-test=finished-banner]").await;
        b.wait_gone("[data-test=end-chat]").await;
        b.wait_js(
            "the chat to leave the active list",
            &format!("!document.querySelector(\"{}\")", active_item(&id)),
        )
        .await;
        let case = app.case(&id).await;
        assert_eq!(case["status"], status);
        assert_eq!(case["chat_state"], "finished");
        assert_eq!(
            b.text("select[data-test=status-select] option:checked")
                .await,
            status
        );
    }
}

async fn reply_note_and_reaction(app: &TestApp, b: &Browser) {
    let id = chat(app, "rnr", "rnr-1", "Can you help?").await;
    open_case(b, &id).await;
    b.type_into(
        "[data-test=reply]",
        &format!("Sure, one moment{}{}", keys::CONTROL, keys::ENTER),
    )
    .await;
    b.wait_text(
        ".msg.from-agent [data-test=message-text]",
        "Sure, one moment",
    )
    .await;
    b.type_into("[data-test=note]", "VIP customer, be nice")
        .await;
    b.click("[data-test=add-note]").await;
    b.wait_text(".msg-note [data-test=message-text]", "VIP customer")
        .await;
    b.wait_text(".msg-note [data-test=note-label]", "Internal note")
        .await;
    assert_eq!(
        b.js("return document.querySelector('[data-test=reply]').value")
            .await,
        "",
        "the reply box is emptied after sending"
    );
    // A customer reaction shows on the message, live.
    app.react("rnr", "rnr-1", "👍").await;
    b.wait_text(".msg.from-customer [data-test=reactions]", "👍")
        .await;
    let messages = app.messages(&id).await;
    assert!(
        messages
            .iter()
            .any(|m| m["kind"] == "note" && m["text"] == "VIP customer, be nice")
    );
}

async fn split_new_messages(app: &TestApp, b: &Browser) {
    let original = chat(app, "split-1", "split-1a", "First question").await;
    app.finish(&original, "pending").await;
    let r = app
        .customer_says("split-1", "split-1b", "A new topic")
        .await;
    assert_eq!(r["outcome"], "reopened");
    open_case(b, &original).await;
    // The split button sits on the reopen line, right above the messages
    // it moves, and asks first, saying how many.
    b.wait_js(
        "the split button on the reopen line",
        "document.querySelector('[data-test=event-line][data-kind=reopened] [data-test=split]') \
         && document.querySelector('[data-test=event-line][data-kind=reopened]').nextElementSibling \
            .textContent.includes('A new topic')",
    )
    .await;
    b.click("[data-test=split]").await;
    b.wait_text("[data-test=dialog]", "The 1 messages since the reopen")
        .await;
    b.click("[data-test=split-confirm]").await;
    b.wait_text("#toast", "Split to #").await;
    b.wait_js(
        "the page to move to the new case",
        &format!("location.hash.startsWith('#/case/') && location.hash !== '#/case/{original}'"),
    )
    .await;
    let new_id = b.case_in_url().await.expect("case id in the URL");
    b.wait_text("[data-test=message-text]", "A new topic").await;
    let new_case = app.case(&new_id).await;
    assert_ne!(new_case["number"], app.case(&original).await["number"]);
    let old = app.case(&original).await;
    assert_eq!(old["chat_state"], "finished");
    assert_eq!(old["status"], "pending");
    // The new case says where it came from; the original is back as it
    // was, without the split button, and says where the messages went.
    let original_number = old["number"].as_i64().expect("number");
    b.wait_text(
        "[data-test=event-line][data-kind=created]",
        &format!("Split from #{original_number}"),
    )
    .await;
    open_case(b, &original).await;
    b.wait_text("[data-test=message-text]", "First question")
        .await;
    b.wait_gone("[data-test=split]").await;
    b.wait_text(
        "[data-test=event-line][data-kind=split]",
        &format!("New messages split to #{}", new_case["number"]),
    )
    .await;
}

async fn split_link_disappears_once_finished(app: &TestApp, b: &Browser) {
    let id = chat(app, "split-2", "split-2a", "Hello").await;
    app.finish(&id, "open").await;
    app.customer_says("split-2", "split-2b", "Hello again")
        .await;
    open_case(b, &id).await;
    b.wait_css("[data-test=split]").await;
    b.click("[data-test=end-chat]").await;
    b.click("[data-test=finish-pending]").await;
    b.wait_css("[data-test=finished-banner]").await;
    b.wait_gone("[data-test=split]").await;
    assert_eq!(app.case(&id).await["split_available"], false);
}

/// A closed chat and the new chat that followed it; returns (old, new).
async fn closed_then_new(app: &TestApp, customer: &str) -> (String, String) {
    let old = chat(app, customer, &format!("{customer}-a"), "Old problem").await;
    app.finish(&old, "closed").await;
    let new = chat(app, customer, &format!("{customer}-b"), "New problem").await;
    assert_ne!(old, new);
    (old, new)
}

async fn show_hide_previous_and_merge(app: &TestApp, b: &Browser) {
    let (old, new) = closed_then_new(app, "prev").await;
    open_case(b, &new).await;
    b.wait_text("[data-test=toggle-previous]", "Show previous chat")
        .await;
    b.wait_gone("[data-test=merge]").await;
    b.click("[data-test=toggle-previous]").await;
    b.wait_text(
        "[data-test=previous-chat] [data-test=message-text]",
        "Old problem",
    )
    .await;
    b.wait_text("[data-test=toggle-previous]", "Hide previous chat")
        .await;
    b.click("[data-test=toggle-previous]").await;
    b.wait_gone("[data-test=previous-chat]").await;
    b.wait_gone("[data-test=merge]").await;
    b.click("[data-test=toggle-previous]").await;
    b.wait_css("[data-test=previous-chat]").await;
    // Merging asks first; cancelling changes nothing.
    b.click("[data-test=merge]").await;
    b.click("[data-test=dialog-cancel]").await;
    assert_eq!(
        app.case(&new).await["merged_into_id"],
        serde_json::Value::Null
    );
    b.click("[data-test=merge]").await;
    b.wait_text("[data-test=dialog]", "Move every message")
        .await;
    b.click("[data-test=merge-confirm]").await;
    b.wait_js(
        "the page to move to the previous chat",
        &format!("location.hash === '#/case/{old}'"),
    )
    .await;
    b.wait_text("[data-test=thread]", "New problem").await;
    b.wait_text("[data-test=thread]", "Old problem").await;
    let merged = app.case(&new).await;
    assert_eq!(s(&merged["merged_into_id"]), old);
    let into = app.case(&old).await;
    assert_eq!(into["chat_state"], "active");
    assert_eq!(into["status"], "open");
    // The merged chat's address leads to the chat it went into.
    b.goto(&format!("/#/case/{new}")).await;
    b.wait_js(
        "a redirect to the merged-into chat",
        &format!("location.hash === '#/case/{old}'"),
    )
    .await;
}

async fn chain_links(app: &TestApp, b: &Browser) {
    let (old, new) = closed_then_new(app, "chain").await;
    open_case(b, &new).await;
    b.wait_gone("[data-test=go-next]").await;
    b.click("[data-test=go-previous]").await;
    b.wait_js(
        "the previous chat",
        &format!("location.hash === '#/case/{old}'"),
    )
    .await;
    b.wait_text("[data-test=thread]", "Old problem").await;
    b.wait_gone("[data-test=go-previous]").await;
    // "Go to next chat" sits after the conversation, "previous" before it.
    assert_eq!(
        b.js("const t = document.querySelector('[data-test=thread]'); \
              const n = document.querySelector('[data-test=go-next]'); \
              return !!(t.compareDocumentPosition(n) & Node.DOCUMENT_POSITION_FOLLOWING)")
            .await,
        true
    );
    b.click("[data-test=go-next]").await;
    b.wait_js(
        "the next chat",
        &format!("location.hash === '#/case/{new}'"),
    )
    .await;
    b.wait_text("[data-test=thread]", "New problem").await;
}

async fn subject_edit_reflected_in_list(app: &TestApp, b: &Browser) {
    let id = chat(app, "subj", "subj-1", "my printer is on fire").await;
    open_case(b, &id).await;
    b.click("[data-test=edit-subject]").await;
    let input = b.wait_css("[data-test=subject-input]").await;
    input.clear().await.expect("clear");
    input
        .send_keys(&format!("Printer fire (urgent){}", keys::ENTER))
        .await
        .expect("type");
    b.wait_text("[data-test=case-subject]", "Printer fire (urgent)")
        .await;
    b.wait_text(
        &format!("{} [data-test=subject]", active_item(&id)),
        "Printer fire (urgent)",
    )
    .await;
    b.goto("/#/cases?q=printer").await;
    b.wait_text(
        &format!("tr[data-case-id='{id}'] [data-test=subject]"),
        "Printer fire (urgent)",
    )
    .await;
    assert_eq!(s(&app.case(&id).await["subject"]), "Printer fire (urgent)");
}

async fn hostile_content_renders_as_text(app: &TestApp, b: &Browser) {
    let long_word = "A".repeat(400);
    let payload = format!(
        "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"><b>bold</b></div> \
         {long_word} مرحبا بالعالم 😀🎉"
    );
    let id = chat(app, "xss", "xss-1", &payload).await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{id}"),
        Some(json!({"subject": "<img src=x onerror=\"window.__xss=3\">subject"})),
    )
    .await;
    open_case(b, &id).await;
    b.wait_text(
        "[data-test=message-text]",
        "<script>window.__xss=1</script>",
    )
    .await;
    b.wait_text("[data-test=case-subject]", "<img src=x onerror=")
        .await;
    b.wait_text(
        &format!("{} [data-test=subject]", active_item(&id)),
        "<img src=x",
    )
    .await;
    let text = b
        .js("return [...document.querySelectorAll('[data-test=message-text]')].map(e => e.textContent).join('\\n')")
        .await;
    assert!(
        text.as_str().expect("text").contains(&payload),
        "shown exactly as sent"
    );
    assert_eq!(
        b.js("return window.__xss === undefined && \
              document.querySelectorAll('main img, main b, main script, aside img').length === 0")
            .await,
        true,
        "no markup from the payload was created or run"
    );
    assert_eq!(
        b.js("return document.documentElement.scrollWidth <= window.innerWidth")
            .await,
        true,
        "a 400-letter word does not widen the page"
    );
}

async fn case_list_filters_and_customer_page(app: &TestApp, b: &Browser) {
    let a = chat(app, "flt", "flt-1", "zebra question").await;
    app.finish(&a, "closed").await;
    let c = chat(app, "flt", "flt-2", "zebra again").await;
    assert_ne!(a, c);
    b.goto("/#/cases").await;
    b.type_into("[data-test=filter-q]", "zebra").await;
    b.click("select[data-test=filter-status] option[value=closed]")
        .await;
    b.click("[data-test=apply-filters]").await;
    b.wait_css(&format!("tr[data-case-id='{a}']")).await;
    b.wait_js(
        "only the closed match",
        "document.querySelectorAll('[data-test=case-rows] tr').length === 1",
    )
    .await;
    // Filters live in the address: a reload keeps them.
    b.client.refresh().await.expect("reload");
    b.wait_css(&format!("tr[data-case-id='{a}']")).await;
    b.wait_js(
        "the status filter to survive a reload",
        "document.querySelector('select[data-test=filter-status]').value === 'closed'",
    )
    .await;
    // Paging: one case per page, then "load more".
    b.goto("/#/cases?q=zebra&sort=created_at&order=asc").await;
    b.wait_css(&format!("tr[data-case-id='{a}']")).await;
    // The customer page lists the customer's chats in order.
    b.click(&format!("tr[data-case-id='{a}'] a[href^='#/customer/']"))
        .await;
    b.wait_text("[data-test=customer-name]", "Ann").await;
    b.wait_js(
        "both chats in order",
        &format!(
            "[...document.querySelectorAll('[data-test=customer-chats] li')].map(l => l.dataset.caseId).join() === '{a},{c}'"
        ),
    )
    .await;
    b.wait_text("[data-test=customer-chats]", "closed").await;
    // Cursor paging in the UI.
    for i in 0..3 {
        chat(
            app,
            &format!("page-{i}"),
            &format!("page-{i}"),
            "pagination probe",
        )
        .await;
    }
    b.goto("/#/cases?q=pagination&limit=2").await;
    let rows = "document.querySelectorAll('[data-test=case-rows] tr').length";
    b.wait_js("the first page", &format!("{rows} === 2")).await;
    b.click("[data-test=load-more]").await;
    b.wait_js("the second page", &format!("{rows} === 3")).await;
    b.wait_gone("[data-test=load-more]").await;
    let numbers = b
        .js("return [...document.querySelectorAll('[data-test=case-rows] tr')].map(r => r.dataset.caseId)")
        .await;
    let mut unique = numbers.as_array().expect("ids").clone();
    unique.dedup();
    assert_eq!(unique.len(), 3, "each case once: {numbers}");
}

async fn russian_labels(app: &TestApp, b: &Browser) {
    let (_old, new) = closed_then_new(app, "ru").await;
    let reopened = chat(app, "ru-split", "ru-split-a", "привет").await;
    app.finish(&reopened, "open").await;
    app.customer_says("ru-split", "ru-split-b", "ещё вопрос")
        .await;
    open_case(b, &new).await;
    b.click("select[data-test=lang] option[value=ru]").await;
    b.wait_text("nav", "Обращения").await;
    b.wait_text("aside h2", "Активные чаты").await;
    b.wait_text("[data-test=end-chat]", "Завершить чат").await;
    b.wait_text("nav", "Отчёты").await;
    b.wait_text("nav", "Шаблоны").await;
    b.wait_text("[data-test=templates-button]", "Шаблоны").await;
    b.wait_text("[data-test=toggle-previous]", "Показать предыдущий чат")
        .await;
    b.wait_text("[data-test=go-previous]", "Перейти к предыдущему чату")
        .await;
    let statuses = b
        .js("return [...document.querySelectorAll('[data-test=status-select] option')].map(o => o.textContent)")
        .await;
    assert_eq!(statuses, json!(["открытое", "в ожидании", "закрытое"]));
    b.click("[data-test=toggle-previous]").await;
    b.wait_text("[data-test=toggle-previous]", "Скрыть предыдущий чат")
        .await;
    b.wait_text("[data-test=merge]", "Объединить текущий чат с предыдущим")
        .await;
    b.click("[data-test=go-previous]").await;
    b.wait_text("[data-test=go-next]", "Перейти к следующему чату")
        .await;
    b.wait_text("[data-test=state]", "завершённый").await;
    open_case(b, &reopened).await;
    b.wait_text(
        "[data-test=split]",
        "Выделить новые сообщения в отдельный чат",
    )
    .await;
    b.click("[data-test=end-chat]").await;
    b.wait_text("[data-test=finish-pending]", "Завершить — ждём клиента")
        .await;
    b.wait_text(
        "[data-test=dialog] dd",
        "Решено: следующее сообщение клиента начнёт новое обращение.",
    )
    .await;
    b.click("[data-test=dialog-cancel]").await;
    // The choice is remembered across reloads.
    b.client.refresh().await.expect("reload");
    b.wait_text("[data-test=end-chat]", "Завершить чат").await;
    // The Reports page and the case list's export in Russian.
    b.goto("/#/reports").await;
    b.wait_text("main h1", "Отчёты").await;
    b.wait_text("[data-test=figure-created]", "Создано").await;
    b.wait_text("main", "Нагрузка агентов").await;
    b.wait_text("[data-test=workload] thead", "Первый ответ")
        .await;
    b.goto("/#/cases").await;
    b.wait_text("[data-test=export-csv]", "Экспорт CSV").await;
    b.wait_text("nav [data-nav=rules]", "Автоматизация").await;
    open_case(b, &reopened).await;
    b.click("select[data-test=lang] option[value=en]").await;
    b.wait_text("[data-test=end-chat]", "End chat").await;
}

async fn phone_width(app: &TestApp, b: &Browser) {
    let id = chat(
        app,
        "phone",
        "phone-1",
        &format!("small screen {}", "W".repeat(120)),
    )
    .await;
    b.set_window(390, 844).await;
    open_case(b, &id).await;
    b.wait_css("[data-test=reply]").await;
    b.wait_css("[data-test=end-chat]").await;
    let fits = b
        .js("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    // The top bar is one row, not a third of the screen.
    let bar = b
        .js("return document.querySelector('.topbar').getBoundingClientRect().height")
        .await;
    // The case list: cards that fit, no sideways scrolling, the names of
    // customers whole.
    b.goto("/#/cases").await;
    b.wait_css("[data-test=case-rows] tr").await;
    let list_fits = b
        .js("return document.documentElement.scrollWidth <= window.innerWidth \
             && [...document.querySelectorAll('[data-test=case-rows] tr')].every(r => r.scrollWidth <= r.clientWidth + 1)")
        .await;
    b.goto("/#/active").await;
    b.wait_css(&active_item(&id)).await;
    b.screenshot("docs-phone").await;
    b.set_window(1280, 900).await;
    assert_eq!(fits, true, "the chat page fits a phone width");
    assert!(
        bar.as_f64().expect("height") <= 60.0,
        "top bar {bar} px high"
    );
    assert_eq!(list_fits, true, "the case list fits a phone width");
}

async fn admin_settings(app: &TestApp, b: &Browser) {
    b.goto("/#/settings").await;
    // Timers.
    let after = b.wait_css("[data-test=after-seconds]").await;
    b.wait_js(
        "the current timers",
        "document.querySelector('[data-test=after-seconds]').value === '600'",
    )
    .await;
    after.clear().await.expect("clear");
    after.send_keys("900").await.expect("type");
    b.click("[data-test=save-timers]").await;
    b.wait_text("#toast", "Saved.").await;
    let settings = app.ok(Method::GET, "/api/v1/settings", None).await;
    assert_eq!(settings["chat_auto_finish_after_seconds"], 900);
    // A warning as long as the inactivity period is refused by the form.
    let warn = b.wait_css("[data-test=warning-seconds]").await;
    warn.clear().await.expect("clear");
    warn.send_keys("900").await.expect("type");
    b.click("[data-test=save-timers]").await;
    b.wait_text("[data-test=timers-error]", "must be shorter")
        .await;
    assert_eq!(
        app.ok(Method::GET, "/api/v1/settings", None).await["chat_auto_finish_warning_seconds"],
        60,
        "nothing was saved"
    );
    // Bad input gets the API's clear error.
    warn.clear().await.expect("clear");
    warn.send_keys("60").await.expect("type");
    after.clear().await.expect("clear");
    after.send_keys("99999999999").await.expect("type");
    b.click("[data-test=save-timers]").await;
    b.wait_text("#toast.error", "must be between 1 and").await;
    app.set_timers(600, 60).await;
    // An api channel: its inbound token is shown once, and it works.
    b.type_into("[data-test=channel-name]", "Shop chat").await;
    b.type_into("[data-test=webhook-url]", "https://example.com/hook")
        .await;
    b.click("[data-test=create-channel]").await;
    let token = b.text("[data-test=inbound-token]").await;
    assert_eq!(token.len(), 64, "{token}");
    b.wait_text("[data-test=channel-list]", "Shop chat").await;
    let channels = app.ok(Method::GET, "/api/v1/channels", None).await;
    let channel = channels["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["name"] == "Shop chat")
        .cloned()
        .expect("the new channel");
    assert_eq!(channel["webhook_url"], "https://example.com/hook");
    assert!(channel.get("inbound_token").is_none(), "never listed again");
    let (st, r) = app
        .inbound_to(
            &s(&channel["id"]),
            &token,
            json!({"type": "message", "message_id": "shop-1",
                "customer": {"id": "shopper", "name": "Bob"}, "text": "via the new channel"}),
        )
        .await;
    assert!(st.is_success(), "{r}");
    b.goto("/#/active").await;
    b.wait_text(
        &format!("{} [data-test=subject]", active_item(&s(&r["case_id"]))),
        "via the new channel",
    )
    .await;
    // Agents.
    b.goto("/#/settings").await;
    b.type_into("[data-test=agent-email]", "olga@example.com")
        .await;
    b.type_into("[data-test=agent-name]", "Olga").await;
    b.type_into("[data-test=agent-password]", "a long password")
        .await;
    b.click("[data-test=create-agent]").await;
    b.wait_text("[data-test=agent-list]", "olga@example.com")
        .await;
    app.login("olga@example.com", "a long password").await;
}

/// The status of a login as `email` with `password` (not retried).
async fn login_status(app: &TestApp, email: &str, password: &str) -> reqwest::StatusCode {
    app.raw(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
    .0
}

/// An admin disables, enables, signs out, re-passwords and deletes an
/// agent from Settings; each takes effect on the agent's logins at once.
async fn agent_access_admin(app: &TestApp, b: &Browser) {
    let pavel = app
        .ok(
            Method::POST,
            "/api/v1/agents",
            Some(json!({"email": "pavel@example.com", "name": "Pavel", "password": "pavel-password"})),
        )
        .await;
    let row = format!("[data-test=agent-row][data-agent='{}']", s(&pavel["id"]));
    let token = app.login("pavel@example.com", "pavel-password").await;
    // From another page: Settings loads the team afresh when opened.
    b.goto("/#/active").await;
    b.goto("/#/settings").await;
    // Renamed and made an admin from the row's Edit.
    b.click(&format!("{row} [data-test=agent-edit]")).await;
    let name = b.wait_css("[data-test=agent-edit-name]").await;
    name.clear().await.expect("clear");
    name.send_keys("Pavel Orlov").await.expect("type");
    b.js("const s = document.querySelector('[data-test=agent-edit-role]'); s.value = 'admin';")
        .await;
    b.click("[data-test=agent-edit-save]").await;
    b.wait_text(&row, "Pavel Orlov").await;
    let edited = app.ok(Method::GET, "/api/v1/agents", None).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["id"] == pavel["id"])
        .cloned()
        .expect("Pavel");
    assert_eq!(
        (edited["name"].clone(), edited["role"].clone()),
        (json!("Pavel Orlov"), json!("admin"))
    );
    app.ok(
        Method::PATCH,
        &format!("/api/v1/agents/{}", s(&pavel["id"])),
        Some(json!({"role": "agent"})),
    )
    .await;
    b.click(&format!("{row} [data-test=agent-disable]")).await;
    b.click("[data-test=agent-disable-confirm]").await;
    b.wait_css(&format!("{row} [data-test=agent-disabled]"))
        .await;
    let me = |t: String| async move { app.raw(Method::GET, "/api/v1/me", Some(&t), None).await.0 };
    assert_eq!(me(token).await, reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(
        login_status(app, "pavel@example.com", "pavel-password").await,
        reqwest::StatusCode::FORBIDDEN
    );
    b.click(&format!("{row} [data-test=agent-enable]")).await;
    b.wait_gone(&format!("{row} [data-test=agent-disabled]"))
        .await;
    let token = app.login("pavel@example.com", "pavel-password").await;
    b.click(&format!("{row} [data-test=agent-end-sessions]"))
        .await;
    b.wait_text("#toast", "1 session(s) ended.").await;
    assert_eq!(me(token).await, reqwest::StatusCode::UNAUTHORIZED);
    b.click(&format!("{row} [data-test=agent-set-password]"))
        .await;
    b.type_into("[data-test=agent-new-password]", "pavel-second-pass")
        .await;
    b.click("[data-test=agent-password-save]").await;
    // Pavel was signed out everywhere just before: none left to end.
    b.wait_text("#toast", "0 session(s) ended.").await;
    app.login("pavel@example.com", "pavel-second-pass").await;
    b.click(&format!("{row} [data-test=agent-delete]")).await;
    b.click("[data-test=agent-delete-confirm]").await;
    b.wait_gone(&row).await;
    assert_eq!(
        login_status(app, "pavel@example.com", "pavel-second-pass").await,
        reqwest::StatusCode::UNAUTHORIZED
    );
    // The admin's own row offers none of these.
    assert_eq!(
        b.js("return document.querySelectorAll('[data-test=agent-row] [data-test=agent-delete]').length === document.querySelectorAll('[data-test=agent-row]').length - 1")
            .await,
        true
    );
}

/// Settings shows the replies a channel's webhook gave up on, with the
/// reason; Redeliver sends one again, to the channel's current URL, and it
/// leaves the list.
async fn failed_webhook_delivery_redelivered(app: &TestApp, b: &Browser) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
    let status = Arc::new(AtomicU16::new(503));
    let hits = Arc::new(AtomicUsize::new(0));
    let (st, h) = (Arc::clone(&status), Arc::clone(&hits));
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let (st, h) = (Arc::clone(&st), Arc::clone(&h));
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::from_u16(st.load(Ordering::SeqCst)).expect("status")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("receiver") });
    let channel = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "api", "name": "Bridge", "webhook_url": hook})),
        )
        .await;
    let (id, token) = (s(&channel["id"]), s(&channel["inbound_token"]));
    let (st, r) = app
        .inbound_to(
            &id,
            &token,
            json!({"type": "message", "message_id": "bridge-1",
                "customer": {"id": "bridged"}, "text": "over the bridge"}),
        )
        .await;
    assert!(st.is_success(), "{r}");
    let case_id = s(&r["case_id"]);
    app.reply(&case_id, "Answer over the bridge").await;
    let patch = format!("/api/v1/channels/{id}");
    let failed = format!("/api/v1/channels/{id}/deliveries?state=failed");
    let count = |path: String| async move {
        let v = app.ok(Method::GET, &path, None).await;
        v["items"].as_array().map_or(0, Vec::len)
    };
    // The receiver refuses; with the URL removed meanwhile the delivery
    // has nowhere to go and fails at its next attempt.
    wait_for("a first attempt", || async {
        hits.load(Ordering::SeqCst) > 0
    })
    .await;
    app.ok(Method::PATCH, &patch, Some(json!({"webhook_url": null})))
        .await;
    wait_for("the failed delivery", || count(failed.clone())).await;
    status.store(200, Ordering::SeqCst);
    app.ok(Method::PATCH, &patch, Some(json!({"webhook_url": hook})))
        .await;

    // The UI loads channels when it starts: a reload shows the new one.
    b.goto("/#/settings").await;
    b.client.refresh().await.expect("reload");
    let item = format!(".channel-item[data-id='{id}']");
    b.wait_text(
        &format!("{item} [data-test=failed-deliveries]"),
        "Replies the webhook could not deliver",
    )
    .await;
    b.wait_text(
        &format!("{item} [data-test=failed-delivery]"),
        "the channel has no webhook_url any more",
    )
    .await;
    let before = hits.load(Ordering::SeqCst);
    b.click(&format!("{item} [data-test=redeliver]")).await;
    b.wait_text("#toast", "Queued for delivery again.").await;
    b.wait_gone(&format!("{item} [data-test=failed-delivery]"))
        .await;
    let delivered = format!("/api/v1/channels/{id}/deliveries?state=delivered");
    wait_for("the redelivery", || count(delivered.clone())).await;
    assert_eq!(hits.load(Ordering::SeqCst), before + 1, "sent once more");
    app.finish(&case_id, "closed").await;
}

/// Polls `cond` (true, or a count above zero) every 100 ms for up to 20 s.
pub(crate) async fn wait_for<F, Fut, T>(what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
    T: Into<usize>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while cond().await.into() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never saw {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Pictures of the main pages for docs/ui.md, taken early while the
/// account holds only a few realistic chats.
async fn docs_screenshots(app: &TestApp, b: &Browser) {
    let say = |customer: &'static str, name: &'static str, id: &'static str, text: &'static str| async move {
        let (st, r) = app
            .inbound(json!({"type": "message", "message_id": id,
                "customer": {"id": customer, "name": name}, "text": text}))
            .await;
        assert!(st.is_success(), "{r}");
        s(&r["case_id"])
    };
    let old = say(
        "ann",
        "Ann Lee",
        "d1",
        "My refund for order 1042 has not arrived",
    )
    .await;
    app.reply(&old, "It is on its way, it takes up to 5 days.")
        .await;
    app.finish(&old, "closed").await;
    say(
        "boris",
        "Борис Петров",
        "d2",
        "Здравствуйте! Не приходит код подтверждения",
    )
    .await;
    let pending = say(
        "chen",
        "Chen Wei",
        "d3",
        "Can I change the delivery address?",
    )
    .await;
    app.finish(&pending, "pending").await;
    say(
        "dana",
        "Dana Cohen",
        "d4",
        "The app crashes when I open settings",
    )
    .await;
    let new = say("ann", "Ann Lee", "d5", "Now I got the refund twice!").await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{new}"),
        Some(json!({"subject": "Refund for order 1042 arrived twice"})),
    )
    .await;
    app.reply(
        &new,
        "Hi Ann, I see the double refund. Let me check with billing.",
    )
    .await;
    app.note(
        &new,
        "Billing says the second refund is a bug, ticket FIN-77",
    )
    .await;
    say("ann", "Ann Lee", "d6", "Thank you! Should I send it back?").await;
    app.react("ann", "d6", "🙏").await;
    open_case(b, &new).await;
    b.click("[data-test=toggle-previous]").await;
    b.wait_css("[data-test=previous-chat]").await;
    b.wait_text("[data-test=thread]", "Should I send it back?")
        .await;
    b.wait_text("[data-test=reactions]", "🙏").await;
    b.screenshot("docs-chat").await;
    b.goto("/#/cases").await;
    b.wait_text("[data-test=case-rows]", "Chen Wei").await;
    b.screenshot("docs-cases").await;
}

/// The Reports page shows the API's figures and an SVG chart; the case
/// list's export links keep the filters and download the filtered cases.
async fn reports_page_and_export(app: &TestApp, b: &Browser) {
    let closed = chat(app, "rep-1", "rep-1", "kiwi delivery late").await;
    app.reply(&closed, "Sorry, it ships today.").await;
    app.finish(&closed, "closed").await;
    let open = chat(app, "rep-2", "rep-2", "kiwi size question").await;
    chat(app, "rep-3", "rep-3", "where is my parcel").await;
    // A second channel, so that the chart stacks two colours.
    let web = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "api", "name": "Web form"})),
        )
        .await;
    for i in 0..2 {
        let (st, r) = app
            .inbound_to(
                &s(&web["id"]),
                &s(&web["inbound_token"]),
                json!({"type": "message", "message_id": format!("web-{i}"),
                    "customer": {"id": format!("web-{i}"), "name": "Eve"}, "text": "form question"}),
            )
            .await;
        assert!(st.is_success(), "{r}");
    }
    b.goto("/#/reports").await;
    // A reload, so that the page knows the new channel.
    b.client.refresh().await.expect("reload");
    b.wait_css("svg[data-test=chart-created] rect.bar").await;
    // The page asks for the default period: the last 30 days up to today.
    let period = b
        .js("return ['report-from', 'report-to'].map(t => document.querySelector(`[data-test=${t}]`).value)")
        .await;
    let (from, to) = (s(&period[0]), s(&period[1]));
    assert!(from < to, "{period}");
    let stats = app
        .ok(
            Method::GET,
            &format!("/api/v1/stats?from={from}&to={to}&group_by=day"),
            None,
        )
        .await;
    let created = stats["total"]["cases_created"].as_i64().expect("count");
    assert!(created >= 3, "{stats}");
    b.wait_js(
        "the created count",
        &format!(
            "document.querySelector('[data-test=figure-created] [data-test=figure-value]').textContent === '{created}'"
        ),
    )
    .await;
    // The chart's bars add up to the same count; every bar is SVG, drawn in the page.
    let bars = b
        .js("const svg = document.querySelector('svg[data-test=chart-created]'); \
             return [svg.namespaceURI, Number(svg.dataset.total), \
             [...svg.querySelectorAll('rect.bar')].reduce((a, r) => a + Number(r.dataset.value), 0)]")
        .await;
    assert_eq!(
        bars,
        json!(["http://www.w3.org/2000/svg", created, created])
    );
    b.wait_css("svg[data-test=chart-times] rect.bar").await;
    b.wait_text(
        "[data-test=figure-closed]",
        &stats["total"]["cases_closed"].to_string(),
    )
    .await;
    b.wait_css("[data-test=figure-reopen-rate]").await;
    b.wait_css("[data-test=workload] tbody tr").await;
    b.wait_text("[data-test=workload] tfoot", &created.to_string())
        .await;
    b.wait_text("svg[data-test=chart-created] + .legend", "Web form")
        .await;
    b.set_window(1280, 1480).await;
    b.screenshot("docs-reports").await;
    b.set_window(1280, 900).await;
    // Another grouping: by channel.
    b.click("select[data-test=report-group-by] option[value=channel]")
        .await;
    b.click("[data-test=report-apply]").await;
    b.wait_js(
        "the grouping in the address",
        "location.hash.includes('group_by=channel')",
    )
    .await;
    b.wait_text("[data-test=breakdown] tbody", "Messenger")
        .await;

    // Export keeps the list's filters.
    let number = app.case(&closed).await["number"].clone();
    b.goto("/#/cases?q=kiwi&status=closed&sort=created_at&order=asc")
        .await;
    b.wait_css(&format!("tr[data-case-id='{closed}']")).await;
    b.wait_gone(&format!("tr[data-case-id='{open}']")).await;
    let href = s(&b
        .js("return document.querySelector('[data-test=export-csv]').getAttribute('href')")
        .await);
    for part in [
        "format=csv",
        "q=kiwi",
        "status=closed",
        "sort=created_at",
        "order=asc",
    ] {
        assert!(href.contains(part), "{part} in {href}");
    }
    // The browser's own session downloads it (a GET: the cookie suffices)…
    let status = b
        .js(&format!("return fetch({href:?}).then(r => r.status)"))
        .await;
    assert_eq!(status, 200, "{href}");
    // …and so does the test with the browser's session cookie.
    let session = b
        .client
        .get_named_cookie("casedesk_session")
        .await
        .expect("the session cookie");
    let download = |href: String| {
        let cookie = format!("casedesk_session={}", session.value());
        async move {
            let resp = reqwest::Client::new()
                .get(format!("{}{href}", app.base))
                .header("Cookie", cookie)
                .send()
                .await
                .expect("export");
            assert_eq!(resp.status(), 200, "{href}");
            let disposition = resp
                .headers()
                .get("content-disposition")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert!(disposition.starts_with("attachment"), "{disposition}");
            resp.bytes().await.expect("body").to_vec()
        }
    };
    let csv = download(href).await;
    let csv = String::from_utf8(csv).expect("UTF-8");
    let csv = csv.strip_prefix('\u{feff}').expect("a BOM for Excel");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("number,subject,"), "{csv}");
    assert_eq!(
        lines.len(),
        2,
        "the header and the one closed kiwi case: {csv}"
    );
    assert!(lines[1].starts_with(&format!("{number},")), "{csv}");
    assert!(lines[1].contains("closed"), "{csv}");
    let xlsx_href = s(&b
        .js("return document.querySelector('[data-test=export-xlsx]').getAttribute('href')")
        .await);
    assert!(
        xlsx_href.contains("format=xlsx") && xlsx_href.contains("q=kiwi"),
        "{xlsx_href}"
    );
    let xlsx = download(xlsx_href).await;
    assert!(xlsx.starts_with(b"PK"), "an XLSX (zip) file");
}

/// The auto-finish policy simulator on the Reports page (admins): the
/// table and chart show the API's figures for the typed candidate times,
/// the account's current time marked; bad input gets the error in the
/// agent's language. The server runs on the system clock, so every seeded
/// message is "now": one customer's messages seconds apart make one case
/// whatever the time, and the assertions compare with the API's answer
/// (earlier scenarios' messages count too).
async fn simulator_panel(app: &TestApp, b: &Browser) {
    crate::telegram::sign_in_as_admin(b).await;
    let timers = app.ok(Method::GET, "/api/v1/settings", None).await;
    // The account's time: an hour, one of the candidates below.
    app.set_timers(3600, 60).await;
    let id = chat(app, "sim-1", "sim-1a", "my parcel is late").await;
    app.customer_says("sim-1", "sim-1b", "order 1234").await;
    app.reply(&id, "Let me check").await;
    chat(app, "sim-2", "sim-2a", "hello").await;

    b.goto("/#/reports").await;
    let minutes = b.wait_css("[data-test=sim-minutes]").await;
    assert_eq!(
        minutes.prop("value").await.expect("value").as_deref(),
        Some("5,10,30,60,1440"),
        "the API's default candidates"
    );
    minutes.clear().await.expect("clear");
    minutes.send_keys("5,60").await.expect("type");
    b.click("[data-test=sim-run]").await;
    b.wait_css("[data-test=sim-table] tbody tr").await;
    let period = b
        .js("return ['report-from', 'report-to'].map(t => document.querySelector(`[data-test=${t}]`).value)")
        .await;
    let v = app
        .ok(
            Method::GET,
            &format!(
                "/api/v1/simulate/auto-finish?from={}&to={}&minutes=5,60",
                s(&period[0]),
                s(&period[1])
            ),
            None,
        )
        .await;
    assert_eq!(v["current_minutes"], 60.0, "{v}");
    let messages = v["messages"].as_u64().expect("a count");
    assert!(messages >= 4, "the seeded messages: {v}");
    let cases = |i: usize| v["items"][i]["cases"].as_u64().expect("a count");
    assert!(cases(0) >= cases(1) && cases(1) >= 2, "{v}");
    let expected: Vec<Value> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .zip(["5 min", "1 h"])
        .map(|(item, words)| {
            let share = (item["reopened_within_day_share"].as_f64().expect("a share") * 1000.0)
                .round()
                / 10.0;
            json!([
                item["minutes"].to_string(),
                words,
                item["cases"].to_string(),
                format!("{share} %"),
                item["busiest_day_cases"].to_string(),
                item["minutes"] == 60,
            ])
        })
        .collect();
    let rows = b
        .js("return [...document.querySelectorAll('[data-test=sim-row]')].map(r => [r.dataset.minutes, \
             r.querySelector('[data-test=sim-time]').firstChild.textContent, \
             ...['cases', 'within-day', 'busiest'].map(k => r.querySelector(`[data-test=sim-${k}]`).textContent), \
             !!r.querySelector('[data-test=sim-current]')])")
        .await;
    assert_eq!(rows, json!(expected), "{v}");
    b.wait_text(
        "[data-test=sim-row].current [data-test=sim-current]",
        "current",
    )
    .await;
    b.wait_text(
        "[data-test=sim-period]",
        &format!("(UTC); messages read: {messages}."),
    )
    .await;
    b.wait_text("[data-test=sim-current-time]", "now: 1 h.")
        .await;
    // The chart: a bar per candidate with the same counts, the current one
    // outlined, the share as dots; named for screen readers.
    let chart = b
        .js("const svg = document.querySelector('svg[data-test=sim-chart]'); \
             return [svg.namespaceURI, svg.getAttribute('role'), !!svg.querySelector('title').textContent, \
             [...svg.querySelectorAll('rect.bar')].map(r => Number(r.dataset.value)), \
             [...svg.querySelectorAll('rect.bar.current')].map(r => Number(r.dataset.value)), \
             svg.querySelectorAll('circle.share-dot').length]")
        .await;
    assert_eq!(
        chart,
        json!([
            "http://www.w3.org/2000/svg",
            "img",
            true,
            [cases(0), cases(1)],
            [cases(1)],
            2
        ])
    );
    let findings = b.accessibility_findings().await;
    assert!(
        findings.is_empty(),
        "accessibility findings:\n{}",
        findings.join("\n")
    );
    // A bad candidate: the API's refusal in the agent's words.
    minutes.clear().await.expect("clear");
    minutes.send_keys("0").await.expect("type");
    b.click("[data-test=sim-run]").await;
    b.wait_text("[data-test=sim-error]", "whole numbers of minutes")
        .await;
    b.wait_gone("[data-test=sim-table]").await;

    // In Russian: the panel, the default candidates' words, the error.
    b.click("select[data-test=lang] option[value=ru]").await;
    b.wait_text(
        "[data-test=simulator] h2",
        "Что, если бы чаты завершались через",
    )
    .await;
    b.click("[data-test=sim-run]").await;
    b.wait_text("[data-test=sim-table] thead", "Обращений")
        .await;
    let words = b
        .js("return [...document.querySelectorAll('[data-test=sim-time]')].map(c => c.textContent)")
        .await;
    assert_eq!(
        words,
        json!(["5 мин", "10 мин", "30 мин", "1 ч текущее", "1 день"])
    );
    let minutes = b.wait_css("[data-test=sim-minutes]").await;
    minutes.clear().await.expect("clear");
    minutes.send_keys("0").await.expect("type");
    b.click("[data-test=sim-run]").await;
    b.wait_text("[data-test=sim-error]", "целых чисел минут")
        .await;
    b.click("select[data-test=lang] option[value=en]").await;
    b.wait_text("[data-test=sim-run]", "Simulate").await;
    app.set_timers(
        timers["chat_auto_finish_after_seconds"]
            .as_i64()
            .expect("seconds"),
        timers["chat_auto_finish_warning_seconds"]
            .as_i64()
            .expect("seconds"),
    )
    .await;
}

async fn auto_finish_warning_and_keep_active(app: &TestApp, b: &Browser) {
    // Short timers: the warning after 4 s, the finish after 8 s of silence.
    app.set_timers(8, 4).await;
    let id = chat(app, "auto", "auto-1", "anyone there?").await;
    open_case(b, &id).await;
    b.js("window.__notReloaded = true").await;
    b.wait_css("[data-test=auto-finish-warning]").await;
    b.wait_text("[data-test=countdown]", "0:0").await;
    b.wait_js(
        "the chat highlighted in the active list",
        &format!(
            "document.querySelector(\"{}\").classList.contains('warning')",
            active_item(&id)
        ),
    )
    .await;
    b.screenshot("docs-auto-finish").await;
    let before = app.case(&id).await;
    b.click("[data-test=keep-active]").await;
    b.wait_gone("[data-test=auto-finish-warning]").await;
    let after = app.case(&id).await;
    assert!(
        s(&after["auto_finish_at"]) > s(&before["auto_finish_at"]),
        "keep-active moved the deadline: {before} → {after}"
    );
    // Then the chat finishes on its own, and the page shows it live.
    b.wait_css("[data-test=auto-finish-warning]").await;
    b.wait_css("[data-test=finished-banner]").await;
    b.wait_gone("[data-test=end-chat]").await;
    b.wait_gone("[data-test=auto-finish-warning]").await;
    assert_eq!(b.js("return window.__notReloaded === true").await, true);
    let case = app.case(&id).await;
    assert_eq!(case["chat_state"], "finished");
    assert_eq!(case["status"], "open", "the customer wrote last");
    app.set_timers(600, 60).await;
}

async fn log_out(_app: &TestApp, b: &Browser) {
    b.goto("/#/active").await;
    b.click("[data-test=logout]").await;
    b.wait_css("[data-test=login-form]").await;
    let status = b.js("return fetch('/api/v1/me').then(r => r.status)").await;
    assert_eq!(status, 401, "the session is gone");
}

/// An `agent` (created in `admin_settings`) works chats but sees no settings.
async fn agent_without_admin_rights(app: &TestApp, b: &Browser) {
    let id = chat(app, "for-olga", "for-olga", "hello Olga").await;
    b.goto("/login").await;
    b.type_into("[data-test=email]", "olga@example.com").await;
    b.type_into("[data-test=password]", "a long password").await;
    b.click("[data-test=sign-in]").await;
    b.wait_text("[data-test=profile-link]", "Olga").await;
    b.wait_css(&active_item(&id)).await;
    assert_eq!(
        b.js("return !!document.querySelector('[data-nav=settings]')")
            .await,
        false,
        "no settings link for agents"
    );
    // Settings are the admins': an agent who lands there is taken to
    // the chats.
    b.goto("/#/settings").await;
    b.wait_js(
        "the agent taken to the chats",
        "location.hash === '#/active' && document.querySelector('[data-test=welcome]')",
    )
    .await;
    open_case(b, &id).await;
    // Options: unassigned, admin, Olga.
    b.click("select[data-test=assignee-select] option:nth-child(3)")
        .await;
    b.wait_js(
        "the chat assigned to Olga",
        "document.querySelector('[data-test=assignee-select] option:checked').textContent === 'Olga'",
    )
    .await;
    let olga = app.ok(Method::GET, "/api/v1/agents", None).await["items"]
        .as_array()
        .expect("agents")
        .iter()
        .find(|a| a["name"] == "Olga")
        .cloned()
        .expect("Olga");
    app.wait_case(&id, 10, |c| c["assignee_id"] == olga["id"])
        .await;
    // Reports: an agent gets only their own figures.
    b.goto("/#/reports").await;
    b.wait_css("[data-test=workload]").await;
    b.wait_js(
        "only Olga's row in the workload table",
        "[...document.querySelectorAll('[data-test=workload] tbody tr')].map(r => r.cells[0].textContent).join() === 'Olga'",
    )
    .await;
    // Templates: a shared one is read-only for an agent, who makes personal ones.
    let shared = template_named(app, &app.token, "Solved, closing").await;
    b.goto("/#/templates").await;
    b.wait_css(&format!(
        ".template-row[data-id='{}'] [data-test=read-only]",
        s(&shared["id"])
    ))
    .await;
    b.click("#template-new").await;
    b.type_into("#template-name", "Olga's greeting").await;
    b.type_into("#template-body", "Hi {{customer.name | there}}!")
        .await;
    assert_eq!(
        b.js("return document.querySelector('#template-shared') === null")
            .await,
        true,
        "no sharing for agents"
    );
    b.click("#template-save").await;
    b.wait_gone("#template-editor").await;
    let token = app.login("olga@example.com", "a long password").await;
    let own = template_named(app, &token, "Olga's greeting").await;
    assert_eq!(own["shared"], false, "{own}");
    assert_eq!(own["owner_id"], olga["id"], "{own}");
    b.wait_text(
        &format!(
            ".template-row[data-id='{}'] [data-test=template-kind]",
            s(&own["id"])
        ),
        "personal",
    )
    .await;
    b.wait_css(&format!(
        ".template-row[data-id='{}'] [data-test=template-edit]",
        s(&own["id"])
    ))
    .await;
    // Automation: an agent reads the rules in words and changes nothing.
    let rule = app
        .ok(
            Method::POST,
            "/api/v1/rules",
            Some(json!({
                "name": "Close after two days waiting",
                "enabled": false,
                "trigger": {"type": "pending_for", "seconds": 172_800},
                "conditions": [{"type": "channel_is", "channel_ids": [app.channel_id]}],
                "actions": [
                    {"type": "send_reply", "text": "We close this for now."},
                    {"type": "set_status", "status": "closed"}
                ]
            })),
        )
        .await;
    let rule_id = s(&rule["id"]);
    b.click("[data-nav=rules]").await;
    b.wait_text(
        &format!("{} [data-test=rule-summary]", rule_item(&rule_id)),
        "When a case has been pending for 2 days, if channel is Messenger: \
         send reply “We close this for now.”, set status closed",
    )
    .await;
    b.wait_text(
        &format!("{} [data-test=rule-state]", rule_item(&rule_id)),
        "disabled",
    )
    .await;
    b.wait_css("[data-test=rules-read-only]").await;
    assert_eq!(
        b.js("return document.querySelector('#rules-new, .rule-item button, .rule-item input') === null")
            .await,
        true,
        "no edit controls for agents"
    );
    let (st, body) = app
        .raw(
            Method::PATCH,
            &format!("/api/v1/rules/{rule_id}"),
            Some(&token),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(st, 403, "{body}");
    app.ok(Method::DELETE, &format!("/api/v1/rules/{rule_id}"), None)
        .await;
    b.click("[data-test=logout]").await;
    b.wait_css("[data-test=login-form]").await;
}

/// A label made through the API; returns its id.
async fn new_label(app: &TestApp, name: &str, color: &str) -> String {
    let label = app
        .ok(
            Method::POST,
            "/api/v1/labels",
            Some(json!({"name": name, "color": color})),
        )
        .await;
    s(&label["id"])
}

/// The template of that name among those `token`'s agent sees.
async fn template_named(app: &TestApp, token: &str, name: &str) -> Value {
    let (st, list) = app
        .raw(Method::GET, "/api/v1/templates", Some(token), None)
        .await;
    assert!(st.is_success(), "{list}");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no template {name:?} in {list}"))
}

async fn label_by_id(app: &TestApp, id: &str) -> Option<Value> {
    app.ok(Method::GET, "/api/v1/labels", None).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|l| l["id"] == id)
        .cloned()
}

fn label_ids(case: &Value) -> Vec<String> {
    case["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| s(&l["id"]))
        .collect()
}

fn template_item(id: &str) -> String {
    format!(".template-item[data-id='{id}']")
}

/// The picker next to the reply box: search, choose, preview, apply; the
/// reply, the status, the end of the chat and the label show at once.
async fn apply_template_from_chat_page(app: &TestApp, b: &Browser) {
    let solved = new_label(app, "Solved", "#1f8a70").await;
    let template = app
        .ok(
            Method::POST,
            "/api/v1/templates",
            Some(json!({
                "name": "Solved, closing",
                "body": "Hi {{customer.name}}, case #{{case.number}} is solved. Bye!",
                "actions": [
                    {"type": "add_label", "label_id": solved},
                    {"type": "set_status", "status": "closed"}
                ]
            })),
        )
        .await;
    assert_eq!(template["shared"], true, "an admin's template is shared");
    let tid = s(&template["id"]);
    let other = app
        .ok(
            Method::POST,
            "/api/v1/templates",
            Some(json!({"name": "Shipping delay",
                "body": "Sorry {{customer.name | there}}, the parcel is late."})),
        )
        .await;
    let other_id = s(&other["id"]);
    let id = chat(app, "tpl-1", "tpl-1", "Is it fixed now?").await;
    let number = app.case(&id).await["number"].clone();
    let reply = format!("Hi Ann, case #{number} is solved. Bye!");
    open_case(b, &id).await;
    b.wait_css(&active_item(&id)).await;
    b.click("#templates-button").await;
    b.wait_css(&template_item(&tid)).await;
    b.wait_css(&template_item(&other_id)).await;
    b.wait_text(
        &format!("{} [data-test=template-actions]", template_item(&tid)),
        "Add label: Solved",
    )
    .await;
    b.wait_text(
        &format!("{} [data-test=template-actions]", template_item(&tid)),
        "Set status: closed",
    )
    .await;
    // The search narrows the list by name or text.
    b.type_into("#template-search", "solved").await;
    b.wait_gone(&template_item(&other_id)).await;
    b.click(&template_item(&tid)).await;
    // The preview is the reply as it will be sent.
    b.wait_text("[data-test=template-preview-text]", &reply)
        .await;
    b.screenshot("docs-templates").await;
    b.click("#template-apply").await;
    b.wait_gone("[data-test=dialog]").await;
    b.wait_text(".msg.from-agent [data-test=message-text]", &reply)
        .await;
    b.wait_css("[data-test=finished-banner]").await;
    b.wait_gone("[data-test=end-chat]").await;
    b.wait_js(
        "the status closed",
        "document.querySelector('select[data-test=status-select]').value === 'closed'",
    )
    .await;
    b.wait_text("[data-test=state]", "ended").await;
    b.wait_text(
        &format!("[data-test=case-labels] [data-test=label-chip][data-label-id='{solved}']"),
        "Solved",
    )
    .await;
    let case = app.case(&id).await;
    assert_eq!(case["status"], "closed", "{case}");
    assert_eq!(case["chat_state"], "finished", "{case}");
    assert_eq!(label_ids(&case), vec![solved.clone()]);
    assert!(
        app.messages(&id).await.iter().any(|m| m["text"] == reply),
        "the reply was sent"
    );
    let events = app.events(&id).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "template_applied"
                && e["data"]["template_name"] == "Solved, closing"),
        "{events:?}"
    );
    // A refusal shows the API's message: here the template is deleted while
    // the picker is open.
    let id2 = chat(app, "tpl-2", "tpl-2", "Where is my parcel?").await;
    open_case(b, &id2).await;
    b.click("#templates-button").await;
    b.click(&template_item(&other_id)).await;
    b.wait_text(
        "[data-test=template-preview-text]",
        "Sorry Ann, the parcel is late.",
    )
    .await;
    app.ok(
        Method::DELETE,
        &format!("/api/v1/templates/{other_id}"),
        None,
    )
    .await;
    b.click("#template-apply").await;
    b.wait_text("#toast.error", "The template was not found")
        .await;
    let untouched = app.case(&id2).await;
    assert_eq!(untouched["chat_state"], "active", "{untouched}");
    assert!(
        app.messages(&id2)
            .await
            .iter()
            .all(|m| m["author"]["type"] != "agent"),
        "nothing was sent"
    );
}

/// A label added on the case page shows as a chip, filters the case list
/// (and its export), and comes off with ×.
async fn labels_on_case_and_list_filter(app: &TestApp, b: &Browser) {
    let vip = new_label(app, "VIP", "#b3261e").await;
    let tagged = chat(app, "lbl-1", "lbl-1", "walrus order one").await;
    let plain = chat(app, "lbl-2", "lbl-2", "walrus order two").await;
    let chip = format!("[data-test=case-labels] [data-test=label-chip][data-label-id='{vip}']");
    open_case(b, &tagged).await;
    b.click(&format!("select#add-label option[value='{vip}']"))
        .await;
    b.wait_text(&chip, "VIP").await;
    b.wait_js(
        "VIP to leave the picker",
        &format!("!document.querySelector(\"#add-label option[value='{vip}']\")"),
    )
    .await;
    // The chip wears the label's colour (its border and dot, its tint
    // behind dark text that reads at WCAG AA whatever the colour).
    let colours = b
        .js(&format!(
            "const c = getComputedStyle(document.querySelector(\"{chip}\")); \
             return [c.borderTopColor, c.color, c.backgroundColor !== 'rgb(255, 255, 255)']"
        ))
        .await;
    assert_eq!(
        colours,
        json!(["rgb(179, 38, 30)", "rgb(29, 35, 48)", true])
    );
    assert_eq!(label_ids(&app.case(&tagged).await), vec![vip.clone()]);

    let row = |id: &str| format!("tr[data-case-id='{id}']");
    b.goto("/#/cases?q=walrus").await;
    b.wait_css(&row(&plain)).await;
    b.wait_text(&format!("{} [data-test=row-labels]", row(&tagged)), "VIP")
        .await;
    b.click(&format!(
        "select[data-test=filter-label_id] option[value='{vip}']"
    ))
    .await;
    b.click("[data-test=apply-filters]").await;
    b.wait_js(
        "the label filter in the address",
        &format!("location.hash.includes('label_id={vip}')"),
    )
    .await;
    b.wait_gone(&row(&plain)).await;
    b.wait_css(&row(&tagged)).await;
    b.wait_js(
        "only the labelled case",
        "document.querySelectorAll('[data-test=case-rows] tr').length === 1",
    )
    .await;
    b.screenshot("docs-label-filter").await;
    let href = s(&b
        .js("return document.querySelector('[data-test=export-csv]').getAttribute('href')")
        .await);
    assert!(
        href.contains(&format!("label_id={vip}")) && href.contains("q=walrus"),
        "{href}"
    );
    // A reload keeps the filter.
    b.client.refresh().await.expect("reload");
    b.wait_js(
        "the label filter to survive a reload",
        &format!("document.querySelector('select[data-test=filter-label_id]')?.value === '{vip}'"),
    )
    .await;
    b.wait_css(&row(&tagged)).await;
    // × takes it off again.
    open_case(b, &tagged).await;
    b.click(&format!("{chip} [data-test=remove-label]")).await;
    b.wait_gone(&chip).await;
    b.wait_css(&format!("select#add-label option[value='{vip}']"))
        .await;
    assert!(label_ids(&app.case(&tagged).await).is_empty());
    assert!(app.list(&format!("label_id={vip}")).await.is_empty());
}

/// The Templates page: a new template with a placeholder and two actions,
/// then an edit (rename, drop an action, make it personal), a refusal with
/// the API's message, and a delete.
async fn templates_page_create_and_edit(app: &TestApp, b: &Browser) {
    b.goto("/#/templates").await;
    b.click("#template-new").await;
    b.type_into("#template-name", "Follow-up tomorrow").await;
    b.type_into("#template-body", "Hello ").await;
    b.click("[data-placeholder='customer.name']").await;
    b.type_into("#template-body", ", we will write tomorrow.")
        .await;
    b.click("#action-add").await;
    b.click("#action-rows li:nth-child(1) [data-test=action-status] option[value=pending]")
        .await;
    b.click("#action-add").await;
    b.click("#action-rows li:nth-child(2) [data-test=action-type] option[value=add_note]")
        .await;
    b.type_into(
        "#action-rows li:nth-child(2) [data-test=action-text]",
        "Call back tomorrow",
    )
    .await;
    assert_eq!(
        b.js("return document.querySelector('#template-shared').checked")
            .await,
        true,
        "an admin's template is shared by default"
    );
    b.screenshot("docs-template-editor").await;
    b.click("#template-save").await;
    b.wait_gone("#template-editor").await;
    let saved = template_named(app, &app.token, "Follow-up tomorrow").await;
    assert_eq!(
        saved["body"], "Hello {{customer.name}}, we will write tomorrow.",
        "{saved}"
    );
    assert_eq!(
        saved["actions"],
        json!([{"type": "set_status", "status": "pending"},
            {"type": "add_note", "text": "Call back tomorrow"}])
    );
    assert_eq!(saved["shared"], true);
    let id = s(&saved["id"]);
    let row = format!(".template-row[data-id='{id}']");
    b.wait_text(&row, "Set status: pending").await;
    b.wait_text(&row, "Add internal note: Call back tomorrow")
        .await;
    // Edit: rename, drop the note, make it personal.
    b.click(&format!("{row} [data-test=template-edit]")).await;
    let name = b.wait_css("#template-name").await;
    name.clear().await.expect("clear");
    name.send_keys("Follow-up (personal)").await.expect("type");
    b.click("#action-rows li:nth-child(2) [data-test=action-remove]")
        .await;
    b.click("#template-shared").await;
    b.click("#template-save").await;
    b.wait_text(
        &format!("{row} [data-test=template-name]"),
        "Follow-up (personal)",
    )
    .await;
    b.wait_text(&format!("{row} [data-test=template-kind]"), "personal")
        .await;
    let edited = app
        .ok(Method::GET, &format!("/api/v1/templates/{id}"), None)
        .await;
    assert_eq!(edited["name"], "Follow-up (personal)");
    assert_eq!(
        edited["actions"],
        json!([{"type": "set_status", "status": "pending"}])
    );
    assert_eq!(edited["shared"], false);
    // An unknown placeholder: the API's message, and nothing saved.
    b.click(&format!("{row} [data-test=template-edit]")).await;
    let body = b.wait_css("#template-body").await;
    body.clear().await.expect("clear");
    body.send_keys("Hi {{customer.nam}}").await.expect("type");
    b.click("#template-save").await;
    b.wait_text("#toast.error", "Unknown placeholder {{customer.nam}}")
        .await;
    b.click("[data-test=template-cancel]").await;
    b.wait_gone("#template-editor").await;
    let kept = app
        .ok(Method::GET, &format!("/api/v1/templates/{id}"), None)
        .await;
    assert_eq!(kept["body"], saved["body"]);
    // Delete, after a confirmation.
    b.click(&format!("{row} [data-test=template-delete]")).await;
    b.wait_text("[data-test=dialog]", "Follow-up (personal)")
        .await;
    b.click("#template-delete-confirm").await;
    b.wait_gone(&row).await;
    let (st, _) = app
        .call(Method::GET, &format!("/api/v1/templates/{id}"), None)
        .await;
    assert_eq!(st, 404);
}

/// Settings → Labels: create, a duplicate refused, rename and recolour,
/// clear the colour, delete (which takes the label off its cases).
async fn labels_admin_on_settings(app: &TestApp, b: &Browser) {
    b.goto("/#/settings").await;
    b.wait_css("[data-test=labels-card]").await;
    b.type_into("#label-new-name", "Billing").await;
    b.click("#label-create").await;
    b.wait_text("[data-test=label-list]", "Billing").await;
    let labels = app.ok(Method::GET, "/api/v1/labels", None).await;
    let label = labels["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|l| l["name"] == "Billing")
        .cloned()
        .expect("the new label");
    assert!(
        label["color"].is_string(),
        "a colour from the palette: {label}"
    );
    let id = s(&label["id"]);
    let row = format!("[data-test=label-row][data-label-id='{id}']");
    // The same name in another case is refused with the API's message.
    b.type_into("#label-new-name", "billing").await;
    b.click("#label-create").await;
    b.wait_text("#toast.error", "already exists").await;
    b.wait_css("#label-new-name")
        .await
        .clear()
        .await
        .expect("clear");
    // Rename and recolour.
    let name = b.wait_css(&format!("{row} [data-test=label-name]")).await;
    name.clear().await.expect("clear");
    name.send_keys("Billing & refunds").await.expect("type");
    b.js(&format!(
        "const c = document.querySelector(\"{row} [data-test=label-color]\"); \
         c.value = '#2e7d32'; c.dispatchEvent(new Event('input', {{bubbles: true}}));"
    ))
    .await;
    b.click(&format!("{row} [data-test=label-save]")).await;
    b.wait_text(
        &format!("{row} [data-test=label-chip]"),
        "Billing & refunds",
    )
    .await;
    let renamed = label_by_id(app, &id).await.expect("the label");
    assert_eq!(renamed["name"], "Billing & refunds");
    assert_eq!(renamed["color"], "#2e7d32");
    b.screenshot("docs-labels-admin").await;
    b.click(&format!("{row} [data-test=label-clear-color]"))
        .await;
    b.wait_gone(&format!("{row} [data-test=label-clear-color]"))
        .await;
    assert_eq!(
        label_by_id(app, &id).await.expect("the label")["color"],
        Value::Null
    );
    // Deleting asks first, then takes the label off every case.
    let case = chat(app, "lbl-admin", "lbl-admin", "invoice question").await;
    app.ok(
        Method::POST,
        &format!("/api/v1/cases/{case}/labels"),
        Some(json!({ "label_id": id })),
    )
    .await;
    b.click(&format!("{row} [data-test=label-delete]")).await;
    b.wait_text("[data-test=dialog]", "taken off every case")
        .await;
    b.click("#label-delete-confirm").await;
    b.wait_gone(&row).await;
    assert!(label_by_id(app, &id).await.is_none(), "deleted");
    assert!(label_ids(&app.case(&case).await).is_empty());
}

pub(crate) fn rule_item(id: &str) -> String {
    format!(".rule-item[data-id='{id}']")
}

/// Every rule of the account, in the order they run.
async fn rules(app: &TestApp) -> Vec<Value> {
    app.ok(Method::GET, "/api/v1/rules", None).await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn rule_named(app: &TestApp, name: &str) -> Option<Value> {
    rules(app).await.into_iter().find(|r| r["name"] == name)
}

/// The Automation page, loaded afresh (with the label catalogue).
pub(crate) async fn open_rules(b: &Browser) {
    b.goto("/#/active").await;
    b.goto("/#/rules").await;
    b.wait_css("#rule-rows[data-loaded]").await;
}

/// The Automation page: a rule made in the editor, tried with a dry run
/// that finds the case it would touch (and changes nothing), saved, set off
/// by the next customer message, then disabled from the list.
async fn rules_page_create_dry_run_and_fire(app: &TestApp, b: &Browser) {
    let refund = new_label(app, "Refund", "#d9822b").await;
    let seeded = chat(
        app,
        "rule-fire",
        "rule-fire-1",
        "I want a refund for order 88",
    )
    .await;
    open_rules(b).await;
    b.click("#rules-new").await;
    b.type_into("#rule-name", "Refund requests").await;
    b.click("#rule-trigger option[value=customer_message]")
        .await;
    b.click("#condition-add").await;
    let cond = "#condition-rows li:nth-child(1)";
    b.click(&format!(
        "{cond} [data-test=condition-type] option[value=message_contains]"
    ))
    .await;
    b.type_into(&format!("{cond} [data-test=condition-text]"), "refund")
        .await;
    b.click("#action-add").await;
    b.click("#action-rows li:nth-child(1) [data-test=action-type] option[value=add_label]")
        .await;
    b.click(&format!(
        "#action-rows li:nth-child(1) [data-test=action-label] option[value='{refund}']"
    ))
    .await;
    b.click("#action-add").await;
    b.click("#action-rows li:nth-child(2) [data-test=action-type] option[value=send_reply]")
        .await;
    b.type_into(
        "#action-rows li:nth-child(2) [data-test=action-text]",
        "We got it",
    )
    .await;
    // The dry run lists the seeded case, as the API's own dry run does.
    b.click("#rule-dry-run").await;
    let link = format!(".dry-run-case[data-id='{seeded}']");
    b.wait_css(&link).await;
    let body = json!({
        "trigger": {"type": "customer_message"},
        "conditions": [{"type": "message_contains", "text": "refund"}],
        "actions": [
            {"type": "add_label", "label_id": refund},
            {"type": "send_reply", "text": "We got it"}
        ]
    });
    let dry = app
        .ok(Method::POST, "/api/v1/rules/dry-run", Some(body.clone()))
        .await;
    let matched = dry["cases"].as_array().expect("cases").len();
    b.wait_text(
        "[data-test=dry-run-summary]",
        &format!(
            "{matched} of the {} most recently active cases match now",
            dry["scanned"]
        ),
    )
    .await;
    assert_eq!(
        b.js(&format!(
            "return document.querySelector(\"{link}\").getAttribute('href')"
        ))
        .await,
        format!("#/case/{seeded}")
    );
    assert!(
        label_ids(&app.case(&seeded).await).is_empty(),
        "a dry run changes nothing"
    );
    assert!(
        app.messages(&seeded)
            .await
            .iter()
            .all(|m| m["author"]["type"] != "system"),
        "a dry run sends nothing"
    );
    b.set_window(1280, 1100).await;
    b.js("document.querySelector('#toast').hidden = true").await;
    b.screenshot("docs-rule-editor").await;
    b.set_window(1280, 900).await;
    b.click("#rule-save").await;
    b.wait_gone("#rule-editor").await;
    let rule = rule_named(app, "Refund requests")
        .await
        .expect("the rule was saved");
    assert_eq!(rule["enabled"], true, "{rule}");
    for key in ["trigger", "conditions", "actions"] {
        assert_eq!(rule[key], body[key], "{key}: {rule}");
    }
    let id = s(&rule["id"]);
    let item = rule_item(&id);
    b.wait_text(
        &format!("{item} [data-test=rule-summary]"),
        "When a customer message arrives, if message contains “refund”: \
         add label Refund, send reply “We got it”",
    )
    .await;
    b.wait_text(&format!("{item} [data-test=rule-state]"), "enabled")
        .await;
    // The next customer message with the word sets it off, in the same change.
    app.customer_says("rule-fire", "rule-fire-2", "Any news on my REFUND?")
        .await;
    let case = app.case(&seeded).await;
    assert_eq!(label_ids(&case), vec![refund.clone()], "{case}");
    let messages = app.messages(&seeded).await;
    let last = messages.last().expect("messages");
    assert_eq!(
        (&last["author"]["type"], &last["text"]),
        (&json!("system"), &json!("We got it")),
        "{messages:?}"
    );
    // Disabled from the list: the API says so, and it no longer fires.
    b.click(&format!("{item} [data-test=rule-toggle]")).await;
    b.wait_text(&format!("{item} [data-test=rule-state]"), "disabled")
        .await;
    let disabled = rule_named(app, "Refund requests").await.expect("the rule");
    assert_eq!(disabled["enabled"], false, "{disabled}");
    let quiet = chat(app, "rule-quiet", "rule-quiet-1", "refund, please").await;
    assert!(label_ids(&app.case(&quiet).await).is_empty());
    app.ok(Method::DELETE, &format!("/api/v1/rules/{id}"), None)
        .await;
}

/// A rule the API refuses shows the API's message and saves nothing; a time
/// rule's delay is entered in days; Move up and Move down reorder rules.
async fn rules_page_validation_and_reorder(app: &TestApp, b: &Browser) {
    open_rules(b).await;
    b.click("#rules-new").await;
    b.type_into("#rule-name", "Never saved").await;
    b.click("#condition-add").await;
    let cond = "#condition-rows li:nth-child(1)";
    b.click(&format!(
        "{cond} [data-test=condition-type] option[value=message_contains]"
    ))
    .await;
    b.type_into(&format!("{cond} [data-test=condition-text]"), "walrus")
        .await;
    b.click("#rule-save").await;
    // The API's code, in the agent's words.
    b.wait_text("#rule-error", "A rule needs at least one action.")
        .await;
    b.click("#action-add").await;
    b.click("#rule-trigger option[value=case_created]").await;
    b.click("#rule-save").await;
    b.wait_text(
        "#rule-error",
        "Condition 1: “Message contains” only fits the triggers “customer wrote” and “agent replied”.",
    )
    .await;
    b.click("[data-test=rule-cancel]").await;
    b.wait_gone("#rule-editor").await;
    assert!(rule_named(app, "Never saved").await.is_none());

    // A time rule, disabled so that it never fires: 2 days are 172800 s.
    b.click("#rules-new").await;
    b.type_into("#rule-name", "Close after two days").await;
    b.click("#rule-trigger option[value=pending_for]").await;
    let delay = b.wait_css("#rule-delay").await;
    delay.clear().await.expect("clear");
    delay.send_keys("2").await.expect("type");
    b.click("#rule-delay-unit option[value=days]").await;
    b.click("#condition-add").await;
    b.click(&format!(
        "{cond} [data-test=condition-type] option[value=channel_is]"
    ))
    .await;
    b.click(&format!(
        "{cond} [data-test=condition-channel][value='{}']",
        app.channel_id
    ))
    .await;
    b.click("#action-add").await;
    b.click("#action-rows li:nth-child(1) [data-test=action-type] option[value=send_reply]")
        .await;
    b.type_into(
        "#action-rows li:nth-child(1) [data-test=action-text]",
        "We close this for now, {{customer.name}}.",
    )
    .await;
    b.click("#action-add").await;
    b.click("#rule-enabled").await;
    b.click("#rule-save").await;
    b.wait_gone("#rule-editor").await;
    let first = rule_named(app, "Close after two days")
        .await
        .expect("the time rule was saved");
    assert_eq!(
        (&first["trigger"], &first["enabled"]),
        (
            &json!({"type": "pending_for", "seconds": 172_800}),
            &json!(false)
        ),
        "{first}"
    );
    assert_eq!(
        first["conditions"],
        json!([{"type": "channel_is", "channel_ids": [app.channel_id]}])
    );
    assert_eq!(
        first["actions"],
        json!([
            {"type": "send_reply", "text": "We close this for now, {{customer.name}}."},
            {"type": "set_status", "status": "closed"}
        ])
    );
    let first = s(&first["id"]);
    b.wait_text(
        &format!("{} [data-test=rule-summary]", rule_item(&first)),
        "When a case has been pending for 2 days, if channel is Messenger: \
         send reply “We close this for now, {{customer.name}}.”, set status closed",
    )
    .await;

    // Reorder: the second rule moves above the first and back.
    let second = app
        .ok(
            Method::POST,
            "/api/v1/rules",
            Some(json!({
                "name": "Note on a customer nobody is",
                "enabled": false,
                "trigger": {"type": "case_created"},
                "conditions": [{"type": "customer_id_is", "customer_id": "nobody-at-all"}],
                "actions": [{"type": "add_note", "text": "never"}]
            })),
        )
        .await;
    let second = s(&second["id"]);
    let ours = |all: Vec<Value>| -> Vec<String> {
        all.iter()
            .map(|r| s(&r["id"]))
            .filter(|id| *id == first || *id == second)
            .collect()
    };
    assert_eq!(ours(rules(app).await), [first.clone(), second.clone()]);
    open_rules(b).await;
    let above = |a: &str, z: &str| {
        format!(
            "(() => {{ const ids = [...document.querySelectorAll('.rule-item')].map(e => e.dataset.id); \
             return ids.indexOf('{a}') >= 0 && ids.indexOf('{a}') < ids.indexOf('{z}'); }})()"
        )
    };
    b.wait_css(&rule_item(&second)).await;
    b.click(&format!("{} [data-test=rule-up]", rule_item(&second)))
        .await;
    b.wait_js("the second rule on top", &above(&second, &first))
        .await;
    assert_eq!(ours(rules(app).await), [second.clone(), first.clone()]);
    b.screenshot("docs-rules").await;
    b.click(&format!("{} [data-test=rule-down]", rule_item(&second)))
        .await;
    b.wait_js("the second rule back below", &above(&first, &second))
        .await;
    assert_eq!(ours(rules(app).await), [first.clone(), second.clone()]);
    // In Russian: the sentence, the editor's dry run and the delay's unit.
    b.click("select[data-test=lang] option[value=ru]").await;
    b.wait_text("main h1", "Автоматизация").await;
    b.wait_text(
        &format!("{} [data-test=rule-summary]", rule_item(&first)),
        "Когда обращение в ожидании уже 2 дня, если канал — Messenger: \
         отправить ответ «We close this for now, {{customer.name}}.», \
         установить статус «закрытое»",
    )
    .await;
    b.click(&format!("{} [data-test=rule-edit]", rule_item(&first)))
        .await;
    b.wait_text("#rule-dry-run", "Пробный запуск").await;
    assert_eq!(
        b.js("return [document.querySelector('#rule-delay').value, \
              document.querySelector('#rule-delay-unit option:checked').textContent]")
            .await,
        json!(["2", "дни"])
    );
    b.click("[data-test=rule-cancel]").await;
    b.click("select[data-test=lang] option[value=en]").await;
    b.wait_text("main h1", "Automation").await;
    // Deleting asks first.
    b.click(&format!("{} [data-test=rule-delete]", rule_item(&second)))
        .await;
    b.wait_text("[data-test=dialog]", "Note on a customer nobody is")
        .await;
    b.click("#rule-delete-confirm").await;
    b.wait_gone(&rule_item(&second)).await;
    assert_eq!(ours(rules(app).await), vec![first.clone()]);
    app.ok(Method::DELETE, &format!("/api/v1/rules/{first}"), None)
        .await;
}

/// The channel of the account named `name`, as `GET /api/v1/channels` lists it.
async fn channel_named(app: &TestApp, name: &str) -> Value {
    app.ok(Method::GET, "/api/v1/channels", None).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no channel named {name}"))
}

/// Settings → Channels for the web chat widget: created with its allowed
/// site, the snippet and the secret shown once in a dialog, the sites
/// edited (a bad one refused with the API's words); api channels unchanged.
async fn widget_channel_admin(app: &TestApp, b: &Browser) {
    b.goto("/#/settings").await;
    // The kind decides the fields: a webhook for a messenger, sites for a widget.
    b.wait_css("#channel-kind").await;
    b.wait_css("#channel-webhook").await;
    b.wait_gone("#channel-origins").await;
    b.click("#channel-kind option[value=widget]").await;
    b.wait_css("#channel-origins").await;
    b.wait_gone("#channel-webhook").await;
    b.type_into("#channel-name", "Shop site chat").await;
    // An origin needs its scheme: the API's refusal shows under the form.
    b.type_into("#channel-origins", "shop.example").await;
    b.click("#channel-create").await;
    b.wait_text(
        "#channel-error",
        "“shop.example” is not a site address like https://shop.example",
    )
    .await;
    let listed = app.ok(Method::GET, "/api/v1/channels", None).await;
    assert!(
        !listed.to_string().contains("Shop site chat"),
        "nothing created: {listed}"
    );
    let origins = b.wait_css("#channel-origins").await;
    origins.clear().await.expect("clear");
    origins
        .send_keys("https://shop.example")
        .await
        .expect("type");
    b.click("#channel-create").await;
    let dialog = "dialog.snippet-dialog";
    b.wait_text(&format!("{dialog} .channel-snippet"), "/widget.js")
        .await;
    let channel = channel_named(app, "Shop site chat").await;
    let id = s(&channel["id"]);
    assert_eq!(channel["kind"], "widget");
    assert_eq!(channel["allowed_origins"], json!(["https://shop.example"]));
    assert!(channel.get("inbound_token").is_none(), "never listed");
    let snippet = b.text(&format!("{dialog} .channel-snippet")).await;
    assert!(
        snippet.contains(&format!("data-casedesk-channel=\"{id}\"")),
        "{snippet}"
    );
    assert!(
        snippet.contains(&format!("src=\"{}/widget.js\"", app.base)),
        "{snippet}"
    );
    assert_eq!(snippet, s(&channel["snippet"]));
    // The secret, once, with the warning: the key of the site's signed users.
    b.wait_text(dialog, "shown only now").await;
    b.wait_text(dialog, "docs/widget.md").await;
    let secret = b.text(&format!("{dialog} [data-test=widget-secret]")).await;
    assert_eq!(secret.len(), 64, "{secret}");
    let signed = app
        .http
        .post(format!("{}/api/v1/widget/{id}/visitors", app.base))
        .header("origin", "https://shop.example")
        .json(&json!({"user_id": "site-user-7",
            "user_hash": casedesk_server::channels::widget::user_hash(&secret, "site-user-7")}))
        .send()
        .await
        .expect("a visitor");
    assert_eq!(signed.status(), reqwest::StatusCode::CREATED);
    b.screenshot("docs-widget-snippet").await;
    // Copy selects the snippet; the clipboard takes it where the page may
    // write to it, otherwise the toast says to press Ctrl+C.
    b.click(&format!("{dialog} .copy-snippet")).await;
    b.wait_js(
        "the copy toast",
        "!document.querySelector('#toast').hidden && \
         /Copied|Ctrl\\+C/.test(document.querySelector('#toast').textContent)",
    )
    .await;
    assert_eq!(
        b.js("return window.getSelection().toString()").await,
        json!(snippet)
    );
    assert_eq!(
        b.text(&format!("{dialog} [data-test=dialog-cancel]")).await,
        "Done"
    );
    b.click(&format!("{dialog} [data-test=dialog-cancel]"))
        .await;
    b.wait_gone(dialog).await;
    b.wait_gone("#channel-error").await;
    let secret_json = serde_json::to_string(&secret).expect("json");
    assert_eq!(
        b.js(&format!(
            "return document.body.textContent.includes({secret_json})"
        ))
        .await,
        false,
        "the secret is gone with the dialog"
    );
    // The list, also after a reload: kind, snippet with Copy, sites.
    b.client.refresh().await.expect("reload");
    let item = format!(".channel-item[data-id='{id}'][data-kind=widget]");
    b.wait_text(&format!("{item} .channel-kind"), "Web chat widget")
        .await;
    assert_eq!(b.text(&format!("{item} .channel-snippet")).await, snippet);
    b.wait_css(&format!("{item} .copy-snippet")).await;
    b.wait_text(&format!("{item} .channel-sites"), "https://shop.example")
        .await;
    // Edit the sites: two of them.
    b.click(&format!("{item} .edit-origins")).await;
    let input = b.wait_css(&format!("{item} .origins-input")).await;
    assert_eq!(
        input.prop("value").await.expect("value").as_deref(),
        Some("https://shop.example")
    );
    input
        .send_keys("\nhttps://www.shop.example:8443\n")
        .await
        .expect("type");
    b.click(&format!("{item} .save-origins")).await;
    b.wait_text(
        &format!("{item} .channel-sites"),
        "https://www.shop.example:8443",
    )
    .await;
    b.wait_gone(&format!("{item} .origins-input")).await;
    let expected = json!(["https://shop.example", "https://www.shop.example:8443"]);
    assert_eq!(
        channel_named(app, "Shop site chat").await["allowed_origins"],
        expected
    );
    // A path is no origin: the API's message shows, nothing changes.
    b.click(&format!("{item} .edit-origins")).await;
    let input = b.wait_css(&format!("{item} .origins-input")).await;
    input.clear().await.expect("clear");
    input
        .send_keys("https://shop.example/checkout")
        .await
        .expect("type");
    b.click(&format!("{item} .save-origins")).await;
    b.wait_text(
        &format!("{item} .origins-error"),
        "“https://shop.example/checkout” is not a site address like https://shop.example",
    )
    .await;
    b.wait_css(&format!("{item} .origins-input")).await;
    assert_eq!(
        channel_named(app, "Shop site chat").await["allowed_origins"],
        expected
    );
    b.click(&format!("{item} .cancel-origins")).await;
    b.wait_text(
        &format!("{item} .channel-sites"),
        "https://www.shop.example:8443",
    )
    .await;
    // An api channel shows what it always did: no snippet, no sites.
    let api_item = format!(".channel-item[data-id='{}'][data-kind=api]", app.channel_id);
    b.wait_text(&format!("{api_item} .channel-kind"), "Messenger (API)")
        .await;
    b.wait_text(
        &format!("{api_item} code"),
        &format!("{}/api/v1/channels/{}/inbound", app.base, app.channel_id),
    )
    .await;
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll(\"{api_item} .channel-snippet, \
             {api_item} .copy-snippet, {api_item} .edit-origins\").length"
        ))
        .await,
        0
    );
    b.screenshot("docs-widget-channel").await;
}

/// The customer's e-mail (their Help Center sign-in) edited on the case
/// page: a bad address refused with the API's words, a good one kept in
/// lower case through live updates, then removed; Settings shows the
/// account's Help Center address to give customers.
async fn customer_email_on_case_page(app: &TestApp, b: &Browser) {
    let id = chat(app, "mail-ann", "mail-ann-1", "Please mail me").await;
    let customer_path = format!(
        "/api/v1/customers/{}",
        s(&app.case(&id).await["customer_id"])
    );
    open_case(b, &id).await;
    b.wait_text("#customer-email-edit", "Add e-mail").await;
    b.wait_gone("#customer-email").await;
    // Cancel leaves it as it was.
    b.click("#customer-email-edit").await;
    b.type_into("#customer-email-input", "ann@example.com")
        .await;
    b.click("#customer-email-cancel").await;
    b.wait_gone("#customer-email-input").await;
    b.wait_text("#customer-email-edit", "Add e-mail").await;
    // A bad address: the API's message, and the box stays for a fix.
    b.click("#customer-email-edit").await;
    b.type_into("#customer-email-input", "ann at example").await;
    b.click("#customer-email-save").await;
    b.wait_text(
        "#customer-email-error",
        "The e-mail must look like name@example.com.",
    )
    .await;
    assert_eq!(
        app.ok(Method::GET, &customer_path, None).await["email"],
        Value::Null
    );
    let input = b.wait_css("#customer-email-input").await;
    input.clear().await.expect("clear");
    b.type_into(
        "#customer-email-input",
        &format!("Ann@Example.com{}", keys::ENTER),
    )
    .await;
    b.wait_text("#customer-email", "ann@example.com").await;
    b.wait_gone("#customer-email-input").await;
    b.wait_text("#customer-email-edit", "Edit").await;
    assert_eq!(
        app.ok(Method::GET, &customer_path, None).await["email"],
        "ann@example.com"
    );
    // A live update re-renders the page; the address stays, and is read
    // afresh when the case is opened again.
    app.customer_says("mail-ann", "mail-ann-2", "Any news?")
        .await;
    b.wait_text("[data-test=message-text]", "Any news?").await;
    b.wait_text("#customer-email", "ann@example.com").await;
    open_case(b, &id).await;
    b.wait_text("#customer-email", "ann@example.com").await;
    // An empty box removes the address.
    b.click("#customer-email-edit").await;
    let input = b.wait_css("#customer-email-input").await;
    assert_eq!(
        input.prop("value").await.expect("value").as_deref(),
        Some("ann@example.com")
    );
    input.clear().await.expect("clear");
    b.click("#customer-email-save").await;
    b.wait_text("#customer-email-edit", "Add e-mail").await;
    b.wait_gone("#customer-email").await;
    assert_eq!(
        app.ok(Method::GET, &customer_path, None).await["email"],
        Value::Null
    );
    // Settings: the Help Center's address, to give customers.
    let store = app.db.open().await;
    let account_id = casedesk_store::read::<_, casedesk_store::StoreError, _>(&*store, |tx| {
        Box::pin(async move {
            let admin = tx.find_agent_by_email(ADMIN_EMAIL).await?;
            Ok(admin.expect("the admin").account_id)
        })
    })
    .await
    .expect("the admin's account");
    b.goto("/#/settings").await;
    b.wait_text(".help-center-card", "Customers sign in with their e-mail")
        .await;
    assert_eq!(
        b.text("#help-center-url").await,
        format!("{}/help/{account_id}", app.base)
    );
}

/// The messages a widget visitor sees.
async fn visitor_conversation(app: &TestApp, ch: &str, visitor: &str) -> Vec<Value> {
    let resp = app
        .http
        .get(format!("{}/api/v1/widget/{ch}/messages", app.base))
        .bearer_auth(visitor)
        .send()
        .await
        .expect("conversation");
    assert!(resp.status().is_success(), "{}", resp.status());
    let conv = resp.json::<Value>().await.expect("json");
    conv["items"].as_array().expect("items").clone()
}

/// Chooses `path` in a (hidden) file input, as the file dialog would.
async fn choose_file(b: &Browser, input: &str, path: &std::path::Path) {
    b.client
        .find(fantoccini::Locator::Css(input))
        .await
        .unwrap_or_else(|e| panic!("{input}: {e}"))
        .send_keys(path.to_str().expect("a UTF-8 path"))
        .await
        .unwrap_or_else(|e| panic!("choose {}: {e}", path.display()));
}

/// Names of the files in the visitor's conversation.
fn file_names(conversation: &[Value]) -> Vec<String> {
    conversation
        .iter()
        .flat_map(|m| m["attachments"].as_array().cloned().unwrap_or_default())
        .map(|a| s(&a["filename"]))
        .collect()
}

async fn agent_sends_and_sees_files(app: &TestApp, b: &Browser) {
    let ch = s(&app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "widget", "name": "Site"})),
        )
        .await["id"]);
    let resp = app
        .http
        .post(format!("{}/api/v1/widget/{ch}/visitors", app.base))
        .json(&json!({}))
        .send()
        .await
        .expect("visitor");
    assert!(resp.status().is_success(), "{}", resp.status());
    let visitor = s(&resp.json::<Value>().await.expect("json")["visitor_token"]);
    // A real 64×48 picture, drawn and encoded by the browser.
    b.goto("/#/active").await;
    b.wait_css("[data-test=active-list]").await;
    let png = b
        .js("const c = document.createElement('canvas'); c.width = 64; c.height = 48; \
             const g = c.getContext('2d'); g.fillStyle = '#2f5d9f'; g.fillRect(0, 0, 64, 48); \
             g.fillStyle = '#e6c766'; g.fillRect(16, 12, 32, 24); \
             return Array.from(atob(c.toDataURL('image/png').split(',')[1]), ch => ch.charCodeAt(0));")
        .await;
    let png: Vec<u8> = serde_json::from_value(png).expect("png bytes");
    let (status, posted) = app
        .upload(
            &format!("widget/{ch}/attachments?filename=photo.png"),
            &visitor,
            png,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{posted}");
    let id = s(&posted["message"]["case_id"]);
    let photo = s(&posted["message"]["attachments"][0]["id"]);

    // The photo shows as a loaded thumbnail that opens full size in a tab;
    // its name, the message's only text, is not repeated as text.
    open_case(b, &id).await;
    b.wait_js(
        "the photo's thumbnail to load",
        "[...document.querySelectorAll('.msg.from-customer .att-img')].some(i => i.complete && i.naturalWidth === 64)",
    )
    .await;
    b.wait_css(".msg.from-customer .att-img").await;
    let link = b
        .js(
            "const a = document.querySelector('.msg.from-customer .att-img').closest('a'); \
             return [a.getAttribute('href'), a.target, a.rel];",
        )
        .await;
    assert_eq!(
        link,
        json!([format!("/api/v1/attachments/{photo}"), "_blank", "noopener"])
    );
    assert_eq!(
        b.js(
            "return document.querySelector('.msg.from-customer [data-test=message-text]') === null"
        )
        .await,
        true,
        "an uncaptioned file is not named twice"
    );

    // A PDF reply with a caption, chosen in the reply box's file input.
    let dir = tempfile::tempdir().expect("temp dir");
    let pdf = dir.path().join("invoice 7.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
    )
    .expect("write pdf");
    b.type_into("[data-test=reply]", "Your invoice, as promised")
        .await;
    choose_file(b, "#attach-input", &pdf).await;
    b.wait_js(
        "the reply with the PDF",
        "[...document.querySelectorAll('.msg.from-agent:not(.msg-note)')].some(m => \
           m.querySelector('.att-file [data-test=att-name]')?.textContent === 'invoice 7.pdf' \
           && m.querySelector('[data-test=message-text]')?.textContent === 'Your invoice, as promised')",
    )
    .await;
    b.wait_text(".msg.from-agent .att-file", " B").await;
    assert_eq!(
        b.js("return document.querySelector('[data-test=reply]').value")
            .await,
        "",
        "the caption is taken out of the box"
    );
    b.wait_js(
        "the attach button to be ready again",
        "!document.querySelector('#attach-file').disabled && document.querySelector('#attach-error').hidden",
    )
    .await;
    // The chip downloads the file with the agent's session.
    b.js("window.__pdf = null; \
          fetch(document.querySelector('.msg.from-agent .att-file').href) \
            .then(async r => (window.__pdf = [r.status, r.headers.get('content-type'), await r.text()].join(' ')));")
        .await;
    b.wait_js(
        "the PDF to download",
        "window.__pdf && window.__pdf.startsWith('200 application/pdf %PDF-1.4')",
    )
    .await;
    let conv = visitor_conversation(app, &ch, &visitor).await;
    let sent = conv
        .iter()
        .find(|m| m["author"] == "agent")
        .unwrap_or_else(|| panic!("the reply reaches the visitor: {conv:?}"));
    assert_eq!(sent["text"], "Your invoice, as promised");
    assert_eq!(sent["attachments"][0]["filename"], "invoice 7.pdf");
    assert_eq!(sent["attachments"][0]["content_type"], "application/pdf");

    // A file in the note box is a note: agents see it, the visitor does not.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "Checked the order by hand.\n").expect("write notes");
    choose_file(b, "#attach-note-input", &notes).await;
    b.wait_text(".msg-note .att-file [data-test=att-name]", "notes.txt")
        .await;
    b.wait_text(".msg-note [data-test=note-label]", "Internal note")
        .await;
    // So is a file dropped onto the note box.
    b.js("const files = new DataTransfer(); \
          files.items.add(new File(['Second look: all fine.'], 'dropped.txt', { type: 'text/plain' })); \
          const box = document.querySelector('.compose-note'); \
          for (const type of ['dragenter', 'dragover', 'drop']) \
            box.dispatchEvent(new DragEvent(type, { dataTransfer: files, bubbles: true, cancelable: true }));")
        .await;
    b.wait_text(".msg-note .att-file [data-test=att-name]", "dropped.txt")
        .await;
    assert_eq!(
        b.js("return document.querySelector('.drop-target') === null")
            .await,
        true,
        "the drop hint goes once dropped"
    );
    let messages = app.messages(&id).await;
    let notes: Vec<String> = messages
        .iter()
        .filter(|m| m["kind"] == "note")
        .map(|m| s(&m["attachments"][0]["filename"]))
        .collect();
    assert_eq!(notes, ["notes.txt", "dropped.txt"], "{messages:?}");
    let conv = visitor_conversation(app, &ch, &visitor).await;
    assert_eq!(
        file_names(&conv),
        ["photo.png", "invoice 7.pdf"],
        "the notes' files stay with the agents"
    );

    // A refused file: the server's reason, and nothing added.
    let count =
        "return document.querySelectorAll('[data-test=thread] > [data-test=message]').length";
    let before = b.js(count).await;
    let exe = dir.path().join("setup.exe");
    let mut bytes = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    bytes.extend([0u8; 64]);
    std::fs::write(&exe, bytes).expect("write exe");
    b.type_into("[data-test=reply]", "Run this").await;
    choose_file(b, "#attach-input", &exe).await;
    b.wait_text(
        "#attach-error",
        "setup.exe: This kind of file is not accepted.",
    )
    .await;
    b.wait_js(
        "the attach button to be ready again",
        "!document.querySelector('#attach-file').disabled",
    )
    .await;
    assert_eq!(b.js(count).await, before, "no message is added");
    assert_eq!(
        b.js("return document.querySelector('[data-test=reply]').value")
            .await,
        "Run this",
        "a refused file keeps its caption in the box"
    );
    assert_eq!(app.messages(&id).await.len(), messages.len());

    // Too large: refused by its length, and still the server's reason.
    let big = dir.path().join("big.pdf");
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.resize(10 * 1024 * 1024 + 1, b' ');
    std::fs::write(&big, bytes).expect("write big");
    choose_file(b, "#attach-input", &big).await;
    b.wait_text("#attach-error", "big.pdf: That is larger than 10 MiB.")
        .await;
    assert_eq!(app.messages(&id).await.len(), messages.len());
}
