"""Vectorised per-segment aggregates for the packets that cannot change a connection's state.

A segment is the run of one connection's rows from one direction in a batch (rows sorted by key,
direction, row). For plain TCP packets (ACK set, no SYN/FIN/RST) of endpoints already established,
Zeek's per-packet work reduces to running maxima and counts, which these functions compute for all
segments at once; ``tcp.tcp_packet`` is the per-packet reference they must agree with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

M32 = np.int64(0xFFFFFFFF)
HALF = np.int64(0x80000000)
SEG_OFFSET = np.int64(1 << 42)  # separates segments in one global running maximum
CLIP = 1 << 40


def segment_positions(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated positions of the ranges [starts[i], ends[i]); also each position's range index
    and where each range begins in the concatenation."""
    lengths = ends - starts
    first = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1], out=first[1:])
    total = int(lengths.sum())
    seg_id = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    pos = np.arange(total, dtype=np.int64) - first[seg_id] + starts[seg_id]
    return pos, seg_id, first


def _unwrap_chain(raw: np.ndarray, seg_id: np.ndarray, first: np.ndarray, ref_raw: np.ndarray, ref_abs: np.ndarray) -> np.ndarray:  # fmt: skip
    """Unwrapped values of 32-bit sequence numbers, each within ±2^31 of the previous one of its
    segment (the first one relative to the segment's stored reference)."""
    prev = np.empty_like(raw)
    prev[1:] = raw[:-1]
    prev[first] = ref_raw
    delta = ((raw - prev + HALF) & M32) - HALF
    cs = np.cumsum(delta)
    before = cs[first] - delta[first]
    return ref_abs[seg_id] + cs - before[seg_id]


@dataclass(slots=True)
class TcpSegments:
    """Results for the selected TCP segments (index i = i-th selected segment)."""

    last_raw_seq: list[int]
    last_abs_seq: list[int]
    new_last: list[int]
    rx: list[int]  # retransmitted data packets
    gaps: list[int]  # packets starting beyond anything seen
    gap_bytes: list[int]
    last_raw_ack: list[int]
    last_abs_ack: list[int]
    max_ack: list[int]
    w0: list[int]  # zero-window packets
    # for locating the row where a scaled history letter (T, G, W) is reached
    rows: np.ndarray
    first: np.ndarray
    rx_flag: np.ndarray
    gap_flag: np.ndarray
    w0_flag: np.ndarray


def tcp_segments(
    pos: np.ndarray,
    seg_id: np.ndarray,
    first: np.ndarray,
    rows: np.ndarray,
    seq: np.ndarray,
    ack: np.ndarray,
    plen: np.ndarray,
    win: np.ndarray,
    sref: np.ndarray,
    sabs: np.ndarray,
    last: np.ndarray,
    aref: np.ndarray,
    aabs: np.ndarray,
) -> TcpSegments:
    """Sequence/ack bookkeeping for plain TCP packets; arrays are already restricted to the
    selected segments' rows (``pos`` order), per-segment state arrays are int64."""
    s = seq.astype(np.int64)
    a = ack.astype(np.int64)
    length = plen.astype(np.int64)
    abs_seq = _unwrap_chain(s, seg_id, first, sref, sabs)
    abs_ack = _unwrap_chain(a, seg_id, first, aref, aabs)
    last_b = last[seg_id]
    v_start = abs_seq - last_b
    v_end = v_start + length
    shifted = np.clip(v_end, -CLIP, CLIP) + seg_id * SEG_OFFSET
    incl = np.maximum.accumulate(shifted) - seg_id * SEG_OFFSET
    prevmax = np.empty_like(incl)
    prevmax[1:] = incl[:-1]
    prevmax[first] = 0
    np.maximum(prevmax, 0, out=prevmax)
    data = length > 0
    rx_flag = data & (v_end <= prevmax)
    gap_flag = data & (v_start > prevmax)
    gap_amount = np.where(gap_flag, v_start - prevmax, 0)
    w0_flag = win == 0
    end_pos = np.empty_like(first)
    end_pos[:-1] = first[1:] - 1
    end_pos[-1] = len(s) - 1
    new_last = last + np.maximum(incl[end_pos], 0)
    return TcpSegments(
        last_raw_seq=s[end_pos].tolist(),
        last_abs_seq=abs_seq[end_pos].tolist(),
        new_last=new_last.tolist(),
        rx=np.add.reduceat(rx_flag, first).tolist(),
        gaps=np.add.reduceat(gap_flag, first).tolist(),
        gap_bytes=np.add.reduceat(gap_amount, first).tolist(),
        last_raw_ack=a[end_pos].tolist(),
        last_abs_ack=abs_ack[end_pos].tolist(),
        max_ack=np.maximum.reduceat(abs_ack, first).tolist(),
        w0=np.add.reduceat(w0_flag, first).tolist(),
        rows=rows,
        first=first,
        rx_flag=rx_flag,
        gap_flag=gap_flag,
        w0_flag=w0_flag,
    )


def nth_row(flags: np.ndarray, rows: np.ndarray, start: int, end: int, n: int) -> int:
    """Batch row of the n-th (1-based) set flag in flags[start:end]."""
    hits = np.flatnonzero(flags[start:end])
    return int(rows[start + hits[n - 1]])
