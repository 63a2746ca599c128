"""The embedded pipeline, one process and no services: sensor → detectors → store (the batch step,
``service.flow.Flow``, is the one ``wardwatch serve`` runs forever).

    summary = run_pipeline(paths, config, store, counters, progress=print_line)

Records go to the store as the sensor yields them, alerts as the engine releases them (after its
merge window), the rest at the end. Inserts happen every ``store.batch_rows`` rows per table or every
``store.flush_seconds`` (5 s by default), whichever comes first: a run killed outright keeps what was
inserted up to then. The summary counts what was stored per table and segment.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardwatch.store import Store

from wardwatch.config import Config
from wardwatch.counters import Counters


@dataclass
class Progress:
    seconds: float
    packets: int
    records: int
    alerts: int
    stored: int = 0  # rows (records and alerts) the store has accepted so far


@dataclass
class RunSummary:
    seconds: float = 0.0
    records: int = 0  # what the sensor produced
    alerts: int = 0  # what the detectors produced
    stored: Counter[tuple[str, str]] = field(default_factory=Counter)  # (table, segment) → rows
    duplicates: Counter[str] = field(default_factory=Counter)
    store_seconds: float = 0.0  # the pipeline's time in the writer: grouping, Arrow conversion, waiting
    insert_seconds: float = 0.0  # the writer's insert thread: dedup and INSERTs, beside the pipeline

    def per_segment(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (table, seg), n in sorted(self.stored.items()):
            out.setdefault(seg, {})[table] = n
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "store_seconds": round(self.store_seconds, 3),
            "insert_seconds": round(self.insert_seconds, 3),
            "records": self.records,
            "alerts": self.alerts,
            "stored": self.per_segment(),
            "duplicates_skipped": dict(self.duplicates),
        }


def run_pipeline(
    paths: Sequence[str | Path],
    config: Config,
    store: Store,
    counters: Counters | None = None,
    progress: Callable[[Progress], None] | None = None,
    every: float = 1.0,
    detect: bool = True,
) -> RunSummary:
    from wardwatch.detectors import Engine
    from wardwatch.ingest.sensor import sense, sensor_config
    from wardwatch.service.flow import Flow, feed_index, open_writer

    counters = counters if counters is not None else Counters()
    engine = Engine.from_config(config, feed_index(config), counters) if detect else None
    # inserts run on the writer's own thread, beside sensing and detection
    writer = open_writer(store, counters)
    flow = Flow(engine, writer)
    summary = RunSummary()
    started = last = time.perf_counter()
    try:
        for records in sense(paths, counters, sensor_config(config)):
            flow.step(records)
            now = time.perf_counter()
            if progress is not None and now - last >= every:
                last = now
                progress(
                    Progress(
                        now - started,
                        counters.get("packets.read", 0),
                        flow.records,
                        flow.alerts,
                        getattr(writer, "committed", 0),
                    )
                )
        flow.finish()
    finally:
        writer.close()
    end = time.perf_counter()
    summary.records = flow.records
    summary.alerts = flow.alerts
    summary.store_seconds = flow.store_seconds
    summary.insert_seconds = writer.insert_seconds
    summary.seconds = end - started
    summary.stored = writer.written
    summary.duplicates = writer.duplicates
    if progress is not None:
        progress(
            Progress(
                summary.seconds,
                counters.get("packets.read", 0),
                summary.records,
                summary.alerts,
                getattr(writer, "committed", 0),
            )
        )
    return summary
