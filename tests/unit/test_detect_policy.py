"""Detection engine from record dicts: each policy detector, feed matching, severity, noise control,
and the detector part of the config."""

from __future__ import annotations

from pathlib import Path

import pytest
from wardwatch.detectors import Engine, build_detectors, lists, load_settings
from wardwatch.threatfeeds import IndexBuilder

from wardwatch.alerts import CATEGORIES, Alert
from wardwatch.config import ConfigError, parse_config
from wardwatch.directives import directives

HOSPITAL = """\
data_dir: var
segments:
  - {name: his, cidrs: [10.10.0.0/24], zone: his, criticality: high}
  - {name: emr, cidrs: [10.11.0.0/24], zone: emr, criticality: critical}
  - {name: wards, cidrs: [10.20.0.0/22], zone: clinical, criticality: high}
  - {name: office, cidrs: [10.30.0.0/24], zone: admin, criticality: medium}
  - {name: servers, cidrs: [10.40.0.0/24], zone: server}
  - {name: guest, cidrs: [172.16.0.0/20], zone: guest, criticality: low}
  - {name: secret, cidrs: [10.99.0.0/24], zone: airgap, criticality: critical}
detectors:
  dns_bypass: {resolvers: [10.40.0.53]}
"""


def engine(text: str = HOSPITAL, feeds: list[str] | None = None, extra: str = "") -> Engine:
    config = parse_config(text + extra, Path("/tmp/hospital.yaml"))
    index = None
    if feeds is not None:
        b = IndexBuilder()
        b.add_feed("test-feed", [(f, None, None) for f in feeds])
        index = b.build()
    settings = load_settings(config)
    return Engine(settings, build_detectors(settings, index))


def conn(src: str, dst: str, port: int, proto: str = "tcp", ts: float = 1000.0, **kw: object) -> dict:
    rec = {"_path": "conn", "ts": ts, "uid": f"C{src}{dst}{port}{ts}", "id.orig_h": src, "id.orig_p": 40000,
           "id.resp_h": dst, "id.resp_p": port, "proto": proto, "conn_state": "SF", "resp_pkts": 3}  # fmt: skip
    rec.update(kw)
    return rec


def dns(
    src: str, query: str, answers: list[str] | None = None, ts: float = 1000.0, dst: str = "10.40.0.53"
) -> dict:
    rec: dict = {"_path": "dns", "ts": ts, "uid": f"D{src}{query}{ts}", "id.orig_h": src, "id.orig_p": 5353,
                 "id.resp_h": dst, "id.resp_p": 53, "proto": "udp", "trans_id": 7, "query": query}  # fmt: skip
    if answers:
        rec["answers"] = answers
    return rec


def tls(src: str, dst: str, sni: str, ts: float = 1000.0, port: int = 443) -> dict:
    return {"_path": "tls", "ts": ts, "uid": f"T{src}{sni}{ts}", "id.orig_h": src, "id.orig_p": 40001,
            "id.resp_h": dst, "id.resp_p": port, "server_name": sni}  # fmt: skip


def login(src: str, dst: str, service: str, user: str, weak: bool, success: bool = True) -> dict:
    return {"_path": "login", "ts": 1000.0, "uid": f"L{src}{user}", "id.orig_h": src, "id.orig_p": 40002,
            "id.resp_h": dst, "id.resp_p": 21, "service": service, "user": user, "weak_password": weak,
            "success": success}  # fmt: skip


def run(e: Engine, records: list[dict]) -> list[Alert]:
    return e.process(records) + e.flush()


def keys(alerts: list[Alert]) -> set[tuple[str, str, str]]:
    return {(a.category, a.src_ip, a.indicator) for a in alerts}


# -- feed matching ------------------------------------------------------------------------------------
def test_feed_hits_on_query_cname_answer_sni_host_and_conn() -> None:
    e = engine(feeds=["evil.example", "cname-bad.example", "45.67.89.10", "5.188.10.0/24"])
    recs = [
        dns("10.20.0.5", "a.b.evil.example"),
        dns("10.20.0.6", "ok.example", ["x.cname-bad.example", "203.0.113.9"]),
        dns("10.20.0.7", "fine.example", ["45.67.89.10"]),
        tls("10.30.0.8", "203.0.113.10", "www.evil.example"),
        {"_path": "http", "ts": 1000.0, "uid": "H1", "id.orig_h": "10.30.0.9", "id.orig_p": 1, "id.resp_h": "203.0.113.11",
         "id.resp_p": 80, "host": "EVIL.example:8080", "uri": "/"},
        conn("10.30.0.10", "45.67.89.10", 8080),
        conn("5.188.10.7", "10.30.0.11", 443),
    ]  # fmt: skip
    alerts = run(e, recs)
    assert keys(alerts) == {
        ("threat_feed_domain", "10.20.0.5", "evil.example"),
        ("threat_feed_domain", "10.20.0.6", "cname-bad.example"),
        ("threat_feed_ip", "10.20.0.7", "45.67.89.10"),
        ("threat_feed_domain", "10.30.0.8", "evil.example"),
        ("threat_feed_domain", "10.30.0.9", "evil.example"),
        ("threat_feed_ip", "10.30.0.10", "45.67.89.10"),
        ("threat_feed_ip", "5.188.10.7", "5.188.10.0/24"),
    }
    by_rule = {a.rule for a in alerts}
    assert by_rule >= {
        "feed.dns.query",
        "feed.dns.cname",
        "feed.dns.answer",
        "feed.tls.sni",
        "feed.http.host",
        "feed.conn.ip",
    }
    a = next(a for a in alerts if a.rule == "feed.dns.query")
    assert a.evidence["observed"] == "a.b.evil.example"
    assert a.evidence["feeds"]["feeds"] == ["test-feed"]
    assert a.directive == "BYT-CNTT-2021" and a.mitre
    assert set(a.summary) == {"vi", "en"} and "10.20.0.5" in a.summary["vi"]


def test_forwarded_lookups_from_the_resolver_do_not_alert() -> None:
    e = engine(feeds=["evil.example"])
    alerts = run(e, [dns("10.40.0.53", "evil.example", dst="203.0.113.53")])
    assert alerts == []


# -- policy detectors ---------------------------------------------------------------------------------
def test_remote_access_domain_and_edge_ports() -> None:
    e = engine()
    alerts = run(e, [
        dns("10.20.0.5", "ping3.teamviewer.com"),
        tls("10.30.0.6", "203.0.113.5", "relay-1.net.anydesk.com"),
        conn("10.20.0.7", "203.0.113.6", 5938),
        conn("203.0.113.7", "10.30.0.8", 3389),
        conn("10.30.0.9", "10.40.0.10", 3389),  # RDP inside the hospital: ordinary admin work
        conn("203.0.113.8", "10.30.0.10", 3389, conn_state="S0", resp_pkts=0),  # unanswered probe
    ])  # fmt: skip
    assert keys(alerts) == {
        ("policy_remote_access", "10.20.0.5", "teamviewer.com"),
        ("policy_remote_access", "10.30.0.6", "net.anydesk.com"),
        ("policy_remote_access", "10.20.0.7", "5938/tcp"),
        ("policy_remote_access", "203.0.113.7", "3389/tcp"),
    }
    assert all(a.directive == "SYT-BDI-2024" for a in alerts)


def test_ott_only_from_clinical_zones() -> None:
    e = engine()
    alerts = run(e, [
        dns("10.20.0.5", "chat.zalo.me"),
        tls("10.10.0.6", "203.0.113.5", "web.telegram.org"),
        conn("10.20.0.7", "149.154.167.51", 443),
        dns("172.16.1.5", "chat.zalo.me"),  # guest Wi-Fi: not a clinical zone
        tls("10.30.0.5", "203.0.113.5", "www.viber.com"),  # office
    ])  # fmt: skip
    assert keys(alerts) == {
        ("policy_ott", "10.20.0.5", "zalo.me"),
        ("policy_ott", "10.10.0.6", "telegram.org"),
        ("policy_ott", "10.20.0.7", "149.154.160.0/20"),
    }


def test_plaintext_and_weak_password() -> None:
    e = engine()
    alerts = run(e, [
        login("10.30.0.5", "10.40.0.21", "ftp", "ketoan", weak=False),
        login("10.20.0.6", "10.40.0.25", "pop3", "bacsi01", weak=True, success=True),
        login("10.20.0.7", "10.40.0.25", "imap", "bacsi02", weak=True, success=False),
    ])  # fmt: skip
    assert keys(alerts) == {
        ("policy_plaintext", "10.30.0.5", "ftp://10.40.0.21"),
        # a weak password in clear breaks two requirements: two findings (issue 19)
        ("policy_plaintext", "10.20.0.6", "pop3://10.40.0.25"),
        ("policy_weak_password", "10.20.0.6", "pop3://bacsi01@10.40.0.25"),
        ("policy_plaintext", "10.20.0.7", "imap://10.40.0.25"),
        ("policy_weak_password", "10.20.0.7", "imap://bacsi02@10.40.0.25"),
    }
    sev = {a.src_ip: a.severity for a in alerts if a.category == "policy_weak_password"}
    # an accepted weak login ranks above a refused one
    assert ("low", "medium", "high", "critical").index(sev["10.20.0.6"]) > (
        "low",
        "medium",
        "high",
        "critical",
    ).index(sev["10.20.0.7"])
    assert "password" not in str([a.evidence for a in alerts]).replace("weak_password", "")


def test_segmentation_default_matrix_and_airgap() -> None:
    e = engine()
    alerts = run(e, [
        conn("172.16.1.5", "10.10.0.10", 443),
        conn("172.16.1.6", "10.11.0.10", 8080, conn_state="S0", resp_pkts=0),
        conn("172.16.1.7", "203.0.113.5", 443),  # guest to the internet: fine
        conn("10.30.0.5", "10.10.0.10", 443),  # office to HIS: fine
        conn("10.99.0.7", "203.0.113.180", 443),
        conn("10.20.0.70", "10.99.0.5", 445),
        conn("10.99.0.5", "10.99.0.6", 445),  # inside the secret LAN
        conn("10.99.0.5", "224.0.0.251", 5353, proto="udp"),  # link-local multicast
        conn("172.16.1.8", "10.99.0.5", 445),  # guest into the secret LAN: airgap, not segmentation
    ])  # fmt: skip
    assert keys(alerts) == {
        ("policy_segmentation", "172.16.1.5", "his"),
        ("policy_segmentation", "172.16.1.6", "emr"),
        ("policy_airgap", "10.99.0.7", "203.0.113.180"),
        ("policy_airgap", "10.20.0.70", "secret"),
        ("policy_airgap", "172.16.1.8", "secret"),
    }
    sev = {(a.src_ip): a.severity for a in alerts}
    assert sev["172.16.1.5"] == "critical"  # answered, to a high-criticality segment
    assert sev["172.16.1.6"] == "critical"  # unanswered, but the EMR segment is critical
    assert sev["10.99.0.7"] == "critical"  # airgap base high, secret LAN critical


def test_custom_matrix_and_allow_exception() -> None:
    extra = """  segmentation:
    deny: {guest: all, clinical: [admin]}
    allow: [{from: guest, to: his}]
"""
    e = engine(extra=extra)
    alerts = run(
        e,
        [
            conn("172.16.1.5", "10.10.0.10", 443),
            conn("172.16.1.5", "10.40.0.10", 443),
            conn("10.20.0.5", "10.30.0.5", 445),
        ],
    )
    assert keys(alerts) == {
        ("policy_segmentation", "172.16.1.5", "servers"),
        ("policy_segmentation", "10.20.0.5", "office"),
    }


def test_dns_bypass() -> None:
    e = engine()
    alerts = run(e, [
        conn("10.20.0.80", "8.8.8.8", 53, proto="udp"),
        conn("10.30.0.41", "1.1.1.1", 853),
        tls("10.30.0.40", "104.16.248.249", "cloudflare-dns.com"),
        conn("10.40.0.53", "203.0.113.53", 53, proto="udp"),  # the resolver forwarding
        conn("172.16.1.9", "8.8.8.8", 53, proto="udp"),  # guest: exempt
        conn("10.20.0.81", "10.40.0.53", 53, proto="udp"),  # the right way
        conn("10.20.0.82", "1.1.1.1", 443),  # Cloudflare's web site, no SNI: not DoH evidence
    ])  # fmt: skip
    assert keys(alerts) == {
        ("policy_dns_bypass", "10.20.0.80", "8.8.8.8"),
        ("policy_dns_bypass", "10.30.0.41", "1.1.1.1"),
        ("policy_dns_bypass", "10.30.0.40", "cloudflare-dns.com"),
    }


def test_without_a_hospital_description_direct_dns_is_not_judged() -> None:
    e = engine("data_dir: var\n")
    assert run(e, [conn("10.0.0.5", "8.8.8.8", 53, proto="udp")]) == []


def test_doh_lists_from_config(tmp_path: Path) -> None:
    (tmp_path / "doh.json").write_text('{"name": "x", "list": ["resolver.example.net"]}')
    cfg = HOSPITAL.replace("dns_bypass: {resolvers: [10.40.0.53]}", "dns_bypass: {doh_lists: [doh.json]}")
    config = parse_config(cfg, tmp_path / "h.yaml")
    settings = load_settings(config)
    e = Engine(settings, build_detectors(settings, None))
    alerts = run(
        e,
        [
            tls("10.30.0.5", "203.0.113.5", "resolver.example.net"),
            tls("10.30.0.5", "203.0.113.5", "a.resolver.example.net"),
        ],
    )
    assert keys(alerts) == {
        ("policy_dns_bypass", "10.30.0.5", "resolver.example.net")
    }  # MISP names match exactly


# -- noise control ------------------------------------------------------------------------------------
def test_merge_within_window_and_split_after() -> None:
    e = engine(feeds=["evil.example"])
    recs = [dns("10.20.0.5", "evil.example", ts=1000.0 + i * 10) for i in range(20)]
    recs.append(dns("10.20.0.5", "evil.example", ts=2000.0))
    alerts = run(e, recs)
    assert [(a.count, a.first_seen, a.last_seen) for a in alerts] == [
        (20, 1000.0, 1190.0),
        (1, 2000.0, 2000.0),
    ]
    assert alerts[0].ts == alerts[0].first_seen


def test_same_record_twice_counts_once_and_uid_is_stable() -> None:
    rec = dns("10.20.0.5", "evil.example")
    a1 = run(engine(feeds=["evil.example"]), [rec])
    a2 = run(engine(feeds=["evil.example"]), [rec, dict(rec)])
    assert [a.to_dict() for a in a1] == [a.to_dict() for a in a2]
    assert a1[0].count == 1 and a1[0].uid.startswith("A")


def test_windows_close_as_time_moves_on() -> None:
    e = engine(feeds=["evil.example"])
    assert e.process([dns("10.20.0.5", "evil.example", ts=1000.0)]) == []
    out = e.process([dns("10.20.0.6", "fine.example", ts=1000.0 + 300 + 121)])
    assert [a.indicator for a in out] == ["evil.example"]


def test_suppression() -> None:
    extra = """  noise:
    window: 10m
    suppress:
      - {category: policy_ott, src: 10.20.0.0/24, indicator: "zalo.*", comment: approved}
      - {rule: policy.remote_access.domain, segment: office}
"""
    e = engine(extra=extra)
    alerts = run(
        e,
        [
            dns("10.20.0.5", "chat.zalo.me"),
            dns("10.20.1.5", "chat.zalo.me"),
            dns("10.30.0.5", "teamviewer.com"),
        ],
    )
    assert keys(alerts) == {("policy_ott", "10.20.1.5", "zalo.me")}
    assert e.counters["alerts.suppressed"] == 2


# -- config validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "where"),
    [
        (
            "  segmentation: {deny: {guest: [hiss]}}\n",
            "hospital.yaml:12: detectors.segmentation.deny.guest[0]: unknown zone",
        ),
        ("  noise: {window: soon}\n", "hospital.yaml:12: detectors.noise.window"),
        (
            "  noise: {suppress: [{category: nope}]}\n",
            "hospital.yaml:12: detectors.noise.suppress[0].category",
        ),
        ("  ott: {zone: [clinical]}\n", "detectors.ott.zone: unknown key"),
        ("  airgap: {enabled: yes please}\n", "detectors.airgap.enabled: expected true or false"),
        (
            "  dns_bypass: {resolvers: [10.40.0.999]}\n",
            "detectors.dns_bypass.resolvers[0]: not an IP address",
        ),
    ],
)
def test_config_errors_name_key_and_line(extra: str, where: str) -> None:
    config = parse_config(HOSPITAL + extra, Path("/tmp/hospital.yaml"))
    with pytest.raises(ConfigError) as e:
        load_settings(config)
    assert where in str(e.value)


def test_segment_zone_and_criticality_are_checked() -> None:
    bad = HOSPITAL.replace("zone: emr,", "zone: ermr,")
    with pytest.raises(ConfigError, match=r"hospital.yaml:4: segments\[1\].zone: unknown zone 'ermr'"):
        load_settings(parse_config(bad, Path("/tmp/hospital.yaml")))
    bad = HOSPITAL.replace(
        "criticality: critical}\n  - {name: wards", "criticality: extreme}\n  - {name: wards"
    )
    with pytest.raises(ConfigError, match=r"segments\[1\].criticality"):
        load_settings(parse_config(bad, Path("/tmp/hospital.yaml")))


def test_unknown_detector_sections_are_left_to_their_owners() -> None:
    load_settings(parse_config(HOSPITAL + "  dga: {threshold: 3.5}\n", Path("/tmp/hospital.yaml")))


# -- data files ---------------------------------------------------------------------------------------
def test_every_list_entry_has_a_source_and_directives_resolve() -> None:
    from wardwatch.detectors.rules import RULES

    for app in lists.remote_access_apps() + lists.ott_apps():
        assert app.source.strip() and (app.domains or app.ports or app.cidrs)
    assert all(src for _, src in lists.doh_names())
    known = directives()
    assert len(known) == 5
    for d in known.values():
        assert {"vi", "en"} <= set(d["title"]) and {"vi", "en"} <= set(d["issuer"])
    for rule in RULES.values():
        assert rule.directive in known and rule.category in CATEGORIES
