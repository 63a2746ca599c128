"""The store as a sensor that ships to Kafka sees it: ``writer()`` hands out the Kafka bus, so
``pipeline.run_pipeline`` runs unchanged and its output goes to the topics instead of ClickHouse."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from wardwatch.alerts import Alert
from wardwatch.config import Config
from wardwatch.counters import Counters

from .producer import KafkaBus, _reachable
from .settings import BusSettings, bus_settings
from .spool import _FRAME, Spool


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
        self._closed = False
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

    def _connect(self) -> bool:
        # a closed port is known at once; kafka-python would spend its 10 s bootstrap finding that out
        if self._producer is None and not _reachable(self.settings.bootstrap):
            self.counters.add("bus.connect_failures")
            return False
        return super()._connect()

    def _away(self) -> bool:
        return self._spooling and not _reachable(self.settings.bootstrap)

    def flush(self, timeout: float = 60.0) -> bool:
        # A broker that cannot even be reached gets ``spool_after`` to come back, not a minute: the
        # records are safe in the spool, and `wardwatch run` must say so now rather than after retries.
        return super().flush(min(timeout, self.settings.spool_after) if self._away() else timeout)

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:  # the pipeline and the store both close their writer
            return
        self._closed = True
        super().close(min(timeout, self.settings.spool_after) if self._away() else timeout)


@dataclass(frozen=True)
class Spooled:
    """What waits in the spool for a broker: whole messages, the records they carry, their bytes."""

    dir: Path
    messages: int
    records: int
    bytes: int


def spooled(spool_dir: Path) -> Spooled:
    """Count what ``spool_dir`` holds past its cursor, reading only each frame's small header."""
    sp = Spool(spool_dir, 1 << 62)
    cursor = sp._load_cursor()
    messages = records = 0
    for seg in sp._segments():
        if seg < cursor.segment:
            continue
        path = sp._path(seg)
        with open(path, "rb") as f:
            size = path.stat().st_size
            offset = cursor.offset if seg == cursor.segment else 0
            while offset + _FRAME.size <= size:
                f.seek(offset)
                mlen, vlen = _FRAME.unpack(f.read(_FRAME.size))
                end = offset + _FRAME.size + mlen + vlen
                if end > size:
                    break  # a torn tail: the spool skips it too
                # meta: [topic, partition, key, headers, records, first_ts]; the value is skipped
                with contextlib.suppress(orjson.JSONDecodeError, IndexError, TypeError, ValueError):
                    records += int(orjson.loads(f.read(mlen))[4])
                messages += 1
                offset = end
    return Spooled(spool_dir, messages, records, sp.pending_bytes)


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

    def undelivered(self) -> Spooled:
        """What the broker has not acknowledged and waits in the spool (after ``close``)."""
        return spooled(self.bus_settings.spool_dir)
