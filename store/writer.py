"""Records and alerts in, batched columnar inserts out.

Rows wait per table until ``batch_rows`` of them are pending (or ``flush``); each insert is one
columnar batch. With ``flush_seconds`` set, everything pending also goes to the store once that long
has passed since the last insert (checked as rows arrive), so a process killed mid-run loses at most
the rows of the last ``flush_seconds`` (or ``batch_rows``), never the whole run.

Fast path (chdb, record tables): the pending record dicts become one Arrow struct array in a single
C++ pass (``pa.array(rows, type=struct)``: no per-field Python loop), with wide input types and
nulls where a field is unset; the INSERT's SELECT fills the defaults (``ifNull``), casts to the
column types and turns address text into ``IPv6``. The segment (and the optional pseudonym) is
looked up once per distinct client address and spread with ``take``. A batch whose values do not
fit (a string where a number belongs…) falls back to the per-value coercing path below. Other
backends (a ClickHouse server, test fakes) take ``columns()`` batches as before.

Dedup (running the same capture twice must not duplicate anything): every table has a stable key
(``schema.Table.key``: the record's time and uid, plus what tells apart several records of one
connection, e.g. ``trans_id`` and ``query`` for DNS). Before an insert the writer drops rows whose key
is already in the batch or already stored. Fast path: in-batch repeats by an Arrow hash group-by;
stored ones by one query per batch that ClickHouse answers itself (the batch's keys ``IN`` the stored
keys of the batch's uids within its time range), returning only the row numbers of repeats, so new
traffic costs one index-range read and no Python work per row. Re-inserted rows never reach the
table, and the materialized views (passive DNS, rollups) never count them twice. This check has no
time window: it sees everything still stored. What it cannot see is another writer inserting the
same rows at the same moment; for that the tables are ReplacingMergeTree on the same key, which
collapses such duplicates at the next merge (exact counts meanwhile: ``FINAL``; rollups may count
such a race twice).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from wardwatch.ingest.native import load

from wardwatch.alerts import Alert
from wardwatch.counters import Counters

from .backend import Backend, Batch, StoreError
from .schema import ALERTS, BY_LOG, BY_NAME, Column, Table

# _rows.c: record dicts to Arrow buffers (rows_struct); WARDWATCH_STORE_PYTHON=1 keeps pyarrow's path
_native = None if os.environ.get("WARDWATCH_STORE_PYTHON") == "1" else load(__package__, "_rows")

log = logging.getLogger(__name__)
Record = dict[str, Any]
_UID_CHUNK = 20_000


def _source(c: Column) -> str:
    return c.source if c.source is not None else c.name


def _coerce(c: Column, v: Any) -> Any:
    """One value made to fit its column (the slow path for a batch that failed to convert)."""
    nullable = c.type.startswith("Nullable(")
    if v is None:
        return None if nullable else _empty(c)
    try:
        if c.kind == "int":
            return int(v)
        if c.kind == "float":
            return float(v)
        if c.kind == "bool":
            return bool(v)
        if c.kind in ("strs", "floats"):
            conv = str if c.kind == "strs" else float
            return [conv(x) for x in v] if isinstance(v, (list, tuple)) else []
        if c.kind == "map":
            return [(str(k), str(x)) for k, x in dict(v).items()]
        return str(v)
    except (TypeError, ValueError):
        return None if nullable else _empty(c)


def _empty(c: Column) -> Any:
    empty = {"int": 0, "float": 0.0, "bool": False, "strs": [], "floats": [], "map": [], "ip": "::"}
    return "sensor" if c.kind == "source" else empty.get(c.kind, "")


class Writer:
    def __init__(
        self,
        backend: Backend,
        segment_of: Callable[[str], str],
        sensor: str = "",
        site: str = "",
        pseudonymise: Callable[[str], str] | None = None,
        counters: Counters | None = None,
        batch_rows: int = 100_000,
        dedup: bool = True,
        background: bool = False,
        flush_seconds: float | None = None,
    ) -> None:
        self.backend = backend
        self.segment_of = segment_of
        self.sensor = sensor
        self.site = site
        self.pseudo = pseudonymise
        self.counters = counters if counters is not None else Counters()
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self._flushed_at = time.monotonic()
        self.dedup = dedup
        self.pending: dict[str, list[Any]] = {name: [] for name in BY_NAME}
        self.retro_pending: list[Alert] = []
        self.written: Counter[tuple[str, str]] = Counter()  # (table, segment) → rows stored
        self.duplicates: Counter[str] = Counter()
        self._fast = hasattr(backend, "insert_select")
        self._chunks: dict[str, list[pa.StructArray | None]] = {name: [] for name in _FAST}
        # records that arrived already in Arrow (``add_arrow``), per table, and how many
        self._arrow: dict[str, list[pa.StructArray]] = {name: [] for name in _FAST}
        self._arrow_rows: dict[str, int] = dict.fromkeys(_FAST, 0)
        # background: inserts run on a thread of their own while the caller reads, decodes and
        # detects (chdb and clickhouse-driver release the GIL while ClickHouse works, so the insert
        # overlaps on the second core). Two batches may wait: enough to keep the thread busy, small
        # enough that a slow store pushes back on the sensor instead of filling memory.
        self._jobs: queue.Queue[_Job | None] | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.insert_seconds = 0.0  # time spent converting, deduplicating and inserting batches
        self.committed = 0  # rows the store has accepted so far (read by progress lines)
        if background:
            self._jobs = queue.Queue(maxsize=2)
            self._thread = threading.Thread(target=self._work, name="wardwatch-store-writer", daemon=True)
            self._thread.start()

    # -- input -----------------------------------------------------------------------------------
    def add_records(self, records: Iterable[Record]) -> None:
        pending = self.pending
        fast = self._fast
        got: dict[str, list[Record]] = {}
        for rec in records:
            table = BY_LOG.get(rec.get("_path"))  # type: ignore[arg-type]
            if table is None:
                self.counters.add("store.unknown_log")
                continue
            rows = got.get(table.name)
            if rows is None:
                rows = got[table.name] = []
            rows.append(rec)
        for name, rows in got.items():
            pending[name] += rows
            if fast and name in _FAST:
                # converted now, while the records are still in the CPU cache (a third of the cost
                # of converting them cold at flush time); ``None`` marks a chunk that did not fit
                try:
                    chunk: pa.StructArray | None = rows_struct(_FAST[name], rows)
                except (pa.ArrowException, TypeError, ValueError, OverflowError):
                    chunk = None
                self._chunks[name].append(chunk)
        for name, rows in pending.items():
            if len(rows) + self._arrow_rows.get(name, 0) >= self.batch_rows:
                self._flush_table(BY_NAME[name])
        self._flush_if_due()

    def add_arrow(self, log_name: str, records: pa.StructArray) -> None:
        """Records of one log that are already Arrow, shaped as ``record_struct(log_name)`` gives (the
        bus writer reads NDJSON messages straight into it, with no Python object per record)."""
        table = BY_LOG.get(log_name)
        if table is None or table.name not in _FAST:
            self.counters.add("store.unknown_log", len(records))
            return
        if records.type != _FAST[table.name].struct:
            raise TypeError(f"{log_name} records must be {_FAST[table.name].struct}, got {records.type}")
        if not len(records):
            return
        self._arrow[table.name].append(records)
        self._arrow_rows[table.name] += len(records)
        if len(self.pending[table.name]) + self._arrow_rows[table.name] >= self.batch_rows:
            self._flush_table(table)
        self._flush_if_due()

    def discard(self) -> None:
        """Forget what is pending and not yet handed to an insert (the bus writer re-reads it)."""
        for name in self.pending:
            self.pending[name] = []
        for name in self._chunks:
            self._chunks[name] = []
            self._arrow[name] = []
            self._arrow_rows[name] = 0
        self.retro_pending.clear()

    def add_alerts(self, alerts: Iterable[Alert], retro: bool = False) -> None:
        for a in alerts:
            d = a.to_dict()
            d["retro"] = retro or bool(a.evidence.get("retro"))
            self.pending["alerts"].append(d)
        if len(self.pending["alerts"]) >= self.batch_rows:
            self._flush_table(ALERTS)
        self._flush_if_due()

    def preview(self, alerts: Iterable[Alert]) -> list[dict[str, Any]]:
        """Alerts as their ``alerts`` rows will read (segment, site, sensor, the client address
        pseudonymised when the store does), before they are stored: for on-call notification that
        must not wait for the next flush and must show what the store will show."""
        out = []
        p = self.pseudo
        for a in alerts:
            d = a.to_dict()
            src = d.get("src_ip") or ""
            d["segment"] = d.get("segment") or self.segment_of(src)
            d["site"], d["sensor"] = self.site, self.sensor
            if p is not None and src:
                d["src_ip"] = p(src)
            out.append(d)
        return out

    def _flush_if_due(self) -> None:
        """Hand every pending table to an insert once ``flush_seconds`` have passed (without waiting
        for the inserts, which keep their own pace on the background thread)."""
        if self.flush_seconds is None:
            return
        now = time.monotonic()
        if now - self._flushed_at < self.flush_seconds:
            return
        self._flushed_at = now
        for table in BY_NAME.values():
            self._flush_table(table)

    def flush(self) -> None:
        """Insert everything pending; returns once it is stored (raises what the store raised)."""
        for table in BY_NAME.values():
            self._flush_table(table)
        self._flushed_at = time.monotonic()
        if self._jobs is not None:
            self._jobs.join()
        self._raise()

    def close(self) -> None:
        """Stop the insert thread (after ``flush``; pending rows that were not flushed are dropped)."""
        if self._jobs is not None and self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._jobs = None
            self._thread = None

    def _raise(self) -> None:
        if self._error is not None:
            e, self._error = self._error, None
            raise e

    def _work(self) -> None:
        jobs = self._jobs
        assert jobs is not None
        while True:
            job = jobs.get()
            try:
                if job is None:
                    return
                # after a failure, later batches are not tried: the caller gets the error at its next
                # call (as it would have from an insert on its own thread) and decides
                if self._error is None:
                    self._insert(job)
            except BaseException as e:  # noqa: BLE001 — handed to the caller's thread
                self._error = e
            finally:
                jobs.task_done()

    # -- columns ---------------------------------------------------------------------------------
    def columns(self, table: Table, rows: Sequence[Record]) -> Batch:
        """The insert batch of ``rows`` (pure apart from the segment and pseudonym lookups)."""
        cols: dict[str, Any] = {}
        types: dict[str, str] = {}
        n = len(rows)
        ip_field = "src_ip" if table is ALERTS else "id.orig_h"
        origin = [r.get(ip_field) or "" for r in rows]
        for c in table.inserted:
            src = _source(c)
            k = c.kind
            nullable = c.type.startswith("Nullable(")
            if k == "ts":
                v: Any = np.round(np.array([r.get(src) or 0.0 for r in rows], dtype=np.float64) * 1e6).astype(
                    np.int64
                )
            elif k == "meta":
                if c.name == "segment":
                    if table is ALERTS:
                        v = [
                            r.get("segment") or self.segment_of(ip)
                            for r, ip in zip(rows, origin, strict=True)
                        ]
                    else:
                        seg = self.segment_of
                        v = [seg(ip) for ip in origin]
                else:
                    v = [self.sensor if c.name == "sensor" else self.site] * n
            elif k == "ip":
                v = [r.get(src) for r in rows] if nullable else [r.get(src) or "::" for r in rows]
                if self.pseudo is not None and src in ("id.orig_h", "src_ip"):
                    p = self.pseudo
                    v = [p(x) if x else x for x in v]
            elif k == "conn_version":
                v = [
                    ((r.get("orig_pkts") or 0) + (r.get("resp_pkts") or 0)) * 2
                    + (0 if r.get("interim") else 1)
                    for r in rows
                ]
            elif k == "json":
                v = [orjson.dumps(r.get(src) or {}, option=orjson.OPT_NON_STR_KEYS).decode() for r in rows]
            elif k == "map":
                v = [list((r.get(src) or {}).items()) for r in rows]
            elif k == "bool":
                v = [r.get(src) for r in rows] if nullable else [r.get(src) is True for r in rows]
            elif k in ("strs", "floats"):
                v = [r.get(src) or [] for r in rows]
            elif nullable:
                v = [r.get(src) for r in rows]
            elif k == "int":
                v = [r.get(src) or 0 for r in rows]
            elif k == "float":
                v = [r.get(src) or 0.0 for r in rows]
            elif k == "source":  # schema 6: the sensor's own records do not say where they came from
                v = [r.get(src) or "sensor" for r in rows]
            else:
                v = [r.get(src) or "" for r in rows]
            cols[c.name] = v
            types[c.name] = c.type
        if self.pseudo is not None and table is ALERTS:
            # the evidence may quote the client address too
            p = self.pseudo
            cols["evidence"] = [
                e.replace(f'"{ip}"', f'"{p(ip)}"') if ip and p(ip) != ip else e
                for e, ip in zip(cols["evidence"], origin, strict=True)
            ]
        return Batch(table.name, cols, types, n)

    # -- dedup -----------------------------------------------------------------------------------
    def keys(self, table: Table, batch: Batch) -> list[tuple[Any, ...]]:
        return list(zip(*(_key_values(batch.columns[k]) for k in table.key), strict=True))

    def stored_keys(self, table: Table, batch: Batch) -> set[tuple[Any, ...]]:
        ts = batch.columns["ts"]
        uids = sorted(set(batch.columns["uid"]))
        sel = ", ".join("toUnixTimestamp64Micro(ts)" if k == "ts" else f"`{k}`" for k in table.key)
        out: set[tuple[Any, ...]] = set()
        for i in range(0, len(uids), _UID_CHUNK):
            rows = self.backend.rows(
                f"SELECT {sel} FROM `{table.name}` WHERE ts BETWEEN fromUnixTimestamp64Micro({{lo:Int64}}, 'UTC')"
                f" AND fromUnixTimestamp64Micro({{hi:Int64}}, 'UTC') AND uid IN {{uids:Array(String)}}",
                {"lo": int(ts.min()), "hi": int(ts.max()), "uids": uids[i : i + _UID_CHUNK]},
            )
            out.update(tuple(r.values()) for r in rows)
        return out

    def _anything_stored(self, table: Table, batch: Batch) -> bool:
        ts = batch.columns["ts"]
        rows = self.backend.rows(
            f"SELECT count() AS c FROM `{table.name}` WHERE ts BETWEEN fromUnixTimestamp64Micro({{lo:Int64}}, 'UTC')"
            " AND fromUnixTimestamp64Micro({hi:Int64}, 'UTC')",
            {"lo": int(ts.min()), "hi": int(ts.max())},
        )
        return bool(rows and int(rows[0]["c"]))

    def _dedup(self, table: Table, batch: Batch) -> Batch:
        keys = self.keys(table, batch)
        # new traffic (nothing stored in the batch's time range) skips the uid lookup
        stored = self.stored_keys(table, batch) if self._anything_stored(table, batch) else set()
        if not stored and len(set(keys)) == batch.rows:
            return batch
        seen: set[tuple[Any, ...]] = set()
        keep = []
        for i, k in enumerate(keys):
            if k in stored or k in seen:
                continue
            seen.add(k)
            keep.append(i)
        if len(keep) == batch.rows:
            return batch
        self.duplicates[table.name] += batch.rows - len(keep)
        self.counters.add(f"store.duplicates.{table.name}", batch.rows - len(keep))
        idx = np.array(keep, dtype=np.int64)
        cols = {
            name: (v[idx] if isinstance(v, np.ndarray) else [v[i] for i in keep])
            for name, v in batch.columns.items()
        }
        return Batch(batch.table, cols, batch.types, len(keep))

    # -- the fast path (chdb) --------------------------------------------------------------------
    def arrow_batch(self, table: Table, records: pa.StructArray) -> pa.Table:
        """The Arrow input of the fast INSERT … SELECT: ``ts`` (µs timestamps), ``segment``, ``_i``
        (row number) and every record field under its column name, raw (nulls where unset)."""
        fields = _FAST[table.name]
        st = records
        cols: dict[str, pa.Array] = dict(zip(fields.names, st.flatten(), strict=True))
        ts = pc.fill_null(cols["ts"], 0.0).to_numpy(zero_copy_only=False)
        cols["ts"] = pa.array(np.round(ts * 1e6).astype(np.int64), type=pa.timestamp("us", tz="UTC"))
        origin = pc.fill_null(cols["id_orig_h"], "")
        uniq = pc.unique(origin)
        idx = pc.index_in(origin, uniq)
        seg = self.segment_of
        cols["segment"] = pc.take(pa.array([seg(ip) for ip in uniq.to_pylist()], pa.string()), idx)
        if self.pseudo is not None:
            p = self.pseudo
            cols["id_orig_h"] = pc.take(pa.array([p(ip) if ip else ip for ip in uniq.to_pylist()]), idx)
        if table.version == "version":  # conn: packets so far, final beats interim
            pk = pc.add(pc.fill_null(cols["orig_pkts"], 0), pc.fill_null(cols["resp_pkts"], 0))
            final = pc.cast(pc.invert(pc.fill_null(cols["interim"], False)), pa.int64())
            cols["version"] = pc.add(pc.multiply(pk, 2), final)
        cols["_i"] = pa.array(np.arange(len(st), dtype=np.int64))
        return pa.Table.from_pydict(cols)

    def _struct(
        self,
        table: Table,
        rows: list[Record],
        chunks: list[pa.StructArray | None],
        arrow: list[pa.StructArray],
    ) -> pa.StructArray | None:
        """All pending rows of ``table`` as one struct array; None when a dict row does not fit its
        wide type (the batch then takes the per-value coercing path)."""
        parts = []
        if rows:
            st = _converted(chunks, len(rows))
            if st is None:
                try:
                    st = rows_struct(_FAST[table.name], rows)
                except (pa.ArrowException, TypeError, ValueError, OverflowError):
                    self.counters.add(f"store.slow_batches.{table.name}")
                    return None
            parts.append(st)
        parts += arrow
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)

    def _fast_flush(self, table: Table, records: pa.StructArray) -> bool:
        """Insert ``records`` through the fast path; False when the batch must take the slow one."""
        try:
            data = self.arrow_batch(table, records)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            self.counters.add(f"store.slow_batches.{table.name}")
            return False
        if self.dedup:
            data = self._fast_dedup(table, data)
            if not data.num_rows:
                return True
        fields = _FAST[table.name]
        try:
            self.backend.insert_select(  # type: ignore[attr-defined]
                table.name,
                fields.insert_columns,
                fields.select,
                data,
                {"sensor": self.sensor, "site": self.site},
                collapse=fields.collapse,
            )
        except StoreError as e:
            if "connect" in str(e).lower() or "unreachable" in str(e).lower():
                raise
            log.warning("insert into %s failed (%s); retrying with coerced values", table.name, e)
            return False
        self.counters.add(f"store.rows.{table.name}", data.num_rows)
        self.committed += data.num_rows
        for item in pc.value_counts(data.column("segment")).to_pylist():
            self.written[(table.name, item["values"])] += item["counts"]
        return True

    def _fast_dedup(self, table: Table, data: pa.Table) -> pa.Table:
        n = data.num_rows
        fields = _FAST[table.name]
        keyed = data.select(["_i"]).append_column("_k", data.column("ts"))
        for k in table.key[1:]:
            col = data.column(k)
            keyed = keyed.append_column(k, pc.fill_null(col, fields.empty[k]) if col.null_count else col)
        keep = None
        tsv = data.column("ts").to_numpy().astype(np.int64)
        # the key includes ts: only rows sharing a ts can repeat each other, usually none
        uts, counts = np.unique(tsv, return_counts=True)
        if len(uts) != n:
            shared = np.isin(tsv, uts[counts > 1])
            sub = keyed.filter(pa.array(shared))
            firsts = sub.group_by(["_k", *table.key[1:]], use_threads=False).aggregate([("_i", "min")])
            if firsts.num_rows != sub.num_rows:
                keep = ~shared
                keep[firsts.column("_i_min").to_numpy()] = True
        lo, hi = int(tsv.min()), int(tsv.max())
        stored = self.backend.rows_over(  # type: ignore[attr-defined]
            f"SELECT _i FROM Python(_ww_batch) WHERE ({fields.key_exprs}) IN ("
            f"SELECT {fields.stored_key} FROM `{table.name}`"
            " WHERE ts BETWEEN fromUnixTimestamp64Micro({lo:Int64}, 'UTC') AND fromUnixTimestamp64Micro({hi:Int64}, 'UTC')"
            " AND uid IN (SELECT ifNull(uid, '') FROM Python(_ww_batch)))",
            data,
            {"lo": lo, "hi": hi},
        )
        if stored:
            if keep is None:
                keep = np.ones(n, dtype=bool)
            keep[np.fromiter((int(r["_i"]) for r in stored), dtype=np.int64, count=len(stored))] = False
        if keep is None:
            return data
        dropped = n - int(keep.sum())
        self.duplicates[table.name] += dropped
        self.counters.add(f"store.duplicates.{table.name}", dropped)
        return data.filter(pa.array(keep))

    # -- output ----------------------------------------------------------------------------------
    def _flush_table(self, table: Table) -> None:
        rows = self.pending[table.name]
        arrow = self._arrow.get(table.name, [])
        if not rows and not arrow:
            return
        self.pending[table.name] = []
        chunks = self._chunks.get(table.name, [])
        if table.name in self._chunks:
            self._chunks[table.name] = []
            self._arrow[table.name] = []
            self._arrow_rows[table.name] = 0
        job = _Job(table, rows, chunks, arrow)
        if self._jobs is None:
            self._insert(job)
            return
        self._raise()
        self._jobs.put(job)

    def _insert(self, job: _Job) -> None:
        t = time.perf_counter()
        try:
            self._insert_rows(job.table, job.rows, job.chunks, job.arrow)
        finally:
            self.insert_seconds += time.perf_counter() - t

    def _insert_rows(
        self, table: Table, rows: list[Any], chunks: list[pa.StructArray | None], arrow: list[pa.StructArray]
    ) -> None:
        if table.name in _FAST and self._fast:
            st = self._struct(table, rows, chunks, arrow)
            if st is not None and self._fast_flush(table, st):
                return
        if arrow:  # the slow path (or another backend) reads dicts
            rows = rows + _rows_of(arrow)
        batch = self.columns(table, rows)
        if self.dedup:
            batch = self._dedup(table, batch)
        if not batch.rows:
            return
        try:
            self.backend.insert(batch)
        except (StoreError, pa.ArrowException, TypeError, ValueError, OverflowError) as e:
            # (a value Arrow cannot convert fails before ClickHouse sees the batch)
            if isinstance(e, StoreError) and ("connect" in str(e).lower() or "unreachable" in str(e).lower()):
                raise
            # one odd value must not lose the batch: coerce every value to its column and retry
            log.warning("insert into %s failed (%s); retrying with coerced values", table.name, e)
            self.counters.add(f"store.coerced_batches.{table.name}")
            self.backend.insert(_coerced(table, batch))
        self.counters.add(f"store.rows.{table.name}", batch.rows)
        self.committed += batch.rows
        for seg, n in Counter(batch.columns["segment"]).items():
            self.written[(table.name, seg)] += n


class _Job(NamedTuple):
    """One table's pending rows handed to an insert: dict rows (with their Arrow chunks, converted
    as they arrived) and rows that came as Arrow."""

    table: Table
    rows: list[Record]
    chunks: list[pa.StructArray | None]
    arrow: list[pa.StructArray]


def record_struct(log_name: str) -> pa.StructType | None:
    """The Arrow struct ``Writer.add_arrow`` takes for a log's records (fields under their Zeek
    names, wide types), or None for a log the fast path does not cover."""
    table = BY_LOG.get(log_name)
    spec = _FAST.get(table.name) if table is not None else None
    return spec.struct if spec is not None else None


def _rows_of(arrow: list[pa.StructArray]) -> list[Record]:
    """Arrow rows as record dicts, unset fields left out (as the sensor writes them)."""
    out = []
    for st in arrow:
        out += [{k: v for k, v in d.items() if v is not None} for d in st.to_pylist()]
    return out


def _converted(chunks: list[pa.StructArray | None], n: int) -> pa.StructArray | None:
    """The chunks converted by ``add_records``, when they are exactly the ``n`` pending rows."""
    if not chunks:
        return None
    if any(c is None for c in chunks) or sum(len(c) for c in chunks if c is not None) != n:
        return None  # a chunk did not fit, or the pending rows were reset by a caller
    return pa.concat_arrays(chunks) if len(chunks) > 1 else chunks[0]  # type: ignore[arg-type]


def _key_values(v: Any) -> list[Any]:
    return v.tolist() if isinstance(v, np.ndarray) else list(v)


def _coerced(table: Table, batch: Batch) -> Batch:
    cols: dict[str, Any] = {}
    for c in table.inserted:
        v = batch.columns[c.name]
        cols[c.name] = v if isinstance(v, np.ndarray) else [_coerce(c, x) for x in v]
    return Batch(batch.table, cols, batch.types, batch.rows)


_KIND = {"double": "d", "int64": "q", "string": "s", "bool": "b"}


def rows_struct(spec: _FastSpec, rows: list[Record]) -> pa.StructArray:
    """``pa.array(rows, type=spec.struct)``: by _rows.c where it is built and every value is one the
    sensor writes (float, int, str, bool, None or absent), else by pyarrow (the same array, or the
    same exception)."""
    cols = _native.columns(rows, spec.keys, spec.kinds) if _native is not None else None
    if cols is None:
        return pa.array(rows, type=spec.struct)
    n = len(rows)
    arrays = []
    for f, (valid, data, offsets) in zip(spec.struct, cols, strict=True):
        vb = pa.py_buffer(valid) if valid is not None else None
        if data is None:  # a list field, null in every row
            arrays.append(pa.nulls(n, type=f.type))
        elif offsets is not None:
            arrays.append(pa.Array.from_buffers(f.type, n, [vb, pa.py_buffer(offsets), pa.py_buffer(data)]))
        else:
            arrays.append(pa.Array.from_buffers(f.type, n, [vb, pa.py_buffer(data)]))
    return pa.StructArray.from_arrays(arrays, fields=list(spec.struct))


class _FastSpec:
    """Per record table: the Arrow struct the records are read as, and the INSERT's SELECT."""

    def __init__(self, table: Table) -> None:
        fields: list[pa.Field] = []
        self.names: list[str] = []
        self.empty: dict[str, Any] = {}
        select: list[str] = []
        self.insert_columns: list[str] = []
        for c in table.inserted:
            nullable = c.type.startswith("Nullable(")
            name = f"`{c.name}`"
            if c.kind == "meta":
                expr = "segment" if c.name == "segment" else f"{{{c.name}:String}}"
            elif c.kind == "conn_version" or c.kind == "ts":
                expr = name
            elif c.kind == "ip":
                expr = name if nullable else f"toIPv6OrDefault(ifNull({name}, ''))"
            else:
                at, empty = _WIDE[c.kind]
                self.empty[c.name] = empty
                expr = name if nullable else f"ifNull({name}, {_SQL_EMPTY[c.kind]})"
            if c.kind not in ("meta", "conn_version"):
                at = pa.float64() if c.kind == "ts" else pa.string() if c.kind == "ip" else _WIDE[c.kind][0]
                fields.append(pa.field(_source(c), at))
                self.names.append(c.name)
            select.append(expr)
            self.insert_columns.append(c.name)
        self.struct = pa.struct(fields)
        # for _rows.c: the record keys of the struct's fields and their kinds (d, q, s, b; l: a list)
        self.keys = tuple(f.name for f in fields)
        self.kinds = "".join(_KIND.get(str(f.type), "l") for f in fields)
        self.select = ", ".join(select)
        # the batch's key, as it will be stored, against the stored key
        exprs = []
        stored = []
        for k in table.key:
            c = table.column(k)
            if k == "ts":
                exprs.append("toUnixTimestamp64Micro(ts)")
                stored.append("toUnixTimestamp64Micro(ts)")
            else:
                base = (
                    c.type.removeprefix("Nullable(").removesuffix(")")
                    if c.type.startswith("Nullable(")
                    else c.type
                )
                exprs.append(f"CAST({select[self.insert_columns.index(k)]} AS {base})")
                stored.append(f"`{k}`")
        self.key_exprs = ", ".join(exprs)
        self.stored_key = ", ".join(stored)
        # does the sorting key tell apart every record the dedup key does? Then collapsing equal
        # sorting keys on insert cannot drop anything. conn (interim and final records of one
        # connection share segment, hour and uid) and http (no ts in the sorting key) still collapse.
        order = {x.strip() for x in table.order_by.split(",")}
        self.collapse = not all(k in order or f"reverse({k})" in order for k in table.key)


_WIDE: dict[str, tuple[pa.DataType, Any]] = {
    "str": (pa.string(), ""),
    "int": (pa.int64(), 0),
    "float": (pa.float64(), 0.0),
    "bool": (pa.bool_(), False),
    "strs": (pa.list_(pa.string()), []),
    "floats": (pa.list_(pa.float64()), []),
    "source": (pa.string(), "sensor"),
}
_SQL_EMPTY = {"str": "''", "int": "0", "float": "0", "bool": "false", "strs": "[]", "floats": "[]"}
_SQL_EMPTY["source"] = "'sensor'"  # schema 6: a record that does not say where it came from
_FAST = {t.name: _FastSpec(t) for t in BY_NAME.values() if t is not ALERTS}
