"""``beacon``: a host connecting to one destination at regular intervals with regular sizes, scored
like RITA's beacon model (each part in [0, 1], 1 = perfectly regular):

- intervals: Bowley skewness ``1 - |(Q1 + Q3 - 2·Q2) / (Q3 - Q1)|``, dispersion ``1 - MADM / median``
  (MADM: median absolute deviation about the median; relative, so that a 10-minute beacon with a
  minute of jitter scores like a 10-second one with a second), coverage ``(last - first) / observed``
  (how much of the time the detector has seen, up to ``window``, the pair spans);
- sizes (bytes sent by the host): Bowley skewness, ``1 - MADM / 32`` and smallness ``1 - mode / 65535``.

The score is the mean of the interval part and the size part; a pair is reported when both the score
and the interval part reach ``threshold`` with at least ``min_conns`` connections and a median interval
of ``min_interval`` (1 s) or more. DNS and NTP (ports 53, 123) are periodic by design and skipped.

Fast beacons (median interval under ``fast_interval``, 5 s) need a guard against benign polling: at
least ``fast_min_conns`` connections spanning ``fast_span`` (2 min) or more, both scores above
``threshold + fast_margin``, and intervals regular on their own (``ts_madm`` ≥ ``fast_dispersion``): a
poller firing at random every 1-6 s gets skewness and coverage for free, not dispersion. Their coverage is measured against ``fast_span``, not the whole time seen.
"""

from __future__ import annotations

import struct
from array import array
from collections import Counter
from typing import Any

from wardwatch.alerts import Alert
from wardwatch.segments import IpInfo

from ..base import Batch
from ..rules import make_alert
from .options import BeaconOptions
from .persist import Persisting
from .state import Table

SKIP_PORTS = frozenset((53, 123, 5353))


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    n = len(xs)

    def q(p: float) -> float:
        k = (n - 1) * p
        lo = int(k)
        hi = min(lo + 1, n - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)

    return q(0.25), q(0.5), q(0.75)


def bowley(xs: list[float]) -> tuple[float, float]:
    """(Bowley skewness, median) of sorted ``xs``; skewness 0 when the quartiles coincide."""
    q1, q2, q3 = quartiles(xs)
    den = q3 - q1
    return ((q3 + q1 - 2 * q2) / den if den > 0 else 0.0), q2


def madm(xs: list[float], med: float) -> float:
    d = sorted(abs(x - med) for x in xs)
    return quartiles(d)[1]


def beacon_score(
    ts: list[float], sizes: list[float], observed: float, fast: tuple[float, float] | None = None
) -> dict[str, float]:
    """The parts and the score for one pair (``ts`` in any order, ``observed`` the span of time seen).

    ``fast`` = (fast_interval, fast_span): a pair whose median interval is under fast_interval has its
    coverage measured against fast_span instead of ``observed`` (a beacon every 3 s for minutes is
    whole even in a day-long capture)."""
    ts = sorted(ts)
    deltas = sorted(b - a for a, b in zip(ts, ts[1:], strict=False))
    skew, med = bowley(deltas)
    ts_skew = 1 - min(1.0, abs(skew))
    ts_madm = max(0.0, 1 - madm(deltas, med) / med) if med > 0 else 0.0
    if fast is not None and 0 < med < fast[0]:
        observed = min(observed, fast[1]) if observed > 0 else fast[1]
    cover = min(1.0, (ts[-1] - ts[0]) / observed) if observed > 0 else 0.0
    ss = sorted(sizes)
    dskew, dmed = bowley(ss)
    ds_skew = 1 - min(1.0, abs(dskew))
    ds_madm = max(0.0, 1 - madm(ss, dmed) / 32.0)
    mode = Counter(sizes).most_common(1)[0][0]
    ds_small = max(0.0, 1 - mode / 65535.0)
    ts_score = (ts_skew + ts_madm + cover) / 3
    ds_score = (ds_skew + ds_madm + ds_small) / 3
    return {
        "score": (ts_score + ds_score) / 2,
        "ts_score": ts_score,
        "ds_score": ds_score,
        "ts_skew": ts_skew,
        "ts_madm": ts_madm,
        "coverage": cover,
        "ds_skew": ds_skew,
        "ds_madm": ds_madm,
        "ds_smallness": ds_small,
        "interval": med,
    }


# Per pair, one bytearray of packed doubles: checked, alerted, then (ts, size) per connection. With
# 100k hosts the table holds ~200k pairs; a bytearray is not tracked by the garbage collector (an
# object or an array per pair is, and made every full collection walk them all).
HEADER = struct.Struct("dd")
SAMPLE = struct.Struct("dd")
HEAD = HEADER.size
STEP = SAMPLE.size
_EMPTY = HEADER.pack(0.0, float("-inf"))


def samples(v: bytearray) -> tuple[list[float], list[float]]:
    """(times, sizes) of one pair."""
    a = array("d")
    a.frombytes(bytes(v[HEAD:]))
    return a[0::2].tolist(), a[1::2].tolist()


class BeaconDetector(Persisting):
    name = "beacon"

    def __init__(self, opts: BeaconOptions | None = None, max_hosts: int = 200_000) -> None:
        self.o = opts or BeaconOptions()
        self.pairs: Table[str, bytearray] = Table(max_hosts)  # "src dst" → header and samples
        # endpoints of the pairs that have reached min_conns (needed to score them at flush)
        self.ends: dict[str, tuple[IpInfo, IpInfo, Any]] = {}
        self.first = float("inf")
        self.last = float("-inf")

    def evicted(self) -> int:
        return self.pairs.evicted

    def detect(self, batch: Batch) -> list[Alert]:
        o = self.o
        out: list[Alert] = []
        cap = HEAD + STEP * o.max_samples
        half = o.max_samples // 2
        cut = HEAD + STEP * half
        min_len = HEAD + STEP * o.min_conns
        pack = SAMPLE.pack
        outbound = o.outbound_only
        # the LRU table inline (Table.setdefault's logic): this loop runs for every connection
        table = self.pairs
        d, get, touch = table.raw()
        max_keys = table.max_keys
        ends = self.ends
        first, last = self.first, self.last
        for rec, src, dst in batch.each("conn"):
            if dst.broadcast or (outbound and (src.external or not dst.external)):
                continue
            port = rec.get("id.resp_p")
            if port in SKIP_PORTS:
                continue
            ts = rec.get("ts")
            if ts.__class__ is not float:
                continue
            if ts < first:
                first = ts
            if ts > last:
                last = ts
            key = src.ip + " " + dst.ip
            v = get(key)
            if v is None:
                v = d[key] = bytearray(_EMPTY)
                if len(d) > max_keys:
                    ends.pop(table.trim(), None)
            else:
                touch(key)
                if len(v) >= cap:
                    del v[HEAD:cut]  # drop the older half at once: amortised O(1) per connection
                    checked, alerted = HEADER.unpack_from(v)
                    HEADER.pack_into(v, 0, max(0.0, checked - half), alerted)
            size = rec.get("orig_bytes")
            if size.__class__ is not int:
                size = rec.get("orig_ip_bytes", 0)
            v += pack(ts, size if isinstance(size, int) else 0.0)
            if len(v) >= min_len:
                ends[key] = (src, dst, port)
                n = (len(v) - HEAD) // STEP
                if n - HEADER.unpack_from(v)[0] >= max(5, n // 4):
                    self.first, self.last = first, last
                    a = self.check(v, src, dst, port, ts)
                    if a is not None:
                        out.append(a)
        self.first, self.last = first, last
        return out

    def check(self, v: bytearray, src: IpInfo, dst: IpInfo, port: Any, now: float) -> Alert | None:
        o = self.o
        n = (len(v) - HEAD) // STEP
        alerted = HEADER.unpack_from(v)[1]
        HEADER.pack_into(v, 0, float(n), alerted)
        if now - alerted < o.cooldown:
            return None
        observed = min(o.window, self.last - self.first)
        ts, sizes = samples(v)
        s = beacon_score(ts, sizes, observed, (o.fast_interval, o.fast_span))
        bar = o.threshold
        if s["interval"] < o.fast_interval:
            # the fast-polling guard: enough connections over enough time, and a higher bar
            if n < o.fast_min_conns or ts[-1] - ts[0] < o.fast_span or s["ts_madm"] < o.fast_dispersion:
                return None
            bar = min(1.0, bar + o.fast_margin)
        if s["interval"] < o.min_interval or s["score"] < bar or s["ts_score"] < bar:
            return None
        HEADER.pack_into(v, 0, float(n), now)
        ev: dict[str, Any] = {k: round(v, 3) for k, v in s.items()}
        ev.update(log="conn", conns=n, port=port, first=ts[0], last=ts[-1])
        return make_alert(
            "behaviour.beacon", now, src, dst, dst.ip,
            ev, count=n, interval=round(s["interval"]), score=round(s["score"], 2),
        )  # fmt: skip

    def flush(self) -> list[Alert]:
        out = []
        for key, v in self.pairs.items():
            end = self.ends.get(key)
            if end is not None and (len(v) - HEAD) // STEP > HEADER.unpack_from(v)[0]:
                a = self.check(v, *end, SAMPLE.unpack_from(v, len(v) - STEP)[0])
                if a is not None:
                    out.append(a)
        self.save()
        return out
