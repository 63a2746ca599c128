"""Correlation rules over synthetic streams: they fire exactly when the threshold is crossed within the
timespan, also when events arrive out of order within the lateness bound; the detector turns them into
alerts; memory stays bounded."""

from __future__ import annotations

import random
from typing import Any

from wardwatch.detectors.base import Batch
from wardwatch.detectors.sigma_detector import SigmaDetector
from wardwatch.sigmarules import BUILTIN_RULES, SigmaSettings, load_ruleset
from wardwatch.sigmarules.correlation import Correlator

from wardwatch.counters import Counters
from wardwatch.segments import IpInfo

BASE = """
title: failed login
id: 20000000-0000-4000-8000-000000000001
name: failed
status: test
logsource: {product: wardwatch, service: login}
detection:
    sel:
        success: false
    condition: sel
---
title: admin login ok
id: 20000000-0000-4000-8000-000000000002
name: ok_admin
status: test
logsource: {product: wardwatch, service: login}
detection:
    sel:
        success: true
        user: admin
    condition: sel
---
title: export
id: 20000000-0000-4000-8000-000000000003
name: export
status: test
logsource: {product: wardwatch, service: http}
detection:
    sel:
        uri|startswith: /export
    condition: sel
"""


def corr(body: str) -> str:
    return (
        BASE
        + "---\ntitle: corr\nid: 20000000-0000-4000-8000-0000000000ff\nstatus: test\nlevel: high\n"
        + body
    )


def run(
    text: str, events: list[tuple[float, dict[str, Any]]], lateness: float = 0.0, batch: int = 1
) -> list[float]:
    """Feed (ts, record) in the given order, in batches; returns the times of correlation alerts."""
    rs = load_ruleset([], texts=[("c.yml", text)])
    assert not rs.rejected, rs.rejected
    det = SigmaDetector(rs, SigmaSettings(lateness=lateness))
    out = []
    recs = [{"ts": ts, "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", **r} for ts, r in events]
    for i in range(0, len(recs), batch):
        out += det.detect(Batch(recs[i : i + batch], _info))
    out += det.flush()
    return sorted(a.ts for a in out if a.rule.endswith("0000000000ff"))


def _info(ip: str) -> IpInfo:
    return IpInfo(ip, None, "local", 2, False)


def failed(user: str = "u", path: str = "login") -> dict[str, Any]:
    return {"_path": path, "success": False, "user": user}


EVENT_COUNT = corr("""correlation:
    type: event_count
    rules: failed
    group-by: [id.orig_h]
    timespan: 60s
    condition: {gte: 5}
""")


def test_event_count_fires_on_the_crossing_event_only() -> None:
    assert run(EVENT_COUNT, [(t, failed()) for t in (0, 10, 20, 30)]) == []
    assert run(EVENT_COUNT, [(t, failed()) for t in (0, 10, 20, 30, 40)]) == [40]
    # the fifth event falls outside 60 s of the first: no alert until a fifth within a window
    assert run(EVENT_COUNT, [(t, failed()) for t in (0, 10, 20, 30, 61)]) == []
    assert run(EVENT_COUNT, [(t, failed()) for t in (0, 10, 20, 30, 61, 62)]) == [62]
    # after firing the group starts afresh: ten in a row give two alerts, not six
    assert run(EVENT_COUNT, [(float(t), failed()) for t in range(10)]) == [4, 9]


def test_event_count_groups_separately() -> None:
    evs = [(float(t), {**failed(), "id.orig_h": f"10.0.0.{t % 2}"}) for t in range(8)]
    rs = load_ruleset([], texts=[("c.yml", EVENT_COUNT)])
    det = SigmaDetector(rs, SigmaSettings(lateness=0))
    alerts = (
        det.detect(Batch([{"ts": ts, "id.resp_h": "10.9.9.9", **r} for ts, r in evs], _info)) + det.flush()
    )
    assert alerts == []  # 4 each
    # boundary: exactly timespan apart still counts (inclusive window)
    assert run(EVENT_COUNT, [(t, failed()) for t in (0, 15, 30, 45, 60)]) == [60]


def test_out_of_order_within_lateness_is_counted_in_order() -> None:
    times = [0, 10, 20, 30, 40]
    shuffled = [(t, failed()) for t in (10, 0, 30, 40, 20)]
    assert run(EVENT_COUNT, shuffled, lateness=30, batch=1) == [40]
    # without lateness, the late events are dropped and the threshold is not reached
    assert run(EVENT_COUNT, shuffled, lateness=0, batch=1) == []
    # a random permutation of a stream, each event at most 5 s late, gives the in-order result
    rnd = random.Random(3)
    base = sorted(rnd.uniform(0, 600) for _ in range(200))
    in_order = run(EVENT_COUNT, [(t, failed()) for t in base], lateness=0)
    jittered = sorted(base, key=lambda t: t + rnd.uniform(-5, 5))
    assert (
        max(b - a for a, b in zip(jittered, jittered[1:], strict=False) if b < a)
        if any(b < a for a, b in zip(jittered, jittered[1:], strict=False))
        else True
    )
    assert run(EVENT_COUNT, [(t, failed()) for t in jittered], lateness=10.0) == in_order
    assert times  # keep the plain list for readers


def test_value_count() -> None:
    text = corr("""correlation:
    type: value_count
    rules: failed
    group-by: [id.orig_h]
    timespan: 5m
    condition: {gte: 3, field: user}
""")
    assert run(text, [(0, failed("a")), (1, failed("a")), (2, failed("b")), (3, failed("b"))]) == []
    assert run(text, [(0, failed("a")), (1, failed("b")), (2, failed("a")), (3, failed("c"))]) == [3]
    # 'a' at 0 has left the window by 301: only b, c remain, then d makes three
    assert run(text, [(0, failed("a")), (100, failed("b")), (301, failed("c"))]) == []
    assert run(text, [(0, failed("a")), (100, failed("b")), (301, failed("c")), (302, failed("d"))]) == [302]


def test_temporal_and_ordered() -> None:
    text = corr("""correlation:
    type: temporal
    rules: [failed, ok_admin]
    group-by: [id.orig_h]
    timespan: 60s
""")
    ok = {"_path": "login", "success": True, "user": "admin"}
    assert run(text, [(0, ok), (30, failed())]) == [30]  # any order
    assert run(text, [(0, failed()), (61, ok)]) == []
    ordered = text.replace("type: temporal", "type: temporal_ordered")
    assert run(ordered, [(0, failed()), (30, ok)]) == [30]
    assert run(ordered, [(0, ok), (30, failed())]) == []
    assert run(ordered, [(0, ok), (30, failed()), (40, ok)]) == [40]
    assert run(ordered, [(0, failed()), (61, ok)]) == []


def test_temporal_across_logs_with_aliases() -> None:
    text = corr("""correlation:
    type: temporal
    rules: [ok_admin, export]
    group-by: [client]
    aliases:
        client:
            ok_admin: id.orig_h
            export: id.orig_h
    timespan: 10m
""")
    ok = {"_path": "login", "success": True, "user": "admin"}
    exp = {"_path": "http", "uri": "/export/all"}
    assert run(text, [(0, ok), (100, exp)]) == [100]
    assert run(text, [(0, ok), (100, {"_path": "http", "uri": "/view"})]) == []


def test_window_end_conditions() -> None:
    text = corr("""correlation:
    type: event_count
    rules: failed
    group-by: [id.orig_h]
    timespan: 60s
    condition: {lt: 3}
""")
    assert run(text, [(0, failed()), (10, failed())]) == [0]  # judged at the end of the input
    assert run(text, [(0, failed()), (10, failed()), (20, failed())]) == []
    # judged when later input passes the window's end
    assert run(text, [(0, failed()), (100, {"_path": "login", "success": True})]) == [0]


def test_generate_false_silences_the_base_rule() -> None:
    rs = load_ruleset([], texts=[("c.yml", EVENT_COUNT)])
    by = {r.title: r for r in rs.rules}
    assert not by["failed login"].alert
    assert by["admin login ok"].alert
    gen = EVENT_COUNT.replace("    type: event_count", "    type: event_count\n    generate: true")
    rs = load_ruleset([], texts=[("c.yml", gen)])
    assert {r.title: r for r in rs.rules}["failed login"].alert


def test_rejected_correlations() -> None:
    text = corr("""correlation:
    type: value_sum
    rules: failed
    group-by: [id.orig_h]
    timespan: 60s
    condition: {gte: 5, field: user}
""")
    rs = load_ruleset([], texts=[("c.yml", text)])
    assert any("value_sum" in x.reason for x in rs.rejected)
    text = corr("""correlation:
    type: event_count
    rules: nosuchrule
    timespan: 60s
    condition: {gte: 5}
""")
    rs = load_ruleset([], texts=[("c.yml", text)])
    assert len(rs.rejected) == 1 and not rs.correlations


def test_memory_is_bounded() -> None:
    rs = load_ruleset([], texts=[("c.yml", EVENT_COUNT)])
    counters = Counters()
    corr_ = Correlator([c.spec for c in rs.correlations], lateness=0, max_groups=100, counters=counters)
    (key,) = [r.key for r in rs.rules if r.title == "failed login"]
    for i in range(10_000):
        corr_.add(key, float(i), {"id.orig_h": f"10.{i % 250}.{i // 250}.1"})
        corr_.advance(float(i))
    groups = corr_.groups[rs.correlations[0].key]
    assert len(groups) <= 100
    assert counters.get("sigma.correlation.groups_evicted", 0) > 0
    for _ in range(1000):  # one busy group keeps at most the threshold's worth of timestamps
        corr_.add(key, 20_000.0, {"id.orig_h": "1.1.1.1"})
    corr_.advance(20_000.0)
    assert all(len(g.times) <= 5 for g in groups.values())


def test_builtin_failed_login_burst() -> None:
    rs = load_ruleset([BUILTIN_RULES])
    det = SigmaDetector(rs, SigmaSettings(lateness=5))
    recs = [
        {
            "_path": "login",
            "ts": 100.0 + i,
            "id.orig_h": "10.20.0.9",
            "id.resp_h": "10.40.0.2",
            "service": "ftp",
            "user": f"user{i % 3}",
            "success": False,
        }
        for i in range(10)
    ]
    alerts = det.detect(Batch(recs, _info)) + det.flush()
    titles = sorted(a.evidence["rule_title"] for a in alerts)
    assert titles == ["Many Failed Logins from One Host"]
    (a,) = alerts
    assert a.category == "sigma" and a.severity == "high" and a.ts == 109.0
    assert a.mitre == ("T1110.001",) and a.evidence["count"] == 10
    assert a.directive == "BYT-K2DT-2024"  # the correlation's own, not its base rule's


DIRECTIVES = """
title: cites one
id: 30000000-0000-4000-8000-000000000001
status: test
logsource: {category: dns}
detection:
    sel: {QueryName|endswith: .evil}
    condition: sel
directive: syt-bdi-2024
---
title: cites none
id: 30000000-0000-4000-8000-000000000002
status: test
logsource: {category: dns}
detection:
    sel: {QueryName|endswith: .bad}
    condition: sel
---
title: cites an unknown order
id: 30000000-0000-4000-8000-000000000003
status: test
logsource: {category: dns}
detection:
    sel: {QueryName|endswith: .evil}
    condition: sel
directive: BYT-9999
"""


def _dns(src: str, query: str, ts: float = 1.0) -> dict[str, Any]:
    return {"_path": "dns", "ts": ts, "id.orig_h": src, "id.resp_h": "10.40.0.53", "query": query}


def test_alerts_cite_the_rule_directive_or_the_monitoring_order() -> None:
    rs = load_ruleset([], texts=[("d.yml", DIRECTIVES)])
    (bad,) = rs.rejected
    assert bad.rule.endswith("0003") and "BYT-9999" in bad.reason
    det = SigmaDetector(rs)
    alerts = det.detect(Batch([_dns("10.0.0.1", "a.evil"), _dns("10.0.0.1", "a.bad")], _info))
    assert {a.indicator: a.directive for a in alerts} == {"a.evil": "SYT-BDI-2024", "a.bad": "BYT-CNTT-2021"}
    assert all(r.directive for r in load_ruleset([BUILTIN_RULES]).rules)


def test_forwarded_lookups_of_a_resolver_are_skipped() -> None:
    rs = load_ruleset([], texts=[("d.yml", DIRECTIVES)])
    recs = [_dns("10.0.0.1", "a.evil"), {**_dns("10.40.0.53", "a.evil", 1.1), "id.resp_h": "203.0.113.53"}]
    resolvers = frozenset(("10.40.0.53",))

    def run(settings: SigmaSettings) -> list[str]:
        return [a.src_ip for a in SigmaDetector(rs, settings, resolvers=resolvers).detect(Batch(recs, _info))]

    assert run(SigmaSettings()) == ["10.0.0.1"]
    assert run(SigmaSettings(skip_resolvers=False)) == ["10.0.0.1", "10.40.0.53"]
    assert [a.src_ip for a in SigmaDetector(rs).detect(Batch(recs, _info))] == ["10.0.0.1", "10.40.0.53"]
