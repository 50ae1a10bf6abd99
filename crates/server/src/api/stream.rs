//! `GET /api/v1/events`: server-sent events of the caller's account, and
//! the stream every live endpoint is built on.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::App;
use crate::auth::Agent;
use crate::events::Notice;

/// Server-sent events of the notices `event` turns into one (the rest are
/// skipped), `resync` when the subscriber fell behind, heartbeats, and an
/// end when the server shuts down: open streams must not hold a graceful
/// shutdown back.
pub(crate) fn notice_events<F>(
    app: &App,
    mut event: F,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<F>>
where
    F: FnMut(&Notice) -> Option<Event> + Send + 'static,
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
            let _ = shutdown.wait_for(|stop| *stop).await;
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    responses((status = 200, content_type = "text/event-stream",
        description = "Events `case.created`, `case.updated`, `message.created`, `case.auto_finish_warning`, and `resync` when the client fell behind and should reload")))]
pub async fn events(
    State(app): State<App>,
    agent: Agent,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let account_id = agent.record.account_id;
    notice_events(&app, move |n| {
        (n.account_id == account_id)
            .then(|| Event::default().event(n.kind).json_data(n).ok())
            .flatten()
    })
}
