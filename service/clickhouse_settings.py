"""``http.clickhouse``: the settings of the ClickHouse-compatible endpoint (``clickhouse_http.py``),
kept apart so that reading the config does not load the store.

    http:
      clickhouse:
        listen: 127.0.0.1:8123   # loopback by default
        user: grafana
        password: "…"           # required (or password_file: a file holding it)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardwatch.config import setting

from .listen import parse_listen


@dataclass(frozen=True)
class ClickhouseSection:
    """``http.clickhouse`` in the config (read by ``service/settings.py``)."""

    listen: str = "127.0.0.1:8123"
    user: str = "grafana"
    password: str | None = None
    password_file: Path | None = setting(None, kind="path")


@dataclass(frozen=True)
class EndpointSettings:
    host: str
    port: int
    user: str
    password: str


def endpoint_settings(sec: ClickhouseSection, error: Any) -> EndpointSettings:
    """The checked settings; ``error(key, message)`` makes the config's error for a key."""
    try:
        host, number = parse_listen(sec.listen)
    except ValueError:
        raise error(
            "listen", f"expected an address and port such as 127.0.0.1:8123, got {sec.listen!r}"
        ) from None
    password = sec.password
    if sec.password_file is not None:
        try:
            password = sec.password_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise error("password_file", f"cannot read {sec.password_file}: {e.strerror or e}") from None
    if not password:
        raise error("password", "the endpoint needs a password (password: or password_file:)")
    if not sec.user:
        raise error("user", "expected a user name such as grafana")
    return EndpointSettings(host, number, sec.user, password)
