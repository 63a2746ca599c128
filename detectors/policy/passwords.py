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
from ..segments import IpInfo


def _evidence(rec: dict[str, Any]) -> dict[str, Any]:
    ev = {"log": "login", "uid": rec.get("uid"), "service": rec.get("service"), "user": rec.get("user")}
    for k in ("success", "weak_password", "id.resp_p"):
        if k in rec:
            ev[k] = rec[k]
    return ev


def _logins(batch: Batch, weak: bool) -> list[tuple[dict[str, Any], IpInfo, IpInfo]]:
    return [t for t in batch.each("login") if bool(t[0].get("weak_password")) is weak]


class PlaintextDetector:
    name = "plaintext"

    def detect(self, batch: Batch) -> list[Alert]:
        out = []
        for rec, o, d in _logins(batch, weak=False):
            service = str(rec.get("service") or "?")
            a = make_alert(
                "policy.plaintext.login", rec["ts"], o, d, f"{service}://{d.ip}", _evidence(rec),
                service=service, user=rec.get("user") or "?",
            )  # fmt: skip
            a.seen.add(record_id(rec))
            out.append(a)
        return out


class WeakPasswordDetector:
    name = "weak_password"

    def detect(self, batch: Batch) -> list[Alert]:
        out = []
        for rec, o, d in _logins(batch, weak=True):
            service = str(rec.get("service") or "?")
            user = rec.get("user") or ""
            indicator = f"{service}://{user}@{d.ip}" if user else f"{service}://{d.ip}"
            a = make_alert(
                "policy.weak_password.login", rec["ts"], o, d, indicator, _evidence(rec),
                bump=1 if rec.get("success") else 0, service=service, user=user or "?",
            )  # fmt: skip
            a.seen.add(record_id(rec))
            out.append(a)
        return out
