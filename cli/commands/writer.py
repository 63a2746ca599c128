"""``wardwatch writer --config FILE [--stop-when-idle SECONDS]``: read the Kafka topics into the store
(a consumer group; run several for more throughput). SIGTERM finishes the batch in hand and exits."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time

import orjson

from wardwatch.counters import Counters


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("writer", help="consume the Kafka topics into the store (at-least-once, deduplicated)")
    p.add_argument(
        "--config", required=True, metavar="FILE", help="wardwatch config (YAML) with kafka: and store"
    )
    p.add_argument(
        "--stop-when-idle",
        type=float,
        default=None,
        metavar="SECONDS",
        help="exit after this long without messages (default: run until SIGTERM)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError
    from wardwatch.bus import bus_settings
    from wardwatch.store import StoreError, open_store

    from wardwatch.config import ConfigError, load_config

    try:
        config = load_config(args.config)
        settings = bus_settings(config)
        if settings is None:
            raise config.error(("kafka",), "the writer needs a kafka: section with bootstrap")
        store = open_store(config)
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"wardwatch writer: {e}\n")
        return 2
    from wardwatch.bus.settings import AUTH_WATCH, quiet_kafka_logs
    from wardwatch.store.consumer import BusWriter

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        quiet_kafka_logs()
    counters = Counters()
    started = time.perf_counter()
    stopping = False
    writer: BusWriter | None = None

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        if writer is not None:
            writer.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    backoff = 1.0
    while writer is None:
        try:
            writer = BusWriter(settings, store.writer(counters), counters)
        except KafkaError as e:
            if AUTH_WATCH.failed:
                store.close()
                sys.stderr.write(f"wardwatch writer: Kafka at {settings.bootstrap}: {AUTH_WATCH.failed}\n")
                return 2
            # a writer is a service: it waits for the broker rather than giving up
            sys.stderr.write(
                f"wardwatch writer: Kafka at {settings.bootstrap} unreachable ({e}); retrying in {backoff:.0f}s\n"
            )
            deadline = time.monotonic() + backoff
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
            if stopping:
                store.close()
                return 0
            backoff = min(backoff * 2, 30.0)
    try:
        writer.run(stop_when_idle=args.stop_when_idle)
    finally:
        writer.close()
        store.close()
    elapsed = time.perf_counter() - started
    n = counters.get("bus.records_stored", 0)
    sys.stderr.write(
        f"wardwatch writer: stored {n:,} records and alerts in {elapsed:.1f}s,"
        f" {counters.get('bus.dead_lettered', 0)} dead-lettered\n"
    )
    sys.stderr.write(
        orjson.dumps({"seconds": round(elapsed, 3), "counters": counters.summary()}).decode() + "\n"
    )
    return 0
