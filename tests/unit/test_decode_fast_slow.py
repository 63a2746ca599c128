"""The fast path is an optimisation only: fast and slow decoding give identical columns and counters,
on generated frames (hypothesis) and on every real test capture."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_NOP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import GRE, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from wardwatch.ingest.capture.batch import RawBatch
from wardwatch.ingest.decode import DecodeConfig, Decoder

from tests.conftest import testdata_path as _testdata_path
from wardwatch.counters import Counters

from .test_decode_support import assert_same, read_pcap

A, B = "10.0.0.1", "192.168.7.9"
TEMPLATES = [
    bytes(Ether() / IP(src=A, dst=B) / TCP(sport=1, dport=443, flags="PA") / (b"p" * 40)),
    bytes(Ether() / Dot1Q(vlan=3) / IP(src=A, dst=B) / UDP(sport=53, dport=999) / (b"d" * 30)),
    bytes(Ether() / IP(src=A, dst=B) / ICMP() / b"icmp-echo"),
    bytes(Ether() / IPv6(src="::1", dst="fe80::2") / TCP(options=[("MSS", 1400)]) / b"v6"),
    bytes(Ether() / IPv6(src="::1", dst="fe80::2") / ICMPv6EchoRequest(data=b"e")),
    bytes(Ether() / IPv6(src="::1", dst="fe80::2") / IPv6ExtHdrHopByHop() / UDP() / b"hbh"),
    bytes(Ether() / IP(src=A, dst=B, options=[IPOption_NOP()] * 4) / TCP() / b"opts"),
    bytes(Ether() / IP(src=A, dst=B) / UDP(sport=4789, dport=4789) / VXLAN() / Ether() / IP() / TCP()),
    bytes(Ether() / IP(src=A, dst=B) / GRE() / IP() / UDP()),
    bytes(Ether() / IP(src=A, dst=B) / GRE() / IP(src=B, dst=A) / TCP(flags="S") / b"gre"),
    bytes(Ether() / IP(src=A, dst=B) / GRE(key_present=1, key=7, seqnum_present=1) / IPv6() / TCP()),
    bytes(Ether() / IPv6() / GRE(chksum_present=1) / IP() / ICMP()),
    bytes(Ether() / IP(src=A, dst=B) / GRE(proto=0x6558) / Ether() / IP() / UDP(dport=53) / b"q"),
    bytes(Ether() / IP(src=A, dst=B) / GRE(proto=0x88BE) / Ether() / IP() / TCP()),
    bytes(
        Ether()
        / IP(src=A, dst=B)
        / GRE(proto=0x88BE, seqnum_present=1)
        / (b"\x10" * 8)
        / Ether()
        / IP()
        / TCP()
    ),
    bytes(Ether() / Dot1Q(vlan=9) / IP(src=A, dst=B) / UDP(dport=4789) / VXLAN() / Ether() / IPv6() / UDP()),
    bytes(Ether() / IP(src=A, dst=B) / UDP(sport=4789) / VXLAN() / Ether() / Dot1Q() / IP() / TCP()),
    bytes(
        Ether() / IP(src=A, dst=B) / UDP(dport=4789) / VXLAN() / Ether() / IP() / UDP(dport=4789) / VXLAN()
    ),
    bytes(Ether() / IP(src=A, dst=B, flags="MF") / UDP() / (b"f" * 32)),
    # Geneve and Teredo (the slow path's, with their UDP packet's row), VXLAN inside GRE
    bytes(
        Ether()
        / IP(src=A, dst=B)
        / UDP(dport=6081)
        / struct.pack("!BBHI", 0, 0, 0x6558, 5 << 8)
        / Ether()
        / IP()
        / TCP()
    ),
    bytes(
        Ether()
        / IP(src=A, dst=B)
        / UDP(sport=3544)
        / IPv6(src="2001::1", dst="2001::2")
        / UDP(dport=53)
        / b"t"
    ),
    bytes(
        Ether()
        / IP(src=A, dst=B)
        / GRE()
        / IP(src=B, dst=A)
        / UDP(dport=4789)
        / VXLAN()
        / Ether()
        / IP()
        / UDP()
    ),
]


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, min(len(frame) - 1, 80)))
        frame[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        frame = frame[: draw(st.integers(0, len(frame)))]
    return bytes(frame)


def decode_both(raw: RawBatch) -> None:
    results = []
    for fastpath in (True, False):
        counters = Counters()
        decoder = Decoder(counters, DecodeConfig(fastpath=fastpath))
        batch = decoder.decode(raw)
        decoder.flush()
        results.append((batch, counters))
    assert_same(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
    assert results[0][1]["malformed.decoder_error"] == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_frames(), min_size=1, max_size=30), st.sampled_from([1, 101, 113]))
def test_fast_equals_slow_on_generated_frames(frames: list[bytes], linktype: int) -> None:
    if linktype == 101:
        frames = [f[14:] for f in frames]
    elif linktype == 113:
        frames = [bytes(14) + f[12:] for f in frames]  # SLL header: protocol where Ethernet's type was
    decode_both(RawBatch.from_frames([(float(i), f) for i, f in enumerate(frames)], linktype))


def test_fast_equals_slow_on_ordinary_frames_with_all_lengths() -> None:
    base = TEMPLATES[0]
    frames = [base[:n] for n in range(len(base) + 1)] + [base + b"\x00" * n for n in range(10)]
    for variant in (TEMPLATES[1], TEMPLATES[3], TEMPLATES[4]):
        frames += [variant[:n] for n in range(len(variant) + 1)]
    decode_both(RawBatch.from_frames([(float(i), f) for i, f in enumerate(frames)]))


def pcaps() -> list[Path]:
    root = _testdata_path()
    return sorted(p for p in root.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap") and p.is_file())


def test_fast_equals_slow_on_every_test_capture() -> None:
    files = pcaps()
    assert len(files) > 100
    total = 0
    for path in files:
        raw = read_pcap(path)
        total += len(raw)
        decode_both(raw)
    assert total > 1000


def test_tunnels_with_all_lengths() -> None:
    frames = []
    for template in TEMPLATES[7:]:
        frames += [template[:n] for n in range(len(template) + 1)]
    decode_both(RawBatch.from_frames([(float(i), f) for i, f in enumerate(frames)]))


@pytest.mark.parametrize("depth", [0, 1])
def test_tunnels_at_the_depth_limit(depth: int) -> None:
    raw = RawBatch.from_frames([(0.0, f) for f in TEMPLATES[7:]])
    results = []
    for fastpath in (True, False):
        counters = Counters()
        batch = Decoder(counters, DecodeConfig(fastpath=fastpath, max_tunnel_depth=depth)).decode(raw)
        results.append((batch, counters))
    assert_same(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


def test_big_synthetic_batch_splits_into_chunks() -> None:
    # More frames than one vectorised chunk, with slow-path frames interleaved.
    frames = []
    for i in range(20000):
        frames.append(TEMPLATES[i % len(TEMPLATES)])
        if i % 7 == 0:
            frames.append(TEMPLATES[0][: i % 60])
    decode_both(RawBatch.from_frames([(float(i), f) for i, f in enumerate(frames)]))


@pytest.mark.parametrize("tail", [0, 1, 30])
def test_frames_at_the_very_end_of_the_buffer(tail: int) -> None:
    frames = [TEMPLATES[0], TEMPLATES[2][: len(TEMPLATES[2]) - tail]]
    decode_both(RawBatch.from_frames([(0.0, f) for f in frames]))
    decode_both(RawBatch.from_frames([(0.0, struct.pack("!H", 1))]))
