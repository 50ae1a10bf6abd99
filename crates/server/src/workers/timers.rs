//! Chat deadlines (R3 auto-finish, R4 warning) and the timers of
//! time-based automation rules: one loop, sleeping until the earlier of the
//! two next due times. Each round claims what is due and fires it through
//! the use cases ([`deadlines`](crate::usecases::deadlines::fire_deadlines),
//! [`rule timers`](crate::usecases::automation::fire_rule_timers)) in batches, one
//! unit of work each.

use std::sync::atomic::{AtomicI64, Ordering};

use casedesk_domain::Time;
use casedesk_store::{Deadline, RuleTimer, StoreError, read, write};
use futures::StreamExt;
use tokio::sync::Notify;

use super::{nap, stopping};
use crate::usecases::automation;
use crate::usecases::deadlines::{Fired, fire_deadlines};
use crate::{App, AppState};

/// How a change wakes the timer worker: always ([`TimerBell::ring`]), or
/// only when what it set falls due before the worker would wake anyway
/// ([`TimerBell::ring_for`]; every customer message moves its chat's
/// deadlines, and a round per batch of messages cost PostgreSQL two
/// claims and two `MIN(due_at)` reads, about a fifth of its time under load).
pub struct TimerBell {
    notify: Notify,
    /// When the worker sleeps until (µs since the epoch), or [`AWAKE`]
    /// while it runs a round and reads when to wake next: a change then
    /// rings in any case, so that what the read missed is not slept over.
    asleep_until: AtomicI64,
}

const AWAKE: i64 = i64::MIN;

impl Default for TimerBell {
    fn default() -> Self {
        TimerBell {
            notify: Notify::new(),
            asleep_until: AtomicI64::new(AWAKE),
        }
    }
}

impl TimerBell {
    /// Wakes the worker (or, while it is awake, makes its next nap end at
    /// once).
    pub fn ring(&self) {
        self.notify.notify_one();
    }

    /// Timers were set due at `earliest` or later: wakes the worker unless
    /// it sleeps until no later than that.
    pub fn ring_for(&self, earliest: Time) {
        let until = self.asleep_until.load(Ordering::SeqCst);
        if until == AWAKE || earliest.timestamp_micros() < until {
            self.ring();
        }
    }

    fn awake(&self) {
        self.asleep_until.store(AWAKE, Ordering::SeqCst);
    }

    /// The worker is about to sleep until `until` (`None`: nothing is due;
    /// it wakes when rung, and on the system clock every
    /// [`super::MAX_SLEEP`]).
    fn asleep(&self, until: Option<Time>) {
        let until = until.map_or(i64::MAX, |t| t.timestamp_micros());
        self.asleep_until.store(until, Ordering::SeqCst);
    }
}

const DEADLINE_BATCH: i64 = 1000;
/// Deadlines fired per unit of work, and such units in flight.
const FIRE_BATCH: usize = 250;
const FIRE_JOBS_IN_FLIGHT: usize = 4;

/// Fires every due deadline; returns how many chats it finished.
pub async fn fire_due_deadlines(app: &AppState) -> Result<usize, StoreError> {
    let mut finished = 0;
    loop {
        let at = app.clock.now();
        let due: Vec<Deadline> = write(&*app.store, move |tx| {
            Box::pin(async move { tx.claim_due_deadlines(at, DEADLINE_BATCH).await })
        })
        .await?;
        let n = due.len();
        let batches: Vec<Vec<Deadline>> =
            due.chunks(FIRE_BATCH).map(<[Deadline]>::to_vec).collect();
        let results: Vec<Vec<Fired>> = futures::stream::iter(batches)
            .map(|batch| fire_deadline_batch(app, batch))
            .buffer_unordered(FIRE_JOBS_IN_FLIGHT)
            .collect()
            .await;
        let fired: Vec<Fired> = results.into_iter().flatten().collect();
        finished += fired.iter().filter(|f| **f == Fired::Finished).count();
        // Nothing fired (every one failed): wait for the next round rather
        // than spin on the same deadlines.
        if (n as i64) < DEADLINE_BATCH || fired.is_empty() || stopping(app) {
            return Ok(finished);
        }
    }
}

/// Fires a batch in one unit of work; when that fails (a deadlock with
/// another server, one bad case) each deadline is tried on its own, so one
/// failure never holds the others back.
async fn fire_deadline_batch(app: &AppState, batch: Vec<Deadline>) -> Vec<Fired> {
    match fire_deadlines(app, batch.clone()).await {
        Ok(fired) => fired,
        Err(e) => {
            tracing::info!(
                "a batch of chat deadlines failed ({}); firing one by one",
                e.message
            );
            let mut fired = Vec::new();
            for d in batch {
                match fire_deadlines(app, vec![d]).await {
                    Ok(f) => fired.extend(f),
                    Err(e) => tracing::warn!("firing a chat deadline failed: {}", e.message),
                }
            }
            fired
        }
    }
}

/// One round of the timer worker: every due chat deadline, then one
/// pass of due rule timers. Returns whether rule timers may still be due
/// (a pass takes a bounded number, so that a burst of them takes turns
/// with the chat deadlines).
pub(super) async fn round(app: &AppState) -> Result<bool, StoreError> {
    let _round = app.rounds.timers.lock().await;
    let deadlines = fire_due_deadlines(app).await;
    if let Err(e) = &deadlines {
        tracing::warn!("chat deadlines: {e}");
    }
    let timers = fire_due_rule_timers(app).await;
    if let Err(e) = &timers {
        tracing::warn!("rule timers: {e}");
    }
    deadlines?;
    timers
}

/// Chat deadlines (R3/R4) and the timers of time-based automation rules:
/// one loop, sleeping until the earlier of the two next due times.
pub async fn deadline_loop(app: App) {
    while !stopping(&app) {
        app.timers.awake();
        // Errors are logged by the round; the next round tries again.
        let _ = round(&app).await;
        let next = read::<_, StoreError, _>(&*app.store, |tx| {
            Box::pin(async move {
                let deadline = tx.next_deadline_at().await?;
                let rule = tx.next_rule_timer_at().await?;
                Ok(deadline.into_iter().chain(rule).min())
            })
        })
        .await
        .unwrap_or(None);
        app.timers.asleep(next);
        nap(&app, next, &app.timers.notify).await;
    }
}

/// Rule timers claimed per pass of the loop, and fired per unit of
/// work: a burst (a new time rule armed for thousands of waiting cases)
/// takes turns with the chat deadlines instead of holding them up.
const TIMER_PASS: i64 = 200;
const TIMER_BATCH: usize = 50;
/// A timer whose firing failed is tried again this much later.
const RETRY_SECONDS: i64 = 30;

/// Fires the due rule timers of one pass ([`TIMER_PASS`] at most); returns
/// whether more may be due (the pass was full). A batch that fails is
/// retried timer by timer, and a timer that still fails is put back
/// [`RETRY_SECONDS`] later.
pub async fn fire_due_rule_timers(app: &AppState) -> Result<bool, StoreError> {
    let at = app.clock.now();
    let due = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.claim_due_rule_timers(at, TIMER_PASS).await })
    })
    .await?;
    let full = due.len() as i64 >= TIMER_PASS;
    for batch in due.chunks(TIMER_BATCH) {
        let mut batch = batch.to_vec();
        batch.sort_by(|a, b| a.case_id.cmp(&b.case_id));
        match automation::fire_rule_timers(app, batch.clone()).await {
            Ok(()) => {}
            Err(e) => {
                tracing::info!("a batch of rule timers failed ({}); one by one", e.message);
                for timer in &batch {
                    match automation::fire_rule_timers(app, vec![timer.clone()]).await {
                        Ok(()) => {}
                        Err(e) => {
                            tracing::warn!(
                                rule = %timer.rule_id, case = %timer.case_id,
                                "firing a rule timer failed: {}", e.message
                            );
                            let later = RuleTimer {
                                due_at: app.clock.now() + chrono::Duration::seconds(RETRY_SECONDS),
                                ..timer.clone()
                            };
                            let _ = write::<_, StoreError, _>(&*app.store, move |tx| {
                                Box::pin(async move { tx.set_rule_timer(&later, true).await })
                            })
                            .await;
                        }
                    }
                }
            }
        }
    }
    Ok(full)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use futures::FutureExt;

    use super::TimerBell;

    /// Whether the worker's next nap would end at once.
    fn rung(bell: &TimerBell) -> bool {
        bell.notify.notified().now_or_never().is_some()
    }

    #[test]
    fn a_change_wakes_the_timer_worker_only_for_timers_due_before_it_wakes() {
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let bell = TimerBell::default();
        // Awake (a round, then reading when to wake): every change rings,
        // so that what the read missed is not slept over.
        bell.ring_for(t + Duration::days(365));
        assert!(rung(&bell));

        bell.asleep(Some(t));
        bell.ring_for(t);
        bell.ring_for(t + Duration::minutes(30));
        assert!(!rung(&bell), "due no sooner than the worker wakes");
        bell.ring_for(t - Duration::seconds(1));
        assert!(rung(&bell), "due before the worker wakes");

        bell.asleep(None);
        bell.ring_for(t + Duration::days(365));
        assert!(rung(&bell), "nothing was due: anything set is sooner");

        bell.awake();
        bell.ring_for(t);
        assert!(rung(&bell));
        bell.ring();
        assert!(rung(&bell));
    }
}
