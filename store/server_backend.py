"""A ClickHouse server over the native protocol (clickhouse-driver).

Config: ``clickhouse: {url: "clickhouse://host:9000/db", user, password, secure}`` (``clickhouses://``
or ``secure: true`` for TLS). Parameters are bound client-side as typed literals (``bind_literals``)
so the same ``{name:Type}`` SQL also runs on servers older than query parameters (Debian's 18.16).
A dropped connection is retried: the driver reconnects on the next statement.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from .backend import Batch, Params, StoreError, bind_literals

_RETRIES = 3


def parse_url(url: str, options: dict[str, Any]) -> dict[str, Any]:
    u = urlsplit(url)
    if u.scheme not in ("clickhouse", "clickhouses", "tcp"):
        raise StoreError(f"clickhouse.url: expected clickhouse://host:port/db, got {url!r}")
    secure = u.scheme == "clickhouses" or bool(options.get("secure", False))
    kw: dict[str, Any] = {
        "host": u.hostname or "127.0.0.1",
        "port": u.port or (9440 if secure else 9000),
        "database": (u.path or "/").strip("/") or str(options.get("database", "default")),
        "user": unquote(u.username) if u.username else str(options.get("user", "default")),
        "password": unquote(u.password) if u.password else str(options.get("password", "")),
        "secure": secure,
        "connect_timeout": float(options.get("connect_timeout", 10)),
        "send_receive_timeout": float(options.get("timeout", 300)),
    }
    if "verify" in options:
        kw["verify"] = bool(options["verify"])
    return kw


def _py_column(values: Any, ch_type: str) -> list[Any]:
    if isinstance(values, np.ndarray):
        if ch_type.startswith("DateTime64"):
            # the driver wants datetimes; µs integers keep full precision through timedelta
            return [
                datetime.fromtimestamp(int(v) // 1_000_000, UTC).replace(microsecond=int(v) % 1_000_000)
                for v in values
            ]
        return values.tolist()
    if "IPv6" in ch_type:
        # the driver takes IPv6 text only; IPv4 goes in mapped, as chdb stores it
        return [None if v is None else (v if ":" in v else "::ffff:" + v) for v in values]
    return list(values)


class ServerBackend:
    kind = "server"

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        from clickhouse_driver import Client

        self.params = parse_url(url, dict(options or {}))
        self.readonly = False
        self.query_limits: dict[str, Any] = {}  # settings that go with readonly (limits.py)
        self.client = Client(**self.params, settings={"use_numpy": False})

    def _run(
        self, sql: str, data: Any = None, columnar: bool = False, settings: dict[str, Any] | None = None
    ) -> Any:
        from clickhouse_driver import errors

        s = dict(settings or {})
        if self.readonly:
            s.update(self.query_limits)
            s["readonly"] = 1
        last: Exception | None = None
        for attempt in range(_RETRIES + 1):
            try:
                if data is not None:
                    return self.client.execute(sql, data, columnar=columnar, settings=s or None)
                return self.client.execute(sql, with_column_types=True, settings=s or None)
            except (errors.NetworkError, errors.SocketTimeoutError, EOFError, ConnectionError, OSError) as e:
                last = e
                self.client.disconnect()
                if attempt < _RETRIES:
                    time.sleep(min(0.2 * 2**attempt, 2.0))
            except errors.Error as e:
                raise StoreError(str(e).strip().splitlines()[0]) from None
        host = f"{self.params['host']}:{self.params['port']}"
        raise StoreError(f"ClickHouse server {host} unreachable: {last}") from None

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._run(bind_literals(sql, params))

    def rows(self, sql: str, params: Params | None = None, readonly: bool = False) -> list[dict[str, Any]]:
        if readonly:
            self.readonly = True
        data, types = self._run(bind_literals(sql, params))
        names = [n for n, _ in types]
        return [dict(zip(names, (_jsonable(v) for v in row), strict=True)) for row in data]

    def set_readonly(self) -> None:
        self.readonly = True

    def insert(self, batch: Batch) -> None:
        if not batch.rows:
            return
        cols = ", ".join(f"`{c}`" for c in batch.columns)
        data = [_py_column(v, batch.types[c]) for c, v in batch.columns.items()]
        self._run(f"INSERT INTO `{batch.table}` ({cols}) VALUES", data, columnar=True)

    def close(self) -> None:
        self.client.disconnect()


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f") if v.microsecond else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (bytes, bytearray)):
        return v.decode("utf-8", "replace")
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)  # IPv4Address/IPv6Address, UUID, Decimal
