//! Statistics (R15) as pure computation over facts the store tallies.
//!
//! The store counts history events per group and kind and hands over the
//! raw time spans and message counts of the cases in a period; this module
//! decides what each counter means, buckets time in the account's time zone,
//! measures spans in calendar or business time ([`crate::BusinessHours`]),
//! and computes means, medians and percentiles. Keeping that here means each
//! statistic is unit-tested on hand-built histories without a database, and
//! both backends share one definition.
//!
//! What each counter counts (events of the period, each exactly once):
//! - `created`: `created` events — new chats and email cases, chats started
//!   after a closed one, and cases split off (R7). A reopened chat is not new.
//! - `finished`: a chat left the active list — `finished` (agent),
//!   `auto_finished` (R3) and `updated` events that closed an active chat.
//!   A split putting the original back, or a merge, is not a finish.
//! - `auto_finished`: the subset of `finished` done by the timer.
//! - `closed`: events that set the status from open or pending to `closed`
//!   (an agent's finish or status change; templates, rules and the Help
//!   Center when they arrive).
//! - `reopened`: a customer message reopened a finished chat (R6 c).
//! - `reactivated`: an agent reply made the latest finished chat active (R2).
//! - `split`, `merged`: one per split (on the original) and per merge (on
//!   the merged case), at the moment it happened.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};

use crate::{BusinessHours, Change, EventKind, Field, ParseError, Time};

/// An account's IANA time zone (`Europe/Moscow`); `UTC` by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTimeZone(chrono_tz::Tz);

impl Default for AccountTimeZone {
    fn default() -> Self {
        AccountTimeZone(chrono_tz::UTC)
    }
}

impl AccountTimeZone {
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The instant a local calendar day starts (the first valid local time
    /// of that day, for zones whose clocks skip midnight).
    pub fn start_of_day(self, date: NaiveDate) -> Time {
        let mut local = date.and_time(NaiveTime::MIN);
        for _ in 0..48 {
            if let Some(t) = self.0.from_local_datetime(&local).earliest() {
                return t.with_timezone(&chrono::Utc);
            }
            local += Duration::minutes(30);
        }
        // No zone skips a whole day of local times; fall back to UTC midnight.
        date.and_time(NaiveTime::MIN).and_utc()
    }

    /// The local calendar day of an instant.
    pub fn date_of(self, t: Time) -> NaiveDate {
        t.with_timezone(&self.0).date_naive()
    }

    /// Every name a time zone can be given by, as the IANA database spells it.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }
}

impl FromStr for AccountTimeZone {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        s.trim()
            .parse::<chrono_tz::Tz>()
            .map(AccountTimeZone)
            .map_err(|_| {
                ParseError::new(
                    "time_zone_unknown",
                    format!(
                        "unknown time zone `{s}`; use an IANA name such as `UTC` or `Europe/Moscow`"
                    ),
                )
                .with("value", s)
            })
    }
}

impl fmt::Display for AccountTimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How statistics are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    Day,
    Week,
    Agent,
    Channel,
}

/// One group of figures: a time bucket (its index), an assignee (`None`:
/// unassigned) or a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    Bucket(usize),
    Agent(Option<String>),
    Channel(String),
}

/// A local day or week of the account, clipped to the period asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeBucket {
    pub start: Time,
    pub end: Time,
    /// The local date the day or (Monday-based ISO) week starts on.
    pub date: NaiveDate,
    /// `2026-11-23` for a day, `2026-W48` for a week.
    pub label: String,
}

/// At most this many time buckets in one answer.
pub const MAX_BUCKETS: usize = 1000;

/// The local days or weeks covering `[from, to)` in `tz`; the first and
/// last are clipped to the period. `grouping` must be `Day` or `Week`.
pub fn time_buckets(
    from: Time,
    to: Time,
    tz: AccountTimeZone,
    grouping: Grouping,
) -> Result<Vec<TimeBucket>, ParseError> {
    let step = match grouping {
        Grouping::Day => 1,
        Grouping::Week => 7,
        Grouping::Agent | Grouping::Channel => {
            return Err(ParseError::new("grouping_not_time", "not a time grouping"));
        }
    };
    if from >= to {
        return Err(ParseError::new(
            "period_reversed",
            "`from` must be before `to`",
        ));
    }
    let mut date = tz.date_of(from);
    if step == 7 {
        date -= Duration::days(i64::from(date.weekday().num_days_from_monday()));
    }
    let mut buckets = Vec::new();
    loop {
        let start = tz.start_of_day(date);
        if start >= to {
            break;
        }
        let next = date + Duration::days(step);
        let end = tz.start_of_day(next);
        if buckets.len() == MAX_BUCKETS {
            let unit = if step == 1 { "day" } else { "week" };
            return Err(ParseError::new(
                "period_too_long",
                format!(
                    "the period has more than {MAX_BUCKETS} {unit}s; choose a shorter period or \
                     a coarser group_by"
                ),
            )
            .with("max", MAX_BUCKETS)
            .with("unit", unit));
        }
        let label = if step == 1 {
            date.format("%Y-%m-%d").to_string()
        } else {
            let w = date.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        };
        buckets.push(TimeBucket {
            start: start.max(from),
            end: end.min(to),
            date,
            label,
        });
        date = next;
    }
    Ok(buckets)
}

/// What an event's changes set, as far as statistics care.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventFacts {
    /// The status became `closed`.
    pub sets_closed: bool,
    /// The chat state went from `active` to `finished`.
    pub sets_finished: bool,
}

impl EventFacts {
    pub fn of(changes: &[Change]) -> EventFacts {
        let to = |field: Field, before: &[&str], after: &str| {
            changes.iter().any(|c| {
                c.field == field
                    && c.after.as_deref() == Some(after)
                    && c.before.as_deref().is_some_and(|b| before.contains(&b))
            })
        };
        EventFacts {
            sets_closed: to(Field::Status, &["open", "pending"], "closed"),
            sets_finished: to(Field::ChatState, &["active"], "finished"),
        }
    }
}

/// `count` history events of one kind and facts, in one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTally {
    pub key: GroupKey,
    pub kind: EventKind,
    pub facts: EventFacts,
    pub count: i64,
}

/// The counters of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub created: i64,
    pub finished: i64,
    pub auto_finished: i64,
    pub closed: i64,
    pub reopened: i64,
    pub reactivated: i64,
    pub split: i64,
    pub merged: i64,
}

impl Counters {
    /// Counts `n` events of `kind` with `facts` (see the module doc).
    pub fn add(&mut self, kind: EventKind, facts: EventFacts, n: i64) {
        // Every kind is named: a new one must decide what it counts for.
        match kind {
            EventKind::Created => self.created += n,
            EventKind::Finished => self.finished += n,
            EventKind::AutoFinished => {
                self.finished += n;
                self.auto_finished += n;
            }
            // A change that finished an active chat: an agent closing it (R1),
            // a template or an automation rule applying its actions.
            EventKind::Updated
            | EventKind::TemplateApplied
            | EventKind::RuleApplied
            | EventKind::ClosedByCustomer => {
                if facts.sets_finished {
                    self.finished += n
                }
            }
            EventKind::Reopened => self.reopened += n,
            EventKind::Reactivated => self.reactivated += n,
            EventKind::Split => self.split += n,
            EventKind::Merged => self.merged += n,
            EventKind::KeptActive
            | EventKind::LabelsChanged
            | EventKind::MergedIn
            | EventKind::Linked
            | EventKind::Reaction
            | EventKind::MessageEdited
            | EventKind::MessagesMoved
            | EventKind::TopicDismissed
            // An undone split, merge or split-off case counts no more; an
            // undo or redo itself counts nothing (the events it renamed do).
            | EventKind::Undone
            | EventKind::Redone
            | EventKind::SplitUndone
            | EventKind::MergedUndone
            | EventKind::CreatedUndone => {}
        }
        if facts.sets_closed {
            self.closed += n;
        }
    }

    fn merge(&mut self, o: &Counters) {
        self.created += o.created;
        self.finished += o.finished;
        self.auto_finished += o.auto_finished;
        self.closed += o.closed;
        self.reopened += o.reopened;
        self.reactivated += o.reactivated;
        self.split += o.split;
        self.merged += o.merged;
    }
}

/// A span of time as `(start, end)` in microseconds since the epoch.
pub type Span = (i64, i64);

/// Raw values of one group: spans of time (their length in calendar or
/// business time is decided by [`compute`]), message counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Samples {
    /// Cases created in the period with an agent reply: (created, first reply).
    pub first_response: Vec<Span>,
    /// Close events of the period: (the case's creation, the close).
    pub resolution: Vec<Span>,
    /// Cases created in the period and not merged away: their message count.
    pub messages: Vec<i64>,
}

impl Samples {
    fn extend(&mut self, o: &Samples) {
        self.first_response.extend_from_slice(&o.first_response);
        self.resolution.extend_from_slice(&o.resolution);
        self.messages.extend_from_slice(&o.messages);
    }
}

/// Mean, median and 90th percentile of a set of values (`None` when empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Distribution {
    pub count: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Distribution {
    /// Median: the middle value, or the mean of the two middle ones.
    /// p90: nearest rank, the smallest value with at least 90 % of the
    /// values at or below it. Values are scaled by `scale` (µs → s).
    pub fn of(values: &mut [i64], scale: f64) -> Distribution {
        let n = values.len();
        if n == 0 {
            return Distribution::default();
        }
        values.sort_unstable();
        let sum: f64 = values.iter().map(|&v| v as f64).sum();
        let median = if n % 2 == 1 {
            values[n / 2] as f64
        } else {
            (values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0
        };
        let rank = (n * 9).div_ceil(10).max(1);
        Distribution {
            count: n,
            mean: Some(sum / n as f64 * scale),
            median: Some(median * scale),
            p90: Some(values[rank - 1] as f64 * scale),
        }
    }
}

/// The figures of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupFigures {
    pub counters: Counters,
    pub messages_per_case: Distribution,
    /// Seconds.
    pub first_response: Distribution,
    /// Seconds.
    pub resolution: Distribution,
    /// Active chats right now (not per time bucket).
    pub active_now: Option<i64>,
}

/// What the store gathered for a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsInput {
    pub events: Vec<EventTally>,
    pub samples: Vec<(GroupKey, Samples)>,
    /// Active chats now per agent or channel; empty for time groupings.
    pub active_now: Vec<(GroupKey, i64)>,
    pub active_now_total: i64,
}

impl StatsInput {
    /// The facts a store gathered, samples in key order whatever order the
    /// store's map kept them in.
    pub fn new(
        events: Vec<EventTally>,
        samples: impl IntoIterator<Item = (GroupKey, Samples)>,
        active_now: Vec<(GroupKey, i64)>,
        active_now_total: i64,
    ) -> StatsInput {
        let mut samples: Vec<(GroupKey, Samples)> = samples.into_iter().collect();
        samples.sort_by(|a, b| a.0.cmp(&b.0));
        StatsInput {
            events,
            samples,
            active_now,
            active_now_total,
        }
    }
}

const MICROS_TO_SECONDS: f64 = 1e-6;

/// Figures per group, in key order, and for all groups together. Every key
/// of `listed` appears, with zeros when nothing happened in it (empty days,
/// idle agents); other keys appear when they have data.
///
/// Durations are calendar time, or with `hours` only the time inside the
/// account's business hours (read in its time zone).
pub fn compute(
    input: StatsInput,
    listed: &[GroupKey],
    time_grouping: bool,
    hours: Option<(&BusinessHours, AccountTimeZone)>,
) -> (Vec<(GroupKey, GroupFigures)>, GroupFigures) {
    let mut counters: BTreeMap<GroupKey, Counters> = listed
        .iter()
        .map(|k| (k.clone(), Counters::default()))
        .collect();
    let mut samples: BTreeMap<GroupKey, Samples> = BTreeMap::new();
    let mut active: BTreeMap<GroupKey, i64> = BTreeMap::new();
    for t in &input.events {
        counters
            .entry(t.key.clone())
            .or_default()
            .add(t.kind, t.facts, t.count);
    }
    for (k, s) in input.samples {
        counters.entry(k.clone()).or_default();
        samples.entry(k).or_default().extend(&s);
    }
    for (k, n) in input.active_now {
        counters.entry(k.clone()).or_default();
        *active.entry(k).or_default() += n;
    }
    let mut total_counters = Counters::default();
    let mut all = Samples::default();
    let groups = counters
        .into_iter()
        .map(|(key, c)| {
            total_counters.merge(&c);
            let mut s = samples.remove(&key).unwrap_or_default();
            all.extend(&s);
            let figures = figures(
                c,
                &mut s,
                hours,
                (!time_grouping).then(|| active.get(&key).copied().unwrap_or(0)),
            );
            (key, figures)
        })
        .collect();
    let total = figures(
        total_counters,
        &mut all,
        hours,
        Some(input.active_now_total),
    );
    (groups, total)
}

/// Lengths of spans in microseconds: calendar time, or business time.
fn durations(spans: &[Span], hours: Option<(&BusinessHours, AccountTimeZone)>) -> Vec<i64> {
    spans
        .iter()
        .map(|&(start, end)| match hours {
            None => end.saturating_sub(start).max(0),
            Some((h, tz)) => h.working_micros(start, end, tz),
        })
        .collect()
}

fn figures(
    counters: Counters,
    s: &mut Samples,
    hours: Option<(&BusinessHours, AccountTimeZone)>,
    active_now: Option<i64>,
) -> GroupFigures {
    GroupFigures {
        counters,
        messages_per_case: Distribution::of(&mut s.messages, 1.0),
        first_response: Distribution::of(
            &mut durations(&s.first_response, hours),
            MICROS_TO_SECONDS,
        ),
        resolution: Distribution::of(&mut durations(&s.resolution, hours), MICROS_TO_SECONDS),
        active_now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuthorType, CaseState, ChannelKind, Status};

    #[test]
    fn every_listed_time_zone_name_is_accepted() {
        let names: Vec<&str> = AccountTimeZone::names().collect();
        assert!(names.len() > 400, "{}", names.len());
        for name in names {
            assert_eq!(
                name.parse::<AccountTimeZone>().map(|tz| tz.name()),
                Ok(name)
            );
        }
    }

    fn t(min: i64) -> Time {
        chrono::DateTime::from_timestamp(1_700_000_000 + min * 60, 0).unwrap()
    }

    /// A hand-built history: each event as the use cases record it.
    struct History {
        events: Vec<EventTally>,
    }

    impl History {
        fn new() -> Self {
            History { events: Vec::new() }
        }

        fn record(&mut self, key: &GroupKey, kind: EventKind, changes: &[Change]) {
            self.events.push(EventTally {
                key: key.clone(),
                kind,
                facts: EventFacts::of(changes),
                count: 1,
            });
        }

        fn counters(&self) -> Counters {
            let mut c = Counters::default();
            for e in &self.events {
                c.add(e.kind, e.facts, e.count);
            }
            c
        }
    }

    fn key() -> GroupKey {
        GroupKey::Channel("ch".into())
    }

    #[test]
    fn finish_and_close_by_an_agent() {
        let mut h = History::new();
        let mut c = CaseState::new_case(ChannelKind::Api);
        h.record(&key(), EventKind::Created, &[]);
        let ch = c.finish(Status::Closed, t(5)).unwrap();
        h.record(&key(), EventKind::Finished, &ch);
        let got = h.counters();
        assert_eq!((got.created, got.finished, got.closed), (1, 1, 1));
        assert_eq!(got.auto_finished, 0);
    }

    #[test]
    fn closing_an_active_chat_counts_as_finished_and_closed() {
        let mut h = History::new();
        let mut c = CaseState::new_case(ChannelKind::Api);
        h.record(&key(), EventKind::Created, &[]);
        let ch = c.set_status(Status::Closed, t(1)).unwrap();
        h.record(&key(), EventKind::Updated, &ch);
        // Setting a finished chat to pending and closing it again: a close, no finish.
        let ch = c.set_status(Status::Pending, t(2)).unwrap();
        h.record(&key(), EventKind::Updated, &ch);
        let ch = c.set_status(Status::Closed, t(3)).unwrap();
        h.record(&key(), EventKind::Updated, &ch);
        let got = h.counters();
        assert_eq!((got.finished, got.closed), (1, 2));
    }

    #[test]
    fn auto_finish_counts_as_finished_never_closed() {
        let mut h = History::new();
        let mut c = CaseState::new_case(ChannelKind::Api);
        c.last_public_author = Some(AuthorType::Agent);
        h.record(&key(), EventKind::Created, &[]);
        let ch = c.auto_finish(t(10)).unwrap();
        assert_eq!(c.status, Status::Pending);
        h.record(&key(), EventKind::AutoFinished, &ch);
        let got = h.counters();
        assert_eq!((got.finished, got.auto_finished, got.closed), (1, 1, 0));
    }

    #[test]
    fn a_reopened_chat_is_not_a_new_case_and_split_counts_once() {
        let mut h = History::new();
        let mut c = CaseState::new_case(ChannelKind::Api);
        h.record(&key(), EventKind::Created, &[]);
        let ch = c.finish(Status::Pending, t(1)).unwrap();
        h.record(&key(), EventKind::Finished, &ch);
        let ch = c.reopen_by_customer(10, t(2));
        h.record(&key(), EventKind::Reopened, &ch);
        let got = h.counters();
        assert_eq!((got.created, got.reopened, got.finished), (1, 1, 1));
        // Split: the original goes back to finished (no new finish); the
        // split-off case is created.
        let plan = c.split().unwrap();
        h.record(&key(), EventKind::Split, &plan.original_changes);
        h.record(&key(), EventKind::Created, &[]);
        let got = h.counters();
        assert_eq!(
            (got.created, got.split, got.finished, got.closed),
            (2, 1, 1, 0)
        );
    }

    #[test]
    fn merge_counts_once_and_is_not_a_finish() {
        let mut h = History::new();
        let mut previous = CaseState::new_case(ChannelKind::Api);
        h.record(&key(), EventKind::Created, &[]);
        let ch = previous.finish(Status::Closed, t(1)).unwrap();
        h.record(&key(), EventKind::Finished, &ch);
        let mut current = CaseState::new_case(ChannelKind::Api);
        h.record(&key(), EventKind::Created, &[]);
        let plan = current
            .merge_into_previous(&mut previous, true, t(3))
            .unwrap();
        h.record(&key(), EventKind::Merged, &plan.current_changes);
        h.record(&key(), EventKind::MergedIn, &plan.previous_changes);
        let got = h.counters();
        assert_eq!(
            (
                got.created,
                got.merged,
                got.finished,
                got.closed,
                got.reopened
            ),
            (2, 1, 1, 1, 0)
        );
    }

    #[test]
    fn agent_reply_reactivation_is_counted_apart() {
        let mut h = History::new();
        let mut c = CaseState::new_case(ChannelKind::Api);
        let ch = c.finish(Status::Open, t(1)).unwrap();
        h.record(&key(), EventKind::Finished, &ch);
        let ch = c.agent_replied(true, t(2));
        h.record(&key(), EventKind::Reactivated, &ch);
        let got = h.counters();
        assert_eq!((got.reactivated, got.reopened, got.finished), (1, 0, 1));
    }

    #[test]
    fn subject_named_closed_is_not_a_close() {
        let changes = vec![Change {
            field: Field::Subject,
            before: Some("open".into()),
            after: Some("closed".into()),
        }];
        assert_eq!(EventFacts::of(&changes), EventFacts::default());
    }

    #[test]
    fn distributions() {
        assert_eq!(Distribution::of(&mut [], 1.0), Distribution::default());
        let d = Distribution::of(&mut [5], 1.0);
        assert_eq!((d.median, d.p90, d.mean), (Some(5.0), Some(5.0), Some(5.0)));
        let d = Distribution::of(&mut [4, 1, 3, 2], 1.0);
        assert_eq!((d.median, d.mean, d.p90), (Some(2.5), Some(2.5), Some(4.0)));
        let mut ten: Vec<i64> = (1..=10).rev().collect();
        let d = Distribution::of(&mut ten, 1.0);
        assert_eq!((d.median, d.p90), (Some(5.5), Some(9.0)));
        let d = Distribution::of(&mut [1_000_000, 3_000_000], MICROS_TO_SECONDS);
        assert_eq!(d.median, Some(2.0));
    }

    #[test]
    fn compute_groups_totals_and_lists_empty_keys() {
        let a = GroupKey::Agent(Some("a".into()));
        let b = GroupKey::Agent(Some("b".into()));
        let none = GroupKey::Agent(None);
        let input = StatsInput {
            events: vec![
                EventTally {
                    key: a.clone(),
                    kind: EventKind::Created,
                    facts: EventFacts::default(),
                    count: 3,
                },
                EventTally {
                    key: none.clone(),
                    kind: EventKind::Created,
                    facts: EventFacts::default(),
                    count: 1,
                },
            ],
            samples: vec![
                (
                    a.clone(),
                    Samples {
                        first_response: vec![(0, 60_000_000), (5, 120_000_005)],
                        resolution: vec![],
                        messages: vec![2, 4, 9],
                    },
                ),
                (
                    none.clone(),
                    Samples {
                        first_response: vec![],
                        resolution: vec![],
                        messages: vec![1],
                    },
                ),
            ],
            active_now: vec![(a.clone(), 2)],
            active_now_total: 2,
        };
        let (groups, total) = compute(input, std::slice::from_ref(&b), false, None);
        let keys: Vec<_> = groups.iter().map(|g| g.0.clone()).collect();
        assert_eq!(keys, [none, a.clone(), b]);
        let fa = &groups[1].1;
        assert_eq!(fa.counters.created, 3);
        assert_eq!(fa.first_response.median, Some(90.0));
        assert_eq!(fa.messages_per_case.mean, Some(5.0));
        assert_eq!(fa.active_now, Some(2));
        assert_eq!(groups[2].1.active_now, Some(0));
        assert_eq!(total.counters.created, 4);
        assert_eq!(total.messages_per_case.median, Some(3.0));
        assert_eq!(total.active_now, Some(2));
    }

    #[test]
    fn business_hours_apply_to_response_and_resolution_times() {
        // Mon–Fri 09:00–18:00 in Berlin (UTC+1 in November).
        let hours: BusinessHours = serde_json::from_str(
            r#"{"mon":[["09:00","18:00"]],"tue":[["09:00","18:00"]],"wed":[["09:00","18:00"]],
                "thu":[["09:00","18:00"]],"fri":[["09:00","18:00"]]}"#,
        )
        .unwrap();
        let berlin: AccountTimeZone = "Europe/Berlin".parse().unwrap();
        let us = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_micros()
        };
        let key = GroupKey::Agent(None);
        let input = || StatsInput {
            samples: vec![(
                key.clone(),
                Samples {
                    // Mon 17:30 local → Tue 09:15 local: 45 working minutes.
                    first_response: vec![(us("2026-11-23T16:30:00Z"), us("2026-11-24T08:15:00Z"))],
                    // Fri 17:00 local → Mon 10:00 local: 2 working hours.
                    resolution: vec![(us("2026-11-27T16:00:00Z"), us("2026-11-30T09:00:00Z"))],
                    messages: vec![],
                },
            )],
            ..StatsInput::default()
        };
        let (_, calendar) = compute(input(), &[], false, None);
        assert_eq!(calendar.first_response.median, Some(15.75 * 3600.0));
        assert_eq!(calendar.resolution.median, Some(65.0 * 3600.0));
        let (groups, business) = compute(input(), &[], false, Some((&hours, berlin)));
        assert_eq!(business.first_response.median, Some(45.0 * 60.0));
        assert_eq!(business.resolution.median, Some(2.0 * 3600.0));
        assert_eq!(groups[0].1.first_response.mean, Some(45.0 * 60.0));
    }

    #[test]
    fn time_zone_parsing() {
        assert_eq!(AccountTimeZone::default().name(), "UTC");
        assert_eq!(
            "Europe/Moscow".parse::<AccountTimeZone>().unwrap().name(),
            "Europe/Moscow"
        );
        assert!("Mars/Olympus".parse::<AccountTimeZone>().is_err());
        assert!("".parse::<AccountTimeZone>().is_err());
    }

    fn at(s: &str) -> Time {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn day_buckets_follow_the_zone_and_clip_to_the_period() {
        let tz: AccountTimeZone = "Europe/Moscow".parse().unwrap(); // UTC+3
        let b = time_buckets(
            at("2026-11-01T12:00:00Z"),
            at("2026-11-03T00:00:00Z"),
            tz,
            Grouping::Day,
        )
        .unwrap();
        let labels: Vec<_> = b.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["2026-11-01", "2026-11-02", "2026-11-03"]);
        assert_eq!(b[0].start, at("2026-11-01T12:00:00Z"));
        assert_eq!(b[0].end, at("2026-11-01T21:00:00Z"));
        assert_eq!(b[1].start, at("2026-11-01T21:00:00Z"));
        assert_eq!(b[2].end, at("2026-11-03T00:00:00Z"));
    }

    #[test]
    fn day_buckets_across_a_dst_change_are_23_and_25_hours() {
        let tz: AccountTimeZone = "Europe/Berlin".parse().unwrap();
        let b = time_buckets(
            at("2026-03-28T23:00:00Z"),
            at("2026-03-30T22:00:00Z"),
            tz,
            Grouping::Day,
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].end - b[0].start).num_hours(), 23);
        let b = time_buckets(
            at("2026-10-24T22:00:00Z"),
            at("2026-10-25T23:00:00Z"),
            tz,
            Grouping::Day,
        )
        .unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].end - b[0].start).num_hours(), 25);
    }

    #[test]
    fn templates_rules_and_customers_finish_and_close_like_agents() {
        let both = EventFacts {
            sets_closed: true,
            sets_finished: true,
        };
        for kind in [
            EventKind::TemplateApplied,
            EventKind::RuleApplied,
            EventKind::ClosedByCustomer,
            EventKind::Updated,
        ] {
            let mut c = Counters::default();
            c.add(kind, both, 1);
            assert_eq!((c.finished, c.closed), (1, 1), "{kind}");
        }
        let mut c = Counters::default();
        c.add(EventKind::LabelsChanged, EventFacts::default(), 3);
        assert_eq!(c, Counters::default(), "labels are no finish or close");
    }

    #[test]
    fn week_buckets_start_on_monday() {
        let b = time_buckets(
            at("2026-11-26T10:00:00Z"),
            at("2026-12-08T00:00:00Z"),
            AccountTimeZone::default(),
            Grouping::Week,
        )
        .unwrap();
        let labels: Vec<_> = b.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["2026-W48", "2026-W49", "2026-W50"]);
        assert_eq!(b[1].date, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(b[1].start, at("2026-11-30T00:00:00Z"));
    }

    #[test]
    fn bad_periods_are_refused() {
        let tz = AccountTimeZone::default();
        assert!(
            time_buckets(
                at("2026-11-02T00:00:00Z"),
                at("2026-11-01T00:00:00Z"),
                tz,
                Grouping::Day
            )
            .is_err()
        );
        assert!(
            time_buckets(
                at("2020-01-01T00:00:00Z"),
                at("2026-01-01T00:00:00Z"),
                tz,
                Grouping::Day
            )
            .is_err()
        );
        assert!(
            time_buckets(
                at("2020-01-01T00:00:00Z"),
                at("2026-01-01T00:00:00Z"),
                tz,
                Grouping::Week
            )
            .is_ok()
        );
    }
}
