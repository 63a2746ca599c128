"""Accounts in the store's ``console_users`` table: each change is a new row with a higher version
(ReplacingMergeTree, read with FINAL), so chdb and a ClickHouse server behave alike."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from wardwatch.notify.rows import epoch, insert
from wardwatch.store.schema import CONSOLE_USERS

from wardwatch.errors import UsageError

from . import passwords

ROLES = ("viewer", "analyst", "admin")
# what each role may do, beyond viewing (every role views)
CAN = {"viewer": frozenset(), "analyst": frozenset({"act"}), "admin": frozenset({"act", "admin"})}


class AccountError(UsageError):
    """A bad account request (unknown user, weak password, existing name…); ``key`` is the catalogue's."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    password: str
    totp: str
    disabled: bool
    changed: float
    version: int

    def can(self, what: str) -> bool:
        return what in CAN.get(self.role, frozenset())


def _key(store: Any) -> bytes:
    """``data_dir/console.key`` (made 0600 on first use), the key of the TOTP secrets."""
    from pathlib import Path

    from wardwatch.store.pseudonym import load_key

    config = getattr(store, "config", None)
    if config is None:
        raise AccountError("console.user.unknown", "the console's accounts need the config's data_dir (console.key)")
    return load_key(Path(config.data_dir) / "console.key")


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= 64 and all(c.isalnum() or c in "._-@" for c in name)


def get(store: Any, name: str) -> Account | None:
    rows = store.rows(
        f"SELECT name, role, password, totp, disabled, {epoch('changed')} AS changed, version"
        " FROM console_users FINAL WHERE name = {n:String} LIMIT 1",
        {"n": name},
    )
    if not rows:
        return None
    r = rows[0]
    totp = passwords.unseal(_key(store), r["totp"], r["name"])
    return Account(r["name"], r["role"], r["password"], totp, bool(r["disabled"]), float(r["changed"]), int(r["version"]))


def listing(store: Any) -> list[Account]:
    rows = store.rows(
        f"SELECT name, role, password, totp, disabled, {epoch('changed')} AS changed, version"
        " FROM console_users FINAL ORDER BY name"
    )
    return [
        Account(r["name"], r["role"], "", "", bool(r["disabled"]), float(r["changed"]), int(r["version"]))
        for r in rows
    ]


def _put(store: Any, acc: Account) -> Account:
    insert(
        store,
        CONSOLE_USERS,
        [{"name": acc.name, "role": acc.role, "password": acc.password, "totp": passwords.seal(_key(store), acc.totp, acc.name),
          "disabled": int(acc.disabled), "changed": acc.changed, "version": acc.version}],
    )  # fmt: skip
    return acc


def _strong(password: str, name: str) -> str:
    problems = passwords.weakness(password, name)
    if problems:
        from wardwatch.i18n import MESSAGES

        raise AccountError(problems[0], "; ".join(" · ".join(MESSAGES[k]) for k in problems))
    return passwords.hash_password(password)


def add(store: Any, name: str, role: str, password: str, now: float | None = None) -> Account:
    """A new account with a fresh TOTP secret (shown once to whoever creates it)."""
    if not _valid_name(name):
        raise AccountError("console.user.bad_name", f"bad account name {name!r}: letters, digits and . _ - @, at most 64")
    if role not in ROLES:
        raise AccountError("console.user.bad_role", f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if get(store, name) is not None:
        raise AccountError("console.user.exists", f"the account {name} exists already")
    now = time.time() if now is None else now
    acc = Account(name, role, _strong(password, name), passwords.new_totp_secret(), False, now, 1)
    return _put(store, acc)


def _change(store: Any, name: str, now: float | None, **changes: Any) -> Account:
    acc = get(store, name)
    if acc is None:
        raise AccountError("console.user.unknown", f"no account {name}")
    now = time.time() if now is None else now
    fields = {**acc.__dict__, **changes, "changed": now, "version": acc.version + 1}
    return _put(store, Account(**fields))


def set_password(store: Any, name: str, password: str, now: float | None = None) -> Account:
    return _change(store, name, now, password=_strong(password, name))


def set_disabled(store: Any, name: str, disabled: bool = True, now: float | None = None) -> Account:
    return _change(store, name, now, disabled=disabled)


def set_role(store: Any, name: str, role: str, now: float | None = None) -> Account:
    if role not in ROLES:
        raise AccountError("console.user.bad_role", f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return _change(store, name, now, role=role)


def new_totp(store: Any, name: str, now: float | None = None) -> Account:
    return _change(store, name, now, totp=passwords.new_totp_secret())
