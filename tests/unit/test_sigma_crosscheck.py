"""Cross-check: SigmaHQ-style network rules evaluated by our compiler and, independently, by the pySigma
SQLite backend (pysigma-backend-sqlite, rules → SQL) over the same events loaded into SQLite. Each rule
must select exactly the same events in both.

Both sides see the rule after our field-mapping pipeline (the backend gets the mapped rule), so what is
compared is the evaluation: wildcards, escaping, case, modifiers, conditions, CIDR, regex, numbers.
Columns are ``COLLATE NOCASE`` and absent fields are NULL, the table layout the backend documents.
"""

from __future__ import annotations

import copy
import random
import re
import sqlite3
from typing import Any

import pytest
from wardwatch.sigmarules.pipeline import build_pipelines
from wardwatch.sigmarules.ruleset import load_ruleset
from wardwatch.sigmarules.schema import FIELDS

sqlite_backend = pytest.importorskip("sigma.backends.sqlite")
from sigma.collection import SigmaCollection  # noqa: E402

RULES = r"""
title: Cobalt Strike DNS Beaconing
id: 2975af79-28c4-4d2f-a951-9095f229df29
status: test
logsource: {category: dns}
detection:
    selection1:
        query|startswith: ['aaa.stage.', 'post.1']
    selection2:
        query|contains: '.stage.123456.'
    condition: 1 of selection*
level: critical
---
title: Suspicious TLD DNS Query
id: 10000000-0000-4000-8000-000000000002
status: test
logsource: {category: dns}
detection:
    selection:
        QueryName|endswith: ['.xyz', '.top', '.tk', '.ru']
    filter:
        QueryName|endswith: 'safe.ru'
    condition: selection and not filter
level: low
---
title: DNS TXT Query to Long Label
id: 10000000-0000-4000-8000-000000000003
status: test
logsource: {product: zeek, service: dns}
detection:
    selection:
        qtype_name: 'TXT'
        query|re: '^[a-z0-9]{20,}\.'
    condition: selection
level: medium
---
title: Zeek DNS Query to Dynamic DNS Provider
id: 10000000-0000-4000-8000-000000000004
status: test
logsource: {product: zeek, service: dns}
detection:
    selection:
        query|contains: ['.duckdns.', '.no-ip.', '.ddns.', 'dyndns']
    condition: selection
level: medium
---
title: DNS Query with Wildcard Pattern
id: 10000000-0000-4000-8000-000000000005
status: test
logsource: {category: dns}
detection:
    selection:
        QueryName: ['mail?.corp.*', '*.evil.co?']
    condition: selection
level: low
---
title: DNS Query from Non-Resolver to Internet
id: 10000000-0000-4000-8000-000000000006
status: test
logsource: {category: dns}
detection:
    selection:
        dst_port: 53
    filter:
        dst_ip|cidr: ['10.0.0.0/8', '192.168.0.0/16']
    condition: selection and not filter
level: low
---
title: NXDOMAIN Answer for Random Name
id: 10000000-0000-4000-8000-000000000007
status: test
logsource: {product: zeek, service: dns}
detection:
    selection:
        rcode_name: NXDOMAIN
        query|re|i: '^[A-Z]{8,}\.(com|net)$'
    condition: selection
level: low
---
title: Telegram Bot API Access
id: 738724c3-6a48-4e08-a77a-6b1e5c4e0a1d
status: test
logsource: {category: proxy}
detection:
    selection:
        cs-host: 'api.telegram.org'
    filter:
        c-useragent|contains: ['Telegram', 'Bot']
    condition: selection and not filter
level: medium
---
title: Suspicious User Agent
id: 10000000-0000-4000-8000-000000000009
status: test
logsource: {category: proxy}
detection:
    selection:
        c-useragent|startswith: ['python-requests', 'curl/', 'Wget']
    selection_empty:
        c-useragent: ''
    selection_missing:
        c-useragent: null
    condition: 1 of selection*
level: low
---
title: Download of Executable from Raw IP
id: 10000000-0000-4000-8000-00000000000a
status: test
logsource: {category: proxy}
detection:
    selection:
        c-uri|endswith: ['.exe', '.ps1', '.sh']
        cs-host|re: '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$'
    condition: selection
level: high
---
title: Webshell Path Access
id: 10000000-0000-4000-8000-00000000000b
status: test
logsource: {category: proxy}
detection:
    selection:
        c-uri|contains|all: ['/upload', '.php']
    selection_cmd:
        c-uri|contains: ['cmd=', 'exec=']
    condition: selection and selection_cmd
level: high
---
title: HTTP Error Burst Candidate
id: 10000000-0000-4000-8000-00000000000c
status: test
logsource: {category: proxy}
detection:
    selection:
        sc-status|gte: 500
    method:
        cs-method: ['POST', 'PUT']
    condition: selection and method
level: low
---
title: Referer Equals Host
id: 10000000-0000-4000-8000-00000000000d
status: test
logsource: {category: proxy}
detection:
    selection:
        cs-referrer|fieldref: cs-host
    condition: selection
level: low
---
title: Base64 Encoded Command in URI
id: 10000000-0000-4000-8000-00000000000e
status: test
logsource: {category: proxy}
detection:
    selection:
        c-uri|base64offset|contains: 'whoami'
    condition: selection
level: high
---
title: Cased Admin Path
id: 10000000-0000-4000-8000-00000000000f
status: test
logsource: {product: zeek, service: http}
detection:
    selection:
        uri|contains|cased: '/Admin'
    condition: selection
level: low
---
title: RDP to Internet
id: 10000000-0000-4000-8000-000000000010
status: test
logsource: {category: firewall}
detection:
    selection:
        dst_port: [3389, 445]
    filter:
        dst_ip|cidr: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']
    condition: selection and not filter
level: high
---
title: Large Outbound Transfer
id: 10000000-0000-4000-8000-000000000011
status: test
logsource: {category: firewall}
detection:
    selection:
        src_bytes|gt: 1000000
        dst_port|neq: 443
    condition: selection
level: medium
---
title: Rejected Connection Low Port
id: 10000000-0000-4000-8000-000000000012
status: test
logsource: {product: zeek, service: conn}
detection:
    selection:
        conn_state: ['REJ', 'S0']
        id.resp_p|lt: 1024
    condition: selection
level: low
---
title: Connection with History Flag Pattern
id: 10000000-0000-4000-8000-000000000013
status: test
logsource: {product: zeek, service: conn}
detection:
    selection:
        history|startswith: 'S'
        history|endswith: 'R'
    short:
        duration|lte: 1
    condition: selection and not short
level: low
---
title: Network Connection from Subnet to Subnet
id: 10000000-0000-4000-8000-000000000014
status: test
logsource: {category: network_connection}
detection:
    selection:
        SourceIp|cidr: '10.20.0.0/16'
        DestinationIp|cidr: '10.40.0.0/24'
    filter:
        DestinationPort: [443, 53]
    condition: selection and not filter
level: medium
---
title: Missing Service on High Port
id: 10000000-0000-4000-8000-000000000015
status: test
logsource: {category: firewall}
detection:
    selection:
        dst_port|gte: 8000
        network_protocol|exists: false
    condition: selection
level: low
"""


def _events(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rnd = random.Random(seed)
    ips = [
        "10.20.1.5",
        "10.40.0.9",
        "192.168.1.2",
        "172.16.5.5",
        "8.8.8.8",
        "203.0.113.7",
        "10.255.0.1",
        "172.32.0.1",
    ]
    names = [
        "aaa.stage.123456.evil.com",
        "post.1abc.example",
        "x.stage.123456.y",
        "good.example.com",
        "a.b.XYZ",
        "shop.top",
        "bad.tk",
        "ok.safe.ru",
        "x.ru",
        "abcdefghijklmnopqrstuvwxyz0123.t.net",
        "short.t.net",
        "home.DuckDNS.org",
        "dyndns.example",
        "MAIL1.corp.local",
        "mail12.corp.local",
        "host.evil.com",
        "host.evil.co",
        "QWERTYUIOP.com",
        "qwe.com",
        "ABCDEFGHIJ.net.x",
        "a*b.com",
    ]
    hosts = [
        "api.telegram.org",
        "API.Telegram.org",
        "10.1.2.3",
        "1.2.3.4",
        "example.com",
        "a.com",
        "",
        "b.com",
    ]
    uris = [
        "/upload/x.php?cmd=ls",
        "/upload/x.PHP?EXEC=1",
        "/upload/y.php",
        "/a.exe",
        "/b.PS1",
        "/c.sh.txt",
        "/Admin/panel",
        "/admin/panel",
        "/q?x=d2hvYW1p",
        "/q?x=" + "IHdob2FtaQ==",
        "/q?x=aGVsbG8=",
        "/index.html",
        "/a*b",
    ]
    uas = [
        "python-requests/2.31",
        "curl/8.0",
        "Wget/1.21",
        "Mozilla/5.0",
        "TelegramBot (like TwitterBot)",
        "",
        None,
        "PYTHON-REQUESTS/1",
    ]
    out: dict[str, list[dict[str, Any]]] = {"dns": [], "http": [], "conn": []}
    for i in range(400):
        r: dict[str, Any] = {
            "ts": 1000.0 + i,
            "id.orig_h": rnd.choice(ips),
            "id.resp_h": rnd.choice(ips),
            "id.orig_p": rnd.randint(1024, 65535),
            "id.resp_p": rnd.choice([53, 5353, 53]),
        }
        r["query"] = rnd.choice(names)
        r["qtype_name"] = rnd.choice(["A", "TXT", "AAAA", "txt"])
        if rnd.random() < 0.7:
            r["rcode_name"] = rnd.choice(["NOERROR", "NXDOMAIN"])
        out["dns"].append(r)
        h: dict[str, Any] = {
            "ts": 1000.0 + i,
            "id.orig_h": rnd.choice(ips),
            "id.resp_h": rnd.choice(ips),
            "id.orig_p": 40000,
            "id.resp_p": 80,
            "method": rnd.choice(["GET", "POST", "put"]),
            "host": rnd.choice(hosts),
            "uri": rnd.choice(uris),
            "status_code": rnd.choice([200, 404, 500, 503]),
        }
        ua = rnd.choice(uas)
        if ua is not None:
            h["user_agent"] = ua
        if rnd.random() < 0.5:
            h["referrer"] = rnd.choice(hosts)
        out["http"].append(h)
        c: dict[str, Any] = {
            "ts": 1000.0 + i,
            "id.orig_h": rnd.choice(ips),
            "id.resp_h": rnd.choice(ips),
            "id.orig_p": 40000,
            "id.resp_p": rnd.choice([22, 53, 443, 445, 3389, 8080, 9000]),
            "proto": "tcp",
            "conn_state": rnd.choice(["SF", "REJ", "S0", "RSTR"]),
            "history": rnd.choice(["ShADadR", "S", "ShR", "Dd"]),
            "orig_bytes": rnd.choice([10, 5000, 2_000_000]),
            "duration": rnd.choice([0.5, 1, 30.0]),
        }
        if rnd.random() < 0.5:
            c["service"] = rnd.choice(["http", "ssl"])
        out["conn"].append(c)
    return out


def _regexp(pattern: str, value: Any) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def _sqlite(events: dict[str, list[dict[str, Any]]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, _regexp, deterministic=True)
    for log, rows in events.items():
        cols = sorted(FIELDS[log])
        db.execute(
            f"CREATE TABLE {log} (eid INTEGER, " + ", ".join(f'"{c}" COLLATE NOCASE' for c in cols) + ")"
        )
        for i, r in enumerate(rows):
            vals = [i] + [
                ("true" if r[c] else "false") if isinstance(r.get(c), bool) else r.get(c) for c in cols
            ]
            db.execute(f"INSERT INTO {log} VALUES ({', '.join('?' * len(vals))})", vals)
    return db


def test_rules_agree_with_the_sqlite_backend() -> None:
    events = _events()
    db = _sqlite(events)
    rs = load_ruleset([], texts=[("sigmahq-style.yml", RULES)])
    assert not rs.rejected, rs.rejected
    assert len(rs.rules) == 21
    pipelines = build_pipelines()
    originals = {str(r.id): r for r in SigmaCollection.from_yaml(RULES).rules}
    for cr in rs.rules:
        (log,) = cr.logs
        mapped = pipelines[log].apply(copy.deepcopy(originals[cr.key]))
        backend = sqlite_backend.sqliteBackend(table=log)
        (query,) = backend.convert(SigmaCollection([mapped]))
        sql = query.replace("SELECT *", "SELECT eid", 1)
        theirs = {row[0] for row in db.execute(sql)}
        ours = {i for i, r in enumerate(events[log]) if cr.matches(r)}
        merged_fn, rules = rs.matchers[log]
        k = rules.index(cr)
        merged = {i for i, r in enumerate(events[log]) if k in merged_fn(r)}
        assert ours == merged, cr.title
        assert ours == theirs, (cr.title, sql, sorted(ours ^ theirs)[:5])
        assert 0 < len(ours) < len(events[log]), (cr.title, len(ours))


def test_gated_matchers_select_what_ungated_ones_do() -> None:
    """A log's merged function returns at once when a record passes none of the rules' gates (the
    field tests each rule implies): on the bundled rule pack and this file's rules, over these events
    with their (orig, resp) infos, it selects what the same function without gates selects."""
    from pathlib import Path

    from wardwatch.detectors.engine import Engine
    from wardwatch.detectors.sigma_detector import SigmaDetector
    from wardwatch.sigmarules.backends.streaming import Codegen

    from wardwatch.config import parse_config

    cfg = parse_config(
        "segments:\n  - {name: wards, cidrs: [10.20.0.0/22], zone: clinical}\n", Path("t.yaml")
    )
    engine = Engine.from_config(cfg)
    pack = next(d for d in engine.detectors if isinstance(d, SigmaDetector)).ruleset
    mine = load_ruleset([], texts=[("sigmahq-style.yml", RULES)])
    events = _events(11)
    gated_some = 0
    for rs in (pack, mine):
        for log, (fn, rules) in rs.matchers.items():
            cg = Codegen(FIELDS[log])
            exprs = [cg.expr(cr.trees[log]) for cr in rules]
            plain = cg.build("plain", exprs)
            gated_some += "return []" in fn.source
            for r in events.get(log, []):
                x = (engine.info(r["id.orig_h"]), engine.info(r["id.resp_h"])) if "id.orig_h" in r else None
                assert fn(r, x) == plain(r, x), (log, r)
    assert gated_some >= 2  # the gates are in use (conn and dns at least)
