"""Version 1: the record tables (dns, conn, tls, http, login) and alerts."""

from __future__ import annotations

from ..schema import TABLES, Retention

VERSION = 1


def steps(retention: Retention) -> list[str]:
    return [t.create(VERSION, retention.of(t.retention)) for t in TABLES if t.since <= VERSION]
