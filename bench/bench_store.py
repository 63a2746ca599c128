"""Store benchmark: records/s written into chdb by ``wardwatch run``, store size per million records,
dashboard query latency.

1. ``wardwatch run --quiet`` (the CLI, in a subprocess) on a record-dense capture of ≥ 1M records
   (``gen_records.py``: DNS transactions and short connections, about one record per packet):
   end-to-end records/s, and the **store stage**: records / the time spent in the store writer
   (``store_seconds`` of the run's summary: Arrow conversion, dedup query, INSERT with its four
   materialized views).
2. The same capture again into the same store: every row is found already stored and skipped
   (the dedup path), and the row counts must not change.
3. The writer alone: the capture's sensor records decoded first and held in memory, then written
   by ``Store.writer(background=True)`` as ``wardwatch run`` does (Arrow conversion on the caller's
   thread, dedup and INSERT on the writer's thread) into an empty store: records / wall time from
   the first batch handed over to the end of ``flush``. This is the rate the store can absorb.
4. On-disk size of the store per million records (after ``OPTIMIZE … FINAL``) and the latency of
   the dashboards' typical queries over 24 h: top domains per segment, DNS per minute, top talkers.

    python bench/bench_store.py [--records 1000000] [--pcap FILE]
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
CONFIG = """data_dir: {data}
segments:
  - {{name: his, cidrs: [10.0.0.0/16], zone: his}}
  - {{name: wards, cidrs: [10.1.0.0/16, 192.168.0.0/16], zone: clinical}}
  - {{name: office, cidrs: [172.16.0.0/12], zone: admin}}
"""


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(pcap: Path, cfg: Path) -> dict[str, object]:
    t = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "run", "--quiet", "--pcap", str(pcap), "--config", str(cfg)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t
    summary: dict[str, object] = orjson.loads(p.stderr.strip().splitlines()[-1])
    summary["wall_seconds"] = round(wall, 3)
    return summary


def writer_alone(pcap: Path, cfg_text: str, tmp: Path) -> dict[str, object]:
    import gc

    from wardwatch.ingest.sensor import sense
    from wardwatch.store import open_store

    from wardwatch.config import parse_config
    from wardwatch.counters import Counters

    cfg = parse_config(cfg_text.format(data=tmp / "alone"), tmp / "alone.yaml")
    batches = list(sense([pcap], Counters()))
    n = sum(len(b) for b in batches)
    gc.collect()
    out: dict[str, object] = {"records": n}
    for background in (False, True):
        store = open_store(cfg)
        for tb in ("dns", "conn", "tls", "http", "login"):
            store.backend.execute(f"TRUNCATE TABLE {tb}")
        w = store.writer(Counters(), background=background)
        t, c = time.perf_counter(), time.process_time()
        for b in batches:
            w.add_records(b)
        w.flush()
        w.close()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        store.close()
        key = "background" if background else "same_thread"
        out[key] = {"seconds": round(wall, 3), "cpu_seconds": round(cpu, 3), "records_per_s": round(n / wall)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--pcap", default=None, help="default: bench/out/records-N-s1.pcap (generated)")
    ap.add_argument("--out", default=str(ROOT / "bench/out/bench_store.json"))
    args = ap.parse_args()
    pcap = Path(args.pcap or ROOT / f"bench/out/records-{args.records}-s1.pcap")
    if not pcap.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "tools/gen_records.py"), "--records", str(args.records),
             "--seed", "1", "--out", str(pcap)],
            check=True,
        )  # fmt: skip

    from wardwatch.store import open_store
    from wardwatch.store.backend import ts_text
    from wardwatch.store.query import DNS_PER_MINUTE, TOP_TALKERS, top_domains

    from wardwatch.config import parse_config

    tmp = Path(tempfile.mkdtemp(prefix="bench_store_"))
    cfg_path = tmp / "bench.yaml"
    cfg_path.write_text(CONFIG.format(data=tmp / "var"))
    result: dict[str, object] = {"pcap": str(pcap)}
    try:
        s = run(pcap, cfg_path)
        records = int(s["records"])  # type: ignore[call-overload]
        store_s = float(s["store_seconds"])  # type: ignore[arg-type]
        insert_s = float(s["insert_seconds"])  # type: ignore[arg-type]
        secs = float(s["seconds"])  # type: ignore[arg-type]
        result["run"] = {
            "records": records, "alerts": s["alerts"], "seconds": secs, "wall_seconds": s["wall_seconds"],
            "records_per_s_end_to_end": round(records / secs), "store_seconds": store_s,
            "store_records_per_s": round(records / store_s),
            "insert_thread_seconds": insert_s, "insert_thread_records_per_s": round(records / insert_s),
        }  # fmt: skip
        print("run:", result["run"], flush=True)
        s2 = run(pcap, cfg_path)
        dup = sum(dict(s2["duplicates_skipped"]).values())  # type: ignore[call-overload]
        result["rerun"] = {
            "seconds": s2["seconds"], "store_seconds": s2["store_seconds"], "duplicates_skipped": dup,
            "store_records_per_s": round(records / float(s2["store_seconds"])),  # type: ignore[arg-type]
            "insert_thread_seconds": s2["insert_seconds"],
        }  # fmt: skip
        print("rerun:", result["rerun"], flush=True)

        result["writer_alone"] = writer_alone(pcap, CONFIG, tmp)
        print("writer alone:", result["writer_alone"], flush=True)

        cfg = parse_config(cfg_path.read_text(), cfg_path)
        store = open_store(cfg)
        counts = {
            tb: int(store.rows(f"SELECT count() AS c FROM {tb}")[0]["c"]) for tb in ("dns", "conn", "alerts")
        }
        size_raw = du(Path(store.settings.chdb_path or tmp))
        for tb in ("dns", "conn", "pdns", "dns_minute", "talkers_minute", "alerts", "alerts_minute"):
            store.backend.execute(f"OPTIMIZE TABLE {tb} FINAL")
        # active parts only: OPTIMIZE leaves the merged-away parts on disk until a cleanup
        parts = store.rows(
            "SELECT table, sum(bytes_on_disk) AS b FROM system.parts WHERE active AND database = currentDatabase()"
            " GROUP BY table ORDER BY b DESC"
        )
        size = sum(int(r["b"]) for r in parts)
        lo = float(store.rows("SELECT toUnixTimestamp(min(ts)) AS t FROM dns")[0]["t"])
        window: dict[str, object] = {"since": ts_text(lo), "until": ts_text(lo + 86400), "n": 10}
        queries = {
            "top_domains_per_segment": lambda: top_domains(store, lo, lo + 86400, n=10),
            "dns_per_minute": lambda: store.rows(DNS_PER_MINUTE, window),
            "top_talkers": lambda: store.rows(TOP_TALKERS, window),
        }
        lat: dict[str, float] = {}
        for name, q in queries.items():
            q()
            times: list[float] = []
            for _ in range(7):
                t = time.perf_counter()
                q()
                times.append(time.perf_counter() - t)
            lat[name + "_24h_ms_median"] = round(statistics.median(times) * 1000, 1)
        store.close()
        result["store"] = {
            "rows": counts, "folder_bytes_before_merge": size_raw, "bytes_on_disk": size,
            "bytes_by_table": {r["table"]: int(r["b"]) for r in parts},
            "mib_per_million_records": round(size / (1 << 20) / (records / 1e6), 1), **lat,
        }  # fmt: skip
        print("store:", result["store"], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
