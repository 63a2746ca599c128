"""Bounded per-key state for the behavioural detectors, and an optional state file.

``Table`` is an LRU map with a hard size: touching a key moves it to the young end, inserting past
``max_keys`` evicts the oldest one and counts it (``evicted``), so memory stays bounded whatever the
number of hosts. ``StateFile`` saves what a detector's ``snapshot()`` returns (plain JSON types) and
hands it back to ``restore()`` on the next start: written to a temporary file and renamed, so a crash
mid-write leaves the previous state. A missing, unreadable or foreign-version file means a cold start.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

K = TypeVar("K")
V = TypeVar("V")
VERSION = 1


class Table(Generic[K, V]):
    __slots__ = ("_d", "max_keys", "evicted")

    def __init__(self, max_keys: int) -> None:
        self._d: OrderedDict[K, V] = OrderedDict()
        self.max_keys = max(1, max_keys)
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def get(self, key: K) -> V | None:
        v = self._d.get(key)
        if v is not None:
            self._d.move_to_end(key)
        return v

    def setdefault(self, key: K, factory: Callable[[], V]) -> V:
        d = self._d
        v = d.get(key)
        if v is not None:
            d.move_to_end(key)
            return v
        v = d[key] = factory()
        if len(d) > self.max_keys:
            self.trim()
        return v

    def raw(self) -> tuple[OrderedDict[K, V], Callable[[K], V | None], Callable[[K], None]]:
        """The dict with its ``get`` and ``move_to_end``, for hot loops that inline ``setdefault``;
        after inserting a key they call ``trim()`` when the dict holds more than ``max_keys``."""
        d = self._d
        return d, d.get, d.move_to_end

    def trim(self) -> K:
        """Evict the oldest key, count it and return it."""
        gone, _ = self._d.popitem(last=False)
        self.evicted += 1
        return gone

    def pop(self, key: K) -> V | None:
        return self._d.pop(key, None)

    def items(self) -> Iterator[tuple[K, V]]:
        return iter(list(self._d.items()))

    def oldest(self) -> Iterator[tuple[K, V]]:
        """Oldest-touched first, over a copy: the caller may pop while iterating."""
        return iter(list(self._d.items()))


class StateFile:
    """One JSON file per detector under the state folder."""

    def __init__(self, folder: Path, name: str, every: float = 300.0) -> None:
        self.path = folder / f"behaviour-{name}.json"
        self.every = every
        self._last = time.monotonic()

    def load(self) -> Any:
        try:
            doc = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(doc, dict) or doc.get("version") != VERSION:
            return None
        return doc.get("state")

    def save(self, state: Any) -> bool:
        """Write ``state`` now; False (and no exception) when the folder is not writable."""
        self._last = time.monotonic()
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(orjson.dumps({"version": VERSION, "saved": time.time(), "state": state}))
            os.replace(tmp, self.path)
        except OSError:
            return False
        return True

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.every
