//! The Telegram channel in the agent UI: an admin connects a bot in
//! Settings with its token, and a photo a Telegram customer sends shows in
//! the chat. The bot is casedesk-telegram's fake Bot API on loopback; the
//! server polls it as it would poll Telegram.

use std::sync::OnceLock;

use casedesk_telegram::fake::{BOT_USERNAME, FakeBotApi};
use serde_json::{Value, json};

use crate::harness::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, s};
use crate::scenarios::wait_for;

/// The fake Bot API the server of the browser suite is configured with.
pub static BOT_API: OnceLock<FakeBotApi> = OnceLock::new();

/// The token the fake Bot API knows.
pub const TOKEN: &str = "7000001:AAbrowser-test_0123456789";

scenarios!(telegram_bot_connected_and_photo_shown);

/// Whoever the scenarios before left signed in (or nobody), the admin now.
pub(crate) async fn sign_in_as_admin(b: &Browser) {
    b.goto("/#/active").await;
    b.wait_js(
        "the login form or the app",
        "!!document.querySelector('[data-test=login-form], [data-test=logout]')",
    )
    .await;
    let signed_in = b
        .js("return !!document.querySelector('[data-test=logout]')")
        .await;
    if signed_in == Value::Bool(true) {
        b.click("[data-test=logout]").await;
    }
    b.wait_css("[data-test=login-form]").await;
    b.type_into("[data-test=email]", ADMIN_EMAIL).await;
    b.type_into("[data-test=password]", ADMIN_PASSWORD).await;
    b.click("[data-test=sign-in]").await;
    b.wait_css("[data-test=logout]").await;
}

async fn telegram_bot_connected_and_photo_shown(app: &TestApp, b: &Browser) {
    let fake = BOT_API.get().expect("the fake Bot API runs");
    sign_in_as_admin(b).await;
    b.goto("/#/settings").await;
    b.wait_css("[data-test=channel-kind]").await;
    b.js(
        "const k = document.querySelector('#channel-kind'); k.value = 'telegram'; \
          k.dispatchEvent(new Event('change')); return true;",
    )
    .await;
    b.type_into("[data-test=channel-name]", "Shop bot").await;
    b.type_into("[data-test=bot-token]", TOKEN).await;
    b.click("[data-test=create-channel]").await;
    let bot = format!("@{BOT_USERNAME}");
    b.wait_text("#toast", &bot).await;
    b.wait_text(
        ".channel-item[data-kind=telegram] [data-test=telegram-status]",
        &bot,
    )
    .await;
    let shown = b
        .js("return document.querySelector('[data-test=channels-card]').textContent;")
        .await;
    assert!(
        !shown.to_string().contains("AAbrowser-test"),
        "the token is not shown after connecting"
    );

    // A real 64×48 JPEG, drawn and encoded by the browser, sent as a
    // Telegram photo by a customer.
    let jpeg = b
        .js("const c = document.createElement('canvas'); c.width = 64; c.height = 48; \
             const g = c.getContext('2d'); g.fillStyle = '#2f5d9f'; g.fillRect(0, 0, 64, 48); \
             return Array.from(atob(c.toDataURL('image/jpeg').split(',')[1]), ch => ch.charCodeAt(0));")
        .await;
    let jpeg: Vec<u8> = serde_json::from_value(jpeg).expect("jpeg bytes");
    fake.add_file("browser-photo", jpeg);
    fake.queue(json!({"update_id": 1, "message": {
        "message_id": 7, "date": 1_700_000_000,
        "chat": {"id": 5151, "type": "private", "first_name": "Vera"},
        "from": {"id": 5151, "is_bot": false, "first_name": "Vera", "username": "vera"},
        "caption": "the parcel arrived broken",
        "photo": [{"file_id": "browser-photo", "file_unique_id": "bp", "width": 64, "height": 48}]}}));

    // Received by polling, settled, processed: the case appears.
    let search = "q=parcel%20arrived%20broken";
    wait_for("the Telegram customer's case", || async {
        app.list(search).await.len()
    })
    .await;
    let case_id = s(&app.list(search).await[0]["id"]);
    b.goto(&format!("/#/case/{case_id}")).await;
    b.wait_text("[data-test=message-text]", "the parcel arrived broken")
        .await;
    b.wait_js(
        "the Telegram photo to load",
        "[...document.querySelectorAll('.msg.from-customer .att-img')].some(i => i.complete && i.naturalWidth === 64)",
    )
    .await;
    let customer: Value = app
        .ok(
            reqwest::Method::GET,
            &format!("/api/v1/cases/{case_id}"),
            None,
        )
        .await;
    assert_eq!(customer["chat_state"], "active");

    // The agent answers that very message: Telegram quotes it, and the
    // reply shows as sent once the bot delivered it.
    b.click(".msg.from-customer [data-test=reply-to]").await;
    b.wait_text("[data-test=replying-to]", "the parcel arrived broken")
        .await;
    b.type_into("[data-test=reply]", "We will send a new one today")
        .await;
    b.click("[data-test=send-reply]").await;
    b.wait_text(".msg.from-agent [data-test=delivery]", "sent")
        .await;
    let sent = fake.sent();
    let answer = sent
        .iter()
        .find(|m| m.text.as_deref() == Some("We will send a new one today"))
        .expect("the reply reached the bot");
    assert_eq!((answer.chat_id, answer.reply_to), (5151, Some(7)));
    app.finish(&case_id, "closed").await;
}
