"""Bounded in-order reassembly of the first bytes of one TCP direction.

Analysers only look at a connection's opening (a ClientHello, request headers, a login dialogue), so
a stream keeps at most ``limit`` bytes and a few out-of-order segments; anything past that is ignored.
"""

from __future__ import annotations

MAX_PENDING = 8
SEQ_MOD = 1 << 32


class Stream:
    __slots__ = ("next_seq", "delivered", "limit", "pending", "overflow")

    def __init__(self, limit: int) -> None:
        self.next_seq: int | None = None
        self.delivered = 0
        self.limit = limit
        self.pending: dict[int, bytes] = {}
        self.overflow = False  # a segment was dropped: the stream has a hole

    def feed(self, seq: int, data: bytes, syn: bool = False, start: bool = True) -> bytes:
        """Add one segment; return the bytes that became contiguous (possibly empty).

        ``start=False`` says the segment cannot open the stream (a TLS analyser waits for the segment
        holding the ClientHello record header): until one that can arrives, segments are kept aside.
        """
        if syn:  # data on a SYN (TCP Fast Open) starts one after the ISN
            seq = (seq + 1) % SEQ_MOD
        if self.next_seq is None:
            if not start:
                if len(self.pending) < MAX_PENDING:
                    self.pending[seq] = data
                return b""
            self.next_seq = seq
        out = self._take(seq, data)
        while out and self.pending:
            ready = [s for s in self.pending if _before_or_at(s, self.next_seq)]
            if not ready:
                break
            more = b"".join(self._take(s, self.pending.pop(s)) for s in ready)
            if not more:
                break
            out += more
        return out

    @property
    def started(self) -> bool:
        return self.next_seq is not None

    def _take(self, seq: int, data: bytes) -> bytes:
        assert self.next_seq is not None
        gap = (seq - self.next_seq) % SEQ_MOD
        if gap and gap < SEQ_MOD // 2:  # ahead of what we have: keep for later
            if len(self.pending) < MAX_PENDING:
                self.pending[seq] = data
            else:
                self.overflow = True
            return b""
        skip = (self.next_seq - seq) % SEQ_MOD  # retransmitted or overlapping head
        if skip >= len(data):
            return b""
        data = data[skip:]
        room = self.limit - self.delivered
        if room <= 0:
            return b""
        data = data[:room]
        self.next_seq = (self.next_seq + len(data)) % SEQ_MOD
        self.delivered += len(data)
        return data


MAX_SPANS = 16


class Seen:
    """The sequence ranges of one TCP direction already handed to an analyser, so that a copy of a
    segment (every packet twice from a SPAN port, or a retransmission) is not read twice: an HTTP
    request head read twice is a second request. Offsets are kept relative to the first segment seen
    (no wrap-around arithmetic later); only the last ``MAX_SPANS`` disjoint ranges are remembered."""

    __slots__ = ("base", "spans")

    def __init__(self) -> None:
        self.base: int | None = None
        self.spans: list[list[int]] = []  # sorted, disjoint [start, end) offsets from base

    def fresh(self, seq: int, data: bytes) -> tuple[int, bytes]:
        """``(seq, data)`` without a head already seen (empty data: all of it was); records the rest."""
        n = len(data)
        if not n:
            return seq, data
        if self.base is None:
            self.base = seq
        rel = (seq - self.base) % SEQ_MOD
        if rel >= SEQ_MOD // 2:
            rel -= SEQ_MOD
        end = rel + n
        spans = self.spans
        for a, b in spans:
            if a <= rel < b:
                if end <= b:
                    return seq, b""
                skip = b - rel
                seq, data, rel = (seq + skip) % SEQ_MOD, data[skip:], b
                break
        self._add(rel, end)
        return seq, data

    def _add(self, start: int, end: int) -> None:
        spans = self.spans
        i = 0
        while i < len(spans) and spans[i][1] < start:
            i += 1
        j = i
        while j < len(spans) and spans[j][0] <= end:
            start, end = min(start, spans[j][0]), max(end, spans[j][1])
            j += 1
        spans[i:j] = [[start, end]]
        if len(spans) > MAX_SPANS:
            del spans[0]


def _before_or_at(seq: int, ref: int) -> bool:
    return (ref - seq) % SEQ_MOD < SEQ_MOD // 2
