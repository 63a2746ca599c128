"""Latency of every board's panels over one day of a mid-size hospital (≥ 40 M records) on the
embedded store, as Grafana would run them: the exported SQL with the plugin's macros expanded for
"the last 24 hours" (``dashboards/macros.py``).

Two paths, one after the other (serve must hold the store for the second):

- ``chdb``: the store in this process (``Store.rows``), the floor;
- ``endpoint``: ``wardwatch serve``'s ClickHouse-compatible endpoint through clickhouse-connect
  (the HTTP path Grafana's plugin takes), with ``--endpoint``.

The day is generated once with ClickHouse's own ``numbers()`` inserts (no Python loops) and cached:

    python bench/bench_dashboards.py --dir /tmp/wardwatch-bench-dashboards --runs 7 --endpoint

Target: every panel ≤ 1 s p95.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DAY = datetime(2026, 3, 2, tzinfo=UTC)
SEGMENTS = [
    {"name": "his", "cidrs": ["10.10.0.0/24"], "zone": "his", "criticality": "high"},
    {"name": "emr", "cidrs": ["10.11.0.0/24"], "zone": "emr", "criticality": "critical"},
    {"name": "pacs", "cidrs": ["10.12.0.0/24"], "zone": "pacs", "criticality": "high"},
    {"name": "lis", "cidrs": ["10.13.0.0/24"], "zone": "lis", "criticality": "high"},
    {"name": "wards", "cidrs": ["10.20.0.0/22"], "zone": "clinical", "criticality": "high"},
    {"name": "office", "cidrs": ["10.30.0.0/23"], "zone": "admin", "criticality": "medium"},
    {"name": "servers", "cidrs": ["10.40.0.0/24"], "zone": "server", "criticality": "high"},
    {"name": "guest-wifi", "cidrs": ["172.16.0.0/20"], "zone": "guest", "criticality": "low"},
]
# originator ranges by segment (first address as UInt32, host count); 2 500 hosts in all
_HOSTS = [
    ("his", 0x0A0A0000, 60),
    ("emr", 0x0A0B0000, 120),
    ("pacs", 0x0A0C0000, 40),
    ("lis", 0x0A0D0000, 40),
    ("wards", 0x0A140000, 1000),
    ("office", 0x0A1E0000, 400),
    ("servers", 0x0A280000, 40),
    ("guest-wifi", 0xAC100000, 800),
]
# share of the day's 40 M records per log (a hospital: flows and lookups dominate)
MIX = {"conn": 0.55, "dns": 0.35, "tls": 0.07, "http": 0.0275, "login": 0.0025}
ALERTS = 40_000
CATEGORIES = [
    "threat_feed_domain", "threat_feed_ip", "sigma", "dga", "dns_tunnel", "beacon", "port_scan",
    "exfiltration", "nxdomain_burst", "policy_remote_access", "policy_ott", "policy_plaintext",
    "policy_weak_password", "policy_segmentation", "policy_dns_bypass", "sensor_drops",
]  # fmt: skip


def _host(n: str) -> tuple[str, str]:
    """An originator address (IPv6-mapped) and its segment, from the number expression ``n``."""
    cases = []
    start = 0
    for _name, base, count in _HOSTS:
        cases.append((start, base, count))
        start += count
    total = start
    k = f"(({n}) % {total})"
    ip = (
        "multiIf("
        + ", ".join(f"{k} < {s + c}, {b} + {k} - {s}" for s, b, c in cases[:-1])
        + f", {cases[-1][1]} + {k} - {cases[-1][0]})"
    )
    seg = (
        "multiIf("
        + ", ".join(
            f"{k} < {s + c}, '{name}'" for (s, _b, c), (name, _, _) in zip(cases[:-1], _HOSTS, strict=False)
        )
        + f", '{_HOSTS[-1][0]}')"
    )
    return f"toIPv6(concat('::ffff:', IPv4NumToString(toUInt32({ip}))))", seg


def _ts(n: str) -> str:
    start = int(DAY.timestamp())
    return f"fromUnixTimestamp64Micro(toInt64(({start} + ({n} * 7919) % 86400) * 1000000 + ({n} * 104729) % 1000000), 'UTC')"


def _resp(n: str) -> str:
    """Responders: a third the hospital's servers, the rest the internet (20 000 addresses)."""
    return (
        f"if(({n}) % 3 = 0, toIPv6(concat('::ffff:10.40.0.', toString(1 + ({n}) % 40))),"
        f" toIPv6(concat('::ffff:', IPv4NumToString(toUInt32(0x5DB80000 + ({n} * 31) % 20000)))))"
    )


def fill(store: Any, total: int) -> None:
    """One day of records, ``total`` in all, inserted in blocks by ClickHouse itself."""
    ex = store.backend.execute
    block = 4_000_000
    for log, share in MIX.items():
        rows = int(total * share)
        done = 0
        while done < rows:
            size = min(block, rows - done)
            n = f"(number + {done})"
            orig, seg = _host(n)
            common = (
                f"{_ts(n)} AS ts, concat('C', lower(hex(cityHash64({n}, '{log}')))) AS uid, 'bench' AS sensor, 'hospital' AS site,"
                f" {seg} AS segment, {orig} AS id_orig_h, toUInt16(40000 + {n} % 20000) AS id_orig_p, {_resp(n)} AS id_resp_h"
            )
            more = {
                "conn": (
                    "id_resp_p, proto, service, duration, orig_bytes, resp_bytes, conn_state, missed_bytes, history,"
                    " orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes, interim, version",
                    f"toUInt16(if({n} % 5 = 0, 80, 443)), 'tcp', 'ssl', toFloat64({n} % 600) / 10, toUInt64({n} % 50000),"
                    f" toUInt64(({n} * 13) % 500000), 'SF', 0, 'ShADadFf', 10, 1000, 12, 20000, false, 1",
                ),
                "dns": (
                    "id_resp_p, proto, trans_id, rtt, query, qclass, qclass_name, qtype, qtype_name, rcode, rcode_name,"
                    " AA, TC, RD, RA, Z, answers, TTLs, rejected",
                    f"53, 'udp', toUInt16({n} % 65536), 0.01, concat(['www', 'api', 'cdn', 'mail'][{n} % 4 + 1], '.d',"
                    f" toString(({n} * 7) % 60000), '.com'), 1, 'C_INTERNET', 1, 'A', if({n} % 31 = 0, 3, 0),"
                    f" if({n} % 31 = 0, 'NXDOMAIN', 'NOERROR'), false, false, true, true, 0,"
                    f" if({n} % 31 = 0, [], [IPv4NumToString(toUInt32(0x5DB80000 + ({n} * 7) % 20000))]), [300], false",
                ),
                "tls": (
                    "id_resp_p, version, server_name, alpn, ja3, quic",
                    f"443, 'TLSv13', concat('www.d', toString(({n} * 7) % 60000), '.com'), ['h2'], 'abc', false",
                ),
                "http": (
                    "id_resp_p, trans_depth, method, host, uri, referrer, version, user_agent, status_code, status_msg, username",
                    f"80, 1, 'GET', concat('d', toString({n} % 5000), '.vn'), '/index.html', '', '1.1', 'Mozilla', 200, 'OK', ''",
                ),
                "login": (
                    "id_resp_p, service, user, weak_password, success",
                    f"21, 'ftp', concat('u', toString({n} % 300)), {n} % 10 = 0, true",
                ),
            }[log]
            cols = "ts, uid, sensor, site, segment, id_orig_h, id_orig_p, id_resp_h, " + more[0]
            ex(
                f"INSERT INTO {log} ({cols}) SELECT ts, uid, sensor, site, segment, id_orig_h, id_orig_p, id_resp_h, {more[1]}"
                f" FROM (SELECT number, {common} FROM numbers({size}))"
                " SETTINGS max_partitions_per_insert_block = 10000"
            )
            done += size
            print(f"  {log}: {done:,}/{rows:,}", file=sys.stderr)
    n = "number"
    orig, seg = _host(n)
    cats = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    ex(
        "INSERT INTO alerts (ts, uid, sensor, site, segment, category, severity, src_ip, dst_ip, indicator, dst_segment,"
        " rule, summary, evidence, mitre, directive, count, first_seen, last_seen, retro)"
        f" SELECT {_ts(n)} AS t, concat('A', lower(hex(cityHash64(number)))), 'bench', 'hospital', {seg},"
        f" {cats}[number % {len(CATEGORIES)} + 1], ['critical', 'high', 'medium', 'low'][number % 4 + 1], {orig}, {_resp(n)},"
        " concat('d', toString(number % 900), '.example'), if(number % 7 = 0, 'emr', ''), 'bench.rule',"
        " map('vi', 'cảnh báo thử', 'en', 'bench alert'),"
        ' concat(\'{"log":"conn","uid":"C\', lower(hex(cityHash64(number, \'conn\'))), \'","observed":"x","feeds":{"feeds":["f"]},"score":0.9,"drops":5}\'),'
        f" ['T1071'], 'BYT-CNTT-2021', 1, t, t, false FROM numbers({ALERTS})"
    )


def config(folder: Path) -> Path:
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(folder / "var"), "segments": SEGMENTS}))
    return path


def build(folder: Path, total: int) -> Path:
    """The cached day: built once (``done`` marks a complete build)."""
    from wardwatch.store import open_store

    from wardwatch.config import load_config

    cfg = config(folder)
    mark = folder / f"done-{total}"
    if mark.exists():
        return cfg
    import shutil

    shutil.rmtree(folder / "var", ignore_errors=True)
    t0 = time.perf_counter()
    store = open_store(load_config(cfg))
    try:
        fill(store, total)
        store.backend.execute("OPTIMIZE TABLE pdns FINAL")
    finally:
        store.close()
    mark.write_text(f"{time.perf_counter() - t0:.0f} s\n")
    return cfg


def queries(cfg: Path) -> list[tuple[str, str, str]]:
    """(board, panel, SQL) for the last 24 hours of the day, Vietnamese boards, typical choices."""
    from wardwatch.dashboards.export import render
    from wardwatch.dashboards.macros import Query, interpolate, interval_for
    from wardwatch.dashboards.sql import ranges

    from wardwatch.config import load_config

    config_ = load_config(cfg)
    segs = tuple(ranges((s.name, s.zone, [str(c) for c in s.cidrs]) for s in config_.segments))
    start, end = DAY, DAY + timedelta(days=1)
    variables = {"segments": "$__all", "severity": "$__all", "segment": "emr", "search": "d77.com",
                 "host": "", "alert": "A1", "record": "Cabc"}  # fmt: skip
    q = Query(start, end, interval_for(start, end), variables)
    out: list[tuple[str, str, str]] = []
    for board in render(("vi",), segs)["vi"]:
        for panel in board["panels"]:
            out.append(
                (board["uid"].split("-")[1], panel["title"], interpolate(panel["targets"][0]["rawSql"], q))
            )
    return out


def serve(cfg: Path, folder: Path, port: int) -> subprocess.Popen[str]:
    doc = yaml.safe_load(cfg.read_text())
    doc["http"] = {
        "listen": "127.0.0.1:0",
        "clickhouse": {"listen": f"127.0.0.1:{port}", "password": "bench"},
    }
    served = folder / "serve.yaml"
    served.write_text(yaml.safe_dump(doc))
    empty = folder / "empty.pcap"
    empty.write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wardwatch.cli", "serve", "--config", str(served), "--pcap", str(empty)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("serve ended early") from None
            time.sleep(0.2)
    raise SystemExit("the endpoint did not come up")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/wardwatch-bench-dashboards"))
    ap.add_argument("--records", type=int, default=40_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument(
        "--endpoint", action="store_true", help="also through serve's endpoint (clickhouse-connect)"
    )
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    cfg = build(args.dir, args.records)
    work = queries(cfg)
    from wardwatch.store import open_store

    from wardwatch.config import load_config

    paths: dict[str, Any] = {}
    store = open_store(load_config(cfg), create=False)
    counts = {t: store.rows(f"SELECT count() AS n FROM {t}")[0]["n"] for t in (*MIX, "alerts")}
    print(f"records: {sum(int(v) for k, v in counts.items() if k != 'alerts'):,} {counts}", file=sys.stderr)
    paths["chdb"] = lambda sql: store.rows(sql)
    proc = None
    times: dict[tuple[str, str], dict[str, list[float]]] = {}
    rows: dict[tuple[str, str], int] = {}

    def measure(name: str, run: Any) -> None:
        for board, title, sql in work:
            run(sql)  # warm: marks and caches, as a dashboard refreshed every minute has them
            got = times.setdefault((board, title), {}).setdefault(name, [])
            for _ in range(args.runs):
                t = time.perf_counter()
                result = run(sql)
                got.append(time.perf_counter() - t)
            if name == "chdb":
                rows[(board, title)] = len(result)

    measure("chdb", paths["chdb"])
    store.close()  # serve takes the store next: the two paths run one after the other
    if args.endpoint:
        import clickhouse_connect

        port = 18000 + os.getpid() % 1000
        proc = serve(cfg, args.dir, port)
        try:
            client = clickhouse_connect.get_client(
                host="127.0.0.1", port=port, username="grafana", password="bench"
            )
            measure("endpoint", lambda sql: client.query(sql).result_rows)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=300)
    out: list[dict[str, Any]] = []
    print(
        f"\n| board | panel | rows | chdb p50 | chdb p95 |{' endpoint p50 | endpoint p95 |' if args.endpoint else ''}"
    )
    print(f"|---|---|---:|---:|---:|{'---:|---:|' if args.endpoint else ''}")
    for (board, title), by in times.items():
        line = f"| {board} | {title} | {rows[(board, title)]} | {statistics.median(by['chdb']):.3f} | {pct(by['chdb'], 0.95):.3f} |"
        rec = {"board": board, "panel": title, "rows": rows[(board, title)], "chdb": by["chdb"]}
        if args.endpoint:
            line += f" {statistics.median(by['endpoint']):.3f} | {pct(by['endpoint'], 0.95):.3f} |"
            rec["endpoint"] = by["endpoint"]
        print(line)
        out.append(rec)
    worst = max(pct(r["chdb"], 0.95) for r in out)
    print(f"\nslowest panel p95 (chdb): {worst:.3f} s", file=sys.stderr)
    if args.endpoint:
        print(
            f"slowest panel p95 (endpoint): {max(pct(r['endpoint'], 0.95) for r in out):.3f} s",
            file=sys.stderr,
        )
    if args.json:
        args.json.write_text(json.dumps({"records": counts, "panels": out}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
