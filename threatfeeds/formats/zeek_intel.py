"""Zeek Intel framework files: tab-separated, ``#fields indicator indicator_type meta.source …``.

``Intel::DOMAIN``, ``Intel::ADDR``, ``Intel::SUBNET`` and ``Intel::URL`` (written without a scheme)
are indexed; other types (file hashes, e-mail, certificate hashes…) are counted as unsupported.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Entry, Meta
from ._text import FormatError, split_tags, text_lines

_HINTS = {"Intel::DOMAIN": "domain", "Intel::ADDR": "ip", "Intel::SUBNET": "cidr", "Intel::URL": "url"}
_UNSET = ("-", "(empty)", "")


def parse(name: str, data: bytes) -> Iterator[Entry]:
    sep = "\t"
    fields: list[str] | None = None
    for line in text_lines(data):
        if not line.strip():
            continue
        if line.startswith("#"):
            if line.startswith("#separator"):
                raw = line[len("#separator") :].strip()
                sep = raw.encode().decode("unicode_escape") if raw else "\t"
            elif line.startswith("#fields"):
                fields = line.split(sep)[1:] if sep in line else line.split()[1:]
            continue
        if fields is None:
            raise FormatError("no #fields header")
        row = dict(zip(fields, line.split(sep), strict=False))
        value = row.get("indicator", "")
        hint = _HINTS.get(row.get("indicator_type", ""))
        if hint is None:
            yield (value, "unsupported", None)
            continue

        def get(key: str, row: dict[str, str] = row) -> str | None:
            v = row.get(key)
            return None if v is None or v in _UNSET else v

        yield (
            value,
            hint,
            Meta(
                threat=get("meta.desc"),
                tags=split_tags(get("meta.source")),
                reference=get("meta.url"),
                confidence=None,
            ),
        )
