//! Load and faults: a burst of messages after close, `kill -9` under load,
//! PostgreSQL going away and coming back under load, SQLite's disk filling
//! up.
//!
//! The fault tests keep customers writing while the fault happens, then
//! check the promise a messenger relies on: every acknowledged message is
//! stored exactly once and in order, a message the server could not take
//! was refused with a clear `503 unavailable` (never a 500, never a hang),
//! and a refused or unanswered message delivered again is stored once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Database, Process, TestApp, login, login_and_channel, s};
use crate::on_both;

on_both!(
    burst_after_close_makes_one_case_each,
    acknowledged_messages_survive_kill_9
);

/// Customers of the burst test in CI: the 1,000 where that takes
/// seconds (SQLite), fewer where it would take over a minute of a debug
/// build (PostgreSQL: docs/benchmarks.md). `CASEDESK_FAULTS_CUSTOMERS`
/// sets the number for both.
fn burst_customers(backend: Backend) -> usize {
    if let Ok(n) = std::env::var("CASEDESK_FAULTS_CUSTOMERS") {
        return n.parse().expect("CASEDESK_FAULTS_CUSTOMERS is a number");
    }
    match backend {
        Backend::Sqlite => 1000,
        Backend::Postgres => 200,
    }
}

/// Messages each customer sends at once after their chat was closed.
const BURST_MESSAGES: usize = 20;
/// Customers whose bursts are in flight at the same time.
const BURST_CUSTOMERS_IN_FLIGHT: usize = 8;

async fn burst_after_close_makes_one_case_each(backend: Backend) {
    let customers = burst_customers(backend);
    let app = TestApp::spawn(backend).await;
    let started = Instant::now();
    let burst = burst_after_close(&app, customers, BURST_MESSAGES, BURST_CUSTOMERS_IN_FLIGHT).await;
    eprintln!(
        "burst after close on {backend:?}: {customers} customers × {BURST_MESSAGES} messages \
         in {:.1} s ({:.0} messages/s); whole test {:.1} s",
        burst.as_secs_f64(),
        (customers * BURST_MESSAGES) as f64 / burst.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    app.stop().await;
}

/// One inbound message of a burst, as the client saw it.
struct Ack {
    /// The channel's message id (also the text).
    channel_id: String,
    /// casedesk's id of the stored message.
    message_id: String,
    case_id: String,
    outcome: String,
    sent: Instant,
    acked: Instant,
}

/// R6 d under load: `customers` customers, each with a closed chat, send
/// `messages` messages each all at once (distinct ids), the bursts of
/// `in_flight` customers overlapping. Each customer must get exactly one new
/// chat, linked to the closed one, holding every message once. Messages sent
/// together have no order among themselves; the stored order must then be
/// the order the server took them in (its message ids are time-ordered) and
/// never contradict the client's: a message acknowledged before another was
/// sent is listed first. Returns how long the bursts took.
pub async fn burst_after_close(
    app: &TestApp,
    customers: usize,
    messages: usize,
    in_flight: usize,
) -> Duration {
    let names: Vec<String> = (0..customers).map(|c| format!("b{c}")).collect();
    // A first chat of each customer, closed.
    let closed: Vec<String> = futures::stream::iter(&names)
        .map(|name| async move {
            let first = app
                .customer_says(name, &format!("{name}-first"), "first")
                .await;
            let id = s(&first["case_id"]);
            let (st, v) = app
                .call(
                    Method::PATCH,
                    &format!("/api/v1/cases/{id}"),
                    Some(json!({"status": "closed"})),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{v}");
            id
        })
        .buffered(32)
        .collect()
        .await;

    let started = Instant::now();
    let bursts: Vec<Vec<Ack>> = futures::stream::iter(&names)
        .map(|name| {
            futures::future::join_all((0..messages).map(move |i| async move {
                let channel_id = format!("{name}-{i}");
                let sent = Instant::now();
                let (st, v) = app
                    .inbound(json!({"type": "message", "message_id": channel_id,
                        "customer": {"id": name}, "text": channel_id}))
                    .await;
                let acked = Instant::now();
                assert_eq!(st, StatusCode::OK, "{channel_id}: {v}");
                Ack {
                    message_id: s(&v["message_id"]),
                    case_id: s(&v["case_id"]),
                    outcome: s(&v["outcome"]),
                    channel_id,
                    sent,
                    acked,
                }
            }))
        })
        .buffered(in_flight)
        .collect()
        .await;
    let took = started.elapsed();

    futures::stream::iter(names.iter().zip(&closed).zip(&bursts))
        .for_each_concurrent(16, |((name, closed), acks)| {
            check_burst(app, name, closed, acks, messages)
        })
        .await;
    let listed = count_cases(app).await;
    assert_eq!(
        listed,
        2 * customers,
        "a closed chat and a new one per customer"
    );
    took
}

async fn check_burst(app: &TestApp, name: &str, closed: &str, acks: &[Ack], messages: usize) {
    let case_id = &acks[0].case_id;
    assert!(
        acks.iter().all(|a| &a.case_id == case_id),
        "{name}: one routing decision, one new case: {:?}",
        acks.iter().map(|a| &a.case_id).collect::<Vec<_>>()
    );
    assert_ne!(case_id, closed, "{name}: a message went to the closed chat");
    let created: Vec<&Ack> = acks.iter().filter(|a| a.outcome == "created").collect();
    assert_eq!(created.len(), 1, "{name}: one message opens the new chat");
    assert!(
        acks.iter()
            .all(|a| a.outcome == "created" || a.outcome == "appended"),
        "{name}: {:?}",
        acks.iter().map(|a| &a.outcome).collect::<Vec<_>>()
    );

    let case = app.case(case_id).await;
    assert_eq!(
        case["previous_case_id"].as_str(),
        Some(closed),
        "{name}: R6 d link"
    );
    assert_eq!(case["message_count"], messages, "{name}: {case}");
    assert_eq!(case["chat_state"], "active");
    assert_eq!(app.case(closed).await["message_count"], 1, "{name}");

    check_listed_order(app, name, acks, created[0], messages).await;
}

/// The new chat lists every message once, in the order the server routed
/// them (its message ids are time-ordered), starting with the one that
/// opened it, and never against the client's order.
async fn check_listed_order(
    app: &TestApp,
    name: &str,
    acks: &[Ack],
    opener: &Ack,
    messages: usize,
) {
    let listed: Vec<String> = app
        .messages(&opener.case_id)
        .await
        .iter()
        .filter(|m| m["kind"] == "message" && m["author"]["type"] == "customer")
        .map(|m| s(&m["id"]))
        .collect();
    let mut by_id: Vec<&Ack> = Vec::with_capacity(listed.len());
    for id in &listed {
        let ack = acks.iter().find(|a| &a.message_id == id);
        by_id.push(
            ack.unwrap_or_else(|| panic!("{name}: listed message {id} was never acknowledged")),
        );
    }
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        messages,
        "{name}: every message once: {listed:?}"
    );
    assert_eq!(
        listed, unique,
        "{name}: listed in the order the server took them"
    );
    assert_eq!(
        by_id[0].channel_id, opener.channel_id,
        "{name}: the message that opened the chat comes first"
    );
    for (i, earlier) in by_id.iter().enumerate() {
        for later in &by_id[i + 1..] {
            assert!(
                later.acked >= earlier.sent,
                "{name}: {} was acknowledged before {} was sent, yet is listed after it",
                later.channel_id,
                earlier.channel_id
            );
        }
    }
}

/// Every case of the account, page by page.
async fn count_cases(app: &TestApp) -> usize {
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let page = app
            .ok(
                Method::GET,
                &format!("/api/v1/cases?limit=200{cursor}"),
                None,
            )
            .await;
        count += page["items"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return count,
        }
    }
}

/// What one customer's sender saw: it sends messages one after another
/// (so their order is defined), each message's text being its id, and
/// sends a refused message again, as a messenger does.
#[derive(Debug, Default)]
struct Sent {
    customer: String,
    /// The acknowledged messages, in the order they were acknowledged.
    acked: Vec<String>,
    /// The message in flight when the sender stopped: no answer came (the
    /// server died), or it was still being refused.
    pending: Option<String>,
    /// How long each `503 unavailable` answer took.
    refused: Vec<Duration>,
    /// Anything else: other statuses, timeouts.
    unexpected: Vec<String>,
}

/// Customers writing to a channel until told to stop.
struct Load {
    progress: Arc<Progress>,
    senders: Vec<tokio::task::JoinHandle<Sent>>,
}

/// What the senders of a [`Load`] share.
#[derive(Default)]
struct Progress {
    stop: AtomicBool,
    acked: AtomicUsize,
    refused: AtomicUsize,
    /// Every unexpected answer, to say why a wait failed.
    problems: std::sync::Mutex<Vec<String>>,
}

/// Longest a request may take before the client gives up: far longer than
/// any answer should take, short enough to report a hang as one.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

impl Load {
    fn start(base: &str, channel: &str, inbound_token: &str, customers: usize) -> Load {
        let http = reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .expect("client");
        let url = format!("{base}/api/v1/channels/{channel}/inbound");
        let progress = Arc::new(Progress::default());
        let senders = (0..customers)
            .map(|c| {
                let (http, url) = (http.clone(), url.clone());
                let (token, progress) = (inbound_token.to_owned(), Arc::clone(&progress));
                tokio::spawn(async move {
                    send_until_stopped(&http, &url, &token, format!("k{c}"), &progress).await
                })
            })
            .collect();
        Load { progress, senders }
    }

    fn acked(&self) -> usize {
        self.progress.acked.load(Ordering::SeqCst)
    }

    fn refused(&self) -> usize {
        self.progress.refused.load(Ordering::SeqCst)
    }

    /// Waits until `done` holds, for at most `secs` seconds.
    async fn wait_until(&self, secs: u64, what: &str, done: impl Fn(&Load) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(self) {
            let stuck = self.senders.iter().all(|s| s.is_finished());
            assert!(
                Instant::now() < deadline && !stuck,
                "{what} did not happen within {secs} s ({} acknowledged, {} refused; senders \
                 {}stopped; unexpected answers: {:?})",
                self.acked(),
                self.refused(),
                if stuck { "" } else { "not " },
                self.progress
                    .problems
                    .lock()
                    .map(|p| p.clone())
                    .unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the senders (each finishes its request) and returns what they saw.
    async fn finish(self) -> Vec<Sent> {
        self.progress.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for s in self.senders {
            all.push(s.await.expect("sender"));
        }
        all
    }
}

/// One customer's messages, one after another, until `progress` says stop
/// or the server is gone (or answers what it should not).
async fn send_until_stopped(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    customer: String,
    progress: &Progress,
) -> Sent {
    let mut sent = Sent {
        customer,
        ..Sent::default()
    };
    let mut i = 0;
    while !progress.stop.load(Ordering::SeqCst) {
        let id = format!("{}-{i}", sent.customer);
        sent.pending = Some(id.clone());
        let started = Instant::now();
        let answer = http
            .post(url)
            .bearer_auth(token)
            .json(&json!({"type": "message", "message_id": id,
                "customer": {"id": sent.customer}, "text": id}))
            .send()
            .await;
        let answer = match answer {
            Ok(r) => (r.status(), r.text().await.unwrap_or_default()),
            Err(e) if e.is_timeout() => {
                sent.unexpected
                    .push(format!("{id}: no answer in {CLIENT_TIMEOUT:?}"));
                break;
            }
            // The server is gone.
            Err(_) => break,
        };
        match answer {
            (StatusCode::OK, _) => {
                sent.acked.push(id);
                sent.pending = None;
                progress.acked.fetch_add(1, Ordering::SeqCst);
                i += 1;
            }
            (StatusCode::SERVICE_UNAVAILABLE, body) if is_unavailable(&body) => {
                sent.refused.push(started.elapsed());
                progress.refused.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (status, body) => {
                sent.unexpected.push(format!("{id}: {status} {body}"));
                break;
            }
        }
    }
    if let Ok(mut p) = progress.problems.lock() {
        p.extend(sent.unexpected.iter().cloned());
    }
    sent
}

fn is_unavailable(body: &str) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|v| v["error"]["code"] == "unavailable")
}

/// Delivers `id` of `customer` once more; the answer must be 200. Returns
/// the case and the outcome.
async fn redeliver(app: &Client, customer: &str, id: &str) -> (String, String) {
    let r = app
        .http
        .post(format!(
            "{}/api/v1/channels/{}/inbound",
            app.base, app.channel
        ))
        .bearer_auth(&app.inbound_token)
        .json(
            &json!({"type": "message", "message_id": id, "customer": {"id": customer},
            "text": id}),
        )
        .send()
        .await
        .expect("redelivery");
    assert_eq!(r.status(), StatusCode::OK, "redelivering {id}");
    let v: Value = r.json().await.expect("json");
    (s(&v["case_id"]), s(&v["outcome"]))
}

/// A client of a server, in-process or not.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    channel: String,
    inbound_token: String,
}

impl Client {
    fn of(app: &TestApp) -> Client {
        Client {
            http: app.http.clone(),
            base: app.base.clone(),
            token: app.token.clone(),
            channel: app.channel_id.clone(),
            inbound_token: app.inbound_token.clone(),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(CLIENT_TIMEOUT)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The texts' first words (the senders' message ids) of a case's
    /// customer messages, in the order listed.
    async fn texts(&self, case_id: &str) -> Vec<String> {
        let (st, v) = self.get(&format!("/api/v1/cases/{case_id}/messages")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["author"]["type"] == "customer" && m["kind"] == "message")
            .map(|m| {
                s(&m["text"])
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// After the fault: each sender's pending message, delivered again, is
    /// stored once; its acknowledged messages were stored once, in order;
    /// and every customer has one chat.
    async fn check_stored_once_in_order(&self, sent: &[Sent]) {
        for sender in sent {
            let name = &sender.customer;
            let mut expected = sender.acked.clone();
            let mut case_id = None;
            if let Some(pending) = &sender.pending {
                let (case, outcome) = redeliver(self, name, pending).await;
                assert!(
                    ["created", "appended", "duplicate"].contains(&outcome.as_str()),
                    "{name}: {pending} → {outcome}"
                );
                let (again, outcome) = redeliver(self, name, pending).await;
                assert_eq!(
                    (&again, outcome.as_str()),
                    (&case, "duplicate"),
                    "{pending}"
                );
                expected.push(pending.clone());
                case_id = Some(case);
            }
            if let Some(last) = sender.acked.last() {
                let (case, outcome) = redeliver(self, name, last).await;
                assert_eq!(outcome, "duplicate", "{name}: acknowledged {last} was lost");
                case_id = Some(case);
            }
            let Some(case_id) = case_id else { continue };
            let texts = self.texts(&case_id).await;
            assert_eq!(
                texts, expected,
                "{name}: the acknowledged messages, each once, in order"
            );
        }
        let (st, list) = self.get("/api/v1/cases?limit=200").await;
        assert_eq!(st, StatusCode::OK, "{list}");
        let with_messages = sent
            .iter()
            .filter(|s| !s.acked.is_empty() || s.pending.is_some())
            .count();
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(with_messages),
            "one chat per customer"
        );
    }
}

async fn acknowledged_messages_survive_kill_9(backend: Backend) {
    let db = Database::fresh(backend).await;
    let mut server = Process::start(&db).await;
    let http = reqwest::Client::new();
    let (_, channel, inbound_token) = login_and_channel(&http, &server.base).await;
    let load = Load::start(&server.base, &channel, &inbound_token, 8);
    load.wait_until(30, "300 acknowledged messages", |l| l.acked() >= 300)
        .await;
    server.signal("KILL");
    server.wait(10);
    let sent = load.finish().await;
    for s in &sent {
        assert!(
            s.unexpected.is_empty(),
            "{}: {:?}",
            s.customer,
            s.unexpected
        );
        assert!(s.refused.is_empty(), "{}: refused under load", s.customer);
    }

    let mut server = Process::start(&db).await;
    let token = login(&http, &server.base).await;
    let client = Client {
        http,
        base: server.base.clone(),
        token,
        channel,
        inbound_token,
    };
    client.check_stored_once_in_order(&sent).await;
    server.signal("TERM");
    assert!(server.wait(30).success());
}

/// How long a request may wait while the database is down before it is
/// answered 503: not a hang (a messenger's webhook gives up after seconds).
const UNAVAILABLE_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_under_load_answers_503_then_serves_again() {
    let cluster = Cluster::start();
    let app = TestApp::spawn_in(Database::at(cluster.url()), |_, _| {}).await;
    let client = Client::of(&app);
    let load = Load::start(&app.base, &app.channel_id, &app.inbound_token, 4);
    load.wait_until(30, "40 acknowledged messages", |l| l.acked() >= 40)
        .await;

    cluster.stop();
    // The requests cut off by the stop are refused at once; the next ones
    // wait for a connection that cannot be made, and are refused too.
    load.wait_until(40, "eight 503 answers while PostgreSQL is down", |l| {
        l.refused() >= 8
    })
    .await;
    let asked = Instant::now();
    let (st, v) = client.get("/api/v1/cases").await;
    assert!(
        asked.elapsed() < UNAVAILABLE_WITHIN,
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        (st, &v["error"]["code"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable")),
        "an agent's request while PostgreSQL is down: {v}"
    );
    let healthz = reqwest::get(format!("{}/healthz", app.base))
        .await
        .expect("healthz");
    assert_eq!(healthz.status(), StatusCode::OK, "the process itself is up");

    cluster.start_again();
    let before = load.acked();
    load.wait_until(60, "40 more acknowledged messages after the restart", |l| {
        l.acked() >= before + 40
    })
    .await;
    let sent = load.finish().await;
    for s in &sent {
        assert!(
            s.unexpected.is_empty(),
            "{}: {:?}",
            s.customer,
            s.unexpected
        );
        let slowest = s.refused.iter().max().copied().unwrap_or_default();
        assert!(
            slowest < UNAVAILABLE_WITHIN,
            "{}: a 503 took {slowest:?}; the server should refuse, not hang",
            s.customer
        );
    }
    client.check_stored_once_in_order(&sent).await;
    app.stop().await;
    drop(cluster);
}

/// A PostgreSQL cluster of one test, which it may stop and start: the
/// machine's shared server is never touched. Run as the `postgres` user
/// when the test runs as root (initdb refuses root); removed on drop.
struct Cluster {
    dir: tempfile::TempDir,
    started: bool,
}

/// The cluster listens on a Unix socket in its own directory and on no TCP
/// port, so no port has to be found free (and nothing can take it between
/// a stop and a start); the port number only names the socket file.
const CLUSTER_SOCKET_PORT: u16 = 5432;

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("casedesk-pg-")
            .tempdir()
            .expect("temp dir");
        let mut cluster = Cluster {
            dir,
            started: false,
        };
        if running_as_root() {
            let chowned = std::process::Command::new("chown")
                .arg("postgres:")
                .arg(cluster.dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                chowned,
                "cannot give the cluster's directory to the postgres user"
            );
        }
        let data = cluster.data();
        assert!(
            cluster.run(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8"
                ]
            ),
            "initdb failed (the test runs PostgreSQL's binaries from `pg_config --bindir`)"
        );
        cluster.started = cluster.pg_ctl_start();
        assert!(
            cluster.started,
            "the private PostgreSQL cluster did not start"
        );
        cluster
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@localhost/postgres?host={}&port={CLUSTER_SOCKET_PORT}",
            self.dir.path().display()
        )
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl_start(&self) -> bool {
        let options = format!(
            "-p {CLUSTER_SOCKET_PORT} -k {} -c listen_addresses='' -c shared_buffers=16MB",
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    /// A clean, fast stop: connections are cut, sessions end.
    fn stop(&self) {
        let stopped = self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        assert!(stopped, "pg_ctl stop failed");
    }

    fn start_again(&self) {
        assert!(
            self.pg_ctl_start(),
            "the private PostgreSQL cluster did not start again"
        );
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let bin = pg_bindir().join(tool);
        let mut command = if running_as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            std::process::Command::new(bin)
        };
        command
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.started {
            self.run(
                "pg_ctl",
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
            );
        }
    }
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn pg_bindir() -> std::path::PathBuf {
    std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(o.stdout.trim_ascii()).into_owned())
        .unwrap_or_else(|| "/usr/lib/postgresql/15/bin".into())
        .into()
}

/// Size of the file system the disk-full test fills: once the filler is
/// gone, room for the database and its WAL with every message of the test
/// (64 of them of 100 kB, [`LargeMessages`]).
const DISK_FULL_SIZE: &str = "32m";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_disk_full_answers_503_and_recovers() {
    let fs = Tmpfs::mount(DISK_FULL_SIZE);
    let path = fs.path().join("casedesk.db");
    let db = Database::at(format!("sqlite://{}", path.display()));
    let app = TestApp::spawn_in(db, |_, _| {}).await;
    let client = Client::of(&app);
    let padding = "x".repeat(16 * 1024);
    let say = |id: String| {
        let text = format!("{id} {padding}");
        let app = &app;
        async move {
            app.inbound(json!({"type": "message", "message_id": id,
                "customer": {"id": "filler"}, "text": text}))
                .await
        }
    };
    let mut acked = Vec::new();
    for i in 0..5 {
        let (st, v) = say(format!("f{i}")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        acked.push(format!("f{i}"));
    }
    let case_id = s(&say("f0".into()).await.1["case_id"]);

    let filler = fs.fill();
    // Writes go on into the space SQLite already holds, then fail.
    let mut refused = None;
    for i in 5..2000 {
        let id = format!("f{i}");
        let (st, v) = say(id.clone()).await;
        if st != StatusCode::OK {
            refused = Some((id, st, v));
            break;
        }
        acked.push(id);
    }
    let (first_refused, st, v) = refused.expect("the file system never filled up");
    assert_eq!(
        (st, &v["error"]["code"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable")),
        "a write on a full disk: {v}"
    );
    let others = LargeMessages::send_on_a_full_disk(&app).await;
    let (st, v) = client.get(&format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(
        st,
        StatusCode::OK,
        "reads go on while the disk is full: {v}"
    );

    std::fs::remove_file(&filler).expect("remove the filler");
    // Delivered again, what was refused is stored once; new messages too.
    for id in [first_refused, "after".to_owned()] {
        let (st, v) = say(id.clone()).await;
        assert_eq!(st, StatusCode::OK, "{id} after space was freed: {v}");
        assert_eq!(v["outcome"], "appended", "{id}");
        let (_, v) = say(id.clone()).await;
        assert_eq!(v["outcome"], "duplicate", "{id}");
        acked.push(id);
    }
    others.check_after_recovery(&app, &client).await;
    assert_eq!(
        client.texts(&case_id).await,
        acked,
        "each message once, in order"
    );
    app.stop().await;

    let conn = rusqlite::Connection::open(&path).expect("open the database");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    drop(conn);
    drop(fs);
}

/// Large messages of many customers at once on a full disk: write batches
/// larger than SQLite's page cache, which then fail inside a statement
/// (where SQLite may roll the whole transaction back by itself) rather than
/// at the commit.
struct LargeMessages {
    /// One message per customer, the customer's id its id.
    ids: Vec<String>,
    acked: std::collections::HashSet<String>,
}

impl LargeMessages {
    /// Sends them three times, as a messenger retries what was refused:
    /// each is acknowledged or refused with a 503, nothing else.
    async fn send_on_a_full_disk(app: &TestApp) -> LargeMessages {
        let mut sent = LargeMessages {
            ids: (0..64).map(|c| format!("large{c}")).collect(),
            acked: Default::default(),
        };
        for _ in 0..3 {
            let answers = futures::future::join_all(sent.ids.iter().map(|id| Self::send(app, id)));
            for (id, (st, v)) in sent.ids.iter().zip(answers.await) {
                match st {
                    StatusCode::OK => {
                        sent.acked.insert(id.clone());
                    }
                    StatusCode::SERVICE_UNAVAILABLE if is_unavailable(&v.to_string()) => {}
                    _ => panic!("{id} on a full disk: {st} {v}"),
                }
            }
        }
        sent
    }

    async fn send(app: &TestApp, id: &str) -> (StatusCode, Value) {
        let text = format!("{id} {}", "y".repeat(99_000));
        app.inbound(
            json!({"type": "message", "message_id": id, "customer": {"id": id},
            "text": text}),
        )
        .await
    }

    /// With room again: an acknowledged message was stored, a refused one
    /// was not (and now is, once).
    async fn check_after_recovery(&self, app: &TestApp, client: &Client) {
        for id in &self.ids {
            let (st, v) = Self::send(app, id).await;
            assert_eq!(st, StatusCode::OK, "{id}: {v}");
            if self.acked.contains(id) {
                assert_eq!(
                    v["outcome"], "duplicate",
                    "{id} was acknowledged, then lost"
                );
            } else {
                assert_eq!(v["outcome"], "created", "{id} was refused, yet stored");
            }
            let texts = client.texts(&s(&v["case_id"])).await;
            assert_eq!(texts, [id.as_str()], "{id}");
        }
    }
}

/// A small file system of one test (`mount -t tmpfs`, so it needs root),
/// unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let failed = match &out {
            Ok(o) if o.status.success() => return Tmpfs { dir },
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        panic!(
            "the disk-full test mounts a {size} tmpfs and needs root for it \
             (mount -t tmpfs tmpfs {}): {failed}",
            dir.path().display()
        );
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes a file until the file system is full; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 64 << 10];
        loop {
            match file.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => return path,
                Err(e) => panic!("filling the file system: {e}"),
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmount = |lazy: bool| {
            let mut c = std::process::Command::new("umount");
            if lazy {
                c.arg("-l");
            }
            c.arg(self.dir.path()).status().is_ok_and(|s| s.success())
        };
        // Lazily when something still holds a file open (a failed test).
        if !unmount(false) {
            unmount(true);
        }
    }
}
