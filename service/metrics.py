"""Prometheus ``/metrics`` of the service, read from the counters and the writer at scrape time (no
second bookkeeping), plus the one histogram that must be observed as it happens: the store's insert
latency (``TimedBackend``, wrapped around the store's backend before the writer is made).

    wardwatch_packets_total                         packets read (live or replayed)
    wardwatch_kernel_drops_total{interface}         kernel and ring drops (``capture.kernel_drops.<if>``)
    wardwatch_records_total                         records the sensor produced
    wardwatch_stored_rows_total{table,segment}      rows the store accepted, per log (and alerts) and segment
    wardwatch_alerts_total{category}                alerts the detectors raised
    wardwatch_store_insert_seconds                  histogram of one insert's time
    wardwatch_bus_spooled_messages                  Kafka: messages the broker has not acknowledged
    wardwatch_feed_age_seconds{feed}                since each feed's last good copy was fetched
    wardwatch_behaviour_evictions_total{detector}   hosts the behavioural detectors' bounded tables let go
    wardwatch_events_total{name}                    every other counter (drops by reason, flow evictions…)
    wardwatch_uptime_seconds, wardwatch_last_packet_age_seconds, wardwatch_reloads_total{result}
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from .runner import Service

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
KERNEL_DROPS = "capture.kernel_drops."  # + interface: the live sensor's cumulative kernel drop counts
INTERFACE_PACKETS = "capture.received."  # + interface: packets the kernel received on it


def per_interface(counters: dict[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in counters.items() if k.startswith(prefix)}


class TimedBackend:
    """The store's backend, with every insert timed into ``histogram`` (all else passed through)."""

    def __init__(self, backend: Any, histogram: Histogram) -> None:
        self._backend = backend
        self._histogram = histogram

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def insert(self, batch: Any) -> None:
        with self._histogram.time():
            self._backend.insert(batch)

    def insert_select(self, *args: Any, **kw: Any) -> None:
        with self._histogram.time():
            self._backend.insert_select(*args, **kw)


class Metrics:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=False)
        self.insert_seconds = Histogram(
            "wardwatch_store_insert_seconds",
            "Time of one insert into the store",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.registry.register(self)  # type: ignore[arg-type]

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        s = self.service
        counters = dict(s.counters)  # a copy in one step: the capture thread keeps counting
        now = time.time()
        yield GaugeMetricFamily(
            "wardwatch_uptime_seconds", "Seconds since the service started", now - s.started
        )
        if s.last_packet:
            yield GaugeMetricFamily(
                "wardwatch_last_packet_age_seconds", "Seconds since packets last arrived", now - s.last_packet
            )
        yield CounterMetricFamily("wardwatch_packets", "Packets read", counters.get("packets.read", 0))
        drops = CounterMetricFamily(
            "wardwatch_kernel_drops", "Packets the kernel or the ring dropped", labels=["interface"]
        )
        for iface, n in sorted(per_interface(counters, KERNEL_DROPS).items()):
            drops.add_metric([iface], n)
        yield drops
        flow = s.flow
        yield CounterMetricFamily(
            "wardwatch_records", "Records the sensor produced", flow.records if flow else 0
        )
        stored = CounterMetricFamily(
            "wardwatch_stored_rows", "Rows the store accepted", labels=["table", "segment"]
        )
        for (table, seg), n in sorted(dict(getattr(flow.writer, "written", {}) if flow else {}).items()):
            stored.add_metric([table, seg], n)
        yield stored
        alerts = CounterMetricFamily("wardwatch_alerts", "Alerts the detectors raised", labels=["category"])
        for name, n in sorted(counters.items()):
            if name.startswith("alerts.") and name.count(".") == 1 and name not in _ALERT_BOOKKEEPING:
                alerts.add_metric([name[7:]], n)
        yield alerts
        reloads = CounterMetricFamily("wardwatch_reloads", "Config and feed reloads", labels=["result"])
        for result in ("applied", "refused", "feeds"):
            reloads.add_metric([result], counters.get(f"service.reload_{result}", 0))
        yield reloads
        spooled = s.bus_spooled()
        if spooled is not None:
            yield GaugeMetricFamily(
                "wardwatch_bus_spooled_messages", "Messages the Kafka broker has not acknowledged", spooled
            )
        ages = GaugeMetricFamily(
            "wardwatch_feed_age_seconds", "Seconds since the feed's last good copy", labels=["feed"]
        )
        for name, age in sorted(s.feed_ages().items()):
            if age is not None:
                ages.add_metric([name], age)
        yield ages
        evicted = CounterMetricFamily(
            "wardwatch_behaviour_evictions",
            "Hosts a behavioural detector's bounded table let go (this engine's, since the last reload)",
            labels=["detector"],
        )
        for d in list(getattr(flow.engine, "detectors", ()) if flow else ()):
            if callable(getattr(d, "evicted", None)):
                evicted.add_metric([str(getattr(d, "name", type(d).__name__))], d.evicted())
        yield evicted
        events = CounterMetricFamily("wardwatch_events", "Every other counter, by name", labels=["name"])
        for name, n in sorted(counters.items()):
            events.add_metric([name], n)
        yield events


_ALERT_BOOKKEEPING = frozenset({"alerts.suppressed", "alerts.merged", "alerts.duplicate_evidence"})
