//! What the agent console needs from the API (issue 20): a reply assigns
//! the replying agent, the queues and their counts, the error codes the
//! pages translate. On both databases.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, Backend, TestApp, s};
use crate::on_both;

on_both!(
    a_reply_assigns_the_replying_agent_unless_turned_off,
    queues_count_and_list_mine_unassigned_open_and_waiting,
    a_wrong_password_has_its_own_code,
    errors_carry_their_code_and_values,
    a_visitors_page_is_kept_without_its_query,
    a_channel_turned_off_takes_nothing_in_until_turned_on,
    a_removed_channel_keeps_its_cases_and_takes_nothing_in,
);

async fn reply_as(app: &TestApp, token: &str, case_id: &str, text: &str) {
    let (st, v) = app
        .raw(
            Method::POST,
            &format!("/api/v1/cases/{case_id}/messages"),
            Some(token),
            Some(json!({"text": text, "kind": "reply"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

async fn a_reply_assigns_the_replying_agent_unless_turned_off(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ada, ada_token) = app.new_agent("ada@example.com").await;
    assert_eq!(
        app.ok(Method::GET, "/api/v1/settings", None).await["assign_on_reply"],
        true,
        "on by default"
    );

    // A note assigns nobody; a reply assigns the agent who wrote it.
    let case = s(&app.customer_says("c1", "m1", "Hello?").await["case_id"]);
    let (st, _) = app
        .raw(
            Method::POST,
            &format!("/api/v1/cases/{case}/messages"),
            Some(&ada_token),
            Some(json!({"text": "looking", "kind": "note"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(app.case(&case).await["assignee_id"], Value::Null);
    reply_as(&app, &ada_token, &case, "Hi, Ada here").await;
    assert_eq!(app.case(&case).await["assignee_id"], ada.as_str());
    let events = app.events(&case).await;
    let assigned = events
        .iter()
        .find(|e| e["kind"] == "updated" && e["data"]["reason"] == "reply")
        .expect("the history says who took the case and why");
    assert_eq!(assigned["actor"]["id"], ada.as_str());
    assert_eq!(assigned["changes"][0]["field"], "assignee_id");
    assert_eq!(assigned["changes"][0]["before"], Value::Null);
    assert_eq!(assigned["changes"][0]["after"], ada.as_str());

    // Another agent's reply does not take an assigned case away.
    app.reply(&case, "the admin adds a word").await;
    assert_eq!(app.case(&case).await["assignee_id"], ada.as_str());

    // The workload report credits Ada, not "unassigned".
    let stats = app
        .ok(Method::GET, "/api/v1/stats?group_by=agent", None)
        .await;
    let rows = stats["groups"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter().any(|g| g["key"] == ada.as_str()),
        "the report credits the replying agent: {stats}"
    );

    // Turned off: a reply leaves the case unassigned.
    let v = app
        .ok(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"assign_on_reply": false})),
        )
        .await;
    assert_eq!(v["assign_on_reply"], false);
    let other = s(&app.customer_says("c2", "m2", "Hi").await["case_id"]);
    reply_as(&app, &ada_token, &other, "Hello").await;
    assert_eq!(app.case(&other).await["assignee_id"], Value::Null);
    assert_eq!(
        app.ok(Method::GET, "/api/v1/settings", None).await["assign_on_reply"],
        false,
        "the setting is kept"
    );
    // Only admins change it; a wrong type is refused.
    let (st, _) = app
        .raw(
            Method::PATCH,
            "/api/v1/settings",
            Some(&ada_token),
            Some(json!({"assign_on_reply": true})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = app
        .call(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"assign_on_reply": "yes"})),
        )
        .await;
    assert!(st.is_client_error(), "{st}");
}

async fn queues_count_and_list_mine_unassigned_open_and_waiting(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ada, ada_token) = app.new_agent("ada@example.com").await;
    let empty = app.ok(Method::GET, "/api/v1/cases/queues", None).await;
    assert_eq!(
        empty,
        json!({"mine": 0, "unassigned": 0, "open": 0, "pending": 0})
    );
    // Three open cases: one Ada's (she replied, then the customer wrote
    // again), one the admin's, one nobody's; one pending.
    let adas = s(&app.customer_says("q1", "q1-1", "one").await["case_id"]);
    reply_as(&app, &ada_token, &adas, "mine").await;
    app.customer_says("q1", "q1-2", "thanks, but").await;
    let admins = s(&app.customer_says("q2", "q2-1", "two").await["case_id"]);
    app.reply(&admins, "the admin's").await;
    app.customer_says("q2", "q2-2", "and").await;
    let nobodys = s(&app.customer_says("q3", "q3-1", "three").await["case_id"]);
    let waiting = s(&app.customer_says("q4", "q4-1", "four").await["case_id"]);
    let (st, _) = app.finish(&waiting, "pending").await;
    assert_eq!(st, StatusCode::OK);

    let counts = |token: String| {
        let app = &app;
        async move {
            app.raw(Method::GET, "/api/v1/cases/queues", Some(&token), None)
                .await
                .1
        }
    };
    assert_eq!(
        counts(ada_token.clone()).await,
        json!({"mine": 1, "unassigned": 1, "open": 3, "pending": 1})
    );
    assert_eq!(
        counts(app.token.clone()).await,
        json!({"mine": 1, "unassigned": 1, "open": 3, "pending": 1})
    );
    let ids = |v: Vec<Value>| v.iter().map(|c| s(&c["id"])).collect::<Vec<_>>();
    assert_eq!(
        ids(app.list(&format!("status=open&assignee_id={ada}")).await),
        vec![adas.clone()]
    );
    assert_eq!(
        ids(app.list("status=open&unassigned=true").await),
        vec![nobodys.clone()]
    );
    assert_eq!(ids(app.list("status=pending").await), vec![waiting.clone()]);
    // Closing Ada's case takes it out of her queue.
    let (st, _) = app.finish(&adas, "closed").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(counts(ada_token).await["mine"], 0);
    // `unassigned=false` is no filter at all.
    assert_eq!(app.list("unassigned=false").await.len(), 4);
}

async fn a_wrong_password_has_its_own_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (st, v) = app
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": ADMIN_EMAIL, "password": "not it"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "invalid_credentials", "{v}");
}

async fn a_removed_channel_keeps_its_cases_and_takes_nothing_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let case = s(&app.customer_says("rm-1", "rm-1a", "Before").await["case_id"]);
    let path = format!("/api/v1/channels/{}", app.channel_id);
    // Only admins remove channels.
    let (_, token) = app.new_agent("ada@example.com").await;
    let (st, _) = app.raw(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = app.call(Method::DELETE, &path, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    // Still listed, marked, so its cases keep its name; turned off too.
    let listed = app.ok(Method::GET, "/api/v1/channels", None).await;
    let channel = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["id"] == app.channel_id.as_str())
        .expect("the removed channel is listed")
        .clone();
    assert_eq!(channel["removed"], true, "{channel}");
    assert_eq!(channel["disabled"], true, "{channel}");
    // Nothing comes in, and the sender is told not to try again.
    let (st, v) = app
        .inbound(json!({"type": "message", "message_id": "rm-1b",
            "customer": {"id": "rm-1"}, "text": "After"}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["code"], "channel_removed");
    let texts: Vec<Value> = app
        .messages(&case)
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, vec![json!("Before")]);
    // The case stays, with its channel.
    let got = app
        .ok(Method::GET, &format!("/api/v1/cases/{case}"), None)
        .await;
    assert_eq!(got["channel_id"], app.channel_id.as_str());
    // As a channel of its own it is gone: it cannot be changed, turned on,
    // removed again or read.
    for body in [json!({"disabled": false}), json!({"name": "Back"})] {
        let (st, v) = app.call(Method::PATCH, &path, Some(body)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    }
    let (st, _) = app.call(Method::DELETE, &path, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = app
        .call(Method::GET, &format!("{path}/deliveries"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Another account's channel, or none: 404.
    let (st, _) = app
        .call(Method::DELETE, "/api/v1/channels/nope", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn a_channel_turned_off_takes_nothing_in_until_turned_on(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let case = s(&app.customer_says("off-1", "off-1a", "Before").await["case_id"]);
    let path = format!("/api/v1/channels/{}", app.channel_id);
    let v = app
        .ok(Method::PATCH, &path, Some(json!({"disabled": true})))
        .await;
    assert_eq!(v["disabled"], true);
    let listed = app.ok(Method::GET, "/api/v1/channels", None).await;
    assert_eq!(listed["items"][0]["disabled"], true);
    // The webhook is refused with its own code, and nothing is stored.
    let (st, v) = app
        .inbound(json!({"type": "message", "message_id": "off-1b",
            "customer": {"id": "off-1"}, "text": "While off"}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "channel_disabled");
    assert!(
        app.messages(&case)
            .await
            .iter()
            .all(|m| m["text"] != "While off")
    );
    // Agents still answer the channel's cases.
    app.reply(&case, "We are moving to another channel").await;
    // A widget turned off: the visitor's message is refused the same way.
    let (widget, _) = app.widget_channel(&[]).await;
    let visitor = app.new_visitor(&widget).await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{widget}"),
        Some(json!({"disabled": true})),
    )
    .await;
    let (st, v) = app
        .visitor_posts(
            &widget,
            &visitor,
            json!({"text": "hello", "client_id": "w-off-1"}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    // Turned on again, the same message is taken.
    let v = app
        .ok(Method::PATCH, &path, Some(json!({"disabled": false})))
        .await;
    assert_eq!(v["disabled"], false);
    let (st, v) = app
        .inbound(json!({"type": "message", "message_id": "off-1b",
            "customer": {"id": "off-1"}, "text": "While off"}))
        .await;
    assert!(st.is_success(), "{v}");
    assert!(
        app.messages(&case)
            .await
            .iter()
            .any(|m| m["text"] == "While off")
    );
    // Only admins switch channels.
    let (_, token) = app.new_agent("ada@example.com").await;
    let (st, _) = app
        .raw(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// An error a form can meet has its own code and, where its message names
/// values, the same values apart: what the pages put in their sentences.
async fn errors_carry_their_code_and_values(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (
            Method::PATCH,
            "/api/v1/settings".to_owned(),
            json!({"chat_auto_finish_after_seconds": 0}),
            "timer_out_of_range",
            json!({"field": "chat_auto_finish_after_seconds", "min": 1, "max": 366 * 24 * 3600}),
        ),
        (
            Method::POST,
            "/api/v1/agents".to_owned(),
            json!({"email": "short@example.com", "password": "short"}),
            "password_too_short",
            json!({"min": 8}),
        ),
        (
            Method::POST,
            "/api/v1/labels".to_owned(),
            json!({"name": "x".repeat(51)}),
            "label_name_invalid",
            json!({"max": 50}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/channels/{}", app.channel_id),
            json!({"name": " "}),
            "name_length",
            json!({"max": 200}),
        ),
    ];
    for (method, path, body, code, params) in cases {
        let (st, v) = app.call(method.clone(), &path, Some(body)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert_eq!(v["error"]["params"], params, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // What a rule, template, schedule, channel or query gets wrong has its
    // own code too, with where it is (which condition or action, which
    // day, which field) among the values: no catch-all `invalid`.
    let rule = |conditions: Value, actions: Value| {
        json!({"name": "r", "trigger": {"type": "case_created"},
            "conditions": conditions, "actions": actions})
    };
    let close = json!([{"type": "set_status", "status": "closed"}]);
    let more = [
        (
            Method::POST,
            "/api/v1/rules".to_owned(),
            Some(rule(
                json!([{"type": "message_contains", "text": "x"}, {"type": "status_is", "statuses": []}]),
                close.clone(),
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
            "condition_needs_message",
            json!({"condition": 1}),
        ),
        (
            Method::POST,
            "/api/v1/rules".to_owned(),
            Some(rule(
                json!([]),
                json!([{"type": "set_status", "status": "open"}, {"type": "add_note", "text": "Hi {{nope}}"}]),
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
            "placeholder_unknown",
            json!({"action": 2, "name": "nope"}),
        ),
        (
            Method::POST,
            "/api/v1/templates".to_owned(),
            Some(json!({"name": "t", "body": "Hello {{customer.name"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "placeholder_unclosed",
            json!({}),
        ),
        (
            Method::PATCH,
            "/api/v1/settings".to_owned(),
            Some(json!({"business_hours": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "hours_overlap",
            json!({"day": "mon", "first": "09:00–13:00", "second": "12:00–18:00"}),
        ),
        (
            Method::POST,
            "/api/v1/channels".to_owned(),
            Some(json!({"name": "Bot", "kind": "telegram"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "field_required",
            json!({"field": "bot_token"}),
        ),
        (
            Method::GET,
            "/api/v1/cases?limit=0".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
            "limit_out_of_range",
            json!({"min": 1, "max": 200}),
        ),
        (
            Method::GET,
            "/api/v1/stats?from=2026-11-01&to=2026-11-30&group_by=month".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
            "unknown_value",
            json!({"name": "group_by", "value": "month"}),
        ),
    ];
    for (method, path, body, status, code, params) in more {
        let (st, v) = app.call(method.clone(), &path, body).await;
        assert_eq!(st, status, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], code, "{method} {path}: {v}");
        for (name, value) in params.as_object().expect("an object") {
            assert_eq!(&v["error"]["params"][name], value, "{name} of {v}");
        }
    }
    // A change that no longer fits the rest of the rule: 409, naming the
    // cause and where it is.
    let r = app
        .ok(
            Method::POST,
            "/api/v1/rules",
            Some(rule(
                json!([]),
                json!([{"type": "send_reply", "text": "On it"}]),
            )),
        )
        .await;
    let (st, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/rules/{}", s(&r["id"])),
            Some(json!({"trigger": {"type": "agent_replied"}})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "rule_conflict");
    assert_eq!(v["error"]["params"]["cause"], "reply_on_agent_reply", "{v}");
    assert_eq!(v["error"]["params"]["action"], 1, "{v}");

    // A reply without text: its code, no values to give.
    let case = s(&app.customer_says("e1", "e1a", "Hi").await["case_id"]);
    let (st, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{case}/messages"),
            Some(json!({"text": "   ", "kind": "reply"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "text_empty");
    assert!(v["error"].get("params").is_none(), "{v}");
}

async fn a_visitors_page_is_kept_without_its_query(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (widget, _) = app.widget_channel(&[]).await;
    let visitor = app.new_visitor(&widget).await;
    let say = |text: &'static str, id: &'static str, page: Value| {
        let (app, widget, visitor) = (&app, widget.clone(), visitor.clone());
        async move {
            let (st, v) = app
                .visitor_posts(
                    &widget,
                    &visitor,
                    json!({"text": text, "client_id": id, "page": page}),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            v
        }
    };
    let v = say(
        "Hi",
        "p1",
        json!("https://shop.example/checkout?token=secret#pay"),
    )
    .await;
    let case = app.case(&s(&v["message"]["case_id"])).await;
    let customer = format!("/api/v1/customers/{}", s(&case["customer_id"]));
    assert_eq!(
        app.ok(Method::GET, &customer, None).await["page"],
        "https://shop.example/checkout"
    );
    // Something that is no web page is not kept; the message is.
    say("Still here", "p2", json!("javascript:alert(1)")).await;
    assert_eq!(
        app.ok(Method::GET, &customer, None).await["page"],
        "https://shop.example/checkout"
    );
    say("Moved on", "p3", json!("https://shop.example/cart")).await;
    assert_eq!(
        app.ok(Method::GET, &customer, None).await["page"],
        "https://shop.example/cart"
    );
}
