"""notify/: routing + grouping throughput, beside Alertmanager's own ingest of the same alerts, and the
end-to-end latency of a critical alert from the store's writer to a real SMTP server.

    .venv/bin/python bench/bench_notify.py [--alerts 200000] [--am-alerts 20000] [--latency 10]

1. route + group: N alerts (mixed categories, severities, segments, hosts) through the hospital route
   tree (``route.match``) into aggregation groups (``Groups.add``), one core, no I/O.
   Peer: the same alerts POSTed to Debian's prometheus-alertmanager (``/api/v2/alerts``, batches of
   1,000) until its API lists them all: its routing, grouping and API ingest together.
2. latency: a critical alert handed to the store writer (``add_alerts``; the writer's background
   flush every ``--flush`` s, as ``wardwatch serve`` runs it), the notifier thread polling the chdb
   store every 0.2 s, a route with ``group_wait`` ``--group-wait`` s, STARTTLS + login to aiosmtpd;
   time until the server holds the mail. p50/p95 over ``--latency`` alerts, each its own group.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wardwatch.notify.group import Groups  # noqa: E402
from wardwatch.notify.labels import Item  # noqa: E402
from wardwatch.notify.route import match  # noqa: E402
from wardwatch.notify.settings import load_notify_settings  # noqa: E402

from wardwatch.config import parse_config  # noqa: E402

CATS = ("port_scan", "beacon", "dga", "policy_ott", "policy_segmentation", "threat_feed_domain", "dns_tunnel")
SEVS = ("low", "medium", "high", "critical")
SEGS = ("icu", "lab", "his", "guest", "admin", "pacs")
HOOK = "{url: 'https://127.0.0.1:9/x', secret: s}"


def items(n: int, seed: int = 1) -> list[Item]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        seg = rnd.choice(SEGS)
        labels = {
            "category": rnd.choice(CATS),
            "severity": rnd.choice(SEVS),
            "segment": seg,
            "zone": seg,
            "src_ip": f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
            "directive": "BYT-CNTT-2021",
        }
        out.append(Item(f"A{i:016d}", 1.8e9 + i * 0.001, 1.8e9 + i * 0.001, 1, labels))
    return out


def bench_route(n: int) -> float:
    tmp = Path(tempfile.mkdtemp())
    cfg = parse_config(
        f"data_dir: {tmp}\nnotify:\n  receivers:\n    - {{name: oncall, webhook: {HOOK}}}\n    - {{name: head_of_it, webhook: {HOOK}}}\n",
        tmp / "c.yaml",
    )
    tree = load_notify_settings(cfg).route
    assert tree is not None
    xs = items(n)
    g = Groups()
    t = time.perf_counter()
    for it in xs:
        for r in match(tree, it.labels):
            g.add(r, it, it.seen)
    dt = time.perf_counter() - t
    print(f"route+group: {n:,} alerts in {dt:.3f}s = {n / dt:,.0f} alerts/s ({len(g.waiting)} groups)")
    return n / dt


def bench_alertmanager(n: int) -> float | None:
    exe = shutil.which("prometheus-alertmanager")
    if exe is None:
        print("alertmanager: not installed (apt-get install prometheus-alertmanager)")
        return None
    d = Path(tempfile.mkdtemp())
    (d / "am.yml").write_text(
        "route: {receiver: 'null', group_by: [category, segment], group_wait: 10s,"
        " routes: [{matchers: ['severity=~\"critical|high\"'], receiver: 'null'}]}\nreceivers: [{name: 'null'}]\n"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, f"--config.file={d / 'am.yml'}", f"--storage.path={d / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        docs = [
            {"labels": {"alertname": it.labels["category"], **it.labels, "uid": it.uid}, "startsAt": "2026-12-04T00:00:00Z"}
            for it in items(n)
        ]
        t = time.perf_counter()
        for i in range(0, n, 1000):
            req = urllib.request.Request(url + "/api/v2/alerts", data=json.dumps(docs[i : i + 1000]).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
            urllib.request.urlopen(req, timeout=60).close()
        while True:
            with urllib.request.urlopen(url + "/api/v2/alerts?active=true&silenced=true&inhibited=true", timeout=60) as r:
                if len(json.loads(r.read())) >= n:
                    break
        dt = time.perf_counter() - t
        print(f"alertmanager 0.25 (POST /api/v2/alerts, batches of 1,000, until listed): {n:,} alerts in {dt:.3f}s = {n / dt:,.0f} alerts/s")
        return n / dt
    finally:
        proc.terminate()
        proc.wait(30)


def bench_latency(count: int, group_wait: float, flush: float) -> None:
    sys.path.insert(0, str(ROOT))
    from wardwatch.notify import Notifier, NotifierThread
    from wardwatch.store import open_store

    from tests.integration.test_notify_channels import Smtp  # the same peer as the tests
    from wardwatch.alerts import Alert

    tmp = Path(tempfile.mkdtemp())
    cert = _cert(tmp)
    smtp = Smtp(cert).start()
    cfg_text = (
        f"data_dir: {tmp}/var\nsegments: [{{name: icu, cidrs: [10.20.0.0/16], zone: clinical}}]\n"
        f"store: {{flush_seconds: {flush}}}\n"
        "notify:\n  poll: 0.2s\n  receivers:\n"
        f"    - {{name: oncall, email: {{to: [t@bv.vn], from: w@bv.vn, host: 127.0.0.1, port: {smtp.port},"
        f" username: wardwatch, password: 'mật-khẩu', ca_file: '{cert[0]}'}}}}\n"
        f"  route: {{receiver: oncall, group_by: ['...'], group_wait: {group_wait}s, quiet: false}}\n"
    )
    cfg = parse_config(cfg_text, tmp / "c.yaml")
    store = open_store(cfg)
    writer = store.writer(background=True)
    writer.flush_seconds = flush
    thread = NotifierThread(Notifier(store, load_notify_settings(cfg), cfg)).start()
    lat = []
    try:
        for i in range(count):
            have = len(smtp.box.messages)
            a = Alert(ts=time.time(), category="beacon", severity="critical", src_ip=f"10.20.1.{i + 1}", dst_ip=None,
                      indicator="c2.example", rule=f"r{i}", summary={}, evidence={})  # fmt: skip
            t = time.perf_counter()
            writer.add_alerts([a])
            while len(smtp.box.messages) == have:
                writer.add_alerts([])  # the service's loop steps every 0.5 s when idle: the time-bounded flush
                time.sleep(0.02)
            lat.append(time.perf_counter() - t)
    finally:
        thread.stop()
        writer.close()
        store.close()
        smtp.stop()
    lat.sort()
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    print(
        f"latency writer → SMTP (group_wait {group_wait:g}s, writer flush {flush:g}s, poll 0.2s): "
        f"p50 {statistics.median(lat):.2f}s, p95 {p95:.2f}s, max {lat[-1]:.2f}s over {len(lat)} critical alerts"
        f" (target p95 ≤ group_wait + 2 = {group_wait + 2:g}s)"
    )


def _cert(d: Path) -> tuple[Path, Path]:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return d / "cert.pem", d / "key.pem"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alerts", type=int, default=200_000)
    ap.add_argument("--am-alerts", type=int, default=20_000)
    ap.add_argument("--latency", type=int, default=10)
    ap.add_argument("--group-wait", type=float, default=2.0)
    ap.add_argument("--flush", type=float, default=1.0)
    args = ap.parse_args()
    bench_route(args.alerts)
    if args.am_alerts:
        bench_alertmanager(args.am_alerts)
    if args.latency:
        bench_latency(args.latency, args.group_wait, args.flush)


if __name__ == "__main__":
    main()
