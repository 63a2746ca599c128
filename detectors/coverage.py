"""The coverage watchdog: a segment or sensor that had traffic and falls silent, a sensor whose
kernel drops pass a threshold, or one that has to stop tracking connections because its state tables
are full, raises an alert of its own (``sensor_silent``, ``sensor_drops``, ``sensor_overload``),
because a dark or half-blind sensor looks exactly like a quiet network.

It is driven by the service's clock, not by the records' times, so it takes ``now`` as an argument
(tests pass a fake clock)::

    watchdog = CoverageWatchdog.from_config(config, counters, sensor="sensor-1")
    watchdog.observe(records, now)                      # after each batch of records
    alerts = watchdog.tick(now, drops={"eth1": 1234},   # every few seconds; cumulative counters
                           packets={"eth1": 9_000_000},
                           shed={"sensor-1": {"flows.evicted": 52_000}})

One alert per silence (or drop) episode: the watch re-arms when traffic comes back (or the drops fall
below the threshold for a window). A segment or sensor that never had traffic never alerts: an unused
segment is not a dark one. Counters: ``coverage.silent``, ``coverage.recovered``, ``coverage.drops``,
``coverage.drops_reset``, ``coverage.overload``. Settings: ``detectors.coverage`` (``settings.CoverageSection``).
"""

from __future__ import annotations

import socket
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wardwatch.alerts import Alert
from wardwatch.config import Config
from wardwatch.counters import Counters
from wardwatch.segments import DEFAULT_CRITICALITY, LOCAL, IpInfo, SegmentInfo, SegmentMap, criticality_level

from .rules import make_alert
from .settings import CoverageSection, load_coverage

# A sensor is not an address: its alerts carry the unspecified one (the store's default for "none").
NO_ADDRESS = "::"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass
class _Watch:
    """What is known about one segment or sensor: when it last had traffic, and whether its silence
    has been reported already."""

    first_seen: float
    last_seen: float
    records: int = 0
    alerted: bool = False


@dataclass
class _Drops:
    """Cumulative counter samples of one sensor within the window, and whether an episode is open."""

    samples: deque[tuple[float, int, int | None]] = field(default_factory=deque)
    alerted: bool = False


def _slide(samples: deque[Any], now: float, window: float) -> None:
    """Keep the newest sample that is at least ``window`` old as the base, and nothing older."""
    while len(samples) > 2 and now - samples[1][0] >= window:
        samples.popleft()


class CoverageWatchdog:
    name = "coverage"

    def __init__(
        self,
        options: CoverageSection | None = None,
        segments: SegmentMap | None = None,
        counters: Counters | None = None,
        sensor: str | None = None,
        first_cidr: Mapping[str, str] | None = None,
    ) -> None:
        self.o = options if options is not None else CoverageSection()
        self.segments = segments if segments is not None else SegmentMap([])
        self.counters = counters if counters is not None else Counters()
        self.sensor = sensor or socket.gethostname()
        watched = self.o.segments
        self.watched: frozenset[str] | None = frozenset(watched) if watched is not None else None
        self._first_cidr = dict(first_cidr or {})
        self.seen_segments: dict[str, _Watch] = {}
        self.seen_sensors: dict[str, _Watch] = {}
        self._drops: dict[str, _Drops] = {}
        self._shed: dict[str, _Drops] = {}
        self._seg_of: dict[str, str | None] = {}  # address → segment name, bounded below

    @classmethod
    def from_config(
        cls, config: Config, counters: Counters | None = None, sensor: str | None = None
    ) -> CoverageWatchdog:
        """``sensor``: this sensor's name (the store's ``store.sensor``; default: the host name)."""
        opts = load_coverage(config)
        rows = []
        first: dict[str, str] = {}
        for s in config.segments:
            rows.append((s.name, s.cidrs, s.zone, criticality_level(s.criticality) or DEFAULT_CRITICALITY))
            first[s.name] = str(s.cidrs[0].network_address)
        return cls(opts, SegmentMap(rows), counters, sensor, first)

    # -- traffic ---------------------------------------------------------------------------------------
    def observe(self, records: Sequence[Mapping[str, Any]], now: float, sensor: str | None = None) -> None:
        """Note the traffic of one batch: the segments of each record's two addresses, and the sensor
        (``sensor``, or this watchdog's own) that produced them."""
        if not self.o.enabled or not records:
            return
        if self.o.sensors:
            self._seen(self.seen_sensors, sensor or self.sensor, now, len(records))
        if not self.segments.segments:
            return
        per: dict[str, int] = {}
        seg_of = self._seg_of
        for r in records:
            for key in ("id.orig_h", "id.resp_h"):
                ip = r.get(key)
                if ip.__class__ is not str:
                    continue
                name = seg_of.get(ip, "")  # "" = not looked up yet; None = outside every segment
                if name == "":
                    if len(seg_of) > 200_000:
                        seg_of.clear()  # bounded memory on a long run with many internet addresses
                    info = self.segments.info(ip)
                    name = seg_of[ip] = info.segment.name if info.segment is not None else None
                if name is not None:
                    per[name] = per.get(name, 0) + 1
        for name, n in per.items():
            if self.watched is None or name in self.watched:
                self._seen(self.seen_segments, name, now, n)

    def _seen(self, table: dict[str, _Watch], key: str, now: float, n: int) -> None:
        w = table.get(key)
        if w is None:
            table[key] = _Watch(now, now, n)
            return
        w.last_seen = max(w.last_seen, now)
        w.records += n
        if w.alerted:
            w.alerted = False  # traffic is back: the next silence is a new episode
            self.counters.add("coverage.recovered")

    # -- the clock -------------------------------------------------------------------------------------
    def tick(
        self,
        now: float,
        drops: Mapping[str, int] | None = None,
        packets: Mapping[str, int] | None = None,
        shed: Mapping[str, Mapping[str, int]] | None = None,
    ) -> list[Alert]:
        """The alerts due at ``now``.

        ``drops``: per sensor or interface, the kernel's cumulative count of packets it dropped since
        the capture started (libpcap's ``ps_drop``, PACKET_STATISTICS summed); ``packets``: the
        cumulative count of packets delivered to wardwatch on the same keys, for the share. A count
        that goes down (the capture was reopened) starts the window over. ``shed``: per sensor, the
        cumulative counts of work it saw but stopped tracking for want of room (by counter name)."""
        if not self.o.enabled:
            return []
        out: list[Alert] = []
        for name, w in self.seen_segments.items():
            if not w.alerted and now - w.last_seen >= self.o.silent_after:
                w.alerted = True
                out.append(self._silent_segment(name, w, now))
        for name, w in self.seen_sensors.items():
            if not w.alerted and now - w.last_seen >= self.o.silent_after:
                w.alerted = True
                out.append(self._silent_sensor(name, w, now))
        self.counters.add("coverage.silent", len(out))
        for name, total in (drops or {}).items():
            a = self._judge_drops(name, now, total, (packets or {}).get(name))
            if a is not None:
                out.append(a)
        for name, counts in (shed or {}).items():
            a = self._judge_overload(name, now, counts)
            if a is not None:
                out.append(a)
        return out

    def _judge_overload(self, name: str, now: float, counts: Mapping[str, int]) -> Alert | None:
        """One ``sensor_overload`` per episode: at least ``overload_min`` shed within the window."""
        if self.o.overload_min <= 0:
            return None
        total = sum(int(v) for v in counts.values())
        d = self._shed.setdefault(name, _Drops())
        s = d.samples
        if s and total < s[-1][1]:
            s.clear()  # the sensor started over (a restart of its workers)
        s.append((now, total, None))
        _slide(s, now, self.o.overload_window)
        t0, base, _ = s[0]
        if len(s) == 1:
            base = 0  # what was shed before the first sample (since the capture started) counts too
        shed_now = total - base
        span = now - t0
        if shed_now < self.o.overload_min:
            if d.alerted and span >= self.o.overload_window:
                d.alerted = False  # a whole window below the threshold: the episode is over
            return None
        if d.alerted:
            return None
        d.alerted = True
        self.counters.add("coverage.overload")
        what = ", ".join(f"{k} {int(v)}" for k, v in sorted(counts.items()) if v)
        evidence = {
            "sensor": name,
            "shed": shed_now,
            "window": round(span, 3),
            "counters": {k: int(v) for k, v in sorted(counts.items())},
            "threshold": {"min": self.o.overload_min, "window": self.o.overload_window},
        }
        sensor = IpInfo(NO_ADDRESS, None, LOCAL, DEFAULT_CRITICALITY, external=False)
        return make_alert(
            "coverage.overload", now, sensor, None, f"sensor:{name}", evidence,
            sensor=name, shed=shed_now, window=int(round(span)), what=what or "-",
        )  # fmt: skip

    def _judge_drops(self, name: str, now: float, total: int, delivered: int | None) -> Alert | None:
        d = self._drops.setdefault(name, _Drops())
        s = d.samples
        if s and (
            total < s[-1][1] or (delivered is not None and s[-1][2] is not None and delivered < s[-1][2])
        ):
            s.clear()  # the counters started over: a new capture, not negative drops
            self.counters.add("coverage.drops_reset")
        s.append((now, int(total), None if delivered is None else int(delivered)))
        _slide(s, now, self.o.drops_window)
        t0, d0, p0 = s[0]
        lost = int(total) - d0
        span = now - t0
        if span <= 0:
            return None
        # a span shorter than the window is judged as if it were a whole window: a fresh sensor does
        # not alert on its first few drops, and a burst still counts in full
        rate = lost / max(span, self.o.drops_window)
        share = None
        if delivered is not None and p0 is not None and lost + delivered - p0 > 0:
            share = lost / (lost + delivered - p0)
        over = lost >= self.o.drops_min and (
            (self.o.drops_rate > 0 and rate >= self.o.drops_rate)
            or (self.o.drops_share > 0 and share is not None and share >= self.o.drops_share)
        )
        if not over:
            if d.alerted and span >= self.o.drops_window:
                d.alerted = False  # a whole window below the threshold: the episode is over
            return None
        if d.alerted:
            return None
        d.alerted = True
        self.counters.add("coverage.drops")
        sensor = IpInfo(NO_ADDRESS, None, LOCAL, DEFAULT_CRITICALITY, external=False)
        evidence = {
            "sensor": name,
            "drops": lost,
            "window": round(span, 3),
            "rate": round(rate, 3),
            "share": None if share is None else round(share, 6),
            "drops_total": int(total),
            "threshold": {"rate": self.o.drops_rate, "share": self.o.drops_share, "min": self.o.drops_min},
        }
        return make_alert(
            "coverage.drops", now, sensor, None, f"sensor:{name}", evidence,
            sensor=name, drops=lost, window=int(round(span)), rate=f"{rate:.1f}",
            share="?" if share is None else f"{share:.2%}",
        )  # fmt: skip

    # -- the alerts ------------------------------------------------------------------------------------
    def _silent_segment(self, name: str, w: _Watch, now: float) -> Alert:
        seg = self.segments.segments.get(name) or SegmentInfo(name, None, DEFAULT_CRITICALITY)
        src = IpInfo(
            self._first_cidr.get(name, NO_ADDRESS),
            seg,
            seg.zone or LOCAL,
            seg.criticality,
            external=False,
        )
        return make_alert(
            "coverage.silent.segment", now, src, None, f"segment:{name}", self._evidence(w, now),
            segment=name, last_seen=_iso(w.last_seen), silent_min=int((now - w.last_seen) // 60),
        )  # fmt: skip

    def _silent_sensor(self, name: str, w: _Watch, now: float) -> Alert:
        src = IpInfo(NO_ADDRESS, None, LOCAL, DEFAULT_CRITICALITY, external=False)
        return make_alert(
            "coverage.silent.sensor", now, src, None, f"sensor:{name}",
            {"sensor": name, **self._evidence(w, now)},
            sensor=name, last_seen=_iso(w.last_seen), silent_min=int((now - w.last_seen) // 60),
        )  # fmt: skip

    def _evidence(self, w: _Watch, now: float) -> dict[str, Any]:
        return {
            "first_seen": _iso(w.first_seen),
            "last_seen": _iso(w.last_seen),
            "silent_for": round(now - w.last_seen, 3),
            "silent_after": self.o.silent_after,
            "records_before": w.records,
        }

    def silent(self) -> Iterable[str]:
        """What is dark right now (``segment:NAME``, ``sensor:NAME``), for /healthz and doctor."""
        yield from (f"segment:{k}" for k, w in self.seen_segments.items() if w.alerted)
        yield from (f"sensor:{k}" for k, w in self.seen_sensors.items() if w.alerted)
