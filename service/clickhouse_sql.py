"""What the ClickHouse-compatible endpoint (``clickhouse_http.py``) lets a client run on the embedded
store, and how: one read-only statement, in an output format the drivers read, under the store's
query limits with ``readonly = 1``.

A client's text goes through, in order:

1. the few schema statements Grafana's ClickHouse plugin sends (``SHOW DATABASES``, ``SHOW TABLES``,
   ``DESC TABLE t``) become the equivalent SELECTs on ``system.*``;
2. ClickHouse's own parser (``formatQuery``): one statement, or a syntax error; the trailing
   ``FORMAT X`` that clickhouse-connect appends is taken off and becomes the output format;
3. ``store.query.check_read_only``: no ``file()``, ``url()`` or other outside functions, no table
   function but generators, no ``INTO OUTFILE``;
4. here: a SELECT (or WITH … SELECT) only, reading our database and, of ``system``, only the tables
   the drivers and the plugin read (settings, databases, tables, columns, functions, one);
5. it runs as ``SELECT * FROM (<statement>) SETTINGS <limits>, readonly = 1`` (the session also
   writes: the settings go with this query alone; the outer ones win over any the statement sets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wardwatch.store import Store, StoreError
from wardwatch.store.query import QueryRefused, check_read_only, private_table

DATABASE = "default"  # chdb's database: the store's tables live there
# what clickhouse-connect (system.settings), clickhouse-go and the plugin's schema browser read
SYSTEM_TABLES = frozenset({"settings", "databases", "tables", "columns", "functions", "one"})
# the output formats the drivers ask for, and the text ones people use by hand (curl)
FORMATS = {
    name.lower(): name
    for name in (
        "Native",
        "RowBinary",
        "RowBinaryWithNames",
        "RowBinaryWithNamesAndTypes",
        "TabSeparated",
        "TabSeparatedRaw",
        "TabSeparatedWithNames",
        "TabSeparatedWithNamesAndTypes",
        "TSV",
        "TSVRaw",
        "TSVWithNames",
        "TSVWithNamesAndTypes",
        "CSV",
        "CSVWithNames",
        "CSVWithNamesAndTypes",
        "JSON",
        "JSONCompact",
        "JSONEachRow",
        "JSONCompactEachRow",
        "JSONStringsEachRow",
        "Pretty",
        "PrettyCompact",
        "Values",
        "Arrow",
        "ArrowStream",
        "Parquet",
    )
}
_FORMAT_LINE = re.compile(r"\nFORMAT\s+(\w+)\s*$", re.I)
_TRAILING_FORMAT = re.compile(r"\s+FORMAT\s+(\w+)\s*;?\s*$", re.I)
_TABLE = re.compile(r"^\s*(TableIdentifier|Identifier) (\S+)")
_SHOW_DATABASES = re.compile(r"^\s*SHOW\s+DATABASES\s*;?\s*$", re.I)
_SHOW_TABLES = re.compile(r"^\s*SHOW\s+TABLES(?:\s+(?:FROM|IN)\s+[`\"]?(\w+)[`\"]?)?\s*;?\s*$", re.I)
_DESCRIBE = re.compile(
    r"^\s*DESC(?:RIBE)?\s+(?:TABLE\s+)?(?:[`\"]?(\w+)[`\"]?\s*\.\s*)?[`\"]?(\w+)[`\"]?\s*;?\s*$", re.I
)


class ClickhouseError(StoreError):
    """A refusal worded as ClickHouse words it, so that drivers show it as a server error:
    ``Code: 164. DB::Exception: … (READONLY)``, with the HTTP status ClickHouse gives that code."""

    NAMES = {
        60: "UNKNOWN_TABLE",
        62: "SYNTAX_ERROR",
        73: "UNKNOWN_FORMAT",
        81: "UNKNOWN_DATABASE",
        164: "READONLY",
        497: "ACCESS_DENIED",
        516: "AUTHENTICATION_FAILED",
    }
    STATUS = {60: 404, 62: 400, 73: 400, 81: 404, 164: 403, 497: 403, 516: 401}

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def status(self) -> int:
        return self.STATUS.get(self.code, 500)

    def text(self, version: str) -> str:
        name = self.NAMES.get(self.code)
        tail = f" ({name})" if name and f"({name})" not in str(self) else ""
        return f"Code: {self.code}. DB::Exception: {self}{tail} (version {version})\n"

    @classmethod
    def from_store(cls, e: StoreError) -> ClickhouseError:
        """chdb's own error (``Code: 60. DB::Exception: Unknown table …``) keeps its code."""
        msg = str(e)
        m = re.search(r"Code: (\d+)\. DB::Exception: (.*)", msg)
        if m is None:
            return cls(1000, msg)  # ClickHouse's POCO_EXCEPTION: a generic server-side error
        return cls(int(m.group(1)), m.group(2).split(" (version ")[0].strip())


@dataclass(frozen=True)
class Prepared:
    sql: str  # the statement to run, checked, without FORMAT
    fmt: str


def rewrite_schema_statement(text: str, database: str = DATABASE) -> str:
    """The plugin's schema browser sends SHOW and DESC; answer them from ``system.*`` (only SELECTs
    can be wrapped in the read-only query). A trailing ``FORMAT X`` (clickhouse-connect's) stays."""
    fmt = _TRAILING_FORMAT.search(text)
    body, tail = (text[: fmt.start()], f"\nFORMAT {fmt.group(1)}") if fmt else (text, "")
    if _SHOW_DATABASES.match(body):
        return f"SELECT name FROM system.databases WHERE name = '{database}' ORDER BY name{tail}"
    m = _SHOW_TABLES.match(body)
    if m:
        _check_database(m.group(1), database)
        return f"SELECT name FROM system.tables WHERE database = '{database}' ORDER BY name{tail}"
    m = _DESCRIBE.match(body)
    if m:
        _check_database(m.group(1), database)
        return (
            "SELECT name, type, default_kind AS default_type, default_expression, comment,"
            " compression_codec AS codec_expression, '' AS ttl_expression FROM system.columns"
            f" WHERE database = '{database}' AND table = '{m.group(2)}' ORDER BY position{tail}"
        )
    return text


def _check_database(name: str | None, database: str) -> None:
    if name is not None and name != database:
        raise ClickhouseError(81, f"Database {name} does not exist")


def prepare(store: Store, text: str, params: dict[str, Any], default_format: str) -> Prepared:
    """Steps 1–4 of the module's docstring: the statement to run and its output format, or a
    ``ClickhouseError`` that says why not."""
    text = rewrite_schema_statement(text)
    try:
        rows = store.rows("SELECT formatQuery({q:String}) AS f", {"q": text})
    except StoreError as e:
        if "Multi-statements" in str(e):
            raise ClickhouseError(62, "Multi-statements are not allowed") from None
        raise ClickhouseError.from_store(e) from None
    sql = (rows[0]["f"] if rows else "").rstrip("\n")
    fmt = default_format
    m = _FORMAT_LINE.search("\n" + sql)
    if m:
        fmt = m.group(1)
        sql = ("\n" + sql)[: m.start()].lstrip("\n")
    name = FORMATS.get(fmt.lower())
    if name is None:
        raise ClickhouseError(
            73, f"Unknown output format {fmt} (this endpoint answers {', '.join(FORMATS.values())})"
        )
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    if head not in ("SELECT", "WITH"):
        raise ClickhouseError(
            164,
            "Cannot execute query in readonly mode: this endpoint only reads (SELECT) the wardwatch store",
        )
    try:
        check_read_only(store, sql, params)
    except QueryRefused as e:
        raise ClickhouseError(497, str(e)) from None
    except StoreError as e:
        raise ClickhouseError.from_store(e) from None
    _check_tables(store, sql, params)
    return Prepared(sql, name)


def _check_tables(store: Store, sql: str, params: dict[str, Any]) -> None:
    """Of the other databases, only the system tables the drivers need; ``merge()`` and ``view()``
    name their tables inside, so they are refused here too."""
    try:
        ast = store.rows("EXPLAIN AST " + sql, params)
    except StoreError as e:
        raise ClickhouseError.from_store(e) from None
    lines = [str(next(iter(row.values()))) for row in ast]
    private = private_table(lines)
    if private is not None:
        raise ClickhouseError(497, f"Not enough privileges to read {private}: the console's accounts and audit log")
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("Function merge") or stripped.startswith("Function view"):
            raise ClickhouseError(497, f"{stripped.split()[1]}() is refused: name the table itself")
        m = _TABLE.match(line)
        if m is None or "." not in m.group(2):
            continue
        db, _, table = m.group(2).partition(".")
        db = db.strip('`"').lower()
        table = table.strip('`"')
        if m.group(1) == "Identifier" and db not in ("system", "information_schema"):
            continue  # alias.column
        if db == DATABASE:
            continue
        if db == "system" and table.lower() in SYSTEM_TABLES:
            continue
        raise ClickhouseError(
            497,
            f"Not enough privileges to read {db}.{table}: this endpoint reads the wardwatch tables and"
            f" system.{{{', '.join(sorted(SYSTEM_TABLES))}}} only",
        )


def wrapped(prepared: Prepared, limits: dict[str, Any]) -> str:
    """Step 5: the statement under the store's limits and ``readonly = 1`` (our own settings and
    values only: nothing from the client goes into this clause)."""
    given = ", ".join(f"{k} = {_literal(v)}" for k, v in {**limits, "readonly": 1}.items())
    return f"SELECT * FROM (\n{prepared.sql}\n) SETTINGS {given}"


def _literal(value: Any) -> str:
    return (
        str(int(value))
        if isinstance(value, int)
        else "'" + str(value).replace("'", "").replace("\\", "") + "'"
    )
