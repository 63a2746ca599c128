#!/usr/bin/env python3
"""Two installs of wardwatch side by side on the same capture: the sensor and the whole pipeline.

    python bench/bench_compare.py --before /path/to/venv-a/bin/python --after .venv/bin/python \\
        --pcap bench/out/mixed-300000-s1.pcap --runs 5

For a change that must not cost speed (a refactor, a move of files): each run alternates the two
interpreters, so the machine's noise falls on both alike. ``sensor`` is ``wardwatch sensor --out
/dev/null``; ``run`` is ``wardwatch run --quiet`` into a fresh embedded store with a config of a few
segments (the synthetic hospital's). Best and median wall time and CPU time of the child are printed
as a markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

CONFIG = """\
data_dir: {data}
segments:
  - {{name: his, cidrs: [10.0.0.0/16], zone: his, criticality: critical}}
  - {{name: office, cidrs: [10.1.0.0/16], zone: admin, criticality: medium}}
  - {{name: guest, cidrs: [172.16.0.0/12], zone: guest, criticality: low}}
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall s, child CPU s) of one command, which must succeed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # run exits 1 when it only spooled; never here (no Kafka)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="python of the install before the change")
    ap.add_argument("--after", required=True, help="python of the install after the change")
    ap.add_argument("--pcap", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    args.pcap.read_bytes()  # into the page cache before the first timed run
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        for i in range(args.runs):
            for label, py in (("before", args.before), ("after", args.after)):
                base = [py, "-P", "-m", "wardwatch.cli"]  # -P: never the source tree in the cwd
                results.setdefault((label, "sensor"), []).append(
                    timed([*base, "sensor", "--pcap", str(args.pcap), "--out", "/dev/null"])
                )
                data = work / f"{label}-{i}"
                data.mkdir()
                cfg = data / "c.yaml"
                cfg.write_text(CONFIG.format(data=data / "var"))
                results.setdefault((label, "run"), []).append(
                    timed([*base, "run", "--pcap", str(args.pcap), "--config", str(cfg), "--quiet"])
                )
                shutil.rmtree(data)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"| command | install | best wall s | median wall s | best CPU s | ({args.runs} runs, alternating) |"
    )
    print("|---|---|---|---|---|---|")
    for what in ("sensor", "run"):
        for label in ("before", "after"):
            xs = results[(label, what)]
            walls = [w for w, _ in xs]
            cpus = [c for _, c in xs]
            print(
                f"| `wardwatch {what}` | {label} | {min(walls):.2f} | {statistics.median(walls):.2f} |"
                f" {min(cpus):.2f} | |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
