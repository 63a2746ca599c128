"""Connection lifecycle: timers, port reuse, interim records, eviction, uids, FlowView."""

from __future__ import annotations

import numpy as np
import pytest
from wardwatch.ingest.decode.columns import PacketBatch
from wardwatch.ingest.flows import FlowConfig, FlowMeter

from tests.unit.test_flows_helpers import CLIENT, SERVER, A, F, P, R, S, Tcp, finals, run, udp
from wardwatch.counters import Counters


def test_expire_emits_only_after_timeout_in_capture_time() -> None:
    meter = FlowMeter(Counters(), FlowConfig())
    meter.process(PacketBatch.from_rows([udp(1000.0, CLIENT, SERVER, 5000, 53)]))
    assert meter.expire(1030.0) == []
    recs = meter.expire(1061.0)  # udp_inactivity 60 s after the last packet
    assert [r["conn_state"] for r in recs] == ["S0"]
    assert meter.flush() == []


def test_packet_after_idle_timeout_starts_new_connection() -> None:
    rows = [udp(1.0, CLIENT, SERVER, 5000, 53), udp(100.0, CLIENT, SERVER, 5000, 53)]
    for splits in (None, [1]):
        recs = finals(run(rows, splits=splits))
        assert [r["ts"] for r in recs] == [1.0, 100.0]
        assert recs[0]["uid"] != recs[1]["uid"]


def test_unanswered_syn_retransmissions_split_after_attempt_delay() -> None:
    t = Tcp().c(S).c(S, dt=1, seq=1000).c(S, dt=2, seq=1000).c(S, dt=4, seq=1000)  # t=100.1 .. 107.1
    recs = finals(run(t.rows))
    assert [(r["conn_state"], r["orig_pkts"]) for r in recs] == [("S0", 3), ("S0", 1)]


def test_tcp_close_delay_then_new_partial_connection() -> None:
    t = Tcp().handshake().c(A | P, 10).c(F | A).s(F | A).c(A).c(A, dt=10)
    recs = finals(run(t.rows))
    assert [r["conn_state"] for r in recs] == ["SF", "OTH"]
    assert recs[0]["orig_pkts"] == 5


def test_port_reuse_new_syn_starts_new_connection() -> None:
    first = Tcp(cisn=1000).handshake().c(A | P, 10).c(F | A).s(F | A).c(A)
    second = Tcp(cisn=900000, t0=first.t + 1).handshake().c(R | A)
    recs = finals(run(first.rows + second.rows))
    assert [(r["conn_state"], r["history"]) for r in recs] == [("SF", "ShADFf"), ("RSTO", "ShAR")]
    assert recs[0]["uid"] != recs[1]["uid"]


def test_syn_retransmission_same_seq_is_not_reuse() -> None:
    recs = finals(run(Tcp().c(S).c(S, dt=0.5, seq=1000).s(S | A).c(A).rows))
    assert len(recs) == 1 and recs[0]["history"] == "ShA" and recs[0]["orig_pkts"] == 3


def test_interim_records_cumulative_with_same_uid() -> None:
    cfg = FlowConfig(interim_interval=100.0)
    meter = FlowMeter(Counters(), cfg)
    t = Tcp(t0=0.0).handshake()
    meter.process(PacketBatch.from_rows(t.rows))
    out = meter.expire(1.0)
    for _ in range(3):
        t.rows = []
        t.c(A | P, 10, dt=60)
        meter.process(PacketBatch.from_rows(t.rows))
        out += meter.expire(t.t)
    out += meter.flush()
    interims = [r for r in out if r.get("interim")]
    final = [r for r in out if not r.get("interim")]
    assert len(final) == 1 and "interim" not in final[0]
    assert len(interims) == 1  # at t=180 (> 100) ; next due at 200, flush happened first
    assert interims[0]["uid"] == final[0]["uid"]
    assert interims[0]["orig_pkts"] < final[0]["orig_pkts"]


def test_eviction_of_longest_idle_when_full() -> None:
    counters = Counters()
    meter = FlowMeter(counters, FlowConfig(max_flows=10, evict_fraction=0.2))
    rows = [udp(float(i), CLIENT, SERVER, 1000 + i, 9999) for i in range(12)]
    meter.process(PacketBatch.from_rows(rows))
    assert counters["flows.evicted"] == 4  # 2 over the limit + 20 % slack
    evicted = meter.expire(12.0)
    assert sorted(r["id.orig_p"] for r in evicted) == [1000, 1001, 1002, 1003]
    assert len(meter) == 8
    assert len(meter.flush()) == 8


def test_uids_are_stable_across_runs_and_distinct() -> None:
    rows = Tcp().handshake().c(F | A).s(F | A).rows + [udp(5.0, CLIENT, SERVER, 5000, 53)]
    a = sorted(r["uid"] for r in run(rows))
    b = sorted(r["uid"] for r in run(rows, splits=[1, 2]))
    assert a == b and len(set(a)) == 2


def test_flow_view_and_assignment() -> None:
    meter = FlowMeter(Counters(), FlowConfig())
    t = Tcp(cport=40000, sport=80).handshake().c(A | P, 10)
    rows = t.rows + [udp(200.0, SERVER, CLIENT, 53, 5000)]
    asg = meter.process(PacketBatch.from_rows(rows))
    assert asg.flow.dtype == np.int64 and asg.from_orig.dtype == bool
    assert len(set(asg.flow[:4].tolist())) == 1 and asg.flow[4] != asg.flow[0]
    assert asg.from_orig.tolist() == [True, False, True, True, False]  # UDP reply-first was flipped
    tcp_flow = int(asg.flow[0])
    assert meter.endpoints(tcp_flow) == (CLIENT, 40000, SERVER, 80, "tcp")
    meter.add_service(tcp_flow, "HTTP")
    meter.add_service(tcp_flow, "http")
    uid = meter.uid(tcp_flow)
    recs = {r["uid"]: r for r in meter.flush()}
    assert recs[uid]["service"] == "http"
    assert meter.uid(10**9) == ""


def test_finished_connection_still_answers_flow_view_until_next_expire() -> None:
    meter = FlowMeter(Counters(), FlowConfig())
    rows = [udp(1.0, CLIENT, SERVER, 5000, 53), udp(500.0, CLIENT, SERVER, 5000, 53)]
    asg = meter.process(PacketBatch.from_rows(rows))
    old = int(asg.flow[0])
    assert asg.flow[0] != asg.flow[1]
    meter.add_service(old, "dns")  # the DNS analyser runs after process(), before expire()
    recs = meter.expire(500.0)
    assert [r.get("service") for r in recs] == ["dns"]


def test_empty_batch() -> None:
    meter = FlowMeter(Counters(), FlowConfig())
    asg = meter.process(PacketBatch.empty())
    assert len(asg.flow) == 0
    assert meter.expire(0.0) == [] and meter.flush() == []


@pytest.mark.parametrize("n", [1, 3])
def test_garbage_rows_do_not_crash(n: int) -> None:
    rng = np.random.default_rng(n)
    rows = []
    for i in range(300):
        rows.append(
            dict(ts=float(i) * 0.01, src=CLIENT if rng.random() < 0.5 else SERVER, dst=SERVER,
                 proto=int(rng.choice([6, 17, 1, 58, 47, 0])), sport=int(rng.integers(0, 65536)),
                 dport=int(rng.integers(0, 3)), flags=int(rng.integers(0, 256)), seq=int(rng.integers(0, 2**32)),
                 ack=int(rng.integers(0, 2**32)), win=int(rng.integers(0, 2)), payload=b"z" * int(rng.integers(0, 50)))
        )  # fmt: skip
    recs = run(rows, splits=list(range(0, 300, 300 // (n * 7))))
    assert sum(r["orig_pkts"] + r["resp_pkts"] for r in recs if not r.get("interim")) == 300


def test_eviction_takes_unanswered_connections_before_older_answered_ones() -> None:
    """A SYN flood or a scan fills the table with connections the responder never answered: they go
    first, so that the sessions being flooded (answered, older) keep their state."""
    counters = Counters()
    meter = FlowMeter(counters, FlowConfig(max_flows=10, evict_fraction=0.2))
    answered = []
    for i in range(5):  # older, answered
        answered += [udp(float(i), CLIENT, SERVER, 2000 + i, 53), udp(float(i) + 0.5, SERVER, CLIENT, 53, 2000 + i)]
    probes = [udp(10.0 + i, CLIENT, SERVER, 3000 + i, 9999) for i in range(7)]  # newer, unanswered
    meter.process(PacketBatch.from_rows(answered + probes))
    assert counters["flows.evicted"] == 4 and counters["flows.evicted_unanswered"] == 4
    evicted = meter.expire(17.0)
    assert sorted(r["id.orig_p"] for r in evicted) == [3000, 3001, 3002, 3003]
    assert {r["id.orig_p"] for r in meter.flush()} >= {2000, 2001, 2002, 2003, 2004}
