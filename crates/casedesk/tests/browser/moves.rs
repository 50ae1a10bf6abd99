//! Power tools of the case page (issue 18): choosing messages with a click
//! and a Shift range, and moving them to a new case or into another open
//! case of the same customer; the suggestion that a message starts a new
//! question, dismissed and followed; undo from the toast and from the
//! history, and redo; the same in Russian; a rule that splits a new
//! question off as it arrives, made in the rule editor.

use crate::harness::{Browser, keys};
use crate::helpers::{TestApp, s};
use crate::scenarios::{chat, open_case, open_rules, rule_item};
use crate::telegram::sign_in_as_admin;

scenarios!(
    range_moved_to_a_new_case,
    message_moved_into_an_open_case,
    new_question_suggested_dismissed_and_followed,
    split_undone_from_the_toast_and_from_history,
    russian_suggestion_selection_and_undo,
    rule_splits_off_new_questions,
);

/// The checkbox of the case's message with `text`.
async fn checkbox_of(app: &TestApp, case: &str, text: &str) -> String {
    let id = app
        .messages(case)
        .await
        .into_iter()
        .find(|m| m["text"] == text)
        .map(|m| s(&m["id"]))
        .unwrap_or_else(|| panic!("no message {text:?} in {case}"));
    format!("[data-message-id='{id}'] [data-test=select-message]")
}

async fn range_moved_to_a_new_case(app: &TestApp, b: &Browser) {
    sign_in_as_admin(b).await;
    let id = chat(app, "move-1", "move-1a", "Order 55 is late").await;
    app.reply(&id, "Looking into order 55").await;
    app.customer_says("move-1", "move-1b", "Unrelated: I cannot log in")
        .await;
    app.customer_says("move-1", "move-1c", "It says the token is invalid")
        .await;
    app.customer_says("move-1", "move-1d", "And about the order: any news?")
        .await;
    open_case(b, &id).await;
    let first = checkbox_of(app, &id, "Unrelated: I cannot log in").await;
    let last = checkbox_of(app, &id, "It says the token is invalid").await;
    // A click chooses one; Shift with the keyboard's Space extends the
    // range to another, as Shift+click does.
    b.click(&first).await;
    b.wait_text("[data-test=selected-count]", "1 selected")
        .await;
    b.type_into(&last, &format!("{} ", keys::SHIFT)).await;
    b.wait_text("[data-test=selected-count]", "2 selected")
        .await;
    b.wait_js(
        "both chosen messages highlighted",
        "document.querySelectorAll('.msg.selected').length === 2",
    )
    .await;
    b.click("[data-test=move-selected]").await;
    b.wait_text("[data-test=dialog]", "Move 2 messages").await;
    b.click("[data-test=move-confirm]").await;
    b.wait_text("#toast", "Moved 2 messages to the new case #")
        .await;
    b.wait_js(
        "the page to move to the new case",
        &format!("location.hash.startsWith('#/case/') && location.hash !== '#/case/{id}'"),
    )
    .await;
    let new_id = b.case_in_url().await.expect("case id in the URL");
    b.wait_text("[data-test=message-text]", "Unrelated: I cannot log in")
        .await;
    let new_case = app.case(&new_id).await;
    assert_eq!(new_case["subject"], "Unrelated: I cannot log in");
    assert_eq!(new_case["message_count"], 2);
    let texts: Vec<String> = app
        .messages(&id)
        .await
        .iter()
        .map(|m| s(&m["text"]))
        .collect();
    assert_eq!(
        texts,
        [
            "Order 55 is late",
            "Looking into order 55",
            "And about the order: any news?"
        ],
        "the message after the range stayed"
    );
    // The original's conversation says where the messages went.
    open_case(b, &id).await;
    b.wait_text(
        "[data-test=event-line][data-kind=split]",
        &format!(
            "Selected messages moved to a new case #{}",
            new_case["number"]
        ),
    )
    .await;
    b.wait_gone("[data-test=selection-bar]:not([hidden])").await;
}

async fn message_moved_into_an_open_case(app: &TestApp, b: &Browser) {
    let first = chat(app, "move-2", "move-2a", "The blue kettle leaks").await;
    app.finish(&first, "pending").await;
    app.customer_says("move-2", "move-2b", "Hello again").await;
    let r = app
        .customer_says("move-2", "move-2c", "The kettle still leaks")
        .await;
    assert_eq!(s(&r["case_id"]), first, "reopened");
    // A second case of the customer: split the reopen off, then move the
    // kettle message back to the first case, now open again.
    let (_, second) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{first}/split"),
            None,
        )
        .await;
    let second = s(&second["id"]);
    app.call(
        reqwest::Method::PATCH,
        &format!("/api/v1/cases/{first}"),
        Some(serde_json::json!({"status": "open"})),
    )
    .await;
    let first_number = app.case(&first).await["number"].clone();
    open_case(b, &second).await;
    b.click(&checkbox_of(app, &second, "The kettle still leaks").await)
        .await;
    b.click("[data-test=move-selected]").await;
    b.wait_css("[data-test=move-target]").await;
    b.click(&format!("[data-test=move-target][value='{first}']"))
        .await;
    b.click("[data-test=move-confirm]").await;
    b.wait_text("#toast", &format!("Moved 1 messages to #{first_number}"))
        .await;
    b.wait_js(
        "the page to show the first case",
        &format!("location.hash === '#/case/{first}'"),
    )
    .await;
    b.wait_text(
        "[data-test=event-line][data-kind=messages_moved]",
        "Messages moved here from #",
    )
    .await;
    assert_eq!(app.messages(&second).await.len(), 1);
    assert_eq!(app.messages(&first).await.len(), 2);
}

/// A chat about an order, then a question of another kind; the case id.
async fn two_questions(app: &TestApp, customer: &str) -> String {
    let case = chat(
        app,
        customer,
        &format!("{customer}-1"),
        "Where is my order 48213? It was supposed to arrive yesterday",
    )
    .await;
    app.reply(&case, "The courier will contact you tomorrow.")
        .await;
    for (n, text) in [
        (2, "ok thanks"),
        (
            3,
            "One more question: how do I change the e-mail on my account?",
        ),
        (4, "It shows the old one"),
    ] {
        app.customer_says(customer, &format!("{customer}-{n}"), text)
            .await;
    }
    case
}

async fn new_question_suggested_dismissed_and_followed(app: &TestApp, b: &Browser) {
    let dismissed = two_questions(app, "sug-1").await;
    open_case(b, &dismissed).await;
    // The suggestion sits right above the message it names, with its
    // reasons in words.
    b.wait_text(
        "[data-test=topic-suggestion]",
        "This looks like a new question",
    )
    .await;
    b.wait_text("[data-test=topic-reasons]", "it says “one more question”")
        .await;
    b.wait_js(
        "the suggestion above the new question",
        "document.querySelector('[data-test=topic-suggestion]').nextElementSibling \
         .textContent.includes('One more question')",
    )
    .await;
    b.click("[data-test=topic-dismiss]").await;
    b.wait_gone("[data-test=topic-suggestion]").await;
    let left = app
        .ok(
            reqwest::Method::GET,
            &format!("/api/v1/cases/{dismissed}/topic-suggestion"),
            None,
        )
        .await;
    assert_eq!(
        left["suggestion"],
        serde_json::Value::Null,
        "dismissed for good"
    );

    let followed = two_questions(app, "sug-2").await;
    open_case(b, &followed).await;
    b.click("[data-test=topic-split]").await;
    b.wait_text("#toast", "Moved 2 messages to the new case #")
        .await;
    b.wait_js(
        "the page to move to the new case",
        &format!("location.hash.startsWith('#/case/') && location.hash !== '#/case/{followed}'"),
    )
    .await;
    b.wait_text("[data-test=message-text]", "One more question")
        .await;
    let new_id = b.case_in_url().await.expect("case id in the URL");
    assert_eq!(app.messages(&new_id).await.len(), 2);
    assert_eq!(app.messages(&followed).await.len(), 3);
    b.wait_gone("[data-test=topic-suggestion]").await;
}

async fn split_undone_from_the_toast_and_from_history(app: &TestApp, b: &Browser) {
    sign_in_as_admin(b).await;
    let id = chat(app, "undo-1", "undo-1a", "My parcel is late").await;
    app.finish(&id, "pending").await;
    app.customer_says("undo-1", "undo-1b", "And a refund for order 9")
        .await;
    open_case(b, &id).await;
    b.click("[data-test=split]").await;
    b.click("[data-test=split-confirm]").await;
    b.wait_text("#toast", "Split to #").await;
    // Right after the action: Undo in the toast.
    b.click("[data-test=toast-action]").await;
    b.wait_text("#toast", "Undone: #").await;
    b.wait_js(
        "back on the original",
        &format!("location.hash === '#/case/{id}'"),
    )
    .await;
    let original = app.case(&id).await;
    assert_eq!(original["split_available"], true, "reopened again");
    assert_eq!(original["message_count"], 2);
    b.wait_css("[data-test=split]").await;

    // Later: from the case's history, and the undo undone again.
    let (_, split) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{id}/split"),
            None,
        )
        .await;
    open_case(b, &id).await;
    // The page is already this case's: wait for its live reload to show
    // the new split before opening the History panel (a render in between
    // would close it again).
    b.wait_css("[data-test=event-line][data-kind=split]").await;
    b.click("[data-test=history-toggle]").await;
    b.click("[data-test=history-item][data-kind=split] [data-test=undo]")
        .await;
    b.wait_text("#toast", "Undone: #").await;
    b.wait_css("[data-test=split]").await;
    assert_eq!(
        app.case(&s(&split["id"])).await["merged_into_id"],
        id.as_str()
    );
    b.wait_text(
        "[data-test=event-line][data-kind=undone]",
        "Split undone by",
    )
    .await;
    // The History panel stays open across the reload.
    b.click("[data-test=history-item][data-kind=undone] [data-test=redo]")
        .await;
    b.wait_text("#toast", "Redone: #").await;
    b.wait_gone("[data-test=split]").await;
    let original = app.case(&id).await;
    assert_eq!(original["chat_state"], "finished");
    assert_eq!(
        app.case(&s(&split["id"])).await["merged_into_id"],
        serde_json::Value::Null
    );
}

async fn russian_suggestion_selection_and_undo(app: &TestApp, b: &Browser) {
    sign_in_as_admin(b).await;
    let case = chat(
        app,
        "ru-move",
        "ru-move-1",
        "Где мой заказ 48213? Должен был прийти вчера",
    )
    .await;
    app.reply(&case, "Курьер свяжется с вами завтра.").await;
    for (n, text) in [
        (2, "спасибо"),
        (3, "Ещё вопрос: как поменять почту в аккаунте?"),
        (4, "Там всё ещё старая почта"),
    ] {
        app.customer_says("ru-move", &format!("ru-move-{n}"), text)
            .await;
    }
    open_case(b, &case).await;
    b.click("select[data-test=lang] option[value=ru]").await;
    b.wait_text("[data-test=topic-suggestion]", "Похоже на новый вопрос")
        .await;
    b.wait_text("[data-test=topic-reasons]", "в нём сказано")
        .await;
    b.wait_text("[data-test=topic-dismiss]", "Тот же вопрос")
        .await;
    b.click(&checkbox_of(app, &case, "спасибо").await).await;
    b.wait_text("[data-test=selected-count]", "Выбрано: 1")
        .await;
    b.wait_text("[data-test=move-selected]", "Перенести…").await;
    b.click("[data-test=clear-selection]").await;
    b.wait_gone("[data-test=selection-bar]:not([hidden])").await;
    b.click("[data-test=topic-split]").await;
    b.wait_text("#toast", "Перенесено в новое обращение #")
        .await;
    b.wait_text("[data-test=toast-action]", "Отменить").await;
    b.click("[data-test=toast-action]").await;
    b.wait_text("#toast", "Отменено: #").await;
    b.wait_js(
        "back on the case",
        &format!("location.hash === '#/case/{case}'"),
    )
    .await;
    assert_eq!(app.messages(&case).await.len(), 5, "everything back");
    // The other scenarios read English.
    b.click("select[data-test=lang] option[value=en]").await;
    b.wait_text("[data-test=end-chat]", "End chat").await;
}

/// An admin makes the rule "split off a new question" in the editor; the
/// next chat with a second question is split as the question arrives, the
/// case page names the rule, and an agent undoes it from the history.
async fn rule_splits_off_new_questions(app: &TestApp, b: &Browser) {
    sign_in_as_admin(b).await;
    open_rules(b).await;
    b.click("#rules-new").await;
    b.type_into("#rule-name", "New questions apart").await;
    b.click("#rule-trigger option[value=customer_message]")
        .await;
    b.click("#action-add").await;
    let row = "#action-rows li:nth-child(1)";
    b.click(&format!(
        "{row} [data-test=action-type] option[value=split_on_topic_change]"
    ))
    .await;
    b.wait_text(&format!("{row} .action-hint"), "starts a new question")
        .await;
    b.click("#rule-save").await;
    b.wait_gone("#rule-editor").await;
    let rules = app.ok(reqwest::Method::GET, "/api/v1/rules", None).await;
    let rule = rules["items"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "New questions apart"))
        .cloned()
        .expect("the rule was saved");
    assert_eq!(
        rule["actions"],
        serde_json::json!([{"type": "split_on_topic_change"}])
    );
    let id = s(&rule["id"]);
    b.wait_text(
        &format!("{} [data-test=rule-summary]", rule_item(&id)),
        "When a customer message arrives: split a new question off into its own case",
    )
    .await;

    let case = two_questions(app, "auto-split").await;
    let original = app.case(&case).await;
    let new_id = s(&original["next_case_id"]);
    assert!(!new_id.is_empty(), "split as it arrived: {original}");
    assert_eq!(app.messages(&case).await.len(), 3);
    assert_eq!(app.messages(&new_id).await.len(), 2);

    open_case(b, &case).await;
    b.wait_text(
        "[data-test=event-line][data-kind=split]",
        "Selected messages moved to a new case",
    )
    .await;
    b.click("[data-test=history-toggle]").await;
    b.wait_text(
        "[data-test=history-item][data-kind=split]",
        "Rule “New questions apart”",
    )
    .await;
    b.click("[data-test=history-item][data-kind=split] [data-test=undo]")
        .await;
    b.wait_text("#toast", "Undone: #").await;
    assert_eq!(app.messages(&case).await.len(), 4, "the question is back");
    assert_eq!(
        app.messages(&new_id).await.len(),
        1,
        "what came after stays"
    );
}
