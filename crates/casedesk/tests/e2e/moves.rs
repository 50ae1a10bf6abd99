//! Moving any selection of a case's messages (issue 18) through the real
//! HTTP API, on both backends.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    a_selection_moves_to_a_new_case_and_into_another_open_case,
    moving_what_came_since_a_reopen_to_a_new_case_is_the_split,
    a_selection_that_cannot_move_is_refused_and_nothing_moves,
    a_new_question_is_suggested_followed_and_dismissed,
    a_split_is_undone_and_redone_and_statistics_follow,
    a_merge_and_a_move_are_undone,
    an_undo_is_refused_when_a_later_change_prevents_it,
    messages_that_came_after_a_split_stay_where_they_landed,
    an_undo_leaves_a_later_latest_chat_and_a_customer_message_alone,
    a_rule_splits_off_a_new_question_as_it_arrives,
);

async fn move_messages(app: &TestApp, case: &str, ids: &[&str], to: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/api/v1/cases/{case}/move-messages"),
        Some(json!({ "message_ids": ids, "to": to })),
    )
    .await
}

/// The case's message texts, in order.
async fn texts(app: &TestApp, case: &str) -> Vec<String> {
    app.messages(case)
        .await
        .iter()
        .map(|m| s(&m["text"]))
        .collect()
}

/// Ids of the case's messages whose text is one of `wanted`.
async fn ids_of(app: &TestApp, case: &str, wanted: &[&str]) -> Vec<String> {
    app.messages(case)
        .await
        .iter()
        .filter(|m| wanted.contains(&m["text"].as_str().unwrap_or_default()))
        .map(|m| s(&m["id"]))
        .collect()
}

async fn a_selection_moves_to_a_new_case_and_into_another_open_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c1 = s(&app.customer_says("ann", "m1", "My order 100 is late").await["case_id"]);
    app.reply(&c1, "Checking order 100").await;
    app.customer_says("ann", "m2", "Also: how do I change my e-mail?")
        .await;
    app.customer_says("ann", "m3", "The new one is ann@new.example")
        .await;
    let reacted = app.react("ann", "m2", "🙏").await;
    assert_eq!(reacted["outcome"], "noted");
    app.note(&c1, "she asked about e-mail too").await;
    assert_eq!(app.case(&c1).await["message_count"], 6);

    let moving = ids_of(
        &app,
        &c1,
        &[
            "Also: how do I change my e-mail?",
            "The new one is ann@new.example",
        ],
    )
    .await;
    let moving: Vec<&str> = moving.iter().map(String::as_str).collect();
    let (st, c2) = move_messages(&app, &c1, &moving, "new").await;
    assert_eq!(st, StatusCode::CREATED, "{c2}");
    let c2_id = s(&c2["id"]);
    assert_eq!(c2["number"], 2);
    assert_eq!(c2["subject"], "Also: how do I change my e-mail?");
    assert_eq!(c2["previous_case_id"], c1.as_str());
    assert_eq!(
        (c2["status"].as_str(), c2["chat_state"].as_str()),
        (Some("open"), Some("active"))
    );
    assert_eq!(c2["message_count"], 3, "two messages and the reaction note");
    let moved = app.messages(&c2_id).await;
    assert_eq!(
        moved[2]["kind"], "note",
        "the reaction went with its message"
    );
    assert_eq!(moved[2]["reacted_message_id"], moved[0]["id"]);
    let original = app.case(&c1).await;
    assert_eq!(original["message_count"], 3);
    assert_eq!(original["next_case_id"], c2_id.as_str());
    assert_eq!(
        original["chat_state"], "active",
        "a selection leaves the original's state alone"
    );
    assert!(
        original["first_response_at"].is_string(),
        "its reply stayed: {original}"
    );
    assert_eq!(
        texts(&app, &c1).await,
        [
            "My order 100 is late",
            "Checking order 100",
            "she asked about e-mail too"
        ]
    );
    let split = event_of(&app, &c1, "split").await;
    assert_eq!(split["data"]["new_case_id"], c2_id.as_str());
    assert_eq!(split["data"]["selection"], true);
    assert_eq!(split["data"]["moved_messages"], 3);
    // The new case is the latest: the customer's next message goes there.
    let next = app.customer_says("ann", "m4", "Did it work?").await;
    assert_eq!(s(&next["case_id"]), c2_id);
    // Statistics count the case made from the selection as a split.
    assert_eq!(
        counted(&app).await,
        (Some(2), Some(1), Some(0)),
        "the case made from the selection counts as a split"
    );

    // One message back into the first case, still open.
    let back = ids_of(&app, &c2_id, &["Did it work?"]).await;
    let (st, target) = move_messages(&app, &c2_id, &[back[0].as_str()], &c1).await;
    assert_eq!(st, StatusCode::OK, "{target}");
    assert_eq!(s(&target["id"]), c1);
    assert_eq!(target["message_count"], 4);
    assert_eq!(app.case(&c2_id).await["message_count"], 3);
    assert_eq!(
        texts(&app, &c1).await.last().map(String::as_str),
        Some("Did it work?")
    );
    let line = |events: Vec<Value>| {
        events
            .into_iter()
            .find(|e| e["kind"] == "messages_moved")
            .expect("a moved line")["data"]
            .clone()
    };
    assert_eq!(line(app.events(&c2_id).await)["to_case_id"], c1.as_str());
    assert_eq!(line(app.events(&c1).await)["from_case_id"], c2_id.as_str());
}

async fn moving_what_came_since_a_reopen_to_a_new_case_is_the_split(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c1 = s(&app.customer_says("bo", "b1", "Where is my parcel?").await["case_id"]);
    app.reply(&c1, "On its way").await;
    let (st, finished) = app.finish(&c1, "pending").await;
    assert_eq!(st, StatusCode::OK);
    app.customer_says("bo", "b2", "Another thing: a refund")
        .await;
    app.customer_says("bo", "b3", "for order 7").await;
    assert_eq!(app.case(&c1).await["split_available"], true);
    let since = ids_of(&app, &c1, &["Another thing: a refund", "for order 7"]).await;
    let since: Vec<&str> = since.iter().map(String::as_str).collect();
    let (st, c2) = move_messages(&app, &c1, &since, "new").await;
    assert_eq!(st, StatusCode::CREATED, "{c2}");
    let original = app.case(&c1).await;
    assert_eq!(
        (
            original["status"].as_str(),
            original["chat_state"].as_str(),
            original["split_available"].as_bool()
        ),
        (Some("pending"), Some("finished"), Some(false)),
        "back to how it was before the reopen, as R7's split"
    );
    assert_eq!(original["finished_at"], finished["finished_at"]);
    let split = event_of(&app, &c1, "split").await;
    assert_eq!(split["data"]["selection"], false);
    assert_eq!(texts(&app, &s(&c2["id"])).await.len(), 2);
}

async fn a_selection_that_cannot_move_is_refused_and_nothing_moves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c1 = s(&app.customer_says("cy", "c1", "First question").await["case_id"]);
    app.customer_says("cy", "c2", "Second question").await;
    let all = ids_of(&app, &c1, &["First question", "Second question"]).await;
    let one = all[1].as_str();
    let other = s(&app.customer_says("dee", "d1", "Someone else").await["case_id"]);

    let refused = |st: StatusCode, body: &Value, status: StatusCode, code: &str| {
        assert_eq!(st, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
    };
    let (st, b) = move_messages(&app, &c1, &[], "new").await;
    refused(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "nothing_selected");
    let (st, b) = move_messages(&app, &c1, &[one, "no-such-message"], "new").await;
    refused(
        st,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "message_not_in_case",
    );
    assert_eq!(b["error"]["params"]["message_id"], "no-such-message");
    let (st, b) = move_messages(&app, &c1, &[&all[0], &all[1]], "new").await;
    refused(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "would_empty_case");
    let (st, b) = move_messages(&app, &c1, &[one], &c1).await;
    refused(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "same_case");
    let (st, b) = move_messages(&app, &c1, &[one], "no-such-case").await;
    refused(st, &b, StatusCode::NOT_FOUND, "not_found");
    let (st, b) = move_messages(&app, &c1, &[one], &other).await;
    refused(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "other_customer");
    let (st, b) = move_messages(&app, "no-such-case", &[one], "new").await;
    refused(st, &b, StatusCode::NOT_FOUND, "not_found");
    let many: Vec<String> = (0..1001).map(|i| format!("m{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (st, b) = move_messages(&app, &c1, &many, "new").await;
    refused(
        st,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_messages",
    );
    for body in [
        json!({ "message_ids": [one] }),
        json!({ "message_ids": one, "to": "new" }),
        json!({ "message_ids": [one], "to": "new", "extra": 1 }),
    ] {
        let (st, b) = app
            .call(
                Method::POST,
                &format!("/api/v1/cases/{c1}/move-messages"),
                Some(body),
            )
            .await;
        assert!(st.is_client_error(), "{st} {b}");
    }
    // A closed case takes no messages.
    let (st, _) = app.finish(&c1, "closed").await;
    assert_eq!(st, StatusCode::OK);
    let c3 = s(&app.customer_says("cy", "c3", "Third question").await["case_id"]);
    let third = ids_of(&app, &c3, &["Third question"]).await;
    app.customer_says("cy", "c4", "and more").await;
    let (st, b) = move_messages(&app, &c3, &[third[0].as_str()], &c1).await;
    refused(st, &b, StatusCode::CONFLICT, "target_closed");
    // Nothing moved by any of it.
    assert_eq!(app.messages(&c1).await.len(), 2);
    assert_eq!(app.messages(&c3).await.len(), 2);
    assert_eq!(app.list("").await.len(), 3, "no case was made");
}

/// A chat about an order, then a question of another kind.
async fn two_questions(app: &TestApp, customer: &str) -> String {
    let id = |n: u8| format!("{customer}-{n}");
    let case = s(&app
        .customer_says(
            customer,
            &id(1),
            "Where is my order 48213? It was supposed to arrive yesterday",
        )
        .await["case_id"]);
    app.reply(&case, "The courier will contact you tomorrow.")
        .await;
    app.customer_says(customer, &id(2), "ok thanks").await;
    app.customer_says(
        customer,
        &id(3),
        "One more question: how do I change the e-mail on my account?",
    )
    .await;
    app.customer_says(customer, &id(4), "It shows the old one")
        .await;
    case
}

async fn suggestion_of(app: &TestApp, case: &str) -> Value {
    app.ok(
        Method::GET,
        &format!("/api/v1/cases/{case}/topic-suggestion"),
        None,
    )
    .await["suggestion"]
        .clone()
}

async fn a_new_question_is_suggested_followed_and_dismissed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let case = two_questions(&app, "tq").await;
    let suggestion = suggestion_of(&app, &case).await;
    let question = ids_of(
        &app,
        &case,
        &["One more question: how do I change the e-mail on my account?"],
    )
    .await;
    let later = ids_of(&app, &case, &["It shows the old one"]).await;
    assert_eq!(
        suggestion["message_id"],
        question[0].as_str(),
        "{suggestion}"
    );
    assert_eq!(suggestion["moving"], json!([question[0], later[0]]));
    assert!(
        suggestion["reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["kind"] == "phrase")),
        "{suggestion}"
    );

    // Dismissed: refused for a message of no case of it, then for good.
    let dismiss = |body: Value| {
        let app = &app;
        let case = case.clone();
        async move {
            app.call(
                Method::POST,
                &format!("/api/v1/cases/{case}/topic-suggestion/dismiss"),
                Some(body),
            )
            .await
        }
    };
    let (st, b) = dismiss(json!({"message_id": "no-such-message"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "message_not_in_case");
    let (st, _) = dismiss(json!({"message_id": question[0]})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(suggestion_of(&app, &case).await, Value::Null);
    assert!(
        app.events(&case)
            .await
            .iter()
            .any(|e| e["kind"] == "topic_dismissed"
                && e["data"]["message_id"] == question[0].as_str())
    );
    let (st, _) = app
        .call(
            Method::GET,
            "/api/v1/cases/no-such-case/topic-suggestion",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Followed: what it names moves to a new case, which suggests nothing.
    let other = two_questions(&app, "tr").await;
    let suggestion = suggestion_of(&app, &other).await;
    let moving: Vec<&str> = suggestion["moving"]
        .as_array()
        .expect("moving")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let (st, new_case) = move_messages(&app, &other, &moving, "new").await;
    assert_eq!(st, StatusCode::CREATED, "{new_case}");
    assert_eq!(
        new_case["subject"],
        "One more question: how do I change the e-mail on my account?"
    );
    assert_eq!(suggestion_of(&app, &s(&new_case["id"])).await, Value::Null);
    assert_eq!(suggestion_of(&app, &other).await, Value::Null);
    // A finished chat suggests nothing.
    let third = two_questions(&app, "ts").await;
    let (st, _) = app.finish(&third, "pending").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(suggestion_of(&app, &third).await, Value::Null);
}

/// The event of `kind` (the latest) of a case.
async fn event_of(app: &TestApp, case: &str, kind: &str) -> Value {
    app.events(case)
        .await
        .into_iter()
        .rev()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {case}"))
}

async fn undo(app: &TestApp, case: &str, event: &Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/api/v1/cases/{case}/events/{}/undo", s(&event["id"])),
        None,
    )
    .await
}

/// A chat finished as pending, reopened by two messages and split.
async fn reopened_and_split(app: &TestApp, customer: &str) -> (String, String, Value) {
    let c1 = s(&app
        .customer_says(customer, &format!("{customer}-1"), "Where is my parcel?")
        .await["case_id"]);
    app.reply(&c1, "On its way").await;
    let (st, finished) = app.finish(&c1, "pending").await;
    assert_eq!(st, StatusCode::OK);
    app.customer_says(customer, &format!("{customer}-2"), "A refund, please")
        .await;
    app.customer_says(customer, &format!("{customer}-3"), "for order 7")
        .await;
    let (st, c2) = app
        .call(Method::POST, &format!("/api/v1/cases/{c1}/split"), None)
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c2}");
    (c1, s(&c2["id"]), finished)
}

async fn counted(app: &TestApp) -> (Option<i64>, Option<i64>, Option<i64>) {
    let day = chrono::Duration::days(1);
    let period = format!(
        "/api/v1/stats?from={}&to={}",
        (app.now() - day).format("%Y-%m-%d"),
        (app.now() + day).format("%Y-%m-%d")
    );
    let total = app.ok(Method::GET, &period, None).await["total"].clone();
    (
        total["cases_created"].as_i64(),
        total["cases_split"].as_i64(),
        total["cases_merged"].as_i64(),
    )
}

async fn a_split_is_undone_and_redone_and_statistics_follow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c1, c2, finished) = reopened_and_split(&app, "un").await;
    assert_eq!(counted(&app).await, (Some(2), Some(1), Some(0)));
    let split = event_of(&app, &c1, "split").await;
    let (st, back) = undo(&app, &c1, &split).await;
    assert_eq!(st, StatusCode::OK, "{back}");
    assert_eq!(s(&back["id"]), c1);
    assert_eq!(
        (
            back["status"].as_str(),
            back["chat_state"].as_str(),
            back["split_available"].as_bool()
        ),
        (Some("open"), Some("active"), Some(true)),
        "reopened again, as before the split"
    );
    assert_eq!(back["message_count"], 4);
    assert_eq!(back["next_case_id"], Value::Null);
    let gone = app.case(&c2).await;
    assert_eq!(
        gone["merged_into_id"],
        c1.as_str(),
        "the split-off case dissolved"
    );
    assert_eq!(gone["message_count"], 0);
    assert!(app.list("").await.iter().all(|c| c["id"] != c2.as_str()));
    assert_eq!(
        counted(&app).await,
        (Some(1), Some(0), Some(0)),
        "it no longer counts"
    );
    for case in [&c1, &c2] {
        assert!(app.events(case).await.iter().any(|e| e["kind"] == "undone"));
    }
    // Undone twice: refused; the undo undone: the split is back.
    let (st, b) = undo(&app, &c1, &event_of(&app, &c1, "split_undone").await).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "undo_conflict");
    let (st, again) = undo(&app, &c1, &event_of(&app, &c1, "undone").await).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(
        (again["status"].as_str(), again["chat_state"].as_str()),
        (Some("pending"), Some("finished"))
    );
    assert_eq!(again["finished_at"], finished["finished_at"]);
    let split_off = app.case(&c2).await;
    assert_eq!(split_off["merged_into_id"], Value::Null);
    assert_eq!(split_off["message_count"], 2);
    assert_eq!(counted(&app).await, (Some(2), Some(1), Some(0)));
    // The latest chat is the split-off one again.
    let next = app.customer_says("un", "un-4", "Any news?").await;
    assert_eq!(s(&next["case_id"]), c2);
}

async fn a_merge_and_a_move_are_undone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c1, c2, _) = reopened_and_split(&app, "mu").await;
    let (st, merged) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{c2}/merge-previous"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{merged}");
    assert_eq!(counted(&app).await.2, Some(1));
    let (st, back) = undo(&app, &c1, &event_of(&app, &c1, "merged_in").await).await;
    assert_eq!(st, StatusCode::OK, "{back}");
    assert_eq!(
        (back["status"].as_str(), back["chat_state"].as_str()),
        (Some("pending"), Some("finished"))
    );
    assert_eq!(back["next_case_id"], c2.as_str());
    let unmerged = app.case(&c2).await;
    assert_eq!(unmerged["merged_into_id"], Value::Null);
    assert_eq!(unmerged["chat_state"], "active");
    assert_eq!(unmerged["message_count"], 2);
    assert_eq!(app.messages(&c1).await.len(), 2);
    assert_eq!(counted(&app).await.2, Some(0), "the merge no longer counts");

    // A move into another case, undone from the target's history.
    let moving = ids_of(&app, &c2, &["for order 7"]).await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{c1}"),
        Some(json!({"status": "open"})),
    )
    .await;
    let (st, _) = move_messages(&app, &c2, &[moving[0].as_str()], &c1).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(app.messages(&c2).await.len(), 1);
    let (st, back) = undo(&app, &c1, &event_of(&app, &c1, "messages_moved").await).await;
    assert_eq!(st, StatusCode::OK, "{back}");
    assert_eq!(texts(&app, &c2).await, ["A refund, please", "for order 7"]);
}

async fn an_undo_is_refused_when_a_later_change_prevents_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c1, c2, _) = reopened_and_split(&app, "rf").await;
    let (st, _) = app.finish(&c2, "closed").await;
    assert_eq!(st, StatusCode::OK);
    let (st, b) = undo(&app, &c1, &event_of(&app, &c1, "split").await).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "undo_conflict");
    assert!(
        s(&b["error"]["message"]).contains("has changed since"),
        "{b}"
    );
    // Nothing moved.
    assert_eq!(app.messages(&c2).await.len(), 2);
    // An event that records no split, merge or move.
    let (st, b) = undo(&app, &c1, &event_of(&app, &c1, "finished").await).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "not_undoable");
    let (st, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{c1}/events/no-such-event/undo"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // An event of another case, named under this one: not found here.
    let created = event_of(&app, &c2, "created").await;
    let (st, _) = undo(&app, &c1, &created).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn messages_that_came_after_a_split_stay_where_they_landed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c1, c2, _) = reopened_and_split(&app, "st").await;
    let later = app.customer_says("st", "st-4", "Hello?").await;
    assert_eq!(s(&later["case_id"]), c2);
    let (st, back) = undo(&app, &c1, &event_of(&app, &c1, "split").await).await;
    assert_eq!(st, StatusCode::OK, "{back}");
    assert_eq!(
        texts(&app, &c1).await,
        [
            "Where is my parcel?",
            "On its way",
            "A refund, please",
            "for order 7"
        ]
    );
    let kept = app.case(&c2).await;
    assert_eq!(
        kept["merged_into_id"],
        Value::Null,
        "it keeps what came after"
    );
    assert_eq!(texts(&app, &c2).await, ["Hello?"]);
    assert_eq!(kept["message_count"], 1, "recounted");
    assert_eq!(
        back["next_case_id"],
        c2.as_str(),
        "still linked after the source"
    );
    let undone = event_of(&app, &c1, "undone").await;
    assert_eq!(undone["data"]["kept"], true, "the page offers no redo");
    let (st, b) = undo(&app, &c1, &undone).await;
    assert_eq!(st, StatusCode::CONFLICT, "a redo is refused: {b}");
    // The customer's next message still goes to the latest chat.
    let next = app.customer_says("st", "st-5", "Anyone?").await;
    assert_eq!(s(&next["case_id"]), c2);
}

/// Finished as pending, reopened by `text` and split: the new case's id.
async fn reopen_and_split(
    app: &TestApp,
    customer: &str,
    case: &str,
    id: &str,
    text: &str,
) -> String {
    let (st, _) = app.finish(case, "pending").await;
    assert_eq!(st, StatusCode::OK);
    let r = app.customer_says(customer, id, text).await;
    assert_eq!(s(&r["case_id"]), case, "reopened");
    let (st, new_case) = app
        .call(Method::POST, &format!("/api/v1/cases/{case}/split"), None)
        .await;
    assert_eq!(st, StatusCode::CREATED, "{new_case}");
    s(&new_case["id"])
}

async fn an_undo_leaves_a_later_latest_chat_and_a_customer_message_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // c1 → c2 → c3, c3 reopened; a move between c1 and c2; then c3 splits
    // into c4, the latest. Undoing the move leaves c4 the latest.
    let c1 = s(&app.customer_says("la", "la-1", "First").await["case_id"]);
    let c2 = reopen_and_split(&app, "la", &c1, "la-2", "Second").await;
    let c3 = reopen_and_split(&app, "la", &c2, "la-3", "Third").await;
    let (st, _) = app.finish(&c3, "pending").await;
    assert_eq!(st, StatusCode::OK);
    app.customer_says("la", "la-4", "Fourth").await;
    app.reply(&c1, "a reply in the first").await;
    let moving = ids_of(&app, &c1, &["a reply in the first"]).await;
    let (st, b) = move_messages(&app, &c1, &[moving[0].as_str()], &c2).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, c4) = app
        .call(Method::POST, &format!("/api/v1/cases/{c3}/split"), None)
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c4}");
    let (st, b) = undo(&app, &c2, &event_of(&app, &c2, "messages_moved").await).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let next = app.customer_says("la", "la-5", "Fifth").await;
    assert_eq!(
        (next["outcome"].as_str(), s(&next["case_id"])),
        (Some("appended"), s(&c4["id"])),
        "the latest chat is still the one made after the move"
    );

    // A merge, then the customer writes in the merged chat: undoing would
    // finish that chat with the message in it, so it is refused.
    let m1 = s(&app.customer_says("lb", "lb-1", "Order").await["case_id"]);
    let m2 = reopen_and_split(&app, "lb", &m1, "lb-2", "Refund").await;
    let (st, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{m2}/merge-previous"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    app.customer_says("lb", "lb-3", "Hello?").await;
    let (st, b) = undo(&app, &m1, &event_of(&app, &m1, "merged_in").await).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert!(
        s(&b["error"]["message"]).contains("the customer wrote"),
        "{b}"
    );
    assert_eq!(app.messages(&m1).await.len(), 3, "nothing moved");
}

/// The rule action `split_on_topic_change`: only for `customer_message`
/// rules, never in templates; a message judged a new question when it
/// arrives moves to a new case at once (its answer names that case), with
/// the rule as the actor, undoable; other messages stay.
async fn a_rule_splits_off_a_new_question_as_it_arrives(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let split = json!([{ "type": "split_on_topic_change" }]);
    for trigger in ["case_created", "agent_replied", "chat_finished"] {
        let (st, v) = app
            .call(
                Method::POST,
                "/api/v1/rules",
                Some(json!({"name": "x", "trigger": {"type": trigger}, "actions": split})),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{trigger}: {v}");
        assert_eq!(v["error"]["code"], "split_needs_customer_message", "{v}");
    }
    let (st, v) = app
        .call(
            Method::POST,
            "/api/v1/templates",
            Some(json!({"name": "x", "body": "", "actions": split})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "template_split_on_topic", "{v}");
    assert!(app.list("").await.is_empty(), "nothing was made");

    let (st, rule) = app
        .call(
            Method::POST,
            "/api/v1/rules",
            Some(json!({"name": "New questions apart", "trigger": {"type": "customer_message"}, "actions": split})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{rule}");
    let actor = format!("rule:{}", s(&rule["id"]));

    let first = app
        .customer_says(
            "rq",
            "rq-1",
            "Where is my order 48213? It was supposed to arrive yesterday",
        )
        .await;
    let c1 = s(&first["case_id"]);
    app.reply(&c1, "The courier will contact you tomorrow.")
        .await;
    let same = app.customer_says("rq", "rq-2", "ok thanks").await;
    assert_eq!(same["case_id"], c1.as_str(), "not a new question: {same}");

    let question = "One more question: how do I change the e-mail on my account?";
    let moved = app.customer_says("rq", "rq-3", question).await;
    let c2 = s(&moved["case_id"]);
    assert_ne!(c2, c1, "the answer names the case the message moved to");
    assert_eq!(moved["case_number"], 2, "{moved}");
    assert_eq!(moved["outcome"], "created", "{moved}");
    assert_eq!(texts(&app, &c2).await, [question]);
    assert_eq!(texts(&app, &c1).await.len(), 3);
    let new_case = app.case(&c2).await;
    assert_eq!(new_case["subject"], question);
    assert_eq!(new_case["previous_case_id"], c1.as_str());
    assert_eq!(
        (new_case["status"].as_str(), new_case["chat_state"].as_str()),
        (Some("open"), Some("active"))
    );
    let split_event = event_of(&app, &c1, "split").await;
    assert_eq!(split_event["actor"]["type"], "system", "{split_event}");
    assert_eq!(split_event["actor"]["id"], actor.as_str(), "{split_event}");
    assert_eq!(
        event_of(&app, &c2, "created").await["actor"]["id"],
        actor.as_str()
    );
    let latest = app
        .ok(Method::GET, &format!("/api/v1/cases/{c1}"), None)
        .await;
    assert_eq!(latest["next_case_id"], c2.as_str());

    // The next message goes to the new case, the customer's latest chat.
    let next = app
        .customer_says("rq", "rq-4", "It shows the old one")
        .await;
    assert_eq!(next["case_id"], c2.as_str(), "{next}");

    // An agent undoes the rule's split: the new case keeps the message
    // that came after it, the question goes back.
    let (st, v) = undo(&app, &c1, &split_event).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(texts(&app, &c1).await.len(), 4);

    // Another customer: undone before anything followed, the chat is one
    // again; a later message is not a new question and the rule leaves the
    // standing suggestion to the agents.
    app.customer_says(
        "rs",
        "rs-1",
        "Where is my order 48213? It was supposed to arrive yesterday",
    )
    .await;
    let c3 = s(&app.customer_says("rs", "rs-2", "ok thanks").await["case_id"]);
    let c4 = s(&app.customer_says("rs", "rs-3", question).await["case_id"]);
    assert_ne!(c4, c3);
    let (st, v) = undo(&app, &c3, &event_of(&app, &c3, "split").await).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(texts(&app, &c3).await.len(), 3);
    let after = app
        .customer_says("rs", "rs-4", "It shows the old one")
        .await;
    assert_eq!(after["case_id"], c3.as_str(), "{after}");
    assert_eq!(texts(&app, &c3).await.len(), 4);
    assert!(suggestion_of(&app, &c3).await["message_id"].is_string());
}
