"""Version 2: the ``site`` column (multi-hospital deployments), passive DNS and the rollups."""

from __future__ import annotations

from ..schema import TABLES, VIEWS, Retention

VERSION = 2


def steps(retention: Retention) -> list[str]:
    out = []
    for t in TABLES:
        if t.since == VERSION:
            out.append(t.create(VERSION, retention.of(t.retention)))
            continue
        names = [c.name for c in t.columns]
        for c in t.columns:
            if c.since == VERSION:
                after = names[names.index(c.name) - 1]
                out.append(f"ALTER TABLE `{t.name}` ADD COLUMN IF NOT EXISTS {c.ddl()} AFTER `{after}`")
    for v in VIEWS:
        if v.since == VERSION:
            out.append(v.create_target(retention.of(v.retention)))
            out.append(v.create_view())
    return out
