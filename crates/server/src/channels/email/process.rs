//! What a stored letter does, read by the update worker in its sender's
//! order: its files are kept, and it is routed by R14 (its thread, its
//! tag, else a new case). A letter that cannot be read is failed at once
//! with the reason, kept for an admin, and never read again in a loop.

use casedesk_mail::{Letter, ParseError};
use casedesk_store::{AttachmentRecord, ChannelUpdate};

use super::Settings;
use super::receive::Stored;
use crate::AppState;
use crate::channels::{Connected, Done, Failed};
use crate::usecases::attachments::Files;
use crate::usecases::inbound::{self, InboundLetter, InboundMessage, Outcome};
use crate::usecases::unit::MAX_TEXT_CHARS;

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// Processes one stored letter of an e-mail channel.
pub async fn process(
    app: &AppState,
    c: &Connected,
    update: &ChannelUpdate,
) -> Result<Done, Failed> {
    let stored: Stored = serde_json::from_str(&update.payload)
        .map_err(|e| Failed::for_good(format!("not a stored letter: {e}")))?;
    let Some(files) = &app.files else {
        return Err(Failed::again(
            "this server keeps no attachments, where letters wait",
        ));
    };
    let raw = files
        .read_file(&c.channel.account_id, &stored.file)
        .await
        .map_err(|e| Failed::again(e.message))?;
    let letter = Letter::parse(&raw).map_err(|e: ParseError| Failed::for_good(e.to_string()))?;
    let mailboxes = super::mailboxes(app, &c.channel.account_id).await?;
    if mailboxes.iter().any(|(_, a)| *a == letter.from.address) {
        // One of our own letters come back (a loop, a CC to ourselves).
        return Ok(Done::noted(
            "ignored: a letter from one of this account's own addresses",
        ));
    }
    let mut lines = Vec::new();
    let attachments = keep_files(app, files, &c.channel.account_id, &letter, &mut lines).await?;
    let mut text = letter.text.trim_end().to_owned();
    if text.trim().is_empty() {
        text = letter
            .files
            .iter()
            .map(|f| format!("📎 {}", f.filename))
            .collect::<Vec<_>>()
            .join("\n");
    }
    for line in lines {
        text.push_str("\n\n");
        text.push_str(&line);
    }
    if text.trim().is_empty() {
        text = "(a letter without text)".to_owned();
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        let note = "\n\n[… the letter goes on; its full text is in the original]";
        text = text
            .chars()
            .take(MAX_TEXT_CHARS - note.chars().count())
            .chain(note.chars())
            .collect();
    }
    let key = update
        .key
        .clone()
        .unwrap_or_else(|| casedesk_mail::key(&raw));
    let settings = Settings::of(&c.secret);
    let result = inbound::receive_letter(
        app,
        c.channel.clone(),
        InboundLetter {
            message: InboundMessage {
                message_id: key,
                customer_id: letter.from.address.clone(),
                customer_name: letter.from.name.clone(),
                customer_language: None,
                text,
                attachments,
            },
            subject: letter.subject.chars().take(1000).collect(),
            thread_ids: letter.thread_ids.clone(),
            other_channels: mailboxes
                .into_iter()
                .map(|(id, _)| id)
                .filter(|id| *id != c.channel.id)
                .collect(),
            recipients: letter
                .recipients
                .iter()
                .filter(|r| settings.as_ref().is_none_or(|s| s.address != **r))
                .take(100)
                .cloned()
                .collect(),
            html: letter.html.clone(),
            automatic: letter.automatic.as_ref().map(ToString::to_string),
            raw_file: Some(stored.file.clone()),
        },
    )
    .await?;
    Ok(match (result.outcome, &letter.automatic) {
        (Outcome::Duplicate, _) => Done::noted("duplicate: this letter is stored already"),
        (_, Some(why)) => Done::noted(format!("{why}: kept, no rule answered it")),
        _ => Done::default(),
    })
}

/// Keeps a letter's files in the attachments store; what the server does
/// not keep (over its limit) becomes a line of the text. A passing
/// failure removes what was kept and fails the letter, to be read again.
async fn keep_files(
    app: &AppState,
    files: &Files,
    account_id: &str,
    letter: &Letter,
    lines: &mut Vec<String>,
) -> Result<Vec<AttachmentRecord>, Failed> {
    let mut kept = Vec::new();
    for file in &letter.files {
        let size = file.bytes.len() as u64;
        if size > files.max_bytes {
            lines.push(format!(
                "[{} ({}) was not kept: over this server's attachment limit of {}]",
                file.filename,
                megabytes(size),
                megabytes(files.max_bytes)
            ));
            continue;
        }
        let record = files
            .keep(
                &app.clock,
                account_id,
                &file.filename,
                file.bytes.clone(),
                Some(&file.content_type),
            )
            .await;
        match record {
            Ok(r) => kept.push(r),
            Err(e) => {
                for r in &kept {
                    files.discard(r).await;
                }
                return Err(Failed::again(e.message));
            }
        }
    }
    for name in &letter.files_left_out {
        lines.push(format!(
            "[{name} was not kept: too many files in one letter]"
        ));
    }
    Ok(kept)
}
