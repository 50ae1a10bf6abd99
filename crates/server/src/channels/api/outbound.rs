//! The `api` channel's outbound side: one attempt at POSTing a queued
//! reply to the channel's `webhook_url`, signed with its inbound token
//! (`X-Casedesk-Signature`), through the guarded client of
//! [`webhook`](super::webhook). The outbox worker decides what the
//! outcome means (retry, dead letter).

use std::time::Duration;

use casedesk_store::{ChannelRecord, OutboxItem};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::webhook;
use crate::AppState;
use crate::channels::Attempt;

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// `sha256=<hex>` of the body keyed with the channel's inbound token.
pub fn signature(key: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs a delivery to the channel's URL as it is now, not as it was when
/// the reply was queued: an admin who fixes a wrong URL fixes what is
/// waiting too.
pub async fn attempt(app: &AppState, channel: &ChannelRecord, item: &OutboxItem) -> Attempt {
    let Some(url) = channel.webhook_url.as_deref() else {
        return Attempt::Cancelled("the channel has no webhook_url any more".into());
    };
    // An IP literal never reaches the client's resolver: check it here, as
    // the setting may have changed since the URL was saved.
    let url = match webhook::check_url(url, app.webhook_allow_private) {
        Ok(url) => url,
        Err(why) => return Attempt::Failed(format!("webhook_url {url}: {why}")),
    };
    let sent = app
        .http
        .post(url)
        .timeout(DELIVERY_TIMEOUT)
        .header("content-type", "application/json")
        .header(
            "x-casedesk-signature",
            signature(&channel.inbound_token, &item.body),
        )
        .header("x-casedesk-delivery", &item.id)
        .body(item.body.clone())
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return Attempt::Failed(webhook::error_chain(&e)),
    };
    let status = response.status();
    if status.is_success() {
        Attempt::Delivered
    } else if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(|l| format!(" to {l}"))
            .unwrap_or_default();
        Attempt::Failed(format!(
            "receiver answered {status}{to}: redirects are not followed; set webhook_url to the \
             final address"
        ))
    } else {
        Attempt::Failed(format!("receiver answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
