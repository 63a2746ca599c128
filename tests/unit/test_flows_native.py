"""The optional C TCP code (_tcprun.c) is an optimisation only: a FlowMeter using it gives the same
records (interim ones included, in order), the same per-row assignment (uid and direction) and the
same counters as the pure-Python code (its fallback), on generated packet sequences and on every
real test capture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wardwatch.ingest.capture import read_captures
from wardwatch.ingest.decode import DecodeConfig, Decoder
from wardwatch.ingest.decode.columns import PacketBatch
from wardwatch.ingest.flows import FlowConfig, FlowMeter
from wardwatch.ingest.flows import conn as conn_module

from tests.conftest import testdata_path as _testdata
from tests.unit.test_flows_helpers import CLIENT, SERVER, A, F, P, R, S, use_python_flows
from wardwatch.counters import Counters

pytestmark = pytest.mark.skipif(conn_module.native is None, reason="_tcprun not built")

Outcome = tuple[list[dict], list[tuple[str, bool]], dict]


def _meter_run(batches: list[PacketBatch], config: FlowConfig) -> Outcome:
    """Records, (uid, is_orig) of every row, and counters of one meter over the batches."""
    counters = Counters()
    meter = FlowMeter(counters, config)
    records: list[dict] = []
    assigned: list[tuple[str, bool]] = []
    for batch in batches:
        out = meter.process(batch)
        assigned += [
            (meter.uid(f), o) for f, o in zip(out.flow.tolist(), out.from_orig.tolist(), strict=True)
        ]
        if len(batch):
            records += meter.expire(float(batch.ts.max()))
    records += meter.flush()
    return records, assigned, counters.summary()


def _both(batches: list[PacketBatch], config: FlowConfig) -> Outcome:
    native = _meter_run(batches, config)
    with pytest.MonkeyPatch.context() as m:
        use_python_flows(m)
        python = _meter_run(batches, config)
    assert native[0] == python[0]
    assert native[1] == python[1]
    assert native[2] == python[2]
    return native


FLAGS = [S, S | A, A, A | P, F | A, F, R, R | A, 0, S | F, F | R | A, S | R, P]


@st.composite
def tcp_rows(draw: st.DrawFn) -> list[dict]:
    """Packets of a few TCP 5-tuples with random flags, directions, sequence numbers (near the
    running ones, or anywhere), payload lengths, windows and time steps (some past the timers)."""
    n_conns = draw(st.integers(1, 3))
    isn = [[draw(st.integers(0, 2**32 - 1)) for _ in range(2)] for _ in range(n_conns)]
    nxt = [list(pair) for pair in isn]
    ports = [
        (draw(st.sampled_from([40000, 40001, 80])), draw(st.sampled_from([80, 443, 5555])))
        for _ in range(n_conns)
    ]
    t = 100.0
    rows = []
    for _ in range(draw(st.integers(1, 40))):
        k = draw(st.integers(0, n_conns - 1))
        client = draw(st.booleans())
        flags = draw(st.sampled_from(FLAGS))
        plen = draw(st.sampled_from([0, 0, 1, 100, 1460]))
        how = draw(st.sampled_from(["next", "next", "back", "ahead", "any", "isn"]))
        side = 0 if client else 1
        if how == "next":
            seq = nxt[k][side]
        elif how == "back":
            seq = nxt[k][side] - draw(st.integers(1, 3000))
        elif how == "ahead":
            seq = nxt[k][side] + draw(st.integers(1, 5000))
        elif how == "isn":
            seq = isn[k][side]
        else:
            seq = draw(st.integers(0, 2**32 - 1))
        ack_how = draw(st.sampled_from(["peer", "peer", "any", "zero"]))
        ack = {"peer": nxt[k][1 - side], "any": draw(st.integers(0, 2**32 - 1)), "zero": 0}[ack_how]
        nxt[k][side] = max(nxt[k][side], seq + plen + (1 if flags & (S | F) else 0))
        t += draw(st.sampled_from([0.0, 0.001, 0.5, 4.0, 6.0, 70.0, 400.0]))
        src, dst = (CLIENT, SERVER) if client else (SERVER, CLIENT)
        cport, sport = ports[k]
        sp, dp = (cport + k, sport) if client else (sport, cport + k)
        rows.append(
            dict(ts=round(t, 6), src=src, dst=dst, proto=6, sport=sp, dport=dp, flags=flags, seq=seq & 0xFFFFFFFF,
                 ack=ack & 0xFFFFFFFF, payload=b"x" * plen, win=draw(st.sampled_from([0, 1024, 65535])))
        )  # fmt: skip
    return rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tcp_rows(), st.lists(st.integers(1, 39), max_size=4), st.booleans())
def test_native_equals_python_on_generated_packets(rows: list[dict], cuts: list[int], short: bool) -> None:
    cuts = sorted({c for c in cuts if c < len(rows)})
    bounds = [0, *cuts, len(rows)]
    batches = [PacketBatch.from_rows(rows[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    # short timers and interim records, so that they fire inside and between batches
    config = (
        FlowConfig(interim_interval=100.0)
        if short
        else FlowConfig(tcp_partial_close_delay=0, tcp_reset_delay=0)
    )
    _both(batches, config)


def test_traffic_reaches_the_rare_paths() -> None:
    """The comparison above is not vacuous: flips, reuse, gaps, retransmissions, zero windows."""
    from tests.unit.test_flows_batching import _traffic

    records = _both([PacketBatch.from_rows(_traffic(2))], FlowConfig())[0]
    history = "".join(str(r.get("history", "")) for r in records)
    for letter in "^TGWtgwShFfRDdAa":
        assert letter in history, letter


def _capture_batches(path: Path) -> list[PacketBatch]:
    counters = Counters()
    decoder = Decoder(counters, DecodeConfig())
    return [decoder.decode(raw) for raw in read_captures([str(path)], counters, batch_frames=4096)]


def test_native_equals_python_on_every_test_capture() -> None:
    root = _testdata()
    paths = sorted(p for p in root.rglob("*") if p.suffix in (".pcap", ".pcapng") and p.is_file())
    assert paths
    tcp_rows_seen = 0
    for path in paths:
        batches = _capture_batches(path)
        _both(batches, FlowConfig())
        tcp_rows_seen += sum(int(np.count_nonzero(b.proto == 6)) for b in batches)
    assert tcp_rows_seen > 1000
