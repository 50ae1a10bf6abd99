//! A letter's HTML body made safe to show: sanitized by ammonia (no
//! script, no event handler, no form, no frame, no remote style sheet),
//! inline `cid:` images replaced by their bytes as `data:` URLs, and
//! remote images dropped unless the reader asked for them (they tell the
//! sender the letter was opened). Shown by the server as a document of its
//! own, in a sandbox without script.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Letter;

/// Largest inline image embedded; larger ones stay attachments.
pub const MAX_INLINE_IMAGE: usize = 2 << 20;
/// Largest total of inline images embedded in one letter.
pub const MAX_INLINE_TOTAL: usize = 8 << 20;

/// Style properties kept: how text and boxes look, never where anything
/// is fetched from (no `background-image`, no `url(…)`).
const STYLE_PROPERTIES: [&str; 24] = [
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "line-height",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "border",
    "border-collapse",
    "border-color",
    "border-style",
    "border-width",
    "width",
    "height",
    "vertical-align",
];

/// A letter's HTML as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub html: String,
    /// Remote images left out (shown when the reader allows them).
    pub remote_images: usize,
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The letter's inline images by Content-ID, as `data:` URLs, within
/// [`MAX_INLINE_IMAGE`] and [`MAX_INLINE_TOTAL`].
pub fn inline_images(letter: &Letter) -> HashMap<String, String> {
    let mut total = 0;
    let mut images = HashMap::new();
    for f in &letter.files {
        let (Some(cid), true) = (&f.content_id, f.content_type.starts_with("image/")) else {
            continue;
        };
        let safe_type = matches!(
            f.content_type.as_str(),
            "image/png" | "image/jpeg" | "image/gif" | "image/webp"
        );
        if !safe_type
            || f.bytes.len() > MAX_INLINE_IMAGE
            || total + f.bytes.len() > MAX_INLINE_TOTAL
        {
            continue;
        }
        total += f.bytes.len();
        images.insert(
            cid.clone(),
            format!("data:{};base64,{}", f.content_type, base64(&f.bytes)),
        );
    }
    images
}

/// `html` sanitized, with `inline` images (by Content-ID) in place, and
/// remote images only when `remote_images` is set.
pub fn sanitize(html: &str, inline: &HashMap<String, String>, remote_images: bool) -> Shown {
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&blocked);
    let inline = inline.clone();
    let mut builder = ammonia::Builder::default();
    builder
        .add_url_schemes(["cid", "data"])
        .add_generic_attributes(["style", "align", "valign", "bgcolor", "width", "height"])
        .filter_style_properties(HashSet::from(STYLE_PROPERTIES))
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(move |element, attribute, value| {
            let lower = value.trim().to_ascii_lowercase();
            match (element, attribute) {
                ("img", "src") => {
                    if lower.starts_with("cid:") {
                        let cid = value.trim()[4..].trim_matches(['<', '>']);
                        return inline
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(cid))
                            .map(|(_, v)| Cow::Owned(v.clone()));
                    }
                    if lower.starts_with("data:image/") {
                        return Some(Cow::Borrowed(value));
                    }
                    if lower.starts_with("http:")
                        || lower.starts_with("https:")
                        || lower.starts_with("//")
                    {
                        if remote_images {
                            return Some(Cow::Borrowed(value));
                        }
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    None
                }
                // Links go out; `data:` and `cid:` ones nowhere.
                (_, "href") if lower.starts_with("data:") || lower.starts_with("cid:") => None,
                (_, "src") if lower.starts_with("data:") || lower.starts_with("cid:") => None,
                _ => Some(Cow::Borrowed(value)),
            }
        });
    let html = builder.clean(html).to_string();
    Shown {
        html,
        remote_images: blocked.load(Ordering::Relaxed),
    }
}

/// The document a sanitized body is shown in: links open outside it.
pub fn document(body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><base target=\"_blank\">\
         <style>body{{font-family:system-ui,sans-serif;font-size:14px;margin:8px;\
         overflow-wrap:anywhere}}img{{max-width:100%;height:auto}}\
         blockquote{{margin-left:0;padding-left:8px;border-left:3px solid #ccc;color:#555}}\
         </style></head><body>{body}</body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_handlers_and_frames_are_gone() {
        let shown = sanitize(
            "<p onclick=\"steal()\">Hi <b>there</b></p><script>alert(1)</script>\
             <img src=x onerror=\"alert(2)\"><iframe src=\"https://evil.example\"></iframe>\
             <a href=\"javascript:alert(3)\">x</a><form action=/x><input></form>\
             <style>body{background:url(https://t.example/p.gif)}</style>",
            &HashMap::new(),
            false,
        );
        let h = shown.html.to_lowercase();
        for gone in [
            "script",
            "onclick",
            "onerror",
            "iframe",
            "javascript:",
            "<form",
            "<style",
            "t.example",
        ] {
            assert!(!h.contains(gone), "{gone} in {h}");
        }
        assert!(h.contains("hi <b>there</b>"), "{h}");
    }

    #[test]
    fn remote_images_wait_for_the_reader_and_cid_images_are_inlined() {
        let html = "<img src=\"https://track.example/p.gif\"><img src=\"cid:logo@x\" alt=\"Logo\">\
                    <p style=\"color:red;background-image:url(https://t.example/a)\">x</p>";
        let inline = HashMap::from([(
            "logo@x".to_owned(),
            "data:image/png;base64,iVBORw0KGgo=".to_owned(),
        )]);
        let blocked = sanitize(html, &inline, false);
        assert_eq!(blocked.remote_images, 1);
        assert!(!blocked.html.contains("track.example"), "{}", blocked.html);
        assert!(
            blocked
                .html
                .contains("src=\"data:image/png;base64,iVBORw0KGgo=\""),
            "{}",
            blocked.html
        );
        assert!(blocked.html.contains("color:red"), "{}", blocked.html);
        assert!(
            !blocked.html.contains("t.example"),
            "no url() in styles: {}",
            blocked.html
        );
        let allowed = sanitize(html, &inline, true);
        assert_eq!(allowed.remote_images, 0);
        assert!(allowed.html.contains("https://track.example/p.gif"));
    }

    #[test]
    fn base64_is_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"\x89PNG\r\n\x1a\n"), "iVBORw0KGgo=");
    }
}
