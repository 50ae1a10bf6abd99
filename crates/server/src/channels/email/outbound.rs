//! The e-mail channel's outbound side: one attempt at sending a queued
//! reply by SMTP as a letter of its case's thread: the Message-ID chosen
//! when the reply was saved (a retry sends the same one), `In-Reply-To`
//! the customer's latest letter before it, `References` the case's
//! letters, the subject tagged `[#number]`, text and HTML with the reply's
//! files. A rule's reply says `Auto-Submitted: auto-replied`.

use std::time::Duration;

use casedesk_domain::email::tagged_subject;
use casedesk_domain::{AuthorType, MessageKind};
use casedesk_mail::compose::{OutFile, Reply, compose};
use casedesk_store::{
    AttachmentRecord, CaseRecord, ChannelRecord, CustomerRecord, MessageRecord, OutboxItem,
    StoreError, read,
};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Secrets, Security, Settings, Smtp, message_id};
use crate::AppState;
use crate::channels::{Attempt, connected};

/// How long one SMTP delivery may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Most automatic replies (rules') one customer gets in an hour: past it a
/// runaway exchange with a machine that does not mark its mail stops.
pub const MAX_AUTOMATIC_PER_HOUR: i64 = 5;

/// What a reply letter is made of, read from the store.
struct Thread {
    message: MessageRecord,
    case: CaseRecord,
    customer: CustomerRecord,
    /// The case's messages before the reply, in order.
    earlier: Vec<MessageRecord>,
    files: Vec<AttachmentRecord>,
    /// Automatic replies the customer got in the last hour.
    automatic_lately: i64,
}

async fn thread_of(app: &AppState, item: &OutboxItem) -> Result<Thread, StoreError> {
    let (account, id) = (item.account_id.clone(), item.message_id.clone());
    let hour_ago = app.clock.now() - chrono::Duration::hours(1);
    read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let message = tx.get_message(&account, &id).await?;
            let case = tx.get_case(&account, &message.case_id).await?;
            let customer = tx.get_customer(&account, &case.customer_id).await?;
            let earlier = tx
                .list_messages(&account, &case.id)
                .await?
                .into_iter()
                .filter(|m| m.seq < message.seq)
                .collect();
            let files = tx
                .list_case_attachments(&case.id)
                .await?
                .into_iter()
                .filter(|a| a.message_id == message.id)
                .collect();
            let automatic_lately = match message.author_type {
                AuthorType::Agent => 0,
                _ => {
                    tx.count_automatic_replies(&account, &customer.id, hour_ago)
                        .await?
                }
            };
            Ok(Thread {
                message,
                case,
                customer,
                earlier,
                files,
                automatic_lately,
            })
        })
    })
    .await
}

/// A stored message's Message-ID, when it has a real one (a letter kept
/// by the hash of its bytes has none).
fn letter_id(m: &MessageRecord) -> Option<&str> {
    m.channel_message_id
        .as_deref()
        .filter(|id| !id.starts_with("sha256:") && id.contains('@'))
}

/// The SMTP transport of a channel's settings.
pub(super) fn transport(
    smtp: &Smtp,
    secrets: &Secrets,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls =
        || TlsParameters::new(smtp.host.clone()).map_err(|e| format!("TLS for {}: {e}", smtp.host));
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .timeout(Some(SEND_TIMEOUT))
        .tls(match smtp.security {
            Security::Tls => Tls::Wrapper(tls()?),
            Security::Starttls => Tls::Required(tls()?),
            Security::None => Tls::None,
        });
    if let Some(user) = &smtp.user {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            secrets.smtp_password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// Sends one queued reply by the channel's SMTP server as it is now.
pub async fn attempt(app: &AppState, channel: &ChannelRecord, item: &OutboxItem) -> Attempt {
    let c = match connected(app, &channel.id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Attempt::Cancelled("the channel has no e-mail settings".into()),
        Err(e) => return Attempt::Failed(e.to_string()),
    };
    let Some(settings) = Settings::of(&c.secret) else {
        return Attempt::Cancelled("the channel's e-mail settings are unreadable".into());
    };
    let Some(smtp) = &settings.smtp else {
        return Attempt::Cancelled(
            "not sent: the channel has no SMTP server; set one and retry the delivery".into(),
        );
    };
    let thread = match thread_of(app, item).await {
        Ok(t) => t,
        Err(e) => return Attempt::Failed(e.to_string()),
    };
    if thread.automatic_lately >= MAX_AUTOMATIC_PER_HOUR {
        return Attempt::Cancelled(format!(
            "not sent: {} automatic replies went to this address within the hour (loop guard)",
            thread.automatic_lately
        ));
    }
    let to = thread.customer.external_id.clone();
    let ours = match super::mailboxes(app, &channel.account_id).await {
        Ok(m) => m,
        Err(e) => return Attempt::Failed(e.to_string()),
    };
    if ours.iter().any(|(_, a)| *a == to) {
        return Attempt::Cancelled(format!(
            "not sent: {to} is one of this account's own addresses"
        ));
    }
    let mut files = Vec::new();
    if !thread.files.is_empty() {
        let Some(store) = &app.files else {
            return Attempt::Failed("the reply's files are gone: no attachments directory".into());
        };
        for f in &thread.files {
            match store.read(f).await {
                Ok(bytes) => files.push(OutFile {
                    filename: f.filename.clone(),
                    content_type: f.content_type.clone(),
                    bytes,
                }),
                Err(e) => return Attempt::Failed(e.message),
            }
        }
    }
    let letter = reply_letter(&settings, channel, &thread, files);
    let letter = match compose(&letter) {
        Ok(l) => l,
        Err(e) => return Attempt::Cancelled(e),
    };
    let smtp_client = match transport(smtp, &super::Secrets::of(&c.secret)) {
        Ok(t) => t,
        Err(e) => return Attempt::Failed(e),
    };
    match smtp_client.send(letter).await {
        Ok(_) => Attempt::Delivered,
        Err(e) if e.is_permanent() => {
            Attempt::Refused(format!("the SMTP server refused the reply: {e}"))
        }
        Err(e) => Attempt::Failed(smtp_error(smtp, &e)),
    }
}

/// The letter of a reply in its thread.
fn reply_letter(
    settings: &Settings,
    channel: &ChannelRecord,
    t: &Thread,
    files: Vec<OutFile>,
) -> Reply {
    let in_reply_to = t
        .earlier
        .iter()
        .rev()
        .filter(|m| m.author_type == AuthorType::Customer && m.kind == MessageKind::Message)
        .find_map(letter_id)
        .map(str::to_owned);
    let references: Vec<String> = t
        .earlier
        .iter()
        .filter(|m| m.kind == MessageKind::Message)
        .filter_map(letter_id)
        .map(str::to_owned)
        .collect();
    let tagged = tagged_subject(&t.case.subject, t.case.number);
    Reply {
        from: (Some(channel.name.clone()), settings.address.clone()),
        to: (t.customer.name.clone(), t.customer.external_id.clone()),
        subject: match in_reply_to {
            Some(_) => format!("Re: {tagged}"),
            None => tagged,
        },
        message_id: letter_id(&t.message)
            .map_or_else(|| message_id(&t.message.id, settings), str::to_owned),
        in_reply_to,
        references,
        text: t.message.text.clone(),
        files,
        automatic: t.message.author_type != AuthorType::Agent,
    }
}

/// An SMTP failure in words an admin can act on.
pub(super) fn smtp_error(smtp: &Smtp, e: &lettre::transport::smtp::Error) -> String {
    let at = format!("{}:{}", smtp.host, smtp.port);
    if e.is_tls() {
        format!("the secure connection (TLS) to {at} failed: {e}")
    } else if e.is_permanent() || e.is_transient() {
        format!("the SMTP server {at} refused: {e}")
    } else if e.is_timeout() {
        format!("the SMTP server {at} did not answer in time")
    } else {
        format!("the SMTP server {at} could not be reached: {e}")
    }
}
