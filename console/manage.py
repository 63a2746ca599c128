"""Account management as one function of a request, so that ``wardwatch users`` works the same on
the store directly and through a running ``wardwatch serve`` (which holds the embedded store):

    {"op": "add", "name": "lan", "role": "analyst", "password": "…"}  → {"name", "role", "totp", "uri"}
    {"op": "passwd", "name": "lan", "password": "…"}
    {"op": "disable" | "enable", "name": "lan"}
    {"op": "totp", "name": "lan"}                                     → {"totp", "uri"} (a new secret)
    {"op": "role", "name": "lan", "role": "viewer"}
    {"op": "list"}                                                     → {"users": [...]}

Every change but ``add`` ends the account's open console sessions (``ended``, when the console runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import accounts, audit, passwords

OPS = ("add", "passwd", "disable", "enable", "totp", "role", "list")


def apply(store: Any, body: dict[str, Any], who: str, end_sessions: Callable[[str], int] | None = None) -> dict[str, Any]:
    """Raises ``accounts.AccountError`` for a bad request."""
    op = body.get("op")
    name = str(body.get("name") or "")
    now = time.time()
    if op not in OPS:
        raise accounts.AccountError("console.user.unknown", f"unknown operation {op!r}: one of {', '.join(OPS)}")
    if op == "list":
        return {"users": [{"name": a.name, "role": a.role, "disabled": a.disabled, "changed": a.changed} for a in accounts.listing(store)]}
    out: dict[str, Any] = {"name": name}
    if op == "add":
        acc = accounts.add(store, name, str(body.get("role") or "viewer"), str(body.get("password") or ""), now)
        out.update(role=acc.role, totp=acc.totp, uri=passwords.totp_uri(acc.totp, acc.name))
    elif op == "passwd":
        accounts.set_password(store, name, str(body.get("password") or ""), now)
    elif op in ("disable", "enable"):
        accounts.set_disabled(store, name, op == "disable", now)
    elif op == "totp":
        acc = accounts.new_totp(store, name, now)
        out.update(totp=acc.totp, uri=passwords.totp_uri(acc.totp, acc.name))
    elif op == "role":
        acc = accounts.set_role(store, name, str(body.get("role") or ""), now)
        out.update(role=acc.role)
    audit.log(store, who, "cli", f"user_{op}", name, "", now)
    if op != "add" and end_sessions is not None:
        out["ended"] = end_sessions(name)
    return out
