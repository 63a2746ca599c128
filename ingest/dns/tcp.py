"""DNS over TCP: per-direction reassembly by sequence number and RFC 1035 length-prefix framing.

Each direction of a connection is one byte stream. Segments are placed by sequence number
(retransmitted bytes are trimmed, early segments wait in a small bounded store); complete
``length + message`` frames are cut from the front. When the store overflows, a segment was lost
to snaplen, or the stream ends with bytes missing, the gap is counted and framing restarts at the
next segment we hold, which in practice starts a message.
"""

from __future__ import annotations

from wardwatch.counters import Counters

_MOD = 1 << 32
_HALF = 1 << 31


def _delta(seq: int, base: int) -> int:
    """Signed distance seq - base in 32-bit sequence space."""
    d = (seq - base) % _MOD
    return d - _MOD if d >= _HALF else d


class TcpStream:
    __slots__ = ("next_seq", "buf", "early", "early_bytes", "last_ts")

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.buf = bytearray()
        self.early: dict[int, bytes] = {}
        self.early_bytes = 0
        self.last_ts = 0.0


class TcpReassembler:
    """Streams keyed by any hashable (the tracker uses (flow, from_orig))."""

    def __init__(self, counters: Counters, max_early_segments: int = 64, max_early_bytes: int = 1 << 18):
        self.counters = counters
        self.max_early_segments = max_early_segments
        self.max_early_bytes = max_early_bytes
        self.streams: dict[object, TcpStream] = {}

    def __len__(self) -> int:
        return len(self.streams)

    def syn(self, key: object, seq: int) -> None:
        """A SYN fixes where the byte stream starts (its sequence number + 1)."""
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = TcpStream()
        if not stream.buf and not stream.early:
            stream.next_seq = (seq + 1) % _MOD

    def feed(self, key: object, seq: int, data: bytes, ts: float, full_len: int = -1) -> list[bytes]:
        """Add one segment's payload; return the DNS messages it completes (length prefix removed).

        ``full_len`` is the segment's payload length on the wire when the capture cut it short.
        """
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = TcpStream()
        stream.last_ts = ts
        if stream.next_seq is None:
            stream.next_seq = seq
        if full_len > len(data):
            self._gap(stream)
            stream.next_seq = (seq + full_len) % _MOD
            return []
        d = _delta(seq, stream.next_seq)
        if d < 0:
            if -d >= len(data):
                return []  # a pure retransmission
            data = data[-d:]
            d = 0
        if d > 0:
            if seq not in stream.early:
                stream.early[seq] = data
                stream.early_bytes += len(data)
            if len(stream.early) > self.max_early_segments or stream.early_bytes > self.max_early_bytes:
                self._gap(stream)
                self._resync(stream)
            else:
                return []
        else:
            stream.buf += data
            stream.next_seq = (stream.next_seq + len(data)) % _MOD
        if stream.early:
            self._drain_early(stream)
        return self._frames(stream)

    def close(self, key: object) -> None:
        """The connection ended in this direction: whatever is still incomplete is a gap."""
        stream = self.streams.pop(key, None)
        if stream is not None and (stream.buf or stream.early):
            self.counters.add("dns.tcp_gap")

    def expire(self, idle_before: float) -> None:
        for key in [k for k, s in self.streams.items() if s.last_ts < idle_before]:
            self.close(key)

    def flush(self) -> None:
        for key in list(self.streams):
            self.close(key)

    def _gap(self, stream: TcpStream) -> None:
        self.counters.add("dns.tcp_gap")
        stream.buf.clear()

    def _resync(self, stream: TcpStream) -> None:
        """Restart the stream at the earliest segment held."""
        assert stream.next_seq is not None
        base = stream.next_seq
        first = min(stream.early, key=lambda s: _delta(s, base))
        stream.next_seq = first

    def _drain_early(self, stream: TcpStream) -> None:
        while stream.early:
            assert stream.next_seq is not None
            base = stream.next_seq
            progressed = False
            for seq in sorted(stream.early, key=lambda s: _delta(s, base)):
                d = _delta(seq, base)
                if d > 0:
                    break
                data = stream.early.pop(seq)
                stream.early_bytes -= len(data)
                if -d < len(data):
                    stream.buf += data[-d:]
                    stream.next_seq = (base + len(data) + d) % _MOD
                    progressed = True
                    break
            if not progressed:
                return

    def _frames(self, stream: TcpStream) -> list[bytes]:
        buf = stream.buf
        out = []
        start = 0
        n_buf = len(buf)
        while n_buf - start >= 2:
            n = (buf[start] << 8) | buf[start + 1]
            if n_buf - start - 2 < n:
                break
            if n == 0:
                self.counters.add("malformed.dns.tcp_empty_frame")
            else:
                out.append(bytes(buf[start + 2 : start + 2 + n]))
            start += 2 + n
        if start:
            del buf[:start]
        return out
