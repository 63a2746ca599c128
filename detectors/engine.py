"""The detection engine: records in, alerts out. It resolves each address once (segment, zone, feed
and OTT hits, cached), runs every enabled detector over the batch, and passes the alerts through
suppression and merging.

Usage::

    engine = Engine.from_config(config, index)   # index: threatfeeds FeedIndex or None
    for records in sense(paths, counters):
        emit(engine.process(records))
    emit(engine.flush())

Later detectors (behavioural ones, Sigma) plug in with ``engine.add(detector)``: any object with
``name`` and ``detect(batch) -> list[Alert]``, optionally ``annotate(ip_info)`` (or
``annotate_many(ip_infos)``, called once per group of new addresses) and ``flush()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from wardwatch.detectors.sigma_detector import SigmaDetector
from wardwatch.threatfeeds import FeedIndex

from wardwatch.alerts import Alert
from wardwatch.config import Config
from wardwatch.counters import Counters
from wardwatch.segments import IpInfo

from .base import Batch, Detector
from .behaviour import build_behaviour
from .feedmatch import FeedMatcher
from .hits import Hit
from .noise import Merger
from .policy import (
    AirgapDetector,
    DnsBypassDetector,
    OttDetector,
    PlaintextDetector,
    RemoteAccessDetector,
    SegmentationDetector,
    WeakPasswordDetector,
)
from .settings import Settings, load_settings


def build_detectors(settings: Settings, index: FeedIndex | None) -> list[Any]:
    """Every detector of this package that the settings enable, in a fixed order."""
    # direct port-53 traffic is a bypass only when something says which resolver is the hospital's
    direct = bool(settings.resolvers) or len(settings.segments) > 0
    makers: dict[str, Callable[[], Any]] = {}
    if index is not None:
        makers["feedmatch"] = lambda: FeedMatcher(index)
    makers.update(
        remote_access=RemoteAccessDetector,
        ott=lambda: OttDetector(settings.ott_zones),
        plaintext=lambda: PlaintextDetector(settings.anonymous),
        weak_password=WeakPasswordDetector,
        segmentation=lambda: SegmentationDetector(settings.zones, settings.seg_services),
        airgap=AirgapDetector,
        dns_bypass=lambda: DnsBypassDetector(
            settings.resolvers, settings.dns_exempt_zones, settings.extra_doh, direct
        ),
    )
    return [make() for name, make in makers.items() if settings.enabled.get(name, True)]


class Engine:
    def __init__(
        self,
        settings: Settings,
        detectors: Sequence[Any] = (),
        counters: Counters | None = None,
    ) -> None:
        self.settings = settings
        self.counters = counters if counters is not None else Counters()
        self.segments = settings.segments
        self.detectors: list[Any] = []
        self.merger = Merger(settings.window, settings.suppress, self.counters)
        if settings.resolvers:
            self.segments.bulk_annotators.append(self._mark_resolvers)
        for d in detectors:
            self.add(d)

    @classmethod
    def from_config(
        cls, config: Config, index: FeedIndex | None = None, counters: Counters | None = None
    ) -> Engine:
        settings = load_settings(config)
        engine = cls(settings, build_detectors(settings, index), counters)
        for detector in build_behaviour(config):
            engine.add(detector)
        sigma = SigmaDetector.from_config(config, engine.counters, settings.resolvers)
        if sigma.settings.enabled:
            engine.add(sigma)
        return engine

    def add(self, detector: Detector) -> None:
        if not isinstance(detector, Detector):
            raise TypeError(f"{detector!r} has no name/detect(batch)")
        self.detectors.append(detector)
        bulk = getattr(detector, "annotate_many", None)
        hook = getattr(detector, "annotate", None)
        if bulk is not None:
            self.segments.bulk_annotators.append(bulk)
        elif hook is not None:
            self.segments.annotators.append(hook)

    def _mark_resolvers(self, infos: list[IpInfo]) -> None:
        # a group at a time: a flood brings 50,000 new addresses a batch, a handful of them resolvers
        resolvers = self.settings.resolvers
        for info in infos:
            info.resolver = info.ip in resolvers

    def info(self, ip: str) -> IpInfo:
        return self.segments.info(ip)

    def detect(self, records: Sequence[dict[str, Any]]) -> list[Alert]:
        """Raw alerts of one batch, before suppression and merging."""
        batch = Batch(records, self.segments.info, self.segments.cache, self.segments.resolve)
        out: list[Alert] = []
        for d in self.detectors:
            out += d.detect(batch)
        return out

    def _raw(self, batch: Batch) -> list[Alert | Hit]:
        # ``hits`` where a detector has it: findings the merger builds only if it keeps them
        raw: list[Alert | Hit] = []
        for d in self.detectors:
            hits = getattr(d, "hits", None)
            raw += hits(batch) if hits is not None else d.detect(batch)
        return raw

    def process(self, records: Sequence[dict[str, Any]]) -> list[Alert]:
        """Feed one batch; returns the alerts whose merge window has closed."""
        if not records:
            return []
        batch = Batch(records, self.segments.info, self.segments.cache, self.segments.resolve)
        self.counters.add("detect.records", len(records))
        raw = self._raw(batch)
        self.counters.add("detect.raw_alerts", len(raw))
        out = self.merger.add(raw)
        out += self.merger.expire(batch.ts_max)
        return self._emit(out)

    def announce(self, severities: frozenset[str]) -> None:
        """Announce alerts of these severities as their merge window opens (``take_opened``), for
        on-call notification that cannot wait for the window to close (detectors/noise.py)."""
        self.merger.announce = severities

    def take_opened(self) -> list[Alert]:
        """The alerts announced since the last call (their windows still open)."""
        return self.merger.take_opened()

    def flush(self) -> list[Alert]:
        raw: list[Alert] = []
        for d in self.detectors:
            f = getattr(d, "flush", None)
            if f is not None:
                raw += f()
        out = self.merger.add(raw)
        out += self.merger.flush()
        return self._emit(out)

    def _emit(self, alerts: list[Alert]) -> list[Alert]:
        alerts.sort(key=lambda a: (a.ts, a.uid))
        for a in alerts:
            self.counters.add(f"alerts.{a.category}", 1)
        return alerts
