"""CPU seconds of the detector Engine over a storm's sensor records (issue 17).

Reads sensor JSON lines (``wardwatch sensor --workers 1 --out FILE --pcap bench/out/storm-*.pcap``)
and runs ``Engine.from_config`` over batches of ``--batch`` records, as the sensor hands them over.
Prints the process CPU seconds and the number of alerts; ``--profile`` prints cProfile's top entries.

    .venv/bin/python bench/bench_detect_storm.py /tmp/rr/dnsf.jsonl /tmp/rr/lab.yaml
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time

import orjson
from wardwatch.detectors.engine import Engine

from wardwatch.config import load_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", help="sensor JSON lines")
    ap.add_argument("config", help="wardwatch YAML config")
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's top N")
    a = ap.parse_args()
    with open(a.records, "rb") as f:
        recs = [orjson.loads(line) for line in f]
    eng = Engine.from_config(load_config(a.config))
    alerts: list[object] = []
    # as in `wardwatch run`, where the sensor calms the collector (ingest/sensor.py _calm_gc)
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)

    def go() -> None:
        for i in range(0, len(recs), a.batch):
            alerts.extend(eng.process(recs[i : i + a.batch]) or [])

    t = time.process_time()
    if a.profile:
        prof = cProfile.Profile()
        prof.runcall(go)
        pstats.Stats(prof).sort_stats("tottime").print_stats(a.profile)
    else:
        go()
    print(f"records {len(recs)} alerts {len(alerts)} detect CPU s {time.process_time() - t:.3f}")


if __name__ == "__main__":
    main()
