//! Connecting a mailbox: its address and, optionally, the SMTP server its
//! replies leave through, checked and kept with the channel's secrets
//! (passwords never shown again); and what an admin sees of it.

use casedesk_domain::ChannelKind;
use casedesk_store::{ChannelRecord, ChannelSecretRecord, StoreError, write};
use serde::Deserialize;

use super::{Imap, Secrets, Security, Settings, Smtp};
use crate::AppState;
use crate::error::AppError;
use crate::util::{new_id, new_secret};

/// The SMTP settings an admin gives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpInput {
    pub host: String,
    pub port: Option<u16>,
    /// `tls`, `starttls` (the default but on port 465) or `none`.
    pub security: Option<Security>,
    pub user: Option<String>,
    pub password: Option<String>,
}

/// The IMAP settings an admin gives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapInput {
    pub host: String,
    pub port: Option<u16>,
    /// `tls` (the default but on port 143), `starttls` or `none`.
    pub security: Option<Security>,
    pub user: String,
    /// Required for a new mailbox; when changing one, absent keeps the
    /// stored password.
    pub password: Option<String>,
    /// `INBOX` when absent.
    pub folder: Option<String>,
}

/// Longest folder name taken.
pub const MAX_FOLDER: usize = 200;

/// Longest address taken (RFC 5321's limit of a path).
pub const MAX_ADDRESS: usize = 254;
/// Longest host name (RFC 1035).
pub const MAX_HOST: usize = 253;
/// Longest SMTP user name and password taken.
pub const MAX_USER: usize = 320;
pub const MAX_PASSWORD: usize = 1024;

/// The address, lower case, if it is one.
pub fn check_address(address: &str) -> Result<String, AppError> {
    let too_long = address.chars().count() > MAX_ADDRESS;
    let address = address.trim().to_lowercase();
    if too_long || address.parse::<lettre::Address>().is_err() {
        return Err(AppError::invalid_as(
            "address_invalid",
            "address must be an e-mail address like support@shop.example",
        ));
    }
    Ok(address)
}

fn port_invalid(field: &str) -> AppError {
    AppError::invalid_as("port_invalid", format!("{field} must be 1 to 65535"))
        .with(serde_json::json!({ "field": field }))
}

/// A host name or IP address, nothing that could be a URL or a path.
fn check_host(host: &str, what: &str) -> Result<String, AppError> {
    let too_long = host.chars().count() > MAX_HOST;
    let host = host.trim().trim_end_matches('.').to_lowercase();
    let ok = !host.is_empty()
        && !too_long
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !ok {
        return Err(AppError::invalid_as(
            "host_invalid",
            format!("{what}.host must be a host name like smtp.shop.example"),
        )
        .with(serde_json::json!({ "field": format!("{what}.host") })));
    }
    Ok(host)
}

/// The SMTP settings of `input`; without a password in it, `kept` (the
/// stored one) stays.
fn smtp(input: SmtpInput, kept: Option<&str>) -> Result<(Smtp, Option<String>), AppError> {
    let host = check_host(&input.host, "smtp")?;
    let security = input.security.unwrap_or(match input.port {
        Some(465) => Security::Tls,
        _ => Security::Starttls,
    });
    let port = input.port.unwrap_or(match security {
        Security::Tls => 465,
        Security::Starttls => 587,
        Security::None => 25,
    });
    if port == 0 {
        return Err(port_invalid("smtp.port"));
    }
    if input
        .user
        .as_ref()
        .is_some_and(|u| u.chars().count() > MAX_USER)
    {
        return Err(AppError::field_length(
            "smtp.user",
            0,
            MAX_USER,
            format!("smtp.user must be at most {MAX_USER} characters"),
        ));
    }
    if input
        .password
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_PASSWORD)
    {
        return Err(AppError::field_length(
            "smtp.password",
            0,
            MAX_PASSWORD,
            format!("smtp.password must be at most {MAX_PASSWORD} characters"),
        ));
    }
    let user = input
        .user
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    let password = input
        .password
        .filter(|p| !p.is_empty())
        .or_else(|| kept.map(str::to_owned))
        .filter(|_| user.is_some() || kept.is_none());
    if password.is_some() && user.is_none() {
        return Err(AppError::invalid_as(
            "password_needs_user",
            "smtp.password needs smtp.user",
        ));
    }
    Ok((
        Smtp {
            host,
            port,
            security,
            user,
        },
        password,
    ))
}

/// The IMAP settings of `input`; without a password in it, `kept` (the
/// stored one) stays.
fn imap(input: ImapInput, kept: Option<&str>) -> Result<(Imap, String), AppError> {
    let host = check_host(&input.host, "imap")?;
    let security = input.security.unwrap_or(match input.port {
        Some(143) => Security::Starttls,
        _ => Security::Tls,
    });
    let port = input.port.unwrap_or(match security {
        Security::Tls => 993,
        Security::Starttls | Security::None => 143,
    });
    if port == 0 {
        return Err(port_invalid("imap.port"));
    }
    let user = input.user.trim().to_owned();
    if user.is_empty() || input.user.chars().count() > MAX_USER {
        return Err(AppError::field_length(
            "imap.user",
            1,
            MAX_USER,
            format!("imap.user must be 1 to {MAX_USER} characters"),
        ));
    }
    let password = input
        .password
        .filter(|p| !p.is_empty())
        .or_else(|| kept.map(str::to_owned))
        .unwrap_or_default();
    if password.is_empty() || password.chars().count() > MAX_PASSWORD {
        return Err(AppError::field_length(
            "imap.password",
            1,
            MAX_PASSWORD,
            format!("imap.password must be 1 to {MAX_PASSWORD} characters"),
        ));
    }
    let raw_folder = input.folder.unwrap_or_default();
    let folder = raw_folder.trim();
    let folder = if folder.is_empty() { "INBOX" } else { folder };
    if raw_folder.chars().count() > MAX_FOLDER || folder.chars().any(char::is_control) {
        return Err(AppError::field_length(
            "imap.folder",
            1,
            MAX_FOLDER,
            format!("imap.folder must be a folder name of at most {MAX_FOLDER} characters"),
        ));
    }
    Ok((
        Imap {
            host,
            port,
            security,
            user,
            folder: folder.to_owned(),
        },
        password,
    ))
}

/// What an admin changes of a mailbox (`PATCH /channels/{id}`): absent
/// fields stay, `null` removes SMTP or IMAP; passwords left out stay.
#[derive(Debug, Default)]
pub struct Change {
    pub address: Option<String>,
    pub smtp: Option<Option<SmtpInput>>,
    pub imap: Option<Option<ImapInput>>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.address.is_none() && self.smtp.is_none() && self.imap.is_none()
    }

    /// Applies the change; `true` when the IMAP mailbox changed (its
    /// fetching starts again with the new settings).
    pub fn apply(self, settings: &mut Settings, secrets: &mut Secrets) -> Result<bool, AppError> {
        if let Some(address) = &self.address {
            settings.address = check_address(address)?;
        }
        if let Some(smtp_input) = self.smtp {
            let kept = secrets.smtp_password.clone();
            let (s, p) = match smtp_input.map(|i| smtp(i, kept.as_deref())).transpose()? {
                Some((s, p)) => (Some(s), p),
                None => (None, None),
            };
            settings.smtp = s;
            secrets.smtp_password = p;
        }
        let mut imap_changed = false;
        if let Some(imap_input) = self.imap {
            let kept = secrets.imap_password.clone();
            let (i, p) = match imap_input.map(|i| imap(i, kept.as_deref())).transpose()? {
                Some((i, p)) => (Some(i), Some(p)),
                None => (None, None),
            };
            imap_changed = i != settings.imap || p != secrets.imap_password;
            settings.imap = i;
            secrets.imap_password = p;
        }
        Ok(imap_changed)
    }
}

/// Creates an e-mail channel of the account for `address`, replying
/// through `smtp` when given (without it, replies wait in the outbox) and
/// fetching letters from `imap` when given (without it, letters come only
/// through the MIME endpoint).
pub async fn connect(
    app: &AppState,
    account_id: &str,
    name: String,
    address: &str,
    smtp_input: Option<SmtpInput>,
    imap_input: Option<ImapInput>,
) -> Result<(ChannelRecord, Settings, Secrets), AppError> {
    let address = check_address(address)?;
    let (smtp, smtp_password) = match smtp_input.map(|i| smtp(i, None)).transpose()? {
        Some((s, p)) => (Some(s), p),
        None => (None, None),
    };
    let (imap, imap_password) = match imap_input.map(|i| imap(i, None)).transpose()? {
        Some((i, p)) => (Some(i), Some(p)),
        None => (None, None),
    };
    let at = app.clock.now();
    let channel = ChannelRecord {
        id: new_id(),
        account_id: account_id.to_owned(),
        kind: ChannelKind::Email,
        name,
        webhook_url: None,
        inbound_token: new_secret(),
        allowed_origins: Vec::new(),
        created_at: at,
        disabled_at: None,
        removed_at: None,
    };
    let settings = Settings {
        address,
        smtp,
        imap,
    };
    let secrets = Secrets {
        smtp_password,
        imap_password,
    };
    let secret = ChannelSecretRecord {
        channel_id: channel.id.clone(),
        account_id: account_id.to_owned(),
        secret: serde_json::to_string(&secrets).map_err(AppError::internal)?,
        webhook_secret: String::new(),
        settings: serde_json::to_value(&settings).map_err(AppError::internal)?,
        created_at: at,
        updated_at: at,
    };
    let (c, s) = (channel.clone(), secret);
    write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.insert_channel(&c).await?;
            tx.upsert_channel_secret(&s).await
        })
    })
    .await?;
    if settings.imap.is_some() {
        app.mailboxes_changed.notify_one();
    }
    Ok((channel, settings, secrets))
}

/// How one part of a mailbox answered a test.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Check {
    pub ok: bool,
    /// What failed, in plain words: the name, the connection, TLS, the
    /// login, the folder.
    pub error: Option<String>,
}

impl Check {
    fn of(result: Result<(), String>) -> Check {
        match result {
            Ok(()) => Check {
                ok: true,
                error: None,
            },
            Err(e) => Check {
                ok: false,
                error: Some(e),
            },
        }
    }
}

/// What testing an e-mail channel's servers found.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Tested {
    /// `null` when the channel has no IMAP mailbox.
    pub imap: Option<Check>,
    /// `null` when the channel has no SMTP server.
    pub smtp: Option<Check>,
}

/// Connects to the channel's IMAP mailbox (logging in and opening the
/// folder) and to its SMTP server, and says what failed.
pub async fn test(app: &AppState, account_id: &str, channel_id: &str) -> Result<Tested, AppError> {
    let c = crate::channels::connected(app, channel_id)
        .await?
        .filter(|c| {
            c.channel.account_id == account_id
                && c.channel.kind == ChannelKind::Email
                && c.channel.removed_at.is_none()
        })
        .ok_or_else(|| AppError::not_found("e-mail channel"))?;
    let settings = Settings::of(&c.secret)
        .ok_or_else(|| AppError::internal("an e-mail channel without its settings"))?;
    let secrets = Secrets::of(&c.secret);
    let imap = async {
        let imap = settings.imap.as_ref()?;
        let password = secrets.imap_password.clone().unwrap_or_default();
        let opened = bounded(async {
            match super::imap::open(imap, &password).await {
                Ok((mut session, _)) => {
                    let _ = session.logout().await;
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        });
        Some(Check::of(opened.await))
    };
    let smtp = async {
        let smtp = settings.smtp.as_ref()?;
        let checked = bounded(async {
            let transport = super::outbound::transport(smtp, &secrets)?;
            match transport.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(format!(
                    "the SMTP server {}:{} did not answer NOOP",
                    smtp.host, smtp.port
                )),
                Err(e) => Err(super::outbound::smtp_error(smtp, &e)),
            }
        });
        Some(Check::of(checked.await))
    };
    let (imap, smtp) = tokio::join!(imap, smtp);
    Ok(Tested { imap, smtp })
}

/// How long a test of a mailbox's servers may take: an admin is waiting.
const TEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

async fn bounded(f: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the server could not be reached: no answer within {} s",
                TEST_TIMEOUT.as_secs()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_hosts_are_checked() {
        assert_eq!(
            check_address(" Support@Shop.Example ").unwrap(),
            "support@shop.example"
        );
        for bad in [
            "",
            "support",
            "a@b@c",
            "<a@b.example>",
            &format!("{}@x.example", "a".repeat(260)),
        ] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_host("SMTP.Shop.Example.", "smtp").unwrap(),
            "smtp.shop.example"
        );
        for bad in ["", "smtp.x/evil", "a b", "http://x"] {
            assert!(check_host(bad, "smtp").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn smtp_defaults_follow_the_port() {
        let input = |port, security| SmtpInput {
            host: "smtp.x.example".into(),
            port,
            security,
            user: Some("u".into()),
            password: Some("p".into()),
        };
        let (s, p) = smtp(input(Some(465), None), None).unwrap();
        assert_eq!((s.port, s.security), (465, Security::Tls));
        assert_eq!(p.as_deref(), Some("p"));
        let (s, _) = smtp(input(None, None), None).unwrap();
        assert_eq!((s.port, s.security), (587, Security::Starttls));
        let (s, _) = smtp(input(None, Some(Security::None)), None).unwrap();
        assert_eq!(s.port, 25);
        assert!(smtp(input(Some(0), None), None).is_err());
        let mut no_user = input(None, None);
        no_user.user = None;
        assert!(smtp(no_user, None).is_err(), "a password without a user");
        let mut keep = input(None, None);
        keep.password = None;
        let (_, p) = smtp(keep, Some("stored")).unwrap();
        assert_eq!(
            p.as_deref(),
            Some("stored"),
            "a change without a password keeps it"
        );
    }
}
