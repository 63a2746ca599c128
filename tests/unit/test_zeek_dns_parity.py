"""Issue 19 point 5, DNS side: dns.log as Zeek's base/protocols/dns/main.zeek writes it for NetBIOS
name service (udp/137), UPDATE and NOTIFY, mDNS answers without a query, several messages on one TCP
connection, and TKEY/TSIG query types (docs/ZEEK.md lists the deliberate differences)."""

from __future__ import annotations

import struct

import pytest
from wardwatch.ingest.dns import DnsConfig, DnsTracker
from wardwatch.ingest.dns.netbios import decode_netbios_name

from wardwatch.counters import Counters

from .test_dns_support import CLIENT, SERVER, FakeView, query, response, tcp_row, udp_row
from .test_dns_tcp import framed
from .test_dns_tracker import run


def nb_encode(name: str, suffix: int = 0) -> str:
    raw = name.upper().ljust(15).encode()[:15] + bytes([suffix])
    return "".join(chr(65 + (b >> 4)) + chr(65 + (b & 15)) for b in raw)


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("FEEIEFCAEOEFFEECEJEPFDCAEOEBENEF", "THE NETBIOS NAM"),  # Zeek's documented example
        (nb_encode("WPAD"), "WPAD"),  # trailing spaces and the type byte dropped
        (nb_encode("HIS-SERVER", 0x20), "HIS-SERVER"),
        ("CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "*"),  # the wildcard node-status name: '*' then NULs
        (nb_encode("WPAD")[:30], ""),  # not 32 letters
        ("ZZ" + nb_encode("WPAD")[2:], ""),  # a letter outside A-P
        (nb_encode("WPAD") + ".corp", ""),  # a scope makes the name longer than 32: Zeek logs ""
    ],
)
def test_decode_netbios_name(encoded: str, decoded: str) -> None:
    assert decode_netbios_name(encoded) == decoded


def nbns(ident: int, encoded: str, qtype: int, response_ip: str | None = None) -> bytes:
    flags = 0x0110 if response_ip is None else 0x8500
    counts = (1, 0) if response_ip is None else (0, 1)
    head = struct.pack("!6H", ident, flags, counts[0], counts[1], 0, 0)
    name = bytes([32]) + encoded.encode() + b"\x00"
    if response_ip is None:
        return head + name + struct.pack("!HH", qtype, 1)
    rdata = b"\x00\x00" + bytes(int(x) for x in response_ip.split("."))
    return head + name + struct.pack("!HHIH", qtype, 1, 300000, len(rdata)) + rdata


def nbns_view() -> FakeView:
    v = FakeView()
    v.ends[1] = (CLIENT, 137, "10.0.0.255", 137, "udp")
    return v


def test_netbios_name_query_is_in_dns_log_decoded() -> None:
    rows = [udp_row(1.0, nbns(0x8001, nb_encode("WPAD"), 32), port=137)]
    out, tracker, _ = run(rows, view=nbns_view())
    (rec,) = out + tracker.flush()
    assert (rec["id.resp_p"], rec["query"], rec["qtype"], rec["qtype_name"]) == (137, "WPAD", 32, "NIMLOC")


def test_netbios_node_status_is_nbstat_and_answers_pair() -> None:
    rows = [
        udp_row(1.0, nbns(7, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 33), port=137),
        udp_row(1.2, nbns(9, nb_encode("HIS-SERVER"), 32), port=137),
    ]
    out, tracker, _ = run(rows, view=nbns_view())
    recs = out + tracker.flush()
    assert [(r["query"], r["qtype_name"]) for r in recs] == [("*", "NBSTAT"), ("HIS-SERVER", "NIMLOC")]


def test_netbios_port_is_udp_only_and_configurable() -> None:
    assert 137 in DnsConfig().udp_ports and 137 not in DnsConfig().tcp_ports


@pytest.mark.parametrize("opcode", [4, 5])  # NOTIFY, UPDATE
def test_notify_and_update_leave_no_record(opcode: int) -> None:
    wire = bytearray(query("benhvien.vn", "SOA", ident=3).to_wire())
    wire[2] = (wire[2] & 0x87) | (opcode << 3)
    reply = bytearray(wire)
    reply[2] |= 0x80
    counters = Counters()
    out, tracker, _ = run([udp_row(1.0, bytes(wire)), udp_row(1.1, bytes(reply), from_orig=False)],
                          DnsTracker(counters, DnsConfig()))  # fmt: skip
    assert out + tracker.flush() == []
    assert counters["dns.opcode_not_tracked"] == 2


def test_mdns_answer_without_query_is_logged_alone_after_the_timeout() -> None:
    q = query("printer.local", "A", ident=0)
    announce = response(q, ("printer.local.", 120, "A", "10.20.0.9"))
    out, tracker, _ = run([udp_row(5.0, announce, from_orig=False, port=5353)], now=10.0)
    assert out == []  # could still be matched
    (rec,) = tracker.expire(15.0)
    assert rec["query"] == "printer.local" and rec["answers"] == ["10.20.0.9"] and "rtt" not in rec


def test_several_messages_on_one_tcp_connection_are_one_record_each() -> None:
    view = FakeView()
    view.ends[1] = (CLIENT, 40001, SERVER, 53, "tcp")
    qs = [query(f"n{i}.benhvien.vn", "A", ident=100 + i) for i in range(3)]
    rs = [response(q, (f"n{i}.benhvien.vn.", 60, "A", f"10.40.0.{i + 1}")) for i, q in enumerate(qs)]
    up = framed(*(q.to_wire() for q in qs))
    down = framed(*rs)
    rows = [tcp_row(1.0, 1, b"", flags=0x02), tcp_row(1.0, 1, b"", from_orig=False, flags=0x12),
            tcp_row(1.1, 2, up), tcp_row(1.2, 2, down, from_orig=False)]  # fmt: skip
    out, tracker, _ = run(rows, view=view)
    recs = out + tracker.flush()
    assert [(r["uid"], r["proto"], r["query"], r["answers"]) for r in recs] == [
        ("C1", "tcp", f"n{i}.benhvien.vn", [f"10.40.0.{i + 1}"]) for i in range(3)
    ]


@pytest.mark.parametrize(("qtype", "name"), [("TKEY", "TKEY"), ("TSIG", "TSIG")])
def test_tkey_and_tsig_query_types(qtype: str, name: str) -> None:
    q = query("key.benhvien.vn", qtype, ident=5)
    out, tracker, _ = run([udp_row(1.0, q.to_wire())])
    (rec,) = out + tracker.flush()
    assert rec["qtype_name"] == name
