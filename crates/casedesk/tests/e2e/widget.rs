//! The web chat widget's API, on both databases: visitors, routing (R6),
//! reactions (R10), isolation, signed user ids, origins, limits, live events.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    widget_conversation_follows_routing_and_reactions,
    widget_visitors_are_isolated_and_checked,
    widget_events_tell_the_visitor_of_replies_not_notes,
    the_customer_closes_their_own_case,
);

const SHOP: &str = "http://shop.example";

/// A widget channel allowing `SHOP`; returns (id, secret).
async fn widget_channel(app: &TestApp) -> (String, String) {
    let v = app
        .ok(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "widget", "name": "Site chat", "allowed_origins": [SHOP]})),
        )
        .await;
    let id = s(&v["id"]);
    let snippet = s(&v["snippet"]);
    assert!(snippet.contains("/widget.js"), "{snippet}");
    assert!(
        snippet.contains(&format!("data-casedesk-channel=\"{id}\"")),
        "{snippet}"
    );
    assert_eq!(v["allowed_origins"], json!([SHOP]));
    (id, s(&v["inbound_token"]))
}

/// A widget call from a page of `origin` with a visitor token.
async fn w(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    origin: &str,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    app.widget_call(method, path, token, Some(origin), body)
        .await
}

async fn visitor(app: &TestApp, ch: &str, body: Value) -> String {
    let (st, h, v) = w(
        app,
        Method::POST,
        &format!("{ch}/visitors"),
        None,
        SHOP,
        Some(body),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(h["access-control-allow-origin"], SHOP);
    s(&v["visitor_token"])
}

async fn say(app: &TestApp, ch: &str, token: &str, text: &str, client_id: &str) -> Value {
    let (st, _, v) = w(
        app,
        Method::POST,
        &format!("{ch}/messages"),
        Some(token),
        SHOP,
        Some(json!({"text": text, "client_id": client_id})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v
}

async fn history(app: &TestApp, ch: &str, token: &str, after: Option<&str>) -> Vec<Value> {
    let path = match after {
        Some(a) => format!("{ch}/messages?after={a}"),
        None => format!("{ch}/messages"),
    };
    let (st, _, v) = w(app, Method::GET, &path, Some(token), SHOP, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn texts(items: &[Value]) -> Vec<String> {
    items.iter().map(|m| s(&m["text"])).collect()
}

async fn widget_conversation_follows_routing_and_reactions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ch, _) = widget_channel(&app).await;
    let token = visitor(&app, &ch, json!({"name": "Vera"})).await;
    let first = say(&app, &ch, &token, "Hello from the site", "c1").await;
    assert_eq!(first["outcome"], "created");
    let case_id = s(&first["message"]["case_id"]);
    let case = app.case(&case_id).await;
    assert_eq!(
        (case["channel_id"].as_str(), case["chat_state"].as_str()),
        (Some(ch.as_str()), Some("active"))
    );
    assert_eq!(case["subject"], "Hello from the site");
    // A retry with the same client id is stored once.
    let again = say(&app, &ch, &token, "Hello from the site", "c1").await;
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(again["message"]["id"], first["message"]["id"]);

    let reply = app.reply(&case_id, "Hi Vera, how can I help?").await;
    app.note(&case_id, "internal: VIP").await;
    let items = history(&app, &ch, &token, None).await;
    assert_eq!(
        texts(&items),
        ["Hello from the site", "Hi Vera, how can I help?"],
        "no notes"
    );
    assert_eq!(items[1]["author"], "agent");
    let later = history(&app, &ch, &token, Some(&s(&first["message"]["id"]))).await;
    assert_eq!(texts(&later), ["Hi Vera, how can I help?"]);

    // R6 d: after a closed case the visitor simply writes on; a new case.
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{case_id}"),
        Some(json!({"status": "closed"})),
    )
    .await;
    let next = say(&app, &ch, &token, "One more question", "c2").await;
    assert_eq!(next["outcome"], "created");
    let new_case = app.case(&s(&next["message"]["case_id"])).await;
    assert_eq!(new_case["previous_case_id"], case_id.as_str());
    assert_eq!(new_case["number"], 2);
    let items = history(&app, &ch, &token, None).await;
    assert_eq!(texts(&items).len(), 3, "the whole history across cases");
    assert_eq!(
        (
            items[0]["case_number"].as_i64(),
            items[2]["case_number"].as_i64()
        ),
        (Some(1), Some(2))
    );

    // R10: a reaction to the agent's reply in the closed case becomes a
    // note there and shows on the message; the new case is untouched.
    let (st, _, v) = w(
        &app,
        Method::POST,
        &format!("{ch}/reactions"),
        Some(&token),
        SHOP,
        Some(json!({"message_id": reply["id"], "emoji": "👍"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["case_id"], case_id.as_str());
    // Only agents' replies take reactions from the widget: not the
    // visitor's own messages, nor notes (such as that reaction's note).
    for target in [first["message"]["id"].clone(), v["note_id"].clone()] {
        let (st, _, e) = w(
            &app,
            Method::POST,
            &format!("{ch}/reactions"),
            Some(&token),
            SHOP,
            Some(json!({"message_id": target, "emoji": "😮"})),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{target}: {e}");
    }
    let items = history(&app, &ch, &token, None).await;
    assert_eq!(items[1]["reactions"], json!(["👍"]));
    let notes: Vec<String> = app
        .messages(&case_id)
        .await
        .iter()
        .filter(|m| m["kind"] == "note" && m["author"]["type"] == "customer")
        .map(|m| s(&m["text"]))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with("👍"), "{notes:?}");
    assert_eq!(app.case(&case_id).await["status"], "closed");
    app.stop().await;
}

async fn widget_visitors_are_isolated_and_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ch, secret) = widget_channel(&app).await;
    let (other_ch, _) = widget_channel(&app).await;
    let a = visitor(&app, &ch, json!({})).await;
    let b = visitor(&app, &ch, json!({})).await;
    let posted = say(&app, &ch, &a, "A's secret question", "a1").await;
    let a_case = s(&posted["message"]["case_id"]);
    let reply = app.reply(&a_case, "Answer for A").await;

    // One visitor never sees or touches another's conversation.
    assert!(history(&app, &ch, &b, None).await.is_empty());
    let (st, _, _) = w(
        &app,
        Method::GET,
        &format!("{ch}/messages?after={}", reply["id"].as_str().unwrap_or("")),
        Some(&b),
        SHOP,
        None,
    )
    .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "another visitor's message is unknown"
    );
    let (st, _, _) = w(
        &app,
        Method::POST,
        &format!("{ch}/reactions"),
        Some(&b),
        SHOP,
        Some(json!({"message_id": reply["id"], "emoji": "😢"})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Tokens: missing, unknown, or of another channel.
    for token in [None, Some("not-a-token"), Some(a.as_str())] {
        let path = if token == Some(a.as_str()) {
            format!("{other_ch}/messages")
        } else {
            format!("{ch}/messages")
        };
        let (st, _, v) = w(&app, Method::GET, &path, token, SHOP, None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{token:?}: {v}");
    }
    // Channels: unknown, or not a widget.
    let (st, _, _) = w(
        &app,
        Method::POST,
        "nope/visitors",
        None,
        SHOP,
        Some(json!({})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = w(
        &app,
        Method::POST,
        &format!("{}/visitors", app.channel_id),
        None,
        SHOP,
        Some(json!({})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Origins: other sites are refused, also at preflight.
    let (st, _, v) = w(
        &app,
        Method::GET,
        &format!("{ch}/messages"),
        Some(&a),
        "http://evil.example",
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let preflight = |origin: &'static str| {
        let (app, ch) = (&app, ch.clone());
        async move {
            app.http
                .request(
                    Method::OPTIONS,
                    format!("{}/api/v1/widget/{ch}/messages", app.base),
                )
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .expect("preflight")
        }
    };
    let ok = preflight(SHOP).await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()["access-control-allow-origin"], SHOP);
    assert!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap_or("")
            .contains("authorization")
    );
    assert_eq!(
        preflight("http://evil.example").await.status(),
        StatusCode::FORBIDDEN
    );

    // Signed user ids: the same customer on every device; a bad hash is refused.
    let hash = casedesk_server::channels::widget::user_hash(&secret, "u-42");
    let (st, _, v) = w(
        &app,
        Method::POST,
        &format!("{ch}/visitors"),
        None,
        SHOP,
        Some(json!({"user_id": "u-42", "user_hash": "00ff"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"]["code"], "bad_signature");
    let phone = visitor(
        &app,
        &ch,
        json!({"user_id": "u-42", "user_hash": hash, "name": "Uma"}),
    )
    .await;
    let laptop = visitor(
        &app,
        &ch,
        json!({"user_id": "u-42", "user_hash": hash.to_uppercase()}),
    )
    .await;
    say(&app, &ch, &phone, "from my phone", "p1").await;
    assert_eq!(
        texts(&history(&app, &ch, &laptop, None).await),
        ["from my phone"]
    );

    // Bad input and limits.
    for body in [
        json!({"text": "  "}),
        json!({"text": "x", "client_id": ""}),
        json!({"text": "x", "client_id": "a b"}),
        json!({"text": 5}),
    ] {
        let (st, _, v) = w(
            &app,
            Method::POST,
            &format!("{ch}/messages"),
            Some(&b),
            SHOP,
            Some(body.clone()),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
    }
    let mut limited = None;
    for i in 0..12 {
        let (st, h, _) = w(
            &app,
            Method::POST,
            &format!("{ch}/messages"),
            Some(&b),
            SHOP,
            Some(json!({"text": format!("flood {i}"), "client_id": format!("f{i}")})),
        )
        .await;
        if st == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, h));
            break;
        }
        assert_eq!(st, StatusCode::CREATED);
    }
    // Messages and reactions share the limit: B's refused reaction above
    // was one of the ten.
    let (at, headers) = limited.expect("the 11th action within 10 s is refused");
    assert_eq!(at, 9);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(headers["access-control-expose-headers"], "Retry-After");
    assert_eq!(
        texts(&history(&app, &ch, &b, None).await).len(),
        9,
        "nothing lost, nothing extra"
    );

    // The channel secret signs user ids; it does not open the inbound webhook.
    let (st, v) = app
        .inbound_to(
            &ch,
            &secret,
            json!({"type": "message", "message_id": "x", "customer": {"id": "user:u-42"}, "text": "forged"}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "widget_channel");

    // Admins change the allowed origins; a bad one is refused.
    let (st, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{ch}"),
            Some(json!({"allowed_origins": ["shop.example/path"]})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let v = app
        .ok(
            Method::PATCH,
            &format!("/api/v1/channels/{ch}"),
            Some(json!({"allowed_origins": []})),
        )
        .await;
    assert_eq!(v["allowed_origins"], json!([]));
    let (st, _, _) = w(
        &app,
        Method::GET,
        &format!("{ch}/messages"),
        Some(&a),
        "http://evil.example",
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "no list: any site");
    app.stop().await;
}

async fn widget_events_tell_the_visitor_of_replies_not_notes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ch, _) = widget_channel(&app).await;
    let token = visitor(&app, &ch, json!({})).await;
    let other = visitor(&app, &ch, json!({})).await;
    let case_id = s(&say(&app, &ch, &token, "Hi", "e1").await["message"]["case_id"]);
    say(&app, &ch, &other, "Someone else", "o1").await;
    let mut stream = app
        .http
        .get(format!(
            "{}/api/v1/widget/{ch}/events?token={token}",
            app.base
        ))
        .header("origin", SHOP)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    app.note(&case_id, "internal only").await;
    let reply = app.reply(&case_id, "Hello!").await;
    let mut seen = String::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(reply["id"].as_str().unwrap_or("?")) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(got, "the reply was not pushed: {seen}");
    assert!(seen.contains("event: message"), "{seen}");
    assert!(!seen.contains("internal only"), "{seen}");
    let messages = app.messages(&case_id).await;
    let note_id = messages
        .iter()
        .find(|m| m["kind"] == "note")
        .map(|m| s(&m["id"]))
        .expect("note");
    assert!(!seen.contains(&note_id), "notes are not announced: {seen}");
    let (st, _, _) = w(&app, Method::GET, &format!("{ch}/events"), None, SHOP, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn the_customer_closes_their_own_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ch, _) = widget_channel(&app).await;
    let token = visitor(&app, &ch, json!({})).await;
    let other = visitor(&app, &ch, json!({})).await;
    let case_id = s(&say(&app, &ch, &token, "Help please", "x1").await["message"]["case_id"]);
    app.reply(&case_id, "Done, anything else?").await;
    let close = |token: String, case: String| {
        let (app, ch) = (&app, ch.clone());
        async move {
            w(
                app,
                Method::POST,
                &format!("{ch}/cases/{case}/close"),
                Some(&token),
                SHOP,
                None,
            )
            .await
        }
    };
    // Nobody else closes it.
    let (st, _, _) = close(other.clone(), case_id.clone()).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = close(other.clone(), "no-such-case".into()).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, v) = close(token.clone(), case_id.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["chat_state"].as_str()),
        (Some("closed"), Some("finished"))
    );
    let case = app.case(&case_id).await;
    assert!(
        case["auto_finish_at"].is_null(),
        "a closed chat has no timers"
    );
    let events = app.events(&case_id).await;
    let last = events.last().expect("an event");
    assert_eq!(last["kind"], "closed_by_customer");
    assert_eq!(last["actor"]["type"], "customer");
    // Again: nothing changes.
    let (st, _, _) = close(token.clone(), case_id.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(app.events(&case_id).await.len(), events.len());
    // R6 d: the next message starts a new case linked to the closed one.
    let next = say(&app, &ch, &token, "Actually, one more thing", "x2").await;
    assert_eq!(next["outcome"], "created");
    assert_eq!(
        app.case(&s(&next["message"]["case_id"])).await["previous_case_id"],
        case_id.as_str()
    );
    // R15: the customer's close counts like any other.
    let total = app.stats_total_today().await;
    assert_eq!(total["cases_closed"], 1, "{total}");
    assert_eq!(total["cases_finished"], 1, "{total}");
    app.stop().await;
}
