"""What the store needs from a ClickHouse: run a statement, read rows, insert columns. Both backends
take the same SQL with ClickHouse's own ``{name:Type}`` parameters; values are always passed as
parameters, never spliced into the text by callers.

``param_text`` renders a Python value in the text form ClickHouse parses query parameters from (the
escaped TSV form; arrays as literals). Backends that cannot send server-side parameters (ClickHouse
before 19.x) use ``bind_literals``, which renders the same values as typed SQL literals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from wardwatch.errors import WardwatchError

Params = Mapping[str, Any]
_TSV = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})
_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+(?:\([^{}]*\))?)\}")


class StoreError(WardwatchError, RuntimeError):
    """A store problem worth one clear line (unreachable server, schema too new, bad query)."""


class Batch:
    """Columns for one insert: name → numpy array or list; ``ts``-kind columns are int64 µs."""

    def __init__(self, table: str, columns: dict[str, Any], types: dict[str, str], rows: int) -> None:
        self.table = table
        self.columns = columns
        self.types = types
        self.rows = rows


class Backend(Protocol):
    kind: str

    def execute(self, sql: str, params: Params | None = None) -> None: ...

    def rows(
        self, sql: str, params: Params | None = None, readonly: bool = False
    ) -> list[dict[str, Any]]: ...

    def insert(self, batch: Batch) -> None: ...

    def close(self) -> None: ...


def _quote(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            raise ValueError(f"not a finite number: {v!r}")
        return repr(float(v))
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_quote(x) for x in v) + "]"
    s = v.isoformat(sep=" ") if isinstance(v, datetime) else str(v)
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ts_text(ts: float) -> str:
    """Epoch seconds → ``YYYY-MM-DD hh:mm:ss.ffffff`` (UTC), the form DateTime64 parameters parse."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def param_text(v: Any) -> str:
    """A value in ClickHouse's query-parameter text form."""
    if v is None:
        return "\\N"
    if isinstance(v, (list, tuple)):
        if v and all(type(x) is str for x in v):
            joined = "\x00".join(v)
            if "'" not in joined and "\\" not in joined:
                return "['" + "','".join(v) + "']"  # the common case (uids, names) without per-item quoting
        return _quote(list(v))
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        v = v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(v).translate(_TSV)


def bind_literals(sql: str, params: Params | None) -> str:
    """Replace each ``{name:Type}`` by a typed literal, ``CAST('…' AS Type)`` (for old servers)."""
    if not params:
        return sql

    def sub(m: re.Match[str]) -> str:
        name, type_ = m.group(1), m.group(2).strip()
        if name not in params:
            raise StoreError(f"query parameter {name!r} has no value")
        v = params[name]
        if type_.startswith("Identifier"):
            raise StoreError("identifier parameters are not supported")
        lit = f"CAST({_quote(v)} AS {type_})" if v is not None else "NULL"
        if type_.startswith("Array(") and re.search(r"\bIN\s*$", sql[: m.start()], re.IGNORECASE):
            # `x IN array` needs ClickHouse 20+; a subquery is understood by every version
            return f"(SELECT arrayJoin({lit}))"
        return lit

    return _PARAM_RE.sub(sub, sql)


def used_params(sql: str) -> Sequence[str]:
    return [m.group(1) for m in _PARAM_RE.finditer(sql)]
