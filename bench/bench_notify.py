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
3. packet → mail (``--packet N``, root: a network namespace and a veth pair): ``wardwatch serve``
   captures the outer end live with the synthetic hospital's segments and feeds and its default
   ``store.flush_seconds`` (5 s) and merge window (5 min); a process inside the namespace writes a DNS
   query and its answer for a feed-listed domain onto the inner end, each time from a new ward host,
   and notes the time; the time until aiosmtpd holds the mail. p50/p95 over N packets, each its own
   group (``group_by: ['...']``), ``group_wait`` ``--group-wait`` s.
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


_SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
print("ready", flush=True)
for line in sys.stdin:
    frames = [bytes.fromhex(x) for x in line.split()]
    t = time.time()
    for f in frames:
        s.send(f)
    print(repr(t), flush=True)
"""


def _frame(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    import struct

    def csum(b: bytes) -> int:
        if len(b) % 2:
            b += b"\0"
        total = sum(struct.unpack(f"!{len(b) // 2}H", b))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload  # checksum 0: none (IPv4)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst)
    )
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp


def _dns_pair(client: str, resolver: str, name: str, qid: int) -> list[bytes]:
    import dns.message
    import dns.rrset

    q = dns.message.make_query(name, "A", id=qid)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text(name + ".", 300, "IN", "A", "203.0.113.7"))
    return [
        _frame(client, resolver, 40000 + qid % 20000, 53, q.to_wire()),
        _frame(resolver, client, 53, 40000 + qid % 20000, r.to_wire()),
    ]


def bench_packet(count: int, group_wait: float) -> None:
    import os

    import yaml
    from wardwatch.tools.netns import NetnsError, veth_pair
    from wardwatch.tools.synth import generate

    from tests.integration.test_notify_channels import Smtp

    if os.geteuid() != 0:
        print("packet → mail: skipped (needs root for a network namespace)")
        return
    tmp = Path(tempfile.mkdtemp())
    cert = _cert(tmp)
    smtp = Smtp(cert).start()
    synth = generate(tmp / "synth", seed=5, sessions=2)
    lines = (ROOT / "tools/synth/data/feed-domains.txt").read_text().splitlines()
    name = next(x.strip() for x in lines if x.strip() and not x.startswith("#"))
    serve = sender = None
    lat: list[float] = []
    try:
        with veth_pair("bnp") as (ns, outer, inner):
            cfg = yaml.safe_load(synth.config.read_text())
            cfg["data_dir"] = str(tmp / "var")
            cfg["http"] = {"listen": "127.0.0.1:0"}
            cfg["sensor"] = {"interfaces": [outer], "workers": 1}
            cfg["notify"] = {
                "poll": "1s",
                "receivers": [{"name": "oncall", "email": {
                    "to": ["t@bv.vn"], "from": "w@bv.vn", "host": "127.0.0.1", "port": smtp.port,
                    "username": "wardwatch", "password": "mật-khẩu", "ca_file": str(cert[0])}}],
                "route": {"receiver": "oncall", "group_by": ["..."], "group_wait": f"{group_wait}s", "quiet": False},
            }  # fmt: skip
            config = tmp / "hospital.yaml"
            config.write_text(yaml.safe_dump(cfg, allow_unicode=True))
            lock = tmp / "var" / "store" / "wardwatch.pid"
            serve = subprocess.Popen(
                [sys.executable, "-m", "wardwatch.cli", "serve", "--config", str(config)],
                cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            deadline = time.monotonic() + 120
            while not (lock.exists() and lock.read_text().strip() and '"api"' in lock.read_text()):
                if serve.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"serve did not start: {serve.stderr.read() if serve.stderr else ''}")
                time.sleep(0.1)
            sender = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c", _SENDER, inner],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert sender.stdout is not None and sender.stdin is not None
            assert sender.stdout.readline().strip() == "ready"
            for i in range(count):
                have = len(smtp.box.messages)
                frames = _dns_pair(f"10.20.1.{i + 1}", "10.40.0.53", name, 1000 + i)
                sender.stdin.write(" ".join(f.hex() for f in frames) + "\n")
                sender.stdin.flush()
                sent = float(sender.stdout.readline())
                deadline = time.monotonic() + 60
                while len(smtp.box.messages) == have and time.monotonic() < deadline:
                    time.sleep(0.01)
                if len(smtp.box.messages) == have:
                    raise SystemExit(f"packet {i}: no mail within 60 s")
                lat.append(time.time() - sent)
    except NetnsError as e:
        print(f"packet → mail: skipped ({e})")
        return
    finally:
        if sender is not None:
            sender.kill()
        if serve is not None:
            serve.terminate()
            serve.wait(120)
        smtp.stop()
    lat.sort()
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    print(
        f"latency packet → SMTP (live capture, store flush 5 s, merge window 5 min, group_wait {group_wait:g}s): "
        f"p50 {statistics.median(lat):.2f}s, p95 {p95:.2f}s, max {lat[-1]:.2f}s over {len(lat)} feed hits"
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
    ap.add_argument("--packet", type=int, default=20)
    args = ap.parse_args()
    if args.packet:
        bench_packet(args.packet, args.group_wait)
    bench_route(args.alerts)
    if args.am_alerts:
        bench_alertmanager(args.am_alerts)
    if args.latency:
        bench_latency(args.latency, args.group_wait, args.flush)


if __name__ == "__main__":
    main()
