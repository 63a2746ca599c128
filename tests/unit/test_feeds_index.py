"""The indicator index: suffix semantics both ways, allow-list wins, merged provenance, IPs and CIDRs."""

from __future__ import annotations

import numpy as np
import pytest
from wardwatch.ingest.decode.columns import split_ip
from wardwatch.threatfeeds import Allowed, IndexBuilder
from wardwatch.threatfeeds.model import Meta
from wardwatch.threatfeeds.normalize import classify


def build(feeds: dict[str, list[str]], allow: list[str] = (), exact_allow: list[str] = (), **opts):  # type: ignore[assignment,no-untyped-def]
    b = IndexBuilder()
    if allow:
        b.add_allow("config", [(a, None, None) for a in allow])
    if exact_allow:
        b.add_allow("misp", [(a, None, None) for a in exact_allow], exact=True)
    for name, entries in feeds.items():
        b.add_feed(name, [(e, None, Meta(threat=name)) for e in entries], confidence=60, **opts)
    return b.build()


def test_suffix_semantics_both_ways() -> None:
    ix = build({"f": ["bad.example"]})
    m = ix.match_domain("cdn.bad.example")
    assert m is not None and m.indicator == "bad.example"
    assert ix.match_domain("bad.example") is not None
    assert ix.match_domain("a.b.c.bad.example") is not None
    assert ix.match_domain("notbad.example") is None
    assert ix.match_domain("bad.example.vn") is None
    assert ix.match_domain("example") is None


def test_most_specific_listed_name_reported() -> None:
    ix = build({"f": ["bad.example"], "g": ["cdn.bad.example"]})
    assert ix.match_domain("x.cdn.bad.example").indicator == "cdn.bad.example"  # type: ignore[union-attr]
    assert ix.match_domain("www.bad.example").indicator == "bad.example"  # type: ignore[union-attr]


def test_case_trailing_dot_and_idna_queries() -> None:
    ix = build({"f": ["bệnhviện-giả.vn"]})
    assert ix.match_domain("WWW.Bệnhviện-Giả.VN.") is not None
    assert ix.match_domain("www.xn--bnhvin-gi-t86djoe.vn") is not None


def test_merge_across_feeds_names_them_all() -> None:
    b = IndexBuilder()
    b.add_feed(
        "urlhaus", [("bad.example", None, Meta(threat="emotet", reference="r1", first_seen="2026-01-02"))]
    )
    b.add_feed(
        "threatfox",
        [
            (
                "bad.example",
                None,
                Meta(threat="qakbot", confidence=90, first_seen="2026-01-01", last_seen="2026-01-05"),
            )
        ],
        tags=("c2",),
    )
    b.add_feed("urlhaus2", [("bad.example", None, None)], confidence=40)
    ix = b.build()
    p = ix.match_domain("bad.example").provenance()  # type: ignore[union-attr]
    assert p["feeds"] == ["threatfox", "urlhaus", "urlhaus2"]
    assert p["threats"] == ["emotet", "qakbot"]
    assert p["tags"] == ["c2"]
    assert p["confidence"] == 90
    assert p["first_seen"] == "2026-01-01" and p["last_seen"] == "2026-01-05"
    assert p["references"] == ["r1"]
    assert ix.counts()["domains"] == 1


def test_allowlist_always_wins() -> None:
    ix = build(
        {"f": ["hospital.vn", "evil.hospital.vn", "bad.example", "1.2.3.0/24", "5.6.7.8"]},
        allow=["hospital.vn", "cdn.bad.example", "1.2.3.4", "5.6.7.8"],
    )
    assert ix.match_domain("evil.hospital.vn") is None
    assert isinstance(ix.lookup_domain("x.evil.hospital.vn"), Allowed)
    assert ix.match_domain("x.cdn.bad.example") is None
    assert ix.lookup_domain("x.cdn.bad.example") == Allowed("cdn.bad.example", "config")
    assert ix.match_domain("www.bad.example") is not None
    assert ix.match_ip("1.2.3.4") is None
    assert ix.match_ip("1.2.3.5") is not None
    assert ix.match_ip("5.6.7.8") is None
    check = ix.check("x.hospital.vn")
    assert check["match"] is False and check["allowlisted"] == {"entry": "hospital.vn", "source": "config"}
    assert ix.stats[-1].allowlisted == 3  # hospital.vn, evil.hospital.vn, 5.6.7.8


def test_exact_allow_does_not_cover_subdomains() -> None:
    ix = build({"f": ["duckdns.org", "evil.duckdns.org"]}, exact_allow=["duckdns.org"])
    assert ix.match_domain("duckdns.org") is None
    assert ix.match_domain("x.evil.duckdns.org").indicator == "evil.duckdns.org"  # type: ignore[union-attr]
    assert ix.match_domain("other.duckdns.org") is None  # exact allow entry is not a listed suffix


def test_url_hosts_match_exactly_unless_listed_as_domain() -> None:
    ix = build({"urls": ["http://host.example/x"]})
    assert ix.match_domain("host.example").type == "host"  # type: ignore[union-attr]
    assert ix.match_domain("a.host.example") is None
    ix = build({"urls": ["http://host.example/x"], "doms": ["host.example"]})
    assert ix.match_domain("a.host.example") is not None


@pytest.mark.parametrize(
    "text,category",
    [
        ("com", "tld"),
        ("gov.vn", "public-suffix"),
        ("com.vn", "public-suffix"),
        ("b.ck", "public-suffix"),  # PSL wildcard *.ck
        ("*.bad.example", "wildcard"),
        ("localhost", "localhost"),
        ("a.localhost", "localhost"),
        ("0.0.0.0/0", "huge-cidr"),
        ("::/0", "huge-cidr"),
        ("10.0.0.0/8", "non-global-ip"),
        ("192.168.1.1", "non-global-ip"),
        ("/wp-login.php", "url-path"),
        ("256.1.1.1", "invalid-domain"),
    ],
)
def test_rejected_entries(text: str, category: str) -> None:
    assert classify(text) == ("x", category)
    ix = build({"f": [text]})
    assert len(ix) == 0
    assert ix.stats[0].rejected[category] == 1


def test_accepted_forms() -> None:
    assert classify("www.ck") == ("d", "www.ck")  # PSL exception !www.ck
    assert classify("Evil.Example.") == ("d", "evil.example")
    assert classify("8.8.8.8:53")[0:2] == ("a", 4)
    assert classify("[2606:4700::1111]:443")[0:2] == ("a", 6)
    assert classify("evil.example/path/x") == ("h", "evil.example")
    assert classify("1.2.3.4/32")[0] == "a"


def test_cidr_nesting_and_ipv6() -> None:
    ix = build({"f": ["91.0.0.0/8", "91.219.0.0/16", "91.219.236.7", "2a0b:4d07::/32", "2a0b:4d07::5"]})
    assert ix.match_ip("91.219.236.7").indicator == "91.219.236.7"  # type: ignore[union-attr]
    assert ix.match_ip("91.219.1.1").indicator == "91.219.0.0/16"  # type: ignore[union-attr]
    assert ix.match_ip("91.1.1.1").indicator == "91.0.0.0/8"  # type: ignore[union-attr]
    assert ix.match_ip("92.0.0.1") is None
    assert ix.match_ip("2a0b:4d07::5").indicator == "2a0b:4d07::5"  # type: ignore[union-attr]
    assert ix.match_ip("2a0b:4d07:1::9").indicator == "2a0b:4d07::/32"  # type: ignore[union-attr]
    assert ix.match_ip("2a0b:4d08::1") is None
    assert ix.match_ip("::ffff:91.1.1.1") is not None


def test_bulk_domain_lookup_matches_single_lookups() -> None:
    ix = build({"f": ["bad.example", "http://host.example/x"]}, allow=["ok.bad.example"])
    names = [
        "cdn.bad.example",
        "notbad.example",
        "BAD.EXAMPLE.",
        "x.ok.bad.example",
        "host.example",
        "a.host.example",
        "",
        "bad.example.vn",
    ]
    hits = ix.match_domains(names)
    assert hits.rows.tolist() == [0, 2, 4]
    assert hits.indicators == ["bad.example", "bad.example", "host.example"]
    for row, name in enumerate(names):
        assert (row in hits.rows.tolist()) == (ix.match_domain(name) is not None)
    m = ix.resolve(hits.indicators[0], hits.values[0])
    assert m.provenance()["feeds"] == ["f"]  # type: ignore[union-attr]


def test_bulk_ip_lookup_over_packet_columns() -> None:
    ix = build({"f": ["185.220.101.4", "91.219.236.0/24", "2a0b:4d07::/32"]}, allow=["91.219.236.9"])
    addrs = ["8.8.8.8", "185.220.101.4", "91.219.236.200", "91.219.236.9", "2a0b:4d07::1", "2001:4860::1"]
    halves = [split_ip(a) for a in addrs]
    hi = np.array([h for h, _ in halves], dtype=np.uint64)
    lo = np.array([lo for _, lo in halves], dtype=np.uint64)
    rows, matches = ix.match_ips(hi, lo)
    assert rows.tolist() == [1, 2, 4]
    assert [m.indicator for m in matches] == ["185.220.101.4", "91.219.236.0/24", "2a0b:4d07::/32"]


def test_bulk_equals_single_on_random_names() -> None:
    import random

    rng = random.Random(3)
    labels = ["a", "b", "bad", "cdn", "x1", "evil", "ok"]
    listed = {".".join(rng.choice(labels) for _ in range(rng.randint(1, 3))) + ".example" for _ in range(60)}
    urls = [f"http://{n}/p" for n in list(listed)[:10]]
    ix = build(
        {"f": sorted(listed), "u": urls}, allow=["ok.example", "a.bad.example"], exact_allow=["b.example"]
    )
    names = []
    for _ in range(3000):
        n = ".".join(rng.choice(labels) for _ in range(rng.randint(1, 5))) + rng.choice(
            [".example", ".example.", ".EXAMPLE", ".vn"]
        )
        names.append(n)
    names += ["", ".", "..", "example", "a..bad.example", "xn--bnhvin-gi-t86djoe.vn"]
    hits = ix.match_domains(names)
    got = dict(zip(hits.rows.tolist(), hits.indicators, strict=True))
    for row, name in enumerate(names):
        m = ix.match_domain(name)
        assert got.get(row) == (m.indicator if m else None), name
    assert len(got) > 100


# -- allow_reserved ------------------------------------------------------------------------------------


RESERVED = ["198.51.100.66", "203.0.113.0/24", "192.0.2.7:443", "198.18.0.0/15", "2001:db8::1", "[2001:db8::2]:443",
            "http://203.0.113.44/x"]  # fmt: skip
NEVER = ["10.0.0.1", "192.168.0.0/16", "172.16.0.1", "100.64.0.1", "127.0.0.1", "0.0.0.0", "::1", "::",
         "169.254.1.1", "224.0.0.1", "255.255.255.255", "0.0.0.0/0", "198.0.0.0/7", "fe80::1"]  # fmt: skip


def test_reserved_ranges_are_refused_by_default() -> None:
    ix = build({"f": RESERVED})
    assert len(ix) == 0
    assert ix.stats[0].rejected["non-global-ip"] == len(RESERVED)


def test_allow_reserved_accepts_documentation_and_benchmark_ranges_only() -> None:
    ix = build({"f": RESERVED + NEVER}, allow_reserved=True)
    [stats] = ix.stats
    assert stats.accepted == len(RESERVED)
    assert stats.rejected_total == len(NEVER)
    assert stats.rejected["huge-cidr"] == 2  # 0.0.0.0/0, 198.0.0.0/7
    for addr in ("198.51.100.66", "203.0.113.9", "192.0.2.7", "198.19.1.1", "2001:db8::1", "203.0.113.44"):
        assert ix.match_ip(addr) is not None, addr
    for addr in ("10.0.0.1", "127.0.0.1", "0.0.0.0", "198.51.100.67", "2001:db8::3"):
        assert ix.match_ip(addr) is None, addr
    assert classify("198.51.100.66", reserved=True)[0] == "a"
    assert classify("10.1.2.3", reserved=True) == ("x", "non-global-ip")


# -- URL and path indicators ----------------------------------------------------------------------------


def test_url_indicators_match_host_and_path() -> None:
    ix = build({"urlhaus": ["http://Evil.example:8080/Bins/x.sh", "evil-url.example/bad/path",
                            "https://share.example/u1/", "http://45.9.1.2/mips?a=1", "1.2.3.0/24"]})  # fmt: skip
    m = ix.match_url("evil.example", "/bins/X.sh")
    assert m is not None and (m.indicator, m.type) == ("evil.example/bins/x.sh", "url")
    assert ix.match_url("EVIL.example:8080", "/bins/x.sh?cache=1").indicator == "evil.example/bins/x.sh"  # type: ignore[union-attr]
    assert ix.match_url("evil.example", "/bins/y.sh") is None
    assert ix.match_url("other.example", "/bins/x.sh") is None
    assert ix.match_url("evil-url.example", "/bad/path").indicator == "evil-url.example/bad/path"  # type: ignore[union-attr]
    assert ix.match_url("evil-url.example", "/bad/path/deeper.php").indicator == "evil-url.example/bad/path"  # type: ignore[union-attr]
    assert ix.match_url("evil-url.example", "/bad") is None
    assert ix.match_url("share.example", "/u1/payload.exe").indicator == "share.example/u1"  # type: ignore[union-attr]
    assert ix.match_url("share.example", "/u2/payload.exe") is None
    assert ix.match_url("45.9.1.2", "/mips?a=1").indicator == "45.9.1.2/mips?a=1"  # type: ignore[union-attr]
    assert ix.match_url("45.9.1.2", "/mips") is None  # the listed URL has a query
    assert ix.match_url("x.example", "http://evil.example/bins/x.sh").indicator == "evil.example/bins/x.sh"  # type: ignore[union-attr]
    # the host of a URL entry is still listed (exactly), and so is an address host
    assert ix.match_domain("evil.example").type == "host"  # type: ignore[union-attr]
    assert ix.match_ip("45.9.1.2") is not None
    [stats] = ix.stats
    assert (stats.accepted, stats.urls, stats.cidrs) == (5, 4, 1)
    assert ix.counts()["urls"] == 4


def test_path_trails_match_on_any_host() -> None:
    ix = build(
        {"maltrail": ["/malicious-login.php", "/x8dk2/", "/index.php", "/wp-admin/login.php", "/gate.php"]}
    )
    [stats] = ix.stats
    assert (stats.accepted, stats.urls, stats.rejected["url-path"]) == (2, 2, 3)
    m = ix.match_url("victim.example", "/malicious-login.php?u=1")
    assert m is not None and (m.indicator, m.type) == ("/malicious-login.php", "path")
    assert ix.match_url("10.0.0.80", "/x8dk2/index.php").indicator == "/x8dk2"  # type: ignore[union-attr]
    assert ix.match_url("", "/x8dk2") is not None  # no Host header
    for uri in ("/", "/index.php", "/gate.php", "/login.php", "/a/malicious-login.php"):
        assert ix.match_url("victim.example", uri) is None, uri
    assert ix.lookup("/malicious-login.php") is not None


@pytest.mark.parametrize(
    "path,ok",
    [
        ("/malicious-login.php", True),
        ("/mstealer/logs/", True),
        ("/1uFnvppj/1uFnvppj32.acm", True),
        ("/wp-admin/network/server_test.php", True),
        ("/index.php", False),
        ("/admin/index.php", False),
        ("/wp-content/plugins/", False),
        ("/api.php", False),
        ("/.github", False),
        ("/", False),
        ("/abc/def.php", False),  # every segment too short
    ],
)
def test_path_trail_specificity(path: str, ok: bool) -> None:
    assert (classify(path)[0] == "p") is ok


def test_url_on_allowlisted_host_is_never_a_match() -> None:
    ix = build(
        {"f": ["evil.hospital.vn/x/payload.exe", "/malicious-login.php"]}, allow=["hospital.vn", "10.0.0.0/8"]
    )
    assert ix.match_url("evil.hospital.vn", "/x/payload.exe") is None
    assert isinstance(ix.lookup_url("intranet.hospital.vn", "/malicious-login.php"), Allowed)
    assert isinstance(ix.lookup_url("10.1.1.1", "/malicious-login.php"), Allowed)
    assert ix.match_url("victim.example", "/malicious-login.php") is not None
    assert ix.stats[-1].allowlisted == 1


def test_lookup_prefers_the_url() -> None:
    ix = build({"f": ["evil-url.example/bad/path"], "g": ["evil-url.example"]})
    assert ix.lookup("http://evil-url.example/bad/path").type == "url"  # type: ignore[union-attr]
    assert ix.lookup("http://evil-url.example/other").type == "domain"  # type: ignore[union-attr]
