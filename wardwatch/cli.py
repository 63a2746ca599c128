"""The ``wardwatch`` command. It wires the rooms together; nothing else does."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import IO

import orjson

from wardwatch.counters import Counters


def _open_out(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdout.buffer
    return open(path, "wb")


def cmd_sensor(args: argparse.Namespace) -> int:
    from wardwatch.ingest.sensor import sense

    counters = Counters()
    started = time.perf_counter()
    out = _open_out(args.out)
    per_log: Counters = Counters()
    try:
        for records in sense(args.pcap, counters):
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
        "wardwatch sensor: {} packets, {} records in {:.2f}s · gói tin, bản ghi\n".format(
            counters.get("packets.read", 0), sum(per_log.values()), elapsed
        )
    )
    sys.stderr.write(orjson.dumps(summary).decode() + "\n")
    return 2 if counters.get("capture.unreadable", 0) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wardwatch", description="Network security monitoring for hospitals")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sensor", help="decode captures into Zeek-style JSON records (dns, conn, tls, http, login)")
    p.add_argument("--pcap", nargs="+", required=True, metavar="FILE", help="pcap/pcapng files, optionally .gz")
    p.add_argument("--out", default="-", metavar="PATH", help="output file, or - for stdout (default)")
    p.set_defaults(func=cmd_sensor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
