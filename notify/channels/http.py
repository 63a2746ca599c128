"""A small HTTPS POST for the HTTP channels (webhook, Telegram, Alertmanager): standard library,
verified TLS, a timeout, and one-line errors."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from . import DeliveryError, tls_context


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, ca_file: Path | None) -> bytes:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **headers})
    ctx = tls_context(ca_file) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:  # noqa: S310 - configured URL
            return bytes(resp.read())
    except urllib.error.HTTPError as e:
        detail = e.read()[:200].decode("utf-8", "replace")
        raise DeliveryError(f"{_safe(url)}: HTTP {e.code} {e.reason} {detail}".strip()) from None
    except (urllib.error.URLError, OSError) as e:
        raise DeliveryError(f"{_safe(url)}: {getattr(e, 'reason', e)}") from None


def _safe(url: str) -> str:
    """The URL without a secret in its path (Telegram puts the bot token there)."""
    if "/bot" in url:
        head, _, tail = url.partition("/bot")
        return head + "/bot***/" + tail.partition("/")[2]
    return url
