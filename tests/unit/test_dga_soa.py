"""Issue 19 point 4: what an NXDOMAIN's authority section says. The DNS analyser keeps Zeek's ``auth``
(authority records' reply strings: an SOA's ``mname``) and ``auth_zone`` (the SOA's owner), over UDP
and TCP; the DGA detector counts no name whose SOA shows that its registered domain exists, counts
names whose SOA is a zone above as before, and judges names without an SOA on their characters."""

from __future__ import annotations

import json
from collections.abc import Sequence

import dns.message
import dns.rcode
import dns.rrset
import pytest
from wardwatch.detectors.behaviour.dga import counts, domain_exists
from wardwatch.detectors.behaviour.options import DgaOptions
from wardwatch.ingest.dns import DnsConfig, DnsTracker

from wardwatch.counters import Counters

from .test_behaviour_detectors import dns as dns_record
from .test_behaviour_detectors import engine, run
from .test_dga_words import word_pairs
from .test_dns_support import FakeView, batch_of, query, tcp_row, udp_row
from .test_dns_tcp import SYN, framed, tcp_view

TLD_SOA = ("net.", "a.gtld-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400")


def negative(
    q: dns.message.Message, *authority: tuple[str, str, str], rcode: dns.rcode.Rcode = dns.rcode.NXDOMAIN
) -> bytes:
    """A resolver's negative answer to ``q`` with authority rrsets given as (owner, type, rdata)."""
    r = dns.message.make_response(q)
    for owner, rdtype, text in authority:
        r.authority.append(dns.rrset.from_text(owner, 900, "IN", rdtype, text))
    r.set_rcode(rcode)
    return r.to_wire()


def udp_record(q: dns.message.Message, wire: bytes) -> dict:
    batch, flows = batch_of([udp_row(1.0, q.to_wire()), udp_row(1.1, wire, from_orig=False)])
    (rec,) = DnsTracker(Counters(), DnsConfig()).process(batch, flows, FakeView())
    return rec


def test_nxdomain_with_the_tld_soa_over_udp() -> None:
    q = query("wouldinstead.net", "A", ident=7)
    rec = udp_record(q, negative(q, (*TLD_SOA[:1], "SOA", TLD_SOA[1])))
    assert rec["rcode_name"] == "NXDOMAIN" and rec["rejected"] is False
    assert rec["auth"] == ["a.gtld-servers.net"]  # Zeek's meaning: the SOA's primary server
    assert rec["auth_zone"] == "net"  # the zone: what Zeek's field cannot tell
    assert list(rec)[-3:] == ["rejected", "auth", "auth_zone"]  # Zeek's order: auth-addl after rejected


def test_nxdomain_under_an_existing_domain_over_tcp() -> None:
    q = query("old.Station-History.com", "A", ident=8)
    wire = negative(q, ("station-history.com.", "SOA", "ns1.dnsimple.com. admin.dnsimple.com. 1 2 3 4 5"))
    rows = [
        tcp_row(1.0, 999, b"", flags=SYN),
        tcp_row(1.0, 4999, b"", from_orig=False, flags=SYN | 0x10),
        tcp_row(1.1, 1000, framed(q.to_wire())),
        tcp_row(1.2, 5000, framed(wire), from_orig=False),
    ]
    batch, flows = batch_of(rows)
    (rec,) = DnsTracker(Counters(), DnsConfig()).process(batch, flows, tcp_view())
    assert rec["proto"] == "tcp" and rec["query"] == "old.station-history.com"
    assert (rec["auth"], rec["auth_zone"]) == (["ns1.dnsimple.com"], "station-history.com")


def test_root_soa_referral_and_no_authority() -> None:
    q = query("x.nosuchtld", "A", ident=9)
    rec = udp_record(q, negative(q, (".", "SOA", "a.root-servers.net. nstld.verisign-grs.com. 1 2 3 4 5")))
    assert rec["auth_zone"] == "."  # the root, never "" (which a stored row reads as "no SOA")
    q = query("www.example.org", "A", ident=10)
    referral = negative(q, ("example.org.", "NS", "b.iana-servers.net."), ("example.org.", "NS",
                        "a.iana-servers.net."), rcode=dns.rcode.NOERROR)  # fmt: skip
    rec = udp_record(q, referral)
    assert rec["auth"] == ["b.iana-servers.net", "a.iana-servers.net"] and "auth_zone" not in rec
    q = query("plain.example", "A", ident=11)
    rec = udp_record(q, negative(q))
    assert "auth" not in rec and "auth_zone" not in rec  # Zeek's &optional: absent, not empty


@pytest.mark.parametrize(
    ("reg", "zone", "auth", "says"),
    [
        ("example.com", "example.com", None, True),
        ("example.com", "dev.example.com.", None, True),  # a zone below the registered domain
        ("example.com", "com", None, False),
        ("example.com.vn", "com.vn", None, False),
        ("example.com.vn", "vn", None, False),
        ("example.com", ".", None, False),
        ("example.com", "rpz.hospital.lan", None, None),  # a filtering resolver's own zone: no evidence
        ("example.com", None, None, None),
        ("example.com", "", None, None),  # a stored row without an SOA
        ("badexample.com", "example.com", None, None),  # not a label boundary
        ("example.com", None, ["ns1.example.com"], True),  # Zeek's auth: a server under the domain
        ("example.com", None, ["a.gtld-servers.net"], None),
        ("example.com", "com", ["ns1.example.com"], False),  # the zone wins
    ],
)  # fmt: skip
def test_domain_exists(reg: str, zone: str | None, auth: list[str] | None, says: bool | None) -> None:
    assert domain_exists(reg, zone, auth) is says


def test_counts_takes_the_zone() -> None:
    o = DgaOptions()
    assert counts("wouldinstead.net", o) == "word"
    assert counts("wouldinstead.net", o, "net") == "word"
    assert counts("www.wouldinstead.net", o, "wouldinstead.net") is None
    assert counts("lkhylm0mhyfuhgq.ddns.net", o, "ddns.net") == "char"  # the provider's zone is above


def nx(src: str, names: list[str], zones: Sequence[str | None]) -> list[dict]:
    out = []
    for i, (n, z) in enumerate(zip(names, zones, strict=True)):
        rec = dns_record(src, n, 1000.0 + i * 5, rcode="NXDOMAIN")
        if z is not None:
            rec["auth_zone"] = z
        out.append(rec)
    return out


def dga_alerts(records: list[dict]) -> list:
    return [a for a in run(engine(), records) if a.category == "dga"]


def test_word_dga_with_tld_soa_raises_the_host_alert() -> None:
    names = word_pairs(12)
    (a,) = dga_alerts(nx("10.30.0.9", names, ["net"] * 12))
    assert a.rule == "behaviour.dga.host" and a.evidence["volume_names"] == 10
    assert a.evidence["soa_nonexistent"] == 10  # every counted name's answer said: no such domain


def test_the_same_count_under_existing_domains_raises_nothing() -> None:
    regs = word_pairs(12)  # word-made registered domains that exist: a missing host under each
    names = [f"old.{r}" for r in regs]
    assert dga_alerts(nx("10.30.0.9", names, regs)) == []
    # the same names without the SOA are what the name-only rule counted: the volume rule fires
    (a,) = dga_alerts(nx("10.30.0.9", names, [None] * 12))
    assert a.rule == "behaviour.dga.host" and a.evidence["soa_nonexistent"] == 0


def test_no_soa_or_an_unrelated_one_behaves_as_before() -> None:
    names = word_pairs(12)
    before = dga_alerts(nx("10.30.0.9", names, [None] * 12))
    unrelated = dga_alerts(nx("10.30.0.9", names, ["rpz.hospital.lan"] * 12))
    assert [(a.rule, a.indicator, a.count) for a in before] == [
        (a.rule, a.indicator, a.count) for a in unrelated
    ]
    assert [a.rule for a in before] == ["behaviour.dga.host"]


def test_zeek_auth_server_under_the_domain_counts_as_existing() -> None:
    regs = word_pairs(12)
    recs = nx("10.30.0.9", [f"old.{r}" for r in regs], [None] * 12)
    for rec, r in zip(recs, regs, strict=True):
        rec["auth"] = [f"ns1.{r}"]  # an imported Zeek dns.log: auth-addl's SOA mname, no zone
    assert dga_alerts(recs) == []


def test_zeek_dns_log_auth_is_imported_and_read() -> None:
    # the Zeek import keeps the fields of ingest/fields.py: auth-addl's ``auth`` set comes in as a list
    from wardwatch.ingest.logs import TsvState

    st = TsvState()
    for line in ("#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tdns",
                 "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\trcode_name\tauth\taddl",
                 "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tset[string]\tset[string]"):  # fmt: skip
        st.header(line)
    recs = []
    for i, r in enumerate(word_pairs(12)):
        rec = st.record(
            f"{1000 + 5 * i}.0\tC{i}\t10.30.0.9\t4000\t10.40.0.53\t53\tudp\told.{r}\tNXDOMAIN\tns1.{r}\t-"
        )
        assert rec is not None and rec["auth"] == [f"ns1.{r}"] and "addl" not in rec
        recs.append(rec)
    assert dga_alerts(recs) == []
    for rec in recs:
        del rec["auth"]
    assert [a.rule for a in dga_alerts(recs)] == ["behaviour.dga.host"]  # without it: the name-only rule


def _eve_answer(i: int, name: str, authority: dict) -> list[bytes]:
    """A Suricata 7 query and its NXDOMAIN answer (the shape of a real eve.json, version 2)."""
    flow = {"flow_id": 7000 + i, "event_type": "dns", "proto": "UDP"}
    client = {"src_ip": "10.30.0.9", "src_port": 40000 + i, "dest_ip": "10.40.0.53", "dest_port": 53}
    server = {"src_ip": "10.40.0.53", "src_port": 53, "dest_ip": "10.30.0.9", "dest_port": 40000 + i}
    q = {
        "timestamp": f"2026-08-28T23:05:{i:02d}.1+0700",
        **flow,
        **client,
        "dns": {"type": "query", "id": i, "rrname": name, "rrtype": "A", "tx_id": 0},
    }
    a = {"timestamp": f"2026-08-28T23:05:{i:02d}.2+0700", **flow, **server,
         "dns": {"version": 2, "type": "answer", "id": i, "flags": "8183", "qr": True, "rd": True, "ra": True,
                 "rrname": name, "rrtype": "A", "rcode": "NXDOMAIN", "authorities": [authority]}}  # fmt: skip
    return [json.dumps(q).encode(), json.dumps(a).encode()]


def _soa(owner: str, mname: str) -> dict:
    return {"rrname": owner, "rrtype": "SOA", "ttl": 900,
            "soa": {"mname": mname, "rname": f"hostmaster.{owner}", "serial": 1, "refresh": 1800,
                    "retry": 900, "expire": 604800, "minimum": 900}}  # fmt: skip


@pytest.mark.parametrize("python", [False, True], ids=["native", "python"])
def test_eve_authorities_give_the_sensors_fields(python: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Suricata's ``authorities`` fill ``auth``/``auth_zone`` as the sensor fills them from packets, on
    the C mapper's path (which hands such events to Python) and on the Python one."""
    from wardwatch.ingest.logs import eve

    if python:
        monkeypatch.setattr(eve, "_native", None)
    regs = word_pairs(12)
    raws = [_eve_answer(i, f"old.{r}", _soa(r, f"ns1.{r}")) for i, r in enumerate(regs)]
    parser = eve.EveParser()
    recs: list[dict] = []
    parser.lines([line for pair in raws for line in pair], recs, [])
    assert [(r["auth"], r["auth_zone"]) for r in recs] == [([f"ns1.{r}"], r) for r in regs]
    assert dga_alerts(recs) == []  # missing names under existing domains
    tld = [_eve_answer(i, r, _soa("com", "a.gtld-servers.net")) for i, r in enumerate(regs)]
    recs = []
    eve.EveParser().lines([line for pair in tld for line in pair], recs, [])
    assert {(tuple(r["auth"]), r["auth_zone"]) for r in recs} == {(("a.gtld-servers.net",), "com")}
    assert [a.rule for a in dga_alerts(recs)] == ["behaviour.dga.host"]
    (root,) = eve.EveParser().line(_eve_answer(1, "x.invalid", {"rrname": "", "rrtype": "SOA", "ttl": 5})[1])[
        0
    ]
    assert root["auth_zone"] == "." and "auth" not in root  # Suricata 6 logs no SOA data: no mname
