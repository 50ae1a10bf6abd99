//! Outgoing e-mail: the Help Center's sign-in links, sent in the
//! background of the request that asked for them.
//!
//! With `CASEDESK_SMTP_URL` set, mail goes out through that SMTP server
//! (lettre, TLS by rustls). Without it — a development setup — the message
//! is written to the server log instead, so the link can be copied from
//! there.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};

use crate::usecases::Mail;

/// How long one delivery may take before it is given up (and logged).
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Where outgoing mail goes.
pub struct Mailer {
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.smtp.is_some())
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// `url` is lettre's SMTP URL: `smtps://user:pass@host:465`,
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), or
    /// `smtp://host:25` (plain, for a relay on the same host).
    pub fn new(url: Option<&str>, from: Option<&str>) -> Result<Mailer, String> {
        let from = from.unwrap_or("casedesk <casedesk@localhost>");
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("CASEDESK_SMTP_FROM `{from}` is not a mailbox: {e}"))?;
        let smtp = match url.map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("CASEDESK_SMTP_URL is not an SMTP URL: {e}"))?
                    .timeout(Some(SEND_TIMEOUT))
                    .build(),
            ),
        };
        Ok(Mailer { smtp, from })
    }

    /// Whether mail really leaves the server (else it goes to the log).
    pub fn delivers(&self) -> bool {
        self.smtp.is_some()
    }

    /// Sends `mail`; failures are logged, never shown to whoever caused
    /// the mail (that would tell them whether the address is known).
    pub async fn send(&self, mail: Mail) {
        let Some(smtp) = &self.smtp else {
            tracing::info!(
                to = %mail.to,
                subject = %mail.subject,
                "no SMTP server configured (CASEDESK_SMTP_URL); the mail would say:\n{}",
                mail.body
            );
            return;
        };
        let to: Mailbox = match mail.to.parse() {
            Ok(to) => to,
            Err(e) => {
                tracing::warn!(to = %mail.to, error = %e, "not sending mail to a bad address");
                return;
            }
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body);
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "could not build a mail");
                return;
            }
        };
        match smtp.send(message).await {
            Ok(_) => tracing::info!(to = %mail.to, "mail sent"),
            Err(e) => tracing::error!(to = %mail.to, error = %e, "mail not sent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        assert!(!Mailer::new(None, None).unwrap().delivers());
        assert!(
            Mailer::new(
                Some("smtp://127.0.0.1:2525"),
                Some("Help <help@shop.example>")
            )
            .unwrap()
            .delivers()
        );
        assert!(Mailer::new(Some("http://x"), None).is_err());
        assert!(Mailer::new(None, Some("not a mailbox")).is_err());
    }
}
