"""On-call notification: routing, grouping, silences, inhibition, acknowledgement, escalation and
channels (issue 15), shaped as Alertmanager's ``dispatch/``, ``inhibit/``, ``silence/`` and
``notify/`` (one module per receiver under ``channels/``), with what it lacks and on-call needs:
acknowledgement by signed link or command, escalation, and alert state in the store.

    settings = load_notify_settings(config)
    thread = NotifierThread(Notifier(store, settings, config, counters)).start()
    ...
    thread.stop()
"""

from __future__ import annotations

from typing import Any

from wardwatch.config import Config
from wardwatch.counters import Counters

from .acks import UnknownAlert, apply_page, by_link, by_uid, confirm_page
from .links import BadLink
from .notifier import Notifier, NotifierThread, say_log
from .settings import NotifySettings, load_notify_settings


def start(store: Any, config: Config, counters: Counters | None = None) -> NotifierThread | None:
    """The notifier's thread over ``store``, started; None when the config names no receiver."""
    settings = load_notify_settings(config)
    if not settings.enabled:
        if config.raw.get("notify") is not None:
            say_log("notify.disabled", config=config.path.name)
        return None
    thread = NotifierThread(Notifier(store, settings, config, counters)).start()
    receivers = sum(1 for r in settings.receivers.values() if r.channels)
    say_log("notify.started", receivers=receivers, poll=settings.poll)
    return thread

__all__ = [
    "BadLink",
    "Notifier",
    "NotifierThread",
    "NotifySettings",
    "UnknownAlert",
    "apply_page",
    "by_link",
    "by_uid",
    "confirm_page",
    "load_notify_settings",
    "start",
]
