#!/usr/bin/env python3
"""Behavioural detectors benchmark: records per second with all six on, and memory for many hosts.

    python bench/bench_behaviour.py                 # 300k records, 100k active hosts
    python bench/bench_behaviour.py --records 1000000 --hosts 100000

Builds a synthetic record stream (70% conn, 30% dns; inside hosts talking to internet and inside
servers; a share of NXDOMAIN answers, failed probes and random names) and times ``detect`` of every
behavioural detector over it through ``Batch`` (addresses resolved by a SegmentMap, as in the
engine), in batches of 4096. The detectors alone are timed: the engine's merging is issue 4's bench.
Memory: tracemalloc's peak of the detectors' state after the stream, with ``--hosts`` distinct
inside hosts. One process, one core. Rates are given from wall time and from the process's CPU
time (``time.process_time``): on a shared machine the second is the per-core figure. Writes
bench/out/bench_behaviour.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"


def records(n: int, hosts: int, seed: int = 1) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    names = [f"www.site{i}.com" for i in range(5000)] + [f"cdn{i}.example.net" for i in range(2000)]
    for i in range(n):
        h = rnd.randrange(hosts)
        src = f"10.{64 + h // 65536}.{(h // 256) % 256}.{h % 256}"
        ts = 1_700_000_000.0 + i * 0.01
        if rnd.random() < 0.3:
            nx = rnd.random() < 0.05
            q = (
                rnd.choice(names)
                if not nx
                else "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12)) + ".com"
            )
            out.append({"_path": "dns", "ts": ts, "uid": f"D{i}", "id.orig_h": src, "id.orig_p": 5000 + i % 60000,
                        "id.resp_h": "10.40.0.53", "id.resp_p": 53, "proto": "udp", "query": q, "qtype_name": "A",
                        "rcode_name": "NXDOMAIN" if nx else "NOERROR"})  # fmt: skip
        else:
            ext = rnd.random() < 0.6
            dst = (
                f"198.51.{rnd.randrange(256)}.{rnd.randrange(256)}"
                if ext
                else f"10.40.0.{rnd.randrange(1, 50)}"
            )
            probe = rnd.random() < 0.03
            out.append({"_path": "conn", "ts": ts, "uid": f"C{i}", "id.orig_h": src, "id.orig_p": 40000,
                        "id.resp_h": dst, "id.resp_p": rnd.choice((443, 80, 8080, 445, 3389)) if not probe else rnd.randrange(1, 65535),
                        "proto": "tcp", "conn_state": "S0" if probe else "SF", "history": "S" if probe else "ShADadFf",
                        "orig_bytes": 0 if probe else rnd.randrange(200, 200_000), "resp_bytes": 0 if probe else 5000,
                        "orig_pkts": 1 if probe else 10, "resp_pkts": 0 if probe else 10})  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--hosts", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    from wardwatch.detectors.base import Batch
    from wardwatch.detectors.behaviour import build_behaviour

    from wardwatch.segments import SegmentMap

    recs = records(args.records, args.hosts)
    seg = SegmentMap([("hosts", ["10.64.0.0/10"], "clinical", 3), ("servers", ["10.40.0.0/24"], "server", 3)])
    seg.annotators.append(lambda i: setattr(i, "resolver", i.ip == "10.40.0.53"))
    batches = [recs[i : i + 4096] for i in range(0, len(recs), 4096)]
    rates = []
    cpu_rates = []
    per: dict[str, float] = {}
    alerts = 0
    for run in range(args.runs):
        dets = build_behaviour()
        if run == args.runs - 1:
            tracemalloc.start()
        spent = dict.fromkeys(["batch"] + [d.name for d in dets], 0.0)
        t0 = time.perf_counter()
        c0 = time.process_time()
        for b in batches:
            t = time.perf_counter()
            batch = Batch(b, seg.info)
            batch.each("conn")
            batch.each("dns")  # the engine's share (address lookups), timed apart
            spent["batch"] += time.perf_counter() - t
            for d in dets:
                t = time.perf_counter()
                alerts += len(d.detect(batch))
                spent[d.name] += time.perf_counter() - t
        for d in dets:
            f = getattr(d, "flush", None)
            if f:
                f()
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if run == args.runs - 1:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            evicted = {d.name: d.evicted() for d in dets}
        if run < args.runs - 1 or args.runs == 1:  # the traced run is slower: rates from the others
            rates.append(len(recs) / dt)
            cpu_rates.append(len(recs) / cpu)
            per = {k: len(recs) / v for k, v in spent.items() if v}
    best = max(rates)
    detectors_only = len(recs) / sum(len(recs) / v for k, v in per.items() if k != "batch")
    res = {
        "records": len(recs),
        "hosts": args.hosts,
        "records_per_s": round(best),
        "records_per_cpu_s": round(max(cpu_rates)),
        "detectors_only_records_per_s": round(detectors_only),
        "per_detector_records_per_s": {k: round(v) for k, v in per.items()},
        "state_peak_mb_traced": round(peak / 1e6, 1),
        "evicted": evicted,
        "python": sys.version.split()[0],
        "note": "rates from the untraced runs; batch = Batch building and address lookups (the engine's share)",
    }
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "bench_behaviour.json").write_text(json.dumps(res, indent=2))
    print(
        "| records | hosts | records/s (batch + all six) | records/CPU-s (batch + all six) "
        "| records/s (six detectors only) | traced peak MB |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {len(recs)} | {args.hosts} | {best:,.0f} | {max(cpu_rates):,.0f} | {detectors_only:,.0f} "
        f"| {res['state_peak_mb_traced']} |"
    )
    print("per detector:", res["per_detector_records_per_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
