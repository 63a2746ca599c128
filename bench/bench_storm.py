#!/usr/bin/env python3
"""The sensor in a storm: every capture shape of ``tools/gen_storm.py`` (1, 2, 10 and 38 packets per
connection, a SYN flood, a UDP scan, a DNS query flood) through ``wardwatch sensor`` and, in the same
run, ``tshark -T fields`` (the peer), alternating, best wall of ``--runs``.

    python bench/bench_storm.py [--packets 300000] [--runs 3] [--workers 1] [--shapes pp1,dnsflood]

Each command is a fresh process measured as bench_sensor.py measures (wall, CPU of the process and its
workers, peak RSS from ``wait4``). Prints a markdown table and writes bench/out/bench_storm.json.

    python bench/bench_storm.py --compare-slots --before /tmp/before_pkg   # also SLOTS=0, another tree

With ``--compare-slots`` the sensor also runs with ``WARDWATCH_FLOWS_SLOTS=0`` (every connection a
Python ``Conn``, no C slot table); with ``--before DIR`` also from the ``wardwatch`` package folder in
DIR (put first on PYTHONPATH: e.g. a copy of the tree without the change being measured), each
alternating with the others.

    python bench/bench_storm.py --open-memory [--packets 300000]

Instead: memory per open connection of the flow meter (RSS growth while pp1 and udpscan connections
stay open, long timeouts), with the C per-connection code and with its Python fallback
(``WARDWATCH_FLOWS_PYTHON=1``), each in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_sensor import OUT_DIR, measure, wardwatch_exe  # noqa: E402
from wardwatch.tools.gen_storm import SHAPES, generate  # noqa: E402

TSHARK = [
    "-T",
    "fields",
    "-e",
    "frame.number",
    "-e",
    "ip.src",
    "-e",
    "ip.dst",
    "-e",
    "tcp.stream",
    "-e",
    "udp.stream",
]


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _child_open_memory(pcap: str) -> None:
    """(In a fresh process) bytes of RSS per connection left open by the flow meter on ``pcap``."""
    import gc

    from wardwatch.ingest.capture import read_captures
    from wardwatch.ingest.decode import DecodeConfig, Decoder
    from wardwatch.ingest.flows import FlowConfig, FlowMeter

    from wardwatch.counters import Counters

    counters = Counters()
    decoder = Decoder(counters, DecodeConfig())
    batches = [decoder.decode(raw) for raw in read_captures([pcap], counters, batch_frames=65536)]
    gc.collect()
    meter = FlowMeter(Counters(), FlowConfig(tcp_attempt_delay=0, udp_inactivity=1e9, icmp_inactivity=1e9))
    base = _rss()
    for batch in batches:
        meter.process(batch)
    gc.collect()
    print(json.dumps({"open": len(meter), "bytes": _rss() - base}))


def open_memory(packets: int) -> int:
    import subprocess

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    print(
        "| shape | open connections | C slot table | C code, Conn objects (`WARDWATCH_FLOWS_SLOTS=0`) | Python fallback |"
    )
    print("|---|---|---|---|---|")
    for shape in ("pp1", "synflood", "udpscan"):
        pcap = OUT_DIR / f"storm-{shape}-{packets}.pcap"
        generate(shape, packets, pcap)
        cells = []
        for python, slots in (("0", "1"), ("0", "0"), ("1", "0")):
            env = dict(os.environ, WARDWATCH_FLOWS_PYTHON=python, WARDWATCH_FLOWS_SLOTS=slots)
            done = subprocess.run(
                [sys.executable, __file__, "--child-open-memory", str(pcap)],
                env=env,
                capture_output=True,
                check=True,
            )
            r = json.loads(done.stdout)
            cells.append(r)
        print(
            f"| {shape} | {cells[0]['open']:,} | "
            + " | ".join(
                f"{c['bytes'] / c['open']:,.0f} B each, {c['bytes'] / c['open'] * 1e5 / 2**20:.0f} MiB per 100k"
                for c in cells
            )
            + " |"
        )
    return 0


def _measure_with(cmd: list[str], var: str, value: str) -> dict:
    """measure() with one environment variable set (measure passes os.environ on)."""
    old = os.environ.get(var)
    os.environ[var] = value
    try:
        return measure(cmd)
    finally:
        if old is None:
            del os.environ[var]
        else:
            os.environ[var] = old


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--open-memory", action="store_true", help="memory per open connection instead (see above)"
    )
    ap.add_argument("--child-open-memory", metavar="PCAP", help=argparse.SUPPRESS)
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1, help="sensor workers (0: one per core)")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument(
        "--compare-slots",
        action="store_true",
        help="also time the sensor with WARDWATCH_FLOWS_SLOTS=0 (every connection a Conn), alternating",
    )
    ap.add_argument(
        "--before",
        metavar="PYTHONPATH",
        help="also time the sensor of another tree (a wardwatch package folder put first on PYTHONPATH, "
        "e.g. a copy without the change under test), alternating",
    )
    args = ap.parse_args()
    if args.child_open_memory:
        _child_open_memory(args.child_open_memory)
        return 0
    if args.open_memory:
        return open_memory(args.packets)
    exe = wardwatch_exe()
    base = [exe] if exe else [sys.executable, "-m", "wardwatch.cli"]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    for shape in args.shapes.split(","):
        pcap = OUT_DIR / f"storm-{shape}-{args.packets}.pcap"
        conns = generate(shape, args.packets, pcap)
        ww_cmd = [*base, "sensor", "--workers", str(args.workers), "--pcap", str(pcap), "--out", "/dev/null"]
        ts_cmd = ["tshark", "-r", str(pcap), *TSHARK]
        pcap.read_bytes()  # page cache
        ww, ts, objs, before = [], [], [], []
        for _ in range(args.runs):  # alternating: the machine's noise falls on all of them
            ww.append(measure(ww_cmd))
            if args.compare_slots:
                objs.append(_measure_with(ww_cmd, "WARDWATCH_FLOWS_SLOTS", "0"))
            if args.before:
                before.append(_measure_with(ww_cmd, "PYTHONPATH", args.before))
            ts.append(measure(ts_cmd))
        for r in ww + ts + objs + before:
            if r["exit"] != 0:
                raise SystemExit(f"{shape}: a command failed: {r['stderr'][-1500:]}")
        w, t = min(ww, key=lambda r: r["seconds"]), min(ts, key=lambda r: r["seconds"])
        row = {
            "shape": shape, "packets": args.packets, "connections": conns,
            "wardwatch": {k: w[k] for k in ("seconds", "cpu_seconds", "max_rss_mib")},
            "tshark": {k: t[k] for k in ("seconds", "cpu_seconds", "max_rss_mib")},
        }  # fmt: skip
        for name, runs in (("wardwatch_no_slots", objs), ("wardwatch_before", before)):
            if runs:
                o = min(runs, key=lambda r: r["seconds"])
                row[name] = {k: o[k] for k in ("seconds", "cpu_seconds", "max_rss_mib")}
        rows.append(row)
    (OUT_DIR / "bench_storm.json").write_text(json.dumps(rows, indent=1) + "\n")
    extra = (" wardwatch, SLOTS=0 |" if args.compare_slots else "") + (
        " wardwatch, before |" if args.before else ""
    )
    print(
        f"| shape | connections | wardwatch sensor (workers {args.workers}) |{extra} tshark -T fields | packets/s ratio (wall) | CPU ratio |"
    )
    print("|---|---|---|---|---|---|" + "---|" * extra.count("|"))

    def cell(m: dict) -> str:
        return f"{m['seconds']:.2f} s, {m['cpu_seconds']:.2f} CPU s, {m['max_rss_mib']:.0f} MiB"

    for r in rows:
        w, t = r["wardwatch"], r["tshark"]
        objs_cell = "".join(
            f" {cell(r[name])} |" for name in ("wardwatch_no_slots", "wardwatch_before") if name in r
        )
        print(
            f"| {r['shape']} | {r['connections']:,} | {cell(w)} |{objs_cell} {cell(t)}"
            f" | {t['seconds'] / w['seconds']:.2f}× | {t['cpu_seconds'] / w['cpu_seconds']:.2f}× |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
