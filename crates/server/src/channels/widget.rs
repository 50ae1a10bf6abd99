//! The `widget` channel, the web chat: visitors and their tokens, the
//! host site's signed user ids, the ids of a visitor's messages,
//! per-visitor rate limits and which sites may use a channel (the HTTP
//! side of that is the HTTP edge's CORS layer).
//!
//! A visitor is a customer of a `widget` channel. Their bearer token is a
//! random secret stored only as its SHA-256, so one visitor can never read
//! another's conversation. Messages from the widget are routed exactly like
//! any inbound message (R6) and reactions like any reaction (R10): the
//! widget's HTTP routes hand them to [`receive_message`] and
//! [`receive_reaction`].

use std::time::Duration;

use axum::http::StatusCode;
use casedesk_domain::{AuthorType, ChannelKind, MessageKind};
use casedesk_store::{
    AttachmentRecord, ChannelRecord, CustomerRecord, StoreError, VisitorRecord, read, write,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::limits::Rate;
use crate::usecases::inbound::{self, InboundMessage, InboundReaction, InboundResult};
use crate::util::{new_id, new_secret, sha256_hex};
use crate::{App, AppState};

/// A visitor token unused this long stops working (the widget then starts
/// a new anonymous visitor; a signed user gets their conversation back).
pub const VISITOR_IDLE: chrono::Duration = chrono::Duration::days(180);
/// Messages, uploads and reactions a visitor may send.
pub const MESSAGES: Rate = Rate {
    max: 10,
    window: Duration::from_secs(10),
    refusal: "too many messages at once; wait a moment",
};
/// Longest user id or name a host site may pass.
pub(crate) const MAX_USER_FIELD: usize = 200;

/// Counts one message, upload or reaction of a visitor against
/// [`MESSAGES`]: per customer, so a signed user's devices share one budget.
pub async fn count_message(app: &AppState, customer_id: &str) -> Result<(), AppError> {
    let key = format!("visitor-messages:{customer_id}");
    app.limits.hit(&key, &MESSAGES).await
}

/// Longest idempotency key the widget may send.
pub const MAX_CLIENT_ID: usize = 100;

/// The widget's id of a visitor's message (its idempotency key), or a
/// new one when it sent none.
pub fn client_id(given: Option<String>) -> Result<String, AppError> {
    match given {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_CLIENT_ID
                && id.chars().all(|c| c.is_ascii_graphic()) =>
        {
            Ok(id)
        }
        Some(_) => Err(AppError::field_length(
            "client_id",
            1,
            100,
            "client_id must be 1 to 100 printable ASCII characters",
        )),
        None => Ok(new_id()),
    }
}

/// A visitor's message, routed like any inbound message (R6). Its id is
/// the widget's client id in the visitor's own namespace, so a retried
/// post is stored once; a file that came with a message already received
/// is not kept twice.
pub async fn receive_message(
    app: &AppState,
    channel_id: &str,
    customer: &CustomerRecord,
    client_id: String,
    text: String,
    attachment: Option<AttachmentRecord>,
) -> Result<InboundResult, AppError> {
    let channel = match widget_channel(app, channel_id).await {
        Ok(c) => c,
        Err(e) => {
            if let (Some(file), Some(files)) = (&attachment, &app.files) {
                files.discard(file).await;
            }
            return Err(e);
        }
    };
    inbound::receive_message(
        app,
        channel,
        InboundMessage {
            // One namespace per visitor: their ids never collide with others'.
            message_id: format!("widget:{}:{}", sha256_hex(&customer.id), client_id),
            customer_id: customer.external_id.clone(),
            customer_name: customer.name.clone(),
            customer_language: None,
            text,
            attachments: attachment.into_iter().collect(),
        },
    )
    .await
}

/// The page a visitor writes from as agents see it: an http(s) URL's
/// origin and path, without credentials, query or fragment (they may hold
/// tokens), at most 500 characters; `None` for anything else.
pub fn page_of(raw: &str) -> Option<String> {
    let url = reqwest::Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let page = format!("{}{}", url.origin().ascii_serialization(), url.path());
    (page.chars().count() <= 500).then_some(page)
}

/// A visitor's reaction (R10). From the widget a visitor reacts to agents'
/// replies in their own cases, nothing else: not to notes, system lines or
/// their own messages.
pub async fn receive_reaction(
    app: &AppState,
    channel_id: &str,
    customer: CustomerRecord,
    message_id: String,
    emoji: String,
) -> Result<InboundResult, AppError> {
    let (account_id, customer_id, target) = (
        customer.account_id.clone(),
        customer.id.clone(),
        message_id.clone(),
    );
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let unknown = || AppError::not_found("reacted message");
            let m = tx
                .get_message(&account_id, &target)
                .await
                .map_err(|_| unknown())?;
            let case = tx.get_case(&account_id, &m.case_id).await?;
            if case.customer_id != customer_id
                || m.kind != MessageKind::Message
                || m.author_type != AuthorType::Agent
            {
                return Err(unknown());
            }
            Ok(())
        })
    })
    .await?;
    let channel = widget_channel(app, channel_id).await?;
    inbound::receive_reaction(
        app,
        channel,
        InboundReaction {
            customer_id: customer.external_id,
            target_message_id: message_id,
            emoji,
        },
    )
    .await
}

/// Whether a page of `origin` may use the channel's widget.
pub fn origin_allowed(channel: &ChannelRecord, origin: &str) -> bool {
    channel.allowed_origins.is_empty() || channel.allowed_origins.iter().any(|o| o == origin)
}

/// `hex(HMAC-SHA256(channel secret, user_id))`, what the host site's
/// backend computes to vouch for a logged-in user.
pub fn user_hash(secret: &str, user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The widget channel `channel_id`, or 404 for anything else.
pub async fn widget_channel(app: &AppState, channel_id: &str) -> Result<ChannelRecord, AppError> {
    let id = channel_id.to_owned();
    let channel = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.find_channel(&id).await })
    })
    .await?;
    let channel = channel
        .filter(|c| c.kind == ChannelKind::Widget)
        .ok_or_else(|| AppError::not_found("widget channel"))?;
    super::takes_in(&channel)?;
    Ok(channel)
}

/// Who the host site says the visitor is.
#[derive(Debug, Clone, Default)]
pub struct VisitorClaim {
    pub user_id: Option<String>,
    pub user_hash: Option<String>,
    pub name: Option<String>,
    /// The signed user's e-mail, signed together with the user id.
    pub email: Option<String>,
}

pub(crate) fn clean(field: &str, v: Option<String>) -> Result<Option<String>, AppError> {
    let v = v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if let Some(s) = &v
        && (s.chars().count() > MAX_USER_FIELD || s.chars().any(char::is_control))
    {
        return Err(AppError::field_length(
            field,
            0,
            MAX_USER_FIELD,
            format!(
                "{field} must be at most {MAX_USER_FIELD} characters without control characters"
            ),
        ));
    }
    Ok(v)
}

/// Creates a visitor of the channel and returns its token (shown once).
/// Anonymous visitors get a customer of their own; a user id signed by the
/// host site (`user_hash`) is the same customer on every device.
pub async fn create_visitor(
    app: &App,
    channel: ChannelRecord,
    claim: VisitorClaim,
) -> Result<(String, CustomerRecord), AppError> {
    let name = clean("name", claim.name)?;
    let user_id = clean("user_id", claim.user_id)?;
    let email = claim
        .email
        .filter(|e| !e.trim().is_empty())
        .map(|e| crate::auth::normalize_email(&e))
        .transpose()?;
    if email.is_some() && user_id.is_none() {
        return Err(AppError::invalid_as(
            "email_needs_signed_user",
            "email is taken only from a signed user (with user_id and user_hash)",
        ));
    }
    let external_id = match &user_id {
        Some(user_id) => {
            let given = claim.user_hash.unwrap_or_default();
            let signed = match &email {
                Some(email) => format!("{user_id}\n{email}"),
                None => user_id.clone(),
            };
            let want = user_hash(&channel.inbound_token, &signed);
            if !bool::from(
                given
                    .trim()
                    .to_ascii_lowercase()
                    .as_bytes()
                    .ct_eq(want.as_bytes()),
            ) {
                return Err(AppError::new(
                    StatusCode::UNAUTHORIZED,
                    "bad_signature",
                    "user_hash is not the HMAC-SHA256 of user_id (and \\n and email, when given) \
                     with this channel's secret",
                ));
            }
            format!("user:{user_id}")
        }
        None => format!("visitor:{}", new_id()),
    };
    let token = new_secret();
    let token_hash = sha256_hex(&token);
    let clock = app.clock.clone();
    let customer = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let mut customer = tx
                .upsert_customer_locked(&CustomerRecord {
                    id: new_id(),
                    account_id: channel.account_id.clone(),
                    channel_id: channel.id.clone(),
                    external_id,
                    name,
                    email: None,
                    latest_case_id: None,
                    created_at: at,
                    language: None,
                    person_id: None,
                    page: None,
                })
                .await?;
            if email.is_some() && email != customer.email {
                tx.set_customer_email(&customer.account_id, &customer.id, email.as_deref())
                    .await?;
                customer.email = email;
            }
            tx.insert_visitor(&VisitorRecord {
                token_hash,
                account_id: channel.account_id.clone(),
                channel_id: channel.id.clone(),
                customer_id: customer.id.clone(),
                created_at: at,
                last_seen_at: at,
            })
            .await?;
            Ok(customer)
        })
    })
    .await?;
    Ok((token, customer))
}

/// The visitor a token stands for, in the channel it was made for.
pub async fn visitor_of(
    app: &App,
    channel_id: &str,
    token: Option<&str>,
) -> Result<(VisitorRecord, CustomerRecord), AppError> {
    let unauthorized = || AppError::unauthorized("missing or unknown visitor token");
    let token = token
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or_else(unauthorized)?;
    let hash = sha256_hex(token);
    let found = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let Some(v) = tx.find_visitor(&hash).await? else {
                return Ok(None);
            };
            let customer = tx.get_customer(&v.account_id, &v.customer_id).await?;
            Ok(Some((v, customer)))
        })
    })
    .await?;
    let (visitor, customer) = found
        .filter(|(v, _)| v.channel_id == channel_id)
        .ok_or_else(unauthorized)?;
    let at = app.clock.now();
    if at - visitor.last_seen_at > VISITOR_IDLE {
        return Err(unauthorized());
    }
    // The last-seen day is written at most once a day per token.
    if at - visitor.last_seen_at > chrono::Duration::days(1) {
        let hash = visitor.token_hash.clone();
        write::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.touch_visitor(&hash, at).await })
        })
        .await?;
    }
    Ok((visitor, customer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_origin_and_path_only() {
        assert_eq!(
            page_of("https://user:pw@Shop.Example:443/checkout/step-2?token=secret#pay").as_deref(),
            Some("https://shop.example/checkout/step-2")
        );
        assert_eq!(
            page_of("http://localhost:3000/").as_deref(),
            Some("http://localhost:3000/")
        );
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "not a url",
            "",
            "data:text/html,x",
        ] {
            assert_eq!(page_of(bad), None, "{bad}");
        }
        let long = format!("https://shop.example/{}", "a".repeat(600));
        assert_eq!(page_of(&long), None);
    }

    #[test]
    fn user_hash_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            user_hash("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
