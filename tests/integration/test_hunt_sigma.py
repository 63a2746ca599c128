"""Sigma retro-hunt: on the same stored records, each rule's SQL translation (``sigmarules/backends/clickhouse.py``)
returns exactly the records the streaming engine (``sigmarules/backends/streaming.py``) matches, compared by uid;
injection attempts stay values; ``wardwatch hunt`` finds a rule added after the traffic was stored."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("chdb")

from wardwatch.cli import main  # noqa: E402
from wardwatch.detectors.settings import load_settings  # noqa: E402
from wardwatch.hunt.sigma import hunt_sigma, matching_uids  # noqa: E402
from wardwatch.ingest.sensor import sense  # noqa: E402
from wardwatch.sigmarules import load_ruleset  # noqa: E402
from wardwatch.sigmarules.backends.clickhouse import translate  # noqa: E402
from wardwatch.sigmarules.correlation import Correlator  # noqa: E402
from wardwatch.store import open_store  # noqa: E402
from wardwatch.store.schema import BY_LOG  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

from wardwatch.config import load_config  # noqa: E402
from wardwatch.counters import Counters  # noqa: E402
from wardwatch.segments import SegmentMap, criticality_level  # noqa: E402


def _rule(n: int, service: str, detection: dict[str, Any], condition: str = "sel") -> tuple[str, str]:
    doc = {
        "title": f"t{n}",
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "logsource": {"product": "wardwatch", "service": service},
        "detection": {**detection, "condition": condition},
        "level": "medium",
    }
    return f"r{n}.yml", yaml.safe_dump(doc)


RULES = [
    _rule(1, "dns", {"sel": {"query": "HIS.BenhVien.Local"}}),  # case-insensitive equality
    _rule(2, "dns", {"sel": {"query|contains|all": ["BENHVIEN", "his"]}}),
    _rule(3, "dns", {"sel": {"query": "www.?ou*.com"}}),  # single and multi wildcards
    _rule(4, "dns", {"a": {"query|cased": "chat.zalo.me"}, "b": {"query|cased": "CHAT.ZALO.ME"}}, "a or b"),
    _rule(5, "dns", {"sel": {"query|re|i": r"^WWW\.[a-z]+\.(com|net)$"}}),
    _rule(6, "dns", {"sel": {"answers|cidr": "10.10.0.0/24"}}),  # list field, CIDR on strings
    _rule(7, "dns", {"sel": {"QueryResults|contains": "10.13."}}),  # generic name → answers
    _rule(8, "dns", {"sel": {"rcode": None}}),  # null on a Nullable column
    _rule(9, "dns", {"sel": {"qtype_name": "A"}, "f": {"rcode": 0}}, "sel and not f"),  # not over NULLs
    _rule(10, "dns", {"sel": {"TTLs|gte": 300, "rtt|lt": 0.01}}),
    _rule(11, "dns", {"sel": {"RD": True, "AA": False, "rtt|exists": False}}),
    _rule(12, "dns", {"sel": {"query|endswith": [".vn", ".me"], "query|startswith": "www."}}),
    _rule(13, "dns", {"sel": {"src_zone": "clinical", "rcode_name": "nxdomain"}}),
    _rule(14, "conn", {"sel": {"id.resp_p": 443, "id.resp_h|cidr": "10.40.0.0/24"}}),
    _rule(
        15,
        "conn",
        {"sel": {"conn_state": "rej"}, "s2": {"duration|gt": 1, "orig_bytes|gte": 100000}},
        "sel or s2",
    ),
    _rule(16, "conn", {"sel": {"id.orig_h|startswith": "10.20.", "dst_external": True}}),
    _rule(17, "conn", {"sel": {"dst_segment": ["servers", "pacs"], "src_segment": "wards"}}),
    _rule(18, "conn", {"sel": {"src_segment": None}}),  # originator outside every segment
    _rule(19, "conn", {"sel": {"DestinationPort": "53", "service|exists": True}}),  # string vs UInt16
    _rule(20, "http", {"sel": {"uri|re": "/api/benhan/[0-9]+$", "c-useragent|contains": "windows nt"}}),
    _rule(
        21, "http", {"sel": {"host|endswith": ".example"}, "ip": {"host|fieldref": "id.resp_h"}}, "sel or ip"
    ),
    _rule(22, "http", {"sel": {"status_code|exists": True, "status_code|lt": 300}}),
    _rule(
        23, "tls", {"sel": {"sni|endswith": ".benhvien.local"}, "f": {"server_name": "his*"}}, "sel and not f"
    ),
    _rule(24, "tls", {"sel": {"server_name": "*", "ja3|exists": True}}),
    _rule(25, "login", {"sel": {"success": True, "user|re": "^(admin|root)$", "weak_password": True}}),
    _rule(26, "login", {"sel": {"user|cased": ["Admin", "ketoan"]}}),
    # injection attempts: values, never SQL
    _rule(27, "dns", {"sel": {"query": ["x' OR 1=1 --", "a\\' OR '1'='1", "}; DROP TABLE dns; --"]}}),
    _rule(28, "dns", {"sel": {"query|contains": "'); DROP TABLE dns; --", "query|re": "'.*{p0:String}"}}),
    _rule(29, "http", {"sel": {"uri|startswith": "/api/{__lo:String}\\\\"}}),
]
KEYWORD = _rule(30, "dns", {"kw": ["zalo"]}, "kw")
CORRELATIONS = """
title: base nx
id: 00000000-0000-4000-8000-000000000100
name: base_nx
logsource: {product: wardwatch, service: dns}
detection: {sel: {rcode_name: NXDOMAIN}, condition: sel}
---
title: nx burst
id: 00000000-0000-4000-8000-000000000101
correlation: {type: event_count, rules: [base_nx], group-by: [id.orig_h], timespan: 2m, condition: {gte: 5}}
---
title: nx names
id: 00000000-0000-4000-8000-000000000102
correlation: {type: value_count, rules: [base_nx], group-by: [id.orig_h], timespan: 5m, condition: {field: query, gte: 3}}
---
title: nx quiet
id: 00000000-0000-4000-8000-000000000103
correlation: {type: event_count, rules: [base_nx], group-by: [id.orig_h], timespan: 5m, condition: {lt: 2}}
"""


# first: the module's stored fixture below holds the (one per process) chdb store open
def test_hunt_finds_sigma_rule_added_later(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = generate(tmp_path / "synth", seed=3)
    cfg = yaml.safe_load(res.config.read_text())
    cfg["data_dir"] = str(tmp_path / "var")
    cfg["feeds"] = []
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    assert main(["run", "--quiet", "--pcap", str(res.pcap), "--config", str(conf)]) == 0

    (tmp_path / "late.yml").write_text(RULES[3][1])  # chat.zalo.me, cased: added after the traffic
    cfg.setdefault("detectors", {})["sigma"] = {"builtin": False, "rules": [str(tmp_path / "late.yml")]}
    conf.write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert main(["hunt", "--config", str(conf), "--since", "all"]) == 0
    assert "sigma" in capsys.readouterr().err

    config = load_config(conf)
    store = open_store(config)
    try:
        rows = store.rows(
            "SELECT rule, category, indicator, retro, count, toString(src_ip) AS src FROM alerts"
            " WHERE category = 'sigma' AND retro ORDER BY ts"
        )
        # the resolver's forwarded copies are skipped, as the streaming detector skips them
        resolvers = sorted(load_settings(config).resolvers)
        want = store.rows(
            "SELECT count() AS c, uniqExact(id_orig_h) AS n FROM dns WHERE query = 'chat.zalo.me'"
            " AND replaceRegexpOne(toString(id_orig_h), '^::ffff:', '') NOT IN {r:Array(String)}",
            {"r": resolvers},
        )[0]
        plan = translate(load_ruleset([tmp_path / "late.yml"]), BY_LOG, config.segments)
        info = _smap(config).info
        again = hunt_sigma(store, config, info, 0, 4e9, plan)
    finally:
        store.close()
    assert rows and all(r["indicator"] == "chat.zalo.me" and r["rule"].startswith("sigma.") for r in rows)
    assert sum(r["count"] for r in rows) == want["c"] and len(rows) == want["n"]
    assert {a.uid for a in again.alerts} and len(again.alerts) == len(rows)  # same alerts (same uids)

    assert main(["hunt", "--config", str(conf), "--since", "all"]) == 0  # again: nothing new
    assert "0 new retro alerts" in capsys.readouterr().err


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("hunt_sigma")
    res = generate(tmp / "synth", seed=7)
    cfg = yaml.safe_load(res.config.read_text())
    cfg["data_dir"] = str(tmp / "var")
    conf = tmp / "c.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    config = load_config(conf)
    records = [r for b in sense([res.pcap], Counters()) for r in b]
    store = open_store(config)
    w = store.writer()
    w.add_records(records)
    w.flush()
    yield config, store, records
    store.close()


def _smap(config: Any) -> SegmentMap:
    return SegmentMap(
        (s.name, s.cidrs, s.zone, criticality_level(s.criticality) or 2) for s in config.segments
    )


def test_sql_matches_streaming_by_uid(stored) -> None:  # type: ignore[no-untyped-def]
    config, store, records = stored
    rs = load_ruleset([], texts=RULES)
    assert not rs.rejected, rs.rejected
    plan = translate(rs, BY_LOG, config.segments)
    assert not plan.rejected, plan.rejected
    smap = _smap(config)
    by_key = {r.key: r for r in plan.rules}
    hit_rules = 0
    for cr in rs.rules:
        (log,) = cr.logs
        want = Counter(
            r["uid"]
            for r in records
            if r["_path"] == log and cr.matches(r, (smap.info(r["id.orig_h"]), smap.info(r["id.resp_h"])))
        )
        got = Counter(matching_uids(store, by_key[cr.key], 0, 4e9))
        assert got == want, (cr.title, by_key[cr.key].where, by_key[cr.key].params)
        hit_rules += bool(want)
    assert hit_rules >= 22  # the set is meaningful: most rules match something
    # the injection attempts matched nothing and broke nothing
    assert store.rows("SELECT count() AS c FROM dns")[0]["c"] == sum(r["_path"] == "dns" for r in records)


def test_rejections_have_reasons(stored) -> None:  # type: ignore[no-untyped-def]
    config, _, _ = stored
    rs = load_ruleset([], texts=[KEYWORD], strict_fields=True)
    plan = translate(rs, BY_LOG, config.segments)
    assert [k for k, _ in plan.rejected] == [rs.rules[0].key] if rs.rules else rs.rejected
    if rs.rules:
        assert "keyword" in plan.rejected[0][1]


def test_correlations_match_streaming_groups(stored) -> None:  # type: ignore[no-untyped-def]
    config, store, records = stored
    rs = load_ruleset([], texts=[("c.yml", CORRELATIONS)])
    plan = translate(rs, BY_LOG, config.segments)
    assert [c.title for c in plan.correlations] == ["nx burst", "nx names"]
    assert any("lt conditions" in reason for _, reason in plan.rejected)
    base = rs.rules[0]
    for cc, sc in zip(rs.correlations[:2], plan.correlations, strict=True):
        corr = Correlator([cc.spec], lateness=0)
        for r in sorted((r for r in records if r["_path"] == "dns"), key=lambda r: r["ts"]):
            if base.matches(r):
                corr.add(base.key, r["ts"], r)
        want = {f.key[0] for f in corr.flush()}
        got = {
            r["g0"]
            for r in store.rows(
                sc.sql, {**sc.params, "__lo": "1970-01-01 00:00:00", "__hi": "2100-01-01 00:00:00"}
            )
        }
        assert got == want and want, cc.title
