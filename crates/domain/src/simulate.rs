//! What an auto-finish time makes of a customer's messages (issue 19): where
//! one chat ends and the next begins, as if casedesk had been running with
//! every finished chat closed — the rule the retro-split of imported
//! history follows — and the policy simulator's figures for several
//! candidate times over the same messages.
//!
//! The rule ([`starts_chat`]): a conversation (one customer in one channel)
//! is its public messages in time order. Its first message starts a chat. A
//! later one starts a new chat only when it is the customer's and the
//! conversation was quiet for the whole auto-finish time before it (R3:
//! the chat finished; closed, so R6 makes a new case). An agent's reply
//! after such a silence is still the same chat (R2: an agent's public reply
//! makes the customer's latest finished chat active again). Notes, system
//! lines and rules' replies are no activity (R3) and are not given here.

use chrono::{DateTime, NaiveDate, Utc};

use crate::stats::AccountTimeZone;

/// A day, in seconds: "reopened within a day".
pub const DAY_SECONDS: i64 = 86_400;
/// At most this many candidate times in one simulation.
pub const MAX_CANDIDATES: usize = 10;

/// Whether a public message at `at` (Unix seconds) starts a new chat, after
/// the conversation's previous public message at `previous` (`None`: it is
/// the first), when chats finish after `after_seconds` of silence.
pub fn starts_chat(
    previous: Option<i64>,
    at: i64,
    from_customer: bool,
    after_seconds: i64,
) -> bool {
    match previous {
        None => true,
        Some(p) => from_customer && at - p >= after_seconds,
    }
}

/// The figures of one candidate auto-finish time.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub after_seconds: i64,
    /// Chats (cases) the messages make.
    pub cases: u64,
    /// Conversations with at least one message.
    pub customers: u64,
    pub cases_per_customer: f64,
    /// Of all chats, the share after which the same customer wrote again
    /// less than a day after it finished (its last message plus the
    /// auto-finish time): a time that cuts conversations the customer
    /// goes on with soon has a high share.
    pub reopened_within_day_share: f64,
    /// The median of the chats' lengths, first to last message (0 without
    /// chats).
    pub median_case_seconds: i64,
    /// Chats started per calendar day of the period, in the account's time
    /// zone: the mean over every day of the period, and the busiest day.
    pub cases_per_day: f64,
    pub busiest_day_cases: u64,
}

/// One candidate time's running count.
#[derive(Debug)]
struct Candidate {
    after: i64,
    cases: u64,
    reopened: u64,
    /// Each chat's length in seconds, for the median.
    lengths: Vec<i64>,
    /// The current chat's first and last message.
    first: i64,
    last: i64,
    /// Chats started per local day (days since 1970-01-01).
    per_day: std::collections::HashMap<i64, u64>,
}

impl Candidate {
    fn end_chat(&mut self) {
        self.lengths.push(self.last - self.first);
    }
}

/// Reads conversations one after another, each message in time order, and
/// counts for every candidate time at once: one pass, memory for one
/// number per chat.
#[derive(Debug)]
pub struct Simulator {
    candidates: Vec<Candidate>,
    tz: AccountTimeZone,
    days: i64,
    customers: u64,
    /// The current conversation's previous message, `None` before its first.
    previous: Option<i64>,
}

impl Simulator {
    /// Candidate times in seconds (each ≥ 1, at most [`MAX_CANDIDATES`],
    /// as the caller checked), over a period of `days` calendar days in `tz`.
    pub fn new(after_seconds: &[i64], tz: AccountTimeZone, days: i64) -> Simulator {
        Simulator {
            candidates: after_seconds
                .iter()
                .map(|&after| Candidate {
                    after,
                    cases: 0,
                    reopened: 0,
                    lengths: Vec::new(),
                    first: 0,
                    last: 0,
                    per_day: Default::default(),
                })
                .collect(),
            tz,
            days: days.max(1),
            customers: 0,
            previous: None,
        }
    }

    /// The next conversation begins.
    pub fn next_conversation(&mut self) {
        self.end_conversation();
        self.previous = None;
    }

    fn end_conversation(&mut self) {
        if self.previous.is_some() {
            for c in &mut self.candidates {
                c.end_chat();
            }
        }
    }

    /// The conversation's next public message, at `at` (Unix seconds, not
    /// before the one given before it).
    pub fn message(&mut self, at: i64, from_customer: bool) {
        if self.previous.is_none() {
            self.customers += 1;
        }
        let mut day = None;
        for c in &mut self.candidates {
            if starts_chat(self.previous, at, from_customer, c.after) {
                if self.previous.is_some() {
                    c.end_chat();
                    if at < c.last + c.after + DAY_SECONDS {
                        c.reopened += 1;
                    }
                }
                c.cases += 1;
                c.first = at;
                let d = *day.get_or_insert_with(|| local_day(self.tz, at));
                *c.per_day.entry(d).or_default() += 1;
            }
            c.last = at;
        }
        self.previous = Some(at);
    }

    /// The figures, one per candidate time in the order given.
    pub fn finish(mut self) -> Vec<Figures> {
        self.end_conversation();
        let (customers, days) = (self.customers, self.days);
        self.candidates
            .into_iter()
            .map(|mut c| {
                let ratio = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
                Figures {
                    after_seconds: c.after,
                    cases: c.cases,
                    customers,
                    cases_per_customer: ratio(c.cases, customers),
                    reopened_within_day_share: ratio(c.reopened, c.cases),
                    median_case_seconds: median(&mut c.lengths),
                    cases_per_day: c.cases as f64 / days as f64,
                    busiest_day_cases: c.per_day.values().copied().max().unwrap_or(0),
                }
            })
            .collect()
    }
}

/// The lower median (a length that happened), 0 for none.
fn median(values: &mut [i64]) -> i64 {
    if values.is_empty() {
        return 0;
    }
    let mid = (values.len() - 1) / 2;
    *values.select_nth_unstable(mid).1
}

fn local_day(tz: AccountTimeZone, at: i64) -> i64 {
    let date = DateTime::<Utc>::from_timestamp(at, 0)
        .unwrap_or_default()
        .with_timezone(&tz.tz())
        .date_naive();
    days_since_epoch(date)
}

fn days_since_epoch(date: NaiveDate) -> i64 {
    (date - NaiveDate::default()).num_days()
}

/// How one conversation's messages split into chats with the given time:
/// the index of each chat's first message. Messages in time order.
pub fn chat_starts(messages: &[(i64, bool)], after_seconds: i64) -> Vec<usize> {
    let mut previous = None;
    let mut starts = Vec::new();
    for (i, &(at, from_customer)) in messages.iter().enumerate() {
        if starts_chat(previous, at, from_customer, after_seconds) {
            starts.push(i);
        }
        previous = Some(at);
    }
    starts
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MIN: i64 = 60;

    #[test]
    fn a_customer_message_after_the_whole_silence_starts_a_chat_an_agent_reply_does_not() {
        let m = [
            (0, true),
            (5 * MIN, false),
            (20 * MIN, true),  // 15 min quiet: new chat with 10 min
            (40 * MIN, false), // 20 min quiet, but an agent: same chat
            (49 * MIN, true),
            (59 * MIN, true), // exactly 10 min: the chat had finished
        ];
        assert_eq!(chat_starts(&m, 10 * MIN), [0, 2, 5]);
        assert_eq!(chat_starts(&m, 60 * MIN), [0]);
        assert_eq!(chat_starts(&[(0, false), (10, true)], 5), [0, 1]);
        assert!(chat_starts(&[], 5).is_empty());
    }

    #[test]
    fn figures_by_hand() {
        // Ann: 0, 1 min (agent), 30 min | with 10 min: two chats, the second
        // 29 min after the first finished (11 min): reopened within a day.
        // Bob: 0, 2 days later: two chats with any time below 2 days.
        let mut sim = Simulator::new(&[10 * MIN, 60 * MIN], AccountTimeZone::default(), 4);
        sim.next_conversation();
        for (at, c) in [(0, true), (MIN, false), (30 * MIN, true)] {
            sim.message(at, c);
        }
        sim.next_conversation();
        sim.message(0, true);
        sim.message(2 * DAY_SECONDS, true);
        let f = sim.finish();
        assert_eq!(f[0].cases, 4);
        assert_eq!(f[0].customers, 2);
        assert_eq!(f[0].cases_per_customer, 2.0);
        assert_eq!(f[0].reopened_within_day_share, 0.25);
        // lengths 60, 0, 0, 0
        assert_eq!(f[0].median_case_seconds, 0);
        assert_eq!(f[0].cases_per_day, 1.0);
        assert_eq!(f[0].busiest_day_cases, 3, "three started on day one");
        assert_eq!(f[1].cases, 3);
        assert_eq!(f[1].median_case_seconds, 0);
        assert_eq!(f[1].reopened_within_day_share, 0.0);
        assert_eq!(
            Simulator::new(&[MIN], AccountTimeZone::default(), 1).finish()[0].cases,
            0
        );
    }

    /// The reference: every chat written out, then counted.
    fn brute_force(conversations: &[Vec<(i64, bool)>], after: i64) -> (u64, u64, i64) {
        let mut chats: Vec<(i64, i64)> = Vec::new();
        let mut reopened = 0;
        for conv in conversations.iter().filter(|c| !c.is_empty()) {
            let starts = chat_starts(conv, after);
            let mut mine = Vec::new();
            for (k, &s) in starts.iter().enumerate() {
                let end = starts.get(k + 1).copied().unwrap_or(conv.len());
                mine.push((conv[s].0, conv[end - 1].0));
            }
            for w in mine.windows(2) {
                if w[1].0 - (w[0].1 + after) < DAY_SECONDS {
                    reopened += 1;
                }
            }
            chats.extend(mine);
        }
        let mut lengths: Vec<i64> = chats.iter().map(|(a, b)| b - a).collect();
        lengths.sort_unstable();
        let median = if lengths.is_empty() {
            0
        } else {
            lengths[(lengths.len() - 1) / 2]
        };
        (chats.len() as u64, reopened, median)
    }

    proptest! {
        #[test]
        fn one_pass_counts_as_the_chats_written_out(
            gaps in prop::collection::vec(
                prop::collection::vec((0i64..3 * DAY_SECONDS, any::<bool>()), 0..20),
                0..8,
            ),
            afters in prop::collection::vec(1i64..2 * DAY_SECONDS, 1..4),
        ) {
            let conversations: Vec<Vec<(i64, bool)>> = gaps
                .iter()
                .map(|g| {
                    let mut at = 1_700_000_000;
                    g.iter().map(|&(gap, c)| { at += gap; (at, c) }).collect()
                })
                .collect();
            let mut sim = Simulator::new(&afters, AccountTimeZone::default(), 30);
            for conv in &conversations {
                sim.next_conversation();
                for &(at, c) in conv {
                    sim.message(at, c);
                }
            }
            let figures = sim.finish();
            for (f, &after) in figures.iter().zip(&afters) {
                let (cases, reopened, median) = brute_force(&conversations, after);
                prop_assert_eq!(f.cases, cases);
                prop_assert_eq!(f.median_case_seconds, median);
                let share = if cases == 0 { 0.0 } else { reopened as f64 / cases as f64 };
                prop_assert!((f.reopened_within_day_share - share).abs() < 1e-12);
                prop_assert_eq!(
                    f.customers,
                    conversations.iter().filter(|c| !c.is_empty()).count() as u64
                );
            }
        }
    }
}
