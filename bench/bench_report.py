"""Time to build the weekly report (``wardwatch report``: SQL, charts, HTML and the PDF) over one
week of a mid-size hospital, ≥ 40 M records, on the embedded store.

The week (ISO 2026-W10) is generated once with the dashboards benchmark's ``fill`` (ClickHouse's own
``INSERT … SELECT … FROM numbers()`` through the store's schema and materialized views; same mix of
logs, hosts and 40,000 alerts), its timestamps spread over the seven days instead of one, and cached
under ``--dir``:

    python bench/bench_report.py --dir /tmp/wardwatch-bench-report --records 40000000 --runs 3

Beside it, in the same run: the same report over an empty week (the fixed cost: fonts, templates,
WeasyPrint) and the store's plain ``count()`` of the week's rows (the floor of reading it at all).
Target: the report over the 40 M-record week in under 60 s.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_dashboards as dash  # noqa: E402  (its generator, reused)

TZ = "Asia/Ho_Chi_Minh"
WEEK = "2026-W10"
EMPTY = "2026-W20"


def _week_ts(start: int) -> Any:
    def ts(n: str) -> str:
        # 7919 is prime, so (n · 7919) mod 604800 visits every second of the week evenly
        return (
            f"fromUnixTimestamp64Micro(toInt64(({start} + ({n} * 7919) % 604800) * 1000000"
            f" + ({n} * 104729) % 1000000), 'UTC')"
        )

    return ts


def build(folder: Path, total: int) -> Path:
    """The cached week (``done-week-N`` marks a complete build)."""
    import shutil

    from wardwatch.report import iso_week
    from wardwatch.store import open_store

    from wardwatch.config import load_config

    folder.mkdir(parents=True, exist_ok=True)
    cfg = dash.config(folder)
    mark = folder / f"done-week-{total}"
    if mark.exists():
        return cfg
    shutil.rmtree(folder / "var", ignore_errors=True)
    dash._ts = _week_ts(int(iso_week(WEEK, TZ).start))  # one week instead of the dashboards' one day
    t0 = time.perf_counter()
    store = open_store(load_config(cfg))
    try:
        dash.fill(store, total)
    finally:
        store.close()
    mark.write_text(f"{time.perf_counter() - t0:.0f} s\n")
    return cfg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/wardwatch-bench-report"))
    ap.add_argument("--records", type=int, default=40_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    args = ap.parse_args()

    import wardwatch.report.settings  # noqa: F401  (declares the section)
    from wardwatch.report import build_report, iso_week
    from wardwatch.report.data import RECORD_TABLES
    from wardwatch.store import open_store

    from wardwatch.config import load_config

    t0 = time.perf_counter()
    cfg = build(args.dir, args.records)
    print(f"store ready in {time.perf_counter() - t0:.0f} s ({args.dir})", file=sys.stderr)
    config = load_config(cfg)
    store = open_store(config, create=False)
    week = iso_week(WEEK, TZ)
    out: dict[str, Any] = {"records": {}, "runs": args.runs}
    try:
        p = {"s": week.start, "e": week.end}
        inside = "ts >= toDateTime64({s:Float64}, 6) AND ts < toDateTime64({e:Float64}, 6)"
        for t in (*RECORD_TABLES, "alerts"):
            out["records"][t] = store.rows(f"SELECT count() AS n FROM {t} WHERE {inside}", p)[0]["n"]
        print(f"week {WEEK}: {out['records']}", file=sys.stderr)

        def timed(name: str, fn: Any) -> None:
            t = time.perf_counter()
            fn()  # the first run, cold (a fresh process; the OS may still cache the store's files)
            first = time.perf_counter() - t
            xs = []
            for _ in range(args.runs):
                t = time.perf_counter()
                fn()
                xs.append(time.perf_counter() - t)
            out[name] = {"first": first, "median": statistics.median(xs), "max": max(xs), "all": xs}
            print(
                f"{name:28s} first {first:7.2f} s  median {statistics.median(xs):7.2f} s  max {max(xs):7.2f} s",
                file=sys.stderr,
            )

        def counts() -> None:
            for t in RECORD_TABLES:
                store.rows(f"SELECT count() AS n FROM {t} WHERE {inside}", p)

        def full(period: Any) -> Any:
            def run() -> None:
                report = build_report(store.rows, config, period, "vi")
                pdf = args.dir / "report.pdf"
                pdf.write_bytes(report.pdf())
                info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
                m = re.search(r"Pages:\s+(\d+)", info)
                out.setdefault("pages", {})[period.label] = int(m.group(1)) if m else None

            return run

        def html_only() -> None:
            build_report(store.rows, config, week, "vi")

        timed("report pdf, 40 M week", full(week))  # first: its cold run is the Monday-morning case
        timed("count() of the week", counts)
        timed("report html (SQL + charts)", html_only)
        timed("report pdf, empty week", full(iso_week(EMPTY, TZ)))
    finally:
        store.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
