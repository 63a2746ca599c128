"""The bus between the sensor and the store: in-process (the embedded default) or Kafka.

    bus = open_bus(config, counters, sink=store.writer(counters))   # KafkaBus if config has kafka:
    bus.add_records(records); bus.add_alerts(alerts); bus.flush(); bus.close()

On the Kafka side, ``wardwatch writer`` (``consumer.BusWriter``) reads the topics into the store.
See docs/BUS.md for topics, message format, delivery guarantees and deduplication.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .envelope import SCHEMA_VERSION, Poison
from .inprocess import InProcessBus, Sink
from .settings import BusSettings, bus_settings, parse_bus_settings

if TYPE_CHECKING:
    from wardwatch.config import Config
    from wardwatch.counters import Counters

    from .producer import KafkaBus

__all__ = [
    "SCHEMA_VERSION",
    "BusSettings",
    "InProcessBus",
    "Poison",
    "Sink",
    "bus_settings",
    "open_bus",
    "parse_bus_settings",
]


def open_bus(config: Config, counters: Counters, sink: Sink | None = None) -> InProcessBus | KafkaBus:
    """The configured bus: Kafka when the config has a ``kafka:`` section, else ``sink`` directly."""
    settings = bus_settings(config)
    if settings is not None:
        from .producer import KafkaBus

        return KafkaBus(settings, counters)
    if sink is None:
        raise ValueError("the in-process bus needs the store writer as its sink")
    return InProcessBus(sink)
