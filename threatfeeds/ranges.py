"""Address ranges (single addresses and CIDRs) flattened into sorted disjoint segments.

CIDR blocks either nest or are disjoint, so one sweep turns them into segments that each carry the id
of the innermost block covering them: a lookup is one binary search, and for IPv4 it is vectorised
with numpy over a whole column of addresses.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np


def flatten(items: list[tuple[int, int, int]]) -> tuple[list[int], list[int], list[int]]:
    """Nested-or-disjoint ``(start, end, id)`` ranges → disjoint segments ``starts, ends, ids``."""
    starts: list[int] = []
    ends: list[int] = []
    ids: list[int] = []

    def emit(s: int, e: int, v: int) -> None:
        if s <= e:
            starts.append(s)
            ends.append(e)
            ids.append(v)

    stack: list[tuple[int, int]] = []  # (end, id) of the blocks that cover the current position
    pos = 0
    for s, e, v in sorted(items, key=lambda t: (t[0], -t[1])):
        while stack and stack[-1][0] < s:
            top_end, top_id = stack.pop()
            emit(pos, top_end, top_id)
            pos = top_end + 1
        if stack:
            emit(pos, s - 1, stack[-1][1])
        stack.append((e, v))
        pos = s
    while stack:
        top_end, top_id = stack.pop()
        emit(pos, top_end, top_id)
        pos = top_end + 1
    return starts, ends, ids


class RangeTable:
    """Lookup of 32-bit (numpy) or 128-bit (bisect) addresses in flattened ranges."""

    __slots__ = ("bits", "starts", "ends", "ids", "_pstarts", "_pends", "_pids")

    def __init__(self, items: list[tuple[int, int, int]], bits: int) -> None:
        self.bits = bits
        s, e, i = flatten(items)
        self.ids = np.asarray(i, dtype=np.int64)
        if bits == 32:
            # numpy only: 1M IPv4 indicators as Python int lists would cost ~100 MB.
            self.starts = np.asarray(s, dtype=np.uint32)
            self.ends = np.asarray(e, dtype=np.uint32)
            self._pstarts = self._pends = self._pids = []
        else:
            self.starts = self.ends = np.empty(0, dtype=np.uint32)
            self._pstarts, self._pends, self._pids = s, e, i

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, addr: int) -> int:
        """Id of the innermost range holding ``addr``, or -1."""
        if self.bits == 32:
            return int(self.lookup32(np.asarray([addr], dtype=np.uint32))[0])
        k = bisect_right(self._pstarts, addr) - 1
        if k >= 0 and addr <= self._pends[k]:
            return self._pids[k]
        return -1

    def lookup32(self, addrs: np.ndarray) -> np.ndarray:
        """Vectorised ``get`` over uint32 addresses; -1 where nothing holds them."""
        out = np.full(len(addrs), -1, dtype=np.int64)
        if not len(self.ids) or not len(addrs):
            return out
        k = np.searchsorted(self.starts, addrs, side="right").astype(np.int64) - 1
        kk = np.maximum(k, 0)
        hit = (k >= 0) & (addrs <= self.ends[kk])
        out[hit] = self.ids[kk[hit]]
        return out
