"""Throughput of FlowMeter.process() on synthetic established TCP traffic (not a test).

    python bench/bench_flows.py [--flows 4096] [--batches 20] [--batch-rows 131072]

Each flow is an established connection (handshake sent in a warm-up batch), then batches of
data/ACK packets interleaved at random across flows, with in-order sequence numbers.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from wardwatch.ingest.decode.columns import ACK, PSH, SYN, PacketBatch
from wardwatch.ingest.flows import FlowConfig, FlowMeter

from wardwatch.counters import Counters


def make_batch(
    flow: np.ndarray, to_server: np.ndarray, ts: np.ndarray, flags: np.ndarray, plen: np.ndarray,
    seq: np.ndarray, ack: np.ndarray,
) -> PacketBatch:  # fmt: skip
    n = len(flow)
    client_lo = (0xFFFF0A000000 + flow).astype(np.uint64)  # 10.0.x.y
    server_lo = np.full(n, 0xFFFFC0A80001 + 0, dtype=np.uint64) + (flow % 64).astype(np.uint64)
    cport = (20000 + flow % 40000).astype(np.uint16)
    sport = np.full(n, 443, dtype=np.uint16)
    zero = np.zeros(n, dtype=np.uint64)
    return PacketBatch(
        buf=b"",
        ts=ts,
        source=np.zeros(n, np.int16),
        frame=np.arange(1, n + 1, dtype=np.int64),
        ip_version=np.full(n, 4, np.uint8),
        src_hi=zero,
        src_lo=np.where(to_server, client_lo, server_lo),
        dst_hi=zero,
        dst_lo=np.where(to_server, server_lo, client_lo),
        proto=np.full(n, 6, np.uint8),
        sport=np.where(to_server, cport, sport),
        dport=np.where(to_server, sport, cport),
        ip_len=(40 + plen).astype(np.int32),
        payload_off=np.zeros(n, np.int64),
        payload_len=plen.astype(np.int32),
        payload_cap=np.zeros(n, np.int32),
        tcp_flags=flags.astype(np.uint8),
        tcp_seq=(seq & 0xFFFFFFFF).astype(np.uint32),
        tcp_ack=(ack & 0xFFFFFFFF).astype(np.uint32),
        tcp_win=np.full(n, 1024, np.uint16),
        vlan=np.full(n, -1, np.int32),
        tunnel=np.zeros(n, np.uint8),
        encap=np.zeros(n, np.uint8),
    )


def complete_connections(rows: int, per_conn: int, t0: float, rng: np.random.Generator) -> PacketBatch:
    """Whole connections of ``per_conn`` packets (handshake, alternating data/ACK, FIN exchange),
    interleaved in time: the per-packet path handles their opening and closing packets."""
    n_conn = rows // per_conn
    f = np.repeat(np.arange(n_conn), per_conn)
    step = np.tile(np.arange(per_conn), n_conn)
    last = per_conn - 1
    to_server = np.where(step < 3, step != 1, step % 2 == 1)
    to_server[step == last - 2] = True  # client FIN
    to_server[step == last - 1] = False  # server FIN
    to_server[step == last] = True  # final ACK
    flags = np.where(step == 0, SYN, np.where(step == 1, SYN | ACK, ACK | PSH))
    flags = np.where((step == last - 2) | (step == last - 1), 0x11, flags)
    flags = np.where((step == 2) | (step == last), ACK, flags)
    middle = (step >= 3) & (step < last - 2)
    plen = np.where(middle & ~to_server, 1000, np.where(middle, 0, 0))
    flags = np.where(middle & (plen == 0), ACK, flags)
    # sequence numbers: cumulative payload per side (+1 after the SYN)
    seq = np.zeros(len(f), dtype=np.int64)
    ack = np.zeros(len(f), dtype=np.int64)
    srv_sent = np.cumsum(np.where(~to_server, plen, 0).reshape(n_conn, per_conn), axis=1).ravel()
    srv_before = srv_sent - np.where(~to_server, plen, 0)
    seq[to_server] = 1001 + (step[to_server] >= last - 1)
    seq[~to_server] = np.where(step[~to_server] == 1, 5000, 5001 + srv_before[~to_server])
    ack[to_server] = np.where(step[to_server] == 0, 0, 5001 + srv_sent[to_server] + (step[to_server] == last))
    ack[~to_server] = 1001 + (step[~to_server] == last - 1)
    start = rng.random(n_conn)
    ts = t0 + start[f] + step * 1e-3
    o = np.argsort(ts, kind="stable")
    return make_batch(f[o], to_server[o], ts[o], flags[o], plen[o], seq[o], ack[o])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, default=4096)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-rows", type=int, default=131072)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    nf = args.flows
    isn_c = rng.integers(0, 2**32, nf)
    isn_s = rng.integers(0, 2**32, nf)
    next_c = isn_c + 1
    next_s = isn_s + 1
    meter = FlowMeter(Counters(), FlowConfig())

    # Warm-up: three-way handshakes.
    f = np.repeat(np.arange(nf), 3)
    step = np.tile(np.arange(3), nf)
    to_server = step != 1
    flags = np.choose(step, [SYN, SYN | ACK, ACK])
    seq = np.choose(step, [isn_c[f], isn_s[f], next_c[f]])
    ack = np.choose(step, [np.zeros(len(f), np.int64), next_c[f], next_s[f]])
    ts = 1_700_000_000.0 + np.arange(len(f)) * 1e-5
    meter.process(make_batch(f, to_server, ts, flags, np.zeros(len(f)), seq, ack))
    t0 = ts[-1]

    total = 0
    elapsed = 0.0
    rows = args.batch_rows
    for b in range(args.batches):
        f = rng.integers(0, nf, rows)
        to_server = rng.random(rows) < 0.4
        plen = np.where(rng.random(rows) < 0.7, rng.integers(1, 1449, rows), 0)
        # per-flow in-order sequence numbers: cumulative payload within the batch
        seq = np.zeros(rows, dtype=np.int64)
        ack = np.zeros(rows, dtype=np.int64)
        for side, nxt, other in ((True, next_c, next_s), (False, next_s, next_c)):
            m = to_server == side
            idx = np.flatnonzero(m)
            ff = f[idx]
            o = np.argsort(ff, kind="stable")
            sorted_f = ff[o]
            lens = plen[idx][o]
            cs = np.cumsum(lens)
            starts = np.r_[0, np.flatnonzero(np.diff(sorted_f)) + 1]
            base = np.repeat(cs[starts] - lens[starts], np.diff(np.r_[starts, len(o)]))
            offs = cs - lens - base
            seq[idx[o]] = nxt[sorted_f] + offs
            ack[idx] = other[ff]
            np.add.at(nxt, sorted_f, lens)
        flags = np.where(plen > 0, ACK | PSH, ACK)
        ts = t0 + b + np.arange(rows) * (1.0 / rows)
        batch = make_batch(f, to_server, ts, flags, plen, seq, ack)
        start = time.perf_counter()
        meter.process(batch)
        meter.expire(float(ts[-1]))
        elapsed += time.perf_counter() - start
        total += rows
    print(f"flows={nf} batches={args.batches} rows/batch={rows}")
    print(f"process+expire: {total / elapsed:,.0f} pkt/s ({elapsed / args.batches * 1e3:.1f} ms/batch)")
    print("counters:", dict(meter.counters))
    for per_conn in (10, 60, 400):
        meter = FlowMeter(Counters(), FlowConfig())
        elapsed, total, records = 0.0, 0, 0
        for b in range(3):
            batch = complete_connections(rows, per_conn, t0 + 1000 + 10 * b, rng)
            start = time.perf_counter()
            meter.process(batch)
            records += len(meter.expire(float(batch.ts.max()) + 30))
            elapsed += time.perf_counter() - start
            total += len(batch)
        print(f"complete connections of {per_conn} packets: {total / elapsed:,.0f} pkt/s "
              f"(including {records} conn records)")  # fmt: skip


if __name__ == "__main__":
    main()
