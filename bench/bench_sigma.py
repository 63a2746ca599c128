"""Sigma engine benchmark: records per second through ``SigmaDetector.detect`` (one core) with our rule
pack plus generated SigmaHQ-style network rules, and the load/compile time.

    python bench/bench_sigma.py [--rules 120] [--records 300000] [--batch 8192] [--hit-rate 0.01]

Rules: the built-in pack (14 rules, 2 correlations) plus N generated rules spread over dns (domain
lists with endswith/contains, regexes, TXT-type filters), proxy (user agents, URI patterns, hosts,
methods, status codes), firewall (port lists, CIDRs, byte counts) and zeek ssl (SNI lists), in the
shapes SigmaHQ's network rules use. Records: a synthetic mix of dns (45%), conn (35%), http (12%),
tls (8%) records with Zeek fields; about ``--hit-rate`` of them hit some rule.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from typing import Any

import yaml
from wardwatch.detectors.base import Batch
from wardwatch.detectors.sigma_detector import SigmaDetector
from wardwatch.sigmarules import BUILTIN_RULES, SigmaSettings, load_ruleset

from wardwatch.segments import IpInfo

TLDS = ["com", "net", "org", "vn", "com.vn", "io", "cn", "ru", "info"]
WORDS = ["alpha", "bravo", "cloud", "data", "edge", "files", "gate", "host", "img", "java", "kube", "lab",
         "mail", "node", "ocean", "pixel", "quant", "relay", "sync", "tele", "unit", "vista", "web", "xeno"]  # fmt: skip


def _name(rnd: random.Random) -> str:
    return (
        ".".join(rnd.choice(WORDS) + str(rnd.randint(0, 99)) for _ in range(rnd.randint(1, 3)))
        + "."
        + rnd.choice(TLDS)
    )


def gen_rules(n: int, rnd: random.Random) -> str:
    docs = []
    for i in range(n):
        kind = i % 4
        rid = f"30000000-0000-4000-8000-{i:012d}"
        if kind == 0:
            det: dict[str, Any] = {
                "selection": {"QueryName|endswith": ["." + _name(rnd) for _ in range(rnd.randint(3, 30))]},
                "filter": {"QueryName|endswith": ".arpa"},
                "condition": "selection and not filter",
            }
            if i % 8 == 0:
                det = {"selection": {"record_type": ["TXT", "NULL"], "QueryName|re": f"^[a-z0-9]{{{30 + i % 20},}}\\."},
                       "condition": "selection"}  # fmt: skip
            ls = {"category": "dns"}
        elif kind == 1:
            det = {
                "selection_ua": {"c-useragent|contains": [f"tool{i}-{j}" for j in range(rnd.randint(1, 8))]},
                "selection_uri": {"c-uri|contains|all": [f"/p{i}", ".php"], "cs-method": ["POST", "PUT"]},
                "selection_host": {"cs-host|endswith": [_name(rnd) for _ in range(5)], "sc-status|gte": 400},
                "condition": "1 of selection_*",
            }
            ls = {"category": "proxy"}
        elif kind == 2:
            det = {
                "selection": {"dst_port": sorted(rnd.sample(range(1, 65535), rnd.randint(1, 6)))},
                "filter": {"dst_ip|cidr": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]},
                "big": {"src_bytes|gt": 10_000_000 + i},
                "condition": "selection and not filter or big",
            }
            ls = {"category": "firewall"}
        else:
            det = {"selection": {"server_name|endswith": [_name(rnd) for _ in range(rnd.randint(2, 20))]},
                   "condition": "selection"}  # fmt: skip
            ls = {"product": "zeek", "service": "ssl"}
        docs.append({"title": f"bench rule {i}", "id": rid, "status": "test", "level": "low", "logsource": ls,
                     "detection": det})  # fmt: skip
    return yaml.safe_dump_all(docs, sort_keys=False)


def gen_records(n: int, rnd: random.Random, hit_rate: float) -> list[dict[str, Any]]:
    ips = [f"10.20.{i // 250}.{i % 250 + 1}" for i in range(2000)] + [f"203.0.113.{i}" for i in range(1, 200)]
    uas = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0", "okhttp/4.9",
           "Microsoft-CryptoAPI/10.0", "curl/8.0"]  # fmt: skip
    out: list[dict[str, Any]] = []
    for i in range(n):
        ts = 1.7e9 + i * 0.001
        o, d = rnd.choice(ips), rnd.choice(ips)
        u = rnd.random()
        base = {
            "ts": ts,
            "uid": f"C{i}",
            "id.orig_h": o,
            "id.orig_p": rnd.randint(1024, 65535),
            "id.resp_h": d,
        }
        hit = rnd.random() < hit_rate
        if u < 0.45:
            q = "x.anydesk.com" if hit else _name(rnd)
            out.append({"_path": "dns", **base, "id.resp_p": 53, "proto": "udp", "trans_id": i & 0xFFFF, "query": q,
                        "qclass": 1, "qclass_name": "C_INTERNET", "qtype": 1, "qtype_name": rnd.choice(["A", "AAAA"]),
                        "rcode": 0, "rcode_name": "NOERROR", "AA": False, "TC": False, "RD": True, "RA": True, "Z": 0,
                        "answers": ["198.51.100.7"], "TTLs": [60.0], "rejected": False})  # fmt: skip
        elif u < 0.80:
            out.append({"_path": "conn", **base, "id.resp_p": 3389 if hit else rnd.choice([443, 80, 53, 104, 8080]),
                        "proto": "tcp", "duration": 1.5, "orig_bytes": rnd.randint(0, 100000),
                        "resp_bytes": rnd.randint(0, 100000), "conn_state": "SF", "missed_bytes": 0,
                        "history": "ShADadFf", "orig_pkts": 10, "orig_ip_bytes": 900, "resp_pkts": 9,
                        "resp_ip_bytes": 5000})  # fmt: skip
        elif u < 0.92:
            out.append({"_path": "http", **base, "id.resp_p": 80, "trans_depth": 1, "method": "GET",
                        "host": _name(rnd), "uri": f"/static/{i % 97}/app.js", "version": "1.1",
                        "user_agent": "sqlmap/1.7" if hit else rnd.choice(uas), "status_code": 200,
                        "status_msg": "OK"})  # fmt: skip
        else:
            out.append(
                {
                    "_path": "tls",
                    **base,
                    "id.resp_p": 443,
                    "version": "TLSv13",
                    "server_name": "relay.teamviewer.com" if hit else _name(rnd),
                    "ja3": "a" * 32,
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", type=int, default=120)
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--hit-rate", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    text = gen_rules(args.rules, rnd)
    t0 = time.perf_counter()
    rs = load_ruleset([BUILTIN_RULES], texts=[("bench.yml", text)])
    load_s = time.perf_counter() - t0
    assert not rs.rejected, rs.rejected[:3]
    records = gen_records(args.records, rnd, args.hit_rate)
    infos: dict[str, IpInfo] = {}

    def info(ip: str) -> IpInfo:
        got = infos.get(ip)
        if got is None:
            ext = ip.startswith("203.")
            got = infos[ip] = IpInfo(ip, None, "internet" if ext else "local", 2, ext)
        return got

    batches = [records[i : i + args.batch] for i in range(0, len(records), args.batch)]
    best = None
    for _ in range(3):
        det = SigmaDetector(rs, SigmaSettings())
        built = [Batch(b, info) for b in batches]  # the engine builds the Batch; not ours to time
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        alerts = 0
        for b in built:
            alerts += len(det.detect(b))
        alerts += len(det.flush())
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        best = min(best or (wall, cpu, alerts), (wall, cpu, alerts))
    assert best is not None
    wall, cpu, alerts = best
    print(f"rules loaded: {len(rs.rules)} + {len(rs.correlations)} correlations "
          f"(load+compile {load_s:.2f} s)")  # fmt: skip
    print(f"records: {len(records)} in batches of {args.batch}; alerts: {alerts}")
    print(f"best of 3: {wall:.3f} s wall, {cpu:.3f} s CPU → {len(records) / wall:,.0f} records/s "
          f"({len(records) / cpu:,.0f} per CPU-second)")  # fmt: skip
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
