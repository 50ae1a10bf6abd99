//! Calls to a Bot API server. The token is part of every URL
//! (`/bot<token>/<method>`), so no error this module returns carries a URL
//! or a driver message that could hold one.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::types::{File, Message, Response, Update, User, WebhookInfo};

/// The official Bot API server.
pub const OFFICIAL_API_URL: &str = "https://api.telegram.org";

/// Files the Bot API lets a bot download (larger ones need a local Bot API
/// server).
pub const MAX_DOWNLOAD_BYTES: i64 = 20 * 1024 * 1024;

/// Why a call failed, in the terms the caller acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401/404 on `getMe`: the token is not a bot's.
    #[error("Telegram refused the bot token: {0}")]
    Unauthorized(String),
    /// 429: try again after this many seconds.
    #[error("Telegram asks to wait {0} s")]
    RetryAfter(u64),
    /// 403: the user blocked the bot, or the bot was removed from the chat;
    /// retrying will not help.
    #[error("Telegram refused to deliver: {0}")]
    Forbidden(String),
    /// 400 and other refusals of the request itself.
    #[error("Telegram refused the request: {0}")]
    Refused(String),
    /// The server could not be reached, timed out, or answered 5xx.
    #[error("Telegram is unreachable: {0}")]
    Unavailable(String),
    /// An answer casedesk cannot read.
    #[error("unexpected answer from Telegram: {0}")]
    Protocol(String),
    /// A file over the Bot API's download limit.
    #[error("the file is {0} bytes, over the Bot API's 20 MB download limit")]
    TooLarge(i64),
}

impl ApiError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::RetryAfter(_) | ApiError::Unavailable(_))
    }
}

/// A bot on a Bot API server.
#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What `sendMessage` sends.
#[derive(Debug, Clone, Serialize)]
struct SendMessage<'a> {
    chat_id: i64,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_parameters: Option<ReplyParameters>,
}

#[derive(Debug, Clone, Serialize)]
struct ReplyParameters {
    message_id: i64,
    allow_sending_without_reply: bool,
}

/// Whether `sendPhoto` or `sendDocument` carries a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Photo,
    Document,
}

impl BotApi {
    /// A bot at `base` (e.g. [`OFFICIAL_API_URL`]) with `token`, calling
    /// through `http` (which sets timeouts and the egress proxy).
    pub fn new(http: reqwest::Client, base: &str, token: &str) -> BotApi {
        BotApi {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base, self.token)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<T, ApiError> {
        let sent = self
            .http
            .post(self.url(method))
            .timeout(timeout)
            .json(body)
            .send()
            .await;
        answer(method, sent).await
    }

    pub async fn get_me(&self) -> Result<User, ApiError> {
        self.call("getMe", &serde_json::json!({}), Duration::from_secs(10))
            .await
            .map_err(|e| match e {
                ApiError::Refused(d) | ApiError::Forbidden(d) => ApiError::Unauthorized(d),
                other => other,
            })
    }

    /// Points the bot's updates at `url`, each call carrying
    /// `secret_token` in `X-Telegram-Bot-Api-Secret-Token`.
    pub async fn set_webhook(&self, url: &str, secret_token: &str) -> Result<bool, ApiError> {
        let body = serde_json::json!({
            "url": url,
            "secret_token": secret_token,
            "allowed_updates": crate::types::ALLOWED_UPDATES,
        });
        self.call("setWebhook", &body, Duration::from_secs(10))
            .await
    }

    pub async fn delete_webhook(&self) -> Result<bool, ApiError> {
        self.call(
            "deleteWebhook",
            &serde_json::json!({}),
            Duration::from_secs(10),
        )
        .await
    }

    pub async fn get_webhook_info(&self) -> Result<WebhookInfo, ApiError> {
        self.call(
            "getWebhookInfo",
            &serde_json::json!({}),
            Duration::from_secs(10),
        )
        .await
    }

    /// Long polling: waits up to `wait` for updates from `offset` on.
    pub async fn get_updates(&self, offset: i64, wait: Duration) -> Result<Vec<Update>, ApiError> {
        self.get_updates_raw(offset, wait)
            .await?
            .into_iter()
            .map(|u| {
                serde_json::from_value(u)
                    .map_err(|e| ApiError::Protocol(format!("getUpdates: {e}")))
            })
            .collect()
    }

    /// [`BotApi::get_updates`] as Telegram sent them, unparsed: casedesk
    /// stores each update raw before reading it, so that one it cannot
    /// read is kept (with its error) rather than lost.
    pub async fn get_updates_raw(
        &self,
        offset: i64,
        wait: Duration,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        let body = serde_json::json!({
            "offset": offset,
            "timeout": wait.as_secs(),
            "allowed_updates": crate::types::ALLOWED_UPDATES,
        });
        self.call("getUpdates", &body, wait + Duration::from_secs(10))
            .await
    }

    pub async fn get_file(&self, file_id: &str) -> Result<File, ApiError> {
        let body = serde_json::json!({ "file_id": file_id });
        self.call("getFile", &body, Duration::from_secs(10)).await
    }

    /// Downloads a file `getFile` located, refusing more than
    /// [`MAX_DOWNLOAD_BYTES`] whatever the server claims.
    pub async fn download(&self, file_path: &str) -> Result<Vec<u8>, ApiError> {
        let url = format!("{}/file/bot{}/{file_path}", self.base, self.token);
        let mut response = self
            .http
            .get(url)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(transport)?;
        if !response.status().is_success() {
            return Err(status_error(response.status().as_u16(), None, None));
        }
        if let Some(len) = response.content_length()
            && len > MAX_DOWNLOAD_BYTES as u64
        {
            return Err(ApiError::TooLarge(len as i64));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as i64 > MAX_DOWNLOAD_BYTES {
                return Err(ApiError::TooLarge(bytes.len() as i64));
            }
        }
        Ok(bytes)
    }

    /// Sends text to a chat, as a reply to `reply_to` when given (sent
    /// anyway if that message is gone).
    pub async fn send_message(
        &self,
        chat_id: i64,
        text: &str,
        reply_to: Option<i64>,
    ) -> Result<Message, ApiError> {
        let body = SendMessage {
            chat_id,
            text,
            reply_parameters: reply_to.map(|message_id| ReplyParameters {
                message_id,
                allow_sending_without_reply: true,
            }),
        };
        self.call("sendMessage", &body, Duration::from_secs(30))
            .await
    }

    /// Uploads a file to a chat (`sendPhoto` or `sendDocument`), with an
    /// optional caption.
    pub async fn send_file(
        &self,
        chat_id: i64,
        kind: FileKind,
        filename: &str,
        bytes: Vec<u8>,
        caption: Option<&str>,
    ) -> Result<Message, ApiError> {
        let (method, field) = match kind {
            FileKind::Photo => ("sendPhoto", "photo"),
            FileKind::Document => ("sendDocument", "document"),
        };
        let mut form = reqwest::multipart::Form::new()
            .text("chat_id", chat_id.to_string())
            .part(
                field,
                reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()),
            );
        if let Some(caption) = caption {
            form = form.text("caption", caption.to_owned());
        }
        let sent = self
            .http
            .post(self.url(method))
            .timeout(Duration::from_secs(120))
            .multipart(form)
            .send()
            .await;
        answer(method, sent).await
    }
}

/// A driver error without its URL (which holds the token).
fn transport(e: reqwest::Error) -> ApiError {
    ApiError::Unavailable(e.without_url().to_string())
}

fn status_error(status: u16, description: Option<String>, retry_after: Option<u64>) -> ApiError {
    let description = description.unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        429 => ApiError::RetryAfter(retry_after.unwrap_or(1)),
        401 | 404 => ApiError::Unauthorized(description),
        403 => ApiError::Forbidden(description),
        500.. => ApiError::Unavailable(description),
        _ => ApiError::Refused(description),
    }
}

/// Reads the Bot API's envelope: the result, or the error it states.
async fn answer<T: DeserializeOwned>(
    method: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, ApiError> {
    let response = sent.map_err(transport)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(transport)?;
    match serde_json::from_slice::<Response<T>>(&body) {
        Ok(Response {
            ok: true,
            result: Some(result),
            ..
        }) => Ok(result),
        Ok(r) => Err(status_error(
            r.error_code
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(status),
            r.description,
            r.parameters.and_then(|p| p.retry_after),
        )),
        Err(_) if status >= 400 => Err(status_error(status, None, None)),
        Err(e) => Err(ApiError::Protocol(format!("{method}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_do() {
        assert_eq!(
            status_error(429, Some("Too Many Requests".into()), Some(7)),
            ApiError::RetryAfter(7)
        );
        assert!(matches!(
            status_error(403, Some("bot was blocked by the user".into()), None),
            ApiError::Forbidden(d) if d.contains("blocked")
        ));
        assert!(matches!(
            status_error(502, None, None),
            ApiError::Unavailable(_)
        ));
        assert!(matches!(
            status_error(400, None, None),
            ApiError::Refused(_)
        ));
        assert!(ApiError::RetryAfter(1).is_transient());
        assert!(!ApiError::Forbidden(String::new()).is_transient());
    }

    #[test]
    fn debug_hides_the_token() {
        let api = BotApi::new(reqwest::Client::new(), OFFICIAL_API_URL, "123:secret-token");
        assert!(!format!("{api:?}").contains("secret-token"));
    }

    #[tokio::test]
    async fn a_transport_error_holds_no_token() {
        // A server that hangs up on every connection.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        let api = BotApi::new(reqwest::Client::new(), &base, "123:secret-token");
        let err = api.get_me().await.expect_err("nothing listens");
        assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");
        assert!(!err.to_string().contains("secret-token"), "{err}");
    }
}
