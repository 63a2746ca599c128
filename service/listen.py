"""``host:port`` settings of the service's listeners (the API, the ClickHouse-compatible endpoint)."""

from __future__ import annotations

import ipaddress


def parse_listen(text: str) -> tuple[str, int]:
    """(host, port) of ``127.0.0.1:8477`` or ``[::1]:8477``; ValueError when it is not one."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    ipaddress.ip_address(host)
    number = int(port)
    if not sep or not 0 <= number <= 65535:
        raise ValueError(text)
    return host, number
