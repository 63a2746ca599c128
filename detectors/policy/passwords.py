"""Cleartext logins (FTP, Telnet, POP3, IMAP, SMTP, HTTP Basic) and weak or default passwords seen
in them (order BYT-CNTT-2021: strong passwords, encrypted connections).

The sensor's login.log says whether a password was weak and never carries the password. A weak one
raises ``policy_weak_password`` instead of ``policy_plaintext`` (the summary says it was cleartext too),
so one login gives one alert.
"""

from __future__ import annotations

from typing import Any

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..rules import make_alert


def _evidence(rec: dict[str, Any]) -> dict[str, Any]:
    ev = {"log": "login", "uid": rec.get("uid"), "service": rec.get("service"), "user": rec.get("user")}
    for k in ("success", "weak_password", "id.resp_p"):
        if k in rec:
            ev[k] = rec[k]
    return ev


class _LoginDetector:
    """The logins of one kind (weak password or not), one alert each."""

    name = ""
    rule = ""
    weak = False

    def indicator(self, service: str, user: str, server: str) -> str:
        return f"{service}://{server}"

    def detect(self, batch: Batch) -> list[Alert]:
        out = []
        for rec, o, d in batch.each("login"):
            if bool(rec.get("weak_password")) is not self.weak:
                continue
            service = str(rec.get("service") or "?")
            user = rec.get("user") or ""
            # an accepted weak password is worse than a refused one
            bump = 1 if self.weak and rec.get("success") else 0
            a = make_alert(
                self.rule, rec["ts"], o, d, self.indicator(service, user, d.ip), _evidence(rec),
                bump=bump, service=service, user=user or "?",
            )  # fmt: skip
            a.seen.add(record_id(rec))
            out.append(a)
        return out


class PlaintextDetector(_LoginDetector):
    name = "plaintext"
    rule = "policy.plaintext.login"


class WeakPasswordDetector(_LoginDetector):
    name = "weak_password"
    rule = "policy.weak_password.login"
    weak = True

    def indicator(self, service: str, user: str, server: str) -> str:
        return f"{service}://{user}@{server}" if user else f"{service}://{server}"
