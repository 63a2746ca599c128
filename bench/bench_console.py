"""console/: server time of the alert queue and the alert page with a large store (issue 18's target:
p95 ≤ 300 ms with 1 M alerts and 40 M records).

    .venv/bin/python bench/bench_console.py [--alerts 1000000] [--records 40000000] [--runs 30] [--dir D]

The store is an embedded chdb store filled in SQL (``INSERT … SELECT … FROM numbers(N)``: the
generation runs inside ClickHouse, so the bench measures the console, not Python's row building): the
alerts spread over 30 days, 2,000 internal hosts in the synthetic hospital's segments, a tenth of them
with ``alert_events`` rows; the records split dns 40 %, conn 45 %, tls 10 %, http 5 % over the same
days and hosts (the materialized rollups fill as they would). ``--dir`` keeps the store for a
second run (filling 40 M records takes minutes).

Each request goes through the whole application (Starlette, the session check, the audit row of a
view, the queries, Jinja2) in-process (``starlette.testclient``), so the time is the server's: no
network, no browser. Measured: the queue (default, HIS segment filter, grouped, ``status=new``) and
the alert page (evidence, records behind it, ±15 min of the host's DNS/conn/TLS/HTTP, passive DNS,
history) for alerts picked at random. Peer, in the same run on the same store: the SQL of
``wardwatch alerts list`` (the CLI's recent-alert list), run directly on the store.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyotp  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from wardwatch.cli.commands.alerts import LIST_SQL  # noqa: E402
from wardwatch.console import manage  # noqa: E402
from wardwatch.console.app import build  # noqa: E402
from wardwatch.console.settings import ConsoleSettings  # noqa: E402
from wardwatch.store import open_store  # noqa: E402

from wardwatch.config import parse_config  # noqa: E402

SEGMENTS = ("his", "emr", "pacs", "lis", "wards", "office", "servers", "guest-wifi")
CONFIG = """
data_dir: {dir}
segments:
  - {{name: his, cidrs: [10.10.0.0/24], zone: his}}
  - {{name: emr, cidrs: [10.11.0.0/24], zone: emr}}
  - {{name: pacs, cidrs: [10.12.0.0/24], zone: pacs}}
  - {{name: lis, cidrs: [10.13.0.0/24], zone: lis}}
  - {{name: wards, cidrs: [10.20.0.0/22], zone: clinical}}
  - {{name: office, cidrs: [10.30.0.0/24], zone: admin}}
  - {{name: servers, cidrs: [10.40.0.0/24], zone: server}}
  - {{name: guest-wifi, cidrs: [172.16.0.0/20], zone: guest}}
"""
DAYS = 30
T0 = 1764547200  # 2025-12-01 UTC
PASSWORD = "Ch4m-soc-benh-nhan!"


def _segs() -> str:
    return "[" + ", ".join(f"'{s}'" for s in SEGMENTS) + "]"


def _host(n: str) -> str:
    # 2,000 hosts: 250 per segment, in that segment's range
    bases = ("10.10.0.0", "10.11.0.0", "10.12.0.0", "10.13.0.0", "10.20.0.0", "10.30.0.0", "10.40.0.0", "172.16.0.0")
    base = "[" + ", ".join(f"IPv4StringToNum('{b}')" for b in bases) + "]"
    return f"toIPv6(IPv4NumToString(toIPv4(arrayElement({base}, ({n} % 8) + 1) + 1 + (intDiv({n}, 8) % 250))))"


def fill(store, alerts: int, records: int) -> None:  # type: ignore[no-untyped-def]
    span = DAYS * 86400
    ts = lambda n, k: f"toDateTime64({T0} + ({n} * {k}) % {span} + ({n} % 1000) / 1000, 6)"  # noqa: E731
    seg = f"arrayElement({_segs()}, ({{n}} % 8) + 1)"
    parts = (("dns", 0.40), ("conn", 0.45), ("tls", 0.10), ("http", 0.05))
    for table, share in parts:
        n = int(records * share)
        t0 = time.perf_counter()
        common = [
            (ts("number", 7919), "ts"),
            (f"concat('C', hex(sipHash64(number, '{table}')))", "uid"),
            ("'bench'", "sensor"),
            (seg.format(n="number"), "segment"),
            (_host("number"), "id_orig_h"),
            ("toUInt16(1024 + number % 60000)", "id_orig_p"),
            ("toIPv6(IPv4NumToString(toIPv4(IPv4StringToNum('198.51.100.0') + number % 4000)))", "id_resp_h"),
        ]
        name = "concat('h', toString(number % 50000), '.example.vn')"
        extra = {
            "dns": [("toUInt16(53)", "id_resp_p"), ("'udp'", "proto"), (name, "query"), ("'A'", "qtype_name"),
                    ("'NOERROR'", "rcode_name"),
                    ("[IPv4NumToString(toIPv4(IPv4StringToNum('198.51.100.0') + number % 4000))]", "answers")],
            "conn": [("toUInt16(443)", "id_resp_p"), ("'tcp'", "proto"), ("'ssl'", "service"),
                     ("toFloat64(number % 100) / 10", "duration"), ("toUInt64(number % 5000)", "orig_bytes"),
                     ("toUInt64(number % 90000)", "resp_bytes"), ("'SF'", "conn_state")],
            "tls": [("toUInt16(443)", "id_resp_p"), ("'TLSv13'", "version"), (name, "server_name"),
                    ("lower(hex(MD5(toString(number % 300))))", "ja3")],
            "http": [("toUInt16(80)", "id_resp_p"), ("'GET'", "method"), (name, "host"), ("'/index.html'", "uri"),
                     ("toUInt16(200)", "status_code"), ("'Mozilla/5.0'", "user_agent")],
        }[table]  # fmt: skip
        cols = common + extra
        sql = f"SELECT {', '.join(e for e, _ in cols)} FROM numbers({n})"
        store.backend.execute(f"INSERT INTO {table} ({', '.join(c for _, c in cols)}) {sql}")
        print(f"  {table}: {n:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)


def fill_alerts(store, alerts: int, records: int) -> None:  # type: ignore[no-untyped-def]
    """Each alert names a stored connection (its evidence's uid) and that connection's host, segment
    and time, as a detector's alert does."""
    span = DAYS * 86400
    ts = lambda n, k: f"toDateTime64({T0} + ({n} * {k}) % {span} + ({n} % 1000) / 1000, 6)"  # noqa: E731
    seg = f"arrayElement({_segs()}, ({{n}} % 8) + 1)"
    conns = max(1, int(records * 0.45))
    k = f"((number * 17) % {conns})"
    t0 = time.perf_counter()
    cats = "['threat_feed_domain', 'threat_feed_ip', 'port_scan', 'beacon', 'dga', 'policy_ott', 'policy_remote_access', 'policy_segmentation']"
    sevs = "['low', 'medium', 'medium', 'high', 'critical']"
    store.backend.execute(
        "INSERT INTO alerts (ts, uid, sensor, segment, category, severity, src_ip, dst_ip, indicator, dst_segment,"
        " rule, summary, evidence, mitre, directive, count, first_seen, last_seen, retro, site)"
        f" SELECT {ts(k, 7919)} AS ts, concat('A', lower(hex(sipHash64(number, 'alert')))) AS uid, 'bench',"
        f" {seg.format(n=k)}, arrayElement({cats}, (number % 8) + 1), arrayElement({sevs}, (number % 5) + 1),"
        f" {_host(k)}, toIPv6(IPv4NumToString(toIPv4(IPv4StringToNum('198.51.100.0') + {k} % 4000))),"
        " concat('h', toString(number % 50000), '.example.vn'), if(number % 13 = 0, 'his', ''), 'bench.rule',"
        " map('vi', concat('Cảnh báo thử ', toString(number)), 'en', concat('Bench alert ', toString(number))),"
        f" concat('{{\"log\": \"conn\", \"uid\": \"C', hex(sipHash64({k}, 'conn')), '\"}}'), ['T1071'], 'BYT-CNTT-2021', 1,"
        f" {ts(k, 7919)}, {ts(k, 7919)}, false, 'bench'"
        f" FROM numbers({alerts})"
    )
    store.backend.execute(
        "INSERT INTO alert_events (ts, alert_uid, state, who, note, message)"
        f" SELECT {ts(f'((number * 170) % {conns})', 7919)}, concat('A', lower(hex(sipHash64(number * 10, 'alert')))),"
        " arrayElement(['notified', 'acknowledged', 'resolved'], (number % 3) + 1), 'bench', '', ''"
        f" FROM numbers({alerts // 10})"
    )
    print(f"  alerts: {alerts:,} (+{alerts // 10:,} events) in {time.perf_counter() - t0:.1f} s", flush=True)


def p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--records", type=int, default=40_000_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--dir", type=Path, default=None, help="keep the store here (reused when it exists)")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench-console-"))
    work.mkdir(parents=True, exist_ok=True)
    config = parse_config(CONFIG.format(dir=work), work / "bench.yaml")
    store = open_store(config)
    try:
        have = store.rows("SELECT (SELECT count() FROM alerts) AS a, (SELECT count() FROM conn) AS c")[0]
        if int(have["c"]) < int(args.records * 0.45):
            print(f"filling {work} with {args.records:,} records", flush=True)
            fill(store, args.alerts, args.records)
        if int(have["a"]) < args.alerts:
            print(f"filling {work} with {args.alerts:,} alerts", flush=True)
            fill_alerts(store, args.alerts, args.records)
        counts = {t: int(store.rows(f"SELECT count() AS n FROM {t}")[0]["n"]) for t in ("alerts", "dns", "conn", "tls", "http")}
        print("store:", ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
        try:
            secret = manage.apply(store, {"op": "add", "name": "bench", "role": "analyst", "password": PASSWORD}, "bench")["totp"]
        except Exception:  # noqa: BLE001 - a kept store has the account
            secret = manage.apply(store, {"op": "totp", "name": "bench"}, "bench")["totp"]
        app = build(store, config, ConsoleSettings("127.0.0.1", 0, None, None))
        c = TestClient(app)
        pre = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"csrf": pre, "name": "bench", "password": PASSWORD, "code": pyotp.TOTP(secret).now()}, follow_redirects=False)
        assert r.status_code == 303, r.text
        rnd = random.Random(1)
        uids = [x["uid"] for x in store.rows("SELECT uid FROM alerts ORDER BY cityHash64(uid) LIMIT 200")]

        def timed(path: str) -> float:
            t0 = time.perf_counter()
            resp = c.get(path)
            dt = time.perf_counter() - t0
            assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
            return dt

        cases = {
            "queue (default)": lambda: "/alerts",
            "queue segment=his": lambda: "/alerts?segment=his",
            "queue grouped": lambda: "/alerts?group=1",
            "queue status=new, high": lambda: "/alerts?status=new&severity=high",
        }
        print("\n| request | runs | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
        for name, path in cases.items():
            timed(path())  # warm
            times = [timed(path()) * 1000 for _ in range(args.runs)]
            print(f"| {name} | {args.runs} | {statistics.median(times):.0f} | {p(times, 0.95):.0f} | {max(times):.0f} |", flush=True)
        # the alert page: alerts picked at random over the 30 days, each first seen cold (its day's
        # parts not yet read by this process), then the same alerts again (the page cache and chdb's
        # mark cache hold them: an analyst coming back to an alert, or today's alerts)
        picked = rnd.sample(uids, args.runs)
        for label in ("alert page, first view", "alert page, again"):
            times = [timed(f"/alerts/{u}") * 1000 for u in picked]
            print(f"| {label} | {args.runs} | {statistics.median(times):.0f} | {p(times, 0.95):.0f} | {max(times):.0f} |", flush=True)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            store.rows(LIST_SQL, {"since": 0.0, "state": "", "limit": 50})
            times.append((time.perf_counter() - t0) * 1000)
        print(f"| peer: `wardwatch alerts list` SQL (store only) | {args.runs} | {statistics.median(times):.0f} | {p(times, 0.95):.0f} | {max(times):.0f} |")
    finally:
        store.close()
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
