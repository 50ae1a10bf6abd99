//! Business hours (R15): a weekly schedule in the account's time zone, and
//! the working time between two instants that statistics count when an
//! account has one.
//!
//! JSON form: `{"mon": [["09:00", "18:00"]], "sat": [["10:00", "14:00"]],
//! "holidays": ["2026-12-25"]}` — days `mon`…`sun`, each a list of
//! `[start, end]` local times `HH:MM` (`end` may be `24:00`); days without
//! an entry are closed, and so are the local dates listed in `holidays`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};

use crate::{AccountTimeZone, ParseError, Time};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;
/// At most this many holidays in one schedule (years of public holidays).
pub const MAX_HOLIDAYS: usize = 1000;

/// A validated weekly schedule: per weekday (Monday first), sorted,
/// non-overlapping intervals in minutes since local midnight, `start < end
/// <= 1440`; at least one interval in the week; and local dates that are
/// closed whatever their weekday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawHours", into = "RawHours")]
pub struct BusinessHours {
    days: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// The JSON shape, before validation.
#[derive(Serialize, Deserialize)]
struct RawHours {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    holidays: Vec<String>,
    #[serde(flatten)]
    days: BTreeMap<String, Vec<(String, String)>>,
}

impl BusinessHours {
    /// Business hours from their JSON (`{"mon": [["09:00", "18:00"]], …,
    /// "holidays": ["2026-12-31"]}`).
    pub fn from_json(value: serde_json::Value) -> Result<BusinessHours, ParseError> {
        let raw: RawHours = serde_json::from_value(value).map_err(|e| {
            ParseError::new("hours_invalid", format!("invalid `business_hours`: {e}"))
                .with("detail", e.to_string())
        })?;
        raw.try_into()
    }
}

fn parse_hhmm(s: &str) -> Result<u16, ParseError> {
    let bad = || {
        ParseError::new(
            "hours_time_invalid",
            format!("business hours: `{s}` is not a time HH:MM"),
        )
        .with("value", s)
    };
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.chars().chain(m.chars())).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl TryFrom<RawHours> for BusinessHours {
    type Error = ParseError;

    fn try_from(raw: RawHours) -> Result<Self, ParseError> {
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        if raw.holidays.len() > MAX_HOLIDAYS {
            return Err(ParseError::new(
                "hours_too_many_holidays",
                format!("business hours: at most {MAX_HOLIDAYS} holidays"),
            )
            .with("max", MAX_HOLIDAYS));
        }
        let holidays = raw
            .holidays
            .iter()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .ok()
                    .filter(|_| d.len() == 10)
                    .ok_or_else(|| {
                        ParseError::new(
                            "hours_holiday_invalid",
                            format!("business hours: holiday `{d}` is not a date YYYY-MM-DD"),
                        )
                        .with("value", d.as_str())
                    })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        for (day, intervals) in raw.days {
            let i = DAYS.iter().position(|d| *d == day).ok_or_else(|| {
                ParseError::new(
                    "hours_day_unknown",
                    format!(
                        "business hours: unknown day `{day}`; use mon, tue, wed, thu, fri, sat, sun"
                    ),
                )
                .with("value", day.as_str())
            })?;
            let mut list = Vec::with_capacity(intervals.len());
            for (start, end) in intervals {
                let (s, e) = (parse_hhmm(&start)?, parse_hhmm(&end)?);
                if s >= MINUTES_PER_DAY || s >= e {
                    return Err(ParseError::new(
                        "hours_interval_reversed",
                        format!(
                            "business hours: {day} {start}–{end}: the start must be before the end"
                        ),
                    )
                    .with("day", day.as_str())
                    .with("start", start.as_str())
                    .with("end", end.as_str()));
                }
                list.push((s, e));
            }
            list.sort_unstable();
            for w in list.windows(2) {
                if w[1].0 < w[0].1 {
                    let (first, second) = (
                        format!("{}–{}", hhmm(w[0].0), hhmm(w[0].1)),
                        format!("{}–{}", hhmm(w[1].0), hhmm(w[1].1)),
                    );
                    return Err(ParseError::new(
                        "hours_overlap",
                        format!("business hours: {day} {first} overlaps {second}"),
                    )
                    .with("day", day.as_str())
                    .with("first", first)
                    .with("second", second));
                }
            }
            days[i] = list;
        }
        if days.iter().all(Vec::is_empty) {
            return Err(ParseError::new(
                "hours_empty",
                "business hours: at least one interval is needed (use null for calendar time)",
            ));
        }
        Ok(BusinessHours { days, holidays })
    }
}

impl From<BusinessHours> for RawHours {
    fn from(h: BusinessHours) -> Self {
        RawHours {
            holidays: h
                .holidays
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect(),
            days: DAYS
                .iter()
                .zip(h.days)
                .filter(|(_, list)| !list.is_empty())
                .map(|(d, list)| {
                    (
                        (*d).to_owned(),
                        list.into_iter().map(|(s, e)| (hhmm(s), hhmm(e))).collect(),
                    )
                })
                .collect(),
        }
    }
}

/// The instant of a local wall-clock time. A time the clocks skip (spring
/// forward) is the first instant after the gap; a time that occurs twice
/// (fall back) is its first occurrence for an interval's start and its last
/// for an interval's end, so the repeated hour counts in full.
fn instant(tz: chrono_tz::Tz, local: NaiveDateTime, is_end: bool) -> Time {
    let mut t = local;
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) => return x.to_utc(),
            LocalResult::Ambiguous(a, b) => return if is_end { b.to_utc() } else { a.to_utc() },
            LocalResult::None => t += Duration::minutes(1),
        }
    }
    local.and_utc()
}

impl BusinessHours {
    /// Time between `start` and `end` that falls inside the schedule, read
    /// in `tz`; zero when `end` is not after `start`. Exact across days,
    /// weeks and daylight-saving changes (an interval spanning a clock
    /// change is as long as the clocks say: 02:00 skipped is an hour less).
    pub fn working_duration(&self, start: Time, end: Time, tz: AccountTimeZone) -> Duration {
        if end <= start {
            return Duration::zero();
        }
        let tz = tz.tz();
        let first = start.with_timezone(&tz).date_naive();
        let last = end.with_timezone(&tz).date_naive();
        let mut total = Duration::zero();
        let mut day: NaiveDate = first;
        while day <= last {
            let weekday = day.weekday().num_days_from_monday() as usize;
            let midnight = day.and_time(NaiveTime::MIN);
            let intervals: &[(u16, u16)] = if self.holidays.contains(&day) {
                &[]
            } else {
                &self.days[weekday]
            };
            for &(s, e) in intervals {
                let open = instant(tz, midnight + Duration::minutes(s.into()), false);
                let close = instant(tz, midnight + Duration::minutes(e.into()), true);
                let (a, b) = (open.max(start), close.min(end));
                if b > a {
                    total += b - a;
                }
            }
            match day.succ_opt() {
                Some(d) => day = d,
                None => break,
            }
        }
        total
    }

    /// Microseconds of [`working_duration`](Self::working_duration) between
    /// two instants given in microseconds since the epoch.
    pub fn working_micros(&self, start: i64, end: i64, tz: AccountTimeZone) -> i64 {
        match (
            chrono::DateTime::from_timestamp_micros(start),
            chrono::DateTime::from_timestamp_micros(end),
        ) {
            (Some(a), Some(b)) => self
                .working_duration(a, b, tz)
                .num_microseconds()
                .unwrap_or(i64::MAX),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(pairs: &[(&str, &[(&str, &str)])]) -> Result<BusinessHours, ParseError> {
        let days = pairs
            .iter()
            .map(|(d, l)| {
                (
                    (*d).to_owned(),
                    l.iter()
                        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                        .collect(),
                )
            })
            .collect();
        BusinessHours::try_from(RawHours {
            holidays: Vec::new(),
            days,
        })
    }

    fn with_holidays(h: &BusinessHours, dates: &[&str]) -> Result<BusinessHours, ParseError> {
        let mut raw: RawHours = h.clone().into();
        raw.holidays = dates.iter().map(|d| (*d).to_owned()).collect();
        BusinessHours::try_from(raw)
    }

    /// Mon–Fri 09:00–18:00.
    fn office() -> BusinessHours {
        let d: &[(&str, &str)] = &[("09:00", "18:00")];
        hours(&[("mon", d), ("tue", d), ("wed", d), ("thu", d), ("fri", d)]).unwrap()
    }

    fn utc() -> AccountTimeZone {
        AccountTimeZone::default()
    }

    /// An instant given as UTC `YYYY-MM-DD HH:MM`.
    fn at(s: &str) -> Time {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    fn hm(h: i64, m: i64) -> Duration {
        Duration::hours(h) + Duration::minutes(m)
    }

    // 2026-11-23 is a Monday.

    #[test]
    fn same_day_inside_and_outside_hours() {
        let h = office();
        let w = |a, b| h.working_duration(at(a), at(b), utc());
        assert_eq!(w("2026-11-23 10:00", "2026-11-23 10:30"), hm(0, 30));
        assert_eq!(w("2026-11-23 07:00", "2026-11-23 10:00"), hm(1, 0));
        assert_eq!(w("2026-11-23 17:00", "2026-11-23 20:00"), hm(1, 0));
        assert_eq!(w("2026-11-23 19:00", "2026-11-23 23:00"), Duration::zero());
        assert_eq!(w("2026-11-23 06:00", "2026-11-23 23:00"), hm(9, 0));
    }

    #[test]
    fn overnight_counts_only_the_open_hours() {
        let h = office();
        // Mon 17:00 → Tue 10:00: an hour on Monday, an hour on Tuesday.
        assert_eq!(
            h.working_duration(at("2026-11-23 17:00"), at("2026-11-24 10:00"), utc()),
            hm(2, 0)
        );
    }

    #[test]
    fn weekend_is_closed() {
        let h = office();
        // Fri 17:30 → Mon 09:15: 30 min + 15 min.
        assert_eq!(
            h.working_duration(at("2026-11-27 17:30"), at("2026-11-30 09:15"), utc()),
            hm(0, 45)
        );
        assert_eq!(
            h.working_duration(at("2026-11-28 08:00"), at("2026-11-29 20:00"), utc()),
            Duration::zero()
        );
    }

    #[test]
    fn multi_week_and_several_intervals_a_day() {
        let h = office();
        // Three whole weeks: 3 × 5 × 9 h.
        assert_eq!(
            h.working_duration(at("2026-11-23 00:00"), at("2026-12-14 00:00"), utc()),
            Duration::hours(135)
        );
        let split = hours(&[
            ("mon", &[("13:00", "17:00"), ("08:00", "12:00")]),
            ("sun", &[("22:00", "24:00")]),
        ])
        .unwrap();
        // Sun 23:00 → Mon 14:00: 1 h on Sunday, 4 h + 1 h on Monday.
        assert_eq!(
            split.working_duration(at("2026-11-22 23:00"), at("2026-11-23 14:00"), utc()),
            hm(6, 0)
        );
    }

    #[test]
    fn time_zone_shifts_the_hours() {
        let h = office();
        let berlin: AccountTimeZone = "Europe/Berlin".parse().unwrap();
        // 07:00–09:00 UTC is 08:00–10:00 in Berlin (CET): one open hour.
        assert_eq!(
            h.working_duration(at("2026-11-23 07:00"), at("2026-11-23 09:00"), berlin),
            hm(1, 0)
        );
    }

    #[test]
    fn daylight_saving_changes_in_berlin() {
        let berlin: AccountTimeZone = "Europe/Berlin".parse().unwrap();
        let night = hours(&[("sun", &[("00:00", "06:00")])]).unwrap();
        // 2026-03-29 (Sunday): 02:00 CET jumps to 03:00 CEST; 00:00–06:00 is
        // 23:00Z–04:00Z, five real hours.
        assert_eq!(
            night.working_duration(at("2026-03-28 12:00"), at("2026-03-30 00:00"), berlin),
            hm(5, 0)
        );
        // 2026-10-25 (Sunday): 03:00 CEST falls back to 02:00 CET;
        // 00:00–06:00 is 22:00Z–05:00Z, seven real hours.
        assert_eq!(
            night.working_duration(at("2026-10-24 12:00"), at("2026-10-26 00:00"), berlin),
            hm(7, 0)
        );
        // An interval starting inside the skipped hour opens when it ends.
        let gap = hours(&[("sun", &[("02:30", "04:00")])]).unwrap();
        assert_eq!(
            gap.working_duration(at("2026-03-28 12:00"), at("2026-03-30 00:00"), berlin),
            hm(1, 0)
        );
        // Office hours are 9 h on either side of a change.
        let h = office();
        assert_eq!(
            h.working_duration(at("2026-03-27 00:00"), at("2026-03-31 00:00"), berlin),
            Duration::hours(18),
            "Fri 27 March (CET) and Mon 30 March (CEST)"
        );
        assert_eq!(
            h.working_duration(at("2026-03-30 07:00"), at("2026-03-30 08:00"), berlin),
            hm(1, 0),
            "09:00–10:00 CEST is 07:00–08:00 UTC"
        );
    }

    #[test]
    fn start_after_end_is_zero() {
        let h = office();
        assert_eq!(
            h.working_duration(at("2026-11-23 12:00"), at("2026-11-23 10:00"), utc()),
            Duration::zero()
        );
        assert_eq!(
            h.working_duration(at("2026-11-23 12:00"), at("2026-11-23 12:00"), utc()),
            Duration::zero()
        );
    }

    #[test]
    fn validation() {
        let err = |r: Result<BusinessHours, ParseError>| r.unwrap_err().message;
        assert!(err(hours(&[("mon", &[("9:00", "18:00")])])).contains("HH:MM"));
        assert!(err(hours(&[("mon", &[("09:60", "18:00")])])).contains("HH:MM"));
        assert!(err(hours(&[("mon", &[("24:30", "18:00")])])).contains("HH:MM"));
        assert!(err(hours(&[("mon", &[("18:00", "09:00")])])).contains("before"));
        assert!(err(hours(&[("mon", &[("09:00", "09:00")])])).contains("before"));
        assert!(
            err(hours(&[("mon", &[("09:00", "13:00"), ("12:00", "18:00")])])).contains("overlaps")
        );
        assert!(err(hours(&[("monday", &[("09:00", "18:00")])])).contains("unknown day"));
        assert!(err(hours(&[])).contains("at least one"));
        assert!(err(hours(&[("mon", &[])])).contains("at least one"));
        // Touching intervals and 24:00 are fine.
        assert!(hours(&[("mon", &[("09:00", "12:00"), ("12:00", "24:00")])]).is_ok());
    }

    #[test]
    fn round_trips_through_its_json_shape() {
        let h = hours(&[("tue", &[("13:00", "17:00"), ("08:30", "12:00")])]).unwrap();
        let raw: RawHours = h.clone().into();
        assert_eq!(
            raw.days.get("tue").unwrap(),
            &vec![
                ("08:30".to_owned(), "12:00".to_owned()),
                ("13:00".to_owned(), "17:00".to_owned())
            ]
        );
        assert_eq!(BusinessHours::try_from(raw).unwrap(), h);
    }

    #[test]
    fn holidays_are_closed_all_day() {
        // Wed 2026-11-25 is a holiday: Tue 17:00 → Thu 10:00 counts Tue
        // 17–18 and Thu 09–10 only.
        let h = with_holidays(&office(), &["2026-11-25"]).unwrap();
        assert_eq!(
            h.working_duration(at("2026-11-24 17:00"), at("2026-11-26 10:00"), utc()),
            hm(2, 0)
        );
        assert_eq!(
            office().working_duration(at("2026-11-24 17:00"), at("2026-11-26 10:00"), utc()),
            hm(11, 0),
            "without the holiday Wednesday counts 9 h"
        );
        // The holiday is a local date: in Tokyo (UTC+9) 2026-11-25 is
        // 2026-11-24 15:00Z to 2026-11-25 15:00Z.
        let tokyo: AccountTimeZone = "Asia/Tokyo".parse().unwrap();
        assert_eq!(
            h.working_duration(at("2026-11-25 00:00"), at("2026-11-25 09:00"), tokyo),
            Duration::zero(),
            "Wed 09:00–18:00 Tokyo is a holiday"
        );
        assert_eq!(
            h.working_duration(at("2026-11-24 00:00"), at("2026-11-24 09:00"), tokyo),
            hm(9, 0),
            "Tue 09:00–18:00 Tokyo is not"
        );
    }

    #[test]
    fn holidays_validate_and_round_trip() {
        let err = |r: Result<BusinessHours, ParseError>| r.unwrap_err().message;
        assert!(err(with_holidays(&office(), &["2026-13-01"])).contains("YYYY-MM-DD"));
        assert!(err(with_holidays(&office(), &["25.12.2026"])).contains("YYYY-MM-DD"));
        assert!(err(with_holidays(&office(), &["2026-1-5"])).contains("YYYY-MM-DD"));
        let many: Vec<String> = (0..=MAX_HOLIDAYS)
            .map(|i| {
                (NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(i as i64))
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(err(with_holidays(&office(), &many)).contains("at most"));
        // Duplicates collapse, dates come back sorted; JSON without
        // holidays has no `holidays` key.
        let h = with_holidays(&office(), &["2026-12-31", "2026-12-25", "2026-12-25"]).unwrap();
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(
            json["holidays"],
            serde_json::json!(["2026-12-25", "2026-12-31"])
        );
        assert_eq!(serde_json::from_value::<BusinessHours>(json).unwrap(), h);
        assert!(
            serde_json::to_value(office())
                .unwrap()
                .get("holidays")
                .is_none()
        );
        // A holiday list alone is not a schedule.
        let only: Result<BusinessHours, _> =
            serde_json::from_value(serde_json::json!({"holidays": ["2026-12-25"]}));
        assert!(only.unwrap_err().to_string().contains("at least one"));
        let wrong: Result<BusinessHours, _> = serde_json::from_value(
            serde_json::json!({"mon": [["09:00", "18:00"]], "holidays": "2026-12-25"}),
        );
        assert!(wrong.is_err());
    }
}
