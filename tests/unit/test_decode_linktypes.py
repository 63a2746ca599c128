"""Link layers: every supported link type, VLAN stacks, PPPoE, MPLS, LLC/SNAP, non-IP frames."""

from __future__ import annotations

import struct

import pytest
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, LLC, SNAP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Dot3
from scapy.layers.ppp import PPP, PPPoE

from .test_decode_support import decode, eth, only_row, row, tcp_packet

V4 = bytes(tcp_packet())
V6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=53, dport=5353) / b"abc")


def check_v4(r: dict) -> None:
    assert r["ip_version"] == 4
    assert (r["src"], r["dst"], r["proto"], r["sport"], r["dport"]) == ("10.0.0.1", "10.0.0.2", 6, 1234, 80)
    assert (r["ip_len"], r["payload_len"], r["payload_cap"], r["payload"]) == (44, 4, 4, b"data")
    assert (r["tcp_flags"], r["tcp_seq"], r["tcp_ack"]) == (0x18, 1000, 2000)
    assert r["tunnel"] == 0 and r["frame"] == 1 and r["ts"] == 1.0


def check_v6(r: dict) -> None:
    assert r["ip_version"] == 6
    assert (r["src"], r["dst"], r["proto"], r["sport"], r["dport"]) == (
        "2001:db8::1",
        "2001:db8::2",
        17,
        53,
        5353,
    )
    assert (r["ip_len"], r["payload_len"], r["payload"], r["tcp_flags"], r["tcp_win"]) == (
        51,
        3,
        b"abc",
        0,
        0,
    )


@pytest.mark.parametrize("linktype", [101, 12, 14, 228])
def test_raw_ipv4(linktype: int) -> None:
    r = only_row([V4], linktype)
    check_v4(r)
    assert r["vlan"] == -1


@pytest.mark.parametrize("linktype", [101, 12, 14, 229])
def test_raw_ipv6(linktype: int) -> None:
    check_v6(only_row([V6], linktype))


def test_raw_wrong_version_for_linktype() -> None:
    batch, counters = decode([V6], 228)
    assert len(batch) == 0 and counters["malformed.ip_version"] == 1


@pytest.mark.parametrize("order", ["<I", ">I"])
@pytest.mark.parametrize("linktype", [0, 108])
def test_null_and_loop_both_byte_orders(linktype: int, order: str) -> None:
    check_v4(only_row([struct.pack(order, 2) + V4], linktype))
    for family in (10, 24, 28, 30):
        check_v6(only_row([struct.pack(order, family) + V6], linktype))
    batch, counters = decode([struct.pack(order, 7) + V4], linktype)
    assert len(batch) == 0 and counters["decode.non_ip"] == 1


def test_ethernet_plain_and_ipv6() -> None:
    check_v4(only_row([eth(tcp_packet())]))
    check_v6(only_row([eth(IPv6(V6))]))


def test_linux_sll_and_sll2() -> None:
    check_v4(only_row([CookedLinux(proto=0x0800) / tcp_packet()], 113))
    check_v6(only_row([CookedLinux(proto=0x86DD) / IPv6(V6)], 113))
    r = only_row([CookedLinux(proto=0x8100) / Dot1Q(vlan=7) / tcp_packet()], 113)
    check_v4(r)
    assert r["vlan"] == 7
    check_v4(only_row([CookedLinuxV2(proto=0x0800) / tcp_packet()], 276))
    batch, counters = decode([bytes(CookedLinux(proto=0x0806) / ARP())], 113)
    assert len(batch) == 0 and counters["decode.non_ip"] == 1


@pytest.mark.parametrize("linktype", [9, 50])
def test_ppp(linktype: int) -> None:
    check_v4(only_row([b"\xff\x03\x00\x21" + V4], linktype))
    check_v6(only_row([b"\x00\x57" + V6], linktype))
    check_v4(only_row([b"\x21" + V4], linktype))  # protocol-field compression
    batch, counters = decode([b"\xff\x03\xc0\x21" + b"\x01" * 10], linktype)  # LCP
    assert len(batch) == 0 and counters["decode.non_ip"] == 1


def test_vlan_single_tag_fast_path() -> None:
    r = only_row([eth(Dot1Q(vlan=100, prio=5) / tcp_packet())])
    check_v4(r)
    assert r["vlan"] == 100


@pytest.mark.parametrize(
    "frame",
    [
        eth(Dot1AD(vlan=10) / Dot1Q(vlan=20) / tcp_packet()),  # 802.1ad + 802.1Q
        eth(Dot1Q(vlan=10) / Dot1Q(vlan=20) / tcp_packet()),  # QinQ with 0x8100 twice
        eth(Dot1Q(vlan=10, type=0x8100) / Dot1Q(vlan=20) / Dot1Q(vlan=30) / tcp_packet()),
        eth(Dot1Q(vlan=10) / tcp_packet(), ethertype=0x9100),
    ],
)
def test_vlan_stacks_report_outermost(frame: object) -> None:
    r = only_row([frame])
    check_v4(r)
    assert r["vlan"] == 10


def test_pppoe_session() -> None:
    r = only_row([eth(PPPoE(sessionid=3) / PPP(proto=0x0021) / tcp_packet())])
    check_v4(r)
    check_v6(only_row([eth(Dot1Q(vlan=5) / PPPoE() / PPP(proto=0x0057) / IPv6(V6))]))
    batch, counters = decode([eth(PPPoE() / PPP(proto=0xC021) / b"\x01\x01\x00\x04")])
    assert len(batch) == 0 and counters["decode.non_ip"] == 1


def test_mpls() -> None:
    check_v4(only_row([eth(MPLS(label=16, s=0) / MPLS(label=17, s=1) / tcp_packet(), 0x8847)]))
    check_v6(only_row([eth(MPLS(label=16, s=1) / IPv6(V6), 0x8847)]))


def test_llc_snap_and_non_ip() -> None:
    check_v4(
        only_row(
            [
                Dot3(dst="00:00:00:00:00:02")
                / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                / SNAP(code=0x0800)
                / tcp_packet()
            ]
        )
    )
    frames = [
        eth(ARP()),
        eth(b"\x00" * 40, ethertype=0x88CC),  # LLDP
        Dot3(dst="01:80:c2:00:00:00") / LLC(dsap=0x42, ssap=0x42, ctrl=3) / (b"\x00" * 35),  # STP
    ]
    for fastpath in (True, False):
        batch, counters = decode(frames, fastpath=fastpath)
        assert len(batch) == 0
        assert counters["decode.non_ip"] == 3


def test_unsupported_linktype_is_counted() -> None:
    batch, counters = decode([V4], 147)
    assert len(batch) == 0 and counters["decode.unsupported_linktype"] == 1


@pytest.mark.parametrize(
    ("frame", "linktype", "reason"),
    [
        (b"\x00" * 10, 1, "ethernet_truncated"),
        (bytes(eth(b"", ethertype=0x8100)), 1, "vlan_truncated"),
        (b"\x00" * 10, 113, "sll_truncated"),
        (b"\x00" * 12, 276, "sll2_truncated"),
        (b"\x02\x00", 0, "null_truncated"),
        (bytes(eth(b"\x11\x00", ethertype=0x8864)), 1, "pppoe_truncated"),
        (bytes(eth(b"\x00\x01", ethertype=0x8847)), 1, "mpls_truncated"),
        (b"", 101, "ip_truncated"),
        (V4[:19], 101, "ipv4_truncated"),
        (V6[:39], 101, "ipv6_truncated"),
        (b"\x75" + V4[1:], 101, "ip_version"),
    ],
)
def test_truncated_link_headers(frame: bytes, linktype: int, reason: str) -> None:
    for fastpath in (True, False):
        batch, counters = decode([frame], linktype, fastpath=fastpath)
        assert len(batch) == 0
        assert dict(counters) == {f"malformed.{reason}": 1}


def test_mixed_batch_keeps_capture_order() -> None:
    frames = [
        eth(tcp_packet(sport=1)),
        eth(Dot1AD(vlan=3) / Dot1Q(vlan=4) / tcp_packet(sport=2)),  # slow path
        eth(ARP()),
        eth(tcp_packet(sport=3)),
        eth(IP(src="1.1.1.1", dst="2.2.2.2", options=b"\x01\x01\x01\x00") / UDP(sport=4, dport=9)),  # options
        eth(tcp_packet(sport=5)),
    ]
    for fastpath in (True, False):
        batch, _ = decode(frames, fastpath=fastpath)
        assert [row(batch, i)["sport"] for i in range(len(batch))] == [1, 2, 3, 4, 5]
        assert batch.frame.tolist() == [1, 2, 4, 5, 6]
        assert batch.ts.tolist() == [1.0, 2.0, 4.0, 5.0, 6.0]
