//! The Bot API objects casedesk reads (<https://core.telegram.org/bots/api>).
//! Fields casedesk does not use are left out; unknown ones are ignored, so
//! a newer Bot API never breaks parsing.

use serde::{Deserialize, Serialize};

/// The envelope of every Bot API answer.
#[derive(Debug, Deserialize)]
pub struct Response<T> {
    pub ok: bool,
    pub result: Option<T>,
    pub error_code: Option<i64>,
    pub description: Option<String>,
    pub parameters: Option<ResponseParameters>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponseParameters {
    /// Seconds to wait before the next call (a 429).
    pub retry_after: Option<u64>,
    pub migrate_to_chat_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl User {
    /// "First Last", as a person is shown.
    pub fn full_name(&self) -> String {
        match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Chat {
    pub id: i64,
    /// `private`, `group`, `supergroup` or `channel`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: Option<String>,
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PhotoSize {
    pub file_id: String,
    pub file_unique_id: String,
    pub width: i64,
    pub height: i64,
    pub file_size: Option<i64>,
}

/// A document, voice note, video, audio, animation or sticker: a file with
/// an id casedesk fetches with `getFile`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct FileObject {
    pub file_id: String,
    pub file_unique_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<i64>,
    /// Stickers: the emoji they stand for.
    pub emoji: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Message {
    pub message_id: i64,
    /// Unix time.
    pub date: i64,
    pub chat: Chat,
    pub from: Option<User>,
    pub text: Option<String>,
    pub caption: Option<String>,
    #[serde(default)]
    pub photo: Vec<PhotoSize>,
    pub document: Option<FileObject>,
    pub voice: Option<FileObject>,
    pub audio: Option<FileObject>,
    pub video: Option<FileObject>,
    pub video_note: Option<FileObject>,
    pub animation: Option<FileObject>,
    pub sticker: Option<FileObject>,
    pub location: Option<Location>,
    pub media_group_id: Option<String>,
    pub reply_to_message: Option<Box<Message>>,
    /// Present on forwarded messages (its shape varies; casedesk only notes
    /// that the message was forwarded).
    pub forward_origin: Option<serde_json::Value>,
    pub edit_date: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReactionType {
    Emoji {
        emoji: String,
    },
    CustomEmoji {
        custom_emoji_id: String,
    },
    Paid,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct MessageReactionUpdated {
    pub chat: Chat,
    pub message_id: i64,
    /// Absent for anonymous reactions in groups.
    pub user: Option<User>,
    pub date: i64,
    #[serde(default)]
    pub old_reaction: Vec<ReactionType>,
    #[serde(default)]
    pub new_reaction: Vec<ReactionType>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
    pub edited_message: Option<Message>,
    pub message_reaction: Option<MessageReactionUpdated>,
}

/// `getFile`'s answer: where to download the file from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct File {
    pub file_id: String,
    pub file_size: Option<i64>,
    pub file_path: Option<String>,
}

/// `getWebhookInfo`'s answer, as an admin sees it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct WebhookInfo {
    pub url: String,
    #[serde(default)]
    pub pending_update_count: i64,
    pub last_error_date: Option<i64>,
    pub last_error_message: Option<String>,
}

/// The updates casedesk asks for. Listed explicitly: an empty list would
/// mean "the default set", which leaves reactions out.
pub const ALLOWED_UPDATES: [&str; 3] = ["message", "edited_message", "message_reaction"];
