"""The embedded default: the bus is a direct call into the store writer, with the same methods as
``KafkaBus`` so the pipeline does not know which one it feeds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from wardwatch.alerts import Alert


class Sink(Protocol):
    """What both buses feed: the store writer's input methods."""

    def add_records(self, records: Iterable[dict[str, Any]]) -> None: ...

    def add_alerts(self, alerts: Iterable[Alert], retro: bool = False) -> None: ...

    def flush(self) -> None: ...


class InProcessBus:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def add_records(self, records: Iterable[dict[str, Any]]) -> None:
        self.sink.add_records(records)

    def add_alerts(self, alerts: Iterable[Alert], retro: bool = False) -> None:
        self.sink.add_alerts(alerts, retro=retro)

    def flush(self, timeout: float = 0.0) -> bool:
        self.sink.flush()
        return True

    def close(self, timeout: float = 0.0) -> None:
        self.sink.flush()
