"""A feed's bytes (or folder) → the files inside: gzip, zip and tar archives are opened, folders walked.

Decompression is bounded by ``max_bytes`` so that a zip bomb costs an error, not the machine's memory.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from wardwatch.errors import WardwatchError


class UnpackError(WardwatchError, ValueError):
    pass


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, max_bytes + 1)
    except zlib.error as e:
        raise UnpackError(f"bad gzip data: {e}") from None
    if len(out) > max_bytes:
        raise UnpackError(f"gzip content larger than {max_bytes} bytes")
    if not d.eof:
        raise UnpackError("truncated gzip data")
    return out


def parts(name: str, data: bytes, max_bytes: int = 1 << 30) -> Iterator[tuple[str, bytes]]:
    """``(file name, content)`` of each regular file in ``data``."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, max_bytes)
        name = name[:-3] if name.endswith(".gz") else name
        if name.endswith(".tgz"):
            name = name[:-4] + ".tar"
    if len(data) > 262 and data[257:262] == b"ustar":
        total = 0
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                f = tar.extractfile(member)
                if f is None:
                    continue
                total += member.size
                if total > max_bytes:
                    raise UnpackError(f"archive content larger than {max_bytes} bytes")
                yield member.name, f.read()
        return
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                total = 0
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    total += info.file_size
                    if total > max_bytes:
                        raise UnpackError(f"archive content larger than {max_bytes} bytes")
                    yield info.filename, zf.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise UnpackError(f"bad zip archive: {e}") from None
        return
    yield name, data


def read_path(path: Path, max_bytes: int = 1 << 30) -> Iterator[tuple[str, bytes]]:
    """Files of a local feed: one file (maybe an archive) or every file under a folder, sorted."""
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file() and not q.name.startswith(".")):
            yield str(p.relative_to(path)), p.read_bytes()
        return
    yield from parts(path.name, path.read_bytes(), max_bytes)


__all__ = ["UnpackError", "parts", "read_path"]
