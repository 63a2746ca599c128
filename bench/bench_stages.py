#!/usr/bin/env python3
"""Per-stage time of the sensor, in one process: read, decode, flows, dns, app, expire/flush.

    python bench/bench_stages.py bench/out/mixed-300000-s1.pcap [--runs 7]

Prints the best CPU seconds (``time.process_time``) of each stage over the runs: CPU time, because
the machine may be shared while measuring.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from wardwatch.ingest.app import AppConfig, AppTracker
from wardwatch.ingest.capture import read_captures
from wardwatch.ingest.decode import DecodeConfig, Decoder
from wardwatch.ingest.dns import DnsConfig, DnsTracker
from wardwatch.ingest.flows import FlowConfig, FlowMeter

from wardwatch.counters import Counters


def one_run(path: str, batch_frames: int) -> dict[str, float]:
    c = Counters()
    spent: dict[str, float] = {}

    def timed(stage: str, fn: Callable[..., Any], *args: Any) -> Any:
        t = time.process_time()
        out = fn(*args)
        spent[stage] = spent.get(stage, 0.0) + time.process_time() - t
        return out

    decoder, meter = Decoder(c, DecodeConfig()), FlowMeter(c, FlowConfig())
    dns, app = DnsTracker(c, DnsConfig()), AppTracker(c, AppConfig())
    frames = iter(read_captures([path], c, batch_frames=batch_frames))
    while True:
        raw = timed("read", next, frames, None)
        if raw is None:
            break
        batch = timed("decode", decoder.decode, raw)
        assignment = timed("flows", meter.process, batch)
        timed("dns", dns.process, batch, assignment, meter)
        timed("app", app.process, batch, assignment, meter)
        now = float(batch.ts.max()) if len(batch) else 0.0
        timed("expire", lambda t=now: (dns.expire(t), app.expire(t), meter.expire(t)))
    timed("expire", lambda: (dns.flush(), app.flush(), meter.flush()))
    spent["total"] = sum(spent.values())
    return spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pcap")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--batch-frames", type=int, default=131072)
    args = ap.parse_args()
    runs = [one_run(args.pcap, args.batch_frames) for _ in range(args.runs)]
    best = {k: min(r[k] for r in runs) for k in runs[0]}
    print(f"| stage | CPU s (best of {args.runs}) |\n|---|---:|")
    for k, v in best.items():
        print(f"| {k} | {v:.3f} |")


if __name__ == "__main__":
    main()
