"""Canonical connection keys for a PacketBatch, and grouping of its rows by connection (vectorised).

Both directions of a connection map to one key: the endpoint (address, port) that sorts lower is
"A". ICMP uses (type, counterpart type) as ports so that requests and replies pair up the way Zeek
pairs them; one-way ICMP messages (errors, unpaired types) use (type, code) and are not reordered.
Transports other than TCP/UDP/ICMP use ports 0/0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wardwatch.ingest.decode.columns import PROTO_ICMP, PROTO_ICMP6, PROTO_TCP, PROTO_UDP, PacketBatch


def _counterpart_table(pairs: list[tuple[int, int]]) -> np.ndarray:
    table = np.full(256, -1, dtype=np.int32)
    for a, b in pairs:
        table[a], table[b] = b, a
    return table


# Zeek's ICMP4_counterpart / ICMP6_counterpart: request/reply types that form one connection.
ICMP4_COUNTERPART = _counterpart_table([(8, 0), (13, 14), (15, 16), (10, 9), (17, 18)])
ICMP6_COUNTERPART = _counterpart_table([(128, 129), (133, 134), (135, 136), (130, 131), (139, 140), (144, 145), (146, 147)])  # fmt: skip


@dataclass(slots=True)
class Keys:
    proto: np.ndarray  # uint8
    a_hi: np.ndarray  # uint64, canonical endpoint A
    a_lo: np.ndarray
    b_hi: np.ndarray
    b_lo: np.ndarray
    a_port: np.ndarray  # int64 (ICMP: type or counterpart/code)
    b_port: np.ndarray
    from_a: np.ndarray  # bool: the row was sent by endpoint A


def canonical_keys(batch: PacketBatch) -> Keys:
    proto = batch.proto
    sport = batch.sport.astype(np.int64)
    dport = batch.dport.astype(np.int64)
    icmp4 = proto == PROTO_ICMP
    icmp6 = proto == PROTO_ICMP6
    transport = (proto == PROTO_TCP) | (proto == PROTO_UDP)
    one_way = np.zeros(len(proto), dtype=bool)
    if icmp4.any() or icmp6.any():
        icmp_type = np.clip(sport, 0, 255)
        counter = np.where(icmp4, ICMP4_COUNTERPART[icmp_type], ICMP6_COUNTERPART[icmp_type])
        is_icmp = icmp4 | icmp6
        one_way = is_icmp & (counter < 0)
        dport = np.where(is_icmp & ~one_way, counter, dport)
        transport |= is_icmp
    sport = np.where(transport, sport, 0)
    dport = np.where(transport, dport, 0)
    s_hi, s_lo, d_hi, d_lo = batch.src_hi, batch.src_lo, batch.dst_hi, batch.dst_lo
    swap = (s_hi > d_hi) | ((s_hi == d_hi) & ((s_lo > d_lo) | ((s_lo == d_lo) & (sport > dport))))
    swap &= ~one_way
    return Keys(
        proto=proto,
        a_hi=np.where(swap, d_hi, s_hi),
        a_lo=np.where(swap, d_lo, s_lo),
        b_hi=np.where(swap, s_hi, d_hi),
        b_lo=np.where(swap, s_lo, d_lo),
        a_port=np.where(swap, dport, sport),
        b_port=np.where(swap, sport, dport),
        from_a=~swap,
    )


@dataclass(slots=True)
class Grouping:
    order: np.ndarray  # row indices sorted by (key, direction, row)
    group_start: np.ndarray  # positions in ``order`` where a connection key starts
    group_of_seg: np.ndarray  # for each direction segment, its group index
    seg_start: np.ndarray  # positions in ``order`` where a (key, direction) segment starts


def group_rows(keys: Keys) -> Grouping:
    """Sort rows by key then direction (stable, so row order holds inside each segment)."""
    k = keys
    order = np.lexsort((~k.from_a, k.b_port, k.a_port, k.b_lo, k.b_hi, k.a_lo, k.a_hi, k.proto))
    n = len(order)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Grouping(order, empty, empty, empty)
    new_key = np.zeros(n, dtype=bool)
    new_key[0] = True
    for col in (k.proto, k.a_hi, k.a_lo, k.b_hi, k.b_lo, k.a_port, k.b_port):
        s = col[order]
        new_key[1:] |= s[1:] != s[:-1]
    fa = k.from_a[order]
    new_seg = new_key.copy()
    new_seg[1:] |= fa[1:] != fa[:-1]
    group_start = np.flatnonzero(new_key)
    seg_start = np.flatnonzero(new_seg)
    group_of_seg = np.cumsum(new_key)[seg_start] - 1
    return Grouping(order, group_start, group_of_seg, seg_start)
