"""Issue 19 point 5, conn side: packets carried in FabricPath, VXLAN, Geneve and Teredo count in the
inner connection's conn record as Zeek counts them (one per inner packet, the encapsulation removed);
FabricPath frames, once dropped as non-IP, are decoded. docs/ZEEK.md lists what differs."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import wrpcap
from wardwatch.ingest.sensor import sense

from wardwatch.counters import Counters

from .test_decode_support import decode, only_row

A, B = "172.16.0.1", "172.16.0.2"


def session(a: str = A, b: str = B, v6: bool = False) -> list:
    """A TCP session: handshake, one request, one reply, FIN both ways (4 from a, 4 from b)."""
    ip = IPv6 if v6 else IP
    c, s = ip(src=a, dst=b), ip(src=b, dst=a)
    return [
        c / TCP(sport=5555, dport=80, flags="S", seq=100),
        s / TCP(sport=80, dport=5555, flags="SA", seq=300, ack=101),
        c / TCP(sport=5555, dport=80, flags="A", seq=101, ack=301),
        c / TCP(sport=5555, dport=80, flags="PA", seq=101, ack=301) / b"GET / HTTP/1.0\r\n\r\n",
        s / TCP(sport=80, dport=5555, flags="PA", seq=301, ack=119) / b"HTTP/1.0 200 OK\r\n\r\n",
        c / TCP(sport=5555, dport=80, flags="FA", seq=119, ack=320),
        s / TCP(sport=80, dport=5555, flags="FA", seq=320, ack=120),
        c / TCP(sport=5555, dport=80, flags="A", seq=120, ack=321),
    ]


def fabricpath(inner: object) -> bytes:
    frame = bytes(Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0b") / inner)  # type: ignore[operator]
    return (
        b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + struct.pack("!HH", 0x8903, 0x0020) + frame
    )


def outer_udp(payload: bytes, dport: int, sport: int = 40000) -> bytes:
    return bytes(Ether() / IP(src="10.1.1.1", dst="10.2.2.2") / UDP(sport=sport, dport=dport) / payload)


def vxlan(p: object) -> bytes:
    return outer_udp(bytes(VXLAN(vni=42) / Ether() / p), 4789)  # type: ignore[operator]


def geneve(p: object) -> bytes:
    return outer_udp(struct.pack("!BBHI", 0, 0, 0x6558, 99 << 8) + bytes(Ether() / p), 6081)  # type: ignore[operator]


def teredo(p: object) -> bytes:
    return outer_udp(bytes(p), 3544, sport=50000)


def test_fabricpath_frame_is_decoded_on_both_paths() -> None:
    r = only_row([fabricpath(IP(src=A, dst=B) / TCP(sport=5555, dport=22, flags="S"))])
    assert (r["src"], r["dst"], r["dport"]) == (A, B, 22)
    batch, counters = decode([fabricpath(b"")[:20]])
    assert len(batch) == 0 and counters["malformed.fabricpath_truncated"] == 1


def conns(frames: list[bytes], tmp: Path) -> list[dict]:
    pcap = tmp / "t.pcap"
    pkts = [Ether(f) for f in frames]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i * 0.01
    wrpcap(str(pcap), pkts)
    return [r for b in sense([pcap], Counters()) for r in b if r["_path"] == "conn"]


@pytest.mark.parametrize(
    ("wrap", "v6"), [(fabricpath, False), (vxlan, False), (geneve, False), (teredo, True)]
)  # fmt: skip
def test_inner_connection_counts_each_inner_packet_once(wrap, v6: bool, tmp_path: Path) -> None:
    a, b = ("2001:db8::1", "2001:db8::2") if v6 else (A, B)
    got = conns([wrap(p) for p in session(a, b, v6)], tmp_path)
    inner = [c for c in got if c["id.orig_h"] == a]
    assert [(c["id.resp_h"], c["orig_pkts"], c["resp_pkts"], c["conn_state"]) for c in inner] == [
        (b, 5, 3, "SF")
    ]
    # the encapsulating UDP connection is not logged (docs/ZEEK.md: a deliberate difference)
    assert [c for c in got if c["id.orig_h"] != a] == []
