"""The audit log (``console_audit``): every login, every view of personal data (an alert, a host,
a search) and every action, with who, from where and on what. Append-only."""

from __future__ import annotations

import time
from typing import Any

from wardwatch.notify.rows import epoch, insert
from wardwatch.store.schema import CONSOLE_AUDIT


def log(store: Any, who: str, ip: str, action: str, target: str = "", detail: str = "", now: float | None = None) -> None:
    ts = time.time() if now is None else now
    insert(store, CONSOLE_AUDIT, [{"ts": ts, "who": who, "ip": ip, "action": action, "target": target[:500], "detail": detail[:2000]}])


def recent(store: Any, limit: int = 200, who: str = "") -> list[dict[str, Any]]:
    return store.rows(
        f"SELECT {epoch('ts')} AS ts, who, ip, action, target, detail FROM console_audit"
        " WHERE {w:String} = '' OR who = {w:String} ORDER BY ts DESC LIMIT {n:UInt32}",
        {"w": who, "n": limit},
    )
