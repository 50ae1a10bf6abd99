//! What time it is for the server's rules: every use case and worker reads
//! "now" from the app's [`Clock`], never from the system directly.
//!
//! In production the clock is the system's. Tests give the server a
//! [`ManualClock`] that only moves when they move it, so a deadline, a rule
//! timer, a webhook retry or a token expiry happens exactly when the test
//! says, and "nothing happened yet" is proved without sleeping. The
//! workers then wait for the clock to move, not for wall-clock time
//! ([`Clock::sleep_until`]), and a test runs their due work itself
//! ([`crate::AppState::run_due_work`]).
//!
//! Login, widget and Help Center limits count by this clock too
//! ([`crate::limits`]): a test moves a window on without waiting.
//! Wall-clock [`std::time::Instant`] stays where time is about I/O, not
//! about the helpdesk: request and delivery timeouts, the event streams'
//! periodic credential check.

use std::sync::Arc;
use std::time::Duration;

use casedesk_domain::Time;
use tokio::sync::watch;

/// The server's source of "now".
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system's clock.
    #[default]
    System,
    /// A clock a test sets and advances.
    Manual(ManualClock),
}

impl Clock {
    /// The current time, truncated to microseconds: stored times have that
    /// precision, so what is written equals what is read back.
    pub fn now(&self) -> Time {
        match self {
            Clock::System => to_micros(chrono::Utc::now()),
            Clock::Manual(m) => m.now(),
        }
    }

    /// Waits until `until`. The system clock waits at most `max` (so that
    /// work another server queued is picked up), and forever without
    /// `until`. A manual clock waits until it is moved to `until` or past
    /// it, however long that takes: nothing becomes due on its own.
    pub async fn sleep_until(&self, until: Option<Time>, max: Duration) {
        match self {
            Clock::System => {
                let wait = until
                    .map(|t| (t - self.now()).to_std().unwrap_or(Duration::ZERO))
                    .unwrap_or(max)
                    .min(max);
                tokio::time::sleep(wait).await;
            }
            Clock::Manual(m) => m.reaches(until).await,
        }
    }
}

impl From<ManualClock> for Clock {
    fn from(m: ManualClock) -> Clock {
        Clock::Manual(m)
    }
}

/// A clock that stands still until it is set or advanced. Clones share
/// the same time: the test keeps one, the server reads another.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<Time>>,
}

impl ManualClock {
    pub fn new(start: Time) -> ManualClock {
        ManualClock {
            now: Arc::new(watch::Sender::new(to_micros(start))),
        }
    }

    /// A clock that starts at the system's time (so that dates in reports
    /// and statistics are today's) and stands still from there.
    pub fn starting_now() -> ManualClock {
        ManualClock::new(Clock::System.now())
    }

    pub fn now(&self) -> Time {
        *self.now.borrow()
    }

    /// Moves the clock to `t` (backwards too, for a test of a clock that
    /// jumps back).
    pub fn set(&self, t: Time) {
        self.now.send_replace(to_micros(t));
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        self.now.send_modify(|t| *t = to_micros(*t + by));
    }

    /// Returns once the clock shows `until` or later; never without `until`.
    async fn reaches(&self, until: Option<Time>) {
        let Some(until) = until else {
            return std::future::pending().await;
        };
        let mut moved = self.now.subscribe();
        // `wait_for` looks at the current time first: a move made before
        // the wait started is not missed. The sender lives as long as
        // `self`, so the wait cannot fail.
        let _ = moved.wait_for(|now| *now >= until).await;
    }
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

fn to_micros(t: Time) -> Time {
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_moved() {
        let clock = ManualClock::starting_now();
        let shared = Clock::from(clock.clone());
        let start = shared.now();
        assert_eq!(shared.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(shared.now(), start + chrono::Duration::seconds(90));
        clock.set(start);
        assert_eq!(shared.now(), start);
    }

    #[test]
    fn times_have_microsecond_precision() {
        let clock = ManualClock::starting_now();
        clock.advance(Duration::from_nanos(1_500));
        assert_eq!(clock.now().timestamp_subsec_nanos() % 1_000, 0);
        assert_eq!(Clock::System.now().timestamp_subsec_nanos() % 1_000, 0);
    }

    #[test]
    fn a_manual_sleep_ends_when_the_clock_gets_there() {
        use futures::FutureExt;
        let clock = ManualClock::starting_now();
        let until = clock.now() + chrono::Duration::seconds(60);
        let shared = Clock::from(clock.clone());
        let mut sleep = std::pin::pin!(shared.sleep_until(Some(until), Duration::ZERO));
        assert!((&mut sleep).now_or_never().is_none());
        clock.advance(Duration::from_secs(59));
        assert!((&mut sleep).now_or_never().is_none(), "woke a second early");
        clock.advance(Duration::from_secs(1));
        assert!(
            (&mut sleep).now_or_never().is_some(),
            "still asleep at its time"
        );
    }
}
