//! Cross-origin rules of the widget endpoints (`/api/v1/widget/…`): a page
//! may call them when its origin is one its channel allows
//! ([`origin_allowed`]). Other routes pass through untouched.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::App;
use crate::channels::widget::{origin_allowed, widget_channel};
use crate::error::AppError;

/// `/api/v1/widget/{channel_id}/…` → the channel id.
fn widget_channel_of(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/widget/")?
        .split('/')
        .next()
        .filter(|id| !id.is_empty())
}

fn cors_headers(h: &mut HeaderMap, origin: &HeaderValue) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After"),
    );
}

/// Cross-origin rules of the widget endpoints: a page may call them when
/// its origin is one the channel allows (any, when it lists none). Answers
/// preflight requests itself; other routes pass through untouched.
pub async fn widget(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(channel_id) = widget_channel_of(request.uri().path()).map(str::to_owned) else {
        return next.run(request).await;
    };
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight = request.method() == Method::OPTIONS;
    if let Some(origin) = &origin {
        let allowed = match widget_channel(&app, &channel_id).await {
            Ok(channel) => origin.to_str().is_ok_and(|o| origin_allowed(&channel, o)),
            // Unknown channels answer 404 below, with CORS so the page sees why.
            Err(_) => true,
        };
        if !allowed {
            // With CORS headers, so the widget can read why and stop retrying.
            let mut response =
                AppError::forbidden("this site may not use this chat widget").into_response();
            cors_headers(response.headers_mut(), origin);
            return response;
        }
    }
    if preflight {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let h = response.headers_mut();
        if let Some(origin) = &origin {
            cors_headers(h, origin);
        }
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(origin) = &origin {
        cors_headers(response.headers_mut(), origin);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_paths_name_their_channel() {
        assert_eq!(
            widget_channel_of("/api/v1/widget/ch1/messages"),
            Some("ch1")
        );
        assert_eq!(widget_channel_of("/api/v1/widget/"), None);
        assert_eq!(widget_channel_of("/api/v1/cases"), None);
    }
}
