//! Files attached to messages: received as a streamed request body, sniffed
//! (the uploader's word on the type is never taken), kept in the
//! attachments directory as `{dir}/{account_id}/{attachment_id}`, and served
//! only to those who may see the message's case (its agents, its customer's
//! widget visitor and Help Center sessions).
//!
//! A file is written under `{dir}/tmp` first and moved into place before
//! the database row naming it commits; a failed commit removes it again.
//! Served files are never rendered as pages: `nosniff`, a sandboxing CSP,
//! and `attachment` disposition for everything but raster images.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use casedesk_domain::MessageKind;
use casedesk_store::{AttachmentRecord, read};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::App;
use crate::clock::Clock;
use crate::error::AppError;
use crate::util::new_id;

/// Largest attachment by default (`CASEDESK_ATTACHMENT_MAX_MB`).
pub const DEFAULT_MAX_BYTES: u64 = 10 << 20;
/// Longest caption of a file (it travels in the query string).
pub(crate) const MAX_CAPTION: usize = 2000;
/// Longest file name kept, in characters.
const MAX_FILENAME: usize = 200;

/// A partial upload untouched this long was cut off (see [`Files::sweep_tmp`]).
pub const TMP_ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The kinds of file casedesk accepts, by what their bytes say.
pub const ACCEPTED: &str = "PNG, JPEG, GIF or WebP images, PDF, plain text or CSV, ZIP, \
     and office documents (docx, xlsx, pptx, odt, ods)";

/// The attachments directory and its limit.
#[derive(Debug)]
pub struct Files {
    dir: PathBuf,
    pub max_bytes: u64,
}

impl Files {
    /// Creates the directory (and its `tmp`) when missing, and removes what
    /// a killed server left half-written in `tmp`.
    pub fn new(dir: &Path, max_bytes: u64) -> Result<Files, String> {
        std::fs::create_dir_all(dir.join("tmp")).map_err(|e| {
            format!(
                "cannot create the attachments directory {}: {e}",
                dir.display()
            )
        })?;
        let files = Files {
            dir: dir.to_owned(),
            max_bytes,
        };
        files.sweep_tmp();
        Ok(files)
    }

    /// Removes the files in `tmp` that nobody has written to for
    /// [`TMP_ABANDONED_AFTER`]: uploads cut off by a crash. Younger ones may
    /// be uploads in flight on another server sharing the directory, and
    /// are left to the next sweep. Returns how many were removed.
    pub fn sweep_tmp(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(self.dir.join("tmp")) else {
            return 0;
        };
        let abandoned = |e: &std::fs::DirEntry| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= TMP_ABANDONED_AFTER)
        };
        let mut removed = 0;
        for entry in entries.flatten().filter(abandoned) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(path = %entry.path().display(), error = %e,
                    "could not remove an abandoned upload"),
            }
        }
        if removed > 0 {
            tracing::info!(removed, "removed abandoned partial uploads");
        }
        removed
    }

    fn path(&self, account_id: &str, id: &str) -> Result<PathBuf, AppError> {
        // Ids are ours (hex and dashes); anything else never names a path.
        let safe = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !safe(account_id) || !safe(id) {
            return Err(AppError::not_found("attachment"));
        }
        Ok(self.dir.join(account_id).join(id))
    }

    /// Streams `body` into a new file of the account: refused with 413
    /// past the limit and 415 when its bytes are not an accepted kind. The
    /// record's `message_id` is left for the caller to fill in; its
    /// `created_at` is when the file was in place, by `clock`.
    pub async fn receive(
        &self,
        clock: &Clock,
        account_id: &str,
        filename: Option<&str>,
        body: Body,
    ) -> Result<AttachmentRecord, AppError> {
        self.store(clock, account_id, filename, body, None, self.max_bytes)
            .await
    }

    /// Keeps a file a messenger delivered (a customer's voice message,
    /// video or sticker as much as a photo): typed by its bytes when they
    /// are an accepted kind, else by [`media_type`] of what the messenger
    /// declared. Nothing but raster images is ever served inline.
    pub async fn keep(
        &self,
        clock: &Clock,
        account_id: &str,
        filename: &str,
        bytes: Vec<u8>,
        declared: Option<&str>,
    ) -> Result<AttachmentRecord, AppError> {
        let fallback = media_type(declared);
        self.store(
            clock,
            account_id,
            Some(filename),
            Body::from(bytes),
            Some(fallback),
            self.max_bytes,
        )
        .await
    }

    /// The largest raw letter kept: one carrying a file of the largest
    /// size, base64-encoded (a third larger), with room for its text.
    pub fn max_letter_bytes(&self) -> u64 {
        self.max_bytes / 3 * 4 + (1 << 20)
    }

    /// Keeps a raw letter as it arrived, before it is read (see
    /// [`Files::max_letter_bytes`]); its record names no message.
    pub async fn keep_letter(
        &self,
        clock: &Clock,
        account_id: &str,
        raw: Vec<u8>,
    ) -> Result<AttachmentRecord, AppError> {
        self.store(
            clock,
            account_id,
            Some("letter.eml"),
            Body::from(raw),
            Some("message/rfc822"),
            self.max_letter_bytes(),
        )
        .await
    }

    /// The file's bytes (for a messenger upload of an agent's file).
    pub async fn read(&self, record: &AttachmentRecord) -> Result<Vec<u8>, AppError> {
        self.read_file(&record.account_id, &record.id).await
    }

    /// The bytes of the account's file `id` (a raw letter).
    pub async fn read_file(&self, account_id: &str, id: &str) -> Result<Vec<u8>, AppError> {
        let path = self.path(account_id, id)?;
        tokio::fs::read(&path)
            .await
            .map_err(|e| AppError::internal(format!("reading file {id}: {e}")))
    }

    async fn store(
        &self,
        clock: &Clock,
        account_id: &str,
        filename: Option<&str>,
        body: Body,
        fallback: Option<&'static str>,
        max_bytes: u64,
    ) -> Result<AttachmentRecord, AppError> {
        let filename = clean_filename(filename.unwrap_or(""));
        let id = new_id();
        let tmp = self.dir.join("tmp").join(&id);
        let written = self.write_tmp(&tmp, body, max_bytes).await;
        let (size, sha256, head) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let Some(content_type) = sniff(&head, &filename).or(fallback) else {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_file_type",
                format!("this kind of file is not accepted; send {ACCEPTED}"),
            ));
        };
        let path = self.path(account_id, &id)?;
        let placed = async {
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::rename(&tmp, &path).await
        }
        .await;
        if let Err(e) = placed {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(AppError::internal(format!("storing an attachment: {e}")));
        }
        Ok(AttachmentRecord {
            id,
            account_id: account_id.to_owned(),
            message_id: String::new(),
            filename,
            content_type: content_type.to_owned(),
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            sha256,
            created_at: clock.now(),
        })
    }

    async fn write_tmp(
        &self,
        tmp: &Path,
        body: Body,
        max_bytes: u64,
    ) -> Result<(u64, String, Vec<u8>), AppError> {
        let io = |e: std::io::Error| AppError::internal(format!("writing an attachment: {e}"));
        let mut file = tokio::fs::File::create(tmp).await.map_err(io)?;
        let mut stream = body.into_data_stream();
        let (mut size, mut hash, mut head) = (0u64, Sha256::new(), Vec::new());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "upload_interrupted",
                    format!("reading the upload: {e}"),
                )
            })?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(too_large(max_bytes));
            }
            if head.len() < 8192 {
                let take = (8192 - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hash.update(&chunk);
            file.write_all(&chunk).await.map_err(io)?;
        }
        if size == 0 {
            return Err(AppError::invalid_as("file_empty", "the file is empty"));
        }
        file.sync_all().await.map_err(io)?;
        Ok((size, hex::encode(hash.finalize()), head))
    }

    /// Removes a stored file whose row never committed (or a duplicate's).
    pub async fn discard(&self, record: &AttachmentRecord) {
        if let Ok(path) = self.path(&record.account_id, &record.id)
            && let Err(e) = tokio::fs::remove_file(&path).await
        {
            tracing::warn!(path = %path.display(), error = %e, "could not remove an unused attachment");
        }
    }

    /// The file as a download (images inline), streamed from disk.
    pub async fn response(&self, record: &AttachmentRecord) -> Result<Response, AppError> {
        let path = self.path(&record.account_id, &record.id)?;
        let file = tokio::fs::File::open(&path).await.map_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "an attachment's file is missing");
            AppError::new(
                StatusCode::GONE,
                "file_missing",
                "the file of this attachment is no longer stored",
            )
        })?;
        let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
        let mut response = body.into_response();
        let h = response.headers_mut();
        let inline = record.content_type.starts_with("image/");
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&record.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        h.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(record.size_bytes.max(0) as u64),
        );
        if let Ok(v) = HeaderValue::from_str(&disposition(inline, &record.filename)) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=3600"),
        );
        Ok(response)
    }
}

/// The attachments directory, or 503 when the server has none.
pub fn configured(app: &crate::AppState) -> Result<&Files, AppError> {
    app.files.as_ref().ok_or_else(|| {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "attachments_disabled",
            "this server keeps no attachments (CASEDESK_ATTACHMENTS_DIR)",
        )
    })
}

/// A file's caption, checked like any message text before a byte is stored.
pub fn check_caption(text: Option<String>) -> Result<Option<String>, AppError> {
    let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if let Some(t) = &text
        && t.chars().count() > MAX_CAPTION
    {
        return Err(AppError::invalid_as(
            "caption_too_long",
            format!("a file's caption must be at most {MAX_CAPTION} characters"),
        )
        .with(serde_json::json!({ "max": MAX_CAPTION })));
    }
    Ok(text)
}

/// The file of attachment `id` for a customer person (a widget visitor or
/// a Help Center session): only files of public messages in cases of
/// `customer_ids`; anything else is 404.
pub async fn serve_to_customers(
    app: &App,
    account_id: &str,
    customer_ids: &HashSet<String>,
    id: &str,
) -> Result<Response, AppError> {
    let files = configured(app)?;
    let (account, id, ids) = (account_id.to_owned(), id.to_owned(), customer_ids.clone());
    let record = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let not_found = || AppError::not_found("attachment");
            let a = tx
                .get_attachment(&account, &id)
                .await
                .map_err(|_| not_found())?;
            let m = tx.get_message(&account, &a.message_id).await?;
            let case = tx.get_case(&account, &m.case_id).await?;
            if m.kind != MessageKind::Message || !ids.contains(&case.customer_id) {
                return Err(not_found());
            }
            Ok(a)
        })
    })
    .await?;
    files.response(&record).await
}

/// The file of attachment `id` for an agent of its account.
pub async fn serve_to_agent(app: &App, account_id: &str, id: &str) -> Result<Response, AppError> {
    let files = configured(app)?;
    let (account, id) = (account_id.to_owned(), id.to_owned());
    let record = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.get_attachment(&account, &id)
                .await
                .map_err(|_| AppError::not_found("attachment"))
        })
    })
    .await?;
    files.response(&record).await
}

pub fn too_large(max: u64) -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the file is larger than {} MiB", max >> 20),
    )
    .with(serde_json::json!({ "max_mib": max >> 20 }))
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266).
fn disposition(inline: bool, filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The last path segment of `name`, without control characters and
/// without the bidirectional controls that make `rtl\u{202E}gnp.exe` show
/// as `rtlexe.png`, at most [`MAX_FILENAME`] characters; `file` when
/// nothing is left.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .take(MAX_FILENAME)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned
    }
}

/// Unicode's explicit directional formatting characters (UAX #9): the
/// embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069 and
/// the marks U+200E, U+200F and U+061C.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn extension(filename: &str) -> String {
    filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The type a messenger's file is served as when its bytes are not an
/// accepted kind: audio and video as declared, anything else as bytes to
/// download.
pub fn media_type(declared: Option<&str>) -> &'static str {
    const MEDIA: [&str; 7] = [
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "video/mp4",
        "video/webm",
        "video/quicktime",
        "application/x-tgsticker",
    ];
    let declared = declared.unwrap_or("").trim().to_ascii_lowercase();
    MEDIA
        .into_iter()
        .find(|m| *m == declared)
        .unwrap_or("application/octet-stream")
}

/// What the first bytes of a file say it is, among the accepted kinds.
pub fn sniff(head: &[u8], filename: &str) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if starts(b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some("image/gif");
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if starts(b"%PDF-") {
        return Some("application/pdf");
    }
    if starts(b"PK\x03\x04") {
        return Some(match extension(filename).as_str() {
            "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "odt" => "application/vnd.oasis.opendocument.text",
            "ods" => "application/vnd.oasis.opendocument.spreadsheet",
            _ => "application/zip",
        });
    }
    // Text: UTF-8 (a character cut at the end of the sniffed head is fine)
    // without NUL bytes. Served as text, never as HTML or script.
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() >= 8192,
    };
    if text && !head.contains(&0) {
        return Some(if extension(filename) == "csv" {
            "text/csv; charset=utf-8"
        } else {
            "text/plain; charset=utf-8"
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest", "x.txt"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0", "a.png"), Some("image/jpeg"));
        assert_eq!(sniff(b"%PDF-1.7", "doc"), Some("application/pdf"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ", "p"), Some("image/webp"));
        assert!(sniff(b"PK\x03\x04..", "report.XLSX").is_some_and(|t| t.contains("sheet")));
        assert_eq!(
            sniff(b"a,b\n1,2\n", "t.csv"),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(
            sniff("<script>alert(1)</script> привет".as_bytes(), "x.html"),
            Some("text/plain; charset=utf-8"),
            "markup is only ever text"
        );
        assert_eq!(sniff(b"MZ\x90\0\x03\0", "setup.exe"), None);
        assert_eq!(sniff(b"\xff\xfe\0\0", "x.txt"), None);
    }

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\ann\\photo.png"), "photo.png");
        assert_eq!(clean_filename("a\u{0}b\r\n.pdf"), "ab.pdf");
        assert_eq!(clean_filename(".."), "file");
        assert_eq!(clean_filename("rtl\u{202E}gnp.exe"), "rtlgnp.exe");
        assert_eq!(
            clean_filename("\u{2067}a\u{2069}\u{200F}b\u{061C}.pdf"),
            "ab.pdf"
        );
        assert_eq!(clean_filename(""), "file");
        assert_eq!(
            clean_filename(&"я".repeat(500)).chars().count(),
            MAX_FILENAME
        );
    }

    #[test]
    fn disposition_is_safe_for_any_name() {
        assert_eq!(
            disposition(false, "отчёт \"1\".pdf"),
            "attachment; filename=\"_____ _1_.pdf\"; \
             filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%20%221%22.pdf"
        );
        assert!(disposition(true, "a.png").starts_with("inline;"));
    }
}
