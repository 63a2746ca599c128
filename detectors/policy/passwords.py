"""Cleartext logins (FTP, Telnet, POP3, IMAP, SMTP, HTTP Basic) and weak or default passwords seen
in them (order BYT-CNTT-2021: strong passwords, encrypted connections).

The sensor's login.log says whether a password was weak and never carries the password. The orders
make two requirements, so a weak password sent in clear gives two findings: ``policy_plaintext``
(every cleartext login, weak or not) and ``policy_weak_password``.

Anonymous FTP (user ``anonymous`` or ``ftp``, whose "password" is by convention an e-mail address)
is anonymous access, not a weak password: it is reported as ``policy.plaintext.anonymous`` where the
policy forbids it (``detectors.plaintext.anonymous``, on by default) and never as a weak password.
"""

from __future__ import annotations

from typing import Any

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..rules import make_alert

ANONYMOUS_USERS = frozenset(("anonymous", "ftp"))


def is_anonymous(rec: dict[str, Any]) -> bool:
    return rec.get("service") == "ftp" and str(rec.get("user") or "").strip().lower() in ANONYMOUS_USERS


def _evidence(rec: dict[str, Any]) -> dict[str, Any]:
    ev = {"log": "login", "uid": rec.get("uid"), "service": rec.get("service"), "user": rec.get("user")}
    for k in ("success", "weak_password", "id.resp_p"):
        if k in rec:
            ev[k] = rec[k]
    return ev


class _LoginDetector:
    """The logins of one kind, one alert each."""

    name = ""
    rule = ""

    def wanted(self, rec: dict[str, Any]) -> bool:
        return not is_anonymous(rec)

    def rule_for(self, rec: dict[str, Any]) -> str:
        return self.rule

    def indicator(self, service: str, user: str, server: str) -> str:
        return f"{service}://{server}"

    def bump(self, rec: dict[str, Any]) -> int:
        return 0

    def detect(self, batch: Batch) -> list[Alert]:
        out = []
        for rec, o, d in batch.each("login"):
            if not self.wanted(rec):
                continue
            service = str(rec.get("service") or "?")
            user = rec.get("user") or ""
            a = make_alert(
                self.rule_for(rec), rec["ts"], o, d, self.indicator(service, user, d.ip), _evidence(rec),
                bump=self.bump(rec), service=service, user=user or "?",
            )  # fmt: skip
            a.seen.add(record_id(rec))
            out.append(a)
        return out


class PlaintextDetector(_LoginDetector):
    """Every cleartext login; anonymous FTP under its own rule (or not at all, ``anonymous=False``)."""

    name = "plaintext"
    rule = "policy.plaintext.login"

    def __init__(self, anonymous: bool = True) -> None:
        self.anonymous = anonymous

    def wanted(self, rec: dict[str, Any]) -> bool:
        return self.anonymous or not is_anonymous(rec)

    def rule_for(self, rec: dict[str, Any]) -> str:
        return "policy.plaintext.anonymous" if is_anonymous(rec) else self.rule

    def indicator(self, service: str, user: str, server: str) -> str:
        if service == "ftp" and user.strip().lower() in ANONYMOUS_USERS:
            return f"ftp://anonymous@{server}"
        return f"{service}://{server}"


class WeakPasswordDetector(_LoginDetector):
    name = "weak_password"
    rule = "policy.weak_password.login"

    def wanted(self, rec: dict[str, Any]) -> bool:
        return bool(rec.get("weak_password")) and not is_anonymous(rec)

    def bump(self, rec: dict[str, Any]) -> int:
        return 1 if rec.get("success") else 0  # an accepted weak password is worse than a refused one

    def indicator(self, service: str, user: str, server: str) -> str:
        return f"{service}://{user}@{server}" if user else f"{service}://{server}"
