"""Topic names, message keys and partitions, and creating the topics when they are missing.

One topic per record log (``<prefix>.dns`` … ``<prefix>.login``), one for alerts and one dead-letter
topic. A record's key is its originator address (an alert's: its source address) and its partition is
Kafka's own default for that key (murmur2, as the Java client computes it), so one host's records stay
in order on one partition whichever client produced them.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from kafka.partitioner.default import murmur2

from .settings import BusSettings

LOGS = ("dns", "conn", "tls", "http", "login")
ALERTS = "alerts"
DEAD_LETTER = "deadletter"
log = logging.getLogger(__name__)


def topic(settings: BusSettings, name: str) -> str:
    """``dns`` → ``wardwatch.dns``; ``alerts``, ``deadletter`` likewise."""
    return f"{settings.topic_prefix}.{name}"


def all_topics(settings: BusSettings) -> list[str]:
    return [topic(settings, n) for n in (*LOGS, ALERTS, DEAD_LETTER)]


def log_of(settings: BusSettings, topic_name: str) -> str | None:
    """``wardwatch.dns`` → ``dns`` (``alerts``/``deadletter`` too); ``None`` for a foreign topic."""
    head = settings.topic_prefix + "."
    if not topic_name.startswith(head):
        return None
    name = topic_name[len(head) :]
    return name if name in (*LOGS, ALERTS, DEAD_LETTER) else None


def record_key(record: dict[str, Any]) -> bytes:
    """The host a record belongs to: its originator (records) or source (alerts) address."""
    host = record.get("id.orig_h") or record.get("src_ip") or ""
    return str(host).encode()


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partition of ``key`` (murmur2, positive, modulo the partition count)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def ensure_topics(settings: BusSettings, admin: Any | None = None) -> list[str]:
    """Create the bus topics that do not exist yet (partitions, replication, min ISR from the
    settings); existing topics are left as they are. Returns the names created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    own = admin is None
    # 10 s, not kafka-python's 30 s, to find a broker: a sensor whose broker is away (or refuses its
    # TLS) spools meanwhile and tries again later
    admin = admin or KafkaAdminClient(
        **settings.client_options(), client_id="wardwatch-admin", bootstrap_timeout_ms=10_000
    )
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in all_topics(settings) if t not in existing]
        if not wanted:
            return []
        configs = {
            "min.insync.replicas": str(settings.min_insync_replicas),
            # messages up to our own limit, with room for the broker's batch overhead
            "max.message.bytes": str(settings.max_message_bytes + 65536),
        }
        new = [NewTopic(t, settings.partitions, settings.replication, topic_configs=configs) for t in wanted]
        with contextlib.suppress(TopicAlreadyExistsError):  # another sensor or writer won the race
            admin.create_topics(new)
        log.info("created Kafka topics %s", ", ".join(wanted))
        return wanted
    finally:
        if own:
            admin.close()
