"""Signed, expiring acknowledgement links: ``<ack_url>/ack?t=<token>``.

The token is ``base64url(payload) . base64url(HMAC-SHA256(key, payload))``; the payload names the
message, the action (ack, resolve, fp), the receiver it was sent to and when it stops working. A
changed byte, another key or a passed expiry is refused; the link's use is recorded as an alert
event naming the receiver, so whoever clicked it is on the record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

import orjson

from wardwatch.errors import WardwatchError

ACTIONS = ("ack", "resolve", "fp")


class BadLink(WardwatchError, ValueError):
    """A link that is forged, damaged or expired (the reason says which)."""


@dataclass(frozen=True)
class Grant:
    message: str
    action: str
    receiver: str
    expires: float


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sign(key: bytes, grant: Grant) -> str:
    payload = orjson.dumps({"m": grant.message, "a": grant.action, "r": grant.receiver, "e": int(grant.expires)})
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(key: bytes, token: str, now: float) -> Grant:
    try:
        p64, m64 = token.split(".", 1)
        payload, mac = _unb64(p64), _unb64(m64)
    except (ValueError, TypeError):
        raise BadLink("malformed link") from None
    if not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
        raise BadLink("the link's signature does not match (forged or damaged)")
    try:
        d = orjson.loads(payload)
        grant = Grant(str(d["m"]), str(d["a"]), str(d["r"]), float(d["e"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise BadLink("malformed link") from None
    if grant.action not in ACTIONS:
        raise BadLink(f"unknown action {grant.action!r}")
    if now >= grant.expires:
        raise BadLink("the link has expired")
    return grant


def url(base: str, key: bytes, grant: Grant) -> str:
    return f"{base.rstrip('/')}/ack?t={quote(sign(key, grant))}"
