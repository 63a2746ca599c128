"""Byte windows over a capture file: the whole file mapped, or a bounded slice of a gzip stream.

A parser scans ``window.buf`` from an offset; when a record runs past the end of the buffer it asks
``advance(keep_from)`` for more, which drops the bytes before ``keep_from`` and appends the next
decompressed chunk. A mapped file is one window with nothing more to come.

``region(start, end)`` hands out a batch's own buffer. For a mapped file it is a fresh read-only
mapping of just that region, populated up front: no copy at all. Copying out of the file map cost
about as much as the rest of the reader (page faults on the fresh destination), and a batch buffer
that is a private mapping of an unmodified file is never overwritten. Like the scan's own map, it
assumes the file is not cut short while it is read (that would fault, as for any mapped file).
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
# Small regions are copied: a mapping costs a system call and a file descriptor (mmap dups it).
MIN_MAPPED_REGION = 1 << 20
_CAN_MAP_REGIONS = hasattr(mmap, "MAP_SHARED") and hasattr(mmap, "PROT_READ")  # Unix
_MADV_POPULATE_READ = 22 if hasattr(mmap, "MADV_WILLNEED") and os.uname().sysname == "Linux" else None
_MAP_POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # Linux: fill the page tables now, not on first touch


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

    def prefetch(self, start: int, length: int) -> None:
        """Hint that ``buf[start:start + length]`` is about to be scanned."""

    def region(self, start: int, end: int) -> tuple[bytes | mmap.mmap, int]:
        """A buffer holding ``buf[start:end]`` that stays valid after the window moves or closes,
        and where in it ``start`` lies."""
        if start == 0 and end == len(self.buf) and isinstance(self.buf, bytes):
            return self.buf, 0  # bytes are immutable: share the whole chunk
        return bytes(self.buf[start:end]), 0


class MappedWindow(Window):
    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        size = os.fstat(f.fileno()).st_size
        self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        self.buf = self._map if self._map is not None else b""
        self.eof = True
        self.problem = None
        self._ready = 0  # the map is populated up to here

    def advance(self, keep_from: int) -> bool:
        return False

    def prefetch(self, start: int, length: int) -> None:
        # Filling the page tables for the range up front is several times faster than taking a
        # fault on every page the scan touches; done a range at a time so a huge file is not read whole.
        if self._map is None:
            return
        start = max(start, self._ready) // mmap.PAGESIZE * mmap.PAGESIZE
        end = min(len(self._map), start + length)
        if end <= start:
            return
        for advice in (_MADV_POPULATE_READ, getattr(mmap, "MADV_WILLNEED", None)):
            if advice is None:
                continue
            try:
                self._map.madvise(advice, start, end - start)
                break
            except (OSError, ValueError):  # kernel before 5.14, or not Linux: weaker hint
                continue
        self._ready = end

    def region(self, start: int, end: int) -> tuple[bytes | mmap.mmap, int]:
        if _CAN_MAP_REGIONS and end - start >= MIN_MAPPED_REGION:
            lead = start % mmap.ALLOCATIONGRANULARITY  # a mapping must start on a page boundary
            try:
                region = mmap.mmap(
                    self._f.fileno(),
                    end - start + lead,
                    flags=mmap.MAP_SHARED | _MAP_POPULATE,
                    prot=mmap.PROT_READ,
                    offset=start - lead,
                )
                return region, lead
            except (OSError, ValueError):  # out of mappings or address space: copy instead
                pass
        return bytes(self.buf[start:end]), 0

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
