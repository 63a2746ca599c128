"""Mutation fuzzing: 100,000+ damaged DNS messages through the decoder and the tracker.

Seeds are crafted with dnspython (every rdata type the decoder knows, compression, EDNS0) and
mutated deterministically: byte flips, truncations, pointer loops, absurd counts, splices. Nothing
may escape as an exception and nothing may hang.
"""

from __future__ import annotations

import random
import struct

import dns.edns
import dns.message
import dns.rrset
from wardwatch.ingest.dns import DnsConfig, DnsTracker, decode_message, format_answer

from wardwatch.counters import Counters

from .test_dns_support import FakeView, batch_of, query, tcp_row, udp_row

N_MUTANTS = 100_000


def seeds() -> list[bytes]:
    out = []
    cases = [
        ("A", "192.0.2.1"), ("AAAA", "2001:db8::1"), ("CNAME", "a.example.net."), ("MX", "5 mx.example.com."),
        ("TXT", '"hello" "world"'), ("SOA", "ns. host. 1 2 3 4 5"), ("SRV", "1 2 3 t.example."),
        ("NULL", "\\# 2 abcd"), ("HTTPS", "1 . alpn=h2 port=443"), ("PTR", "p.example."),
        ("NS", "ns1.example."), ("DS", "1 8 2 " + "aa" * 32), ("SSHFP", "1 1 " + "bb" * 20),
    ]  # fmt: skip
    for rdtype, text in cases:
        q = query("www.sub.example.com", rdtype, use_edns=0, options=[dns.edns.GenericOption(10, b"c" * 8)])
        out.append(q.to_wire())
        r = dns.message.make_response(q)
        r.answer.append(dns.rrset.from_text("www.sub.example.com.", 60, "IN", rdtype, text))
        r.authority.append(dns.rrset.from_text("sub.example.com.", 60, "IN", "NS", "ns.sub.example.com."))
        r.additional.append(dns.rrset.from_text("ns.sub.example.com.", 60, "IN", "A", "192.0.2.53"))
        out.append(r.to_wire())
    return out


def mutate(rng: random.Random, wire: bytes) -> bytes:
    b = bytearray(wire)
    kind = rng.randrange(6)
    if kind == 0:  # byte flips
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:  # truncation
        del b[rng.randrange(len(b)) :]
    elif kind == 2:  # a compression pointer anywhere, often to itself or forward
        pos = rng.randrange(12, len(b) - 1) if len(b) > 13 else 0
        target = rng.choice([pos, pos + 2, rng.randrange(len(b)), 12])
        b[pos : pos + 2] = bytes([0xC0 | (target >> 8) & 0x3F, target & 0xFF])
    elif kind == 3:  # absurd counts
        b[4:12] = struct.pack("!4H", *(rng.choice([0, 1, 25, 26, 255, 65535]) for _ in range(4)))
    elif kind == 4:  # splice two halves of the message
        i, j = sorted(rng.randrange(len(b)) for _ in range(2))
        b = b[:i] + b[j:] + b[i:j]
    else:  # long label lengths
        pos = rng.randrange(12, len(b)) if len(b) > 12 else 0
        b[pos] = rng.choice([63, 64, 127, 191, 255])
    return bytes(b)


def test_mutants_never_escape_from_decoder_or_tracker():
    rng = random.Random(20240601)
    base = seeds()
    counters = Counters()
    tracker = DnsTracker(counters, DnsConfig())
    view = FakeView()
    decoded = malformed = 0
    for i in range(N_MUTANTS):
        wire = mutate(rng, base[i % len(base)])
        msg = decode_message(wire)
        if msg is None:
            continue
        decoded += 1
        malformed += msg.error is not None
        for rr in msg.answers:
            format_answer(rr)
        tracker.handle(i % 5000, float(i) * 0.001, msg, view)
        if i % 1000 == 999:
            tracker.expire(float(i) * 0.001)
    records = tracker.flush()
    assert decoded > 0.9 * N_MUTANTS and 0 < malformed < decoded
    assert counters["malformed.dns"] == malformed
    assert all(r["_path"] == "dns" for r in records)


def test_mutants_through_the_packet_path_udp_and_tcp():
    rng = random.Random(7)
    base = seeds()
    rows = []
    seq = 1000
    for i in range(3000):
        wire = mutate(rng, base[i % len(base)])
        rows.append(udp_row(i * 0.01, wire, flow=i % 50, from_orig=bool(i & 1)))
        framed = struct.pack("!H", rng.choice([len(wire), rng.randrange(65536)])) + wire
        rows.append(tcp_row(i * 0.01, seq, framed, flow=1000 + i % 7))
        seq = (seq + len(framed) + rng.choice([0, 0, 0, 5, -3])) % (1 << 32)
    counters = Counters()
    tracker = DnsTracker(counters, DnsConfig())
    batch, flows = batch_of(rows)
    out = tracker.process(batch, flows, FakeView()) + tracker.expire(100.0) + tracker.flush()
    assert counters["dns.messages"] >= 3000 and out
