"""``wardwatch users add|passwd|disable|enable|totp|role|list --config FILE …``: the console's local
accounts (console/). While ``wardwatch serve`` holds the embedded store the work goes through its
API (and the account's open sessions end at once); otherwise to the store directly.

    wardwatch users add lan --role analyst --config C      # asks the password twice; prints the TOTP secret
    wardwatch users passwd lan --config C
    wardwatch users disable lan --config C                 # (enable: the reverse)
    wardwatch users totp lan --config C                    # a new TOTP secret (a lost phone)
    wardwatch users list --config C

``--password-stdin`` reads the password from the first line of standard input (scripts, tests).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

import orjson

ROLES = ("viewer", "analyst", "admin")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="console accounts: add, change password, disable, new TOTP secret, list")
    verbs = p.add_subparsers(dest="verb", metavar="add|passwd|disable|enable|totp|role|list")
    verbs.required = True

    def common(q: argparse.ArgumentParser, name: bool = True) -> None:
        q.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
        if name:
            q.add_argument("name", metavar="NAME", help="the account name")

    q = verbs.add_parser("add", help="a new account (prints its TOTP secret once)")
    common(q)
    q.add_argument("--role", default="viewer", choices=ROLES)
    q.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    q.set_defaults(func=run, op="add")
    q = verbs.add_parser("passwd", help="set a new password")
    common(q)
    q.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    q.set_defaults(func=run, op="passwd")
    for verb, what in (("disable", "lock the account out (its sessions end)"), ("enable", "let it log in again"),
                       ("totp", "a new TOTP secret (the old one stops working)")):  # fmt: skip
        q = verbs.add_parser(verb, help=what)
        common(q)
        q.set_defaults(func=run, op=verb)
    q = verbs.add_parser("role", help="change the account's role")
    common(q)
    q.add_argument("role", choices=ROLES)
    q.set_defaults(func=run, op="role")
    q = verbs.add_parser("list", help="the accounts, their roles and whether they are disabled")
    common(q, name=False)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run, op="list")


def _password(args: argparse.Namespace) -> str | None:
    from wardwatch.i18n import say

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu / Password: ")
    if getpass.getpass("Nhập lại / Again: ") != first:
        sys.stderr.write(say("console.user.mismatch", "wardwatch users: "))
        return None
    return first


def _who() -> str:
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def run(args: argparse.Namespace) -> int:
    from wardwatch.console.accounts import AccountError
    from wardwatch.console.manage import apply
    from wardwatch.service.client import ServiceError, call, running
    from wardwatch.store import StoreError, open_store

    from wardwatch.config import ConfigError, load_config

    body: dict[str, Any] = {"op": args.op, "name": getattr(args, "name", ""), "who": _who()}
    if args.op in ("add", "role"):
        body["role"] = args.role
    if args.op in ("add", "passwd"):
        pw = _password(args)
        if pw is None:
            return 2
        body["password"] = pw
    try:
        config = load_config(args.config)
        holder = running(config)
        if holder is not None:
            with call(holder, "/console/users", body) as resp:
                out = orjson.loads(resp.read())
        else:
            with open_store(config) as store:
                out = apply(store, body, body["who"])
    except (ConfigError, AccountError) as e:
        sys.stderr.write(f"wardwatch users: {e}\n")
        return 2
    except ServiceError as e:
        sys.stderr.write(f"wardwatch users: {e}\n")
        return 2 if "no account" not in str(e) else 1
    except StoreError as e:
        sys.stderr.write(f"wardwatch users: {e}\n")
        return 1
    _print(args, out)
    return 0


def _print(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from wardwatch.i18n import say

    if args.op == "list":
        if args.json:
            for u in out["users"]:
                sys.stdout.write(orjson.dumps(u).decode() + "\n")
            return
        for u in out["users"]:
            sys.stdout.write(f"{u['name']}\t{u['role']}\t{'disabled' if u['disabled'] else 'active'}\n")
        return
    name = out.get("name", "")
    if args.op == "add":
        sys.stderr.write(say("console.user.added", name=name, role=out["role"], secret=out["totp"]))
        sys.stdout.write(out["uri"] + "\n")  # the otpauth:// URI (a QR code generator takes it)
    elif args.op == "totp":
        sys.stderr.write(say("console.user.totp", name=name, secret=out["totp"]))
        sys.stdout.write(out["uri"] + "\n")
    elif args.op == "passwd":
        sys.stderr.write(say("console.user.passwd", name=name))
    elif args.op in ("disable", "enable"):
        sys.stderr.write(say(f"console.user.{args.op}d", name=name))
    else:
        sys.stderr.write(f"{name}: {out.get('role', '')}\n")
