"""Version 6: the ``source`` column of every record table (issue 20): ``sensor`` for the sensor's own
records, ``netflow``, ``zeek`` or ``eve`` for those of the inputs. Rows stored before it read
``sensor``: they can only have come from the sensor."""

from __future__ import annotations

from ..schema import TABLES, Retention

VERSION = 6


def steps(retention: Retention) -> list[str]:
    out = []
    for t in TABLES:
        names = [c.name for c in t.columns]
        for c in t.columns:
            if c.since == VERSION:
                after = names[names.index(c.name) - 1]
                out.append(
                    f"ALTER TABLE `{t.name}` ADD COLUMN IF NOT EXISTS `{c.name}` {c.type} DEFAULT 'sensor'"
                    f" AFTER `{after}`"
                )
    return out
