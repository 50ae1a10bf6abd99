//! URLs: those the server takes from a request (a channel's webhook, a
//! widget channel's allowed origins), plain `http(s)://host[:port]` URLs
//! whose grammar is one regular expression, so that the OpenAPI document
//! states exactly what the server checks (`api::schema` publishes these
//! patterns); and the server's own address, from which it builds links.
//!
//! Narrower than what a browser would parse, on purpose: a host is a DNS
//! name whose last label starts with a letter, or a dotted IPv4 address
//! (no IPv6, no numbers a browser would read as IPv4 in other spellings);
//! paths and queries are ASCII with `%XX` escapes; no fragment.

use std::sync::LazyLock;

use axum::http::{HeaderMap, header};
use regex::Regex;

use crate::App;
use crate::error::AppError;

/// At most this many allowed origins per channel.
pub const MAX_ORIGINS: usize = 50;

/// The characters `str::trim` removes, as the inside of a regex class.
const WS: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

fn host_and_port() -> String {
    // Labels of letters, digits and single hyphens inside (so never an
    // `xn--` label that must be valid punycode).
    let label = "[A-Za-z0-9](?:-?[A-Za-z0-9])*";
    let last = "[A-Za-z](?:-?[A-Za-z0-9])*";
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let port =
        "(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
    format!(r"(?:(?:{label}\.)*{last}|{octet}(?:\.{octet}){{3}})(?::{port})?")
}

/// A webhook URL: any path and query.
pub fn webhook_url_pattern() -> String {
    let pchar = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})";
    format!(
        r"^[{WS}]*https?://{}(?:/(?:{pchar}|/)*)?(?:\?(?:{pchar}|[/?])*)?[{WS}]*$",
        host_and_port()
    )
}

/// An origin: scheme, host and port, at most a `/` after them.
pub fn origin_pattern() -> String {
    format!(r"^[{WS}]*https?://{}/?[{WS}]*$", host_and_port())
}

fn compiled(pattern: String) -> Regex {
    // The patterns are constants of this module; the tests compile them.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("url pattern: {e}"))
}

static WEBHOOK_URL: LazyLock<Regex> = LazyLock::new(|| compiled(webhook_url_pattern()));
static ORIGIN: LazyLock<Regex> = LazyLock::new(|| compiled(origin_pattern()));

pub fn is_webhook_url(url: &str) -> bool {
    WEBHOOK_URL.is_match(url)
}

pub fn is_origin(origin: &str) -> bool {
    ORIGIN.is_match(origin)
}

/// Checks and normalizes a channel's allowed origins: `scheme://host[:port]`
/// of http(s), no path.
pub fn parse_origins(origins: &[String]) -> Result<Vec<String>, AppError> {
    if origins.len() > MAX_ORIGINS {
        return Err(AppError::invalid_as(
            "too_many_origins",
            format!("at most {MAX_ORIGINS} allowed origins"),
        )
        .with(serde_json::json!({ "max": MAX_ORIGINS })));
    }
    let mut out = Vec::new();
    for o in origins {
        let bad = || {
            AppError::invalid_as(
                "origin_invalid",
                format!(
                    "`{o}` is not an origin like https://shop.example (scheme, host and port only)"
                ),
            )
            .with(serde_json::json!({ "value": o }))
        };
        if !is_origin(o) {
            return Err(bad());
        }
        let url = reqwest::Url::parse(o.trim()).map_err(|_| bad())?;
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
            return Err(bad());
        }
        let origin = url.origin().ascii_serialization();
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

/// The server's public address: an http(s) URL without query, no trailing `/`.
pub fn parse_public_url(url: &str) -> Result<String, AppError> {
    let bad = || {
        AppError::invalid_as(
            "public_url_invalid",
            format!("public URL `{url}` must be an http(s) URL like https://help.example"),
        )
        .with(serde_json::json!({ "value": url }))
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host().is_none()
        || parsed.query().is_some()
    {
        return Err(bad());
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// The server's address for widget snippets: the configured public URL,
/// or the address the request reached.
pub fn public_base(app: &App, headers: &HeaderMap) -> String {
    if let Some(url) = &app.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        })
        .unwrap_or("127.0.0.1:8080");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port() {
        let ok = parse_origins(&[
            "https://Shop.example".into(),
            "http://localhost:3000".into(),
            "https://shop.example/".into(),
        ])
        .unwrap();
        assert_eq!(ok, ["https://shop.example", "http://localhost:3000"]);
        for bad in [
            "shop.example",
            "ftp://x.example",
            "https://x.example/path",
            "https://",
        ] {
            assert!(parse_origins(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_url_is_an_http_address_without_trailing_slash() {
        assert_eq!(
            parse_public_url("https://help.example/").unwrap(),
            "https://help.example"
        );
        assert_eq!(
            parse_public_url("http://10.0.0.5:8080/casedesk/").unwrap(),
            "http://10.0.0.5:8080/casedesk"
        );
        for bad in [
            "help.example",
            "ftp://help.example",
            "https://help.example/?a=1",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
    use rand::Rng;

    /// Every URL of the grammar parses as the http(s) URL it looks like.
    #[test]
    fn what_the_patterns_take_parses() {
        let hosts = [
            "a",
            "shop.example",
            "a-b.c9",
            "x.y.z",
            "Ex.Ample",
            "1a.b",
            "9.example",
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "10.1.22.199",
            "a-b-c.d-e",
            "a234567890123456789012345678901234567890123456789012345678901234567890.b",
        ];
        let ports = ["", ":0", ":80", ":8080", ":65535"];
        let paths = [
            "",
            "/",
            "/hook",
            "/a/b-c_d.e~f/",
            "/%41%2f",
            "/!$&'()*+,;=:@",
            "//x",
        ];
        let queries = ["", "?", "?a=b&c=d", "?x=%20/?y", "?t=ab'c"];
        let mut rng = rand::rng();
        for _ in 0..2000 {
            let pick = |list: &[&'static str], rng: &mut rand::rngs::ThreadRng| {
                list[rng.random_range(0..list.len())]
            };
            let scheme = ["http", "https"][rng.random_range(0..2)];
            let (host, port) = (pick(&hosts, &mut rng), pick(&ports, &mut rng));
            let url = format!(
                "{scheme}://{host}{port}{}{}",
                pick(&paths, &mut rng),
                pick(&queries, &mut rng)
            );
            assert!(is_webhook_url(&url), "{url}");
            let parsed = reqwest::Url::parse(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(parsed.scheme(), scheme);
            assert!(parsed.host().is_some(), "{url}");
            let origin = format!("{scheme}://{host}{port}");
            assert!(
                is_origin(&origin) && is_origin(&format!(" {origin}/ ")),
                "{origin}"
            );
        }
    }

    #[test]
    fn what_the_patterns_refuse() {
        for url in [
            "",
            "ftp://a.b",
            "http://",
            "a.b",
            "http://a:65536",
            "http://1.2.3.256",
            "http://1.2.3",
            "http://01.2.3.4",
            "http://a.1",
            "http://-a.b",
            "http://a_b.c",
            "http://[::1]/",
            "http://a.b/#x",
            "http://a.b/%zz",
            "http://a.b/ä",
            "HTTP://a.b",
            "http://a.b*",
            "http://user@a.b/",
            "http://xn--zz.com",
            "http://a-.b",
        ] {
            assert!(!is_webhook_url(url), "{url}");
            assert!(!is_origin(url), "{url}");
        }
        for origin in ["http://a.b/x", "http://a.b?x", "http://a.b//"] {
            assert!(!is_origin(origin), "{origin}");
        }
    }
}
