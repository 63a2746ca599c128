"""Queries: the read-only entry point of ``wardwatch query`` and the dashboards' typical queries,
all parameterised (``{name:Type}``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from . import Store
from .backend import StoreError
from .schema import PRIVATE_TABLES


class QueryRefused(StoreError):
    """A query the read-only path does not run (what it would do besides reading the store)."""


# functions that reach outside the store: files, URLs, other servers and databases, programs, the
# Python process (chdb). ``readonly`` refuses most of them as table functions, but not ``file()`` as
# a scalar function, which reads any file the process can (as root: all of them).
_OUTSIDE = frozenset(
    name.lower()
    for name in (
        "file",
        "fileCluster",
        "url",
        "urlCluster",
        "s3",
        "s3Cluster",
        "gcs",
        "cosn",
        "oss",
        "hdfs",
        "hdfsCluster",
        "azureBlobStorage",
        "azureBlobStorageCluster",
        "remote",
        "remoteSecure",
        "cluster",
        "clusterAllReplicas",
        "mysql",
        "postgresql",
        "jdbc",
        "odbc",
        "sqlite",
        "mongodb",
        "redis",
        "executable",
        "input",
        "python",
        "iceberg",
        "icebergS3",
        "icebergAzure",
        "icebergHDFS",
        "icebergLocal",
        "icebergCluster",
        "icebergS3Cluster",
        "deltaLake",
        "deltaLakeLocal",
        "deltaLakeCluster",
        "hudi",
        "hudiCluster",
        "arrowFlight",
        "ytsaurus",
        "paimon",
        "catboostEvaluate",
    )
)
# table functions a read-only query may use: generators and views of the store's own tables
# (not ``merge``: its regular expression could name the private tables without naming them)
_TABLE_FUNCTIONS = frozenset({"numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "values", "view", "null"})
_FUNCTION = re.compile(r"^( *)Function (\S+)")
_TABLE_ID = re.compile(r"^\s*TableIdentifier (\S+)")


def private_table(ast_lines: list[str]) -> str | None:
    """The first private table (``schema.PRIVATE_TABLES``: the console's accounts and audit log) that
    lines of ``EXPLAIN AST`` read, in any database spelling; None when there is none."""
    for line in ast_lines:
        m = _TABLE_ID.match(line)
        if m is None:
            continue
        name = m.group(1).rpartition(".")[2].strip("`\"")
        if name in PRIVATE_TABLES:
            return name
    return None


def check_read_only(store: Store, sql: str, params: dict[str, Any] | None = None) -> None:
    """Refuse what ``readonly`` lets through: several statements, ``INTO OUTFILE`` (chdb writes the
    file, overwriting any the process may write), ``FORMAT`` (the output is JSON rows), and
    functions that read files, URLs or other systems. The text is parsed by ClickHouse's own parser
    (``formatQuery``, ``EXPLAIN AST``: nothing runs), so comments and quoting cannot hide anything.
    A ClickHouse server enforces the same itself (multi-statements and ``INTO OUTFILE`` are refused
    server-side; table functions by ``readonly``), so the parse is done on chdb only."""
    if store.backend.kind != "chdb":
        return
    try:
        rows = store.rows("SELECT formatQuery({q:String}) AS f", {"q": sql})
    except StoreError as e:
        if "Multi-statements" in str(e):
            raise QueryRefused(
                "chỉ được một câu lệnh SQL · only one SQL statement per query (remove the ';' and what follows)"
            ) from None
        raise StoreError(f"lỗi cú pháp · syntax error: {str(e).split(': In scope ')[0]}") from None
    text = rows[0]["f"] if rows else ""
    # formatQuery puts each clause of the outer query at the start of a line; literals keep their
    # newlines escaped, so these lines can only be the clauses themselves
    if re.search(r"^INTO\s+OUTFILE\b", text, re.M | re.I):
        raise QueryRefused(
            "không được ghi ra tệp (INTO OUTFILE) · INTO OUTFILE is refused: `wardwatch query` only reads;"
            " redirect its output instead (`wardwatch query … > file.json`)"
        )
    if re.search(r"^FORMAT\b", text, re.M | re.I):
        raise QueryRefused(
            "không dùng FORMAT · FORMAT is refused: `wardwatch query` prints one JSON object a line"
        )
    ast = store.rows("EXPLAIN AST " + text, params)
    lines = [next(iter(r.values())) for r in ast]
    private = private_table(lines)
    if private is not None:
        raise QueryRefused(
            f"không được đọc bảng {private} · table {private} is refused: it holds the console's accounts"
            " or its audit log (the console shows them to an admin)"
        )
    for i, line in enumerate(lines):
        m = _FUNCTION.match(line)
        if m is None:
            continue
        name = m.group(2).lower()
        depth = len(m.group(1))
        parent = next((x for x in reversed(lines[:i]) if len(x) - len(x.lstrip(" ")) < depth), "")
        table_fn = parent.strip().startswith("TableExpression")
        if name in _OUTSIDE or (table_fn and name not in _TABLE_FUNCTIONS):
            raise QueryRefused(
                f"không được dùng hàm {m.group(2)}() · function {m.group(2)}() is refused: `wardwatch query`"
                " reads the store's tables only, not files, URLs or other systems"
            )


def read_only(
    store: Store, sql: str, params: dict[str, Any] | None = None, shared: bool = False
) -> Iterator[bytes]:
    """Rows of ``sql`` as JSON lines. The query is checked first (``check_read_only``), then runs with
    ``readonly = 1`` (ClickHouse rejects any write, DDL or change of settings) under the configured
    time, row and memory limits (``store: {query: …}``).

    ``shared``: the chdb session also writes (``wardwatch serve``), so ``readonly`` and the limits go
    with this query alone rather than the session: ``SELECT * FROM (sql) SETTINGS …``, where (checked
    on chdb 4.4) the outer query's settings win over any the inner one sets. ``sql`` passed the check
    as one well-formed statement, so its brackets balance and it cannot close the wrapper early; a
    statement that is not a SELECT does not parse inside it."""
    check_read_only(store, sql, params)
    try:
        if shared and store.backend.kind == "chdb":
            limits = {**store.settings.query_limits, "readonly": 1}
            given = ", ".join(f"{k} = {_literal(v)}" for k, v in limits.items())
            rows = store.rows(f"SELECT * FROM (\n{sql}\n) SETTINGS {given}", params)
        else:
            rows = store.rows(sql, params, readonly=True)
    except StoreError as e:
        raise StoreError(_explain(str(e))) from None
    for row in rows:
        yield orjson.dumps(row)


def _literal(value: Any) -> str:
    """A setting's value (from our own settings, never from the query) as SQL."""
    return str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "") + "'"


def _explain(msg: str) -> str:
    """ClickHouse's limit errors, with the setting that raises the limit."""
    hints = (
        (
            "TOO_MANY_ROWS",
            "quá nhiều dòng kết quả · too many result rows: add a LIMIT, or raise store.query.max_result_rows",
        ),
        (
            "TIMEOUT_EXCEEDED",
            "truy vấn quá thời gian · the query ran too long: narrow it, or raise store.query.max_execution_time",
        ),
        (
            "MEMORY_LIMIT_EXCEEDED",
            "truy vấn cần quá nhiều bộ nhớ · the query needs too much memory: narrow it, or raise store.query.max_memory_usage",
        ),
    )
    for code, hint in hints:
        if code in msg:
            return f"{hint} ({msg})"
    return msg


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
