"""The store as a sensor that ships to Kafka sees it: ``writer()`` hands out the Kafka bus, so
``pipeline.run_pipeline`` runs unchanged and its output goes to the topics instead of ClickHouse."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardwatch.alerts import Alert
from wardwatch.config import Config
from wardwatch.counters import Counters

from .producer import KafkaBus
from .settings import BusSettings, bus_settings


@dataclass(frozen=True)
class _Where:
    """What ``wardwatch run`` prints as the destination."""

    backend: str
    url: str
    chdb_path: Path | None = None


class KafkaPipelineBus(KafkaBus):
    """``KafkaBus`` with the summary counters ``run_pipeline`` reads from a store writer."""

    def __init__(self, settings: BusSettings, counters: Counters | None = None) -> None:
        super().__init__(settings, counters)
        self.written: Counter[tuple[str, str]] = Counter()  # (topic log, "") → records sent
        self.duplicates: Counter[str] = Counter()
        self.insert_seconds = 0.0  # nothing is inserted here: kafka-python sends on its own thread

    def add_records(self, records: Iterable[dict[str, Any]]) -> None:
        records = list(records)
        for rec in records:
            self.written[(str(rec.get("_path")), "kafka")] += 1
        super().add_records(records)

    def add_alerts(self, alerts: Iterable[Alert], retro: bool = False) -> None:
        alerts = list(alerts)
        self.written[("alerts", "kafka")] += len(alerts)
        super().add_alerts(alerts, retro=retro)

    def flush(self, timeout: float = 60.0) -> bool:
        return super().flush(timeout)


class BusStore:
    def __init__(self, config: Config) -> None:
        settings = bus_settings(config)
        if settings is None:
            raise ValueError("the config has no kafka: section")
        self.bus_settings = settings
        self.settings = _Where("kafka", f"kafka://{settings.bootstrap}")
        self.config = config
        self._buses: list[KafkaPipelineBus] = []

    def writer(self, counters: Counters | None = None, background: bool = False) -> KafkaPipelineBus:
        # ``background`` is moot: kafka-python already sends from a thread of its own
        bus = KafkaPipelineBus(self.bus_settings, counters)
        self._buses.append(bus)
        return bus

    def close(self) -> None:
        for bus in self._buses:
            bus.close()
        self._buses.clear()
