"""The optional C TCP code (_tcprun.c) is an optimisation only: a FlowMeter using it gives the same
records (interim ones included, in order), the same per-row assignment (uid and direction) and the
same counters as the pure-Python code (its fallback), on generated packet sequences and on every
real test capture."""

from __future__ import annotations

import gc
import hashlib
import heapq
import itertools
import os
import subprocess
import sys
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
from wardwatch.ingest.flows import meter as meter_module
from wardwatch.tools.gen_storm import SHAPES, generate

from tests.conftest import testdata_path as _testdata
from tests.unit.test_flows_helpers import CLIENT, SERVER, A, F, P, R, S, use_python_flows
from wardwatch.counters import Counters

pytestmark = pytest.mark.skipif(conn_module.native is None, reason="_tcprun not built")

Outcome = tuple[list[dict], list[tuple[str, bool]], dict]


SERVICES = ["dns", "http", "ssl", "ftp", "smtp", "ssh"]


def _meter_run(batches: list[PacketBatch], config: FlowConfig) -> Outcome:
    """Records, (uid, is_orig, endpoints) of every row, and counters of one meter over the batches.
    As the application analysers do, services are added to some connections after each batch
    (chosen by uid, the same either way; up to 6 on one connection, beyond a slot's 4)."""
    counters = Counters()
    meter = FlowMeter(counters, config)
    records: list[dict] = []
    assigned: list[tuple] = []
    for batch in batches:
        out = meter.process(batch)
        for f, o in zip(out.flow.tolist(), out.from_orig.tolist(), strict=True):
            uid = meter.uid(f)
            assigned.append((uid, o, meter.endpoints(f)))
            pick = sum(map(ord, uid))
            if pick % 3 == 0:
                meter.add_service(f, SERVICES[pick % 2].upper())
            if pick % 11 == 0:
                for name in SERVICES:
                    meter.add_service(f, name)
        if len(batch):
            records += meter.expire(float(batch.ts.max()))
    records += meter.flush()
    return records, assigned, counters.summary()


def _both(batches: list[PacketBatch], config: FlowConfig) -> Outcome:
    """The C code with its slot table, the C code with every connection a Conn, and pure Python."""
    native = _meter_run(batches, config)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(meter_module, "USE_SLOTS", False)
        objects = _meter_run(batches, config)
    with pytest.MonkeyPatch.context() as m:
        use_python_flows(m)
        python = _meter_run(batches, config)
    for way in (objects, python):
        assert native[0] == way[0]
        assert native[1] == way[1]
        assert native[2] == way[2]
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


@pytest.mark.parametrize("shape", SHAPES)
def test_native_equals_python_on_every_storm_shape(shape: str, tmp_path: Path) -> None:
    """Connection-dense traffic (tools/gen_storm.py): nearly every packet opens a connection, which the
    C code creates, schedules, expires and records itself (30,000 packets: 3 s of capture time, so
    attempt timers fire between batches)."""
    path = tmp_path / f"{shape}.pcap"
    generate(shape, 30_000, path)
    records = _both(_capture_batches(path), FlowConfig())[0]
    assert len({r["uid"] for r in records}) == len(records) > 0


@pytest.mark.parametrize("shape", ["pp1", "pp10", "udpscan"])
def test_native_equals_python_when_the_table_is_full(shape: str, tmp_path: Path) -> None:
    """Eviction (max_flows) finishes connections the C code created, in the same order."""
    path = tmp_path / f"{shape}.pcap"
    generate(shape, 20_000, path)
    records, _, counters = _both(_capture_batches(path), FlowConfig(max_flows=500))
    assert counters["flows"]["evicted"] > 0 and len(records) > 0


@pytest.mark.parametrize("shape", ["pp1", "pp10"])
def test_native_equals_python_with_interim_records_and_short_timers(shape: str, tmp_path: Path) -> None:
    path = tmp_path / f"{shape}.pcap"
    generate(shape, 20_000, path)
    # no attempt timer: unanswered SYNs live for udp_inactivity, long enough for interim records
    config = FlowConfig(interim_interval=0.05, tcp_attempt_delay=0.0, tcp_inactivity=1.0, udp_inactivity=0.7)
    records = _both(_capture_batches(path), config)[0]
    assert any(r.get("interim") for r in records)


@st.composite
def new_connection_rows(draw: st.DrawFn) -> list[dict]:
    """Many short connections: the first packet of each (SYN, SYN-ACK, a plain packet from or to a
    likely server port, RST...) decides its originator, uid and first timers."""
    rows = []
    t = 50.0
    ports = [80, 443, 22, 5555, 40000, 40001, 8080]
    for i in range(draw(st.integers(1, 30))):
        client = draw(st.booleans())
        sport, dport = draw(st.sampled_from(ports)), draw(st.sampled_from(ports))
        src, dst = (CLIENT, SERVER) if client else (SERVER, CLIENT)
        t += draw(st.sampled_from([0.0, 0.001, 1.0, 6.0, 70.0]))
        rows.append(
            dict(ts=round(t, 6), src=src, dst=dst, proto=6, sport=sport + i % 3, dport=dport,
                 flags=draw(st.sampled_from(FLAGS)), seq=draw(st.integers(0, 2**32 - 1)),
                 ack=draw(st.integers(0, 2**32 - 1)), payload=b"x" * draw(st.sampled_from([0, 10])),
                 win=draw(st.sampled_from([0, 65535])))
        )  # fmt: skip
    return rows


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(new_connection_rows(), st.integers(1, 29))
def test_native_equals_python_on_generated_new_connections(rows: list[dict], cut: int) -> None:
    cut = min(cut, len(rows))
    batches = [PacketBatch.from_rows(part) for part in (rows[:cut], rows[cut:]) if part]
    _both(batches, FlowConfig(interim_interval=30.0))


@st.composite
def simple_rows(draw: st.DrawFn) -> list[dict]:
    """UDP (server ports either side, so some connections flip), ICMP, ICMPv6-less other transports
    and a little TCP, with gaps past the idle timeouts inside and between batches."""
    rows = []
    t = 10.0
    for _ in range(draw(st.integers(1, 40))):
        proto = draw(st.sampled_from([17, 17, 17, 1, 47, 6]))
        client = draw(st.booleans())
        src, dst = (CLIENT, SERVER) if client else (SERVER, CLIENT)
        sport = draw(st.sampled_from([53, 123, 40000, 40001]))
        dport = draw(st.sampled_from([53, 5353, 40000]))
        t += draw(st.sampled_from([0.0, 0.001, 1.0, 30.0, 61.0]))
        row = dict(ts=round(t, 6), src=src, dst=dst, proto=proto, sport=sport, dport=dport,
                   payload=b"p" * draw(st.sampled_from([0, 20, 512])))  # fmt: skip
        if proto == 6:
            row.update(
                flags=draw(st.sampled_from(FLAGS)), seq=draw(st.integers(0, 2**32 - 1)), ack=0, win=1024
            )
        rows.append(row)
    return rows


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(simple_rows(), st.lists(st.integers(1, 39), max_size=3), st.booleans())
def test_native_equals_python_on_generated_udp_icmp_and_other(
    rows: list[dict], cuts: list[int], short: bool
) -> None:
    cuts = sorted({c for c in cuts if c < len(rows)})
    bounds = [0, *cuts, len(rows)]
    batches = [PacketBatch.from_rows(rows[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    config = FlowConfig(interim_interval=20.0) if short else FlowConfig()
    _both(batches, config)


@st.composite
def storm_rows(draw: st.DrawFn) -> list[dict]:
    """A scan or flood: mostly connections whose first packet is a pure SYN (a C slot), some of
    them refused (RST or RST-ACK from the responder: still a slot), answered or repeated (the slot
    becomes a Conn: SYN-ACK, a RST with data, a retransmitted or a reused SYN, data, a packet after a
    timer), some first packets a slot does not take (payload, window 0, other flags), UDP and ICMP
    probes and replies; time steps around the attempt, close and idle timers."""
    rows = []
    t = 10.0
    n_hosts = draw(st.integers(1, 6))
    opened: list[tuple[str, int, int, int]] = []  # (host, port, cport, seq) of the SYNs sent
    for _ in range(draw(st.integers(1, 60))):
        host = f"10.0.1.{draw(st.integers(1, n_hosts))}"
        port = draw(st.sampled_from([22, 80, 443, 3389, 5555]))
        cport = draw(st.sampled_from([40000, 40001]))
        t += draw(st.sampled_from([0.0, 0.001, 0.5, 4.9, 5.1, 30.0, 61.0]))
        what = draw(st.sampled_from(["syn", "syn", "syn", "reply", "reply", "repeat", "odd", "udp", "icmp"]))
        seq = draw(st.sampled_from([1000, 1000, 77]))
        if what in ("reply", "repeat") and opened:
            host, port, cport, seq = opened[draw(st.integers(0, len(opened) - 1))]
            if what == "repeat":
                seq = draw(st.sampled_from([seq, seq, 1234]))
        base = dict(ts=round(t, 6), src=CLIENT, dst=host, proto=6, sport=cport, dport=port, flags=S, seq=seq,
                    ack=0, payload=b"", win=1024)  # fmt: skip
        if what == "syn" or what == "repeat":
            rows.append(base)
            opened.append((host, port, cport, seq))
        elif what == "reply":
            flags = draw(st.sampled_from([S | A, R | A, R | A, R, R, A, A | P]))
            rows.append(dict(base, src=host, dst=CLIENT, sport=port, dport=cport, flags=flags,
                             seq=draw(st.sampled_from([5000, 0])), ack=seq + draw(st.sampled_from([1, 1, 0])),
                             payload=b"r" * draw(st.sampled_from([0, 0, 5]))))  # fmt: skip
        elif what == "odd":
            rows.append(dict(base, flags=draw(st.sampled_from([S, S | A, A, F, S | F])),
                             payload=b"x" * draw(st.sampled_from([0, 3])), win=draw(st.sampled_from([0, 1024]))))  # fmt: skip
        elif what == "udp":
            out = draw(st.booleans())
            src, dst = (CLIENT, host) if out else (host, CLIENT)
            sp, dp = (cport, port + 50000) if out else (port + 50000, cport)
            rows.append(dict(ts=round(t, 6), src=src, dst=dst, proto=17, sport=sp, dport=draw(st.sampled_from([dp, 53])),
                             payload=b"u" * draw(st.sampled_from([0, 8]))))  # fmt: skip
        else:
            rows.append(dict(ts=round(t, 6), src=host, dst=CLIENT, proto=1, sport=draw(st.sampled_from([3, 8, 0])),
                             dport=draw(st.sampled_from([0, 3])), payload=b"i" * 28))  # fmt: skip
    return rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    storm_rows(),
    st.lists(st.integers(1, 59), max_size=4),
    st.sampled_from(["plain", "full", "short", "no attempt"]),
)
def test_native_equals_python_on_generated_storms(rows: list[dict], cuts: list[int], how: str) -> None:
    """The slot table's transitions: a slot made a Conn by a second packet or an interim record, a
    slot expired by its attempt or idle timer, slots evicted under the cap (flows.evicted and
    flows.evicted_unanswered), services and endpoints read from slots, finished or live."""
    cuts = sorted({c for c in cuts if c < len(rows)})
    bounds = [0, *cuts, len(rows)]
    batches = [PacketBatch.from_rows(rows[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    config = {
        "plain": FlowConfig(),
        "full": FlowConfig(max_flows=4, evict_fraction=0.25),
        "short": FlowConfig(interim_interval=2.0, udp_inactivity=20.0, max_flows=8, evict_fraction=0.5),
        "no attempt": FlowConfig(tcp_attempt_delay=0.0, interim_interval=3.0),
    }[how]
    _both(batches, config)


def test_slots_hold_scans_without_python_objects() -> None:
    """Issue 17: a SYN scan's and a UDP scan's open connections are C slots, well under 512 bytes
    each with their indexes, and no Conn; they expire and are recorded from the slots."""
    rows = []
    for i in range(3000):
        host = f"10.1.{i // 250}.{i % 250 + 1}"
        rows.append(dict(ts=1.0 + i * 1e-4, src=CLIENT, dst=host, proto=6, sport=40000 + i % 7, dport=22, flags=S,
                         seq=i, ack=0, payload=b"", win=1024))  # fmt: skip
        rows.append(
            dict(ts=1.0 + i * 1e-4, src=CLIENT, dst=host, proto=17, sport=40000, dport=161, payload=b"q")
        )
    meter = FlowMeter(Counters(), FlowConfig())
    meter.process(PacketBatch.from_rows(rows))
    assert meter._slots is not None
    assert len(meter) == 6000 and not meter._conns and not meter._by_id
    assert meter._slots.nbytes() / len(meter) < 512
    records = meter.expire(100.0)
    assert len(records) == 6000 and len(meter) == 0
    states = {(r["proto"], r["conn_state"], r.get("history")) for r in records}
    assert states == {("tcp", "S0", "S"), ("udp", "S0", "D")}


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 255), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 65535),
    st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 65535),
    st.floats(allow_nan=False, allow_infinity=False),
)  # fmt: skip
def test_native_uid_equals_make_uid(
    proto: int, oh: int, ol: int, op: int, rh: int, rl: int, rp: int, ts: float
) -> None:
    conn = conn_module.Conn(1, (proto, oh, ol, rh, rl, op, rp), conn_module.KIND_TCP, ts)
    conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p = (oh, ol), op, (rh, rl), rp
    assert conn_module.native is not None
    assert conn_module.native.uid(proto, oh, ol, op, rh, rl, rp, ts) == conn.make_uid()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(1, 64))
def test_native_blake2b_equals_hashlib(data: bytes, size: int) -> None:
    assert conn_module.native is not None
    assert conn_module.native.blake2b(data, size) == hashlib.blake2b(data, digest_size=size).digest()


def test_connections_created_in_c_are_not_tracked_by_the_collector() -> None:
    """Issue 17: collections walking the connection table were a quarter of the sensor's CPU. A
    SYN-only connection is a C slot (no Python object at all); its second packet makes it a Conn,
    which the collector does not track either."""
    meter = FlowMeter(Counters(), FlowConfig())
    syn = dict(ts=1.0, src=CLIENT, dst=SERVER, proto=6, sport=40000, dport=80, flags=S, seq=1, ack=0,
               payload=b"", win=1024)  # fmt: skip
    meter.process(PacketBatch.from_rows([syn]))
    assert len(meter) == 1 and not meter._conns
    meter.process(PacketBatch.from_rows([dict(syn, ts=1.5, src=SERVER, dst=CLIENT, sport=80, dport=40000,
                                              flags=S | A, seq=9, ack=2)]))  # fmt: skip
    (conn,) = meter._conns.values()
    assert len(meter) == 1
    assert not gc.is_tracked(conn) and not gc.is_tracked(conn.o)
    assert meter.flush()[0]["history"] == "Sh"


# -- _tcprun.run's own checks: bad arguments raise, never crash ---------------------------------------

KEY = (6, 1, 2, 3, 4)
KEY7 = (6, 0, 0xFFFF0A000001, 0, 0xFFFF0A000002, 40000, 80)
TIMERS = (300.0, 60.0, 5.0, 5.0, 3600.0, 1.0)


def _conn() -> conn_module.Conn:
    c = conn_module.Conn(7, KEY, conn_module.KIND_TCP, 1.0)
    c.timeout = 300.0
    return c


def _arrays(n: int = 1, seq: int = 5, flags: int = A) -> list[np.ndarray]:
    """run()'s 11 arrays for ``n`` plain ACKs of group 0, as meter._run_native builds them."""
    i64 = np.int64
    return [
        np.zeros(n, i64),  # gid
        np.ones(n, np.uint8),  # from_a
        np.full(n, 2.0),  # ts
        np.full(n, flags, i64),
        np.full(n, seq, i64),
        np.full(n, 9, i64),  # ack
        np.zeros(n, i64),  # plen
        np.full(n, 100, i64),  # win
        np.full(n, 40, i64),  # ip_len
        np.empty(n, i64),  # out_fid
        np.empty(n, np.uint8),  # out_orig
    ]


def _no_python(*args: object) -> None:
    raise AssertionError("unexpected fallback to meter._packet")


def _run(
    arrays: list[np.ndarray], conns: list, packet: object = _no_python, table: dict | None = None
) -> None:
    assert conn_module.native is not None
    keys = [KEY] * len(conns)
    conn_module.native.run(tuple(arrays), conns, keys, table or {}, packet, lambda c: None, TIMERS)


def test_run_processes_a_plain_packet() -> None:
    c, arrays = _conn(), _arrays()
    _run(arrays, [c])
    assert arrays[9].tolist() == [7] and c.history == "A" and c.o.pkts == 1


@pytest.mark.parametrize("slot", ["hseen", "history", "o", "r", "attempt_at", "heap_at", "fid", "timeout"])
def test_run_with_an_unset_slot_is_an_attribute_error(slot: str) -> None:
    """A __slots__ member never assigned (or deleted) is a NULL pointer: run() dereferenced it."""
    c = _conn()
    delattr(c, slot)
    with pytest.raises(AttributeError):
        _run(_arrays(), [c])


@pytest.mark.parametrize(
    ("slot", "value"), [("hseen", 12345), ("history", b"A"), ("o", conn_module.Endpoint())]
)
def test_run_with_a_slot_of_the_wrong_type_is_a_type_error(slot: str, value: object) -> None:
    """hseen as an int was read as a str's internals (an over-read, garbage characters)."""
    c = _conn()
    setattr(c, slot, value)
    with pytest.raises(TypeError):
        _run(_arrays(), [c])


def test_run_with_a_timer_that_is_not_a_number_is_a_type_error() -> None:
    """heap_at's conversion error was left pending: a SystemError (result with an exception set)."""
    c = _conn()
    c.heap_at = None  # type: ignore[assignment]
    with pytest.raises(TypeError):
        _run(_arrays(), [c])


@pytest.mark.parametrize("index", range(11))
def test_run_with_a_wrong_dtype_is_a_type_error(index: int) -> None:
    """A float64 read as int64 (or the reverse) gave garbage, silently."""
    arrays = _arrays()
    # uint8 flags read as int8 would be fine memory-wise, but the dtype is still refused
    wrong = {np.dtype(np.float64): np.int64, np.dtype(np.uint8): np.int8}.get(arrays[index].dtype, np.float64)
    arrays[index] = np.zeros(1, wrong)
    with pytest.raises(TypeError):
        _run(arrays, [_conn()])


def test_run_refuses_misaligned_or_short_arrays() -> None:
    arrays = _arrays(2)
    arrays[4] = np.frombuffer(bytearray(17), np.int64, 2, offset=1)
    with pytest.raises(ValueError):
        _run(arrays, [_conn()])
    arrays = _arrays(2)
    arrays[9] = np.empty(1, np.int64)
    with pytest.raises(ValueError):
        _run(arrays, [_conn()])


@pytest.mark.parametrize(("column", "value"), [(4, 2**63 - 1), (4, -1), (5, 2**32), (3, 0x100), (6, 2**40)])
def test_run_refuses_values_beyond_their_decoded_width(column: int, value: int) -> None:
    """seq/ack are 32-bit, lengths int32: arbitrary int64 values overflowed the 64-bit unwrapping."""
    arrays = _arrays()
    arrays[column][:] = value
    with pytest.raises(ValueError):
        _run(arrays, [_conn()])


def test_run_survives_a_callback_that_shrinks_its_lists() -> None:
    """The group count was read once: after a callback emptied the list, the next row read past it."""
    conns: list = [None]
    c = _conn()

    def packet(*args: object) -> tuple[int, bool]:
        conns.clear()
        return 7, True

    with pytest.raises(IndexError):
        _run(_arrays(2), conns, packet, {KEY: c})


def test_setup_refuses_a_class_borrowing_conns_slots() -> None:
    """Descriptors copied from Conn carry Conn's offsets, beyond the end of the other class's objects."""
    assert conn_module.native is not None
    attrs = {name: conn_module.Conn.__dict__[name] for name in conn_module.Conn.__slots__}
    other = type("Other", (), {"__slots__": (), **attrs})
    try:
        with pytest.raises(TypeError):
            conn_module.native.setup(other)
    finally:
        conn_module.native.setup(conn_module.Conn)
    _run(_arrays(), [_conn()])


def test_a_failed_setup_keeps_the_offsets_in_use() -> None:
    """setup() wrote each offset as it found it: a class failing half-way left run() reading Conn's
    objects at another class's offsets (here proto, 6, in place of fid, 7)."""
    assert conn_module.native is not None
    partial = type("Partial", (), {"__slots__": ("a", "b", "c", "fid")})
    with pytest.raises(TypeError):
        conn_module.native.setup(partial)
    arrays = _arrays()
    _run(arrays, [_conn()])
    assert arrays[9].tolist() == [7]


def test_native_equals_python_on_a_zero_window_retransmission_in_a_later_batch() -> None:
    """Found by a 6000-example run of the generated-packet comparison: '^hdwt' (C and per-packet
    Python) against '^hdtw' (Python's vectorised path, which sorted a packet's letters by name)."""
    base = dict(ts=100.0, src=SERVER, dst=CLIENT, proto=6, sport=80, dport=40001)
    syn_ack = dict(base, flags=S | A, seq=0, ack=1, payload=b"", win=1024)
    rexmit = dict(base, flags=A, seq=0, ack=1, payload=b"x", win=0)
    _both([PacketBatch.from_rows([syn_ack]), PacketBatch.from_rows([rexmit])], FlowConfig())


# -- the per-connection C code's own checks ----------------------------------------------------------


def _create(ports: bytes = bytes(8192)) -> tuple:
    assert conn_module.native is not None
    return ({}, itertools.count(1), ports, 0.0, conn_module.native.Heap())


def test_run_creates_connections_with_the_given_ids_and_heap() -> None:
    assert conn_module.native is not None
    create = _create()
    table: dict = {}
    arrays = _arrays(flags=S)
    created = conn_module.native.run(
        tuple(arrays), [None], [KEY7], table, _no_python, _no_python, TIMERS, create
    )
    assert created == 1 and arrays[9].tolist() == [1]
    conn = table[KEY7]
    assert create[0] == {1: conn} and conn.history == "S" and conn.uid == conn.make_uid()
    assert len(create[4]) == 1 and create[4].pop() == (2.0 + TIMERS[2], 1)  # the attempt timer


@pytest.mark.parametrize(
    "create",
    [
        ({}, itertools.count(1), bytes(100), 0.0, "heap"),  # a short port map
        ({}, 5, bytes(8192), 0.0, "heap"),  # ids not an iterator
        ({}, itertools.count(1), bytes(8192), 0.0, []),  # heap not a Heap
        ({}, iter([]), bytes(8192), 0.0, "heap"),  # ids run out
        ({}, itertools.count(1), bytes(8192), 0.0),  # too short
    ],
)
def test_run_with_a_bad_create_argument_raises(create: tuple) -> None:
    assert conn_module.native is not None
    create = tuple(conn_module.native.Heap() if v == "heap" else v for v in create)
    with pytest.raises((TypeError, ValueError, RuntimeError)):
        conn_module.native.run(
            tuple(_arrays(flags=S)), [None], [KEY7], {}, _no_python, _no_python, TIMERS, create
        )


@pytest.mark.parametrize(
    "key", [(6, 1, 2, 3), (6, -1, 2, 3, 4, 5, 6), (300, 1, 2, 3, 4, 5, 6), (6, 1, 2, 3, 4, "a", 6)]
)
def test_run_refuses_a_bad_key_for_a_new_connection(key: tuple) -> None:
    assert conn_module.native is not None
    with pytest.raises((TypeError, ValueError, OverflowError)):
        conn_module.native.run(
            tuple(_arrays(flags=S)), [None], [key], {}, _no_python, _no_python, TIMERS, _create()
        )


def test_setup_refuses_an_endpoint_class_of_another_layout() -> None:
    assert conn_module.native is not None
    with pytest.raises(TypeError):
        conn_module.native.setup(conn_module.Conn, conn_module.Endpoint)
    with pytest.raises(TypeError):
        conn_module.native.setup(
            conn_module.Conn, type("Wide", (conn_module.native.EndpointBase,), {"__slots__": ("x",)})
        )


def test_records_with_an_unset_slot_is_an_attribute_error() -> None:
    assert conn_module.native is not None
    c = _conn()
    del c.uid
    with pytest.raises(AttributeError):
        conn_module.native.records([c], False, conn_module.ip_text)


def test_records_of_every_kind_equal_conn_record() -> None:
    assert conn_module.native is not None
    tcp = _conn()
    tcp.orig_h, tcp.resp_h = (0, 0xFFFF0A000001), (1, 2)  # IPv4-mapped (formatted in C), IPv6
    tcp.services = ("http", "tls")
    tcp.last_time = 5.0
    udp = conn_module.Conn(8, (17, 1, 2, 3, 4, 5, 6), conn_module.KIND_UDP, 1.0)
    for interim in (False, True):
        assert conn_module.native.records([tcp, udp], interim, conn_module.ip_text) == [
            tcp.record(interim),
            udp.record(interim),
        ]


def test_expire_refuses_a_heap_of_another_meter() -> None:
    assert conn_module.native is not None
    with pytest.raises(TypeError):
        conn_module.native.expire(conn_module.native.Heap(), {}, {}, [], 10.0, TIMERS, _create(), _no_python)
    with pytest.raises(TypeError):
        conn_module.native.expire([], {}, {}, [], 10.0, TIMERS, _create(), _no_python)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 1.0, 1.5, 2.0, -3.0, float("inf")]))))
def test_heap_pops_as_heapq_pops_due_tick_fid_tuples(ops: list[tuple[bool, float]]) -> None:
    """Same due: first pushed, first popped (the tick of meter's Python heap)."""
    assert conn_module.native is not None
    heap, reference = conn_module.native.Heap(), []
    tick = itertools.count()
    for fid, (pop, due) in enumerate(ops):
        if pop and reference:
            d, _, f = heapq.heappop(reference)
            assert heap.peek() == (d, f) and heap.pop() == (d, f)
        else:
            heap.push(due, fid)
            heapq.heappush(reference, (due, next(tick), fid))
        assert len(heap) == len(reference)
    heap.clear()
    assert len(heap) == 0 and heap.peek() is None
    with pytest.raises(IndexError):
        heap.pop()
    with pytest.raises(TypeError):
        heap.push("soon", 1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, -0.0, 1.0, 1.5, 2.0**60]), st.sampled_from([6, 17]),
            st.tuples(st.integers(0, 2), st.integers(0, 2**64 - 1)), st.integers(0, 3),
            st.tuples(st.integers(0, 2), st.sampled_from([0, 1, 2**64 - 1])), st.integers(0, 3),
        ),
        max_size=30,
    )
)  # fmt: skip
def test_sort_finished_equals_the_python_sort(keys: list[tuple]) -> None:
    """Ties on the whole key keep their order (Python's sort is stable)."""
    assert conn_module.native is not None
    conns = []
    for i, (ts, proto, oh, op, rh, rp) in enumerate(keys):
        c = conn_module.Conn(i, (proto,), conn_module.KIND_TCP, ts)
        c.orig_h, c.orig_p, c.resp_h, c.resp_p = oh, op, rh, rp
        conns.append(c)
    expected = sorted(conns, key=lambda c: (c.start_ts, c.proto, c.orig_h, c.orig_p, c.resp_h, c.resp_p))
    assert conn_module.native.sort_finished(conns) is True
    assert [c.fid for c in conns] == [c.fid for c in expected]


def test_sort_finished_leaves_what_it_cannot_compare_to_python() -> None:
    assert conn_module.native is not None
    nan = conn_module.Conn(1, (6,), conn_module.KIND_TCP, float("nan"))
    big = conn_module.Conn(2, (6,), conn_module.KIND_TCP, 1.0)
    big.orig_h = (2**64, 0)
    for conns in ([big, _conn()], [_conn(), nan], [_conn(), "x"]):
        before = list(conns)
        assert conn_module.native.sort_finished(conns) is False
        assert conns == before


def test_sensor_output_is_byte_for_byte_the_same_with_the_python_fallback(tmp_path: Path) -> None:
    """End to end: `wardwatch sensor` with the C code (its slot table on and off) and with
    WARDWATCH_FLOWS_PYTHON=1 (the fallback) writes the same bytes, on connection-dense TCP and
    UDP/ICMP traffic."""
    paths = []
    for shape in ("pp2", "pp10", "udpscan", "synflood"):
        paths.append(tmp_path / f"{shape}.pcap")
        generate(shape, 8000, paths[-1])
    outputs = []
    for python, slots in (("0", "1"), ("0", "0"), ("1", "1")):
        out = tmp_path / f"out-{python}{slots}.json"
        env = dict(os.environ, WARDWATCH_FLOWS_PYTHON=python, WARDWATCH_FLOWS_SLOTS=slots)
        cmd = [sys.executable, "-m", "wardwatch.cli", "sensor", "--workers", "1", "--out", str(out), "--pcap"]
        done = subprocess.run([*cmd, *map(str, paths)], env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].count(b'"_path":"conn"') > 16000


def test_native_equals_python_when_the_slot_table_grows_and_shrinks() -> None:
    """A storm fills the slot table (thousands of SYNs and UDP probes), the storm's connections expire
    and are forgotten, the table gives its memory back (slots move): connections that lived through
    it, finished ones still to be recorded and new ones keep their records, uids and services."""
    rows = []
    for i in range(6000):
        host = f"10.2.{i // 250}.{i % 250 + 1}"
        rows.append(dict(ts=1.0 + i * 1e-4, src=CLIENT, dst=host, proto=6, sport=40000, dport=445, flags=S, seq=i,
                         ack=0, payload=b"", win=1024))  # fmt: skip
        if i % 2:
            rows.append(
                dict(ts=1.0 + i * 1e-4, src=CLIENT, dst=host, proto=17, sport=40000, dport=161, payload=b"q")
            )
    for t in (30.0, 100.0, 200.0, 300.0):  # a few connections across and after the storm's expiry
        for k in range(5):
            rows.append(
                dict(ts=t + k, src=CLIENT, dst=SERVER, proto=17, sport=50000 + k, dport=53, payload=b"d")
            )
            rows.append(dict(ts=t + k, src=CLIENT, dst=SERVER, proto=6, sport=50000 + k, dport=22, flags=S,
                             seq=k, ack=0, payload=b"", win=1024))  # fmt: skip
    cuts = [9000, len(rows) - 30, len(rows) - 20, len(rows) - 10]
    bounds = [0, *cuts, len(rows)]
    batches = [PacketBatch.from_rows(rows[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    _both(batches, FlowConfig())
    meter = FlowMeter(Counters(), FlowConfig())
    assert meter._slots is not None
    sizes = []
    for batch in batches:
        meter.process(batch)
        meter.expire(float(batch.ts.max()))
        sizes.append(meter._slots.nbytes())
    assert max(sizes) > 4 * sizes[-1]


def test_slot_table_refuses_bad_arguments_without_crashing() -> None:
    """The Table's methods (FlowView, eviction, flush, forget) and the module functions that take it
    raise on what they cannot use; an unknown id is no slot."""
    native = conn_module.native
    assert native is not None
    table = native.Table(7)
    assert len(table) == 0 and table.uid(5) is None and table.endpoints(5) is None
    assert table.add_service(5, "dns") is False
    with pytest.raises(KeyError):
        table.finish(5, [])
    with pytest.raises(KeyError):
        table.sort_key(5)
    with pytest.raises(TypeError):
        table.add_service(5, 7)
    with pytest.raises(TypeError):
        table.forget("5")
    with pytest.raises(TypeError):
        table.evict(1, [("not a victim",)], {}, [])
    assert table.evict(3, [], {}, []) == (0, 0)
    table.forget([5, 6])
    with pytest.raises(KeyError):
        native.records([5], False, conn_module.ip_text, table)
    assert native.sort_finished([5], table) is False
    with pytest.raises(TypeError):
        native.records([], False, conn_module.ip_text, "not a table")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_records_format_every_address_as_ip_text(v4: int, hi: int, lo: int) -> None:
    """IPv4-mapped addresses are formatted in C (the others by ip_text): both as Conn.record."""
    assert conn_module.native is not None
    c = _conn()
    c.orig_h, c.resp_h = (0, 0xFFFF00000000 | v4), (hi, lo)
    assert conn_module.native.records([c], False, conn_module.ip_text) == [c.record()]


def test_forget_drops_only_finished_connections() -> None:
    assert conn_module.native is not None
    live, gone = _conn(), conn_module.Conn(8, KEY, conn_module.KIND_TCP, 1.0)
    gone.done = True
    by_id = {7: live, 8: gone}
    conn_module.native.forget(by_id, [7, 8, 9])
    assert by_id == {7: live}


def _simple_arrays(n: int = 1) -> list[np.ndarray]:
    """simple()'s 11 arrays for ``n`` one-packet runs of key 0, as meter._run_simple builds them."""
    i64 = np.int64
    return [
        np.zeros(n, i64),  # key_of
        np.full(n, 2.0),  # t0
        np.ones(n, np.uint8),  # first
        np.ones(n, np.uint8),  # from_a
        np.full(n, 2.0),  # last_ts
        np.tile(np.array([0, 1], i64), n),  # pkts per (run, side)
        np.tile(np.array([0, 40], i64), n),  # ip_bytes
        np.tile(np.array([0, 12], i64), n),  # size
        np.tile(np.array([1, 0], i64), n),  # first_pos
        np.empty(n, i64),  # out_fid
        np.empty(n, np.uint8),  # out_orig_a
    ]


UDP_KEY = (17, 0, 0xFFFF0A000001, 0, 0xFFFF0A000002, 40000, 53)


def _simple(arrays: list[np.ndarray], keys: list, create: tuple | None = None) -> int:
    assert conn_module.native is not None
    return conn_module.native.simple(
        tuple(arrays), keys, {}, [], (60.0, 60.0, 60.0), create or _create(), bytes(8192)
    )


def test_simple_creates_a_udp_connection() -> None:
    arrays = _simple_arrays()
    create = _create()
    assert _simple(arrays, [UDP_KEY], create) == 1
    (conn,) = create[0].values()
    assert conn.history == "D" and conn.o.pkts == 1 and conn.o.size == 12 and arrays[9].tolist() == [1]
    assert conn_module.native is not None
    assert conn.record() == conn_module.native.records([conn], False, conn_module.ip_text)[0]


@pytest.mark.parametrize("index", range(11))
def test_simple_with_a_wrong_dtype_or_length_raises(index: int) -> None:
    arrays = _simple_arrays(2)
    wrong = {np.dtype(np.float64): np.int64, np.dtype(np.uint8): np.int8}.get(arrays[index].dtype, np.float64)
    arrays[index] = np.zeros(len(arrays[index]), wrong)
    with pytest.raises(TypeError):
        _simple(arrays, [UDP_KEY])
    arrays = _simple_arrays(2)
    arrays[index] = arrays[index][:1]
    with pytest.raises(ValueError):
        _simple(arrays, [UDP_KEY])


@pytest.mark.parametrize("key", [KEY7, (17, 1, 2, 3), (17, -1, 2, 3, 4, 5, 6), "key"])
def test_simple_refuses_a_tcp_or_bad_key(key: object) -> None:
    with pytest.raises((TypeError, ValueError, OverflowError)):
        _simple(_simple_arrays(), [key])


def test_simple_refuses_a_key_index_out_of_range() -> None:
    arrays = _simple_arrays()
    arrays[0][:] = 5
    with pytest.raises(IndexError):
        _simple(arrays, [UDP_KEY])


def test_expire_passes_on_what_its_python_part_raises() -> None:
    """An error in the Python part of expiry (here an interim record due) propagates, no crash."""
    assert conn_module.native is not None
    create = list(_create())
    create[3] = 1.0  # interim records every second
    create_t = tuple(create)
    arrays = _simple_arrays()
    table: dict = {}
    conn_module.native.simple(tuple(arrays), [UDP_KEY], table, [], (60.0, 60.0, 60.0), create_t, bytes(8192))

    def slow(conn: object, due: object) -> None:
        raise RuntimeError("from the Python part")

    with pytest.raises(RuntimeError, match="Python part"):
        conn_module.native.expire(
            create_t[4], create_t[0], table, [], 10.0, TIMERS, create_t, slow, (60.0, 60.0, 60.0)
        )
