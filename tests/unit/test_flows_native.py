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


# -- _tcprun.run's own checks: bad arguments raise, never crash ---------------------------------------

KEY = (6, 1, 2, 3, 4)
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
