//! `TestApp`: a real casedesk server on port 0 over a fresh database of
//! either backend, with typed helpers for the calls tests make.
//!
//! Servers started here run on a [`ManualClock`]: time stands still until
//! a test moves it ([`TestApp::advance`]), and the workers' due work
//! (chat deadlines, rule timers, webhook deliveries) is done when the test
//! asks ([`TestApp::run_due_work`]). A test proves that something did not
//! happen yet by moving the clock to just before its time and running the
//! due work, never by sleeping (docs/testing.md). The browser tests'
//! server keeps the system's clock, as Chromium does
//! ([`TestApp::spawn_on_system_clock`]).

use std::sync::Arc;
use std::time::Duration;

use casedesk_server::clock::{Clock, ManualClock};
use casedesk_store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_url() -> String {
    std::env::var("CASEDESK_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A directory of a test: a temporary one, removed with it, or one that
/// belongs to something else (a backup the test made).
pub struct Dir {
    path: std::path::PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Dir {
    pub fn temp() -> Dir {
        let temp = tempfile::tempdir().expect("temp dir");
        Dir {
            path: temp.path().to_owned(),
            _temp: Some(temp),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// Where a test's database lives, so a test can restart a server on it.
pub struct Database {
    pub url: String,
    /// The attachments directory, kept across restarts like the database.
    pub files: Dir,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl Database {
    pub async fn fresh(backend: Backend) -> Database {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("casedesk.db").display());
                Database {
                    url,
                    files: Dir::temp(),
                    _dir: Some(dir),
                    schema: None,
                }
            }
            Backend::Postgres => {
                let schema = format!("e2e_{}_{}", std::process::id(), uuid_like());
                let base = postgres_url();
                let sep = if base.contains('?') { '&' } else { '?' };
                Database {
                    url: format!("{base}{sep}schema={schema}"),
                    files: Dir::temp(),
                    _dir: None,
                    schema: Some(schema),
                }
            }
        }
    }

    /// A database the test set up itself at `url` (a private PostgreSQL
    /// cluster, a small file system), with a temporary attachments
    /// directory; the database is left as it is when this is dropped.
    pub fn at(url: String) -> Database {
        Database {
            url,
            files: Dir::temp(),
            _dir: None,
            schema: None,
        }
    }

    /// A database and attachments directory the test does not own (a
    /// restored backup): nothing is removed when it is dropped.
    pub fn existing(url: String, files: &std::path::Path) -> Database {
        Database {
            url,
            files: Dir {
                path: files.to_owned(),
                _temp: None,
            },
            _dir: None,
            schema: None,
        }
    }

    /// The PostgreSQL schema of a fresh test database.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        casedesk::open_store(&self.url).await.unwrap_or_else(|e| {
            panic!(
                "cannot open the test database {} ({e}); the PostgreSQL suite needs a running \
                 server (set CASEDESK_TEST_DATABASE_URL)",
                self.url
            )
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(schema) = self.schema.take() {
            // Best effort: a leftover schema only costs disk space.
            let _ = std::process::Command::new("psql")
                .arg(postgres_url())
                .arg("-qc")
                .arg(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A running server.
pub struct Server {
    pub base: String,
    /// The server's state, for running its due work; dropped on stop.
    app: Option<casedesk_server::App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// A server on `clock`.
    pub async fn start(db: &Database, clock: &Clock) -> Server {
        Server::start_with(db, clock, |_, _| {}).await
    }

    /// A server on `clock` whose configuration `tweak` changes, given the
    /// server's own address (for `public_url`). It listens on a port the
    /// kernel picked, bound before the server starts: nothing else can
    /// take it meanwhile.
    pub async fn start_with(
        db: &Database,
        clock: &Clock,
        tweak: impl FnOnce(&mut casedesk_server::Config, &str),
    ) -> Server {
        let store = db.open().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let mut config = casedesk_server::Config {
            admin_email: Some(ADMIN_EMAIL.into()),
            admin_password: Some(ADMIN_PASSWORD.into()),
            attachments_dir: Some(db.files.path().to_owned()),
            // Test webhook receivers listen on loopback; the address rule
            // itself is tested with this turned off (outbound.rs).
            webhook_allow_private: true,
            clock: clock.clone(),
            ..Default::default()
        };
        tweak(&mut config, &base);
        let server = casedesk_server::Server::new(listener, store, config)
            .await
            .expect("server starts");
        let app = server.app();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server ran");
        });
        Server {
            base,
            app: Some(app),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Runs the work due at the clock's time (chat deadlines, rule timers,
    /// webhook deliveries) to completion.
    pub async fn run_due_work(&self) {
        self.app
            .as_ref()
            .expect("a running server")
            .run_due_work()
            .await
            .expect("the due work ran");
    }

    /// Graceful shutdown, as on SIGTERM.
    pub async fn stop(mut self) {
        self.app.take();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), t)
                .await
                .expect("server stops within 20 s")
                .expect("server task");
        }
    }
}

/// The real binary, `casedesk serve`, as an operator runs it: a separate
/// process on the system's clock.
pub struct Process {
    child: std::process::Child,
    pub base: String,
}

/// What `casedesk serve` prints on standard output once it is ready.
const LISTENING: &str = "casedesk: listening on ";

impl Process {
    /// Starts the binary on `db` on port 0 and returns once it is ready:
    /// the binary prints the address the kernel gave it ([`LISTENING`]),
    /// so no port is guessed and none can be taken in between.
    pub async fn start(db: &Database) -> Process {
        Process::start_with(db, |_| {}).await
    }

    /// [`Process::start`] with changes to the command (its log, its
    /// environment) made by `tweak`.
    pub async fn start_with(
        db: &Database,
        tweak: impl FnOnce(&mut std::process::Command),
    ) -> Process {
        use std::io::BufRead;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_casedesk"));
        command
            .arg("serve")
            .env("CASEDESK_DATABASE_URL", &db.url)
            .env("CASEDESK_LISTEN", "127.0.0.1:0")
            .env("CASEDESK_ATTACHMENTS_DIR", db.files.path())
            .env("CASEDESK_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("CASEDESK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("CASEDESK_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        tweak(&mut command);
        let mut child = command.spawn().expect("casedesk binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (found, address) = oneshot::channel();
        // Reads the output to its end, so the server never blocks on a
        // full pipe; the address is sent on as soon as it is printed.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(base) = line.strip_prefix(LISTENING)
                    && let Some(found) = found.take()
                {
                    let _ = found.send(base.to_owned());
                }
            }
        });
        let base = tokio::time::timeout(Duration::from_secs(60), address)
            .await
            .expect("casedesk serve did not say where it listens within 60 s")
            .expect("casedesk serve exited before listening (see its output above)");
        Process { child, base }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for the process to exit, for at most `secs` seconds.
    pub fn wait(&mut self, secs: u64) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "casedesk did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    /// A test that failed midway leaves no server behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Logs in as the admin at `base`: the token.
pub async fn login(http: &reqwest::Client, base: &str) -> String {
    let v: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    s(&v["token"])
}

/// Logs in as the admin at `base` and creates an `api` channel: the
/// token, the channel's id and its inbound token.
pub async fn login_and_channel(http: &reqwest::Client, base: &str) -> (String, String, String) {
    let token = login(http, base).await;
    let c: Value = http
        .post(format!("{base}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({"kind": "api", "name": "m"}))
        .send()
        .await
        .expect("channel")
        .json()
        .await
        .expect("json");
    (token, s(&c["id"]), s(&c["inbound_token"]))
}

/// A server, its database, a logged-in admin and an `api` channel.
pub struct TestApp {
    pub db: Database,
    pub server: Option<Server>,
    /// The servers' clock: a manual one, which stands still until the test
    /// moves it, unless the app was spawned on the system's.
    pub clock: Clock,
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub channel_id: String,
    pub inbound_token: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_, _| {}).await
    }

    /// [`TestApp::spawn`] with a server configuration `tweak` changes.
    pub async fn spawn_with(
        backend: Backend,
        tweak: impl FnOnce(&mut casedesk_server::Config, &str),
    ) -> TestApp {
        TestApp::spawn_in(Database::fresh(backend).await, tweak).await
    }

    /// A server on `db` (empty), logged in as the admin, with a new `api`
    /// channel.
    pub async fn spawn_in(
        db: Database,
        tweak: impl FnOnce(&mut casedesk_server::Config, &str),
    ) -> TestApp {
        TestApp::spawn_in_on(db, ManualClock::starting_now().into(), tweak).await
    }

    /// A server on the system's clock, for the browser tests: Chromium
    /// counts down by the system's clock, which no test can move.
    #[allow(dead_code, reason = "the browser tests use it; they share this file")]
    pub async fn spawn_on_system_clock(backend: Backend) -> TestApp {
        TestApp::spawn_on_system_clock_with(backend, |_, _| {}).await
    }

    /// [`TestApp::spawn_on_system_clock`] with a configuration `tweak`
    /// changes.
    #[allow(dead_code, reason = "the browser tests use it; they share this file")]
    pub async fn spawn_on_system_clock_with(
        backend: Backend,
        tweak: impl FnOnce(&mut casedesk_server::Config, &str),
    ) -> TestApp {
        TestApp::spawn_in_on(Database::fresh(backend).await, Clock::System, tweak).await
    }

    async fn spawn_in_on(
        db: Database,
        clock: Clock,
        tweak: impl FnOnce(&mut casedesk_server::Config, &str),
    ) -> TestApp {
        let server = Server::start_with(&db, &clock, tweak).await;
        let base = server.base.clone();
        let http = reqwest::Client::new();
        let mut app = TestApp {
            db,
            server: Some(server),
            clock,
            http,
            base,
            token: String::new(),
            channel_id: String::new(),
            inbound_token: String::new(),
        };
        app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (status, channel) = app
            .call(
                Method::POST,
                "/api/v1/channels",
                Some(json!({"kind": "api", "name": "Messenger"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{channel}");
        app.channel_id = s(&channel["id"]);
        app.inbound_token = s(&channel["inbound_token"]);
        app
    }

    /// A server on an existing database (a restored backup), logged in as
    /// the admin and posting to its `api` channel `channel_id`.
    pub async fn spawn_on(db: Database, channel_id: &str, inbound_token: &str) -> TestApp {
        let clock = ManualClock::starting_now().into();
        let server = Server::start(&db, &clock).await;
        let mut app = TestApp {
            db,
            base: server.base.clone(),
            server: Some(server),
            clock,
            http: reqwest::Client::new(),
            token: String::new(),
            channel_id: channel_id.to_owned(),
            inbound_token: inbound_token.to_owned(),
        };
        app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        app
    }

    /// Stops the server, moves the clock on by `down_for` while it is
    /// down, and starts a new one on the same database.
    pub async fn restart(&mut self, down_for: Duration) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self.advance(down_for);
        let server = Server::start(&self.db, &self.clock).await;
        self.base = server.base.clone();
        self.server = Some(server);
    }

    /// Moves the servers' clock forward by `d`. Nothing that falls due
    /// happens until [`TestApp::run_due_work`] (or a worker woken by the
    /// move) does it.
    pub fn advance(&self, d: Duration) {
        match &self.clock {
            Clock::Manual(clock) => clock.advance(d),
            Clock::System => panic!("this app runs on the system's clock, which tests cannot move"),
        }
    }

    /// The servers' time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Runs the server's work due at the clock's time to completion: when
    /// it returns, every chat deadline, rule timer and webhook delivery
    /// due by then has fired (or failed and been put off), and nothing
    /// due later has.
    pub async fn run_due_work(&self) {
        self.server
            .as_ref()
            .expect("a running server")
            .run_due_work()
            .await;
    }

    /// [`TestApp::advance`], then [`TestApp::run_due_work`].
    pub async fn advance_and_run(&self, d: Duration) {
        self.advance(d);
        self.run_due_work().await;
    }

    /// Logs in, waiting out a full hashing queue (503) as a client should.
    pub async fn login(&self, email: &str, password: &str) -> String {
        for _ in 0..60 {
            let (status, body) = self
                .raw(
                    Method::POST,
                    "/api/v1/auth/login",
                    None,
                    Some(json!({"email": email, "password": password})),
                )
                .await;
            if status == StatusCode::SERVICE_UNAVAILABLE {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            assert_eq!(status, StatusCode::OK, "login failed: {body}");
            return s(&body["token"]);
        }
        panic!("the server stayed too busy to log in");
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// A request with raw `body` bytes (a file) as the logged-in admin.
    pub async fn raw_bytes(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// A call as the logged-in admin.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.raw(method, path, Some(&self.token), body).await
    }

    /// A call that must succeed; returns its body.
    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "{method} {path} answered {status}: {value}"
        );
        value
    }

    /// A widget channel allowing `origins` (every site when empty):
    /// its id and its secret.
    pub async fn widget_channel(&self, origins: &[&str]) -> (String, String) {
        let v = self
            .ok(
                Method::POST,
                "/api/v1/channels",
                Some(json!({"kind": "widget", "name": "Site chat", "allowed_origins": origins})),
            )
            .await;
        (s(&v["id"]), s(&v["inbound_token"]))
    }

    /// A call of the visitor API (`/api/v1/widget/{path}`) with an optional
    /// visitor token, as a page of `origin` makes it (none: not a browser).
    pub async fn widget_call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        origin: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1/widget/{path}", self.base));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("widget request");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }

    /// A visitor's message (`body`) to widget channel `ch`, as the widget
    /// posts it: the status and the answer.
    pub async fn visitor_posts(&self, ch: &str, visitor: &str, body: Value) -> (StatusCode, Value) {
        let (st, _, v) = self
            .widget_call(
                Method::POST,
                &format!("{ch}/messages"),
                Some(visitor),
                None,
                Some(body),
            )
            .await;
        (st, v)
    }

    /// A second, non-admin agent named Ada with the password
    /// `agent-password`, signed in: their id and token.
    pub async fn new_agent(&self, email: &str) -> (String, String) {
        let v = self
            .ok(
                Method::POST,
                "/api/v1/agents",
                Some(json!({"email": email, "name": "Ada", "password": "agent-password"})),
            )
            .await;
        (s(&v["id"]), self.login(email, "agent-password").await)
    }

    /// A new anonymous visitor of widget channel `ch`: their token.
    pub async fn new_visitor(&self, ch: &str) -> String {
        let (st, _, v) = self
            .widget_call(
                Method::POST,
                &format!("{ch}/visitors"),
                None,
                None,
                Some(json!({})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        s(&v["visitor_token"])
    }

    /// POSTs `bytes` as a file to `path` (under `/api/v1`) with a bearer
    /// token: a visitor's or an agent's upload.
    pub async fn upload(&self, path: &str, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}/api/v1/{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .expect("upload");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn inbound(&self, body: Value) -> (StatusCode, Value) {
        self.inbound_to(&self.channel_id, &self.inbound_token, body)
            .await
    }

    /// An inbound event posted to `channel` with `token` as its bearer.
    pub async fn inbound_to(&self, channel: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let path = format!("/api/v1/channels/{channel}/inbound");
        self.raw(Method::POST, &path, Some(token), Some(body)).await
    }

    /// A customer message that must be accepted.
    pub async fn customer_says(&self, customer: &str, message_id: &str, text: &str) -> Value {
        let (status, body) = self
            .inbound(json!({"type": "message", "message_id": message_id,
                "customer": {"id": customer, "name": "Ann"}, "text": text}))
            .await;
        assert_eq!(status, StatusCode::OK, "inbound failed: {body}");
        body
    }

    pub async fn react(&self, customer: &str, target: &str, emoji: &str) -> Value {
        let (status, body) = self
            .inbound(json!({"type": "reaction", "customer": {"id": customer},
                "target_message_id": target, "emoji": emoji}))
            .await;
        assert_eq!(status, StatusCode::OK, "reaction failed: {body}");
        body
    }

    pub async fn case(&self, id: &str) -> Value {
        self.ok(Method::GET, &format!("/api/v1/cases/{id}"), None)
            .await
    }

    pub async fn messages(&self, case_id: &str) -> Vec<Value> {
        let v = self
            .ok(
                Method::GET,
                &format!("/api/v1/cases/{case_id}/messages"),
                None,
            )
            .await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn events(&self, case_id: &str) -> Vec<Value> {
        let v = self
            .ok(
                Method::GET,
                &format!("/api/v1/cases/{case_id}/events"),
                None,
            )
            .await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn finish(&self, case_id: &str, status: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/api/v1/cases/{case_id}/finish"),
            Some(json!({"status": status})),
        )
        .await
    }

    pub async fn reply(&self, case_id: &str, text: &str) -> Value {
        self.ok(
            Method::POST,
            &format!("/api/v1/cases/{case_id}/messages"),
            Some(json!({"text": text, "kind": "reply"})),
        )
        .await
    }

    pub async fn note(&self, case_id: &str, text: &str) -> Value {
        self.ok(
            Method::POST,
            &format!("/api/v1/cases/{case_id}/messages"),
            Some(json!({"text": text, "kind": "note"})),
        )
        .await
    }

    pub async fn list(&self, query: &str) -> Vec<Value> {
        let v = self
            .ok(Method::GET, &format!("/api/v1/cases?{query}"), None)
            .await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// The channel's stored updates (Telegram updates, letters) in `state`.
    pub async fn channel_updates(&self, channel: &str, state: &str) -> Vec<Value> {
        let v = self
            .ok(
                Method::GET,
                &format!("/api/v1/channels/{channel}/updates?state={state}"),
                None,
            )
            .await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn set_timers(&self, after: i64, warning: i64) {
        self.ok(
            Method::PATCH,
            "/api/v1/settings",
            Some(json!({"chat_auto_finish_after_seconds": after,
                "chat_auto_finish_warning_seconds": warning})),
        )
        .await;
    }

    /// `GET /stats` totals of the days around today (UTC), so a test
    /// running at midnight still sees what it just did.
    pub async fn stats_total_today(&self) -> Value {
        let today = self.now().date_naive();
        let path = format!(
            "/api/v1/stats?group_by=day&from={}&to={}",
            today - chrono::Duration::days(1),
            today + chrono::Duration::days(1)
        );
        self.ok(Method::GET, &path, None).await["total"].clone()
    }

    /// Polls a case until `pred` holds, for at most `secs` seconds.
    pub async fn wait_case(&self, id: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let c = self.case(id).await;
            if pred(&c) {
                return c;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "case never reached the expected state: {c}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

/// A JSON string value as `String` (panics with the value otherwise).
pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_owned()
}

/// Generates one test per backend from an async test body taking a backend.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )+};
}
