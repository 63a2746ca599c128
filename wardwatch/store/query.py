"""Queries: the read-only entry point of ``wardwatch query`` and the dashboards' typical queries,
all parameterised (``{name:Type}``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from . import Store


def read_only(store: Store, sql: str, params: dict[str, Any] | None = None) -> Iterator[bytes]:
    """Rows of ``sql`` as JSON lines; the backend rejects any write or DDL."""
    for row in store.rows(sql, params, readonly=True):
        yield orjson.dumps(row)


TOP_DOMAINS = """
SELECT segment, query, count() AS queries, uniqExact(id_orig_h) AS clients
FROM dns
WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
  AND (empty({segments:Array(String)}) OR segment IN {segments:Array(String)})
GROUP BY segment, query
ORDER BY segment, queries DESC
LIMIT {n:UInt32} BY segment
"""

SUFFIX_SEARCH = """
SELECT ts, segment, id_orig_h, query, qtype_name, rcode_name, answers
FROM dns
WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
  AND (query = {suffix:String} OR reverse(query) LIKE concat(reverse(concat('.', {suffix:String})), '%'))
ORDER BY ts
LIMIT {n:UInt32}
"""

DNS_PER_MINUTE = """
SELECT minute, segment, rcode_name, sum(queries) AS queries
FROM dns_minute
WHERE minute >= toDateTime({since:DateTime64(6, 'UTC')}) AND minute < toDateTime({until:DateTime64(6, 'UTC')})
GROUP BY minute, segment, rcode_name
ORDER BY minute, segment, rcode_name
"""

TOP_TALKERS = """
SELECT segment, orig_h, sum(conns) AS conns, sum(orig_bytes) + sum(resp_bytes) AS bytes
FROM talkers_minute
WHERE minute >= toDateTime({since:DateTime64(6, 'UTC')}) AND minute < toDateTime({until:DateTime64(6, 'UTC')})
GROUP BY segment, orig_h
ORDER BY bytes DESC
LIMIT {n:UInt32}
"""

# A flow and the name that led to it: the client resolved a name to the flow's responder before.
CONN_NAMES = """
SELECT c.uid AS uid, c.id_orig_h AS client, c.id_resp_h AS server, p.query AS name
FROM conn AS c
INNER JOIN (
    SELECT client, answer, query, min(first_seen) AS first_seen FROM pdns GROUP BY client, answer, query
) AS p ON p.client = c.id_orig_h AND p.answer = c.id_resp_h
WHERE c.ts >= {since:DateTime64(6, 'UTC')} AND c.ts < {until:DateTime64(6, 'UTC')} AND p.first_seen <= c.ts
ORDER BY c.ts
"""


def top_domains(
    store: Store, since: float, until: float, n: int = 10, segments: list[str] | None = None
) -> list[dict[str, Any]]:
    from .backend import ts_text

    return store.rows(
        TOP_DOMAINS, {"since": ts_text(since), "until": ts_text(until), "n": n, "segments": segments or []}
    )


def conn_names(store: Store, since: float, until: float) -> list[dict[str, Any]]:
    from .backend import ts_text

    return store.rows(CONN_NAMES, {"since": ts_text(since), "until": ts_text(until)})
