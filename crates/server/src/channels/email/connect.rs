//! Connecting a mailbox: its address and, optionally, the SMTP server its
//! replies leave through, checked and kept with the channel's secrets
//! (passwords never shown again); and what an admin sees of it.

use casedesk_domain::ChannelKind;
use casedesk_store::{ChannelRecord, ChannelSecretRecord, StoreError, write};
use serde::Deserialize;

use super::{Secrets, Security, Settings, Smtp};
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
        return Err(AppError::invalid(
            "address must be an e-mail address like support@shop.example",
        ));
    }
    Ok(address)
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
        return Err(AppError::invalid(format!(
            "{what}.host must be a host name like smtp.shop.example"
        )));
    }
    Ok(host)
}

fn smtp(input: SmtpInput) -> Result<(Smtp, Option<String>), AppError> {
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
        return Err(AppError::invalid("smtp.port must be 1 to 65535"));
    }
    if input
        .user
        .as_ref()
        .is_some_and(|u| u.chars().count() > MAX_USER)
    {
        return Err(AppError::invalid(format!(
            "smtp.user must be at most {MAX_USER} characters"
        )));
    }
    if input
        .password
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_PASSWORD)
    {
        return Err(AppError::invalid(format!(
            "smtp.password must be at most {MAX_PASSWORD} characters"
        )));
    }
    let user = input
        .user
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    let password = input.password.filter(|p| !p.is_empty());
    if password.is_some() && user.is_none() {
        return Err(AppError::invalid("smtp.password needs smtp.user"));
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

/// Creates an e-mail channel of the account for `address`, replying
/// through `smtp` when given (without it, replies wait in the outbox).
pub async fn connect(
    app: &AppState,
    account_id: &str,
    name: String,
    address: &str,
    smtp_input: Option<SmtpInput>,
) -> Result<(ChannelRecord, Settings, Secrets), AppError> {
    let address = check_address(address)?;
    let (smtp, smtp_password) = match smtp_input.map(smtp).transpose()? {
        Some((s, p)) => (Some(s), p),
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
    };
    let settings = Settings { address, smtp };
    let secrets = Secrets { smtp_password };
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
    Ok((channel, settings, secrets))
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
        let (s, p) = smtp(input(Some(465), None)).unwrap();
        assert_eq!((s.port, s.security), (465, Security::Tls));
        assert_eq!(p.as_deref(), Some("p"));
        let (s, _) = smtp(input(None, None)).unwrap();
        assert_eq!((s.port, s.security), (587, Security::Starttls));
        let (s, _) = smtp(input(None, Some(Security::None))).unwrap();
        assert_eq!(s.port, 25);
        assert!(smtp(input(Some(0), None)).is_err());
        let mut no_user = input(None, None);
        no_user.user = None;
        assert!(smtp(no_user).is_err(), "a password without a user");
    }
}
