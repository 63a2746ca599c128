"""Version 7: the ``dns`` table's ``auth`` and ``auth_zone`` columns (issue 19: a response's authority
section; see store/schema.py). Rows stored before it read ``[]`` and ``''``: no authority recorded."""

from __future__ import annotations

from ..schema import TABLES, Retention

VERSION = 7


def steps(retention: Retention) -> list[str]:
    out = []
    for t in TABLES:
        names = [c.name for c in t.columns]
        for c in t.columns:
            if c.since == VERSION:
                after = names[names.index(c.name) - 1]
                out.append(f"ALTER TABLE `{t.name}` ADD COLUMN IF NOT EXISTS {c.ddl()} AFTER `{after}`")
    return out
