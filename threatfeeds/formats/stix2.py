"""STIX 2.1 bundles: ``indicator`` objects whose pattern compares a domain-name, ipv4-addr, ipv6-addr or
url value (``[domain-name:value = 'evil.example']``, several joined by ``OR``, ``ISSUBSET`` for ranges).

A pattern with ``AND``, ``FOLLOWEDBY`` or any other object path cannot be reduced to one indicator and
is counted as unsupported. Revoked indicators are skipped (counted).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson

from ..model import Entry, Meta
from ._text import FormatError

_CMP = re.compile(
    r"\s*(domain-name|ipv4-addr|ipv6-addr|url):value\s*(=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'\s*",
)
_HINTS = {"domain-name": "domain", "ipv4-addr": "ip", "ipv6-addr": "ip", "url": "url"}


def pattern_values(pattern: str) -> list[tuple[str, str]] | None:
    """``(hint, value)`` of each comparison, or None if the pattern is not a plain disjunction."""
    out: list[tuple[str, str]] = []
    for group in re.split(r"\]\s*OR\s*\[", pattern.strip()):
        group = group.strip().lstrip("[").rstrip("]")
        for cmp in re.split(r"\s+OR\s+", group):
            m = _CMP.fullmatch(cmp)
            if m is None:
                return None
            out.append((_HINTS[m.group(1)], m.group(3).replace("\\'", "'").replace("\\\\", "\\")))
    return out


def _objects(doc: object) -> list:
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        return doc.get("objects") or []
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and doc.get("type") == "indicator":
        return [doc]
    raise FormatError("not a STIX bundle")


def parse(name: str, data: bytes) -> Iterator[Entry]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise FormatError(f"not JSON: {e}") from None
    for obj in _objects(doc):
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            continue
        pattern = obj.get("pattern")
        if obj.get("revoked") or obj.get("pattern_type", "stix") != "stix" or not isinstance(pattern, str):
            yield (str(pattern), "unsupported", None)
            continue
        values = pattern_values(pattern)
        if values is None:
            yield (pattern, "unsupported", None)
            continue
        refs = [
            r.get("url") for r in obj.get("external_references") or [] if isinstance(r, dict) and r.get("url")
        ]
        tags = tuple(str(t) for t in (obj.get("indicator_types") or []) + (obj.get("labels") or []))
        conf = obj.get("confidence")
        meta = Meta(
            threat=obj.get("name") or None,
            tags=tags,
            confidence=conf if isinstance(conf, int) else None,
            first_seen=obj.get("valid_from") or obj.get("created"),
            last_seen=obj.get("modified"),
            reference=refs[0] if refs else None,
        )
        for hint, value in values:
            yield (value, hint, meta)
