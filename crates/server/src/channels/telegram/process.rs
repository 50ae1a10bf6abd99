//! What a stored update does, read by the update worker in its chat's
//! order: a customer's message (with its files fetched, an album joined
//! into one message) is routed like any inbound message (R6), an edit
//! changes the stored text, a reaction becomes a note (R10). Groups,
//! channels and service messages are recorded as ignored, with the reason.

use casedesk_store::{AttachmentRecord, ChannelUpdate, StoreError, read};
use casedesk_telegram::client::MAX_DOWNLOAD_BYTES;
use casedesk_telegram::inbound::{Customer, FileRef, IncomingMessage};
use casedesk_telegram::types::Update;
use casedesk_telegram::{ApiError, Inbound, interpret};

use super::Bot;
use crate::AppState;
use crate::channels::{Done, Failed};
use crate::usecases::inbound::{self, InboundMessage, InboundReaction, Outcome};

/// Most album parts joined into one message (Telegram allows 10).
const MAX_ALBUM_PARTS: i64 = 10;

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Failed {
        Failed::again(e.to_string())
    }
}

/// Processes one update of a Telegram channel.
pub async fn process(app: &AppState, bot: &Bot, update: &ChannelUpdate) -> Result<Done, Failed> {
    let parsed: Update = serde_json::from_str(&update.payload)
        .map_err(|e| Failed::again(format!("not an update casedesk can read: {e}")))?;
    match interpret(&parsed) {
        Inbound::Message(m) => message(app, bot, update, m).await,
        Inbound::Edit(m) => edit(app, bot, m).await,
        Inbound::Reaction {
            message_key,
            customer,
            emoji,
            ..
        } => reaction(app, bot, message_key, customer, emoji).await,
        Inbound::Ignored { reason, .. } => Ok(Done::noted(format!("ignored: {reason}"))),
    }
}

/// How a customer is named: "Ann Lee (@ann)".
fn customer_name(c: &Customer) -> Option<String> {
    let name = match &c.username {
        Some(u) if !u.is_empty() => format!("{} (@{u})", c.name.trim()),
        _ => c.name.trim().to_owned(),
    };
    let name: String = name.trim().chars().take(200).collect();
    (!name.is_empty()).then_some(name)
}

/// The customer's language as Telegram reports it (an IETF tag such as
/// `ru` or `pt-br`); anything else is none.
fn language(c: &Customer) -> Option<String> {
    c.language
        .as_deref()
        .map(str::trim)
        .filter(|l| {
            (2..=35).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_ascii_lowercase)
}

/// The further parts of `first`'s album among the chat's pending updates:
/// the parts and their update ids.
async fn album_parts(
    app: &AppState,
    update: &ChannelUpdate,
    group: &str,
) -> Result<(Vec<IncomingMessage>, Vec<i64>), Failed> {
    let (channel, chat, after) = (
        update.channel_id.clone(),
        update.chat_key.clone(),
        update.update_id,
    );
    let later = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.list_pending_chat_updates(&channel, &chat, after, MAX_ALBUM_PARTS)
                .await
        })
    })
    .await?;
    let mut parts = Vec::new();
    let mut ids = Vec::new();
    for u in later {
        let Ok(parsed) = serde_json::from_str::<Update>(&u.payload) else {
            break;
        };
        match interpret(&parsed) {
            Inbound::Message(m) if m.media_group_id.as_deref() == Some(group) => {
                parts.push(m);
                ids.push(u.update_id);
            }
            _ => break,
        }
    }
    Ok((parts, ids))
}

async fn message(
    app: &AppState,
    bot: &Bot,
    update: &ChannelUpdate,
    first: IncomingMessage,
) -> Result<Done, Failed> {
    let (parts, also) = match first.media_group_id.clone() {
        Some(group) => album_parts(app, update, &group).await?,
        None => (Vec::new(), Vec::new()),
    };
    let mut texts: Vec<String> = Vec::new();
    let mut files: Vec<FileRef> = Vec::new();
    for part in std::iter::once(&first).chain(parts.iter()) {
        if !part.text.trim().is_empty() {
            texts.push(part.text.clone());
        }
        files.extend(part.files.iter().cloned());
    }
    // A message with files stored before (its update processed, then
    // delivered again under a new update id) is not fetched again; routing
    // tells any other duplicate by its key.
    if !files.is_empty() {
        let (channel_id, key) = (bot.channel.id.clone(), first.message_key.clone());
        let seen = read::<_, StoreError, _>(&*app.store, move |tx| {
            Box::pin(async move { tx.find_message_by_channel_id(&channel_id, &key).await })
        })
        .await?;
        if seen.is_some() {
            return Ok(Done {
                note: Some("duplicate: this message is stored already".into()),
                also,
            });
        }
    }
    let (attachments, lines) = fetch_files(app, bot, &files).await?;
    texts.extend(lines);
    if first.forwarded && !texts.is_empty() {
        texts.insert(0, "↪ Forwarded".to_owned());
    }
    let mut text = texts.join("\n");
    if text.trim().is_empty() {
        text = files
            .iter()
            .map(|f| format!("📎 {}", f.filename))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let result = inbound::receive_message(
        app,
        bot.channel.clone(),
        InboundMessage {
            message_id: first.message_key.clone(),
            customer_id: first.customer.external_id.clone(),
            customer_name: customer_name(&first.customer),
            customer_language: language(&first.customer),
            text,
            attachments,
        },
    )
    .await?;
    Ok(Done {
        note: (result.outcome == Outcome::Duplicate)
            .then(|| "duplicate: this message is stored already".to_owned()),
        also,
    })
}

/// Fetches a message's files into the attachments store. A file that
/// cannot be fetched for good (over the Bot API's 20 MB, over this
/// server's limit, no attachments kept here) becomes a line of the
/// message saying so; a passing failure fails the update, to be tried
/// again (what was stored so far is removed).
async fn fetch_files(
    app: &AppState,
    bot: &Bot,
    files: &[FileRef],
) -> Result<(Vec<AttachmentRecord>, Vec<String>), Failed> {
    let mut kept = Vec::new();
    let mut lines = Vec::new();
    for file in files {
        match fetch_file(app, bot, file).await {
            Ok(Fetched::Kept(record)) => kept.push(record),
            Ok(Fetched::Skipped(line)) => lines.push(line),
            Err(e) => {
                if let Some(store) = &app.files {
                    for record in &kept {
                        store.discard(record).await;
                    }
                }
                return Err(e);
            }
        }
    }
    Ok((kept, lines))
}

enum Fetched {
    Kept(AttachmentRecord),
    Skipped(String),
}

fn megabytes(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

async fn fetch_file(app: &AppState, bot: &Bot, file: &FileRef) -> Result<Fetched, Failed> {
    let too_large = |size: i64| {
        Fetched::Skipped(format!(
            "[{} ({}) was not fetched: Telegram lets bots download files up to 20 MB]",
            file.filename,
            megabytes(size)
        ))
    };
    let Some(store) = &app.files else {
        return Ok(Fetched::Skipped(format!(
            "[{} was not kept: this server keeps no attachments]",
            file.filename
        )));
    };
    if let Some(size) = file.size.filter(|s| *s > MAX_DOWNLOAD_BYTES) {
        return Ok(too_large(size));
    }
    // What the server would not keep is not downloaded either.
    let over_limit = |size: i64| {
        Fetched::Skipped(format!(
            "[{} ({}) was not kept: over this server's attachment limit of {}]",
            file.filename,
            megabytes(size),
            megabytes(store.max_bytes as i64)
        ))
    };
    if let Some(size) = file.size.filter(|s| *s as u64 > store.max_bytes) {
        return Ok(over_limit(size));
    }
    let located = match bot.api.get_file(&file.file_id).await {
        Ok(f) => f,
        Err(ApiError::TooLarge(size)) => return Ok(too_large(size)),
        // "file is too big": Telegram's refusal of a file over the limit.
        Err(ApiError::Refused(why)) if why.contains("too big") => {
            return Ok(too_large(file.size.unwrap_or(MAX_DOWNLOAD_BYTES + 1)));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(size) = located.file_size.filter(|s| *s > MAX_DOWNLOAD_BYTES) {
        return Ok(too_large(size));
    }
    let Some(path) = located.file_path else {
        return Err(Failed::again(format!(
            "Telegram gave no download path for {}",
            file.filename
        )));
    };
    let bytes = match bot.api.download(&path).await {
        Ok(b) => b,
        Err(ApiError::TooLarge(size)) => return Ok(too_large(size)),
        Err(e) => return Err(e.into()),
    };
    if bytes.len() as u64 > store.max_bytes {
        return Ok(over_limit(bytes.len() as i64));
    }
    if bytes.is_empty() {
        return Ok(Fetched::Skipped(format!("[{} was empty]", file.filename)));
    }
    let record = store
        .keep(
            &app.clock,
            &bot.channel.account_id,
            &file.filename,
            bytes,
            file.content_type.as_deref(),
        )
        .await?;
    Ok(Fetched::Kept(record))
}

async fn edit(app: &AppState, bot: &Bot, m: IncomingMessage) -> Result<Done, Failed> {
    let mut text = m.text.clone();
    if text.trim().is_empty() {
        return Ok(Done::noted("ignored: an edit that leaves no text"));
    }
    if text.chars().count() > crate::usecases::unit::MAX_TEXT_CHARS {
        text = text
            .chars()
            .take(crate::usecases::unit::MAX_TEXT_CHARS)
            .collect();
    }
    let edited = inbound::receive_edit(
        app,
        bot.channel.clone(),
        &m.customer.external_id,
        &m.message_key,
        text,
    )
    .await?;
    Ok(match edited {
        Some(_) => Done::default(),
        None => Done::noted("ignored: an edit of a message casedesk does not hold"),
    })
}

async fn reaction(
    app: &AppState,
    bot: &Bot,
    message_key: String,
    customer: Customer,
    emoji: Vec<String>,
) -> Result<Done, Failed> {
    for e in emoji {
        let noted = inbound::receive_reaction(
            app,
            bot.channel.clone(),
            InboundReaction {
                customer_id: customer.external_id.clone(),
                target_message_id: message_key.clone(),
                emoji: e,
            },
        )
        .await;
        match noted {
            Ok(_) => {}
            Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
                return Ok(Done::noted(
                    "ignored: a reaction to a message casedesk does not hold",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Done::default())
}
