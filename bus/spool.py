"""A bounded on-disk FIFO of messages that could not be sent while the broker was unreachable.

Messages are appended to segment files (``000000000001.seg``…) as length-prefixed frames and read back
in the order they were written. ``ack`` moves a cursor (kept in ``cursor``) past what the broker has
acknowledged and deletes finished segments, so a crash during replay resends at most the unacknowledged
tail (the writer drops such repeats by their ``ww-id``). A frame cut short by a crash is skipped.

The total size is bounded: ``append`` refuses what does not fit and says how many it took, so that the
caller can count and report the drops.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import orjson

from wardwatch.files import open_private, private_dir

from .envelope import Message

_FRAME = struct.Struct("<II")  # meta length, value length
_SUFFIX = ".seg"


@dataclass(frozen=True)
class Cursor:
    segment: int
    offset: int


def _encode(m: Message) -> bytes:
    meta = orjson.dumps(
        [m.topic, m.partition, m.key.hex(), [[k, v.hex()] for k, v in m.headers], m.records, m.first_ts]
    )
    return _FRAME.pack(len(meta), len(m.value)) + meta + m.value


class Spool:
    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int = 64 << 20) -> None:
        self.dir = Path(directory)
        private_dir(self.dir)  # spooled messages are records of hospital hosts: owner-only
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._cursor_path = self.dir / "cursor"
        self._cursor = self._load_cursor()
        self._writer: tuple[int, object] | None = None

    # --- state
    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.dir.glob(f"*{_SUFFIX}") if p.stem.isdigit())

    def _path(self, seg: int) -> Path:
        return self.dir / f"{seg:012d}{_SUFFIX}"

    def _load_cursor(self) -> Cursor:
        try:
            seg, off = self._cursor_path.read_text().split()
            return Cursor(int(seg), int(off))
        except (OSError, ValueError):
            return Cursor(0, 0)

    def _save_cursor(self, c: Cursor) -> None:
        tmp = self._cursor_path.with_suffix(".tmp")
        with open_private(tmp, "wb") as f:
            f.write(f"{c.segment} {c.offset}\n".encode())
        os.replace(tmp, self._cursor_path)
        self._cursor = c

    @property
    def pending_bytes(self) -> int:
        total = 0
        for seg in self._segments():
            size = self._path(seg).stat().st_size
            if seg == self._cursor.segment:
                size -= min(self._cursor.offset, size)
            total += size if seg >= self._cursor.segment else 0
        return total

    @property
    def empty(self) -> bool:
        return self.pending_bytes == 0

    # --- writing
    def append(self, messages: list[Message]) -> int:
        """Append as many of ``messages`` (in order) as fit; returns how many were taken."""
        if not messages:
            return 0
        room = self.max_bytes - self.pending_bytes
        frames = []
        for m in messages:
            frame = _encode(m)
            if len(frame) > room:
                break
            room -= len(frame)
            frames.append(frame)
        if not frames:
            return 0
        segs = self._segments()
        seg = segs[-1] if segs else max(self._cursor.segment, 1)
        path = self._path(seg)
        if path.exists() and path.stat().st_size >= self.segment_bytes:
            seg += 1
            path = self._path(seg)
        with open_private(path, "ab") as f:
            f.write(b"".join(frames))
            f.flush()
            os.fsync(f.fileno())
        return len(frames)

    def prepend(self, messages: list[Message]) -> None:
        """Put ``messages`` before everything spooled (sends that failed after newer messages were
        spooled). Rewrites the segment being read; the size bound does not apply (they were in memory)."""
        if not messages:
            return
        frames = b"".join(_encode(m) for m in messages)
        segs = [s for s in self._segments() if s >= self._cursor.segment]
        seg = segs[0] if segs else max(self._cursor.segment, 1)
        path = self._path(seg)
        rest = b""
        if path.exists():
            data = path.read_bytes()
            rest = data[self._cursor.offset :] if seg == self._cursor.segment else data
        tmp = path.with_suffix(".new")
        with open_private(tmp, "wb") as f:
            f.write(frames + rest)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        self._save_cursor(Cursor(seg, 0))

    # --- reading
    def read(self, max_messages: int) -> tuple[list[Message], Cursor]:
        """Up to ``max_messages`` of the oldest messages, and the cursor just past them (for ``ack``)."""
        out: list[Message] = []
        cursor = self._cursor
        for seg in self._segments():
            if seg < cursor.segment:
                continue
            offset = cursor.offset if seg == cursor.segment else 0
            data = self._path(seg).read_bytes()
            while offset + _FRAME.size <= len(data) and len(out) < max_messages:
                mlen, vlen = _FRAME.unpack_from(data, offset)
                end = offset + _FRAME.size + mlen + vlen
                if end > len(data):
                    break  # a frame cut short by a crash: nothing after it is readable
                meta = orjson.loads(data[offset + _FRAME.size : offset + _FRAME.size + mlen])
                value = data[offset + _FRAME.size + mlen : end]
                topic, partition, key, hdrs, records, first_ts = meta
                out.append(
                    Message(
                        topic,
                        int(partition),
                        bytes.fromhex(key),
                        value,
                        [(k, bytes.fromhex(v)) for k, v in hdrs],
                        int(records),
                        float(first_ts),
                    )
                )
                offset = end
            cursor = Cursor(seg, offset)
            if len(out) >= max_messages:
                break
            if offset < len(data):
                # the torn tail of a crashed write; move on to the next segment
                cursor = Cursor(seg, len(data))
        return out, cursor

    def ack(self, cursor: Cursor) -> None:
        """Everything before ``cursor`` was delivered: move past it and delete finished segments."""
        segs = self._segments()
        for seg in segs:
            if seg < cursor.segment or (
                seg == cursor.segment and cursor.offset >= self._path(seg).stat().st_size and seg != segs[-1]
            ):
                self._path(seg).unlink(missing_ok=True)
        if segs and cursor.segment == segs[-1] and cursor.offset >= self._path(cursor.segment).stat().st_size:
            # all delivered: start afresh so the files do not grow forever
            self._path(cursor.segment).unlink(missing_ok=True)
            self._save_cursor(Cursor(cursor.segment + 1, 0))
            return
        self._save_cursor(cursor)
