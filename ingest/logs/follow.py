"""Reading log files that grow, rotate, get compressed and truncated, each line exactly once.

    f = Follower(lambda: sorted(folder.glob("conn*.log*")), state=Path("…/positions.json"))
    for chunk in f.poll():            # complete lines only: a half-written last line waits
        handle(chunk.path, chunk.lines)
    f.commit()                        # after the lines are safely handled: the positions hit disk

A file is known by a **fingerprint** of its first bytes (decompressed), not by its name or inode,
as Filebeat does: a rotated ``conn.log`` renamed to ``conn.2024-…log``, or compressed to ``….log.gz``,
is still the file already read up to its position, and a file truncated in place (copytruncate) and
written anew is a new file, read from its start. Positions are saved as JSON (written to a temporary
file and renamed over the old one), so a restart resumes where the last committed batch ended: a
line is neither read twice nor skipped. A half-written last line of a live file is left for the next
poll; in a compressed (finished) file or with ``final=True`` it counts as complete.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO

import orjson

from wardwatch.counters import Counters

FINGERPRINT = 1024  # bytes at the start of a file that identify it
READ = 4 * 1024 * 1024  # bytes read per file and poll at most (one poll stays short)
KEEP_ENTRIES = 2000  # positions remembered (the oldest forgotten first)


@dataclass
class Chunk:
    path: Path
    key: str  # the file's fingerprint
    start: int  # the offset (decompressed) of the first line
    data: bytes  # complete lines, newlines kept

    @cached_property
    def lines(self) -> list[bytes]:
        """The non-empty lines (split when asked: the Zeek input parses ``data`` in blocks)."""
        return [ln for ln in self.data.splitlines() if ln]


@dataclass
class _Entry:
    fp: str
    fp_len: int
    offset: int  # decompressed bytes consumed (complete lines handed out)
    seen: float  # when last read, to forget the oldest


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        # a GzipFile reads bytes as a file does
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 — the caller closes it


class Follower:
    def __init__(
        self,
        paths: Callable[[], Iterable[Path]],
        state: Path | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.paths = paths
        self.state = state
        self.counters = counters if counters is not None else Counters()
        self.entries: list[_Entry] = []
        self.pending: dict[str, int] = {}  # fingerprint → offset handed out, not yet committed
        self.skipping: set[str] = set()  # files in the middle of an over-long line
        self._load()

    # -- positions -------------------------------------------------------------------------------
    def _load(self) -> None:
        if self.state is None or not self.state.exists():
            return
        try:
            raw = orjson.loads(self.state.read_bytes())
            self.entries = [
                _Entry(e["fp"], int(e["fp_len"]), int(e["offset"]), float(e["seen"])) for e in raw
            ]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            # a damaged positions file must not stop the input: start over and say so
            self.counters.add("logs.positions_unreadable")
            self.entries = []

    def commit(self) -> None:
        """The lines handed out so far are handled: remember their end (atomically on disk)."""
        for e in self.entries:
            if e.fp in self.pending:
                e.offset = self.pending[e.fp]
        self.pending.clear()
        if len(self.entries) > KEEP_ENTRIES:
            self.entries.sort(key=lambda e: e.seen)
            self.entries = self.entries[-KEEP_ENTRIES:]
        if self.state is None:
            return
        data = orjson.dumps(
            [{"fp": e.fp, "fp_len": e.fp_len, "offset": e.offset, "seen": e.seen} for e in self.entries]
        )
        self.state.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state.with_name(self.state.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state)

    def _entry(self, head: bytes, now: float) -> _Entry:
        digests: dict[int, str] = {}
        for e in self.entries:
            if len(head) < e.fp_len:
                continue
            d = digests.get(e.fp_len)
            if d is None:
                d = digests[e.fp_len] = hashlib.sha1(head[: e.fp_len]).hexdigest()
            if d == e.fp:
                if e.fp_len < FINGERPRINT and len(head) > e.fp_len:
                    # the file has grown: identify it by more of its start from now on
                    new_fp = hashlib.sha1(head).hexdigest()
                    if e.fp in self.pending:
                        self.pending[new_fp] = self.pending.pop(e.fp)
                    e.fp, e.fp_len = new_fp, len(head)
                e.seen = now
                return e
        e = _Entry(hashlib.sha1(head).hexdigest(), len(head), 0, now)
        self.entries.append(e)
        return e

    # -- reading ---------------------------------------------------------------------------------
    def poll(self, final: bool = False, now: float = 0.0) -> list[Chunk]:
        """Every complete line written since the last poll, file by file (oldest file first)."""
        now = now or time.time()
        out = []
        files = []
        for p in self.paths():
            try:
                st = p.stat()
            except OSError:
                continue  # rotated away between the listing and now
            files.append((st.st_mtime, str(p), p))
        for _, _, path in sorted(files):
            try:
                chunk = self._read(path, final, now)
            except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as e:
                # a gzip still being written, a file removed: try again next poll
                self.counters.add("logs.read_errors")
                self.counters.add(f"logs.read_error.{type(e).__name__}")
                continue
            if chunk is not None:
                out.append(chunk)
        return out

    def _read(self, path: Path, final: bool, now: float) -> Chunk | None:
        gz = path.suffix == ".gz"
        with _open(path) as f:
            head = f.read(FINGERPRINT)
            if not head:
                return None
            e = self._entry(head, now)
            offset = self.pending.get(e.fp, e.offset)
            if not gz:
                size = os.fstat(f.fileno()).st_size  # type: ignore[attr-defined]
                if size == offset:
                    return None
                if size < offset:  # cannot happen to the same content; a damaged position
                    self.counters.add("logs.position_beyond_end")
                    offset = 0
            f.seek(offset)
            data = f.read(READ)
        if not data:
            return None
        if e.fp in self.skipping:  # the rest of an over-long line: dropped up to its end
            nl = data.find(b"\n")
            if nl < 0:
                self.pending[e.fp] = offset + len(data)
                return None
            self.skipping.discard(e.fp)
            offset += nl + 1
            data = data[nl + 1 :]
            if not data:
                self.pending[e.fp] = offset
                return None
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) >= READ:
            # a line longer than a whole read (no log writes such a line): counted and skipped, or
            # the file would never move on
            self.counters.add("logs.line_too_long")
            self.skipping.add(e.fp)
            self.pending[e.fp] = offset + len(data)
            return None
        if cut < len(data) and (final or gz) and len(data) < READ:
            cut = len(data)  # a finished file's last line has no newline: it is complete all the same
        if cut == 0:
            return None  # only a half-written line so far
        self.pending[e.fp] = offset + cut
        return Chunk(path, e.fp, offset, data[:cut] if cut < len(data) else data)

    def header(self, path: Path, limit: int = 64 * 1024) -> list[bytes]:
        """The ``#`` lines at the start of a file (a Zeek TSV log's headers, read on resuming)."""
        out = []
        with _open(path) as f:
            for ln in f.read(limit).splitlines():
                if not ln.startswith(b"#"):
                    break
                out.append(ln)
        return out
