//! Request and response bodies of the v1 API.

use casedesk_domain::{ChannelKind, Status, optional_whole_number};
use casedesk_store::{
    AgentRecord, AttachmentRecord, CaseRecord, ChannelRecord, CustomerRecord, Deadline,
    DeadlineKind, EventRecord, LabelRecord, MessageRecord, OutboxItem, OutboxState, ReactionRecord,
    RuleRecord, TemplateRecord,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::schema;
pub use crate::channels::api::InboundEvent;
use crate::util::{opt_rfc3339, rfc3339};

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub agent: AgentDto,
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    /// Also in the `casedesk_csrf` cookie: echo it in `X-CSRF-Token`.
    pub csrf_token: String,
    pub agent: AgentDto,
}

#[derive(Serialize, ToSchema)]
pub struct AgentDto {
    pub id: String,
    /// The account (company) the agent works in; its Help Center is at
    /// `/help/{account_id}`.
    pub account_id: String,
    pub email: String,
    pub name: String,
    /// `admin` or `agent`.
    pub role: String,
    pub created_at: String,
    /// A disabled agent cannot sign in; an admin can enable them again.
    pub disabled: bool,
}

impl From<&AgentRecord> for AgentDto {
    fn from(a: &AgentRecord) -> Self {
        AgentDto {
            id: a.id.clone(),
            account_id: a.account_id.clone(),
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role.to_string(),
            created_at: rfc3339(a.created_at),
            disabled: a.disabled_at.is_some(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    #[schema(schema_with = schema::email)]
    pub email: String,
    #[schema(schema_with = schema::new_agent_name_or_null)]
    pub name: Option<String>,
    /// `admin` or `agent` (default).
    #[schema(schema_with = schema::role_or_null)]
    pub role: Option<casedesk_domain::Role>,
    #[schema(schema_with = schema::password)]
    pub password: String,
}

/// Changes to an agent (admins only); absent fields are left alone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAgent {
    #[schema(schema_with = schema::name_or_null)]
    pub name: Option<String>,
    /// `admin` or `agent`.
    #[schema(schema_with = schema::role_or_null)]
    pub role: Option<casedesk_domain::Role>,
    /// `true` ends every session of the agent and refuses their logins
    /// until set back to `false`.
    pub disabled: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    #[schema(schema_with = schema::password)]
    pub password: String,
    /// Required when agents set their own password: a session left open
    /// somewhere must not be enough to take the account over.
    pub current_password: Option<String>,
}

/// How many sessions and tokens a change ended.
#[derive(Serialize, ToSchema)]
pub struct EndedSessions {
    pub ended_sessions: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ItemsDto<T: ToSchema> {
    pub items: Vec<T>,
}

/// A new channel. Its schema is [`schema::new_channel`]: `allowed_origins`
/// only for widget channels.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    /// `api` (a messenger webhook) or `widget` (the web chat widget).
    pub kind: ChannelKind,
    pub name: String,
    pub webhook_url: Option<String>,
    /// Widget channels: the sites that may embed it, e.g.
    /// `["https://shop.example"]`; empty or absent for any.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Telegram channels: the bot's token from @BotFather. Checked with
    /// Telegram, kept by the server, never shown again.
    pub bot_token: Option<String>,
    /// E-mail channels: the mailbox's address.
    pub address: Option<String>,
    /// E-mail channels: the SMTP server replies leave through (its
    /// password kept by the server, never shown again).
    pub smtp: Option<crate::channels::email::connect::SmtpInput>,
    /// E-mail channels: the IMAP mailbox letters are fetched from (its
    /// password kept by the server, never shown again).
    pub imap: Option<crate::channels::email::connect::ImapInput>,
}

impl utoipa::PartialSchema for CreateChannel {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::new_channel().into()
    }
}

impl ToSchema for CreateChannel {}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchChannel {
    #[schema(schema_with = schema::name_or_null)]
    pub name: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = schema::webhook_url_or_null)]
    pub webhook_url: Option<Option<String>>,
    /// Widget channels only (`409` for another kind).
    #[schema(schema_with = schema::origins_or_null)]
    pub allowed_origins: Option<Vec<String>>,
    /// E-mail channels only (`409` for another kind): the address.
    #[schema(schema_with = schema::email_address_or_null)]
    pub address: Option<String>,
    /// E-mail channels only: new SMTP settings (a password left out keeps
    /// the stored one); `null` removes them.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = schema::smtp_or_null)]
    pub smtp: Option<Option<crate::channels::email::connect::SmtpInput>>,
    /// E-mail channels only: new IMAP settings (a password left out keeps
    /// the stored one); `null` removes them.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = schema::imap_change_or_null)]
    pub imap: Option<Option<crate::channels::email::connect::ImapInput>>,
    /// `true` turns the channel off (it takes nothing in: webhook, widget,
    /// MIME, bot and mailbox answer `409 channel_disabled` or are not
    /// polled; replies to its cases still go out); `false` turns it on.
    pub disabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ChannelDto {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub webhook_url: Option<String>,
    /// Widget channels: the sites that may embed it (empty: any).
    pub allowed_origins: Vec<String>,
    /// Widget channels: the line to paste into a site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    pub created_at: String,
    /// Turned off by an admin: takes nothing in.
    pub disabled: bool,
    /// Removed by an admin: off for good and no longer offered in Settings
    /// or for new rules; listed still, so its cases keep its name.
    pub removed: bool,
    /// Only in the answer to creation: shown once. On a widget channel it
    /// is also the key of the host site's signed user ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound_token: Option<String>,
    /// Telegram channels: the bot and how it receives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telegram: Option<TelegramBotDto>,
    /// E-mail channels: the mailbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailDto>,
}

/// An e-mail channel's mailbox, without its passwords.
#[derive(Serialize, ToSchema)]
pub struct EmailDto {
    pub address: String,
    /// Where replies are sent from; `null`: replies wait as not sent.
    pub smtp: Option<SmtpDto>,
    /// Where letters are fetched from; `null`: only the MIME endpoint.
    pub imap: Option<ImapDto>,
    /// Where a provider's inbound webhook or an MTA pipe posts raw letters
    /// (bearer: the channel's inbound token).
    pub inbound_mime_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImapDto {
    pub host: String,
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    pub user: String,
    pub folder: String,
}

#[derive(Serialize, ToSchema)]
pub struct SmtpDto {
    pub host: String,
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    pub user: Option<String>,
    /// Whether a password is kept (it is never shown).
    pub password_set: bool,
}

impl EmailDto {
    pub fn new(
        settings: &crate::channels::email::Settings,
        secrets: &crate::channels::email::Secrets,
        inbound_mime_url: String,
    ) -> EmailDto {
        EmailDto {
            address: settings.address.clone(),
            smtp: settings.smtp.as_ref().map(|s| SmtpDto {
                host: s.host.clone(),
                port: s.port,
                security: s.security.as_str().to_owned(),
                user: s.user.clone(),
                password_set: secrets.smtp_password.is_some(),
            }),
            imap: settings.imap.as_ref().map(|i| ImapDto {
                host: i.host.clone(),
                port: i.port,
                security: i.security.as_str().to_owned(),
                user: i.user.clone(),
                folder: i.folder.clone(),
            }),
            inbound_mime_url,
        }
    }
}

/// A Telegram channel's bot.
#[derive(Serialize, ToSchema)]
pub struct TelegramBotDto {
    pub bot_id: i64,
    /// Without the `@`.
    pub bot_username: Option<String>,
    /// `webhook` (the server has an https public URL) or `polling`.
    pub mode: String,
}

/// One update a messenger delivered, as stored.
#[derive(Serialize, ToSchema)]
pub struct ChannelUpdateDto {
    pub update_id: i64,
    /// What makes a delivery the same as one before, when its id does
    /// not: a letter's Message-ID (or `sha256:` of its bytes).
    pub key: Option<String>,
    /// `pending`, `processed` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// Why it failed, or why it was ignored.
    pub last_error: Option<String>,
    pub received_at: String,
    pub processed_at: Option<String>,
    pub failed_at: Option<String>,
    /// The update as the messenger sent it (JSON text).
    pub payload: String,
}

impl From<&casedesk_store::ChannelUpdate> for ChannelUpdateDto {
    fn from(u: &casedesk_store::ChannelUpdate) -> Self {
        ChannelUpdateDto {
            update_id: u.update_id,
            key: u.key.clone(),
            state: u.state().as_str().to_owned(),
            attempts: u.attempts,
            last_error: u.last_error.clone(),
            received_at: rfc3339(u.received_at),
            processed_at: opt_rfc3339(u.processed_at),
            failed_at: opt_rfc3339(u.failed_at),
            payload: u.payload.clone(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpdateListQuery {
    /// `pending`, `processed` or `failed`; absent: every state.
    #[param(schema_with = schema::update_state)]
    pub state: Option<String>,
    /// At most this many, newest first (1 to 500, default 100).
    #[param(schema_with = schema::delivery_limit)]
    pub limit: Option<i64>,
}

impl ChannelDto {
    pub fn new(c: &ChannelRecord, show_token: bool) -> Self {
        ChannelDto {
            id: c.id.clone(),
            kind: c.kind.to_string(),
            name: c.name.clone(),
            webhook_url: c.webhook_url.clone(),
            allowed_origins: c.allowed_origins.clone(),
            snippet: None,
            created_at: rfc3339(c.created_at),
            disabled: c.disabled_at.is_some(),
            removed: c.removed_at.is_some(),
            inbound_token: show_token.then(|| c.inbound_token.clone()),
            telegram: None,
            email: None,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    /// `pending`, `delivered` or `failed`; absent: every state.
    #[param(schema_with = schema::delivery_state)]
    pub state: Option<String>,
    /// At most this many, newest first (1 to 500, default 100).
    #[param(schema_with = schema::delivery_limit)]
    pub limit: Option<i64>,
}

/// One outbound webhook delivery of an agent reply.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: String,
    pub channel_id: String,
    /// The agent reply it carries.
    pub message_id: String,
    /// `pending` (waiting for an attempt), `delivered`, or `failed` (given
    /// up: its attempts were used up or the channel has no webhook URL;
    /// an admin can redeliver it).
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub last_attempt_at: Option<String>,
    /// Pending deliveries: when the next attempt is due.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub failed_at: Option<String>,
}

impl From<&OutboxItem> for DeliveryDto {
    fn from(o: &OutboxItem) -> Self {
        let state = o.state();
        DeliveryDto {
            id: o.id.clone(),
            channel_id: o.channel_id.clone(),
            message_id: o.message_id.clone(),
            state: state.as_str().to_owned(),
            attempts: o.attempts,
            last_error: o.last_error.clone(),
            created_at: rfc3339(o.created_at),
            last_attempt_at: opt_rfc3339(o.last_attempt_at),
            next_attempt_at: (state == OutboxState::Pending).then(|| rfc3339(o.next_attempt_at)),
            delivered_at: opt_rfc3339(o.delivered_at),
            failed_at: opt_rfc3339(o.failed_at),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SettingsDto {
    pub chat_auto_finish_after_seconds: i64,
    pub chat_auto_finish_warning_seconds: i64,
    /// IANA time zone of the account's statistics days and weeks (`UTC`).
    pub time_zone: String,
    /// Weekly business hours in `time_zone`, e.g.
    /// `{"mon": [["09:00", "18:00"]]}` (days without an entry are closed);
    /// `null`: statistics count calendar time.
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<serde_json::Value>,
    /// An agent's reply to an unassigned case assigns it to them (default on).
    pub assign_on_reply: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSettings {
    #[serde(default, deserialize_with = "optional_whole_number")]
    #[schema(schema_with = schema::auto_finish_seconds_or_null)]
    pub chat_auto_finish_after_seconds: Option<i64>,
    #[serde(default, deserialize_with = "optional_whole_number")]
    #[schema(schema_with = schema::auto_finish_seconds_or_null)]
    pub chat_auto_finish_warning_seconds: Option<i64>,
    /// An IANA name such as `Europe/Moscow`.
    #[schema(schema_with = schema::time_zone_or_null)]
    pub time_zone: Option<String>,
    /// A weekly schedule (see [`SettingsDto::business_hours`]); `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = schema::business_hours_or_null)]
    pub business_hours: Option<Option<serde_json::Value>>,
    pub assign_on_reply: Option<bool>,
}

// The `api` channel's event is its own type; the document states it here.
impl utoipa::PartialSchema for InboundEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::inbound_event().into()
    }
}

impl ToSchema for InboundEvent {}

#[derive(Serialize, ToSchema)]
pub struct InboundResponse {
    pub case_id: String,
    pub case_number: i64,
    pub message_id: String,
    /// `created`, `appended`, `reopened`, `duplicate` or `noted`.
    pub outcome: String,
}

#[derive(Serialize, ToSchema)]
pub struct CaseDto {
    pub id: String,
    pub number: i64,
    pub channel_id: String,
    pub customer_id: String,
    pub subject: String,
    /// `open`, `pending` or `closed`.
    pub status: String,
    /// `active`, `finished`, or null for non-chat cases.
    pub chat_state: Option<String>,
    pub assignee_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_activity_at: String,
    pub finished_at: Option<String>,
    pub closed_at: Option<String>,
    pub first_response_at: Option<String>,
    pub previous_case_id: Option<String>,
    pub next_case_id: Option<String>,
    pub split_available: bool,
    pub merged_into_id: Option<String>,
    pub message_count: i64,
    pub unread: bool,
    /// For active chats: when the warning (R4) starts and the chat auto-finishes (R3).
    /// Once the warning has started, `auto_finish_warning_at` is null while
    /// `auto_finish_at` is still set.
    pub auto_finish_warning_at: Option<String>,
    pub auto_finish_at: Option<String>,
    /// The case's labels, by name.
    pub labels: Vec<LabelDto>,
}

impl CaseDto {
    /// `labels` may hold other cases' labels too (a page's worth): only
    /// this case's are kept.
    pub fn new(c: &CaseRecord, deadlines: &[Deadline], labels: &[(String, LabelRecord)]) -> Self {
        let due = |kind: DeadlineKind| {
            deadlines
                .iter()
                .find(|d| d.kind == kind)
                .map(|d| rfc3339(d.due_at))
        };
        CaseDto {
            id: c.id.clone(),
            number: c.number,
            channel_id: c.channel_id.clone(),
            customer_id: c.customer_id.clone(),
            subject: c.subject.clone(),
            status: c.state.status.to_string(),
            chat_state: c.state.chat_state.map(|s| s.to_string()),
            assignee_id: c.assignee_id.clone(),
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
            last_activity_at: rfc3339(c.last_activity_at),
            finished_at: opt_rfc3339(c.state.finished_at),
            closed_at: opt_rfc3339(c.state.closed_at),
            first_response_at: opt_rfc3339(c.first_response_at),
            previous_case_id: c.previous_case_id.clone(),
            next_case_id: c.next_case_id.clone(),
            split_available: c.state.split_available(),
            merged_into_id: c.merged_into_id.clone(),
            message_count: c.message_count,
            unread: c.unread,
            auto_finish_warning_at: due(DeadlineKind::Warn),
            auto_finish_at: due(DeadlineKind::Finish),
            labels: labels
                .iter()
                .filter(|(case_id, _)| *case_id == c.id)
                .map(|(_, l)| LabelDto::from(l))
                .collect(),
        }
    }
}

/// How many cases each queue of the agent console holds (merged cases
/// left out).
#[derive(Serialize, ToSchema)]
pub struct QueuesDto {
    /// Open cases assigned to the asking agent.
    pub mine: i64,
    /// Open cases assigned to nobody.
    pub unassigned: i64,
    /// Every open case.
    pub open: i64,
    /// Pending cases: waiting on the customer.
    pub pending: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CaseListDto {
    pub items: Vec<CaseDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseListQuery {
    #[param(schema_with = schema::status)]
    pub status: Option<Status>,
    #[param(schema_with = schema::chat_state)]
    pub chat_state: Option<casedesk_domain::ChatState>,
    pub channel_id: Option<String>,
    pub customer_id: Option<String>,
    pub assignee_id: Option<String>,
    /// `true`: only cases nobody is assigned to.
    pub unassigned: Option<bool>,
    /// Only cases with this label.
    pub label_id: Option<String>,
    /// Text searched in subjects and messages.
    pub q: Option<String>,
    /// `created_at` (default) or `last_activity_at`.
    #[param(schema_with = schema::case_sort)]
    pub sort: Option<CaseSortParam>,
    /// `desc` (default) or `asc`.
    #[param(schema_with = schema::order)]
    pub order: Option<OrderParam>,
    /// `next_cursor` of the previous page, with the same sort and order.
    #[param(schema_with = schema::cursor)]
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[serde(default, deserialize_with = "optional_whole_number")]
    #[param(schema_with = schema::case_limit)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuthorDto {
    /// `customer`, `agent` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReactionDto {
    pub emoji: String,
    pub customer_id: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MessageDto {
    pub id: String,
    pub case_id: String,
    /// `message`, `note` or `system`.
    pub kind: String,
    pub author: AuthorDto,
    pub text: String,
    pub created_at: String,
    pub reactions: Vec<ReactionDto>,
    /// For reaction notes: the message reacted to.
    pub reacted_message_id: Option<String>,
    /// Files that came with the message (`GET /attachments/{id}`).
    pub attachments: Vec<AttachmentDto>,
    /// When the customer last edited it in their messenger (the text
    /// before is in the case's events, `message_edited`).
    pub edited_at: Option<String>,
    /// A reply's delivery through its channel: pending, delivered or
    /// failed (with the reason); `null` for what is not delivered.
    pub delivery: Option<DeliveryDto>,
    /// For letters (e-mail channels): what the letter had beyond its text.
    pub letter: Option<LetterDto>,
    /// The channel's own id of the message: a letter's Message-ID, a
    /// messenger's message id.
    pub channel_message_id: Option<String>,
}

/// What a received letter had beyond its text.
#[derive(Serialize, ToSchema)]
pub struct LetterDto {
    pub subject: String,
    pub from: String,
    /// The other `To` and `Cc` addresses.
    pub recipients: Vec<String>,
    /// Why it counts as sent by a machine (an out-of-office reply, a
    /// bounce, list mail): it opened nothing again and no rule answered it.
    pub automatic: Option<String>,
    /// Whether it came with an HTML body.
    pub has_html: bool,
}

impl From<&casedesk_store::LetterRecord> for LetterDto {
    fn from(l: &casedesk_store::LetterRecord) -> Self {
        LetterDto {
            subject: l.subject.clone(),
            from: l.from_address.clone(),
            recipients: l.recipients.clone(),
            automatic: l.automatic.clone(),
            has_html: l.html.is_some(),
        }
    }
}

/// A file attached to a message.
#[derive(Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: String,
    pub filename: String,
    /// Sniffed from the bytes: `image/png`, `application/pdf`, `text/plain; charset=utf-8`, …
    pub content_type: String,
    pub size_bytes: i64,
}

impl AttachmentDto {
    /// The attachments of message `message_id` among `files`.
    pub fn of(message_id: &str, files: &[AttachmentRecord]) -> Vec<AttachmentDto> {
        files
            .iter()
            .filter(|a| a.message_id == message_id)
            .map(|a| AttachmentDto {
                id: a.id.clone(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size_bytes: a.size_bytes,
            })
            .collect()
    }
}

impl MessageDto {
    pub fn new(
        m: &MessageRecord,
        reactions: &[ReactionRecord],
        files: &[AttachmentRecord],
        deliveries: &[OutboxItem],
    ) -> Self {
        MessageDto {
            id: m.id.clone(),
            case_id: m.case_id.clone(),
            kind: m.kind.to_string(),
            author: AuthorDto {
                kind: m.author_type.to_string(),
                id: m.author_id.clone(),
            },
            text: m.text.clone(),
            created_at: rfc3339(m.created_at),
            reactions: reactions
                .iter()
                .filter(|r| r.message_id == m.id)
                .map(|r| ReactionDto {
                    emoji: r.emoji.clone(),
                    customer_id: r.customer_id.clone(),
                    created_at: rfc3339(r.created_at),
                })
                .collect(),
            reacted_message_id: m.reacted_message_id.clone(),
            attachments: AttachmentDto::of(&m.id, files),
            edited_at: opt_rfc3339(m.edited_at),
            delivery: deliveries
                .iter()
                .rfind(|d| d.message_id == m.id)
                .map(DeliveryDto::from),
            letter: None,
            channel_message_id: m.channel_message_id.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    Reply,
    Note,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    #[schema(schema_with = schema::message_text)]
    pub text: String,
    /// `reply` (default) or `note`.
    pub kind: Option<PostKind>,
    /// A reply to one customer message of the case (its id): a messenger
    /// shows the reply as an answer to it (Telegram quotes it).
    pub reply_to_message_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ChangeDto {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventDto {
    pub id: String,
    pub case_id: String,
    pub kind: String,
    pub actor: AuthorDto,
    pub changes: Vec<ChangeDto>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: String,
}

impl From<&EventRecord> for EventDto {
    fn from(e: &EventRecord) -> Self {
        EventDto {
            id: e.id.clone(),
            case_id: e.case_id.clone(),
            kind: e.kind.as_str().to_owned(),
            actor: AuthorDto {
                kind: e.actor.kind().to_owned(),
                id: Some(e.actor.id().to_owned()),
            },
            changes: e
                .changes
                .iter()
                .map(|c| ChangeDto {
                    field: c.field.as_str().to_owned(),
                    before: c.before.clone(),
                    after: c.after.clone(),
                })
                .collect(),
            data: e.data.clone(),
            created_at: rfc3339(e.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRequest {
    /// The status the finished chat gets: `open`, `pending` or `closed`.
    #[schema(schema_with = schema::status)]
    pub status: Status,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveMessagesRequest {
    /// The messages to move (at most 1,000); their notes and reactions go
    /// with them.
    pub message_ids: Vec<String>,
    /// `"new"` for a new case of the same customer, or the id of another
    /// open case of that customer.
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct TopicSuggestionDto {
    /// `null` when the case suggests nothing.
    pub suggestion: Option<SuggestionDto>,
}

/// "This looks like a new question": move `message_id` and the messages
/// after it (`moving`) to a new case.
#[derive(Serialize, ToSchema)]
pub struct SuggestionDto {
    pub message_id: String,
    /// What to send to `move-messages` to follow the suggestion.
    pub moving: Vec<String>,
    /// How sure, 0.5 to 1.
    pub score: f32,
    /// Why, strongest first: `{"kind": "phrase", "phrase"}`,
    /// `new_order_number` (`number`), `new_email` (`address`),
    /// `low_overlap` (`percent`), `silence` (`minutes`), `greeting`,
    /// `after_closing`.
    #[schema(value_type = Vec<Object>)]
    pub reasons: Vec<serde_json::Value>,
}

impl From<crate::usecases::topics::Suggestion> for SuggestionDto {
    fn from(s: crate::usecases::topics::Suggestion) -> Self {
        SuggestionDto {
            message_id: s.message_id,
            moving: s.moving,
            score: s.shift.score,
            reasons: s
                .shift
                .reasons
                .iter()
                .map(|r| serde_json::to_value(r).unwrap_or_default())
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissTopicRequest {
    /// The suggested message the agent judges no new topic.
    pub message_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCase {
    #[schema(schema_with = schema::subject_or_null)]
    pub subject: Option<String>,
    #[schema(schema_with = schema::status_or_null)]
    pub status: Option<Status>,
    /// An agent id (`404` when the account has no such agent), or null to unassign.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Option<Option<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum CaseSortParam {
    CreatedAt,
    LastActivityAt,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum OrderParam {
    Asc,
    Desc,
}

/// A customer: one identity in one channel.
#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: String,
    pub channel_id: String,
    /// The customer's id as the channel knows it.
    pub external_id: String,
    pub name: Option<String>,
    /// The address that signs the customer in to the Help Center.
    pub email: Option<String>,
    /// The customer's most recent chat in the channel (R11).
    pub latest_case_id: Option<String>,
    pub created_at: String,
    /// The language the customer's messenger reports (`ru`, `pt-br`).
    pub language: Option<String>,
    /// The person this profile is linked with profiles of other channels
    /// as; `null` when it is linked to none.
    pub person_id: Option<String>,
    /// A widget visitor's page of the host site, origin and path
    /// (`https://shop.example/checkout`): where they last wrote from.
    pub page: Option<String>,
    /// The person's other profiles (`GET /customers/{id}`, the link calls;
    /// empty elsewhere): their cases are `GET /cases?customer_id=…`.
    pub linked: Vec<LinkedProfileDto>,
}

/// Another channel's profile of the same person.
#[derive(Serialize, ToSchema)]
pub struct LinkedProfileDto {
    pub id: String,
    pub channel_id: String,
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub latest_case_id: Option<String>,
}

impl CustomerDto {
    /// The profile with the person's `profiles` (itself among them or not).
    pub fn with_linked(c: &CustomerRecord, profiles: &[CustomerRecord]) -> Self {
        let mut dto = CustomerDto::from(c);
        dto.linked = profiles
            .iter()
            .filter(|p| p.id != c.id)
            .map(|p| LinkedProfileDto {
                id: p.id.clone(),
                channel_id: p.channel_id.clone(),
                external_id: p.external_id.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                latest_case_id: p.latest_case_id.clone(),
            })
            .collect();
        dto
    }
}

/// `POST /customers/{id}/links`: the profile to link this one with.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCustomer {
    /// Another profile of the account (another channel's, usually).
    pub customer_id: String,
}

/// `PATCH /customers/{id}`: only the fields given change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCustomer {
    /// The customer's e-mail (Help Center sign-in); blank or `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = schema::email_or_blank_or_null)]
    pub email: Option<Option<String>>,
}

impl From<&CustomerRecord> for CustomerDto {
    fn from(c: &CustomerRecord) -> Self {
        CustomerDto {
            id: c.id.clone(),
            channel_id: c.channel_id.clone(),
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            latest_case_id: c.latest_case_id.clone(),
            created_at: rfc3339(c.created_at),
            language: c.language.clone(),
            person_id: c.person_id.clone(),
            page: c.page.clone(),
            linked: Vec::new(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LabelDto {
    pub id: String,
    pub name: String,
    /// `#rrggbb` or null.
    pub color: Option<String>,
    pub created_at: String,
}

impl From<&LabelRecord> for LabelDto {
    fn from(l: &LabelRecord) -> Self {
        LabelDto {
            id: l.id.clone(),
            name: l.name.clone(),
            color: l.color.clone(),
            created_at: rfc3339(l.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLabel {
    #[schema(schema_with = schema::label_name)]
    pub name: String,
    /// `#rrggbb`.
    #[schema(schema_with = schema::color_or_null)]
    pub color: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchLabel {
    #[schema(schema_with = schema::label_name_or_null)]
    pub name: Option<String>,
    /// `#rrggbb`; `null` removes the colour.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = schema::color_or_null)]
    pub color: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseLabelRequest {
    /// A label of the account (`404` otherwise).
    pub label_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct TemplateDto {
    pub id: String,
    pub name: String,
    /// The reply it sends, with placeholders such as `{{customer.name}}`;
    /// empty for none.
    pub body: String,
    /// `[{"type": "set_status", "status": "closed"}, …]`.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<casedesk_domain::Action>,
    /// Shared by the whole account (made by an admin), or personal.
    pub shared: bool,
    /// The agent a personal template belongs to.
    pub owner_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&TemplateRecord> for TemplateDto {
    fn from(t: &TemplateRecord) -> Self {
        TemplateDto {
            id: t.id.clone(),
            name: t.name.clone(),
            body: t.body.clone(),
            actions: t.actions.clone(),
            shared: t.owner_id.is_none(),
            owner_id: t.owner_id.clone(),
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// A new template; its schema is [`schema::new_template`]: a reply text or
/// at least one action.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    pub name: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub actions: Vec<casedesk_domain::Action>,
    /// Admins: `true` (default for them) shares it with the account; agents
    /// make personal templates only.
    pub shared: Option<bool>,
}

impl utoipa::PartialSchema for CreateTemplate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::template_body(false).into()
    }
}

impl ToSchema for CreateTemplate {}

/// A change of a template; its schema is [`schema::template_body`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchTemplate {
    pub name: Option<String>,
    pub body: Option<String>,
    pub actions: Option<Vec<casedesk_domain::Action>>,
    /// Admins only.
    pub shared: Option<bool>,
}

impl utoipa::PartialSchema for PatchTemplate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::template_body(true).into()
    }
}

impl ToSchema for PatchTemplate {}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyTemplate {
    pub template_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct RuleDto {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// Rules run by ascending position.
    pub position: i64,
    /// `{"type": "case_created" | "customer_message" | "agent_replied" |
    /// "chat_finished" | "status_changed" (optional `"to"`) | "pending_for"
    /// / "open_without_reply" (with `"seconds"`)}`.
    #[schema(value_type = Object)]
    pub trigger: casedesk_domain::rules::Trigger,
    /// All must hold, e.g. `[{"type": "status_is", "statuses": ["open"]}]`.
    #[schema(value_type = Vec<Object>)]
    pub conditions: Vec<casedesk_domain::rules::Condition>,
    /// As templates' actions, plus `{"type": "send_reply", "text"}`.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<casedesk_domain::Action>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&RuleRecord> for RuleDto {
    fn from(r: &RuleRecord) -> Self {
        RuleDto {
            id: r.id.clone(),
            name: r.name.clone(),
            enabled: r.enabled,
            position: r.position,
            trigger: r.trigger.clone(),
            conditions: r.conditions.clone(),
            actions: r.actions.clone(),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// Its schema is [`schema::rule_body`]: the conditions and actions that
/// fit the trigger.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRule {
    pub name: String,
    /// Default `true`.
    pub enabled: Option<bool>,
    pub trigger: casedesk_domain::rules::Trigger,
    #[serde(default)]
    pub conditions: Vec<casedesk_domain::rules::Condition>,
    pub actions: Vec<casedesk_domain::Action>,
}

/// Its schema is [`schema::rule_body`]: the conditions and actions that
/// fit the trigger.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchRule {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub position: Option<i64>,
    pub trigger: Option<casedesk_domain::rules::Trigger>,
    pub conditions: Option<Vec<casedesk_domain::rules::Condition>>,
    pub actions: Option<Vec<casedesk_domain::Action>>,
}

/// Its schema is [`schema::rule_body`]: the conditions and actions that
/// fit the trigger.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunRule {
    pub trigger: casedesk_domain::rules::Trigger,
    #[serde(default)]
    pub conditions: Vec<casedesk_domain::rules::Condition>,
    pub actions: Vec<casedesk_domain::Action>,
    /// Ignored, with `name`, `enabled`, `position`, `created_at` and
    /// `updated_at`: a rule as `GET /rules` returns it can be posted as it is.
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub name: Option<serde_json::Value>,
    #[serde(default)]
    pub enabled: Option<serde_json::Value>,
    #[serde(default)]
    pub position: Option<serde_json::Value>,
    #[serde(default)]
    pub created_at: Option<serde_json::Value>,
    #[serde(default)]
    pub updated_at: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct DryRunCase {
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub chat_state: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DryRunDto {
    /// The cases the rule would touch now.
    pub cases: Vec<DryRunCase>,
    /// How many of the most recently active cases were looked at (at most 1000).
    pub scanned: usize,
}

/// Its schema is [`schema::new_visitor`]: an e-mail only with a user id.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateVisitor {
    /// The host site's id of a logged-in user, with `user_hash`.
    pub user_id: Option<String>,
    /// `hex(HMAC-SHA256(channel secret, user_id))`, computed by the host
    /// site's backend; with `email`, of `user_id + "\n" + email`.
    pub user_hash: Option<String>,
    pub name: Option<String>,
    /// The signed user's e-mail, signed together with `user_id`: it signs
    /// them in to the Help Center and links their cases in other channels.
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VisitorDto {
    /// The visitor's bearer token for the other widget calls; shown once.
    pub visitor_token: String,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetMessageDto {
    pub id: String,
    pub case_id: String,
    pub case_number: i64,
    /// `customer` (the visitor), `agent` or `system`.
    pub author: String,
    pub text: String,
    pub created_at: String,
    /// Emoji the visitor reacted with.
    pub reactions: Vec<String>,
    /// Files that came with the message (`GET …/attachments/{id}` with the visitor token).
    pub attachments: Vec<AttachmentDto>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetPostMessage {
    #[schema(schema_with = schema::message_text)]
    pub text: String,
    /// An idempotency key of the widget's choosing (1–100 characters): a
    /// retry with the same one is stored once.
    #[schema(schema_with = schema::client_id_or_null)]
    pub client_id: Option<String>,
    /// The host site's page the visitor writes from (`location.href`); kept
    /// as origin and path only, shown to agents beside the visitor. Not an
    /// http(s) URL: ignored.
    pub page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetPosted {
    pub message: WidgetMessageDto,
    /// `created`, `appended`, `reopened` or `duplicate`.
    pub outcome: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetReaction {
    pub message_id: String,
    #[schema(schema_with = schema::emoji)]
    pub emoji: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WidgetMessagesQuery {
    /// The last message id the widget has: only later ones are returned.
    pub after: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WidgetEventsQuery {
    /// The visitor token (EventSource cannot send headers).
    pub token: Option<String>,
    /// The id of the last event the widget had (what `Last-Event-ID` says,
    /// for a new `EventSource` that carries on).
    pub last_event_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetCaseDto {
    pub case_id: String,
    pub case_number: i64,
    pub status: String,
    pub chat_state: Option<String>,
}

/// `POST /help/{account_id}/sign-in`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpSignIn {
    #[schema(schema_with = schema::email)]
    pub email: String,
    /// `en` or `ru`: the language of the mail (default: the request's).
    pub lang: Option<String>,
}

/// `POST /help/{account_id}/session`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpOpenSession {
    /// The token of a sign-in link (after `#login=`).
    pub token: String,
}

/// The Help Center's public facts.
#[derive(Serialize, ToSchema)]
pub struct HelpInfoDto {
    pub account_id: String,
    /// The company's name, as its account is called.
    pub name: String,
}

/// The signed-in person.
#[derive(Serialize, ToSchema)]
pub struct HelpMeDto {
    pub account_id: String,
    pub account_name: String,
    pub email: Option<String>,
    /// A name to greet them by (their customer's), if known.
    pub name: Option<String>,
    /// Echo in `X-CSRF-Token` on every POST.
    pub csrf_token: String,
}

/// A case as its customer sees it.
#[derive(Serialize, ToSchema)]
pub struct HelpCaseDto {
    pub id: String,
    pub number: i64,
    pub subject: String,
    /// `open`, `pending` or `closed`.
    pub status: String,
    /// `active` or `finished` for chats, null for e-mail.
    pub chat_state: Option<String>,
    /// The channel's kind (`widget`, `api`, `email`, …) and name.
    pub channel_kind: Option<String>,
    pub channel_name: Option<String>,
    pub created_at: String,
    /// The last public message, reaction or keep-active.
    pub last_activity_at: String,
    pub closed_at: Option<String>,
}

/// A public message of a case (notes are never shown to customers).
#[derive(Serialize, ToSchema)]
pub struct HelpMessageDto {
    pub id: String,
    /// `customer`, `agent` or `system`.
    pub author: String,
    pub text: String,
    pub created_at: String,
    /// Files that came with the message (`GET /help/{account_id}/attachments/{id}`).
    pub attachments: Vec<AttachmentDto>,
}

#[derive(Serialize, ToSchema)]
pub struct HelpCaseDetailDto {
    pub case: HelpCaseDto,
    pub messages: Vec<HelpMessageDto>,
}

/// The widget's link to the Help Center.
#[derive(Serialize, ToSchema)]
pub struct HelpLinkDto {
    /// Opens the Help Center signed in as the visitor; works once, for 15 minutes.
    pub url: String,
}

/// Where an uploaded file goes: `POST …/attachments?filename=…`, the
/// file's bytes as the body. Other parameters are refused: with any bytes
/// a body, a stray parameter is the one thing that can be wrong.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttachmentUploadQuery {
    /// The file's name as the uploader knows it (paths are dropped).
    pub filename: Option<String>,
    /// A caption; the message's text is the file name without one.
    #[param(schema_with = schema::caption)]
    pub text: Option<String>,
    /// Widget uploads: the idempotency key, as for messages.
    #[param(schema_with = schema::client_id)]
    pub client_id: Option<String>,
    /// Agent uploads: `reply` (default, delivered to the customer) or `note`.
    pub kind: Option<PostKind>,
}

/// An uploaded file's bytes, as the body of `POST …/attachments`.
pub struct FileBytes;

impl utoipa::PartialSchema for FileBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::file_bytes().into()
    }
}

impl ToSchema for FileBytes {}

impl utoipa::PartialSchema for CreateRule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::rule_body(schema::RuleBody::Create).into()
    }
}

impl ToSchema for CreateRule {}

impl utoipa::PartialSchema for PatchRule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::rule_body(schema::RuleBody::Patch).into()
    }
}

impl ToSchema for PatchRule {}

impl utoipa::PartialSchema for DryRunRule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::rule_body(schema::RuleBody::DryRun).into()
    }
}

impl ToSchema for DryRunRule {}

impl utoipa::PartialSchema for CreateVisitor {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::new_visitor().into()
    }
}

impl ToSchema for CreateVisitor {}
