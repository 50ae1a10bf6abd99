//! What every request's text must be before a use case sees it: valid
//! UTF-8 and free of NUL. Decided here, once, for both databases (SQLite
//! would store a NUL, PostgreSQL refuses it), and applied to the three
//! ways text comes in: the path, the query string and JSON bodies. Also
//! the shape of a display name (of an agent or a channel).

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode;

use crate::error::AppError;

/// Refuses a request whose path or query string decodes to invalid UTF-8
/// (400) or to text holding NUL (422, naming the query parameter).
pub async fn check_uri(req: Request, next: Next) -> Response {
    match uri_problem(req.uri()) {
        Some(e) => e.into_response(),
        None => next.run(req).await,
    }
}

fn not_utf8(field: &str, message: impl Into<String>) -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "utf8_invalid", message)
        .with(serde_json::json!({ "field": field }))
}

fn uri_problem(uri: &axum::http::Uri) -> Option<AppError> {
    let path = percent_decode(uri.path().as_bytes()).collect::<Vec<u8>>();
    match std::str::from_utf8(&path) {
        Err(_) => return Some(not_utf8("path", "the request path is not valid UTF-8")),
        Ok(p) if p.contains('\0') => {
            return Some(AppError::nul_character(
                "path",
                "the request path must not contain NUL characters",
            ));
        }
        Ok(_) => {}
    }
    for pair in uri.query().unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_form(name);
        let shown = String::from_utf8_lossy(&name)
            .chars()
            .take(40)
            .collect::<String>();
        for part in [name.as_slice(), decode_form(value).as_slice()] {
            match std::str::from_utf8(part) {
                Err(_) => {
                    return Some(not_utf8(
                        &shown,
                        format!("query parameter `{shown}` is not valid UTF-8"),
                    ));
                }
                Ok(text) if text.contains('\0') => {
                    return Some(AppError::nul_character(
                        &shown,
                        format!("query parameter `{shown}` must not contain NUL characters"),
                    ));
                }
                Ok(_) => {}
            }
        }
    }
    None
}

/// `application/x-www-form-urlencoded` decoding to bytes: `+` is a space.
fn decode_form(s: &str) -> Vec<u8> {
    let spaced = s.replace('+', " ");
    percent_decode(spaced.as_bytes()).collect()
}

/// The field (`customer.id`, `message_ids[2]`) of the first string, or
/// object key, in a JSON document that holds NUL; `None` when there is none
/// or the document does not parse (its parser then says why).
pub fn nul_in_json(bytes: &[u8]) -> Option<String> {
    // JSON can only carry NUL as the escape `\u0000`: skip the parse for
    // the bodies (nearly all) that do not even hold its digits.
    if !bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"u0000")) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    nul_field(&value, String::new())
}

fn nul_field(value: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    let field = |at: &str| {
        if at.is_empty() {
            "body".to_owned()
        } else {
            at.to_owned()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(field(&at)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_field(v, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let path = if at.is_empty() {
                k.replace('\0', "\\u0000")
            } else {
                format!("{at}.{}", k.replace('\0', "\\u0000"))
            };
            if k.contains('\0') {
                Some(path)
            } else {
                nul_field(v, path)
            }
        }),
        _ => None,
    }
}

/// A display name (an agent's, a channel's): trimmed, 1 to 200 characters.
pub fn display_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(
            AppError::invalid_as("name_length", "name must be 1 to 200 characters")
                .with(serde_json::json!({ "max": 200 })),
        );
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_with_its_field() {
        let body = br#"{"type":"message","customer":{"id":"a\u0000b"},"text":"hi"}"#;
        assert_eq!(nul_in_json(body).as_deref(), Some("customer.id"));
        let body = br#"{"message_ids":["x","y\u0000"]}"#;
        assert_eq!(nul_in_json(body).as_deref(), Some("message_ids[1]"));
        assert_eq!(nul_in_json(br#""\u0000""#).as_deref(), Some("body"));
        assert_eq!(
            nul_in_json(br#"{"k\u0000":1}"#).as_deref(),
            Some("k\\u0000")
        );
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_plain_text() {
        // `\\u0000` is a backslash followed by the letters u0000.
        assert_eq!(nul_in_json(br#"{"text":"C:\\u0000"}"#), None);
        assert_eq!(nul_in_json(br#"{"text":"u0000 as words"}"#), None);
        assert_eq!(nul_in_json(b"{not json \\u0000"), None);
    }

    fn problem(uri: &str) -> Option<(StatusCode, String)> {
        let uri: axum::http::Uri = uri.parse().expect("test uri");
        uri_problem(&uri).map(|e| (e.status, e.message))
    }

    #[test]
    fn uris_must_decode_to_text_without_nul() {
        assert_eq!(
            problem("/api/v1/cases?q=%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7+1"),
            None
        );
        assert_eq!(problem("/api/v1/cases/%D0%B7"), None);
        let (st, msg) = problem("/api/v1/cases?status=open&q=%FF%FE").expect("bad utf-8");
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(msg.contains("`q`"), "{msg}");
        let (st, msg) = problem("/api/v1/cases?q=a%00b").expect("nul");
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(msg.contains("`q`"), "{msg}");
        let (st, _) = problem("/api/v1/cases/ab%00cd").expect("nul in path");
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let (st, _) = problem("/api/v1/cases/%C3%28").expect("bad utf-8 in path");
        assert_eq!(st, StatusCode::BAD_REQUEST);
    }
}
