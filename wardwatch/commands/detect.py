"""``wardwatch detect --pcap FILE… --config FILE [--alerts-out PATH|-]``: sensor → detectors → one alert
JSON object a line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

from wardwatch.counters import Counters

if TYPE_CHECKING:
    from wardwatch.alerts import Alert
    from wardwatch.config import Config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect", help="run the sensor and the detectors over captures; write alerts as JSON lines"
    )
    p.add_argument(
        "--pcap", nargs="+", required=True, metavar="FILE", help="pcap/pcapng files, optionally .gz"
    )
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument("--alerts-out", default="-", metavar="PATH", help="output file, or - for stdout (default)")
    p.set_defaults(func=run)


def detect_alerts(
    paths: Sequence[str | Path], config: Config, counters: Counters | None = None
) -> Iterator[list[Alert]]:
    """The alerts of the captures at ``paths``, batch by batch (the last batch holds the flush)."""
    from wardwatch.detectors import Engine
    from wardwatch.ingest.sensor import sense
    from wardwatch.threatfeeds import load_index

    counters = counters if counters is not None else Counters()
    index = (
        load_index(config) if config.feeds or config.allowlist.entries or config.allowlist.sources else None
    )
    engine = Engine.from_config(config, index, counters)
    for records in sense(paths, counters):
        alerts = engine.process(records)
        if alerts:
            yield alerts
    tail = engine.flush()
    if tail:
        yield tail


def _open_out(path: str) -> IO[bytes]:
    return sys.stdout.buffer if path == "-" else open(path, "wb")


def run(args: argparse.Namespace) -> int:
    from wardwatch.config import ConfigError, load_config

    try:
        config = load_config(args.config)
        from wardwatch.detectors import load_settings

        load_settings(config)  # report config errors before reading any capture
    except ConfigError as e:
        sys.stderr.write(f"wardwatch detect: {e}\n")
        return 2
    counters = Counters()
    started = time.perf_counter()
    out = _open_out(args.alerts_out)
    n = 0
    try:
        for alerts in detect_alerts(args.pcap, config, counters):
            n += len(alerts)
            out.write(b"".join(a.to_json() + b"\n" for a in alerts))
    except BrokenPipeError:
        return 0
    except ConfigError as e:
        sys.stderr.write(f"wardwatch detect: {e}\n")
        return 2
    finally:
        if out is sys.stdout.buffer:
            out.flush()
        else:
            out.close()
    elapsed = time.perf_counter() - started
    sys.stderr.write(
        f"wardwatch detect: {counters.get('detect.records', 0)} records, {n} alerts in {elapsed:.2f}s"
        f" · {counters.get('detect.records', 0)} bản ghi, {n} cảnh báo\n"
    )
    sys.stderr.write(
        orjson.dumps({"seconds": round(elapsed, 3), "counters": counters.summary()}).decode() + "\n"
    )
    return 2 if counters.get("capture.unreadable", 0) else 0
