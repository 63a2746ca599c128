"""Noise control: suppression, then merging alerts with the same ``(category, src_ip, indicator)``
within a window into one alert with a count and first/last seen.

Windows are fixed from the first event (not sliding), so a host that keeps doing the same thing gives
one alert per window rather than one alert forever. A window closes once the input has moved
``lag`` seconds past its end: records arrive late (a connection is logged when it ends), and a late
record should still join its window. Events already counted (the same record id, e.g. a record made
twice from duplicated packets) are not counted again.

Holding an alert for its window is right for the store (one row per window, with its count) and wrong
for the on-call engineer, who should hear of a critical alert in seconds, not minutes. With
``announce`` set to severities, a window whose head has one of them is also *announced* as it opens
(or as a merged event raises it to one): ``take_opened`` hands those alerts over at once, and their
uid is pinned from then on (a later event with an earlier timestamp no longer takes the head), so the
row stored when the window closes has the uid the notification carried.
"""

from __future__ import annotations

from collections.abc import Iterable

from wardwatch.alerts import Alert, severity_level
from wardwatch.counters import Counters

from .hits import Hit
from .settings import Suppression, suppressed

DEFAULT_LAG = 120.0


class Merger:
    def __init__(
        self,
        window: float,
        suppress: Iterable[Suppression] = (),
        counters: Counters | None = None,
        lag: float = DEFAULT_LAG,
    ) -> None:
        self.window = window
        self.suppress = tuple(suppress)
        self.counters = counters if counters is not None else Counters()
        self.lag = lag
        self.open: dict[tuple[str, str, str], Alert] = {}
        self.announce: frozenset[str] = frozenset()  # severities announced as their window opens
        self.opened: list[Alert] = []
        self._pinned: set[tuple[str, str, str]] = set()

    def add(self, alerts: Iterable[Alert | Hit]) -> list[Alert]:
        """Take new alerts (or hits, built only when they open a window or would head one: see
        detectors/hits.py); returns those pushed out because a new window began for their key."""
        closed: list[Alert] = []
        for a in alerts:
            if self.suppress and any(suppressed(s, a) for s in self.suppress):
                self.counters.add("alerts.suppressed", 1)
                continue
            key = a.key
            cur = self.open.get(key)
            if isinstance(a, Hit):
                if (
                    cur is not None
                    and not (abs(a.ts - cur.first_seen) >= self.window and a.ts > cur.last_seen)
                    and (a.ts > cur.ts or key in self._pinned)
                ):
                    # it joins the open window and cannot take its head: count it, build nothing
                    if a.rid and a.rid in cur.seen:
                        self.counters.add("alerts.duplicate_evidence", 1)
                        continue
                    if a.rid:
                        cur.seen.add(a.rid)
                    self._absorb(key, cur, 1, a.ts, a.ts, a.severity)
                    self.counters.add("alerts.hits_counted", 1)
                    continue
                a = a.build()
            if cur is None:
                self._start(key, a)
                continue
            if abs(a.ts - cur.first_seen) >= self.window and a.ts > cur.last_seen:
                closed.append(cur)
                self._pinned.discard(key)
                self._start(key, a)
                continue
            self._merge(key, cur, a)
        return closed

    def _start(self, key: tuple[str, str, str], a: Alert) -> None:
        self.open[key] = a
        if a.severity in self.announce:
            self._pinned.add(key)
            self.opened.append(a)

    def take_opened(self) -> list[Alert]:
        """The alerts announced since the last call (the open windows' heads: the same objects, so
        counts may still grow until their windows close)."""
        out, self.opened = self.opened, []
        return out

    def _merge(self, key: tuple[str, str, str], cur: Alert, a: Alert) -> None:
        if a.seen and a.seen <= cur.seen:
            self.counters.add("alerts.duplicate_evidence", 1)
            return
        pinned = key in self._pinned
        head, other = (a, cur) if not pinned and (a.ts, a.uid) < (cur.ts, cur.uid) else (cur, a)
        if head is a:
            # the earliest event heads the alert, so the uid does not depend on arrival order
            self.open[key] = a
        head.seen |= other.seen
        self._absorb(key, head, other.count, other.first_seen, other.last_seen, other.severity)

    def _absorb(
        self, key: tuple[str, str, str], head: Alert, count: int, first: float, last: float, sev: str
    ) -> None:
        """Fold ``count`` events seen from ``first`` to ``last`` at severity ``sev`` into ``head``."""
        head.count += count
        head.first_seen = min(head.first_seen, first)
        head.last_seen = max(head.last_seen, last)
        if severity_level(sev) > severity_level(head.severity):
            head.severity = sev
            if key not in self._pinned and sev in self.announce:
                self._pinned.add(key)
                self.opened.append(head)
        self.counters.add("alerts.merged", 1)

    def expire(self, now: float) -> list[Alert]:
        """Close the windows that ended more than ``lag`` seconds before ``now``."""
        limit = now - self.window - self.lag
        done = [k for k, a in self.open.items() if a.first_seen <= limit]
        self._pinned.difference_update(done)
        return sorted((self.open.pop(k) for k in done), key=lambda a: (a.ts, a.uid))

    def flush(self) -> list[Alert]:
        out = sorted(self.open.values(), key=lambda a: (a.ts, a.uid))
        self.open.clear()
        self._pinned.clear()
        return out
