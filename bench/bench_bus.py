#!/usr/bin/env python3
"""Kafka bus benchmark: one producer → a real broker → one writer → chdb.

    python bench/bench_bus.py                          # starts a broker with deploy/kafka/broker.sh
    python bench/bench_bus.py --bootstrap HOST:PORT    # or uses a running one
    python bench/bench_bus.py --records 500000 --rate 20000 --seconds 30

1. Throughput: a producer process sends ``--records`` conn/dns records (shaped like the sensor's) as
   fast as it can while the writer (this process) stores them; records/s = records / (first send →
   last row stored). The same run without the store (decode only) shows what the bus alone carries.
2. Latency: the producer sends at a steady ``--rate`` records/s for ``--seconds``, each record stamped
   with the wall time it was made (its "packet time"); the writer notes when the insert holding it
   returned. p50/p99/max of the difference.

Prints a markdown table and writes bench/out/bench_bus.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT_DIR = HERE / "out"
sys.path.insert(0, str(ROOT))

_PRODUCER = r"""
import sys, time, random
from wardwatch.bus.producer import KafkaBus
from wardwatch.bus.settings import bus_settings
from wardwatch.config import load_config
cfg, n, rate, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
bus = KafkaBus(bus_settings(load_config(cfg)))
rnd = random.Random(start)
def rec(i, ts):
    h = f"10.20.{i % 4}.{i % 250 + 1}"
    if i % 3 == 0:
        return {"_path": "dns", "ts": ts, "uid": f"B{i:015d}", "id.orig_h": h, "id.orig_p": 40000 + i % 20000,
                "id.resp_h": "10.40.0.53", "id.resp_p": 53, "proto": "udp", "trans_id": i % 65536, "rtt": 0.002,
                "query": f"host{i % 5000}.example.vn", "qclass": 1, "qclass_name": "C_INTERNET", "qtype": 1,
                "qtype_name": "A", "rcode": 0, "rcode_name": "NOERROR", "AA": False, "TC": False, "RD": True,
                "RA": True, "Z": 0, "answers": ["10.40.0.25"], "TTLs": [300.0], "rejected": False}
    return {"_path": "conn", "ts": ts, "uid": f"B{i:015d}", "id.orig_h": h, "id.orig_p": 40000 + i % 20000,
            "id.resp_h": "10.40.0.25", "id.resp_p": 443, "proto": "tcp", "service": "ssl", "duration": 0.5,
            "orig_bytes": 1200, "resp_bytes": 48000, "conn_state": "SF", "missed_bytes": 0, "history": "ShADadFf",
            "orig_pkts": 12, "orig_ip_bytes": 1800, "resp_pkts": 40, "resp_ip_bytes": 50000}
t0 = time.time()
print(f"start {t0}", flush=True)
batch = 2000 if rate <= 0 else max(1, int(rate / 20))   # 20 batches a second when paced
i = start
while i < start + n:
    m = min(batch, start + n - i)
    now = time.time()
    bus.add_records([rec(j, now) for j in range(i, i + m)])
    i += m
    if rate > 0:
        delay = t0 + (i - start) / rate - time.time()
        if delay > 0:
            time.sleep(delay)
bus.flush(timeout=300)
print(f"sent {time.time()} {bus.counters.get('bus.records_sent', 0)}", flush=True)
bus.close()
"""


def _config(tmp: Path, bootstrap: str, name: str) -> Path:
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(
        f"data_dir: {tmp / name}\n"
        f"kafka: {{bootstrap: '{bootstrap}', topic_prefix: bench{name}{os.getpid()}, group: bench-{name}-{os.getpid()},"
        " partitions: 3, linger: 20ms, batch_records: 1000, writer: {max_records: 100000, max_wait: 200ms}}\n"
        "store: {sensor: bench}\n"
    )
    return cfg


def _run(cfg: Path, n: int, rate: float, start: int, store: bool) -> dict[str, Any]:
    """Producer subprocess + writer here until ``n`` records are stored; latencies per record."""
    from wardwatch.bus.settings import bus_settings
    from wardwatch.store import open_store
    from wardwatch.store.consumer import BusWriter

    from wardwatch.config import load_config
    from wardwatch.counters import Counters

    config = load_config(cfg)
    settings = bus_settings(config)
    assert settings is not None
    lat: list[np.ndarray] = []
    got = 0
    last = 0.0

    def on_insert(ts: np.ndarray, now: float) -> None:
        nonlocal got, last
        got += len(ts)
        last = now
        lat.append(now - ts)

    class _Discard:
        def add_records(self, records: Any) -> None:
            pass

        def add_arrow(self, log: str, records: Any) -> None:  # the writer's Arrow decode path, as with chdb
            pass

        def add_alerts(self, alerts: Any, retro: bool = False) -> None:
            pass

        def flush(self) -> None:
            pass

    st = open_store(config) if store else None
    counters = Counters()
    sink = st.writer(counters) if st is not None else _Discard()
    writer = BusWriter(settings, sink, counters, on_insert=on_insert)
    joined = time.monotonic()
    while not writer.consumer.assignment():  # join the group before the clock starts
        writer.cycle()
        if time.monotonic() - joined > 20:
            writer.reconnect()
            joined = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", _PRODUCER, str(cfg), str(n), str(rate), str(start)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    t0 = float(proc.stdout.readline().split()[1])
    deadline = time.time() + 600
    while got < n and time.time() < deadline:
        writer.cycle()
    out = proc.stdout.read()
    proc.wait()
    sent_at = float(out.split()[1]) if out.startswith("sent") else float("nan")
    writer.close()
    if st is not None:
        st.close()
    lats = np.concatenate(lat) if lat else np.zeros(1)
    return {
        "records": got,
        "seconds": last - t0,
        "records_per_s": got / (last - t0) if last > t0 else 0.0,
        "producer_seconds": sent_at - t0,
        "producer_records_per_s": n / (sent_at - t0) if sent_at > t0 else 0.0,
        "latency_p50_ms": float(np.percentile(lats, 50) * 1000),
        "latency_p99_ms": float(np.percentile(lats, 99) * 1000),
        "latency_max_ms": float(lats.max() * 1000),
    }


def _phase(argv: list[str]) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, timeout=900, check=True
    )
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", help="a running broker (default: start one with deploy/kafka/broker.sh)")
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--rate", type=float, default=20_000, help="records/s for the latency run")
    ap.add_argument("--seconds", type=float, default=30, help="length of the latency run")
    ap.add_argument("--phase", choices=("busonly", "through", "steady"), help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        # each measurement in a fresh process: one writer (consumer group member) per process, as deployed
        rate = args.rate if args.phase == "steady" else 0
        start = 10**9 if args.phase == "steady" else 0
        res = _run(
            _config(Path(args.tmp), args.bootstrap, args.phase),
            args.records,
            rate,
            start,
            args.phase != "busonly",
        )
        print(json.dumps(res))
        return 0
    OUT_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-bus-") as tmpdir:
        tmp = Path(tmpdir)
        broker_dir = tmp / "broker"
        bootstrap = args.bootstrap
        if bootstrap is None:
            res = subprocess.run(
                ["bash", str(ROOT / "deploy/kafka/broker.sh"), "start", str(broker_dir)],
                capture_output=True,
                text=True,
                check=True,
            )
            bootstrap = res.stdout.strip().splitlines()[-1]
        try:
            common = ["--bootstrap", bootstrap, "--tmp", str(tmp)]
            bus_only = _phase(["--phase", "busonly", "--records", str(args.records), *common])
            through = _phase(["--phase", "through", "--records", str(args.records), *common])
            steady = _phase(
                [
                    "--phase",
                    "steady",
                    "--records",
                    str(int(args.rate * args.seconds)),
                    "--rate",
                    str(args.rate),
                    *common,
                ]
            )
        finally:
            if args.bootstrap is None:
                subprocess.run(
                    ["bash", str(ROOT / "deploy/kafka/broker.sh"), "stop", str(broker_dir)], check=False
                )
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "bus_only": bus_only,
        "end_to_end": through,
        "steady": {"rate": args.rate, "seconds": args.seconds, **steady},
    }
    (OUT_DIR / "bench_bus.json").write_text(json.dumps(result, indent=2))
    print("| measure | value |\n|---|---|")
    print(
        f"| producer alone (records/s into the broker, acks=all, lz4) | {through['producer_records_per_s']:,.0f} |"
    )
    print(
        f"| producer → broker → writer, decode only (no store) | {bus_only['records_per_s']:,.0f} records/s |"
    )
    print(
        f"| producer → broker → writer → chdb, {through['records']:,} records | {through['records_per_s']:,.0f} records/s |"
    )
    print(
        f"| latency packet time → row stored at {args.rate:,.0f} records/s for {args.seconds:.0f} s |"
        f" p50 {steady['latency_p50_ms']:.0f} ms, p99 {steady['latency_p99_ms']:.0f} ms, max {steady['latency_max_ms']:.0f} ms |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
