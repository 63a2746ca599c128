"""The bus between the sensors and the store, for the distributed setup: Kafka. The embedded default
has no bus: ``cli/pipeline.py`` hands records and alerts to the store writer directly, and with a
``kafka:`` section it hands them to ``remote.BusStore`` (the producer, ``producer.KafkaBus``) instead.

On the Kafka side, ``wardwatch writer`` (``wardwatch.store.consumer.BusWriter``) reads the topics into
the store.
See docs/BUS.md for topics, message format, delivery guarantees and deduplication.
"""

from __future__ import annotations

from .envelope import SCHEMA_VERSION, Poison
from .settings import BusSettings, bus_settings, parse_bus_settings

__all__ = [
    "SCHEMA_VERSION",
    "BusSettings",
    "Poison",
    "bus_settings",
    "parse_bus_settings",
]

