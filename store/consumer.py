"""The writer: a consumer group that reads the bus topics into the store.

One cycle: poll messages (up to ``max_records`` records or ``max_wait``), decode them (a message that
cannot be decoded goes to the dead-letter topic with the reason), insert the records and alerts through
the store writer, and only then commit the offsets (at-least-once). A replay after a crash re-reads at
most the messages of the cycle that was cut short; the store writer drops rows whose key is already
stored, so replayed rows are not stored twice (docs/BUS.md). A message sent twice by a producer
(spool replay) is also dropped here by its ``ww-id`` within a window of recent messages per partition.

When an insert fails (the store is down), the writer pauses its partitions, rewinds to the last
committed offsets, waits with doubling back-off (polling, so the group keeps it) and tries again.
SIGTERM/SIGINT finish the current cycle, commit and leave the group.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from wardwatch.bus import topics
from wardwatch.bus.envelope import Poison, check_envelope, decode, decode_arrow, header_map, line_count
from wardwatch.bus.settings import BusSettings, redact_in_logs
from wardwatch.store.writer import record_struct

from wardwatch.alerts import Alert
from wardwatch.counters import Counters
from wardwatch.errors import WardwatchError

log = logging.getLogger(__name__)
# Test hooks (fault injection for the integration tests; unset in production):
# while this file exists, inserts fail as if the store were unreachable;
FAULT_STORE_DOWN_ENV = "WARDWATCH_FAULT_STORE_DOWN_FILE"
# after this many inserts, the writer SIGKILLs itself between an insert and its offset commit.
FAULT_KILL_AFTER_ENV = "WARDWATCH_FAULT_KILL_AFTER_INSERTS"


class StoreDown(WardwatchError, RuntimeError):
    pass


class _SeenIds:
    """The ``ww-id``s of the last ``window`` messages of one partition."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.order: deque[bytes] = deque()
        self.ids: set[bytes] = set()

    def seen(self, msg_id: bytes) -> bool:
        if not self.window or not msg_id:
            return False
        if msg_id in self.ids:
            return True
        self.order.append(msg_id)
        self.ids.add(msg_id)
        if len(self.order) > self.window:
            self.ids.discard(self.order.popleft())
        return False


@dataclass
class _Decoded:
    """One sensor's share of a cycle: record dicts, alerts, and records parsed straight into Arrow."""

    records: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    arrow: list[tuple[str, pa.StructArray]] = field(default_factory=list)

    def add_dicts(self, items: list[dict[str, Any]]) -> None:
        for r in items:
            (self.records if "_path" in r else self.alerts).append(r)

    @property
    def count(self) -> int:
        return len(self.records) + len(self.alerts) + sum(len(st) for _, st in self.arrow)

    def times(self) -> np.ndarray:
        """Every record's and alert's ``ts`` (for latency measurements)."""
        parts = [
            np.fromiter((float(r.get("ts") or 0.0) for r in self.records + self.alerts), dtype=np.float64)
        ]
        parts += [st.field("ts").to_numpy(zero_copy_only=False) for _, st in self.arrow]
        return np.concatenate(parts)


class BusWriter:
    def __init__(
        self,
        settings: BusSettings,
        store_writer: Any,
        counters: Counters | None = None,
        on_insert: Callable[[np.ndarray, float], None] | None = None,
    ) -> None:
        from kafka import KafkaProducer

        redact_in_logs(settings)
        self.settings = settings
        self.store_writer = store_writer
        self.counters = counters if counters is not None else Counters()
        self.on_insert = on_insert
        self.stopping = False
        self._seen: dict[Any, _SeenIds] = {}
        self._inserts = 0
        kill_after = os.environ.get(FAULT_KILL_AFTER_ENV)
        self._kill_after = int(kill_after) if kill_after else None
        s = settings
        if s.create_topics:
            topics.ensure_topics(s)
        self.source_topics = [topics.topic(s, n) for n in (*topics.LOGS, topics.ALERTS)]
        self.consumer = self._new_consumer()
        self.dlq = KafkaProducer(
            **s.client_options(),
            client_id="wardwatch-writer-dlq",
            acks="all",
            enable_idempotence=True,
            max_request_size=s.max_message_bytes + (1 << 16),
        )
        self.dlq_topic = topics.topic(s, topics.DEAD_LETTER)

    def _new_consumer(self) -> Any:
        from kafka import KafkaConsumer

        s = self.settings
        return KafkaConsumer(
            *self.source_topics,
            **s.client_options(),
            group_id=s.group,
            client_id="wardwatch-writer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # a poll returns whole messages: about one cycle's worth at the producers' message size
            max_poll_records=max(1, s.writer.max_records // s.batch_records),
            # kafka-python 3.0 keeps sending an emptied incremental fetch session after a broker
            # restart (FetchSessionIdNotFound) and then fetches nothing; full fetches recover
            enable_incremental_fetch_sessions=False,
            fetch_max_bytes=64 << 20,
            max_partition_fetch_bytes=max(s.max_message_bytes * 2, 8 << 20),
            # the store may be down for a while; we keep polling (paused) so the group keeps us
            max_poll_interval_ms=600_000,
            # a SIGKILLed writer's partitions are reassigned after this long
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
        )

    def reconnect(self) -> None:
        """A new consumer in place of one that never got partitions (kafka-python 3.0 was seen, rarely,
        to loop in its coordinator lookup at start-up and never join the group)."""
        log.warning("no partitions assigned yet; reconnecting the consumer")
        self.counters.add("bus.consumer_reconnects")
        try:
            self.consumer.close(autocommit=False)
        finally:
            self.consumer = self._new_consumer()

    # --- one cycle ------------------------------------------------------------------------------
    def _poll(self) -> dict[Any, list[Any]]:
        """Messages for one cycle, grouped by partition in offset order."""
        w = self.settings.writer
        out: dict[Any, list[Any]] = defaultdict(list)
        records = 0
        deadline = time.monotonic() + w.max_wait
        while not self.stopping:
            left = deadline - time.monotonic()
            got = self.consumer.poll(timeout_ms=max(0, int(left * 1000)), update_offsets=True)
            for tp, msgs in got.items():
                out[tp].extend(msgs)
                for m in msgs:
                    records += int(header_map(m.headers).get("ww-count", b"1") or 1)
            if records >= w.max_records or time.monotonic() >= deadline:
                break
        return out

    def _decode(self, batch: dict[Any, list[Any]]) -> tuple[dict[str, _Decoded], list[tuple[Any, str]]]:
        """(sensor → its records and alerts, poison messages with reasons). Record messages whose
        envelope is right are parsed together straight into Arrow; a group that does not parse
        cleanly is decoded message by message, which finds the poison one and its reason."""
        by_sensor: dict[str, _Decoded] = defaultdict(_Decoded)
        poison: list[tuple[Any, str]] = []
        limit = self.settings.writer.max_message_bytes or self.settings.max_message_bytes
        arrow_ok = hasattr(self.store_writer, "add_arrow")
        grouped: dict[tuple[str, str], list[tuple[Any, dict[str, bytes]]]] = defaultdict(list)
        for tp, msgs in batch.items():
            name = topics.log_of(self.settings, tp.topic) or "?"
            seen = self._seen.get(tp)
            if seen is None:
                seen = self._seen[tp] = _SeenIds(self.settings.writer.dedup_window)
            struct = record_struct(name) if arrow_ok and name != topics.ALERTS else None
            for m in msgs:
                hdrs = header_map(m.headers)
                try:
                    value = check_envelope(m.value, hdrs, name, limit)
                except Poison as e:
                    poison.append((m, str(e)))
                    continue
                if seen.seen(hdrs.get("ww-id", b"")):
                    self.counters.add("bus.duplicate_messages")
                    continue
                sensor = hdrs.get("ww-sensor", b"").decode(errors="replace")
                if struct is not None and hdrs.get("ww-count") == str(line_count(value)).encode():
                    grouped[(sensor, name)].append((m, hdrs))
                    continue
                try:
                    by_sensor[sensor].add_dicts(decode(m.value, hdrs, name, limit))
                except Poison as e:
                    poison.append((m, str(e)))
        for (sensor, name), items in grouped.items():
            struct = record_struct(name)
            assert struct is not None
            expect = sum(int(h["ww-count"]) for _, h in items)
            try:
                st = decode_arrow([m.value for m, _ in items], name, struct, expect)
            except (Poison, pa.ArrowException) as e:
                log.debug("%d %s messages did not parse as a whole (%s); one by one", len(items), name, e)
                self.counters.add("bus.slow_decodes")
                for m, hdrs in items:
                    try:
                        by_sensor[sensor].add_dicts(decode(m.value, hdrs, name, limit))
                    except Poison as pe:
                        poison.append((m, str(pe)))
                continue
            by_sensor[sensor].arrow.append((name, st))
        return by_sensor, poison

    def _dead_letter(self, poison: list[tuple[Any, str]]) -> None:
        if not poison:
            return
        limit = self.settings.max_message_bytes
        futs = []
        for m, reason in poison:
            value = m.value or b""
            hdrs = [(k, v or b"") for k, v in (m.headers or [])]
            hdrs += [
                ("ww-dlq-reason", reason.encode()[:1000]),
                ("ww-dlq-source", f"{m.topic}:{m.partition}:{m.offset}".encode()),
                ("ww-dlq-size", str(len(value)).encode()),
            ]
            if len(value) > limit:
                value = value[:limit]
                hdrs.append(("ww-dlq-truncated", b"1"))
            futs.append(self.dlq.send(self.dlq_topic, value=value, key=m.key, headers=hdrs))
            log.warning("dead-lettered %s:%d:%d: %s", m.topic, m.partition, m.offset, reason)
        self.dlq.flush(timeout=30)
        for f in futs:
            f.get(timeout=0)  # raises if the dead-letter topic did not take it: no commit then
        self.counters.add("bus.dead_lettered", len(poison))

    def _insert(self, by_sensor: dict[str, _Decoded]) -> int:
        fault = os.environ.get(FAULT_STORE_DOWN_ENV)
        if fault and Path(fault).exists():
            raise StoreDown("store unreachable (fault injection)")
        n = 0
        w = self.store_writer
        default_sensor = getattr(w, "sensor", "")
        for sensor, got in by_sensor.items():
            if hasattr(w, "sensor"):
                w.sensor = sensor or default_sensor  # rows carry the sensor that produced them
            if got.records:
                w.add_records(got.records)
            for name, st in got.arrow:
                w.add_arrow(name, st)
            plain = [Alert.from_dict(a) for a in got.alerts if not a.get("retro")]
            retro = [Alert.from_dict(a) for a in got.alerts if a.get("retro")]
            if plain:
                w.add_alerts(plain)
            if retro:
                w.add_alerts(retro, retro=True)
            w.flush()
            n += got.count
            if self.on_insert is not None:
                self.on_insert(got.times(), time.time())
        if hasattr(w, "sensor"):
            w.sensor = default_sensor
        return n

    def _commit(self, batch: dict[Any, list[Any]]) -> None:
        from kafka.errors import CommitFailedError, KafkaError
        from kafka.structs import OffsetAndMetadata

        offsets = {tp: OffsetAndMetadata(msgs[-1].offset + 1, "", -1) for tp, msgs in batch.items() if msgs}
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as e:
            # the partitions moved to another writer: it re-reads them and the store drops repeats
            self.counters.add("bus.commit_failures")
            log.warning("offset commit failed (%s); the next owner re-reads those messages", e)

    def _rewind(self, batch: dict[Any, list[Any]]) -> None:
        assigned = self.consumer.assignment()
        for tp, msgs in batch.items():
            if msgs and tp in assigned:
                self.consumer.seek(tp, msgs[0].offset)

    def _reset_store_writer(self) -> None:
        discard = getattr(self.store_writer, "discard", None)
        if callable(discard):
            discard()

    def _wait(self, seconds: float) -> None:
        """Sleep while staying in the group: poll with the partitions paused."""
        parts = list(self.consumer.assignment())
        self.consumer.pause(*parts)
        deadline = time.monotonic() + seconds
        try:
            while not self.stopping and time.monotonic() < deadline:
                self.consumer.poll(timeout_ms=int(min(0.5, max(0.0, deadline - time.monotonic())) * 1000))
        finally:
            self.consumer.resume(*parts)

    def cycle(self) -> int:
        """One poll → insert → commit; returns the number of records and alerts stored (0 when idle)."""
        batch = self._poll()
        if not any(batch.values()):
            return 0
        backoff = 0.5
        while True:
            try:
                by_sensor, poison = self._decode(batch)
                self._dead_letter(poison)
                n = self._insert(by_sensor)
                break
            except Exception as e:  # store or dead-letter topic down: nothing is committed
                self._reset_store_writer()
                self.counters.add("bus.insert_failures")
                log.warning("insert failed (%s); pausing %.1fs then retrying the same messages", e, backoff)
                # forget ids seen in this cycle, or the retry would skip them as duplicates
                self._seen.clear()
                self._rewind(batch)
                self._wait(backoff)
                backoff = min(backoff * 2, self.settings.writer.store_retry_max)
                if self.stopping:
                    return 0
                # the rewound partitions are read again from the same offsets
                batch = self._poll()
                if not any(batch.values()):
                    return 0
        self._inserts += 1
        if self._kill_after is not None and self._inserts >= self._kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        self._commit(batch)
        self.counters.add("bus.records_stored", n)
        self.counters.add("bus.messages_consumed", sum(len(m) for m in batch.values()))
        return n

    def run(self, stop_when_idle: float | None = None) -> None:
        """Cycle until ``stop()``, or until ``stop_when_idle`` seconds pass without messages. The idle
        clock starts once partitions are assigned: joining a group whose previous member was killed
        waits for that member's session to expire first."""
        started = last_join = time.monotonic()
        idle_since: float | None = None
        while not self.stopping:
            n = self.cycle()
            now = time.monotonic()
            if idle_since is None and now - last_join > 45:
                self.reconnect()
                last_join = now
            if n or (idle_since is None and self.consumer.assignment()):
                idle_since = now
            if stop_when_idle is None:
                continue
            if idle_since is not None and now - idle_since >= stop_when_idle:
                if self._caught_up():
                    break
                idle_since = now  # quiet, but messages remain (a slow first fetch after a rebalance)
            if idle_since is None and now - started >= stop_when_idle + 60:
                log.warning("no partitions assigned after %.0fs; giving up", now - started)
                break

    def _caught_up(self) -> bool:
        """The group has read and committed every partition of its topics to the end offset. Not
        only this writer's: after a member was killed, a newcomer holds part of the partitions until
        that member's session expires, and must not leave with the rest unread. A partition of ours
        read to the end whose commit did not take (a rebalance between insert and commit) is read
        again from its committed offset: the store drops the rows it already holds."""
        from kafka.structs import TopicPartition

        try:
            assigned = set(self.consumer.assignment())
            if not assigned:
                return False
            every = {
                TopicPartition(t, p)
                for t in self.source_topics
                for p in (self.consumer.partitions_for_topic(t) or ())
            } | assigned
            ends = self.consumer.end_offsets(list(every))
            if any(self.consumer.position(tp) < ends.get(tp, 0) for tp in assigned):
                return False
            behind = [(tp, self.consumer.committed(tp) or 0) for tp in every]
            behind = [(tp, off) for tp, off in behind if off < ends.get(tp, 0)]
        except Exception as e:  # broker trouble: not provably idle, keep going
            log.debug("could not compare positions with end offsets: %s", e)
            return False
        mine = [(tp, off) for tp, off in behind if tp in assigned]
        for tp, off in mine:
            self.consumer.seek(tp, off)
        if mine:
            self.counters.add("bus.uncommitted_rereads", len(mine))
            log.info("%d partitions read but not committed; reading them again", len(mine))
        return not behind

    def stop(self) -> None:
        self.stopping = True

    def close(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        finally:
            self.dlq.close(timeout=5)
