"""The outbox: every message to send is a row in the store before any channel is tried, so a crash,
a kill or a dead SMTP server loses nothing, and a message that was marked sent is never sent again.
Each change of status is a new row version (ReplacingMergeTree, read with ``FINAL``).

A message's id is a hash of what it is (route, group, alerts, escalation level), so building the
same message twice (a restart between enqueueing and recording) gives one row, not two.

Delivery is at least once: a process killed between a channel accepting a message and the ``sent``
row being written sends that one message again after its restart. Each channel carries the id
(e-mail ``Message-ID``, webhook ``X-Wardwatch-Id``, Alertmanager labels) so receivers can fold it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from wardwatch.store.schema import NOTIFY_OUTBOX

from .rows import epoch, insert
from .settings import Retry


@dataclass(frozen=True)
class Message:
    id: str
    created: float
    route: str
    receiver: str
    group_key: str
    kind: str  # notify | escalation
    level: int
    root: str
    uids: tuple[str, ...]
    doc: dict[str, Any]
    status: str = "pending"
    attempts: int = 0
    next_try: float = 0.0
    last_error: str = ""
    sent_at: float = 0.0
    version: int = 1

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created,
            "route": self.route,
            "receiver": self.receiver,
            "group_key": self.group_key,
            "kind": self.kind,
            "level": self.level,
            "root": self.root,
            "uids": list(self.uids),
            "doc": orjson.dumps(self.doc).decode(),
            "status": self.status,
            "attempts": self.attempts,
            "next_try": self.next_try,
            "last_error": self.last_error[:500],
            "sent_at": self.sent_at,
            "version": self.version,
        }


def message_id(*parts: object) -> str:
    h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=10).hexdigest()
    return "M" + h


def backoff(retry: Retry, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure: doubling from ``backoff``, capped."""
    return float(min(retry.max_backoff, retry.backoff * 2 ** max(0, attempts - 1)))


def failed(m: Message, error: str, now: float, retry: Retry) -> Message:
    attempts = m.attempts + 1
    give_up = now - m.created >= retry.give_up
    return replace(
        m,
        status="failed" if give_up else "pending",
        attempts=attempts,
        next_try=now + backoff(retry, attempts),
        last_error=error,
        version=m.version + 1,
    )


def sent(m: Message, now: float) -> Message:
    return replace(m, status="sent", attempts=m.attempts + 1, sent_at=now, last_error="", version=m.version + 1)


def put(store: Any, messages: Sequence[Message]) -> None:
    insert(store, NOTIFY_OUTBOX, [m.row() for m in messages])


_COLUMNS = (
    "id, route, receiver, group_key, kind, level, root, uids, doc, status, attempts, last_error, version, "
    f"{epoch('created')} AS created, {epoch('next_try')} AS next_try, {epoch('sent_at')} AS sent_at"
)


def _message(r: dict[str, Any]) -> Message:
    return Message(
        id=r["id"],
        created=float(r["created"]),
        route=r["route"],
        receiver=r["receiver"],
        group_key=r["group_key"],
        kind=r["kind"],
        level=int(r["level"]),
        root=r["root"],
        uids=tuple(r["uids"]),
        doc=orjson.loads(r["doc"]),
        status=r["status"],
        attempts=int(r["attempts"]),
        next_try=float(r["next_try"]),
        last_error=r["last_error"],
        sent_at=float(r["sent_at"]),
        version=int(r["version"]),
    )


def due(store: Any, now: float, limit: int = 200) -> list[Message]:
    rows = store.rows(
        f"SELECT {_COLUMNS} FROM notify_outbox FINAL WHERE status = 'pending'"
        " AND next_try <= {now:DateTime64(6, 'UTC')} ORDER BY created LIMIT {n:UInt32}",
        {"now": _ts(now + 0.001), "n": limit},  # (µs rounding of the stored time)
    )
    return [_message(r) for r in rows]


def since(store: Any, created_after: float, status: str | None = None) -> list[Message]:
    sql = f"SELECT {_COLUMNS} FROM notify_outbox FINAL WHERE created >= {{t:DateTime64(6, 'UTC')}}"
    params: dict[str, Any] = {"t": _ts(created_after)}
    if status is not None:
        sql += " AND status = {s:String}"
        params["s"] = status
    return [_message(r) for r in store.rows(sql + " ORDER BY created", params)]


def get(store: Any, ids: Iterable[str]) -> dict[str, Message]:
    ids = list(ids)
    if not ids:
        return {}
    rows = store.rows(f"SELECT {_COLUMNS} FROM notify_outbox FINAL WHERE id IN {{i:Array(String)}}", {"i": ids})
    return {r["id"]: _message(r) for r in rows}


def handled(store: Any, created_after: float) -> set[tuple[str, str]]:
    """(route, alert uid) pairs already in a message of the outbox (any status)."""
    rows = store.rows(
        "SELECT DISTINCT route, arrayJoin(uids) AS uid FROM notify_outbox"
        " WHERE created >= {t:DateTime64(6, 'UTC')} AND kind = 'notify'",
        {"t": _ts(created_after)},
    )
    return {(r["route"], r["uid"]) for r in rows}


def last_sent(store: Any, created_after: float) -> dict[tuple[str, str], float]:
    """(route, group key) → when its latest message was created (group_interval counts from it)."""
    rows = store.rows(
        f"SELECT route, group_key, max({epoch('created')}) AS t FROM notify_outbox"
        " WHERE created >= {t:DateTime64(6, 'UTC')} AND kind = 'notify' GROUP BY route, group_key",
        {"t": _ts(created_after)},
    )
    return {(r["route"], r["group_key"]): float(r["t"]) for r in rows}


def _ts(t: float) -> str:
    from wardwatch.store.backend import ts_text

    return ts_text(max(0.0, t))


