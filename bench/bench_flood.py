#!/usr/bin/env python3
"""Detection in a flood: merge before building (issue 17 item 4, detectors/hits.py).

A worm on the guest Wi-Fi opening a connection to a new HIS host or port with every packet (the storm
capture ``pp1`` of ``tools/gen_storm.py``, its sources put in a ``guest`` segment): the segmentation
rule fires for every connection, and the noise filter keeps one alert per key and window. The same
records go through a fresh ``Engine`` twice, alternating, best CPU of ``--runs``: as it runs (a finding
is built only when the merger keeps it) and, as the peer, with every finding built first (what the
engine did before: ``detect`` on each detector). Both must give the same alerts.

    python bench/bench_flood.py --packets 300000 --runs 5
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
CONFIG = """segments:
  - {name: his, cidrs: [10.10.0.0/24], zone: his, criticality: high}
  - {name: servers, cidrs: [10.40.0.0/24], zone: server, criticality: high}
  - {name: guest-wifi, cidrs: [10.20.0.0/22], zone: guest, criticality: low}
"""


def records(pcap: Path) -> list[list[dict[str, Any]]]:
    from wardwatch.ingest.sensor import SensorConfig, sense

    from wardwatch.counters import Counters

    return [b for b in sense([str(pcap)], Counters(), SensorConfig(workers=1)) if b]


def run(config: Any, batches: list[list[dict[str, Any]]], build_first: bool) -> tuple[float, list[Any], int]:
    from wardwatch.detectors import Engine
    from wardwatch.detectors.hits import built

    engine = Engine.from_config(config)
    if build_first:
        engine._raw = lambda batch: built([a for d in engine.detectors for a in d.detect(batch)])  # type: ignore[method-assign]
    gc.collect()
    c0 = time.process_time()
    out = []
    for b in batches:
        out += engine.process(b)
    out += engine.flush()
    cpu = time.process_time() - c0
    return cpu, [a.to_dict() for a in out], int(engine.counters["detect.raw_alerts"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from wardwatch.tools.gen_storm import main as gen_storm

    from wardwatch.config import parse_config

    pcap = OUT / f"storm-pp1-{args.packets}.pcap"  # bench_storm.py's file name
    if not pcap.exists():
        OUT.mkdir(exist_ok=True)
        gen_storm(["--shape", "pp1", "--packets", str(args.packets), "--out", str(pcap)])
    config = parse_config(CONFIG, OUT / "flood.yaml")
    batches = records(pcap)
    n = sum(len(b) for b in batches)
    best = {True: float("inf"), False: float("inf")}
    seen: dict[bool, list[Any]] = {}
    raw = 0
    for _ in range(args.runs):
        for build_first in (True, False):
            cpu, alerts, raw = run(config, batches, build_first)
            best[build_first] = min(best[build_first], cpu)
            seen[build_first] = alerts
    same = seen[True] == seen[False]
    print(f"{n:,} records, {raw:,} findings, {len(seen[False]):,} alerts; same alerts both ways: {same}")
    print(f"every finding built first : {best[True]:.2f} CPU s (detection + merging, best of {args.runs})")
    print(f"merge before building     : {best[False]:.2f} CPU s  ({best[True] / best[False]:.2f}x)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
