"""Schemathesis hooks of scripts/schemathesis: the rules between fields that
the OpenAPI document states in words because JSON Schema cannot.

Each hook touches only requests generated as *valid* (positive mode) and
turns one that breaks such a rule into the nearest one that keeps it, so
that "a valid request is accepted" is checked against what the document
says. Invalid (negative) requests are left alone: the server must refuse
them whatever they hold. Nothing here hides a failure or skips a check.
"""

from __future__ import annotations

import datetime as dt

import schemathesis

# The cursor of GET /api/v1/cases belongs to one sort and order: its first
# two letters say which (crates/server/src/http/api/cases.rs, cursor_prefix).
CURSOR_PREFIX = {
    ("created_at", "desc"): "cd",
    ("created_at", "asc"): "ca",
    ("last_activity_at", "desc"): "ad",
    ("last_activity_at", "asc"): "aa",
}
# GET /api/v1/stats: at most this many days or weeks (casedesk_domain::stats::MAX_BUCKETS),
# less a margin for the account's time zone and the week a period starts in.
MAX_BUCKETS = 1000 - 10
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def map_case(context, case):
    if not _positive(case):
        return case
    method, path = case.method.upper(), case.operation.path
    if method == "GET" and path == "/api/v1/cases":
        _cursor_fits_its_order(case.query)
    elif method == "GET" and path == "/api/v1/stats":
        _period_runs_forward(case.query)
    elif method == "PATCH" and path == "/api/v1/settings" and isinstance(case.body, dict):
        hours = case.body.get("business_hours")
        if isinstance(hours, dict):
            _hours_do_not_overlap(hours)
    return case


def _cursor_fits_its_order(query) -> None:
    cursor = query.get("cursor") if query else None
    if not isinstance(cursor, str):
        return
    key = (query.get("sort") or "created_at", query.get("order") or "desc")
    query["cursor"] = CURSOR_PREFIX[key] + cursor[2:]


def _parse(value: str, end: bool) -> dt.datetime | None:
    """A bound as the server reads it: RFC 3339, or a date (its start, or for
    `to` the start of the next day), here in UTC."""
    try:
        if len(value) == 10:
            day = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.timezone.utc)
            return day + dt.timedelta(days=1) if end else day
        t = dt.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
    except (ValueError, OverflowError):
        return None


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _period_runs_forward(query) -> None:
    """`from` before `to` by more than a day of time zones, and no more
    days (or weeks) than a statistics page holds."""
    if not query or ("from" not in query and "to" not in query):
        return
    unit = dt.timedelta(weeks=1) if query.get("group_by") == "week" else dt.timedelta(days=1)
    most = unit * MAX_BUCKETS if query.get("group_by") in (None, "day", "week") else None
    now = dt.datetime.now(dt.timezone.utc)
    start = _parse(query["from"], False) if "from" in query else None
    end = _parse(query["to"], True) if "to" in query else None
    try:
        end_ = end or now
        start_ = start or end_ - dt.timedelta(days=30)
        fine = start_ + dt.timedelta(days=2) <= end_ and (most is None or end_ - start_ <= most)
        if fine:
            return
        if start is not None and start.year < 9000:
            query["to"] = _iso(start + dt.timedelta(days=10))
        elif end is not None and end.year > 10:
            query["from"] = _iso(end - dt.timedelta(days=12))
            query["to"] = _iso(end)
        else:
            query.pop("from", None)
            query.pop("to", None)
    except OverflowError:
        query.pop("from", None)
        query.pop("to", None)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _hours_do_not_overlap(hours) -> None:
    """Each interval starts before it ends (and before 24:00); a day's
    intervals do not overlap; the week keeps at least one."""
    for day in DAYS:
        intervals = hours.get(day)
        if not isinstance(intervals, list):
            continue
        kept, last_end = [], -1
        for start, end in sorted(intervals, key=lambda i: (_minutes(i[0]), _minutes(i[1]))):
            s, e = _minutes(start), _minutes(end)
            if s < e and s < 24 * 60 and s >= last_end:
                kept.append([start, end])
                last_end = e
        hours[day] = kept
    if not any(hours.get(day) for day in DAYS):
        hours["mon"] = [["09:00", "18:00"]]
