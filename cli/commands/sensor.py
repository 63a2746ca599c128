"""``wardwatch sensor``: captures or live interfaces in, Zeek-style JSON lines out.

    wardwatch sensor --pcap FILE… [--out PATH|-]
    wardwatch sensor --interface IF [--interface IF2] [--bpf EXPR] [--duration S] [--out PATH|-]

Live capture runs until ``--duration`` passes or SIGINT/SIGTERM arrives; then every frame already
captured is read, every open connection flushed, and the command exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pwd
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson

from wardwatch.counters import Counters
from wardwatch.i18n import say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sensor",
        help="decode captures or live interfaces into Zeek-style JSON records (dns, conn, tls, http, login)",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pcap", nargs="+", metavar="FILE", help="pcap/pcapng files, optionally .gz")
    src.add_argument(
        "--interface",
        action="append",
        metavar="IF",
        help="capture live on this interface (repeat for several)",
    )
    p.add_argument("--out", default="-", metavar="PATH", help="output file, or - for stdout (default)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes sharing the connections (0: one per core for big inputs and live capture)",
    )
    p.add_argument(
        "--config", metavar="C", help="read the sensor: section (timeouts, interfaces, bpf…) from C"
    )
    p.add_argument("--bpf", metavar="EXPR", help="live: capture only what this BPF filter passes")
    p.add_argument("--duration", type=float, metavar="S", help="live: stop after S seconds")
    p.add_argument(
        "--progress",
        action="store_true",
        help="live: a JSON line of counters on stderr whenever they change (for tests and operators)",
    )
    p.set_defaults(func=run)


def _config(args: argparse.Namespace) -> Any:
    from wardwatch.ingest.sensor import SensorConfig, sensor_config

    if args.config:
        from wardwatch.config import load_config

        config = sensor_config(load_config(args.config))
    else:
        config = SensorConfig()
    changes: dict[str, Any] = {}
    if args.workers is not None:
        changes["workers"] = args.workers
    if args.interface:
        changes["interfaces"] = tuple(args.interface)
    if args.bpf is not None:
        changes["bpf"] = args.bpf
    return dataclasses.replace(config, **changes)


def run(args: argparse.Namespace) -> int:
    from wardwatch.outputs import OutputError, open_output

    config = _config(args)
    try:
        # before any capture is read: an output that is one of them would be emptied first
        out = open_output(args.out, args.pcap or [], "--out")
    except OutputError as e:
        sys.stderr.write(f"wardwatch sensor: {e}\n")
        return 2
    counters = Counters()
    started = time.perf_counter()
    per_log: Counters = Counters()
    try:
        if args.pcap:
            _write(_sense_files(args.pcap, counters, config), out, per_log)
        else:
            _write(_sense_live(args, config, counters, per_log), out, per_log, flush=True)
    except BrokenPipeError:
        return 0
    finally:
        if out is not sys.stdout.buffer:
            out.close()
        else:
            out.flush()
    elapsed = time.perf_counter() - started
    summary = {
        "seconds": round(elapsed, 3),
        "records": dict(sorted(per_log.items())),
        "counters": counters.summary(),
    }
    sys.stderr.write(
        "wardwatch sensor: {} packets, {} records in {:.2f}s · {} gói tin, {} bản ghi\n".format(
            counters.get("packets.read", 0),
            sum(per_log.values()),
            elapsed,
            counters.get("packets.read", 0),
            sum(per_log.values()),
        )
    )
    sys.stderr.write(orjson.dumps(summary).decode() + "\n")
    return 2 if counters.get("capture.unreadable", 0) else 0


def _write(
    batches: Iterator[list[dict[str, object]]], out: Any, per_log: Counters, flush: bool = False
) -> None:
    write, dumps = out.write, orjson.dumps
    for records in batches:
        if not records:
            continue
        for rec in records:
            per_log[str(rec["_path"])] += 1
            # one record at a time into the buffered file: orjson's bytes hold several KiB each
            # until freed, so a batch's lines kept in a list cost ~7 KiB a record (measured: 370 MiB
            # for 50,000 records)
            write(dumps(rec, option=orjson.OPT_APPEND_NEWLINE))
        if flush:  # a live sensor's output is read while it runs (tail -f, tests)
            out.flush()


def _sense_files(paths: list[str], counters: Counters, config: Any) -> Iterator[list[dict[str, object]]]:
    from wardwatch.ingest.sensor import sense

    yield from sense(paths, counters, config)


def _sense_live(
    args: argparse.Namespace, config: Any, counters: Counters, per_log: Counters
) -> Iterator[list[dict[str, object]]]:
    from wardwatch.ingest.sensor import sense_live

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    deadline = time.monotonic() + args.duration if args.duration is not None else None
    shown: tuple[int, ...] = ()
    first = True
    try:
        for records in sense_live(config, counters, stop):
            if first:  # the sockets are open: traffic from now on is captured
                first = False
                names = ", ".join(config.interfaces)
                user = pwd.getpwuid(os.geteuid()).pw_name
                workers = config.workers or max(1, min(4, len(os.sched_getaffinity(0))))
                sys.stderr.write(
                    say(
                        "live.listening", prefix="wardwatch sensor: ", names=names, workers=workers, user=user
                    )
                )
                sys.stderr.flush()
            yield records
            if deadline is not None and time.monotonic() >= deadline:
                stop.set()
            if args.progress:
                now = tuple(
                    counters.get(k, 0)
                    for k in (
                        "packets.read",
                        "capture.received",
                        "capture.kernel_drops",
                        "capture.interface_drops",
                    )
                ) + (sum(per_log.values()),)
                if now != shown:
                    shown = now
                    keys = ("packets", "received", "kernel_drops", "interface_drops", "records")
                    sys.stderr.write(
                        orjson.dumps({"progress": dict(zip(keys, now, strict=True))}).decode() + "\n"
                    )
                    sys.stderr.flush()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
