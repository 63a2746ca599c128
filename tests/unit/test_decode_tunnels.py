"""Tunnels are removed and the inner packet is the row: GRE, ERSPAN I/II/III, VXLAN, Geneve,
Teredo, IP-in-IP, PPTP, nested encapsulations; `tunnel` is the outermost kind. The UDP packet of a
VXLAN, Geneve or Teredo tunnel also gives a row, `encap` set, just before its frame's inner row."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import GRE, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from wardwatch.ingest.decode.columns import (
    TUNNEL_ERSPAN,
    TUNNEL_GENEVE,
    TUNNEL_GRE,
    TUNNEL_IPIP,
    TUNNEL_NONE,
    TUNNEL_TEREDO,
    TUNNEL_VXLAN,
)

from .test_decode_support import decode, eth, only_row, outer_rows

INNER4 = IP(src="172.16.0.1", dst="172.16.0.2") / TCP(sport=5555, dport=22, flags="S", seq=9) / b"inner"
INNER6 = IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=1111, dport=53) / b"inner6"
INNER_ETH = Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0b") / INNER4


def outer(payload: object, proto: int | None = None) -> bytes:
    ip = IP(src="10.1.1.1", dst="10.2.2.2")
    if proto is not None:
        ip.proto = proto
    return bytes(eth(ip / payload))  # type: ignore[operator]


def outer_udp(payload: bytes, sport: int = 40000, dport: int = 4789) -> bytes:
    return outer(UDP(sport=sport, dport=dport) / payload)


def check_inner4(r: dict, tunnel: int) -> None:
    assert (r["src"], r["dst"], r["proto"], r["sport"], r["dport"]) == (
        "172.16.0.1",
        "172.16.0.2",
        6,
        5555,
        22,
    )
    assert (r["ip_len"], r["payload_len"], r["payload"], r["tcp_flags"], r["tcp_seq"]) == (
        45,
        5,
        b"inner",
        2,
        9,
    )
    assert r["tunnel"] == tunnel


def check_inner6(r: dict, tunnel: int) -> None:
    assert (r["src"], r["dst"], r["proto"], r["sport"], r["dport"]) == ("fd00::1", "fd00::2", 17, 1111, 53)
    assert (r["ip_version"], r["ip_len"], r["payload"]) == (6, 54, b"inner6")
    assert r["tunnel"] == tunnel


def gre_header(proto: int, flags: int = 0, options: bytes = b"") -> bytes:
    return struct.pack("!HH", flags, proto) + options


@pytest.mark.parametrize(
    ("flags", "options"),
    [
        (0x0000, b""),
        (0x8000, b"\x12\x34\x00\x00"),  # checksum
        (0x2000, b"\x00\x00\x00\x2a"),  # key
        (0x1000, b"\x00\x00\x00\x07"),  # sequence number
        (0xB000, b"\x12\x34\x00\x00" + b"\x00\x00\x00\x2a" + b"\x00\x00\x00\x07"),  # all three
    ],
)
def test_gre_options(flags: int, options: bytes) -> None:
    check_inner4(only_row([outer(gre_header(0x0800, flags, options) + bytes(INNER4), 47)]), TUNNEL_GRE)
    check_inner6(only_row([outer(gre_header(0x86DD, flags, options) + bytes(INNER6), 47)]), TUNNEL_GRE)


def test_gre_scapy_and_transparent_ethernet() -> None:
    check_inner4(only_row([outer(GRE(key_present=1, key=5) / INNER4)]), TUNNEL_GRE)
    r = only_row([outer(gre_header(0x6558) + bytes(Ether() / Dot1Q(vlan=77) / INNER4), 47)])
    check_inner4(r, TUNNEL_GRE)
    assert r["vlan"] == 77  # no outer tag: the first tag met is the outermost


def test_outer_vlan_wins_over_inner() -> None:
    frame = bytes(eth(Dot1Q(vlan=5) / IP(src="10.1.1.1", dst="10.2.2.2", proto=47)))
    frame += gre_header(0x6558) + bytes(Ether() / Dot1Q(vlan=77) / INNER4)
    frame = bytearray(frame)
    frame[20:22] = (len(frame) - 18).to_bytes(2, "big")
    r = only_row([bytes(frame)])
    assert r["vlan"] == 5 and r["tunnel"] == TUNNEL_GRE


def test_gre_unknown_payload_and_routing_make_outer_row() -> None:
    for header in (gre_header(0x1234) + b"xx", gre_header(0x0800, 0x4000) + bytes(INNER4)):
        r = only_row([outer(header, 47)])
        assert (r["src"], r["proto"], r["sport"], r["tunnel"]) == ("10.1.1.1", 47, 0, TUNNEL_NONE)


def test_gre_truncated() -> None:
    batch, counters = decode([outer(b"\x00\x00", 47)])
    assert len(batch) == 0 and counters["malformed.gre_truncated"] == 1


def test_pptp_enhanced_gre() -> None:
    ppp = b"\xff\x03\x00\x21" + bytes(INNER4)
    header = (
        struct.pack("!BBHHH", 0x30, 0x81, 0x880B, len(ppp), 7) + b"\x00\x00\x00\x01" + b"\x00\x00\x00\x00"
    )
    check_inner4(only_row([outer(header + ppp, 47)]), TUNNEL_GRE)


def test_erspan_type_1() -> None:
    r = only_row([outer(gre_header(0x88BE) + bytes(INNER_ETH), 47)])
    check_inner4(r, TUNNEL_ERSPAN)


def test_erspan_type_2() -> None:
    erspan = struct.pack("!HHI", 0x1000 | 12, 0x0005, 0)  # version 1, VLAN 12, session 5
    r = only_row([outer(gre_header(0x88BE, 0x1000, b"\x00\x00\x00\x09") + erspan + bytes(INNER_ETH), 47)])
    check_inner4(r, TUNNEL_ERSPAN)
    assert r["vlan"] == -1  # the ERSPAN header's VLAN is the mirrored port's, not a tag on this frame


@pytest.mark.parametrize("platform", [False, True])
def test_erspan_type_3(platform: bool) -> None:
    header = struct.pack("!HHIHH", 0x2000, 0x0005, 0x12345678, 0, 0x0001 if platform else 0)
    if platform:
        header += b"\x01" * 8
    r = only_row([outer(gre_header(0x22EB, 0x1000, b"\x00\x00\x00\x09") + header + bytes(INNER_ETH), 47)])
    check_inner4(r, TUNNEL_ERSPAN)


def test_erspan_scapy_layers() -> None:
    from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific

    for layer in (ERSPAN_II(session_id=3), ERSPAN_III(o=1) / ERSPAN_PlatformSpecific(), ERSPAN_III()):
        proto = 0x88BE if isinstance(layer, ERSPAN_II) else 0x22EB
        pkt = GRE(proto=proto, seqnum_present=1) / layer / INNER_ETH
        check_inner4(only_row([outer(pkt)]), TUNNEL_ERSPAN)


def test_erspan_truncated() -> None:
    batch, counters = decode([outer(gre_header(0x22EB) + b"\x20\x00\x00", 47)])
    assert len(batch) == 0 and counters["malformed.erspan_truncated"] == 1


@pytest.mark.parametrize("ports", [(40000, 4789), (4789, 40000)])
def test_vxlan(ports: tuple[int, int]) -> None:
    r = only_row([outer_udp(bytes(VXLAN(vni=42) / INNER_ETH), *ports)])
    check_inner4(r, TUNNEL_VXLAN)


def test_vxlan_without_vni_flag_stays_udp() -> None:
    r = only_row([outer_udp(b"\x00" * 8 + bytes(INNER_ETH))])
    assert (r["src"], r["proto"], r["dport"], r["tunnel"]) == ("10.1.1.1", 17, 4789, TUNNEL_NONE)


def test_vxlan_carrying_arp_is_non_ip() -> None:
    from scapy.layers.l2 import ARP

    batch, counters = decode([outer_udp(bytes(VXLAN(vni=1) / Ether() / ARP()))])
    assert counters["decode.non_ip"] == 1
    # only the encapsulating UDP packet's row: the outer connection counts it, as Zeek's does
    assert batch.encap.tolist() == [TUNNEL_VXLAN] and batch.dport.tolist() == [4789]


@pytest.mark.parametrize("optlen", [0, 2, 5])
def test_geneve_with_options(optlen: int) -> None:
    header = struct.pack("!BBHI", optlen, 0, 0x6558, 99 << 8) + b"\x00\x01\x02\x01" * optlen
    check_inner4(only_row([outer_udp(header + bytes(INNER_ETH), dport=6081)]), TUNNEL_GENEVE)
    header = struct.pack("!BBHI", optlen, 0, 0x86DD, 99 << 8) + b"\x00\x01\x02\x01" * optlen
    check_inner6(only_row([outer_udp(header + bytes(INNER6), dport=6081)]), TUNNEL_GENEVE)


def test_geneve_scapy_and_truncated() -> None:
    from scapy.contrib.geneve import GENEVE

    check_inner4(only_row([outer_udp(bytes(GENEVE(proto=0x0800) / INNER4), dport=6081)]), TUNNEL_GENEVE)
    batch, counters = decode([outer_udp(struct.pack("!BBHI", 10, 0, 0x6558, 0) + b"\x00" * 8, dport=6081)])
    assert len(batch) == 0 and counters["malformed.geneve_truncated"] == 1


ORIGIN = b"\x00\x00" + b"\xfe\xdc" + b"\x5a\x5a\x5a\x5a"
AUTH = b"\x00\x01\x02\x03" + b"id" + b"abc" + b"n" * 8 + b"\x00"


@pytest.mark.parametrize("prefix", [b"", ORIGIN, AUTH, AUTH + ORIGIN])
def test_teredo(prefix: bytes) -> None:
    check_inner6(only_row([outer_udp(prefix + bytes(INNER6), sport=3544, dport=50000)]), TUNNEL_TEREDO)
    check_inner6(only_row([outer_udp(prefix + bytes(INNER6), sport=50000, dport=3544)]), TUNNEL_TEREDO)


def test_teredo_non_ipv6_payload_stays_udp() -> None:
    r = only_row([outer_udp(b"\x45" + b"\x00" * 50, dport=3544)])
    assert (r["proto"], r["dport"], r["tunnel"], r["payload_len"]) == (17, 3544, TUNNEL_NONE, 51)


def test_ip_in_ip_all_combinations() -> None:
    check_inner4(only_row([eth(IP(src="10.1.1.1", dst="10.2.2.2") / INNER4)]), TUNNEL_IPIP)
    check_inner6(only_row([eth(IP(src="10.1.1.1", dst="10.2.2.2") / INNER6)]), TUNNEL_IPIP)
    check_inner4(only_row([eth(IPv6(src="2001::1", dst="2001::2") / INNER4)]), TUNNEL_IPIP)
    check_inner6(only_row([eth(IPv6(src="2001::1", dst="2001::2") / INNER6)]), TUNNEL_IPIP)


def test_nested_tunnels_report_outermost_kind() -> None:
    vx = (
        UDP(sport=1, dport=4789) / VXLAN(vni=3) / Ether() / Dot1Q(vlan=9) / IPv6(src="2001::1", dst="2001::2")
    )
    frame = outer(GRE() / IP(src="10.9.9.1", dst="10.9.9.2") / vx / INNER4)
    r = only_row([frame])
    check_inner4(r, TUNNEL_GRE)
    assert r["vlan"] == 9
    teredo_in_geneve = struct.pack("!BBHI", 0, 0, 0x0800, 0) + bytes(
        IP(src="10.9.9.1", dst="10.9.9.2") / UDP(sport=3544, dport=3545) / INNER6
    )
    check_inner6(only_row([outer_udp(teredo_in_geneve, dport=6081)]), TUNNEL_GENEVE)


def test_tunnel_depth_limit() -> None:
    pkt: object = INNER4
    for _ in range(10):
        pkt = IP(src="10.0.0.1", dst="10.0.0.2") / pkt  # type: ignore[operator]
    batch, counters = decode([eth(pkt)])
    assert len(batch) == 0 and counters["malformed.tunnel_depth"] == 1
    batch, counters = decode([eth(pkt)], max_tunnel_depth=16)
    assert len(batch) == 1 and batch.tunnel.tolist() == [TUNNEL_IPIP]


def test_custom_tunnel_ports() -> None:
    frame = outer_udp(bytes(VXLAN(vni=42) / INNER_ETH), dport=8472)
    assert only_row([frame])["tunnel"] == TUNNEL_NONE
    check_inner4(only_row([frame], vxlan_ports=(4789, 8472)), TUNNEL_VXLAN)


GENEVE_HEADER = struct.pack("!BBHI", 0, 0, 0x6558, 99 << 8)


@pytest.mark.parametrize(
    ("payload", "ports", "kind"),
    [
        (bytes(VXLAN(vni=42) / INNER_ETH), (40000, 4789), TUNNEL_VXLAN),  # the fast path's
        (bytes(VXLAN(vni=42) / INNER_ETH), (4789, 40000), TUNNEL_VXLAN),
        (GENEVE_HEADER + bytes(INNER_ETH), (40000, 6081), TUNNEL_GENEVE),
        (ORIGIN + bytes(INNER6), (3544, 50000), TUNNEL_TEREDO),
    ],
)
def test_udp_tunnel_gives_its_udp_packets_row_first(
    payload: bytes, ports: tuple[int, int], kind: int
) -> None:
    frame = outer_udp(payload, *ports)
    [o] = outer_rows([frame])
    assert (o["src"], o["dst"], o["proto"], o["sport"], o["dport"]) == ("10.1.1.1", "10.2.2.2", 17, *ports)
    assert (o["ip_len"], o["payload_len"], o["payload"]) == (28 + len(payload), len(payload), payload)
    assert (o["encap"], o["tunnel"], o["vlan"], o["tcp_flags"], o["frame"]) == (kind, TUNNEL_NONE, -1, 0, 1)
    batch, _ = decode([frame])
    assert batch.encap.tolist() == [kind, 0] and batch.frame.tolist() == [1, 1]
    assert batch.tunnel.tolist() == [TUNNEL_NONE, kind]


@pytest.mark.parametrize("vxlan_first", [True, False])
def test_encapsulating_rows_keep_capture_order(vxlan_first: bool) -> None:
    """VXLAN's rows come from the fast path, Geneve's from the slow one: merged in frame order."""
    plain = outer(TCP(sport=1, dport=2))
    tunnelled = [
        (outer_udp(bytes(VXLAN() / INNER_ETH)), TUNNEL_VXLAN),
        (outer_udp(GENEVE_HEADER + bytes(INNER_ETH), 1, 6081), TUNNEL_GENEVE),
    ]
    if not vxlan_first:
        tunnelled.reverse()
    frames = [plain, tunnelled[0][0], plain, tunnelled[1][0], tunnelled[0][0]]
    for fastpath in (True, False):
        batch, _ = decode(frames, fastpath=fastpath)
        assert batch.frame.tolist() == [1, 2, 2, 3, 4, 4, 5, 5]
        k0, k1 = tunnelled[0][1], tunnelled[1][1]
        assert batch.encap.tolist() == [0, k0, 0, 0, k1, 0, k0, 0]
        assert batch.tunnel.tolist() == [0, 0, k0, 0, 0, k1, 0, k0]
        assert batch.ts.tolist() == [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0, 5.0]


def test_nested_udp_tunnels_give_a_row_each_outermost_first() -> None:
    inner_vx = IP(src="10.9.9.1", dst="10.9.9.2") / UDP(sport=7, dport=4789) / VXLAN() / INNER_ETH
    rows = outer_rows([outer_udp(bytes(VXLAN() / Ether() / inner_vx))])
    assert [(r["src"], r["sport"], r["encap"], r["tunnel"]) for r in rows] == [
        ("10.1.1.1", 40000, TUNNEL_VXLAN, TUNNEL_NONE),
        ("10.9.9.1", 7, TUNNEL_VXLAN, TUNNEL_VXLAN),  # inside the first: its tunnel column says so
    ]
    # a VXLAN connection carried in GRE is a connection too
    rows = outer_rows([outer(GRE() / inner_vx)])
    assert [(r["src"], r["encap"], r["tunnel"]) for r in rows] == [("10.9.9.1", TUNNEL_VXLAN, TUNNEL_GRE)]


def test_no_udp_row_for_a_malformed_or_too_deep_tunnel() -> None:
    batch, counters = decode([outer_udp(struct.pack("!BBHI", 10, 0, 0x6558, 0) + b"\x00" * 8, dport=6081)])
    assert len(batch) == 0 and counters["malformed.geneve_truncated"] == 1
    pkt: object = INNER_ETH
    for i in range(3):
        pkt = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=i, dport=4789) / VXLAN() / pkt  # type: ignore[operator]
    batch, counters = decode([bytes(pkt)], max_tunnel_depth=2)
    # the two tunnels within the limit keep their UDP rows; the third's packet is dropped and counted
    assert batch.encap.tolist() == [TUNNEL_VXLAN] * 2 and batch.sport.tolist() == [2, 1]
    assert counters["malformed.tunnel_depth"] == 1
