"""Connection keys for a PacketBatch, and grouping of its rows by connection (vectorised).

Each endpoint (address, port, protocol) gets a 64-bit code. For IPv4 the code is a bijection of
the exact 56-bit value (so distinct IPv4 endpoints never share a code); IPv6 endpoints are hashed
with a per-process random key. Both directions of a connection share the unordered pair of codes;
the endpoint with the lower code is "A". ICMP uses (type, counterpart type) as ports so requests
and replies pair up as in Zeek; one-way ICMP messages use (type, code) and keep their direction.
Transports other than TCP/UDP/ICMP use ports 0/0.

Grouping sorts one packed uint64 per row — (pair hash, direction, row) — which is several times
faster than a multi-key lexsort; groups are then verified against the full codes and an exact
lexsort is used if two connections ever collide in the packed hash.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..decode.columns import PROTO_ICMP, PROTO_ICMP6, PROTO_TCP, PROTO_UDP, PacketBatch

U = np.uint64
_SALT = U(int.from_bytes(os.urandom(8), "little"))
_SALT6 = U(int.from_bytes(os.urandom(8), "little"))
_C1, _C2 = U(0xBF58476D1CE4E5B9), U(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64 (in place)."""
    x ^= x >> U(30)
    x *= _C1
    x ^= x >> U(27)
    x *= _C2
    x ^= x >> U(31)
    return x


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
    sport: np.ndarray  # int64 key ports (ICMP: type; counterpart type or code)
    dport: np.ndarray
    code_src: np.ndarray  # uint64 endpoint codes
    code_dst: np.ndarray
    from_a: np.ndarray  # bool: the row was sent by endpoint A (the lower code)


def _endpoint_code(hi: np.ndarray, lo: np.ndarray, port: np.ndarray, proto: np.ndarray, v4: np.ndarray) -> np.ndarray:  # fmt: skip
    tail = (port.astype(U) << U(8)) | proto.astype(U)
    code = ((lo & U(0xFFFFFFFF)) << U(24)) | tail
    code ^= _SALT
    _mix(code)
    if not v4.all():
        six = ~v4
        h = _mix(hi[six] ^ _SALT6)
        h ^= lo[six]
        _mix(h)
        h ^= tail[six]
        code[six] = _mix(h)
    return code


def canonical_keys(batch: PacketBatch) -> Keys:
    proto = batch.proto
    sport = batch.sport.astype(np.int64)
    dport = batch.dport.astype(np.int64)
    icmp4 = proto == PROTO_ICMP
    icmp6 = proto == PROTO_ICMP6
    is_icmp = icmp4 | icmp6
    one_way = None
    if is_icmp.any():
        icmp_type = np.clip(sport, 0, 255)
        counter = np.where(icmp4, ICMP4_COUNTERPART[icmp_type], ICMP6_COUNTERPART[icmp_type])
        one_way = is_icmp & (counter < 0)
        dport = np.where(is_icmp & ~one_way, counter, dport)
    other = ~(is_icmp | (proto == PROTO_TCP) | (proto == PROTO_UDP))
    if other.any():
        sport = np.where(other, 0, sport)
        dport = np.where(other, 0, dport)
    s_hi, s_lo, d_hi, d_lo = batch.src_hi, batch.src_lo, batch.dst_hi, batch.dst_lo
    v4_s = (s_hi == 0) & ((s_lo >> U(32)) == U(0xFFFF))
    v4_d = (d_hi == 0) & ((d_lo >> U(32)) == U(0xFFFF))
    code_src = _endpoint_code(s_hi, s_lo, sport, proto, v4_s)
    code_dst = _endpoint_code(d_hi, d_lo, dport, proto, v4_d)
    from_a = code_src < code_dst
    tie = code_src == code_dst
    if tie.any():
        # Same code both ways: the same endpoint (or an IPv6 hash collision): order exactly.
        t = np.flatnonzero(tie)
        sh, sl, dh, dl, sp, dp = s_hi[t], s_lo[t], d_hi[t], d_lo[t], sport[t], dport[t]
        from_a[t] = (sh < dh) | ((sh == dh) & ((sl < dl) | ((sl == dl) & (sp <= dp))))
    if one_way is not None:
        from_a |= one_way
    return Keys(sport=sport, dport=dport, code_src=code_src, code_dst=code_dst, from_a=from_a)


@dataclass(slots=True)
class Grouping:
    order: np.ndarray  # row indices sorted by (connection, direction A-first, row)
    group_start: np.ndarray  # positions in ``order`` where a connection starts
    group_of_seg: np.ndarray  # for each direction segment, its group index
    seg_start: np.ndarray  # positions in ``order`` where a (connection, direction) segment starts


def group_rows(keys: Keys) -> Grouping:
    n = len(keys.from_a)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Grouping(empty, empty, empty, empty)
    fa = keys.from_a
    code_a = np.where(fa, keys.code_src, keys.code_dst)
    code_b = np.where(fa, keys.code_dst, keys.code_src)
    pair = _mix(code_b.copy())
    pair ^= code_a
    _mix(pair)
    row_bits = max(int(n - 1).bit_length(), 1)
    packed = (pair >> U(row_bits + 1)) << U(row_bits + 1)
    packed |= (~fa).astype(U) << U(row_bits)
    packed |= np.arange(n, dtype=U)
    packed.sort()
    order = (packed & U((1 << row_bits) - 1)).astype(np.int64)
    seg_id = packed >> U(row_bits)
    new_seg = np.empty(n, dtype=bool)
    new_seg[0] = True
    np.not_equal(seg_id[1:], seg_id[:-1], out=new_seg[1:])
    new_key = np.empty(n, dtype=bool)
    new_key[0] = True
    grp = seg_id >> U(1)
    np.not_equal(grp[1:], grp[:-1], out=new_key[1:])
    group_start = np.flatnonzero(new_key)
    # Verify: every row of a group has the same endpoint codes as the group's first row.
    sizes = np.diff(np.append(group_start, n))
    ca, cb = code_a[order], code_b[order]
    if not (np.array_equal(ca, np.repeat(ca[group_start], sizes)) and np.array_equal(cb, np.repeat(cb[group_start], sizes))):  # fmt: skip
        order = np.lexsort((~fa, code_b, code_a))
        ca, cb, fs = code_a[order], code_b[order], fa[order]
        new_key[1:] = (ca[1:] != ca[:-1]) | (cb[1:] != cb[:-1])
        new_seg = new_key.copy()
        new_seg[1:] |= fs[1:] != fs[:-1]
        group_start = np.flatnonzero(new_key)
    seg_start = np.flatnonzero(new_seg)
    group_of_seg = np.cumsum(new_key)[seg_start] - 1
    return Grouping(order, group_start, group_of_seg, seg_start)


def key_tuples(batch: PacketBatch, keys: Keys, rows: np.ndarray) -> list[tuple]:
    """Exact canonical keys (proto, A addr hi, lo, B addr hi, lo, A port, B port) of some rows."""
    fa = keys.from_a[rows]
    s_hi, s_lo, d_hi, d_lo = batch.src_hi[rows], batch.src_lo[rows], batch.dst_hi[rows], batch.dst_lo[rows]
    sp, dp = keys.sport[rows], keys.dport[rows]
    return list(
        zip(
            batch.proto[rows].tolist(),
            np.where(fa, s_hi, d_hi).tolist(),
            np.where(fa, s_lo, d_lo).tolist(),
            np.where(fa, d_hi, s_hi).tolist(),
            np.where(fa, d_lo, s_lo).tolist(),
            np.where(fa, sp, dp).tolist(),
            np.where(fa, dp, sp).tolist(),
            strict=True,
        )
    )


def key_columns(batch: PacketBatch, keys: Keys, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """``key_tuples`` as seven columns (proto, A hi, A lo, B hi, B lo as int64/uint64, A port, B port):
    the C flow code reads these and makes a tuple only for the connections that need one."""
    fa = keys.from_a[rows]
    s_hi, s_lo, d_hi, d_lo = batch.src_hi[rows], batch.src_lo[rows], batch.dst_hi[rows], batch.dst_lo[rows]
    sp, dp = keys.sport[rows], keys.dport[rows]
    u, i = np.uint64, np.int64
    return (
        np.ascontiguousarray(batch.proto[rows], dtype=i),
        np.ascontiguousarray(np.where(fa, s_hi, d_hi), dtype=u),
        np.ascontiguousarray(np.where(fa, s_lo, d_lo), dtype=u),
        np.ascontiguousarray(np.where(fa, d_hi, s_hi), dtype=u),
        np.ascontiguousarray(np.where(fa, d_lo, s_lo), dtype=u),
        np.ascontiguousarray(np.where(fa, sp, dp), dtype=i),
        np.ascontiguousarray(np.where(fa, dp, sp), dtype=i),
    )
