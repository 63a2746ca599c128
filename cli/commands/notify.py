"""``wardwatch notify --config FILE [--once]``: the on-call notifier on its own, for deployments where
``wardwatch serve`` does not hold the store (Kafka → ClickHouse server). Inside ``serve`` the same
notifier runs by itself. SIGTERM/SIGINT stop it; what is not sent waits in the store's outbox."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notify", help="send on-call notifications from the store (standalone; serve does it itself)")
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument("--once", action="store_true", help="one pass (read, group, escalate, deliver due), then exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from wardwatch.cli.commands.sections import check_sections
    from wardwatch.notify import Notifier, NotifierThread, load_notify_settings
    from wardwatch.notify.notifier import say_log
    from wardwatch.service.client import running
    from wardwatch.store import StoreError, open_store

    from wardwatch.config import ConfigError, load_config
    from wardwatch.i18n import say

    log = logging.getLogger("wardwatch.notify")
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    try:
        config = load_config(args.config)
        check_sections(config)
        settings = load_notify_settings(config)
        holder = running(config)
        if holder is not None:
            sys.stderr.write(say("notify.serve_running", pid=holder.pid))
            return 2
        if not settings.enabled:
            sys.stderr.write(say("notify.disabled", config=config.path.name))
            return 2
        store = open_store(config)
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"wardwatch notify: {e}\n")
        return 2
    try:
        notifier = Notifier(store, settings, config)
        if args.once:
            notifier.tick()
            return 0
        thread = NotifierThread(notifier)
        stop = threading.Event()
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, lambda *_: stop.set())
        thread.start()
        say_log("notify.started", receivers=sum(1 for r in settings.receivers.values() if r.channels), poll=settings.poll)
        stop.wait()
        thread.stop()
        return 0
    except StoreError as e:
        sys.stderr.write(f"wardwatch notify: {e}\n")
        return 1
    finally:
        store.close()
