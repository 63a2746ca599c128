"""Private files and folders: what wardwatch keeps under ``data_dir`` (the store, the Kafka spool,
keys, feed snapshots, detector state) holds personal data and secrets, so it is created readable by
its owner only (folders 0700, files 0600), whatever the process umask says.

``wardwatch``'s command line also sets ``umask 077`` at start (``PRIVATE_UMASK``), which covers the
files that libraries write on our behalf (chdb's own store files) and the sensor's worker processes;
these helpers make the library paths safe when they run under another program's umask.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import BinaryIO, cast

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | Path, tighten: bool = True) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders; an existing folder open to group or
    others is tightened to owner-only, with a warning (``tighten=False`` leaves it)."""
    p = Path(path)
    missing = []
    q = p
    while not q.exists():
        missing.append(q)
        if q.parent == q:
            break
        q = q.parent
    p.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for d in missing:
        # mkdir's mode is filtered by the umask, and parents=True ignores it for the parents
        os.chmod(d, DIR_MODE)
    if tighten and not missing:
        _tighten(p)
    return p


def _tighten(p: Path) -> None:
    st = p.stat()
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o077:
        return
    # never touch what is not ours to close: a shared folder (/tmp: sticky bit), the root, a home
    if st.st_uid != os.geteuid() or mode & stat.S_ISVTX or p.resolve() in (Path("/"), Path.home()):
        log.warning(
            "thư mục %s mở cho người khác (mode %04o) · folder %s is open to other users (mode %04o);"
            " wardwatch's data there is readable by them: chmod go-rwx it",
            p,
            mode,
            p,
            mode,
        )
        return
    os.chmod(p, mode & ~0o077)
    log.warning(
        "đã đóng quyền truy cập %s (%04o → %04o) · %s was open to other users (mode %04o); now %04o",
        p,
        mode,
        mode & ~0o077,
        p,
        mode,
        mode & ~0o077,
    )


def open_private(path: str | Path, mode: str = "ab") -> BinaryIO:
    """Open a file for writing (``wb``, ``ab`` or ``xb``), creating it 0600; an existing file open to
    others is narrowed to 0600 first."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    if mode == "wb":
        flags |= os.O_TRUNC
    elif mode == "ab":
        flags |= os.O_APPEND
    elif mode == "xb":
        flags |= os.O_EXCL
    else:
        raise ValueError(f"mode must be wb, ab or xb, got {mode!r}")
    fd = os.open(path, flags, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, FILE_MODE)
        return cast(BinaryIO, os.fdopen(fd, mode.replace("x", "w")))
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (a 0600 temporary beside it, fsync, rename)."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        with open_private(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
