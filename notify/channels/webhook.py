"""A signed webhook: the message document as JSON, with

    X-Wardwatch-Timestamp: <unix seconds>
    X-Wardwatch-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
    X-Wardwatch-Id: <message id>          (the same on every try: fold repeats)

The receiver recomputes the HMAC over the timestamp and the raw body and refuses an old timestamp
(replay); ``verify`` below is that check, for receivers written in Python and for the tests."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from ..settings import Webhook
from .http import post

MAX_SKEW = 300.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify(secret: str, timestamp: str, sig: str, body: bytes, now: float, max_skew: float = MAX_SKEW) -> bool:
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > max_skew:
        return False
    return hmac.compare_digest(signature(secret, ts, body), sig or "")


def payload(doc: dict[str, Any]) -> bytes:
    return orjson.dumps({"version": 1, "source": "wardwatch", "message": doc})


def send(target: Webhook, doc: dict[str, Any], now: float) -> None:
    body = payload(doc)
    ts = int(now)
    headers = {
        "X-Wardwatch-Timestamp": str(ts),
        "X-Wardwatch-Signature": signature(target.secret, ts, body),
        "X-Wardwatch-Id": doc["id"],
    }
    post(target.url, body, headers, target.timeout, target.ca_file)
