//! Live updates (docs/live.md): every event of a stream carries its place
//! in the account's feed as its id; a client that comes back with the last
//! id it had gets what it missed, once and in order; servers on one
//! database tell each other of changes over NATS.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

crate::on_both!(a_stream_resumes_after_the_last_event_it_had);

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Sent {
    pub kind: String,
    pub id: String,
    pub data: Value,
}

/// The first whole event in `buffer`, taken out of it (heartbeats and
/// comments skipped); `None` until one has arrived.
pub fn take_event(buffer: &mut String) -> Option<Sent> {
    while let Some(end) = buffer.find("\n\n") {
        let block: String = buffer.drain(..end + 2).collect();
        let (mut kind, mut id, mut data) = (String::new(), String::new(), String::new());
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                kind = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim());
            }
        }
        if !kind.is_empty() {
            let data = serde_json::from_str(&data).unwrap_or(Value::Null);
            return Some(Sent { kind, id, data });
        }
    }
    None
}

/// An open event stream, read event by event.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// Opens `/api/v1/events` on `base` as `token`, resuming after
    /// `last_event_id` (sent as the header) when given.
    async fn open(base: &str, token: &str, last_event_id: Option<&str>) -> Stream {
        let mut request = reqwest::Client::new()
            .get(format!("{base}/api/v1/events"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("stream opened");
        assert_eq!(response.status(), StatusCode::OK, "the stream opens");
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (heartbeats skipped); `None` after 10 s without one.
    async fn next(&mut self) -> Option<Sent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(event) = take_event(&mut self.buffer) {
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Events until a `message.created` of `message_id` (included).
    async fn until_message(&mut self, message_id: &str) -> Vec<Sent> {
        let mut seen = Vec::new();
        loop {
            let Some(event) = self.next().await else {
                panic!("no message.created of {message_id}; the stream had {seen:#?}");
            };
            let done =
                event.kind == "message.created" && event.data["data"]["message_id"] == message_id;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

/// The message ids of the `message.created` events among `events`.
pub fn messages_of(events: &[Sent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == "message.created")
        .map(|e| s(&e.data["data"]["message_id"]))
        .collect()
}

/// A place as a comparable pair.
pub fn place(id: &str) -> (i64, i64) {
    let (tx, seq) = id
        .split_once('-')
        .unwrap_or_else(|| panic!("`{id}` is no place"));
    (tx.parse().expect("tx"), seq.parse().expect("seq"))
}

fn assert_ordered(events: &[Sent]) {
    for pair in events.windows(2) {
        assert!(
            place(&pair[0].id) < place(&pair[1].id),
            "ids grow: {pair:#?}"
        );
    }
}

async fn message_id_of(app: &TestApp, case_id: &str, text: &str) -> String {
    let messages = app.messages(case_id).await;
    let m = messages
        .iter()
        .find(|m| m["text"] == text)
        .unwrap_or_else(|| panic!("no message `{text}` in {messages:?}"));
    s(&m["id"])
}

async fn a_stream_resumes_after_the_last_event_it_had(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut first = Stream::open(&app.base, &app.token, None).await;
    let r = app.customer_says("ann", "m1", "one").await;
    let m1 = message_id_of(&app, &s(&r["case_id"]), "one").await;
    let had = first.until_message(&m1).await;
    assert!(
        had.iter().all(|e| !e.id.is_empty()),
        "every event has an id: {had:#?}"
    );
    assert_ordered(&had);
    let last = had.last().expect("an event").id.clone();
    drop(first);

    // Away: two messages, one of them a new customer's new case.
    let r2 = app.customer_says("ann", "m2", "two").await;
    let r3 = app.customer_says("bob", "m3", "three").await;
    let m2 = message_id_of(&app, &s(&r2["case_id"]), "two").await;
    let m3 = message_id_of(&app, &s(&r3["case_id"]), "three").await;

    // Back with the last id: what was missed, once and in order, then on.
    let mut back = Stream::open(&app.base, &app.token, Some(&last)).await;
    let missed = back.until_message(&m3).await;
    assert_eq!(
        messages_of(&missed),
        [m2.clone(), m3.clone()],
        "{missed:#?}"
    );
    assert!(
        missed
            .iter()
            .any(|e| e.kind == "case.created" && e.data["case_id"] == r3["case_id"]),
        "bob's new case: {missed:#?}"
    );
    assert_ordered(&missed);
    assert!(place(&missed[0].id) > place(&last));
    let r4 = app.customer_says("ann", "m4", "four").await;
    let m4 = message_id_of(&app, &s(&r4["case_id"]), "four").await;
    let live = back.until_message(&m4).await;
    assert_eq!(
        messages_of(&live),
        std::slice::from_ref(&m4),
        "live after the catch-up: {live:#?}"
    );
    drop(back);

    // A new EventSource carrying on says it in the query.
    let resp = app
        .http
        .get(format!("{}/api/v1/events?last_event_id={last}", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("stream");
    let mut query = Stream {
        response: resp,
        buffer: String::new(),
    };
    let again = query.until_message(&m4).await;
    assert_eq!(messages_of(&again), [m2, m3, m4.clone()], "{again:#?}");
    drop(query);

    // Not an id of this stream's: refused, not guessed at.
    for bad in ["nope", "1", "-1-2", "1-2-3"] {
        let resp = app
            .http
            .get(format!("{}/api/v1/events", app.base))
            .bearer_auth(&app.token)
            .header("Last-Event-ID", bad)
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "`{bad}`");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "invalid_last_event_id", "{body}");
    }
    // Well-formed but no notice of this account's: load afresh.
    let mut unknown = Stream::open(&app.base, &app.token, Some("0-999999999")).await;
    let first_event = unknown.next().await.expect("an event");
    assert_eq!(first_event.kind, "resync", "{first_event:?}");
    drop(unknown);

    // An hour later the feed no longer keeps what came before: resync,
    // then live again.
    app.advance_and_run(Duration::from_secs(2 * 3600)).await;
    let mut late = Stream::open(&app.base, &app.token, Some(&last)).await;
    let first_event = late.next().await.expect("an event");
    assert_eq!(first_event.kind, "resync", "{first_event:?}");
    let r5 = app.customer_says("ann", "m5", "five").await;
    let m5 = message_id_of(&app, &s(&r5["case_id"]), "five").await;
    let after = late.until_message(&m5).await;
    assert_eq!(messages_of(&after), [m5], "{after:#?}");
    assert!(place(&after[0].id) > place(&first_event.id));
    app.stop().await;
}

/// NATS for the tests of several servers: `CASEDESK_TEST_NATS_URL`, or the
/// one this machine kind runs on loopback. The tests fail, never skip,
/// without it.
pub fn nats_url() -> String {
    std::env::var("CASEDESK_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Servers on one database with NATS, their feeds read only when told
/// (a poll an hour apart): what reaches a client of another server came
/// through NATS.
fn clustered(config: &mut casedesk_server::Config, _: &str) {
    config.nats_url = Some(nats_url());
    config.live_poll = Some(Duration::from_secs(3600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_on_one_database_share_live_updates_over_nats() {
    let app = TestApp::spawn_with(Backend::Postgres, clustered).await;
    let other = Server::start_with(&app.db, &app.clock, clustered).await;

    // A customer's message taken by the first server reaches an agent on
    // the other.
    let mut on_other = Stream::open(&other.base, &app.token, None).await;
    let r1 = app.customer_says("ann", "m1", "one").await;
    let case_id = s(&r1["case_id"]);
    let m1 = message_id_of(&app, &case_id, "one").await;
    let had = on_other.until_message(&m1).await;
    assert!(had.iter().any(|e| e.kind == "case.created"), "{had:#?}");

    // An agent's reply on the other server reaches a stream on the first.
    let mut on_first = Stream::open(&app.base, &app.token, None).await;
    let resp = app
        .http
        .post(format!("{}/api/v1/cases/{case_id}/messages", other.base))
        .bearer_auth(&app.token)
        .json(&serde_json::json!({"text": "hello from B", "kind": "reply"}))
        .send()
        .await
        .expect("reply");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let reply: Value = resp.json().await.expect("json");
    let seen = on_first.until_message(&s(&reply["id"])).await;
    assert_eq!(messages_of(&seen), [s(&reply["id"])], "{seen:#?}");

    // A client of the other server that comes back through the first
    // resumes where it was: the ids are places in the shared feed.
    let last = on_other.until_message(&s(&reply["id"])).await;
    let last = last.last().expect("the reply").id.clone();
    drop(on_other);
    let r2 = app.customer_says("ann", "m2", "two").await;
    let m2 = message_id_of(&app, &s(&r2["case_id"]), "two").await;
    let mut back = Stream::open(&app.base, &app.token, Some(&last)).await;
    let missed = back.until_message(&m2).await;
    assert_eq!(messages_of(&missed), [m2], "{missed:#?}");

    other.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_on_one_server_ends_the_streams_on_another() {
    // Streams recheck their credential only hourly here: an end within the
    // test's patience came through NATS.
    let tweak = |c: &mut casedesk_server::Config, base: &str| {
        clustered(c, base);
        c.credential_recheck = Some(Duration::from_secs(3600));
    };
    let app = TestApp::spawn_with(Backend::Postgres, tweak).await;
    let other = Server::start_with(&app.db, &app.clock, tweak).await;
    let (_, token) = app.new_agent("ada@example.com").await;
    let mut on_other = Stream::open(&other.base, &token, None).await;
    let resp = app
        .http
        .post(format!("{}/api/v1/auth/logout", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = on_other.response.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream on the other server is still open"
    );
    other.stop().await;
    app.stop().await;
}
