"""DNS over TCP: length-prefix framing, several messages per segment, splits, reordering, gaps."""

from __future__ import annotations

import struct

import pytest
from wardwatch.ingest.dns import DnsConfig, DnsTracker
from wardwatch.ingest.dns.tcp import TcpReassembler

from wardwatch.counters import Counters

from .test_dns_support import FakeView, batch_of, query, response, tcp_row

SYN, FIN = 0x02, 0x01


def framed(*wires: bytes) -> bytes:
    return b"".join(struct.pack("!H", len(w)) + w for w in wires)


def tcp_view() -> FakeView:
    return FakeView({1: ("10.0.0.5", 40001, "10.0.0.53", 53, "tcp")})


def test_two_queries_in_one_segment_and_answers_split_across_three():
    q1, q2 = query("a.example", "A", ident=1), query("b.example", "AAAA", ident=2)
    r1 = response(q1, ("a.example.", 10, "A", "192.0.2.1"))
    r2 = response(q2, ("b.example.", 10, "AAAA", "2001:db8::2"))
    stream = framed(r1, r2)
    cut1, cut2 = 1, len(r1) + 5  # inside the first length prefix, then inside the second message
    rows = [
        tcp_row(1.0, 999, b"", flags=SYN),
        tcp_row(1.0, 4999, b"", from_orig=False, flags=SYN | 0x10),
        tcp_row(1.1, 1000, framed(q1.to_wire(), q2.to_wire())),
        tcp_row(1.2, 5000, stream[:cut1], from_orig=False),
        tcp_row(1.3, 5000 + cut1, stream[cut1:cut2], from_orig=False),
        tcp_row(1.4, 5000 + cut2, stream[cut2:], from_orig=False),
    ]
    batch, flows = batch_of(rows)
    tracker = DnsTracker(Counters(), DnsConfig())
    out = tracker.process(batch, flows, tcp_view())
    assert [(r["query"], r["answers"], r["proto"]) for r in out] == [
        ("a.example", ["192.0.2.1"], "tcp"),
        ("b.example", ["2001:db8::2"], "tcp"),
    ]
    assert out[1]["rtt"] == pytest.approx(0.3)


def test_out_of_order_and_retransmitted_segments():
    q = query("ooo.example", "TXT", ident=3)
    data = framed(q.to_wire())
    a, c = data[:10], data[20:]
    reasm = TcpReassembler(Counters())
    reasm.syn("k", 99)
    assert reasm.feed("k", 120, c, 1.0) == []
    assert reasm.feed("k", 100, a, 1.1) == []
    assert reasm.feed("k", 100, a, 1.2) == []  # retransmission
    (msg,) = reasm.feed("k", 105, data[5:20], 1.3)  # overlaps what we have and fills the hole
    assert msg == q.to_wire()


def test_sequence_wraparound():
    q = query("wrap.example", "A", ident=4)
    data = framed(q.to_wire())
    reasm = TcpReassembler(Counters())
    start = (1 << 32) - 7
    assert reasm.feed("k", start, data[:10], 1.0) == []
    assert reasm.feed("k", (start + 10) % (1 << 32), data[10:], 1.0) == [q.to_wire()]


def test_gap_is_counted_and_framing_resumes():
    counters = Counters()
    reasm = TcpReassembler(counters, max_early_segments=2)
    q1, q2 = query("lost.example", "A", ident=5), query("next.example", "A", ident=6)
    f1, f2 = framed(q1.to_wire()), framed(q2.to_wire())
    assert reasm.feed("k", 0, f1[:8], 1.0) == []
    # the rest of q1 is never seen; later segments each begin with a message
    base = len(f1)
    assert reasm.feed("k", base, f2, 1.1) == []
    assert reasm.feed("k", base + len(f2), f2, 1.2) == []
    out = reasm.feed("k", base + 2 * len(f2), f2, 1.3)
    assert counters["dns.tcp_gap"] == 1
    assert out == [q2.to_wire()] * 3


def test_snaplen_truncated_segment_is_a_gap_and_fin_closes():
    counters = Counters()
    tracker = DnsTracker(counters, DnsConfig())
    q = query("cut.example", "A", ident=7)
    f = framed(q.to_wire())
    row = tcp_row(1.0, 10, f[:6])
    row["payload_len"] = len(f)
    later = tcp_row(1.1, 10 + len(f), f, flags=0x18 | FIN)
    batch, flows = batch_of([row, later])
    tracker.process(batch, flows, tcp_view())
    assert counters["dns.tcp_gap"] == 1
    assert [r["query"] for r in tracker.flush()] == ["cut.example"]
    assert len(tracker.extractor.tcp) == 0


def test_partial_message_at_close_is_a_gap():
    counters = Counters()
    reasm = TcpReassembler(counters)
    reasm.feed("k", 0, b"\x00\x30abc", 1.0)
    reasm.close("k")
    assert counters["dns.tcp_gap"] == 1


def test_zero_length_frame_is_counted():
    counters = Counters()
    reasm = TcpReassembler(counters)
    q = query("z.example", "A")
    assert reasm.feed("k", 0, b"\x00\x00" + framed(q.to_wire()), 1.0) == [q.to_wire()]
    assert counters["malformed.dns.tcp_empty_frame"] == 1
