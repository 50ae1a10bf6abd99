//! A fake Bot API server for tests: real HTTP on loopback, speaking the
//! methods casedesk calls (`getMe`, `setWebhook`, `deleteWebhook`,
//! `getWebhookInfo`, `getUpdates`, `getFile` and the file download,
//! `sendMessage`, `sendPhoto`, `sendDocument`). A test queues updates for
//! long polling or delivers them to the webhook (as often and in whatever
//! order it likes), makes the next calls of a method fail (429 with
//! `retry_after`, 403, 500), and reads back what the bot sent.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRequest, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// How the next call of a method fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 429 Too Many Requests with `retry_after` seconds.
    RetryAfter(u64),
    /// 403, as when the user blocked the bot.
    Blocked,
    /// 500.
    Down,
}

/// What the bot sent to a chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub method: String,
    pub chat_id: i64,
    pub text: Option<String>,
    pub reply_to: Option<i64>,
    pub filename: Option<String>,
    pub bytes: Option<Vec<u8>>,
}

#[derive(Default)]
struct Inner {
    token: String,
    webhook: Option<(String, String)>,
    queue: Vec<Value>,
    sent: Vec<Sent>,
    files: HashMap<String, Vec<u8>>,
    failures: HashMap<String, VecDeque<Failure>>,
    calls: Vec<String>,
    /// The `offset` of every `getUpdates` call, in order.
    offsets: Vec<i64>,
    /// Where webhook calls really go (a reverse proxy's backend): the
    /// origin replaces that of the URL casedesk set.
    webhook_origin: Option<String>,
    next_message_id: i64,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    queued: Arc<Notify>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The fake server, listening until dropped.
pub struct FakeBotApi {
    base: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
    http: reqwest::Client,
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The bot every fake server is.
pub const BOT_ID: i64 = 7_000_001;
pub const BOT_USERNAME: &str = "casedesk_test_bot";

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn refused(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (status, Json(body)).into_response()
}

fn failure(f: &Failure) -> Response {
    match f {
        Failure::RetryAfter(s) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too Many Requests: retry after {s}"),
            Some(json!({"retry_after": s})),
        ),
        Failure::Blocked => refused(
            StatusCode::FORBIDDEN,
            "Forbidden: bot was blocked by the user",
            None,
        ),
        Failure::Down => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            None,
        ),
    }
}

impl FakeBotApi {
    /// Starts a fake server on a loopback port the kernel picks, for the
    /// bot with `token`.
    pub async fn start(token: &str) -> FakeBotApi {
        let shared = Shared {
            inner: Arc::new(Mutex::new(Inner {
                token: token.to_owned(),
                next_message_id: 1000,
                ..Inner::default()
            })),
            queued: Arc::new(Notify::new()),
        };
        let app = Router::new()
            .route("/{bot}/{method}", post(method))
            .route("/file/{bot}/{*path}", get(download))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Bot API");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeBotApi {
            base,
            shared,
            task,
            http: reqwest::Client::new(),
        }
    }

    /// The address to give casedesk (`CASEDESK_TELEGRAM_API_URL`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Queues an update for `getUpdates`.
    pub fn queue(&self, update: Value) {
        self.shared.lock().queue.push(update);
        self.shared.queued.notify_waiters();
    }

    /// Posts an update to the webhook casedesk set, with its secret (or
    /// `secret` instead, to test a wrong one); the webhook's status.
    pub async fn deliver_with(&self, update: &Value, secret: Option<&str>) -> StatusCode {
        let (mut url, own) = self
            .shared
            .lock()
            .webhook
            .clone()
            .expect("casedesk set a webhook");
        if let Some(origin) = self.shared.lock().webhook_origin.clone() {
            let path = url
                .splitn(4, '/')
                .nth(3)
                .map(|p| format!("/{p}"))
                .unwrap_or_default();
            url = format!("{}{path}", origin.trim_end_matches('/'));
        }
        let response = self
            .http
            .post(url)
            .header(
                "X-Telegram-Bot-Api-Secret-Token",
                secret.unwrap_or(own.as_str()),
            )
            .json(update)
            .send()
            .await
            .expect("the webhook answers");
        StatusCode::from_u16(response.status().as_u16()).expect("a status")
    }

    pub async fn deliver(&self, update: &Value) -> StatusCode {
        self.deliver_with(update, None).await
    }

    /// Makes `getFile` find `file_id`, and its download return `bytes`.
    pub fn add_file(&self, file_id: &str, bytes: Vec<u8>) {
        self.shared.lock().files.insert(file_id.to_owned(), bytes);
    }

    /// The next call of `method` fails with `failure` (several queue up).
    pub fn fail_next(&self, method: &str, failure: Failure) {
        self.shared
            .lock()
            .failures
            .entry(method.to_owned())
            .or_default()
            .push_back(failure);
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.shared.lock().sent.clone()
    }

    /// Every method called, in order.
    pub fn calls(&self) -> Vec<String> {
        self.shared.lock().calls.clone()
    }

    /// The webhook URL casedesk set, if any.
    /// Delivers webhook calls to `origin` (`http://127.0.0.1:port`)
    /// whatever the host of the URL casedesk set, as a TLS-terminating
    /// reverse proxy in front of casedesk would.
    pub fn route_webhooks_to(&self, origin: &str) {
        self.shared.lock().webhook_origin = Some(origin.to_owned());
    }

    /// The `offset` of each `getUpdates` call so far.
    pub fn offsets(&self) -> Vec<i64> {
        self.shared.lock().offsets.clone()
    }

    pub fn webhook(&self) -> Option<String> {
        self.shared.lock().webhook.clone().map(|w| w.0)
    }
}

async fn fields(headers: &HeaderMap, body: axum::body::Bytes) -> Value {
    let json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        serde_json::from_slice(&body).unwrap_or(json!({}))
    } else {
        json!({})
    }
}

async fn method(
    State(shared): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    {
        let mut inner = shared.lock();
        if bot.strip_prefix("bot") != Some(inner.token.as_str()) {
            return refused(StatusCode::UNAUTHORIZED, "Unauthorized", None);
        }
        inner.calls.push(method.clone());
        if let Some(f) = inner
            .failures
            .get_mut(&method)
            .and_then(VecDeque::pop_front)
        {
            return failure(&f);
        }
    }
    if method == "sendPhoto" || method == "sendDocument" {
        let multipart = match Multipart::from_request(request, &()).await {
            Ok(m) => m,
            Err(_) => return refused(StatusCode::BAD_REQUEST, "Bad Request: no form", None),
        };
        return send_file(&shared, &method, multipart).await;
    }
    let body = match axum::body::to_bytes(request.into_body(), 10 << 20).await {
        Ok(b) => b,
        Err(_) => return refused(StatusCode::BAD_REQUEST, "Bad Request: body", None),
    };
    let p = fields(&headers, body).await;
    match method.as_str() {
        "getMe" => ok(
            json!({"id": BOT_ID, "is_bot": true, "first_name": "Casedesk test",
            "username": BOT_USERNAME}),
        ),
        "setWebhook" => {
            let url = p["url"].as_str().unwrap_or_default().to_owned();
            let secret = p["secret_token"].as_str().unwrap_or_default().to_owned();
            shared.lock().webhook = (!url.is_empty()).then_some((url, secret));
            ok(json!(true))
        }
        "deleteWebhook" => {
            shared.lock().webhook = None;
            ok(json!(true))
        }
        "getWebhookInfo" => {
            let url = shared
                .lock()
                .webhook
                .clone()
                .map(|w| w.0)
                .unwrap_or_default();
            ok(json!({"url": url, "pending_update_count": 0}))
        }
        "getUpdates" => get_updates(&shared, &p).await,
        "getFile" => {
            let id = p["file_id"].as_str().unwrap_or_default();
            match shared.lock().files.get(id) {
                Some(bytes) => ok(json!({"file_id": id, "file_size": bytes.len(),
                    "file_path": format!("files/{id}")})),
                None => refused(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: invalid file_id",
                    None,
                ),
            }
        }
        "sendMessage" => {
            let chat_id = p["chat_id"].as_i64().unwrap_or_default();
            let sent = Sent {
                method,
                chat_id,
                text: p["text"].as_str().map(str::to_owned),
                reply_to: p["reply_parameters"]["message_id"].as_i64(),
                filename: None,
                bytes: None,
            };
            record(&shared, sent)
        }
        _ => refused(StatusCode::NOT_FOUND, "Not Found: method not found", None),
    }
}

fn record(shared: &Shared, sent: Sent) -> Response {
    let mut inner = shared.lock();
    inner.next_message_id += 1;
    let id = inner.next_message_id;
    let chat_id = sent.chat_id;
    inner.sent.push(sent);
    ok(json!({"message_id": id, "date": 0, "chat": {"id": chat_id, "type": "private"}}))
}

async fn send_file(shared: &Shared, method: &str, mut form: Multipart) -> Response {
    let mut sent = Sent {
        method: method.to_owned(),
        chat_id: 0,
        text: None,
        reply_to: None,
        filename: None,
        bytes: None,
    };
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let Ok(bytes) = field.bytes().await else {
            return refused(StatusCode::BAD_REQUEST, "Bad Request: form", None);
        };
        match name.as_str() {
            "chat_id" => sent.chat_id = String::from_utf8_lossy(&bytes).parse().unwrap_or_default(),
            "caption" => sent.text = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "photo" | "document" => {
                sent.filename = filename;
                sent.bytes = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    if sent.bytes.is_none() {
        return refused(StatusCode::BAD_REQUEST, "Bad Request: no file", None);
    }
    record(shared, sent)
}

/// Answers at once when updates from `offset` on are queued, else waits
/// up to `timeout` seconds for one; confirms (drops) those below `offset`.
async fn get_updates(shared: &Shared, p: &Value) -> Response {
    let offset = p["offset"].as_i64().unwrap_or(0);
    shared.lock().offsets.push(offset);
    let wait = Duration::from_secs(p["timeout"].as_u64().unwrap_or(0).min(50));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let notified = shared.queued.notified();
        {
            let mut inner = shared.lock();
            inner
                .queue
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            if !inner.queue.is_empty() {
                return ok(Value::Array(inner.queue.clone()));
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return ok(json!([]));
        }
    }
}

async fn download(
    State(shared): State<Shared>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    let inner = shared.lock();
    if bot.strip_prefix("bot") != Some(inner.token.as_str()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let id = path.strip_prefix("files/").unwrap_or_default();
    match inner.files.get(id) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ApiError, BotApi, FileKind};

    #[tokio::test]
    async fn the_client_against_the_fake() {
        let fake = FakeBotApi::start("1:good").await;
        let bad = BotApi::new(reqwest::Client::new(), fake.base(), "1:bad");
        assert!(matches!(bad.get_me().await, Err(ApiError::Unauthorized(_))));
        let bot = BotApi::new(reqwest::Client::new(), fake.base(), "1:good");
        assert_eq!(
            bot.get_me().await.expect("getMe").username.as_deref(),
            Some(BOT_USERNAME)
        );

        assert!(
            bot.set_webhook("http://127.0.0.1:1/hook", "s3cret")
                .await
                .expect("set")
        );
        assert_eq!(fake.webhook().as_deref(), Some("http://127.0.0.1:1/hook"));

        fake.queue(
            json!({"update_id": 10, "message": {"message_id": 1, "date": 0,
            "chat": {"id": 42, "type": "private"}, "text": "hi"}}),
        );
        fake.queue(
            json!({"update_id": 11, "message": {"message_id": 2, "date": 0,
            "chat": {"id": 42, "type": "private"}, "text": "again"}}),
        );
        let got = bot.get_updates(0, Duration::ZERO).await.expect("updates");
        assert_eq!(
            got.iter().map(|u| u.update_id).collect::<Vec<_>>(),
            [10, 11]
        );
        let got = bot.get_updates(11, Duration::ZERO).await.expect("updates");
        assert_eq!(got.len(), 1, "an offset confirms the earlier ones");
        assert!(
            bot.get_updates(12, Duration::ZERO)
                .await
                .expect("none")
                .is_empty()
        );

        fake.add_file("f1", b"%PDF-1.4".to_vec());
        let file = bot.get_file("f1").await.expect("getFile");
        let bytes = bot
            .download(file.file_path.as_deref().expect("path"))
            .await
            .expect("download");
        assert_eq!(bytes, b"%PDF-1.4");

        fake.fail_next("sendMessage", Failure::RetryAfter(3));
        fake.fail_next("sendMessage", Failure::Blocked);
        assert_eq!(
            bot.send_message(42, "x", None).await,
            Err(ApiError::RetryAfter(3))
        );
        assert!(matches!(
            bot.send_message(42, "x", None).await,
            Err(ApiError::Forbidden(_))
        ));
        bot.send_message(42, "Здравствуйте", Some(2))
            .await
            .expect("sent");
        bot.send_file(
            42,
            FileKind::Document,
            "a.txt",
            b"abc".to_vec(),
            Some("file"),
        )
        .await
        .expect("file sent");
        let sent = fake.sent();
        assert_eq!(sent.len(), 2);
        assert_eq!(
            (sent[0].text.as_deref(), sent[0].reply_to),
            (Some("Здравствуйте"), Some(2))
        );
        assert_eq!(sent[1].filename.as_deref(), Some("a.txt"));
        assert_eq!(sent[1].bytes.as_deref(), Some(&b"abc"[..]));
    }
}
