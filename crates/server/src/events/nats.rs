//! Announcements between servers over core NATS (`CASEDESK_NATS_URL`):
//! after a commit, each account whose feed grew is announced on
//! `casedesk.live.<account id>` with the last place written; each server
//! holds one subscription to `casedesk.live.*` and nudges its reader of
//! that account, if it has one. An announcement carries no notice, only a
//! place: the notices themselves are read from the database, so a lost
//! announcement delays a notice (until the next one, or [`POLL`](super::POLL))
//! and loses nothing. When the connection comes back, or NATS says this
//! server was too slow and dropped some, every reader reads again.
//! Revoked credentials go out on `casedesk.revoked`, so that their event
//! streams end on every server at once.

use std::time::Duration;

use async_nats::{ConnectOptions, Event};
use casedesk_store::Cursor;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::{Hub, Outgoing};

/// The subjects' common prefix.
const PREFIX: &str = "casedesk.live.";
/// Where revoked credentials are announced (payload: `agent:{id}`,
/// `customer:{id}`).
const REVOKED: &str = "casedesk.revoked";
/// Announcements waiting for the connection; more are dropped (the other
/// servers poll).
const QUEUE: usize = 4096;

/// Connects to NATS at `url` and bridges `hub` to the other servers: its
/// announcements go out, theirs come in. Fails when NATS cannot be
/// reached now; later outages are waited out (the client reconnects).
pub async fn connect(url: &str, hub: &Hub) -> Result<(), String> {
    let events = hub.clone();
    let client = ConnectOptions::new()
        .name("casedesk")
        .no_echo()
        .connection_timeout(Duration::from_secs(5))
        .event_callback(move |event| {
            let hub = events.clone();
            async move {
                match event {
                    Event::Connected => {
                        tracing::info!("NATS connected; reading every live feed again");
                        hub.nudge_all();
                    }
                    Event::SlowConsumer(_) => {
                        tracing::warn!("NATS dropped announcements to this server; reading every live feed again");
                        hub.nudge_all();
                    }
                    Event::Disconnected => tracing::warn!(
                        "NATS disconnected: live updates from other servers come every {:?} until it is back",
                        super::POLL
                    ),
                    other => tracing::info!("NATS: {other}"),
                }
            }
        })
        .connect(url)
        .await
        .map_err(|e| format!("cannot connect to NATS at {}: {e}", redact(url)))?;
    let mut subscription = client
        .subscribe(format!("{PREFIX}*"))
        .await
        .map_err(|e| format!("cannot subscribe to NATS: {e}"))?;
    let mut revocations = client
        .subscribe(REVOKED)
        .await
        .map_err(|e| format!("cannot subscribe to NATS: {e}"))?;
    let (tx, mut rx) = mpsc::channel::<Outgoing>(QUEUE);
    if hub.inner.outside.set(tx).is_err() {
        return Err("this server is already connected to NATS".into());
    }
    let incoming = hub.clone();
    let mut shutdown = hub.inner.shutdown.clone();
    tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                message = subscription.next() => message,
                revoked = revocations.next() => {
                    // Closed only with the connection.
                    let Some(revoked) = revoked else { break };
                    if let Ok(subject) = std::str::from_utf8(&revoked.payload)
                        && subject.len() <= 200
                    {
                        incoming.revoked_elsewhere(subject.to_owned());
                    }
                    continue;
                }
                _ = shutdown.wait_for(|stop| *stop) => None,
            };
            let Some(message) = message else { break };
            let Some(account) = message.subject.strip_prefix(PREFIX) else {
                continue;
            };
            match std::str::from_utf8(&message.payload).map(str::parse::<Cursor>) {
                Ok(Ok(at)) => incoming.nudge(account, at),
                _ => tracing::debug!(subject = %message.subject, "not an announcement; ignored"),
            }
        }
    });
    let mut shutdown = hub.inner.shutdown.clone();
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                next = rx.recv() => next,
                _ = shutdown.wait_for(|stop| *stop) => None,
            };
            let (subject, payload) = match next {
                None => break,
                Some(Outgoing::Place(account, at)) => {
                    (format!("{PREFIX}{account}"), at.to_string())
                }
                Some(Outgoing::Revoked(subject)) => (REVOKED.to_owned(), subject),
            };
            if let Err(e) = client.publish(subject, payload.into()).await {
                tracing::warn!("announcing over NATS failed: {e}");
            }
        }
        // What was published reaches the server before the connection ends.
        let _ = client.flush().await;
    });
    Ok(())
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
        _ => url.to_owned(),
    }
}
