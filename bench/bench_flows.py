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
    )


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


if __name__ == "__main__":
    main()
