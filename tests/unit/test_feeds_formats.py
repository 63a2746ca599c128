"""Every feed format parsed from a sample in the real published layout (tests/data/feeds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wardwatch.threatfeeds import IndexBuilder
from wardwatch.threatfeeds.formats import FORMATS, FormatError
from wardwatch.threatfeeds.formats.stix2 import pattern_values

from tests import conftest

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"


def load(fmt: str, path: Path, **kw):  # type: ignore[no-untyped-def]
    b = IndexBuilder()
    stats = b.add_feed("f", FORMATS[fmt](path.name, path.read_bytes()), **kw)
    return b.build(), stats


def listed(index, text: str) -> str | None:  # type: ignore[no-untyped-def]
    m = index.lookup(text)
    return getattr(m, "indicator", None)


def test_stevenblack_hosts_keeps_names_drops_header_entries() -> None:
    ix, st = load("hosts", DATA / "stevenblack-hosts.txt")
    assert listed(ix, "x.ads.bad-tracker.example") == "ads.bad-tracker.example"
    assert listed(ix, "telemetry.bad-tracker.example") == "telemetry.bad-tracker.example"
    assert listed(ix, "phish-login.example") == "phish-login.example"
    assert listed(ix, "bad-tracker.example") is None
    assert st.domains == 3
    assert st.rejected["localhost"] >= 5
    assert st.rejected["tld"] == 1  # "0.0.0.0 com"
    assert listed(ix, "localhost") is None


def test_urlhaus_hostfile_names_and_addresses() -> None:
    ix, st = load("hosts", DATA / "urlhaus-hostfile.txt")
    assert listed(ix, "malware-drop.example") == "malware-drop.example"
    assert listed(ix, "a.cdn.payload-host.example") == "cdn.payload-host.example"
    assert st.rejected["non-global-ip"] == 1  # 203.0.113.99 is TEST-NET-3


def test_domain_list_safety_and_idna() -> None:
    ix, st = load("domains", DATA / "domains.txt")
    assert listed(ix, "bad.example") == "bad.example"
    assert listed(ix, "evil-cdn.example") == "evil-cdn.example"
    assert st.rejected["public-suffix"] == 2
    assert st.rejected["wildcard"] == 1
    assert st.rejected["localhost"] == 1
    assert st.rejected["single-label"] == 1  # "not a domain"
    # the Vietnamese name and its punycode form merge into one indicator
    assert listed(ix, "www.bệnhviện-giả.vn") == "xn--bnhvin-gi-t86djoe.vn"
    assert ix.counts()["domains"] == 3


def test_urlhaus_csv_url_to_host_with_provenance() -> None:
    ix, st = load("urlhaus-csv", DATA / "urlhaus.csv")
    m = ix.match_domain("payload-host.example")
    assert m is not None and m.type == "host"
    p = m.provenance()
    assert p["threats"] == ["malware_download"]
    assert "RemcosRAT" in p["tags"]
    assert p["references"] == ["https://urlhaus.abuse.ch/url/3350488/"]
    assert p["first_seen"] == "2026-01-01 11:58:07"
    assert ix.match_domain("sub.payload-host.example") is None  # a URL's host matches exactly
    assert ix.match_ip("198.51.100.7") is None  # TEST-NET-2 rejected
    assert ix.match_ip("45.95.147.236") is not None
    assert st.rejected["non-global-ip"] == 1
    assert st.rejected["single-label"] == 1  # "not a url"


@pytest.mark.parametrize(
    "fmt,name", [("threatfox-csv", "threatfox.csv"), ("threatfox-json", "threatfox.json")]
)
def test_threatfox_exports(fmt: str, name: str) -> None:
    ix, st = load(fmt, DATA / name)
    m = ix.match_ip("185.220.101.4")
    assert m is not None
    assert m.provenance()["threats"] == ["Cobalt Strike"]
    assert m.provenance()["confidence"] == 100
    d = ix.match_domain("x.c2-panel.example")
    assert d is not None and d.indicator == "c2-panel.example"
    assert d.provenance()["references"] == ["https://bazaar.abuse.ch/sample/abc/"]
    assert d.provenance()["last_seen"] == "2026-01-01 11:59:00"
    assert st.rejected["unsupported-type"] == 1  # the md5 hash
    if fmt == "threatfox-csv":
        assert ix.match_domain("stealer.example") is not None


def test_threatfox_api_layout() -> None:
    data = (
        b'{"query_status": "ok", "data": [{"ioc": "api-c2.example", "ioc_type": "domain", "malware": "x"}]}'
    )
    b = IndexBuilder()
    b.add_feed("tf", FORMATS["threatfox-json"]("x.json", data))
    assert b.build().match_domain("api-c2.example") is not None


def test_openphish_urls() -> None:
    ix, st = load("openphish", DATA / "openphish.txt")
    assert listed(ix, "secure-login.phish.example") == "secure-login.phish.example"
    assert listed(ix, "sites.google.com") == "sites.google.com"
    assert listed(ix, "google.com") is None  # the URL's host only, never its parent
    assert st.rejected["non-global-ip"] == 1


def test_feodo_ip_list() -> None:
    ix, st = load("ip-list", DATA / "feodo-ipblocklist.txt")
    assert ix.match_ip("50.16.16.211") is not None
    assert ix.match_ip("162.243.103.246") is not None
    assert st.ips == 2
    assert st.rejected == {"non-global-ip": 1, "invalid-ip": 1}


@pytest.mark.parametrize("name", ["spamhaus-drop.txt", "spamhaus-drop_v4.json"])
def test_spamhaus_drop(name: str) -> None:
    ix, st = load("spamhaus-drop", DATA / name)
    m = ix.match_ip("1.10.20.30")
    assert m is not None and m.indicator == "1.10.16.0/20" and m.type == "cidr"
    assert m.provenance()["references"] == ["SBL256894"]
    assert ix.match_ip("1.10.32.1") is None
    if name.endswith(".txt"):
        assert st.rejected["huge-cidr"] == 1  # 0.0.0.0/0


def test_zeek_intel() -> None:
    ix, st = load("zeek-intel", DATA / "zeek-intel.dat")
    m = ix.match_domain("mail.evil.example")
    assert m is not None and m.provenance()["tags"] == ["local-ir"]
    assert m.provenance()["references"] == ["https://ir.hospital.vn/case/12"]
    assert ix.match_ip("91.219.236.17") is not None
    assert ix.match_ip("185.199.108.154") is not None
    assert ix.match_domain("bad-url.example") is not None
    assert st.rejected == {"non-global-ip": 1, "unsupported-type": 1}


def test_zeek_intel_without_fields_header_is_a_format_error() -> None:
    with pytest.raises(FormatError):
        list(FORMATS["zeek-intel"]("x", b"evil.example\tIntel::DOMAIN\n"))


def test_stix2_bundle() -> None:
    ix, st = load("stix2", DATA / "stix2-bundle.json")
    m = ix.match_domain("a.downloader.stix.example")
    assert m is not None
    p = m.provenance()
    assert p["confidence"] == 85 and p["references"] == ["https://ir.example/report/1"]
    assert ix.match_ip("198.51.100.77") is None  # TEST-NET-2, rejected
    assert ix.match_ip("2a0b:4d07::1") is not None
    assert ix.match_domain("stix-url.example") is not None
    assert ix.match_domain("revoked.stix.example") is None
    assert st.rejected["unsupported-type"] == 2  # file hash pattern, revoked indicator


def test_stix2_pattern_forms() -> None:
    assert pattern_values("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']") == [
        ("domain", "a.example"),
        ("domain", "b.example"),
    ]
    assert pattern_values("[ipv4-addr:value ISSUBSET '203.0.113.0/24']") == [("ip", "203.0.113.0/24")]
    assert pattern_values("[domain-name:value = 'a.example' AND domain-name:value = 'b.example']") is None
    with pytest.raises(FormatError):
        list(FORMATS["stix2"]("x", b"<html>502 Bad Gateway</html>"))


def test_misp_warninglists_as_allowlists() -> None:
    path = conftest.testdata_path("misp-warninglists", "tranco10k.json")
    b = IndexBuilder()
    st = b.add_allow("tranco", FORMATS["misp-warninglist"](path.name, path.read_bytes()), exact=True)
    assert st.accepted == 10000
    b.add_feed("f", [("google.com", None, None), ("evil.google.com", None, None)])
    ix = b.build()
    assert ix.match_domain("google.com") is None
    assert ix.match_domain("evil.google.com") is not None  # exact allow entries do not cover subdomains
    sinkholes = conftest.testdata_path("misp-warninglists", "sinkholes.json")
    entries = list(FORMATS["misp-warninglist"](sinkholes.name, sinkholes.read_bytes()))
    assert entries and all(hint == "ip" for _, hint, _ in entries)


def test_maltrail_sample_blocks_carry_references() -> None:
    path = conftest.testdata_path("maltrail", "trails-sample", "malware_emotet.txt")
    ix, st = load("maltrail", path)
    m = ix.match_domain("dvr.petcp.com")
    assert m is not None
    p = m.provenance()
    assert p["threats"] == ["emotet"] and "malware" in p["tags"]
    assert p["references"] == ["https://twitter.com/_lockhum/status/1221245124707078144"]
    ip = ix.match_ip("66.210.228.178")  # listed as 66.210.228.178:443
    assert ip is not None and ip.type == "ip"
