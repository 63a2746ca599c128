"""systemd's service notifications (sd_notify(3)): ``READY=1`` once the service captures and answers,
``RELOADING=1`` / ``READY=1`` around a reload, ``STOPPING=1`` when asked to stop, ``STATUS=`` for
``systemctl status``, and ``WATCHDOG=1`` pings while the loop turns, so that a hung loop is restarted
(``WatchdogSec=`` in deploy/wardwatch.service).

Written here rather than taken from a library: the protocol is one datagram of ``KEY=VALUE`` lines to
the socket named in ``$NOTIFY_SOCKET`` (documented as stable by systemd), ``systemd-python`` needs
libsystemd's headers to build, and the small PyPI wrappers (``sdnotify``) are unmaintained and know
nothing of the watchdog. Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # an abstract socket
        self.address = address
        self.watchdog_interval = 0.0
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            # ping twice per interval, as sd_watchdog_enabled(3) advises
            self.watchdog_interval = int(usec) / 1e6 / 2
        self._next_ping = 0.0
        self._sock: socket.socket | None = None
        self.failed = 0  # datagrams systemd did not take (logged once)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: object) -> bool:
        """One notification; ``send(READY=1, STATUS="…")``. Never raises: systemd being away or busy
        must not stop the capture."""
        if not self.address:
            return False
        message = "\n".join(f"{k}={_one_line(v)}" for k, v in fields.items()).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message, self.address)
            return True
        except OSError as e:
            if not self.failed:
                log.warning("systemd notification failed (%s): %s", self.address.lstrip("\0"), e)
            self.failed += 1
            return False

    def ready(self, status: str = "") -> None:
        self.send(READY=1, **({"STATUS": status} if status else {}))

    def reloading(self) -> None:
        # MONOTONIC_USEC lets systemd ≥ 253 (Type=notify-reload) match the READY=1 that follows
        self.send(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    def stopping(self) -> None:
        self.send(STOPPING=1)

    def status(self, text: str) -> None:
        self.send(STATUS=text)

    def ping(self) -> None:
        """Called from the loop after each batch: a ``WATCHDOG=1`` when half the interval has gone."""
        if not self.watchdog_interval:
            return
        now = time.monotonic()
        if now >= self._next_ping:
            self._next_ping = now + self.watchdog_interval
            self.send(WATCHDOG=1)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
