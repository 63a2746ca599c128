"""Records → detectors → store, one batch at a time: the step ``wardwatch run`` and ``wardwatch serve``
share (``cli/pipeline.py`` drives it over capture files once; the service drives it forever).

    flow = Flow(engine, open_writer(store, counters))
    for records in source:
        flow.step(records)
    flow.finish()              # the engine's held-back alerts, then every pending row, stored

Between two steps the service may ``swap`` in a new engine (a reloaded config or feed index): the old
one's held-back alerts are stored and its behaviour state saved before the new one is built from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wardwatch.store import Writer

from wardwatch.config import Config
from wardwatch.counters import Counters


def feed_index(config: Config) -> Any:
    """The indicator index of the config's feeds and allow-list (None when it has neither)."""
    if not (config.feeds or config.allowlist.entries or config.allowlist.sources):
        return None
    from wardwatch.threatfeeds import load_index

    return load_index(config)


def open_writer(store: Any, counters: Counters) -> Any:
    """The store's writer, inserting on its own thread and at least every ``store.flush_seconds``
    (the Kafka bus stands in for a writer and batches by itself)."""
    writer = store.writer(counters, background=True)
    if isinstance(writer, Writer):
        writer.flush_seconds = store.settings.flush_seconds
    return writer


class Flow:
    def __init__(self, engine: Any, writer: Any) -> None:
        self.engine = engine  # a detectors.Engine, or None: records only
        self.writer = writer
        self.records = 0  # what the sensor produced
        self.alerts = 0  # what the detectors produced
        self.store_seconds = 0.0  # the caller's time in the writer (grouping, Arrow, waiting)
        self.watchdogs: list[Any] = []  # coverage watchdogs: ``observe(records, now)``, ``tick(…)``
        # on-call hand-over (``early``): alerts of these severities go to ``hand`` as they are made,
        # before the merge window and the writer's flush that stand between them and the store
        self.urgent: frozenset[str] = frozenset()
        self.hand: Callable[[list[Any]], None] | None = None

    def early(self, severities: frozenset[str], hand: Callable[[list[Any]], None]) -> None:
        """Hand alerts of ``severities`` to ``hand`` as soon as they exist (the service's notifier)."""
        self.urgent, self.hand = severities, hand
        if self.engine is not None:
            self.engine.announce(severities)

    def _hand(self, alerts: list[Any]) -> None:
        if self.hand is None:
            return
        urgent = [a for a in alerts if a.severity in self.urgent]
        if urgent:
            self.hand(urgent)

    def step(self, records: list[dict[str, Any]]) -> None:
        """One batch (possibly empty: the writer's time-bounded flush is checked either way)."""
        self.records += len(records)
        alerts = self.engine.process(records) if self.engine is not None and records else []
        if self.hand is not None and self.engine is not None:
            self._hand(self.engine.take_opened())
        if records and self.watchdogs:
            now = time.time()
            for w in self.watchdogs:
                w.observe(records, now)
        t = time.perf_counter()
        self.writer.add_records(records)
        self.store_alerts(alerts)
        self.store_seconds += time.perf_counter() - t

    def store_alerts(self, alerts: list[Any]) -> None:
        if alerts:
            self.alerts += len(alerts)
            self.writer.add_alerts(alerts)
            self._hand(alerts)  # those never held (coverage, flushed windows); known ones are skipped

    def tick(
        self,
        now: float,
        drops: dict[str, int],
        packets: dict[str, int],
        shed: dict[str, dict[str, int]] | None = None,
    ) -> None:
        """The clock-driven work between batches: coverage alerts, behaviour state saved when due."""
        for w in self.watchdogs:
            self.store_alerts(w.tick(now, drops=drops, packets=packets, shed=shed))
        from wardwatch.detectors.behaviour.persist import Persisting

        for d in getattr(self.engine, "detectors", ()):
            if isinstance(d, Persisting):
                d.tick()  # saves its state when ``save_every`` has passed

    def swap(self, make: Callable[[], Any]) -> None:
        """Flush the engine in use into the store (its behaviour detectors save their state), then
        take the one ``make`` builds, which restores that state. Should ``make`` fail, the old engine,
        flushed but whole, stays."""
        if self.engine is not None:
            self.store_alerts(self.engine.flush())
        self.engine = make()
        if self.engine is not None and self.hand is not None:
            self.engine.announce(self.urgent)

    def finish(self) -> None:
        """Every held-back alert and pending row into the store; returns once they are stored."""
        tail = self.engine.flush() if self.engine is not None else []
        t = time.perf_counter()
        self.store_alerts(tail)
        self.writer.flush()
        self.store_seconds += time.perf_counter() - t
