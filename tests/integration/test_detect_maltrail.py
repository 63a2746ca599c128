"""Maltrail's sensor-test manifest through sensor → detectors.

The feed is maltrail's own ``trails.csv`` for these captures (first column, as a maltrail trail file),
with ``allow_reserved: true``: its trails use the documentation ranges 198.51.100.0/24 and
203.0.113.0/24, which a production feed may not list.
``TABLE`` says, per manifest entry, which feed and policy alerts it must raise (category, src_ip,
indicator); entries whose expectations belong to the behavioural detectors (issue 5) or Sigma raise
none of those (what those detectors raise is theirs to check), and must-stay-silent entries raise
nothing at all. ``GAPS`` lists the manifest expectations we do not raise, and why.
"""

from __future__ import annotations

import json

import pytest
from wardwatch.cli.commands.detect import detect_alerts

from tests.conftest import testdata_path as _testdata
from wardwatch.alerts import Alert
from wardwatch.config import load_config

S = "10.0.0.66"
FD, FI = "threat_feed_domain", "threat_feed_ip"
BEHAVIOURAL = "issue 5 (behavioural detectors)"
SILENT = "must stay silent"
# the categories TABLE speaks for: threat feeds and the policy detectors
OURS = {FD, FI, "policy_remote_access", "policy_ott", "policy_plaintext", "policy_weak_password",
        "policy_segmentation", "policy_airgap", "policy_dns_bypass"}  # fmt: skip

# manifest entry -> alerts of this issue it must raise (exactly), or a reason it raises none
TABLE: dict[str, set[tuple[str, str, str]] | str] = {
    "clean_tcp": SILENT,
    "duplicate_syn": {(FI, S, "66.66.66.66")},
    # 198.51.100.66 opens the connection (an inbound SYN): it is the alert's src_ip
    "ip_trails": {(FI, S, "66.66.66.66"), (FI, S, "6.6.6.6"), (FI, "198.51.100.66", "198.51.100.66")},
    "port_scan": BEHAVIOURAL,
    "stealth_scan_null": BEHAVIOURAL,
    "stealth_scan_fin": BEHAVIOURAL,
    "stealth_scan_xmas": BEHAVIOURAL,
    "ack_sweep_no_fp": SILENT,
    "udp_scan": BEHAVIOURAL,
    "infection_scan": BEHAVIOURAL,
    "web_scan": BEHAVIOURAL,
    # the regex trail (its indicator is the pattern) and the onion service reached through a Tor2web
    # gateway (badsite.onion.to → the listed badsite.onion)
    "dns_queries": {
        (FD, S, "evil-test-domain.com"),
        (FD, S, "evil-parent.com"),
        (FD, S, r"dga[0-9]+\.wildcard-test\.com"),
        (FD, S, "badsite.onion"),
    },
    # the resolver itself is listed: the connection to it (all three queries share one 5-tuple)
    "dns_resolver_trail": {(FI, S, "198.51.100.53")},
    # answers-only capture: the client is still the src (the flow meter orients by port 53)
    "dns_responses": {(FI, S, "198.51.100.90"), (FI, S, "198.51.100.91")},
    "dns_malformed": SILENT,
    "dns_nxdomain_flood": BEHAVIOURAL,
    "dns_dga_labels": BEHAVIOURAL,
    "dns_exhaustion": SILENT,
    # the path trail on any host, the host+path trail (it replaces the Host hit of that request) and
    # the listed server address
    "http_trails": {
        (FD, S, "/malicious-login.php"),
        (FD, S, "evil-url.example/bad/path"),
        (FI, S, "203.0.113.44"),
    },
    "http_heuristics": BEHAVIOURAL + " / Sigma",
    "http_responses": BEHAVIOURAL + " / Sigma",
    "truncated": SILENT,
    "vlan": {(FI, S, "66.66.66.66"), (FD, S, "evil-test-domain.com")},
    "fragments": {(FI, S, "66.66.66.66")},
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
        (FI, "198.51.100.66", "198.51.100.66"),
        (FD, S, "evil-test-domain.com"),
        (FD, S, "evil-parent.com"),
        (FD, S, "badsite.onion"),
    },
}

# manifest expectations not raised, with the reason (the owner in brackets)
GAPS = {
    ("dns_resolver_trail", "whatever.com"): "maltrail's event text for the resolver hit, not a trail",
    # maltrail names the hit by its trail's info column; we raise the answer address (198.51.100.90/91)
    ("dns_responses", "sinkholed by testsink"): "maltrail's info text for the 198.51.100.90 answer",
    ("dns_responses", "parked site"): "maltrail's info text for the 198.51.100.91 answer",
    ("http_trails", "hostcheck.example"): "maltrail's event text for the 203.0.113.44 hit",
    # maltrail strips the lookup site's suffix from evilname.ip-adress.com and looks up the rest: that
    # needs the single-label trail "evilname", which we refuse (a bare label is no indicator: it names
    # a host in every zone), and it is a rewrite for one web site, not a rule about any feed
    ("dns_queries", "evilname(.ip-adress.com)"): "single-label trail + maltrail's one-site rewrite",
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
        "data_dir: var\nfeeds:\n  - {name: maltrail-tests, path: trails.txt, format: maltrail, allow_reserved: true}\n"
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
    every = _run(entry["pcap"], config)
    want = TABLE[name]
    if want == SILENT:
        assert every == [], f"{name}: {want}, but raised {[a.to_dict() for a in every]}"
        return
    alerts = [a for a in every if a.category in OURS]
    got = {(a.category, a.src_ip, a.indicator) for a in alerts}
    if isinstance(want, str):
        assert got == set(), f"{name}: {want}, but raised {got}"
        return
    assert got == want
    # every manifest expectation is either raised (its indicator or observed value) or a listed gap
    shown = {a.indicator for a in alerts} | {str(a.evidence.get("observed")) for a in alerts}
    for expected in entry["expect"]:
        hit = any(expected.replace("(www).", "www.") in s or s in expected for s in shown)
        assert hit or (name, expected) in GAPS, f"{name}: {expected!r} neither raised nor a known gap"
