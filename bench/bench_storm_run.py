#!/usr/bin/env python3
"""``wardwatch run`` in a storm: every capture shape of ``tools/gen_storm.py`` through the whole job on
the embedded default (sensor, every detector, the chdb store), beside ``tshark -T fields`` (the peer,
the same command as bench_storm.py), alternating, best wall of ``--runs``; each run on a fresh store.

    python bench/bench_storm_run.py [--packets 300000] [--runs 2] [--shapes pp1,synflood]

The config is a hospital's lab-style one: segments (the storms' sources in ``wards``, a clinical
segment; their targets in ``his`` and ``servers``), the resolver, no feeds (nothing to fetch here).
Prints a markdown table and writes bench/out/bench_storm_run.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_sensor import OUT_DIR, measure, wardwatch_exe  # noqa: E402
from bench_storm import TSHARK  # noqa: E402
from wardwatch.tools.gen_storm import SHAPES, generate  # noqa: E402

CONFIG = """data_dir: {data}
segments:
  - {{name: his, cidrs: [10.10.0.0/24], zone: his, criticality: high}}
  - {{name: wards, cidrs: [10.20.0.0/22], zone: clinical, criticality: high}}
  - {{name: office, cidrs: [10.30.0.0/24], zone: admin, criticality: medium}}
  - {{name: servers, cidrs: [10.40.0.0/24], zone: server, criticality: high}}
  - {{name: guest-wifi, cidrs: [172.16.0.0/20], zone: guest, criticality: low}}
detectors:
  dns_bypass: {{resolvers: [10.40.0.53]}}
sensor: {{workers: {workers}}}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="sensor workers (0: one per core)")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    args = ap.parse_args()
    exe = wardwatch_exe()
    base = [exe] if exe else [sys.executable, "-m", "wardwatch.cli"]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-storm-run-") as tmp:
        for shape in args.shapes.split(","):
            pcap = OUT_DIR / f"storm-{shape}-{args.packets}.pcap"
            conns = generate(shape, args.packets, pcap)
            pcap.read_bytes()  # page cache
            ww, ts = [], []
            for i in range(args.runs):  # alternating: the machine's noise falls on both
                run_dir = Path(tmp) / f"{shape}-{i}"
                run_dir.mkdir()
                cfg = run_dir / "lab.yaml"
                cfg.write_text(CONFIG.format(data=run_dir / "var", workers=args.workers))
                ww.append(measure([*base, "run", "--quiet", "--pcap", str(pcap), "--config", str(cfg)]))
                shutil.rmtree(run_dir / "var", ignore_errors=True)
                ts.append(measure(["tshark", "-r", str(pcap), *TSHARK]))
            for r in ww + ts:
                if r["exit"] != 0:
                    raise SystemExit(f"{shape}: a command failed: {r['stderr'][-1500:]}")
            w, t = min(ww, key=lambda r: r["seconds"]), min(ts, key=lambda r: r["seconds"])
            rows.append({
                "shape": shape, "packets": args.packets, "connections": conns,
                "wardwatch_run": {k: w[k] for k in ("seconds", "cpu_seconds", "max_rss_mib")},
                "tshark": {k: t[k] for k in ("seconds", "cpu_seconds", "max_rss_mib")},
            })  # fmt: skip
    (OUT_DIR / "bench_storm_run.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(
        f"| shape | connections | wardwatch run (workers {args.workers}) | tshark -T fields | ratio (wall) | CPU ratio |"
    )
    print("|---|---|---|---|---|---|")

    def cell(m: dict) -> str:
        return f"{m['seconds']:.2f} s, {m['cpu_seconds']:.2f} CPU s, {m['max_rss_mib']:.0f} MiB"

    for r in rows:
        w, t = r["wardwatch_run"], r["tshark"]
        print(
            f"| {r['shape']} | {r['connections']:,} | {cell(w)} | {cell(t)}"
            f" | {t['seconds'] / w['seconds']:.2f}× | {t['cpu_seconds'] / w['cpu_seconds']:.2f}× |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
