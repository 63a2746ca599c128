"""Version 4: ``dests_hour``, connections per internet destination per hour (issue 14, the
dashboards' "internet destinations"), filled from the connections already stored."""

from __future__ import annotations

from ..schema import VIEWS, Retention

VERSION = 4


def steps(retention: Retention) -> list[str]:
    out = []
    for v in VIEWS:
        if v.since == VERSION:
            out.append(v.create_target(retention.of(v.retention)))
            out.append(v.create_view())
            # the view sees new inserts only: the connections stored before it go in once, here
            # (migrations run before the writer starts, so none arrives in between)
            out.append(f"INSERT INTO `{v.name}` {v.select}")
    return out
