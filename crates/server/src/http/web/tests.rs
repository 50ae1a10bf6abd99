//! The embedded front end checked without a browser: every file under
//! `assets/` is embedded, the strings of each language parse, and every
//! key a script asks `t()` for is in every language. A missing string
//! would show as ⟦key⟧ in the page; these tests keep it from shipping.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regex::Regex;
use serde_json::Value;

use super::ASSETS;

/// The files under `dir`, as paths relative to `root` with `/`.
fn files_under(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("the assets folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("under the root");
            let parts: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
            out.insert(parts.join("/"));
        }
    }
}

#[test]
fn every_file_under_assets_is_embedded() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/web/assets");
    let mut on_disk = BTreeSet::new();
    files_under(&root, &root, &mut on_disk);
    let embedded: BTreeSet<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
    assert_eq!(
        on_disk, embedded,
        "the assets! list in web/mod.rs and the files under assets/ differ"
    );
    assert_eq!(ASSETS[0].name, "index.html", "index() serves the first");
}

/// Each `i18n/<lang>.json`: its language and its strings.
fn languages() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for asset in ASSETS {
        let Some(lang) = asset
            .name
            .strip_prefix("i18n/")
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let json: Value = serde_json::from_slice(asset.body)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", asset.name));
        let Value::Object(map) = json else {
            panic!("{} is not one object", asset.name)
        };
        let strings = map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) if !s.trim().is_empty() => (k, s),
                other => panic!("{}: {k} is not a text: {other}", asset.name),
            })
            .collect();
        out.insert(lang.to_owned(), strings);
    }
    assert!(out.contains_key("en"), "i18n/en.json is the reference");
    out
}

/// The `{name}` placeholders of a string.
fn placeholders(s: &str) -> BTreeSet<String> {
    let re = Regex::new(r"\{(\w+)\}").expect("a regex");
    re.captures_iter(s).map(|c| c[1].to_owned()).collect()
}

#[test]
fn every_language_has_every_key_with_the_same_placeholders() {
    let langs = languages();
    let en = &langs["en"];
    for (lang, strings) in &langs {
        let missing: Vec<_> = en.keys().filter(|k| !strings.contains_key(*k)).collect();
        let extra: Vec<_> = strings.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty(), "i18n/{lang}.json lacks {missing:?}");
        assert!(
            extra.is_empty(),
            "i18n/{lang}.json has keys en.json lacks: {extra:?}"
        );
        for (key, text) in strings {
            assert_eq!(
                placeholders(text),
                placeholders(&en[key]),
                "i18n/{lang}.json: {key} has other placeholders than in en.json"
            );
        }
    }
}

/// A key (or the prefix of one) a script names, and where.
struct KeyUse {
    key: String,
    at: String,
}

/// What the scripts ask `t()` for: exact keys, and the prefixes of keys
/// made at run time (`t("status_" + s)`).
#[derive(Default)]
struct ScriptKeys {
    keys: Vec<KeyUse>,
    prefixes: Vec<KeyUse>,
}

fn keys_in_scripts() -> ScriptKeys {
    // `t(` as a call of its own, not `split(` or `x.t(`.
    let call = Regex::new(r"(?:^|[^\w.$])t\(").expect("a regex");
    let literal = Regex::new(r#"^\s*"([^"\\]*)"(\s*\+)?"#).expect("a regex");
    let mut found = ScriptKeys::default();
    for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
        let text = std::str::from_utf8(asset.body).expect("UTF-8");
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", asset.name, n + 1);
            for m in call.find_iter(line) {
                if line[..m.end()].ends_with("function t(") {
                    continue; // its definition in shared.js
                }
                let rest = &line[m.end()..];
                let Some(c) = literal.captures(rest) else {
                    panic!(
                        "{at}: t() is called with something other than a key in quotes, \
                         which no test can check: {line}"
                    );
                };
                let key_use = KeyUse {
                    key: c[1].to_owned(),
                    at: at.clone(),
                };
                if c.get(2).is_some() {
                    found.prefixes.push(key_use);
                } else {
                    found.keys.push(key_use);
                }
            }
        }
    }
    found
}

#[test]
fn every_key_the_scripts_use_is_in_every_language() {
    let langs = languages();
    let found = keys_in_scripts();
    assert!(found.keys.len() > 300, "the scan found the scripts' keys");
    for (lang, strings) in &langs {
        for KeyUse { key, at } in &found.keys {
            assert!(
                strings.contains_key(key),
                "{at}: t({key:?}) is not in i18n/{lang}.json"
            );
        }
        for KeyUse { key: prefix, at } in &found.prefixes {
            assert!(
                strings.keys().any(|k| k.starts_with(prefix.as_str())),
                "{at}: no key of i18n/{lang}.json starts with {prefix:?}"
            );
        }
    }
}

#[test]
fn modules_and_strings_are_typed_and_open_to_other_sites() {
    use axum::http::{HeaderMap, header};

    use super::{page_of, serve};

    let get = |name: &str| serve(page_of(name).expect(name), &HeaderMap::new());
    for (name, content_type) in [
        ("widget/main.js", "text/javascript; charset=utf-8"),
        ("shared.js", "text/javascript; charset=utf-8"),
        ("i18n/ru.json", "application/json"),
    ] {
        let h = get(name).headers().clone();
        assert_eq!(h[header::CONTENT_TYPE], content_type, "{name}");
        // The widget imports them from customers' sites.
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{name}");
    }
    let page = get("index.html");
    let h = page.headers();
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

/// The error codes the server answers with (the code of each
/// `AppError::new`, `conflict` and `invalid_as`, the rule errors, the
/// domain's `ParseError`s), read from the sources of the server and the
/// domain. Every one has its sentence in every language, with the error's
/// `params` filled in.
fn server_error_codes() -> BTreeSet<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let patterns = [
        Regex::new(r#"(?:AppError|Self)::new\(\s*[\w:]+,\s*"([a-z_0-9]+)""#),
        Regex::new(r#"(?:AppError|Self)::(?:conflict|invalid_as)\(\s*"([a-z_0-9]+)""#),
        Regex::new(r#"RuleError::\w+ => "([a-z_0-9]+)""#),
        Regex::new(r#"ParseError::new\(\s*"([a-z_0-9]+)""#),
    ]
    .map(|r| r.expect("a regex"));
    let mut codes = BTreeSet::new();
    for src in [manifest.join("src"), manifest.join("../domain/src")] {
        let mut files = BTreeSet::new();
        files_under(&src, &src, &mut files);
        for file in files.iter().filter(|f| f.ends_with(".rs")) {
            let text = std::fs::read_to_string(src.join(file)).expect("a source file");
            for re in &patterns {
                codes.extend(re.captures_iter(&text).map(|c| c[1].to_owned()));
            }
        }
    }
    codes
}

#[test]
fn every_specific_error_code_is_translated() {
    let codes = server_error_codes();
    for code in [
        "invalid_credentials",
        "csrf",
        "split_unavailable",
        "rate_limited",
        "name_length",
        "placeholder_unknown",
        "json_invalid",
        "field_length",
        "not_found",
    ] {
        assert!(codes.contains(code), "the scan finds {code:?}: {codes:?}");
    }
    // What a 404 names (`AppError::not_found("case")`) has its sentence
    // too: "The case was not found", in each language's grammar.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeSet::new();
    files_under(&src, &src, &mut files);
    let what = Regex::new(r#"(?:not_found|unknown|unknown_or)\(\s*"([a-z ]+)""#).expect("a regex");
    let mut not_found = BTreeSet::new();
    for file in files.iter().filter(|f| f.ends_with(".rs")) {
        let text = std::fs::read_to_string(src.join(file)).expect("a source file");
        not_found.extend(what.captures_iter(&text).map(|c| c[1].to_owned()));
    }
    assert!(
        not_found.contains("case") && not_found.len() > 10,
        "{not_found:?}"
    );
    for (lang, strings) in &languages() {
        for code in &codes {
            assert!(
                strings.contains_key(&format!("err_{code}")),
                "the server's error code {code:?} has no err_{code} in i18n/{lang}.json"
            );
        }
        assert!(strings.contains_key("err_network"), "i18n/{lang}.json");
        for what in &not_found {
            let key = format!("err_not_found_{}", what.replace(' ', "_"));
            assert!(
                strings.contains_key(&key),
                "not_found({what:?}) has no {key} in i18n/{lang}.json"
            );
        }
    }
}
