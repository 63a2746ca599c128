"""IPv4/IPv6 fragment reassembly: order, overlaps, missing pieces, timeout, memory bound, batches."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, fragment6
from scapy.layers.l2 import GRE, Dot1Q
from wardwatch.ingest.capture.batch import RawBatch
from wardwatch.ingest.decode import DecodeConfig, Decoder
from wardwatch.ingest.decode.columns import TUNNEL_GRE

from wardwatch.counters import Counters

from .test_decode_support import assert_same, decode, eth, row

DATA = bytes(range(256)) * 12  # 3072 bytes, every offset distinguishable


def v4_fragments(ident: int = 7, size: int = 1000) -> list:
    pkt = IP(src="10.0.0.1", dst="10.0.0.2", id=ident) / UDP(sport=5000, dport=6000) / DATA
    return [eth(f) for f in fragment(pkt, fragsize=size)]


def v6_fragments(ident: int = 9, ext: object = None) -> list:
    base = IPv6(src="2001:db8::1", dst="2001:db8::2")
    if ext is not None:
        base = base / ext  # type: ignore[operator]
    pkt = base / IPv6ExtHdrFragment(id=ident) / UDP(sport=5000, dport=6000) / DATA
    return [eth(f) for f in fragment6(pkt, 1280)]


def both(frames: list, **config: object) -> tuple:
    fast, counters = decode(frames, fastpath=True, **config)
    slow, slow_counters = decode(frames, fastpath=False, **config)
    assert_same(fast, slow)
    assert counters == slow_counters
    return fast, counters


def check_udp(batch, i: int, version: int, ext: int = 0) -> None:  # type: ignore[no-untyped-def]
    r = row(batch, i)
    assert (r["proto"], r["sport"], r["dport"], r["payload_len"], r["payload_cap"]) == (
        17,
        5000,
        6000,
        3072,
        3072,
    )
    assert r["payload"] == DATA
    assert r["ip_len"] == (20 + 8 + 3072 if version == 4 else 40 + ext + 8 + 3072)


def test_ipv4_in_order() -> None:
    frames = v4_fragments()
    assert len(frames) == 4
    batch, counters = both(frames)
    assert len(batch) == 1 and batch.frame.tolist() == [4] and batch.ts.tolist() == [4.0]
    check_udp(batch, 0, 4)
    assert counters["decode.fragments"] == 4 and counters["decode.reassembled"] == 1


def test_ipv4_out_of_order_appears_at_completing_fragment() -> None:
    f = v4_fragments()
    batch, _ = both([f[2], f[0], eth(IP(src="1.1.1.1", dst="2.2.2.2") / UDP()), f[3], f[1]])
    assert batch.frame.tolist() == [3, 5]
    check_udp(batch, 1, 4)


def test_ipv4_overlap_first_data_wins() -> None:
    f = v4_fragments()
    # A forged copy of the second fragment with other bytes arrives after the real one.
    forged = bytearray(bytes(f[1]))
    forged[-100:] = b"\xee" * 100
    batch, counters = both([f[0], f[1], bytes(forged), f[2], f[3]])
    check_udp(batch, 0, 4)
    assert counters["decode.fragment_overlap"] == 1
    # Forged first: its bytes win, deterministically in both paths.
    batch, _ = both([f[0], bytes(forged), f[1], f[2], f[3]])
    payload = batch.payload(0)
    assert payload[1892:1992] == b"\xee" * 100  # IP payload bytes 1900..2000
    assert payload[:1892] == DATA[:1892] and payload[1992:] == DATA[1992:]


def test_ipv4_missing_fragment_dropped_at_flush() -> None:
    f = v4_fragments()
    batch, counters = both([f[0], f[1], f[3]])
    assert len(batch) == 0
    assert counters["dropped.fragment_incomplete"] == 3 and counters["decode.reassembled"] == 0


def test_ipv4_duplicate_last_fragment_does_not_emit_twice() -> None:
    f = v4_fragments()
    batch, counters = both([f[0], f[1], f[2], f[3], f[3]])
    assert len(batch) == 0 or len(batch) == 1
    assert counters["decode.reassembled"] == 1


def test_interleaved_datagrams_and_vlan() -> None:
    a = v4_fragments(ident=1)
    b = [eth(Dot1Q(vlan=4) / f[IP]) for f in v4_fragments(ident=2)]
    batch, _ = both([a[0], b[0], a[1], b[1], b[2], a[2], b[3], a[3]])
    assert batch.frame.tolist() == [7, 8]
    assert batch.vlan.tolist() == [4, -1]
    check_udp(batch, 0, 4)
    check_udp(batch, 1, 4)


def test_timeout_drops_old_fragments() -> None:
    f = v4_fragments()
    raw = RawBatch.from_frames(
        [(0.0, bytes(f[0])), (1.0, bytes(f[1])), (100.0, bytes(f[2])), (101.0, bytes(f[3]))]
    )
    for fastpath in (True, False):
        counters = Counters()
        decoder = Decoder(counters, DecodeConfig(fastpath=fastpath, fragment_timeout=30.0))
        assert len(decoder.decode(raw)) == 0
        decoder.flush()
        assert counters["dropped.fragment_timeout"] == 2
        assert counters["dropped.fragment_incomplete"] == 2


def test_memory_bound_drops_oldest() -> None:
    firsts = [v4_fragments(ident=i)[0] for i in range(10)]
    batch, counters = both(firsts + v4_fragments(ident=9)[1:], max_fragment_datagrams=4)
    assert counters["dropped.fragment_memory"] == 6
    assert len(batch) == 1  # the newest datagram survived and completed
    _, counters = both(v4_fragments(ident=1)[:3], max_fragment_bytes=1500)
    assert counters["dropped.fragment_memory"] >= 1


def test_reassembly_across_batches_appends_to_buffer() -> None:
    f = v4_fragments()
    counters = Counters()
    decoder = Decoder(counters, DecodeConfig())
    first = RawBatch.from_frames([(1.0, bytes(x)) for x in f[:2]])
    second = RawBatch.from_frames([(2.0, bytes(x)) for x in f[2:]])
    assert len(decoder.decode(first)) == 0
    batch = decoder.decode(second)
    assert len(batch) == 1 and len(batch.buf) > len(second.buf)
    assert int(batch.payload_off[0]) >= len(second.buf)
    check_udp(batch, 0, 4)


def test_ipv4_fragment_oversize_and_truncated() -> None:
    f = v4_fragments()
    big = bytearray(bytes(f[3]))
    big[20:22] = (0x1FFF).to_bytes(2, "big")  # offset 65528
    _, counters = both([bytes(big)])
    assert counters["malformed.fragment_oversize"] == 1
    _, counters = both([bytes(f[1])[:200]])
    assert counters["malformed.fragment_truncated"] == 1


@pytest.mark.parametrize("ext", [None, IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt()])
def test_ipv6_in_order_and_reversed(ext: object) -> None:
    frames = v6_fragments(ext=ext)
    assert len(frames) == 3
    for order in (frames, frames[::-1], [frames[1], frames[0], frames[2]]):
        batch, counters = both(order)
        assert len(batch) == 1 and batch.frame.tolist() == [3]
        check_udp(batch, 0, 6, len(bytes(ext)) if ext is not None else 0)
        assert counters["decode.reassembled"] == 1


def test_ipv6_missing_fragment() -> None:
    frames = v6_fragments()
    batch, counters = both(frames[:2])
    assert len(batch) == 0 and counters["dropped.fragment_incomplete"] == 2


def test_fragmented_tunnel_outer_datagram() -> None:
    inner = IP(src="172.16.0.1", dst="172.16.0.2") / UDP(sport=5000, dport=6000) / DATA
    pkt = IP(src="10.0.0.1", dst="10.0.0.2", id=3) / GRE() / inner
    frames = [eth(f) for f in fragment(pkt, fragsize=1000)]
    batch, _ = both(frames)
    assert len(batch) == 1 and batch.tunnel.tolist() == [TUNNEL_GRE]
    r = row(batch)
    assert (r["src"], r["dst"], r["payload"]) == ("172.16.0.1", "172.16.0.2", DATA)
