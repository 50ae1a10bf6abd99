//! The rules of SPEC.md through the real HTTP API, on both backends.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    seed_story_reopen_split_close_new_chat_merge,
    routing_appends_to_active_and_stores_redeliveries_once,
    finish_with_each_status_and_close_finishes,
    auto_finish_status_follows_who_wrote_last,
    keep_active_restarts_the_timer,
    reactions_become_notes_in_the_reacted_case,
    agent_reply_reactivates_only_the_latest_chat,
    subject_edit_and_search,
    history_records_every_change,
);

async fn seed_story_reopen_split_close_new_chat_merge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // a) first message: a new active chat, status open, subject from the text.
    let first = app
        .customer_says("ann", "m1", "  My order\n is late ")
        .await;
    assert_eq!(first["outcome"], "created");
    assert_eq!(first["case_number"], 1);
    let c1 = s(&first["case_id"]);
    let case = app.case(&c1).await;
    assert_eq!(case["subject"], "My order is late");
    assert_eq!(
        (case["status"].as_str(), case["chat_state"].as_str()),
        (Some("open"), Some("active"))
    );
    app.reply(&c1, "Let me check").await;

    // The agent finishes it as pending: it leaves the active list.
    let (st, finished) = app.finish(&c1, "pending").await;
    assert_eq!(st, StatusCode::OK, "{finished}");
    assert_eq!(finished["chat_state"], "finished");
    assert!(app.list("chat_state=active").await.is_empty());

    // c) the customer writes again: the same chat reopens, status open, split offered.
    let again = app.customer_says("ann", "m2", "Any news?").await;
    assert_eq!(again["outcome"], "reopened");
    assert_eq!(s(&again["case_id"]), c1);
    let case = app.case(&c1).await;
    assert_eq!(case["chat_state"], "active");
    assert_eq!(case["status"], "open");
    assert_eq!(case["split_available"], true);
    app.customer_says("ann", "m3", "Hello?").await;

    // R7: split moves the new messages into a new case; the original goes back.
    let (st, new_case) = app
        .call(Method::POST, &format!("/api/v1/cases/{c1}/split"), None)
        .await;
    assert_eq!(st, StatusCode::CREATED, "{new_case}");
    let c2 = s(&new_case["id"]);
    assert_eq!(new_case["number"], 2);
    assert_eq!(new_case["chat_state"], "active");
    assert_eq!(new_case["subject"], "Any news?");
    assert_eq!(new_case["previous_case_id"], c1.as_str());
    let texts: Vec<_> = app
        .messages(&c2)
        .await
        .iter()
        .map(|m| s(&m["text"]))
        .collect();
    assert_eq!(texts, ["Any news?", "Hello?"]);
    let original = app.case(&c1).await;
    assert_eq!(original["status"], "pending");
    assert_eq!(original["chat_state"], "finished");
    assert_eq!(original["finished_at"], finished["finished_at"]);
    assert_eq!(original["next_case_id"], c2.as_str());
    assert_eq!(app.messages(&c1).await.len(), 2);
    // The link is gone now.
    let (st, err) = app
        .call(Method::POST, &format!("/api/v1/cases/{c1}/split"), None)
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "split_unavailable");

    // The next message goes to the split-off chat, the latest one.
    let next = app.customer_says("ann", "m4", "Still there?").await;
    assert_eq!(
        (next["outcome"].as_str(), s(&next["case_id"])),
        (Some("appended"), c2.clone())
    );

    // Closing by mistake; d) the next message makes a new chat linked to it.
    let (st, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{c2}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let closed = app.case(&c2).await;
    assert_eq!(
        closed["chat_state"], "finished",
        "closing an active chat finishes it"
    );
    let third = app.customer_says("ann", "m5", "One more thing").await;
    assert_eq!(third["outcome"], "created");
    let c3 = s(&third["case_id"]);
    assert_eq!(third["case_number"], 3);
    let case3 = app.case(&c3).await;
    assert_eq!(case3["previous_case_id"], c2.as_str());
    assert_eq!(app.case(&c2).await["next_case_id"], c3.as_str());

    // R8/R9: the previous chat's messages are there to show; merge them.
    assert_eq!(app.messages(&c2).await.len(), 3);
    let (st, merged) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{c3}/merge-previous"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{merged}");
    assert_eq!(s(&merged["id"]), c2);
    assert_eq!(merged["chat_state"], "active");
    assert_eq!(merged["status"], "open");
    assert_eq!(merged["next_case_id"], serde_json::Value::Null);
    let texts: Vec<_> = app
        .messages(&c2)
        .await
        .iter()
        .map(|m| s(&m["text"]))
        .collect();
    assert_eq!(
        texts,
        ["Any news?", "Hello?", "Still there?", "One more thing"]
    );
    let gone = app.case(&c3).await;
    assert_eq!(gone["merged_into_id"], c2.as_str());
    assert_eq!(gone["chat_state"], "finished");
    assert_eq!(gone["message_count"], 0);
    let active: Vec<_> = app
        .list("chat_state=active")
        .await
        .iter()
        .map(|c| s(&c["id"]))
        .collect();
    assert_eq!(active, [c2.as_str()], "the merged case is not listed");
    // The merged chat is the latest one again: new messages go there.
    let after = app.customer_says("ann", "m6", "Thanks").await;
    assert_eq!(
        (after["outcome"].as_str(), s(&after["case_id"])),
        (Some("appended"), c2.clone())
    );
    let (st, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{c3}/merge-previous"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{c1}/merge-previous"),
            None,
        )
        .await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "the first chat has no previous chat"
    );
    app.stop().await;
}

async fn routing_appends_to_active_and_stores_redeliveries_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.customer_says("bob", "x1", "hi").await;
    let dup = app.customer_says("bob", "x1", "hi").await;
    assert_eq!(dup["outcome"], "duplicate");
    assert_eq!(dup["message_id"], a["message_id"]);
    let b = app.customer_says("bob", "x2", "second").await;
    assert_eq!(b["outcome"], "appended");
    assert_eq!(a["case_id"], b["case_id"]);
    // Another customer in the same channel gets their own chat.
    let other = app.customer_says("carol", "x3", "hello").await;
    assert_eq!(other["outcome"], "created");
    assert_ne!(other["case_id"], a["case_id"]);
    let case = app.case(&s(&a["case_id"])).await;
    assert_eq!(case["message_count"], 2);
    let msgs = app.messages(&s(&a["case_id"])).await;
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["author"]["type"], "customer");
    assert_eq!(msgs[0]["kind"], "message");
    app.stop().await;
}

async fn finish_with_each_status_and_close_finishes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (i, status) in ["open", "pending", "closed"].iter().enumerate() {
        let r = app
            .customer_says(&format!("c{i}"), &format!("m{i}"), "help")
            .await;
        let id = s(&r["case_id"]);
        let (st, case) = app.finish(&id, status).await;
        assert_eq!(st, StatusCode::OK, "{case}");
        assert_eq!(case["status"], *status);
        assert_eq!(case["chat_state"], "finished");
        assert_eq!(
            case["auto_finish_at"],
            serde_json::Value::Null,
            "no timer once finished"
        );
        let (st, err) = app.finish(&id, status).await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert_eq!(err["error"]["code"], "already_finished");
    }
    let (st, err) = app.finish("nope", "open").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{err}");
    let r = app.customer_says("d", "md", "help").await;
    let (st, err) = app.finish(&s(&r["case_id"]), "solved").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    // Pending keeps a chat active (R1).
    let (st, case) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{}", s(&r["case_id"])),
            Some(json!({"status": "pending"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (case["status"].as_str(), case["chat_state"].as_str()),
        (Some("pending"), Some("active"))
    );
    app.stop().await;
}

async fn auto_finish_status_follows_who_wrote_last(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_timers(2, 1).await;
    let customer_last = s(&app.customer_says("a", "a1", "hello").await["case_id"]);
    let agent_last = s(&app.customer_says("b", "b1", "hello").await["case_id"]);
    app.reply(&agent_last, "How can I help?").await;
    // A note after the reply neither counts as activity nor decides who wrote last.
    app.note(&agent_last, "internal").await;
    let case = app.case(&customer_last).await;
    assert!(case["auto_finish_at"].is_string(), "{case}");
    app.advance_and_run(Duration::from_millis(1999)).await;
    for id in [&customer_last, &agent_last] {
        assert_eq!(app.case(id).await["chat_state"], "active", "not yet");
    }
    app.advance_and_run(Duration::from_millis(1)).await;
    let done = app.case(&customer_last).await;
    assert_eq!(done["chat_state"], "finished", "{done}");
    assert_eq!(done["status"], "open");
    let done = app.case(&agent_last).await;
    assert_eq!(done["chat_state"], "finished", "{done}");
    assert_eq!(done["status"], "pending");
    let events = app.events(&agent_last).await;
    let autos: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "auto_finished")
        .collect();
    assert_eq!(autos.len(), 1, "{events:?}");
    assert_eq!(autos[0]["actor"]["type"], "system");
    app.stop().await;
}

async fn keep_active_restarts_the_timer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_timers(3, 2).await;
    let id = s(&app.customer_says("k", "k1", "hello").await["case_id"]);
    let before = app.case(&id).await;
    app.advance_and_run(Duration::from_millis(1500)).await;
    let kept = app
        .ok(
            Method::POST,
            &format!("/api/v1/cases/{id}/keep-active"),
            None,
        )
        .await;
    assert!(kept["auto_finish_at"].as_str() > before["auto_finish_at"].as_str());
    app.advance_and_run(Duration::from_millis(2000)).await;
    // 3.5 s after the message, but only 2 s after keep-active: still active.
    assert_eq!(app.case(&id).await["chat_state"], "active");
    app.advance_and_run(Duration::from_millis(1000)).await;
    // 3 s after keep-active.
    assert_eq!(app.case(&id).await["chat_state"], "finished");
    let (st, err) = app
        .call(
            Method::POST,
            &format!("/api/v1/cases/{id}/keep-active"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{err}");
    app.stop().await;
}

async fn reactions_become_notes_in_the_reacted_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.customer_says("r", "r1", "first question").await;
    let c1 = s(&first["case_id"]);
    let reply = app.reply(&c1, "answer").await;
    let (st, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{c1}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let second = app.customer_says("r", "r2", "new question").await;
    let c2 = s(&second["case_id"]);
    assert_ne!(c1, c2);

    // A reaction to the agent's reply in the closed chat (by casedesk's id).
    let noted = app.react("r", &s(&reply["id"]), "👍").await;
    assert_eq!(noted["outcome"], "noted");
    assert_eq!(s(&noted["case_id"]), c1, "never the latest chat");
    let closed = app.case(&c1).await;
    assert_eq!(
        (closed["status"].as_str(), closed["chat_state"].as_str()),
        (Some("closed"), Some("finished"))
    );
    assert_eq!(closed["unread"], true);
    let msgs = app.messages(&c1).await;
    let note = msgs.last().expect("a note");
    assert_eq!(note["kind"], "note");
    assert_eq!(note["author"]["type"], "customer");
    assert_eq!(note["reacted_message_id"], reply["id"]);
    assert!(s(&note["text"]).contains("👍"));
    assert!(
        s(&note["text"]).contains(&s(&reply["created_at"])),
        "{note}"
    );
    let reacted = msgs.iter().find(|m| m["id"] == reply["id"]).expect("reply");
    assert_eq!(reacted["reactions"][0]["emoji"], "👍");
    // A reaction to the customer's own message, by the channel's id.
    let noted = app.react("r", "r1", "❤️").await;
    assert_eq!(s(&noted["case_id"]), c1);
    assert_eq!(
        app.messages(&c2).await.len(),
        1,
        "the latest chat got nothing"
    );
    assert_eq!(app.list("").await.len(), 2, "no case was created");
    // Someone else's message or an unknown one: 404.
    app.customer_says("other", "o1", "hi").await;
    let (st, _) = app
        .inbound(
            json!({"type":"reaction","customer":{"id":"r"},"target_message_id":"o1","emoji":"👍"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = app
        .inbound(
            json!({"type":"reaction","customer":{"id":"r"},"target_message_id":"zzz","emoji":"👍"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = app
        .inbound(
            json!({"type":"reaction","customer":{"id":"r"},"target_message_id":"r1","emoji":""}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

async fn agent_reply_reactivates_only_the_latest_chat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c1 = s(&app.customer_says("t", "t1", "one").await["case_id"]);
    let (st, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{c1}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let c2 = s(&app.customer_says("t", "t2", "two").await["case_id"]);
    app.finish(&c2, "pending").await;
    // R11: the earlier chat is worked as a task; it stays finished.
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{c1}"),
        Some(json!({"status": "open"})),
    )
    .await;
    app.reply(&c1, "following up on the first question").await;
    let earlier = app.case(&c1).await;
    assert_eq!(
        (earlier["status"].as_str(), earlier["chat_state"].as_str()),
        (Some("open"), Some("finished"))
    );
    // New customer messages still go by the latest chat (finished, pending → reopen).
    let r = app.customer_says("t", "t3", "three").await;
    assert_eq!(
        (r["outcome"].as_str(), s(&r["case_id"])),
        (Some("reopened"), c2.clone())
    );
    app.finish(&c2, "pending").await;
    // R2: a reply in the latest finished chat makes it active again, status unchanged.
    app.reply(&c2, "answer").await;
    let latest = app.case(&c2).await;
    assert_eq!(
        (latest["status"].as_str(), latest["chat_state"].as_str()),
        (Some("pending"), Some("active"))
    );
    assert_eq!(latest["split_available"], false);
    app.stop().await;
}

async fn subject_edit_and_search(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c1 = s(&app.customer_says("s1", "s1", "Где мой ЗАКАЗ?").await["case_id"]);
    let c2 = s(&app.customer_says("s2", "s2", "Refund please").await["case_id"]);
    app.customer_says("s2", "s3", "the 100% sure kind").await;
    let (st, case) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{c2}"),
            Some(json!({"subject": "  Refund for order 42 "})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(case["subject"], "Refund for order 42");
    let ids = |v: Vec<serde_json::Value>| v.iter().map(|c| s(&c["id"])).collect::<Vec<_>>();
    assert_eq!(ids(app.list("q=order%2042").await), [c2.as_str()]);
    assert_eq!(ids(app.list("q=REFUND").await), [c2.as_str()]);
    assert_eq!(
        ids(app.list("q=%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7").await),
        [c1.as_str()],
        "заказ, any case"
    );
    assert_eq!(
        ids(app.list("q=100%25").await),
        [c2.as_str()],
        "message text is searched, % literally"
    );
    assert!(app.list("q=50%25").await.is_empty());
    for bad in [
        json!({"subject": "   "}),
        json!({"subject": "x".repeat(300)}),
    ] {
        let (st, err) = app
            .call(Method::PATCH, &format!("/api/v1/cases/{c2}"), Some(bad))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    }
    app.stop().await;
}

async fn history_records_every_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = s(&app.customer_says("h", "h1", "hello").await["case_id"]);
    let me = app.ok(Method::GET, "/api/v1/me", None).await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{id}"),
        Some(json!({"subject": "Greeting", "assignee_id": me["id"], "status": "pending"})),
    )
    .await;
    app.finish(&id, "closed").await;
    let events = app.events(&id).await;
    let kinds: Vec<_> = events.iter().map(|e| s(&e["kind"])).collect();
    assert_eq!(kinds, ["created", "updated", "finished"]);
    let updated = &events[1];
    assert_eq!(updated["actor"]["type"], "agent");
    assert_eq!(updated["actor"]["id"], me["id"]);
    let change = |field: &str| {
        updated["changes"]
            .as_array()
            .and_then(|c| c.iter().find(|x| x["field"] == field).cloned())
            .unwrap_or_else(|| panic!("no {field} change in {updated}"))
    };
    assert_eq!(change("subject")["before"], "hello");
    assert_eq!(change("subject")["after"], "Greeting");
    assert_eq!(change("status")["after"], "pending");
    assert_eq!(change("assignee_id")["after"], me["id"]);
    let finished = &events[2];
    assert!(finished["changes"].as_array().is_some_and(|c| {
        c.iter()
            .any(|x| x["field"] == "chat_state" && x["after"] == "finished")
    }));
    // Unassign with an explicit null; an unknown agent is refused.
    let case = app
        .ok(
            Method::PATCH,
            &format!("/api/v1/cases/{id}"),
            Some(json!({"assignee_id": null})),
        )
        .await;
    assert_eq!(case["assignee_id"], serde_json::Value::Null);
    let (st, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{id}"),
            Some(json!({"assignee_id": "nobody"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "an agent the account lacks");
    app.stop().await;
}
