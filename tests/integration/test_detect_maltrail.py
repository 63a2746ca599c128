"""Maltrail's sensor-test manifest through sensor → detectors.

The feed is maltrail's own ``trails.csv`` for these captures (first column, as a maltrail trail file).
``TABLE`` says, per manifest entry, which alerts of this issue it must raise (category, src_ip,
indicator); entries whose expectations belong to the behavioural detectors (issue 5) or that must
stay silent raise nothing of ours. ``GAPS`` lists the manifest expectations we do not raise, and why.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import testdata_path as _testdata
from wardwatch.alerts import Alert
from wardwatch.commands.detect import detect_alerts
from wardwatch.config import load_config

S = "10.0.0.66"
FD, FI = "threat_feed_domain", "threat_feed_ip"
BEHAVIOURAL = "issue 5 (behavioural detectors)"
SILENT = "must stay silent"

# manifest entry -> alerts of this issue it must raise (exactly), or a reason it raises none
TABLE: dict[str, set[tuple[str, str, str]] | str] = {
    "clean_tcp": SILENT,
    "duplicate_syn": {(FI, S, "66.66.66.66")},
    "ip_trails": {(FI, S, "66.66.66.66"), (FI, S, "6.6.6.6")},
    "port_scan": BEHAVIOURAL,
    "stealth_scan_null": BEHAVIOURAL,
    "stealth_scan_fin": BEHAVIOURAL,
    "stealth_scan_xmas": BEHAVIOURAL,
    "ack_sweep_no_fp": SILENT,
    "udp_scan": BEHAVIOURAL,
    "infection_scan": BEHAVIOURAL,
    "web_scan": BEHAVIOURAL,
    "dns_queries": {(FD, S, "evil-test-domain.com"), (FD, S, "evil-parent.com")},
    "dns_resolver_trail": set(),
    "dns_responses": set(),
    "dns_malformed": SILENT,
    "dns_nxdomain_flood": BEHAVIOURAL,
    "dns_dga_labels": BEHAVIOURAL,
    "dns_exhaustion": SILENT,
    "http_trails": {(FD, S, "evil-url.example")},
    "http_heuristics": BEHAVIOURAL + " / Sigma",
    "http_responses": BEHAVIOURAL + " / Sigma",
    "truncated": SILENT,
    "vlan": {(FI, S, "66.66.66.66"), (FD, S, "evil-test-domain.com")},
    "fragments": set(),
    "ipv6": {(FI, "dead::1", "dead::beef"), (FD, "dead::1", "evil-test-domain.com")},
    "icmp": {(FI, S, "66.66.66.66")},
    "repeated_detections": {(FD, S, "evil-test-domain.com")},
    "cache_expiry": {(FD, S, "evil-test-domain.com")},
    "tls_sni": {(FD, S, "tls-evil.example")},
    "quic_sni": {(FD, S, "quic-evil.example")},
    "dlt_raw": {(FI, S, "66.66.66.66")},
    "dlt_sll": {(FI, S, "66.66.66.66")},
    "pppoe": {(FI, S, "66.66.66.66")},
    "ipv4_options": {(FI, S, "66.66.66.66")},
    "whitelisted": SILENT,
    "dns_ignored_suffixes": SILENT,
    "udp_malware_dst": {(FI, S, "66.66.66.66")},
    "dns_same_socket_burst": {(FD, S, "evil-test-domain.com")},
    # interleaved traffic of other cases; maltrail lists no expectation. Ours: the union of theirs.
    "mixed_soup": {
        (FI, S, "66.66.66.66"),
        (FI, S, "6.6.6.6"),
        (FD, S, "evil-test-domain.com"),
        (FD, S, "evil-parent.com"),
    },
}

# manifest expectations not raised, with the reason (the owner in brackets)
GAPS = {
    (
        "ip_trails",
        "198.51.100.66",
    ): "documentation range: the feed loader refuses non-global addresses [threatfeeds]",
    ("dns_resolver_trail", "198.51.100.53"): "documentation range refused by the feed loader [threatfeeds]",
    ("dns_resolver_trail", "whatever.com"): "maltrail's event text for the resolver hit, not a trail",
    (
        "dns_responses",
        "sinkholed by testsink",
    ): "answer 198.51.100.90: documentation range refused [threatfeeds]",
    ("dns_responses", "parked site"): "answer 198.51.100.91: documentation range refused [threatfeeds]",
    ("http_trails", "203.0.113.44"): "documentation range refused by the feed loader [threatfeeds]",
    ("http_trails", "hostcheck.example"): "maltrail's event text for the 203.0.113.44 hit",
    ("http_trails", "malicious-login.php"): "URL-path trails are not indexed [threatfeeds]",
    ("dns_queries", "badsite.onion(.to)"): "maltrail's onion-gateway rewrite, not a feed-index rule",
    ("dns_queries", "evilname(.ip-adress.com)"): "maltrail's single-label + ip-adress.com rule",
    ("dns_queries", "dga1234.wildcard-test.com"): "regex trails are not indexed [threatfeeds]",
    ("fragments", "66.66.66.66"): "the sensor yields no record for this capture [ingest]",
    ("duplicate_syn", "malware (test)"): "maltrail's info text for the same hit",
    ("icmp", "ICMP"): "maltrail's protocol column for the same hit",
}

MANIFEST = "maltrail/sensor-tests/manifest.json"


def _manifest() -> list[dict]:
    return json.loads(_testdata(MANIFEST).read_text())


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory):
    base = _testdata("maltrail", "sensor-tests")
    tmp = tmp_path_factory.mktemp("maltrail")
    trails = [ln.split(",", 1)[0] for ln in (base / "trails.csv").read_text().splitlines() if ln.strip()]
    (tmp / "trails.txt").write_text(
        "# Reference: maltrail sensor-tests trails.csv\n" + "\n".join(trails) + "\n"
    )
    (tmp / "config.yaml").write_text(
        "data_dir: var\nfeeds:\n  - {name: maltrail-tests, path: trails.txt, format: maltrail}\n"
    )
    return load_config(tmp / "config.yaml")


def _run(name: str, config) -> list[Alert]:
    pcap = _testdata("maltrail", "sensor-tests", name)
    return [a for b in detect_alerts([pcap], config) for a in b]


def test_table_covers_the_manifest() -> None:
    names = [e["name"] for e in _manifest()]
    assert sorted(names) == sorted(TABLE)
    for e in _manifest():
        want = TABLE[e["name"]]
        if want == SILENT:
            assert e["expect"] == [], e["name"]


@pytest.mark.parametrize("name", sorted(TABLE))
def test_manifest_case(name: str, config) -> None:
    entry = next(e for e in _manifest() if e["name"] == name)
    alerts = _run(entry["pcap"], config)
    got = {(a.category, a.src_ip, a.indicator) for a in alerts}
    want = TABLE[name]
    if isinstance(want, str):
        assert got == set(), f"{name}: {want}, but raised {got}"
        return
    assert got == want
    # every manifest expectation is either raised (its indicator or observed value) or a listed gap
    shown = {a.indicator for a in alerts} | {str(a.evidence.get("observed")) for a in alerts}
    for expected in entry["expect"]:
        hit = any(expected.replace("(www).", "www.") in s or s in expected for s in shown)
        assert hit or (name, expected) in GAPS, f"{name}: {expected!r} neither raised nor a known gap"
