"""Vectorised per-segment aggregates for the packets that cannot change a connection's state.

A segment is the run of one connection's rows from one direction in a batch (rows sorted by key,
direction, row). For plain TCP packets (ACK set, no SYN/FIN/RST) of endpoints already established,
Zeek's per-packet work reduces to running maxima and counts, which these functions compute for all
segments at once, relative to each segment's first packet (so they need no per-connection state);
``tcp.tcp_packet`` is the per-packet reference they must agree with.
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


def _relative_chain(raw: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Unwrapped 32-bit sequence numbers relative to their segment's first one (each within
    ±2^31 of the previous one of the segment)."""
    prev = np.empty_like(raw)
    prev[1:] = raw[:-1]
    prev[first] = raw[first]
    delta = ((raw - prev + HALF) & M32) - HALF
    cs = np.cumsum(delta)
    seg_len = np.diff(np.append(first, len(raw)))
    return cs - np.repeat(cs[first], seg_len)


@dataclass(slots=True)
class TcpSegments:
    """Per-segment results, relative to each segment's first packet (index i = i-th segment).

    With ``off`` = (unwrapped first seq) - (endpoint's last seq before the segment) >= 0, the
    retransmission and gap counts below are exact; the caller adds the first packet's own gap
    (``off`` bytes) and recomputes the rare segments with ``off`` < 0 through ``exact``.
    """

    first_raw_seq: list[int]
    last_raw_seq: list[int]
    last_rel_seq: list[int]
    max_rel_end: list[int]
    first_is_data: list[bool]
    rx: list[int]  # retransmitted data packets
    gaps: list[int]  # data packets starting beyond anything seen before them
    gap_bytes: list[int]
    first_raw_ack: list[int]
    last_raw_ack: list[int]
    last_rel_ack: list[int]
    max_rel_ack: list[int]
    w0: list[int]  # zero-window packets
    # per row, for locating the row where a scaled history letter (T, G, W) is reached
    rows: np.ndarray
    first: np.ndarray
    rel: np.ndarray
    rel_end: np.ndarray
    prefix_max: np.ndarray
    rx_flag: np.ndarray
    gap_flag: np.ndarray
    w0_flag: np.ndarray

    def bounds(self, i: int) -> tuple[int, int]:
        start = int(self.first[i])
        end = int(self.first[i + 1]) if i + 1 < len(self.first) else len(self.rows)
        return start, end

    def exact(self, i: int, off: int) -> None:
        """Recompute segment i for a negative ``off`` (it starts behind what was seen)."""
        start, end = self.bounds(i)
        rel, rel_end, pm = self.rel[start:end], self.rel_end[start:end], self.prefix_max[start:end]
        data = rel_end > rel
        prevmax = np.maximum(pm + off, 0)
        rx = data & (rel_end + off <= prevmax)
        gap = data & (rel + off > prevmax)
        self.rx_flag[start:end] = rx
        self.gap_flag[start:end] = gap
        self.rx[i] = int(rx.sum())
        self.gaps[i] = int(gap.sum())
        self.gap_bytes[i] = int(np.where(gap, rel + off - prevmax, 0).sum())


def tcp_segments(
    seg_id: np.ndarray, first: np.ndarray, rows: np.ndarray, seq: np.ndarray, ack: np.ndarray, plen: np.ndarray, win: np.ndarray
) -> TcpSegments:  # fmt: skip
    """Sequence/ack bookkeeping for plain TCP packets; arrays hold the selected segments' rows."""
    s = seq.astype(np.int64)
    a = ack.astype(np.int64)
    length = plen.astype(np.int64)
    rel = _relative_chain(s, first)
    rel_a = _relative_chain(a, first)
    rel_end = rel + length
    shifted = np.clip(rel_end, -CLIP, CLIP) + seg_id * SEG_OFFSET
    incl = np.maximum.accumulate(shifted) - seg_id * SEG_OFFSET
    prefix_max = np.empty_like(incl)
    prefix_max[1:] = incl[:-1]
    prefix_max[first] = -CLIP
    data = length > 0
    rx_flag = data & (rel_end <= prefix_max)
    gap_flag = data & (rel > prefix_max)
    gap_flag[first] = False  # the first packet's gap depends on the stored state: the caller's job
    gap_amount = np.where(gap_flag, rel - prefix_max, 0)
    w0_flag = win == 0
    end_pos = np.empty_like(first)
    end_pos[:-1] = first[1:] - 1
    end_pos[-1] = len(s) - 1
    return TcpSegments(
        first_raw_seq=s[first].tolist(),
        last_raw_seq=s[end_pos].tolist(),
        last_rel_seq=rel[end_pos].tolist(),
        max_rel_end=incl[end_pos].tolist(),
        first_is_data=data[first].tolist(),
        rx=np.add.reduceat(rx_flag, first).tolist(),
        gaps=np.add.reduceat(gap_flag, first).tolist(),
        gap_bytes=np.add.reduceat(gap_amount, first).tolist(),
        first_raw_ack=a[first].tolist(),
        last_raw_ack=a[end_pos].tolist(),
        last_rel_ack=rel_a[end_pos].tolist(),
        max_rel_ack=np.maximum.reduceat(rel_a, first).tolist(),
        w0=np.add.reduceat(w0_flag, first).tolist(),
        rows=rows,
        first=first,
        rel=rel,
        rel_end=rel_end,
        prefix_max=prefix_max,
        rx_flag=rx_flag,
        gap_flag=gap_flag,
        w0_flag=w0_flag,
    )


def nth_row(flags: np.ndarray, rows: np.ndarray, start: int, end: int, n: int) -> int:
    """Batch row of the n-th (1-based) set flag in flags[start:end]."""
    hits = np.flatnonzero(flags[start:end])
    return int(rows[start + hits[n - 1]])
