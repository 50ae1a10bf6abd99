//! Benchmark programs (`casedesk bench …`).
//!
//! Each bench starts a real server in this process, the way `casedesk serve`
//! does, on a fresh database: a new SQLite file in a new temporary
//! directory, or a new schema of the PostgreSQL database named by
//! `--database-url`. It drives the server over loopback HTTP like a
//! messenger would, prints its figures, checks that what the server stored
//! is right (a wrong result exits non-zero), stops the server through its
//! shutdown future and removes what it created.
//!
//! The load generator shares the process and the cores with the server, so
//! the figures are a floor for a server on its own machine.
//!
//! `--database-url` counts only when typed on the command line: the
//! binary's global flag of the same name also carries a default and
//! `CASEDESK_DATABASE_URL`, and a bench must not pick the real database up
//! from the environment.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casedesk_domain::Time;
use casedesk_server::{Config, ServeError};
use casedesk_store::{Deadline, DeadlineKind, Store, StoreError, read, write};
use casedesk_store_postgres::PostgresStore;
use casedesk_store_sqlite::Location;
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, FromArgMatches, Subcommand};
use futures::StreamExt;
use rand::RngCore;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The time by the system's clock: the benchmarks run real servers.
fn now() -> Time {
    casedesk_server::clock::Clock::System.now()
}

mod cluster;
mod limits;
mod logins;
mod reports;
mod simulate;
mod telegram;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Inbound message ingest over loopback HTTP, compared with the raw
    /// single-row durable commit rate of the same database.
    Ingest(IngestArgs),
    /// Many active chats auto-finishing at the same moment.
    Autofinish(AutofinishArgs),
    /// Statistics query times and CSV/XLSX export throughput on a large
    /// seeded history.
    Reports(reports::ReportsArgs),
    /// The auto-finish policy simulator over a million seeded messages,
    /// against the statistics of the same period.
    Simulate(simulate::SimulateArgs),
    /// The server's memory under bursts of parallel wrong logins (argon2
    /// holds ~19 MiB per hash), against its memory after one login.
    Logins(logins::LoginsArgs),
    /// The raw single-row durable commit rate of a database: the yardstick
    /// beside an outside load generator's figures (`scripts/bench-wrk`).
    Raw(RawArgs),
    /// Several servers on one PostgreSQL database with NATS: ingest with
    /// 1, 2, … of them, and how fast a change on one reaches a live client
    /// of another.
    Cluster(cluster::ClusterArgs),
    /// What one limit hit costs in memory, in PostgreSQL (the limits
    /// several servers share) and in NATS KV.
    Limits(limits::LimitsArgs),
}

#[derive(Args)]
pub struct RawArgs {
    #[command(flatten)]
    database: DatabaseArg,
}

#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Customers writing in; each one's messages go to one chat.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    customers: u64,
    /// Messages per customer, sent one after the other.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    messages: u64,
    /// Requests in flight at once (one per customer at most).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: u64,
    /// Also run a fixed-rate phase at this many messages/s (open loop, new
    /// customers); `half` is half the rate the first phase reached.
    #[arg(long)]
    rate: Option<Rate>,
    /// Length of the fixed-rate phase, in seconds.
    #[arg(long, default_value_t = 5.0)]
    rate_seconds: f64,
    /// Enabled automation rules on every customer message, whose condition
    /// (a text no message contains) is evaluated and fails: the cost of
    /// rules on the ingest path.
    #[arg(long, default_value_t = 0)]
    rules: u32,
    /// Where the messages come in: `api` (the inbound webhook, answered
    /// once routed) or `telegram` (Telegram updates posted to a bot's
    /// webhook: stored at once, processed by the update worker).
    #[arg(long, value_enum, default_value_t = IngestChannel::Api)]
    channel: IngestChannel,
    /// Every message from a customer of its own: each one opens a new case
    /// (customers × messages of them), the path that numbers cases.
    #[arg(long)]
    new_cases: bool,
}

/// The channel `bench ingest` sends through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IngestChannel {
    Api,
    Telegram,
}

#[derive(Args)]
pub struct AutofinishArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Active chats whose auto-finish deadlines fall due at the same moment.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    chats: u64,
    /// Requests in flight while the chats are created.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: u64,
}

/// The target of a fixed-rate phase.
#[derive(Debug, Clone, Copy)]
pub enum Rate {
    PerSecond(f64),
    HalfOfMeasured,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Rate, String> {
        if s == "half" {
            return Ok(Rate::HalfOfMeasured);
        }
        match s.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Rate::PerSecond(r)),
            _ => Err(format!("`{s}`: give messages per second (> 0) or `half`")),
        }
    }
}

const DATABASE_ARG: &str = "database_url";

/// The NATS server of the benches of several servers.
#[derive(Args)]
pub struct NatsArg {
    /// The NATS server (`bench limits`: with JetStream, for its key-value
    /// store).
    #[arg(
        long = "nats-url",
        env = "CASEDESK_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    url: String,
}

/// `--database-url` as typed on this command line, if it was.
#[derive(Debug, Clone, Default)]
pub struct DatabaseArg(Option<String>);

impl FromArgMatches for DatabaseArg {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        // The global flag of the binary propagates its default and its
        // environment value here too; only a typed one chooses the database.
        if m.value_source(DATABASE_ARG) != Some(ValueSource::CommandLine) {
            return Ok(DatabaseArg(None));
        }
        let url = m
            .try_get_one::<String>(DATABASE_ARG)
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, e))?
            .cloned();
        Ok(DatabaseArg(url))
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for DatabaseArg {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new(DATABASE_ARG)
                .long("database-url")
                .value_name("URL")
                .help(
                    "Database kind to measure: unset for a new SQLite file in a temporary \
                     directory; sqlite://DIR/NAME.db for a new directory inside DIR; \
                     postgres://… for a new schema there, dropped at the end. \
                     CASEDESK_DATABASE_URL is ignored.",
                ),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

pub async fn run(command: BenchCommand) -> Result<(), String> {
    match command {
        BenchCommand::Ingest(args) => ingest(args).await,
        BenchCommand::Autofinish(args) => autofinish(args).await,
        BenchCommand::Reports(args) => reports::run(args).await,
        BenchCommand::Simulate(args) => simulate::run(args).await,
        BenchCommand::Logins(args) => logins::run(args).await,
        BenchCommand::Cluster(args) => cluster::run(args).await,
        BenchCommand::Limits(args) => limits::run(args).await,
        BenchCommand::Raw(args) => {
            let db = BenchDb::new(&args.database)?;
            println!("casedesk bench raw: {}", db.describe());
            raw_rates(&db, None).await
        }
    }
}

// ------------------------------------------------------------ the database

/// A directory this bench created and removes when dropped, also on errors.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new_in(parent: &Path) -> Result<ScratchDir, String> {
        let name = format!(
            "casedesk-bench-{}-{:08x}",
            std::process::id(),
            rand::rng().next_u32()
        );
        let path = parent.join(name);
        std::fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("casedesk bench: cannot remove {}: {e}", self.0.display());
        }
    }
}

/// Where a bench's fresh database lives.
enum BenchDb {
    Sqlite(ScratchDir),
    /// The server's URL, without any `schema=` parameter.
    Postgres(String),
}

impl BenchDb {
    fn new(arg: &DatabaseArg) -> Result<BenchDb, String> {
        let Some(url) = arg.0.as_deref() else {
            return Ok(BenchDb::Sqlite(ScratchDir::new_in(&std::env::temp_dir())?));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(BenchDb::Postgres(without_schema_param(url)));
        }
        match Location::from_url(url).map_err(|e| e.to_string())? {
            Location::File(path) => {
                let parent = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                    _ => PathBuf::from("."),
                };
                Ok(BenchDb::Sqlite(ScratchDir::new_in(&parent)?))
            }
            Location::Memory => Err("the benches measure durable storage: give a file, not \
                                     sqlite::memory:"
                .into()),
        }
    }

    fn describe(&self) -> String {
        match self {
            BenchDb::Sqlite(dir) => {
                format!("SQLite (WAL, synchronous=FULL) in {}", dir.0.display())
            }
            BenchDb::Postgres(_) => "PostgreSQL, fresh schema".into(),
        }
    }

    /// Opens the fresh database the way `casedesk serve` opens its own.
    async fn open(&self) -> Result<Arc<dyn Store>, String> {
        match self {
            BenchDb::Sqlite(dir) => {
                let url = format!("sqlite://{}", dir.0.join("casedesk.db").display());
                crate::open_store(&url).await.map_err(|e| e.to_string())
            }
            BenchDb::Postgres(url) => {
                let schema = format!(
                    "bench_{}_{:08x}",
                    std::process::id(),
                    rand::rng().next_u32()
                );
                let sep = if url.contains('?') { '&' } else { '?' };
                let store = PostgresStore::connect(&format!("{url}{sep}schema={schema}"))
                    .await
                    .map_err(|e| e.to_string())?
                    .drop_schema_on_close();
                Ok(Arc::new(store))
            }
        }
    }

    /// Single-row INSERTs, one per durable transaction, for `duration`,
    /// from `clients` connections at once (SQLite: one writer whatever
    /// `clients` says).
    async fn raw_commit_rate(&self, duration: Duration, clients: usize) -> Result<f64, String> {
        match self {
            BenchDb::Sqlite(dir) => casedesk_store_sqlite::baseline::single_row_commit_rate(
                &dir.0.join("raw-baseline.db"),
                duration,
            )
            .await
            .map_err(|e| e.to_string()),
            BenchDb::Postgres(url) => {
                casedesk_store_postgres::baseline::single_row_commit_rate(url, duration, clients)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// The bench makes its own schema; one named in the URL is left alone.
fn without_schema_param(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("schema="))
        .collect();
    if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    }
}

// ------------------------------------------------------------- the server

const ADMIN_EMAIL: &str = "bench@example.com";

/// A server running in this process on 127.0.0.1.
struct BenchServer {
    base: String,
    /// The server's own store, for the few checks and set-ups the API has
    /// no call for.
    store: Arc<dyn Store>,
    admin_password: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl BenchServer {
    /// A server on `db`, its configuration changed by `tweak`.
    async fn start_with(
        db: &BenchDb,
        tweak: impl FnOnce(&mut Config),
    ) -> Result<BenchServer, String> {
        BenchServer::start_on(db.open().await?, tweak).await
    }

    /// A server on `store` (opened for it), its configuration changed by
    /// `tweak`.
    async fn start_on(
        store: Arc<dyn Store>,
        tweak: impl FnOnce(&mut Config),
    ) -> Result<BenchServer, String> {
        let bound = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener.local_addr().map(|addr| (listener, addr)),
            Err(e) => Err(e),
        };
        let (listener, addr) = match bound {
            Ok(bound) => bound,
            Err(e) => {
                // Closing drops a PostgreSQL bench schema.
                store.close().await;
                return Err(format!("cannot listen on 127.0.0.1: {e}"));
            }
        };
        let admin_password = format!("bench-{:016x}", rand::rng().next_u64());
        let mut config = Config {
            admin_email: Some(ADMIN_EMAIL.into()),
            admin_password: Some(admin_password.clone()),
            ..Config::default()
        };
        tweak(&mut config);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(casedesk_server::serve(
            listener,
            Arc::clone(&store),
            config,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(BenchServer {
            base: format!("http://{addr}"),
            store,
            admin_password,
            stop,
            task,
        })
    }

    /// Triggers the shutdown future and waits until the server has drained
    /// its requests and closed the store.
    async fn stop(self) -> Result<(), String> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("the server failed: {e}")),
            Err(e) => Err(format!("the server task failed: {e}")),
        }
    }
}

/// Runs `bench` against a fresh server and stops the server whatever the
/// outcome, so a PostgreSQL schema is dropped and files can be removed.
async fn with_server<T>(
    db: &BenchDb,
    bench: impl AsyncFnOnce(&BenchServer) -> Result<T, String>,
) -> Result<T, String> {
    with_server_configured(db, |_| {}, bench).await
}

/// [`with_server`] with a configuration `tweak` changes.
async fn with_server_configured<T>(
    db: &BenchDb,
    tweak: impl FnOnce(&mut Config),
    bench: impl AsyncFnOnce(&BenchServer) -> Result<T, String>,
) -> Result<T, String> {
    let server = BenchServer::start_with(db, tweak).await?;
    let result = bench(&server).await;
    let stopped = server.stop().await;
    let value = result?;
    stopped?;
    Ok(value)
}

fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        // Only loopback: an HTTP(S)_PROXY of the environment must not apply.
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// An agent's view of the API.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn login(http: reqwest::Client, server: &BenchServer) -> Result<Api, String> {
        wait_until_healthy(&http, server).await?;
        let mut api = Api {
            http,
            base: server.base.clone(),
            token: String::new(),
        };
        let body = json!({ "email": ADMIN_EMAIL, "password": server.admin_password });
        let answer = api
            .call(reqwest::Method::POST, "/api/v1/auth/login", Some(body))
            .await?;
        api.token = text_field(&answer, "token")?;
        Ok(api)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{method} {path}: bad JSON: {e}"))
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// A new `api` channel, ready to take inbound messages.
    async fn create_channel(&self) -> Result<Inbound, String> {
        let body = json!({ "kind": "api", "name": "bench" });
        let channel = self
            .call(reqwest::Method::POST, "/api/v1/channels", Some(body))
            .await?;
        Ok(Inbound {
            http: self.http.clone(),
            url: format!(
                "{}/api/v1/channels/{}/inbound",
                self.base,
                text_field(&channel, "id")?
            ),
            authorization: format!("Bearer {}", text_field(&channel, "inbound_token")?),
        })
    }

    /// Every case the list returns for `query`, page by page.
    async fn all_cases(&self, query: &str) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/cases?{query}&limit=200");
            if let Some(c) = &cursor {
                path.push_str("&cursor=");
                path.push_str(c);
            }
            let mut page = self.get(&path).await?;
            match page.get_mut("items").map(Value::take) {
                Some(Value::Array(page_items)) => items.extend(page_items),
                _ => return Err(format!("GET {path}: no items")),
            }
            match page.get("next_cursor").and_then(Value::as_str) {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
    }
}

async fn wait_until_healthy(http: &reqwest::Client, server: &BenchServer) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if server.task.is_finished() {
            return Err("the server stopped while starting".into());
        }
        let url = format!("{}/healthz", server.base);
        if let Ok(r) = http.get(&url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("the server did not answer /healthz within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn text_field(v: &Value, name: &str) -> Result<String, String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("answer without `{name}`: {v}"))
}

// ---------------------------------------------------------- inbound load

/// A messenger posting to one channel's inbound webhook.
#[derive(Clone)]
struct Inbound {
    http: reqwest::Client,
    url: String,
    authorization: String,
}

struct Delivered {
    case_id: String,
    message_id: String,
    outcome: String,
}

impl Inbound {
    async fn send(
        &self,
        customer: &str,
        message_id: &str,
        text: &str,
    ) -> Result<Delivered, String> {
        let body = json!({
            "type": "message",
            "message_id": message_id,
            "customer": { "id": customer },
            "text": text,
        });
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("message {message_id}: {e}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("message {message_id}: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "message {message_id}: {status} {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("message {message_id}: bad JSON: {e}"))?;
        Ok(Delivered {
            case_id: text_field(&answer, "case_id")?,
            message_id: text_field(&answer, "message_id")?,
            outcome: text_field(&answer, "outcome")?,
        })
    }
}

fn customer_id(prefix: &str, customer: usize) -> String {
    format!("{prefix}{customer}")
}

fn message_id(prefix: &str, customer: usize, n: usize) -> String {
    format!("{prefix}{customer}-{n}")
}

fn message_text(customer: usize, n: usize) -> String {
    format!("Message {n} of customer {customer}: hello, I have a question about my order.")
}

/// What a load phase saw, merged over its workers.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    /// From the time a message was due (fixed-rate phase only): includes
    /// waiting for the customer's previous message.
    latencies_from_due: Vec<Duration>,
    errors: usize,
    first_errors: Vec<String>,
    /// The chat each customer's messages went to.
    chats: Vec<(usize, String)>,
}

impl Tally {
    fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_errors.len() < 5 {
            self.first_errors.push(e);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.latencies_from_due.extend(other.latencies_from_due);
        self.errors += other.errors;
        for e in other.first_errors {
            if self.first_errors.len() < 5 {
                self.first_errors.push(e);
            }
        }
        self.chats.extend(other.chats);
    }

    fn check(&self, what: &str) -> Result<(), String> {
        if self.errors == 0 {
            return Ok(());
        }
        Err(format!(
            "{what}: {} messages failed or were misrouted, e.g. {}",
            self.errors,
            self.first_errors.join("; ")
        ))
    }
}

/// One customer's progress through its messages.
struct Turn {
    customer: usize,
    next: usize,
    chat: Option<String>,
}

impl Turn {
    /// Checks the answer to message `next`: the first creates the chat,
    /// every later one is appended to that same chat.
    fn record(&mut self, prefix: &str, delivered: Delivered, tally: &mut Tally) {
        let expected = if self.next == 0 {
            "created"
        } else {
            "appended"
        };
        let mid = message_id(prefix, self.customer, self.next);
        if delivered.outcome != expected {
            tally.error(format!(
                "{mid}: outcome {} instead of {expected}",
                delivered.outcome
            ));
        }
        match &self.chat {
            None => self.chat = Some(delivered.case_id),
            Some(chat) if *chat != delivered.case_id => tally.error(format!(
                "{mid}: went to case {} instead of {chat}",
                delivered.case_id
            )),
            Some(_) => {}
        }
    }
}

struct ClosedLoop {
    elapsed: Duration,
    sent: usize,
    tally: Tally,
}

/// `customers` × `messages` as fast as `concurrency` requests in flight
/// allow. Each customer's messages go in order: a customer waits in a
/// queue while none of its messages is in flight, and a worker takes the
/// next waiting customer, so every worker stays busy and all customers
/// progress evenly until the end.
async fn closed_loop(
    inbound: &Inbound,
    prefix: &'static str,
    customers: usize,
    messages: usize,
    concurrency: usize,
) -> Result<ClosedLoop, String> {
    let queue: VecDeque<Turn> = (0..customers)
        .map(|customer| Turn {
            customer,
            next: 0,
            chat: None,
        })
        .collect();
    let queue = Arc::new(Mutex::new(queue));
    let start = Instant::now();
    let workers: Vec<JoinHandle<Tally>> = (0..concurrency.min(customers))
        .map(|_| {
            let queue = Arc::clone(&queue);
            let inbound = inbound.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while let Some(mut turn) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                    let (c, n) = (turn.customer, turn.next);
                    let sent = Instant::now();
                    let result = inbound
                        .send(
                            &customer_id(prefix, c),
                            &message_id(prefix, c, n),
                            &message_text(c, n),
                        )
                        .await;
                    tally.latencies.push(sent.elapsed());
                    match result {
                        Ok(delivered) => turn.record(prefix, delivered, &mut tally),
                        Err(e) => tally.error(e),
                    }
                    turn.next += 1;
                    if turn.next < messages {
                        if let Ok(mut q) = queue.lock() {
                            q.push_back(turn);
                        }
                    } else if let Some(chat) = turn.chat {
                        tally.chats.push((turn.customer, chat));
                    }
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for w in workers {
        tally.merge(w.await.map_err(|e| format!("a load worker failed: {e}"))?);
    }
    Ok(ClosedLoop {
        elapsed: start.elapsed(),
        sent: customers * messages,
        tally,
    })
}

struct FixedRate {
    customers: usize,
    sent: usize,
    elapsed: Duration,
    tally: Tally,
}

/// Messages due at `rate` per second for `seconds`, sent when due whatever
/// the server's answers (open loop). Message `i` is due at `i / rate` and
/// belongs to customer `i mod customers`; there are enough customers for
/// each to write at most every 50 ms, and a customer still waiting for its
/// previous answer sends late (that wait counts in the latency from due).
async fn fixed_rate(
    inbound: &Inbound,
    prefix: &'static str,
    rate: f64,
    seconds: f64,
) -> Result<FixedRate, String> {
    let total = ((rate * seconds).round() as usize).max(1);
    let customers = ((rate * 0.05).ceil() as usize).clamp(1, total);
    let start = Instant::now() + Duration::from_millis(100);
    let tasks: Vec<JoinHandle<Tally>> = (0..customers)
        .map(|customer| {
            let inbound = inbound.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut turn = Turn {
                    customer,
                    next: 0,
                    chat: None,
                };
                for i in (customer..total).step_by(customers) {
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                    let sent = Instant::now();
                    let result = inbound
                        .send(
                            &customer_id(prefix, customer),
                            &message_id(prefix, customer, turn.next),
                            &message_text(customer, turn.next),
                        )
                        .await;
                    tally.latencies.push(sent.elapsed());
                    tally.latencies_from_due.push(due.elapsed());
                    match result {
                        Ok(delivered) => turn.record(prefix, delivered, &mut tally),
                        Err(e) => tally.error(e),
                    }
                    turn.next += 1;
                }
                if let Some(chat) = turn.chat {
                    tally.chats.push((customer, chat));
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(t.await.map_err(|e| format!("a load task failed: {e}"))?);
    }
    Ok(FixedRate {
        customers,
        sent: total,
        elapsed: start.elapsed(),
        tally,
    })
}

// ---------------------------------------------------------------- figures

struct Spread {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Spread {
    fn of(mut samples: Vec<Duration>) -> Option<Spread> {
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1]
        };
        let max = *samples.last()?;
        Some(Spread {
            p50: at(0.50),
            p99: at(0.99),
            max,
        })
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {}, p99 {}, max {}",
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        )
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

fn spread(samples: &[Duration]) -> String {
    Spread::of(samples.to_vec()).map_or_else(|| "no samples".into(), |s| s.to_string())
}

// ------------------------------------------------------------- CPU usage

/// Where the CPU went during a phase, from Linux's `/proc` (nothing
/// elsewhere): the whole machine, so that a busy neighbour shows, and this
/// process's threads by name, so that a saturated single thread shows.
struct CpuMeter {
    started: Instant,
    machine: Option<MachineTicks>,
    threads: HashMap<String, (String, u64)>,
}

#[derive(Clone, Copy)]
struct MachineTicks {
    busy: u64,
    total: u64,
}

impl CpuMeter {
    fn start() -> CpuMeter {
        CpuMeter {
            started: Instant::now(),
            machine: machine_ticks(),
            threads: thread_runtimes(),
        }
    }

    /// One line: cores busy on the machine and in this process, by thread
    /// group, and CPU time of this process per unit of work.
    fn report(&self, units: usize, unit: &str) -> Option<String> {
        let wall = self.started.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let (before, after) = (self.machine?, machine_ticks()?);
        let machine =
            (after.busy - before.busy) as f64 / (after.total - before.total).max(1) as f64 * cores;
        let mut groups: HashMap<&'static str, f64> = HashMap::new();
        let mut busiest_storage = 0.0f64;
        for (tid, (name, ns)) in thread_runtimes() {
            let spent = ns.saturating_sub(self.threads.get(&tid).map_or(0, |t| t.1)) as f64 / 1e9;
            let group = if name.starts_with("tokio-rt-worker") {
                "tokio"
            } else if name.starts_with("casedesk-sqlite") {
                busiest_storage = busiest_storage.max(spent / wall);
                "sqlite"
            } else {
                "other"
            };
            *groups.entry(group).or_default() += spent / wall;
        }
        let process: f64 = groups.values().sum();
        let sqlite = groups.get("sqlite").copied().unwrap_or(0.0);
        let storage = if sqlite > 0.0 {
            format!(", SQLite threads {sqlite:.2} (busiest {busiest_storage:.2})")
        } else {
            String::new()
        };
        Some(format!(
            "cpu: machine {machine:.2} of {cores:.0} cores busy; this process {process:.2} \
             (tokio workers: HTTP and use cases {:.2}{storage}); {:.0} µs of this process's CPU \
             per {unit}",
            groups.get("tokio").copied().unwrap_or(0.0),
            process * wall / units.max(1) as f64 * 1e6
        ))
    }
}

fn machine_ticks() -> Option<MachineTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …
    let idle = ticks.get(3)? + ticks.get(4)?;
    let total: u64 = ticks.iter().take(8).sum();
    Some(MachineTicks {
        busy: total - idle,
        total,
    })
}

/// Each thread of this process: its name and its CPU time so far, in ns.
fn thread_runtimes() -> HashMap<String, (String, u64)> {
    let mut threads = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return threads;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let runtime = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(ns) = runtime {
            let tid = task.file_name().to_string_lossy().into_owned();
            threads.insert(tid, (name.trim().to_owned(), ns));
        }
    }
    threads
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

// ----------------------------------------------------------------- ingest

/// How long the HTTP ceiling is measured.
const HTTP_CEILING: Duration = Duration::from_secs(2);

struct Ceiling {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Round trips of the cheapest route with the same client and concurrency:
/// what HTTP alone costs on these cores, before any storage. It also opens
/// the connections the ingest then reuses.
async fn http_ceiling(
    api: &Api,
    concurrency: usize,
    duration: Duration,
) -> Result<Ceiling, String> {
    let url = format!("{}/healthz", api.base);
    let start = Instant::now();
    let workers: Vec<JoinHandle<Result<Vec<Duration>, String>>> = (0..concurrency)
        .map(|_| {
            let http = api.http.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while start.elapsed() < duration {
                    let sent = Instant::now();
                    let response = http.get(&url).send().await.map_err(|e| e.to_string())?;
                    let ok = response.status().is_success();
                    response.bytes().await.map_err(|e| e.to_string())?;
                    if !ok {
                        return Err("GET /healthz failed".to_owned());
                    }
                    latencies.push(sent.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(
            w.await
                .map_err(|e| format!("a load worker failed: {e}"))??,
        );
    }
    Ok(Ceiling {
        requests: latencies.len(),
        elapsed: start.elapsed(),
        latencies,
    })
}

/// How long the raw single-row commit baseline runs.
const RAW_BASELINE: Duration = Duration::from_millis(2500);
/// Connections of PostgreSQL's concurrent baseline (pgbench's `-c 16`).
const RAW_CLIENTS: usize = 16;

struct IngestFigures {
    messages_per_second: f64,
}

async fn ingest(args: IngestArgs) -> Result<(), String> {
    if !(args.rate_seconds.is_finite() && args.rate_seconds > 0.0) {
        return Err("--rate-seconds must be above 0".into());
    }
    if args.new_cases && args.channel != IngestChannel::Api {
        return Err("--new-cases is for --channel api".into());
    }
    let db = BenchDb::new(&args.database)?;
    println!(
        "casedesk bench ingest: {}; {} customers × {} messages, {} in flight; load average {}",
        db.describe(),
        args.customers,
        args.messages,
        args.concurrency,
        load_average()
    );
    let figures = match args.channel {
        IngestChannel::Api => {
            with_server(&db, async |server| ingest_phases(server, &args).await).await?
        }
        IngestChannel::Telegram => telegram::ingest(&db, &args).await?,
    };
    // The server is down: the baseline has the disk and the cores to itself.
    raw_rates(&db, Some(figures.messages_per_second)).await
}

/// Prints the raw single-row commit rates of `db` (on PostgreSQL also from
/// 16 connections at once) and, with an ingest rate, its ratio to each.
async fn raw_rates(db: &BenchDb, messages_per_second: Option<f64>) -> Result<(), String> {
    let raw = db.raw_commit_rate(RAW_BASELINE, 1).await?;
    println!(
        "  raw single-row durable commits (1 connection, one INSERT per transaction, {:.1} s): \
         {raw:.0}/s",
        RAW_BASELINE.as_secs_f64()
    );
    if let Some(rate) = messages_per_second {
        println!("  ingest / raw: {:.2}×", rate / raw);
    }
    if matches!(db, BenchDb::Postgres(_)) {
        // The server commits from many connections, and PostgreSQL flushes
        // concurrent commits together: the fair yardstick is pgbench's.
        let clients = RAW_CLIENTS;
        let raw = db.raw_commit_rate(RAW_BASELINE, clients).await?;
        println!(
            "  raw single-row durable commits ({clients} connections at once, as pgbench -c \
             {clients}, {:.1} s): {raw:.0}/s",
            RAW_BASELINE.as_secs_f64()
        );
        if let Some(rate) = messages_per_second {
            println!("  ingest / raw ({clients} connections): {:.2}×", rate / raw);
        }
    }
    Ok(())
}

async fn ingest_phases(server: &BenchServer, args: &IngestArgs) -> Result<IngestFigures, String> {
    let api = Api::login(http_client()?, server).await?;
    let inbound = api.create_channel().await?;
    for i in 0..args.rules {
        let rule = json!({
            "name": format!("bench rule {i}"),
            "trigger": {"type": "customer_message"},
            "conditions": [{"type": "message_contains", "text": "no message says this"}],
            "actions": [{"type": "add_note", "text": "never"}]
        });
        api.call(reqwest::Method::POST, "/api/v1/rules", Some(rule))
            .await?;
    }
    if args.rules > 0 {
        println!(
            "  {} automation rules evaluated on every message",
            args.rules
        );
    }
    // New cases: as many customers as messages, one message each.
    let (customers, messages) = if args.new_cases {
        ((args.customers * args.messages) as usize, 1)
    } else {
        (args.customers as usize, args.messages as usize)
    };
    if args.new_cases {
        println!("  every message from a new customer: {customers} new cases");
    }

    let ceiling = http_ceiling(&api, args.concurrency as usize, HTTP_CEILING).await?;
    println!(
        "  loopback HTTP ceiling (GET /healthz, same client and concurrency, {:.1} s): {:.0} \
         requests/s, latency {}",
        HTTP_CEILING.as_secs_f64(),
        ceiling.requests as f64 / ceiling.elapsed.as_secs_f64(),
        spread(&ceiling.latencies)
    );
    let meter = CpuMeter::start();
    let load = closed_loop(
        &inbound,
        "c",
        customers,
        messages,
        args.concurrency as usize,
    )
    .await?;
    let cpu = meter.report(load.sent, "message");
    load.tally.check("ingest")?;
    let per_second = load.sent as f64 / load.elapsed.as_secs_f64();
    println!(
        "  max throughput: {} messages in {:.3} s = {per_second:.0} messages/s",
        load.sent,
        load.elapsed.as_secs_f64()
    );
    println!("    latency {}", spread(&load.tally.latencies));
    if let Some(cpu) = cpu {
        println!("    {cpu}");
    }

    let mut chats = load.tally.chats;
    let mut expected_messages = load.sent;
    if let Some(rate) = args.rate {
        let rate = match rate {
            Rate::PerSecond(r) => r,
            Rate::HalfOfMeasured => per_second / 2.0,
        };
        let meter = CpuMeter::start();
        let phase = fixed_rate(&inbound, "r", rate, args.rate_seconds).await?;
        let cpu = meter.report(phase.sent, "message");
        phase.tally.check("fixed-rate phase")?;
        println!(
            "  fixed rate {rate:.0} messages/s for {:.1} s ({} new customers): {} sent, {:.0}/s \
             achieved",
            args.rate_seconds,
            phase.customers,
            phase.sent,
            phase.sent as f64 / phase.elapsed.as_secs_f64()
        );
        println!("    latency {}", spread(&phase.tally.latencies));
        println!(
            "    from when due (includes the generator's lag) {}",
            spread(&phase.tally.latencies_from_due)
        );
        if let Some(cpu) = cpu {
            println!("    {cpu}");
        }
        expected_messages += phase.sent;
        chats.extend(phase.tally.chats);
    }

    check_ingested(&api, &chats, expected_messages).await?;
    Ok(IngestFigures {
        messages_per_second: per_second,
    })
}

/// One active chat per customer holding all its messages, and nothing else.
async fn check_ingested(
    api: &Api,
    chats: &[(usize, String)],
    expected_messages: usize,
) -> Result<(), String> {
    let cases = api.all_cases("chat_state=active").await?;
    let all = api.all_cases("").await?;
    let stored: usize = cases
        .iter()
        .map(|c| c.get("message_count").and_then(Value::as_u64).unwrap_or(0) as usize)
        .sum();
    let ids: HashSet<&str> = cases
        .iter()
        .filter_map(|c| c.get("id").and_then(Value::as_str))
        .collect();
    let expected: HashSet<&str> = chats.iter().map(|(_, id)| id.as_str()).collect();
    println!(
        "  check: {} cases ({} active) for {} customers, {stored} messages stored of {expected_messages} sent",
        all.len(),
        cases.len(),
        chats.len()
    );
    if all.len() != chats.len() || ids != expected || expected.len() != chats.len() {
        return Err(format!(
            "expected one active chat per customer ({}), found {} cases, {} of them active",
            chats.len(),
            all.len(),
            cases.len()
        ));
    }
    if stored != expected_messages {
        return Err(format!(
            "{stored} messages stored, {expected_messages} sent"
        ));
    }
    Ok(())
}

// ------------------------------------------------------------- autofinish

/// Deadlines changed per write job.
const DEADLINE_BATCH: usize = 1000;
/// Write jobs in flight while deadlines are changed.
const DEADLINE_JOBS: usize = 4;
/// Cases whose history is read back.
const HISTORY_SAMPLE: usize = 1000;

async fn autofinish(args: AutofinishArgs) -> Result<(), String> {
    let db = BenchDb::new(&args.database)?;
    println!(
        "casedesk bench autofinish: {}; {} chats; load average {}",
        db.describe(),
        args.chats,
        load_average()
    );
    with_server(&db, async |server| autofinish_on(server, &args).await).await
}

async fn autofinish_on(server: &BenchServer, args: &AutofinishArgs) -> Result<(), String> {
    let api = Api::login(http_client()?, server).await?;
    let inbound = api.create_channel().await?;
    let settings = json!({
        "chat_auto_finish_after_seconds": 3600,
        "chat_auto_finish_warning_seconds": 60,
    });
    api.call(reqwest::Method::PATCH, "/api/v1/settings", Some(settings))
        .await?;

    let chats = args.chats as usize;
    let load = closed_loop(&inbound, "a", chats, 1, args.concurrency as usize).await?;
    load.tally.check("creating chats")?;
    println!(
        "  created {chats} active chats over HTTP in {:.1} s ({:.0}/s, latency {})",
        load.elapsed.as_secs_f64(),
        chats as f64 / load.elapsed.as_secs_f64(),
        spread(&load.tally.latencies)
    );
    let case_ids: Vec<String> = load.tally.chats.into_iter().map(|(_, id)| id).collect();
    let account_id = admin_account(&*server.store).await?;

    // The warnings would fire an hour from now anyway; gone, only the
    // finish deadlines are left to fire.
    let started = Instant::now();
    for_batches(&*server.store, &case_ids, |tx, id| {
        Box::pin(async move { tx.delete_deadline(&id, DeadlineKind::Warn).await })
    })
    .await?;
    let one_pass = started.elapsed();
    // Moving the finish deadlines costs about what deleting the warnings
    // did; T leaves room for it, so every deadline is in place before T.
    let lead = (one_pass * 2 + Duration::from_secs(1)).max(Duration::from_secs(3));
    let due_at = now() + chrono::Duration::from_std(lead).map_err(|e| e.to_string())?;
    let account = Arc::new(account_id);
    for_batches(&*server.store, &case_ids, move |tx, id| {
        let account = Arc::clone(&account);
        Box::pin(async move {
            tx.set_deadline(&Deadline {
                case_id: id,
                account_id: account.as_str().to_owned(),
                kind: DeadlineKind::Finish,
                due_at,
            })
            .await
        })
    })
    .await?;
    let ahead = (due_at - now()).to_std().map_err(|_| {
        "moving the deadlines took longer than the lead before T; run again".to_owned()
    })?;
    println!(
        "  all {chats} finish deadlines due at T, {:.1} s after they were set",
        ahead.as_secs_f64()
    );

    let (waited, cpu) = wait_for_deadlines(&*server.store, due_at, chats).await?;
    println!(
        "  no deadline left {:.2} s after T (polled)",
        waited.as_secs_f64()
    );
    if let Some(cpu) = cpu {
        println!("    {cpu}");
    }
    let lateness = check_finished(&api, &case_ids, due_at).await?;
    report_lateness(&lateness, chats);
    check_histories(&api, &case_ids).await
}

async fn admin_account(store: &dyn Store) -> Result<String, String> {
    read::<_, StoreError, _>(store, |tx| {
        Box::pin(async move { tx.find_agent_by_email(ADMIN_EMAIL).await })
    })
    .await
    .map_err(|e| e.to_string())?
    .map(|agent| agent.account_id)
    .ok_or_else(|| "the bench admin is missing".to_owned())
}

type DeadlineChange = Arc<
    dyn for<'t> Fn(
            &'t mut dyn casedesk_store::Tx,
            String,
        ) -> futures::future::BoxFuture<'t, Result<(), StoreError>>
        + Send
        + Sync,
>;

/// Applies `change` to every case, [`DEADLINE_BATCH`] cases per write job.
async fn for_batches<F>(store: &dyn Store, case_ids: &[String], change: F) -> Result<(), String>
where
    F: for<'t> Fn(
            &'t mut dyn casedesk_store::Tx,
            String,
        ) -> futures::future::BoxFuture<'t, Result<(), StoreError>>
        + Send
        + Sync
        + 'static,
{
    let change: DeadlineChange = Arc::new(change);
    let results: Vec<Result<(), StoreError>> =
        futures::stream::iter(case_ids.chunks(DEADLINE_BATCH))
            .map(|chunk| {
                let ids = chunk.to_vec();
                let change = Arc::clone(&change);
                write::<_, StoreError, _>(store, move |tx| {
                    Box::pin(async move {
                        for id in ids {
                            change(&mut *tx, id).await?;
                        }
                        Ok(())
                    })
                })
            })
            .buffer_unordered(DEADLINE_JOBS)
            .collect()
            .await;
    results
        .into_iter()
        .collect::<Result<(), StoreError>>()
        .map_err(|e| format!("changing deadlines failed: {e}"))
}

/// Waits past `due_at` until no deadline due by then is left, i.e. the
/// scheduler fired every one; returns how long after `due_at` that was seen.
async fn wait_for_deadlines(
    store: &dyn Store,
    due_at: Time,
    chats: usize,
) -> Result<(Duration, Option<String>), String> {
    if let Ok(wait) = (due_at - now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    let meter = CpuMeter::start();
    let give_up =
        Instant::now() + Duration::from_secs(60) + Duration::from_millis(chats as u64 * 20);
    loop {
        let next = read::<_, StoreError, _>(store, |tx| {
            Box::pin(async move { tx.next_deadline_at().await })
        })
        .await
        .map_err(|e| e.to_string())?;
        if next.is_none_or(|at| at > due_at) {
            let waited = (now() - due_at)
                .to_std()
                .map_err(|e| format!("clock went back: {e}"))?;
            return Ok((waited, meter.report(chats, "chat")));
        }
        if Instant::now() > give_up {
            return Err("the deadlines did not all fire in time".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every created chat is finished, listed once, with status `open`; returns
/// how late each finished (finished_at − T).
async fn check_finished(
    api: &Api,
    case_ids: &[String],
    due_at: Time,
) -> Result<Vec<Duration>, String> {
    let active = api.all_cases("chat_state=active").await?;
    let finished = api.all_cases("chat_state=finished").await?;
    let created: HashSet<&str> = case_ids.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    let mut statuses: HashMap<String, usize> = HashMap::new();
    let mut lateness = Vec::with_capacity(finished.len());
    let mut problems = Vec::new();
    for case in &finished {
        let id = text_field(case, "id")?;
        if !created.contains(id.as_str()) || !seen.insert(id.clone()) {
            problems.push(format!("case {id} is unexpected or listed twice"));
        }
        *statuses.entry(text_field(case, "status")?).or_default() += 1;
        let at = text_field(case, "finished_at")?;
        let at = chrono::DateTime::parse_from_rfc3339(&at)
            .map_err(|e| format!("case {id}: finished_at {at}: {e}"))?
            .with_timezone(&chrono::Utc);
        match (at - due_at).to_std() {
            Ok(late) => lateness.push(late),
            Err(_) => problems.push(format!("case {id} finished before T")),
        }
    }
    let open = statuses.get("open").copied().unwrap_or(0);
    println!(
        "  check: {} finished ({open} with status open), {} still active, of {} created",
        finished.len(),
        active.len(),
        case_ids.len()
    );
    if !active.is_empty() || seen.len() != created.len() || open != finished.len() {
        problems.push(format!(
            "expected all {} chats finished with status open; statuses {statuses:?}",
            created.len()
        ));
    }
    if problems.is_empty() {
        Ok(lateness)
    } else {
        problems.truncate(5);
        Err(problems.join("; "))
    }
}

fn report_lateness(lateness: &[Duration], chats: usize) {
    let Some(s) = Spread::of(lateness.to_vec()) else {
        return;
    };
    println!(
        "  last chat finished {:.2} s after T: {:.0} chats/s",
        s.max.as_secs_f64(),
        chats as f64 / s.max.as_secs_f64().max(1e-3)
    );
    println!("  lateness (finished_at − T): {s}");
    // At most about 15 buckets, each a whole number of seconds.
    let width = s.max.as_secs() / 15 + 1;
    let mut buckets: Vec<usize> = vec![0; (s.max.as_secs() / width) as usize + 1];
    for late in lateness {
        buckets[(late.as_secs() / width) as usize] += 1;
    }
    let curve: Vec<String> = buckets
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let from = i as u64 * width;
            format!("{from}–{} s: {n}", from + width)
        })
        .collect();
    println!("  finished after T, by time: {}", curve.join(", "));
}

/// A sample of the chats has exactly one `auto_finished` event each.
async fn check_histories(api: &Api, case_ids: &[String]) -> Result<(), String> {
    let sample = rand::seq::index::sample(
        &mut rand::rng(),
        case_ids.len(),
        HISTORY_SAMPLE.min(case_ids.len()),
    );
    let counts: Vec<Result<usize, String>> = futures::stream::iter(sample.iter())
        .map(|i| async move {
            let events = api
                .get(&format!("/api/v1/cases/{}/events", case_ids[i]))
                .await?;
            let items = events
                .get("items")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("case {}: events without items", case_ids[i]))?;
            Ok(items
                .iter()
                .filter(|e| e.get("kind").and_then(Value::as_str) == Some("auto_finished"))
                .count())
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut wrong = 0;
    for c in &counts {
        if *c.as_ref().map_err(String::clone)? != 1 {
            wrong += 1;
        }
    }
    println!(
        "  check: {} sampled histories, {} with exactly one auto_finished event",
        counts.len(),
        counts.len() - wrong
    );
    if wrong > 0 {
        return Err(format!(
            "{wrong} sampled chats do not have exactly one auto_finished event"
        ));
    }
    Ok(())
}
