//! Reports (R15 statistics, R16 export) through the API, on both databases.

use std::io::Cursor;
use std::time::Duration;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use casedesk_domain::AccountTimeZone;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, Backend, TestApp, s};
use crate::on_both;

on_both!(
    statistics_count_each_change_once,
    statistics_refuse_bad_input_and_scope_agents,
    business_hours_count_only_open_time,
    export_csv_and_xlsx_parse_back,
);

fn group<'a>(stats: &'a Value, key: Option<&str>) -> &'a Value {
    stats["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["key"].as_str() == key)
        .unwrap_or_else(|| panic!("no group {key:?} in {stats}"))
}

async fn stats(app: &TestApp, query: &str) -> Value {
    app.ok(Method::GET, &format!("/api/v1/stats?{query}"), None)
        .await
}

/// A day before and after the server's today in the zone, so the test
/// holds at midnight.
fn around_today(app: &TestApp, tz: &str) -> String {
    let tz: AccountTimeZone = tz.parse().expect("zone");
    let today = tz.date_of(app.now());
    let from = today - chrono::Duration::days(1);
    let to = today + chrono::Duration::days(1);
    format!("from={from}&to={to}")
}

async fn statistics_count_each_change_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let settings = app
        .ok(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"time_zone": "Europe/Moscow"})),
        )
        .await;
    assert_eq!(settings["time_zone"], "Europe/Moscow");
    assert_eq!(settings["chat_auto_finish_after_seconds"], 600);
    let me = app.ok(Method::GET, "/api/v1/me", None).await;
    let admin = s(&me["id"]);

    // A: created, answered, assigned, finished pending, reopened, split into B.
    let a = s(&app.customer_says("c1", "m1", "Where is my order?").await["case_id"]);
    app.reply(&a, "Looking into it").await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{a}"),
        Some(json!({"assignee_id": admin})),
    )
    .await;
    let (st, _) = app.finish(&a, "pending").await;
    assert_eq!(st, StatusCode::OK);
    let r = app.customer_says("c1", "m2", "Another question").await;
    assert_eq!(r["outcome"], "reopened");
    let b = app
        .ok(Method::POST, &format!("/api/v1/cases/{a}/split"), None)
        .await;
    let b = s(&b["id"]);
    // B closed; the next message makes C, which is merged back into B.
    let (st, _) = app.finish(&b, "closed").await;
    assert_eq!(st, StatusCode::OK);
    let c = app.customer_says("c1", "m3", "Oops, one more thing").await;
    assert_eq!(c["outcome"], "created");
    let c = s(&c["case_id"]);
    app.ok(
        Method::POST,
        &format!("/api/v1/cases/{c}/merge-previous"),
        None,
    )
    .await;
    // D: another customer.
    let d = s(&app.customer_says("c2", "m4", "Hello").await["case_id"]);

    let period = around_today(&app, "Europe/Moscow");
    let by_day = stats(&app, &format!("group_by=day&{period}")).await;
    assert_eq!(by_day["time_zone"], "Europe/Moscow");
    assert_eq!(
        by_day["groups"].as_array().map(Vec::len),
        Some(3),
        "{by_day}"
    );
    let t = &by_day["total"];
    assert_eq!(t["cases_created"], 4, "A, B (split off), C and D: {t}");
    assert_eq!(t["cases_finished"], 2, "A by the agent, B by closing");
    assert_eq!(t["cases_closed"], 1);
    assert_eq!(t["cases_reopened"], 1);
    assert_eq!(t["cases_split"], 1);
    assert_eq!(t["cases_merged"], 1);
    assert_eq!(t["cases_auto_finished"], 0);
    assert_eq!(t["active_chats_now"], 2, "B (merged into) and D");
    assert_eq!(t["messages_per_case"]["count"], 3, "C was merged away");
    assert!(t["first_response_seconds"]["count"].as_u64() >= Some(1));
    assert_eq!(t["resolution_seconds"]["count"], 1);
    assert!(t["resolution_seconds"]["median"].as_f64() >= Some(0.0));
    let created: i64 = by_day["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["cases_created"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(created, 4);
    assert!(by_day["groups"][0]["active_chats_now"].is_null());

    // Auto-finish both active chats: new timers apply from the next message.
    app.set_timers(1, 1).await;
    assert_eq!(
        app.customer_says("c1", "m5", "Thanks").await["case_id"],
        b.as_str()
    );
    assert_eq!(
        app.customer_says("c2", "m6", "Thanks").await["case_id"],
        d.as_str()
    );
    app.advance_and_run(Duration::from_secs(1)).await;
    for id in [&b, &d] {
        let case = app.case(id).await;
        assert_eq!(case["chat_state"], "finished", "{case}");
    }
    let by_agent = stats(&app, &format!("group_by=agent&{period}")).await;
    let mine = group(&by_agent, Some(&admin));
    assert_eq!(mine["cases_created"], 2, "A and B: {by_agent}");
    assert_eq!(mine["label"], s(&me["name"]));
    let nobody = group(&by_agent, None);
    assert_eq!(nobody["label"], "Unassigned");
    assert_eq!(nobody["cases_created"], 2, "C and D");
    let t = &by_agent["total"];
    assert_eq!(t["cases_auto_finished"], 2);
    assert_eq!(t["cases_finished"], 4);
    assert_eq!(t["active_chats_now"], 0);

    let by_channel = stats(
        &app,
        &format!("group_by=channel&channel_id={}&{period}", app.channel_id),
    )
    .await;
    let ch = group(&by_channel, Some(&app.channel_id));
    assert_eq!(ch["label"], "Messenger");
    assert_eq!(ch["cases_created"], 4);
    let weeks = stats(&app, &format!("group_by=week&{period}")).await;
    assert_eq!(weeks["total"]["cases_created"], 4);
    assert!(s(&weeks["groups"][0]["key"]).contains("-W"));
    // Nothing happened last year.
    let old = stats(&app, "group_by=week&from=2020-01-01&to=2020-03-01").await;
    assert_eq!(old["total"]["cases_created"], 0);
    assert_eq!(
        old["groups"].as_array().map(Vec::len),
        Some(weeks_of_early_2020())
    );
}

/// Business hours Mon–Fri 09:00–18:00 in Berlin; one case is backdated to
/// Monday 23 November 2026 17:30 local, answered Tuesday 09:15 and closed
/// Tuesday 10:00 (the night and its closed hours in between).
async fn business_hours_count_only_open_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let settings = app.ok(Method::GET, "/api/v1/settings", None).await;
    assert!(settings["business_hours"].is_null(), "{settings}");
    let week = json!({
        "mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]],
        "wed": [["09:00", "18:00"]], "thu": [["09:00", "18:00"]],
        "fri": [["09:00", "18:00"]]
    });
    let settings = app
        .ok(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"time_zone": "Europe/Berlin", "business_hours": week})),
        )
        .await;
    assert_eq!(settings["business_hours"], week, "{settings}");
    assert_eq!(settings["time_zone"], "Europe/Berlin");
    for (bad, why) in [
        (
            json!({"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}),
            "overlaps",
        ),
        (json!({"mon": [["18:00", "09:00"]]}), "before"),
        (json!({"mon": [["9am", "18:00"]]}), "HH:MM"),
        (json!({"funday": [["09:00", "18:00"]]}), "unknown day"),
        (json!({}), "at least one"),
        (json!({"mon": "09:00-18:00"}), "business_hours"),
    ] {
        let (st, v) = app
            .call(
                Method::PATCH,
                "/api/v1/settings",
                Some(json!({"business_hours": bad})),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert!(v.to_string().contains(why), "{bad}: {v}");
    }
    // Other settings leave the hours alone.
    let settings = app
        .ok(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"chat_auto_finish_after_seconds": 900})),
        )
        .await;
    assert_eq!(settings["business_hours"], week);

    // A case answered and closed through the API, then copied into the past.
    let a = s(&app.customer_says("bh", "bh1", "Hello").await["case_id"]);
    app.reply(&a, "Hi").await;
    let (st, _) = app.finish(&a, "closed").await;
    assert_eq!(st, StatusCode::OK);
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("time")
            .to_utc()
    };
    let store = app.db.open().await;
    casedesk_store::write::<_, casedesk_store::StoreError, _>(&*store, move |tx| {
        Box::pin(async move {
            let admin = tx.find_agent_by_email(ADMIN_EMAIL).await?.expect("admin");
            let account = admin.account_id;
            let mut case = tx.get_case(&account, &a).await?;
            let close = tx
                .list_events(&account, &a)
                .await?
                .into_iter()
                .find(|e| e.kind == casedesk_domain::EventKind::Finished)
                .expect("the finish event");
            case.id = "bh-past".into();
            case.number = tx.next_case_number(&account).await?;
            case.created_at = at("2026-11-23T16:30:00Z"); // Mon 17:30 CET
            case.first_response_at = Some(at("2026-11-24T08:15:00Z")); // Tue 09:15
            tx.insert_case(&case).await?;
            let mut close = close;
            close.id = "bh-past-close".into();
            close.case_id = case.id.clone();
            close.created_at = at("2026-11-24T09:00:00Z"); // Tue 10:00
            tx.insert_event(&close).await
        })
    })
    .await
    .expect("backdated case");
    store.close().await;

    let period = "from=2026-11-23&to=2026-11-24";
    let business = stats(&app, &format!("group_by=week&{period}")).await;
    assert_eq!(business["business_hours"], true, "{business}");
    let t = &business["total"];
    assert_eq!(t["first_response_seconds"]["count"], 1, "{t}");
    assert_eq!(
        t["first_response_seconds"]["median"], 2700.0,
        "30 min on Monday + 15 min on Tuesday: {t}"
    );
    assert_eq!(t["resolution_seconds"]["count"], 1, "{t}");
    assert_eq!(
        t["resolution_seconds"]["median"], 5400.0,
        "30 min on Monday + 1 h on Tuesday: {t}"
    );

    // Tuesday 24 November a holiday: only Monday's 30 minutes count.
    let mut with_holiday = week.clone();
    with_holiday["holidays"] = json!(["2026-11-24"]);
    let settings = app
        .ok(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"business_hours": with_holiday})),
        )
        .await;
    assert_eq!(settings["business_hours"], with_holiday, "{settings}");
    let holiday = stats(&app, &format!("group_by=week&{period}")).await;
    let t = &holiday["total"];
    assert_eq!(t["first_response_seconds"]["median"], 1800.0, "{t}");
    assert_eq!(t["resolution_seconds"]["median"], 1800.0, "{t}");
    let mut bad = week.clone();
    bad["holidays"] = json!(["24.11.2026"]);
    let (st, v) = app
        .call(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"business_hours": bad})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("YYYY-MM-DD"), "{v}");

    // Cleared: calendar time again.
    let settings = app
        .ok(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"business_hours": null})),
        )
        .await;
    assert!(settings["business_hours"].is_null(), "{settings}");
    assert_eq!(settings["time_zone"], "Europe/Berlin");
    let calendar = stats(&app, &format!("group_by=week&{period}")).await;
    assert_eq!(calendar["business_hours"], false);
    let t = &calendar["total"];
    assert_eq!(t["first_response_seconds"]["median"], 15.75 * 3600.0, "{t}");
    assert_eq!(t["resolution_seconds"]["median"], 16.5 * 3600.0, "{t}");
    app.stop().await;
}

/// ISO weeks touched by 2020-01-01 … 2020-03-01: W01 (from Dec 30) to W09.
fn weeks_of_early_2020() -> usize {
    9
}

async fn statistics_refuse_bad_input_and_scope_agents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (query, status) in [
        ("group_by=month", StatusCode::BAD_REQUEST),
        ("from=yesterday", StatusCode::BAD_REQUEST),
        ("to=2026-13-01", StatusCode::BAD_REQUEST),
        (
            "from=2026-11-02&to=2026-11-01",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "from=2026-11-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "from=2000-01-01&to=2026-01-01&group_by=day",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (st, v) = app
            .call(Method::GET, &format!("/api/v1/stats?{query}"), None)
            .await;
        assert_eq!(st, status, "{query}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let (st, v) = app
        .call(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"time_zone": "Mars/Olympus_Mons"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let settings = app.ok(Method::GET, "/api/v1/settings", None).await;
    assert_eq!(settings["time_zone"], "UTC");
    let (st, _) = app.raw(Method::GET, "/api/v1/stats", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // An agent sees only their own figures.
    let agent = app
        .ok(
            Method::POST,
            "/api/v1/agents",
            Some(json!({"email": "ada@example.com", "name": "Ada", "password": "agent-password"})),
        )
        .await;
    let ada = s(&agent["id"]);
    let first = s(&app.customer_says("c1", "m1", "Hi").await["case_id"]);
    app.customer_says("c2", "m2", "Hi").await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/cases/{first}"),
        Some(json!({"assignee_id": ada})),
    )
    .await;
    let token = app.login("ada@example.com", "agent-password").await;
    // The default period ends now, exclusive: let a moment pass after the
    // changes, as it always has outside a test.
    app.advance(Duration::from_secs(1));
    let (st, mine) = app
        .raw(
            Method::GET,
            "/api/v1/stats?group_by=agent",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{mine}");
    assert_eq!(mine["agent_id"], ada.as_str());
    assert_eq!(mine["groups"].as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine["total"]["cases_created"], 1);
    assert_eq!(mine["total"]["active_chats_now"], 1);
    let me = app.ok(Method::GET, "/api/v1/me", None).await;
    let (st, _) = app
        .raw(
            Method::GET,
            &format!("/api/v1/stats?agent_id={}", s(&me["id"])),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let all = stats(&app, "group_by=agent").await;
    assert_eq!(all["total"]["cases_created"], 2, "an admin sees everyone");
}

pub async fn download(
    app: &TestApp,
    query: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .http
        .get(format!("{}/api/v1/cases/export?{query}", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("export request");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("export body").to_vec();
    (status, headers, body)
}

const TRICKY: [&str; 4] = [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "Привет, \"мир\"\nвторая строка",
    "+7 999 123-45-67 call me",
    "@admin please",
];

async fn export_csv_and_xlsx_parse_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut ids = Vec::new();
    for (i, text) in TRICKY.iter().enumerate() {
        let r = app
            .customer_says(&format!("cu{i}"), &format!("m{i}"), text)
            .await;
        ids.push(s(&r["case_id"]));
    }
    app.reply(&ids[0], "Hello").await;
    let (st, _) = app.finish(&ids[0], "closed").await;
    assert_eq!(st, StatusCode::OK);
    app.advance(Duration::from_millis(5));

    // CSV with a BOM.
    let (st, headers, body) = download(&app, "format=csv&bom=true").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let disposition = headers["content-disposition"].to_str().unwrap_or("");
    assert!(
        disposition.starts_with("attachment; filename=\"casedesk-cases-"),
        "{disposition}"
    );
    assert!(disposition.ends_with(".csv\""), "{disposition}");
    assert!(body.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
    let mut reader = csv::Reader::from_reader(&body[3..]);
    let header: Vec<String> = reader
        .headers()
        .expect("csv header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "number");
    assert_eq!(header.len(), 17);
    assert_eq!(header[16], "labels");
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("csv row")).collect();
    assert_eq!(rows.len(), 4);
    // Newest first: the last customer's case leads.
    let numbers: Vec<&str> = rows.iter().map(|r| &r[col("number")]).collect();
    assert_eq!(numbers, ["4", "3", "2", "1"]);
    let by_number = |n: &str| rows.iter().find(|r| &r[col("number")] == n).expect("row");
    let first = by_number("1");
    assert_eq!(
        &first[col("subject")],
        format!("'{}", TRICKY[0]),
        "formula guarded"
    );
    assert_eq!(&first[col("status")], "closed");
    assert_eq!(&first[col("chat_state")], "finished");
    assert_eq!(&first[col("channel")], "Messenger");
    assert_eq!(&first[col("customer_name")], "Ann");
    assert_eq!(&first[col("customer_external_id")], "cu0");
    assert_eq!(&first[col("message_count")], "2");
    for c in [
        "created_at",
        "first_response_at",
        "finished_at",
        "closed_at",
    ] {
        chrono::DateTime::parse_from_rfc3339(&first[col(c)])
            .unwrap_or_else(|e| panic!("{c} `{}`: {e}", &first[col(c)]));
    }
    let second = by_number("2");
    assert_eq!(
        &second[col("subject")],
        "Привет, \"мир\" вторая строка",
        "Cyrillic, comma and quotes survive (the subject is one line)"
    );
    assert_eq!(&second[col("closed_at")], "");
    assert_eq!(&by_number("3")[col("subject")], format!("'{}", TRICKY[2]));
    assert_eq!(&by_number("4")[col("subject")], format!("'{}", TRICKY[3]));

    // The same filters as the case list.
    let (_, _, body) = download(&app, "status=closed").await;
    let mut reader = csv::Reader::from_reader(body.as_slice());
    assert_eq!(reader.records().count(), 1);
    let (_, _, body) = download(&app, "q=%D0%BC%D0%B8%D1%80").await;
    let mut reader = csv::Reader::from_reader(body.as_slice());
    assert_eq!(reader.records().count(), 1, "search for «мир»");
    let (_, _, body) = download(&app, "sort=created_at&order=asc").await;
    let mut reader = csv::Reader::from_reader(body.as_slice());
    let first: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[0].to_owned())
        .collect();
    assert_eq!(first, ["1", "2", "3", "4"]);

    // XLSX: typed cells; strings stay strings, never formulas.
    let (st, headers, body) = download(&app, "format=xlsx").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap_or("")
            .ends_with(".xlsx\"")
    );
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).expect("an XLSX file");
    let range = workbook.worksheet_range("Cases").expect("the Cases sheet");
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(rows.len(), 5, "header and four cases");
    assert_eq!(rows[0][0], Data::String("number".into()));
    let last = rows[4];
    assert_eq!(last[0], Data::Float(1.0));
    assert_eq!(last[1], Data::String(TRICKY[0].into()));
    assert!(
        matches!(last[9], Data::DateTime(_)),
        "created_at is a date: {:?}",
        last[9]
    );
    assert!(matches!(last[12], Data::DateTime(_)), "closed_at is a date");
    assert_eq!(last[13], Data::Float(2.0));
    assert_eq!(rows[3][12], Data::Empty, "no closed_at");

    for (query, status) in [
        ("format=pdf", StatusCode::BAD_REQUEST),
        ("status=done", StatusCode::BAD_REQUEST),
        ("sort=subject", StatusCode::BAD_REQUEST),
    ] {
        let (st, _, body) = download(&app, query).await;
        assert_eq!(st, status, "{query}: {}", String::from_utf8_lossy(&body));
    }
    let (st, _) = app
        .raw(Method::GET, "/api/v1/cases/export", None, None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}
