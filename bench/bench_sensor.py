#!/usr/bin/env python3
"""Sensor benchmark: ``wardwatch sensor`` against ``tshark -T fields`` on the same capture.

    python bench/bench_sensor.py                     # generates a 300k-packet mixed capture first
    python bench/bench_sensor.py --pcap F --runs 5   # or measures an existing capture

Both are whole commands in fresh processes, measured by wall time (best of ``--runs``) and peak
memory (max RSS of the child from ``os.wait4``). The capture is read once beforehand so both
start from the page cache. Prints a markdown table and writes bench/out/bench_sensor.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"

# The DNS fields wardwatch extracts, as tshark names them.
TSHARK_FIELDS = [
    "frame.number",
    "ip.src",
    "ip.dst",
    "dns.id",
    "dns.qry.name",
    "dns.qry.type",
    "dns.flags.rcode",
    "dns.a",
    "dns.aaaa",
    "dns.cname",
    "dns.resp.ttl",
]


def tshark_cmd(pcap: Path) -> list[str]:
    cmd = ["tshark", "-r", str(pcap), "-T", "fields"]
    for name in TSHARK_FIELDS:
        cmd += ["-e", name]
    return cmd


def wardwatch_exe() -> str | None:
    """The installed ``wardwatch`` script of this interpreter.

    Not whatever ``wardwatch`` PATH finds first: on a pyenv machine that is a bash shim which runs
    ``pyenv exec`` before Python starts, ~0.06 s of every run that is no part of the sensor (tshark
    is run directly too)."""
    beside = Path(sys.executable).parent / "wardwatch"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("wardwatch")


def wardwatch_cmd(pcap: Path) -> list[str]:
    exe = wardwatch_exe()
    base = [exe] if exe else [sys.executable, "-m", "wardwatch.cli"]
    return [*base, "sensor", "--pcap", str(pcap), "--out", "/dev/null"]


def measure(cmd: list[str]) -> dict:
    """One run in a fresh process: wall seconds, max RSS of that child, exit code, stderr."""
    started = time.perf_counter()
    # An installed wardwatch runs from compiled bytecode; some shells here set PYTHONDONTWRITEBYTECODE,
    # which would make every run recompile the sources (~0.1 s) and measure that instead.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    err = proc.stderr.read()  # the sensor's summary is small; tshark's stderr is one warning line
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": wall,
        "max_rss_mib": usage.ru_maxrss / 1024,
        "exit": proc.returncode,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "stderr": err.decode(errors="replace"),
    }


def best_of(cmd: list[str], runs: int) -> dict:
    results = [measure(cmd) for _ in range(runs)]
    failed = [r for r in results if r["exit"] != 0]
    if failed:
        raise SystemExit(
            f"command failed ({failed[0]['exit']}): {' '.join(cmd)}\n{failed[0]['stderr'][-2000:]}"
        )
    best = min(results, key=lambda r: r["seconds"])
    return {
        "seconds": best["seconds"],
        "cpu_seconds": best["cpu_seconds"],
        "max_rss_mib": max(r["max_rss_mib"] for r in results),
        "all_seconds": [round(r["seconds"], 3) for r in results],
        "stderr": best["stderr"],
    }


def count_packets(pcap: Path) -> int:
    sidecar = pcap.with_name(pcap.name + ".json")
    if sidecar.exists():
        return int(json.loads(sidecar.read_text())["packets"])
    out = subprocess.run(
        ["capinfos", "-M", "-c", "-T", "-r", str(pcap)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.split("\t")[-1])


def sensor_summary(stderr: str) -> dict:
    """The JSON summary line the sensor prints last on stderr (records per log, counters)."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {}


def machine() -> dict:
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    tshark = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {
        "cpus": os.cpu_count(),
        "mem_mib": mem,
        "python": platform.python_version(),
        "tshark": tshark,
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pcap", type=Path, help="capture to measure (default: generate one with gen_mixed.py)")
    p.add_argument("--packets", type=int, default=300_000, help="size of the generated capture")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=3, help="runs per command; the best wall time is kept")
    p.add_argument("--json", type=Path, default=OUT_DIR / "bench_sensor.json")
    args = p.parse_args(argv)

    pcap = args.pcap
    if pcap is None:
        pcap = OUT_DIR / f"mixed-{args.packets}-s{args.seed}.pcap"
        if not pcap.exists():
            subprocess.run(
                [
                    sys.executable,
                    str(HERE.parent / "tools" / "gen_mixed.py"),
                    "--packets",
                    str(args.packets),
                    "--seed",
                    str(args.seed),
                    "--out",
                    str(pcap),
                ],
                check=True,
            )
    packets = count_packets(pcap)
    with open(pcap, "rb") as f:  # warm the page cache so that neither side pays for the disk
        while f.read(1 << 24):
            pass

    rows = {}
    for name, cmd in (
        ("tshark -T fields (DNS fields)", tshark_cmd(pcap)),
        ("wardwatch sensor", wardwatch_cmd(pcap)),
    ):
        r = best_of(cmd, args.runs)
        r["packets_per_s"] = packets / r["seconds"]
        r["command"] = " ".join(cmd)
        rows[name] = r
    tshark, ours = rows.values()
    ratio = ours["packets_per_s"] / tshark["packets_per_s"]
    summary = sensor_summary(ours.pop("stderr"))
    tshark.pop("stderr")

    print(
        f"capture: {pcap} ({packets} packets, {pcap.stat().st_size / 2**20:.0f} MiB), best of {args.runs} runs\n"
    )
    print("| command | wall s | packets/s | CPU s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['seconds']:.2f} | {r['packets_per_s']:,.0f} | {r['cpu_seconds']:.2f} | {r['max_rss_mib']:.0f} |"
        )
    print(f"\nwardwatch / tshark packets/s: {ratio:.1f}x (target >= 10x)")
    if summary:
        print(f"records: {summary.get('records')}")

    result = {
        "capture": str(pcap),
        "packets": packets,
        "bytes": pcap.stat().st_size,
        "runs": args.runs,
        "machine": machine(),
        "results": rows,
        "ratio": ratio,
        "sensor_summary": summary,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
