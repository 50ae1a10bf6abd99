//! The front ends: the agent web UI, the chat widget and the Help Center,
//! plain HTML, CSS and JavaScript modules embedded in the binary so
//! `casedesk serve` needs no front-end build (docs/frontend.md).
//!
//! They are only clients of the v1 API (the UI with the session cookie and
//! its CSRF token, see [`crate::auth`]); nothing here reads or writes cases.
//! Assets are revalidated with an `ETag` on every load, so an upgraded
//! binary is picked up at once without stale caches.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use casedesk_store::{StoreError, read};
use sha2::{Digest, Sha256};

use crate::App;
use crate::error::AppError;

/// One embedded file; `name` is its path under `assets/`, as served under
/// `/assets/`.
struct Asset {
    name: &'static str,
    body: &'static [u8],
}

/// Embeds the files under `assets/` (a test checks none is left out).
macro_rules! assets {
    ($($name:literal),+ $(,)?) => {
        &[$(Asset { name: $name, body: include_bytes!(concat!("assets/", $name)) }),+]
    };
}

/// The pages, their modules (docs/frontend.md) and the strings. `index.html`
/// comes first: [`index`] serves it by position.
const ASSETS: &[Asset] = assets![
    "index.html",
    "app.css",
    "favicon.svg",
    "shared.js",
    "i18n/en.json",
    "i18n/ru.json",
    // The agent app: app.js and its pages.
    "app.js",
    "app/actions.js",
    "app/active.js",
    "app/api.js",
    "app/case/chain.js",
    "app/case/composer.js",
    "app/case/customer-email.js",
    "app/case/header.js",
    "app/case/history.js",
    "app/case/page.js",
    "app/case/select.js",
    "app/case/thread.js",
    "app/cases.js",
    "app/customer.js",
    "app/events.js",
    "app/keys.js",
    "app/labels.js",
    "app/notify.js",
    "app/profile.js",
    "app/reports/charts.js",
    "app/reports/page.js",
    "app/router.js",
    "app/rules/editor.js",
    "app/rules/page.js",
    "app/rules/sentence.js",
    "app/settings/agents.js",
    "app/settings/channels.js",
    "app/settings/labels.js",
    "app/settings/page.js",
    "app/shell.js",
    "app/state.js",
    "app/templates.js",
    "app/ui.js",
    // The web chat widget: widget.js is the classic script sites embed.
    "widget.js",
    "widget/files.js",
    "widget/live.js",
    "widget/main.js",
    "widget/panel.js",
    "widget/style.js",
    "widget/visitor.js",
    // The Help Center.
    "help.html",
    "help.css",
    "help.js",
    "help/state.js",
    "help/views.js",
];

/// The type of an asset, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map_or("", |(_, ext)| ext) {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// `"<sha256 prefix>"` of each asset, in [`ASSETS`] order.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let hex = hex::encode(Sha256::digest(a.body));
            format!("\"{}\"", &hex[..16])
        })
        .collect()
});

/// Scripts, styles and connections only from this origin, no framing: a
/// markup injection that slipped past the UI's text-only rendering still
/// could not run script.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The UI's routes: `/` and `/login` serve the app; `/assets/{file}` its
/// files; `/widget.js` the web chat widget that sites embed (docs/widget.md).
pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(index))
        .route("/login", get(index))
        .route("/assets/{*file}", get(asset))
        .route("/widget.js", get(widget))
        .route("/help", get(help_root))
        .route("/help/{account_id}", get(help_page))
}

fn page_of(name: &str) -> Option<usize> {
    ASSETS.iter().position(|a| a.name == name)
}

/// `/help` of a single-company server is that company's Help Center.
async fn help_root(State(app): State<App>) -> Response {
    let ids = read::<_, StoreError, _>(&*app.store, |tx| {
        Box::pin(async move { tx.list_account_ids(2).await })
    })
    .await;
    match ids {
        Ok(ids) if ids.len() == 1 => Redirect::to(&format!("/help/{}", ids[0])).into_response(),
        Ok(_) => AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this server has several help centers: use the link your support team gave you",
        )
        .into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// An account's Help Center page (the page itself; its data comes from
/// `/api/v1/help/{account_id}/…`).
async fn help_page(
    State(app): State<App>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = crate::usecases::help::account_name(&app, &account_id).await {
        return e.into_response();
    }
    match page_of("help.html") {
        Some(i) => serve(i, &headers),
        None => AppError::not_found("page").into_response(),
    }
}

async fn widget(headers: HeaderMap) -> Response {
    match page_of("widget.js") {
        Some(i) => serve(i, &headers),
        None => AppError::new(StatusCode::NOT_FOUND, "not_found", "no such asset").into_response(),
    }
}

async fn index(headers: HeaderMap) -> Response {
    serve(0, &headers)
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS
        .iter()
        .position(|a| a.name == file && !a.name.ends_with(".html"))
    {
        Some(i) => serve(i, &headers),
        None => AppError::new(StatusCode::NOT_FOUND, "not_found", "no such asset").into_response(),
    }
}

fn serve(i: usize, request: &HeaderMap) -> Response {
    let asset = &ASSETS[i];
    let etag = &ETAGS[i];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(asset.name)),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if asset.name.ends_with(".js") || asset.name.ends_with(".json") {
        // The widget runs on customers' sites and loads its modules and
        // strings from here, cross-origin. They are public files, fetched
        // without credentials.
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    if asset.name.ends_with(".html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

#[cfg(test)]
mod tests;
