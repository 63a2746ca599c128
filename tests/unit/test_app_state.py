"""Bounded state: reassembly limits, table caps, idle expiry, and the vectorised row selection."""

from __future__ import annotations

import numpy as np
from wardwatch.ingest.app import AppConfig, AppTracker
from wardwatch.ingest.app.select import KIND_HTTP_REQUEST, KIND_OTHER, KIND_TLS, classify, rank_within
from wardwatch.ingest.app.stream import MAX_SPANS, Seen, Stream
from wardwatch.ingest.decode.columns import PacketBatch

from tests.unit.test_app_support import FakeView, TcpSession, rows_from_packets, run
from tests.unit.test_app_tls import client_hello
from wardwatch.counters import Counters


def test_stream_in_order_gap_retransmit_and_wraparound():
    s = Stream(limit=100)
    base = 2**32 - 3  # sequence numbers wrap inside this stream
    assert s.feed(base, b"abc") == b"abc"
    assert s.feed((base + 6) % 2**32, b"ghi") == b""  # gap: held
    assert s.feed(base, b"abc") == b""  # retransmission
    assert s.feed((base + 2) % 2**32, b"cdef") == b"defghi"  # overlap fills the gap
    assert s.delivered == 9


def test_stream_limit_and_unstarted():
    s = Stream(limit=4)
    assert s.feed(10, b"xyz", start=False) == b""
    assert not s.started
    assert s.feed(7, b"abc") == b"abcx"  # capped at 4 bytes
    assert s.feed(14, b"more") == b""


def test_seen_drops_copies_and_trims_overlapping_heads():
    s = Seen()
    base = 2**32 - 3  # sequence numbers wrap
    assert s.fresh(base, b"abcdef") == (base, b"abcdef")
    assert s.fresh(base, b"abcdef") == (base, b"")  # a copy
    assert s.fresh((base + 2) % 2**32, b"cd") == ((base + 2) % 2**32, b"")  # inside what was read
    assert s.fresh((base + 4) % 2**32, b"efgh") == ((base + 6) % 2**32, b"gh")  # head already read
    assert s.fresh((base + 20) % 2**32, b"xy") == ((base + 20) % 2**32, b"xy")  # after a gap
    assert s.fresh((base + 10) % 2**32, b"late") == ((base + 10) % 2**32, b"late")  # reordered: new
    assert s.fresh((base - 5) % 2**32, b"early") == ((base - 5) % 2**32, b"early")  # before the first
    assert s.spans == [[-5, 8], [10, 14], [20, 22]]  # adjacent ranges merge
    for k in range(3 * MAX_SPANS):  # bounded
        s.fresh(1000 + 10 * k, b"z")
    assert len(s.spans) <= MAX_SPANS


def test_rank_within_groups():
    assert rank_within(np.array([5, 3, 5, 5, 3, 9])).tolist() == [0, 0, 1, 2, 1, 0]


def test_classify_first_bytes():
    rows = [
        {"src": "10.0.0.1", "dst": "10.0.0.2", "proto": 6, "sport": 1, "dport": 2, "payload": client_hello()},
        {
            "src": "10.0.0.1",
            "dst": "10.0.0.2",
            "proto": 6,
            "sport": 1,
            "dport": 2,
            "payload": b"GET / HTTP/1.1\r\n",
        },
        {
            "src": "10.0.0.1",
            "dst": "10.0.0.2",
            "proto": 6,
            "sport": 1,
            "dport": 2,
            "payload": b"\x17\x03\x03\x00\x10",
        },
        {"src": "10.0.0.1", "dst": "10.0.0.2", "proto": 17, "sport": 1, "dport": 2, "payload": b"GET "},
        {"src": "10.0.0.1", "dst": "10.0.0.2", "proto": 6, "sport": 1, "dport": 2, "payload": b"G"},
    ]
    batch = PacketBatch.from_rows(rows)
    kinds = classify(batch, np.arange(len(rows))).tolist()
    assert kinds == [KIND_TLS, KIND_HTTP_REQUEST, KIND_OTHER, KIND_OTHER, KIND_OTHER]


def test_connection_table_cap_is_counted():
    packets = []
    for k in range(5):
        packets += TcpSession("10.0.0.1", "10.0.0.2", 40000 + k, 443).packets
        s = TcpSession("10.0.0.1", "10.0.0.2", 41000 + k, 443)
        s.client(client_hello()[:50])  # never completes: stays open
        packets += s.packets
    out, _, counters = run(packets, AppConfig(max_conns=2))
    assert counters["dropped.app_table_full"] == 3
    assert out == []


def test_idle_connections_are_finished_by_expire():
    counters = Counters()
    tracker = AppTracker(counters, AppConfig(idle_timeout=10.0))
    view = FakeView()
    s = TcpSession("10.0.0.1", "10.0.0.21", 40000, 21, ts=100.0)
    s.server(b"220 hi\r\n").client(b"USER u\r\n").client(b"PASS longenough-Secret-1\r\n")
    rows = rows_from_packets(s.packets)
    assert tracker.process(PacketBatch.from_rows(rows), view.assign(rows), view) == []
    assert tracker.expire(105.0) == []
    out = tracker.expire(200.0)
    assert [(r["_path"], r["user"], r["weak_password"]) for r in out] == [("login", "u", False)]
    assert not tracker.conns and not tracker.active


def test_ordinary_data_packets_are_not_selected():
    s = TcpSession("10.0.0.1", "10.0.0.2", 40000, 443)
    s.client(client_hello())
    for _ in range(200):
        s.server(b"\x17\x03\x03\x05\xa0" + bytes(1440))
    s2 = TcpSession("10.0.0.3", "10.0.0.4", 40001, 6000)  # unknown port, no signature
    for _ in range(100):
        s2.client(bytes(500))
    out, _, counters = run(s.packets + s2.packets, batch_size=64)
    assert [r["server_name"] for r in out] == ["tls-test.example"]
    assert counters["app.candidate_packets"] <= 20
