//! Rows as the rest of casedesk sees them, free of any driver type.

use casedesk_domain::{
    AccountTimeZone, Actor, AuthorType, AutoFinishSettings, CaseState, Change, ChannelKind,
    ChatState, EventKind, MessageKind, Recount, Role, Status, Tally, Time,
};

#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub id: String,
    pub name: String,
    pub settings: AutoFinishSettings,
    /// Days and weeks of statistics are this zone's (R15).
    pub time_zone: AccountTimeZone,
    /// Statistics count response and resolution times inside these hours
    /// (in `time_zone`) when set, calendar time otherwise.
    pub business_hours: Option<casedesk_domain::BusinessHours>,
    /// An agent's reply to an unassigned case assigns it to them.
    pub assign_on_reply: bool,
    pub created_at: Time,
}

#[derive(Clone, PartialEq)]
pub struct AgentRecord {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: Time,
    /// Set while an admin has disabled the agent: no login, no session.
    pub disabled_at: Option<Time>,
    /// Set once an admin deleted the agent: kept for the history, never
    /// listed, never signed in again.
    pub deleted_at: Option<Time>,
}

impl AgentRecord {
    /// Whether the agent may sign in and use sessions.
    pub fn active(&self) -> bool {
        self.disabled_at.is_none() && self.deleted_at.is_none()
    }
}

impl std::fmt::Debug for AgentRecord {
    // The password hash stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentRecord")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A bearer token, stored as the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub token_hash: String,
    pub account_id: String,
    pub agent_id: String,
    pub created_at: Time,
    pub expires_at: Time,
}

#[derive(Clone, PartialEq)]
pub struct ChannelRecord {
    pub id: String,
    pub account_id: String,
    pub kind: ChannelKind,
    pub name: String,
    pub webhook_url: Option<String>,
    /// Kept in clear: it is also the HMAC key of outbound webhooks and, on
    /// a widget channel, of the host site's signed user ids.
    pub inbound_token: String,
    /// Widget channels: the sites (`https://shop.example`) that may embed
    /// it; empty for any.
    pub allowed_origins: Vec<String>,
    pub created_at: Time,
    /// Set while an admin has turned the channel off: it takes nothing in.
    pub disabled_at: Option<Time>,
    /// Set once an admin has removed the channel: off for good, its cases
    /// kept.
    pub removed_at: Option<Time>,
}

impl std::fmt::Debug for ChannelRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelRecord")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub id: String,
    pub account_id: String,
    pub channel_id: String,
    pub external_id: String,
    pub name: Option<String>,
    /// The customer's e-mail address (lower case), which signs them in to
    /// the Help Center: set by an agent or a host site's signed user.
    pub email: Option<String>,
    /// The customer's most recent chat in the channel: the one that decides
    /// where the next message goes (R11).
    pub latest_case_id: Option<String>,
    pub created_at: Time,
    /// The language their messenger reports (`ru`, `pt-br`), if any.
    pub language: Option<String>,
    /// The person this profile belongs to, when an agent linked it to
    /// profiles of other channels (shared by every linked profile).
    pub person_id: Option<String>,
    /// A widget visitor's page (`https://shop.example/checkout`): where
    /// they last wrote from.
    pub page: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    pub id: String,
    pub account_id: String,
    pub number: i64,
    pub channel_id: String,
    pub customer_id: String,
    pub subject: String,
    pub state: CaseState,
    pub assignee_id: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
    /// Last public message, reaction or keep-active; orders lists.
    pub last_activity_at: Time,
    pub previous_case_id: Option<String>,
    pub next_case_id: Option<String>,
    pub merged_into_id: Option<String>,
    pub message_count: i64,
    pub unread: bool,
    pub first_response_at: Option<Time>,
}

impl CaseRecord {
    /// The message bookkeeping the domain's transitions take and return
    /// ([`CaseState::customer_wrote`] and the others).
    pub fn tally(&self) -> Tally {
        Tally {
            message_count: self.message_count,
            unread: self.unread,
            first_response_at: self.first_response_at,
            last_activity_at: self.last_activity_at,
        }
    }

    /// Keeps what a transition returned.
    pub fn set_tally(&mut self, tally: Tally) {
        let Tally {
            message_count,
            unread,
            first_response_at,
            last_activity_at,
        } = tally;
        self.message_count = message_count;
        self.unread = unread;
        self.first_response_at = first_response_at;
        self.last_activity_at = last_activity_at;
    }
}

/// The case list's filters and page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    pub status: Option<Status>,
    pub chat_state: Option<ChatState>,
    pub channel_id: Option<String>,
    pub customer_id: Option<String>,
    pub assignee_id: Option<String>,
    /// Only cases nobody is assigned to.
    pub unassigned: bool,
    /// Only cases carrying this label.
    pub label_id: Option<String>,
    /// Matches the subject and message texts, case-insensitively.
    pub q: Option<String>,
    /// Merged cases are hidden unless asked for.
    pub include_merged: bool,
    /// Which time orders the list; ties are broken by id in the same direction.
    pub sort: CaseSort,
    pub order: SortOrder,
    /// Cases strictly past this (sort time, id) position in the chosen
    /// order: the last case of the previous page.
    pub cursor: Option<(Time, String)>,
    pub limit: i64,
}

/// How many unmerged cases each queue of the agent console holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Open, assigned to the asking agent.
    pub mine: i64,
    /// Open, assigned to nobody.
    pub unassigned: i64,
    /// Open.
    pub open: i64,
    /// Pending: waiting on the customer.
    pub pending: i64,
}

/// The time a case list is ordered by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseSort {
    #[default]
    CreatedAt,
    /// Last public message, reaction or keep-active (R10: reactions move a case up).
    LastActivityAt,
}

impl CaseSort {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseSort::CreatedAt => "created_at",
            CaseSort::LastActivityAt => "last_activity_at",
        }
    }

    /// The sort time of a case.
    pub fn key(self, case: &CaseRecord) -> Time {
        match self {
            CaseSort::CreatedAt => case.created_at,
            CaseSort::LastActivityAt => case.last_activity_at,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: String,
    pub account_id: String,
    pub case_id: String,
    pub seq: i64,
    pub kind: MessageKind,
    pub author_type: AuthorType,
    pub author_id: Option<String>,
    pub text: String,
    pub created_at: Time,
    pub channel_id: String,
    /// The channel's own id of a customer message: the idempotency key.
    pub channel_message_id: Option<String>,
    /// For reaction notes: the message reacted to.
    pub reacted_message_id: Option<String>,
    /// When the customer last edited the text in their messenger.
    pub edited_at: Option<Time>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageSummary {
    pub message_count: i64,
    pub last_public_author: Option<AuthorType>,
    pub last_public_at: Option<Time>,
    pub first_customer_text: Option<String>,
    pub first_agent_reply_at: Option<Time>,
}

impl MessageSummary {
    /// What the case holds now, for [`CaseState::recount`].
    pub fn recount(&self) -> Recount {
        Recount {
            message_count: self.message_count,
            last_public_author: self.last_public_author,
            last_public_at: self.last_public_at,
            first_agent_reply_at: self.first_agent_reply_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReactionRecord {
    pub id: String,
    pub account_id: String,
    pub message_id: String,
    pub customer_id: String,
    pub emoji: String,
    pub note_id: String,
    pub created_at: Time,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: String,
    pub account_id: String,
    pub case_id: String,
    /// `created`, `message`, `finished`, `auto_finished`, `status_changed`, …
    pub kind: EventKind,
    pub actor: Actor,
    pub changes: Vec<Change>,
    pub data: serde_json::Value,
    pub created_at: Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineKind {
    Warn,
    Finish,
}

impl DeadlineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::Warn => "warn",
            DeadlineKind::Finish => "finish",
        }
    }

    pub fn parse(s: &str) -> Option<DeadlineKind> {
        match s {
            "warn" => Some(DeadlineKind::Warn),
            "finish" => Some(DeadlineKind::Finish),
            _ => None,
        }
    }
}

/// One durable timer of an active chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Deadline {
    pub case_id: String,
    pub account_id: String,
    pub kind: DeadlineKind,
    pub due_at: Time,
}

/// An outbound webhook delivery: queued, delivered, or given up.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: String,
    pub account_id: String,
    pub channel_id: String,
    pub message_id: String,
    /// The channel's webhook URL when the delivery was queued. Deliveries
    /// go to the channel's URL at the time of each attempt instead.
    pub url: String,
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: Time,
    pub created_at: Time,
    /// When the last attempt ended; `None` before the first.
    pub last_attempt_at: Option<Time>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Time>,
    /// When it was given up (a dead letter): its attempts were used up or
    /// it had nowhere to go.
    pub failed_at: Option<Time>,
}

impl OutboxItem {
    /// A new delivery, due at `at`.
    pub fn queued(
        id: String,
        account_id: String,
        channel_id: String,
        message_id: String,
        url: String,
        body: String,
        at: Time,
    ) -> OutboxItem {
        OutboxItem {
            id,
            account_id,
            channel_id,
            message_id,
            url,
            body,
            attempts: 0,
            next_attempt_at: at,
            created_at: at,
            last_attempt_at: None,
            last_error: None,
            delivered_at: None,
            failed_at: None,
        }
    }

    pub fn state(&self) -> OutboxState {
        if self.delivered_at.is_some() {
            OutboxState::Delivered
        } else if self.failed_at.is_some() {
            OutboxState::Failed
        } else {
            OutboxState::Pending
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    Delivered,
    /// Given up: only an admin's redelivery queues it again.
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        match s {
            "pending" => Some(OutboxState::Pending),
            "delivered" => Some(OutboxState::Delivered),
            "failed" => Some(OutboxState::Failed),
            _ => None,
        }
    }
}

/// What one delivery attempt decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxOutcome {
    Delivered,
    /// Try again at this time.
    Retry(Time),
    /// Give up: a dead letter.
    Failed,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxUpdate {
    pub id: String,
    pub attempts: i64,
    pub outcome: OutboxOutcome,
    pub last_error: Option<String>,
    /// When the attempt ended.
    pub now: Time,
}

/// What statistics to gather for a period `[from, to)` (R15).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsQuery {
    pub from: Time,
    pub to: Time,
    pub grouping: StatsGrouping,
    pub channel_id: Option<String>,
    /// Only cases assigned to this agent.
    pub agent_id: Option<String>,
}

/// How gathered rows are keyed.
#[derive(Debug, Clone, PartialEq)]
pub enum StatsGrouping {
    /// Contiguous `[start, end)` buckets covering the period, keyed
    /// [`casedesk_domain::stats::GroupKey::Bucket`] by position.
    Buckets(Vec<(Time, Time)>),
    /// By the case's assignee.
    Agent,
    /// By the case's channel.
    Channel,
}

/// One row of a case-list export: the case and the names it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub case: CaseRecord,
    pub channel_name: String,
    pub customer_name: Option<String>,
    /// The customer's id as the channel knows it.
    pub customer_external_id: String,
    pub assignee_name: Option<String>,
    pub previous_number: Option<i64>,
    pub next_number: Option<i64>,
    /// Label names, sorted; backends leave it empty and the export fills
    /// it from [`crate::Tx::case_labels`].
    pub labels: Vec<String>,
}

/// Rows a benchmark inserts in one go, unchecked: customers first, then
/// cases, then their history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedBatch {
    pub customers: Vec<CustomerRecord>,
    pub cases: Vec<CaseRecord>,
    pub events: Vec<EventRecord>,
}

/// A label of an account's catalogue; names are unique ignoring case.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRecord {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// `#rrggbb`.
    pub color: Option<String>,
    pub created_at: Time,
}

/// A template (macro): a reply text and actions. Shared by the account
/// when `owner_id` is `None`, otherwise an agent's personal template.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRecord {
    pub id: String,
    pub account_id: String,
    pub owner_id: Option<String>,
    pub name: String,
    /// The reply it sends, with placeholders; empty for none.
    pub body: String,
    pub actions: Vec<casedesk_domain::Action>,
    pub created_at: Time,
    pub updated_at: Time,
}

/// A widget visitor: the customer a visitor token stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitorRecord {
    /// SHA-256 (hex) of the bearer token.
    pub token_hash: String,
    pub account_id: String,
    pub channel_id: String,
    pub customer_id: String,
    pub created_at: Time,
    /// When the token was last used (to the day): tokens idle too long stop working.
    pub last_seen_at: Time,
}

/// A file attached to a message; its bytes live in the attachments
/// directory, named by `id`, under the account's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentRecord {
    pub id: String,
    pub account_id: String,
    /// The message it came with (its case is the message's, through splits
    /// and merges).
    pub message_id: String,
    /// As the uploader named it, cleaned of paths and control characters.
    pub filename: String,
    /// What the content is, sniffed from its bytes (never the uploader's word).
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 (hex) of the content.
    pub sha256: String,
    pub created_at: Time,
}

/// What a message that is a letter has beyond its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRecord {
    pub message_id: String,
    pub account_id: String,
    pub subject: String,
    pub from_address: String,
    /// The `To` and `Cc` addresses.
    pub recipients: Vec<String>,
    /// The HTML body as it came (never to be shown unsanitized).
    pub html: Option<String>,
    /// Why it counts as machine-sent, if it does.
    pub automatic: Option<String>,
    /// The raw letter's file in the attachments store.
    pub raw_file: Option<String>,
    pub created_at: Time,
}

/// What a Help Center token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpTokenKind {
    /// A one-time sign-in link (mailed, or made for a widget visitor).
    Link,
    /// A signed-in browser's session.
    Session,
}

impl HelpTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HelpTokenKind::Link => "link",
            HelpTokenKind::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "link" => Some(HelpTokenKind::Link),
            "session" => Some(HelpTokenKind::Session),
            _ => None,
        }
    }
}

/// A Help Center token of a customer person: whom it signs in is an e-mail
/// address (every customer of the account with it) and/or one customer
/// (a widget visitor who followed the widget's link).
#[derive(Debug, Clone, PartialEq)]
pub struct HelpTokenRecord {
    /// SHA-256 (hex) of the token; the token itself is never stored.
    pub token_hash: String,
    pub account_id: String,
    pub kind: HelpTokenKind,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub created_at: Time,
    pub expires_at: Time,
}

/// An automation rule of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRecord {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub enabled: bool,
    /// Rules run by ascending position (then creation).
    pub position: i64,
    pub trigger: casedesk_domain::rules::Trigger,
    pub conditions: Vec<casedesk_domain::rules::Condition>,
    pub actions: Vec<casedesk_domain::Action>,
    pub created_at: Time,
    pub updated_at: Time,
}

/// When a time-based rule fires for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTimer {
    pub case_id: String,
    pub rule_id: String,
    pub account_id: String,
    pub due_at: Time,
}

/// What a messenger channel keeps that only the server may see: the
/// credential the messenger gave (Telegram: the bot token) and the secret
/// its webhook calls carry. Kept apart from [`ChannelRecord`], which the API
/// shows, so that no response can include them by mistake.
#[derive(Clone, PartialEq)]
pub struct ChannelSecretRecord {
    pub channel_id: String,
    pub account_id: String,
    pub secret: String,
    pub webhook_secret: String,
    /// What the server learned when it connected, as JSON (Telegram: the
    /// bot's id and @username).
    pub settings: serde_json::Value,
    pub created_at: Time,
    pub updated_at: Time,
}

impl std::fmt::Debug for ChannelSecretRecord {
    // The secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSecretRecord")
            .field("channel_id", &self.channel_id)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One update a messenger delivered, stored raw before anything is done
/// with it ("store first, then process"), once per `(channel, update_id)`.
/// The updates of one chat (`chat_key`) are processed in `update_id` order.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelUpdate {
    pub channel_id: String,
    pub account_id: String,
    pub update_id: i64,
    /// What makes a delivery the same as one stored before, when the
    /// `update_id` does not (a letter's Message-ID); `None` for messenger
    /// updates.
    pub key: Option<String>,
    pub chat_key: String,
    pub payload: String,
    pub received_at: Time,
    pub attempts: i64,
    pub next_attempt_at: Time,
    pub processed_at: Option<Time>,
    pub failed_at: Option<Time>,
    pub last_error: Option<String>,
}

impl ChannelUpdate {
    /// A new update, due for processing at once.
    pub fn received(
        channel_id: String,
        account_id: String,
        update_id: i64,
        chat_key: String,
        payload: String,
        at: Time,
    ) -> ChannelUpdate {
        ChannelUpdate {
            channel_id,
            account_id,
            update_id,
            key: None,
            chat_key,
            payload,
            received_at: at,
            attempts: 0,
            next_attempt_at: at,
            processed_at: None,
            failed_at: None,
            last_error: None,
        }
    }

    pub fn state(&self) -> UpdateState {
        if self.processed_at.is_some() {
            UpdateState::Processed
        } else if self.failed_at.is_some() {
            UpdateState::Failed
        } else {
            UpdateState::Pending
        }
    }
}

/// Where a channel's polling continues: the next offset (a bot's next
/// update id, a mailbox's next UID) under the validity it belongs to (a
/// mailbox's UIDVALIDITY; `None` for bots and before the first poll).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPosition {
    pub next_offset: i64,
    pub validity: Option<i64>,
}

/// Where an update is: waiting (or retrying), done, or given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateState {
    Pending,
    Processed,
    Failed,
}

impl UpdateState {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Pending => "pending",
            UpdateState::Processed => "processed",
            UpdateState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<UpdateState> {
        match s {
            "pending" => Some(UpdateState::Pending),
            "processed" => Some(UpdateState::Processed),
            "failed" => Some(UpdateState::Failed),
            _ => None,
        }
    }
}

/// How processing an update ended: done, to be tried again at a time, or
/// given up on (the chat's later updates then go ahead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    Processed,
    Retry(Time),
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateFinish {
    pub channel_id: String,
    pub update_id: i64,
    pub attempts: i64,
    pub outcome: UpdateOutcome,
    pub last_error: Option<String>,
    pub now: Time,
}

/// A place in an account's feed of notices: the transaction that wrote a
/// notice, then its sequence number (docs/live.md). Places only grow in
/// the order readers see them; `Cursor::default()` is before every notice.
/// Written `tx-seq` (the server-sent events' `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cursor {
    pub tx: i64,
    pub seq: i64,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.tx, self.seq)
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Cursor, String> {
        let bad = || format!("`{s}` is not a place in the feed (`tx-seq`)");
        let (tx, seq) = s.split_once('-').ok_or_else(bad)?;
        let number = |part: &str| {
            part.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0 && part.bytes().all(|b| b.is_ascii_digit()))
        };
        match (number(tx), number(seq)) {
            (Some(tx), Some(seq)) => Ok(Cursor { tx, seq }),
            _ => Err(bad()),
        }
    }
}

/// A change notice of an account, as live clients are sent it: which case
/// of which customer, what happened (`case.created`, `case.updated`,
/// `message.created`, …) and its details.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRecord {
    /// Its place in the account's feed; given by the database when the
    /// notice is written (ignored by [`LiveTx::insert_notices`]).
    pub cursor: Cursor,
    pub account_id: String,
    pub customer_id: String,
    pub case_id: String,
    pub case_number: i64,
    pub kind: String,
    pub data: serde_json::Value,
    pub created_at: Time,
}

/// One entry counting against a limit shared by several servers
/// ([`LimitTx`](crate::LimitTx)): a hit of a rate limit, expiring when it
/// leaves the window, or an open event stream, renewed while it is open.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitEntry {
    pub id: String,
    /// What is limited, and for whom: `visitors-ip:…`, `stream:agent:…`.
    pub key: String,
    /// What forgets the entry together with others of other keys (the
    /// email of a failed login, whatever address it came from).
    pub tag: Option<String>,
    pub expires_at: Time,
}

/// Which limit entries [`LimitTx::delete_limit_entries`](crate::LimitTx::delete_limit_entries) deletes.
#[derive(Debug, Clone, Copy)]
pub enum LimitEntries<'a> {
    Ids(&'a [String]),
    Key(&'a str),
    Tag(&'a str),
}

/// How many unreadable records of an import are kept with their line
/// ([`ImportRecord::errors`]); the rest are only counted.
pub const MAX_IMPORT_ERRORS: usize = 1000;

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    /// The file is being read and its messages staged.
    Receiving,
    /// Staged: customers are being turned into cases.
    Splitting,
    Done,
    Failed,
}

impl ImportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Receiving => "receiving",
            ImportState::Splitting => "splitting",
            ImportState::Done => "done",
            ImportState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for ImportState {
    type Err = String;

    fn from_str(s: &str) -> Result<ImportState, String> {
        match s {
            "receiving" => Ok(ImportState::Receiving),
            "splitting" => Ok(ImportState::Splitting),
            "done" => Ok(ImportState::Done),
            "failed" => Ok(ImportState::Failed),
            _ => Err(format!("unknown import state `{s}`")),
        }
    }
}

/// A record of a history file that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportError {
    /// Its line in the file, from 1.
    pub line: i64,
    pub message: String,
}

/// A history file an admin uploaded to a channel, and how far turning it
/// into cases got: its rows are staged ([`ImportRow`]), then a worker makes
/// each customer's cases in one unit of work and records the customer it
/// finished, so that a crash resumes after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    pub id: String,
    pub account_id: String,
    pub channel_id: String,
    /// The file's format, as the server names it.
    pub format: String,
    pub state: ImportState,
    /// Messages stored as new (not already imported before).
    pub messages: i64,
    /// Cases made.
    pub cases: i64,
    /// Records left out on purpose (service messages, other chats, already
    /// imported).
    pub skipped: i64,
    /// Records that could not be read; the first [`MAX_IMPORT_ERRORS`] are
    /// in `errors`.
    pub error_count: i64,
    pub errors: Vec<ImportError>,
    /// Rows staged so far.
    pub staged: i64,
    /// Customers turned into cases so far, and the last of them (customers
    /// are worked in `customer_id` order, bytewise): the resume point.
    pub customers_done: i64,
    pub last_customer: Option<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Held by a worker until then.
    pub lease_until: Option<Time>,
    pub created_at: Time,
    pub updated_at: Time,
}

/// One message of a history file, staged until its customer's cases are
/// made.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub import_id: String,
    /// Position in the file, from 1: the key (several records may share a
    /// line).
    pub n: i64,
    pub line: i64,
    /// The customer's id in the channel (external id), not a casedesk
    /// customer id.
    pub customer_id: String,
    pub customer_name: Option<String>,
    /// The record's id in the file.
    pub source_id: String,
    pub from_customer: bool,
    pub agent_name: Option<String>,
    pub at: Time,
    pub text: String,
    /// The attachment the record names, as the file names it, if any.
    pub attachment: Option<String>,
}
