"""The NetFlow/IPFIX decoder on datagrams built here field by field (RFC 3954, RFC 7011, Cisco's v5
layout): templates per exporter and domain, refresh and withdrawal, options and sampling, sequence
gaps, IPv6, reduced-size and variable-length fields, malformed input counted, never raised."""

from __future__ import annotations

import ipaddress
import socket
import struct

from wardwatch.ingest.netflow import Decoder, conn_records

from wardwatch.counters import Counters

EXP = ("192.0.2.1", 2055)


def v5(flows: list[tuple[str, str, int, int, int, int, int]], seq: int = 0, sampling: int = 0) -> bytes:
    """(src, dst, sport, dport, proto, packets, bytes) records; uptime 10 s, exported at 1000.5 s."""
    head = struct.pack("!HHIIIIBBH", 5, len(flows), 10_000, 1000, 500_000_000, seq, 0, 0, sampling)
    body = b""
    for src, dst, sp, dp, proto, pk, by in flows:
        body += struct.pack(
            "!4s4s4sHHIIIIHHBBBBHHBBH", socket.inet_aton(src), socket.inet_aton(dst), bytes(4), 0, 0,
            pk, by, 8_000, 9_000, sp, dp, 0, 0x1B, proto, 0, 0, 0, 0, 0, 0,
        )  # fmt: skip
    return head + body


def ipfix(sets: list[tuple[int, bytes]], seq: int = 0, domain: int = 1, export: int = 2000) -> bytes:
    body = b"".join(struct.pack("!HH", sid, 4 + len(b)) + b for sid, b in sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export, seq, domain) + body


def v9(sets: list[tuple[int, bytes]], seq: int = 0, source: int = 7) -> bytes:
    body = b"".join(struct.pack("!HH", sid, 4 + len(b)) + b for sid, b in sets)
    return struct.pack("!HHIIII", 9, len(sets), 60_000, 3000, seq, source) + body


def template(tid: int, fields: list[tuple[int, int]]) -> bytes:
    return struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", ie, ln) for ie, ln in fields)


V4_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4), (152, 8), (153, 8)]


def v4_record(src: str, dst: str, sp: int, dp: int, proto: int, pk: int, by: int, start_ms: int) -> bytes:
    return struct.pack(
        "!4s4sHHBIIQQ",
        socket.inet_aton(src),
        socket.inet_aton(dst),
        sp,
        dp,
        proto,
        pk,
        by,
        start_ms,
        start_ms + 1500,
    )


def test_v5_records_times_and_counts() -> None:
    c = Counters()
    d = Decoder(c)
    [batch] = d.decode(v5([("10.0.0.1", "10.0.0.2", 1234, 443, 6, 3, 180)]), EXP)
    [rec] = conn_records(batch)
    assert (rec["id.orig_h"], rec["id.orig_p"], rec["id.resp_h"], rec["id.resp_p"]) == (
        "10.0.0.1",
        1234,
        "10.0.0.2",
        443,
    )
    assert rec["proto"] == "tcp" and rec["orig_pkts"] == 3 and rec["orig_ip_bytes"] == 180
    # first switched 8 s of uptime, exported at uptime 10 s = 1000.5 s: the flow began at 998.5 s
    assert abs(rec["ts"] - 998.5) < 1e-6 and abs(rec["duration"] - 1.0) < 1e-6
    assert rec["source"] == "netflow" and rec["exporter"] == "192.0.2.1"
    for unknown in ("history", "conn_state", "service", "orig_bytes", "resp_bytes"):
        assert unknown not in rec


def test_v5_sampling_and_sequence_gaps() -> None:
    c = Counters()
    d = Decoder(c)
    flow = ("10.0.0.1", "10.0.0.2", 1, 2, 17, 2, 100)
    [b] = d.decode(v5([flow], seq=0, sampling=(1 << 14) | 10), EXP)
    assert int(b.pkts[0]) == 20 and int(b.bytes[0]) == 1000
    d.decode(v5([flow, flow], seq=1), EXP)  # in order: 1 flow before it
    assert c.get("netflow.lost_flows", 0) == 0
    d.decode(v5([flow], seq=8), EXP)  # 3 expected: flows 3..7 never arrived
    assert c["netflow.lost_flows"] == 5
    # a forced rate overrides the exporter's
    [b] = Decoder(Counters(), sampling=4).decode(v5([flow], sampling=10), EXP)
    assert int(b.pkts[0]) == 8


def test_ipfix_template_data_refresh_and_withdrawal() -> None:
    c = Counters()
    d = Decoder(c)
    tpl = (2, template(300, V4_FIELDS))
    data = (300, v4_record("10.1.0.1", "8.8.8.8", 5000, 53, 17, 1, 70, 1_700_000_000_000) * 2)
    out = d.decode(ipfix([tpl, data], seq=0), EXP)
    assert [len(b) for b in out] == [2]
    recs = conn_records(out[0])
    assert recs[0]["ts"] == 1_700_000_000.0 and recs[0]["duration"] == 1.5 and recs[0]["proto"] == "udp"
    # the same template again is a refresh, not a new one
    d.decode(ipfix([tpl], seq=2), EXP)
    assert c["netflow.templates"] == 1 and c["netflow.templates_refreshed"] == 1
    # another domain of the same exporter has its own templates
    assert d.decode(ipfix([data], seq=0, domain=2), EXP) == [] and c["netflow.no_template"] == 1
    # withdrawal (field count 0): data after it has no template
    d.decode(ipfix([(2, struct.pack("!HH", 300, 0))], seq=2), EXP)
    assert c["netflow.templates_withdrawn"] == 1
    assert d.decode(ipfix([data], seq=2), EXP) == [] and c["netflow.no_template"] == 2
    # withdraw-all (template id 2) clears every data template of the domain
    d.decode(ipfix([tpl, (2, template(301, V4_FIELDS))], seq=4), EXP)
    d.decode(ipfix([(2, struct.pack("!HH", 2, 0))], seq=4), EXP)
    assert c["netflow.templates_withdrawn"] == 3


def test_ipfix_sequence_gap_counts_records() -> None:
    c = Counters()
    d = Decoder(c)
    tpl = (2, template(300, V4_FIELDS))
    rec = v4_record("10.1.0.1", "10.1.0.2", 1, 2, 6, 1, 40, 1_700_000_000_000)
    d.decode(ipfix([tpl, (300, rec * 3)], seq=0), EXP)
    d.decode(ipfix([(300, rec * 2)], seq=3), EXP)
    assert c.get("netflow.lost_flows", 0) == 0
    d.decode(ipfix([(300, rec)], seq=9), EXP)  # 5 expected: 4 records lost
    assert c["netflow.lost_flows"] == 4


def test_ipfix_ipv6_reduced_size_and_options_sampling() -> None:
    c = Counters()
    d = Decoder(c)
    fields = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (2, 2), (1, 3), (150, 4), (151, 4)]
    # options template: scope observationDomainId, option samplingInterval
    opt_tpl = struct.pack("!HHH", 400, 2, 1) + struct.pack("!HHHH", 149, 4, 34, 4)
    opt_data = struct.pack("!II", 1, 100)
    src, dst = ipaddress.IPv6Address("2001:db8::1").packed, ipaddress.IPv6Address("2001:db8::2").packed
    rec = (
        src
        + dst
        + struct.pack("!HHBH", 40000, 443, 6, 5)
        + (1500).to_bytes(3, "big")
        + struct.pack("!II", 1000, 1002)
    )
    out = d.decode(ipfix([(2, template(500, fields)), (3, opt_tpl), (400, opt_data), (500, rec)]), EXP)
    [r] = conn_records(out[0])
    assert r["id.orig_h"] == "2001:db8::1" and r["id.resp_h"] == "2001:db8::2"
    assert r["orig_pkts"] == 500 and r["orig_ip_bytes"] == 150_000  # 1-in-100 sampling applied
    assert r["ts"] == 1000.0 and r["duration"] == 2.0


def test_ipfix_variable_length_fields() -> None:
    d = Decoder(Counters())
    fields = [(8, 4), (12, 4), (4, 1), (2, 4), (1, 4), (82, 65535), (150, 4)]  # interfaceName: variable
    recs = b""
    for name in (b"eth0", b"x" * 300):
        head = bytes([len(name)]) if len(name) < 255 else b"\xff" + struct.pack("!H", len(name))
        recs += socket.inet_aton("10.0.0.1") + socket.inet_aton("10.0.0.9") + struct.pack("!BII", 17, 2, 99)
        recs += head + name + struct.pack("!I", 5000)
    [b] = d.decode(ipfix([(2, template(600, fields)), (600, recs)]), EXP)
    assert b.pkts.tolist() == [2, 2] and b.bytes.tolist() == [99, 99] and b.start.tolist() == [5000.0, 5000.0]


def test_v9_template_options_and_packet_sequence() -> None:
    c = Counters()
    d = Decoder(c)
    fields = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4), (22, 4), (21, 4)]
    opt = struct.pack("!HHH", 260, 4, 4) + struct.pack("!HHHH", 1, 4, 34, 4)  # scope system, samplingInterval
    rec = (
        socket.inet_aton("10.2.0.1")
        + socket.inet_aton("1.1.1.1")
        + struct.pack("!HHBIIII", 3, 4, 1, 2, 84, 50_000, 59_000)
    )
    rec = rec[:10] + struct.pack("!H", 0x0800) + rec[12:]  # ICMP echo request: type 8 code 0 in the port
    out = d.decode(
        v9([(0, template(256, fields)), (1, opt), (260, struct.pack("!II", 0, 10)), (256, rec)], seq=0), EXP
    )
    [r] = conn_records(out[0])
    assert r["proto"] == "icmp" and (r["id.orig_p"], r["id.resp_p"]) == (8, 0)
    assert r["orig_pkts"] == 20 and r["orig_ip_bytes"] == 840
    assert r["ts"] == 3000 - 10.0 and r["duration"] == 9.0  # uptime 60 s at export, first switched at 50 s
    d.decode(v9([(256, rec)], seq=1), EXP)
    d.decode(v9([(256, rec)], seq=4), EXP)  # v9 counts export packets: 2 lost
    assert c["netflow.lost_packets"] == 2


def test_malformed_input_is_counted_not_raised() -> None:
    c = Counters()
    d = Decoder(c)
    bad = [
        b"", b"\x00", b"\x00\x05\x00\x1e" + bytes(10), v5([("1.1.1.1", "2.2.2.2", 1, 2, 6, 1, 1)])[:40],
        struct.pack("!HHIII", 10, 400, 0, 0, 0), ipfix([(2, b"\x01\x2c\x00\x05\x00\x08")]),
        struct.pack("!HH", 7, 1) + bytes(30), v9([(0, b"\x01\x00")]),
    ]  # fmt: skip
    for data in bad:
        assert d.decode(data, EXP) == []
    assert c["netflow.malformed"] >= 5 and c["netflow.unsupported_version"] == 1
    # nothing a hostile exporter sent broke the state for the next good datagram
    assert len(d.decode(v5([("1.1.1.1", "2.2.2.2", 1, 2, 6, 1, 1)]), EXP)) == 1


def test_uids_are_deterministic_and_distinct() -> None:
    flows = [("10.0.0.1", "10.0.0.2", p, 80, 6, 1, 60) for p in range(1000, 1030)]
    a = conn_records(Decoder().decode(v5(flows), EXP)[0])
    b = conn_records(Decoder().decode(v5(flows), EXP)[0])
    assert [r["uid"] for r in a] == [r["uid"] for r in b]
    assert len({r["uid"] for r in a}) == 30


def test_fuzzed_datagrams_never_raise() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    templates = ipfix(
        [
            (2, template(300, V4_FIELDS)),
            (3, struct.pack("!HHH", 400, 2, 1) + struct.pack("!HHHH", 149, 4, 34, 4)),
        ]
    )
    good = [
        v5([("10.0.0.1", "10.0.0.2", 1, 2, 6, 1, 1)] * 3),
        ipfix([(300, v4_record("10.1.0.1", "8.8.8.8", 5000, 53, 17, 1, 70, 1_700_000_000_000) * 2)], seq=1),
        v9([(0, template(256, [(8, 4), (12, 4), (1, 4)])), (256, bytes(24))]),
    ]

    @settings(max_examples=400, deadline=None)
    @given(
        st.sampled_from(good),
        st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=8),
        st.integers(0, 200),
    )
    def check(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
        d = Decoder(Counters())
        d.decode(templates, EXP)
        data = bytearray(base)
        for i, b in flips:
            if i < len(data):
                data[i] = b
        for batch in d.decode(bytes(data[: len(data) - cut % max(len(data), 1)]), EXP):
            conn_records(batch)  # and the records of whatever decoded

    check()


def test_addresses_of_the_wrong_size_are_counted_not_decoded() -> None:
    c = Counters()
    d = Decoder(c)
    fields = [(8, 8), (12, 8), (2, 4), (1, 4)]  # IPv4 addresses in 8 bytes: not an address
    rec = b"\xff" * 16 + struct.pack("!II", 1, 40)
    assert d.decode(ipfix([(2, template(700, fields)), (700, rec)]), EXP) == []
    assert c["netflow.no_addresses"] == 1
