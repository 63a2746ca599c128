"""``wardwatch run --pcap FILE… --config FILE``: sensor → detectors → store in one process (the
embedded chdb store unless the config names a ClickHouse server)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from wardwatch.counters import Counters


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="sensor, detectors and store in one process: captures in, ClickHouse rows out"
    )
    p.add_argument(
        "--pcap", nargs="+", required=True, metavar="FILE", help="pcap/pcapng files, optionally .gz"
    )
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


def _progress_line(p: object) -> None:
    from wardwatch.pipeline import Progress

    assert isinstance(p, Progress)
    rate = p.records / p.seconds if p.seconds else 0.0
    sys.stderr.write(
        f"\rwardwatch run: {p.seconds:6.1f}s  {p.packets:,} packets  {p.records:,} records"
        f" ({rate:,.0f}/s)  {p.alerts:,} alerts "
    )
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from wardwatch.config import ConfigError, load_config
    from wardwatch.pipeline import run_pipeline
    from wardwatch.store import StoreError, open_store

    try:
        config = load_config(args.config)
        from wardwatch.detectors import load_settings

        load_settings(config)
        store: Any
        if config.kafka is not None:
            # distributed: records go to Kafka, and `wardwatch writer` puts them in the store
            from wardwatch.bus.remote import BusStore

            store = BusStore(config)
        else:
            store = open_store(config)
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"wardwatch run: {e}\n")
        return 2
    counters = Counters()
    try:
        summary = run_pipeline(
            args.pcap, config, store, counters, progress=None if args.quiet else _progress_line
        )
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"\nwardwatch run: {e}\n")
        return 2
    finally:
        store.close()
    if not args.quiet:
        sys.stderr.write("\n")
    where = store.settings.chdb_path if store.settings.backend == "chdb" else store.settings.url
    stored = sum(n for (t, _), n in summary.stored.items() if t != "alerts")
    alerts = sum(n for (t, _), n in summary.stored.items() if t == "alerts")
    lines = [
        f"wardwatch run: {summary.records:,} records, {summary.alerts:,} alerts in {summary.seconds:.2f}s;"
        f" stored {stored:,} records and {alerts:,} alerts in {where}"
        f" · đã lưu {stored:,} bản ghi, {alerts:,} cảnh báo",
    ]
    width = max((len(s) for s in summary.per_segment()), default=7)
    for seg, tables in summary.per_segment().items():
        recs = sum(n for t, n in tables.items() if t != "alerts")
        detail = " ".join(f"{t}={n}" for t, n in tables.items() if t != "alerts")
        lines.append(f"  {seg:<{width}}  {recs:>9,} records  {tables.get('alerts', 0):>6,} alerts   {detail}")
    dup = sum(summary.duplicates.values())
    if dup:
        lines.append(f"  {dup:,} rows were already stored and were skipped (same capture run before?)")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.write(orjson.dumps({**summary.to_dict(), "counters": counters.summary()}).decode() + "\n")
    return 2 if counters.get("capture.unreadable", 0) else 0
