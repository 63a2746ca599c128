"""Sigma 2 correlation rules over the stream of base-rule matches: ``event_count``, ``value_count``,
``temporal`` and ``temporal_ordered``, grouped by ``group-by`` fields, within ``timespan``.

Matches are buffered and released in timestamp order once the input has moved ``lateness`` seconds
past them, so events that arrive out of order by at most that much are counted as if in order. An
event later than that is dropped and counted (``late``).

Windows slide: a ``gt``/``gte`` condition fires on the event that makes it true within the last
``timespan`` seconds, then that group starts afresh (one alert per crossing, not one per event after).
Conditions that can only be judged once a window is over (``lt``, ``lte``, ``eq``, ``neq``) use a
window that opens at a group's first event and is judged when the input passes its end.

Memory is bounded: a group keeps at most the threshold's worth of timestamps or values, and each rule
keeps at most ``max_groups`` groups (the oldest are evicted and counted).
"""

from __future__ import annotations

import heapq
import operator
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wardwatch.sigmarules.values import text

from wardwatch.counters import Counters

Key = tuple[str | None, ...]

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}
RISING = ("gt", "gte")


@dataclass
class CorrelationSpec:
    """A compiled correlation rule. ``rules`` are base-rule keys in the rule's order; ``group_by``
    gives, per base rule, the record fields that make the group key (aliases resolved)."""

    key: str
    type: str  # event_count | value_count | temporal | temporal_ordered
    rules: tuple[str, ...]
    group_by: dict[str, tuple[str, ...]]
    group_names: tuple[str, ...]
    timespan: float
    op: str = "gte"
    count: float = 1
    value_field: dict[str, str] = field(default_factory=dict)  # value_count: per base rule
    extended: Callable[[set[str]], bool] | None = None  # temporal: boolean over the rules seen


@dataclass
class Fired:
    spec: CorrelationSpec
    key: Key
    ts: float
    first_seen: float
    count: int
    record: dict[str, Any]  # the event that completed the condition (or the window's last)
    rules_seen: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    extra: Any = None  # what the caller passed with that event


class _Group:
    __slots__ = ("times", "values", "seen", "starts", "start", "count", "first", "last", "extra")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.values: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.starts: list[float | None] = []
        self.start = 0.0
        self.count = 0
        self.first = 0.0
        self.last: dict[str, Any] = {}
        self.extra: Any = None


class Correlator:
    def __init__(
        self,
        specs: list[CorrelationSpec],
        lateness: float = 10.0,
        max_groups: int = 100_000,
        counters: Counters | None = None,
    ) -> None:
        self.specs = specs
        self.lateness = lateness
        self.max_groups = max_groups
        self.counters = counters if counters is not None else Counters()
        self.by_rule: dict[str, list[CorrelationSpec]] = {}
        for s in specs:
            for r in dict.fromkeys(s.rules):
                self.by_rule.setdefault(r, []).append(s)
        self.groups: dict[str, dict[Key, _Group]] = {s.key: {} for s in specs}
        self._heap: list[tuple[float, int, str, dict[str, Any], Any]] = []
        self._seq = 0
        self.watermark = float("-inf")  # the newest event time seen
        self.released = float("-inf")  # events at or before this time have been processed

    def wants(self, rule_key: str) -> bool:
        return rule_key in self.by_rule

    def add(self, rule_key: str, ts: float, record: dict[str, Any], extra: Any = None) -> None:
        """A base rule matched ``record`` at ``ts``; ``extra`` comes back with an alert it completes."""
        if ts < self.released:
            self.counters.add("sigma.correlation.late", 1)
            return
        self._seq += 1
        heapq.heappush(self._heap, (ts, self._seq, rule_key, record, extra))
        if ts > self.watermark:
            self.watermark = ts

    def advance(self, now: float) -> list[Fired]:
        """The input has reached ``now``: process what can no longer be overtaken."""
        if now > self.watermark:
            self.watermark = now
        return self._release(self.watermark - self.lateness)

    def flush(self) -> list[Fired]:
        out = self._release(float("inf"))
        for spec in self.specs:
            if spec.op not in RISING and spec.type in ("event_count", "value_count"):
                for key, g in list(self.groups[spec.key].items()):
                    out += self._judge(spec, key, g)
                self.groups[spec.key].clear()
        return out

    # -- internals -------------------------------------------------------------------------------
    def _release(self, upto: float) -> list[Fired]:
        out: list[Fired] = []
        heap = self._heap
        while heap and heap[0][0] <= upto:
            ts, _, rule_key, record, extra = heapq.heappop(heap)
            if ts > self.released:
                self.released = ts
            for spec in self.by_rule[rule_key]:
                for f in self._event(spec, rule_key, ts, record, extra):
                    out.append(f)
        if upto > self.released:
            self.released = upto
        if upto != float("inf"):
            out += self._close_windows(upto)
        return out

    def _group(self, spec: CorrelationSpec, key: Key) -> _Group:
        groups = self.groups[spec.key]
        g = groups.get(key)
        if g is None:
            if len(groups) >= self.max_groups:
                oldest = next(iter(groups))
                del groups[oldest]
                self.counters.add("sigma.correlation.groups_evicted", 1)
            g = groups[key] = _Group()
            if spec.type == "temporal_ordered":
                g.starts = [None] * len(spec.rules)
        return g

    def _event(
        self, spec: CorrelationSpec, rule_key: str, ts: float, record: dict[str, Any], extra: Any
    ) -> list[Fired]:
        key: Key = tuple(text(record.get(f)) for f in spec.group_by[rule_key])
        g = self._group(spec, key)
        span = spec.timespan
        kind = spec.type
        if kind == "event_count":
            if spec.op in RISING:
                need = _need(spec)
                t = g.times
                t.append(ts)
                while t and t[0] < ts - span:
                    t.popleft()
                while len(t) > need:
                    t.popleft()
                if len(t) >= need:
                    fired = Fired(spec, key, ts, t[0], len(t), record, extra=extra)
                    del self.groups[spec.key][key]
                    return [fired]
                return []
            out = self._roll_window(spec, key, g, ts)
            g = self._group(spec, key)
            if g.count == 0:
                g.start = g.first = ts
            g.count += 1
            g.last, g.extra = record, extra
            return out
        if kind == "value_count":
            v = text(record.get(spec.value_field[rule_key]))
            if spec.op in RISING:
                if v is None:
                    return []
                vals = g.values
                vals.pop(v, None)
                vals[v] = ts
                while vals:
                    oldest = next(iter(vals))
                    if vals[oldest] >= ts - span:
                        break
                    del vals[oldest]
                need = _need(spec)
                if len(vals) >= need:
                    first = min(vals.values())
                    fired = Fired(spec, key, ts, first, len(vals), record, values=tuple(vals), extra=extra)
                    del self.groups[spec.key][key]
                    return [fired]
                return []
            out = self._roll_window(spec, key, g, ts)
            g = self._group(spec, key)
            if not g.values and g.count == 0:
                g.start = g.first = ts
            g.count += 1
            if v is not None:
                g.values[v] = ts
            g.last, g.extra = record, extra
            return out
        if kind == "temporal":
            seen = g.seen
            seen[rule_key] = ts
            for r in [r for r, t in seen.items() if t < ts - span]:
                del seen[r]
            ok = (
                spec.extended(set(seen)) if spec.extended is not None else OPS[spec.op](len(seen), spec.count)
            )
            if ok:
                fired = Fired(
                    spec, key, ts, min(seen.values()), len(seen), record, rules_seen=tuple(seen), extra=extra
                )
                del self.groups[spec.key][key]
                return [fired]
            return []
        # temporal_ordered: starts[i] is the latest start time of an in-order chain rules[0..i]
        starts = g.starts
        for pos in reversed([i for i, r in enumerate(spec.rules) if r == rule_key]):
            if pos == 0:
                starts[0] = ts
            else:
                prev = starts[pos - 1]
                if prev is not None and prev >= ts - span:
                    cur = starts[pos]
                    starts[pos] = prev if cur is None else max(cur, prev)
        last = starts[-1]
        if last is not None and ts - last <= span:
            fired = Fired(spec, key, ts, last, len(spec.rules), record, rules_seen=spec.rules, extra=extra)
            del self.groups[spec.key][key]
            return [fired]
        return []

    def _roll_window(self, spec: CorrelationSpec, key: Key, g: _Group, ts: float) -> list[Fired]:
        """Judge and reset a group's fixed window when ``ts`` falls after it."""
        if g.count and ts > g.start + spec.timespan:
            out = self._judge(spec, key, g)
            self.groups[spec.key].pop(key, None)
            return out
        return []

    def _close_windows(self, upto: float) -> list[Fired]:
        out: list[Fired] = []
        for spec in self.specs:
            if spec.op in RISING or spec.type not in ("event_count", "value_count"):
                continue
            groups = self.groups[spec.key]
            for key in [k for k, g in groups.items() if g.count and upto > g.start + spec.timespan]:
                out += self._judge(spec, key, groups.pop(key))
        return out

    def _judge(self, spec: CorrelationSpec, key: Key, g: _Group) -> list[Fired]:
        n = g.count if spec.type == "event_count" else len(g.values)
        if g.count and OPS[spec.op](n, spec.count):
            return [Fired(spec, key, g.start, g.first, n, g.last, values=tuple(g.values), extra=g.extra)]
        return []


def _need(spec: CorrelationSpec) -> int:
    """Smallest count that satisfies a rising condition."""
    c = spec.count
    if spec.op == "gte":
        return max(1, int(-(-c // 1)))
    return int(c // 1) + 1
