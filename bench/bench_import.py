"""Lines per second of the Zeek and EVE log import beside jq and awk on the same files, same run (not a
test).

    python bench/bench_import.py [--lines 300000] [--out bench/out]

The files are written here from the synthetic hospital's sensor records (``wardwatch synth``, the
sensor), repeated with shifted times and uids to ``--lines`` lines: a Zeek ``conn.log`` and ``dns.log``
(TSV with Zeek's headers) and a Suricata ``eve.json`` (flow, DNS query and answer, TLS, HTTP events),
as tests/integration/test_import_equivalence.py writes them. Rows:

- ours: ``ZeekInput``/``EveInput`` ``poll`` over the whole file (read, split, parse, records out);
- peers: ``jq -c 'select(.event_type == "flow") | .src_ip'`` over the EVE file (one JSON parse a
  line, as ours), and ``awk -F'\\t'`` printing three columns of the Zeek logs (what ``zeek-cut`` does;
  no type conversion) — both C programs, single core.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wardwatch.ingest.logs import EveInput, ZeekInput
from wardwatch.ingest.sensor import sense

from wardwatch.counters import Counters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.test_import_equivalence import write_eve, write_zeek  # noqa: E402


def _grow(records: list[dict[str, Any]], lines: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    k = 0
    while len(out) < lines:
        for r in records:
            c = dict(r)
            c["ts"] = r["ts"] + k * 3600.0
            if "uid" in c:
                c["uid"] = f"{r['uid']}{k}"
            out.append(c)
        k += 1
    return out[:lines]


def _count(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for ln in f if not ln.startswith(b"#"))


def _time(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of a peer command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--out", default=None, help="folder for the generated logs (default: a temporary one)")
    args = ap.parse_args()
    from wardwatch.tools.synth import generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out or tmp)
        synth = generate(folder / "synth", seed=3, sessions=400)
        records = [r for batch in sense([synth.pcap], Counters()) for r in batch]
        conn_dns = [r for r in records if r["_path"] in ("conn", "dns")]
        write_zeek(_grow(conn_dns, args.lines), folder / "zeek")
        for extra in ("ssl.log", "http.log"):
            (folder / "zeek" / extra).unlink()
        eve_records = _grow(
            [r for r in records if r["_path"] in ("conn", "dns", "tls", "http")], args.lines * 2 // 3
        )
        write_eve(eve_records, folder / "eve" / "eve.json")
        zeek_lines = sum(_count(p) for p in (folder / "zeek").glob("*.log"))
        eve_lines = _count(folder / "eve" / "eve.json")

        print("| input | lines | ours: lines/s wall (CPU) | records | peer | peer: lines/s wall (CPU) |")
        print("|---|---:|---:|---:|---|---:|")
        t, c = time.perf_counter(), time.process_time()
        z = ZeekInput(folder / "zeek")
        n = 0
        while True:
            recs, _ = z.poll(final=True)
            if not recs:
                break
            n += len(recs)
        ours, cpu = time.perf_counter() - t, time.process_time() - c
        runs = [
            _time(["awk", "-F\t", "!/^#/ {print $1, $3, $5}", str(p)])
            for p in (folder / "zeek").glob("*.log")
        ]
        aw, ac = sum(w for w, _ in runs), sum(x for _, x in runs)
        print(
            f"| Zeek TSV (conn, dns) | {zeek_lines:,} | {zeek_lines / ours:,.0f} ({zeek_lines / cpu:,.0f}) | {n:,}"
            f" | awk (zeek-cut) | {zeek_lines / aw:,.0f} ({zeek_lines / max(ac, 1e-9):,.0f}) |"
        )
        t, c = time.perf_counter(), time.process_time()
        e = EveInput(folder / "eve" / "eve.json")
        n = 0
        while True:
            recs, _ = e.poll(final=True)
            if not recs:
                break
            n += len(recs)
        ours, cpu = time.perf_counter() - t, time.process_time() - c
        jw, jc = _time(
            ["jq", "-c", 'select(.event_type == "flow") | .src_ip', str(folder / "eve" / "eve.json")]
        )
        print(
            f"| Suricata EVE | {eve_lines:,} | {eve_lines / ours:,.0f} ({eve_lines / cpu:,.0f}) | {n:,}"
            f" | jq | {eve_lines / jw:,.0f} ({eve_lines / max(jc, 1e-9):,.0f}) |"
        )


if __name__ == "__main__":
    main()
