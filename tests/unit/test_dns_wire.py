"""The wire decoder against dnspython (the oracle): every rdata type, compression, loops, EDNS0."""

from __future__ import annotations

import struct

import dns.edns
import dns.message
import dns.rrset
import pytest
from wardwatch.ingest.dns import decode_message, format_answer
from wardwatch.ingest.dns.wire import read_name

from .test_dns_support import query, response

RDATA_CASES = [
    ("A", "192.0.2.1", "192.0.2.1", "192.0.2.1"),
    ("AAAA", "2001:db8::1", "2001:db8::1", "2001:db8::1"),
    ("AAAA", "::ffff:192.0.2.7", "192.0.2.7", "192.0.2.7"),  # Zeek prints v4-mapped as IPv4
    ("CNAME", "Edge.Example.NET.", "edge.example.net", "edge.example.net"),
    ("NS", "ns1.example.com.", "ns1.example.com", "ns1.example.com"),
    ("PTR", "host.example.com.", "host.example.com", "host.example.com"),
    ("MX", "10 mail.example.com.", (10, "mail.example.com"), "mail.example.com"),
    ("TXT", '"v=spf1 -all" "second"', (b"v=spf1 -all", b"second"), "TXT 11 v=spf1 -all TXT 6 second"),
    ("SPF", '"v=spf1 -all"', (b"v=spf1 -all",), "SPF 11 v=spf1 -all"),
    (
        "SOA",
        "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
        ("ns1.example.com", "hostmaster.example.com", 2024010101, 7200, 3600, 1209600, 300),
        "ns1.example.com",
    ),
    ("SRV", "0 5 5060 sip.example.com.", (0, 5, 5060, "sip.example.com"), "sip.example.com"),
    ("NULL", "\\# 3 abcdef", b"\xab\xcd\xef", "<unknown type=10>"),
    ("NAPTR", '100 10 "u" "E2U+sip" "" sip.example.com.', None, "<unknown type=35>"),
    ("HTTPS", '1 . alpn="h2,h3" port=443', (1, "", ((1, b"\x02h2\x02h3"), (3, b"\x01\xbb"))), None),
    ("SVCB", "2 svc.example.net. port=8443", (2, "svc.example.net", ((3, b"\x20\xfb"),)), None),
    ("HINFO", '"PC" "Linux"', None, None),
    ("CAA", '0 issue "letsencrypt.org"', None, None),
    ("DS", "12345 8 2 " + "ab" * 32, (8, 2), "DS 8 2"),
    ("SSHFP", "1 1 " + "12" * 20, (1, 1, b"\x12" * 20), "SSHFP: " + "12" * 20),
    ("WKS", "192.0.2.1 6 25", None, ""),
]


@pytest.mark.parametrize(("rdtype", "text", "value", "answer"), RDATA_CASES)
def test_rdata_types_match_dnspython_and_zeek_format(rdtype, text, value, answer):
    q = query("www.Example.com", rdtype)
    wire = response(q, ("www.example.com.", 3600, rdtype, text))
    oracle = dns.message.from_wire(wire)
    msg = decode_message(wire)
    assert msg is not None and msg.error is None
    assert msg.id == oracle.id and msg.qr and msg.rd
    assert [(x.name, x.qtype, x.qclass) for x in msg.questions] == [
        ("www.example.com", q.question[0].rdtype, 1)
    ]
    (rr,) = msg.answers
    assert rr.rtype == oracle.answer[0].rdtype and rr.ttl == 3600 and rr.name == "www.example.com"
    if value is not None:
        assert rr.data == value
    assert format_answer(rr) == answer


def test_compression_pointer_to_question_and_mid_name():
    q = query("a.b.example.com", "A")
    wire = response(
        q, ("a.b.example.com.", 60, "CNAME", "x.b.example.com."), ("x.b.example.com.", 60, "A", "192.0.2.9")
    )
    assert b"\xc0\x0c" in wire  # dnspython compresses the owner name to the question
    msg = decode_message(wire)
    assert msg is not None and msg.error is None
    assert [(r.name, r.data) for r in msg.answers] == [
        ("a.b.example.com", "x.b.example.com"),
        ("x.b.example.com", "192.0.2.9"),
    ]


def _header(qd: int = 1, an: int = 0, flags: int = 0x0100) -> bytes:
    return struct.pack("!6H", 7, flags, qd, an, 0, 0)


def test_pointer_loop_is_refused():
    # question name is a pointer to itself
    wire = _header() + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    msg = decode_message(wire)
    assert msg is not None and msg.error == "name_forward_pointer" and msg.questions == []


def test_two_pointers_chasing_each_other_are_refused():
    # label "a" then a pointer back to offset 12: the pointer target is below it, but the name read
    # from there would run into the pointer again; the shrinking window stops it.
    wire = _header() + b"\x01a\xc0\x0c" + b"\x00\x01\x00\x01"
    msg = decode_message(wire)
    assert msg is not None and msg.error is not None and msg.error.startswith("name_")


def test_forward_pointer_is_refused():
    wire = _header() + b"\xc0\x20" + b"\x00\x01\x00\x01" + b"\x00" * 20
    msg = decode_message(wire)
    assert msg is not None and msg.error == "name_forward_pointer"


def test_label_and_name_bounds():
    assert read_name(b"\x03abc\x00", 0, 5) == ("abc", 5)
    assert read_name(b"\x00", 0, 1) == ("", 1)
    with pytest.raises(Exception, match="name_bad_label"):
        read_name(b"\x41" + b"a" * 70, 0, 71)
    with pytest.raises(Exception, match="name_truncated"):
        read_name(b"\x05ab", 0, 3)
    long_name = (b"\x3f" + b"a" * 63) * 9 + b"\x00"
    with pytest.raises(Exception, match="name_too_long"):
        read_name(long_name, 0, len(long_name))


def test_non_printable_name_bytes_are_escaped():
    name, _ = read_name(b"\x03a\x01B\x00", 0, 6)
    assert name == "a\\x01b"


def test_edns0_opt_record():
    q = query("example.org", "AAAA", use_edns=0, payload=1232, want_dnssec=True,
              options=[dns.edns.GenericOption(10, b"\x01" * 8)])  # fmt: skip
    msg = decode_message(q.to_wire())
    assert msg is not None and msg.error is None and msg.edns is not None
    assert msg.edns.udp_size == 1232 and msg.edns.version == 0 and msg.edns.do
    assert msg.edns.options == ((10, b"\x01" * 8),)


def test_all_sections_and_header_bits():
    q = query("example.org", "A")
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA | dns.flags.AD
    r.authority.append(dns.rrset.from_text("example.org.", 5, "IN", "NS", "ns.example.org."))
    r.additional.append(dns.rrset.from_text("ns.example.org.", 5, "IN", "A", "192.0.2.53"))
    msg = decode_message(r.to_wire())
    assert msg is not None and msg.error is None
    assert msg.aa and msg.qr and msg.rd and not msg.tc and msg.z == 2 and msg.rcode == 0
    assert [x.data for x in msg.authority] == ["ns.example.org"]
    assert [x.data for x in msg.additional] == ["192.0.2.53"]


def test_truncated_answer_keeps_what_decoded():
    q = query("example.org", "A")
    wire = response(q, ("example.org.", 60, "A", "192.0.2.1", "192.0.2.2"))
    msg = decode_message(wire[:-2])
    assert msg is not None and msg.error == "rdata_truncated" and msg.error_section == 2
    assert len(msg.answers) == 1 and msg.answers[0].data in {"192.0.2.1", "192.0.2.2"}


def test_short_and_absurd_counts():
    assert decode_message(b"\x00" * 11) is None
    msg = decode_message(struct.pack("!6H", 1, 0, 1000, 0, 0, 0))
    assert msg is not None and msg.error == "too_many_questions"
    msg = decode_message(struct.pack("!6H", 1, 0x8000, 0, 65535, 0, 0))
    assert msg is not None and msg.error == "name_truncated" and msg.answers == []
