//! `GET /api/v1/events`: server-sent events of the caller's account, the
//! stream every live endpoint is built on, and how many of them one agent
//! or visitor may hold open.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::events::Notice;

/// Open event streams per key (a customer), capped.
#[derive(Default)]
pub struct StreamCount {
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream; dropping it (the stream ended) frees its place.
pub struct StreamSlot {
    app: crate::App,
    key: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.app.streams.open.lock()
            && let Some(n) = open.get_mut(&self.key)
        {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Most event streams one customer may hold open (tabs and devices).
pub const MAX_STREAMS: usize = 8;
/// Most event streams one agent may hold open (tabs, devices, scripts).
pub const MAX_AGENT_STREAMS: usize = 16;

impl StreamCount {
    /// Takes a place for a new stream of `key` (`visitor:…`, `agent:…`), or
    /// 429 when it has `max` open.
    pub fn open(app: &crate::App, key: &str, max: usize) -> Result<StreamSlot, AppError> {
        let mut open = app.streams.open.lock().map_err(AppError::internal)?;
        let n = open.entry(key.to_owned()).or_default();
        if *n >= max {
            return Err(AppError::too_many(
                format!("at most {max} event streams open at once; close a window or tab"),
                5,
            ));
        }
        *n += 1;
        Ok(StreamSlot {
            app: std::sync::Arc::clone(app),
            key: key.to_owned(),
        })
    }
}

/// Server-sent events of the notices `event` turns into one (the rest are
/// skipped), `resync` when the subscriber fell behind, heartbeats, and an
/// end when the server shuts down (open streams must not hold a graceful
/// shutdown back) or when `revoked` resolves (the credential it was opened
/// with no longer holds).
pub(crate) fn notice_events<F, R>(
    app: &App,
    mut event: F,
    revoked: R,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<F, R>>
where
    F: FnMut(&Notice) -> Option<Event> + Send + 'static,
    R: std::future::Future<Output = ()> + Send + 'static,
{
    let mut shutdown = app.shutdown.clone();
    let stream = BroadcastStream::new(app.bus.subscribe())
        .filter_map(move |item| {
            let out = match item {
                Ok(n) => event(&n),
                Err(BroadcastStreamRecvError::Lagged(_)) => {
                    Some(Event::default().event("resync").data("{}"))
                }
            };
            futures::future::ready(out.map(Ok))
        })
        .take_until(async move {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => {}
                () = revoked => {}
            }
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    responses((status = 200, content_type = "text/event-stream",
        description = "Events `case.created`, `case.updated`, `message.created`, `case.auto_finish_warning`, and `resync` when the client fell behind and should reload"),
        (status = 401),
        (status = 429, description = "The agent already holds 16 open event streams")))]
pub async fn events(
    State(app): State<App>,
    agent: Agent,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    // The stream holds its place among the agent's streams until it ends.
    let slot = StreamCount::open(
        &app,
        &format!("agent:{}", agent.record.id),
        MAX_AGENT_STREAMS,
    )?;
    let account_id = agent.record.account_id;
    let (check, token_hash) = (App::clone(&app), agent.token_hash);
    let revoked = until_revoked(
        App::clone(&app),
        format!("agent:{}", agent.record.id),
        move || {
            let (app, token_hash) = (App::clone(&check), token_hash.clone());
            async move {
                crate::auth::agent_of_token(&app, token_hash)
                    .await
                    .ok()
                    .map(|a| a.is_some())
            }
        },
    );
    Ok(notice_events(
        &app,
        move |n| {
            let _ = &slot;
            (n.account_id == account_id)
                .then(|| Event::default().event(n.kind).json_data(n).ok())
                .flatten()
        },
        revoked,
    ))
}

/// How often an open stream checks that its credential still holds.
const REVOCATION_CHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// Resolves once `holds` says the credential a stream was opened with no
/// longer holds (`Some(false)`; `None` is a database hiccup, not a
/// revocation). It asks every [`REVOCATION_CHECK`], and at once when this
/// server revokes the credentials of `subject` (`agent:…`, `customer:…`).
pub(crate) async fn until_revoked<F, Fut>(app: App, subject: String, holds: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<bool>>,
{
    let mut revoked = app.revoked.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REVOCATION_CHECK) => {}
            got = revoked.recv() => match got {
                Ok(s) if s != subject => continue,
                _ => {}
            },
        }
        if holds().await == Some(false) {
            return;
        }
    }
}
