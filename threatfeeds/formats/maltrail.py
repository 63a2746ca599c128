"""Maltrail trail files (``trails/static/malware/emotet.txt``): one trail a line, blocks introduced
by ``# Reference: URL`` comments, ``# Aliases:`` lines, and trailing ``# comment`` on an entry.

A trail is a domain, an IP (``1.2.3.4`` or ``1.2.3.4:443``), a CIDR, a URL, ``host/path`` or a bare
``/path``; the normaliser sorts them out (bare paths become path indicators when specific enough,
see ``normalize.path_trail``; the others are counted as ``url-path``).
The threat name comes from the file name; the folder (``malware``, ``malicious``, ``suspicious``) is a tag.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from ..model import Entry, Meta
from ._text import text_lines

_CATEGORIES = ("malware", "malicious", "suspicious")


def threat_of(name: str) -> tuple[str | None, tuple[str, ...]]:
    """``trails/static/malware/emotet.txt`` → ``("emotet", ("malware",))``;
    ``malware_emotet.txt`` → the same."""
    p = PurePosixPath(name.replace("\\", "/"))
    stem = p.stem
    folder = p.parent.name
    if folder in _CATEGORIES:
        return stem, (folder,)
    head, _, rest = stem.partition("_")
    if head in _CATEGORIES and rest:
        return rest, (head,)
    return (stem or None), ()


def parse(name: str, data: bytes) -> Iterator[Entry]:
    threat, tags = threat_of(name)
    meta = Meta(threat=threat, tags=tags)
    base = meta
    for line in text_lines(data):
        s = line.strip()
        if not s:
            continue
        if s[0] == "#":
            body = s[1:].strip()
            if body.lower().startswith("reference:"):
                ref = body[len("reference:") :].strip()
                meta = Meta(threat=threat, tags=tags, reference=ref) if ref else base
            continue
        i = s.find(" #")
        if i >= 0:
            s = s[:i].rstrip()
        yield (s, None, meta)
