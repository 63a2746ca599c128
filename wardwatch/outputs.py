"""Files the user names for output (``--out``, ``--alerts-out``…), opened without harming the inputs.

    out = open_output(args.out, inputs=args.pcap, option="--out")   # raises OutputError

The output is opened *without* truncation first and compared, by device and inode, with every input
(which sees through symlinks and hard links), and by resolved path (which catches an input that does
not exist yet). Only when it is none of them is it truncated: an evidence capture given as its own
output keeps every byte. A path that cannot be written (a missing folder, a directory, no permission)
is an ``OutputError`` whose text names the path and the reason, Vietnamese then English.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from wardwatch.errors import UsageError
from wardwatch.i18n import os_error, text


class OutputError(UsageError, ValueError):
    """An output path that must not or cannot be written; ``str()`` is the message for the user."""


def _cannot(option: str, path: str | os.PathLike[str], e: OSError) -> OutputError:
    return OutputError(
        "\n".join(text("output.cannot", option=option, path=os.fspath(path), reason=os_error(e)))
    )


def _is_input(option: str, path: str | os.PathLike[str], inp: str | os.PathLike[str]) -> OutputError:
    return OutputError(
        "\n".join(text("output.is_input", option=option, path=os.fspath(path), input=os.fspath(inp)))
    )


def _identities(
    inputs: Iterable[str | os.PathLike[str]],
) -> list[tuple[str | os.PathLike[str], Path, tuple[int, int] | None]]:
    out = []
    for inp in inputs:
        try:
            st = os.stat(inp)
            ident: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except OSError:  # a missing input is the reader's to report; its path still counts
            ident = None
        out.append((inp, Path(inp).resolve(), ident))
    return out


def check_output(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], option: str = "--out"
) -> None:
    """Raise ``OutputError`` if ``path`` is (or resolves to) one of ``inputs``; opens nothing."""
    if os.fspath(path) == "-":
        return
    try:
        st = os.stat(path)
        ident: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except OSError:
        ident = None
    resolved = Path(path).resolve()
    for inp, inp_path, inp_ident in _identities(inputs):
        if resolved == inp_path or (ident is not None and ident == inp_ident):
            raise _is_input(option, path, inp)


def open_output(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = (), option: str = "--out"
) -> IO[bytes]:
    """``path`` opened for writing from its start (``-``: standard output), once it is known to be
    none of ``inputs``. Raises ``OutputError`` with a message for the user."""
    if os.fspath(path) == "-":
        return sys.stdout.buffer
    inputs = list(inputs)
    check_output(path, inputs, option)
    try:
        # no O_TRUNC yet: the file is compared with the inputs through the descriptor itself, so a
        # symlink swapped in after the check above still cannot make us truncate an input
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as e:
        raise _cannot(option, path, e) from None
    try:
        st = os.fstat(fd)
        for inp, _, inp_ident in _identities(inputs):
            if inp_ident == (st.st_dev, st.st_ino):
                raise _is_input(option, path, inp)
        if stat.S_ISREG(st.st_mode):  # /dev/null and pipes have nothing to truncate
            os.ftruncate(fd, 0)
        return os.fdopen(fd, "wb")
    except OutputError:
        os.close(fd)
        raise
    except OSError as e:
        os.close(fd)
        raise _cannot(option, path, e) from None


def prepare_output_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """The folder ``path``, created if needed; ``OutputError`` if it is a file or cannot be written."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _cannot(option, path, e) from None
    if not p.is_dir():  # mkdir(exist_ok) accepts an existing file on some Pythons
        raise _cannot(option, path, OSError(errno.EEXIST, "not a folder"))
    if not os.access(p, os.W_OK | os.X_OK):
        raise _cannot(option, path, OSError(errno.EACCES, "permission denied"))
    return p
