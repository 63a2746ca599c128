"""Store benchmark: records/s written into chdb, store size per million records, dashboard query latency.

1. ``wardwatch run`` end to end on a mixed capture (sensor → detectors → chdb): wall time, and the time
   spent in the store writer (``store_seconds``).
2. The writer alone on ≥ 1M records: the capture's sensor records replayed with shifted times and
   uids (so every copy is new, and the dedup lookup runs as it does on live data) until N records.
3. On-disk size of the store per million records; latency of top domains per segment over 24 h.

    python bench/bench_store.py [--pcap bench/out/mixed-300000-s1.pcap] [--records 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pcap", default=str(ROOT / "bench/out/mixed-300000-s1.pcap"))
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--out", default=str(ROOT / "bench/out/bench_store.json"))
    args = ap.parse_args()
    pcap = Path(args.pcap)
    if not pcap.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench/gen_mixed.py"),
                "--packets",
                "300000",
                "--seed",
                "1",
                "--out",
                str(pcap),
            ],
            check=True,
        )

    from wardwatch.ingest.sensor import sense

    from wardwatch.config import parse_config
    from wardwatch.counters import Counters
    from wardwatch.pipeline import run_pipeline
    from wardwatch.store import open_store
    from wardwatch.store.query import top_domains

    tmp = Path(tempfile.mkdtemp(prefix="bench_store_"))
    cfg_text = (
        "data_dir: var\nsegments:\n"
        "  - {name: his, cidrs: [10.0.0.0/16], zone: his}\n  - {name: wards, cidrs: [10.1.0.0/16, 192.168.0.0/16], zone: clinical}\n"
        "  - {name: office, cidrs: [172.16.0.0/12], zone: admin}\n"
    )
    result: dict[str, object] = {"pcap": str(pcap)}
    try:
        cfg = parse_config(cfg_text, tmp / "e2e.yaml")
        store = open_store(cfg)
        s = run_pipeline([pcap], cfg, store, Counters())
        store.close()
        result["run"] = {
            "records": s.records, "alerts": s.alerts, "seconds": round(s.seconds, 3),
            "records_per_s": round(s.records / s.seconds), "store_seconds": round(s.store_seconds, 3),
            "store_records_per_s": round(s.records / s.store_seconds),
        }  # fmt: skip
        print("run:", result["run"], flush=True)

        base = [r for batch in sense([pcap], Counters()) for r in batch]
        cfg = parse_config(cfg_text.replace("data_dir: var", "data_dir: var2"), tmp / "w.yaml")
        store = open_store(cfg)
        w = store.writer(Counters())
        n = 0
        copy = 0
        span = max(r["ts"] for r in base) - min(r["ts"] for r in base) + 1
        t_total = 0.0
        while n < args.records:
            shift = copy * span
            recs = [{**r, "ts": r["ts"] + shift, "uid": f"{r.get('uid', '')}{copy}"} for r in base]
            t = time.perf_counter()
            w.add_records(recs)
            t_total += time.perf_counter() - t
            n += len(recs)
            copy += 1
        t = time.perf_counter()
        w.flush()
        t_total += time.perf_counter() - t
        store.backend.execute("OPTIMIZE TABLE dns FINAL")
        stored = sum(w.written.values())
        size = du(Path(store.settings.chdb_path or tmp))
        lo = min(r["ts"] for r in base)
        lat = []
        for _ in range(7):
            t = time.perf_counter()
            top_domains(store, lo, lo + 86400, n=10)
            lat.append(time.perf_counter() - t)
        dns_rows = store.rows("SELECT count() AS c FROM dns")[0]["c"]
        store.close()
        result["writer"] = {
            "records": n, "stored": stored, "seconds": round(t_total, 3), "records_per_s": round(n / t_total),
            "bytes_on_disk": size, "mib_per_million_records": round(size / (1 << 20) / (n / 1e6), 1),
            "top_domains_24h_ms_median": round(statistics.median(lat) * 1000, 1), "dns_rows": dns_rows,
        }  # fmt: skip
        print("writer:", result["writer"], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
