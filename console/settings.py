"""``http.console``: where the analyst console listens and how strict its sessions are. Read by
``service/settings.py`` (the ``http:`` section); kept here, free of heavy imports, so that reading the
config does not load the web stack.

    http:
      console:
        listen: 0.0.0.0:8443        # HTTPS needs cert and key; plain HTTP only on 127.0.0.1 / ::1
        cert: /etc/wardwatch/console.crt
        key: /etc/wardwatch/console.key
        session_idle: 30m           # a session unused this long ends
        session_max: 12h            # and every session ends after this, used or not
        max_failures: 5             # failed logins of one account (or one address) before lock-out
        lockout: 15m                # how long the lock-out lasts
        allowlist_file: /etc/wardwatch/allow-console.txt   # optional: "false positive" may add the
                                    # indicator here; list the file under `allowlist:` ({path: …})
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardwatch.config import setting


@dataclass(frozen=True)
class ConsoleSection:
    listen: str = "127.0.0.1:8443"
    cert: Path | None = setting(None, kind="path")
    key: Path | None = setting(None, kind="path")
    session_idle: float = setting(1800.0, kind="duration", lo=60, hi=86400)
    session_max: float = setting(43200.0, kind="duration", lo=60, hi=7 * 86400)
    max_failures: int = setting(5, lo=1, hi=100)
    lockout: float = setting(900.0, kind="duration", lo=1, hi=86400)
    allowlist_file: Path | None = setting(None, kind="path")


@dataclass(frozen=True)
class ConsoleSettings:
    host: str
    port: int
    cert: Path | None
    key: Path | None
    session_idle: float = 1800.0
    session_max: float = 43200.0
    max_failures: int = 5
    lockout: float = 900.0
    allowlist_file: Path | None = None

    @property
    def https(self) -> bool:
        return self.cert is not None


def console_settings(sec: ConsoleSection, error: Any, parse_listen: Any) -> ConsoleSettings:
    """The checked settings; ``error(key, message)`` makes the config's error for a key,
    ``parse_listen`` reads ``host:port`` (the service's own reader)."""
    try:
        host, port = parse_listen(sec.listen)
    except ValueError:
        raise error("listen", f"expected an address and port such as 127.0.0.1:8443, got {sec.listen!r}") from None
    if (sec.cert is None) != (sec.key is None):
        raise error("cert", "cert and key go together: set both (HTTPS) or neither (HTTP on loopback only)")
    if sec.cert is None and not ipaddress.ip_address(host).is_loopback:
        raise error(
            "listen",
            f"the console serves plain HTTP only on 127.0.0.1 or ::1; to listen on {host} set cert and key (HTTPS)",
        )
    for key, path in (("cert", sec.cert), ("key", sec.key)):
        if path is not None and not path.is_file():
            raise error(key, f"no such file: {path}")
    return ConsoleSettings(
        host, port, sec.cert, sec.key, sec.session_idle, sec.session_max, sec.max_failures, sec.lockout,
        sec.allowlist_file,
    )
