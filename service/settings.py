"""The ``http:`` config section: where ``wardwatch serve`` listens.

    http:
      listen: 127.0.0.1:8477     # host:port (loopback by default); port 0 picks a free one
      max_request: 1MB           # a larger request body is refused (413) before it is read
      feeds_check: 1m            # how often the service looks for feed updates (each feed keeps
                                 # its own `refresh`; local files are re-read when they change)
      clickhouse:                # off unless set: a ClickHouse-compatible read-only endpoint on the
        listen: 127.0.0.1:8123   # embedded store, for Grafana (service/clickhouse_http.py,
        user: grafana            # docs/DASHBOARDS.md)
        password: "…"            # or password_file: FILE
      console:                   # off unless set: the analyst console (console/, docs/CONSOLE.md)
        listen: 127.0.0.1:8443   # plain HTTP on loopback only; elsewhere cert: and key: (HTTPS)

The API serves ``/healthz`` and ``/metrics`` to anyone on the machine, and ``/query``, ``/hunt`` and
``/replay`` only to a caller that shows the token written in the store's owner-only lock file.
"""

from __future__ import annotations

from dataclasses import dataclass

from wardwatch.console.settings import ConsoleSection, ConsoleSettings, console_settings

from wardwatch.config import Config, declare_section, setting

from .clickhouse_settings import ClickhouseSection, EndpointSettings, endpoint_settings
from .listen import parse_listen


@dataclass(frozen=True)
class HttpSection:
    listen: str = "127.0.0.1:8477"
    max_request: int = setting(1 << 20, kind="size", lo=1024)
    feeds_check: float = setting(60.0, kind="duration", lo=0.1, hi=86400)
    clickhouse: ClickhouseSection | None = None
    console: ConsoleSection | None = None  # the analyst console (console/settings.py), off unless set


@dataclass(frozen=True)
class HttpSettings:
    host: str
    port: int
    max_request: int
    feeds_check: float
    clickhouse: EndpointSettings | None = None
    console: ConsoleSettings | None = None


def http_settings(config: Config) -> HttpSettings:
    sec: HttpSection = config.section("http", HttpSection)
    try:
        host, number = parse_listen(sec.listen)
    except ValueError:
        raise config.error(
            ("http", "listen"), f"expected an address and port such as 127.0.0.1:8477, got {sec.listen!r}"
        ) from None
    clickhouse = None
    if sec.clickhouse is not None:
        clickhouse = endpoint_settings(
            sec.clickhouse, lambda key, msg: config.error(("http", "clickhouse", key), msg)
        )
    console = None
    if sec.console is not None:
        console = console_settings(
            sec.console, lambda key, msg: config.error(("http", "console", key), msg), parse_listen
        )
    return HttpSettings(host, number, sec.max_request, sec.feeds_check, clickhouse, console)


declare_section("http", HttpSection, http_settings)
