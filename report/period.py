"""The week a report covers: ISO weeks (``2026-W49``) or dates (``--from``/``--to``, the end day
included), in the report's time zone; the week before, for the changes. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from wardwatch.errors import UsageError

_WEEK = re.compile(r"(\d{4})-W(\d{1,2})")


class PeriodError(UsageError, ValueError):
    """A week or dates that do not parse, or an end before the start."""


@dataclass(frozen=True)
class Period:
    start: float  # epoch seconds, included
    end: float  # epoch seconds, excluded
    first_day: date  # local dates, both included
    last_day: date
    label: str  # "2026-W49" or "2026-12-01 … 2026-12-07"
    timezone: str

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 3600.0

    def before(self) -> Period:
        """The period of the same length just before this one."""
        n = self.days
        first = self.first_day - timedelta(days=n)
        return _make(first, self.first_day - timedelta(days=1), self.timezone, None)


def _midnight(d: date, tz: ZoneInfo) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()


def _make(first: date, last: date, timezone: str, label: str | None) -> Period:
    tz = ZoneInfo(timezone)
    if label is None:
        iso = first.isocalendar()
        if first.weekday() == 0 and (last - first).days == 6:
            label = f"{iso.year}-W{iso.week:02d}"
        else:
            label = f"{first.isoformat()} … {last.isoformat()}"
    return Period(_midnight(first, tz), _midnight(last + timedelta(days=1), tz), first, last, label, timezone)


def iso_week(text: str, timezone: str) -> Period:
    m = _WEEK.fullmatch(text.strip())
    if m is None:
        raise PeriodError(f"expected a week such as 2026-W49, got {text!r}")
    try:
        first = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise PeriodError(f"no such week {text!r}") from None
    return _make(first, first + timedelta(days=6), timezone, None)


def dates(start: str, end: str, timezone: str) -> Period:
    try:
        first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
    except ValueError:
        raise PeriodError(f"expected dates such as 2026-12-01, got {start!r} and {end!r}") from None
    if last < first:
        raise PeriodError(f"--to {end} is before --from {start}")
    if (last - first).days > 366:
        raise PeriodError("a report covers at most a year")
    return _make(first, last, timezone, None)


def last_week(now: float, timezone: str) -> Period:
    """The last complete ISO week before ``now`` (local time)."""
    today = datetime.fromtimestamp(now, ZoneInfo(timezone)).date()
    monday = today - timedelta(days=today.weekday())
    return _make(monday - timedelta(days=7), monday - timedelta(days=1), timezone, None)


def week_of(ts: float, timezone: str) -> Period:
    """The ISO week holding ``ts``."""
    day = datetime.fromtimestamp(ts, ZoneInfo(timezone)).date()
    monday = day - timedelta(days=day.weekday())
    return _make(monday, monday + timedelta(days=6), timezone, None)
