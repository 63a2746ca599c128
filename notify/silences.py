"""Silences in the store (``notify_silences``): made by ``wardwatch alerts silence --match … --for …``,
read by the notifier at each flush. Expiring one writes it again with ``ends`` set to now."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from wardwatch.store.schema import NOTIFY_SILENCES

from .rows import epoch, insert
from .silence import Silence, from_row

_COLUMNS = f"id, matchers, author, comment, version, {epoch('starts')} AS starts, {epoch('ends')} AS ends"


def put(store: Any, s: Silence, created: float, version: int = 1) -> None:
    insert(
        store,
        NOTIFY_SILENCES,
        [
            {
                "id": s.id,
                "created": created,
                "matchers": [str(m) for m in s.matchers],
                "starts": s.starts,
                "ends": s.ends,
                "author": s.author,
                "comment": s.comment,
                "version": version,
            }
        ],
    )


def _rows(store: Any, where: str, params: dict[str, Any]) -> list[tuple[Silence, int, float]]:
    rows = store.rows(
        f"SELECT {_COLUMNS}, {epoch('created')} AS created FROM notify_silences FINAL WHERE {where} ORDER BY created",
        params,
    )
    return [(from_row(r), int(r["version"]), float(r["created"])) for r in rows]


def active(store: Any, now: float) -> list[Silence]:
    from wardwatch.store.backend import ts_text

    return [s for s, _v, _c in _rows(store, "ends > {n:DateTime64(6, 'UTC')}", {"n": ts_text(now)}) if s.active(now)]


def listing(store: Any) -> list[Silence]:
    return [s for s, _v, _c in _rows(store, "1", {})]


def expire(store: Any, sid: str, now: float) -> bool:
    got = _rows(store, "id = {i:String}", {"i": sid})
    if not got:
        return False
    s, version, created = got[0]
    put(store, replace(s, ends=min(s.ends, now)), created, version + 1)
    return True
