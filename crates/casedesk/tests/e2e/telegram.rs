//! The Telegram channel against a fake Bot API on loopback (real HTTP), on
//! both databases: connecting a bot, long polling and the webhook, a chat
//! split into cases by the rules, nothing lost or doubled, media, edits,
//! reactions, and replies through the outbox with Telegram's refusals.

use std::time::Duration;

use casedesk_server::channels::telegram::SETTLE;
use casedesk_telegram::fake::{BOT_USERNAME, Failure, FakeBotApi};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Server, TestApp, s};
use crate::on_both;

on_both!(
    connecting_a_bot_checks_its_token_and_never_shows_it,
    a_private_chat_follows_the_rules_and_replies_go_out,
    webhook_updates_are_stored_once_and_processed_in_order,
    a_forwarded_burst_after_a_closed_case_opens_one_case,
    photos_albums_and_files_too_large_to_fetch,
    edits_and_reactions_never_reopen,
    replies_wait_out_429_and_stop_at_403,
    a_reply_quotes_its_message_and_files_go_as_photos,
    polling_resumes_after_a_restart_without_loss_or_repeats,
    a_bot_turned_off_is_not_polled_until_turned_on,
);

const TOKEN: &str = "7000001:AAtest-token_0123456789abcdef";
/// Ann, a Telegram user, writing to the bot in her private chat.
const ANN: i64 = 4242;

/// A server whose Telegram bot is the fake one; with `webhook`, the server
/// has an https public address, so Telegram posts to it.
struct Bot {
    app: TestApp,
    fake: FakeBotApi,
    channel: String,
}

fn configure(api: String, webhook: bool) -> impl FnOnce(&mut casedesk_server::Config, &str) {
    move |c, _| {
        c.telegram_api_url = Some(api);
        c.telegram_poll_wait = Some(Duration::ZERO);
        if webhook {
            c.public_url = Some("https://casedesk.test".into());
        }
    }
}

impl Bot {
    async fn start(backend: Backend, webhook: bool) -> Bot {
        let fake = FakeBotApi::start(TOKEN).await;
        let app = TestApp::spawn_with(backend, configure(fake.base().to_owned(), webhook)).await;
        fake.route_webhooks_to(&app.base);
        let channel = app
            .ok(
                Method::POST,
                "/api/v1/channels",
                Some(json!({"kind": "telegram", "name": "Support bot", "bot_token": TOKEN})),
            )
            .await;
        Bot {
            channel: s(&channel["id"]),
            app,
            fake,
        }
    }

    /// Telegram has the queued updates fetched (polling), and the worker
    /// processes what settled.
    async fn settle(&self) {
        self.app.run_due_work().await;
        self.app.advance_and_run(SETTLE).await;
    }

    async fn cases(&self) -> Vec<Value> {
        self.app
            .list(&format!(
                "channel_id={}&sort=created_at&order=asc",
                self.channel
            ))
            .await
    }

    async fn only_case(&self) -> Value {
        let cases = self.cases().await;
        assert_eq!(cases.len(), 1, "one case: {cases:?}");
        cases[0].clone()
    }

    async fn texts(&self, case_id: &str) -> Vec<String> {
        self.app
            .messages(case_id)
            .await
            .iter()
            .filter(|m| m["kind"] == "message")
            .map(|m| s(&m["text"]))
            .collect()
    }

    async fn updates(&self, state: &str) -> Vec<Value> {
        self.app.channel_updates(&self.channel, state).await
    }
}

fn ann() -> Value {
    json!({"id": ANN, "is_bot": false, "first_name": "Ann", "last_name": "Lee",
        "username": "ann_lee", "language_code": "ru"})
}

fn message(update_id: i64, message_id: i64, body: Value) -> Value {
    let mut m = json!({"message_id": message_id, "date": 1_700_000_000,
        "chat": {"id": ANN, "type": "private", "first_name": "Ann"}, "from": ann()});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), body.as_object()) {
        m.extend(extra.clone());
    }
    json!({"update_id": update_id, "message": m})
}

fn text(update_id: i64, message_id: i64, text: &str) -> Value {
    message(update_id, message_id, json!({"text": text}))
}

async fn connecting_a_bot_checks_its_token_and_never_shows_it(backend: Backend) {
    let fake = FakeBotApi::start(TOKEN).await;
    let app = TestApp::spawn_with(backend, configure(fake.base().to_owned(), false)).await;
    let create =
        |token: &str| json!({"kind": "telegram", "name": "Support bot", "bot_token": token});
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/channels",
            Some(create("7000001:AAwrong")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(s(&body["error"]["message"]).contains("BotFather"), "{body}");
    let (status, _) = app
        .call(Method::POST, "/api/v1/channels", Some(create("../getMe")))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "telegram", "name": "No token"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let listed = app.ok(Method::GET, "/api/v1/channels", None).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "nothing saved for refused tokens: {listed}"
    );

    let created = app
        .ok(Method::POST, "/api/v1/channels", Some(create(TOKEN)))
        .await;
    assert_eq!(created["kind"], "telegram");
    assert_eq!(created["telegram"]["bot_username"], BOT_USERNAME);
    assert_eq!(created["telegram"]["mode"], "polling");
    let id = s(&created["id"]);
    let listed = app.ok(Method::GET, "/api/v1/channels", None).await;
    let status = app
        .ok(
            Method::GET,
            &format!("/api/v1/channels/{id}/telegram"),
            None,
        )
        .await;
    assert_eq!(status["bot_username"], BOT_USERNAME);
    assert_eq!(status["mode"], "polling");
    for shown in [&created, &listed, &status] {
        assert!(
            !shown.to_string().contains("AAtest-token"),
            "the token is never shown: {shown}"
        );
    }
    assert!(
        fake.calls().contains(&"deleteWebhook".to_owned()),
        "polling clears any webhook: {:?}",
        fake.calls()
    );
    // Posting as the bot's customers through the generic webhook is refused.
    let (status, _) = app
        .inbound_to(
            &id,
            &s(&created["inbound_token"]),
            json!({"type": "message", "message_id": "x",
                "customer": {"id": "1"}, "text": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn a_private_chat_follows_the_rules_and_replies_go_out(backend: Backend) {
    let bot = Bot::start(backend, false).await;
    bot.app.set_timers(600, 60).await;
    bot.fake.queue(text(1, 10, "Где мой заказ?"));
    bot.settle().await;
    let case = bot.only_case().await;
    let case_id = s(&case["id"]);
    assert_eq!(case["subject"], "Где мой заказ?");
    assert_eq!(case["chat_state"], "active");
    let customer = bot
        .app
        .ok(
            Method::GET,
            &format!("/api/v1/customers/{}", s(&case["customer_id"])),
            None,
        )
        .await;
    assert_eq!(customer["name"], "Ann Lee (@ann_lee)");
    assert_eq!(customer["language"], "ru");

    // An agent's reply goes to Ann's chat and shows as delivered.
    bot.app.reply(&case_id, "Уже в пути").await;
    bot.app.run_due_work().await;
    let sent = bot.fake.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].chat_id, sent[0].text.as_deref()),
        (ANN, Some("Уже в пути"))
    );
    let reply = bot.app.messages(&case_id).await.pop().expect("the reply");
    assert_eq!(reply["delivery"]["state"], "delivered", "{reply}");

    // R3: auto-finish on inactivity, then R6 c: a new message reopens it.
    bot.app.advance_and_run(Duration::from_secs(601)).await;
    assert_eq!(bot.app.case(&case_id).await["chat_state"], "finished");
    bot.fake.queue(text(2, 11, "А когда?"));
    bot.settle().await;
    let case = bot.only_case().await;
    assert_eq!(case["chat_state"], "active", "reopened: {case}");

    // R6 d: after a closed case a message starts the next one, linked.
    let (status, _) = bot.app.finish(&case_id, "closed").await;
    assert_eq!(status, StatusCode::OK);
    bot.fake.queue(text(3, 12, "Новый вопрос"));
    bot.settle().await;
    let cases = bot.cases().await;
    assert_eq!(cases.len(), 2, "{cases:?}");
    assert_eq!(cases[1]["previous_case_id"], case_id.as_str());
    assert_eq!(bot.texts(&s(&cases[1]["id"])).await, ["Новый вопрос"]);

    // Split and merge-with-previous work on Telegram cases as on any.
    let second = s(&cases[1]["id"]);
    bot.app
        .ok(
            Method::POST,
            &format!("/api/v1/cases/{second}/merge-previous"),
            Some(json!({})),
        )
        .await;
    let merged = bot.app.case(&case_id).await;
    assert!(
        bot.texts(&case_id)
            .await
            .contains(&"Новый вопрос".to_owned()),
        "merged into the previous case: {merged}"
    );
    assert!(bot.updates("failed").await.is_empty());
}

async fn webhook_updates_are_stored_once_and_processed_in_order(backend: Backend) {
    let bot = Bot::start(backend, true).await;
    let hook = bot.fake.webhook().expect("the webhook was set");
    assert_eq!(
        hook,
        format!(
            "https://casedesk.test/api/v1/channels/{}/telegram/webhook",
            bot.channel
        )
    );
    let first = text(100, 1, "first");
    assert_eq!(
        bot.fake.deliver_with(&first, Some("wrong-secret")).await,
        StatusCode::UNAUTHORIZED
    );
    // The same update five times at once: stored once.
    let deliveries = (0..5).map(|_| bot.fake.deliver(&first));
    for status in futures::future::join_all(deliveries).await {
        assert_eq!(status, StatusCode::OK);
    }
    // 40 more of the chat, delivered newest first, all at once.
    let later: Vec<Value> = (101..=140)
        .map(|i| text(i, i - 99, &format!("message {}", i - 99)))
        .collect();
    let deliveries = later.iter().rev().map(|u| bot.fake.deliver(u));
    for status in futures::future::join_all(deliveries).await {
        assert_eq!(status, StatusCode::OK);
    }
    // Something Telegram might send that casedesk cannot read is kept
    // (and answered 200), not resent forever.
    let junk = json!({"update_id": 141, "message": "not an object"});
    assert_eq!(bot.fake.deliver(&junk).await, StatusCode::OK);
    bot.app.advance_and_run(SETTLE).await;
    let case = bot.only_case().await;
    let texts = bot.texts(&s(&case["id"])).await;
    let expected: Vec<String> = std::iter::once("first".to_owned())
        .chain((2..=41).map(|i| format!("message {i}")))
        .collect();
    assert_eq!(texts, expected, "each once, in the order they were sent");
    // The unreadable one is retried with backoff, then given up on and
    // listed for the admin; retrying it by hand fails the same way.
    for _ in 0..12 {
        bot.app.advance_and_run(Duration::from_secs(600)).await;
    }
    let failed = bot.updates("failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["update_id"], 141);
    assert!(
        s(&failed[0]["last_error"]).contains("not an update"),
        "{failed:?}"
    );
    bot.app
        .ok(
            Method::POST,
            &format!("/api/v1/channels/{}/updates/141/retry", bot.channel),
            None,
        )
        .await;
    assert_eq!(bot.updates("pending").await.len(), 1);
    let status = bot
        .app
        .ok(
            Method::GET,
            &format!("/api/v1/channels/{}/telegram", bot.channel),
            None,
        )
        .await;
    assert_eq!(status["mode"], "webhook");
    assert_eq!(status["pending_update_count"], 0);
}

async fn a_forwarded_burst_after_a_closed_case_opens_one_case(backend: Backend) {
    let bot = Bot::start(backend, false).await;
    bot.fake.queue(text(1, 1, "hello"));
    bot.settle().await;
    let first = s(&bot.only_case().await["id"]);
    bot.app.finish(&first, "closed").await;
    for i in 0..10 {
        bot.fake.queue(message(
            2 + i,
            2 + i,
            json!({"text": format!("forwarded {i}"),
                "forward_origin": {"type": "user", "date": 1_600_000_000,
                    "sender_user": {"id": 9, "is_bot": false, "first_name": "Bob"}}}),
        ));
    }
    bot.settle().await;
    let cases = bot.cases().await;
    assert_eq!(cases.len(), 2, "exactly one new case: {cases:?}");
    let texts = bot.texts(&s(&cases[1]["id"])).await;
    assert_eq!(texts.len(), 10);
    assert!(texts[0].contains("forwarded 0"), "{texts:?}");
}

async fn photos_albums_and_files_too_large_to_fetch(backend: Backend) {
    let bot = Bot::start(backend, false).await;
    let jpeg = |n: u8| {
        let mut b = b"\xff\xd8\xff\xe0 JFIF".to_vec();
        b.extend(std::iter::repeat_n(n, 100));
        b
    };
    for id in ["p1", "p2", "p3"] {
        bot.fake.add_file(id, jpeg(id.as_bytes()[1]));
    }
    let photo = |file: &str| {
        json!([{"file_id": format!("{file}-small"), "file_unique_id": "s", "width": 90, "height": 90},
            {"file_id": file, "file_unique_id": file, "width": 1280, "height": 960}])
    };
    bot.fake.queue(message(
        1,
        1,
        json!({"photo": photo("p1"), "caption": "the box"}),
    ));
    // An album: two photos, one message.
    bot.fake.queue(message(
        2,
        2,
        json!({"photo": photo("p2"), "media_group_id": "g1", "caption": "both sides"}),
    ));
    bot.fake.queue(message(
        3,
        3,
        json!({"photo": photo("p3"), "media_group_id": "g1"}),
    ));
    // Over the Bot API's 20 MB: a line saying so, no error.
    bot.fake.queue(message(
        4,
        4,
        json!({"document": {"file_id": "big", "file_unique_id": "big",
            "file_name": "video.mov", "file_size": 25 * 1024 * 1024}}),
    ));
    // Under 20 MB but over this server's limit (10 MiB): not even fetched.
    bot.fake.queue(message(
        5,
        5,
        json!({"document": {"file_id": "mid", "file_unique_id": "mid",
            "file_name": "scan.pdf", "file_size": 15 * 1024 * 1024}}),
    ));
    bot.settle().await;
    let case = bot.only_case().await;
    let messages: Vec<Value> = bot
        .app
        .messages(&s(&case["id"]))
        .await
        .into_iter()
        .filter(|m| m["kind"] == "message")
        .collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[0]["text"], "the box");
    assert_eq!(messages[0]["attachments"].as_array().map(Vec::len), Some(1));
    assert_eq!(messages[0]["attachments"][0]["content_type"], "image/jpeg");
    assert_eq!(messages[1]["text"], "both sides");
    assert_eq!(
        messages[1]["attachments"].as_array().map(Vec::len),
        Some(2),
        "the album is one message: {}",
        messages[1]
    );
    assert!(s(&messages[2]["text"]).contains("20 MB"), "{}", messages[2]);
    assert!(
        s(&messages[3]["text"]).contains("attachment limit"),
        "{}",
        messages[3]
    );
    // The photo is served to agents, byte for byte.
    let id = s(&messages[0]["attachments"][0]["id"]);
    let got = bot
        .app
        .http
        .get(format!("{}/api/v1/attachments/{id}", bot.app.base))
        .bearer_auth(&bot.app.token)
        .send()
        .await
        .expect("download");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), jpeg(b'1'));
    let asked = bot.fake.calls().iter().filter(|c| *c == "getFile").count();
    assert_eq!(
        asked, 3,
        "the three photos; nothing over a limit is asked for"
    );
}

async fn edits_and_reactions_never_reopen(backend: Backend) {
    let bot = Bot::start(backend, false).await;
    bot.fake.queue(text(1, 5, "Order 123"));
    bot.settle().await;
    let case_id = s(&bot.only_case().await["id"]);
    bot.app.reply(&case_id, "Checking").await;
    bot.app.run_due_work().await;
    bot.app.finish(&case_id, "closed").await;

    let mut edit = text(2, 5, "Order 124");
    edit["edited_message"] = edit["message"].take();
    edit.as_object_mut().map(|o| o.remove("message"));
    bot.fake.queue(edit);
    // Ann reacts to the agent's reply (the bot's message 1001).
    let sent_id = 1001;
    bot.fake.queue(json!({"update_id": 3, "message_reaction": {
        "chat": {"id": ANN, "type": "private"}, "message_id": sent_id, "user": ann(),
        "date": 1_700_000_100, "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}));
    bot.settle().await;

    let case = bot.only_case().await;
    assert_eq!(case["status"], "closed", "neither reopens: {case}");
    let messages = bot.app.messages(&case_id).await;
    let edited = &messages[0];
    assert_eq!(edited["text"], "Order 124");
    assert!(edited["edited_at"].is_string(), "{edited}");
    let events = bot.app.events(&case_id).await;
    let change = events
        .iter()
        .find(|e| e["kind"] == "message_edited")
        .expect("the edit is in the history");
    assert_eq!(change["data"]["before"], "Order 123");
    let reply = messages
        .iter()
        .find(|m| m["text"] == "Checking")
        .expect("the reply");
    assert_eq!(reply["reactions"][0]["emoji"], "👍", "{reply}");
    assert!(
        messages
            .iter()
            .any(|m| m["kind"] == "note" && s(&m["text"]).contains("👍")),
        "the reaction is a note in the case"
    );
}

async fn replies_wait_out_429_and_stop_at_403(backend: Backend) {
    let bot = Bot::start(backend, false).await;
    bot.fake.queue(text(1, 1, "hi"));
    bot.settle().await;
    let case_id = s(&bot.only_case().await["id"]);
    bot.fake.fail_next("sendMessage", Failure::RetryAfter(30));
    bot.app.reply(&case_id, "one").await;
    bot.app.run_due_work().await;
    let reply = bot.app.messages(&case_id).await.pop().expect("reply");
    assert_eq!(reply["delivery"]["state"], "pending", "{reply}");
    assert!(s(&reply["delivery"]["last_error"]).contains("429"));
    bot.app.advance_and_run(Duration::from_secs(29)).await;
    assert!(bot.fake.sent().is_empty(), "not before retry_after");
    bot.app.advance_and_run(Duration::from_secs(1)).await;
    assert_eq!(bot.fake.sent().len(), 1, "sent once retry_after passed");

    bot.fake.fail_next("sendMessage", Failure::Blocked);
    bot.app.reply(&case_id, "two").await;
    bot.app.run_due_work().await;
    let messages = bot.app.messages(&case_id).await;
    let two = messages
        .iter()
        .find(|m| m["text"] == "two")
        .expect("reply two");
    assert_eq!(two["delivery"]["state"], "failed", "{two}");
    assert!(s(&two["delivery"]["last_error"]).contains("blocked"));
    let note = messages.last().expect("a note");
    assert_eq!(note["kind"], "note");
    assert!(s(&note["text"]).contains("not delivered"), "{note}");
    // Stopped for good: no more tries.
    bot.app.advance_and_run(Duration::from_secs(3600)).await;
    assert_eq!(bot.fake.sent().len(), 1);
}

async fn polling_resumes_after_a_restart_without_loss_or_repeats(backend: Backend) {
    let bot = Bot::start(backend, false).await;
    bot.fake.queue(text(1, 1, "before"));
    bot.settle().await;
    let Bot { mut app, fake, .. } = bot;
    if let Some(server) = app.server.take() {
        server.stop().await;
    }
    fake.queue(text(2, 2, "while down"));
    let server = Server::start_with(
        &app.db,
        &app.clock,
        configure(fake.base().to_owned(), false),
    )
    .await;
    app.base = server.base.clone();
    app.server = Some(server);
    app.run_due_work().await;
    app.advance_and_run(SETTLE).await;
    let cases = app.list("sort=created_at&order=asc").await;
    let telegram: Vec<&Value> = cases.iter().filter(|c| c["subject"] == "before").collect();
    assert_eq!(telegram.len(), 1);
    let texts: Vec<String> = app
        .messages(&s(&telegram[0]["id"]))
        .await
        .iter()
        .map(|m| s(&m["text"]))
        .collect();
    assert_eq!(texts, ["before", "while down"]);
    // The new server went on from the stored offset: update 1 was never
    // asked for again.
    let offsets = fake.offsets();
    let after_restart = offsets.iter().rposition(|o| *o == 0).map_or(0, |i| i + 1);
    assert!(
        offsets[after_restart..].iter().all(|o| *o >= 2),
        "offsets asked for: {offsets:?}"
    );
}

/// Two servers on one PostgreSQL database, both polling the same bot (and
/// both running their due work at once): every update once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_poll_one_bot_without_doubles() {
    let bot = Bot::start(Backend::Postgres, false).await;
    let second = Server::start_with(
        &bot.app.db,
        &bot.app.clock,
        configure(bot.fake.base().to_owned(), false),
    )
    .await;
    for i in 1..=20 {
        bot.fake.queue(text(i, i, &format!("m{i}")));
    }
    // Until nothing is pending: an update whose processing lost a race
    // (both servers work at once) is retried after its backoff, and that
    // is no double either.
    for _ in 0..20 {
        futures::future::join(bot.app.run_due_work(), second.run_due_work()).await;
        bot.app.advance(SETTLE);
        futures::future::join(bot.app.run_due_work(), second.run_due_work()).await;
        if bot.updates("pending").await.is_empty() {
            break;
        }
    }
    assert!(bot.updates("failed").await.is_empty());
    let case = bot.only_case().await;
    let texts = bot.texts(&s(&case["id"])).await;
    let expected: Vec<String> = (1..=20).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, expected);
    let stored = bot.updates("processed").await;
    assert_eq!(stored.len(), 20, "each update stored once");
    second.stop().await;
}

async fn a_reply_quotes_its_message_and_files_go_as_photos(backend: Backend) {
    let bot = Bot::start(backend, false).await;
    bot.fake.queue(text(1, 10, "Which size?"));
    bot.settle().await;
    let case_id = s(&bot.only_case().await["id"]);
    let asked = s(&bot.app.messages(&case_id).await[0]["id"]);
    let post = |body: Value| {
        let path = format!("/api/v1/cases/{case_id}/messages");
        let app = &bot.app;
        async move { app.call(Method::POST, &path, Some(body)).await }
    };
    let (status, body) =
        post(json!({"text": "M", "kind": "reply", "reply_to_message_id": asked})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for wrong in [
        json!({"text": "x", "kind": "note", "reply_to_message_id": asked}),
        json!({"text": "x", "kind": "reply", "reply_to_message_id": "no-such-message"}),
        json!({"text": "x", "kind": "reply", "reply_to_message_id": s(&body["id"])}),
    ] {
        let (status, refused) = post(wrong.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{wrong}: {refused}"
        );
    }
    // A picture with a caption: one sendPhoto, the caption with it.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..200).map(|i| i as u8));
    let (status, sent_file) = bot
        .app
        .upload(
            &format!("cases/{case_id}/attachments?filename=size-chart.png&text=Our%20sizes"),
            &bot.app.token,
            png.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent_file}");
    bot.app.run_due_work().await;
    let sent = bot.fake.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        (sent[0].method.as_str(), sent[0].reply_to),
        ("sendMessage", Some(10)),
        "the reply quotes Ann's message"
    );
    assert_eq!(sent[1].method, "sendPhoto");
    assert_eq!(sent[1].text.as_deref(), Some("Our sizes"));
    assert_eq!(sent[1].bytes.as_deref(), Some(png.as_slice()));
    let messages = bot.app.messages(&case_id).await;
    assert!(
        messages
            .iter()
            .filter(|m| m["author"]["type"] == "agent")
            .all(|m| m["delivery"]["state"] == "delivered"),
        "{messages:?}"
    );
}

async fn a_bot_turned_off_is_not_polled_until_turned_on(backend: Backend) {
    let bot = Bot::start(backend, false).await;
    let path = format!("/api/v1/channels/{}", bot.channel);
    bot.app
        .ok(Method::PATCH, &path, Some(json!({"disabled": true})))
        .await;
    // A poll under way when the bot was turned off ends first.
    bot.settle().await;
    bot.fake.queue(text(1, 10, "Anyone?"));
    bot.settle().await;
    bot.settle().await;
    assert!(bot.cases().await.is_empty(), "nothing taken in while off");
    assert!(bot.updates("pending").await.is_empty());
    assert!(bot.updates("processed").await.is_empty());
    // Turned on, the update Telegram kept comes in.
    bot.app
        .ok(Method::PATCH, &path, Some(json!({"disabled": false})))
        .await;
    bot.settle().await;
    let case = bot.only_case().await;
    assert_eq!(bot.texts(&s(&case["id"])).await, ["Anyone?"]);
}
