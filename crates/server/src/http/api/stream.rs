//! `GET /api/v1/events`: server-sent events of the caller's account, the
//! stream every live endpoint is built on, and how many of them one agent
//! or visitor may hold open.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use casedesk_store::{Cursor, NoticeRecord};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast;

use crate::App;
use crate::auth::Agent;
use crate::error::AppError;
use crate::events::{self, Delivered, PAGE};

/// Most event streams one customer may hold open (tabs and devices).
pub const MAX_STREAMS: usize = 8;
/// Most event streams one agent may hold open (tabs, devices, scripts).
pub const MAX_AGENT_STREAMS: usize = 16;

/// A place in the feed a client resumes after: the `Last-Event-ID` header
/// (an `EventSource` reconnecting by itself) or the `last_event_id` query
/// parameter (a new `EventSource` carrying on); `None` for a new client.
pub(crate) fn resume_after(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<Cursor>, AppError> {
    let header = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    match header.or(query).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(id) => id.parse().map(Some).map_err(|_| {
            AppError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_last_event_id",
                "Last-Event-ID is not the id of an event of this stream",
            )
        }),
    }
}

/// Most notices one client is sent to catch up; past that it is told to
/// `resync` (load afresh) instead.
pub const MAX_CATCH_UP: usize = 1000;

/// One client's stream: where in the account's feed it is, and the events
/// read but not yet sent.
struct Reading<F> {
    app: App,
    account_id: String,
    from_hub: broadcast::Receiver<Arc<Delivered>>,
    at: Cursor,
    ready: VecDeque<Event>,
    event: F,
}

impl<F: FnMut(&NoticeRecord) -> Option<Event>> Reading<F> {
    /// Sends `notice`, if `event` makes one of it for this client, with
    /// its place as the event's id.
    fn take(&mut self, notice: &NoticeRecord) {
        if let Some(e) = (self.event)(notice) {
            self.ready.push_back(e.id(notice.cursor.to_string()));
        }
        self.at = notice.cursor;
    }

    /// Tells the client to load afresh and carries on at `at`.
    fn resync(&mut self, at: Cursor) {
        self.ready.push_back(
            Event::default()
                .event("resync")
                .id(at.to_string())
                .data("{}"),
        );
        self.at = at;
    }

    /// Reads what the client missed from the feed: the notices after its
    /// place up to `upto` (all when `None`), at most [`MAX_CATCH_UP`].
    async fn catch_up(&mut self, upto: Option<Cursor>) {
        let mut read = 0;
        loop {
            let page =
                events::list_notices(&*self.app.store, &self.account_id, self.at, PAGE).await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!("catching a live client up failed: {e}");
                    let at = upto.unwrap_or(self.at);
                    return self.resync(at);
                }
            };
            let full = page.len() as i64 == PAGE;
            for notice in &page {
                if upto.is_some_and(|upto| notice.cursor > upto) {
                    return;
                }
                read += 1;
                if read > MAX_CATCH_UP {
                    let at = match upto {
                        Some(upto) => upto,
                        None => events::last_notice(&*self.app.store, &self.account_id)
                            .await
                            .unwrap_or(notice.cursor),
                    };
                    return self.resync(at);
                }
                self.take(notice);
            }
            if !full {
                return;
            }
        }
    }

    /// The next event for the client; `None` when the server stops.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Some(e);
            }
            match self.from_hub.recv().await {
                Ok(delivered) => {
                    let notice = &delivered.notice;
                    if notice.cursor <= self.at {
                        continue;
                    }
                    if delivered.prev > self.at {
                        // It fell behind, or joined after the hub's last
                        // read: the gap is in the feed.
                        self.catch_up(Some(notice.cursor)).await;
                        if self.at >= notice.cursor {
                            continue;
                        }
                    }
                    self.take(notice);
                }
                // The next notice's `prev` shows the gap.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Server-sent events of the notices of `account_id` that `event` turns
/// into one (the rest are skipped), each with its place in the feed as its
/// id; from after `resume` (what the client missed first: `resync` when
/// it is too much or no longer kept) or from now; heartbeats; and an end
/// when the server shuts down (open streams must not hold a graceful
/// shutdown back) or when `revoked` resolves (the credential it was opened
/// with no longer holds).
pub(crate) async fn notice_events<F, R>(
    app: &App,
    account_id: String,
    resume: Option<Cursor>,
    event: F,
    revoked: R,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<F, R>>, AppError>
where
    F: FnMut(&NoticeRecord) -> Option<Event> + Send + 'static,
    R: std::future::Future<Output = ()> + Send + 'static,
{
    // Listening first: nothing committed from here on is missed.
    let from_hub = app.live.subscribe(&account_id);
    let mut reading = Reading {
        app: App::clone(app),
        at: Cursor::default(),
        account_id,
        from_hub,
        ready: VecDeque::new(),
        event,
    };
    let now = events::last_notice(&*app.store, &reading.account_id).await?;
    match resume {
        None => reading.at = now,
        Some(at) if events::has_notice(&*app.store, &reading.account_id, at).await? => {
            reading.at = at;
            reading.catch_up(None).await;
        }
        // Pruned, or never one of this account's.
        Some(_) => reading.resync(now),
    }
    let mut shutdown = app.shutdown.clone();
    let stream = futures::stream::unfold(reading, |mut reading| async move {
        let event = reading.next().await?;
        Some((Ok(event), reading))
    })
    .take_until(async move {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => {}
            () = revoked => {}
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, content_type = "text/event-stream",
        description = "Events `case.created`, `case.updated`, `message.created`, `message.updated`, `case.auto_finish_warning`, each with its place in the account's feed as its `id`; after `Last-Event-ID` (or `last_event_id`), first what the client missed; `resync` when that is more than 1,000 events or no longer kept, or when the client fell behind: then reload"),
        (status = 400, description = "`Last-Event-ID` is not an id this stream sent (invalid_last_event_id)"),
        (status = 401),
        (status = 429, description = "The agent already holds 16 open event streams")))]
pub async fn events(
    State(app): State<App>,
    agent: Agent,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let resume = resume_after(&headers, q.last_event_id.as_deref())?;
    // The stream holds its place among the agent's streams until it ends.
    let slot = app
        .limits
        .open_stream(&format!("agent:{}", agent.record.id), MAX_AGENT_STREAMS)
        .await?;
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
    notice_events(
        &app,
        account_id,
        resume,
        move |n| {
            let _ = &slot;
            Event::default()
                .event(&n.kind)
                .json_data(serde_json::json!({
                    "type": n.kind,
                    "case_id": n.case_id,
                    "case_number": n.case_number,
                    "data": n.data,
                }))
                .ok()
        },
        revoked,
    )
    .await
}

/// Where an event stream resumes.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The id of the last event the client had (what `Last-Event-ID`
    /// says, for a new `EventSource` that carries on): what came after it
    /// is sent first.
    pub last_event_id: Option<String>,
}

/// How often an open stream checks that its credential still holds, unless
/// configured ([`Config::credential_recheck`](crate::Config::credential_recheck)).
pub const CREDENTIAL_RECHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// Resolves once `holds` says the credential a stream was opened with no
/// longer holds (`Some(false)`; `None` is a database hiccup, not a
/// revocation). It asks every [`CREDENTIAL_RECHECK`], and at once when
/// this server or another one ([`Hub::revoke`](crate::events::Hub::revoke))
/// revokes the credentials of `subject` (`agent:…`, `customer:…`).
pub(crate) async fn until_revoked<F, Fut>(app: App, subject: String, holds: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<bool>>,
{
    let mut revoked = app.revoked.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(app.credential_recheck) => {}
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
