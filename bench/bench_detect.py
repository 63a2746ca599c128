#!/usr/bin/env python3
"""Detection benchmark: records per second through every detector of issue 4, after decoding.

    python bench/bench_detect.py                    # synthetic hospital capture, 6000 sessions
    python bench/bench_detect.py --sessions 20000 --runs 7

Generates the synthetic hospital capture (``wardwatch.tools.synth``), runs the sensor once to get its
records, then times ``Engine.process`` + ``flush`` over those records with every detector on (feed
matching against the synthetic feeds plus maltrail's trails-sample when ../shared/testdata has it,
remote access, OTT, plaintext, weak password, segmentation, airgap, DNS bypass, suppression and
merging). Each run uses a fresh engine, so the address and name caches start cold. One process, one
core. Prints a markdown table and writes bench/out/bench_detect.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT_DIR = HERE / "out"
TRAILS = ROOT.parent / "shared" / "testdata" / "maltrail" / "trails-sample"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=6000, help="normal sessions in the synthetic capture")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from wardwatch.detectors import Engine
    from wardwatch.ingest.sensor import sense
    from wardwatch.threatfeeds import load_index
    from wardwatch.tools.synth import generate

    from wardwatch.config import load_config
    from wardwatch.counters import Counters

    with tempfile.TemporaryDirectory() as tmp:
        r = generate(tmp, seed=args.seed, sessions=args.sessions)
        cfg_path = Path(r.config)
        if TRAILS.is_dir():
            import yaml

            doc = yaml.safe_load(cfg_path.read_text())
            doc["feeds"].append({"name": "trails-sample", "path": str(TRAILS), "format": "maltrail"})
            cfg_path.write_text(yaml.safe_dump(doc, sort_keys=False))
        config = load_config(cfg_path)
        t0 = time.perf_counter()
        batches = list(sense([r.pcap], Counters()))
        sensor_s = time.perf_counter() - t0
        index = load_index(config)
        records = sum(len(b) for b in batches)
        by_log = Counter(str(rec["_path"]) for b in batches for rec in b)

        times = []
        alerts = 0
        for _ in range(args.runs):
            engine = Engine.from_config(config, index)
            t0 = time.perf_counter()
            n = 0
            for b in batches:
                n += len(engine.process(b))
            n += len(engine.flush())
            times.append(time.perf_counter() - t0)
            alerts = n
        detectors = [d.name for d in engine.detectors]

    best = min(times)
    result = {
        "records": records,
        "records_by_log": dict(sorted(by_log.items())),
        "packets": r.frames,
        "alerts": alerts,
        "detectors": detectors,
        "feed_index": index.counts(),
        "runs_s": [round(t, 4) for t in times],
        "best_records_per_s": round(records / best),
        "median_records_per_s": round(records / sorted(times)[len(times) // 2]),
        "sensor_s": round(sensor_s, 3),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "bench_detect.json").write_text(json.dumps(result, indent=2) + "\n")
    print("| measure | result | target |")
    print("|---|---|---|")
    print(
        f"| records (synthetic hospital, {args.sessions} sessions) | {records:,} ({', '.join(f'{k} {v:,}' for k, v in by_log.items())}) | — |"
    )
    print(
        f"| detection, every detector on, best of {args.runs} | {result['best_records_per_s']:,} records/s | ≥ 200,000 |"
    )
    print(f"| detection, median | {result['median_records_per_s']:,} records/s | — |")
    print(f"| alerts | {alerts} | — |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
