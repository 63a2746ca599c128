"""Last-good snapshots of each feed under ``data_dir/feeds/<name>/``, and the update step that fills them.

A new copy (downloaded or read from a local file) replaces the snapshot only after it parsed with
enough valid entries and its count of valid entries did not change too much from the last good copy's:
it may not shrink by more than the feed's ``max_shrink`` nor grow beyond ``max_growth`` times (a
poisoned copy that swells a feed with junk would otherwise become the baseline, and the genuine feed
would then be refused as shrunk). ``accept_change`` (``feeds update --force``) takes such a copy when
the operator confirms the change. The swap is an atomic ``os.replace``. Anything else keeps the last
good copy and says so; a refused copy never touches the snapshot or the counts the next copy is judged
against. The index is always built from the snapshots, so the sensor starts offline and a feed that
goes bad never empties it. A local file with no good snapshot yet is the exception: the index reads
it in place (its valid entries count, its rejects are counted), and the messages say so.

Layout: ``snapshot`` (the bytes as published, archives included) and ``meta.json`` (ETag,
Last-Modified, when fetched and checked, entry counts, the last error).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from wardwatch.config import FeedConfig

from . import normalize, topdomains, unpack
from .fetch import FetchError, FetchPolicy, fetch
from .formats import FORMATS, FormatError
from .model import Entry

log = logging.getLogger(__name__)


def _now_iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Assessment:
    """How a copy of a feed parses: valid entries and rejects by category, or why it is unusable."""

    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    @property
    def total(self) -> int:
        return self.accepted + sum(self.rejected.values())


def entries(feed: FeedConfig, parts: Iterator[tuple[str, bytes]]) -> Iterator[Entry]:
    parser = FORMATS[feed.format]
    for name, data in parts:
        yield from parser(name, data)


def assess(feed: FeedConfig, parts: Iterator[tuple[str, bytes]]) -> Assessment:
    """Parse a copy without indexing it, to decide whether it may replace the last good one."""
    a = Assessment()
    strict = feed.kind != "allow"
    reserved = feed.allow_reserved
    classify = normalize.classify
    guard = strict and not feed.trusted  # the same top-domain rule as ``IndexBuilder.add_feed``
    is_top = topdomains.is_top_domain
    try:
        for value, hint, _ in entries(feed, parts):
            r = classify(value, hint, strict, reserved)
            if r[0] == "x":
                a.rejected[r[1]] += 1
            elif (
                guard
                and r[0] in ("d", "h")
                and is_top(r[1])
                and not (r[0] == "h" and ("/" in value or "?" in value) and normalize.url_key(value))
            ):
                a.rejected[topdomains.TOP_DOMAIN] += 1
            else:
                a.accepted += 1
    except (FormatError, unpack.UnpackError) as e:
        a.error = f"unreadable as {feed.format}: {e}"
    return a


@dataclass
class UpdateResult:
    feed: str
    status: str  # updated | not-modified | fresh | kept-last-good | failed | local
    reason: str = ""
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    snapshot_from: str | None = None
    using: str = ""  # for kept-last-good and failed: what the index reads for this feed instead

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"feed": self.feed, "status": self.status}
        if self.reason:
            d["reason"] = self.reason
        d["accepted"] = self.accepted
        if self.rejected:
            d["rejected_by"] = self.rejected
        if self.snapshot_from:
            d["snapshot_from"] = self.snapshot_from
        if self.using:
            d["using"] = self.using
        return d


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FeedStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "feeds"

    def dir(self, name: str) -> Path:
        return self.root / name

    def snapshot_path(self, name: str) -> Path:
        return self.dir(name) / "snapshot"

    def has_snapshot(self, name: str) -> bool:
        return self.snapshot_path(name).is_file()

    def meta(self, name: str) -> dict:
        try:
            m = orjson.loads((self.dir(name) / "meta.json").read_bytes())
            return m if isinstance(m, dict) else {}
        except (OSError, orjson.JSONDecodeError):
            return {}

    def write_meta(self, name: str, meta: dict) -> None:
        _atomic_write(self.dir(name) / "meta.json", orjson.dumps(meta, option=orjson.OPT_INDENT_2))

    def swap(self, name: str, body: bytes, meta: dict) -> None:
        """Replace the snapshot atomically, then its meta."""
        _atomic_write(self.snapshot_path(name), body)
        self.write_meta(name, meta)

    def parts(self, feed: FeedConfig) -> Iterator[tuple[str, bytes]]:
        """The files of the feed's last good copy, or of its local path when it has no snapshot yet."""
        snap = self.snapshot_path(feed.name)
        if snap.is_file():
            origin = self.meta(feed.name).get("file_name") or feed.name
            return unpack.parts(origin, snap.read_bytes(), feed.max_size)
        if feed.path is not None and feed.path.exists():
            return unpack.read_path(feed.path, feed.max_size)
        return iter(())


# Below this many entries a feed may grow up to max_growth times this floor: a 3-entry list that gains a
# few dozen names is a list being filled, not a poisoning.
GROWTH_FLOOR = 100


def _judge(feed: FeedConfig, a: Assessment, previous: int | None, accept_change: bool = False) -> str | None:
    """Why a new copy must not replace the last good one, or None if it may.

    ``previous`` is the last good copy's count of valid entries; ``accept_change`` waives the shrink and
    growth guards (never the checks that the copy is readable and mostly valid)."""
    if a.error:
        return a.error
    if a.total == 0:
        return "empty: no entries"
    if a.accepted == 0:
        return f"garbage: none of {a.total} entries is valid ({dict(a.rejected.most_common(3))})"
    if a.accepted < feed.min_valid * a.total:
        return f"garbage: only {a.accepted} of {a.total} entries are valid"
    if not previous or accept_change:
        return None
    if a.accepted < (1.0 - feed.max_shrink) * previous:
        return (
            f"shrank from {previous} to {a.accepted} valid entries (more than {feed.max_shrink:.0%}); "
            "`wardwatch feeds update --force` accepts it"
        )
    if a.accepted > feed.max_growth * max(previous, GROWTH_FLOOR):
        return (
            f"grew from {previous} to {a.accepted} valid entries (more than {feed.max_growth:g} times, "
            "max_growth); refused as a possibly poisoned copy, `wardwatch feeds update --force` accepts it"
        )
    return None


def _accept(
    store: FeedStore,
    feed: FeedConfig,
    body: bytes,
    file_name: str,
    meta: dict,
    extra: dict,
    accept_change: bool = False,
) -> UpdateResult:
    try:
        a = assess(feed, unpack.parts(file_name, body, feed.max_size))
    except unpack.UnpackError as e:
        a = Assessment(error=f"unreadable archive: {e}")
    had = store.has_snapshot(feed.name)
    problem = _judge(feed, a, meta.get("accepted") if had else None, accept_change)
    now = _now_iso()
    if problem:
        return _keep(store, feed, meta, problem, a)
    new_meta = {
        **meta,
        **extra,
        "origin": feed.origin,
        "file_name": file_name,
        "fetched_at": now,
        "checked_at": now,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "accepted": a.accepted,
        "rejected_by": dict(a.rejected),
        "last_error": None,
    }
    store.swap(feed.name, body, new_meta)
    return UpdateResult(feed.name, "updated", "", a.accepted, dict(a.rejected), now)


def in_use(store: FeedStore, feed: FeedConfig, meta: dict) -> str:
    """What the index reads for this feed now, in words (``store.parts`` decides the same way)."""
    if store.has_snapshot(feed.name):
        when = meta.get("fetched_at")
        return f"the last good copy from {when}" if when else "the last good copy (fetch time not recorded)"
    if feed.path is not None and feed.path.exists():
        return f"{feed.path} read in place (no good snapshot yet)"
    return "nothing: no good copy yet, the feed adds no indicators"


def _keep(
    store: FeedStore, feed: FeedConfig, meta: dict, problem: str, a: Assessment | None = None
) -> UpdateResult:
    now = _now_iso()
    had = store.has_snapshot(feed.name)
    store.write_meta(feed.name, {**meta, "last_error": problem, "last_error_at": now, "checked_at": now})
    using = in_use(store, feed, meta)
    if had:
        log.warning("feed %s: %s; using %s", feed.name, problem, using)
        return UpdateResult(
            feed.name,
            "kept-last-good",
            problem,
            int(meta.get("accepted") or 0),
            {},
            meta.get("fetched_at"),
            using,
        )
    if feed.path is not None and feed.path.exists() and a is not None:
        # ``store.parts`` falls back to the file itself, so its valid lines do raise alerts: say so
        using = f"{using}: {a.accepted} valid entries used, {sum(a.rejected.values())} refused"
        log.warning("feed %s: %s; using %s", feed.name, problem, using)
        return UpdateResult(feed.name, "failed", problem, a.accepted, dict(a.rejected), None, using)
    log.warning("feed %s: %s; using %s", feed.name, problem, using)
    return UpdateResult(feed.name, "failed", problem, 0, dict(a.rejected) if a else {}, None, using)


def _local_copy(feed: FeedConfig) -> tuple[bytes, str] | None:
    """A local file feed's bytes (folders are read in place and not snapshotted)."""
    assert feed.path is not None
    if feed.path.is_dir():
        return None
    return feed.path.read_bytes(), feed.path.name


def update_feed(
    store: FeedStore,
    feed: FeedConfig,
    force: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    accept_change: bool = False,
) -> UpdateResult:
    """Bring one feed's snapshot up to date (HTTP or local file), keeping the last good copy on failure.

    ``force`` fetches or re-reads even a fresh or unchanged copy; ``accept_change`` also takes a copy
    that shrank or grew beyond the feed's ``max_shrink``/``max_growth`` (the operator confirmed it)."""
    meta = store.meta(feed.name)
    if feed.path is not None:
        if not feed.path.exists():
            return _keep(store, feed, meta, f"missing: {feed.path}")
        copy = _local_copy(feed)
        if copy is None:
            a = assess(feed, unpack.read_path(feed.path, feed.max_size))
            return UpdateResult(feed.name, "local", "folder read in place", a.accepted, dict(a.rejected))
        st = feed.path.stat()
        stamp = {"mtime": st.st_mtime, "source_size": st.st_size}
        if not force and store.has_snapshot(feed.name) and all(meta.get(k) == v for k, v in stamp.items()):
            return UpdateResult(
                feed.name, "not-modified", "", int(meta.get("accepted") or 0), {}, meta.get("fetched_at")
            )
        body, file_name = copy
        return _accept(store, feed, body, file_name, meta, stamp, accept_change)

    assert feed.url is not None
    if not force and store.has_snapshot(feed.name):
        fetched_at = meta.get("checked_at")
        age = (
            time.time() - datetime.strptime(fetched_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            if fetched_at
            else None
        )
        if age is not None and age < feed.refresh:
            return UpdateResult(
                feed.name, "fresh", "", int(meta.get("accepted") or 0), {}, meta.get("fetched_at")
            )
    policy = FetchPolicy(feed.timeout, feed.retries, feed.backoff, max(feed.backoff, 60.0), feed.max_size)
    have = store.has_snapshot(feed.name)
    try:
        got = fetch(
            feed.url,
            policy,
            etag=meta.get("etag") if have else None,
            last_modified=meta.get("last_modified") if have else None,
            sleep=sleep,
        )
    except FetchError as e:
        return _keep(store, feed, meta, e.reason)
    if got.not_modified:
        store.write_meta(feed.name, {**meta, "checked_at": _now_iso(), "last_error": None})
        return UpdateResult(
            feed.name, "not-modified", "", int(meta.get("accepted") or 0), {}, meta.get("fetched_at")
        )
    file_name = feed.url.rstrip("/").rsplit("/", 1)[-1] or feed.name
    return _accept(
        store,
        feed,
        got.body,
        file_name,
        meta,
        {"etag": got.etag, "last_modified": got.last_modified},
        accept_change,
    )
