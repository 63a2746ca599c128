"""``wardwatch collect --config C``: the configured inputs alone, without a capture: NetFlow/IPFIX
(``inputs.netflow``), Zeek's logs (``inputs.zeek``), Suricata's EVE (``inputs.eve``) → detectors →
store, until SIGINT/SIGTERM (``serve`` runs the same inputs beside its sensor). ``--once`` reads the
logs to their end and stops (an import of files; no collector)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

import orjson

from wardwatch.counters import Counters


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("collect", help="NetFlow/IPFIX, Zeek and Suricata logs in (inputs:), detectors, store")
    p.add_argument(
        "--config", required=True, metavar="FILE", help="wardwatch config (YAML) with an inputs: section"
    )
    p.add_argument("--once", action="store_true", help="read the logs to their end, then stop (no NetFlow)")
    p.add_argument(
        "--json", action="store_true", help="print every counter as one JSON object on stdout at the end"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from wardwatch.cli.commands.sections import check_sections
    from wardwatch.service.flow import Flow, feed_index, open_writer
    from wardwatch.service.inputs import Inputs, configured
    from wardwatch.store import StoreError, open_store

    from wardwatch.config import ConfigError, load_config
    from wardwatch.errors import UsageError
    from wardwatch.i18n import say

    prog = "wardwatch collect"
    try:
        config = load_config(args.config)
        for warning in check_sections(config):
            sys.stderr.write(f"{prog}: {warning}\n")
        if not configured(config):
            sys.stderr.write(say("ingest.collect_nothing", prefix=f"{prog}: "))
            return 2
        store = open_store(config)
    except (ConfigError, StoreError, UsageError) as e:
        sys.stderr.write("".join(f"{prog}: {line}\n" for line in str(e).splitlines()))
        return 2
    from wardwatch.detectors import Engine

    counters = Counters()
    stop = threading.Event()
    try:
        flow = Flow(Engine.from_config(config, feed_index(config), counters), open_writer(store, counters))
        try:
            inputs = Inputs(config, counters, stop, netflow=not args.once)
        except UsageError as e:
            sys.stderr.write("".join(f"{prog}: {line}\n" for line in str(e).splitlines()))
            flow.writer.close()
            return 2
        try:
            if args.once:
                _once(inputs, flow)
            else:
                _forever(inputs, flow, stop)
            flow.finish()
        finally:
            flow.writer.close()
    finally:
        store.close()
    dropped = sum(v for k, v in counters.items() if k.endswith(".malformed"))
    sys.stderr.write(
        say(
            "ingest.collect_summary",
            prefix=f"{prog}: ",
            records=flow.records,
            alerts=flow.alerts,
            dropped=dropped,
        )
    )
    if args.json:
        sys.stdout.write(
            orjson.dumps(
                {"records": flow.records, "alerts": flow.alerts, "counters": dict(counters)}
            ).decode()
            + "\n"
        )
    return 0


def _once(inputs: Any, flow: Any) -> None:
    """Every log to its end (a last line without a newline counts), positions committed."""
    for inp in inputs.logs:
        while True:
            records, alerts = inp.poll(final=True)
            if not records and not alerts and not inp.follower.pending:
                break
            flow.step(records)
            if alerts:
                flow.store_alerts(alerts)
            flow.writer.flush()
            inp.commit()
    if inputs.collector is not None:
        inputs.collector.close()


def _forever(inputs: Any, flow: Any, stop: threading.Event) -> None:
    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        inputs.start()
        tick = time.monotonic() + 2.0
        while not stop.is_set():
            if not inputs.pump(flow):
                flow.step([])  # the writer's time-bounded flush
                time.sleep(0.1)
            if time.monotonic() >= tick:  # behaviour state saved when due, as serve does
                tick = time.monotonic() + 2.0
                flow.tick(time.time(), {}, {})
        inputs.close(flow)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
