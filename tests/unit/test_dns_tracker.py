"""Pairing queries with responses into Zeek dns.log records, timeouts and unsolicited responses."""

from __future__ import annotations

import struct

from wardwatch.ingest.dns import DnsConfig, DnsTracker

from wardwatch.counters import Counters

from .test_dns_support import FakeView, batch_of, query, response, udp_row

FIELDS = ["_path", "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id",
          "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name",
          "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected"]  # fmt: skip


def run(rows, tracker=None, view=None, now=None):
    tracker = tracker or DnsTracker(Counters(), DnsConfig())
    view = view or FakeView()
    batch, flows = batch_of(rows)
    out = tracker.process(batch, flows, view)
    if now is not None:
        out += tracker.expire(now)
    return out, tracker, view


def test_query_and_response_make_one_record_in_zeek_field_order():
    q = query("WWW.Example.com", "A", ident=4660)
    resp = response(q, ("www.example.com.", 300, "CNAME", "edge.example.net."),
                    ("edge.example.net.", 60, "A", "192.0.2.1"))  # fmt: skip
    out, tracker, view = run([udp_row(100.0, q.to_wire()), udp_row(100.25, resp, from_orig=False)])
    assert len(out) == 1
    rec = out[0]
    assert list(rec) == FIELDS
    assert rec["ts"] == 100.0 and rec["uid"] == "C1" and rec["proto"] == "udp"
    assert rec["id.orig_h"] == "10.0.0.5" and rec["id.resp_p"] == 53
    assert rec["trans_id"] == 4660 and rec["rtt"] == 0.25
    assert rec["query"] == "www.example.com"
    assert (rec["qclass"], rec["qclass_name"], rec["qtype"], rec["qtype_name"]) == (1, "C_INTERNET", 1, "A")
    assert (rec["rcode"], rec["rcode_name"]) == (0, "NOERROR")
    assert (rec["AA"], rec["TC"], rec["RD"], rec["RA"], rec["Z"]) == (False, False, True, True, 0)
    assert rec["answers"] == ["edge.example.net", "192.0.2.1"] and rec["TTLs"] == [300.0, 60.0]
    assert rec["rejected"] is False
    assert view.services == {1: {"dns"}}
    assert tracker.flush() == []


def test_nxdomain_without_records_is_rejected_and_has_no_answers():
    q = query("nope.example", "A", ident=1)
    out, *_ = run([udp_row(1.0, q.to_wire()), udp_row(1.1, response(q, rcode=3), from_orig=False)])
    (rec,) = out
    assert rec["rcode_name"] == "NXDOMAIN" and rec["rejected"] is True
    assert "answers" not in rec and "TTLs" not in rec and "rtt" not in rec
    assert rec["AA"] is False and rec["RA"] is False  # Zeek takes AA/RA from answer records only


def test_unanswered_query_is_logged_after_timeout_only():
    q = query("slow.example", "MX", ident=9)
    out, tracker, _ = run([udp_row(50.0, q.to_wire())], now=55.0)
    assert out == []
    assert tracker.expire(59.9) == []
    (rec,) = tracker.expire(60.0)
    assert rec["query"] == "slow.example" and rec["qtype_name"] == "MX" and rec["ts"] == 50.0
    assert "rcode" not in rec and "rtt" not in rec and "answers" not in rec
    assert tracker.expire(1000.0) == [] and tracker.flush() == []


def test_unsolicited_response_is_logged_alone_with_query_from_answers():
    q = query("solo.example", "A", ident=77)
    resp = response(q, ("solo.example.", 30, "A", "192.0.2.3"))
    out, tracker, _ = run([udp_row(10.0, resp, from_orig=False)])
    assert out == []
    (rec,) = tracker.flush()
    assert rec["query"] == "solo.example" and rec["answers"] == ["192.0.2.3"] and rec["rcode"] == 0
    assert "rtt" not in rec  # only the reply was seen


def test_response_before_query_pairs_with_it():
    q = query("rev.example", "A", ident=5)
    resp = response(q, ("rev.example.", 30, "A", "192.0.2.4"))
    out, *_ = run([udp_row(10.0, resp, from_orig=False), udp_row(10.5, q.to_wire())])
    (rec,) = out
    assert rec["ts"] == 10.0 and rec["qtype_name"] == "A" and rec["answers"] == ["192.0.2.4"]


def test_same_trans_id_pairs_first_in_first_out_and_connections_stay_apart():
    q1 = query("one.example", "A", ident=1)
    q2 = query("two.example", "A", ident=1)
    q3 = query("three.example", "A", ident=1)
    rows = [
        udp_row(1.0, q1.to_wire()),
        udp_row(1.1, q2.to_wire()),
        udp_row(1.2, q3.to_wire(), flow=2),
        udp_row(1.3, response(q3, ("three.example.", 1, "A", "192.0.2.33")), flow=2, from_orig=False),
        udp_row(1.4, response(q1, ("one.example.", 1, "A", "192.0.2.11")), from_orig=False),
        udp_row(1.5, response(q2, ("two.example.", 1, "A", "192.0.2.22")), from_orig=False),
    ]
    out, *_ = run(rows)
    assert [(r["uid"], r["query"], r["answers"]) for r in out] == [
        ("C2", "three.example", ["192.0.2.33"]),
        ("C1", "one.example", ["192.0.2.11"]),
        ("C1", "two.example", ["192.0.2.22"]),
    ]


def test_mdns_multicast_response_and_qu_class():
    q = query("printer.local", "A", ident=0)
    q.question[0].rdclass = 0x8001  # the QU (unicast response) bit, logged as Zeek does
    out, tracker, _ = run([udp_row(3.0, q.to_wire(), port=5353)], now=20.0)
    (rec,) = out
    assert rec["qclass"] == 32769 and rec["qclass_name"] == "qclass-32769" and rec["query"] == "printer.local"


def test_other_opcodes_are_not_tracked_and_malformed_is_counted():
    notify = bytearray(query("zone.example", "SOA", ident=3).to_wire())
    notify[2] = (notify[2] & 0x87) | (4 << 3)
    counters = Counters()
    tracker = DnsTracker(counters, DnsConfig())
    junk = struct.pack("!6H", 8, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"
    out, *_ = run(
        [udp_row(1.0, bytes(notify)), udp_row(1.1, junk, flow=2), udp_row(1.2, b"\x01\x02")], tracker
    )
    assert counters["dns.opcode_not_tracked"] == 1
    assert counters["malformed.dns.name_forward_pointer"] == 1 and counters["malformed.dns.short"] == 1
    assert counters["malformed.dns"] == 2
    recs = out + tracker.flush()
    assert [r["trans_id"] for r in recs] == [8] and "query" not in recs[0]  # header-only, as Zeek


def test_txt_and_unknown_types_and_https_follow_zeek():
    q = query("t.example", "TXT", ident=11)
    resp = response(q, ("t.example.", 5, "TXT", '"hello world"'), ("t.example.", 5, "NULL", "\\# 1 00"),
                    ("t.example.", 5, "HTTPS", "1 . alpn=h2"))  # fmt: skip
    out, *_ = run([udp_row(1.0, q.to_wire()), udp_row(1.5, resp, from_orig=False)])
    (rec,) = out
    assert rec["answers"] == ["TXT 11 hello world", "<unknown type=10>"] and rec["TTLs"] == [5.0, 5.0]


def test_pending_limits_flush_like_zeek():
    tracker = DnsTracker(Counters(), DnsConfig(max_pending_query_ids=3))
    rows = [udp_row(1.0 + i, query(f"q{i}.example", "A", ident=i).to_wire()) for i in range(5)]
    out, *_ = run(rows, tracker)
    assert len(out) == 4  # the fifth id found four pending ids (> 3): they are logged at once
    assert [r["query"] for r in tracker.flush()] == ["q4.example"]


def test_global_pending_bound_sheds_oldest():
    counters = Counters()
    tracker = DnsTracker(counters, DnsConfig(max_pending=10))
    rows = [udp_row(1.0, query("x.example", "A", ident=i).to_wire(), flow=i) for i in range(15)]
    out, *_ = run(rows, tracker)
    assert len(out) == 5 and counters["dns.pending_overflow"] == 5
    assert len(tracker.flush()) == 10


def test_finished_transactions_leave_the_timeline_and_unanswered_ones_still_time_out() -> None:
    """The tracker drops finished transactions from its timeline in bulk (so a flood does not keep
    ``timeout`` seconds of them alive); the unanswered ones among them still time out, in order."""
    n = 6000
    rows = []
    for i in range(n):
        q = query(f"h{i}.example.com", ident=i % 65536)
        rows.append(udp_row(i * 0.001, q.to_wire(), flow=i))
        if i % 3:  # every third query is never answered
            rows.append(udp_row(i * 0.001 + 0.0005, response(q, rcode=3), flow=i, from_orig=False))
    tracker, view = DnsTracker(Counters(), DnsConfig()), FakeView()
    batch, flows = batch_of(rows)
    answered = tracker.process(batch, flows, view)
    assert len(answered) == n - n // 3 and all(r["rcode_name"] == "NXDOMAIN" for r in answered)
    assert len(tracker._timeline) < n  # compacted: at most the unanswered plus the last finished ones
    assert tracker.expire(n * 0.001 - 0.5) == []  # nothing has waited `timeout` yet
    timed_out = tracker.expire(n * 0.001 + DnsConfig().timeout)
    assert [r["query"] for r in timed_out] == [f"h{i}.example.com" for i in range(0, n, 3)]
    assert all("rcode" not in r for r in timed_out) and tracker.flush() == []
