#!/usr/bin/env python3
"""Memory of the sensor over a long scan with the caps in force (issue 17: "RSS flat over a 10 M packet
scan"): ``wardwatch sensor --workers 1`` on a ``tools/gen_storm.py`` capture of ``--packets`` frames
and, in the same run, on one of ``--small`` frames, both with ``sensor.flows.max_flows`` set to
``--max-flows`` so that eviction (the cap) is what bounds the connection table. The process's anonymous RSS (its
own memory; the mapped capture's pages are reported apart) is sampled from /proc every 0.2 s; the table gives the peak and the RSS at each quarter of the run, and
the eviction counters from the run summary.

    python bench/bench_storm_rss.py [--shape pp1] [--packets 10000000] [--small 1000000] [--max-flows 50000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_sensor import OUT_DIR, wardwatch_exe  # noqa: E402
from wardwatch.tools.gen_storm import SHAPES, generate  # noqa: E402


def _rss_kib(pid: int) -> tuple[int, int]:
    """(anonymous, file-backed) resident KiB: the capture is read through mmap, and its pages in the
    page cache count as the process's RSS while mapped, though the kernel drops them at will."""
    anon = file = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
                elif line.startswith("RssFile:") or line.startswith("RssShmem:"):
                    file += int(line.split()[1])
    except OSError:
        pass
    return anon, file


def run(cmd: list[str]) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int, int]] = []
    while proc.poll() is None:
        anon, file = _rss_kib(proc.pid)
        if anon:
            samples.append((time.perf_counter() - started, anon, file))
        time.sleep(0.2)
    err = proc.stderr.read() if proc.stderr else ""
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    quarters = []
    for q in (0.25, 0.5, 0.75, 1.0):
        before = [anon for t, anon, _ in samples if t <= q * wall]
        quarters.append(before[-1] / 1024 if before else 0.0)
    summary: dict = {}
    for line in err.splitlines():
        if line.startswith("{"):
            summary = json.loads(line)  # the run summary's counters (the last JSON line on stderr)
    counters = summary.get("counters", {})
    evicted = {f"{group}.{k}": v for group, kv in counters.items() for k, v in kv.items() if "evict" in k}
    return {"seconds": wall, "peak_mib": max(a for _, a, _ in samples) / 1024 if samples else 0.0,
            "peak_file_mib": max(f for _, _, f in samples) / 1024 if samples else 0.0,
            "quarters_mib": quarters, "evicted": evicted, "samples": len(samples)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", default="pp1", choices=SHAPES)
    ap.add_argument("--packets", type=int, default=10_000_000)
    ap.add_argument("--small", type=int, default=1_000_000)
    ap.add_argument("--max-flows", type=int, default=50_000)
    args = ap.parse_args()
    exe = wardwatch_exe()
    base = [exe] if exe else [sys.executable, "-m", "wardwatch.cli"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-storm-rss-") as tmp:
        cfg = Path(tmp) / "caps.yaml"
        cfg.write_text(f"sensor: {{workers: 1, flows: {{max_flows: {args.max_flows}}}}}\n")
        for packets in (args.small, args.packets):
            pcap = OUT_DIR / f"storm-{args.shape}-{packets}.pcap"
            if not pcap.exists():
                generate(args.shape, packets, pcap)
            r = run(
                [
                    *base,
                    "sensor",
                    "--workers",
                    "1",
                    "--config",
                    str(cfg),
                    "--pcap",
                    str(pcap),
                    "--out",
                    "/dev/null",
                ]
            )
            rows.append({"shape": args.shape, "packets": packets, "max_flows": args.max_flows, **r})
    (OUT_DIR / "bench_storm_rss.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(
        "| capture | wall | peak anonymous RSS | anonymous RSS at 1/4, 1/2, 3/4, end of the run | peak file-backed RSS (the mapped capture) | evicted (run summary) |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        q = ", ".join(f"{x:.0f}" for x in r["quarters_mib"])
        ev = ", ".join(f"{k} {v:,}" for k, v in r["evicted"].items()) or "-"
        print(
            f"| {r['shape']} {r['packets']:,} packets, max_flows {r['max_flows']:,} | {r['seconds']:.1f} s"
            f" | {r['peak_mib']:.0f} MiB | {q} MiB | {r['peak_file_mib']:.0f} MiB | {ev} |"
        )
    small, big = rows
    print(
        f"peak anonymous RSS {big['packets']:,} / {small['packets']:,} packets: {big['peak_mib'] / small['peak_mib']:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
