"""Byte windows over a capture file: the whole file mapped, or a bounded slice of a gzip stream.

A parser scans ``window.buf`` from an offset; when a record runs past the end of the buffer it asks
``advance(keep_from)`` for more, which drops the bytes before ``keep_from`` and appends the next
decompressed chunk. A mapped file is one window with nothing more to come.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import zlib
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
RAW_CHUNK = 1 << 20  # compressed bytes read at a time
OUT_CHUNK = 8 << 20  # decompressed bytes added per advance: bounds memory for any file size


class Window:
    """``buf`` holds the bytes from the file (or decompressed stream) that are still needed."""

    buf: bytes | mmap.mmap
    eof: bool
    problem: str | None  # "truncated" / "corrupt" when the compressed stream itself is damaged

    def advance(self, keep_from: int) -> bool:
        """Drop ``buf[:keep_from]`` and append more data; False (buffer untouched) when there is no more."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class MappedWindow(Window):
    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        size = os.fstat(f.fileno()).st_size
        self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        self.buf = self._map if self._map is not None else b""
        self.eof = True
        self.problem = None

    def advance(self, keep_from: int) -> bool:
        return False

    def close(self) -> None:
        if self._map is not None:
            # a numpy view may still be alive somewhere; the map then closes when it is collected
            with contextlib.suppress(BufferError):
                self._map.close()
        self._f.close()


class GzipWindow(Window):
    """Streams a gzip file (several members allowed) with zlib so a damaged tail keeps what came before."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._done = False
        self.buf = b""
        self.eof = False
        self.problem = None
        self.advance(0)

    def _more(self) -> bytes:
        while not self._done:
            d = self._d
            if d.unconsumed_tail:
                data = d.unconsumed_tail
            elif d.eof:
                data = d.unused_data or self._f.read(RAW_CHUNK)
                if not data:
                    self._done = True
                    break
                if not data.startswith(GZIP_MAGIC):
                    # trailing padding after the last member, as gzip(1) tolerates
                    self._done = True
                    break
                self._d = d = zlib.decompressobj(zlib.MAX_WBITS | 16)
            else:
                data = self._f.read(RAW_CHUNK)
                if not data:
                    self.problem = "truncated"
                    self._done = True
                    break
            try:
                out = d.decompress(data, OUT_CHUNK)
            except zlib.error:
                self.problem = "corrupt"
                self._done = True
                break
            if out:
                return out
        return b""

    def advance(self, keep_from: int) -> bool:
        if self.eof:
            return False
        more = self._more()
        if not more:
            self.eof = True
            return False
        self.buf = self.buf[keep_from:] + more
        return True

    def close(self) -> None:
        self._f.close()


def open_window(path: str | Path) -> Window:
    """Open ``path`` as a window; gzip is recognised by its magic, not by the file name."""
    f = open(path, "rb")  # noqa: SIM115 - the window owns and closes it
    try:
        head = f.read(2)
        f.seek(0)
        if head == GZIP_MAGIC:
            return GzipWindow(f)
        return MappedWindow(f)
    except BaseException:
        f.close()
        raise
