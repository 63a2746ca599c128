"""``wardwatch sensor --pcap FILE… [--out PATH|-]``: captures in, Zeek-style JSON lines out."""

from __future__ import annotations

import argparse
import sys
import time

import orjson

from wardwatch.counters import Counters


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sensor", help="decode captures into Zeek-style JSON records (dns, conn, tls, http, login)")
    p.add_argument("--pcap", nargs="+", required=True, metavar="FILE", help="pcap/pcapng files, optionally .gz")
    p.add_argument("--out", default="-", metavar="PATH", help="output file, or - for stdout (default)")
    p.add_argument(
        "--workers", type=int, default=0, metavar="N", help="processes sharing the connections (0: one per core for big inputs)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from wardwatch.ingest.sensor import SensorConfig, sense

    from wardwatch.outputs import OutputError, open_output

    try:
        # before any capture is read: an output that is one of them would be emptied first
        out = open_output(args.out, args.pcap, "--out")
    except OutputError as e:
        sys.stderr.write(f"wardwatch sensor: {e}\n")
        return 2
    counters = Counters()
    started = time.perf_counter()
    per_log: Counters = Counters()
    try:
        for records in sense(args.pcap, counters, SensorConfig(workers=args.workers)):
            lines = []
            for rec in records:
                per_log[str(rec["_path"])] += 1
                lines.append(orjson.dumps(rec))
            lines.append(b"")
            out.write(b"\n".join(lines))
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
