"""The names a record offers for domain lists: DNS query, TLS SNI, HTTP Host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..base import Batch, norm_name
from ..segments import IpInfo

NAME_FIELDS = (("dns", "query"), ("tls", "server_name"), ("http", "host"))


def named_records(batch: Batch) -> Iterator[tuple[dict[str, Any], IpInfo, IpInfo, str, str]]:
    """(record, orig, resp, log, normalised name) for every record with a usable name."""
    for path, field in NAME_FIELDS:
        for rec, o, d in batch.each(path):
            name = norm_name(rec.get(field))
            if name is not None:
                yield rec, o, d, path, name
