"""One module per receiver kind (as Alertmanager's ``notify/``): each has ``send(target, doc, now)``
that delivers one message document or raises ``DeliveryError`` with a one-line reason. Whether and
when to try again is the outbox's business, not the channel's."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from wardwatch.errors import WardwatchError

from ..settings import AlertmanagerTarget, Channel, Email, Telegram, Webhook


class DeliveryError(WardwatchError):
    """A channel did not take a message (a counted retry, never a crash)."""


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify the peer against the system's CAs, or only against ``ca_file`` (a hospital's own CA)."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def send(channel: Channel, doc: dict[str, Any], now: float) -> None:
    from . import alertmanager, smtp, telegram, webhook

    if isinstance(channel, Email):
        smtp.send(channel, doc, now)
    elif isinstance(channel, Webhook):
        webhook.send(channel, doc, now)
    elif isinstance(channel, Telegram):
        telegram.send(channel, doc, now)
    elif isinstance(channel, AlertmanagerTarget):
        alertmanager.send(channel, doc, now)
    else:  # pragma: no cover - settings only makes the four
        raise DeliveryError(f"unknown channel {type(channel).__name__}")


def kind(channel: Channel) -> str:
    return {Email: "email", Webhook: "webhook", Telegram: "telegram", AlertmanagerTarget: "alertmanager"}[type(channel)]
