//! The e-mail channel (R14): a mailbox whose letters become cases, each new
//! letter its own case and each reply joining the case of its thread.
//!
//! A letter arrives through the MIME endpoint (a provider's inbound
//! webhook, an MTA pipe) and is stored raw before anything else happens
//! ([`receive`]); the update worker reads it in its sender's order
//! ([`process`]). Agent replies leave through the outbox by SMTP
//! ([`outbound`]) with the threading headers every mail client follows.
//! The channel's address and SMTP settings live with its secrets
//! ([`connect`]).

pub mod connect;
pub mod imap;
pub mod outbound;
pub mod process;
pub mod receive;

use casedesk_domain::ChannelKind;
use casedesk_store::{ChannelSecretRecord, StoreError, read};
use serde::{Deserialize, Serialize};

use crate::AppState;

/// The `url` of an e-mail reply in the outbox: it goes to the customer's
/// address through the channel's SMTP server.
pub const OUTBOX_TARGET: &str = "email";

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (SMTPS on 465, IMAPS on 993).
    Tls,
    /// Plain first, then STARTTLS, required (SMTP submission on 587).
    Starttls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::None => "none",
        }
    }
}

/// Where a channel's replies are sent from (the password is a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
}

/// Where a channel's letters are fetched from (the password is a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imap {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    /// The mailbox folder read, `INBOX` by default.
    pub folder: String,
}

/// What an e-mail channel is, beyond its name: kept with its secrets,
/// shown to admins without the passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The address customers write to and replies come from, lower case.
    pub address: String,
    #[serde(default)]
    pub smtp: Option<Smtp>,
    #[serde(default)]
    pub imap: Option<Imap>,
}

/// The passwords of an e-mail channel: never returned, never logged.
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Secrets {
    #[serde(default)]
    pub smtp_password: Option<String>,
    #[serde(default)]
    pub imap_password: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets").finish_non_exhaustive()
    }
}

impl Settings {
    pub fn of(secret: &ChannelSecretRecord) -> Option<Settings> {
        serde_json::from_value(secret.settings.clone()).ok()
    }

    /// The part of the address after `@`: the domain of our Message-IDs.
    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map_or("casedesk.invalid", |(_, d)| d)
    }
}

impl Secrets {
    pub fn of(secret: &ChannelSecretRecord) -> Secrets {
        serde_json::from_str(&secret.secret).unwrap_or_default()
    }
}

/// The Message-ID of casedesk's message `message_id` sent from a channel
/// with `settings`: chosen when the reply is saved, so that every retry
/// sends the same one and the customer's answer finds the case.
pub fn message_id(message_id: &str, settings: &Settings) -> String {
    format!("{message_id}@{}", settings.domain())
}

/// The account's e-mail channels: their ids and addresses.
pub async fn mailboxes(
    app: &AppState,
    account_id: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let account_id = account_id.to_owned();
    read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut found = Vec::new();
            for c in tx.list_channels(&account_id).await? {
                if c.kind != ChannelKind::Email {
                    continue;
                }
                if let Some(settings) = tx
                    .get_channel_secret(&c.id)
                    .await?
                    .as_ref()
                    .and_then(Settings::of)
                {
                    found.push((c.id, settings.address));
                }
            }
            Ok(found)
        })
    })
    .await
}
