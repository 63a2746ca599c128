"""Who holds an embedded store: ``wardwatch.pid`` in the store folder.

chdb lets one process open a store folder; a second one fails with ClickHouse's bare ``Cannot lock
file …/status. Another server instance in same directory is already running``. Before opening chdb,
wardwatch takes an exclusive ``flock`` on ``wardwatch.pid`` and writes who it is (PID, command line,
start time) into it, so that the second process can say which wardwatch holds the store and since
when. The kernel releases the flock when the holder dies, however it dies (kill -9 included), so:

- flock taken, file empty: the store was closed properly;
- flock taken, file names a PID: that process ended without closing the store (killed, crashed).
  The lock is stale: it is taken over, and chdb recovers its own files (parts being written are
  dropped); what that process had not committed yet is not in the store. A warning says so;
- flock busy: the holder is alive, or it died and processes it forked (sensor workers) still hold
  the inherited lock; the error names them.

``wardwatch serve`` also writes where its local API listens (``announce``), so that ``query`` and
``hunt`` find the running service (``serving``) and send their work there instead of failing on the
lock. The file is owner-only, like the store, so the API's token in it is as private as the data.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from .backend import StoreError

log = logging.getLogger(__name__)
LOCK_NAME = "wardwatch.pid"


class StoreBusy(StoreError):
    """Another process holds the store."""


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    since: float
    api: str = ""  # a serving process's local API (``http://127.0.0.1:8477``), "" for the others
    token: str = ""  # what that API asks of the store's owner in ``Authorization: Bearer``
    # the service's last report (``announce(…, pending=N)``, every few seconds): rows handed to the
    # writer but not yet committed, and when; -1: never reported. After a kill -9 this is what was lost.
    pending: int = -1
    beat: float = 0.0

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since)) if self.since else "?"
        return f"PID {self.pid} (`{self.command}`, since {since})"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return Path(f"/proc/{pid}").exists() if sys.platform.startswith("linux") else True


def _holder(text: bytes) -> Holder | None:
    try:
        d = orjson.loads(text)
        return Holder(
            int(d["pid"]),
            str(d.get("command", "")),
            float(d.get("since", 0.0)),
            str(d.get("api", "")),
            str(d.get("token", "")),
            int(d.get("pending", -1)),
            float(d.get("beat", 0.0)),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return shlex.join(a.decode(errors="replace") for a in raw.split(b"\0") if a)


def _openers(path: Path) -> list[int]:
    """PIDs with ``path`` open (Linux: /proc/*/fd); the processes that hold an inherited flock."""
    target = str(path.resolve())
    out = []
    for proc in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == target:
                    out.append(int(proc.name))
                    break
        except OSError:
            continue
    return sorted(out)


def _this_command() -> str:
    argv = list(sys.argv)
    if argv and Path(argv[0]).name in ("__main__.py", "cli.py", "wardwatch"):
        return shlex.join(["wardwatch", *argv[1:]])
    full = _command(os.getpid())  # python -c …, pytest…: the whole command line says more
    return full if full != "?" else shlex.join(argv)


class StoreLock:
    """An exclusive hold on the store at ``store_dir`` for this process (``release`` or exit ends it)."""

    def __init__(self, store_dir: Path) -> None:
        self.dir = store_dir
        self.path = store_dir / LOCK_NAME
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 4096, 0)
            os.close(fd)
            raise StoreBusy(self._busy(_holder(text))) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd
        stale = _holder(os.pread(fd, 4096, 0))
        self.lost: int | None = None  # rows a killed holder reported as not yet stored
        if stale is not None and stale.pid != os.getpid() and stale.pending >= 0:
            self.lost = stale.pending
            at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stale.beat))
            log.warning(
                "ở lần báo cuối (%s), %d bản ghi và cảnh báo của tiến trình đó chưa được ghi vào kho: chúng"
                " đã mất, cùng các kết nối còn mở · at its last report (%s), %d rows (records and alerts)"
                " of that process were not yet stored: they are lost, with its open connections",
                at,
                stale.pending,
                at,
                stale.pending,
            )
        if stale is not None and stale.pid != os.getpid():
            log.warning(
                "khóa cũ của kho %s: %s đã dừng mà không đóng kho (bị kill?); wardwatch tiếp quản kho,"
                " dữ liệu chưa ghi xong của tiến trình đó không có trong kho · stale lock on the store at"
                " %s: wardwatch %s ended without closing it (killed or crashed); the lock is taken over"
                " and chdb recovers its files, but what that process had not committed is not stored"
                " (run the same captures again: rows already stored are skipped)",
                self.dir,
                stale.describe(),
                self.dir,
                stale.describe(),
            )
        me = {"pid": os.getpid(), "command": _this_command(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps(me) + b"\n", 0)

    def _busy(self, holder: Holder | None) -> str:
        head = (
            f"kho dữ liệu {self.dir} đang được một tiến trình khác dùng · the store at {self.dir} is in use"
        )
        if holder is not None and _alive(holder.pid):
            return (
                f"{head} by wardwatch {holder.describe()}; chdb lets one process open a store at a time:"
                f" wait for it to finish, or stop it (`kill {holder.pid}`)"
            )
        others = _openers(self.path)
        listed = ", ".join(f"PID {p} (`{_command(p)}`)" for p in others) or "unknown processes"
        if holder is not None:
            return (
                f"{head}: wardwatch {holder.describe()} has ended, but processes it started still hold"
                f" the store: {listed}; stop them (`kill {' '.join(map(str, others)) or '…'}`), then retry"
            )
        return f"{head} by {listed}; wait for it to finish or stop it, then retry"

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # an empty file: closed properly, nothing stale
        finally:
            os.close(fd)  # closing the last descriptor drops the flock


def announce(store_dir: Path, api: str, token: str, pending: int | None = None) -> None:
    """Add this process's API address and token to the lock file of the store it holds, and with
    ``pending`` the rows it has not stored yet (the service reports it every few seconds, so that
    whoever takes the lock over after a kill -9 can say how much was lost)."""
    path = Path(store_dir) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    try:
        me = _holder(os.pread(fd, 4096, 0))
        if me is None or me.pid != os.getpid():
            raise StoreError(f"{path}: this process does not hold the store; nothing to announce")
        doc: dict[str, object] = {
            "pid": me.pid, "command": me.command, "since": me.since, "api": api, "token": token,
        }  # fmt: skip
        if pending is not None:
            doc.update(pending=max(0, int(pending)), beat=time.time())
        data = orjson.dumps(doc) + b"\n"
        # One write in place, never a cut: a reader (``serving``, every command while serve runs) must
        # never see it empty or with the tail of a longer text; a shorter text is padded with blanks,
        # which JSON ignores.
        old = os.fstat(fd).st_size
        os.pwrite(fd, data.ljust(old, b" "), 0)
    finally:
        os.close(fd)


def serving(store_dir: Path) -> Holder | None:
    """The live process that holds the store at ``store_dir`` and announced an API, or None (nobody
    holds it, the holder has no API, or it died: a lock file that outlived ``kill -9`` is ignored)."""
    path = Path(store_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        holder = _holder(os.pread(fd, 4096, 0))
        if holder is None or not holder.api or holder.pid == os.getpid() or not _alive(holder.pid):
            return None
        try:  # a shared flock we can take means nobody holds the exclusive one: the holder is gone
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return holder
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def explain_chdb_lock(store_dir: Path, error: str) -> str:
    """chdb's ``Cannot lock file …/status`` (a process that did not take ``wardwatch.pid``: an older
    wardwatch, another program) turned into who and what to do, from ClickHouse's status file."""
    pid = None
    try:
        for line in (store_dir / "status").read_text(errors="replace").splitlines():
            if line.startswith("PID:"):
                pid = int(line.split(":", 1)[1].strip())
    except (OSError, ValueError):
        pass
    who = f"PID {pid} (`{_command(pid)}`)" if pid is not None and _alive(pid) else "another process"
    return (
        f"kho dữ liệu {store_dir} đang được {who} dùng · the store at {store_dir} is in use by {who}"
        " (chdb: another engine holds its status file); wait for it to finish or stop it, then retry"
        f" [{error}]"
    )
