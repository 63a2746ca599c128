"""Lines per second of the Zeek and EVE log import beside jq and awk on the same files, same run (not a
test).

    python bench/bench_import.py [--lines 300000] [--repeat 5] [--out bench/out]
    WARDWATCH_LOGS_PYTHON=1 python bench/bench_import.py ...     # the pure-Python fallback alone

The files are written here from the synthetic hospital's sensor records (``wardwatch synth``, the
sensor), repeated with shifted times and uids to ``--lines`` lines: a Zeek ``conn.log`` and ``dns.log``
(TSV with Zeek's headers), the same two logs in Zeek's JSON (``LogAscii::use_json``: epoch ``ts``,
unset fields left out, sets as arrays), and a Suricata ``eve.json`` (flow, DNS query and answer, TLS,
HTTP events), as tests/integration/test_import_equivalence.py writes them. Rows:

- ours: ``ZeekInput``/``EveInput`` ``poll`` over the whole folder/file (read, split, parse, records
  out), CPU seconds (``time.process_time``);
- peers: ``jq -c 'select(.event_type == "flow") | .src_ip'`` over the EVE file and ``jq -c
  '."id.orig_h"'`` over the Zeek JSON logs (one JSON parse a line, as ours), and ``awk -F'\\t'``
  printing three columns of the Zeek TSV logs (what ``zeek-cut`` does; no type conversion) — C
  programs, single core, CPU seconds of the child (``RUSAGE_CHILDREN``).

Each input is timed ``--repeat`` times, ours and its peer alternating (the machine is shared: noise
hits both); best and median are printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from wardwatch.ingest.logs import EveInput, ZeekInput, eve, zeek
from wardwatch.ingest.sensor import sense

from wardwatch.counters import Counters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.test_import_equivalence import (  # noqa: E402
    OURS,
    ZEEK_FIELDS,
    write_eve,
    write_zeek,
)


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


def write_zeek_json(records: list[dict[str, Any]], folder: Path) -> None:
    """conn and dns as Zeek's JSON writer writes them: epoch ``ts`` (its default), unset fields left
    out, sets and vectors as arrays, one log a file."""
    folder.mkdir(parents=True, exist_ok=True)
    for log in ("conn", "dns"):
        fields = [f for f, _ in ZEEK_FIELDS[log]]
        with open(folder / f"{log}.log", "wb") as out:
            for r in records:
                if r["_path"] == OURS[log]:
                    out.write(orjson.dumps({f: r[f] for f in fields if r.get(f) is not None}) + b"\n")


def _ours(make: Any) -> tuple[float, float, int]:
    """CPU and wall seconds of one input reading everything, and its records."""
    t, c = time.perf_counter(), time.process_time()
    inp = make()
    n = 0
    while True:
        recs, _ = inp.poll(final=True)
        if not recs:
            break
        n += len(recs)
    return time.process_time() - c, time.perf_counter() - t, n


def _row(name: str, lines: int, make: Any, peer: str, peer_cmds: list[list[str]], repeat: int) -> None:
    ours, walls, peers = [], [], []
    n = 0
    for _ in range(repeat):
        cpu, wall, n = _ours(make)
        ours.append(lines / cpu)
        walls.append(lines / wall)
        runs = [_time(cmd) for cmd in peer_cmds]
        peers.append(lines / max(sum(c for _, c in runs), 1e-9))
    print(
        f"| {name} | {lines:,} | **{max(ours):,.0f}** ({statistics.median(ours):,.0f}) | {max(walls):,.0f} | {n:,}"
        f" | {peer} | {max(peers):,.0f} ({statistics.median(peers):,.0f}) |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each input and its peer (best, median)")
    ap.add_argument("--out", default=None, help="folder for the generated logs (default: a temporary one)")
    args = ap.parse_args()
    from wardwatch.tools.synth import generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out or tmp)
        synth = generate(folder / "synth", seed=3, sessions=400)
        records = [r for batch in sense([synth.pcap], Counters()) for r in batch]
        conn_dns = _grow([r for r in records if r["_path"] in ("conn", "dns")], args.lines)
        write_zeek(conn_dns, folder / "zeek")
        for extra in ("ssl.log", "http.log"):
            (folder / "zeek" / extra).unlink()
        write_zeek_json(conn_dns, folder / "zeekjson")
        eve_records = _grow(
            [r for r in records if r["_path"] in ("conn", "dns", "tls", "http")], args.lines * 2 // 3
        )
        write_eve(eve_records, folder / "eve" / "eve.json")
        zeek_lines = sum(_count(p) for p in (folder / "zeek").glob("*.log"))
        json_lines = sum(_count(p) for p in (folder / "zeekjson").glob("*.log"))
        eve_lines = _count(folder / "eve" / "eve.json")

        native = zeek._native is not None and eve._native is not None
        print(
            f"parsers: {'C (_zeektsv, _evefast)' if native else 'pure Python'}"
            f" (WARDWATCH_LOGS_PYTHON={os.environ.get('WARDWATCH_LOGS_PYTHON', '')!r});"
            f" {args.repeat} runs each, ours and the peer alternating"
        )
        print()
        print("| input | lines | ours: lines/s of CPU, best (median) | ours: wall, best | records | peer"
              " | peer: lines/s of CPU, best (median) |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---|---:|")
        tsv = sorted((folder / "zeek").glob("*.log"))
        _row(
            "Zeek TSV (conn, dns)", zeek_lines, lambda: ZeekInput(folder / "zeek"), "awk (zeek-cut)",
            [["awk", "-F\t", "!/^#/ {print $1, $3, $5}", str(p)] for p in tsv], args.repeat,
        )  # fmt: skip
        jsons = sorted((folder / "zeekjson").glob("*.log"))
        _row(
            "Zeek JSON (conn, dns)", json_lines, lambda: ZeekInput(folder / "zeekjson"), "jq",
            [["jq", "-c", '."id.orig_h"', str(p)] for p in jsons], args.repeat,
        )  # fmt: skip
        _row(
            "Suricata EVE", eve_lines, lambda: EveInput(folder / "eve" / "eve.json"), "jq",
            [["jq", "-c", 'select(.event_type == "flow") | .src_ip', str(folder / "eve" / "eve.json")]],
            args.repeat,
        )  # fmt: skip


if __name__ == "__main__":
    main()
