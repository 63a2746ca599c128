"""What every detector sees: one batch of records grouped by log, with each record's two addresses
already resolved to ``IpInfo`` (segment, zone, feed hit), and the protocol a detector implements.

A detector is any object with ``name`` and ``detect(batch) -> list[Alert]``. Stateful detectors (the
behavioural ones of a later issue: DGA, beacons, scans) may also have ``flush() -> list[Alert]``,
called once at the end of the input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from wardwatch.ingest.native import load

from wardwatch.alerts import Alert
from wardwatch.segments import IpInfo

Record = dict[str, Any]
Pair = tuple[IpInfo, IpInfo]
T = TypeVar("T")

# _batch.c: Batch's per-record loops (grouping, address pairs, each) in C; WARDWATCH_DETECT_PYTHON=1
# keeps the Python loops below (tests/unit/test_batch_native.py compares the two).
_native = None if os.environ.get("WARDWATCH_DETECT_PYTHON") == "1" else load(__package__, "_batch")


@runtime_checkable
class Detector(Protocol):
    name: str

    def detect(self, batch: Batch) -> list[Alert]: ...


class Batch:
    """Records of one engine call by ``_path``; ``pairs(path)`` gives (orig, resp) infos per record."""

    __slots__ = ("by_path", "_info", "_cache", "_resolve", "_pairs", "_each", "_names", "_memo", "ts_max")

    def __init__(
        self,
        records: Sequence[Record],
        info: Callable[[str], IpInfo],
        cache: dict[str, IpInfo] | None = None,
        resolve: Callable[[Iterable[str]], None] | None = None,
    ) -> None:
        """``info`` resolves one address; ``resolve``, when given, puts many new addresses in
        ``cache`` at once (the engine's SegmentMap: its feed lookups are vectorised)."""
        by, ts_max = _native.group(records) if _native is not None else _group(records)
        self.by_path = by
        self._info = info
        self._cache = cache if cache is not None else {}
        self._resolve = resolve
        self._pairs: dict[str, list[Pair | None]] = {}
        self._each: dict[str, list[tuple[Record, IpInfo, IpInfo]]] = {}
        self._names: dict[tuple[str, str], list[tuple[Record, IpInfo, IpInfo, str]]] = {}
        self._memo: dict[str, Any] = {}
        self.ts_max = ts_max

    def records(self, path: str) -> list[Record]:
        return self.by_path.get(path, [])

    def pairs(self, path: str) -> list[Pair | None]:
        """Per record of ``path``: (orig, resp) infos, or None when the record lacks an address."""
        got = self._pairs.get(path)
        if got is None:
            records = self.by_path.get(path, [])
            cache = self._cache
            got, missing, fresh = (
                _native.pairs(records, cache) if _native is not None else _pairs(records, cache)
            )
            if missing:
                if self._resolve is not None:
                    # new addresses are resolved as one group: the feed's range lookup is vectorised
                    self._resolve(fresh)
                if _native is not None:
                    missing = _native.fill(got, missing, cache)
                info, get = self._info, cache.get
                for i, o, d in missing:
                    got[i] = (get(o) or info(o), get(d) or info(d))
            self._pairs[path] = got
        return got

    def each(self, path: str) -> list[tuple[Record, IpInfo, IpInfo]]:
        """(record, orig, resp) for the records of ``path`` that carry both addresses (computed once
        per batch and shared by every detector)."""
        got = self._each.get(path)
        if got is None:
            records, prs = self.by_path.get(path, []), self.pairs(path)
            got = self._each[path] = (
                _native.each(records, prs)
                if _native is not None
                else [(r, p[0], p[1]) for r, p in zip(records, prs, strict=True) if p is not None]
            )
        return got

    def memo(self, key: str, make: Callable[[Batch], T]) -> T:
        """``make(self)``, computed once per batch for every detector that asks with ``key`` (views
        several detectors walk, such as the NXDOMAIN answers to clients' lookups)."""
        if key in self._memo:
            return self._memo[key]  # type: ignore[no-any-return]
        got = self._memo[key] = make(self)
        return got

    def names(self, path: str, field: str) -> list[tuple[Record, IpInfo, IpInfo, str]]:
        """(record, orig, resp, normalised name) for the records of ``path`` whose ``field`` is a name."""
        key = (path, field)
        got = self._names.get(key)
        if got is None:
            got = []
            for r, o, d in self.each(path):
                n = norm_name(r.get(field))
                if n is not None:
                    got.append((r, o, d, n))
            self._names[key] = got
        return got


def _group(records: Iterable[Record]) -> tuple[dict[str, list[Record]], float]:
    """Records by ``_path`` and the latest float ``ts`` (0.0 without one): ``_batch.group``'s fallback."""
    by: dict[str, list[Record]] = {}
    ts_max = 0.0
    for r in records:
        p = r.get("_path")
        lst = by.get(p)  # type: ignore[arg-type]
        if lst is None:
            lst = by[p] = []  # type: ignore[index]
        lst.append(r)
        t = r.get("ts")
        if isinstance(t, float) and t > ts_max:
            ts_max = t
    return by, ts_max


def _pairs(
    records: Iterable[Record], cache: dict[str, IpInfo]
) -> tuple[list[Pair | None], list[tuple[int, str, str]], list[str]]:
    """``_batch.pairs``'s fallback: per record (orig, resp) from ``cache``, or None; the records with
    both addresses as strings but one not cached as (index, orig, resp); those uncached addresses,
    each once, in the order first met."""
    get = cache.get
    got: list[Pair | None] = []
    missing: list[tuple[int, str, str]] = []
    fresh: dict[str, None] = {}
    for r in records:
        o = r.get("id.orig_h")
        d = r.get("id.resp_h")
        if o.__class__ is str and d.__class__ is str:
            oi = get(o)
            di = get(d)
            if oi is not None and di is not None:
                got.append((oi, di))
                continue
            missing.append((len(got), o, d))
            if oi is None:
                fresh[o] = None
            if di is None:
                fresh[d] = None
        got.append(None)
    return got, missing, list(fresh)


def record_id(r: Record) -> str:
    """Identifies the evidence record: the same event seen twice (a duplicated packet that made a
    second record) gets the same id, so the noise filter counts it once. HTTP requests are keyed by
    content, not ``trans_depth``: a duplicated request segment shows up as a second request."""
    path = r.get("_path")
    if path == "http":
        return f"http|{r.get('uid')}|{r.get('method')}|{r.get('host')}|{r.get('uri')}"
    if path == "dns":
        return f"dns|{r.get('uid')}|{r.get('trans_id')}|{r.get('query')}"
    if path == "login":
        return f"login|{r.get('uid')}|{r.get('service')}|{r.get('user')}"
    return f"{path}|{r.get('uid')}"


def norm_name(name: object) -> str | None:
    """A DNS/SNI/Host name lower-cased, without trailing dot or port; None when it is not a name."""
    if not isinstance(name, str) or not name:
        return None
    s = name.strip().lower()
    if s.startswith("["):
        return None  # IPv6 literal Host
    if ":" in s:
        s = s.split(":", 1)[0]
    s = s.rstrip(".")
    if not s or " " in s or "." not in s:
        return None
    return s


def is_ip_text(s: str) -> bool:
    """Cheap test for an answer that is an address rather than a name."""
    return ":" in s or s.replace(".", "").isdigit()
