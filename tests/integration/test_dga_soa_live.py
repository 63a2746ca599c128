"""Issue 19 point 4, the SOA evidence, on traffic made with real tools: dnsmasq answers in a server
namespace, kdig asks from a client namespace (UDP and TCP), tcpdump captures, and the capture goes
through the sensor and the detection engine as ``wardwatch detect`` runs them (the lab of
test_gaps_live.py).

One dnsmasq is authoritative (``--auth-zone``) for ``net`` and for twelve word-made ``.com`` domains,
so that its NXDOMAIN answers carry the SOA a recursive resolver passes on (RFC 2308): ``net``'s for a
``.net`` name that does not exist, the domain's own for a missing name under an existing domain. A
second dnsmasq answers every name NXDOMAIN with no SOA at all (``--address=/#/``).

- a word-list DGA's twelve ``.net`` names, answered with ``net``'s SOA: the host alert;
- as many missing names under the twelve existing domains, answered with their own SOA: nothing;
- both sets from the resolver that gives no SOA: judged by name alone, as before (both alert).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_gaps_live import DGA_WORDS, Lab, alerts_of, config, need, records_of

pytestmark = pytest.mark.integration

SOA_SERVER, BARE_SERVER = "10.40.0.53", "10.40.0.54"
DGA_SOA, EXIST_SOA, DGA_BARE, EXIST_BARE = "10.30.0.21", "10.30.0.22", "10.30.0.23", "10.30.0.24"
LABELS = [f"{a}{b}" for a, b in zip(DGA_WORDS[::2], DGA_WORDS[1::2], strict=True)]
LABELS += [f"{b}{a}" for a, b in zip(DGA_WORDS[::2], DGA_WORDS[1::2], strict=True)][:4]
DGA_NAMES = [f"{w}.net" for w in LABELS]  # nonexistent: the .net zone's SOA comes back
EXISTING = [f"{w}.com" for w in LABELS]  # zones of their own: benign-looking, they exist
MISSING = [f"old.{d}" for d in EXISTING]  # a missing host under each: the domain's SOA comes back


@pytest.fixture(scope="module")
def soa_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("ip", "tcpdump", "dnsmasq", "kdig")
    assert len(DGA_NAMES) == len(MISSING) == 12
    tmp = tmp_path_factory.mktemp("soa")
    pcap = tmp / "soa.pcap"
    with Lab("sa", [DGA_SOA, EXIST_SOA, DGA_BARE, EXIST_BARE], [SOA_SERVER, BARE_SERVER], tmp) as lab:
        zones = [f"--auth-zone={z}" for z in ("net", *EXISTING)]
        lab.serve("dnsmasq", "-k", "--no-hosts", "--no-resolv", "--bind-interfaces", f"--listen-address={SOA_SERVER}",
                  f"--auth-server=ns1.lab.test,{SOA_SERVER}", "--auth-soa=1,hostmaster.lab.test", *zones,
                  "--pid-file=" + str(tmp / "auth.pid"))  # fmt: skip
        lab.serve("dnsmasq", "-k", "--no-hosts", "--no-resolv", "--bind-interfaces", f"--listen-address={BARE_SERVER}",
                  "--address=/#/", "--pid-file=" + str(tmp / "bare.pid"))  # fmt: skip
        lab.listening(SOA_SERVER, 53, "udp")
        lab.listening(SOA_SERVER, 53, "tcp")
        lab.listening(BARE_SERVER, 53, "udp")
        with lab.capture(pcap):
            for src, server, names in ((DGA_SOA, SOA_SERVER, DGA_NAMES), (EXIST_SOA, SOA_SERVER, MISSING),
                                       (DGA_BARE, BARE_SERVER, DGA_NAMES), (EXIST_BARE, BARE_SERVER, MISSING)):  # fmt: skip
                kdig = ["kdig", f"@{server}", "-b", src, "+time=5", "+retry=1"]
                # the first half over UDP, the second over TCP: the authority section is read from both
                got = lab.client_run(*kdig, *names[:6], check=True).stdout
                got += lab.client_run(*kdig, "+tcp", *names[6:], check=True).stdout
                assert got.count("status: NXDOMAIN") == len(names), got
                assert got.count("AUTHORITY: 1") == (len(names) if server == SOA_SERVER else 0), got
    return pcap


def test_records_carry_the_soa_zone_over_udp_and_tcp(soa_pcap, tmp_path):
    recs = records_of(soa_pcap, config(tmp_path), "dns")
    by_src: dict[str, list[dict]] = {}
    for r in recs:
        by_src.setdefault(r["id.orig_h"], []).append(r)
    dga = by_src[DGA_SOA]
    assert sorted(r["query"] for r in dga) == sorted(DGA_NAMES)
    assert {r["proto"] for r in dga} == {"udp", "tcp"}
    assert all(r["auth_zone"] == "net" and r["auth"] == ["ns1.lab.test"] for r in dga)
    exist = by_src[EXIST_SOA]
    assert {r["proto"] for r in exist} == {"udp", "tcp"}
    assert sorted((r["query"], r["auth_zone"]) for r in exist) == sorted(zip(MISSING, EXISTING, strict=True))
    for src in (DGA_BARE, EXIST_BARE):
        assert len(by_src[src]) == 12 and all("auth" not in r and "auth_zone" not in r for r in by_src[src])


def _dga(soa_pcap: Path, tmp_path: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for a in alerts_of(soa_pcap, config(tmp_path)):
        if a.category == "dga":
            out.setdefault(a.src_ip, []).append(a)
    return out


def test_word_dga_with_the_tld_soa_raises_the_host_alert(soa_pcap, tmp_path):
    (a,) = _dga(soa_pcap, tmp_path)[DGA_SOA]
    assert a.rule == "behaviour.dga.host" and a.evidence["volume_names"] >= 10
    assert a.evidence["soa_nonexistent"] == a.evidence["names"]  # every counted answer said so


def test_missing_names_under_existing_domains_raise_nothing(soa_pcap, tmp_path):
    assert EXIST_SOA not in _dga(soa_pcap, tmp_path)


def test_without_an_soa_both_sets_are_judged_by_name_as_before(soa_pcap, tmp_path):
    got = _dga(soa_pcap, tmp_path)
    for src in (DGA_BARE, EXIST_BARE):
        (a,) = got[src]
        assert a.rule == "behaviour.dga.host" and a.evidence["soa_nonexistent"] == 0
