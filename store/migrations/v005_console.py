"""Version 5: the console's own tables (issue 18, ``console/``): ``console_users`` (accounts) and
``console_audit`` (who saw or did what)."""

from __future__ import annotations

from ..schema import CONSOLE_AUDIT, CONSOLE_USERS, Retention, ttl_expr

VERSION = 5


def steps(retention: Retention) -> list[str]:
    users = CONSOLE_USERS.create(VERSION, retention.of(CONSOLE_USERS.retention))
    # an account must not expire with the data's retention: it stays until an admin disables it
    users = users.replace(f"TTL {ttl_expr(CONSOLE_USERS.ttl_column, retention.of(CONSOLE_USERS.retention))}\n", "")
    users = users.replace("SETTINGS ttl_only_drop_parts = 1", "").rstrip()
    return [users, CONSOLE_AUDIT.create(VERSION, retention.of(CONSOLE_AUDIT.retention))]
