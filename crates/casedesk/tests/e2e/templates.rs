//! Templates (macros) and labels through the API, on both databases.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    template_that_closes_finishes_the_chat_and_next_message_opens_a_new_case,
    templates_are_validated_and_personal_ones_stay_personal,
    a_refused_template_step_keeps_nothing,
    labels_catalogue_case_labels_filter_and_export,
);

async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    app.raw(Method::POST, path, Some(token), Some(body)).await
}

async fn new_label(app: &TestApp, name: &str) -> String {
    let (st, v) = create(
        app,
        &app.token,
        "/api/v1/labels",
        json!({"name": name, "color": "#1F8A70"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["color"], "#1f8a70");
    s(&v["id"])
}

async fn apply(
    app: &TestApp,
    token: &str,
    case_id: &str,
    template_id: &str,
) -> (StatusCode, Value) {
    app.raw(
        Method::POST,
        &format!("/api/v1/cases/{case_id}/apply-template"),
        Some(token),
        Some(json!({ "template_id": template_id })),
    )
    .await
}

async fn template_that_closes_finishes_the_chat_and_next_message_opens_a_new_case(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let solved = new_label(&app, "Solved").await;
    let (st, template) = create(
        &app,
        &app.token,
        "/api/v1/templates",
        json!({
            "name": "Solved and closed",
            "body": "Hi {{customer.name | there}}, case #{{case.number}} is solved. — {{agent.name}}, {{channel.name}}",
            "actions": [
                {"type": "add_label", "label_id": solved},
                {"type": "add_note", "text": "Closed with a macro from {{customer.id}}"},
                {"type": "set_status", "status": "closed"}
            ]
        }),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{template}");
    assert_eq!(
        template["shared"], true,
        "an admin's template is shared by default"
    );
    let tid = s(&template["id"]);

    let first = app.customer_says("ann", "m1", "My parcel is lost").await;
    let c1 = s(&first["case_id"]);
    assert_eq!(app.case(&c1).await["chat_state"], "active");
    let (st, case) = apply(&app, &app.token, &c1, &tid).await;
    assert_eq!(st, StatusCode::OK, "{case}");
    assert_eq!(case["status"], "closed", "{case}");
    assert_eq!(
        case["chat_state"], "finished",
        "closing an active chat finishes it (R1)"
    );
    assert_eq!(case["labels"][0]["name"], "Solved", "{case}");
    assert!(
        case["first_response_at"].is_string(),
        "the reply is a first response"
    );
    assert!(
        case["auto_finish_at"].is_null(),
        "a finished chat has no timers"
    );
    assert!(app.list("chat_state=active").await.is_empty());

    let messages = app.messages(&c1).await;
    let texts: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap_or(""),
                m["text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let admin = app.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        texts[1],
        (
            "message",
            format!(
                "Hi Ann, case #1 is solved. — {}, Messenger",
                s(&admin["name"])
            )
            .as_str()
        ),
        "{messages:?}"
    );
    assert_eq!(texts[2], ("note", "Closed with a macro from ann"));

    // The history says which template did it, with every field it changed.
    let events = app.events(&c1).await;
    let applied = events
        .iter()
        .find(|e| e["kind"] == "template_applied")
        .unwrap_or_else(|| panic!("no template_applied event: {events:?}"));
    assert_eq!(applied["data"]["template_name"], "Solved and closed");
    assert_eq!(applied["data"]["template_id"], tid.as_str());
    assert_eq!(applied["actor"]["type"], "agent");
    let fields: Vec<&str> = applied["changes"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["field"].as_str()).collect())
        .unwrap_or_default();
    for field in ["label", "chat_state", "status"] {
        assert!(fields.contains(&field), "{field} in {applied}");
    }

    // R6 d: the next customer message starts a new chat linked to the closed one.
    let next = app.customer_says("ann", "m2", "One more thing").await;
    assert_eq!(next["outcome"], "created");
    assert_eq!(next["case_number"], 2);
    let c2 = app.case(&s(&next["case_id"])).await;
    assert_eq!(c2["previous_case_id"], c1.as_str());

    // Statistics count the template's close and finish like any other.
    let total = &app.stats_total_today().await;
    assert_eq!(total["cases_created"], 2, "{total}");
    assert_eq!(total["cases_closed"], 1, "{total}");
    assert_eq!(total["cases_finished"], 1, "{total}");

    // "Finish chat" with a status on the new active chat finishes it, and
    // on a finished chat it only sets the status.
    let (_, finisher) = create(
        &app,
        &app.token,
        "/api/v1/templates",
        json!({"name": "Wait for customer", "actions": [{"type": "finish_chat", "status": "pending"}]}),
    )
    .await;
    let fid = s(&finisher["id"]);
    let (st, done) = apply(&app, &app.token, &s(&c2["id"]), &fid).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    assert_eq!(
        (done["status"].as_str(), done["chat_state"].as_str()),
        (Some("pending"), Some("finished"))
    );
    let (st, again) = apply(&app, &app.token, &c1, &fid).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(
        (again["status"].as_str(), again["chat_state"].as_str()),
        (Some("pending"), Some("finished"))
    );
    app.stop().await;
}

async fn templates_are_validated_and_personal_ones_stay_personal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ada_id, ada) = app.new_agent("ada@example.com").await;
    let post = |token: String, body: Value| {
        let app = &app;
        async move { create(app, &token, "/api/v1/templates", body).await }
    };

    // Agents make personal templates; sharing is for admins.
    let (st, mine) = post(
        ada.clone(),
        json!({"name": "Ada's thanks", "body": "Thanks, {{customer.name}}!"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{mine}");
    assert_eq!(
        (mine["shared"].as_bool(), mine["owner_id"].as_str()),
        (Some(false), Some(ada_id.as_str()))
    );
    let (st, v) = post(
        ada.clone(),
        json!({"name": "Team", "body": "x", "shared": true}),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, shared) = post(
        app.token.clone(),
        json!({"name": "Assign to Ada", "actions": [{"type": "assign", "agent_id": ada_id}]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{shared}");
    let sid = s(&shared["id"]);

    let names = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .map(|a| a.iter().map(|t| s(&t["name"])).collect())
            .unwrap_or_default()
    };
    let (_, listed) = app
        .raw(Method::GET, "/api/v1/templates", Some(&ada), None)
        .await;
    assert_eq!(names(listed), ["Ada's thanks", "Assign to Ada"]);
    let listed = app.ok(Method::GET, "/api/v1/templates", None).await;
    assert_eq!(
        names(listed),
        ["Assign to Ada"],
        "an admin does not see an agent's personal templates"
    );
    let mine_path = format!("/api/v1/templates/{}", s(&mine["id"]));
    let (st, _) = app.call(Method::GET, &mine_path, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = app.call(Method::DELETE, &mine_path, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let shared_path = format!("/api/v1/templates/{sid}");
    let (st, v) = app
        .raw(
            Method::PATCH,
            &shared_path,
            Some(&ada),
            Some(json!({"name": "Mine now"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = app
        .raw(Method::DELETE, &shared_path, Some(&ada), None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = app
        .raw(
            Method::PATCH,
            &mine_path,
            Some(&ada),
            Some(json!({"body": "Thank you, {{customer.name | friend}}!"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["body"], "Thank you, {{customer.name | friend}}!");

    // Another agent's personal template cannot be applied by the admin.
    let case = s(&app.customer_says("bob", "m1", "Hello").await["case_id"]);
    let (st, v) = apply(&app, &app.token, &case, &s(&mine["id"])).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let (st, v) = apply(&app, &ada, &case, &s(&mine["id"])).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = apply(&app, &app.token, &case, &sid).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["assignee_id"], ada_id.as_str());

    // Bad templates are refused with a reason; nothing is saved.
    for (body, status, needle) in [
        (
            json!({"name": "x", "body": "Hi {{customer.nmae}}"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown placeholder",
        ),
        (
            json!({"name": "x", "body": "Hi {{customer.name"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not closed",
        ),
        (
            json!({"name": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reply text or at least one action",
        ),
        (
            json!({"name": " ", "body": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "template name",
        ),
        (
            json!({"name": "x", "actions": [{"type": "add_label", "label_id": "nope"}]}),
            StatusCode::NOT_FOUND,
            "no label `nope`",
        ),
        (
            json!({"name": "x", "actions": [{"type": "assign", "agent_id": "nobody"}]}),
            StatusCode::NOT_FOUND,
            "no agent `nobody`",
        ),
        (
            json!({"name": "x", "actions": [{"type": "explode"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "explode",
        ),
        (
            json!({"name": "x", "actions": [{"type": "set_status", "status": "solved"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "solved",
        ),
        (
            json!({"name": "x", "body": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
        (
            json!({"name": "x", "body": "y", "color": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "color",
        ),
    ] {
        let (st, v) = post(app.token.clone(), body.clone()).await;
        assert_eq!(st, status, "{body} → {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(needle),
            "{body} → {v}"
        );
    }
    let malformed = app
        .http
        .post(format!("{}/api/v1/templates", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let (st, _) = apply(&app, &app.token, &case, "no-such-template").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = apply(&app, &app.token, "no-such-case", &sid).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let listed = app.ok(Method::GET, "/api/v1/templates", None).await;
    assert_eq!(names(listed), ["Assign to Ada"]);
    app.stop().await;
}

async fn a_refused_template_step_keeps_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let label = new_label(&app, "Escalated").await;
    // The subject placeholder doubles a long subject past 255 characters:
    // only the case at hand shows that, so the template saves fine.
    let (st, template) = create(
        &app,
        &app.token,
        "/api/v1/templates",
        json!({
            "name": "Escalate",
            "body": "Escalating now",
            "actions": [
                {"type": "add_label", "label_id": label},
                {"type": "set_status", "status": "pending"},
                {"type": "set_subject", "subject": "{{case.subject}} / {{case.subject}}"}
            ]
        }),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{template}");
    let long = "x".repeat(200);
    let case_id = s(&app.customer_says("cy", "m1", &long).await["case_id"]);
    let before = app.case(&case_id).await;
    let (st, v) = apply(&app, &app.token, &case_id, &s(&template["id"])).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("subject"),
        "{v}"
    );
    let after = app.case(&case_id).await;
    assert_eq!(after, before, "no field changed");
    assert_eq!(
        app.messages(&case_id).await.len(),
        1,
        "the reply was not sent"
    );
    assert!(
        app.events(&case_id)
            .await
            .iter()
            .all(|e| e["kind"] != "template_applied")
    );

    // A short subject works, and the same template then applies whole.
    let short = s(&app.customer_says("cz", "m2", "Refund").await["case_id"]);
    let (st, v) = apply(&app, &app.token, &short, &s(&template["id"])).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["subject"], "Refund / Refund");
    assert_eq!(v["status"], "pending");
    assert_eq!(
        v["chat_state"], "active",
        "pending alone does not finish a chat"
    );
    app.stop().await;
}

async fn labels_catalogue_case_labels_filter_and_export(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let vip = new_label(&app, "VIP").await;
    let refund = new_label(&app, "Refund").await;
    let (_, ada) = app.new_agent("ada@example.com").await;

    // The catalogue: unique names ignoring case, admins only, clear errors.
    for (token, body, status) in [
        (
            app.token.clone(),
            json!({"name": "vip"}),
            StatusCode::CONFLICT,
        ),
        (
            app.token.clone(),
            json!({"name": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.token.clone(),
            json!({"name": "x", "color": "blue"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.token.clone(),
            json!({"name": "x".repeat(51)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (ada.clone(), json!({"name": "Mine"}), StatusCode::FORBIDDEN),
    ] {
        let (st, v) = create(&app, &token, "/api/v1/labels", body.clone()).await;
        assert_eq!(st, status, "{body} → {v}");
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    let (st, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/labels/{refund}"),
            Some(json!({"name": "VIP"})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (_, listed) = app
        .raw(Method::GET, "/api/v1/labels", Some(&ada), None)
        .await;
    let names: Vec<String> = listed["items"]
        .as_array()
        .map(|a| a.iter().map(|l| s(&l["name"])).collect())
        .unwrap_or_default();
    assert_eq!(names, ["Refund", "VIP"], "agents read the catalogue");

    // Any agent labels cases; doing it twice changes nothing.
    let c1 = s(&app.customer_says("u1", "m1", "Money back please").await["case_id"]);
    let c2 = s(&app.customer_says("u2", "m2", "Hello").await["case_id"]);
    let label = |case: &str, token: &str, label_id: &str| {
        let (app, path, token) = (
            &app,
            format!("/api/v1/cases/{case}/labels"),
            token.to_owned(),
        );
        let body = json!({ "label_id": label_id });
        async move { app.raw(Method::POST, &path, Some(&token), Some(body)).await }
    };
    for l in [&vip, &refund, &vip] {
        let (st, v) = label(&c1, &ada, l).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let case = app.case(&c1).await;
    let on_case: Vec<String> = case["labels"]
        .as_array()
        .map(|a| a.iter().map(|l| s(&l["name"])).collect())
        .unwrap_or_default();
    assert_eq!(on_case, ["Refund", "VIP"]);
    let labelled = app
        .events(&c1)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "labels_changed")
        .count();
    assert_eq!(labelled, 2, "the repeated label is not an event");
    let (st, v) = label(&c2, &ada, "no-such-label").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let (st, _) = label("no-such-case", &ada, &vip).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    label(&c2, &ada, &vip).await;

    // The list and the export filter by label; the export names them.
    let ids = |items: Vec<Value>| items.iter().map(|c| s(&c["id"])).collect::<Vec<_>>();
    assert_eq!(
        ids(app.list(&format!("label_id={refund}")).await),
        std::slice::from_ref(&c1)
    );
    assert_eq!(
        ids(app.list(&format!("label_id={vip}")).await),
        [c2.clone(), c1.clone()]
    );
    assert!(app.list("label_id=unknown").await.is_empty());
    let (st, _, body) =
        crate::reports::download(&app, &format!("format=csv&label_id={refund}")).await;
    assert_eq!(st, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(&body[..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("csv row")).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][16], "Refund, VIP");

    // Removing and deleting take labels off.
    let (st, v) = app
        .raw(
            Method::DELETE,
            &format!("/api/v1/cases/{c1}/labels/{vip}"),
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["labels"].as_array().map(Vec::len), Some(1), "{v}");
    let (st, _) = app
        .raw(
            Method::DELETE,
            &format!("/api/v1/labels/{refund}"),
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // A label a template uses is not deleted from under it.
    let (st, template) = create(
        &app,
        &app.token,
        "/api/v1/templates",
        json!({"name": "Refund macro", "actions": [{"type": "add_label", "label_id": refund}]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{template}");
    let (st, v) = app
        .call(Method::DELETE, &format!("/api/v1/labels/{refund}"), None)
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("template `Refund macro`"),
        "{v}"
    );
    app.ok(
        Method::DELETE,
        &format!("/api/v1/templates/{}", s(&template["id"])),
        None,
    )
    .await;
    let (st, _) = app
        .call(Method::DELETE, &format!("/api/v1/labels/{refund}"), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = app
        .call(Method::DELETE, &format!("/api/v1/labels/{refund}"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(app.case(&c1).await["labels"], json!([]));
    let renamed = app
        .ok(
            Method::PATCH,
            &format!("/api/v1/labels/{vip}"),
            Some(json!({"name": "Very important", "color": null})),
        )
        .await;
    assert_eq!(renamed["color"], Value::Null);
    assert_eq!(app.case(&c2).await["labels"][0]["name"], "Very important");
    app.stop().await;
}
