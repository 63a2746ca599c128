"""Merge several files' batch streams into one stream in time order, in batches of bounded size.

The merge compares the files' head frames by (timestamp, rank), where rank is the file's position
once the files are sorted by first timestamp: like ``heapq.merge``, it never reorders frames of one
file, and on equal timestamps the earlier-ranked file goes first. It moves whole runs of frames at
a time (found with numpy), so files that do not overlap in time pass through as they were read.
A file is only opened once the merge reaches its first timestamp.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from . import piece
from .batch import RawBatch


@dataclass
class Pending:
    first_ts: float
    rank: int  # breaks ties between equal first timestamps (the file's index in the input)
    open: Callable[[], Iterator[RawBatch]]


class _Cursor:
    def __init__(self, rank: int, it: Iterator[RawBatch]) -> None:
        self.rank = rank
        self._it = it
        self.batch: RawBatch | None = None
        self.pos = 0
        self.next_batch()

    def next_batch(self) -> None:
        """Move to the next non-empty batch; ``batch`` is None when the file is done."""
        self.pos = 0
        self.batch = next((b for b in self._it if len(b)), None)

    def key(self) -> tuple[float, int]:
        assert self.batch is not None
        return float(self.batch.ts[self.pos]), self.rank


def merge_batches(files: list[Pending], batch_frames: int) -> Iterator[RawBatch]:
    """Merge ``files`` (ranked by first timestamp, then rank); batches of at most ``batch_frames``."""
    ordered = sorted(files, key=lambda p: (p.first_ts, p.rank))
    # from here on a file's rank is its position in that order: it decides ties between frames
    pending = deque(Pending(p.first_ts, r, p.open) for r, p in enumerate(ordered))
    active: list[_Cursor] = []
    out = _Assembler(batch_frames)
    while active or pending:
        low = min((c.key() for c in active), default=None)
        while pending and (low is None or (pending[0].first_ts, pending[0].rank) <= low):
            p = pending.popleft()
            cursor = _Cursor(p.rank, p.open())
            if cursor.batch is not None:
                active.append(cursor)
                low = cursor.key() if low is None else min(low, cursor.key())
        if not active:
            continue
        lead = min(active, key=_Cursor.key)
        bound = min((c.key() for c in active if c is not lead), default=None)
        if pending:
            head = (pending[0].first_ts, pending[0].rank)
            bound = head if bound is None else min(bound, head)
        batch = lead.batch
        assert batch is not None
        if bound is None:
            stop = len(batch)
        else:
            stop = lead.pos + _run_length(batch.ts, lead.pos, bound[0], lead.rank < bound[1])
        yield from out.add(batch, lead.pos, stop)
        lead.pos = stop
        if stop >= len(batch):
            lead.next_batch()
            if lead.batch is None:
                active.remove(lead)
    yield from out.flush()


def _run_length(ts: np.ndarray, pos: int, bound: float, wins_ties: bool) -> int:
    """How many frames from ``pos`` go before a frame stamped ``bound``; at least one."""
    n = ts.shape[0] - pos
    i, size = 0, 256
    while i < n:
        seg = ts[pos + i : pos + min(n, i + size)]
        late = np.flatnonzero(seg > bound if wins_ties else seg >= bound)
        if late.size:
            return max(1, i + int(late[0]))
        i += size
        size *= 4  # gallop: interleaved files pay little, long runs few numpy calls
    return n


class _Assembler:
    """Collects runs (batch, start, stop) into output batches of at most ``limit`` frames.

    A batch is also closed once its bytes reach MAX_PIECE_BYTES, so small scans of a big file
    are not glued back into one huge buffer.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.runs: list[tuple[RawBatch, int, int]] = []
        self.n = 0
        self.bytes = 0

    def add(self, batch: RawBatch, a: int, b: int) -> Iterator[RawBatch]:
        while a < b:
            take = min(b - a, self.limit - self.n)
            self.runs.append((batch, a, a + take))
            self.n += take
            end = a + take - 1
            self.bytes += int(batch.offset[end]) + int(batch.caplen[end]) - int(batch.offset[a])
            a += take
            if self.n == self.limit or self.bytes >= piece.MAX_PIECE_BYTES:
                yield self._emit()

    def flush(self) -> Iterator[RawBatch]:
        if self.n:
            yield self._emit()

    def _emit(self) -> RawBatch:
        runs, self.runs, self.n, self.bytes = self.runs, [], 0, 0
        if len(runs) == 1:
            batch, a, b = runs[0]
            if a == 0 and b == len(batch):
                return batch
        parts: list[memoryview] = []
        offsets: list[np.ndarray] = []
        base = 0
        for batch, a, b in runs:
            start = int(batch.offset[a])
            end = int(batch.offset[b - 1]) + int(batch.caplen[b - 1])
            parts.append(memoryview(batch.buf)[start:end])
            offsets.append(batch.offset[a:b] - start + base)
            base += end - start

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(batch, name)[a:b] for batch, a, b in runs])

        return RawBatch(
            buf=b"".join(parts),
            ts=cat("ts"),
            offset=np.concatenate(offsets),
            caplen=cat("caplen"),
            wirelen=cat("wirelen"),
            linktype=cat("linktype"),
            source=cat("source"),
            frame=cat("frame"),
        )
