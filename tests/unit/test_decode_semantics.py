"""Column semantics: lengths, payload location, ICMP type/code, other protocols, IPv6 extension
headers, segmentation-offload lengths, padding, snaplen truncation and malformed transports."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.inet6 import (
    MIP6MH_BRR,
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import Ether

from .test_decode_support import decode, eth, only_row, tcp_packet

A6, B6 = "2001:db8::1", "2001:db8::2"


def test_tcp_columns() -> None:
    pkt = IP(src="192.168.1.5", dst="8.8.4.4", id=7) / TCP(
        sport=40000, dport=443, seq=0xFFFFFFF0, ack=5, flags="SAEC", window=29200, options=[("MSS", 1460)]
    ) / (b"x" * 100)  # fmt: skip
    r = only_row([eth(pkt)])
    assert (r["src"], r["dst"], r["proto"], r["sport"], r["dport"]) == (
        "192.168.1.5",
        "8.8.4.4",
        6,
        40000,
        443,
    )
    assert (r["ip_len"], r["payload_len"], r["payload_cap"]) == (20 + 24 + 100, 100, 100)
    assert (r["tcp_flags"], r["tcp_seq"], r["tcp_ack"], r["tcp_win"]) == (0xD2, 0xFFFFFFF0, 5, 29200)
    assert r["payload_off"] == 14 + 20 + 24 and r["payload"] == b"x" * 100


def test_ethernet_padding_ignored() -> None:
    frame = bytes(eth(IP(src="1.1.1.1", dst="2.2.2.2") / TCP(flags="A"))) + b"\x00" * 6  # 54 → 60 bytes
    r = only_row([frame])
    assert (r["ip_len"], r["payload_len"], r["payload_cap"], r["payload"]) == (40, 0, 0, b"")
    frame = bytes(eth(IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=1, dport=2) / b"ab")) + b"\xee" * 20
    r = only_row([frame])
    assert (r["ip_len"], r["payload_len"], r["payload"]) == (30, 2, b"ab")


def test_snaplen_truncated_payload() -> None:
    frame = bytes(eth(IP(src="1.1.1.1", dst="2.2.2.2") / TCP() / (b"y" * 1000)))[:100]
    r = only_row([frame])
    assert (r["ip_len"], r["payload_len"], r["payload_cap"]) == (1040, 1000, 100 - 54)
    assert r["payload"] == b"y" * 46


def test_udp_length_smaller_than_ip_payload() -> None:
    pkt = IP(bytes(IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=5, dport=6, len=12) / b"abcdefgh"))
    r = only_row([eth(pkt)])
    assert (r["ip_len"], r["payload_len"], r["payload_cap"], r["payload"]) == (36, 4, 4, b"abcd")
    pkt = IP(bytes(IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=5, dport=6, len=200) / b"abcdefgh"))
    assert only_row([eth(pkt)])["payload_len"] == 8  # UDP length beyond the IP payload: IP wins


def test_icmp_type_and_code_in_ports() -> None:
    r = only_row([eth(IP(src="1.1.1.1", dst="2.2.2.2") / ICMP(type=3, code=13) / (b"z" * 28))])
    assert (r["proto"], r["sport"], r["dport"], r["payload_len"], r["ip_len"]) == (1, 3, 13, 28, 56)
    r = only_row([eth(IPv6(src=A6, dst=B6) / ICMPv6EchoRequest(data=b"hi"))])
    assert (r["proto"], r["sport"], r["dport"], r["payload_len"], r["ip_len"]) == (58, 128, 0, 2, 50)


@pytest.mark.parametrize("proto", [50, 89, 132, 2, 58])
def test_other_ipv4_protocols_make_rows_without_ports(proto: int) -> None:
    r = only_row([eth(IP(src="1.1.1.1", dst="2.2.2.2", proto=proto) / (b"q" * 30))])
    assert (r["proto"], r["sport"], r["dport"], r["ip_len"], r["payload_len"], r["payload_cap"]) == (
        proto, 0, 0, 50, 30, 30,
    )  # fmt: skip
    assert r["payload"] == b"q" * 30 and r["tcp_win"] == 0


def test_ipv4_options() -> None:
    pkt = IP(src="1.1.1.1", dst="2.2.2.2", options=[IPOption_RR(routers=["9.9.9.9"] * 9)]) / TCP() / b"opt"
    r = only_row([eth(pkt)])
    assert (r["ip_len"], r["payload_len"], r["payload"]) == (60 + 20 + 3, 3, b"opt")


def test_ipv4_total_length_zero_uses_captured_length() -> None:
    frame = bytearray(bytes(eth(IP(src="1.1.1.1", dst="2.2.2.2") / TCP() / (b"t" * 3000))))
    frame[16:18] = b"\x00\x00"
    for fastpath in (True, False):
        batch, counters = decode([bytes(frame)], fastpath=fastpath)
        assert batch.ip_len.tolist() == [3040] and batch.payload_len.tolist() == [3000]
        assert counters["decode.ipv4_zero_length"] == 1


@pytest.mark.parametrize(
    "ext",
    [
        IPv6ExtHdrHopByHop(),
        IPv6ExtHdrRouting(addresses=[A6, B6]),
        IPv6ExtHdrDestOpt(),
        IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt(),
        IPv6ExtHdrFragment(offset=0, m=0, id=5),  # atomic fragment
        AH(nh=6, payloadlen=4, icv=b"\x00" * 12),
    ],
)
def test_ipv6_extension_headers(ext: object) -> None:
    pkt = IPv6(src=A6, dst=B6) / ext / TCP(sport=1, dport=2) / b"ext"  # type: ignore[operator]
    size = len(bytes(pkt))
    r = only_row([eth(pkt)])
    assert (r["proto"], r["sport"], r["dport"], r["ip_len"], r["payload_len"], r["payload"]) == (
        6, 1, 2, size, 3, b"ext",
    )  # fmt: skip


def test_ipv6_mobility_esp_and_no_next_header() -> None:
    r = only_row([eth(IPv6(src=A6, dst=B6) / IPv6ExtHdrDestOpt() / MIP6MH_BRR())])
    assert r["proto"] == 59  # the mobility header is walked to its next header (none)
    r = only_row([eth(IPv6(src=A6, dst=B6, nh=50) / (b"\x00\x00\x01\x00" + b"e" * 20))])
    assert (r["proto"], r["sport"], r["ip_len"], r["payload_len"]) == (50, 0, 64, 24)
    r = only_row([eth(IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop(nh=59))])
    assert (r["proto"], r["payload_len"]) == (59, 0)


def test_ipv6_payload_length_zero_uses_captured_length() -> None:
    frame = bytearray(bytes(eth(IPv6(src=A6, dst=B6) / UDP(sport=1, dport=2) / b"jumbo")))
    frame[18:20] = b"\x00\x00"
    batch, counters = decode([bytes(frame)])
    assert batch.ip_len.tolist() == [53] and counters["decode.ipv6_zero_length"] == 1


@pytest.mark.parametrize(
    ("pkt", "cut", "reason"),
    [
        (IP(src="1.1.1.1", dst="2.2.2.2") / TCP(), 30, "tcp_truncated"),
        (IP(src="1.1.1.1", dst="2.2.2.2") / TCP(), 33, "tcp_truncated"),  # 13 bytes: no flags byte
        (IP(src="1.1.1.1", dst="2.2.2.2") / TCP(dataofs=3), None, "tcp_header_length"),
        (IP(src="1.1.1.1", dst="2.2.2.2") / UDP(), 23, "udp_truncated"),  # 3 bytes: no ports
        (IP(src="1.1.1.1", dst="2.2.2.2") / UDP(len=4), None, "udp_length"),
        (IP(src="1.1.1.1", dst="2.2.2.2") / ICMP(), 24, "icmp_truncated"),
        (IP(src="1.1.1.1", dst="2.2.2.2", ihl=4) / TCP(), None, "ipv4_header_length"),
        (IP(src="1.1.1.1", dst="2.2.2.2", len=12) / TCP(), None, "ipv4_total_length"),
        (IP(src="1.1.1.1", dst="2.2.2.2", ihl=15) / TCP(), None, "ipv4_truncated"),
        (IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop() / TCP(), 45, "ipv6_extension_truncated"),
        (IPv6(src=A6, dst=B6) / TCP(), 50, "tcp_truncated"),
    ],
)
def test_malformed_transport_is_counted_and_dropped(pkt: object, cut: int | None, reason: str) -> None:
    frame = bytes(Ether() / pkt)[: 14 + cut if cut is not None else None]  # type: ignore[operator]
    for fastpath in (True, False):
        batch, counters = decode([frame], fastpath=fastpath)
        assert len(batch) == 0
        assert dict(counters) == {f"malformed.{reason}": 1}


@pytest.mark.parametrize(
    ("pkt", "cut", "want"),
    [
        # TCP options cut off: the fixed header is whole
        (IP(src="1.1.1.1", dst="2.2.2.2") / TCP(sport=5, dport=80, flags="S", seq=7, options=[("MSS", 1)]),
         42, dict(sport=5, dport=80, tcp_flags=2, tcp_seq=7, tcp_win=8192, payload_len=0)),
        # flags present (offset 13), window cut
        (IP(src="1.1.1.1", dst="2.2.2.2") / TCP(sport=5, dport=80, flags="SA", seq=7, ack=9) / b"abcd",
         34, dict(sport=5, dport=80, tcp_flags=0x12, tcp_seq=7, tcp_ack=9, tcp_win=0, payload_len=4)),
        (IPv6(src=A6, dst=B6) / TCP(sport=5, dport=80, flags="F"), 56, dict(sport=5, dport=80, tcp_flags=1)),
        # UDP: the ports, with and without the length field
        (IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=53, dport=999) / b"xyz", 26, dict(sport=53, dport=999, payload_len=3)),
        (IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=53, dport=999) / b"xyz", 24, dict(sport=53, dport=999, payload_len=3)),
    ],
)  # fmt: skip
def test_truncated_transport_header_keeps_what_is_there(pkt: object, cut: int, want: dict) -> None:
    frame = bytes(Ether() / pkt)[: 14 + cut]  # type: ignore[operator]
    r = only_row([frame])
    assert {k: r[k] for k in want} == want
    assert (r["payload_cap"], r["payload"]) == (0, b"")
    assert r["ip_len"] == len(bytes(pkt))  # type: ignore[arg-type]
    for fastpath in (True, False):
        assert dict(decode([frame], fastpath=fastpath)[1]) == {"weird.truncated_l4": 1}


def test_datagram_ending_inside_the_tcp_header_keeps_its_row() -> None:
    # The IP length (not the capture) ends the TCP header after 16 bytes: ports, flags and window remain.
    frame = bytearray(bytes(eth(IP(src="1.1.1.1", dst="2.2.2.2") / TCP(sport=9, dport=443, flags="S"))))
    frame[16:18] = (36).to_bytes(2, "big")
    r = only_row([bytes(frame)])
    assert (r["sport"], r["dport"], r["tcp_flags"], r["ip_len"], r["payload_len"]) == (9, 443, 2, 36, 0)


def test_ip_length_shorter_than_headers_is_malformed() -> None:
    # The IP total length says the TCP header does not fit, though padding makes the frame long enough.
    frame = bytearray(bytes(eth(IP(src="1.1.1.1", dst="2.2.2.2") / TCP())) + b"\x00" * 20)
    frame[16:18] = (30).to_bytes(2, "big")
    batch, counters = decode([bytes(frame)])
    assert len(batch) == 0 and counters["malformed.tcp_truncated"] == 1


def test_tcp_payload_location_with_vlan() -> None:
    from scapy.layers.l2 import Dot1Q

    r = only_row([eth(Dot1Q(vlan=3) / tcp_packet())])
    assert r["payload_off"] == 18 + 40 and r["payload"] == b"data"
