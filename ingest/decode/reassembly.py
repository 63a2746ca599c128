"""IPv4/IPv6 fragment reassembly with a timeout and a memory bound.

Overlaps are resolved deterministically: the data that arrived first wins (later copies of the
same bytes only fill gaps), and each overlapping fragment is counted (``decode.fragment_overlap``).
Dropped fragments are counted by reason: ``dropped.fragment_timeout``, ``dropped.fragment_memory``,
``dropped.fragment_incomplete`` (still pending at the end of input).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wardwatch.counters import Counters

MAX_DATAGRAM = 65535


@dataclass(slots=True)
class _Pending:
    first_ts: float
    header: bytes | None = None  # the unfragmentable part, taken from the offset-0 fragment
    total: int | None = None  # payload length, known once the last fragment arrived
    pieces: list[tuple[int, bytes]] = field(default_factory=list)  # (offset, data), arrival order
    nbytes: int = 0


class Reassembler:
    def __init__(self, counters: Counters, timeout: float, max_datagrams: int, max_bytes: int) -> None:
        self._counters = counters
        self._timeout = timeout
        self._max_datagrams = max(1, max_datagrams)
        self._max_bytes = max_bytes
        self._pending: dict[tuple, _Pending] = {}  # insertion order = age
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self, key: tuple, ts: float, offset: int, more: bool, data: bytes, header: bytes | None
    ) -> tuple[bytes, bytes] | None:
        """Add one fragment; return (header, payload) when its datagram is complete."""
        self._counters.add("decode.fragments")
        self.expire(ts)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(ts)
        end = offset + len(data)
        if any(o < end and offset < o + len(d) for o, d in pending.pieces):
            self._counters.add("decode.fragment_overlap")
        pending.pieces.append((offset, data))
        pending.nbytes += len(data)
        self._bytes += len(data)
        if header is not None and pending.header is None:
            pending.header = header
        if not more and pending.total is None:
            pending.total = end
        done = self._complete(pending)
        if done is not None:
            del self._pending[key]
            self._bytes -= pending.nbytes
            self._counters.add("decode.reassembled")
            return done
        self._bound()
        return None

    def expire(self, now: float) -> None:
        limit = now - self._timeout
        while self._pending:
            key, pending = next(iter(self._pending.items()))
            if pending.first_ts >= limit:
                break
            self._drop(key, "dropped.fragment_timeout")

    def flush(self) -> None:
        while self._pending:
            self._drop(next(iter(self._pending)), "dropped.fragment_incomplete")

    def _bound(self) -> None:
        while self._pending and (len(self._pending) > self._max_datagrams or self._bytes > self._max_bytes):
            self._drop(next(iter(self._pending)), "dropped.fragment_memory")

    def _drop(self, key: tuple, reason: str) -> None:
        pending = self._pending.pop(key)
        self._bytes -= pending.nbytes
        self._counters.add(reason, len(pending.pieces))

    @staticmethod
    def _complete(pending: _Pending) -> tuple[bytes, bytes] | None:
        total = pending.total
        if total is None or pending.header is None:
            return None
        covered = 0
        for start, data in sorted(pending.pieces, key=lambda p: p[0]):
            if start > covered:
                return None
            covered = max(covered, start + len(data))
            if covered >= total:
                break
        if covered < total:
            return None
        out = bytearray(total)
        for start, data in reversed(pending.pieces):  # earlier arrivals overwrite later ones
            n = min(len(data), total - start)
            if n > 0:
                out[start : start + n] = data[:n]
        return pending.header, bytes(out)
