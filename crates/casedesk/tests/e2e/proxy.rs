//! Several servers behind a real reverse proxy (docs/scaling.md): three
//! `casedesk serve` processes on one PostgreSQL database with NATS, behind
//! Debian's nginx running the deployment's own configuration
//! (deploy/nginx.conf). A visitor's message posted through one server
//! reaches an agent's event stream on another; a server killed with
//! `kill -9` under load loses no acknowledged message, and its stream's
//! client reconnects through the proxy and catches up by `Last-Event-ID`.
//!
//! nginx listens on a Unix socket in the test's directory: no port is
//! picked, so none can be taken in between. It is installed by
//! scripts/test when missing; without it this test fails, never skips.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::live::{Sent, messages_of, nats_url, place, take_event};

const NGINX: &str = "/usr/sbin/nginx";

/// nginx on a Unix socket with the deployment's configuration, in front
/// of `upstreams` (`host:port`).
struct Nginx {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstreams: &[&str]) -> Nginx {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: install Debian's nginx (scripts/test does when run as root)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display().to_string();
        let deployed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx.conf");
        let site = std::fs::read_to_string(&deployed).expect("deploy/nginx.conf");
        let mut lines = Vec::new();
        let mut servers_written = false;
        for line in site.lines() {
            if line.trim_start().starts_with("server 127.0.0.1:") {
                if !servers_written {
                    for u in upstreams {
                        lines.push(format!("    server {u} max_fails=1 fail_timeout=5s;"));
                    }
                    servers_written = true;
                }
            } else if line.trim() == "listen 80;" {
                lines.push(format!("    listen unix:{d}/nginx.sock;"));
            } else {
                lines.push(line.to_owned());
            }
        }
        assert!(
            servers_written,
            "deploy/nginx.conf lists no upstream server"
        );
        std::fs::write(dir.path().join("casedesk.conf"), lines.join("\n")).expect("site");
        let top = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             # Which server answered, for the test.\n\
             add_header X-Upstream $upstream_addr always;\n\
             include {d}/casedesk.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), top).expect("nginx.conf");
        let child = std::process::Command::new(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .spawn()
            .expect("nginx starts");
        Nginx { child, dir }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("nginx.sock")
    }

    /// Waits until nginx accepts connections.
    async fn ready(&mut self) {
        for _ in 0..200 {
            if tokio::net::UnixStream::connect(self.socket()).await.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.path().join("error.log"));
                panic!("nginx exited ({status}): {log:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx did not listen within 10 s");
    }
}

/// One process, no workers (`master_process off`): a kill leaves nothing
/// behind, and as root it needs no `user` who may enter the test's
/// directory.
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests through the proxy's socket.
#[derive(Clone)]
struct Via {
    socket: PathBuf,
}

impl Via {
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Response<Incoming>, String> {
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "help.example");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let bytes = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let request = request.body(Full::new(bytes)).map_err(|e| e.to_string())?;
        sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))
    }

    /// A whole call: status, the server that answered, the JSON body.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, String, Value), String> {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some(b) = bearer.as_deref() {
            headers.push(("authorization", b));
        }
        let response = self.send(method, path, &headers, body.as_ref()).await?;
        let status = response.status();
        let upstream = upstream_of(&response);
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, upstream, value))
    }

    async fn ok(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
        let (status, _, v) = self
            .call(method, path, token, Some(body))
            .await
            .expect("through the proxy");
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    /// An agent's event stream through the proxy, resuming after
    /// `last_event_id`: the server it landed on, and the stream.
    async fn events(&self, token: &str, last_event_id: Option<&str>) -> (String, Events) {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![("authorization", bearer.as_str())];
        if let Some(id) = last_event_id {
            headers.push(("last-event-id", id));
        }
        let response = self
            .send("GET", "/api/v1/events", &headers, None)
            .await
            .expect("stream");
        assert_eq!(response.status(), StatusCode::OK);
        (
            upstream_of(&response),
            Events {
                body: response.into_body(),
                buffer: String::new(),
            },
        )
    }
}

fn upstream_of(response: &Response<Incoming>) -> String {
    response
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// An event stream read through the proxy.
struct Events {
    body: Incoming,
    buffer: String,
}

impl Events {
    /// The next event; `Err` when the stream ended or broke (its server
    /// went away), or after 20 s without one.
    async fn next(&mut self) -> Result<Sent, String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(event) = take_event(&mut self.buffer) {
                return Ok(event);
            }
            // Heartbeats come every 15 s: the deadline is the event's.
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return Err("no event within 20 s".into()),
                Ok(None) => return Err("the stream ended".into()),
                Ok(Some(Err(e))) => return Err(format!("the stream broke: {e}")),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }
}

/// Starts `casedesk serve` on `db` with NATS, as the deployment runs it.
async fn server(db: &Database) -> Process {
    Process::start_with(db, |c| {
        c.env("CASEDESK_NATS_URL", nats_url())
            .env("CASEDESK_CLIENT_IP_HEADER", "X-Real-IP");
    })
    .await
}

/// Posts customer messages through the proxy until `stop`, each retried
/// (same message id) until acknowledged, as a channel's client does;
/// records each acknowledged message's stored id.
async fn load(
    via: Via,
    channel: String,
    token: String,
    worker: usize,
    acked: Arc<tokio::sync::watch::Sender<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let path = format!("/api/v1/channels/{channel}/inbound");
    for n in 0.. {
        let body = json!({"type": "message", "message_id": format!("w{worker}-{n}"),
            "customer": {"id": format!("customer-{}", n % 10)}, "text": format!("message {worker}/{n}")});
        let mut tries = 0;
        loop {
            match via
                .call("POST", &path, Some(&token), Some(body.clone()))
                .await
            {
                Ok((StatusCode::OK, _, v)) => {
                    acked.send_modify(|acked| acked.push(s(&v["message_id"])));
                    break;
                }
                // A server killed mid-request: 502 from the proxy, or the
                // connection cut. The same message id again.
                Ok((status, _, v)) if status.is_server_error() => {
                    tracing_note(&format!("{status} {v}"));
                }
                Ok((status, _, v)) => panic!("inbound refused: {status} {v}"),
                Err(e) => tracing_note(&e),
            }
            tries += 1;
            assert!(tries < 100, "message w{worker}-{n} was never acknowledged");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
    }
}

fn tracing_note(what: &str) {
    eprintln!("proxy test: retrying after {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_behind_nginx_share_live_updates_and_survive_kill_9() {
    let db = Database::fresh(Backend::Postgres).await;
    // One at a time: the first creates the schema and the admin.
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(server(&db).await);
    }
    let upstreams: Vec<String> = servers
        .iter()
        .map(|p| p.base.trim_start_matches("http://").to_owned())
        .collect();
    let mut nginx = Nginx::start(&upstreams.iter().map(String::as_str).collect::<Vec<_>>());
    nginx.ready().await;
    let via = Via {
        socket: nginx.socket(),
    };
    let login = via
        .ok(
            "POST",
            "/api/v1/auth/login",
            None,
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    let token = s(&login["token"]);

    // A visitor's messages, each through whichever server the proxy picks,
    // reach the agent's stream on one of them.
    let (on, mut stream) = via.events(&token, None).await;
    assert!(upstreams.contains(&on), "the stream's server: `{on}`");
    let widget = via
        .ok(
            "POST",
            "/api/v1/channels",
            Some(&token),
            json!({"kind": "widget", "name": "Site chat", "allowed_origins": []}),
        )
        .await;
    let ch = s(&widget["id"]);
    let visitor = via
        .ok(
            "POST",
            &format!("/api/v1/widget/{ch}/visitors"),
            None,
            json!({}),
        )
        .await;
    let visitor = s(&visitor["visitor_token"]);
    let mut posted = Vec::new();
    let mut elsewhere = 0;
    for i in 0..6 {
        let (status, upstream, v) = via
            .call(
                "POST",
                &format!("/api/v1/widget/{ch}/messages"),
                Some(&visitor),
                Some(json!({"text": format!("hello {i}")})),
            )
            .await
            .expect("visitor message");
        assert!(status.is_success(), "{status} {v}");
        elsewhere += usize::from(upstream != on);
        posted.push(s(&v["message"]["id"]));
    }
    assert!(
        elsewhere > 0,
        "round robin sent every message to the stream's server"
    );
    let mut seen: Vec<Sent> = Vec::new();
    while !posted.iter().all(|m| messages_of(&seen).contains(m)) {
        match stream.next().await {
            Ok(event) => seen.push(event),
            Err(e) => panic!("{e}; the stream had {seen:#?}"),
        }
    }
    assert_eq!(messages_of(&seen), posted, "each once, in order");

    // Under load, the stream's server is killed.
    let channel = via
        .ok(
            "POST",
            "/api/v1/channels",
            Some(&token),
            json!({"kind": "api", "name": "Messenger"}),
        )
        .await;
    let acked = Arc::new(tokio::sync::watch::Sender::new(Vec::new()));
    let mut acked_rx = acked.subscribe();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            tokio::spawn(load(
                via.clone(),
                s(&channel["id"]),
                s(&channel["inbound_token"]),
                w,
                Arc::clone(&acked),
                Arc::clone(&stop),
            ))
        })
        .collect();
    let acked_now = || acked.borrow().len();
    let mut last_id = seen.last().map(|e| e.id.clone()).expect("an event");
    while acked_now() < 100 {
        let event = stream.next().await.expect("events under load");
        last_id = event.id.clone();
        seen.push(event);
    }
    let victim = upstreams.iter().position(|u| *u == on).expect("the server");
    servers[victim].signal("KILL");
    let status = servers[victim].wait(10);
    assert!(!status.success(), "killed: {status}");
    // The stream breaks; its client comes back through the proxy with the
    // last id it had, and lands on a server still running.
    let broke = loop {
        match stream.next().await {
            Ok(event) => {
                last_id = event.id.clone();
                seen.push(event);
            }
            Err(e) => break e,
        }
    };
    let (now_on, mut stream) = via.events(&token, Some(&last_id)).await;
    assert_ne!(now_on, on, "reconnected to the killed server ({broke})");
    tokio::time::timeout(
        Duration::from_secs(60),
        acked_rx.wait_for(|acked| acked.len() >= 300),
    )
    .await
    .expect("300 messages acknowledged within 60 s")
    .expect("the load runs");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("the load stops")
            .expect("a load worker");
    }
    let acked: Vec<String> = acked.borrow().clone();
    let wanted: HashSet<&String> = acked.iter().collect();
    loop {
        let got: HashSet<String> = messages_of(&seen).into_iter().collect();
        if wanted.iter().all(|m| got.contains(*m)) {
            break;
        }
        match stream.next().await {
            Ok(event) => seen.push(event),
            Err(e) => {
                let missing: Vec<_> = wanted.iter().filter(|m| !got.contains(**m)).collect();
                panic!(
                    "{e}; {} acknowledged messages never came: {missing:?}",
                    missing.len()
                );
            }
        }
    }
    let messages = messages_of(&seen);
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for m in &messages {
        *counts.entry(m).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events sent twice: {twice:?}");
    let ids: Vec<&str> = seen.iter().map(|e| e.id.as_str()).collect();
    assert!(
        ids.windows(2).all(|w| place(w[0]) < place(w[1])),
        "ids grow across the reconnect"
    );

    // Stored once each: the channel's cases count exactly the acknowledged
    // messages.
    let (status, _, cases) = via
        .call(
            "GET",
            &format!("/api/v1/cases?channel_id={}&limit=100", s(&channel["id"])),
            Some(&token),
            None,
        )
        .await
        .expect("cases");
    assert_eq!(status, StatusCode::OK, "{cases}");
    let stored: i64 = cases["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["message_count"].as_i64().expect("message_count"))
        .sum();
    assert_eq!(
        stored as usize,
        acked.len(),
        "every acknowledged message, once"
    );
    drop(nginx);
}
