"""Fuzz: mutated frames of every link type through Decoder.decode never raise nor hang."""

from __future__ import annotations

import random
import struct

from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHdrRouting
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.layers.ppp import PPP, PPPoE
from scapy.layers.vxlan import VXLAN
from wardwatch.ingest.capture.batch import RawBatch
from wardwatch.ingest.decode import DecodeConfig, Decoder

from wardwatch.counters import Counters

FRAMES_PER_LINKTYPE = 2000

IP_PACKETS = [
    bytes(IP(src="1.2.3.4", dst="5.6.7.8") / TCP(options=[("MSS", 1460), ("SAckOK", b"")]) / (b"x" * 20)),
    bytes(IP(src="1.2.3.4", dst="5.6.7.8", flags="MF", id=3) / UDP() / (b"y" * 24)),
    bytes(IP(src="1.2.3.4", dst="5.6.7.8", frag=3, id=3) / (b"z" * 24)),
    bytes(IP(src="1.2.3.4", dst="5.6.7.8") / ICMP() / IP() / UDP()),
    bytes(IPv6(src="::1", dst="::2") / IPv6ExtHdrRouting() / UDP() / b"r"),
    bytes(IPv6(src="::1", dst="::2") / IPv6ExtHdrFragment(m=1, id=4) / UDP() / (b"f" * 16)),
    bytes(IP() / GRE(key_present=1, seqnum_present=1) / IPv6() / TCP()),
    bytes(
        IP() / GRE(proto=0x88BE, seqnum_present=1) / (b"\x10\x00\x00\x01" + bytes(4)) / Ether() / IP() / TCP()
    ),
    bytes(IP() / GRE(proto=0x22EB) / (b"\x20" + bytes(10) + b"\x01" + bytes(8)) / Ether() / IP() / UDP()),
    bytes(IP() / UDP(dport=4789) / VXLAN() / Ether() / Dot1Q() / IP() / TCP()),
    bytes(IP() / UDP(dport=6081) / (b"\x01\x00\x65\x58" + bytes(8)) / Ether() / IP() / UDP()),
    bytes(
        IP() / UDP(sport=3544) / (b"\x00\x01\x01\x01ab" + bytes(9) + b"\x00\x00" + bytes(6)) / IPv6() / TCP()
    ),
    bytes(IP() / IP() / IPv6() / UDP()),
]
ETHERNET = (
    [bytes(Ether() / IP(p)) for p in IP_PACKETS[:4]]
    + [
        bytes(Ether() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / IP(IP_PACKETS[0])),
        bytes(Ether() / PPPoE() / PPP(proto=0x21) / IP(IP_PACKETS[1])),
        bytes(Ether(type=0x8847) / b"\x00\x01\x01\x40" / IP(IP_PACKETS[6])),
    ]
    + [bytes(Ether(type=0x86DD if p[0] >> 4 == 6 else 0x0800)) + p for p in IP_PACKETS]
)

TEMPLATES = {
    1: ETHERNET,
    0: [struct.pack("<I", 2) + p for p in IP_PACKETS] + [struct.pack("<I", 30) + IP_PACKETS[4]],
    108: [struct.pack(">I", 2) + p for p in IP_PACKETS],
    101: IP_PACKETS,
    12: IP_PACKETS,
    14: IP_PACKETS,
    228: IP_PACKETS,
    229: IP_PACKETS[4:6],
    113: [bytes(14) + e[12:] for e in ETHERNET],
    276: [e[12:14] + bytes(18) + e[14:] for e in ETHERNET],
    9: [b"\xff\x03\x00\x21" + p for p in IP_PACKETS],
    50: [b"\x00\x57" + IP_PACKETS[4]],
}


def mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randrange(1, 6)):
        choice = rng.random()
        if choice < 0.6 and data:  # most header fields live in the first 100 bytes
            data[rng.randrange(min(len(data), 100))] = rng.randrange(256)
        elif choice < 0.8:
            data = data[: rng.randrange(len(data) + 1)]
        elif choice < 0.9 and data:
            pos = rng.randrange(len(data))
            data[pos:pos] = rng.randbytes(rng.randrange(1, 9))
        else:
            data += rng.randbytes(rng.randrange(1, 40))
    return bytes(data)


def test_fuzz_every_linktype() -> None:
    rng = random.Random(20240611)
    total = rows = 0
    for fastpath in (True, False):
        counters = Counters()
        decoder = Decoder(counters, DecodeConfig(fastpath=fastpath, fragment_timeout=5.0))
        for linktype, templates in TEMPLATES.items():
            frames = [(i * 0.01, mutate(rng, rng.choice(templates))) for i in range(FRAMES_PER_LINKTYPE)]
            raw = RawBatch.from_frames(frames, linktype)
            batch = decoder.decode(raw)
            assert len(batch) <= len(raw)
            assert (batch.payload_cap <= batch.payload_len).all() and (batch.payload_cap >= 0).all()
            assert (batch.payload_off + batch.payload_cap <= len(batch.buf)).all()
            total += len(raw)
            rows += len(batch)
        decoder.flush()
        assert counters["malformed.decoder_error"] == 0
        assert sum(v for k, v in counters.items() if k.startswith("malformed.")) > 1000
    assert total == 2 * FRAMES_PER_LINKTYPE * len(TEMPLATES) >= 2 * 20000
    assert rows > total // 4
