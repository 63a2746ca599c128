"""Quiet hours: at night a small IT team is woken for critical alerts only; every other group waits
(it is not dropped) and goes out when the quiet hours end."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .settings import QuietHours


def is_quiet(q: QuietHours | None, now: float, tz: str) -> bool:
    if q is None:
        return False
    local = datetime.fromtimestamp(now, ZoneInfo(tz))
    m = local.hour * 60 + local.minute
    if q.start < q.end:
        return q.start <= m < q.end
    return m >= q.start or m < q.end  # across midnight (22:00 → 06:30)


def quiet_ends(q: QuietHours, now: float, tz: str) -> float:
    """When the quiet period holding ``now`` ends (epoch seconds)."""
    local = datetime.fromtimestamp(now, ZoneInfo(tz))
    end = local.replace(hour=q.end // 60, minute=q.end % 60, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.timestamp()
