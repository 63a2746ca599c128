"""``wardwatch detect --pcap FILE… --config FILE [--alerts-out PATH|-]``: sensor → detectors → one alert
JSON object a line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
    from wardwatch.ingest.sensor import sense, sensor_config
    from wardwatch.threatfeeds import load_index

    counters = counters if counters is not None else Counters()
    index = (
        load_index(config) if config.feeds or config.allowlist.entries or config.allowlist.sources else None
    )
    engine = Engine.from_config(config, index, counters)
    for records in sense(paths, counters, sensor_config(config)):
        alerts = engine.process(records)
        if alerts:
            yield alerts
    tail = engine.flush()
    if tail:
        yield tail


def check_store(config: Config) -> None:
    """What ``run`` would refuse about the store before storing anything, for commands that do not
    open it (``detect``): one config must not be valid for one command and not the other."""
    from wardwatch.store.settings import load_store_settings

    from wardwatch.config import ConfigError

    settings = load_store_settings(config)
    if settings.backend == "server":
        from wardwatch.store.backend import StoreError
        from wardwatch.store.server_backend import parse_url

        try:
            parse_url(settings.url, settings.options)
        except StoreError as e:
            raise ConfigError(f"{config.path}: {e}") from None


def rule_warnings(config: Config, prog: str) -> str:
    """One Vietnamese and one English line per Sigma rule that did not load: a custom rule with a
    typo would otherwise just never fire, and only ``rules check`` would say why."""
    from wardwatch.detectors.sigma_detector import SigmaDetector

    from wardwatch.i18n import say

    # loaded once more than the engine does: ~40 ms for the built-in pack, and it reports before
    # any capture is read
    det = SigmaDetector.from_config(config, Counters())
    return "".join(
        say("rules.rejected", prefix=f"{prog}: ", path=x.source, reason=x.reason) for x in det.ruleset.rejected
    )


def run(args: argparse.Namespace) -> int:
    from wardwatch.config import ConfigError, load_config

    try:
        config = load_config(args.config)
        from wardwatch.cli.commands.sections import check_sections

        # every room's section, before reading any capture; then what this config will not detect
        for warning in check_sections(config):
            sys.stderr.write(f"wardwatch detect: {warning}\n")
        check_store(config)
        sys.stderr.write(rule_warnings(config, "wardwatch detect"))
    except ConfigError as e:
        sys.stderr.write(f"wardwatch detect: {e}\n")
        return 2
    from wardwatch.outputs import OutputError, open_output

    try:
        # the config counts as an input too: overwriting it would lose the operator's settings
        out = open_output(args.alerts_out, [*args.pcap, args.config], "--alerts-out")
    except OutputError as e:
        sys.stderr.write(f"wardwatch detect: {e}\n")
        return 2
    counters = Counters()
    started = time.perf_counter()
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
