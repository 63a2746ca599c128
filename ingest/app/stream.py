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


def _before_or_at(seq: int, ref: int) -> bool:
    return (ref - seq) % SEQ_MOD < SEQ_MOD // 2
