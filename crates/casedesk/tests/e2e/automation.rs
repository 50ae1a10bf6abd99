//! Automation rules through the API, on both databases: triggers,
//! conditions, actions, durable time rules and bounded loops.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    pending_for_rule_closes_on_time_after_a_restart,
    open_without_reply_rule_fires_only_for_unanswered_cases,
    message_rule_with_conditions_labels_assigns_and_replies,
    rule_loops_are_bounded,
    rules_are_validated_admin_only_and_dry_run_touches_nothing,
    time_rules_do_not_set_each_other_off_and_wait_for_their_conditions,
    a_split_is_no_finish_for_rules,
);

async fn rule(app: &TestApp, body: Value) -> Value {
    let (st, v) = app.call(Method::POST, "/api/v1/rules", Some(body)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v
}

async fn label(app: &TestApp, name: &str) -> String {
    let v = app
        .ok(
            Method::POST,
            "/api/v1/labels",
            Some(json!({ "name": name })),
        )
        .await;
    s(&v["id"])
}

fn events_of(events: &[Value], kind: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

async fn set_status(app: &TestApp, case_id: &str, status: &str) -> Value {
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{case_id}"),
        Some(json!({ "status": status })),
    )
    .await
}

async fn pending_for_rule_closes_on_time_after_a_restart(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let r = rule(
        &app,
        json!({
            "name": "Close after 2 s pending",
            "trigger": {"type": "pending_for", "seconds": 2},
            "actions": [
                {"type": "add_note", "text": "No answer from {{customer.name}}: closing"},
                {"type": "set_status", "status": "closed"}
            ]
        }),
    )
    .await;
    let rid = s(&r["id"]);
    let c1 = s(&app.customer_says("ann", "m1", "Where is my parcel?").await["case_id"]);
    app.reply(&c1, "Could you send the order number?").await;
    let (st, v) = app.finish(&c1, "pending").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // A second pending case leaves pending before its timer: it stays open.
    let c2 = s(&app.customer_says("bob", "m2", "Hello").await["case_id"]);
    let (st, v) = app.finish(&c2, "pending").await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // The timer is durable: the server is down for a while, then fires it
    // on time, not a moment before.
    app.restart(Duration::from_millis(300)).await;
    let back = app.customer_says("bob", "m3", "Here I am").await;
    assert_eq!(back["outcome"], "reopened", "status open again: {back}");
    app.advance_and_run(Duration::from_millis(1699)).await;
    let waiting = app.case(&c1).await;
    assert_eq!(waiting["status"], "pending", "1.999 s pending: {waiting}");
    app.advance_and_run(Duration::from_millis(1)).await;
    let closed = app.case(&c1).await;
    assert_eq!(closed["status"], "closed", "2 s pending: {closed}");
    assert_eq!(closed["chat_state"], "finished");
    let events = app.events(&c1).await;
    let applied = events_of(&events, "rule_applied");
    assert_eq!(applied.len(), 1, "fired once: {events:?}");
    assert_eq!(applied[0]["actor"]["type"], "system");
    assert_eq!(applied[0]["actor"]["id"], format!("rule:{rid}"));
    assert_eq!(applied[0]["data"]["rule_name"], "Close after 2 s pending");
    assert_eq!(applied[0]["data"]["trigger"], "timer");
    let messages = app.messages(&c1).await;
    let note = messages.last().expect("a note");
    assert_eq!(note["kind"], "note");
    assert_eq!(note["author"]["type"], "system");
    assert_eq!(note["text"], "No answer from Ann: closing");

    app.advance_and_run(Duration::from_millis(2500)).await;
    let c2_now = app.case(&c2).await;
    assert_eq!(
        c2_now["status"], "open",
        "left pending before the timer: {c2_now}"
    );
    assert!(events_of(&app.events(&c2).await, "rule_applied").is_empty());
    assert_eq!(
        events_of(&app.events(&c1).await, "rule_applied").len(),
        1,
        "never twice"
    );

    // R6 d: the customer of the closed case starts a new one; the close
    // counts in the statistics like any other.
    let next = app.customer_says("ann", "m4", "Found it: #123").await;
    assert_eq!(next["outcome"], "created");
    let total = app.stats_total_today().await;
    assert_eq!(total["cases_closed"], 1, "{total}");
    app.stop().await;
}

async fn open_without_reply_rule_fires_only_for_unanswered_cases(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let overdue = label(&app, "Overdue").await;
    rule(
        &app,
        json!({
            "name": "Overdue after 1 s",
            "trigger": {"type": "open_without_reply", "seconds": 1},
            "actions": [{"type": "add_label", "label_id": overdue}]
        }),
    )
    .await;
    let waiting = s(&app.customer_says("u1", "m1", "Anyone?").await["case_id"]);
    let answered = s(&app.customer_says("u2", "m2", "Hi").await["case_id"]);
    app.reply(&answered, "Hello, how can I help?").await;
    app.advance_and_run(Duration::from_millis(999)).await;
    assert_eq!(app.case(&waiting).await["labels"], json!([]), "not yet");
    app.advance_and_run(Duration::from_millis(1)).await;
    let labelled = app.case(&waiting).await;
    assert_eq!(labelled["labels"][0]["name"], "Overdue", "{labelled}");
    // A second customer message does not restart or repeat the wait.
    app.customer_says("u1", "m3", "Hello??").await;
    app.advance_and_run(Duration::from_millis(1500)).await;
    assert_eq!(
        events_of(&app.events(&waiting).await, "rule_applied").len(),
        1
    );
    assert_eq!(
        app.case(&answered).await["labels"],
        json!([]),
        "answered in time"
    );
    app.stop().await;
}

async fn message_rule_with_conditions_labels_assigns_and_replies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let refund = label(&app, "Refund").await;
    let ada = app
        .ok(
            Method::POST,
            "/api/v1/agents",
            Some(json!({"email": "ada@example.com", "name": "Ada", "password": "agent-password"})),
        )
        .await;
    let ada_id = s(&ada["id"]);
    let r = rule(
        &app,
        json!({
            "name": "Refunds to Ada",
            "trigger": {"type": "customer_message"},
            "conditions": [
                {"type": "message_contains", "text": "refund"},
                {"type": "lacks_label", "label_id": refund},
                {"type": "channel_is", "channel_ids": [app.channel_id]}
            ],
            "actions": [
                {"type": "add_label", "label_id": refund},
                {"type": "assign", "agent_id": ada_id},
                {"type": "send_reply", "text": "Thanks {{customer.name}}, {{agent.name}} handles refunds (#{{case.number}})."}
            ]
        }),
    )
    .await;
    assert_eq!(r["enabled"], true);
    // A disabled rule never fires.
    rule(
        &app,
        json!({
            "name": "Disabled",
            "enabled": false,
            "trigger": {"type": "case_created"},
            "actions": [{"type": "set_status", "status": "closed"}]
        }),
    )
    .await;

    let c = s(&app.customer_says("ann", "m1", "Hello").await["case_id"]);
    let case = app.case(&c).await;
    assert_eq!(
        (case["status"].as_str(), case["labels"].clone()),
        (Some("open"), json!([]))
    );
    app.customer_says("ann", "m2", "I want a REFUND for order 7")
        .await;
    let case = app.case(&c).await;
    assert_eq!(case["labels"][0]["name"], "Refund", "{case}");
    assert_eq!(case["assignee_id"], ada_id.as_str());
    assert!(
        case["first_response_at"].is_null(),
        "a rule's reply is no agent's response"
    );
    let messages = app.messages(&c).await;
    let reply = messages.last().expect("the rule's reply");
    assert_eq!(reply["kind"], "message");
    assert_eq!(reply["author"]["type"], "system");
    assert_eq!(reply["text"], "Thanks Ann, Ada handles refunds (#1).");
    // The label now fails `lacks_label`: the rule does not fire again.
    app.customer_says("ann", "m3", "refund please").await;
    let applied = events_of(&app.events(&c).await, "rule_applied");
    assert_eq!(applied.len(), 1, "{applied:?}");
    let fields: Vec<&str> = applied[0]["changes"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["label", "assignee_id"]);
    // With the rule's reply as the last message, auto-finish still sees the
    // customer as the last writer (R3): status open, not pending.
    app.set_timers(1, 1).await;
    let bob = s(&app.customer_says("bob", "m4", "refund!").await["case_id"]);
    let last = app.messages(&bob).await;
    assert_eq!(
        last.last().map(|m| m["author"]["type"].clone()),
        Some(json!("system"))
    );
    app.advance_and_run(Duration::from_secs(1)).await;
    let finished = app.case(&bob).await;
    assert_eq!(finished["chat_state"], "finished", "{finished}");
    assert_eq!(finished["status"], "open", "{finished}");
    app.stop().await;
}

async fn rule_loops_are_bounded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (name, from, to) in [
        ("Undo pending", "pending", "open"),
        ("Undo open", "open", "pending"),
    ] {
        rule(
            &app,
            json!({
                "name": name,
                "trigger": {"type": "status_changed", "to": from},
                "actions": [{"type": "set_status", "status": to}]
            }),
        )
        .await;
    }
    rule(
        &app,
        json!({
            "name": "Note every change",
            "trigger": {"type": "status_changed"},
            "actions": [{"type": "add_note", "text": "status changed"}]
        }),
    )
    .await;
    let c = s(&app.customer_says("ann", "m1", "Hi").await["case_id"]);
    let case = set_status(&app, &c, "pending").await;
    // pending → "Undo pending" sets open → "Undo open" sets pending → each
    // rule fires at most once per change, so it stops there.
    assert_eq!(case["status"], "pending", "{case}");
    let events = app.events(&c).await;
    let applied: Vec<String> = events_of(&events, "rule_applied")
        .iter()
        .map(|e| s(&e["data"]["rule_name"]))
        .collect();
    // "Note every change" skips the queued change to pending that "Undo
    // pending" made stale, and notes the last one.
    assert_eq!(
        applied,
        ["Undo pending", "Undo open", "Note every change"],
        "{events:?}"
    );
    let notes = app
        .messages(&c)
        .await
        .iter()
        .filter(|m| m["kind"] == "note")
        .count();
    assert_eq!(notes, 1);
    // The next change is a new trigger event: the rules fire again, once.
    let case = set_status(&app, &c, "open").await;
    assert_eq!(case["status"], "open", "{case}");
    assert_eq!(events_of(&app.events(&c).await, "rule_applied").len(), 6);
    app.stop().await;
}

async fn rules_are_validated_admin_only_and_dry_run_touches_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.ok(
        Method::POST,
        "/api/v1/agents",
        Some(json!({"email": "ada@example.com", "name": "Ada", "password": "agent-password"})),
    )
    .await;
    let ada = app.login("ada@example.com", "agent-password").await;
    let good = json!({
        "name": "Close stale",
        "trigger": {"type": "pending_for", "seconds": 3600},
        "conditions": [{"type": "subject_contains", "text": "order"}],
        "actions": [{"type": "set_status", "status": "closed"}]
    });
    let (st, v) = app
        .raw(
            Method::POST,
            "/api/v1/rules",
            Some(&ada),
            Some(good.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    for (body, needle) in [
        (
            json!({"name": "x", "trigger": {"type": "pending_for", "seconds": 0}, "actions": [{"type": "set_status", "status": "closed"}]}),
            "seconds",
        ),
        (
            json!({"name": "x", "trigger": {"type": "case_created"}, "conditions": [{"type": "message_contains", "text": "a"}], "actions": [{"type": "set_status", "status": "closed"}]}),
            "message_contains only fits",
        ),
        (
            json!({"name": "x", "trigger": {"type": "chat_finished"}, "actions": [{"type": "finish_chat", "status": "closed"}]}),
            "does not fit the chat_finished trigger",
        ),
        (
            json!({"name": "x", "trigger": {"type": "agent_replied"}, "actions": [{"type": "send_reply", "text": "hi"}]}),
            "agent_replied",
        ),
        (
            json!({"name": "x", "trigger": {"type": "case_created"}, "actions": []}),
            "at least one action",
        ),
        (
            json!({"name": "x", "trigger": {"type": "whenever"}, "actions": [{"type": "set_status", "status": "closed"}]}),
            "whenever",
        ),
        (
            json!({"name": "x", "trigger": {"type": "case_created"}, "actions": [{"type": "send_reply", "text": "{{oops}}"}]}),
            "unknown placeholder",
        ),
        (
            json!({"name": "", "trigger": {"type": "case_created"}, "actions": [{"type": "set_status", "status": "closed"}]}),
            "rule name",
        ),
        (
            json!({"name": "x", "trigger": {"type": "case_created"}, "actions": [{"type": "set_status", "status": "closed"}], "extra": true}),
            "extra",
        ),
    ] {
        let (st, v) = app
            .call(Method::POST, "/api/v1/rules", Some(body.clone()))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(needle),
            "{body} → {v}"
        );
    }
    // A channel or label the account does not have is not there: 404, as
    // an unknown id in the path.
    for (body, needle) in [
        (
            json!({"name": "x", "trigger": {"type": "case_created"}, "actions": [{"type": "add_label", "label_id": "nope"}]}),
            "no label `nope`",
        ),
        (
            json!({"name": "x", "trigger": {"type": "case_created"}, "conditions": [{"type": "channel_is", "channel_ids": ["nope"]}], "actions": [{"type": "set_status", "status": "closed"}]}),
            "no channel `nope`",
        ),
    ] {
        let (st, v) = app
            .call(Method::POST, "/api/v1/rules", Some(body.clone()))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{body} → {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(needle),
            "{body} → {v}"
        );
    }
    assert_eq!(
        app.ok(Method::GET, "/api/v1/rules", None).await["items"],
        json!([])
    );

    // Dry run: the pending cases whose subject mentions an order.
    let hit = s(&app.customer_says("u1", "m1", "My order is late").await["case_id"]);
    let miss = s(&app.customer_says("u2", "m2", "Other question").await["case_id"]);
    let open = s(&app.customer_says("u3", "m3", "order, but open").await["case_id"]);
    for c in [&hit, &miss] {
        set_status(&app, c, "pending").await;
    }
    let dry = app
        .ok(Method::POST, "/api/v1/rules/dry-run", Some(good.clone()))
        .await;
    let saved_json = json!({"id": "x", "enabled": true, "position": 1, "created_at": "t",
        "updated_at": "t", "name": "n", "trigger": good["trigger"], "conditions": good["conditions"],
        "actions": good["actions"]});
    let same = app
        .ok(Method::POST, "/api/v1/rules/dry-run", Some(saved_json))
        .await;
    assert_eq!(same, dry, "a saved rule's JSON dry-runs as it is");
    let numbers: Vec<i64> = dry["cases"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["number"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(numbers, [1], "{dry}");
    assert_eq!(dry["scanned"], 3);
    assert_eq!(
        app.case(&hit).await["status"],
        "pending",
        "a dry run changes nothing"
    );
    assert_eq!(app.case(&open).await["status"], "open");

    // Saved: agents read rules; admins change and delete them.
    let saved = rule(&app, good).await;
    let path = format!("/api/v1/rules/{}", s(&saved["id"]));
    let (st, listed) = app
        .raw(Method::GET, "/api/v1/rules", Some(&ada), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(listed["items"][0]["name"], "Close stale");
    let (st, _) = app
        .raw(
            Method::PATCH,
            &path,
            Some(&ada),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let patched = app
        .ok(
            Method::PATCH,
            &path,
            Some(json!({"enabled": false, "position": 7})),
        )
        .await;
    assert_eq!(
        (patched["enabled"].as_bool(), patched["position"].as_i64()),
        (Some(false), Some(7))
    );
    let (st, v) = app
        .call(Method::PATCH, &path, Some(json!({"actions": []})))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, _) = app.call(Method::DELETE, &path, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = app.call(Method::GET, &path, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn time_rules_do_not_set_each_other_off_and_wait_for_their_conditions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Two time rules that would ping-pong forever if a rule's change could
    // start another rule's wait.
    let first = rule(
        &app,
        json!({"name": "Unanswered → pending", "trigger": {"type": "open_without_reply", "seconds": 1},
               "actions": [{"type": "set_status", "status": "pending"}]}),
    )
    .await;
    let second = rule(
        &app,
        json!({"name": "Pending → open", "trigger": {"type": "pending_for", "seconds": 1},
               "actions": [{"type": "set_status", "status": "open"}]}),
    )
    .await;
    let c = s(&app.customer_says("pp", "m1", "Hello").await["case_id"]);
    app.advance_and_run(Duration::from_secs(1)).await;
    assert_eq!(app.case(&c).await["status"], "pending");
    for _ in 0..3 {
        app.advance_and_run(Duration::from_secs(1)).await;
    }
    let applied = events_of(&app.events(&c).await, "rule_applied");
    assert_eq!(applied.len(), 1, "one wait, one firing: {applied:?}");
    assert_eq!(app.case(&c).await["status"], "pending");
    for r in [&first, &second] {
        app.ok(
            Method::PATCH,
            &format!("/api/v1/rules/{}", s(&r["id"])),
            Some(json!({"enabled": false})),
        )
        .await;
    }

    // A wait whose conditions do not hold yet looks again until they do.
    let ready = label(&app, "Ready").await;
    rule(
        &app,
        json!({"name": "Close ready ones", "trigger": {"type": "pending_for", "seconds": 1},
               "conditions": [{"type": "has_label", "label_id": ready}],
               "actions": [{"type": "set_status", "status": "closed"}]}),
    )
    .await;
    let d = s(&app.customer_says("qq", "m2", "Hi").await["case_id"]);
    app.reply(&d, "Answer").await;
    set_status(&app, &d, "pending").await;
    for _ in 0..3 {
        app.advance_and_run(Duration::from_secs(1)).await;
    }
    let still = app.case(&d).await;
    assert_eq!(still["status"], "pending", "no label yet: {still}");
    app.ok(
        Method::POST,
        &format!("/api/v1/cases/{d}/labels"),
        Some(json!({ "label_id": ready })),
    )
    .await;
    // It looks again a second after each look (recheck_after).
    app.advance_and_run(Duration::from_secs(1)).await;
    let closed = app.case(&d).await;
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(closed["labels"][0]["name"], "Ready");
    app.stop().await;
}

async fn a_split_is_no_finish_for_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    rule(
        &app,
        json!({"name": "Survey", "trigger": {"type": "chat_finished"},
               "actions": [{"type": "add_note", "text": "survey sent"}]}),
    )
    .await;
    let c = s(&app.customer_says("sp", "m1", "Hi").await["case_id"]);
    app.reply(&c, "Hello").await;
    let (st, _) = app.finish(&c, "pending").await;
    assert_eq!(st, StatusCode::OK);
    app.customer_says("sp", "m2", "Another thing").await;
    let (st, new_case) = app
        .call(Method::POST, &format!("/api/v1/cases/{c}/split"), None)
        .await;
    assert_eq!(st, StatusCode::CREATED, "{new_case}");
    let original = app.case(&c).await;
    assert_eq!(
        (original["status"].as_str(), original["chat_state"].as_str()),
        (Some("pending"), Some("finished"))
    );
    let applied = events_of(&app.events(&c).await, "rule_applied");
    assert_eq!(applied.len(), 1, "only the agent's finish: {applied:?}");
    app.stop().await;
}
