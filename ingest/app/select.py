"""Vectorised choice of the packets application analysers must read (the rest never reach Python).

A row is a candidate when it carries payload and either belongs to a connection an analyser is in
the middle of reading, or looks like the start of something we parse (a TLS ClientHello record, an
HTTP request or status line, a QUIC v1/v2 Initial) or uses one of the inspected ports, unless its
connection is already finished.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..decode.columns import PROTO_TCP, PROTO_UDP, PacketBatch
from .http import METHODS

KIND_OTHER = 0
KIND_TLS = 1  # TLS handshake record carrying a ClientHello
KIND_HTTP_REQUEST = 2
KIND_HTTP_RESPONSE = 3
KIND_QUIC = 4  # long-header QUIC v1/v2 Initial in a datagram padded to the 1200-byte client minimum

QUIC_MIN_DATAGRAM = 1200
_QUIC_VERSIONS = np.array([0x00000001, 0x6B3343CF], dtype=np.uint32)


def _word(text: bytes) -> int:
    return int.from_bytes(text, "big")


# First four payload bytes of an HTTP request (method plus space, or the method's first four letters).
_REQUEST_WORDS = np.array(
    sorted(
        _word(m)
        for m in (b"GET ", b"POST", b"HEAD", b"PUT ", b"DELE", b"OPTI", b"CONN", b"PATC", b"TRAC", b"PROP")
    ),
    dtype=np.uint32,
)
_RESPONSE_WORD = _word(b"HTTP")


@dataclass(slots=True)
class Candidates:
    rows: np.ndarray  # int64 row indexes into the batch, in capture order
    kind: np.ndarray  # uint8 KIND_* of each selected row


def member(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """np.isin(values, pool) by binary search in the sorted pool. np.isin and np.unique import
    numpy.ma on first use (~7 ms of every sensor's start-up), and are slower for these sizes."""
    if not len(pool):
        return np.zeros(len(values), dtype=bool)
    pool = np.sort(pool, kind="stable")  # already sorted (the usual case): one linear pass
    pos = np.minimum(np.searchsorted(pool, values), len(pool) - 1)
    return pool[pos] == values


def first_bytes(batch: PacketBatch, rows: np.ndarray, count: int) -> np.ndarray:
    """(len(rows), count) uint8 matrix of each row's first payload bytes, zero past the captured end."""
    buf = np.frombuffer(batch.buf, dtype=np.uint8)
    if not len(buf) or not len(rows):
        return np.zeros((len(rows), count), dtype=np.uint8)
    idx = batch.payload_off[rows][:, None] + np.arange(count, dtype=np.int64)[None, :]
    present = np.arange(count)[None, :] < batch.payload_cap[rows][:, None]
    return np.where(present, buf[np.minimum(idx, len(buf) - 1)], 0).astype(np.uint8)


_FIRST = np.zeros(256, dtype=bool)  # first payload bytes that can start something we parse
_FIRST[0x16] = True
_FIRST[0xC0:] = True  # QUIC long header
for _m in (*METHODS, b"HTTP"):  # requests, and responses
    _FIRST[_m[0]] = True


def classify(batch: PacketBatch, rows: np.ndarray) -> np.ndarray:
    """KIND_* of each row from its first payload bytes (rows must have payload)."""
    kind = np.zeros(len(rows), dtype=np.uint8)
    buf = np.frombuffer(batch.buf, dtype=np.uint8)
    if not len(rows) or not len(buf):
        return kind
    # One byte for every row, six only for the few whose first byte could start something.
    maybe = np.flatnonzero(_FIRST[buf[batch.payload_off[rows]]])
    sub = rows[maybe]
    head = first_bytes(batch, sub, 6).astype(np.uint32)
    word = (head[:, 0] << 24) | (head[:, 1] << 16) | (head[:, 2] << 8) | head[:, 3]
    proto = batch.proto[sub]
    tcp = proto == PROTO_TCP
    k = np.zeros(len(sub), dtype=np.uint8)
    k[tcp & (head[:, 0] == 0x16) & (head[:, 1] == 3) & (head[:, 5] == 1)] = KIND_TLS
    k[tcp & member(word, _REQUEST_WORDS)] = KIND_HTTP_REQUEST
    k[tcp & (word == _RESPONSE_WORD) & (head[:, 4] == ord("/"))] = KIND_HTTP_RESPONSE
    version = (head[:, 1] << 24) | (head[:, 2] << 16) | (head[:, 3] << 8) | head[:, 4]
    quic = (
        (proto == PROTO_UDP)
        & ((head[:, 0] & 0xC0) == 0xC0)
        & (batch.payload_len[sub] >= QUIC_MIN_DATAGRAM)
        & member(version, _QUIC_VERSIONS)
    )
    k[quic] = KIND_QUIC
    kind[maybe] = k
    return kind


def select_candidates(
    batch: PacketBatch,
    flow: np.ndarray,
    from_orig: np.ndarray,
    port_table: np.ndarray,
    active: np.ndarray,
    done: np.ndarray,
    http_quiet: np.ndarray,
    cap_table: np.ndarray,
    default_cap: int,
) -> Candidates:
    """Rows to hand to the analysers, and the kind their first bytes suggest."""
    rows = np.flatnonzero((batch.payload_cap > 0) & ((batch.proto == PROTO_TCP) | (batch.proto == PROTO_UDP)))
    if not len(rows):
        return Candidates(rows, np.zeros(0, dtype=np.uint8))
    kind = classify(batch, rows)
    f = flow[rows]
    tcp = batch.proto[rows] == PROTO_TCP
    port = tcp & (port_table[batch.sport[rows]] | port_table[batch.dport[rows]])
    opening = (kind != KIND_OTHER) | port
    in_active = member(f, active)
    # A ClientHello or request head may continue in later segments of this same batch, before the
    # tracker could mark its connection active: keep the rest of that direction's rows too.
    dirkey = f * 2 + from_orig[rows]
    starts = dirkey[(kind == KIND_TLS) | (kind == KIND_HTTP_REQUEST)]
    if len(starts):
        in_active |= member(dirkey, starts)
    # Finished or quiet connections are only looked up for the (few) opening-like rows.
    open_idx = np.flatnonzero(opening & ~in_active)
    of = f[open_idx]
    finished = member(of, done)
    quiet = member(of, http_quiet)
    ok = ~finished & ~quiet
    ok |= quiet & ((kind[open_idx] == KIND_HTTP_REQUEST) | (kind[open_idx] == KIND_HTTP_RESPONSE))
    keep = in_active.copy()
    keep[open_idx[ok]] = True
    sel = np.flatnonzero(keep)
    if len(sel) > 1:
        sel = sel[~copies(batch, rows[sel], dirkey[sel])]
    if len(sel):
        # No analyser reads more than a few packets of a direction: cap the rows per direction here
        # (HTTP request/status lines excepted) so that short connections cost little Python.
        sk = dirkey[sel]
        ports = np.maximum(cap_table[batch.sport[rows[sel]]], cap_table[batch.dport[rows[sel]]])
        limit = np.maximum(ports, default_cap)
        http = (kind[sel] == KIND_HTTP_REQUEST) | (kind[sel] == KIND_HTTP_RESPONSE)
        sel = sel[(rank_within(sk) < limit) | http]
    return Candidates(rows[sel], kind[sel])


def copies(batch: PacketBatch, rows: np.ndarray, dirkey: np.ndarray) -> np.ndarray:
    """Mask of the TCP rows that repeat an earlier row of the same direction (same sequence number
    and length): SPAN ports deliver every packet twice, and a copy must neither reach Python nor use
    up the per-direction row cap. The tracker drops the copies that land in a later batch."""
    out = np.zeros(len(rows), dtype=bool)
    t = np.flatnonzero(batch.proto[rows] == PROTO_TCP)  # UDP has no sequence numbers: never copies here
    if len(t) < 2:
        return out
    r, k = rows[t], dirkey[t]
    # Sequence number and length in one word (a bijection: equal words mean equal pairs); lexsort
    # is stable, so equal rows stay in capture order and the first of each run is the original.
    seqlen = (batch.tcp_seq[r].astype(np.uint64) << np.uint64(32)) | batch.payload_len[r].astype(np.uint32)
    order = np.lexsort((seqlen, k))
    k, seqlen = k[order], seqlen[order]
    same = np.zeros(len(t), dtype=bool)
    same[1:] = (k[1:] == k[:-1]) & (seqlen[1:] == seqlen[:-1])
    out[t[order[same]]] = True
    return out


def rank_within(keys: np.ndarray) -> np.ndarray:
    """Position of each element among the elements with the same key, in array order."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    idx = np.arange(len(keys))
    first = np.ones(len(keys), dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    group_start = np.maximum.accumulate(np.where(first, idx, 0))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = idx - group_start
    return rank
