"""The embedded backend: chdb (the ClickHouse engine in-process) persisting to a folder.

Inserts go as Arrow tables through chdb's ``Python(table)`` table function (about 1.5M rows/s here,
ten times ``FORMAT JSONEachRow``); ClickHouse converts the Arrow strings to ``IPv6`` on the way in.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from wardwatch.files import private_dir

from .backend import Batch, Params, StoreError, param_text
from .lock import StoreLock, explain_chdb_lock

# One chdb session per process: chdb keeps a single engine instance, so a second Session on another
# path would silently share it. Opening the same path again reuses the session.
_LOCK = threading.Lock()
_SESSIONS: dict[str, tuple[Any, int, StoreLock | None]] = {}
# One query at a time on the engine: the writer may insert from its own thread while the caller's
# thread queries (chdb's session is not documented as safe for concurrent queries).
_QUERY_LOCK = threading.RLock()


def _arrow_type(ch_type: str) -> pa.DataType | None:
    t = ch_type
    if t.startswith("Nullable("):
        t = t[9:-1]
    if t.startswith("LowCardinality("):
        t = t[15:-1]
    if t.startswith("DateTime64"):
        return pa.timestamp("us", tz="UTC")
    if t in ("String", "IPv6", "IPv4"):
        return pa.string()
    if t == "Bool":
        return pa.bool_()
    if t in ("UInt8", "UInt16", "UInt32", "UInt64"):
        return {"UInt8": pa.uint8(), "UInt16": pa.uint16(), "UInt32": pa.uint32(), "UInt64": pa.uint64()}[t]
    if t in ("Float32", "Float64"):
        return pa.float32() if t == "Float32" else pa.float64()
    if t.startswith("Array("):
        inner = _arrow_type(t[6:-1])
        return pa.list_(inner if inner is not None else pa.string())
    if t.startswith("Map("):
        return pa.map_(pa.string(), pa.string())
    return None


def to_arrow(batch: Batch) -> pa.Table:
    arrays = []
    for name, values in batch.columns.items():
        at = _arrow_type(batch.types[name])
        if isinstance(values, np.ndarray) and at is not None and pa.types.is_timestamp(at):
            arrays.append(pa.array(values.astype(np.int64), type=at))
        else:
            arrays.append(pa.array(values, type=at))
    return pa.Table.from_arrays(arrays, names=list(batch.columns))


class ChdbBackend:
    kind = "chdb"

    def __init__(self, path: str | Path, query_limits: dict[str, Any] | None = None) -> None:
        from chdb import session

        self.path = str(Path(path).resolve())
        # settings applied with ``readonly`` (``wardwatch query``): time, rows, memory
        self.query_limits = dict(query_limits or {})
        with _LOCK:
            if _SESSIONS and self.path not in _SESSIONS:
                # chdb runs one engine per process; release the other store first
                other = next(iter(_SESSIONS))
                raise StoreError(f"chdb store {other} is already open in this process; close it first")
            sess, users, lock = _SESSIONS.get(self.path, (None, 0, None))
            if sess is None:
                private_dir(self.path)  # records of hospital hosts: owner-only
                # our own lock first: a second process learns which wardwatch holds the store
                lock = StoreLock(Path(self.path))
                try:
                    sess = session.Session(self.path)
                except Exception as e:  # chdb raises plain RuntimeError subclasses
                    lock.release()
                    text = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
                    if "Cannot lock file" in text:
                        raise StoreError(explain_chdb_lock(Path(self.path), text)) from None
                    raise StoreError(f"cannot open chdb store at {self.path}: {text}") from None
                # ClickHouse's status file ignores the umask of a caller that did not set ours
                status = Path(self.path) / "status"
                if status.exists():
                    status.chmod(0o600)
            _SESSIONS[self.path] = (sess, users + 1, lock)
        self._session = sess
        self._closed = False
        self.readonly = False

    def _query(self, sql: str, fmt: str, params: Params | None) -> Any:
        p = {k: param_text(v) for k, v in params.items()} if params else None
        try:
            with _QUERY_LOCK:
                return self._session.query(sql, fmt, params=p)
        except Exception as e:
            raise StoreError(str(e).strip().splitlines()[0] if str(e).strip() else repr(e)) from None

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._query(sql, "CSV", params)

    def rows(self, sql: str, params: Params | None = None, readonly: bool = False) -> list[dict[str, Any]]:
        if readonly and not self.readonly:
            self.set_readonly()
        res = self._query(sql, "JSONEachRow", params)
        data = res.bytes() if hasattr(res, "bytes") else bytes(res)
        return [orjson.loads(line) for line in data.splitlines() if line.strip()]

    def raw(self, sql: str, fmt: str, params: Params | None = None) -> bytes:
        """The result of ``sql`` in the ClickHouse output format ``fmt`` (Native, RowBinary…), as
        bytes: the ClickHouse-compatible endpoint (service/clickhouse_http.py) hands them on as is."""
        res = self._query(sql, fmt, params)
        return res.bytes() if hasattr(res, "bytes") else bytes(res)

    def set_readonly(self) -> None:
        """Reject every write and DDL from now on (for the session's life: ``readonly`` cannot be
        turned off again, which is the point), under the query limits: set before ``readonly``,
        which then forbids changing them (a query's own ``SETTINGS`` included)."""
        for name, value in self.query_limits.items():  # names and values from our own settings
            literal = str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "") + "'"
            self._query(f"SET {name} = {literal}", "CSV", None)
        self._query("SET readonly = 1", "CSV", None)
        self.readonly = True

    def insert(self, batch: Batch) -> None:
        if not batch.rows:
            return
        _ww_batch = to_arrow(batch)  # noqa: F841 — read by name by chdb's Python() table function
        cols = ", ".join(f"`{c}`" for c in batch.columns)
        self._query(
            f"INSERT INTO `{batch.table}` ({cols}) SELECT * FROM Python(_ww_batch) "
            "SETTINGS max_partitions_per_insert_block = 10000",
            "CSV",
            None,
        )

    def insert_select(
        self,
        table: str,
        columns: list[str],
        select: str,
        data: pa.Table,
        params: Params | None = None,
        collapse: bool = True,
    ) -> None:
        """``INSERT INTO table (columns) SELECT <select> FROM Python(data)``: the writer's fast path,
        where defaults and derived values are computed by ClickHouse on the way in. Materialized views
        run in parallel (``parallel_view_processing``). ``collapse=False`` turns off ReplacingMergeTree's
        collapse inside the inserted block, for tables whose sorting key tells apart every record the
        writer keeps (there it could only ever drop nothing)."""
        if not data.num_rows:
            return
        _ww_batch = data  # noqa: F841 — read by name by chdb's Python() table function
        cols = ", ".join(f"`{c}`" for c in columns)
        self._query(
            f"INSERT INTO `{table}` ({cols}) SELECT {select} FROM Python(_ww_batch) "
            "SETTINGS max_partitions_per_insert_block = 10000, parallel_view_processing = 1"
            # collapsing rows with equal sorting keys inside the block costs a third of the insert,
            # and is a no-op when the writer has dropped repeats and the key covers the dedup key
            + ("" if collapse else ", optimize_on_insert = 0"),
            "CSV",
            params,
        )

    def rows_over(self, sql: str, data: pa.Table, params: Params | None = None) -> list[dict[str, Any]]:
        """Rows of a query that reads the Arrow table ``data`` as ``Python(_ww_batch)``."""
        _ww_batch = data  # noqa: F841 — read by name by chdb's Python() table function
        res = self._query(sql, "JSONEachRow", params)
        raw = res.bytes() if hasattr(res, "bytes") else bytes(res)
        return [orjson.loads(line) for line in raw.splitlines() if line.strip()]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with _LOCK:
            sess, users, lock = _SESSIONS.get(self.path, (None, 0, None))
            if users <= 1:
                _SESSIONS.pop(self.path, None)
                try:
                    if sess is not None:
                        sess.close()
                finally:
                    if lock is not None:
                        lock.release()
            else:
                _SESSIONS[self.path] = (sess, users - 1, lock)
