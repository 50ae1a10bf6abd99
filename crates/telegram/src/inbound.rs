//! What an update means for a helpdesk. Private chats are customers; a
//! customer's message is keyed by `(chat id, message id)`, which is what
//! makes a redelivered update a duplicate rather than a second message.
//! Groups, channels and bots are ignored, each with a reason an admin can
//! read in the channel's update log: a helpdesk case belongs to one person.

use crate::types::{FileObject, Message, MessageReactionUpdated, ReactionType, Update, User};

/// Who wrote: a Telegram user of a private chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// The user's id as text (the customer's `external_id`).
    pub external_id: String,
    pub name: String,
    pub username: Option<String>,
    pub language: Option<String>,
}

/// A file a message carries, fetched later with `getFile`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub file_id: String,
    pub filename: String,
    pub content_type: Option<String>,
    /// As Telegram states it; over [`crate::client::MAX_DOWNLOAD_BYTES`]
    /// the file cannot be downloaded.
    pub size: Option<i64>,
}

/// A customer's message as casedesk stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingMessage {
    /// The updates of one chat are processed in order.
    pub chat_key: String,
    pub chat_id: i64,
    /// `"{chat id}:{message id}"`: unique per channel.
    pub message_key: String,
    pub customer: Customer,
    /// The text or caption; a location or a sticker as words.
    pub text: String,
    pub files: Vec<FileRef>,
    /// Messages of one album share it (casedesk joins them).
    pub media_group_id: Option<String>,
    pub forwarded: bool,
    /// Unix time Telegram gives.
    pub date: i64,
}

/// What an update is.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Message(IncomingMessage),
    /// A new text (or caption) for a message casedesk stored before.
    Edit(IncomingMessage),
    /// Emoji a customer put on a message (added ones only; a removal is no
    /// event in the case history).
    Reaction {
        chat_key: String,
        /// The key of the reacted message, as [`IncomingMessage::message_key`].
        message_key: String,
        customer: Customer,
        emoji: Vec<String>,
    },
    /// Not for the helpdesk, and why.
    Ignored {
        chat_key: Option<String>,
        reason: String,
    },
}

impl Inbound {
    /// The chat whose order this update keeps (ignored updates of no chat
    /// go in a queue of their own).
    pub fn chat_key(&self) -> String {
        match self {
            Inbound::Message(m) | Inbound::Edit(m) => m.chat_key.clone(),
            Inbound::Reaction { chat_key, .. } => chat_key.clone(),
            Inbound::Ignored { chat_key, .. } => chat_key.clone().unwrap_or_default(),
        }
    }
}

/// Why an update is not for the helpdesk (its [`Inbound::Ignored`]).
struct Skip {
    chat_key: Option<String>,
    reason: String,
}

impl From<Skip> for Inbound {
    fn from(s: Skip) -> Inbound {
        Inbound::Ignored {
            chat_key: s.chat_key,
            reason: s.reason,
        }
    }
}

fn ignored(chat_key: Option<String>, reason: impl Into<String>) -> Skip {
    Skip {
        chat_key,
        reason: reason.into(),
    }
}

fn customer(user: &User) -> Customer {
    Customer {
        external_id: user.id.to_string(),
        name: user.full_name(),
        username: user.username.clone(),
        language: user.language_code.clone(),
    }
}

/// The update's meaning. Never fails: an update casedesk cannot use is
/// [`Inbound::Ignored`] with its reason.
pub fn interpret(update: &Update) -> Inbound {
    if let Some(m) = &update.message {
        return message(m).map_or_else(Inbound::from, Inbound::Message);
    }
    if let Some(m) = &update.edited_message {
        return message(m).map_or_else(Inbound::from, Inbound::Edit);
    }
    if let Some(r) = &update.message_reaction {
        return reaction(r).unwrap_or_else(Inbound::from);
    }
    ignored(None, "an update of a kind casedesk does not ask for").into()
}

fn private_sender<'m>(
    chat_kind: &str,
    chat_key: &str,
    from: Option<&'m User>,
) -> Result<&'m User, Skip> {
    if chat_kind != "private" {
        return Err(ignored(
            Some(chat_key.to_owned()),
            format!("a {chat_kind} chat: casedesk serves private chats with the bot"),
        ));
    }
    match from {
        Some(user) if !user.is_bot => Ok(user),
        Some(_) => Err(ignored(Some(chat_key.to_owned()), "written by a bot")),
        None => Err(ignored(Some(chat_key.to_owned()), "no sender")),
    }
}

fn message(m: &Message) -> Result<IncomingMessage, Skip> {
    let chat_key = m.chat.id.to_string();
    let user = private_sender(&m.chat.kind, &chat_key, m.from.as_ref())?;
    let mut files = Vec::new();
    // The largest size of a photo is the photo.
    if let Some(photo) = m
        .photo
        .iter()
        .max_by_key(|p| p.width.saturating_mul(p.height))
    {
        files.push(FileRef {
            file_id: photo.file_id.clone(),
            filename: format!("photo-{}.jpg", photo.file_unique_id),
            content_type: Some("image/jpeg".to_owned()),
            size: photo.file_size,
        });
    }
    let kinds: [(&Option<FileObject>, &str, &str); 6] = [
        (&m.document, "document", "application/octet-stream"),
        (&m.voice, "voice.ogg", "audio/ogg"),
        (&m.audio, "audio", "audio/mpeg"),
        (&m.video, "video.mp4", "video/mp4"),
        (&m.video_note, "video-note.mp4", "video/mp4"),
        (&m.animation, "animation.mp4", "video/mp4"),
    ];
    for (file, default_name, default_type) in kinds {
        if let Some(f) = file {
            files.push(FileRef {
                file_id: f.file_id.clone(),
                filename: f
                    .file_name
                    .clone()
                    .unwrap_or_else(|| format!("{}-{default_name}", f.file_unique_id)),
                content_type: f
                    .mime_type
                    .clone()
                    .or_else(|| Some(default_type.to_owned())),
                size: f.file_size,
            });
        }
    }
    let mut text = m
        .text
        .clone()
        .or_else(|| m.caption.clone())
        .unwrap_or_default();
    if let Some(sticker) = &m.sticker {
        text = format!("[sticker {}]", sticker.emoji.as_deref().unwrap_or("")).replace(" ]", "]");
    }
    if let Some(loc) = &m.location {
        text = format!(
            "[location {:.6}, {:.6}] https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}",
            loc.latitude, loc.longitude, loc.latitude, loc.longitude
        );
    }
    if text.is_empty() && files.is_empty() {
        return Err(ignored(
            Some(chat_key),
            "a service message (no text, file or location)",
        ));
    }
    Ok(IncomingMessage {
        message_key: format!("{chat_key}:{}", m.message_id),
        chat_id: m.chat.id,
        chat_key,
        customer: customer(user),
        text,
        files,
        media_group_id: m.media_group_id.clone(),
        forwarded: m.forward_origin.is_some(),
        date: m.date,
    })
}

fn reaction(r: &MessageReactionUpdated) -> Result<Inbound, Skip> {
    let chat_key = r.chat.id.to_string();
    let user = private_sender(&r.chat.kind, &chat_key, r.user.as_ref())?;
    let emoji = |list: &[ReactionType]| -> Vec<String> {
        list.iter()
            .filter_map(|t| match t {
                ReactionType::Emoji { emoji } => Some(emoji.clone()),
                _ => None,
            })
            .collect()
    };
    let before = emoji(&r.old_reaction);
    let added: Vec<String> = emoji(&r.new_reaction)
        .into_iter()
        .filter(|e| !before.contains(e))
        .collect();
    if added.is_empty() {
        return Err(ignored(
            Some(chat_key),
            "a reaction taken back or changed to a custom emoji",
        ));
    }
    Ok(Inbound::Reaction {
        message_key: format!("{chat_key}:{}", r.message_id),
        chat_key,
        customer: customer(user),
        emoji: added,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: serde_json::Value) -> Update {
        serde_json::from_value(json).expect("an update")
    }

    fn private(id: i64) -> serde_json::Value {
        serde_json::json!({"id": id, "type": "private", "first_name": "Ann"})
    }

    fn ann() -> serde_json::Value {
        serde_json::json!({"id": 42, "is_bot": false, "first_name": "Ann", "last_name": "Lee",
            "username": "ann", "language_code": "ru"})
    }

    #[test]
    fn a_private_text_is_a_customer_message_keyed_by_chat_and_message() {
        let u = update(serde_json::json!({"update_id": 7, "message": {
            "message_id": 5, "date": 1700000000, "chat": private(42), "from": ann(),
            "text": "Где мой заказ?", "some_future_field": {"x": 1}}}));
        let Inbound::Message(m) = interpret(&u) else {
            panic!("a message")
        };
        assert_eq!(m.message_key, "42:5");
        assert_eq!(m.chat_key, "42");
        assert_eq!(m.text, "Где мой заказ?");
        assert_eq!(
            m.customer,
            Customer {
                external_id: "42".into(),
                name: "Ann Lee".into(),
                username: Some("ann".into()),
                language: Some("ru".into()),
            }
        );
    }

    #[test]
    fn a_photo_is_its_largest_size_with_the_caption() {
        let u = update(serde_json::json!({"update_id": 8, "message": {
            "message_id": 6, "date": 1, "chat": private(42), "from": ann(),
            "caption": "broken", "media_group_id": "album-1",
            "photo": [
                {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
                {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 960,
                 "file_size": 123456},
                {"file_id": "mid", "file_unique_id": "m", "width": 320, "height": 240}]}}));
        let Inbound::Message(m) = interpret(&u) else {
            panic!("a message")
        };
        assert_eq!(m.text, "broken");
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].file_id, "big");
        assert_eq!(m.files[0].size, Some(123456));
        assert_eq!(m.media_group_id.as_deref(), Some("album-1"));
    }

    #[test]
    fn documents_voices_stickers_and_locations_become_messages() {
        let u = update(serde_json::json!({"update_id": 9, "message": {
            "message_id": 7, "date": 1, "chat": private(42), "from": ann(),
            "document": {"file_id": "d", "file_unique_id": "du", "file_name": "invoice.pdf",
                "mime_type": "application/pdf", "file_size": 30000000}}}));
        let Inbound::Message(m) = interpret(&u) else {
            panic!("a message")
        };
        assert_eq!(m.files[0].filename, "invoice.pdf");
        assert_eq!(
            m.files[0].size,
            Some(30_000_000),
            "the size decides the download"
        );
        let u = update(serde_json::json!({"update_id": 10, "message": {
            "message_id": 8, "date": 1, "chat": private(42), "from": ann(),
            "voice": {"file_id": "v", "file_unique_id": "vu"}}}));
        let Inbound::Message(m) = interpret(&u) else {
            panic!("a message")
        };
        assert_eq!(m.files[0].content_type.as_deref(), Some("audio/ogg"));
        let u = update(serde_json::json!({"update_id": 11, "message": {
            "message_id": 9, "date": 1, "chat": private(42), "from": ann(),
            "sticker": {"file_id": "st", "file_unique_id": "stu", "emoji": "👍"}}}));
        let Inbound::Message(m) = interpret(&u) else {
            panic!("a message")
        };
        assert_eq!(m.text, "[sticker 👍]");
        let u = update(serde_json::json!({"update_id": 12, "message": {
            "message_id": 10, "date": 1, "chat": private(42), "from": ann(),
            "location": {"latitude": 55.75, "longitude": 37.62}}}));
        let Inbound::Message(m) = interpret(&u) else {
            panic!("a message")
        };
        assert!(
            m.text.starts_with("[location 55.750000, 37.620000]"),
            "{}",
            m.text
        );
    }

    #[test]
    fn an_edit_keeps_the_message_key() {
        let u = update(serde_json::json!({"update_id": 13, "edited_message": {
            "message_id": 5, "date": 1, "edit_date": 2, "chat": private(42), "from": ann(),
            "text": "Где мой заказ 42?"}}));
        let Inbound::Edit(m) = interpret(&u) else {
            panic!("an edit")
        };
        assert_eq!(
            (m.message_key.as_str(), m.text.as_str()),
            ("42:5", "Где мой заказ 42?")
        );
    }

    #[test]
    fn reactions_count_what_was_added() {
        let u = update(serde_json::json!({"update_id": 14, "message_reaction": {
            "chat": private(42), "message_id": 77, "user": ann(), "date": 3,
            "old_reaction": [{"type": "emoji", "emoji": "👍"}],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}, {"type": "emoji", "emoji": "🔥"},
                {"type": "custom_emoji", "custom_emoji_id": "x"}]}}));
        assert_eq!(
            interpret(&u),
            Inbound::Reaction {
                chat_key: "42".into(),
                message_key: "42:77".into(),
                customer: customer(&serde_json::from_value(ann()).expect("user")),
                emoji: vec!["🔥".into()],
            }
        );
        let taken_back = update(serde_json::json!({"update_id": 15, "message_reaction": {
            "chat": private(42), "message_id": 77, "user": ann(), "date": 4,
            "old_reaction": [{"type": "emoji", "emoji": "🔥"}], "new_reaction": []}}));
        assert!(matches!(interpret(&taken_back), Inbound::Ignored { .. }));
    }

    #[test]
    fn groups_bots_and_service_messages_are_ignored_with_a_reason() {
        let group = update(serde_json::json!({"update_id": 16, "message": {
            "message_id": 1, "date": 1,
            "chat": {"id": -100, "type": "supergroup", "title": "Shop"}, "from": ann(),
            "text": "hi"}}));
        let Inbound::Ignored { chat_key, reason } = interpret(&group) else {
            panic!("ignored")
        };
        assert_eq!(chat_key.as_deref(), Some("-100"));
        assert!(reason.contains("supergroup"), "{reason}");
        let bot = update(serde_json::json!({"update_id": 17, "message": {
            "message_id": 1, "date": 1, "chat": private(43),
            "from": {"id": 43, "is_bot": true, "first_name": "B"}, "text": "hi"}}));
        assert!(matches!(interpret(&bot), Inbound::Ignored { .. }));
        let service = update(serde_json::json!({"update_id": 18, "message": {
            "message_id": 1, "date": 1, "chat": private(42), "from": ann()}}));
        assert!(matches!(interpret(&service), Inbound::Ignored { .. }));
        let other = update(serde_json::json!({"update_id": 19, "poll": {"id": "p"}}));
        assert!(matches!(
            interpret(&other),
            Inbound::Ignored { chat_key: None, .. }
        ));
    }
}
