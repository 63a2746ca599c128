"""Alert state: the append-only ``alert_events`` table. The current state of an alert is its latest
event (``argMax(state, ts)``); an alert without events is ``new``. Acknowledgements from the CLI,
a signed link or the console, and the notifier's own steps (notified, silenced) are all rows here,
with who and why, so the history of an alert is its events in order."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from wardwatch.store.schema import ALERT_EVENTS

from .rows import epoch, insert

STATES = ("new", "notified", "acknowledged", "resolved", "false_positive", "silenced")
# states that end the on-call's duty for an alert: no escalation, no reminder
SETTLED = frozenset({"acknowledged", "resolved", "false_positive", "silenced"})
# what a person may set by hand (CLI, link, console)
MANUAL = {"ack": "acknowledged", "resolve": "resolved", "fp": "false_positive", "silence": "silenced"}


def record(
    store: Any,
    uids: Iterable[str],
    state: str,
    who: str,
    note: str = "",
    message: str = "",
    now: float | None = None,
) -> int:
    if state not in STATES:
        raise ValueError(f"unknown alert state {state!r}")
    ts = time.time() if now is None else now
    rows = [
        {"ts": ts, "alert_uid": u, "state": state, "who": who, "note": note, "message": message}
        for u in dict.fromkeys(uids)
    ]
    insert(store, ALERT_EVENTS, rows)
    return len(rows)


def record_each(
    store: Any, pairs: Iterable[tuple[str, str]], state: str, who: str, note: str, now: float
) -> int:
    """Like ``record``, each alert with its own ``message`` (the alert that inhibited it)."""
    rows = [
        {"ts": now, "alert_uid": u, "state": state, "who": who, "note": note, "message": m} for u, m in pairs
    ]
    insert(store, ALERT_EVENTS, rows)
    return len(rows)


def current(store: Any, uids: Sequence[str]) -> dict[str, str]:
    """uid → current state (``new`` for alerts without events)."""
    if not uids:
        return {}
    rows = store.rows(
        "SELECT alert_uid, argMax(state, ts) AS state FROM alert_events"
        " WHERE alert_uid IN {u:Array(String)} GROUP BY alert_uid",
        {"u": list(uids)},
    )
    got = {r["alert_uid"]: r["state"] for r in rows}
    return {u: got.get(u, "new") for u in uids}


def history(store: Any, uid: str) -> list[dict[str, Any]]:
    return store.rows(
        f"SELECT {epoch('ts')} AS ts, state, who, note, message FROM alert_events"
        " WHERE alert_uid = {u:String} ORDER BY ts",
        {"u": uid},
    )


def known(store: Any, uid: str) -> bool:
    rows = store.rows("SELECT count() AS n FROM alerts WHERE uid = {u:String}", {"u": uid})
    return bool(rows and int(rows[0]["n"]))
