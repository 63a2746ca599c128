"""The producer side of the Kafka bus: records and alerts in, NDJSON micro-batches out.

``KafkaBus`` has the store writer's input methods (``add_records``, ``add_alerts``, ``flush``,
``close``), so the pipeline hands its output to either without knowing which.

Delivery: kafka-python with ``acks=all``, the idempotent producer (no duplicates from its own
retries), compression and batching (``linger``). While the broker is unreachable, messages go to a
bounded on-disk spool (``spool.py``) and are replayed in order when it returns; messages already handed
to kafka-python stay there and are retried by it first, so per-partition order holds. When the spool
is full, new messages are dropped, counted under ``dropped.bus_spool_full`` and logged as errors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any

import orjson

from wardwatch.alerts import Alert
from wardwatch.counters import Counters

from . import topics
from .envelope import Message, encode_records, headers, split_by_size
from .settings import AUTH_WATCH, BusSettings, redact_in_logs
from .spool import Cursor, Spool

log = logging.getLogger(__name__)
_PROBE_INTERVAL = 1.0  # seconds between attempts to leave the spool while the broker is down
_REPLAY_CHUNK = 2000  # messages replayed from the spool per step
_CONNECT_BACKOFF_MAX = 10.0  # seconds between attempts to create the client while none could be


def _reachable(bootstrap: str, timeout: float = 0.5) -> bool:
    """Whether any bootstrap address accepts a TCP connection (a cheap check before a real attempt)."""
    for hp in bootstrap.split(","):
        host, _, port = hp.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return True
        except OSError:
            continue
    return False


class KafkaBus:
    def __init__(self, settings: BusSettings, counters: Counters | None = None) -> None:
        redact_in_logs(settings)
        self.settings = settings
        self.counters = counters if counters is not None else Counters()
        self.spool = Spool(settings.spool_dir, settings.spool_max_bytes)
        # unique per producer run, so a message id never repeats across restarts
        self._run_id = f"{settings.sensor}:{os.getpid():x}{int(time.time() * 1000):x}"
        self._seq = 0
        self._producer: Any = None
        self._partitions: dict[str, int] = {}
        # host → partition; kafka-python's murmur2 is pure Python (~10 µs a key) and hosts repeat
        self._part_cache: dict[tuple[bytes, int], int] = {}
        self._pending: deque[tuple[Message, Any, float]] = deque()  # message, future, sent at
        self._replaying: tuple[Cursor, list[Any]] | None = None
        self._spooling = not self.spool.empty
        self._next_probe = 0.0
        self._topics_ready = False
        self._last_drop_log = 0.0
        self._connect_backoff = 0.0
        self._next_connect = 0.0
        self._connect()

    # --- connection -----------------------------------------------------------------------------
    def _connect(self) -> bool:
        if self._producer is not None:
            return True
        # creating the client blocks while it looks for a broker: not again at every probe
        now = time.monotonic()
        if now < self._next_connect:
            return False
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        s = self.settings
        try:
            if s.create_topics and not self._topics_ready:
                topics.ensure_topics(s)
            self._topics_ready = True
            self._producer = KafkaProducer(
                **s.client_options(),
                client_id=f"wardwatch-sensor-{s.sensor}",
                acks="all",
                enable_idempotence=True,
                compression_type=None if s.compression == "none" else s.compression,
                linger_ms=int(s.linger * 1000),
                batch_size=min(max(s.max_message_bytes, 16384), 4 << 20),
                max_request_size=s.max_message_bytes + 65536,
                max_block_ms=5000,
                # in-flight messages are retried by kafka-python until the broker is back (a day at most)
                delivery_timeout_ms=24 * 3600 * 1000,
                request_timeout_ms=10000,
                retry_backoff_ms=200,
                reconnect_backoff_max_ms=2000,
            )
        except (KafkaError, OSError) as e:
            if AUTH_WATCH.failed:
                log.error("Kafka at %s: %s; spooling to %s", s.bootstrap, AUTH_WATCH.failed, s.spool_dir)
            else:
                log.warning("Kafka at %s unreachable (%s); spooling to %s", s.bootstrap, e, s.spool_dir)
            self.counters.add("bus.connect_failures")
            self._connect_backoff = min(max(1.0, self._connect_backoff * 2), _CONNECT_BACKOFF_MAX)
            self._next_connect = time.monotonic() + self._connect_backoff
            return False
        self._connect_backoff = 0.0
        return True

    def _partition_count(self, topic: str) -> int:
        n = self._partitions.get(topic)
        if n is None and self._producer is not None:
            try:
                parts = self._producer.partitions_for(topic)
                n = len(parts) if parts else None
            except Exception:  # metadata unavailable: the configured count is the best guess
                n = None
            if n:
                self._partitions[topic] = n
        return n or self.settings.partitions

    # --- encoding -------------------------------------------------------------------------------
    def _next_id(self) -> str:
        self._seq += 1
        return f"{self._run_id}:{self._seq}"

    def _messages(self, log_name: str, records: list[dict[str, Any]]) -> list[Message]:
        """Records of one log → micro-batches, one partition (one group of hosts) each."""
        topic = topics.topic(self.settings, log_name)
        nparts = self._partition_count(topic)
        by_part: dict[int, tuple[list[bytes], list[float], bytes]] = {}
        cache = self._part_cache
        if len(cache) > 200_000:
            cache.clear()
        for rec in records:
            key = topics.record_key(rec)
            p = cache.get((key, nparts))
            if p is None:
                p = cache[(key, nparts)] = topics.partition_for(key, nparts)
            slot = by_part.get(p)
            if slot is None:
                # the key shown on the message is one of its hosts: it hashes to this same partition
                slot = by_part[p] = ([], [], key)
            slot[0].append(orjson.dumps(rec) + b"\n")
            slot[1].append(float(rec.get("ts") or 0.0))
        out = []
        s = self.settings
        for p, (lines, tss, key) in by_part.items():
            start = 0
            for chunk in split_by_size(lines, s.batch_records, s.max_message_bytes):
                n = len(chunk)
                out.append(
                    Message(
                        topic,
                        p,
                        key,
                        b"".join(chunk),
                        headers(log_name, self._next_id(), n, self.settings.sensor),
                        n,
                        min(tss[start : start + n]),
                    )
                )
                start += n
        return out

    # --- input (the store writer's interface) ---------------------------------------------------
    def add_records(self, records: Iterable[dict[str, Any]]) -> None:
        by_log: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in records:
            path = rec.get("_path")
            if path in topics.LOGS:
                by_log[path].append(rec)
            else:
                self.counters.add("bus.unknown_log")
        msgs = [m for name, recs in by_log.items() for m in self._messages(name, recs)]
        self._publish(msgs)

    def add_alerts(self, alerts: Iterable[Alert], retro: bool = False) -> None:
        topic = topics.topic(self.settings, topics.ALERTS)
        nparts = self._partition_count(topic)
        msgs = []
        for a in alerts:
            d = a.to_dict()
            if retro:
                d["retro"] = True
            key = topics.record_key(d)
            # one alert a message (the alerts topic is read by people and notifiers one by one)
            msgs.append(
                Message(
                    topic,
                    topics.partition_for(key, nparts),
                    key,
                    encode_records([d]),
                    headers(topics.ALERTS, self._next_id(), 1, self.settings.sensor),
                    1,
                    a.ts,
                )
            )
        self._publish(msgs)

    # --- delivery -------------------------------------------------------------------------------
    def _send(self, m: Message) -> Any:
        return self._producer.send(
            m.topic, value=m.value, key=m.key, headers=m.headers, partition=m.partition
        )

    def _publish(self, msgs: list[Message]) -> None:
        if not msgs:
            return
        self._reap()
        if not self._spooling and self._producer is None and not self._connect():
            self._spooling = True  # the broker was unreachable from the start (or refused us)
        if not self._spooling:
            from kafka.errors import KafkaError

            for i, m in enumerate(msgs):
                try:
                    fut = self._send(m)
                except (KafkaError, AssertionError) as e:
                    log.warning("Kafka send failed (%s); spooling to %s", e, self.settings.spool_dir)
                    self._spooling = True
                    msgs = msgs[i:]
                    break
                self._pending.append((m, fut, time.monotonic()))
                self.counters.add("bus.messages_sent")
                self.counters.add("bus.records_sent", m.records)
            else:
                return
        self._to_spool(msgs)
        self._step_spool()

    def _to_spool(self, msgs: list[Message]) -> None:
        taken = self.spool.append(msgs)
        self.counters.add("bus.messages_spooled", taken)
        if taken < len(msgs):
            lost = msgs[taken:]
            n = sum(m.records for m in lost)
            self.counters.add("dropped.bus_spool_full", n)
            now = time.monotonic()
            if now - self._last_drop_log > 10:
                self._last_drop_log = now
                log.error(
                    "KAFKA SPOOL FULL (%s, %d bytes): dropping records; %d dropped so far",
                    self.spool.dir,
                    self.spool.max_bytes,
                    self.counters["dropped.bus_spool_full"],
                )

    def _reap(self) -> None:
        """Settle finished sends in order; notice an outage (a failed or long-unacknowledged send)."""
        failed: list[Message] = []
        while self._pending and self._pending[0][1].is_done:
            m, fut, _ = self._pending.popleft()
            if fut.failed():
                err = fut.exception
                if getattr(err, "retriable", False) or "Timeout" in type(err).__name__:
                    failed.append(m)
                else:
                    self.counters.add("dropped.bus_rejected", m.records)
                    log.error("Kafka refused a %s message (%s): %d records dropped", m.topic, err, m.records)
        if failed:
            # older than anything spooled since: they go first
            log.warning("%d Kafka sends failed; spooling them", len(failed))
            self.spool.prepend(failed)
            self._spooling = True
        if self._pending and not self._spooling:
            age = time.monotonic() - self._pending[0][2]
            if age > self.settings.spool_after:
                log.warning("Kafka has not acknowledged for %.0fs; spooling to %s", age, self.spool.dir)
                self._spooling = True

    def _step_spool(self, wait: float = 0.0) -> None:
        """One step of leaving spool mode: replay a chunk once the broker is back and older sends
        have settled."""
        if not self._spooling:
            return
        if self._replaying is not None:
            cursor, futs = self._replaying
            if wait and not all(f.is_done for f in futs):
                self._flush_producer(wait)
            if not all(f.is_done for f in futs):
                return
            self._replaying = None
            if any(f.failed() for f in futs):
                self.counters.add("bus.replay_failures")
                return  # not acked: the chunk is read again on a later step
            self.spool.ack(cursor)
        now = time.monotonic()
        if now < self._next_probe and not wait:
            return
        self._next_probe = now + _PROBE_INTERVAL
        if self._pending and not all(f.is_done for _, f, _ in self._pending):
            return
        self._reap()
        if not _reachable(self.settings.bootstrap) or not self._connect():
            return
        msgs, cursor = self.spool.read(_REPLAY_CHUNK)
        if not msgs:
            log.info("Kafka spool drained; sending directly again")
            self._spooling = False
            return
        from kafka.errors import KafkaError

        futs = []
        try:
            for m in msgs:
                m.partition = (
                    topics.partition_for(m.key, self._partition_count(m.topic)) if m.key else m.partition
                )
                futs.append(self._send(m))
        except (KafkaError, AssertionError) as e:
            log.info("Kafka still unavailable (%s)", e)
            futs.append(_Failed())
        self.counters.add("bus.messages_replayed", len(msgs))
        self._replaying = (cursor, futs)

    def _flush_producer(self, timeout: float) -> None:
        from kafka.errors import KafkaTimeoutError

        with contextlib.suppress(KafkaTimeoutError):
            self._producer.flush(timeout=timeout)

    def flush(self, timeout: float = 30.0) -> bool:
        """Deliver everything (spool included) if the broker allows within ``timeout`` seconds;
        returns whether nothing is left undelivered in memory or in the spool."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if self._producer is not None and self._pending:
                self._flush_producer(max(0.0, min(left, 5.0)))
            self._reap()
            if self._spooling:
                self._step_spool(wait=max(0.0, min(left, 5.0)))
            done = not self._spooling and not self._pending
            if done or time.monotonic() >= deadline:
                return done
            if self._spooling and self._replaying is None:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def close(self, timeout: float = 30.0) -> None:
        """Flush within ``timeout``; what is still undelivered goes to the spool for the next run."""
        self.flush(timeout)
        if self._producer is not None:
            self._producer.close(timeout=1)
            self._producer = None
        undelivered = [m for m, f, _ in self._pending if not (f.is_done and f.succeeded())]
        self._pending.clear()
        if self._replaying is not None:
            self._replaying = None  # not acked: the spool still holds the chunk
        if undelivered:
            self.spool.prepend(undelivered)
            log.warning("%d undelivered messages kept in the spool for the next run", len(undelivered))
        if not self.spool.empty:
            log.warning(
                "Kafka spool %s holds %d bytes for the next run", self.spool.dir, self.spool.pending_bytes
            )


class _Failed:
    """Stands for a send that could not even be queued."""

    is_done = True

    def failed(self) -> bool:
        return True

    def succeeded(self) -> bool:
        return False
