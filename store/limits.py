"""Limits of ``wardwatch query`` (the read-only path): ClickHouse settings applied with ``readonly``.

    store:
      query: {max_execution_time: 60s, max_result_rows: 100000, max_memory_usage: 2G}

A query that runs longer, returns more rows or needs more memory is stopped by ClickHouse with an
error (``result_overflow_mode = 'throw'``: never a silently cut answer). Checked on chdb 4.4 (engine
26.9): all three are honoured, and ``readonly = 1`` then refuses a query's own ``SETTINGS`` that
would lift them.
"""

from __future__ import annotations

import re
from typing import Any

from wardwatch.config import Config

DEFAULTS = {"max_execution_time": 60, "max_result_rows": 100_000, "max_memory_usage": 2 << 30}
_TIME = re.compile(r"(\d+)\s*(s|m|h)?")
_SIZE = re.compile(r"(\d+)\s*([kmgt]i?b?|b)?")
_TIME_UNIT = {None: 1, "s": 1, "m": 60, "h": 3600}
_SIZE_UNIT = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def load_query_limits(config: Config, raw: Any) -> dict[str, Any]:
    """The ClickHouse settings for read-only queries from ``store.query`` (defaults for what is unset)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise config.error(("store", "query"), "expected a mapping such as {max_execution_time: 60s}")
    out: dict[str, Any] = dict(DEFAULTS)
    for k, v in raw.items():
        if k not in DEFAULTS:
            raise config.error(("store", "query", k), f"unknown key (expected one of {', '.join(DEFAULTS)})")
        text = str(v).strip().lower()
        if isinstance(v, bool):
            m = None
        elif k == "max_execution_time":
            m = _TIME.fullmatch(text)
        else:
            m = _SIZE.fullmatch(text) if k == "max_memory_usage" else re.fullmatch(r"(\d+)()", text)
        n = 0
        if m is not None:
            unit = m.group(2) or None
            n = int(m.group(1)) * (
                _TIME_UNIT[unit] if k == "max_execution_time" else _SIZE_UNIT.get((unit or "b")[0], 1)
            )
        if n < 1:
            example = {"max_execution_time": "60s or 5m", "max_result_rows": "100000"}.get(k, "2G or 512M")
            raise config.error(
                ("store", "query", k), f"expected a positive value such as {example}, got {v!r}"
            )
        out[k] = n
    out["result_overflow_mode"] = "throw"
    return out
