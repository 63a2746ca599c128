"""Writing and reading the notification tables through either store backend (chdb or a server): the
same SQL and the same column batches, as the store's writer uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from wardwatch.store import Batch
from wardwatch.store.schema import Table


def insert(store: Any, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (epoch seconds in DateTime64 columns) into ``table``."""
    if not rows:
        return
    cols: dict[str, Any] = {}
    types: dict[str, str] = {}
    for c in table.inserted:
        values = [r.get(c.name) for r in rows]
        if c.kind == "ts":
            cols[c.name] = np.array([int(round(float(v or 0.0) * 1e6)) for v in values], dtype=np.int64)
        elif c.kind == "strs":
            cols[c.name] = [list(v or ()) for v in values]
        elif c.kind == "int":
            cols[c.name] = np.array([int(v or 0) for v in values], dtype=np.int64 if c.type != "UInt64" else np.uint64)
        else:
            cols[c.name] = ["" if v is None else str(v) for v in values]
        types[c.name] = c.type
    store.backend.insert(Batch(table.name, cols, types, len(rows)))


def epoch(column: str) -> str:
    """A DateTime64 column as epoch seconds (Float64: JSON keeps it a number)."""
    return f"toFloat64(toUnixTimestamp64Micro({column})) / 1e6"
