//! Outbound webhooks: how often a delivery is tried before it becomes a
//! dead letter.

use std::time::Duration;

/// How often a delivery is tried before it becomes a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub max_attempts: i64,
    /// The wait after the first failed attempt; it doubles after each
    /// further one, up to [`Retry::MAX_DELAY`].
    pub first_delay: Duration,
}

impl Retry {
    /// 24 attempts: with waits of 1 s, 2 s, 4 s, … up to an hour, the last
    /// one is about 12 hours after the first, long enough to ride out a
    /// receiver's night-long outage without retrying forever.
    pub const DEFAULT_MAX_ATTEMPTS: i64 = 24;
    pub const DEFAULT_FIRST_DELAY: Duration = Duration::from_secs(1);
    pub const MAX_DELAY: Duration = Duration::from_secs(3600);

    /// The wait before the next attempt after `attempts` failed ones, or
    /// `None` when they are used up.
    pub fn delay_after(&self, attempts: i64) -> Option<chrono::Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = (attempts.clamp(1, 32) - 1) as u32;
        let delay = self
            .first_delay
            .saturating_mul(1 << doublings)
            .min(Self::MAX_DELAY);
        chrono::Duration::from_std(delay).ok()
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            first_delay: Self::DEFAULT_FIRST_DELAY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_up_to_an_hour_and_stop_at_the_cap() {
        let r = Retry::default();
        let secs = |n| r.delay_after(n).map(|d| d.num_seconds());
        assert_eq!(secs(1), Some(1));
        assert_eq!(secs(2), Some(2));
        assert_eq!(secs(5), Some(16));
        assert_eq!(secs(13), Some(3600));
        assert_eq!(secs(23), Some(3600));
        assert_eq!(secs(24), None, "the 24th failed attempt is the last");
        let fast = Retry {
            max_attempts: 3,
            first_delay: Duration::from_millis(50),
        };
        assert_eq!(fast.delay_after(2).map(|d| d.num_milliseconds()), Some(100));
        assert_eq!(fast.delay_after(3), None);
    }
}
