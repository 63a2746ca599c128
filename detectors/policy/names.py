"""The names a record offers for domain lists: DNS query, TLS SNI, HTTP Host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wardwatch.segments import IpInfo

from ..base import Batch

NAME_FIELDS = (("dns", "query"), ("tls", "server_name"), ("http", "host"))


def named_records(batch: Batch) -> Iterator[tuple[dict[str, Any], IpInfo, IpInfo, str, str]]:
    """(record, orig, resp, log, normalised name) for every record with a usable name.

    Lookups that a configured hospital resolver forwards upstream are skipped: the client's own
    lookup, seen on its way to the resolver, carries the alert and the right source address."""
    for path, field in NAME_FIELDS:
        skip_resolver = path == "dns"
        for rec, o, d, name in batch.names(path, field):
            if skip_resolver and o.resolver:
                continue
            yield rec, o, d, path, name
