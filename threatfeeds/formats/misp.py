"""MISP warning lists (JSON with ``name``, ``type`` and ``list``), used as allow-lists.

Types ``hostname`` and ``string`` hold names (a leading ``.`` in hostname lists is dropped), ``cidr``
holds addresses and ranges; ``substring`` and ``regex`` lists are counted as unsupported.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from ..model import Entry, Meta
from ._text import FormatError


def parse(name: str, data: bytes) -> Iterator[Entry]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise FormatError(f"not JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("list"), list):
        raise FormatError("a MISP warning list is an object with a 'list' array")
    kind = str(doc.get("type", "string"))
    hint = {"hostname": "domain", "string": None, "cidr": "ip"}.get(kind, "unsupported")
    meta = Meta(threat=str(doc.get("name") or name))
    for value in doc["list"]:
        yield (str(value), hint, meta)
