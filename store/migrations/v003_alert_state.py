"""Version 3: notification state: ``alert_events`` (append-only alert states), ``notify_outbox`` and
``notify_silences`` (issue 15, ``notify/``)."""

from __future__ import annotations

from ..schema import STATE_TABLES, Retention

VERSION = 3


def steps(retention: Retention) -> list[str]:
    return [t.create(VERSION, retention.of(t.retention)) for t in STATE_TABLES if t.since == VERSION]
